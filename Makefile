PYTHON ?= python3

.PHONY: install test lint bench leaderboard reproduce site

install:
	$(PYTHON) -m pip install -e '.[test]'

test:
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check mbo optimizers tasks tests benchmarks  # pip install -e '.[dev]'

bench:
	bash benchmarks/run_all.sh

leaderboard:
	mbo leaderboard --results-dir results/engine --format md --out results/engine/leaderboard.md --plot results/engine/leaderboard.png

reproduce:
	mbo reproduce --results-dir results --format md --out results/REPRODUCTION.md

site:
	mbo site --results-dir results --out site
