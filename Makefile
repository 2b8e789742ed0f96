# Two commands on a fresh machine:  `make demo`  and  `make test`.
# `setup` is idempotent: it reinstalls only when pyproject.toml (or the checkov pin) changed.

PYTHON      ?= python3
VENV        ?= .venv
CHECKOV_VENV?= .venv-checkov
CHECKOV_PIN ?= checkov==3.3.30
BIN         := $(VENV)/bin
# loadfile: a module's tests share one emulator and one deploy, so keep each module on one worker.
# Fixed (`override`): a PYTEST_ARGS in the environment or on the command line cannot replace them;
# extra arguments go in PYTEST_EXTRA (e.g. `make test PYTEST_EXTRA="-k emulator"`).
# `-m "not tools"`: the slow tools group (tests/test_tools.py) is `make test-tools`'s.
override PYTEST_ARGS := -n 2 --dist loadfile -m "not tools"
PYTEST_EXTRA ?=

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
export PIPELINE_TOOLS_CHECKOV ?= $(abspath $(CHECKOV_VENV))/bin/checkov
# Offline machines: use the provider mirror on the machine unless one is given.
ifndef PIPELINE_TOOLS_PLUGIN_DIR
PIPELINE_TOOLS_PLUGIN_DIR := $(shell .ci/find-provider-mirror)
endif
export PIPELINE_TOOLS_PLUGIN_DIR

.PHONY: setup images demo test test-tools check bench mutation clean help

help:
	@echo "make setup  - create .venv (app + tests), .venv-checkov (checkov, isolated pins) and the SageMaker images' environments"
	@echo "make demo   - setup, then run the whole pipeline on the embedded local emulator"
	@echo "make test   - setup, then run the test suite and the compliance gate"
	@echo "make test-tools - setup, then the slow 'tools' group: cdktf/cdktn CLIs and the AWS CLI on the emulator"
	@echo "make bench  - setup, then run the benchmarks (results in docs/benchmarks.md)"
	@echo "make mutation - mutation testing per module with mutmut (results in docs/mutation.md; MUTATION_TARGETS=... for some)"

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed images

# The emulator runs each SageMaker job with its image's libraries (docs/images.md): one environment
# per image, built once per set of pins under ~/.cache/pipeline-tools/images (~40 s and ~0.9 GB on a
# fresh machine, a no-op after), so that no timed test or demo job builds one.
images: $(VENV)/.installed
	@$(BIN)/python -m pipeline_tools.emulator.images build

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

$(CHECKOV_VENV)/.installed: Makefile
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check '$(CHECKOV_PIN)'
	@touch $@

demo: setup
	$(BIN)/pipeline-tools demo

# The `tools` group (tests/test_tools.py: npm CLIs, deploys with the provider's ~55 s S3 lifecycle
# wait) is left out of `make test` to keep it short; `make test-tools` runs it (.ci/run runs both).
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS) $(PYTEST_EXTRA)
	$(BIN)/pipeline-tools check

# Installs (or finds cached under ~/.cache) cdktf-cli, cdktn-cli with its Node, and awscli first.
test-tools: setup
	tools/install-clis >/dev/null
	$(BIN)/python -m pytest -n 2 --dist load -m tools $(PYTEST_EXTRA)

bench: setup
	$(BIN)/python benchmarks/run.py

# Mutation testing (issue 26, docs/mutation.md): not part of `make test`. mutmut is installed into
# .venv on first use (pinned here; it is a tool of this target only). Each target mutates its
# module(s) and runs only their fast tests, 2 workers (MUTATION_JOBS); exit 1 when one scores < 85%.
MUTMUT_PIN ?= mutmut==3.8.1
MUTATION_TARGETS ?=
mutation: $(VENV)/.installed
	@$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/python -m pip install --quiet --disable-pip-version-check '$(MUTMUT_PIN)'
	$(BIN)/python tools/mutation.py $(MUTATION_TARGETS)

clean:
	rm -rf cdktf.out build .pipeline-tools artifacts .pytest_cache
