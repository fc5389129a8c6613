//! Food knowledge as data: the food groups (allergens and diet groups), compound foods and diet
//! rules live in reviewed TOML files under `shared/data/`, converted to JSON at build time
//! (`crate::datafile`, a syntax error fails the build), compiled into the binary, decoded and
//! validated once. A mistake in them (an unknown group id, a compound part that does not
//! resolve, a rule name that does not parse) is a [`KnowledgeError`] that fails the start with
//! a message naming the entry; the guard itself never sees half-valid data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use serde::Deserialize;

use super::table::{parse_rule, Rule};
use super::text::{normalize, Haystack, Term};
use crate::domain::{Category, Target};

// The three files as the build script wrote them (`shared/build.rs`).
const GROUPS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/food-groups.json"));
const COMPOUNDS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/compound-foods.json"));
const RULES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/diet-rules.json"));

/// Group sets the exclusion rules use; each must be defined in `food-groups.toml`.
pub const REQUIRED_SETS: &[&str] = &[
    "flesh",
    "non-flesh-animal",
    "high-purine",
    "gluten",
    "alcohol",
    "pregnancy-risk",
    "lactose",
];

/// Why the knowledge files cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KnowledgeError {
    #[error("{file}: {message}")]
    Syntax { file: &'static str, message: String },
    #[error("{file}: {entry}: {message}")]
    Invalid {
        file: &'static str,
        entry: String,
        message: String,
    },
}

fn invalid(
    file: &'static str,
    entry: impl Into<String>,
    message: impl Into<String>,
) -> KnowledgeError {
    KnowledgeError::Invalid {
        file,
        entry: entry.into(),
        message: message.into(),
    }
}

/// Whether the group is a legally defined allergen or only used by diet rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupKind {
    Allergen,
    Diet,
}

/// One food group as `food-groups.toml` states it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoodGroup {
    pub id: String,
    pub name_ko: String,
    pub name_en: String,
    pub kind: GroupKind,
    /// The item of the Korean mandatory allergen list this group is, if any.
    #[serde(default)]
    pub korea: Option<String>,
    /// The US major food allergen this group falls under, if any.
    #[serde(default)]
    pub us: Option<String>,
    pub source: String,
    /// Table categories that always imply this group.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Words a user may write for this allergy (besides the names).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Words that name the food or a product made from it.
    pub terms: Vec<String>,
    /// Look-alikes that contain a term but are not this food.
    #[serde(default)]
    pub exclusions: Vec<String>,
}

/// Free-text allergy words that stand for several groups at once (`견과류`, `seafood`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Umbrella {
    pub words: Vec<String>,
    pub groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsFile {
    sets: BTreeMap<String, Vec<String>>,
    group: Vec<FoodGroup>,
    umbrella: Vec<Umbrella>,
}

/// A food made of other foods (김치, 굴소스, 카레 roux).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compound {
    pub id: String,
    pub names: Vec<String>,
    /// Food-table rows that are this compound.
    #[serde(default)]
    pub foods: Vec<String>,
    /// Other compounds it is made with.
    #[serde(default)]
    pub parts: Vec<String>,
    /// Groups it carries itself.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Set when products differ by brand: what the safe side assumes.
    #[serde(default)]
    pub varies: Option<String>,
    /// Names containing one of `names` that are not this compound (나박김치 is water kimchi
    /// made without 젓갈; 비건 김치 is a labelled product).
    #[serde(default)]
    pub exclusions: Vec<String>,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompoundsFile {
    compound: Vec<Compound>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    id: Target,
    rules: Vec<String>,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionEntry {
    id: String,
    name_ko: String,
    name_en: String,
    synonyms: Vec<String>,
    rules: Vec<String>,
    #[serde(default)]
    overrides: Vec<String>,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    universal: Vec<String>,
    target: Vec<TargetEntry>,
    condition: Vec<ConditionEntry>,
}

/// A health condition the service recognises in free text.
#[derive(Debug, Clone)]
pub struct Condition {
    pub id: String,
    pub name_ko: String,
    pub name_en: String,
    /// Compared after `text::compact`; recognised when the user's text contains one.
    pub synonyms: Vec<String>,
    pub rules: Vec<Rule>,
    /// Conditions this one replaces when both are named (dialysis replaces CKD).
    pub overrides: Vec<String>,
    pub source: String,
}

/// Everything the rules know about food, validated.
#[derive(Debug)]
pub struct Knowledge {
    pub groups: Vec<FoodGroup>,
    pub umbrellas: Vec<Umbrella>,
    pub sets: BTreeMap<String, Vec<String>>,
    pub compounds: Vec<Compound>,
    /// Per compound (same order), every group it carries through its parts, sorted.
    pub compound_groups: Vec<Vec<String>>,
    pub targets: Vec<(Target, Vec<Rule>, String)>,
    pub conditions: Vec<Condition>,
    pub universal: Vec<Rule>,
}

static EMBEDDED: LazyLock<Result<Knowledge, KnowledgeError>> =
    LazyLock::new(|| Knowledge::from_json(GROUPS_JSON, COMPOUNDS_JSON, RULES_JSON));

/// The embedded knowledge, parsed and validated once. Call at start and fail the start on
/// error.
pub fn load() -> Result<&'static Knowledge, KnowledgeError> {
    EMBEDDED.as_ref().map_err(Clone::clone)
}

/// The embedded knowledge when it is valid. The start has already failed when it is not, so
/// callers that get `None` fail closed (see `rules::evaluate`).
pub fn get() -> Option<&'static Knowledge> {
    EMBEDDED.as_ref().ok()
}

fn syntax<T: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<T, KnowledgeError> {
    serde_json::from_str(text).map_err(|err| KnowledgeError::Syntax {
        file,
        message: err.to_string().trim().to_string(),
    })
}

const GROUPS_FILE: &str = "food-groups.toml";
const COMPOUNDS_FILE: &str = "compound-foods.toml";
const RULES_FILE: &str = "diet-rules.toml";

impl Knowledge {
    /// Decodes and validates the three files in their build-time JSON form
    /// ([`crate::datafile`]).
    pub fn from_json(
        groups: &str,
        compounds: &str,
        rules: &str,
    ) -> Result<Knowledge, KnowledgeError> {
        let groups: GroupsFile = syntax(GROUPS_FILE, groups)?;
        let compounds: CompoundsFile = syntax(COMPOUNDS_FILE, compounds)?;
        let rules: RulesFile = syntax(RULES_FILE, rules)?;
        validate_groups(&groups)?;
        let ids: BTreeSet<&str> = groups.group.iter().map(|g| g.id.as_str()).collect();
        let compound_groups = validate_compounds(&compounds.compound, &ids, &groups.group)?;
        let (targets, conditions, universal) = validate_rules(rules)?;
        Ok(Knowledge {
            groups: groups.group,
            umbrellas: groups.umbrella,
            sets: groups.sets,
            compounds: compounds.compound,
            compound_groups,
            targets,
            conditions,
            universal,
        })
    }

    pub fn group(&self, id: &str) -> Option<&FoodGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The group ids of a named set (`flesh`, `gluten`); validated to exist at load.
    pub fn set(&self, name: &str) -> &[String] {
        self.sets.get(name).map_or(&[], Vec::as_slice)
    }

    /// Checks that every compound's `foods` entry is a row of the food table.
    pub fn check_food_rows(&self, row_exists: &dyn Fn(&str) -> bool) -> Result<(), KnowledgeError> {
        for compound in &self.compounds {
            if let Some(missing) = compound.foods.iter().find(|id| !row_exists(id)) {
                return Err(invalid(
                    COMPOUNDS_FILE,
                    &compound.id,
                    format!("food `{missing}` is not a row of the food table"),
                ));
            }
        }
        Ok(())
    }

    /// Number of rules that carry a source (targets and conditions).
    pub fn sourced_rule_count(&self) -> usize {
        self.targets
            .iter()
            .map(|(_, rules, _)| rules.len())
            .sum::<usize>()
            + self.conditions.iter().map(|c| c.rules.len()).sum::<usize>()
    }
}

fn nonblank(
    file: &'static str,
    entry: &str,
    field: &str,
    value: &str,
) -> Result<(), KnowledgeError> {
    if value.trim().is_empty() {
        return Err(invalid(file, entry, format!("`{field}` is empty")));
    }
    Ok(())
}

fn validate_groups(file: &GroupsFile) -> Result<(), KnowledgeError> {
    let mut ids = BTreeSet::new();
    for group in &file.group {
        let entry = format!("group `{}`", group.id);
        nonblank(GROUPS_FILE, &entry, "id", &group.id)?;
        if !ids.insert(group.id.as_str()) {
            return Err(invalid(GROUPS_FILE, entry, "id appears twice"));
        }
        for (field, value) in [
            ("name_ko", &group.name_ko),
            ("name_en", &group.name_en),
            ("source", &group.source),
        ] {
            nonblank(GROUPS_FILE, &entry, field, value)?;
        }
        if group.terms.is_empty() && group.categories.is_empty() {
            return Err(invalid(
                GROUPS_FILE,
                entry,
                "has neither terms nor categories",
            ));
        }
        // A term that its own group excludes would silently never match.
        let exclusions: Vec<Term> = group.exclusions.iter().map(|t| Term::parse(t)).collect();
        for term in group.terms.iter().chain(&group.aliases) {
            if normalize(term.trim_start_matches('=')).is_empty() {
                return Err(invalid(GROUPS_FILE, entry, format!("blank term `{term}`")));
            }
            let hay = Haystack::new(term.trim_start_matches('='));
            let whole = hay.chars().len();
            let covered = exclusions.iter().any(|x| {
                x.find(hay.chars())
                    .iter()
                    .any(|s| s.start == 0 && s.end == whole)
            });
            if covered {
                return Err(invalid(
                    GROUPS_FILE,
                    entry,
                    format!("`{term}` is both a term and a look-alike exclusion"),
                ));
            }
        }
    }
    for (name, members) in &file.sets {
        for id in members {
            if !ids.contains(id.as_str()) {
                return Err(invalid(
                    GROUPS_FILE,
                    format!("set `{name}`"),
                    format!("unknown group id `{id}`"),
                ));
            }
        }
    }
    for required in REQUIRED_SETS {
        if !file.sets.contains_key(*required) {
            return Err(invalid(
                GROUPS_FILE,
                "sets",
                format!("set `{required}` is missing"),
            ));
        }
    }
    // An allergy word must resolve to one meaning: the same alias in two umbrellas or an
    // umbrella word that is also a single group's alias with other groups is a contradiction.
    let mut umbrella_words: HashMap<String, Vec<String>> = HashMap::new();
    for umbrella in &file.umbrella {
        let entry = format!("umbrella {:?}", umbrella.words);
        if umbrella.words.is_empty() || umbrella.groups.is_empty() {
            return Err(invalid(GROUPS_FILE, entry, "needs words and groups"));
        }
        for id in &umbrella.groups {
            if !ids.contains(id.as_str()) {
                return Err(invalid(
                    GROUPS_FILE,
                    entry,
                    format!("unknown group id `{id}`"),
                ));
            }
        }
        let mut sorted = umbrella.groups.clone();
        sorted.sort();
        for word in &umbrella.words {
            let key = normalize(word);
            if let Some(previous) = umbrella_words.insert(key.clone(), sorted.clone()) {
                if previous != sorted {
                    return Err(invalid(
                        GROUPS_FILE,
                        entry,
                        format!("`{word}` also names the groups {previous:?}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Validates compounds and returns, per compound, every group it carries through its parts.
fn validate_compounds(
    compounds: &[Compound],
    group_ids: &BTreeSet<&str>,
    groups: &[FoodGroup],
) -> Result<Vec<Vec<String>>, KnowledgeError> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, compound) in compounds.iter().enumerate() {
        let entry = format!("compound `{}`", compound.id);
        nonblank(COMPOUNDS_FILE, &entry, "id", &compound.id)?;
        nonblank(COMPOUNDS_FILE, &entry, "source", &compound.source)?;
        if index.insert(compound.id.as_str(), i).is_some() {
            return Err(invalid(COMPOUNDS_FILE, entry, "id appears twice"));
        }
        if compound.names.is_empty() {
            return Err(invalid(COMPOUNDS_FILE, entry, "has no names"));
        }
        if compound.groups.is_empty() && compound.parts.is_empty() {
            return Err(invalid(
                COMPOUNDS_FILE,
                entry,
                "has neither groups nor parts",
            ));
        }
        for id in &compound.groups {
            if !group_ids.contains(id.as_str()) {
                return Err(invalid(
                    COMPOUNDS_FILE,
                    entry,
                    format!("unknown group id `{id}`"),
                ));
            }
        }
    }
    for compound in compounds {
        for part in &compound.parts {
            if !index.contains_key(part.as_str()) {
                return Err(invalid(
                    COMPOUNDS_FILE,
                    format!("compound `{}`", compound.id),
                    format!("part `{part}` is no compound"),
                ));
            }
        }
    }
    // Each group's look-alikes, parsed once for all compounds.
    let group_exclusions: HashMap<&str, Vec<Term>> = groups
        .iter()
        .map(|g| {
            let terms = g.exclusions.iter().map(|t| Term::parse(t)).collect();
            (g.id.as_str(), terms)
        })
        .collect();
    let mut closures = Vec::with_capacity(compounds.len());
    for (start, compound) in compounds.iter().enumerate() {
        let mut carried: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, vec![start])];
        while let Some((at, path)) = stack.pop() {
            let current = &compounds[at];
            carried.extend(current.groups.iter().cloned());
            for part in &current.parts {
                let next = index[part.as_str()];
                if path.contains(&next) {
                    return Err(invalid(
                        COMPOUNDS_FILE,
                        format!("compound `{}`", compound.id),
                        format!("parts form a cycle through `{part}`"),
                    ));
                }
                let mut longer = path.clone();
                longer.push(next);
                stack.push((next, longer));
            }
        }
        // A compound named by one of its own exclusions could never be found.
        let own: Vec<Term> = compound.exclusions.iter().map(|t| Term::parse(t)).collect();
        let names: Vec<(&String, Haystack)> = compound
            .names
            .iter()
            .map(|name| (name, Haystack::new(name.trim_start_matches('='))))
            .collect();
        let covers = |exclusions: &[Term], hay: &Haystack| {
            let whole = hay.chars().len();
            exclusions.iter().any(|x| {
                x.find(hay.chars())
                    .iter()
                    .any(|s| s.start == 0 && s.end == whole)
            })
        };
        for (name, hay) in &names {
            if covers(&own, hay) {
                return Err(invalid(
                    COMPOUNDS_FILE,
                    format!("compound `{}`", compound.id),
                    format!("name `{name}` is also one of its exclusions"),
                ));
            }
        }
        // A compound named by a look-alike of a group it carries could never be found.
        for id in &carried {
            let Some(exclusions) = group_exclusions.get(id.as_str()) else {
                continue;
            };
            for (name, hay) in &names {
                if covers(exclusions, hay) {
                    return Err(invalid(
                        COMPOUNDS_FILE,
                        format!("compound `{}`", compound.id),
                        format!("name `{name}` is a look-alike exclusion of group `{id}`"),
                    ));
                }
            }
        }
        closures.push(carried.into_iter().collect());
    }
    Ok(closures)
}

type ParsedRules = (Vec<(Target, Vec<Rule>, String)>, Vec<Condition>, Vec<Rule>);

fn parse_rules(entry: &str, names: &[String]) -> Result<Vec<Rule>, KnowledgeError> {
    names
        .iter()
        .map(|name| {
            parse_rule(name)
                .ok_or_else(|| invalid(RULES_FILE, entry, format!("unknown rule `{name}`")))
        })
        .collect()
}

fn validate_rules(file: RulesFile) -> Result<ParsedRules, KnowledgeError> {
    let universal = parse_rules("universal", &file.universal)?;
    let mut targets = Vec::new();
    for entry in file.target {
        let name = format!("target `{}`", entry.id);
        nonblank(RULES_FILE, &name, "source", &entry.source)?;
        if targets.iter().any(|(t, _, _)| *t == entry.id) {
            return Err(invalid(RULES_FILE, name, "given twice"));
        }
        let rules = parse_rules(&name, &entry.rules)?;
        targets.push((entry.id, rules, entry.source));
    }
    for target in Target::ALL {
        if !targets.iter().any(|(t, _, _)| *t == target) {
            return Err(invalid(
                RULES_FILE,
                format!("target `{target}`"),
                "is missing",
            ));
        }
    }
    let mut conditions: Vec<Condition> = Vec::new();
    for entry in file.condition {
        let name = format!("condition `{}`", entry.id);
        for (field, value) in [
            ("id", &entry.id),
            ("name_ko", &entry.name_ko),
            ("name_en", &entry.name_en),
            ("source", &entry.source),
        ] {
            nonblank(RULES_FILE, &name, field, value)?;
        }
        if conditions.iter().any(|c| c.id == entry.id) {
            return Err(invalid(RULES_FILE, name, "given twice"));
        }
        if entry.synonyms.is_empty() || entry.rules.is_empty() {
            return Err(invalid(RULES_FILE, name, "needs synonyms and rules"));
        }
        let synonyms: Vec<String> = entry
            .synonyms
            .iter()
            .map(|s| super::text::compact(s))
            .collect();
        if synonyms.iter().any(String::is_empty) {
            return Err(invalid(RULES_FILE, name, "has a blank synonym"));
        }
        let rules = parse_rules(&name, &entry.rules)?;
        conditions.push(Condition {
            id: entry.id,
            name_ko: entry.name_ko,
            name_en: entry.name_en,
            synonyms,
            rules,
            overrides: entry.overrides,
            source: entry.source,
        });
    }
    for condition in &conditions {
        for id in &condition.overrides {
            if !conditions.iter().any(|c| &c.id == id) {
                return Err(invalid(
                    RULES_FILE,
                    format!("condition `{}`", condition.id),
                    format!("overrides unknown condition `{id}`"),
                ));
            }
        }
    }
    Ok((targets, conditions, universal))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUPS_TOML: &str = include_str!("../../data/food-groups.toml");
    const COMPOUNDS_TOML: &str = include_str!("../../data/compound-foods.toml");
    const RULES_TOML: &str = include_str!("../../data/diet-rules.toml");

    /// The build-time conversion, then the load: what a change to the files goes through.
    fn parse(groups: &str, compounds: &str, rules: &str) -> Result<Knowledge, KnowledgeError> {
        let json = |text: &str| crate::datafile::toml_to_json(text).unwrap();
        Knowledge::from_json(&json(groups), &json(compounds), &json(rules))
    }

    #[test]
    fn the_build_time_json_is_the_toml_files() {
        let json = |text: &str| crate::datafile::toml_to_json(text).unwrap();
        assert_eq!(GROUPS_JSON, json(GROUPS_TOML));
        assert_eq!(COMPOUNDS_JSON, json(COMPOUNDS_TOML));
        assert_eq!(RULES_JSON, json(RULES_TOML));
    }

    #[test]
    fn a_toml_syntax_error_fails_the_conversion() {
        let broken = GROUPS_TOML.replacen("[[group]]", "[[group]", 1);
        let err = crate::datafile::toml_to_json(&broken).unwrap_err();
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn embedded_knowledge_is_valid() {
        let k = load().unwrap();
        assert!(k.groups.len() >= 30);
        assert!(k.compounds.len() >= 40, "{}", k.compounds.len());
        let kimchi = k.compounds.iter().position(|c| c.id == "kimchi").unwrap();
        assert_eq!(k.compound_groups[kimchi], vec!["fish", "shrimp"]);
        for group in &k.groups {
            assert!(!group.source.is_empty(), "{}", group.id);
        }
    }

    fn with_groups_edit(from: &str, to: &str) -> Result<(), KnowledgeError> {
        assert!(GROUPS_TOML.contains(from), "{from}");
        parse(
            &GROUPS_TOML.replacen(from, to, 1),
            COMPOUNDS_TOML,
            RULES_TOML,
        )
        .map(|_| ())
    }

    fn with_compounds_edit(from: &str, to: &str) -> Result<(), KnowledgeError> {
        assert!(COMPOUNDS_TOML.contains(from), "{from}");
        parse(
            GROUPS_TOML,
            &COMPOUNDS_TOML.replacen(from, to, 1),
            RULES_TOML,
        )
        .map(|_| ())
    }

    fn with_rules_edit(from: &str, to: &str) -> Result<(), KnowledgeError> {
        assert!(RULES_TOML.contains(from), "{from}");
        parse(
            GROUPS_TOML,
            COMPOUNDS_TOML,
            &RULES_TOML.replacen(from, to, 1),
        )
        .map(|_| ())
    }

    #[test]
    fn a_typo_in_a_group_id_is_rejected() {
        let err = with_groups_edit(
            "gluten = [\"wheat\", \"gluten\"]",
            "gluten = [\"wheet\", \"gluten\"]",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown group id `wheet`"),
            "{err}"
        );
        let err = with_compounds_edit("groups = [\"shrimp\"]", "groups = [\"shrmp\"]").unwrap_err();
        assert!(err.to_string().contains("compound `saeujeot`"), "{err}");
        assert!(
            err.to_string().contains("unknown group id `shrmp`"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_field_or_category_is_rejected() {
        let err =
            with_groups_edit("categories = [\"egg\"]", "categories = [\"eggs\"]").unwrap_err();
        assert!(matches!(err, KnowledgeError::Syntax { .. }), "{err}");
        let err = with_compounds_edit("varies = ", "varys = ").unwrap_err();
        assert!(err.to_string().contains("varys"), "{err}");
    }

    #[test]
    fn compound_parts_must_resolve_and_not_cycle() {
        let err = with_compounds_edit(
            "parts = [\"saeujeot\", \"myeolchi-aekjeot\"]",
            "parts = [\"saeujeot\", \"myeolchi-aekjet\"]",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("part `myeolchi-aekjet` is no compound"),
            "{err}"
        );
        let err = with_compounds_edit("parts = [\"tahini\"]", "parts = [\"hummus\"]").unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
    }

    #[test]
    fn a_term_in_its_own_exclusions_is_a_contradiction() {
        let err = with_groups_edit(
            "exclusions = [\"에그플랜트\", \"eggplant\"]",
            "exclusions = [\"에그플랜트\", \"eggplant\", \"mayo\"]",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("`mayo` is both a term and a look-alike"),
            "{err}"
        );
        let err = with_compounds_edit(
            "names = [\"굴소스\",",
            "names = [\"굴소스\", \"oyster mushroom\",",
        )
        .unwrap_err();
        assert!(err.to_string().contains("look-alike exclusion"), "{err}");
    }

    #[test]
    fn rule_names_and_targets_are_checked() {
        let err = with_rules_edit("\"sodiumPerServing<=500mg\"", "\"sodiumPerServing<=500g\"")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown rule `sodiumPerServing<=500g`"),
            "{err}"
        );
        let err = with_rules_edit(
            "overrides = [\"kidney-disease\"]",
            "overrides = [\"kidney\"]",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("overrides unknown condition"),
            "{err}"
        );
        let err = with_rules_edit("id = \"vegan\"", "id = \"vegetarian\"").unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }

    #[test]
    fn compound_food_rows_are_checked_against_the_table() {
        let k = load().unwrap();
        let err = k.check_food_rows(&|id| id != "11118").unwrap_err();
        assert!(err.to_string().contains("`11118`"), "{err}");
    }
}
