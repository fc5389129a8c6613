//! Ingredient amount parsing on arbitrary text: never panics and every quantity is finite
//! and within the accepted range.

#![no_main]

use ai_chef::nutrition::{parse_amount, Amount};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Amount::Quantity { value, .. } = parse_amount(text) {
        assert!(
            value.is_finite() && (0.0..=1.0e6).contains(&value),
            "{value}"
        );
    }
});
