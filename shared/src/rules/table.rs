//! The rule vocabulary: metrics, bounds and exclusions, and the lookups of what each diet
//! target and each recognised health condition demands of one serving. The demands
//! themselves are data (`shared/data/diet-rules.toml`, loaded by `knowledge`), with their
//! sources in `docs/rules.md`.

pub use super::knowledge::Condition;
use crate::domain::{NutritionReport, Target};

/// A per-serving figure a rule can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    KcalPerServing,
    ProteinPerServing,
    CarbsPerServing,
    NetCarbsPerServing,
    SugarPerServing,
    FiberPerServing,
    SodiumPerServing,
    FatEnergyShare,
    ProteinEnergyShare,
    CarbsEnergyShare,
    /// Share of the recipe's mass that matched a food-table row.
    MatchedMassShare,
    /// Sugars from foods whose sugar is added (sweeteners, syrups, sweetened sauces).
    AddedSugarPerServing,
    /// Share of energy from saturated fat (9 kcal/g over the 4/4/9 macro energy).
    SaturatedFatEnergyShare,
    CholesterolPerServing,
    PotassiumPerServing,
    PhosphorusPerServing,
}

/// How a metric's value is shown and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// An amount per serving with a unit (`g`, `mg`, `kcal`), compared at 1 decimal.
    Amount,
    /// A share between 0 and 1, compared at 3 decimals.
    Share,
}

impl Metric {
    pub const ALL: [Metric; 16] = [
        Metric::KcalPerServing,
        Metric::ProteinPerServing,
        Metric::CarbsPerServing,
        Metric::NetCarbsPerServing,
        Metric::SugarPerServing,
        Metric::FiberPerServing,
        Metric::SodiumPerServing,
        Metric::FatEnergyShare,
        Metric::ProteinEnergyShare,
        Metric::CarbsEnergyShare,
        Metric::MatchedMassShare,
        Metric::AddedSugarPerServing,
        Metric::SaturatedFatEnergyShare,
        Metric::CholesterolPerServing,
        Metric::PotassiumPerServing,
        Metric::PhosphorusPerServing,
    ];

    /// The metric's part of a rule name (`netCarbsPerServing`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::KcalPerServing => "kcalPerServing",
            Metric::ProteinPerServing => "proteinPerServing",
            Metric::CarbsPerServing => "carbsPerServing",
            Metric::NetCarbsPerServing => "netCarbsPerServing",
            Metric::SugarPerServing => "sugarPerServing",
            Metric::FiberPerServing => "fiberPerServing",
            Metric::SodiumPerServing => "sodiumPerServing",
            Metric::FatEnergyShare => "fatEnergyShare",
            Metric::ProteinEnergyShare => "proteinEnergyShare",
            Metric::CarbsEnergyShare => "carbsEnergyShare",
            Metric::MatchedMassShare => "matchedMassShare",
            Metric::AddedSugarPerServing => "addedSugarPerServing",
            Metric::SaturatedFatEnergyShare => "saturatedFatEnergyShare",
            Metric::CholesterolPerServing => "cholesterolPerServing",
            Metric::PotassiumPerServing => "potassiumPerServing",
            Metric::PhosphorusPerServing => "phosphorusPerServing",
        }
    }

    /// Unit written after the limit in a rule name; kcal and shares carry none
    /// (`kcalPerServing<=500`, `fatEnergyShare>=0.70`).
    pub fn rule_unit(self) -> &'static str {
        match self {
            Metric::ProteinPerServing
            | Metric::CarbsPerServing
            | Metric::NetCarbsPerServing
            | Metric::SugarPerServing
            | Metric::FiberPerServing
            | Metric::AddedSugarPerServing => "g",
            Metric::SodiumPerServing
            | Metric::CholesterolPerServing
            | Metric::PotassiumPerServing
            | Metric::PhosphorusPerServing => "mg",
            _ => "",
        }
    }

    /// Unit used when a value is explained in words.
    pub fn display_unit(self) -> &'static str {
        match self {
            Metric::KcalPerServing => "kcal",
            other => other.rule_unit(),
        }
    }

    pub fn scale(self) -> Scale {
        match self {
            Metric::FatEnergyShare
            | Metric::ProteinEnergyShare
            | Metric::CarbsEnergyShare
            | Metric::MatchedMassShare
            | Metric::SaturatedFatEnergyShare => Scale::Share,
            _ => Scale::Amount,
        }
    }

    /// True for metrics the report does not carry; they are summed from the ingredient
    /// lines and the food rows' figures (`rules::line_total`).
    pub fn from_lines(self) -> bool {
        matches!(
            self,
            Metric::AddedSugarPerServing
                | Metric::SaturatedFatEnergyShare
                | Metric::CholesterolPerServing
                | Metric::PotassiumPerServing
                | Metric::PhosphorusPerServing
        )
    }

    /// The figure from the computed report, unrounded (0 for `from_lines` metrics).
    pub fn value(self, report: &NutritionReport) -> f64 {
        let p = &report.per_serving;
        let e = &report.energy_share;
        match self {
            Metric::KcalPerServing => p.kcal,
            Metric::ProteinPerServing => p.protein_g,
            Metric::CarbsPerServing => p.carbs_g,
            Metric::NetCarbsPerServing => p.net_carbs_g,
            Metric::SugarPerServing => p.sugar_g,
            Metric::FiberPerServing => p.fiber_g,
            Metric::SodiumPerServing => p.sodium_mg,
            Metric::FatEnergyShare => e.fat,
            Metric::ProteinEnergyShare => e.protein,
            Metric::CarbsEnergyShare => e.carbs,
            Metric::MatchedMassShare => report.matched_mass_share,
            Metric::AddedSugarPerServing
            | Metric::SaturatedFatEnergyShare
            | Metric::CholesterolPerServing
            | Metric::PotassiumPerServing
            | Metric::PhosphorusPerServing => 0.0,
        }
    }

    /// Rounds as the check reports it: amounts to 1 decimal, shares to 3.
    pub fn round(self, value: f64) -> f64 {
        let factor = match self.scale() {
            Scale::Amount => 10.0,
            Scale::Share => 1000.0,
        };
        (value * factor).round() / factor
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            Metric::KcalPerServing => "1인분 열량",
            Metric::ProteinPerServing => "1인분 단백질",
            Metric::CarbsPerServing => "1인분 총 탄수화물",
            Metric::NetCarbsPerServing => "1인분 순탄수화물(총 탄수화물 − 식이섬유)",
            Metric::SugarPerServing => "1인분 당류",
            Metric::FiberPerServing => "1인분 식이섬유",
            Metric::SodiumPerServing => "1인분 나트륨",
            Metric::FatEnergyShare => "지방에서 오는 열량 비율",
            Metric::ProteinEnergyShare => "단백질에서 오는 열량 비율",
            Metric::CarbsEnergyShare => "탄수화물에서 오는 열량 비율",
            Metric::MatchedMassShare => "식품 성분표와 일치한 재료의 무게 비율",
            Metric::AddedSugarPerServing => "1인분 첨가당",
            Metric::SaturatedFatEnergyShare => "포화지방에서 오는 열량 비율",
            Metric::CholesterolPerServing => "1인분 콜레스테롤",
            Metric::PotassiumPerServing => "1인분 칼륨",
            Metric::PhosphorusPerServing => "1인분 인",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Metric::KcalPerServing => "energy per serving",
            Metric::ProteinPerServing => "protein per serving",
            Metric::CarbsPerServing => "total carbohydrate per serving",
            Metric::NetCarbsPerServing => {
                "net carbohydrate (total carbohydrate minus fibre) per serving"
            }
            Metric::SugarPerServing => "sugars per serving",
            Metric::FiberPerServing => "dietary fibre per serving",
            Metric::SodiumPerServing => "sodium per serving",
            Metric::FatEnergyShare => "share of energy from fat",
            Metric::ProteinEnergyShare => "share of energy from protein",
            Metric::CarbsEnergyShare => "share of energy from carbohydrate",
            Metric::MatchedMassShare => "share of the ingredients' mass found in the food table",
            Metric::AddedSugarPerServing => "added sugars per serving",
            Metric::SaturatedFatEnergyShare => "share of energy from saturated fat",
            Metric::CholesterolPerServing => "cholesterol per serving",
            Metric::PotassiumPerServing => "potassium per serving",
            Metric::PhosphorusPerServing => "phosphorus per serving",
        }
    }
}

/// Which side of the limit passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    AtMost(f64),
    AtLeast(f64),
}

impl Bound {
    pub fn limit(self) -> f64 {
        match self {
            Bound::AtMost(l) | Bound::AtLeast(l) => l,
        }
    }

    pub fn operator(self) -> &'static str {
        match self {
            Bound::AtMost(_) => "<=",
            Bound::AtLeast(_) => ">=",
        }
    }

    /// NaN never passes.
    pub fn holds(self, value: f64) -> bool {
        match self {
            Bound::AtMost(l) => value <= l,
            Bound::AtLeast(l) => value >= l,
        }
    }
}

/// Foods a rule leaves out entirely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exclusion {
    /// Vegetarian: no meat, poultry, fish or shellfish.
    MeatOrFish,
    /// Vegan: nothing of animal origin.
    AnimalProducts,
    /// Gout: shellfish, molluscs, offal, anchovy-type fish.
    HighPurineFoods,
    /// Pregnancy: no raw or undercooked fish, seafood or meat.
    RawFishOrMeat,
    /// Celiac disease: wheat, barley, rye.
    Gluten,
    /// Pregnancy and gout: no alcoholic drink, in the dish or for cooking.
    Alcohol,
    /// Pregnancy: no refrigerated smoked fish, no cheese from unpasteurised milk (listeria).
    SmokedFishOrRawMilkCheese,
    /// Lactose intolerance: no lactose-rich dairy (milk, cream, yogurt, fresh cheese).
    Lactose,
}

impl Exclusion {
    pub const ALL: [Exclusion; 8] = [
        Exclusion::MeatOrFish,
        Exclusion::AnimalProducts,
        Exclusion::HighPurineFoods,
        Exclusion::RawFishOrMeat,
        Exclusion::Gluten,
        Exclusion::Alcohol,
        Exclusion::SmokedFishOrRawMilkCheese,
        Exclusion::Lactose,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Exclusion::MeatOrFish => "noMeatOrFish",
            Exclusion::AnimalProducts => "noAnimalProducts",
            Exclusion::HighPurineFoods => "noHighPurineFoods",
            Exclusion::RawFishOrMeat => "noRawFishOrMeat",
            Exclusion::Gluten => "noGluten",
            Exclusion::Alcohol => "noAlcohol",
            Exclusion::SmokedFishOrRawMilkCheese => "noSmokedFishOrRawMilkCheese",
            Exclusion::Lactose => "noLactose",
        }
    }

    pub fn describe_ko(self) -> &'static str {
        match self {
            Exclusion::MeatOrFish => {
                "고기·가금류·생선·해산물과 그 육수·젓갈·액젓을 쓰지 마세요 (달걀과 유제품은 허용)."
            }
            Exclusion::AnimalProducts => {
                "고기·생선·해산물·달걀·유제품·꿀·젤라틴 등 동물성 재료를 전혀 쓰지 마세요."
            }
            Exclusion::HighPurineFoods => {
                "퓨린이 많은 식품(새우·게·조개·굴·오징어·문어 등 해산물, 간·곱창 등 내장, 멸치·정어리·청어, 멸치액젓)을 쓰지 마세요."
            }
            Exclusion::RawFishOrMeat => {
                "날생선·회·육회 등 익히지 않은 생선, 해산물, 고기를 쓰지 말고 모두 완전히 익히세요."
            }
            Exclusion::Gluten => {
                "글루텐이 든 곡물(밀·보리·호밀)과 그 가공품(밀가루, 빵가루, 국수, 간장, 고추장, 된장, 맥아 등)을 쓰지 마세요."
            }
            Exclusion::Alcohol => {
                "술(소주·맥주·와인·막걸리·청주)과 맛술·미림 같은 요리술을 쓰지 마세요. 익혀도 알코올이 남습니다."
            }
            Exclusion::SmokedFishOrRawMilkCheese => {
                "훈제 연어 같은 냉장 훈제 생선과 살균하지 않은 우유로 만든 치즈(브리·까망베르·블루치즈·페타 등)를 쓰지 마세요."
            }
            Exclusion::Lactose => {
                "우유·생크림·연유·요거트·아이스크림·리코타 같은 유당이 많은 유제품을 쓰지 마세요 (락토프리 제품, 숙성 경성치즈, 버터는 허용)."
            }
        }
    }

    pub fn describe_en(self) -> &'static str {
        match self {
            Exclusion::MeatOrFish => {
                "Use no meat, poultry, fish or seafood, nor stocks, fish sauce or salted seafood made from them (eggs and dairy are allowed)."
            }
            Exclusion::AnimalProducts => {
                "Use nothing of animal origin: no meat, fish, seafood, eggs, dairy, honey or gelatin."
            }
            Exclusion::HighPurineFoods => {
                "Use no purine-rich foods: shellfish, shrimp, crab, squid, octopus, organ meats, anchovies, sardines, herring or fish sauce."
            }
            Exclusion::RawFishOrMeat => {
                "Use no raw or undercooked fish, seafood or meat (no sashimi, tartare, ceviche); cook everything through."
            }
            Exclusion::Gluten => {
                "Use no gluten grains (wheat, barley, rye) nor products made from them (flour, breadcrumbs, noodles, soy sauce, gochujang, doenjang, malt)."
            }
            Exclusion::Alcohol => {
                "Use no alcoholic drink (soju, beer, wine, makgeolli, sake) and no cooking wine or mirin; cooking does not remove all alcohol."
            }
            Exclusion::SmokedFishOrRawMilkCheese => {
                "Use no refrigerated smoked fish (smoked salmon, lox) and no cheese made from unpasteurised milk (brie, camembert, blue cheese, feta, queso fresco)."
            }
            Exclusion::Lactose => {
                "Use no lactose-rich dairy (milk, cream, condensed milk, yogurt, ice cream, ricotta); lactose-free products, aged hard cheese and butter are allowed."
            }
        }
    }
}

/// One requirement on a recipe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    Limit(Metric, Bound),
    Exclude(Exclusion),
}

impl Rule {
    /// The stable rule name used in checks (`netCarbsPerServing<=5g`, `noMeatOrFish`).
    pub fn name(self) -> String {
        match self {
            Rule::Limit(metric, bound) => format!(
                "{}{}{}{}",
                metric.name(),
                bound.operator(),
                format_limit(metric, bound.limit()),
                metric.rule_unit()
            ),
            Rule::Exclude(exclusion) => exclusion.name().to_string(),
        }
    }
}

/// `5` → `5`, `0.7` → `0.70` for shares, `2.5` → `2.5`.
pub fn format_limit(metric: Metric, limit: f64) -> String {
    match metric.scale() {
        Scale::Share => format!("{limit:.2}"),
        Scale::Amount => format_number(limit),
    }
}

/// A number without a trailing `.0`.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Parses a rule from its stable name (`netCarbsPerServing<=5g`, `noMeatOrFish`), as the
/// diet-rule data writes it. `None` for anything else, so a typo fails the load.
pub fn parse_rule(name: &str) -> Option<Rule> {
    if let Some(exclusion) = Exclusion::ALL.into_iter().find(|e| e.name() == name) {
        return Some(Rule::Exclude(exclusion));
    }
    let (metric, bound) = parse_limit(name)?;
    let rule = Rule::Limit(metric, bound);
    // Only the canonical spelling is accepted, so a rule's name and its data entry agree.
    (rule.name() == name).then_some(rule)
}

/// The metric and bound of a limit rule's name (`sodiumPerServing<=600mg`).
pub fn parse_limit(rule: &str) -> Option<(Metric, Bound)> {
    Metric::ALL.into_iter().find_map(|metric| {
        let rest = rule.strip_prefix(metric.name())?;
        let (at_most, rest) = match rest.strip_prefix("<=") {
            Some(r) => (true, r),
            None => (false, rest.strip_prefix(">=")?),
        };
        let number = rest.strip_suffix(metric.rule_unit()).unwrap_or(rest);
        if !metric.rule_unit().is_empty() && !rest.ends_with(metric.rule_unit()) {
            return None;
        }
        let limit: f64 = number.parse().ok().filter(|l: &f64| l.is_finite())?;
        Some((
            metric,
            if at_most {
                Bound::AtMost(limit)
            } else {
                Bound::AtLeast(limit)
            },
        ))
    })
}

/// The rules of a diet target (`shared/data/diet-rules.toml`); none when the knowledge did
/// not load (the start has failed then).
pub fn target_rules(target: Target) -> &'static [Rule] {
    super::knowledge::get()
        .and_then(|k| k.targets.iter().find(|(t, _, _)| *t == target))
        .map_or(&[], |(_, rules, _)| rules.as_slice())
}

/// Rules every recipe must pass whatever its target.
pub fn universal_rules() -> &'static [Rule] {
    super::knowledge::get().map_or(&[], |k| k.universal.as_slice())
}

/// Every condition the service recognises.
pub fn conditions() -> &'static [Condition] {
    super::knowledge::get().map_or(&[], |k| k.conditions.as_slice())
}

/// The conditions a free-text entry names (several when it names several); a condition that
/// another named one overrides (CKD when dialysis is named) is left out.
pub fn conditions_in(text: &str) -> Vec<&'static Condition> {
    let compacted = super::text::compact(text);
    if compacted.is_empty() {
        return Vec::new();
    }
    let named: Vec<&'static Condition> = conditions()
        .iter()
        .filter(|c| c.synonyms.iter().any(|s| compacted.contains(s.as_str())))
        .collect();
    named
        .iter()
        .copied()
        .filter(|c| !named.iter().any(|other| other.overrides.contains(&c.id)))
        .collect()
}
