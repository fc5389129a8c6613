//! Converts the TOML data files (food knowledge, prompts, prices, latency profiles) to compact
//! JSON in `OUT_DIR`, which the crate compiles in with `include_str!`. A file that is not valid
//! TOML fails the build here, naming it; the content checks run when the data is loaded.

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
