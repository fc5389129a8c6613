//! Start-up wiring shared by the three binaries: configuration, SDK clients (built once per
//! container), the food table and the prompt templates, each checked so that a bad setting
//! fails the Lambda init phase with a message that names it.

use crate::bedrock::client::{sdk_config, BedrockClient};
use crate::config::{Config, ConfigError, MetricsSinkKind};
use crate::embed::EmbeddingService;
use crate::generate::RecipeService;
use crate::handlers::embed_text::EmbedTextApp;
use crate::handlers::generate_recipe::GenerateRecipeApp;
use crate::metrics::{CloudWatchSink, EmfSink, MetricsSink};
use crate::nutrition::{FoodTable, TableError};
use crate::prompt::{validate_templates, TemplateError};
use crate::verify::TableVerifier;
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
            MetricsSinkKind::CloudWatch => Arc::new(CloudWatchSink {
                client: aws_sdk_cloudwatch::Client::new(&self.sdk),
                namespace,
            }),
        }
    }

    pub fn bedrock(&self) -> Arc<BedrockClient> {
        Arc::new(BedrockClient::new(&self.sdk))
    }

    /// The recipe service with the food-table verifier.
    pub fn recipe_service(&self) -> Result<RecipeService, InitError> {
        validate_templates()?;
        let table = FoodTable::load_embedded()?;
        let verifier = Arc::new(TableVerifier::new(table, None));
        Ok(RecipeService::new(self.config.clone(), self.bedrock(), verifier, None))
    }
}

pub async fn generate_recipe_app() -> Result<GenerateRecipeApp, InitError> {
    let foundation = Foundation::from_env().await?;
    Ok(GenerateRecipeApp {
        service: foundation.recipe_service()?,
        metrics: foundation.metrics_sink(),
    })
}

pub async fn embed_text_app() -> Result<EmbedTextApp, InitError> {
    let foundation = Foundation::from_env().await?;
    Ok(EmbedTextApp {
        service: EmbeddingService::new(foundation.config.clone(), foundation.bedrock()),
        metrics: foundation.metrics_sink(),
    })
}

pub async fn batch_dispatcher_app() -> Result<crate::handlers::batch_dispatcher::BatchDispatcherApp, InitError> {
    let foundation = Foundation::from_env().await?;
    Ok(crate::handlers::batch_dispatcher::BatchDispatcherApp {
        service: foundation.recipe_service()?,
        metrics: foundation.metrics_sink(),
    })
}
