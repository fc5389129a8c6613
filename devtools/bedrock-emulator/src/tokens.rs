//! A deterministic token-count estimate standing in for the models' tokenizers, by script:
//! about four ASCII characters per token, two tokens per Hangul character, and one token per
//! other non-ASCII character.
//!
//! Why two tokens per Hangul syllable: Claude's tokenizer is not published, and BPE
//! vocabularies learnt mostly from English text split each three-byte Hangul syllable into
//! two or three byte-level pieces. The one public measurement with Claude's own counts we
//! know of (a blog post translating 27 English articles with Claude, 2025) found Korean
//! versions used 2.8x the tokens of the English ones; on the emulator's own paired Korean and
//! English dishes this rule gives 2.7x for the same prose (see the test below). Measurements
//! with OpenAI's o200k tokenizer, which has many more multilingual merges, give only
//! 1.3-1.4x, so this is the expensive end of the published range, on purpose: Korean
//! recipes are where the service's deadline is tight.

/// Token cost of one character, in quarter tokens (so ASCII can cost a quarter).
fn quarter_tokens(c: char) -> u64 {
    if c.is_ascii() {
        1
    } else if is_hangul(c) {
        8
    } else {
        4
    }
}

/// Hangul syllables and jamo (conjoining and compatibility).
pub fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// Estimated tokens for `text`; at least 1 for any text, including the empty one.
pub fn estimate(text: &str) -> u32 {
    let quarters: u64 = text.chars().map(quarter_tokens).sum();
    u32::try_from(quarters.div_ceil(4).max(1)).unwrap_or(u32::MAX)
}

/// The longest prefix of `text` whose estimate stays within `budget` tokens.
pub fn truncate_to(text: &str, budget: u32) -> &str {
    let budget = u64::from(budget) * 4;
    let mut quarters = 0u64;
    for (index, c) in text.char_indices() {
        quarters += quarter_tokens(c);
        if quarters > budget {
            return &text[..index];
        }
    }
    text
}

/// Splits `text` into consecutive pieces of about `tokens_per_piece` tokens each (the last
/// may be shorter), cutting only at character boundaries; the pieces join back to `text`.
pub fn pieces(text: &str, tokens_per_piece: u32) -> Vec<&str> {
    let limit = u64::from(tokens_per_piece.max(1)) * 4;
    let mut pieces = Vec::new();
    let mut start = 0usize;
    let mut quarters = 0u64;
    for (index, c) in text.char_indices() {
        let cost = quarter_tokens(c);
        if quarters + cost > limit && index > start {
            pieces.push(&text[start..index]);
            start = index;
            quarters = 0;
        }
        quarters += cost;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipes::{Catalogue, Language};

    #[test]
    fn hangul_costs_more_than_ascii() {
        assert_eq!(estimate(""), 1);
        assert_eq!(estimate("abcd"), 1);
        assert_eq!(estimate("abcde"), 2);
        assert_eq!(estimate("삼겹살"), 6);
        assert_eq!(estimate("°C×"), 3);
        assert!(estimate("돼지고기 삼겹살 양배추 볶음") > estimate("pork belly"));
    }

    #[test]
    fn korean_dishes_cost_more_tokens_than_the_same_english_dishes() {
        let catalogue = Catalogue::builtin().unwrap();
        let prose = |language| {
            catalogue
                .entries(language)
                .iter()
                .map(|entry| {
                    let mut parts = vec![
                        entry.recipe_name.clone(),
                        entry.description.clone(),
                        entry.nutrition_tips.clone(),
                    ];
                    parts.extend(entry.instructions.iter().cloned());
                    parts.extend(entry.ingredients.iter().map(|i| i.name.clone()));
                    parts.join(" ")
                })
                .map(|text| u64::from(estimate(&text)))
                .sum::<u64>()
        };
        let ratio = prose(Language::Ko) as f64 / prose(Language::En) as f64;
        assert!((2.3..=3.0).contains(&ratio), "{ratio}");
    }

    #[test]
    fn truncation_respects_the_budget_and_char_boundaries() {
        let text = "삼겹살과 양배추를 볶는다. Stir-fry the pork belly.";
        for budget in 0..60 {
            let cut = truncate_to(text, budget);
            assert!(text.starts_with(cut));
            if cut.len() < text.len() {
                assert!(estimate(cut) <= budget.max(1));
            }
        }
        assert_eq!(truncate_to(text, 1000), text);
    }

    #[test]
    fn pieces_join_back_and_stay_near_the_size() {
        let text = "삼겹살과 양배추를 볶는다. Stir-fry the pork belly until crisp.".repeat(20);
        let split = pieces(&text, 30);
        assert_eq!(split.concat(), text);
        assert!(split.len() > 5);
        for piece in &split {
            assert!(estimate(piece) <= 30, "{piece}");
        }
        assert!(pieces("", 30).is_empty());
    }
}
