//! Parses the command line (with `clap`'s derive API) into plain structs; no I/O happens
//! here. The doc comments below are the `--help` text.
//!
//! Two settings keep the command line as it always was for the scripts that call it:
//! a single-valued option given twice keeps its last value (`overrides_with` itself), except
//! `bench warm --event`, which takes exactly one file; and an option's value is the next
//! word even when that word starts with a hyphen (`allow_hyphen_values`).

use std::{ffi::OsString, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

/// Plays the AWS Lambda service on 127.0.0.1 for a function's bootstrap binary, to invoke
/// it with event files or to benchmark it.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "lambda-runner",
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = "Run `lambda-runner help COMMAND` (e.g. `lambda-runner help bench warm`) \
                  for a command's options.\n\
                  Exit status: 0 on success, 1 if the function answered with an error, \
                  2 for a wrong command line, 3 if the function could not start or run."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Runs the function once and hands it each event file in turn.
    ///
    /// Prints each response as pretty JSON on stdout; the function's own output goes to
    /// stderr. Exit status 1 if any invocation answered with an error, 3 if the function
    /// could not start or run.
    Invoke(InvokeArgs),
    /// Measures a function's init time or warm round trips.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// The benchmarks.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum BenchCommand {
    /// Starts the function N times; init = spawn until its first GET /next.
    Init(InitArgs),
    /// Invokes one running function repeatedly; round trip = event handed out by /next
    /// until the answer is posted.
    ///
    /// Without --vary every event is identical (cache hit); with it the field at each
    /// pointer changes per invocation (a number gets +n, a string gets -n; a pointer may run
    /// through a string holding JSON, such as /body/profile/budget).
    Warm(WarmArgs),
}

/// How to start the function, shared by every command.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct FunctionArgs {
    /// The function's bootstrap binary.
    #[arg(
        long,
        value_name = "PATH",
        allow_hyphen_values = true,
        overrides_with = "bin"
    )]
    pub bin: PathBuf,
    /// Function environment variable (repeatable).
    #[arg(
        long = "env",
        value_name = "KEY=VALUE",
        allow_hyphen_values = true,
        value_parser = parse_env
    )]
    pub env: Vec<(String, String)>,
    /// AWS_LAMBDA_FUNCTION_NAME [default: the binary's name].
    #[arg(
        long,
        value_name = "NAME",
        allow_hyphen_values = true,
        overrides_with = "function_name"
    )]
    pub function_name: Option<String>,
    /// AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 128,
        overrides_with = "memory_mb"
    )]
    pub memory_mb: u32,
    /// Time allowed for init, in milliseconds.
    #[arg(
        long = "ready-timeout-ms",
        value_name = "N",
        default_value = "30000",
        value_parser = positive_millis,
        overrides_with = "ready_timeout"
    )]
    pub ready_timeout: Duration,
}

/// `invoke`: one function process, several events.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub function: FunctionArgs,
    /// An event (JSON) to hand to the function (repeatable; handed out in order).
    #[arg(
        long = "event",
        value_name = "FILE",
        required = true,
        allow_hyphen_values = true
    )]
    pub events: Vec<PathBuf>,
    /// Invocation deadline, in milliseconds.
    #[arg(
        long = "timeout-ms",
        value_name = "N",
        default_value = "30000",
        value_parser = positive_millis,
        overrides_with = "timeout"
    )]
    pub timeout: Duration,
}

/// How a benchmark reports.
#[derive(Debug, Clone, PartialEq, Args)]
#[command(next_help_heading = "Report options")]
pub struct ReportArgs {
    /// Also measure this function (e.g. echo-function) the same way and report the
    /// subject's figures as multiples of it.
    #[arg(
        long,
        value_name = "PATH",
        allow_hyphen_values = true,
        overrides_with = "baseline"
    )]
    pub baseline: Option<PathBuf>,
    /// Row label [default: the binary's name].
    #[arg(
        long,
        value_name = "TEXT",
        allow_hyphen_values = true,
        overrides_with = "label"
    )]
    pub label: Option<String>,
    /// Print one JSON document instead of a markdown table row.
    #[arg(long, overrides_with = "json")]
    pub json: bool,
    /// Print the markdown table header first.
    #[arg(long, overrides_with = "header")]
    pub header: bool,
    /// Print the baseline's own row too.
    #[arg(long, overrides_with = "print_baseline")]
    pub print_baseline: bool,
}

/// `bench init`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub function: FunctionArgs,
    /// How many times to start the function (after one unmeasured start).
    #[arg(
        long,
        value_name = "N",
        default_value = "20",
        value_parser = positive_count,
        overrides_with = "spawns"
    )]
    pub spawns: usize,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `bench warm`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct WarmArgs {
    #[command(flatten)]
    pub function: FunctionArgs,
    /// The event (JSON) to hand to the function; exactly one.
    #[arg(long, value_name = "FILE", allow_hyphen_values = true)]
    pub event: PathBuf,
    /// Measured invocations.
    #[arg(
        long,
        value_name = "N",
        default_value = "1000",
        value_parser = positive_count,
        overrides_with = "count"
    )]
    pub count: usize,
    /// Unmeasured invocations first.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        overrides_with = "warmup"
    )]
    pub warmup: usize,
    /// JSON pointer to a field that changes per invocation (repeatable).
    #[arg(long, value_name = "JSON-POINTER", allow_hyphen_values = true)]
    pub vary: Vec<String>,
    /// Invocation deadline, in milliseconds.
    #[arg(
        long = "timeout-ms",
        value_name = "N",
        default_value = "30000",
        value_parser = positive_millis,
        overrides_with = "timeout"
    )]
    pub timeout: Duration,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Parses the arguments that follow the program name. `Err` is clap's own error, which
/// also carries `--help` output (see [`clap::Error::use_stderr`]).
pub fn parse(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(
        std::iter::once(OsString::from("lambda-runner")).chain(args.into_iter().map(Into::into)),
    )
}

const NOT_POSITIVE: &str = "must be greater than zero";

fn positive_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err(NOT_POSITIVE.to_owned()),
        Ok(count) => Ok(count),
        Err(error) => Err(error.to_string()),
    }
}

fn positive_millis(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(0) => Err(NOT_POSITIVE.to_owned()),
        Ok(millis) => Ok(Duration::from_millis(millis)),
        Err(error) => Err(error.to_string()),
    }
}

fn parse_env(pair: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{pair:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use clap::{error::ErrorKind, CommandFactory};

    use super::*;

    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn parse_str(line: &str) -> Result<Command, clap::Error> {
        parse(line.split_whitespace()).map(|cli| cli.command)
    }

    fn error_kind(line: &str) -> Option<ErrorKind> {
        parse_str(line).err().map(|error| error.kind())
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn invoke_with_several_events_and_env() {
        let command = parse_str("invoke --bin target/debug/f --event a.json --event b.json --env A=1 --env B=x=y --timeout-ms 500").unwrap();
        let Command::Invoke(args) = command else {
            panic!("not invoke: {command:?}")
        };
        assert_eq!(args.function.bin, PathBuf::from("target/debug/f"));
        assert_eq!(
            args.events,
            [PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
        assert_eq!(
            args.function.env,
            [("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
        assert_eq!(args.timeout, Duration::from_millis(500));
        assert_eq!(args.function.memory_mb, 128);
        assert_eq!(args.function.ready_timeout, DEFAULT_TIMEOUT);
        assert_eq!(args.function.function_name, None);
    }

    #[test]
    fn bench_warm_defaults_and_vary() {
        let command = parse_str(
            "bench warm --bin f --event e.json --vary /body/profile/budget --baseline echo --json",
        )
        .unwrap();
        let Command::Bench(BenchCommand::Warm(args)) = command else {
            panic!("not warm: {command:?}")
        };
        assert_eq!((args.count, args.warmup), (1000, 20));
        assert_eq!(args.vary, ["/body/profile/budget"]);
        assert_eq!(args.report.baseline, Some(PathBuf::from("echo")));
        assert!(args.report.json && !args.report.header);
        assert_eq!(args.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn bench_init_spawns() {
        let command = parse_str("bench init --bin f --spawns 5 --header --label gen").unwrap();
        let Command::Bench(BenchCommand::Init(args)) = command else {
            panic!("not init: {command:?}")
        };
        assert_eq!(args.spawns, 5);
        assert_eq!(args.report.label.as_deref(), Some("gen"));
        assert!(args.report.header);
        let command = parse_str("bench init --bin f").unwrap();
        let Command::Bench(BenchCommand::Init(args)) = command else {
            panic!("not init: {command:?}")
        };
        assert_eq!(args.spawns, 20);
    }

    #[test]
    fn a_repeated_option_keeps_its_last_value_and_values_may_start_with_a_hyphen() {
        let command = parse_str(
            "bench init --bin a --bin b --memory-mb 256 --memory-mb 512 --json --json --label -x",
        )
        .unwrap();
        let Command::Bench(BenchCommand::Init(args)) = command else {
            panic!("not init: {command:?}")
        };
        assert_eq!(args.function.bin, PathBuf::from("b"));
        assert_eq!(args.function.memory_mb, 512);
        assert!(args.report.json);
        assert_eq!(args.report.label.as_deref(), Some("-x"));
    }

    #[test]
    fn help_wins() {
        assert_eq!(
            error_kind("bench warm --help"),
            Some(ErrorKind::DisplayHelp)
        );
        assert_eq!(error_kind("invoke -h"), Some(ErrorKind::DisplayHelp));
        assert_eq!(error_kind("help"), Some(ErrorKind::DisplayHelp));
        assert_eq!(error_kind("help bench warm"), Some(ErrorKind::DisplayHelp));
        let help = parse_str("bench warm --help").unwrap_err();
        assert!(!help.use_stderr());
        let text = help.to_string();
        assert!(
            text.contains("--vary <JSON-POINTER>") && text.contains("--print-baseline"),
            "{text}"
        );
    }

    #[test]
    fn rejects_bad_command_lines() {
        for line in ["", "bench"] {
            let error = parse_str(line).unwrap_err();
            assert!(error.use_stderr(), "{line:?} is not a usage error");
        }
        assert_eq!(error_kind("deploy"), Some(ErrorKind::InvalidSubcommand));
        assert_eq!(
            error_kind("bench cold --bin f"),
            Some(ErrorKind::InvalidSubcommand)
        );
        assert_eq!(
            error_kind("invoke --event e.json"),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            error_kind("invoke --bin f"),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            error_kind("bench warm --bin f"),
            Some(ErrorKind::MissingRequiredArgument)
        );
        // An option of another command does not apply.
        assert_eq!(
            error_kind("invoke --bin f --event e --spawns 3"),
            Some(ErrorKind::UnknownArgument)
        );
        assert_eq!(
            error_kind("bench init --bin f --event e"),
            Some(ErrorKind::UnknownArgument)
        );
        assert_eq!(
            error_kind("invoke --bin f --event e --json"),
            Some(ErrorKind::UnknownArgument)
        );
        // bench warm takes exactly one event file.
        assert_eq!(
            error_kind("bench warm --bin f --event a --event b"),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(
            error_kind("invoke --bin f --event e --env NOEQUALS"),
            Some(ErrorKind::ValueValidation)
        );
        assert_eq!(
            error_kind("invoke --bin f --event e --env =x"),
            Some(ErrorKind::ValueValidation)
        );
        for zero in ["--count 0", "--timeout-ms 0", "--ready-timeout-ms 0"] {
            let error = parse_str(&format!("bench warm --bin f --event e {zero}")).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ValueValidation, "{zero}");
            assert!(error.to_string().contains(NOT_POSITIVE), "{error}");
        }
        assert_eq!(
            error_kind("bench init --bin f --spawns 0"),
            Some(ErrorKind::ValueValidation)
        );
        assert_eq!(
            error_kind("bench warm --bin f --event e --count many"),
            Some(ErrorKind::ValueValidation)
        );
        assert_eq!(
            error_kind("invoke --bin f --event e --bogus"),
            Some(ErrorKind::UnknownArgument)
        );
        assert_eq!(
            error_kind("invoke --bin f --event e extra"),
            Some(ErrorKind::UnknownArgument)
        );
    }
}
