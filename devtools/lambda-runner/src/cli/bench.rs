//! `lambda-runner bench init|warm`: repeated spawns or invocations of one function (and
//! optionally a baseline function measured the same way), summarised by `report`.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use axum::body::Bytes;
use lambda_runner::{
    stats::summarize,
    vary::{vary_event, VaryError},
    FunctionProcess, OutputMode, RunnerError,
};
use serde::Serialize;
use serde_json::Value;

use super::{
    args::{FunctionArgs, InitArgs, ReportArgs, WarmArgs},
    binary_label,
    report::{
        failure_reason, init_row, warm_row, Figures, InitMeasurement, Report, WarmMeasurement,
        INIT_HEADER, WARM_HEADER,
    },
    spawn_options, EXIT_FUNCTION_ERROR, EXIT_RUNNER,
};

/// Why a benchmark could not produce figures.
#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{label}: {source}")]
    Runner { label: String, source: RunnerError },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not JSON: {source}", path.display())]
    EventNotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("--vary: {0}")]
    Vary(#[from] VaryError),
    #[error("no samples were taken")]
    NoSamples,
}

fn runner_error(label: &str) -> impl Fn(RunnerError) -> BenchError + '_ {
    move |source| BenchError::Runner {
        label: label.to_owned(),
        source,
    }
}

pub async fn run_init(args: InitArgs) -> u8 {
    print_header(&args.report, INIT_HEADER);
    let mut series = vec![InitSeries::new(
        &args.function.bin,
        args.report.label.clone(),
    )];
    if let Some(baseline) = &args.report.baseline {
        series.push(InitSeries::new(baseline, None));
    }
    let outcome = async {
        // One unmeasured start each, so no figure pays for loading the binary from disk.
        for one in &series {
            one.start_once(&args.function).await?;
        }
        // Alternating the order spreads any drift of the machine over both binaries alike.
        for round in 0..args.spawns {
            for index in interleaved(series.len(), round) {
                if let Some(one) = series.get_mut(index) {
                    let (init, peak_rss_kib) = one.start_once(&args.function).await?;
                    one.samples.push(init);
                    one.peak_rss_kib = one.peak_rss_kib.max(peak_rss_kib);
                }
            }
        }
        let mut measurements = series.into_iter().map(InitSeries::finish);
        let subject = measurements.next().ok_or(BenchError::NoSamples)??;
        let baseline = measurements.next().transpose()?;
        Ok::<_, BenchError>(Report::init(subject, baseline))
    }
    .await;
    match outcome {
        Ok(report) => {
            print_report(&args.report, &report, |m, r50, _| init_row(m, r50));
            0
        }
        Err(error) => {
            eprintln!("lambda-runner: {error}");
            EXIT_RUNNER
        }
    }
}

/// Visits `len` series, forwards on even rounds and backwards on odd ones.
fn interleaved(len: usize, round: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// Init samples of one binary.
struct InitSeries {
    label: String,
    bin: PathBuf,
    samples: Vec<std::time::Duration>,
    peak_rss_kib: Option<u64>,
}

impl InitSeries {
    fn new(bin: &Path, label: Option<String>) -> Self {
        Self {
            label: label.unwrap_or_else(|| binary_label(bin)),
            bin: bin.to_path_buf(),
            samples: Vec::new(),
            peak_rss_kib: None,
        }
    }

    /// Starts the binary, waits for its first poll and stops it: (init time, RSS after init).
    async fn start_once(
        &self,
        function: &FunctionArgs,
    ) -> Result<(std::time::Duration, Option<u64>), BenchError> {
        let options = spawn_options(function, &self.bin, OutputMode::Quiet);
        let mut process = FunctionProcess::spawn(options)
            .await
            .map_err(runner_error(&self.label))?;
        let init = process
            .wait_ready(function.ready_timeout)
            .await
            .map_err(runner_error(&self.label))?;
        let peak_rss_kib = process.peak_rss_kib();
        process
            .shutdown()
            .await
            .map_err(runner_error(&self.label))?;
        Ok((init, peak_rss_kib))
    }

    fn finish(self) -> Result<InitMeasurement, BenchError> {
        let summary = summarize(&self.samples).ok_or(BenchError::NoSamples)?;
        Ok(InitMeasurement {
            label: self.label,
            binary: self.bin.display().to_string(),
            spawns: self.samples.len(),
            init_ms: Figures::millis(&summary),
            peak_rss_kib: self.peak_rss_kib,
        })
    }
}

pub async fn run_warm(args: WarmArgs) -> u8 {
    print_header(&args.report, WARM_HEADER);
    let outcome = async {
        let raw = std::fs::read(&args.event).map_err(|source| BenchError::Read {
            path: args.event.clone(),
            source,
        })?;
        let event: Value =
            serde_json::from_slice(&raw).map_err(|source| BenchError::EventNotJson {
                path: args.event.clone(),
                source,
            })?;
        // Fail on a bad pointer before anything is spawned.
        vary_all(&event, &args.vary, 1)?;
        let raw = Bytes::from(raw);

        let mut series =
            vec![WarmSeries::start(&args, &args.function.bin, args.report.label.clone()).await?];
        if let Some(baseline) = &args.report.baseline {
            series.push(WarmSeries::start(&args, baseline, None).await?);
        }
        // Both processes run side by side and take turns, so a change in the machine's
        // load during the run affects subject and baseline alike.
        for index in 0..args.warmup + args.count {
            // Every event, warm-up included, gets its own n so that none repeats.
            let body = if args.vary.is_empty() {
                raw.clone()
            } else {
                Bytes::from(vary_all(&event, &args.vary, index as u64 + 1)?.to_string())
            };
            let measured = index >= args.warmup;
            for turn in interleaved(series.len(), index) {
                if let Some(one) = series.get_mut(turn) {
                    one.invoke(body.clone(), args.timeout, measured).await?;
                }
            }
        }
        let mut measurements = Vec::with_capacity(series.len());
        for one in series {
            measurements.push(one.finish(&args).await?);
        }
        let mut measurements = measurements.into_iter();
        let subject = measurements.next().ok_or(BenchError::NoSamples)?;
        Ok::<_, BenchError>(Report::warm(subject, measurements.next()))
    }
    .await;
    match outcome {
        Ok(report) => {
            print_report(&args.report, &report, warm_row);
            if let Some(failure) = &report.subject.first_failure {
                eprintln!(
                    "lambda-runner: {} of {} invocations of {} failed; first: {failure}",
                    report.subject.failures,
                    report.subject.warmup + report.subject.count,
                    report.subject.label
                );
                return EXIT_FUNCTION_ERROR;
            }
            0
        }
        Err(error) => {
            eprintln!("lambda-runner: {error}");
            EXIT_RUNNER
        }
    }
}

fn vary_all(event: &Value, pointers: &[String], n: u64) -> Result<Value, VaryError> {
    pointers.iter().try_fold(event.clone(), |varied, pointer| {
        vary_event(&varied, pointer, n)
    })
}

/// One warm process and what its invocations measured.
struct WarmSeries {
    label: String,
    bin: PathBuf,
    process: FunctionProcess,
    samples: Vec<std::time::Duration>,
    /// Time spent in measured `invoke` calls, runner included, for the throughput figure.
    busy: std::time::Duration,
    failures: usize,
    first_failure: Option<String>,
    /// The process's CPU time when the first measured invocation started.
    cpu_at_start_ns: Option<u64>,
}

impl WarmSeries {
    async fn start(args: &WarmArgs, bin: &Path, label: Option<String>) -> Result<Self, BenchError> {
        let label = label.unwrap_or_else(|| binary_label(bin));
        let options = spawn_options(&args.function, bin, OutputMode::Quiet);
        let mut process = FunctionProcess::spawn(options)
            .await
            .map_err(runner_error(&label))?;
        process
            .wait_ready(args.function.ready_timeout)
            .await
            .map_err(runner_error(&label))?;
        Ok(Self {
            label,
            bin: bin.to_path_buf(),
            process,
            samples: Vec::with_capacity(args.count),
            busy: std::time::Duration::ZERO,
            failures: 0,
            first_failure: None,
            cpu_at_start_ns: None,
        })
    }

    async fn invoke(
        &mut self,
        body: Bytes,
        timeout: std::time::Duration,
        measured: bool,
    ) -> Result<(), BenchError> {
        if measured && self.cpu_at_start_ns.is_none() {
            self.cpu_at_start_ns = self.process.cpu_time_ns();
        }
        let started = Instant::now();
        let invocation = self
            .process
            .invoke_bytes(body, timeout)
            .await
            .map_err(runner_error(&self.label))?;
        if let Some(reason) = failure_reason(&invocation.outcome) {
            self.failures += 1;
            self.first_failure.get_or_insert(reason);
        }
        if measured {
            self.busy += started.elapsed();
            self.samples.push(invocation.round_trip);
        }
        Ok(())
    }

    async fn finish(self, args: &WarmArgs) -> Result<WarmMeasurement, BenchError> {
        let peak_rss_kib = self.process.peak_rss_kib();
        let cpu_us_per_invocation = match (self.cpu_at_start_ns, self.process.cpu_time_ns()) {
            (Some(start), Some(end)) if !self.samples.is_empty() => {
                Some(end.saturating_sub(start) as f64 / 1_000.0 / self.samples.len() as f64)
            }
            _ => None,
        };
        self.process
            .shutdown()
            .await
            .map_err(runner_error(&self.label))?;
        let summary = summarize(&self.samples).ok_or(BenchError::NoSamples)?;
        Ok(WarmMeasurement {
            label: self.label,
            binary: self.bin.display().to_string(),
            event: args.event.display().to_string(),
            vary: args.vary.clone(),
            warmup: args.warmup,
            count: self.samples.len(),
            round_trip_us: Figures::micros(&summary),
            invocations_per_second: self.samples.len() as f64
                / self.busy.as_secs_f64().max(f64::EPSILON),
            peak_rss_kib,
            cpu_us_per_invocation,
            failures: self.failures,
            first_failure: self.first_failure,
        })
    }
}

/// The markdown header goes out before measuring, so a table whose first measurement
/// fails still has it for the rows that follow.
fn print_header(report_args: &ReportArgs, header: &str) {
    if report_args.header && !report_args.json {
        println!("{header}");
    }
}

fn print_report<M: Serialize>(
    report_args: &ReportArgs,
    report: &Report<M>,
    row: impl Fn(&M, Option<f64>, Option<f64>) -> String,
) {
    if report_args.json {
        match serde_json::to_string_pretty(report) {
            Ok(json) => println!("{json}"),
            Err(error) => eprintln!("lambda-runner: cannot write the JSON report: {error}"),
        }
        return;
    }
    if report_args.print_baseline {
        if let Some(baseline) = &report.baseline {
            println!("{}", row(baseline, None, None));
        }
    }
    println!(
        "{}",
        row(&report.subject, report.ratio_p50, report.ratio_p99)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_alternate_between_rounds() {
        assert_eq!(interleaved(2, 0), [0, 1]);
        assert_eq!(interleaved(2, 1), [1, 0]);
        assert_eq!(interleaved(1, 7), [0]);
    }

    #[test]
    fn several_pointers_vary_together() {
        let event = serde_json::json!({"body": "{\"requestId\":\"r1\",\"budget\":100}"});
        let varied = vary_all(
            &event,
            &["/body/requestId".into(), "/body/budget".into()],
            5,
        )
        .unwrap();
        let body: Value = serde_json::from_str(varied["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"requestId": "r1-5", "budget": 105})
        );
        assert_eq!(vary_all(&event, &[], 5).unwrap(), event);
    }
}
