//! Evaluation of the exclusion rules (vegetarian, vegan, gout, pregnancy, celiac, alcohol,
//! lactose): which ingredient lines and instruction steps bring in a food the rule leaves out.
//! The group sets each rule uses are data (`[sets]` of `food-groups.toml`).

use super::allergens::{Finding, Matcher};
use super::groups;
use super::table::Exclusion;
use super::text::{normalize, Haystack, Term};
use crate::domain::{Category, NutritionReport, Recipe};

pub(crate) fn find(exclusion: Exclusion, recipe: &Recipe, nutrition: &NutritionReport) -> Finding {
    match exclusion {
        Exclusion::MeatOrFish => flesh_matcher().scan(recipe, nutrition),
        Exclusion::AnimalProducts => {
            let mut ids = groups::set("flesh");
            ids.extend(groups::set("non-flesh-animal"));
            Matcher::for_groups(&ids)
                .with_categories(Category::is_animal)
                .scan(recipe, nutrition)
        }
        Exclusion::HighPurineFoods => Matcher::for_groups(&groups::set("high-purine"))
            .without_compounds()
            .with_categories(|c| matches!(c, Category::Crustacean | Category::Mollusc))
            .scan(recipe, nutrition),
        Exclusion::Gluten => Matcher::for_groups(&groups::set("gluten")).scan(recipe, nutrition),
        Exclusion::Alcohol => Matcher::for_groups(&groups::set("alcohol")).scan(recipe, nutrition),
        Exclusion::SmokedFishOrRawMilkCheese => {
            Matcher::for_groups(&groups::set("pregnancy-risk")).scan(recipe, nutrition)
        }
        Exclusion::Lactose => Matcher::for_groups(&groups::set("lactose")).scan(recipe, nutrition),
        Exclusion::RawFishOrMeat => raw_flesh(recipe, nutrition),
    }
}

fn flesh_matcher() -> Matcher {
    Matcher::for_groups(&groups::set("flesh")).with_categories(Category::is_flesh)
}

/// Dishes that are raw flesh by definition.
const RAW_DISHES: &[&str] = &[
    "=회",
    "생선회",
    "물회",
    "육회",
    "사시미",
    "세비체",
    "카르파초",
    "카르파치오",
    "포케",
    "타르타르",
    "모둠회",
    "생굴",
    "게장",
    "새우장",
    "연어장",
    "전복장",
    "그라블락스",
    "sashimi",
    "tartare",
    "ceviche",
    "carpaccio",
    "poke bowl",
    "crudo",
    "gravlax",
    "yukhoe",
    "raw oyster",
];

/// Words that make flesh mentioned nearby raw or undercooked.
const RAW_MARKERS: &[&str] = &[
    "날것",
    "날로",
    "날생선",
    "생으로",
    "익히지 않은",
    "덜 익힌",
    "=레어",
    "미디엄 레어",
    "raw",
    "rare",
    "undercooked",
    "uncooked",
    "medium rare",
];

/// Words before a raw marker that mean the opposite (`until no longer raw`).
const RAW_NEGATIONS: &[&str] = &["longer", "not", "never", "no"];

/// Korean `…회` compounds whose stem is cooked (`숙회` is blanched).
const COOKED_HOE_STEMS: &[&str] = &["숙", "데친", "사", "국", "일", "교"];

/// Nominal particles that may follow `회` (`광어회를`).
const HOE_PARTICLES: &[&str] = &[
    "을", "를", "와", "과", "로", "으로", "는", "은", "가", "이", "도", "의",
];

/// Pregnancy: raw or undercooked fish, seafood or meat. A line or step is offending when it
/// names a raw dish (`육회`, `sashimi`, `광어회`) or pairs a raw marker (`날것`, `raw`) with
/// a flesh food.
fn raw_flesh(recipe: &Recipe, nutrition: &NutritionReport) -> Finding {
    let flesh = flesh_matcher();
    let dishes: Vec<Term> = RAW_DISHES.iter().map(|t| Term::parse(t)).collect();
    let markers: Vec<Term> = RAW_MARKERS.iter().map(|t| Term::parse(t)).collect();
    let flesh_names: Vec<Term> = nutrition
        .ingredients
        .iter()
        .filter(|f| f.categories.iter().any(|c| c.is_flesh()))
        .map(|f| Term::literal(&f.name))
        .collect();

    let names_flesh = |text: &str| {
        let hay = Haystack::new(text);
        flesh.text_mentions(&hay) || !hay.find_all(&flesh_names, &[]).is_empty()
    };
    let is_raw = |text: &str, line_is_flesh: bool| -> Option<String> {
        let hay = Haystack::new(text);
        if let Some(span) = hay.find_all(&dishes, &[]).first() {
            return Some(hay.excerpt(*span));
        }
        if let Some(excerpt) = raw_hoe_compound(text, &flesh) {
            return Some(excerpt);
        }
        let marker = hay
            .find_all(&markers, &[])
            .into_iter()
            .find(|span| !preceded_by_negation(&hay, *span))?;
        (line_is_flesh || names_flesh(text)).then(|| hay.excerpt(marker))
    };

    let mut finding = Finding::default();
    let mut record = |text: String| {
        finding.count += 1;
        if !finding.offending.contains(&text) {
            finding.offending.push(text);
        }
    };
    for line in &recipe.ingredients {
        let line_is_flesh = nutrition.ingredients.iter().any(|f| {
            normalize(&f.name) == normalize(&line.name) && f.categories.iter().any(|c| c.is_flesh())
        });
        if is_raw(&line.name, line_is_flesh).is_some() {
            record(line.name.clone());
        }
    }
    if let Some(excerpt) = is_raw(&recipe.recipe_name, false) {
        record(format!("recipe name: {excerpt}"));
    }
    for (index, step) in recipe.instructions.iter().enumerate() {
        if let Some(excerpt) = is_raw(step, false) {
            record(format!("step {}: {excerpt}", index + 1));
        }
    }
    finding
}

fn preceded_by_negation(hay: &Haystack, span: super::text::Span) -> bool {
    let before: String = hay.chars()[..span.start].iter().collect();
    before
        .split(' ')
        .rev()
        .find(|w| !w.is_empty())
        .is_some_and(|w| RAW_NEGATIONS.contains(&w))
}

/// `광어회`, `연어회를`: a word ending in `회` whose stem is a flesh food.
fn raw_hoe_compound(text: &str, flesh: &Matcher) -> Option<String> {
    normalize(text).split(' ').find_map(|token| {
        let word = HOE_PARTICLES
            .iter()
            .find_map(|p| token.strip_suffix(p).filter(|w| w.ends_with('회')))
            .unwrap_or(token);
        let stem = word.strip_suffix('회')?;
        if stem.is_empty() || COOKED_HOE_STEMS.contains(&stem) {
            return None;
        }
        flesh
            .text_mentions(&Haystack::new(stem))
            .then(|| token.to_string())
    })
}
