# Quick start: `make run` serves the whole hotline on SQLite with the demo config;
# `make test` installs what the tests need and runs the whole suite.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/demo.toml
PYTEST_ARGS ?=

.PHONY: install run cluster test test-deps lint bench eval prompts sample-report screenshots clean

$(VENV)/.installed: pyproject.toml setup.py telephony/_rtprelay.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	mkdir -p var
	HOTLINE_CONFIG=$(CONFIG) $(BIN)/hotline migrate
	HOTLINE_CONFIG=$(CONFIG) $(BIN)/hotline demo-agents
	HOTLINE_CONFIG=$(CONFIG) $(BIN)/hotline serve --plain-logs

# Two nodes sharing PostgreSQL behind Kamailio (with rtpengine, and nginx if installed) on
# this machine; Ctrl-C stops them. See docs/CLUSTER.md.
cluster: install
	mkdir -p var
	$(BIN)/python tools/cluster.py

# SIPp (sip-tester) and Chromium are real peers of the tests; install them if missing.
test-deps:
	@tools/install-test-deps.sh

test: install test-deps lint
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy telephony routing reports wallboard cases agent_console nlp dispatch hotline

bench: install
	$(BIN)/python bench/bench_classify.py
	$(BIN)/python bench/bench_tickets.py
	$(BIN)/python bench/bench_routing.py
	$(BIN)/python bench/bench_cases.py

# Evaluations on data the project may not ship: TipDM 2020 C's messages carry no licence, so
# they are scored here, where a person has the file, never in `make test`.
eval: install
	@if [ -z "$(TIPDM)" ] || [ ! -f "$(TIPDM)" ]; then \
		echo "make eval TIPDM=path/to/tipdm2020c_messages_l1.csv (2020 泰迪杯 C题 附件2; see docs/CLASSIFICATION.md)" >&2; \
		exit 2; fi
	$(BIN)/hotline nlp evaluate-tipdm --min-accuracy 0.60 "$(TIPDM)"
	$(BIN)/hotline nlp evaluate tests/data/heldout_complaints.csv

prompts:
	tools/make_prompts.sh

# The report of a generated month (CSV, XLSX, PDF, charts) under docs/sample-report/.
sample-report: install
	$(BIN)/python tools/sample_report.py docs/sample-report

# The wallboard with 30 agents at 1920×1080 and 1366×768, the roster editor with its
# staffing gap, and the agent's desk in a call and in wrap-up, under docs/screenshots/
# (Chromium).
screenshots: install
	$(BIN)/python tools/wallboard_screenshots.py docs/screenshots
	$(BIN)/python tools/roster_screenshot.py docs/screenshots
	$(BIN)/python tools/desk_screenshot.py docs/screenshots

clean:
	rm -rf $(VENV) var .pytest_cache
