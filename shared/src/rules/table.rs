//! The rule tables: what each diet target and each recognised health condition demands of
//! one serving, as data. Every number here is listed with its source in `docs/rules.md`;
//! change both together.

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
    pub const ALL: [Metric; 11] = [
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
            | Metric::FiberPerServing => "g",
            Metric::SodiumPerServing => "mg",
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
            | Metric::MatchedMassShare => Scale::Share,
            _ => Scale::Amount,
        }
    }

    /// The figure from the computed report, unrounded.
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
}

impl Exclusion {
    pub fn name(self) -> &'static str {
        match self {
            Exclusion::MeatOrFish => "noMeatOrFish",
            Exclusion::AnimalProducts => "noAnimalProducts",
            Exclusion::HighPurineFoods => "noHighPurineFoods",
            Exclusion::RawFishOrMeat => "noRawFishOrMeat",
            Exclusion::Gluten => "noGluten",
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

const fn at_most(metric: Metric, limit: f64) -> Rule {
    Rule::Limit(metric, Bound::AtMost(limit))
}

const fn at_least(metric: Metric, limit: f64) -> Rule {
    Rule::Limit(metric, Bound::AtLeast(limit))
}

#[derive(Debug)]
pub struct TargetRules {
    pub target: Target,
    pub rules: &'static [Rule],
}

/// What each diet target demands of one serving.
pub static TARGET_RULES: &[TargetRules] = &[
    TargetRules {
        target: Target::Keto,
        rules: &[
            at_most(Metric::NetCarbsPerServing, 5.0),
            at_least(Metric::FatEnergyShare, 0.70),
            at_least(Metric::ProteinEnergyShare, 0.20),
            at_most(Metric::ProteinEnergyShare, 0.25),
        ],
    },
    TargetRules {
        target: Target::LowCarb,
        rules: &[
            at_most(Metric::NetCarbsPerServing, 20.0),
            at_most(Metric::CarbsEnergyShare, 0.26),
        ],
    },
    TargetRules {
        target: Target::Diabetic,
        rules: &[
            at_most(Metric::CarbsPerServing, 45.0),
            at_most(Metric::SugarPerServing, 10.0),
            at_least(Metric::FiberPerServing, 3.0),
        ],
    },
    TargetRules {
        target: Target::LowSodium,
        rules: &[at_most(Metric::SodiumPerServing, 600.0)],
    },
    TargetRules {
        target: Target::HighProtein,
        rules: &[
            at_least(Metric::ProteinPerServing, 30.0),
            at_least(Metric::ProteinEnergyShare, 0.25),
        ],
    },
    TargetRules {
        target: Target::Vegetarian,
        rules: &[Rule::Exclude(Exclusion::MeatOrFish)],
    },
    TargetRules {
        target: Target::Vegan,
        rules: &[Rule::Exclude(Exclusion::AnimalProducts)],
    },
    TargetRules {
        target: Target::WeightLoss,
        rules: &[
            at_most(Metric::KcalPerServing, 500.0),
            at_most(Metric::FatEnergyShare, 0.35),
            at_least(Metric::ProteinPerServing, 20.0),
        ],
    },
    TargetRules {
        target: Target::Balanced,
        rules: &[
            at_least(Metric::CarbsEnergyShare, 0.40),
            at_most(Metric::CarbsEnergyShare, 0.65),
            at_least(Metric::ProteinEnergyShare, 0.10),
            at_most(Metric::ProteinEnergyShare, 0.30),
            at_least(Metric::FatEnergyShare, 0.15),
            at_most(Metric::FatEnergyShare, 0.35),
        ],
    },
];

/// Rules every recipe must pass whatever its target: figures computed from a recipe whose
/// ingredients mostly did not match the food table are unknown, not small.
pub static UNIVERSAL_RULES: &[Rule] = &[at_least(Metric::MatchedMassShare, 0.85)];

pub fn target_rules(target: Target) -> &'static [Rule] {
    TARGET_RULES
        .iter()
        .find(|t| t.target == target)
        .map_or(&[], |t| t.rules)
}

/// A health condition the service recognises in free text.
#[derive(Debug)]
pub struct Condition {
    pub id: &'static str,
    pub name_ko: &'static str,
    pub name_en: &'static str,
    /// Compared after `text::compact` (lower case, no spaces or punctuation); a condition is
    /// recognised when the user's text contains one of these.
    pub synonyms: &'static [&'static str],
    pub rules: &'static [Rule],
}

pub static CONDITIONS: &[Condition] = &[
    Condition {
        id: "hypertension",
        name_ko: "고혈압",
        name_en: "hypertension",
        synonyms: &[
            "고혈압",
            "혈압이높",
            "혈압높",
            "hypertension",
            "hypertensive",
            "highbloodpressure",
        ],
        rules: &[at_most(Metric::SodiumPerServing, 500.0)],
    },
    Condition {
        id: "diabetes",
        name_ko: "당뇨병",
        name_en: "diabetes",
        synonyms: &["당뇨", "고혈당", "diabetes", "diabetic", "t2dm", "t1dm"],
        rules: &[
            at_most(Metric::CarbsPerServing, 45.0),
            at_most(Metric::SugarPerServing, 10.0),
        ],
    },
    Condition {
        id: "kidney-disease",
        name_ko: "만성콩팥병",
        name_en: "chronic kidney disease",
        synonyms: &[
            "신장질환",
            "신장병",
            "신장",
            "콩팥",
            "신부전",
            "투석",
            "kidney",
            "renal",
            "ckd",
        ],
        rules: &[
            at_most(Metric::SodiumPerServing, 600.0),
            at_most(Metric::ProteinPerServing, 25.0),
        ],
    },
    Condition {
        id: "dyslipidemia",
        name_ko: "이상지질혈증",
        name_en: "dyslipidaemia",
        synonyms: &[
            "고지혈",
            "이상지질",
            "콜레스테롤",
            "중성지방",
            "hyperlipidemia",
            "hyperlipidaemia",
            "dyslipidemia",
            "dyslipidaemia",
            "cholesterol",
            "triglyceride",
        ],
        rules: &[at_most(Metric::FatEnergyShare, 0.35)],
    },
    Condition {
        id: "gout",
        name_ko: "통풍",
        name_en: "gout",
        synonyms: &[
            "통풍",
            "고요산",
            "요산",
            "gout",
            "hyperuricemia",
            "uricacid",
        ],
        rules: &[Rule::Exclude(Exclusion::HighPurineFoods)],
    },
    Condition {
        id: "obesity",
        name_ko: "비만",
        name_en: "obesity",
        synonyms: &["비만", "과체중", "obesity", "obese", "overweight"],
        rules: &[at_most(Metric::KcalPerServing, 500.0)],
    },
    Condition {
        id: "pregnancy",
        name_ko: "임신",
        name_en: "pregnancy",
        synonyms: &["임신", "임산부", "임부", "pregnan"],
        rules: &[Rule::Exclude(Exclusion::RawFishOrMeat)],
    },
    Condition {
        id: "celiac",
        name_ko: "셀리악병",
        name_en: "celiac disease",
        synonyms: &[
            "셀리악",
            "실리악",
            "복강병",
            "글루텐불내",
            "글루텐민감",
            "celiac",
            "coeliac",
            "glutenintolerance",
            "glutensensitivity",
        ],
        rules: &[Rule::Exclude(Exclusion::Gluten)],
    },
];

/// The conditions a free-text entry names (several when it names several).
pub fn conditions_in(text: &str) -> Vec<&'static Condition> {
    let compacted = super::text::compact(text);
    if compacted.is_empty() {
        return Vec::new();
    }
    CONDITIONS
        .iter()
        .filter(|c| c.synonyms.iter().any(|s| compacted.contains(s)))
        .collect()
}
