# Infrastructure targets: static checks of the SAM template, Lambda builds and deployment.
# Included by the top-level Makefile (`include mk/infra.mk`); every recipe runs from the
# repository root and its logic lives in infra/scripts so it can also be run by hand.

.PHONY: check-infra build lambda-build deploy install-infra-tools install-lambda-tools

## check-infra: cfn-lint (+ serverless rules), sam validate --lint, cfn-guard on the template and its SAM transform, bad-fixture and risky-edit tests
check-infra: tools
	infra/scripts/check-infra.sh

## build: arm64 bootstrap.zip for each Lambda function, with sizes
build: lambda-build

lambda-build:
	infra/scripts/build-lambdas.sh

## deploy: sam build + sam deploy, unattended (after `make index BEDROCK=aws`); DEPLOY_ARGS go to sam deploy
deploy: tools install-lambda-tools
	infra/scripts/deploy.sh $(DEPLOY_ARGS)

## install-infra-tools: the pinned infrastructure checkers (same as `make tools`)
install-infra-tools: tools

## install-lambda-tools: cargo-lambda (needed by build, deploy and invoke-local)
install-lambda-tools: python-tools
	@cargo lambda --version >/dev/null 2>&1 || $(TOOLS_VENV)/bin/python3 -m pip install --quiet cargo-lambda
	@cargo lambda --version
