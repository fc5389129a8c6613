# The local loop a Lambda developer expects: `cargo lambda watch` + `cargo lambda invoke` on the
# events of events/, offline, against the project's Bedrock emulator and moto. The logic lives
# in infra/scripts/invoke-local.sh so it can also be run by hand.

.PHONY: invoke-local

# Leave both empty to invoke every event of devtools/invoke-local/events.tsv.
INVOKE_FUNCTION ?=
INVOKE_EVENT ?=

## invoke-local: every event of events/ through cargo lambda watch + invoke against the local emulators (installs cargo-lambda into .tools/venv on first use); INVOKE_FUNCTION + INVOKE_EVENT pick one
invoke-local: python-tools
	infra/scripts/invoke-local.sh $(INVOKE_FUNCTION) $(INVOKE_EVENT)
