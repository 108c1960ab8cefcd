# The two commands of the README: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint setup demo stance-model

setup: $(STAMP)

# Reinstall when the dependencies or their pins change.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/quorum ingest examples/foundation --list foundation
	$(BIN)/quorum import decisions examples/decisions.jsonl

run: demo
	$(BIN)/quorum serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Rebuild the stance model shipped in app/stance_data/ (model.npz and the labelled examples
# it learnt from, as feature rows) from the hand-labelled replies of ../shared/eval/stance
# and the twisted-python archive they were drawn from. Takes a few minutes.
STANCE_EVAL ?= ../shared/eval/stance
STANCE_ARCHIVE ?= ../shared/corpora/twisted-python/archive
STANCE_BUILD := var/stance-build
stance-model: $(STAMP)
	rm -rf $(STANCE_BUILD)
	QUORUM_HOME=$(STANCE_BUILD) QUORUM_DATABASE_URL= $(BIN)/quorum ingest --no-positions \
		--list twisted-python $(STANCE_ARCHIVE)/*.txt.gz > /dev/null
	QUORUM_HOME=$(STANCE_BUILD) QUORUM_DATABASE_URL= $(BIN)/quorum positions train --no-shipped \
		--labels $(STANCE_EVAL)/labels.jsonl --labels $(STANCE_EVAL)/train/labels.jsonl \
		--output app/stance_data/model.npz --examples-output app/stance_data/examples.npz
	rm -rf $(STANCE_BUILD)
