# Benchmark targets. `make bench` measures the three functions through devtools/lambda-runner
# (init, warm round trips, peak RSS against echo-function), generate-recipe against the Python
# seed design, end-to-end time and cost under the emulator's realistic latency, and batch
# throughput under a model quota, then writes BENCHMARKS.md and fails on a regression
# (devtools/bench/thresholds.toml). It starts and stops the emulator and moto itself.
# The orchestration lives in devtools/lambda-runner/bench.sh so it can also be run by hand.
# Included by the top-level Makefile (`-include mk/*.mk`); Criterion micro-benchmarks are
# separate (`cargo bench -p ai-chef --bench hot_paths`).

BENCH_VENV := $(CURDIR)/.tools/bench-venv
BENCH_REQUIREMENTS := devtools/bench/python-baseline/requirements.txt
BENCH_VENV_STAMP := $(BENCH_VENV)/.installed
BENCH_SMOKE_OUT ?= .demo/bench-smoke.md

.PHONY: bench bench-smoke bench-venv

# The Python baseline's own venv (awslambdaric, boto3), apart from the tools venv so its
# pins cannot disturb moto's; reinstalled when the requirements change.
bench-venv: $(BENCH_VENV_STAMP)

$(BENCH_VENV_STAMP): $(BENCH_REQUIREMENTS)
	@echo "bench: creating $(BENCH_VENV) with $(BENCH_REQUIREMENTS) (first use)"
	@test -x $(BENCH_VENV)/bin/python3 || $(TOOLS_PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python3 -m pip install --quiet --disable-pip-version-check -r $(BENCH_REQUIREMENTS)
	@touch $@

## bench: release build, every benchmark table into BENCHMARKS.md; fails on a regression (about 20 min)
bench: python-tools bench-venv
	devtools/lambda-runner/bench.sh

## bench-smoke: the whole bench pipeline with tiny samples (dev build) into .demo/bench-smoke.md (or BENCH_SMOKE_OUT); checks it runs, not the figures
# No make prerequisites, so `test` can list it as it is: it installs the two venvs itself
# (both steps are no-ops once done) and builds in the dev profile `make test` already uses.
bench-smoke:
	@$(MAKE) --no-print-directory python-tools bench-venv
	BENCH_PROFILE=dev BENCH_SPAWNS=2 BENCH_COUNT=20 BENCH_WARMUP=2 BENCH_PY_SPAWNS=2 BENCH_PY_COUNT=10 \
	BENCH_E2E_COUNT=3 BENCH_TIME_SCALE=50 BENCH_BATCH_RUNS=1 BENCH_BATCH_REQUESTS=20 \
	BENCH_BATCH_POLICIES=adaptive BENCH_CHECK_LIMITS=0 BENCH_COMMAND="make bench-smoke" \
	BENCH_OUT=$(BENCH_SMOKE_OUT) devtools/lambda-runner/bench.sh
