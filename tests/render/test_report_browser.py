"""`dpmsmt report` pages in a real browser: Debian's headless Chromium driven by Playwright.

One browser for the module. Every model in models/ gets its page (written by `dpmsmt report`, the
change models with their `before`), loaded from disk with the network off; the DOM must agree
with `check --format json` (tests/report_dom.py says what is checked). Screenshots are kept as
test artifacts in `$DPMSMT_ARTIFACTS` (default `.artifacts/` in the clone); with
`DPMSMT_UPDATE_DOCS=1` the README's screenshot, docs/report.png, is written from the same run.
Skipped, with the reason, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import report_dom  # tests/ is on sys.path (rootdir-relative)
import yaml
from paths import REPO_DIR

from dpmsmt import cli

REPO = REPO_DIR
MODELS = REPO / "models"
TODAY = "2026-11-24"
ARTIFACTS = Path(os.environ.get("DPMSMT_ARTIFACTS", REPO / ".artifacts"))
# Models drawn with Graphviz (where it is installed); the others are written as where `dot` is
# missing, so both kinds of page are loaded and the suite stays quick.
DRAWN = {"seed/dpm1-failed.yaml", "seed/scenario1-after.yaml", "good/realistic.yaml"}

pytestmark = pytest.mark.skipif(
    report_dom.why_no_browser() is not None, reason=str(report_dom.why_no_browser())
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = report_dom.launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def tab(browser):
    """The one tab every page of the module is loaded in (scripting on, as a reader has it)."""
    session = report_dom.Session(browser)
    yield session
    session.close()


def _run(*argv: str) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(list(argv))
    assert e.value.code == 0, argv


def _check_json(capsys, file: str, before: str | None) -> dict:
    argv = ["check", file, "--format", "json", "--today", TODAY]
    with pytest.raises(SystemExit):
        cli.main([*argv, *(["--before", before] if before else [])])
    return json.loads(capsys.readouterr().out)


def _models() -> list[tuple[str, str | None]]:
    out = []
    for path in sorted(MODELS.glob("*/*.yaml")):
        expect = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("expect") or {}
        before = expect.get("before")
        out.append((str(path), str(path.parent / before) if before else None))
    return out


def test_every_model_page(tab, tmp_path, capsys, monkeypatch):
    """Each model's page: no request leaves it, no console error, counts as check's, every
    finding row links to its rule's section, headings in order, table headers scoped."""
    models = _models()
    assert len(models) > 50
    which = shutil.which
    failures = []
    for file, before in models:
        name = str(Path(file).relative_to(MODELS))
        drawn = name in DRAWN
        monkeypatch.setattr(shutil, "which", which if drawn else (lambda *a, **k: None))
        out = tmp_path / (name.replace("/", "_") + ".html")
        _run(
            "report", file, "-o", str(out), "--today", TODAY, *(["--before", before] * bool(before))
        )
        expected = _check_json(capsys, file, before)
        opened = tab.open(out)
        bad = report_dom.problems(opened, expected)
        if drawn and which("dot") and report_dom.read(opened)["svg"] != 1:
            bad.append("no picture although Graphviz is installed")
        failures += [f"{name}: {b}" for b in bad]
    assert failures == []


def test_large_estate_page(tab, tmp_path, capsys):
    """More DPM servers than the picture draws: the overview table and one closed <details> per
    DPM server, with the note saying why there is no picture."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import estates

    path = estates.write(estates.generate(40, 2_000, seed=0, violations=5), tmp_path / "e.yaml")
    out = tmp_path / "e.html"
    _run("report", str(path), "-o", str(out), "--today", TODAY)
    opened = tab.open(out)
    assert report_dom.problems(opened, _check_json(capsys, str(path), None)) == []
    page = opened.page
    assert page.locator("table.overview tbody tr").count() == 40
    assert page.locator("details.dpm").count() == 40
    assert page.locator("details.dpm[open]").count() == 0
    assert page.locator("svg").count() == 0
    assert "the picture is drawn up to 30" in page.locator("#estate").inner_text()
    assert not page.locator("details.dpm table").first.is_visible()
    page.emulate_media(media="print")  # the print stylesheet opens every <details>, drops the nav
    try:
        assert page.locator("details.dpm table").first.is_visible()
        assert not page.locator("nav").is_visible()
    finally:
        page.emulate_media(media="screen")


XSS = """\
dpmsmt: 1
name: "<b>bold</b> estate"
dpm_servers:
  "<script>alert(1)</script>": {version: "10.19.58.0", status: failed}
  DPM2: {version: "10.19.202.0", protects: ["<script>alert(1)</script>"]}
servers:
  "<img src=x onerror=alert(2)>":
    agent: "<script>alert(1)</script>"
    datasources: [{name: 'D:\\', secondary: DPM2, dedup: true}]
waivers:
  - {rule: VERSION-MATCH, reason: "</td><script>alert(3)</script>", expires: 2026-12-01}
"""


def test_script_in_names_is_text(tab, tmp_path, capsys):
    """A server named `<script>alert(1)</script>` is shown as that text, nothing runs, nothing
    loads (in the tables, the findings, the waivers, the runbook and Graphviz's picture)."""
    src = tmp_path / "xss.yaml"
    src.write_text(XSS, encoding="utf-8")
    out = tmp_path / "xss.html"
    _run("report", str(src), "-o", str(out), "--today", TODAY, "--failures", "1", "--jobs", "1")
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    opened = tab.open(out)
    assert report_dom.problems(opened, _check_json(capsys, str(src), None)) == []
    page = opened.page
    assert page.locator("table.overview").inner_text().count("<script>alert(1)</script>") >= 1
    assert "<b>bold</b> estate" in page.locator("h1").inner_text()
    assert page.locator("#recovery").inner_text().count("<script>alert(1)</script>") >= 1
    assert page.evaluate("document.querySelectorAll('img, script').length") == 0


def test_readable_without_scripting_and_screenshot(browser, tmp_path, monkeypatch):
    """Scripting off: the summary, the runbook and the heat map are there (nothing needs a
    script). Keeps the screenshot of this real report as a test artifact (and docs/report.png
    with DPMSMT_UPDATE_DOCS=1)."""
    monkeypatch.chdir(REPO)  # the page names the file as given: models/seed/dpm1-failed.yaml
    out = tmp_path / "seed.html"
    argv = ["report", "models/seed/dpm1-failed.yaml", "-o", str(out), "--today", TODAY]
    _run(*argv, "--failures", "2", "--jobs", "1")
    session = report_dom.Session(browser, javascript=False)
    try:
        opened = session.open(out)
        page = opened.page
        assert opened.requests == [opened.url] and opened.errors == []
        assert "Not supported" in page.locator("[data-verdict]").inner_text()
        assert page.locator("ol.runbook ol.steps li").count() > 0
        assert page.locator("table.heat td.diag").count() == 2  # DPM2, DPM3 (DPM1 is down)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "report-seed-dpm1-failed.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("DPMSMT_UPDATE_DOCS") == "1":
            page.screenshot(path=str(REPO / "docs/report.png"), full_page=False)
    finally:
        session.close()
