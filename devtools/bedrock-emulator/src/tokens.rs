//! A deterministic token-count estimate standing in for the models' tokenizers: about four
//! ASCII characters per token and two characters per token for everything else (Hangul
//! syllables cost far more tokens than Latin letters in Claude's and Titan's vocabularies).

/// Estimated tokens for `text`; at least 1 for any text, including the empty one.
pub fn estimate(text: &str) -> u32 {
    let (ascii, other) = text.chars().fold((0u64, 0u64), |(ascii, other), c| {
        if c.is_ascii() {
            (ascii + 1, other)
        } else {
            (ascii, other + 1)
        }
    });
    let tokens = ascii.div_ceil(4) + other.div_ceil(2);
    u32::try_from(tokens.max(1)).unwrap_or(u32::MAX)
}

/// The longest prefix of `text` whose estimate stays within `budget` tokens.
pub fn truncate_to(text: &str, budget: u32) -> &str {
    let budget = u64::from(budget);
    let (mut ascii, mut other) = (0u64, 0u64);
    for (index, c) in text.char_indices() {
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
        if ascii.div_ceil(4) + other.div_ceil(2) > budget {
            return &text[..index];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangul_costs_more_than_ascii() {
        assert_eq!(estimate(""), 1);
        assert_eq!(estimate("abcd"), 1);
        assert_eq!(estimate("abcde"), 2);
        assert_eq!(estimate("삼겹살"), 2);
        assert!(estimate("돼지고기 삼겹살 양배추 볶음") > estimate("pork belly"));
    }

    #[test]
    fn truncation_respects_the_budget_and_char_boundaries() {
        let text = "삼겹살과 양배추를 볶는다. Stir-fry the pork belly.";
        for budget in 0..30 {
            let cut = truncate_to(text, budget);
            assert!(text.starts_with(cut));
            if cut.len() < text.len() {
                assert!(estimate(cut) <= budget.max(1));
            }
        }
        assert_eq!(truncate_to(text, 1000), text);
    }
}
