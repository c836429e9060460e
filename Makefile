# Set-up commands: `make demo` (triage the bundled sample inbox) and `make test` (the whole suite).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test soak eval lint bench services clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/inquiry-triage demo

# Services the integration tests talk to: Dovecot (installed from Debian when missing, as root) and the
# PostgreSQL server on 127.0.0.1:5432 (started when it is not running).
services:
	@bash .ci/services

# One worker per core (at most 4), each test file on one worker (its module fixtures built once); JOBS=0: serially, in one process
JOBS ?= auto
test: $(STAMP) services
	$(PY) -m pytest -q -p no:cacheprovider -n $(JOBS) --maxprocesses 4 --dist loadfile

# The full fault set and fuzz campaign (docs/reliability.md): 20 kill -9 over 2,000 messages, 30 s outages of
# PostgreSQL, Dovecot and the SQLite disk on 2,000-message runs, 100,000 fuzzed messages. About 2.5 hours on 2 cores.
soak: $(STAMP) services
	INQUIRY_TRIAGE_SOAK=1 $(PY) -m pytest -q -p no:cacheprovider -s -p no:logging \
		tests/test_outages.py tests/test_imap_kill9.py tests/test_fuzz.py

# The corpus-score floors (tests/corpus_floors.toml) on the labelled corpus: ../shared/corpus beside the clone, or
# CORPUS=folder-or-file, and the drafts' acceptance checks on it (`drafts check`). `make test` does not need it.
CORPUS ?= ../shared/corpus
eval: $(STAMP)
	@test -e "$(CORPUS)" || { echo "no labelled corpus at $(CORPUS); set CORPUS=path/to/corpus (a folder of *.jsonl or one file)" >&2; exit 2; }
	$(VENV)/bin/inquiry-triage eval --floors tests/corpus_floors.toml $(CORPUS)
	$(VENV)/bin/inquiry-triage drafts check $(CORPUS)

lint: $(STAMP)
	$(VENV)/bin/ruff check daemon extractors tests bench
	$(VENV)/bin/mypy daemon extractors

# Every benchmark in one run (about 8 minutes on 2 cores), one table with the machine's facts (docs/benchmarks.md)
bench: $(STAMP) services
	$(PY) bench/all.py

clean:
	rm -rf demo-work build dist *.egg-info
