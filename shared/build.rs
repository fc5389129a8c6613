//! Converts the TOML data files (food knowledge, prompts, prices, latency profiles) to compact
//! JSON in `OUT_DIR`, which the crate compiles in with `include_str!`. A file that is not valid
//! TOML fails the build here, naming it; the content checks run when the data is loaded.
//! It also checks the embedded nutrition index's digest, so the functions need not hash it at
//! every start.

#[path = "src/datafile.rs"]
mod datafile;

use std::path::Path;

/// Data files converted at build time, relative to this crate.
const FILES: [&str; 7] = [
    "data/food-groups.toml",
    "data/compound-foods.toml",
    "data/diet-rules.toml",
    "data/model-prices.toml",
    "data/model-latency.toml",
    "data/prompts/ko.toml",
    "data/prompts/en.toml",
];

fn main() {
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        eprintln!("OUT_DIR is not set (this build script runs under cargo)");
        std::process::exit(1);
    };
    for file in FILES {
        println!("cargo:rerun-if-changed={file}");
        if let Err(message) = convert(file, Path::new(&out_dir)) {
            eprintln!("shared/{file}: {message}");
            std::process::exit(1);
        }
    }
    println!("cargo:rerun-if-changed=src/datafile.rs");
    for file in [INDEX_BIN, INDEX_META] {
        println!("cargo:rerun-if-changed={file}");
    }
    if let Err(message) = check_index_digest() {
        eprintln!("shared/{INDEX_BIN}: {message}");
        std::process::exit(1);
    }
}

/// The nutrition index compiled into the crate (`src/retrieval/mod.rs`).
const INDEX_BIN: &str = "data/nutrition-index.bin";
const INDEX_META: &str = "data/nutrition-index.meta.json";

/// The embedded index's vectors must have the sha256 its metadata states. Checked here once
/// per build rather than at every function start, where hashing the 486 KB took 1-2.5 ms of
/// the init; indexes read at run time (`NutritionIndex::decode`) are still hashed there.
fn check_index_digest() -> Result<(), String> {
    use sha2::Digest;
    let bin = std::fs::read(INDEX_BIN).map_err(|err| err.to_string())?;
    let meta = std::fs::read_to_string(INDEX_META).map_err(|err| err.to_string())?;
    let meta: serde_json::Value = serde_json::from_str(&meta).map_err(|err| err.to_string())?;
    let stated = meta
        .get("vectorsDigest")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("{INDEX_META} has no vectorsDigest"))?;
    let actual = hex::encode(sha2::Sha256::digest(&bin));
    if actual == stated {
        Ok(())
    } else {
        Err(format!(
            "sha256 is {actual}, {INDEX_META} states {stated}: the two files are not from one `make index` run"
        ))
    }
}

/// `data/prompts/ko.toml` becomes `OUT_DIR/prompts-ko.json`.
fn convert(file: &str, out_dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|err| err.to_string())?;
    let json = datafile::toml_to_json(&text)?;
    let name = file
        .trim_start_matches("data/")
        .trim_end_matches(".toml")
        .replace('/', "-");
    std::fs::write(out_dir.join(format!("{name}.json")), json).map_err(|err| err.to_string())
}
