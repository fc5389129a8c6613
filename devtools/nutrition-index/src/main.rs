//! `nutrition-index`: builds `shared/data/nutrition-index.{bin,meta.json}`, the nutrition
//! retrieval index compiled into the functions (see `docs/retrieval.md`).
//!
//! It loads configuration the way the functions do (`MODEL_ID_EMBEDDING`, the SDK's region,
//! credentials and `AWS_ENDPOINT_URL*`), embeds every food-table row's embedding text with
//! the shared `EmbeddingService` in batches (bounded concurrency inside each batch), then
//! calibrates the name-fallback threshold on the same backend: table names must find their
//! own row, unrelated probe texts must find nothing. Progress goes to stderr.

use ai_chef::config::{Config, ConfigError, EmbeddingModel};
use ai_chef::deadline::Deadline;
use ai_chef::embed::{EmbedBodyWire, EmbedQuery, EmbeddingService, MAX_TEXTS};
use ai_chef::error::ServiceError;
use ai_chef::metrics::MetricsRecorder;
use ai_chef::nutrition::{normalize_name, FoodTable, TableError};
use ai_chef::retrieval::expected_source;
use ai_chef::retrieval::index::{
    self, Encoding, IndexError, IndexOrigin, IndexSource, NutritionIndex,
};
use ai_chef::retrieval::search::standout;
use ai_chef_aws::bedrock::{sdk_config, BedrockClient};
use clap::{Parser, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Texts that name no food: their best similarity is the noise floor of the backend.
const UNRELATED_PROBES: &[&str] = &[
    "자동차 타이어 교체",
    "노트북 키보드",
    "주식 시장 뉴스",
    "비밀번호 재설정",
    "축구 경기 결과",
    "세탁기 사용 설명서",
    "블록체인 지갑",
    "laptop charger cable",
    "weather forecast tomorrow",
    "quarterly tax report",
    "xyzzy plugh",
    "qwerty asdf",
];
/// The whole build must finish within this (it is a developer tool, not a Lambda).
const BUILD_DEADLINE: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SourceArg {
    Emulator,
    Bedrock,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EncodingArg {
    I8,
    F32,
}

#[derive(Debug, Parser)]
#[command(
    name = "nutrition-index",
    about = "Builds the nutrition retrieval index from the food table"
)]
struct Args {
    /// The backend the configured endpoint is; checked against the AWS_ENDPOINT_URL* settings.
    #[arg(long, value_enum)]
    source: SourceArg,
    /// Directory to write nutrition-index.bin and nutrition-index.meta.json into.
    #[arg(long, default_value = "shared/data")]
    out_dir: PathBuf,
    /// Titan v2 output dimensions (256, 512 or 1024). 1024 keeps the emulator's hashed
    /// n-gram vectors apart; real Titan separates names well at 256 too.
    #[arg(long, default_value_t = 1024)]
    dimensions: u32,
    /// Vector storage: i8 (a quarter of the size) or f32.
    #[arg(long, value_enum, default_value_t = EncodingArg::I8)]
    encoding: EncodingArg,
    /// Texts per embedding batch (at most 64).
    #[arg(long, default_value_t = 32)]
    batch: usize,
}

#[derive(Debug, thiserror::Error)]
enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the food table is invalid: {0}")]
    Table(#[from] TableError),
    #[error(
        "--source {asked} does not fit the endpoint settings, which point at {actual}: {hint}"
    )]
    SourceMismatch {
        asked: &'static str,
        actual: &'static str,
        hint: &'static str,
    },
    #[error("embedding failed: {0}")]
    Embedding(#[from] ServiceError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn progress(message: &str) {
    eprintln!("[nutrition-index] {message}");
}

struct Embedder {
    service: EmbeddingService,
    dimensions: u32,
    metrics: MetricsRecorder,
    deadline: Deadline,
}

impl Embedder {
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ServiceError> {
        let query = EmbedQuery::try_from(EmbedBodyWire {
            texts: Some(texts),
            model: Some("titan-v2".to_owned()),
            dimensions: Some(u64::from(self.dimensions)),
            normalize: Some(true),
        })?;
        Ok(self
            .service
            .embed_all(&query, self.deadline, &self.metrics)
            .await?
            .embeddings)
    }

    /// Embeds every text in batches, reporting progress.
    async fn embed_batched(
        &self,
        texts: &[String],
        batch: usize,
        what: &str,
    ) -> Result<Vec<Vec<f32>>, ServiceError> {
        let started = Instant::now();
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch) {
            out.extend(self.embed(chunk.to_vec()).await?);
            progress(&format!(
                "{what}: {}/{} embedded ({:.1} s)",
                out.len(),
                texts.len(),
                started.elapsed().as_secs_f64()
            ));
        }
        Ok(out)
    }
}

/// The fallback threshold (a standout, see `search::standout`): midway between the most an
/// unrelated text stands out and the 10th percentile of table names that find their own
/// row; never at or below the unrelated texts.
fn calibrate(own_row_standouts: &mut [f32], noise: &[f32]) -> (f32, f32, f32) {
    own_row_standouts.sort_by(|a, b| a.total_cmp(b));
    let p10 = own_row_standouts
        .get(own_row_standouts.len() / 10)
        .copied()
        .unwrap_or(f32::MAX);
    let floor = noise.iter().copied().fold(0.0f32, f32::max);
    let threshold = if p10 > floor {
        (p10 + floor) / 2.0
    } else {
        floor + 0.1
    };
    (threshold, p10, floor)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|source| BuildError::Write {
            path: path.to_path_buf(),
            source,
        })
}

async fn run(args: Args) -> Result<(), BuildError> {
    let config = Arc::new(Config::from_env()?);
    let table = FoodTable::load_embedded()?;
    let sdk = sdk_config(config.bedrock_max_attempts).await;
    let source = match args.source {
        SourceArg::Emulator => IndexSource::Emulator,
        SourceArg::Bedrock => IndexSource::Bedrock,
    };
    let actual = expected_source(sdk.endpoint_url(), &|name| std::env::var(name).ok())?;
    if actual != source {
        return Err(BuildError::SourceMismatch {
            asked: source.as_str(),
            actual: actual.as_str(),
            hint: "real Bedrock needs no AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_BEDROCK_RUNTIME; the emulator needs one",
        });
    }
    let model_id = config
        .models
        .embedding_model_id(EmbeddingModel::TitanV2)
        .to_owned();
    let embedder = Embedder {
        service: EmbeddingService::new(config.clone(), Arc::new(BedrockClient::new(&sdk))),
        dimensions: args.dimensions,
        metrics: MetricsRecorder::new(),
        deadline: Deadline::after(BUILD_DEADLINE),
    };
    let batch = args.batch.clamp(1, MAX_TEXTS);
    progress(&format!(
        "embedding {} rows with {model_id} ({} dimensions) on {}",
        table.len(),
        args.dimensions,
        source.as_str()
    ));

    let texts: Vec<String> = table.foods().iter().map(|f| f.embedding_text()).collect();
    let vectors = embedder.embed_batched(&texts, batch, "rows").await?;
    let origin = IndexOrigin {
        model_id,
        source,
        encoding: match args.encoding {
            EncodingArg::I8 => Encoding::I8,
            EncodingArg::F32 => Encoding::F32,
        },
        created_with: format!("nutrition-index {}", env!("CARGO_PKG_VERSION")),
        table_digest: index::table_digest(table),
    };
    let ids = table.foods().iter().map(|f| f.id.clone()).collect();
    let built = NutritionIndex::from_vectors(origin, ids, vectors)?;

    let names: Vec<String> = table
        .foods()
        .iter()
        .map(|f| normalize_name(&f.name_ko))
        .collect();
    let name_vectors = embedder
        .embed_batched(&names, batch, "calibration names")
        .await?;
    let dims = built.dimensions();
    let mut own: Vec<f32> = Vec::new();
    for (row, vector) in name_vectors.iter().enumerate() {
        if let Some((best, z)) = standout(built.vectors(), dims, &index_unit(vector)) {
            if best.row == row {
                own.push(z);
            }
        }
    }
    let found_own = own.len();
    let probes: Vec<String> = UNRELATED_PROBES.iter().map(|s| (*s).to_owned()).collect();
    let noise: Vec<f32> = embedder
        .embed(probes)
        .await?
        .iter()
        .filter_map(|v| standout(built.vectors(), dims, &index_unit(v)).map(|(_, z)| z))
        .collect();
    let (threshold, p10, floor) = calibrate(&mut own, &noise);
    progress(&format!(
        "calibration: {found_own}/{} Korean names find their own row first, standing out by {p10:.2} σ or more \
         (10th percentile); unrelated texts stand out by up to {floor:.2} σ; fallback threshold {threshold:.2} σ",
        table.len()
    ));
    let built = built.with_fallback_min_standout((threshold * 100.0).round() / 100.0);

    let (bin, meta) = built.encode()?;
    std::fs::create_dir_all(&args.out_dir).map_err(|source| BuildError::Write {
        path: args.out_dir.clone(),
        source,
    })?;
    let bin_path = args.out_dir.join("nutrition-index.bin");
    let meta_path = args.out_dir.join("nutrition-index.meta.json");
    write_atomically(&bin_path, &bin)?;
    write_atomically(&meta_path, meta.as_bytes())?;
    progress(&format!(
        "wrote {} ({} bytes) and {} ({} bytes): {} rows × {} dimensions, {:?}, source {}",
        bin_path.display(),
        bin.len(),
        meta_path.display(),
        meta.len(),
        built.len(),
        dims,
        built.meta().encoding,
        source.as_str()
    ));
    Ok(())
}

fn index_unit(vector: &[f32]) -> Vec<f32> {
    index::unit_vector(vector).unwrap_or_else(|| vector.to_vec())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nutrition-index: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_sits_between_noise_and_names() {
        let mut own: Vec<f32> = (0..100).map(|i| 5.0 + i as f32 / 10.0).collect();
        let (threshold, p10, floor) = calibrate(&mut own, &[3.0, 4.0]);
        assert!((p10 - 6.0).abs() < 1e-5 && (floor - 4.0).abs() < 1e-6);
        assert!((threshold - 5.0).abs() < 1e-5);
        let (threshold, _, _) = calibrate(&mut [3.0, 3.0], &[4.5]);
        assert!((threshold - 4.6).abs() < 1e-5);
    }
}
