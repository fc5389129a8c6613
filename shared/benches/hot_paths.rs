//! Criterion micro-benchmarks of the pure functions on every request's path: prompt
//! rendering, recipe JSON extraction, nutrition computation and the full rule/allergen check.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ai_chef::domain::Recipe;
use ai_chef::extract::extract_recipe;
use ai_chef::generate::RecipeVerifier;
use ai_chef::nutrition::{analyze, FoodTable};
use ai_chef::prompt::{OutputMode, PromptSet};
use ai_chef::request::RecipeRequest;
use ai_chef::rules;
use ai_chef::verify::TableVerifier;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const REQUEST: &str = r#"{"target":"keto","profile":{"healthConditions":["고혈압"],"allergies":["땅콩","우유"],
  "cookingLevel":"beginner","budget":15000,"maxCalories":600},"servings":2,
  "ingredientsOnHand":["돼지고기","양배추"],"language":"ko","model":"sonnet"}"#;

const ANSWER: &str = r#"다음은 요청하신 레시피입니다.
```json
{"recipeName":"삼겹살 등심 양배추 달걀 볶음","description":"든든한 케토 볶음","cookingTime":25,"difficulty":"easy","servings":2,
 "ingredients":[{"name":"삼겹살","amount":"90","unit":"g"},{"name":"돼지 등심","amount":"180","unit":"g"},
  {"name":"달걀","amount":"2","unit":"개"},{"name":"양배추","amount":"120","unit":"g"},{"name":"마늘","amount":"2","unit":"쪽"},
  {"name":"대파","amount":"20","unit":"g"},{"name":"올리브유","amount":"1","unit":"큰술"},{"name":"소금","amount":"1","unit":"g"},
  {"name":"후추","amount":"적당량","unit":""}],
 "instructions":["고기를 썬다.","양배추를 채 썬다.","삼겹살을 볶는다.","등심과 마늘을 넣는다.","양배추를 볶는다.","달걀을 스크램블한다."],
 "nutritionTips":"단백질과 지방 위주","ketoNotes":"순탄수 약 4 g"}
```
맛있게 드세요!"#;

fn benches(c: &mut Criterion) {
    let request = RecipeRequest::from_json(REQUEST.as_bytes()).unwrap();
    let table = FoodTable::load_embedded().unwrap();
    let recipe: Recipe = extract_recipe(ANSWER).unwrap();
    let verifier = TableVerifier::new(table, None);
    let constraints = rules::prompt_constraints(request.target, &request.profile, request.language);

    c.bench_function("request_parse", |b| {
        b.iter(|| RecipeRequest::from_json(black_box(REQUEST.as_bytes())).unwrap())
    });
    c.bench_function("prompt_render", |b| {
        let prompts = PromptSet::embedded().expect("prompts");
        b.iter(|| {
            prompts.recipe_prompt(
                black_box(&request),
                black_box(&constraints),
                "",
                OutputMode::Tool,
            )
        })
    });
    c.bench_function("json_extract", |b| {
        b.iter(|| extract_recipe(black_box(ANSWER)).unwrap())
    });
    c.bench_function("nutrition_analyze", |b| {
        b.iter(|| analyze(black_box(&recipe), table))
    });
    let nutrition = analyze(&recipe, table);
    c.bench_function("allergen_scan", |b| {
        b.iter(|| {
            rules::allergens::scan(
                black_box(&request.profile.allergies),
                black_box(&recipe),
                black_box(&nutrition),
            )
        })
    });
    c.bench_function("verify_full", |b| {
        b.iter(|| verifier.verify(black_box(&request), black_box(&recipe)))
    });
}

criterion_group!(hot_paths, benches);
criterion_main!(hot_paths);
