//! `playground`: starts the Bedrock emulator in-process, the three function binaries under
//! the Lambda runner, the jobs-queue poller when a queue is configured, and serves the API
//! and the playground page on 127.0.0.1. Stops with Ctrl-C, SIGTERM, when its stdin closes
//! (`--exit-on-stdin-close`) or after `--lifetime-secs`, stopping every process it started.

use bedrock_emulator::{Emulator, EmulatorOptions};
use clap::Parser;
use playground::front::{router, Functions};
use playground::functions::Function;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "Local API front and playground page for AI Chef")]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed either way).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Also write the chosen port to this file (for scripts).
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// Directory of the function binaries (default: this binary's own directory).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// A function's timeout, as its Lambda configuration would set it.
    #[arg(long, default_value_t = 30)]
    function_timeout_secs: u64,
    /// KEY=VALUE given to every function (RESULTS_TABLE, JOBS_QUEUE_URL, endpoints...).
    #[arg(long = "env", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Use this Bedrock endpoint instead of starting the emulator in-process.
    #[arg(long)]
    bedrock_endpoint: Option<String>,
    /// Stop when standard input closes (a parent holding a pipe stops us by exiting).
    #[arg(long)]
    exit_on_stdin_close: bool,
    /// Where the functions' own output goes: `stderr` (default) or `quiet` (only the front's
    /// log; the last lines of a failed function are still reported).
    #[arg(long, default_value = "stderr", value_parser = ["stderr", "quiet"])]
    function_output: String,
    /// Stop after this many seconds (a bound for test runs).
    #[arg(long)]
    lifetime_secs: Option<u64>,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("playground: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let bin_dir = match args.bin_dir.clone() {
        Some(dir) => dir,
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .ok_or("cannot find this binary's directory; pass --bin-dir")?,
    };
    for name in ["generate-recipe", "embed-text", "batch-dispatcher"] {
        if !bin_dir.join(name).is_file() {
            return Err(format!(
                "{} is missing; build the functions first (cargo build --bins)",
                bin_dir.join(name).display()
            ));
        }
    }

    let (emulator, bedrock) = match args.bedrock_endpoint.clone() {
        Some(endpoint) => (None, endpoint),
        None => {
            let emulator = Emulator::start(EmulatorOptions::default())
                .await
                .map_err(|e| format!("Bedrock emulator: {e}"))?;
            let endpoint = emulator.endpoint();
            (Some(emulator), endpoint)
        }
    };
    let mut env = vec![(
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".to_owned(),
        bedrock.clone(),
    )];
    env.extend(args.env.iter().cloned());
    let timeout = Duration::from_secs(args.function_timeout_secs);
    let output = if args.function_output == "quiet" {
        lambda_runner::OutputMode::Quiet
    } else {
        lambda_runner::OutputMode::Stderr
    };
    let functions = Arc::new(Functions {
        generate_recipe: Function::new(&bin_dir, "generate-recipe", &env, timeout, output),
        embed_text: Function::new(&bin_dir, "embed-text", &env, timeout, output),
        batch_dispatcher: Function::new(&bin_dir, "batch-dispatcher", &env, timeout, output),
    });
    let dispatcher_for_poller = Arc::new(Function::new(
        &bin_dir,
        "batch-dispatcher",
        &env,
        timeout,
        output,
    ));

    let configured = |key: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let poller = match (
        configured("JOBS_QUEUE_URL"),
        configured("AWS_ENDPOINT_URL_SQS"),
    ) {
        (Some(queue_url), Some(endpoint)) if is_loopback_url(&endpoint) => {
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(ai_chef_aws::bedrock::https_client())
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url(endpoint)
                .load()
                .await;
            let client = aws_sdk_sqs::Client::new(&sdk);
            tracing::info!(%queue_url, "polling the jobs queue for batch-dispatcher");
            Some(tokio::spawn(playground::queue_poller::run(
                client,
                queue_url,
                dispatcher_for_poller.clone(),
            )))
        }
        _ => {
            tracing::info!(
                "no local jobs queue configured: async recipes and batches stay pending"
            );
            None
        }
    };

    let openapi = playground::openapi::document_text().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Start the functions before announcing the address, so the first request is warm.
    for function in [
        &functions.generate_recipe,
        &functions.embed_text,
        &functions.batch_dispatcher,
    ] {
        // A function whose init fails answers 500 as on AWS; the others stay usable.
        if let Err(err) = function.warm().await {
            eprintln!("playground: {} did not start: {err}", function.name());
        }
    }
    if let Some(path) = &args.port_file {
        std::fs::write(path, addr.port().to_string())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("playground: http://{addr}/  (API: POST /recipes, GET /recipes/{{requestId}}, POST /embeddings, POST /batches, GET /batches/{{jobId}}; function URL: /lambda-url/recipes; spec: /openapi.json)");
    println!("playground: Bedrock emulator at {bedrock}");

    let app =
        router(functions.clone(), openapi).into_make_service_with_connect_info::<SocketAddr>();
    let lifetime = args.lifetime_secs;
    let stdin_close = args.exit_on_stdin_close;
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal(stdin_close, lifetime))
        .await;
    if let Some(poller) = poller {
        poller.abort();
    }
    functions.generate_recipe.stop().await;
    functions.embed_text.stop().await;
    functions.batch_dispatcher.stop().await;
    dispatcher_for_poller.stop().await;
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    println!("playground: stopped");
    served.map_err(|e| e.to_string())
}

fn is_loopback_url(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "127.0.0.1" || host == "localhost" || host.starts_with("127.")
}

async fn stop_signal(stdin_close: bool, lifetime_secs: Option<u64>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let stdin = async {
        if stdin_close {
            use tokio::io::AsyncReadExt;
            let mut stdin = tokio::io::stdin();
            let mut buffer = [0_u8; 256];
            while matches!(stdin.read(&mut buffer).await, Ok(n) if n > 0) {}
        } else {
            std::future::pending::<()>().await;
        }
    };
    let lifetime = async {
        match lifetime_secs {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
        () = stdin => {}
        () = lifetime => {}
    }
}
