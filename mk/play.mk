# The playground: the OpenAPI document generated from the wire types, a local front that turns
# HTTP requests into the API Gateway / function URL events the real functions receive, its
# page, and the checks against it. Included by the top-level Makefile.
#   make play          serve the page and the API on 127.0.0.1:$(PLAY_PORT) (Ctrl-C stops)
#   make openapi       regenerate docs/openapi.json from the Rust types
#   make test-api      schemathesis from docs/openapi.json against the front, bounded (~2 min)
#   make fuzz-api      the same, longer (FUZZ_API_SECONDS)
#   make test-browser  headless Chromium fills the form and checks the page; screenshot in target/
# The Python tools (devtools/playground/requirements.txt) go into the project venv .tools/venv.

PLAY_PORT ?= 8080
PLAY_REQUIREMENTS := devtools/playground/requirements.txt
# mk/tools.mk is read after this file, so its variables are not set yet where a target name
# needs them: the venv path is spelled here (the same .tools/venv).
PLAY_TOOLS_STAMP := $(CURDIR)/.tools/venv/.installed-playground
TEST_API_EXAMPLES ?= 15
TEST_API_SECONDS ?= 100
FUZZ_API_SECONDS ?= 900
FUZZ_API_EXAMPLES ?= 300
API_REPORT_DIR ?= target/schemathesis
CHROMIUM ?= /usr/bin/chromium
# Operations of the document that the front serves (the function URL variant is the same
# operation on another server; schemathesis runs against the HTTP API one).
# One worker: Python 3.11's ast.parse (reached through Hypothesis) is not thread-safe and
# fails runs with "AST constructor recursion depth mismatch" when two workers generate at once.
SCHEMATHESIS = env PYTHONPATH=devtools/playground/tests SCHEMATHESIS_HOOKS=schemathesis_hooks \
	$(TOOLS_VENV)/bin/schemathesis --config-file devtools/playground/schemathesis.toml \
	run docs/openapi.json --url {PLAY_URL} --workers 1 --seed 16 --suppress-health-check too_slow,filter_too_much,data_too_large,large_base_example \
	--request-timeout 60 --report junit,ndjson --report-dir $(API_REPORT_DIR)

.PHONY: play openapi check-openapi play-tools test-api fuzz-api test-browser browser

## play: serve the playground page and the API on 127.0.0.1:$(PLAY_PORT) (PLAY_PORT=0 picks a free port)
play: python-tools
	PLAY_PORT=$(PLAY_PORT) devtools/playground/play.sh serve

## openapi: regenerate docs/openapi.json from the Rust wire types
openapi:
	$(CARGO) run --quiet -p playground --bin openapi -- --out docs/openapi.json

## check-openapi: fail when docs/openapi.json differs from the Rust wire types
check-openapi:
	$(CARGO) run --quiet -p playground --bin openapi -- --check --out docs/openapi.json

play-tools: python-tools $(PLAY_TOOLS_STAMP)

$(PLAY_TOOLS_STAMP): $(PLAY_REQUIREMENTS) | python-tools
	@echo "tools: installing $(PLAY_REQUIREMENTS) into $(TOOLS_VENV)"
	@$(TOOLS_VENV)/bin/python3 -m pip install --quiet --disable-pip-version-check -r $(PLAY_REQUIREMENTS)
	@touch $@

## test-api: schemathesis against the local front from docs/openapi.json, bounded (about 2 minutes)
test-api: play-tools
	devtools/playground/play.sh run $(SCHEMATHESIS) --max-examples $(TEST_API_EXAMPLES) --max-time $(TEST_API_SECONDS)

## fuzz-api: the same, longer: FUZZ_API_SECONDS (default 900) and FUZZ_API_EXAMPLES per operation
fuzz-api: play-tools
	devtools/playground/play.sh run $(SCHEMATHESIS) --max-examples $(FUZZ_API_EXAMPLES) --max-time $(FUZZ_API_SECONDS)

# The system Chromium (and Korean fonts for the screenshot): Debian packages, installed with
# apt-get only when missing and running as root.
browser:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="chromium"; \
	fc-list 2>/dev/null | grep -qi 'CJK' || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "browser: installing Debian's$$missing (first use)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } || \
			echo "browser: could not install$$missing; test-browser reports SKIPPED if chromium is missing"; \
	fi

## test-browser: headless Chromium fills the form, waits for the recipe, checks chart and checks table (screenshot in target/)
test-browser: play-tools browser
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "test-browser: SKIPPED: $(CHROMIUM) is missing and cannot be installed here (needs root and apt-get): apt-get install chromium"; \
	else \
		CHROMIUM=$(CHROMIUM) devtools/playground/play.sh run $(TOOLS_VENV)/bin/python3 devtools/playground/tests/browser_test.py; \
	fi
