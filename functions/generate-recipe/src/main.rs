//! `generate-recipe` Lambda bootstrap: builds the app once, then serves invocations —
//! buffered answers for API Gateway, direct and warm-up events, streamed ones for the
//! function URL.

use ai_chef_lambda::handlers::generate_recipe::handle_any;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    ai_chef_lambda::telemetry::init();
    let app = ai_chef_lambda::app::generate_recipe_app().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handle_any(&app, event)
    }))
    .await
}
