# Two commands set everything up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test demo sandbox lint install clean bench soak

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

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
