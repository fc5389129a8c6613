//! `bedrock-emulator`: runs the emulator as a process for `make demo` and test harnesses.
//! Prints `bedrock-emulator listening on http://ADDR:PORT` once ready, optionally writes the
//! port to a file, and stops on SIGTERM/SIGINT or, with `--exit-on-stdin-close`, when its
//! standard input closes (so a harness that dies never leaks it). `--latency realistic`
//! (or `EMULATOR_LATENCY`) makes answers take their modelled time divided by
//! `--time-scale` (or `EMULATOR_TIME_SCALE`).

use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan, LatencyProfile, TimeScale};
use clap::Parser;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Parser)]
#[command(
    name = "bedrock-emulator",
    about = "Local Amazon Bedrock Runtime emulator"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    addr: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// File to write the chosen port to once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// Fault plan as JSON (overrides the EMULATOR_FAULTS variable).
    #[arg(long)]
    faults: Option<String>,
    /// Stop when standard input reaches end of file.
    #[arg(long)]
    exit_on_stdin_close: bool,
    /// `instant` answers at once; `realistic` waits the modelled time / time scale.
    #[arg(long, env = "EMULATOR_LATENCY", default_value = "instant")]
    latency: LatencyProfile,
    /// Real wait = modelled time / this factor (e.g. 20 runs a realistic profile 20x faster).
    #[arg(long, env = "EMULATOR_TIME_SCALE", default_value = "1.0")]
    time_scale: TimeScale,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("invalid fault plan ({origin}): {source}")]
    Faults {
        origin: &'static str,
        source: bedrock_emulator::PlanError,
    },
    #[error(transparent)]
    Start(#[from] bedrock_emulator::StartError),
    #[error("cannot write the port file {path}: {source}")]
    PortFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot install the signal handler: {0}")]
    Signal(std::io::Error),
}

fn fault_plan(args: &Args) -> Result<FaultPlan, CliError> {
    let (text, origin) = match (&args.faults, std::env::var("EMULATOR_FAULTS")) {
        (Some(text), _) => (text.clone(), "--faults"),
        (None, Ok(text)) if !text.trim().is_empty() => (text, "EMULATOR_FAULTS"),
        _ => return Ok(FaultPlan::default()),
    };
    FaultPlan::from_json(&text).map_err(|source| CliError::Faults { origin, source })
}

async fn run(args: Args) -> Result<(), CliError> {
    let faults = fault_plan(&args)?;
    // Handlers go in before the readiness line: a harness may signal as soon as it reads it.
    let mut terminate = signal(SignalKind::terminate()).map_err(CliError::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::Signal)?;
    let emulator = Emulator::start(EmulatorOptions {
        addr: SocketAddr::new(args.addr, args.port),
        faults,
        latency: args.latency,
        time_scale: args.time_scale,
    })
    .await?;
    if let Some(path) = &args.port_file {
        // Write then rename so a watcher never reads a half-written file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, emulator.addr().port().to_string())
            .and_then(|()| std::fs::rename(&partial, path))
            .map_err(|source| CliError::PortFile {
                path: path.clone(),
                source,
            })?;
    }
    println!("bedrock-emulator listening on {}", emulator.endpoint());
    let _ = std::io::stdout().flush();

    let stdin_closed = async {
        if args.exit_on_stdin_close {
            let mut stdin = tokio::io::stdin();
            let mut buffer = [0u8; 1024];
            while matches!(stdin.read(&mut buffer).await, Ok(n) if n > 0) {}
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
        _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
        () = stdin_closed => tracing::info!("stdin closed: stopping"),
    }
    emulator.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bedrock-emulator: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(serve());
    // tokio's stdin reader is a blocking thread that only returns when a read does; waiting
    // for it would keep a SIGTERM'd emulator alive while its stdin stays open.
    runtime.shutdown_background();
    code
}

async fn serve() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bedrock-emulator: {error}");
            ExitCode::FAILURE
        }
    }
}
