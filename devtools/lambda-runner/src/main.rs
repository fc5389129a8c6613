//! `lambda-runner`: plays the AWS Lambda service on 127.0.0.1 for a function's bootstrap
//! binary, to invoke it with event files or to benchmark it. Run `lambda-runner help`.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match cli::args::parse(std::env::args_os().skip(1)) {
        Ok(parsed) => parsed.command,
        Err(error) => {
            // `--help` and `help` arrive here too, to be printed on stdout with status 0.
            let code = if error.use_stderr() {
                cli::EXIT_USAGE
            } else {
                0
            };
            if let Err(print_error) = error.print() {
                eprintln!("lambda-runner: cannot print: {print_error}");
            }
            return ExitCode::from(code);
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
