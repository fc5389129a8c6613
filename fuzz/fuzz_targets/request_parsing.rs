//! `POST /recipes` and `POST /embeddings` body parsing on arbitrary bytes: never panics, and
//! every refusal carries one of the contract's request statuses.

#![no_main]

use ai_chef::embed::EmbedQuery;
use ai_chef::request::{clean_text, RecipeRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match RecipeRequest::from_json(data) {
        Ok(request) => {
            for item in request
                .profile
                .allergies
                .iter()
                .chain(&request.profile.health_conditions)
            {
                assert_eq!(
                    clean_text(item).as_deref(),
                    Ok(item.as_str()),
                    "accepted text is not clean"
                );
            }
        }
        Err(err) => assert!(matches!(err.status(), 400 | 413), "status {}", err.status()),
    }
    if let Err(err) = EmbedQuery::from_json(data) {
        assert!(matches!(err.status(), 400 | 413), "status {}", err.status());
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = RecipeRequest::from_value(value);
    }
});
