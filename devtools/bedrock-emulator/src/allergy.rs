//! Maps a user's free-text allergy ("우유", "dairy", "견과류", "shellfish") to the Korean
//! allergen groups the built-in recipes are tagged with, so selection can avoid them.

use unicode_normalization::UnicodeNormalization;

/// Group name → the words that name it (Korean and English).
const GROUPS: &[(&str, &[&str])] = &[
    (
        "우유",
        &[
            "우유",
            "유제품",
            "유당",
            "치즈",
            "버터",
            "생크림",
            "요거트",
            "요구르트",
            "milk",
            "dairy",
            "lactose",
            "cheese",
            "butter",
            "cream",
            "yogurt",
            "yoghurt",
        ],
    ),
    ("땅콩", &["땅콩", "peanut"]),
    (
        "대두",
        &[
            "대두", "콩", "두부", "간장", "된장", "soy", "soya", "soybean", "tofu",
        ],
    ),
    (
        "밀",
        &["밀", "밀가루", "글루텐", "wheat", "gluten", "flour"],
    ),
    ("알류", &["알류", "계란", "달걀", "난류", "egg"]),
    ("메밀", &["메밀", "buckwheat"]),
    (
        "고등어",
        &["고등어", "mackerel", "생선", "fish", "해산물", "seafood"],
    ),
    (
        "게",
        &[
            "게",
            "꽃게",
            "crab",
            "갑각류",
            "crustacean",
            "shellfish",
            "해산물",
            "seafood",
        ],
    ),
    (
        "새우",
        &[
            "새우",
            "shrimp",
            "prawn",
            "갑각류",
            "crustacean",
            "shellfish",
            "해산물",
            "seafood",
        ],
    ),
    ("돼지고기", &["돼지고기", "돼지", "pork"]),
    ("복숭아", &["복숭아", "peach"]),
    ("토마토", &["토마토", "tomato"]),
    ("아황산류", &["아황산류", "아황산", "sulfite", "sulphite"]),
    (
        "호두",
        &["호두", "walnut", "견과류", "견과", "nuts", "tree nut"],
    ),
    ("닭고기", &["닭고기", "닭", "chicken"]),
    ("쇠고기", &["쇠고기", "소고기", "beef"]),
    (
        "오징어",
        &[
            "오징어",
            "squid",
            "해산물",
            "seafood",
            "연체류",
            "mollusc",
            "mollusk",
        ],
    ),
    (
        "조개류",
        &[
            "조개류",
            "조개",
            "굴",
            "홍합",
            "전복",
            "clam",
            "oyster",
            "mussel",
            "abalone",
            "scallop",
            "해산물",
            "seafood",
            "mollusc",
            "mollusk",
            "shellfish",
        ],
    ),
    (
        "잣",
        &["잣", "pine nut", "견과류", "견과", "nuts", "tree nut"],
    ),
    ("참깨", &["참깨", "깨", "sesame"]),
    (
        "생선",
        &[
            "생선",
            "fish",
            "해산물",
            "seafood",
            "연어",
            "salmon",
            "대구",
            "cod",
        ],
    ),
    (
        "견과류",
        &[
            "견과류",
            "견과",
            "nuts",
            "tree nut",
            "아몬드",
            "almond",
            "캐슈",
            "cashew",
        ],
    ),
];

/// Lowercased, NFC, with "allergy" words and spaces around the edges removed.
pub fn normalise(text: &str) -> String {
    let folded: String = text.nfc().flat_map(char::to_lowercase).collect();
    let mut core = folded.trim().to_string();
    for suffix in [
        " allergy",
        "allergy",
        " 알레르기",
        "알레르기",
        " 알러지",
        "알러지",
    ] {
        if let Some(stripped) = core.strip_suffix(suffix) {
            core = stripped.trim().to_string();
        }
    }
    core
}

/// True when `keyword` names the allergy text. Short Korean words (콩, 게, 밀, 굴...) must
/// match exactly, so "땅콩" is not read as soy; English words match whole words with an
/// optional plural `s`, so "peanuts" is not read as tree nuts.
fn names(allergy: &str, keyword: &str) -> bool {
    if allergy == keyword {
        return true;
    }
    if keyword.is_ascii() {
        let words: Vec<&str> = allergy
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let keyword_words: Vec<&str> = keyword.split(' ').collect();
        words.windows(keyword_words.len()).any(|window| {
            window.iter().zip(&keyword_words).all(|(word, key)| {
                *word == *key
                    || word.strip_suffix('s') == Some(key)
                    || word.strip_suffix("es") == Some(key)
            })
        })
    } else {
        keyword.chars().count() >= 2 && allergy.contains(keyword)
    }
}

/// The allergen groups a free-text allergy names (empty when it names none).
pub fn groups_for(allergy: &str) -> Vec<&'static str> {
    let allergy = normalise(allergy);
    if allergy.is_empty() {
        return Vec::new();
    }
    GROUPS
        .iter()
        .filter(|(_, keywords)| keywords.iter().any(|k| names(&allergy, k)))
        .map(|(group, _)| *group)
        .collect()
}

/// True when an ingredient name contains the allergy text itself (the fallback for
/// allergies no group knows, and a second guard for those it does).
pub fn name_mentions(ingredient: &str, allergy: &str) -> bool {
    let allergy = normalise(allergy);
    let ingredient = normalise(ingredient);
    if allergy.is_empty() {
        return false;
    }
    if allergy.chars().count() == 1 {
        return ingredient == allergy;
    }
    ingredient.contains(&allergy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_maps_to_groups() {
        assert_eq!(groups_for("우유"), vec!["우유"]);
        assert_eq!(groups_for("Dairy"), vec!["우유"]);
        assert_eq!(groups_for("땅콩"), vec!["땅콩"]);
        assert_eq!(groups_for("peanuts"), vec!["땅콩"]);
        assert_eq!(groups_for("콩"), vec!["대두"]);
        assert_eq!(groups_for("soy"), vec!["대두"]);
        assert_eq!(groups_for("계란 알레르기"), vec!["알류"]);
        assert_eq!(groups_for("eggs"), vec!["알류"]);
        assert_eq!(groups_for("gluten"), vec!["밀"]);
        assert_eq!(groups_for("견과류"), vec!["호두", "잣", "견과류"]);
        assert_eq!(groups_for("tree nuts"), vec!["호두", "잣", "견과류"]);
        assert_eq!(groups_for("갑각류"), vec!["게", "새우"]);
        assert!(groups_for("seafood").contains(&"생선"));
        assert!(groups_for("키위").is_empty());
        assert!(groups_for("  ").is_empty());
    }

    #[test]
    fn name_fallback() {
        assert!(name_mentions("키위 1개", "키위"));
        assert!(!name_mentions("땅콩", "콩"));
        assert!(name_mentions("Pine nuts", "pine nuts"));
    }
}
