# AI Chef: serverless recipe generation on AWS Lambda + Bedrock, verified deterministically.
# `make demo` and `make test` are the two commands the README starts with.

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help demo test test-rust lint fmt clippy check-fmt

## help: list the targets
help:
	@grep -hE '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## demo: build, start the local Bedrock emulator and moto, drive the functions through the Lambda Runtime API
demo: python-tools
	devtools/demo.sh

## test: formatting, lints, every Rust test, the OpenAPI check, bounded API fuzzing, the browser test, the benchmark pipeline on tiny samples, infrastructure checks
test: tools check-fmt clippy test-rust check-openapi test-api test-browser bench-smoke check-infra

## test-rust: every Rust test of the workspace (unit, integration, doc); benchmarks run in bench-smoke
test-rust: python-tools
	$(CARGO) test --workspace --lib --bins --tests
	$(CARGO) test --workspace --doc

check-fmt:
	$(CARGO) fmt --all -- --check

## clippy: lints with warnings as errors
clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## fmt: format the code
fmt:
	$(CARGO) fmt --all

-include mk/*.mk
