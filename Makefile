PYTHON ?= python3

.PHONY: install test lint bench reports leaderboard reproduce site

install:
	$(PYTHON) -m pip install -e '.[test]'

test:
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check mbo optimizers tasks tests benchmarks  # pip install -e '.[dev]'

# Every experiment (experiments/*.toml) into the committed store, resumably; then every report; then the
# benchmark scripts (speed, cost, task loading) and the loops no experiment file expresses yet.
bench:
	for f in experiments/*.toml; do mbo sweep --plan $$f --results-dir results || exit 1; done
	mbo report experiments/*.toml --results-dir results
	bash benchmarks/run_all.sh

# Re-render every experiment's tables (results/<name>/, and the blocks they fill in REPORT.md files)
# from the committed records alone: seconds, no training.
reports:
	$(COMMITTED_ONLY)
	mbo report experiments/*.toml --results-dir results

leaderboard:
	$(COMMITTED_ONLY)
	mbo report experiments/engine.toml --results-dir results

# Report targets regenerate committed files from the committed store (results/records) only: records
# there that git does not track yet are refused (commit them, or keep your own runs in the per-user folder).
COMMITTED_ONLY = @test -z "$$(git ls-files --others --exclude-standard results/records 2>/dev/null | head -1)" || { \
echo "results/records holds records git does not track: commit them (git add results/records) or move them to your \
per-user results folder before regenerating committed reports"; exit 1; }

reproduce:
	$(COMMITTED_ONLY)
	mbo reproduce --results-dir results --format md --out results/REPRODUCTION.md

site:
	mbo site --results-dir results --out site
