# Fuzzing of the code that meets untrusted text (request bodies, the model's recipe JSON,
# ingredient amounts, allergy words against ingredient names). Included by the top-level Makefile.
#   make fuzz                     property tests with many cases, then each cargo-fuzz target
#                                 for FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600    longer libFuzzer runs
# `make test` runs the same property tests with proptest's default 256 cases.
#
# cargo-fuzz is installed on first use into .tools/cargo. The machine's one toolchain is
# stable: RUSTC_BOOTSTRAP=1 lets it take the unstable flags cargo-fuzz passes, and the targets
# run without a sanitizer (--sanitizer none: the sanitizer runtimes ship only with nightly).
# The core crate has no C dependency (no aws-lc), so the targets build on any machine.
# The corpus is kept in fuzz/corpus/<target> and grows with every run.

FUZZ_SECONDS ?= 60
FUZZ_CASES ?= 20000
FUZZ_TARGETS := request_parsing recipe_extraction amount_parsing allergen_matching
CARGO_FUZZ := $(TOOLS_DIR)/cargo/bin/cargo-fuzz

.PHONY: fuzz fuzz-properties fuzz-targets

## fuzz: property tests with FUZZ_CASES cases, then each cargo-fuzz target for FUZZ_SECONDS
fuzz: fuzz-properties fuzz-targets

fuzz-properties:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release -p ai-chef-tests --test it properties

$(CARGO_FUZZ):
	$(CARGO) install --quiet --locked --root $(TOOLS_DIR)/cargo cargo-fuzz --version 0.13.2

fuzz-targets: $(CARGO_FUZZ)
	@for target in $(FUZZ_TARGETS); do \
		echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
		mkdir -p fuzz/corpus/$$target; \
		(cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO_FUZZ) run --sanitizer none -O $$target corpus/$$target -- \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1) || exit 1; \
	done
