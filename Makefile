# Set-up commands: `make demo` (triage the bundled sample inbox) and `make test` (the whole suite).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# the rules engine's hot modules compiled with Cython (see extractors/compiled.py); compiled again when a source
# changes; without a C compiler extraction runs from the sources, with the same results
COMPILED := extractors/.compiled

.PHONY: demo test eval lint bench services clean compiled pure

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,compiled]'
	touch $(STAMP)

$(COMPILED): $(STAMP) $(wildcard extractors/*.py)
	$(PY) -m extractors.compiled build 2>/dev/null
	touch $(COMPILED)

compiled: $(COMPILED)

pure:
	$(PY) -m extractors.compiled remove
	rm -f $(COMPILED)

demo: $(COMPILED)
	$(VENV)/bin/inquiry-triage demo

# Services the integration tests talk to: Dovecot (installed from Debian when missing, as root) and the
# PostgreSQL server on 127.0.0.1:5432 (started when it is not running).
services:
	@bash .ci/services

test: $(COMPILED) services
	$(PY) -m pytest -q -p no:cacheprovider

# The corpus-score floors (tests/corpus_floors.toml) on the labelled corpus: ../shared/corpus beside the clone, or
# CORPUS=folder-or-file, and the drafts' acceptance checks on it (`drafts check`). `make test` does not need it.
CORPUS ?= ../shared/corpus
eval: $(COMPILED)
	@test -e "$(CORPUS)" || { echo "no labelled corpus at $(CORPUS); set CORPUS=path/to/corpus (a folder of *.jsonl or one file)" >&2; exit 2; }
	$(VENV)/bin/inquiry-triage eval --floors tests/corpus_floors.toml $(CORPUS)
	$(VENV)/bin/inquiry-triage drafts check $(CORPUS)

lint: $(STAMP)
	$(VENV)/bin/ruff check daemon extractors tests bench
	$(VENV)/bin/mypy daemon extractors

bench: $(COMPILED)
	$(PY) bench/extract_speed.py

clean:
	rm -rf demo-work build dist *.egg-info
