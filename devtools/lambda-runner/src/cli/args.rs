//! Parses the command line (with `lexopt`, which costs next to nothing to compile and is
//! enough for three subcommands) into plain structs; no I/O happens here.

use std::{ffi::OsString, path::PathBuf, time::Duration};

use lexopt::{Arg, ValueExt};

pub const USAGE: &str = "\
usage:
  lambda-runner invoke --bin PATH --event FILE [--event FILE ...] [options]
      Prints each response as pretty JSON on stdout; the function's own output goes to
      stderr. Exit status 1 if any invocation answered with an error, 3 if the function
      could not start or run.
  lambda-runner bench init --bin PATH [--spawns 20] [--baseline PATH] [report options]
      Starts the function N times; init = spawn until its first GET /next.
  lambda-runner bench warm --bin PATH --event FILE [--count 1000] [--warmup 20]
                           [--vary JSON-POINTER ...] [--baseline PATH] [report options]
      Round trip = event handed out by /next until the answer is posted. Without --vary
      every event is identical (cache hit); with it the field at each pointer changes per
      invocation (a number gets +n, a string gets -n; a pointer may run through a string
      holding JSON, such as /body/profile/budget).

options:
  --env KEY=VALUE        function environment variable (repeatable)
  --function-name NAME   AWS_LAMBDA_FUNCTION_NAME (default: the binary's name)
  --memory-mb N          AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128)
  --timeout-ms N         invocation deadline (default 30000)
  --ready-timeout-ms N   time allowed for init (default 30000)
report options:
  --baseline PATH        also measure this function (e.g. echo-function) the same way and
                         report the subject's figures as multiples of it
  --label TEXT           row label (default: the binary's name)
  --json                 print one JSON document instead of a markdown table row
  --header               print the markdown table header first
  --print-baseline       print the baseline's own row too";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Invoke(InvokeArgs),
    BenchInit(InitArgs),
    BenchWarm(WarmArgs),
}

/// How to start the function, shared by every command.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionArgs {
    pub bin: PathBuf,
    pub env: Vec<(String, String)>,
    pub function_name: Option<String>,
    pub memory_mb: u32,
    pub ready_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvokeArgs {
    pub function: FunctionArgs,
    pub events: Vec<PathBuf>,
    pub timeout: Duration,
}

/// How a benchmark reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportArgs {
    pub baseline: Option<PathBuf>,
    pub label: Option<String>,
    pub json: bool,
    pub header: bool,
    pub print_baseline: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InitArgs {
    pub function: FunctionArgs,
    pub spawns: usize,
    pub report: ReportArgs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WarmArgs {
    pub function: FunctionArgs,
    pub event: PathBuf,
    pub count: usize,
    pub warmup: usize,
    pub vary: Vec<String>,
    pub timeout: Duration,
    pub report: ReportArgs,
}

/// A command line that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error(transparent)]
    Syntax(#[from] lexopt::Error),
    #[error("missing command (invoke, bench init, bench warm, help)")]
    NoCommand,
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("--{flag} does not apply to {command}")]
    NotApplicable {
        flag: &'static str,
        command: &'static str,
    },
    #[error("--{flag}: {message}")]
    Invalid { flag: &'static str, message: String },
}

/// Every option as given, before it is checked against the chosen command.
#[derive(Default)]
struct Given {
    words: Vec<String>,
    flags: Vec<&'static str>,
    bin: Option<PathBuf>,
    events: Vec<PathBuf>,
    env: Vec<(String, String)>,
    function_name: Option<String>,
    memory_mb: Option<u32>,
    timeout_ms: Option<u64>,
    ready_timeout_ms: Option<u64>,
    spawns: Option<usize>,
    count: Option<usize>,
    warmup: Option<usize>,
    vary: Vec<String>,
    baseline: Option<PathBuf>,
    label: Option<String>,
    json: bool,
    header: bool,
    print_baseline: bool,
    help: bool,
}

/// Parses the arguments that follow the program name.
pub fn parse(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Command, ArgsError> {
    let given = collect(args)?;
    if given.help {
        return Ok(Command::Help);
    }
    let words: Vec<&str> = given.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => Err(ArgsError::NoCommand),
        ["help"] => Ok(Command::Help),
        ["invoke"] => invoke_command(given),
        ["bench", "init"] => init_command(given),
        ["bench", "warm"] => warm_command(given),
        _ => Err(ArgsError::UnknownCommand(given.words.join(" "))),
    }
}

fn collect(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Given, ArgsError> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut given = Given::default();
    while let Some(arg) = parser.next()? {
        let flag: &'static str = match arg {
            Arg::Value(word) => {
                given.words.push(word.string()?);
                continue;
            }
            Arg::Short('h') | Arg::Long("help") => {
                given.help = true;
                continue;
            }
            Arg::Long("bin") => {
                given.bin = Some(parser.value()?.into());
                "bin"
            }
            Arg::Long("event") => {
                given.events.push(parser.value()?.into());
                "event"
            }
            Arg::Long("env") => {
                given.env.push(parse_env(&parser.value()?.string()?)?);
                "env"
            }
            Arg::Long("function-name") => {
                given.function_name = Some(parser.value()?.string()?);
                "function-name"
            }
            Arg::Long("memory-mb") => {
                given.memory_mb = Some(parser.value()?.parse()?);
                "memory-mb"
            }
            Arg::Long("timeout-ms") => {
                given.timeout_ms = Some(positive("timeout-ms", parser.value()?.parse()?)?);
                "timeout-ms"
            }
            Arg::Long("ready-timeout-ms") => {
                given.ready_timeout_ms =
                    Some(positive("ready-timeout-ms", parser.value()?.parse()?)?);
                "ready-timeout-ms"
            }
            Arg::Long("spawns") => {
                given.spawns = Some(positive("spawns", parser.value()?.parse()?)?);
                "spawns"
            }
            Arg::Long("count") => {
                given.count = Some(positive("count", parser.value()?.parse()?)?);
                "count"
            }
            Arg::Long("warmup") => {
                given.warmup = Some(parser.value()?.parse()?);
                "warmup"
            }
            Arg::Long("vary") => {
                given.vary.push(parser.value()?.string()?);
                "vary"
            }
            Arg::Long("baseline") => {
                given.baseline = Some(parser.value()?.into());
                "baseline"
            }
            Arg::Long("label") => {
                given.label = Some(parser.value()?.string()?);
                "label"
            }
            Arg::Long("json") => {
                given.json = true;
                "json"
            }
            Arg::Long("header") => {
                given.header = true;
                "header"
            }
            Arg::Long("print-baseline") => {
                given.print_baseline = true;
                "print-baseline"
            }
            other => return Err(other.unexpected().into()),
        };
        given.flags.push(flag);
    }
    Ok(given)
}

fn positive<T: PartialEq + Default>(flag: &'static str, value: T) -> Result<T, ArgsError> {
    if value == T::default() {
        return Err(ArgsError::Invalid {
            flag,
            message: "must be greater than zero".to_owned(),
        });
    }
    Ok(value)
}

fn parse_env(pair: &str) -> Result<(String, String), ArgsError> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(ArgsError::Invalid {
            flag: "env",
            message: format!("{pair:?} is not KEY=VALUE"),
        }),
    }
}

fn allow_only(given: &Given, command: &'static str, allowed: &[&str]) -> Result<(), ArgsError> {
    match given.flags.iter().find(|flag| !allowed.contains(flag)) {
        Some(flag) => Err(ArgsError::NotApplicable { flag, command }),
        None => Ok(()),
    }
}

const FUNCTION_FLAGS: &[&str] = &[
    "bin",
    "env",
    "function-name",
    "memory-mb",
    "ready-timeout-ms",
];
const REPORT_FLAGS: &[&str] = &["baseline", "label", "json", "header", "print-baseline"];

fn function_args(given: &mut Given) -> Result<FunctionArgs, ArgsError> {
    Ok(FunctionArgs {
        bin: given.bin.take().ok_or(ArgsError::Missing("--bin"))?,
        env: std::mem::take(&mut given.env),
        function_name: given.function_name.take(),
        memory_mb: given.memory_mb.unwrap_or(128),
        ready_timeout: given
            .ready_timeout_ms
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
    })
}

fn report_args(given: &mut Given) -> ReportArgs {
    ReportArgs {
        baseline: given.baseline.take(),
        label: given.label.take(),
        json: given.json,
        header: given.header,
        print_baseline: given.print_baseline,
    }
}

fn invoke_command(mut given: Given) -> Result<Command, ArgsError> {
    allow_only(
        &given,
        "invoke",
        &[FUNCTION_FLAGS, &["event", "timeout-ms"]].concat(),
    )?;
    if given.events.is_empty() {
        return Err(ArgsError::Missing("--event"));
    }
    Ok(Command::Invoke(InvokeArgs {
        function: function_args(&mut given)?,
        events: std::mem::take(&mut given.events),
        timeout: given
            .timeout_ms
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
    }))
}

fn init_command(mut given: Given) -> Result<Command, ArgsError> {
    allow_only(
        &given,
        "bench init",
        &[FUNCTION_FLAGS, REPORT_FLAGS, &["spawns"]].concat(),
    )?;
    Ok(Command::BenchInit(InitArgs {
        function: function_args(&mut given)?,
        spawns: given.spawns.unwrap_or(20),
        report: report_args(&mut given),
    }))
}

fn warm_command(mut given: Given) -> Result<Command, ArgsError> {
    let warm_flags: &[&str] = &["event", "count", "warmup", "vary", "timeout-ms"];
    allow_only(
        &given,
        "bench warm",
        &[FUNCTION_FLAGS, REPORT_FLAGS, warm_flags].concat(),
    )?;
    let event = match given.events.as_slice() {
        [event] => event.clone(),
        [] => return Err(ArgsError::Missing("--event")),
        _ => {
            return Err(ArgsError::Invalid {
                flag: "event",
                message: "bench warm takes exactly one event file".to_owned(),
            })
        }
    };
    Ok(Command::BenchWarm(WarmArgs {
        function: function_args(&mut given)?,
        event,
        count: given.count.unwrap_or(1000),
        warmup: given.warmup.unwrap_or(20),
        vary: std::mem::take(&mut given.vary),
        timeout: given
            .timeout_ms
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
        report: report_args(&mut given),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Command, ArgsError> {
        parse(line.split_whitespace())
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
    }

    #[test]
    fn bench_warm_defaults_and_vary() {
        let command = parse_str(
            "bench warm --bin f --event e.json --vary /body/profile/budget --baseline echo --json",
        )
        .unwrap();
        let Command::BenchWarm(args) = command else {
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
        let Command::BenchInit(args) = command else {
            panic!("not init: {command:?}")
        };
        assert_eq!(args.spawns, 5);
        assert_eq!(args.report.label.as_deref(), Some("gen"));
        assert!(args.report.header);
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse_str("bench warm --help").unwrap(), Command::Help);
        assert_eq!(parse_str("help").unwrap(), Command::Help);
    }

    #[test]
    fn rejects_bad_command_lines() {
        assert!(matches!(parse_str(""), Err(ArgsError::NoCommand)));
        assert!(matches!(
            parse_str("deploy"),
            Err(ArgsError::UnknownCommand(_))
        ));
        assert!(matches!(
            parse_str("invoke --event e.json"),
            Err(ArgsError::Missing("--bin"))
        ));
        assert!(matches!(
            parse_str("invoke --bin f"),
            Err(ArgsError::Missing("--event"))
        ));
        assert!(matches!(
            parse_str("invoke --bin f --event e --spawns 3"),
            Err(ArgsError::NotApplicable { flag: "spawns", .. })
        ));
        assert!(matches!(
            parse_str("bench init --bin f --event e"),
            Err(ArgsError::NotApplicable { flag: "event", .. })
        ));
        assert!(matches!(
            parse_str("bench warm --bin f --event a --event b"),
            Err(ArgsError::Invalid { flag: "event", .. })
        ));
        assert!(matches!(
            parse_str("invoke --bin f --event e --env NOEQUALS"),
            Err(ArgsError::Invalid { flag: "env", .. })
        ));
        assert!(matches!(
            parse_str("bench warm --bin f --event e --count 0"),
            Err(ArgsError::Invalid { flag: "count", .. })
        ));
        assert!(matches!(
            parse_str("bench warm --bin f --event e --count many"),
            Err(ArgsError::Syntax(_))
        ));
        assert!(matches!(
            parse_str("invoke --bin f --event e --bogus"),
            Err(ArgsError::Syntax(_))
        ));
    }
}
