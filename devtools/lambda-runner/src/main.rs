//! `lambda-runner`: plays the AWS Lambda service on 127.0.0.1 for a function's bootstrap
//! binary, to invoke it with event files or to benchmark it. Run `lambda-runner help`.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match cli::args::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("lambda-runner: {error}\n\n{}", cli::args::USAGE);
            return ExitCode::from(cli::EXIT_USAGE);
        }
    };
    // One thread is enough to serve one function, and leaves the other cores to the
    // function under measurement.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("lambda-runner: cannot start the async runtime: {error}");
            return ExitCode::from(cli::EXIT_RUNNER);
        }
    };
    ExitCode::from(runtime.block_on(cli::run(command)))
}
