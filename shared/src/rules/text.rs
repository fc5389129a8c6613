//! Text normalisation and term matching for Korean and English food words.
//!
//! Korean writes compounds without spaces (`땅콩버터`, `버터를`), so most Korean terms are
//! matched as substrings; short Korean words (`깨`, `밀`, `게`, `굴`, `잣`) would then match
//! inside unrelated words (`깨끗이`, `밀폐`, `맛있게`, `굴비`), so a term written with a
//! leading `=` is matched as a whole word, optionally followed by a noun particle (`깨를`).
//! English (ASCII) terms are always whole words, optionally plural (`egg` matches `eggs`,
//! never `eggplant`). A term or exclusion written with a space also matches without it.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Noun particles that may follow a whole-word Korean term inside one token. `은`, `는` and
/// `도` are left out on purpose: they also end verbs (`계란을 깨는 동안`).
const KOREAN_PARTICLES: &[&str] = &[
    "을", "를", "이", "가", "와", "과", "의", "에", "로", "으로", "랑", "이랑", "만", "까지",
    "에서", "처럼",
];

/// Suffixes an English word may carry and still be the same food (`eggs`, `tomatoes`).
const ENGLISH_PLURALS: &[&str] = &["s", "es"];

/// Words right after a mention that mean the food is *not* used (`버터 대신`, `butter-free`).
const NEGATION_AFTER: &[&str] = &[
    "대신",
    "없이",
    "빼고",
    "제외",
    "프리",
    "넣지",
    "쓰지",
    "사용하지",
    "free",
];

/// Words right before a mention that mean the food is *not* used (`instead of butter`).
const NEGATION_BEFORE_ONE: &[&str] = &["without", "no", "omit", "skip", "avoid"];
const NEGATION_BEFORE_TWO: &[(&str, &str)] = &[
    ("instead", "of"),
    ("free", "of"),
    ("substitute", "for"),
    ("replacement", "for"),
];

/// `text` in NFC. Text of ASCII and precomposed Hangul alone, most of what is read here, is
/// NFC as it stands; the quick check confirms most of the rest without building anything;
/// only what remains goes through the composition.
pub(crate) fn nfc(text: &str) -> Cow<'_, str> {
    if is_ascii_or_hangul(text) || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Precomposed Hangul syllables: letters without case, NFC as they stand, and most of the
/// non-ASCII text here.
pub(crate) fn is_hangul_syllable(ch: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&ch)
}

/// True when `text` holds only ASCII and precomposed Hangul syllables.
pub(crate) fn is_ascii_or_hangul(text: &str) -> bool {
    text.chars()
        .all(|ch| ch.is_ascii() || is_hangul_syllable(ch))
}

/// Text written a character at a time in which each run of separators becomes one space,
/// with none at either end.
pub(crate) struct SpacedWords {
    out: String,
    pending_space: bool,
}

impl SpacedWords {
    pub(crate) fn with_capacity(capacity: usize) -> SpacedWords {
        SpacedWords {
            out: String::with_capacity(capacity),
            pending_space: false,
        }
    }

    /// Adds a character of a word, after one space if a separator came before it.
    pub(crate) fn push(&mut self, ch: char) {
        if self.pending_space && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push(ch);
    }

    /// Marks a separator between words.
    pub(crate) fn separate(&mut self) {
        self.pending_space = true;
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// Calls `each` with the characters of `text` lowercased, as `char::to_lowercase` gives them.
/// ASCII and Hangul syllables are answered first: for them the standard library searches its
/// case table, the largest cost of loading the food table and the knowledge files at start.
pub(crate) fn for_each_lowercase(text: &str, mut each: impl FnMut(char)) {
    for ch in text.chars() {
        if ch.is_ascii() {
            each(ch.to_ascii_lowercase());
        } else if is_hangul_syllable(ch) {
            each(ch);
        } else {
            ch.to_lowercase().for_each(&mut each);
        }
    }
}

/// `char::is_alphanumeric`, with Hangul syllables answered before the Unicode table search.
fn is_letter_or_digit(ch: char) -> bool {
    is_hangul_syllable(ch) || ch.is_alphanumeric()
}

/// NFC, lower case, every run of characters that are neither letters nor digits turned into
/// one space, trimmed. `Soy-Sauce (양조)` becomes `soy sauce 양조`.
pub fn normalize(text: &str) -> String {
    let mut words = SpacedWords::with_capacity(text.len());
    for_each_lowercase(&nfc(text), |ch| {
        if is_letter_or_digit(ch) {
            words.push(ch);
        } else {
            words.separate();
        }
    });
    words.finish()
}

/// `normalize` without any spaces, for comparing free text such as `High Blood Pressure`.
pub fn compact(text: &str) -> String {
    normalize(text).chars().filter(|c| *c != ' ').collect()
}

/// True when every character is ASCII (an English term).
fn is_ascii_term(term: &str) -> bool {
    term.is_ascii()
}

/// A matching term parsed from the data tables' notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Normalised spellings: as written and, when it has spaces, without them.
    variants: Vec<Vec<char>>,
    whole_word: bool,
    english: bool,
}

impl Term {
    /// Parses the table notation: a leading `=` asks for whole-word matching.
    pub fn parse(raw: &str) -> Term {
        let (whole_word_marked, body) = match raw.strip_prefix('=') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let normalized = normalize(body);
        let english = is_ascii_term(&normalized);
        let mut variants = vec![normalized.chars().collect::<Vec<char>>()];
        if normalized.contains(' ') {
            variants.push(normalized.chars().filter(|c| *c != ' ').collect());
        }
        variants.retain(|v| !v.is_empty());
        Term {
            variants,
            whole_word: whole_word_marked || english,
            english,
        }
    }

    /// A term for a user's own word (an allergy the tables do not know).
    pub fn literal(word: &str) -> Term {
        Term::parse(word)
    }

    /// Spans `[start, end)` (char indices of `hay`) where this term occurs.
    pub fn find(&self, hay: &[char]) -> Vec<Span> {
        let mut spans = Vec::new();
        for variant in &self.variants {
            for start in occurrences(hay, variant) {
                let end = start + variant.len();
                if !self.whole_word || self.word_bounded(hay, start, end) {
                    spans.push(Span { start, end });
                }
            }
        }
        spans.sort();
        spans.dedup();
        spans
    }

    fn word_bounded(&self, hay: &[char], start: usize, end: usize) -> bool {
        if start > 0 && hay[start - 1] != ' ' {
            return false;
        }
        let token_end = hay[end..]
            .iter()
            .position(|c| *c == ' ')
            .map_or(hay.len(), |p| end + p);
        if token_end == end {
            return true;
        }
        let rest: String = hay[end..token_end].iter().collect();
        let allowed = if self.english {
            ENGLISH_PLURALS
        } else {
            KOREAN_PARTICLES
        };
        allowed.contains(&rest.as_str())
    }
}

/// A matched stretch of normalised text, in char indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn within(self, outer: Span) -> bool {
        outer.start <= self.start && self.end <= outer.end
    }
}

fn occurrences(hay: &[char], needle: &[char]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&i| hay[i..i + needle.len()] == *needle)
        .collect()
}

/// Normalised text ready for repeated term searches.
#[derive(Debug, Clone)]
pub struct Haystack {
    chars: Vec<char>,
}

impl Haystack {
    pub fn new(text: &str) -> Haystack {
        Haystack {
            chars: normalize(text).chars().collect(),
        }
    }

    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Spans of `terms` not lying inside a span of `exclusions`.
    pub fn find_all(&self, terms: &[Term], exclusions: &[Term]) -> Vec<Span> {
        let excluded: Vec<Span> = exclusions
            .iter()
            .flat_map(|t| t.find(&self.chars))
            .collect();
        let mut spans: Vec<Span> = terms
            .iter()
            .flat_map(|t| t.find(&self.chars))
            .filter(|span| !excluded.iter().any(|x| span.within(*x)))
            .collect();
        spans.sort();
        spans.dedup();
        spans
    }

    /// True when the words around `span` say the food is left out (`버터 대신`, `without
    /// butter`), as instructions often explain a substitution.
    pub fn negated(&self, span: Span) -> bool {
        let after: String = self.chars[span.end..].iter().collect();
        let mut after_words = after.split(' ');
        // The rest of the mention's own token may be a particle (`버터를 빼고`).
        let own_rest = after_words.next().unwrap_or("");
        if NEGATION_AFTER.contains(&own_rest) {
            return true;
        }
        if let Some(next) = after_words.next() {
            if NEGATION_AFTER.iter().any(|n| next.starts_with(n)) {
                return true;
            }
        }
        let before: String = self.chars[..span.start].iter().collect();
        let mut before_words = before.split(' ').rev().filter(|w| !w.is_empty());
        let prev1 = before_words.next().unwrap_or("");
        let prev2 = before_words.next().unwrap_or("");
        NEGATION_BEFORE_ONE.contains(&prev1)
            || NEGATION_BEFORE_TWO
                .iter()
                .any(|(a, b)| *a == prev2 && *b == prev1)
    }

    /// A short excerpt around `span` so a reader can see the context.
    pub fn excerpt(&self, span: Span) -> String {
        const CONTEXT: usize = 12;
        let start = span.start.saturating_sub(CONTEXT);
        let end = (span.end + CONTEXT).min(self.chars.len());
        let mut text: String = self.chars[start..end].iter().collect();
        if start > 0 {
            text.insert(0, '…');
        }
        if end < self.chars.len() {
            text.push('…');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_agree_with_the_standard_library_on_every_ascii_and_hangul_character() {
        let chars = (0u32..0x80)
            .chain(0xAC00..=0xD7A3)
            // Neighbours of the Hangul block, and letters with case outside ASCII.
            .chain([0xABFF, 0xD7A4, 0xC0, 0x130, 0x391, 0x1E9E])
            .filter_map(char::from_u32);
        for ch in chars {
            let text = ch.to_string();
            let mut fast = String::new();
            for_each_lowercase(&text, |c| fast.push(c));
            let slow: String = text.chars().flat_map(char::to_lowercase).collect();
            assert_eq!(fast, slow, "lowercase of U+{:04X}", ch as u32);
            assert_eq!(
                is_letter_or_digit(ch),
                ch.is_alphanumeric(),
                "letter or digit: U+{:04X}",
                ch as u32
            );
        }
    }

    fn hits(term: &str, text: &str) -> usize {
        Haystack::new(text)
            .find_all(&[Term::parse(term)], &[])
            .len()
    }

    #[test]
    fn normalize_lowercases_and_collapses_punctuation() {
        assert_eq!(
            normalize("  Soy-Sauce (양조),  BUTTER "),
            "soy sauce 양조 butter"
        );
        assert_eq!(compact("High Blood-Pressure"), "highbloodpressure");
    }

    #[test]
    fn normalize_composes_decomposed_hangul() {
        let decomposed: String = "버터".nfd().collect();
        assert_ne!(decomposed, "버터");
        assert_eq!(normalize(&decomposed), "버터");
    }

    #[test]
    fn english_terms_are_whole_words_with_plurals() {
        assert_eq!(hits("egg", "2 eggs, beaten"), 1);
        assert_eq!(hits("egg", "grilled eggplant"), 0);
        assert_eq!(hits("tomato", "ripe tomatoes"), 1);
        assert_eq!(hits("soy sauce", "add soysauce"), 1);
    }

    #[test]
    fn korean_whole_word_terms_allow_particles_only() {
        assert_eq!(hits("=깨", "볶은 깨를 뿌린다"), 1);
        assert_eq!(hits("=깨", "깨끗이 씻는다"), 0);
        assert_eq!(hits("=깨", "계란을 깨는 동안"), 0);
        assert_eq!(hits("=게", "맛있게 볶는다"), 0);
        assert_eq!(hits("=게", "게를 손질한다"), 1);
    }

    #[test]
    fn korean_substring_terms_match_inside_compounds() {
        assert_eq!(hits("버터", "버터를 두르고"), 1);
        assert_eq!(hits("땅콩 버터", "땅콩버터 1큰술"), 1);
    }

    #[test]
    fn exclusions_hide_covered_matches_only() {
        let hay = Haystack::new("땅콩호박과 땅콩");
        let spans = hay.find_all(&[Term::parse("땅콩")], &[Term::parse("땅콩 호박")]);
        assert_eq!(spans.len(), 1);
    }

    #[test]
    fn negation_is_seen_on_both_sides() {
        let hay = Haystack::new("버터 대신 올리브유를 두른다");
        let span = hay.find_all(&[Term::parse("버터")], &[])[0];
        assert!(hay.negated(span));
        let hay = Haystack::new("use oil instead of butter");
        let span = hay.find_all(&[Term::parse("butter")], &[])[0];
        assert!(hay.negated(span));
        let hay = Haystack::new("버터를 두르고 굽는다");
        let span = hay.find_all(&[Term::parse("버터")], &[])[0];
        assert!(!hay.negated(span));
    }
}
