//! batch-dispatcher's init: a missing `RESULTS_TABLE` or `JOBS_QUEUE_URL` fails the start with
//! a message naming the variable. Its own test binary, because it sets process variables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_lambda::app::batch_dispatcher_app;

#[tokio::test]
async fn a_missing_table_or_queue_fails_the_init_naming_the_variable() {
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
}
