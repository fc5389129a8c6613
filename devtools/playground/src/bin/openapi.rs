//! Writes the OpenAPI document generated from the wire types (`make openapi`), or with
//! `--check` fails when the checked-in file differs from what the types say.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(about = "Generate docs/openapi.json from the Rust wire types")]
struct Args {
    /// Where the document is written (or read with --check).
    #[arg(long, default_value = "docs/openapi.json")]
    out: PathBuf,
    /// Compare instead of writing; exit 1 when the file is stale.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let text = match playground::openapi::document_text() {
        Ok(text) => text,
        Err(err) => {
            eprintln!("openapi: {err}");
            return ExitCode::FAILURE;
        }
    };
    if args.check {
        let current = std::fs::read_to_string(&args.out).unwrap_or_default();
        if current == text {
            println!("openapi: {} is up to date", args.out.display());
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "openapi: {} differs from the wire types; run `make openapi`",
            args.out.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(err) = std::fs::write(&args.out, &text) {
        eprintln!("openapi: cannot write {}: {err}", args.out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "openapi: wrote {} ({} bytes)",
        args.out.display(),
        text.len()
    );
    ExitCode::SUCCESS
}
