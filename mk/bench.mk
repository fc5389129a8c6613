# Benchmark targets: Lambda init time, warm round trips and peak memory of the three
# functions, each against an echo-function baseline, measured with devtools/lambda-runner.
# Included by the top-level Makefile (`include mk/bench.mk`); the orchestration lives in
# devtools/lambda-runner/bench.sh so it can also be run by hand. Criterion micro-benchmarks
# are separate (`cargo bench`).

BENCH_SMOKE_OUT ?= .demo/bench-smoke.md

.PHONY: bench bench-smoke

## bench: release build, then init / warm (cache hit and miss) / RSS figures into BENCHMARKS.md
bench:
	devtools/lambda-runner/bench.sh

## bench-smoke: the same pipeline with tiny samples into .demo/bench-smoke.md, or BENCH_SMOKE_OUT (checks it runs, not the figures)
bench-smoke:
	BENCH_SPAWNS=2 BENCH_COUNT=20 BENCH_WARMUP=2 BENCH_OUT=$(BENCH_SMOKE_OUT) devtools/lambda-runner/bench.sh
