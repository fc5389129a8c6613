# Fuzzing of the parsers that meet untrusted text (request bodies, the model's recipe JSON,
# ingredient amounts). Included by the top-level Makefile.
#   make fuzz                     property tests with many cases, then each cargo-fuzz target
#                                 for FUZZ_SECONDS when nightly and cargo-fuzz are installed
#   make fuzz FUZZ_SECONDS=600    longer libFuzzer runs
# `make test` runs the same property tests with proptest's default 256 cases.

FUZZ_SECONDS ?= 60
FUZZ_CASES ?= 20000
FUZZ_TARGETS := request_parsing recipe_extraction amount_parsing

.PHONY: fuzz fuzz-properties fuzz-targets

## fuzz: property tests with FUZZ_CASES cases, then each cargo-fuzz target for FUZZ_SECONDS (needs nightly)
fuzz: fuzz-properties fuzz-targets

fuzz-properties:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release -p ai-chef-tests --test properties

fuzz-targets:
	@if $(CARGO) +nightly fuzz --version >/dev/null 2>&1; then \
		for target in $(FUZZ_TARGETS); do \
			echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
			(cd fuzz && $(CARGO) +nightly fuzz run $$target -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
		done; \
	else \
		echo "nightly or cargo-fuzz missing (rustup toolchain install nightly; cargo install cargo-fuzz):"; \
		echo "skipping the libFuzzer targets; the property tests above ran instead"; \
	fi
