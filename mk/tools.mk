# Project-local tools, installed on first use and reused afterwards; nothing touches the system.
#   .tools/venv   Python virtual environment with the pinned packages of
#                 devtools/tools/requirements.txt (moto server, cfn-lint, its serverless rules,
#                 the SAM CLI with its translator)
#   .tools/cargo  cfn-guard, built by `cargo install --root` at a pinned version
# Every recipe of the Makefile sees both first on PATH, so tests that spawn `moto_server` or
# `python3 -m moto.server` and the infrastructure checks find the pinned versions.

TOOLS_DIR := $(CURDIR)/.tools
TOOLS_VENV := $(TOOLS_DIR)/venv
TOOLS_PYTHON ?= python3
TOOLS_REQUIREMENTS := devtools/tools/requirements.txt
TOOLS_VENV_STAMP := $(TOOLS_VENV)/.installed
CFN_GUARD_VERSION ?= 3.2.1
CFN_GUARD := $(TOOLS_DIR)/cargo/bin/cfn-guard

export PATH := $(TOOLS_VENV)/bin:$(TOOLS_DIR)/cargo/bin:$(PATH)
export VIRTUAL_ENV := $(TOOLS_VENV)

.PHONY: tools python-tools

## tools: install the project-local tools (.tools/: Python venv with moto, cfn-lint, SAM CLI; cfn-guard)
tools: python-tools $(CFN_GUARD)

python-tools: $(TOOLS_VENV_STAMP)

# The stamp depends on the requirements file, so a changed pin reinstalls on the next run.
$(TOOLS_VENV_STAMP): $(TOOLS_REQUIREMENTS)
	@echo "tools: creating $(TOOLS_VENV) with $(TOOLS_REQUIREMENTS) (first use, about a minute)"
	@test -x $(TOOLS_VENV)/bin/python3 || $(TOOLS_PYTHON) -m venv $(TOOLS_VENV)
	@$(TOOLS_VENV)/bin/python3 -m pip install --quiet --disable-pip-version-check -r $(TOOLS_REQUIREMENTS)
	@touch $@

$(CFN_GUARD):
	@echo "tools: building cfn-guard $(CFN_GUARD_VERSION) into $(TOOLS_DIR)/cargo (first use, a few minutes)"
	@$(CARGO) install --quiet --locked --root $(TOOLS_DIR)/cargo cfn-guard --version $(CFN_GUARD_VERSION)
