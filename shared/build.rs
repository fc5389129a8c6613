//! Converts the TOML data files (food knowledge, prompts, prices, latency profiles) to compact
//! JSON in `OUT_DIR`, which the crate compiles in with `include_str!`. A file that is not valid
//! TOML fails the build here, naming it; the content checks run when the data is loaded.
//! It also checks the embedded nutrition index's digest and digests the embedded food table
//! the way the index records it, so the functions need not hash either at every start.

#[path = "src/datafile.rs"]
mod datafile;
#[path = "src/nutrition/embedding_text.rs"]
mod embedding_text;

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
    println!("cargo:rerun-if-changed={FOOD_TABLE}");
    println!("cargo:rerun-if-changed=src/nutrition/embedding_text.rs");
    if let Err(message) = write_table_digest(Path::new(&out_dir)) {
        eprintln!("shared/{FOOD_TABLE}: {message}");
        std::process::exit(1);
    }
}

/// The food table compiled into the crate (`src/nutrition/table.rs`).
const FOOD_TABLE: &str = "data/foods.tsv";

/// Writes `OUT_DIR/food-table-digest.txt`: the `retrieval::index::table_digest` of the
/// embedded table (sha256 over each row's id and embedding text), or nothing when a row does
/// not read. It is compared with the index's `tableDigest` at start, as a digest computed
/// there would be (0.8-1.1 ms of the init, measured); a stale index still fails the start,
/// not the build, so `make index` can be built to fix it. A unit test keeps the two
/// computations equal.
fn write_table_digest(out_dir: &Path) -> Result<(), String> {
    use sha2::Digest;
    let text = std::fs::read_to_string(FOOD_TABLE).map_err(|err| err.to_string())?;
    let mut hasher = sha2::Sha256::new();
    let mut readable = true;
    let rows = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .skip(1);
    for row in rows {
        let Some((id, embedding_text)) = row_embedding_text(row) else {
            readable = false;
            break;
        };
        hasher.update(id.as_bytes());
        hasher.update(b"\t");
        hasher.update(embedding_text.as_bytes());
        hasher.update(b"\n");
    }
    let digest = if readable {
        hex::encode(hasher.finalize())
    } else {
        // The table parser reports the bad row when the function starts.
        String::new()
    };
    std::fs::write(out_dir.join("food-table-digest.txt"), digest).map_err(|err| err.to_string())
}

/// A row's id and embedding text, from its cells as the table parser reads them.
fn row_embedding_text(row: &str) -> Option<(&str, String)> {
    let cells: Vec<&str> = row.split('\t').map(str::trim).collect();
    let list = |cell: &str| {
        cell.split('|')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut figures = [0.0; 7];
    for (figure, cell) in figures.iter_mut().zip(cells.get(5..12)?) {
        *figure = cell.parse().ok()?;
    }
    let text = embedding_text::embedding_text(
        cells.get(2)?,
        cells.get(1)?,
        &list(cells.get(3)?),
        &list(cells.get(4)?),
        figures,
    );
    Some((cells.first()?, text))
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
