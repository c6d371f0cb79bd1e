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
	$(COMMITTED_ONLY)
	mbo leaderboard --results-dir results/engine --format md --out results/engine/leaderboard.md --plot results/engine/leaderboard.png

# Report targets regenerate committed files from the committed reference records only.
COMMITTED_ONLY = @test ! -e results/records || { echo "results/records holds runs of yours, not committed reference \
records: move them elsewhere (mbo's default results folder is per-user) before regenerating committed reports"; exit 1; }

reproduce:
	$(COMMITTED_ONLY)
	mbo reproduce --results-dir results --format md --out results/REPRODUCTION.md

site:
	mbo site --results-dir results --out site
