# Nutrition retrieval index (docs/retrieval.md). Included by the top-level Makefile.
#   make index              embeds every food-table row against the local Bedrock emulator
#                           (for local runs and tests; refused by a function on real Bedrock)
#   make index BEDROCK=aws  embeds them with real Bedrock (credentials and region from the
#                           usual AWS settings); the deploy target requires this one
# Both write shared/data/nutrition-index.{bin,meta.json}, which are compiled into the functions.

BEDROCK ?= emulator
INDEX_ARGS ?=
INDEX_META := shared/data/nutrition-index.meta.json

.PHONY: index check-index-bedrock

## index: build the nutrition index (BEDROCK=aws for real Bedrock; INDEX_ARGS go to the builder)
index:
ifeq ($(BEDROCK),aws)
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_BEDROCK_RUNTIME \
		cargo run --quiet -p nutrition-index -- --source bedrock $(INDEX_ARGS)
else
	devtools/nutrition-index/with-emulator.sh $(INDEX_ARGS)
endif

## check-index-bedrock: fail unless the shipped nutrition index was built with real Bedrock
check-index-bedrock:
	@grep -Eq '"source": *"bedrock"' $(INDEX_META) || { \
		echo "$(INDEX_META) was built against the local emulator; run 'make index BEDROCK=aws' before deploying" >&2; \
		exit 1; }

deploy: check-index-bedrock
