# Two commands set everything up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test demo sandbox lint install clean

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

test: lint
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/python -m bot separate demo-music-task demo-song-1 --mode vocal --sandbox
	$(BIN)/python -m bot separate demo-music-task demo-song-1 --mode instrumental --sandbox

sandbox: $(STAMP)
	$(BIN)/python -m bot sandbox --port 8765

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
