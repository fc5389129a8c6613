//! The allergen guard: maps an allergy the user wrote (Korean or English, free text) to food
//! groups, and finds those groups in a recipe's ingredient lines, in the food-table rows they
//! matched (names and categories), in the recipe name and in the instructions (`버터를
//! 두르고` is caught even when butter is missing from the ingredient list).

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Serialize;

use super::groups::{self, FoodGroup};
use super::text::{normalize, Haystack, Term};
use crate::domain::{Category, Check, NutritionReport, Recipe};

/// What one allergy entry stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedAllergy {
    /// The entry as the user wrote it, trimmed.
    pub input: String,
    /// Ids of the food groups it names (`milk`, `peanut`, ...), see `groups::GROUPS`.
    pub groups: Vec<&'static str>,
    /// Words that named no known group; they are matched literally.
    pub literals: Vec<String>,
}

impl ResolvedAllergy {
    /// The groups themselves, for describing them.
    pub fn food_groups(&self) -> Vec<&'static FoodGroup> {
        self.groups
            .iter()
            .filter_map(|id| groups::group(id))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.literals.is_empty()
    }
}

/// Words around an allergy that say nothing about the food (`땅콩 알레르기 있음`).
const FILLER_WORDS: &[&str] = &[
    "알레르기",
    "알러지",
    "알레르겐",
    "알레르기가",
    "알러지가",
    "있음",
    "있어요",
    "있습니다",
    "심함",
    "심한",
    "약간",
    "가벼운",
    "및",
    "또는",
    "그리고",
    "포함",
    "제품",
    "식품",
    "등",
    "전부",
    "모든",
    "모두",
    "류",
    "allergy",
    "allergies",
    "allergic",
    "allergen",
    "allergens",
    "to",
    "intolerance",
    "intolerant",
    "sensitivity",
    "severe",
    "mild",
    "all",
    "any",
    "and",
    "or",
    "products",
    "product",
    "foods",
    "food",
    "including",
    "incl",
];

/// Endings glued to the food word that only say "allergy" (`땅콩알레르기`).
const ALLERGY_SUFFIXES: &[&str] = &["알레르기가", "알레르기", "알러지가", "알러지", "불내증"];

/// Particles glued to the food word (`견과류에`); stripped only when what is left is a
/// known allergy, so `오이` does not become `오`.
const PARTICLES: &[&str] = &["에", "이", "가", "을", "를", "은", "는", "과", "와"];

struct AliasEntry {
    alias: String,
    groups: Vec<&'static str>,
    /// Short aliases (`=콩`, `=소`) only count when they are the whole word.
    exact_only: bool,
}

fn alias_index() -> &'static [AliasEntry] {
    static INDEX: OnceLock<Vec<AliasEntry>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut entries: Vec<AliasEntry> = Vec::new();
        let mut add = |raw: &str, ids: &[&'static str]| {
            let (exact_only, body) = match raw.strip_prefix('=') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let alias = normalize(body);
            if alias.is_empty() {
                return;
            }
            match entries.iter_mut().find(|e| e.alias == alias) {
                Some(entry) => {
                    for id in ids {
                        if !entry.groups.contains(id) {
                            entry.groups.push(id);
                        }
                    }
                    entry.exact_only &= exact_only;
                }
                None => entries.push(AliasEntry {
                    alias,
                    groups: ids.to_vec(),
                    exact_only,
                }),
            }
        };
        // Umbrellas first so that `생선` names every fish group, not only `fish`.
        for umbrella in groups::umbrellas() {
            let ids: Vec<&'static str> = umbrella.groups.iter().map(String::as_str).collect();
            for alias in &umbrella.words {
                add(alias, &ids);
            }
        }
        for group in groups::all() {
            let ids = [group.id.as_str()];
            add(&group.name_ko, &ids);
            add(&group.name_en, &ids);
            add(&group.id, &ids);
            for alias in &group.aliases {
                add(alias, &ids);
            }
        }
        entries
    })
}

fn exact_alias(word: &str) -> Option<&'static [&'static str]> {
    alias_index()
        .iter()
        .find(|e| e.alias == word)
        .map(|e| e.groups.as_slice())
}

/// Resolves one allergy entry. Whole phrases are tried first (`tree nuts`, `pine nut`), then
/// each word; a word that is no known allergy but contains one (`생땅콩`) takes that group;
/// anything else is kept as a literal so it is still searched for.
pub fn resolve(allergy: &str) -> ResolvedAllergy {
    let input = allergy.trim().to_string();
    let mut resolved = ResolvedAllergy {
        input: input.clone(),
        groups: Vec::new(),
        literals: Vec::new(),
    };
    let normalized = normalize(&input);
    if let Some(ids) = exact_alias(&normalized) {
        add_groups(&mut resolved.groups, ids);
        return resolved;
    }
    let tokens: Vec<String> = normalized
        .split(' ')
        .map(strip_glued_suffix)
        .filter(|t| !t.is_empty() && !is_filler(t))
        .collect();
    let mut i = 0;
    while i < tokens.len() {
        // Longest phrase starting here that is a known alias.
        let phrase_match = (i + 1..=tokens.len())
            .rev()
            .find_map(|end| exact_alias(&tokens[i..end].join(" ")).map(|ids| (end, ids)));
        if let Some((end, ids)) = phrase_match {
            add_groups(&mut resolved.groups, ids);
            i = end;
            continue;
        }
        let token = &tokens[i];
        if let Some(ids) = singular(token).and_then(|s| exact_alias(&s)) {
            add_groups(&mut resolved.groups, ids);
        } else {
            let contained = contained_aliases(token);
            if contained.is_empty() {
                if !resolved.literals.contains(token) {
                    resolved.literals.push(token.clone());
                }
            } else {
                for ids in contained {
                    add_groups(&mut resolved.groups, ids);
                }
            }
        }
        i += 1;
    }
    resolved
}

fn add_groups(into: &mut Vec<&'static str>, ids: &[&'static str]) {
    for id in ids {
        if !into.contains(id) {
            into.push(id);
        }
    }
}

fn is_filler(token: &str) -> bool {
    FILLER_WORDS.contains(&token) || (token.is_ascii() && token.chars().count() < 2)
}

fn strip_glued_suffix(token: &str) -> String {
    if exact_alias(token).is_some() {
        return token.to_string();
    }
    let mut stem = token;
    for suffix in ALLERGY_SUFFIXES {
        if let Some(rest) = stem.strip_suffix(suffix) {
            if !rest.is_empty() {
                stem = rest;
                break;
            }
        }
    }
    for particle in PARTICLES {
        if let Some(rest) = stem.strip_suffix(particle) {
            if exact_alias(rest).is_some() {
                return rest.to_string();
            }
        }
    }
    stem.to_string()
}

fn singular(token: &str) -> Option<String> {
    if !token.is_ascii() {
        return None;
    }
    token
        .strip_suffix("es")
        .filter(|s| exact_alias(s).is_some())
        .or_else(|| token.strip_suffix('s'))
        .map(str::to_string)
}

/// Known aliases inside a longer word, longest first, not overlapping.
fn contained_aliases(token: &str) -> Vec<&'static [&'static str]> {
    let mut candidates: Vec<&AliasEntry> = alias_index()
        .iter()
        .filter(|e| !e.exact_only && e.alias.chars().count() >= 2 && token.contains(&e.alias))
        .collect();
    candidates.sort_by_key(|e| std::cmp::Reverse(e.alias.chars().count()));
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut found = Vec::new();
    for entry in candidates {
        for (start, _) in token.match_indices(&entry.alias) {
            let end = start + entry.alias.len();
            if taken.iter().all(|(s, e)| end <= *s || start >= *e) {
                taken.push((start, end));
                found.push(entry.groups.as_slice());
                break;
            }
        }
    }
    found
}

/// One group ready for searching.
#[derive(Debug)]
struct CompiledGroup {
    group: &'static FoodGroup,
    terms: Vec<Term>,
    exclusions: Vec<Term>,
    /// Names of compound foods that carry this group through their parts (김치 for shrimp),
    /// with the compound's index in `knowledge.compounds` and the look-alikes (the group's and
    /// the compound's own exclusions) that are not it.
    compound_terms: Vec<(Term, usize, Vec<Term>)>,
    /// Food-table rows that are such compounds.
    compound_rows: Vec<(String, usize)>,
}

fn compiled_groups() -> &'static [CompiledGroup] {
    static COMPILED: OnceLock<Vec<CompiledGroup>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let compounds =
            super::knowledge::get().map(|k| (k.compounds.as_slice(), k.compound_groups.as_slice()));
        groups::all()
            .iter()
            .map(|group| {
                let mut compound_terms = Vec::new();
                let mut compound_rows = Vec::new();
                if let Some((compounds, carried)) = compounds {
                    for (index, (compound, carried)) in compounds.iter().zip(carried).enumerate() {
                        if carried.contains(&group.id) {
                            let exclusions: Vec<Term> = group
                                .exclusions
                                .iter()
                                .chain(&compound.exclusions)
                                .map(|t| Term::parse(t))
                                .collect();
                            compound_terms.extend(
                                compound
                                    .names
                                    .iter()
                                    .map(|n| (Term::parse(n), index, exclusions.clone())),
                            );
                            compound_rows
                                .extend(compound.foods.iter().map(|id| (id.clone(), index)));
                        }
                    }
                }
                CompiledGroup {
                    group,
                    terms: group.terms.iter().map(|t| Term::parse(t)).collect(),
                    exclusions: group.exclusions.iter().map(|t| Term::parse(t)).collect(),
                    compound_terms,
                    compound_rows,
                }
            })
            .collect()
    })
}

/// Searches recipes for a set of food groups, literal words and table categories.
#[derive(Debug)]
pub(crate) struct Matcher {
    groups: Vec<&'static CompiledGroup>,
    literals: Vec<Term>,
    /// Categories beyond the groups' own that count as a hit (vegetarian: any flesh).
    extra_category: Option<fn(Category) -> bool>,
    /// Whether compound foods count by what they are made of (off only for the gout rule:
    /// a spoon of 새우젓 in kimchi does not make kimchi a purine-rich food).
    compounds: bool,
}

/// What a matcher found in one recipe.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Finding {
    /// Offending ingredient lines, plus the recipe name and each instruction step that
    /// mentions the food.
    pub count: usize,
    pub offending: Vec<String>,
}

impl Matcher {
    pub(crate) fn for_groups(ids: &[&str]) -> Matcher {
        Matcher {
            groups: compiled_groups()
                .iter()
                .filter(|c| ids.contains(&c.group.id.as_str()))
                .collect(),
            literals: Vec::new(),
            extra_category: None,
            compounds: true,
        }
    }

    /// Only foods named as themselves count, not compounds through their parts.
    pub(crate) fn without_compounds(mut self) -> Matcher {
        self.compounds = false;
        self
    }

    pub(crate) fn for_allergy(resolved: &ResolvedAllergy) -> Matcher {
        let mut matcher = Matcher::for_groups(&resolved.groups);
        matcher.literals = resolved.literals.iter().map(|l| Term::literal(l)).collect();
        matcher
    }

    pub(crate) fn with_categories(mut self, extra: fn(Category) -> bool) -> Matcher {
        self.extra_category = Some(extra);
        self
    }

    fn hits(&self, hay: &Haystack) -> Vec<super::text::Span> {
        let mut spans: Vec<_> = self
            .groups
            .iter()
            .flat_map(|g| {
                let mut found = hay.find_all(&g.terms, &g.exclusions);
                if self.compounds {
                    for (term, _, exclusions) in &g.compound_terms {
                        found.extend(hay.find_all(std::slice::from_ref(term), exclusions));
                    }
                }
                found
            })
            .chain(hay.find_all(&self.literals, &[]))
            .collect();
        spans.sort();
        spans.dedup();
        spans
    }

    /// The compound foods behind a hit on `text` or on the row `food_id`, as a note for the
    /// check: what they carry, and whether products vary by brand.
    fn compound_note(&self, text: &str, food_id: Option<&str>) -> Option<String> {
        if !self.compounds {
            return None;
        }
        let knowledge = super::knowledge::get()?;
        let hay = Haystack::new(text);
        let mut found: Vec<usize> = Vec::new();
        for group in &self.groups {
            for (term, index, exclusions) in &group.compound_terms {
                if !hay
                    .find_all(std::slice::from_ref(term), exclusions)
                    .is_empty()
                    && !found.contains(index)
                {
                    found.push(*index);
                }
            }
            for (row, index) in &group.compound_rows {
                if Some(row.as_str()) == food_id && !found.contains(index) {
                    found.push(*index);
                }
            }
        }
        let wanted: Vec<&str> = self.groups.iter().map(|g| g.group.id.as_str()).collect();
        let notes: Vec<String> = found
            .into_iter()
            .filter_map(|index| {
                let compound = knowledge.compounds.get(index)?;
                let carried = knowledge.compound_groups.get(index)?;
                let names: Vec<&str> = carried
                    .iter()
                    .filter(|id| wanted.contains(&id.as_str()))
                    .filter_map(|id| groups::group(id).map(|g| g.name_ko.as_str()))
                    .collect();
                let mut note = format!("{}: contains {}", compound.id, names.join(", "));
                if let Some(varies) = &compound.varies {
                    note.push_str(&format!("; products vary, safe side assumed: {varies}"));
                }
                Some(note)
            })
            .collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    fn row_hit(&self, food_id: &str) -> bool {
        self.compounds
            && self
                .groups
                .iter()
                .any(|g| g.compound_rows.iter().any(|(row, _)| row == food_id))
    }

    pub(crate) fn text_mentions(&self, hay: &Haystack) -> bool {
        !self.hits(hay).is_empty()
    }

    fn text_hit(&self, text: &str) -> bool {
        !self.hits(&Haystack::new(text)).is_empty()
    }

    fn category_hit(&self, categories: &[Category]) -> bool {
        categories.iter().any(|c| {
            self.groups.iter().any(|g| g.group.categories.contains(c))
                || self.extra_category.is_some_and(|f| f(*c))
        })
    }

    /// First mention in free text that is not a stated substitution (`버터 대신`).
    fn mention(&self, text: &str) -> Option<String> {
        let hay = Haystack::new(text);
        self.hits(&hay)
            .into_iter()
            .find(|span| !hay.negated(*span))
            .map(|span| hay.excerpt(span))
    }

    pub(crate) fn scan(&self, recipe: &Recipe, nutrition: &NutritionReport) -> Finding {
        let mut finding = Finding::default();
        let push = |finding: &mut Finding, text: String| {
            finding.count += 1;
            if !finding.offending.contains(&text) {
                finding.offending.push(text);
            }
        };
        let mut seen_lines: HashSet<String> = HashSet::new();
        for facts in &nutrition.ingredients {
            seen_lines.insert(normalize(&facts.name));
            let name_hit = self.text_hit(&facts.name);
            let food_id = facts.food.as_ref().map(|f| f.food_id.as_str());
            let row_hit = facts.food.as_ref().is_some_and(|f| {
                self.text_hit(&f.name_en) || self.text_hit(&f.name_ko) || self.row_hit(&f.food_id)
            });
            let category_hit = self.category_hit(&facts.categories);
            let note = if name_hit || row_hit {
                self.compound_note(&facts.name, food_id)
                    .map(|n| format!(" [{n}]"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            if name_hit {
                push(&mut finding, format!("{}{note}", facts.name));
            } else if row_hit || category_hit {
                let row = facts
                    .food
                    .as_ref()
                    .map_or_else(String::new, |f| format!(" ({})", f.name_en));
                push(&mut finding, format!("{}{row}{note}", facts.name));
            }
        }
        for line in &recipe.ingredients {
            if !seen_lines.contains(&normalize(&line.name)) && self.text_hit(&line.name) {
                push(&mut finding, line.name.clone());
            }
        }
        if let Some(excerpt) = self.mention(&recipe.recipe_name) {
            push(&mut finding, format!("recipe name: {excerpt}"));
        }
        for (index, step) in recipe.instructions.iter().enumerate() {
            if let Some(excerpt) = self.mention(step) {
                push(&mut finding, format!("step {}: {excerpt}", index + 1));
            }
        }
        finding
    }
}

/// One check per declared allergy: `allergen:<as written>`, value = offending occurrences.
/// Entries that are empty or name nothing searchable produce no check.
pub fn scan(allergies: &[String], recipe: &Recipe, nutrition: &NutritionReport) -> Vec<Check> {
    let mut seen: HashSet<String> = HashSet::new();
    allergies
        .iter()
        .filter(|a| seen.insert(normalize(a)))
        .map(|a| resolve(a))
        .filter(|r| !r.is_empty())
        .map(|resolved| {
            let finding = Matcher::for_allergy(&resolved).scan(recipe, nutrition);
            Check {
                rule: format!("allergen:{}", resolved.input),
                passed: finding.count == 0,
                value: finding.count as f64,
                limit: 0.0,
                offending: finding.offending,
                source: format!("allergy:{}", resolved.input),
            }
        })
        .collect()
}

/// Example words for a group in one language, for prompts (`버터, 치즈, 생크림`).
pub fn examples(group: &'static FoodGroup, english: bool, max: usize) -> Vec<&'static str> {
    group
        .terms
        .iter()
        .map(|t| t.trim_start_matches('='))
        .filter(|t| t.is_ascii() == english)
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{matched, named, recipe, report, unmatched};

    /// Offending count when the recipe has exactly this one ingredient line.
    fn in_ingredient(allergy: &str, ingredient: &str) -> usize {
        let (recipe, report) = named(&[ingredient], &[]);
        scan(&[allergy.to_string()], &recipe, &report)[0].value as usize
    }

    /// Offending count when the food appears only in an instruction step.
    fn in_step(allergy: &str, step: &str) -> usize {
        let (recipe, report) = named(&["물"], &[step]);
        scan(&[allergy.to_string()], &recipe, &report)[0].value as usize
    }

    fn assert_caught(allergy: &str, ingredients: &[&str]) {
        for ingredient in ingredients {
            assert_eq!(
                in_ingredient(allergy, ingredient),
                1,
                "allergy {allergy} must catch {ingredient}"
            );
        }
    }

    fn assert_not_caught(allergy: &str, ingredients: &[&str]) {
        for ingredient in ingredients {
            assert_eq!(
                in_ingredient(allergy, ingredient),
                0,
                "allergy {allergy} must not catch {ingredient}"
            );
        }
    }

    #[test]
    fn egg_and_its_products() {
        assert_caught(
            "계란",
            &[
                "계란 2개",
                "달걀 노른자",
                "메추리알",
                "마요네즈",
                "eggs",
                "egg yolk",
            ],
        );
        assert_caught("egg", &["달걀", "mayonnaise"]);
    }

    #[test]
    fn egg_traps() {
        assert_not_caught("계란", &["eggplant", "에그플랜트", "알배추", "알감자"]);
        assert_not_caught("알류", &["가지"]);
    }

    #[test]
    fn milk_and_its_products() {
        assert_caught(
            "우유",
            &[
                "우유",
                "버터",
                "무염버터",
                "체다 치즈",
                "생크림",
                "요거트",
                "그릭 요구르트",
                "연유",
                "분유",
                "유청 단백질",
                "크림치즈",
                "기(ghee)",
                "milk",
                "butter",
                "cheese",
                "heavy cream",
                "whey",
                "casein",
                "yogurt",
                "ghee",
            ],
        );
    }

    #[test]
    fn milk_traps() {
        assert_not_caught(
            "우유",
            &[
                "두유",
                "soy milk",
                "버터헤드 상추",
                "butterhead lettuce",
                "땅콩버터",
                "peanut butter",
                "코코넛밀크",
                "coconut milk",
                "cream of tartar",
                "butternut squash",
                "아몬드 우유",
            ],
        );
    }

    #[test]
    fn dairy_aliases_resolve_to_milk() {
        for alias in [
            "우유",
            "유제품",
            "milk",
            "dairy",
            "Dairy products",
            "유당불내증",
        ] {
            assert_eq!(resolve(alias).groups, vec!["milk"], "{alias}");
        }
    }

    #[test]
    fn buckwheat_and_its_products() {
        assert_caught(
            "메밀",
            &["메밀국수", "소바", "냉면 사리", "buckwheat flour"],
        );
    }

    #[test]
    fn peanut_and_its_products() {
        assert_caught("땅콩", &["땅콩", "땅콩버터", "peanut oil", "볶은 땅콩가루"]);
        assert_caught("땅콩 알레르기", &["peanuts"]);
    }

    #[test]
    fn peanut_traps() {
        assert_not_caught(
            "땅콩",
            &["땅콩호박", "땅콩 호박", "butternut squash", "코코넛"],
        );
    }

    #[test]
    fn soy_and_its_products() {
        assert_caught(
            "대두",
            &[
                "두부",
                "간장",
                "된장",
                "고추장",
                "쌈장",
                "청국장",
                "두유",
                "유부",
                "콩나물",
                "낫토",
                "미소",
                "soy sauce",
                "tofu",
                "edamame",
                "tempeh",
            ],
        );
    }

    #[test]
    fn soy_traps_other_beans_are_not_soy() {
        assert_not_caught("대두", &["완두콩", "강낭콩", "병아리콩", "녹두"]);
    }

    #[test]
    fn soy_category_from_table_row() {
        let recipe = recipe(&["비건 패티"], &[]);
        let report = report(vec![matched(
            "비건 패티",
            "16108",
            "SOYBEANS",
            100.0,
            &[Category::Soy],
        )]);
        let checks = scan(&["soy".to_string()], &recipe, &report);
        assert_eq!(checks[0].value, 1.0);
        assert_eq!(checks[0].offending, vec!["비건 패티 (SOYBEANS)"]);
    }

    #[test]
    fn wheat_and_its_products() {
        assert_caught(
            "밀",
            &[
                "밀가루",
                "간장",
                "고추장",
                "빵가루",
                "소면 국수",
                "라면",
                "부침가루",
                "튀김가루",
                "파스타",
                "식빵",
                "만두피",
                "어묵",
                "flour",
                "bread",
                "pasta",
                "egg noodles",
                "soy sauce",
            ],
        );
    }

    #[test]
    fn wheat_traps() {
        assert_not_caught(
            "밀",
            &[
                "쌀국수",
                "almond flour",
                "rice noodles",
                "밀푀유나베용 배추",
                "밀감",
                "곤약면",
            ],
        );
        assert_eq!(in_step("밀", "밀폐 용기에 담아 보관한다"), 0);
        assert_eq!(in_step("밀", "매운 맛이 취향이라면 고춧가루를 더한다"), 0);
    }

    #[test]
    fn shrimp_and_its_products() {
        assert_caught(
            "새우",
            &["새우젓", "새우가루", "건새우", "대하", "shrimp", "prawns"],
        );
    }

    #[test]
    fn crab_and_its_products() {
        assert_caught(
            "게",
            &["게맛살", "꽃게", "게 1마리", "crab stick", "대게살"],
        );
    }

    #[test]
    fn crab_short_word_traps() {
        assert_not_caught("게", &["계란", "가게 두부", "성게", "맛있게 구운 두부"]);
        assert_eq!(in_step("게", "맛있게 볶아 얇게 썬다"), 0);
        assert_eq!(in_step("게", "게를 손질한다"), 1);
    }

    #[test]
    fn molluscan_shellfish_and_its_products() {
        assert_caught(
            "조개류",
            &[
                "굴",
                "전복",
                "홍합",
                "바지락",
                "조개",
                "가리비",
                "굴소스",
                "oyster sauce",
                "clams",
            ],
        );
    }

    #[test]
    fn oyster_trap_gulbi_is_fish_not_oyster() {
        assert_not_caught("굴", &["굴비"]);
        assert_eq!(in_ingredient("생선", "굴비"), 1);
        assert_eq!(in_step("굴", "굴러가지 않게 놓는다"), 0);
    }

    #[test]
    fn mackerel_is_its_own_item_and_a_fish() {
        assert_caught("고등어", &["고등어", "mackerel fillet"]);
        assert_caught("fish", &["고등어"]);
        assert_not_caught("고등어", &["연어"]);
    }

    #[test]
    fn fish_and_its_products() {
        assert_caught(
            "생선",
            &[
                "멸치",
                "멸치액젓",
                "까나리액젓",
                "피시소스",
                "연어",
                "참치",
                "어묵",
                "황태",
                "대구",
                "fish sauce",
                "anchovies",
                "worcestershire sauce",
            ],
        );
    }

    #[test]
    fn tree_nuts_and_their_products() {
        assert_caught(
            "견과류",
            &[
                "아몬드",
                "캐슈너트",
                "피스타치오",
                "마카다미아",
                "헤이즐넛",
                "피칸",
                "호두",
                "잣",
                "almonds",
                "pine nuts",
                "walnut",
                "땅콩",
            ],
        );
        assert_caught("tree nuts", &["cashews", "잣"]);
        assert_not_caught("tree nuts", &["땅콩"]);
    }

    #[test]
    fn coconut_nutmeg_and_chestnut_are_not_tree_nuts() {
        assert_not_caught(
            "견과류",
            &["코코넛", "coconut", "nutmeg", "water chestnut", "땅콩호박"],
        );
    }

    #[test]
    fn walnut_and_pine_nut_are_separate_korean_items() {
        assert_caught("호두", &["호두", "walnuts"]);
        assert_not_caught("호두", &["잣"]);
        assert_caught("잣", &["잣", "잣가루", "pine nut"]);
        assert_eq!(in_step("잣", "잣을 뿌려 낸다"), 1);
    }

    #[test]
    fn sesame_and_its_products() {
        assert_caught(
            "참깨",
            &[
                "참기름",
                "깨",
                "통깨",
                "참깨",
                "타히니",
                "sesame oil",
                "흑임자",
            ],
        );
        assert_eq!(in_step("sesame", "볶은 깨를 뿌린다"), 1);
    }

    #[test]
    fn sesame_traps() {
        assert_not_caught(
            "참깨",
            &["참치", "깻잎", "들깨", "들깨가루", "들기름", "참외"],
        );
        assert_eq!(in_step("참깨", "깨끗이 씻어 물기를 뺀다"), 0);
        assert_eq!(in_step("참깨", "계란을 깨서 푼다"), 0);
    }

    #[test]
    fn pork_and_its_products() {
        assert_caught(
            "돼지고기",
            &[
                "삼겹살",
                "목살",
                "베이컨",
                "햄",
                "소시지",
                "돈가스",
                "라드",
                "pork belly",
                "bacon",
            ],
        );
        assert_not_caught("돼지고기", &["돼지감자", "햄버거빵"]);
    }

    #[test]
    fn beef_and_its_products() {
        assert_caught(
            "쇠고기",
            &["소고기", "차돌박이", "사골 육수", "beef stock", "소 안심"],
        );
        assert_not_caught("쇠고기", &["돼지 안심"]);
        assert_eq!(in_step("쇠고기", "안심하고 드세요"), 0);
    }

    #[test]
    fn chicken_and_its_products() {
        assert_caught(
            "닭고기",
            &["닭가슴살", "닭다리", "치킨스톡", "chicken broth"],
        );
        assert_not_caught("닭고기", &["치킨무"]);
    }

    #[test]
    fn squid_peach_tomato() {
        assert_caught("오징어", &["오징어", "한치", "calamari"]);
        assert_caught("복숭아", &["복숭아 통조림", "nectarine"]);
        assert_caught(
            "토마토",
            &["토마토소스", "케첩", "토마토 페이스트", "tomatoes"],
        );
    }

    #[test]
    fn sulfites_in_wine_and_dried_fruit() {
        assert_caught(
            "아황산류",
            &[
                "레드와인",
                "건살구",
                "건포도",
                "dried apricots",
                "white wine",
            ],
        );
        assert_not_caught("아황산류", &["포도", "살구"]);
    }

    #[test]
    fn crustacean_and_seafood_umbrellas() {
        let crustacean = resolve("갑각류");
        assert!(crustacean.groups.contains(&"shrimp") && crustacean.groups.contains(&"crab"));
        assert!(!crustacean.groups.contains(&"shellfish"));
        assert_caught("갑각류", &["새우", "꽃게", "랍스터"]);
        assert_not_caught("갑각류", &["바지락"]);
        assert_caught("shellfish", &["shrimp", "oysters", "오징어"]);
        assert_caught("해산물", &["연어", "홍합", "문어", "새우젓"]);
    }

    #[test]
    fn gluten_covers_barley_but_not_barley_shrimp() {
        assert_caught("글루텐", &["보리", "밀가루", "맥아"]);
        assert_not_caught("글루텐", &["보리새우", "쌀"]);
    }

    #[test]
    fn unknown_allergy_is_matched_literally() {
        let resolved = resolve("키위 알레르기");
        assert!(resolved.groups.is_empty());
        assert_eq!(resolved.literals, vec!["키위"]);
        assert_caught("키위", &["골드키위"]);
        assert_eq!(resolve("오이").literals, vec!["오이"]);
        assert_caught("mango", &["mangoes"]);
        assert_not_caught("mango", &["mangosteen"]);
    }

    #[test]
    fn glued_and_phrased_allergies_resolve() {
        assert_eq!(resolve("땅콩알레르기").groups, vec!["peanut"]);
        assert_eq!(resolve("allergic to peanuts").groups, vec!["peanut"]);
        assert_eq!(resolve("생땅콩").groups, vec!["peanut"]);
        let several = resolve("우유 및 계란");
        assert!(several.groups.contains(&"milk") && several.groups.contains(&"egg"));
        assert!(resolve("알레르기").is_empty());
    }

    #[test]
    fn instructions_are_scanned_even_when_the_list_omits_the_food() {
        let (recipe, report) = named(&["양파", "돼지고기"], &["팬에 버터를 두르고 양파를 볶는다"]);
        let checks = scan(&["우유".to_string()], &recipe, &report);
        assert!(!checks[0].passed);
        assert_eq!(checks[0].value, 1.0);
        assert!(checks[0].offending[0].starts_with("step 1:"));
        assert!(checks[0].offending[0].contains("버터를"));
    }

    #[test]
    fn stated_substitutions_are_not_mentions() {
        assert_eq!(in_step("우유", "버터 대신 올리브유를 두른다"), 0);
        assert_eq!(in_step("milk", "Use olive oil instead of butter."), 0);
        assert_eq!(
            in_step("우유", "버터 대신 올리브유, 마지막에 버터 한 조각"),
            1
        );
    }

    #[test]
    fn table_row_name_and_category_are_checked() {
        let recipe = recipe(&["정제 지방"], &[]);
        let report = report(vec![matched(
            "정제 지방",
            "01003",
            "BUTTER OIL,ANHYDROUS",
            10.0,
            &[Category::Dairy],
        )]);
        let checks = scan(&["유제품".to_string()], &recipe, &report);
        assert_eq!(checks[0].value, 1.0);
        let by_name_only = report_with_row("BUTTER,WITHOUT SALT");
        let checks = scan(&["milk".to_string()], &recipe, &by_name_only);
        assert_eq!(checks[0].value, 1.0);
    }

    fn report_with_row(row: &str) -> NutritionReport {
        report(vec![matched("정제 지방", "01145", row, 10.0, &[])])
    }

    #[test]
    fn check_shape_one_per_declared_allergy() {
        let (recipe, report) = named(&["땅콩버터", "우유", "두부"], &[]);
        let allergies = vec![
            "땅콩".to_string(),
            "우유".to_string(),
            "키위".to_string(),
            "땅콩".to_string(),
            " ".to_string(),
        ];
        let checks = scan(&allergies, &recipe, &report);
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[0].rule, "allergen:땅콩");
        assert_eq!(checks[0].source, "allergy:땅콩");
        assert_eq!(checks[0].offending, vec!["땅콩버터"]);
        assert_eq!(checks[1].offending, vec!["우유"]);
        assert_eq!(checks[1].limit, 0.0);
        assert!(checks[2].passed);
        assert_eq!(checks[2].value, 0.0);
    }

    #[test]
    fn decomposed_hangul_is_still_caught() {
        use unicode_normalization::UnicodeNormalization;
        let decomposed: String = "버터".nfd().collect();
        assert_eq!(in_ingredient("우유", &decomposed), 1);
    }

    #[test]
    fn recipe_lines_missing_from_the_report_are_scanned_too() {
        let recipe = recipe(&["새우젓"], &[]);
        let report = report(vec![unmatched("소금", 2.0)]);
        assert_eq!(scan(&["새우".to_string()], &recipe, &report)[0].value, 1.0);
    }

    #[test]
    fn every_korean_mandatory_and_us_major_allergen_has_a_group() {
        let korea: Vec<&str> = groups::all()
            .iter()
            .filter_map(|g| g.korea.as_deref())
            .collect();
        assert_eq!(korea.len(), 19, "Korean list: {korea:?}");
        for us in [
            "milk",
            "egg",
            "fish",
            "crustacean shellfish",
            "tree nuts",
            "peanuts",
            "wheat",
            "soybeans",
            "sesame",
        ] {
            assert!(
                groups::all().iter().any(|g| g.us.as_deref() == Some(us)),
                "{us}"
            );
        }
    }
}
