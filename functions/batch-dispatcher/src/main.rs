//! `batch-dispatcher` Lambda bootstrap: builds the app once, then serves invocations.

use ai_chef::handlers::batch_dispatcher::handle;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    ai_chef::telemetry::init();
    let app = ai_chef::app::batch_dispatcher_app().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handle(&app, event)
    }))
    .await
}
