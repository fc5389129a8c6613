//! Start-up wiring shared by the three binaries: configuration, SDK clients (built once per
//! container), the food table and the prompt templates, each checked so that a bad setting
//! fails the Lambda init phase with a message that names it.

use crate::handlers::embed_text::EmbedTextApp;
#[cfg(feature = "jobs")]
use crate::handlers::generate_recipe::GenerateRecipeApp;
use ai_chef::config::{Config, ConfigError, MetricsSinkKind};
use ai_chef::embed::EmbeddingService;
use ai_chef::generate::RecipeService;
use ai_chef::metrics::{EmfSink, MetricsSink};
use ai_chef::nutrition::{FoodTable, TableError};
use ai_chef::prompt::{validate_templates, TemplateError};
use ai_chef::verify::TableVerifier;
use ai_chef_aws::bedrock::{sdk_config, BedrockClient};
use ai_chef_aws::cloudwatch::CloudWatchSink;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the embedded food table is invalid: {0}")]
    FoodTable(#[from] TableError),
    #[error("a prompt template is invalid: {0}")]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Other(String),
}

/// What every function needs: config and the shared SDK configuration.
#[derive(Debug, Clone)]
pub struct Foundation {
    pub config: Arc<Config>,
    pub sdk: aws_config::SdkConfig,
}

impl Foundation {
    pub async fn from_env() -> Result<Foundation, InitError> {
        let config = Config::from_env()?;
        crate::runtime_deadline::init_from_env().map_err(|e| InitError::Other(e.to_string()))?;
        let sdk = sdk_config(config.bedrock_max_attempts).await;
        Ok(Foundation {
            config: Arc::new(config),
            sdk,
        })
    }

    pub fn metrics_sink(&self) -> Arc<dyn MetricsSink> {
        let namespace = self.config.metrics_namespace.clone();
        match self.config.metrics_sink {
            MetricsSinkKind::Emf => Arc::new(EmfSink { namespace }),
            MetricsSinkKind::CloudWatch => Arc::new(CloudWatchSink::from_sdk(&self.sdk, namespace)),
        }
    }

    pub fn bedrock(&self) -> Arc<BedrockClient> {
        Arc::new(BedrockClient::new(&self.sdk))
    }

    /// The recipe service with the food-table verifier and nutrition retrieval (prompt facts
    /// and the name fallback); an index that does not fit this configuration fails the start.
    pub fn recipe_service(&self) -> Result<RecipeService, InitError> {
        validate_templates()?;
        ai_chef::latency::LatencyProfiles::embedded()
            .map_err(|e| InitError::Other(e.to_string()))?;
        let table = FoodTable::load_embedded()?;
        ai_chef::verify::check_knowledge(table).map_err(|err| {
            InitError::Other(format!("the embedded food knowledge is invalid: {err}"))
        })?;
        let bedrock = self.bedrock();
        let retrieval = ai_chef::retrieval::load_embedded(
            self.config.clone(),
            bedrock.clone(),
            self.sdk.endpoint_url(),
            table,
        )
        .map_err(|err| match err {
            ai_chef::retrieval::RetrievalInitError::Config(config) => InitError::Config(config),
            ai_chef::retrieval::RetrievalInitError::Index(index) => {
                InitError::Other(index.to_string())
            }
        })?;
        let retrieval = Arc::new(retrieval);
        let verifier = Arc::new(TableVerifier::new(table, Some(retrieval.clone())));
        Ok(RecipeService::new(
            self.config.clone(),
            bedrock,
            verifier,
            Some(retrieval),
        ))
    }
}

#[cfg(feature = "jobs")]
pub async fn generate_recipe_app() -> Result<GenerateRecipeApp, InitError> {
    let foundation = Foundation::from_env().await?;
    Ok(GenerateRecipeApp {
        service: foundation.recipe_service()?,
        metrics: foundation.metrics_sink(),
        async_recipes: async_recipes(&foundation),
    })
}

/// generate-recipe's async mode: the results table and jobs queue when both are set. Without
/// them the function still starts (sync needs neither) and async requests answer 503 naming
/// what is missing.
#[cfg(feature = "jobs")]
pub fn async_recipes(foundation: &Foundation) -> crate::handlers::async_recipes::AsyncRecipes {
    use crate::handlers::async_recipes::AsyncRecipes;
    let config = &foundation.config;
    match (&config.results_table, &config.jobs_queue_url) {
        (Some(table), Some(queue_url)) => AsyncRecipes::Ready {
            store: Arc::new(ai_chef_aws::dynamo::DynamoResultStore::from_sdk(
                &foundation.sdk,
                table,
            )),
            queue: Arc::new(ai_chef_aws::sqs::SqsJobQueue::from_sdk(
                &foundation.sdk,
                queue_url,
            )),
            ttl_days: config.result_ttl_days,
        },
        (None, None) => AsyncRecipes::disabled(),
        (table, _) => {
            let missing = if table.is_none() {
                "RESULTS_TABLE"
            } else {
                "JOBS_QUEUE_URL"
            };
            tracing::warn!(missing, "async mode needs both RESULTS_TABLE and JOBS_QUEUE_URL; async requests will answer 503");
            AsyncRecipes::Unavailable { missing }
        }
    }
}

pub async fn embed_text_app() -> Result<EmbedTextApp, InitError> {
    let foundation = Foundation::from_env().await?;
    Ok(EmbedTextApp {
        service: EmbeddingService::new(foundation.config.clone(), foundation.bedrock()),
        metrics: foundation.metrics_sink(),
    })
}

#[cfg(feature = "jobs")]
/// The batch-dispatcher: the recipe service plus the results table and the jobs queue, both
/// required (a missing `RESULTS_TABLE` or `JOBS_QUEUE_URL` fails the init naming it).
pub async fn batch_dispatcher_app(
) -> Result<crate::handlers::batch_dispatcher::BatchDispatcherApp, InitError> {
    let foundation = Foundation::from_env().await?;
    let table = foundation.config.require_results_table()?.to_owned();
    let queue_url = foundation.config.require_jobs_queue_url()?.to_owned();
    let store = ai_chef_aws::dynamo::DynamoResultStore::from_sdk(&foundation.sdk, table);
    let queue = Arc::new(ai_chef_aws::sqs::SqsJobQueue::from_sdk(
        &foundation.sdk,
        queue_url,
    ));
    let backoff = ai_chef::batch::RetryBackoff::from_vars(|name| std::env::var(name).ok())?;
    // Model calls without the SDK's retries: the adaptive limit must see every throttle.
    let model_calls = Foundation {
        config: foundation.config.clone(),
        sdk: ai_chef_aws::bedrock::model_sdk_config(&foundation.sdk),
    };
    Ok(crate::handlers::batch_dispatcher::BatchDispatcherApp::new(
        model_calls.recipe_service()?,
        foundation.metrics_sink(),
        Arc::new(store),
        queue.clone(),
    )
    .with_redelivery(queue, backoff))
}
