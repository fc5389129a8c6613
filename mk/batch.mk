# Batch targets: the batch-dispatcher's integration tests (moto server for DynamoDB and SQS,
# the Bedrock emulator for Claude) and its throughput benchmark against a model quota.
# Included by the top-level Makefile (`-include mk/*.mk`).

BENCH_BATCH_ARGS ?=

.PHONY: test-batch bench-batch

## test-batch: batch-dispatcher and async-recipe tests against moto (needs `pip install 'moto[server]'`)
test-batch:
	cargo test -p ai-chef-tests --test batch_dispatcher --test batch_init --test async_recipes
	cargo test -p ai-chef --lib batch::

## bench-batch: adaptive vs fixed 10 vs fixed 100 concurrency under a 600 rpm quota (about 2 min)
bench-batch:
	cargo bench -p ai-chef-tests --profile dev --bench batch_throughput $(BENCH_BATCH_ARGS)
