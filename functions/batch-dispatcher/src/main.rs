//! `batch-dispatcher` Lambda bootstrap: builds the app once, then serves invocations.

use ai_chef_lambda::handlers::batch_dispatcher::handle;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    ai_chef_lambda::telemetry::init();
    let app = ai_chef_lambda::app::batch_dispatcher_app().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handle(&app, event)
    }))
    .await
}
