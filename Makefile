# Two commands set everything up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test demo sandbox lint install clean bench soak messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The PostgreSQL tests start their own throwaway cluster (tests/_postgres.py) and skip with one
# line where no PostgreSQL is installed; STEMBOT_REQUIRE_POSTGRES=1 (CI) makes that a failure.
test: lint
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/python -m bot separate demo-music-task demo-song-1 --mode vocal --sandbox
	$(BIN)/python -m bot separate demo-music-task demo-song-1 --mode instrumental --sandbox

sandbox: $(STAMP)
	$(BIN)/python -m bot sandbox --port 8765

# Benchmarks print figures beside targets; they never decide pass or fail.
bench: $(STAMP)
	$(BIN)/python -m bench

# The survival campaigns at full size, then one table (lost, duplicates, double charges: all 0).
soak: $(STAMP)
	rm -f .soak.jsonl
	STEMBOT_SOAK=1 STEMBOT_SOAK_REPORT=.soak.jsonl $(BIN)/pytest -q -m campaign --timeout 3600
	$(BIN)/python -m tests.survival.soak_table .soak.jsonl

# The message catalogs: extract every member-facing string into locales/stembot.pot, then merge
# it into each language's .po (new strings arrive with an empty msgstr: English until translated).
# Deterministic (no dates, no line numbers), so a current tree is left unchanged.
LANGUAGES := $(patsubst locales/%/LC_MESSAGES,%,$(wildcard locales/*/LC_MESSAGES))
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project stembot \
		--version 1 --copyright-holder stembot --msgid-bugs-address "" \
		-o locales/stembot.pot . >/dev/null
	sed -i '/^"POT-Creation-Date:/d; /^# Copyright (C)/d; /^# FIRST AUTHOR/d' locales/stembot.pot
	set -e; for lang in $(LANGUAGES); do \
		po=locales/$$lang/LC_MESSAGES/stembot.po; \
		if [ ! -f $$po ]; then \
			$(BIN)/pybabel init -D stembot -i locales/stembot.pot -d locales -l $$lang >/dev/null; \
		fi; \
		$(BIN)/pybabel update -D stembot -i locales/stembot.pot -d locales -l $$lang \
			--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date \
			>/dev/null 2>&1; \
		sed -i '/^"POT-Creation-Date:/d; /^"PO-Revision-Date:/d' $$po; \
	done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
