//! The crate boundaries, checked: the core crate (`ai-chef`) must build without any AWS SDK,
//! Lambda runtime or network client crate, and each function links only the AWS clients it
//! uses. Reads the resolved dependency graph with `cargo tree`, per package, so features are
//! resolved as for building that package alone.

use std::collections::BTreeSet;
use std::process::Command;

/// Crates that bring AWS, Lambda or a network stack: none may reach the core.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "aws-config",
    "aws-sdk-",
    "aws-smithy-",
    "aws-sigv4",
    "aws-credential-types",
    "aws-runtime",
    "aws-lc-",
    "aws_lambda_events",
    "lambda_runtime",
    "lambda_http",
    "hyper",
    "reqwest",
    "rustls",
    "h2",
    "axum",
];

fn normal_dependencies(package: &str) -> Result<BTreeSet<String>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .map_err(|err| format!("cargo tree could not run: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

fn offending<'a>(deps: &'a BTreeSet<String>, prefixes: &[&str]) -> Vec<&'a String> {
    deps.iter()
        .filter(|name| prefixes.iter().any(|prefix| name.starts_with(prefix)))
        .collect()
}

#[test]
fn the_core_has_no_aws_lambda_or_network_dependency() -> Result<(), String> {
    let deps = normal_dependencies("ai-chef")?;
    assert!(
        deps.contains("ai-chef"),
        "cargo tree did not list the core itself: {deps:?}"
    );
    let bad = offending(&deps, FORBIDDEN_IN_CORE);
    assert!(bad.is_empty(), "the core crate depends on {bad:?}");
    Ok(())
}

#[test]
fn the_forbidden_list_catches_what_the_adapters_use() -> Result<(), String> {
    // The check above is only as good as its list: the adapters crate must trip it.
    let deps = normal_dependencies("ai-chef-aws")?;
    let bad = offending(&deps, FORBIDDEN_IN_CORE);
    assert!(bad
        .iter()
        .any(|name| name.starts_with("aws-sdk-bedrockruntime")));
    assert!(bad.iter().any(|name| name.starts_with("hyper")));
    Ok(())
}

#[test]
fn only_functions_with_a_results_table_link_dynamodb_and_sqs() -> Result<(), String> {
    let embed = normal_dependencies("embed-text")?;
    let batch = normal_dependencies("batch-dispatcher")?;
    assert!(embed.contains("aws-sdk-bedrockruntime"));
    let table_clients = ["aws-sdk-dynamodb", "aws-sdk-sqs"];
    for client in table_clients {
        assert!(!embed.contains(client), "embed-text links {client}");
        assert!(batch.contains(client), "batch-dispatcher lacks {client}");
    }
    Ok(())
}
