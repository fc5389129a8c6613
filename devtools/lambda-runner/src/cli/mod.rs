//! The command-line front end: argument parsing, the `invoke` command and the `bench`
//! commands with their report formats.

pub mod args;
mod bench;
mod invoke;
mod report;

use args::{BenchCommand, Command};

/// The function answered with an error (or an HTTP error status, for benchmarks).
pub const EXIT_FUNCTION_ERROR: u8 = 1;
/// The command line was wrong.
pub const EXIT_USAGE: u8 = 2;
/// The function could not be run: init failure, timeout, crash, unreadable file.
pub const EXIT_RUNNER: u8 = 3;

/// Runs one parsed command and returns the process exit code.
pub async fn run(command: Command) -> u8 {
    match command {
        Command::Invoke(invoke_args) => invoke::run(invoke_args).await,
        Command::Bench(BenchCommand::Init(init_args)) => bench::run_init(init_args).await,
        Command::Bench(BenchCommand::Warm(warm_args)) => bench::run_warm(warm_args).await,
    }
}

/// The spawn options for `bin` under the command's function settings.
fn spawn_options(
    function: &args::FunctionArgs,
    bin: &std::path::Path,
    output: lambda_runner::OutputMode,
) -> lambda_runner::SpawnOptions {
    let mut options = lambda_runner::SpawnOptions::new(bin).output(output);
    if let Some(name) = &function.function_name {
        options = options.function_name(name.clone());
    }
    options.memory_mb = function.memory_mb;
    options.env.clone_from(&function.env);
    options
}

/// A short name for a binary in reports: its file name.
fn binary_label(bin: &std::path::Path) -> String {
    bin.file_name().map_or_else(
        || bin.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}
