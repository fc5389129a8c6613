//! Ingredient-name normalisation and matching against the table's names and synonyms.
//!
//! Order: exact name, synonym (both on the lightly normalised name, then on the name with
//! cooking descriptors stripped), then fuzzy: the table name contained in the ingredient name
//! that ends last (the head noun comes last in Korean and English: `돼지고기 목살` → 목살), and
//! finally edit distance on Hangul-decomposed text (`normalized_levenshtein >= FUZZY_THRESHOLD`).

use super::table::Food;
use crate::rules::text::{for_each_lowercase, is_ascii_or_hangul, nfc, SpacedWords};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// Minimum `strsim::normalized_levenshtein` similarity, computed on NFD text (Hangul split
/// into jamo, so one wrong consonant in 삼겹살 costs 1/9, not 1/3).
pub const FUZZY_THRESHOLD: f64 = 0.8;
/// Queries shorter than this (in NFD chars) are never matched by edit distance.
const FUZZY_MIN_CHARS: usize = 4;
/// Table names shorter than this (in chars, spaces removed) are never matched by containment:
/// one-syllable names (무, 배, 김, 밤) occur inside too many other words.
const CONTAINED_MIN_CHARS: usize = 2;

/// Cooking descriptors removed as whole words (`다진 마늘` → `마늘`).
const DESCRIPTOR_WORDS: &[&str] = &[
    "다진",
    "다진것",
    "채썬",
    "채",
    "썬",
    "썰은",
    "슬라이스",
    "슬라이스한",
    "얇게",
    "두껍게",
    "곱게",
    "잘게",
    "굵게",
    "깍둑썬",
    "어슷썬",
    "송송",
    "송송썬",
    "으깬",
    "손질한",
    "손질된",
    "씻은",
    "깨끗이",
    "데친",
    "냉동",
    "냉장",
    "신선한",
    "국산",
    "국내산",
    "수입",
    "수입산",
    "유기농",
    "껍질",
    "벗긴",
    "깐",
    "작은",
    "큰",
    "중간",
    "크기",
    "한입",
    "먹기",
    "좋게",
    "큼직하게",
    "적당히",
    "준비한",
    "fresh",
    "freshly",
    "chopped",
    "finely",
    "roughly",
    "sliced",
    "thinly",
    "diced",
    "minced",
    "grated",
    "shredded",
    "crushed",
    "peeled",
    "large",
    "small",
    "medium",
    "organic",
    "frozen",
    "cut",
    "into",
    "pieces",
    "optional",
    "trimmed",
    "cubed",
    "julienned",
    "halved",
    "quartered",
    "washed",
    "of",
];
/// Endings of processed-seasoning names (`참치액`, `조개젓`, `굴소스`, `춘장`, `카레가루`): such a
/// name is a product, not its base food, so it never falls back to a shorter raw food it
/// contains (`참치` tuna, `조개` clams); unknown, it stays unmatched.
const PROCESSED_SUFFIXES: &[&str] = &[
    "액", "액젓", "젓", "젓갈", "소스", "장", "가루", "분말", "청", "즙", "sauce", "paste",
    "powder",
];

/// True when `name` ends in a processed-seasoning suffix (see `PROCESSED_SUFFIXES`).
pub fn is_processed_seasoning(name: &str) -> bool {
    let key = compact(&normalize_name(name));
    key.chars().count() >= 2 && PROCESSED_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// Descriptors glued to the front of a word (`다진마늘`); only multi-syllable ones.
const DESCRIPTOR_PREFIXES: &[&str] = &["다진", "채썬", "슬라이스", "냉동", "국산", "손질된"];

/// How an ingredient name found its table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    Exact,
    Synonym,
    Fuzzy,
    /// Chosen by the caller's fallback (a later retrieval step), not by the name index.
    Retrieval,
}

impl MatchKind {
    /// The wire name used in `FoodRef.match_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Synonym => "synonym",
            MatchKind::Fuzzy => "fuzzy",
            MatchKind::Retrieval => "retrieval",
        }
    }
}

/// A table row an ingredient name matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoodMatch {
    pub index: usize,
    pub kind: MatchKind,
}

/// NFC, lowercase, parenthesised remarks removed, punctuation to spaces, spaces collapsed.
fn light_normalize(name: &str) -> String {
    let mut words = SpacedWords::with_capacity(name.len());
    let mut depth = 0usize;
    for_each_lowercase(&nfc(name), |c| {
        let c = match c {
            '(' | '[' | '{' | '（' | '［' => {
                depth += 1;
                return;
            }
            ')' | ']' | '}' | '）' | '］' => {
                depth = depth.saturating_sub(1);
                return;
            }
            _ if depth > 0 => return,
            ',' | '.' | '/' | '·' | '・' | ';' | ':' | '*' | '~' | '_' | '-' | '"' | '\'' | '`'
            | '!' | '?' | '+' | '&' => ' ',
            c => c,
        };
        if c.is_whitespace() {
            words.separate();
        } else {
            words.push(c);
        }
    });
    words.finish()
}

/// The ingredient name reduced to what identifies the food: Unicode NFC, lowercase, spaces
/// collapsed, parenthesised remarks (`(다진 것)`) and cooking descriptors (다진, 채썬,
/// chopped, sliced ...) removed. Never empty unless the input has no letters at all.
pub fn normalize_name(name: &str) -> String {
    let light = light_normalize(name);
    let words: Vec<&str> = light
        .split(' ')
        .filter(|w| !w.is_empty() && !DESCRIPTOR_WORDS.contains(w) && !is_purpose_word(w))
        .map(strip_descriptor_prefix)
        .collect();
    if words.is_empty() {
        return light;
    }
    words.join(" ")
}

/// `찌개용`, `구이용`, `국거리용`: what the cut is for, not what it is.
fn is_purpose_word(word: &str) -> bool {
    word.ends_with('용') && word.chars().count() >= 3
}

fn strip_descriptor_prefix(word: &str) -> &str {
    for prefix in DESCRIPTOR_PREFIXES {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.chars().count() >= 2 {
                return rest;
            }
        }
    }
    word
}

fn padded_len_spaced(spaced: &str) -> usize {
    spaced.chars().count()
}

/// `text` in NFD (Hangul as jamo) for edit distance. Hangul syllables are split by the
/// Unicode standard's arithmetic (§3.12) rather than by the `unicode-normalization` iterator,
/// whose general path made this a tenth of building the name index at start; text with
/// anything but ASCII and Hangul syllables goes through the iterator.
fn decompose(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    if !is_ascii_or_hangul(text) {
        return text.nfd().collect();
    }
    let mut out = String::with_capacity(text.len() * 3);
    for ch in text.chars() {
        match hangul_jamo(ch) {
            Some((lead, vowel, tail)) => {
                out.push(lead);
                out.push(vowel);
                out.extend(tail);
            }
            None => out.push(ch),
        }
    }
    out
}

/// The leading consonant, vowel and optional trailing consonant of a precomposed Hangul
/// syllable (Unicode §3.12, "Hangul Syllable Decomposition").
fn hangul_jamo(syllable: char) -> Option<(char, char, Option<char>)> {
    const S_BASE: u32 = 0xAC00;
    const L_BASE: u32 = 0x1100;
    const V_BASE: u32 = 0x1161;
    const T_BASE: u32 = 0x11A7;
    const V_COUNT: u32 = 21;
    const T_COUNT: u32 = 28;
    const S_COUNT: u32 = 19 * V_COUNT * T_COUNT;
    let index = u32::from(syllable)
        .checked_sub(S_BASE)
        .filter(|i| *i < S_COUNT)?;
    let lead = char::from_u32(L_BASE + index / (V_COUNT * T_COUNT))?;
    let vowel = char::from_u32(V_BASE + (index % (V_COUNT * T_COUNT)) / T_COUNT)?;
    let tail = match index % T_COUNT {
        0 => None,
        t => Some(char::from_u32(T_BASE + t)?),
    };
    Some((lead, vowel, tail))
}

fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    out.extend(text.chars().filter(|c| !c.is_whitespace()));
    out
}

struct NameKey {
    /// Normalised name with single spaces (for word-boundary containment of Latin names).
    spaced: String,
    /// Spaces removed.
    compact: String,
    /// `compact` in NFD (Hangul as jamo) for edit distance.
    decomposed: String,
    latin: bool,
    index: usize,
}

/// Name lookup structures built once per table.
pub(crate) struct NameIndex {
    exact: HashMap<String, FoodMatch>,
    keys: Vec<NameKey>,
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameIndex")
            .field("names", &self.exact.len())
            .finish()
    }
}

impl NameIndex {
    pub(crate) fn build(foods: &[Food]) -> NameIndex {
        let mut exact = HashMap::new();
        let mut keys = Vec::new();
        for (index, food) in foods.iter().enumerate() {
            let names = [
                (&food.name_ko, MatchKind::Exact),
                (&food.name_en, MatchKind::Exact),
            ]
            .into_iter()
            .chain(food.synonyms.iter().map(|s| (s, MatchKind::Synonym)));
            for (name, kind) in names {
                let spaced = light_normalize(name);
                let key = compact(&spaced);
                if key.is_empty() {
                    continue;
                }
                // First writer wins; the generator already rejects names shared by two rows.
                exact
                    .entry(key.clone())
                    .or_insert(FoodMatch { index, kind });
                keys.push(NameKey {
                    latin: spaced.chars().any(|c| c.is_ascii_alphabetic()),
                    decomposed: decompose(&key),
                    compact: key,
                    spaced,
                    index,
                });
            }
        }
        NameIndex { exact, keys }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<FoodMatch> {
        let light = light_normalize(name);
        if let Some(m) = self.exact.get(&compact(&light)) {
            return Some(*m);
        }
        let normalized = normalize_name(name);
        let key = compact(&normalized);
        if key.is_empty() {
            return None;
        }
        if let Some(m) = self.exact.get(&key) {
            return Some(*m);
        }
        // English plurals: `spring onions`, `tomatoes`.
        for suffix in ["es", "s"] {
            if let Some(singular) = key.strip_suffix(suffix) {
                if key.is_ascii() && singular.len() >= 3 {
                    if let Some(m) = self.exact.get(singular) {
                        return Some(*m);
                    }
                }
            }
        }
        let processed = is_processed_seasoning(name);
        let query_chars = key.chars().count();
        let contained = self
            .contained(&normalized, &key)
            // A product name may only match a table name that covers its suffix.
            .filter(|(end, _)| !processed || *end == query_chars)
            .map(|(_, index)| index);
        contained
            .or_else(|| {
                if processed {
                    None
                } else {
                    self.edit_distance(&key)
                }
            })
            .map(|index| FoodMatch {
                index,
                kind: MatchKind::Fuzzy,
            })
    }

    /// The table name inside the query that ends last, longest on ties (so the longest known
    /// name wins over a shorter one inside it), with where it ends (in chars of the compact
    /// query; Latin names count by their spaced form).
    fn contained(&self, spaced: &str, compact_query: &str) -> Option<(usize, usize)> {
        let padded = format!(" {spaced} ");
        let mut best: Option<(usize, usize, usize)> = None; // (end, length, index)
        for key in &self.keys {
            let length = key.compact.chars().count();
            if length < CONTAINED_MIN_CHARS || key.compact == compact_query {
                continue;
            }
            let end = if key.latin {
                padded
                    .rfind(&format!(" {} ", key.spaced))
                    .map(|at| padded[..at].chars().count() + key.spaced.chars().count())
            } else {
                compact_query
                    .rfind(&key.compact)
                    .map(|at| compact_query[..at].chars().count() + length)
            };
            if let Some(end) = end {
                let candidate = (end, length, key.index);
                let better = match best {
                    None => true,
                    Some((e, l, _)) => (end, length) > (e, l),
                };
                if better {
                    best = Some(candidate);
                }
            }
        }
        best.map(|(end, _, index)| {
            // Latin ends are measured on the spaced text; report the compact length when the
            // name reaches the end of the query, so callers compare one measure.
            let reaches_end = if padded_len_spaced(spaced) == end {
                compact_query.chars().count()
            } else {
                end
            };
            (reaches_end, index)
        })
    }

    fn edit_distance(&self, compact_query: &str) -> Option<usize> {
        let query = decompose(compact_query);
        if query.chars().count() < FUZZY_MIN_CHARS {
            return None;
        }
        let mut best: Option<(f64, usize)> = None;
        for key in &self.keys {
            let score = strsim::normalized_levenshtein(&query, &key.decomposed);
            if score >= FUZZY_THRESHOLD && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, key.index));
            }
        }
        best.map(|(_, index)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nutrition::FoodTable;

    #[test]
    fn light_normalisation_drops_remarks_and_collapses_spaces() {
        for (raw, expected) in [
            ("  Pork\u{3000}Belly\t(국산)  ", "pork belly"),
            ("양배추(국산)무", "양배추무"),
            ("a,b..c", "a b c"),
            ("((x) y) z", "z"),
            (") 삼겹살", "삼겹살"),
            ("", ""),
            ("(only remark)", ""),
        ] {
            assert_eq!(light_normalize(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn hangul_decomposition_agrees_with_nfd_on_every_syllable() {
        for syllable in ('\u{AC00}'..='\u{D7A3}').chain(['\u{ABFF}', '\u{D7A4}']) {
            let text = format!("a{syllable}b");
            let expected: String = text.nfd().collect();
            assert_eq!(decompose(&text), expected, "U+{:04X}", syllable as u32);
        }
        let mixed = "café 삼겹살";
        assert_eq!(decompose(mixed), mixed.nfd().collect::<String>());
    }

    fn found(name: &str) -> Option<(String, MatchKind)> {
        let table = FoodTable::embedded();
        table
            .match_name(name)
            .map(|m| (table.foods()[m.index].id.clone(), m.kind))
    }

    #[test]
    fn normalisation_strips_remarks_descriptors_and_case() {
        assert_eq!(normalize_name("  다진   마늘 (약간) "), "마늘");
        assert_eq!(normalize_name("양배추 (국산)"), "양배추");
        assert_eq!(normalize_name("Fresh Chopped  Basil"), "basil");
        assert_eq!(normalize_name("다진마늘"), "마늘");
        assert_eq!(normalize_name("채 썬 당근"), "당근");
        // NFD input (decomposed Hangul) normalises to the same NFC text.
        let decomposed: String = "삼겹살".nfd().collect();
        assert_eq!(normalize_name(&decomposed), "삼겹살");
        assert_eq!(normalize_name("다진"), "다진");
    }

    #[test]
    fn korean_and_english_names_match_exactly_or_by_synonym() {
        assert_eq!(found("삼겹살"), Some(("10005".into(), MatchKind::Exact)));
        assert_eq!(
            found("돼지 삼겹살"),
            Some(("10005".into(), MatchKind::Synonym))
        );
        assert_eq!(
            found("돼지삼겹살"),
            Some(("10005".into(), MatchKind::Synonym))
        );
        assert_eq!(
            found("Pork Belly"),
            Some(("10005".into(), MatchKind::Synonym))
        );
        assert_eq!(
            found("양배추 (국산)"),
            Some(("11109".into(), MatchKind::Exact))
        );
        assert_eq!(
            found("다진 마늘"),
            Some(("11215".into(), MatchKind::Synonym))
        );
        assert_eq!(found("다진 양파"), Some(("11282".into(), MatchKind::Exact)));
        assert_eq!(
            found("다진 돼지고기"),
            Some(("10972".into(), MatchKind::Exact))
        );
        assert_eq!(
            found("고추장"),
            Some(("MFDS:고추장".into(), MatchKind::Exact))
        );
    }

    #[test]
    fn compounds_match_the_head_noun() {
        assert_eq!(
            found("돼지고기 목살"),
            Some(("10080".into(), MatchKind::Fuzzy))
        );
        assert_eq!(
            found("국내산 생 양배추"),
            Some(("11109".into(), MatchKind::Fuzzy))
        );
        assert_eq!(
            found("chicken breast fillet"),
            Some(("05062".into(), MatchKind::Fuzzy))
        );
        // One-syllable names never match inside other words.
        assert_eq!(found("무슨맛"), None);
    }

    #[test]
    fn misspellings_match_by_edit_distance() {
        assert_eq!(found("삽겹살"), Some(("10005".into(), MatchKind::Fuzzy)));
        assert_eq!(found("brocoli"), Some(("11090".into(), MatchKind::Fuzzy)));
        assert_eq!(found("mozarella"), Some(("01026".into(), MatchKind::Fuzzy)));
    }

    #[test]
    fn processed_seasonings_never_fall_back_to_their_base_food() {
        // Known products match their own rows.
        assert_eq!(found("참치액").map(|f| f.0), Some("MFDS:참치액".into()));
        assert_eq!(found("조개젓").map(|f| f.0), Some("MFDS:조개젓".into()));
        assert_eq!(found("카레").map(|f| f.0), Some("MFDS:카레".into()));
        assert_eq!(found("춘장").map(|f| f.0), Some("MFDS:춘장".into()));
        // Unknown products stay unmatched instead of becoming shrimp, clams or tuna.
        for name in [
            "새우소스",
            "바지락즙",
            "홍합장",
            "멸치가루 분말",
            "tuna sauce",
        ] {
            assert!(is_processed_seasoning(name), "{name}");
            assert_eq!(found(name), None, "{name}");
        }
        assert!(!is_processed_seasoning("돼지고기"));
    }

    #[test]
    fn longest_name_wins_and_fixed_mappings() {
        assert_eq!(found("느타리버섯").map(|f| f.0), Some("11987".into()));
        assert_eq!(
            found("새송이버섯").map(|f| f.0),
            Some("MFDS:새송이버섯".into())
        );
        assert_eq!(found("단호박").map(|f| f.0), Some("MFDS:단호박".into()));
        assert_eq!(found("대추").map(|f| f.0), Some("09147".into()));
        assert_eq!(found("소주").map(|f| f.0), Some("MFDS:소주".into()));
        assert_eq!(found("주꾸미").map(|f| f.0), Some("MFDS:주꾸미".into()));
        assert_eq!(found("cocoa butter").map(|f| f.0), Some("04501".into()));
        // 정육 is no synonym: 소고기 정육 is beef, not chicken thigh.
        assert_eq!(found("소고기 정육").map(|f| f.0), Some("13786".into()));
        for staple in [
            "치즈",
            "춘장",
            "만두",
            "우동",
            "단무지",
            "곤약",
            "도토리묵",
            "고사리",
            "시래기",
            "쑥갓",
            "달래",
            "꼬막",
            "쯔유",
            "매실청",
        ] {
            assert!(found(staple).is_some(), "{staple}");
        }
    }

    #[test]
    fn unknown_names_stay_unmatched() {
        assert_eq!(found("unobtainium"), None);
        assert_eq!(found(""), None);
        assert_eq!(found("()"), None);
        assert_eq!(found("ㅋㅋ"), None);
    }

    #[test]
    fn match_kind_wire_names() {
        let names = [
            MatchKind::Exact,
            MatchKind::Synonym,
            MatchKind::Fuzzy,
            MatchKind::Retrieval,
        ]
        .map(MatchKind::as_str);
        assert_eq!(names, ["exact", "synonym", "fuzzy", "retrieval"]);
    }

    proptest::proptest! {
        #[test]
        fn matching_never_panics(name in "\\PC{0,40}") {
            let _ = FoodTable::embedded().match_name(&name);
            let _ = normalize_name(&name);
        }
    }
}
