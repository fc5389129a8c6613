//! Parsing of the free-text amount a recipe line carries (`300`, `1/2`, `1½`, `약 200`,
//! `200g`, `2~3`, `두 개`, `적당량`). Never panics; anything unreadable is `Unparsed`.

use unicode_normalization::UnicodeNormalization;

/// What an amount string says.
#[derive(Debug, Clone, PartialEq)]
pub enum Amount {
    /// A number (a range gives its midpoint), with the unit written inside the amount if any
    /// (`200g` → 200, `g`).
    Quantity { value: f64, unit: Option<String> },
    /// "To taste" (적당량, 약간, 조금, to taste): counted as 0 g and reported as such.
    ToTaste,
    /// No usable number.
    Unparsed,
}

/// Phrases meaning "as much as you like"; matched against the whole (lowercased) text.
const TO_TASTE: &[&str] = &[
    "적당량",
    "적당히",
    "약간",
    "조금",
    "소량",
    "취향껏",
    "기호에 따라",
    "기호에따라",
    "취향에 따라",
    "넉넉히",
    "to taste",
    "as needed",
    "as required",
    "optional",
    "some",
    "a little",
    "a dash",
    "dash",
    "선택",
    "약간씩",
    "조금씩",
    "살짝",
];
/// Hedges before or after the number that do not change it.
const LEADING_HEDGES: &[&str] = &[
    "약",
    "대략",
    "about",
    "approx.",
    "approx",
    "approximately",
    "around",
    "roughly",
    "ca.",
    "~",
];
const TRAILING_HEDGES: &[&str] = &["정도", "가량", "내외", "쯤", "남짓", "or so"];

/// Largest quantity accepted; anything above is a typo or an overflow attempt.
const MAX_QUANTITY: f64 = 1.0e6;

/// Number words, longest first so `한두` wins over `한`.
const NUMBER_WORDS: &[(&str, f64)] = &[
    ("한두", 1.5),
    ("두세", 2.5),
    ("두서너", 3.0),
    ("서너", 3.5),
    ("네다섯", 4.5),
    ("하나", 1.0),
    ("다섯", 5.0),
    ("여섯", 6.0),
    ("일곱", 7.0),
    ("여덟", 8.0),
    ("아홉", 9.0),
    ("한", 1.0),
    ("둘", 2.0),
    ("두", 2.0),
    ("셋", 3.0),
    ("세", 3.0),
    ("석", 3.0),
    ("넷", 4.0),
    ("네", 4.0),
    ("넉", 4.0),
    ("열", 10.0),
    ("반", 0.5),
    ("a half", 0.5),
    ("half a", 0.5),
    ("half an", 0.5),
    ("half", 0.5),
    ("a quarter", 0.25),
    ("quarter", 0.25),
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("an", 1.0),
    ("a", 1.0),
];

fn vulgar_fraction(c: char) -> Option<f64> {
    Some(match c {
        '½' => 0.5,
        '⅓' => 1.0 / 3.0,
        '⅔' => 2.0 / 3.0,
        '¼' => 0.25,
        '¾' => 0.75,
        '⅕' => 0.2,
        '⅖' => 0.4,
        '⅗' => 0.6,
        '⅘' => 0.8,
        '⅙' => 1.0 / 6.0,
        '⅚' => 5.0 / 6.0,
        '⅛' => 0.125,
        '⅜' => 0.375,
        '⅝' => 0.625,
        '⅞' => 0.875,
        _ => return None,
    })
}

/// Parses an amount. `1 1/2` and `1½` give 1.5, `2-3` and `2~3` give 2.5, `200g` gives 200
/// with unit `g`, `한 개 반` gives 1.5 with unit `개`.
pub fn parse_amount(text: &str) -> Amount {
    let mut s: String = text.nfkc_keep_fractions().to_lowercase();
    s = strip_parenthesised(&s).trim().to_string();
    if s.is_empty() {
        return Amount::Unparsed;
    }
    if is_to_taste(&s) {
        return Amount::ToTaste;
    }
    let mut rest = s.as_str();
    loop {
        let before = rest;
        for hedge in LEADING_HEDGES {
            if let Some(r) = rest.strip_prefix(hedge) {
                if hedge.chars().all(|c| c.is_ascii_alphabetic())
                    && r.chars().next().is_some_and(|c| c.is_alphabetic())
                {
                    continue;
                }
                rest = r.trim_start();
            }
        }
        if rest == before {
            break;
        }
    }
    let Some((value, after)) = parse_range(rest) else {
        return Amount::Unparsed;
    };
    let mut unit = after.trim();
    let mut extra = 0.0;
    for hedge in TRAILING_HEDGES {
        if let Some(u) = unit.strip_suffix(hedge) {
            unit = u.trim_end();
        }
    }
    // `한 개 반`: a trailing 반 after the unit adds one half.
    if let Some(u) = unit.strip_suffix('반') {
        let u = u.trim_end();
        if !u.is_empty() && !u.ends_with(|c: char| c.is_ascii_digit()) {
            unit = u;
            extra = 0.5;
        }
    }
    let value = value + extra;
    if !value.is_finite() || !(0.0..=MAX_QUANTITY).contains(&value) {
        return Amount::Unparsed;
    }
    let unit = unit.trim_start_matches(['.', ' ']).trim();
    Amount::Quantity {
        value,
        unit: (!unit.is_empty()).then(|| unit.to_string()),
    }
}

/// NFKC would turn `½` into `1⁄2`; keep vulgar fractions as they are and normalise the rest.
trait KeepFractions {
    fn nfkc_keep_fractions(&self) -> String;
}

impl KeepFractions for str {
    fn nfkc_keep_fractions(&self) -> String {
        let mut out = String::with_capacity(self.len());
        for c in self.chars() {
            if vulgar_fraction(c).is_some() {
                out.push(c);
            } else {
                out.extend(std::iter::once(c).nfkc());
            }
        }
        out.replace('⁄', "/")
    }
}

fn strip_parenthesised(text: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn is_to_taste(text: &str) -> bool {
    let squeezed = text.trim_end_matches(['.', '!']).trim();
    TO_TASTE.contains(&squeezed)
        || TO_TASTE
            .iter()
            .filter(|p| p.chars().count() >= 2 && !p.is_ascii())
            .any(|p| squeezed.starts_with(*p) && !squeezed.chars().any(|c| c.is_ascii_digit()))
        || squeezed.ends_with("to taste")
}

/// A number or a range of two numbers (midpoint), and the text after it.
fn parse_range(text: &str) -> Option<(f64, &str)> {
    let (first, rest) = parse_number(text)?;
    let trimmed = rest.trim_start();
    for separator in ["-", "~", "–", "—", "to ", "에서", "或"] {
        if let Some(after) = trimmed.strip_prefix(separator) {
            if let Some((second, tail)) = parse_number(after.trim_start()) {
                if second >= first {
                    return Some(((first + second) / 2.0, tail));
                }
            }
        }
    }
    Some((first, rest))
}

/// One number: digits with optional decimal part, `n/m`, a mixed number `1 1/2`, `1½`, a
/// vulgar fraction alone, or a number word.
fn parse_number(text: &str) -> Option<(f64, &str)> {
    let text = text.trim_start();
    if let Some((whole, rest)) = parse_decimal(text) {
        // `n/m`
        if let Some(after_slash) = rest.strip_prefix('/') {
            let (denominator, tail) = parse_decimal(after_slash)?;
            if denominator == 0.0 {
                return None;
            }
            return Some((whole / denominator, tail));
        }
        // `1½`
        if let Some(c) = rest.chars().next() {
            if let Some(f) = vulgar_fraction(c) {
                return Some((whole + f, &rest[c.len_utf8()..]));
            }
        }
        // `1 1/2`, `1 ½`, `1과 1/2`, `1 and 1/2`
        let spaced = rest.trim_start();
        let spaced = ["과", "와", "and"]
            .iter()
            .find_map(|joiner| spaced.strip_prefix(joiner))
            .map_or(spaced, str::trim_start);
        if spaced.len() < rest.len() {
            if let Some(c) = spaced.chars().next() {
                if let Some(f) = vulgar_fraction(c) {
                    return Some((whole + f, &spaced[c.len_utf8()..]));
                }
            }
            if let Some((numerator, after_numerator)) = parse_decimal(spaced) {
                if let Some(after_slash) = after_numerator.strip_prefix('/') {
                    if let Some((denominator, tail)) = parse_decimal(after_slash) {
                        if denominator > 0.0 && numerator < denominator {
                            return Some((whole + numerator / denominator, tail));
                        }
                    }
                }
            }
        }
        return Some((whole, rest));
    }
    if let Some(c) = text.chars().next() {
        if let Some(f) = vulgar_fraction(c) {
            return Some((f, &text[c.len_utf8()..]));
        }
    }
    for (word, value) in NUMBER_WORDS {
        if let Some(rest) = text.strip_prefix(word) {
            let boundary_ok = if word.is_ascii() {
                !rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            } else {
                // Korean number words are followed by a space or a counter (`두 개`, `두개`),
                // never by another word of the amount itself; `반` alone is fine too.
                true
            };
            if boundary_ok {
                return Some((*value, rest));
            }
        }
    }
    None
}

/// Digits with an optional `.` or `,` decimal part (`1,000` is a thousands separator).
fn parse_decimal(text: &str) -> Option<(f64, &str)> {
    let mut end = 0;
    let mut seen_digit = false;
    let mut seen_point = false;
    let bytes = text.as_bytes();
    while end < bytes.len() {
        let b = bytes[end];
        if b.is_ascii_digit() {
            seen_digit = true;
            end += 1;
        } else if b == b',' && seen_digit && !seen_point {
            let group = &bytes[end + 1..];
            let digits = group.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 3 {
                end += 1; // thousands separator, keep reading digits
            } else if digits > 0 {
                seen_point = true;
                end += 1;
            } else {
                break;
            }
        } else if b == b'.' && !seen_point && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            seen_point = true;
            end += 1;
        } else {
            break;
        }
    }
    if !seen_digit {
        return None;
    }
    let number = &text[..end];
    let normalized: String = if number.contains('.') {
        number.replace(',', "")
    } else if number.matches(',').count() == 1
        && number.rsplit(',').next().is_some_and(|d| d.len() != 3)
    {
        number.replace(',', ".")
    } else {
        number.replace(',', "")
    };
    let value: f64 = normalized.parse().ok()?;
    Some((value, &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn quantity(text: &str) -> (f64, Option<String>) {
        match parse_amount(text) {
            Amount::Quantity { value, unit } => (value, unit),
            other => panic!("`{text}` gave {other:?}"),
        }
    }

    fn value(text: &str) -> f64 {
        quantity(text).0
    }

    #[test]
    fn plain_numbers_fractions_and_mixed_numbers() {
        assert_eq!(value("300"), 300.0);
        assert_eq!(value("0.5"), 0.5);
        assert_eq!(value("1/2"), 0.5);
        assert_eq!(value("1½"), 1.5);
        assert_eq!(value("1 ½"), 1.5);
        assert_eq!(value("½"), 0.5);
        assert_eq!(value("1 1/2"), 1.5);
        assert_eq!(quantity("1과 1/2컵"), (1.5, Some("컵".into())));
        assert_eq!(value("1,5"), 1.5);
        assert_eq!(value("1,000"), 1000.0);
        assert_eq!(value("３００"), 300.0); // full-width digits
    }

    #[test]
    fn hedges_units_and_ranges() {
        assert_eq!(value("약 200"), 200.0);
        assert_eq!(value("about 2"), 2.0);
        assert_eq!(quantity("200g"), (200.0, Some("g".into())));
        assert_eq!(quantity("200 g 정도"), (200.0, Some("g".into())));
        assert_eq!(quantity("1/2컵"), (0.5, Some("컵".into())));
        assert_eq!(value("2-3"), 2.5);
        assert_eq!(quantity("2~3개"), (2.5, Some("개".into())));
        assert_eq!(value("1/2-1"), 0.75);
        assert_eq!(quantity("300g (1근의 반)"), (300.0, Some("g".into())));
    }

    #[test]
    fn number_words() {
        assert_eq!(quantity("두 개"), (2.0, Some("개".into())));
        assert_eq!(quantity("한 개 반"), (1.5, Some("개".into())));
        assert_eq!(quantity("한두 쪽"), (1.5, Some("쪽".into())));
        assert_eq!(quantity("반 개"), (0.5, Some("개".into())));
        assert_eq!(quantity("a pinch"), (1.0, Some("pinch".into())));
        assert_eq!(quantity("two cups"), (2.0, Some("cups".into())));
    }

    #[test]
    fn to_taste_and_garbage() {
        for text in [
            "적당량",
            "약간",
            "조금",
            "to taste",
            "Salt to taste",
            "기호에 따라",
            "약간.",
        ] {
            assert_eq!(parse_amount(text), Amount::ToTaste, "{text}");
        }
        for text in ["", "   ", "g", "many", "1/0", "-5", "abc123", "99999999"] {
            assert_eq!(parse_amount(text), Amount::Unparsed, "{text}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,30}") {
            let _ = parse_amount(&text);
        }

        #[test]
        fn never_panics_on_amount_like_text(text in "[0-9 ./½¼~\\-,약반한두개gml컵큰술]{0,16}") {
            if let Amount::Quantity { value, .. } = parse_amount(&text) {
                prop_assert!(value.is_finite() && value >= 0.0);
            }
        }

        #[test]
        fn fractions_divide(n in 0u32..1000, m in 1u32..1000) {
            let expected = f64::from(n) / f64::from(m);
            prop_assert_eq!(parse_amount(&format!("{n}/{m}")),
                Amount::Quantity { value: expected, unit: None });
        }

        #[test]
        fn ranges_give_the_midpoint(a in 0u32..10_000, extra in 0u32..10_000, sep in "[-~]") {
            let b = a + extra;
            let expected = (f64::from(a) + f64::from(b)) / 2.0;
            prop_assert_eq!(parse_amount(&format!("{a}{sep}{b}")),
                Amount::Quantity { value: expected, unit: None });
        }
    }
}
