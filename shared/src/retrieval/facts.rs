//! The pure halves of prompt grounding: the retrieval query built from a request, the
//! admissibility of a food for that request (never offer an allergen or a food the diet
//! excludes; planned once per distinct profile and judged once per food, see
//! [`AdmissibilityCache`]), and the facts block rendered into the prompt.

use crate::domain::{Language, Profile, Recipe, RecipeIngredient, Target};
use crate::nutrition::{analyze, Food, FoodTable};
use crate::request::RecipeRequest;
use crate::rules::{self, Rule};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The query is short by design; the cap only guards against a pathological request.
pub const MAX_QUERY_CHARS: usize = 2_000;

/// What the diet target means in food terms, in both languages: the table's embedding texts
/// are Korean with English names, so either language of a query reaches them.
fn target_phrase(target: Target) -> &'static str {
    match target {
        Target::Keto => "키토 고지방 저탄수화물 식품 (ketogenic: high fat, very low carbohydrate)",
        Target::LowCarb => "저탄수화물 채소와 단백질 식품 (low-carb: vegetables and protein)",
        Target::Diabetic => "당뇨 식단: 통곡물, 채소, 단백질, 저당 (diabetic: whole grains, vegetables, protein, low sugar)",
        Target::LowSodium => "저염 식단: 신선한 채소, 향신채 (low-sodium: fresh vegetables, herbs, no salt)",
        Target::HighProtein => "고단백 식품: 살코기, 생선, 달걀, 두부 (high-protein: lean meat, fish, eggs, tofu)",
        Target::Vegetarian => "채식: 채소, 콩, 두부, 달걀, 유제품 (vegetarian: vegetables, legumes, tofu, eggs, dairy)",
        Target::Vegan => "비건: 채소, 콩, 두부, 곡물 (vegan: vegetables, legumes, tofu, grains)",
        Target::WeightLoss => "체중 감량: 저칼로리 채소와 살코기 (weight loss: low-calorie vegetables, lean protein)",
        Target::Balanced => "균형 식단: 곡물, 채소, 단백질 (balanced: grains, vegetables, protein)",
    }
}

/// The retrieval query: the target in food terms, the ingredients on hand and the health
/// conditions. Allergies are left out on purpose: they would pull the very foods to avoid.
pub fn query_text(request: &RecipeRequest) -> String {
    let mut query = target_phrase(request.target).to_owned();
    if !request.ingredients_on_hand.is_empty() {
        query.push_str(". 보유 재료 (ingredients on hand): ");
        query.push_str(&request.ingredients_on_hand.join(", "));
    }
    if !request.profile.health_conditions.is_empty() {
        query.push_str(". 건강 상태 (health conditions): ");
        query.push_str(&request.profile.health_conditions.join(", "));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        query = query.chars().take(MAX_QUERY_CHARS).collect();
    }
    query
}

/// What decides whether a food may be offered: the diet target, the allergies and the health
/// conditions. The rest of the profile (budget, calorie cap, cooking level) adds limits, never
/// exclusions, so two requests with the same key admit the same foods.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdmissibilityKey {
    target: Target,
    allergies: Vec<String>,
    health_conditions: Vec<String>,
}

impl AdmissibilityKey {
    pub fn of(request: &RecipeRequest) -> AdmissibilityKey {
        AdmissibilityKey {
            target: request.target,
            allergies: request.profile.allergies.clone(),
            health_conditions: request.profile.health_conditions.clone(),
        }
    }
}

/// The allergen and exclusion rules of one [`AdmissibilityKey`], planned once, with the
/// verdict of every food judged so far.
#[derive(Debug)]
pub struct ProfileAdmissibility {
    target: Target,
    /// The key's allergies and conditions only: nothing else of a profile excludes a food.
    profile: Profile,
    /// Names of the plan's exclusion rules (vegan, vegetarian, gluten ...).
    exclusions: Vec<String>,
    /// Food id → verdict. A plain map under a lock rather than a cache: it can never hold
    /// more than the table's rows, so nothing needs evicting.
    verdicts: RwLock<HashMap<String, bool>>,
}

impl ProfileAdmissibility {
    pub fn new(key: AdmissibilityKey) -> ProfileAdmissibility {
        let profile = Profile {
            allergies: key.allergies,
            health_conditions: key.health_conditions,
            ..Profile::default()
        };
        let exclusions = rules::plan(key.target, &profile)
            .rules
            .iter()
            .filter(|planned| matches!(planned.rule, Rule::Exclude(_)))
            .map(|planned| planned.rule.name())
            .collect();
        ProfileAdmissibility {
            target: key.target,
            profile,
            exclusions,
            verdicts: RwLock::new(HashMap::new()),
        }
    }

    /// Whether `food` (a row of `table`, the one table this profile is used with) may be
    /// offered; judged once per food.
    pub fn admits(&self, food: &Food, table: &FoodTable) -> bool {
        if self.exclusions.is_empty() && self.profile.allergies.is_empty() {
            return true;
        }
        if let Some(known) = self
            .verdicts
            .read()
            .ok()
            .and_then(|verdicts| verdicts.get(&food.id).copied())
        {
            return known;
        }
        let verdict = self.judge(food, table);
        if let Ok(mut verdicts) = self.verdicts.write() {
            verdicts.insert(food.id.clone(), verdict);
        }
        verdict
    }

    /// A recipe made of the food alone must pass every allergen check and every exclusion.
    /// The verifier's own rules decide, so the facts never contradict the checks.
    fn judge(&self, food: &Food, table: &FoodTable) -> bool {
        let recipe = Recipe {
            recipe_name: food.name_ko.clone(),
            description: String::new(),
            cooking_time: 0,
            difficulty: String::new(),
            servings: 1,
            ingredients: vec![RecipeIngredient {
                name: food.name_ko.clone(),
                amount: "100".to_owned(),
                unit: "g".to_owned(),
            }],
            instructions: Vec::new(),
            nutrition_tips: String::new(),
            keto_notes: None,
        };
        let nutrition = analyze(&recipe, table);
        let facts = |id: &str| table.find_by_id(id).map(|f| f.per_100g);
        let evaluation = rules::evaluate(self.target, &self.profile, &recipe, &nutrition, &facts);
        evaluation
            .checks
            .iter()
            .filter(|check| {
                check.rule.starts_with("allergen:") || self.exclusions.contains(&check.rule)
            })
            .all(|check| check.passed)
    }
}

/// Distinct profiles kept; a profile's entry is small (its rules and one flag per food).
const ADMISSIBILITY_PROFILES: u64 = 1_000;

/// Admissibility per distinct [`AdmissibilityKey`], so the rules run once per profile and
/// food rather than on every request.
#[derive(Debug, Clone)]
pub struct AdmissibilityCache {
    profiles: moka::sync::Cache<AdmissibilityKey, Arc<ProfileAdmissibility>>,
}

impl Default for AdmissibilityCache {
    fn default() -> Self {
        AdmissibilityCache {
            profiles: moka::sync::Cache::new(ADMISSIBILITY_PROFILES),
        }
    }
}

impl AdmissibilityCache {
    /// The request's profile admissibility, planned on first use.
    pub fn for_request(&self, request: &RecipeRequest) -> Arc<ProfileAdmissibility> {
        let key = AdmissibilityKey::of(request);
        self.profiles
            .get_with_by_ref(&key, || Arc::new(ProfileAdmissibility::new(key.clone())))
    }
}

/// Whether `food` may be suggested for `request`, judged afresh (no cache).
pub fn admissible(food: &Food, table: &FoodTable, request: &RecipeRequest) -> bool {
    ProfileAdmissibility::new(AdmissibilityKey::of(request)).admits(food, table)
}

/// The id as a reader can trace it: `NDB 10005` for SR28 rows, `MFDS 김` for Korean staples.
fn source_label(id: &str) -> String {
    match id.strip_prefix("MFDS:") {
        Some(name) => format!("MFDS {name}"),
        None => format!("NDB {id}"),
    }
}

/// `53.01` → `53`, `9.34` → `9.3`, `0.04` → `0`.
fn figure(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// The facts block for the prompt; empty when there is nothing to say.
pub fn facts_block(foods: &[&Food], language: Language) -> String {
    if foods.is_empty() {
        return String::new();
    }
    let mut block = match language {
        Language::Ko => "검증된 식품 영양 정보 (이 서비스의 식품표, 100 g당). 재료를 고르고 양을 정할 때 이 수치를 기준으로 하세요:\n".to_owned(),
        Language::En => "Verified food facts (this service's food table, per 100 g). Use these figures when choosing ingredients and amounts:\n".to_owned(),
    };
    for food in foods {
        let n = &food.per_100g;
        let line = match language {
            Language::Ko => format!(
                "- {} ({}) [{}]: {} kcal, 단백질 {} g, 지방 {} g, 탄수화물 {} g, 식이섬유 {} g, 나트륨 {} mg\n",
                food.name_ko,
                food.name_en,
                source_label(&food.id),
                figure(n.kcal),
                figure(n.protein_g),
                figure(n.fat_g),
                figure(n.carbs_g),
                figure(n.fiber_g),
                figure(n.sodium_mg),
            ),
            Language::En => format!(
                "- {} ({}) [{}]: {} kcal, protein {} g, fat {} g, carbohydrate {} g, fibre {} g, sodium {} mg\n",
                food.name_en,
                food.name_ko,
                source_label(&food.id),
                figure(n.kcal),
                figure(n.protein_g),
                figure(n.fat_g),
                figure(n.carbs_g),
                figure(n.fiber_g),
                figure(n.sodium_mg),
            ),
        };
        block.push_str(&line);
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: serde_json::Value) -> RecipeRequest {
        RecipeRequest::from_json(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_query_names_target_ingredients_and_conditions_but_not_allergies() {
        let r = request(
            serde_json::json!({"target": "keto", "ingredientsOnHand": ["돼지고기", "양배추"],
            "profile": {"healthConditions": ["고혈압"], "allergies": ["땅콩"]}}),
        );
        let q = query_text(&r);
        for part in ["키토", "ketogenic", "돼지고기, 양배추", "고혈압"] {
            assert!(q.contains(part), "{q}");
        }
        assert!(!q.contains("땅콩"), "{q}");
        let bare = query_text(&request(serde_json::json!({"target": "vegan"})));
        assert!(
            bare.starts_with("비건") && !bare.contains("보유 재료"),
            "{bare}"
        );
    }

    #[test]
    fn facts_carry_the_table_figures_in_the_request_language() {
        let table = FoodTable::embedded();
        let belly = table.find_by_id("10005").unwrap();
        let laver = table
            .foods()
            .iter()
            .find(|f| f.id.starts_with("MFDS:"))
            .unwrap();
        let ko = facts_block(&[belly, laver], Language::Ko);
        assert!(ko.starts_with("검증된 식품 영양 정보"), "{ko}");
        let expected = format!(
            "- 삼겹살 ({}) [NDB 10005]: 518 kcal, 단백질 {} g, 지방 53 g",
            belly.name_en,
            figure(belly.per_100g.protein_g)
        );
        assert!(ko.contains(&expected), "{ko}");
        assert!(
            ko.contains(&format!("[MFDS {}]", laver.id.trim_start_matches("MFDS:"))),
            "{ko}"
        );
        let en = facts_block(&[belly], Language::En);
        assert!(
            en.contains(&format!(
                "- {} (삼겹살) [NDB 10005]: 518 kcal, protein",
                belly.name_en
            )) && en.contains("sodium"),
            "{en}"
        );
        assert_eq!(facts_block(&[], Language::Ko), "");
    }

    #[test]
    fn figures_are_rounded_to_one_decimal() {
        assert_eq!(
            (figure(53.01), figure(9.34), figure(0.04), figure(518.0)),
            ("53".into(), "9.3".into(), "0".into(), "518".into())
        );
    }

    #[test]
    fn allergens_and_excluded_foods_are_not_offered() {
        let table = FoodTable::embedded();
        let belly = table.find_by_id("10005").unwrap();
        let peanut = table.foods().iter().find(|f| f.name_ko == "땅콩").unwrap();
        let keto =
            request(serde_json::json!({"target": "keto", "profile": {"allergies": ["땅콩"]}}));
        assert!(admissible(belly, table, &keto));
        assert!(!admissible(peanut, table, &keto));
        let vegan = request(serde_json::json!({"target": "vegan"}));
        assert!(!admissible(belly, table, &vegan));
        assert!(admissible(peanut, table, &vegan));
    }

    #[test]
    fn the_cache_agrees_with_a_fresh_judgement_for_every_food() {
        let table = FoodTable::embedded();
        let cache = AdmissibilityCache::default();
        let requests = [
            request(
                serde_json::json!({"target": "keto", "profile": {"allergies": ["땅콩", "우유"], "budget": 9000}}),
            ),
            request(
                serde_json::json!({"target": "keto", "profile": {"allergies": ["땅콩", "우유"], "maxCalories": 500}}),
            ),
            request(serde_json::json!({"target": "vegan", "profile": {"allergies": ["밀"]}})),
            request(serde_json::json!({"target": "balanced"})),
        ];
        for r in &requests {
            let profile = cache.for_request(r);
            // Twice: the second pass reads the memo.
            for _ in 0..2 {
                for food in table.foods() {
                    assert_eq!(
                        profile.admits(food, table),
                        admissible(food, table, r),
                        "{}",
                        food.id
                    );
                }
            }
        }
        // The two keto requests differ only in limits: one planned profile serves both.
        assert!(Arc::ptr_eq(
            &cache.for_request(&requests[0]),
            &cache.for_request(&requests[1])
        ));
        assert!(!Arc::ptr_eq(
            &cache.for_request(&requests[0]),
            &cache.for_request(&requests[2])
        ));
    }
}
