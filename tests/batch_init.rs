//! Start-up of the functions that use the results table and jobs queue: batch-dispatcher
//! fails its start naming a missing `RESULTS_TABLE` or `JOBS_QUEUE_URL` or a bad backoff
//! setting; generate-recipe starts without them (sync needs neither) and answers async with
//! 503. One test in its own binary, because it sets process variables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_lambda::app::{batch_dispatcher_app, generate_recipe_app};
use ai_chef_lambda::handlers::async_recipes::AsyncRecipes;
use std::time::Duration;

#[tokio::test]
async fn the_table_queue_and_backoff_settings_are_checked_at_start() {
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    // Loopback endpoints: nothing is called at init, and nothing could reach AWS.
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    std::env::set_var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9");
    std::env::remove_var("RESULTS_TABLE");
    std::env::set_var("JOBS_QUEUE_URL", "http://127.0.0.1:9/000000000000/jobs");
    let err = batch_dispatcher_app().await.unwrap_err();
    assert!(err.to_string().contains("RESULTS_TABLE"), "{err}");

    std::env::set_var("RESULTS_TABLE", "ai-chef-results");
    std::env::remove_var("JOBS_QUEUE_URL");
    let err = batch_dispatcher_app().await.unwrap_err();
    assert!(err.to_string().contains("JOBS_QUEUE_URL"), "{err}");

    std::env::set_var("JOBS_QUEUE_URL", "http://127.0.0.1:9/000000000000/jobs");
    let app = batch_dispatcher_app().await.unwrap();
    assert_eq!(app.result_ttl_days, 30);
    let (_, backoff) = app
        .redelivery
        .as_ref()
        .expect("retries are delayed by default");
    assert_eq!(
        (backoff.base, backoff.cap),
        (Duration::from_secs(10), Duration::from_secs(300))
    );

    std::env::set_var("RETRY_BASE_SECONDS", "2");
    std::env::set_var("RETRY_CAP_SECONDS", "60");
    std::env::set_var("RETRY_JITTER", "0.25");
    let app = batch_dispatcher_app().await.unwrap();
    let (_, backoff) = app.redelivery.as_ref().unwrap();
    assert_eq!(
        (
            backoff.base.as_secs(),
            backoff.cap.as_secs(),
            backoff.jitter
        ),
        (2, 60, 0.25)
    );
    for (name, bad) in [
        ("RETRY_JITTER", "2"),
        ("RETRY_CAP_SECONDS", "1"),
        ("RETRY_BASE_SECONDS", "soon"),
    ] {
        let saved = std::env::var(name).unwrap();
        std::env::set_var(name, bad);
        let err = batch_dispatcher_app().await.unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
        std::env::set_var(name, saved);
    }

    // generate-recipe: both set → async ready; either missing → it starts, async names it.
    let app = generate_recipe_app().await.unwrap();
    assert!(
        matches!(app.async_recipes, AsyncRecipes::Ready { .. }),
        "{app:?}"
    );
    std::env::remove_var("JOBS_QUEUE_URL");
    let app = generate_recipe_app().await.unwrap();
    assert!(
        matches!(
            app.async_recipes,
            AsyncRecipes::Unavailable {
                missing: "JOBS_QUEUE_URL"
            }
        ),
        "{app:?}"
    );
    std::env::remove_var("RESULTS_TABLE");
    let app = generate_recipe_app().await.unwrap();
    assert!(
        matches!(app.async_recipes, AsyncRecipes::Unavailable { missing } if missing.contains("RESULTS_TABLE")),
        "{app:?}"
    );
}
