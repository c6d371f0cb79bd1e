"""The static results site: built from a small store of real runs, checked as a person would see it."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from mbo import harness
from mbo.errors import ConfigError
from mbo.site import build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Chromium (.ci/run), so there the browser test runs or fails; elsewhere it skips with the command
NEEDS_BROWSER = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Debian's chromium: apt-get install -y chromium (and pip install playwright, in the test extra)")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Runs of random, dataset-best and grad-ascent-mean[smoke] on Branin (2 seeds, Q = 16), then the site."""
    results = tmp_path_factory.mktemp("results")
    for opt, profile in (("random", None), ("dataset-best", None), ("grad-ascent-mean", "smoke")):
        for seed in (0, 1):
            rec = harness.run("branin", opt, seed=seed, budget=16, results_dir=results, profile=profile, device="cpu")
            assert rec["status"] == "ok", rec.get("error")
    (results / "demo").mkdir()
    (results / "demo" / "REPORT.md").write_text("# A report\n\nSee [the other](../OTHER.md) and [code](../x.py).\n\n"
                                                "| a | b |\n|---|---|\n| 1 | 2 |\n")
    (results / "OTHER.md").write_text("# Other\n")
    out = tmp_path_factory.mktemp("site") / "site"
    build(results, out)
    return out


def _links(page: Path) -> list[str]:
    return re.findall(r"(?:href|src)=['\"]([^'\"]+)['\"]", page.read_text())


def test_every_internal_link_resolves(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert {"index.html", "reproduce.html"} <= {p.name for p in pages}
    assert len(list((site / "runs" / "branin").glob("*.html"))) == 6
    for page in pages:
        for link in _links(page):
            assert "://" not in link, f"{page}: external link {link}"
            target, _, anchor = link.partition("#")
            path = (page.parent / target).resolve() if target else page
            assert path.is_file(), f"{page.relative_to(site)} links to missing {link}"
            if anchor:
                assert f"id='{anchor}'" in path.read_text() or f'id="{anchor}"' in path.read_text(), link


def test_reports_are_rendered_with_their_links_mended(site: Path) -> None:
    report = (site / "reports" / "demo" / "REPORT.html").read_text()
    assert "<table>" in report and "../OTHER.html" in report  # a rendered report links to the rendered one
    assert "x.py" in report and 'href="../x.py"' not in report  # a file the site does not host is not a link


def test_every_page_states_its_protocol(site: Path) -> None:
    for page in site.rglob("*.html"):
        assert "class='protocol'" in page.read_text(), page


def test_missing_or_empty_results_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build(tmp_path / "nope", tmp_path / "site")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no successful runs"):
        build(tmp_path / "empty", tmp_path / "site")


@NEEDS_BROWSER
def test_pages_load_in_chromium_and_tables_sort(site: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        for rel in ("index.html", "tasks/branin.html", "reproduce.html", "reports/demo/REPORT.html"):
            page.goto((site / rel).as_uri())
            page.wait_for_load_state("load")
        assert problems == []
        page.goto((site / "tasks" / "branin.html").as_uri())
        table = page.locator("#lb-q16-p100")
        labels = table.locator("tbody tr td:first-child").all_inner_texts()
        assert {"random", "dataset-best", "grad-ascent-mean[smoke]", "D(best)"} == set(labels)
        assert table.locator("tbody tr.null").count() == 2 and table.locator("tbody tr.ref").count() == 1
        table.locator("thead th").nth(1).click()  # the mean column, ascending
        values = [float(v) for v in table.locator("tbody tr td:nth-child(2)").all_inner_texts()]
        assert values == sorted(values)
        table.locator("thead th").nth(1).click()
        values = [float(v) for v in table.locator("tbody tr td:nth-child(2)").all_inner_texts()]
        assert values == sorted(values, reverse=True)
        page.locator("input.filter").first.fill("random")
        assert table.locator("tbody tr:visible").count() == 1
        browser.close()
