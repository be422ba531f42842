"""`dpmsmt report` without a browser: the model the core collects, the page's text, the options.

The page in a real browser is tests/render/test_report_browser.py.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

import dpmsmt
from dpmsmt import cli
from dpmsmt import report as core
from dpmsmt.render.html import PALETTE, contrast, inline_svg, render_html

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
TODAY = "2026-11-24"
HAS_DOT = shutil.which("dot") is not None


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def page(model_file: str, **kw) -> tuple[core.ReportModel, str]:
    topology = dpmsmt.load(str(MODELS / model_file))
    kw.setdefault("today", dt.date.fromisoformat(TODAY))
    model = core.collect(topology, **kw)
    return model, render_html(model)


def test_same_input_same_bytes(capsys, tmp_path):
    """Two runs with --today give byte-identical pages (picture, resilience, recovery, change)."""
    outs = []
    for n in (1, 2):
        out = tmp_path / f"r{n}.html"
        argv = ["report", str(MODELS / "seed/scenario1-after.yaml"), "-o", str(out)]
        argv += ["--before", str(MODELS / "seed/before.yaml"), "--today", TODAY]
        code, _, err = run(capsys, *argv, "--failures", "2", "--fail", "DPM2", "--jobs", "1")
        assert code == 0 and "wrote the report" in err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    text = outs[0].decode()
    for section in ('id="estate"', 'id="findings"', 'id="resilience"', 'id="recovery"'):
        assert section in text
    assert text.index('id="resilience"') < text.index('id="recovery"') < text.index('id="change"')
    assert ("<svg" in text) == HAS_DOT


def test_counts_and_rule_sections_match_check():
    """The band's counts are check's; each finding sits under its rule, with the rule's reason,
    its sources' links and FILE:LINE."""
    model, html = page("bad/version-match.yaml")
    report = dpmsmt.check(dpmsmt.load(str(MODELS / "bad/version-match.yaml")), today=TODAY)
    assert model.counts == report.counts() and model.verdict == report.verdict == "invalid"
    section = next(r for r in model.rules if r.id == "VERSION-MATCH")
    found = [f for f in report.findings if f.rule == "VERSION-MATCH"]
    assert [row.fingerprint for row in section.findings] == [f.fingerprint for f in found]
    assert section.why and section.sources and all(s.url for s in section.sources)
    loc = found[0].location
    assert f"<code>{loc.file}:{loc.line}</code>" in html
    assert f'<a href="{section.sources[0].url}"' in html
    assert 'id="rule-VERSION-MATCH"' in html and 'href="#rule-VERSION-MATCH"' in html


def test_clean_estate_says_so():
    model, html = page("good/seed.yaml")
    assert model.verdict == "valid" and model.rules == ()
    assert model.first[0].text.startswith("Nothing to do")
    assert "No finding: the estate passes every rule" in html


@pytest.mark.parametrize(
    ("today", "state", "days"),
    [("2026-11-24", "active", 218), ("2027-06-10", "expiring", 20), ("2027-07-01", "expired", -1)],
)
def test_waiver_expiry(today, state, days):
    """A waiver is highlighted (class and words, not colour alone) within 30 days of --today."""
    model, html = page("good/waiver.yaml", today=dt.date.fromisoformat(today))
    (w,) = model.waivers
    assert (w.state, w.days_left, w.expires) == (state, days, "2027-06-30")
    assert ("expiring in 20 days" in html) == (state == "expiring")
    assert ('class="expiring expiring-row"' in html) == (state == "expiring")
    if state != "expired":  # the waived finding shows its reason and expiry
        assert w.waived == 1 and "(until 2027-06-30)" in html
    else:
        assert any(s.id == "WAIVER-EXPIRED" for s in model.rules)
    assert any(s.anchor == "waiver-0" for s in model.first) == (state != "active")


def test_script_names_are_escaped(capsys, tmp_path):
    """Autoescaping: a server named <script>…</script> is text everywhere, the picture included."""
    src = tmp_path / "x.yaml"
    src.write_text(
        'dpmsmt: 1\ndpm_servers:\n  "<script>alert(1)</script>": {version: "1.0", status: failed}\n'
        '  D2: {version: "2.0", protects: ["<script>alert(1)</script>"]}\n'
        'servers:\n  "<img src=x onerror=alert(2)>":\n    agent: D2\n'
        "    datasources: [{name: 'D:\\', secondary: D2}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "x.html"
    code, _, _ = run(capsys, "report", str(src), "-o", str(out), "--today", TODAY)
    html = out.read_text(encoding="utf-8")
    assert code == 0
    assert not re.search(r"<\s*(script|img)", html, re.IGNORECASE)
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3


def test_without_graphviz(capsys, tmp_path, monkeypatch):
    """No `dot`: the page is still written, with a note where the picture would be."""
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    out = tmp_path / "r.html"
    code, _, _ = run(capsys, "report", str(MODELS / "seed/dpm1-failed.yaml"), "-o", str(out))
    html = out.read_text(encoding="utf-8")
    assert code == 0 and "<svg" not in html
    assert "Graphviz&#39;s `dot` is not installed" in html
    assert 'class="overview"' in html


def test_inline_svg_refuses_active_content():
    base = '<svg xmlns="http://www.w3.org/2000/svg"><g><text>{}</text></g></svg>'
    ok = inline_svg(base.format("&lt;img src=x onerror=alert(2)&gt;"))
    assert ok is not None and 'role="img"' in ok and "&lt;img" in ok
    for bad in (
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        '<a x:href="https://example.com/"><text>t</text></a></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
        "not xml <svg",
    ):
        assert inline_svg(bad) is None, bad


def test_palette_contrast_is_aa():
    for name, (fg, bg) in PALETTE.items():
        assert contrast(fg, bg) >= 4.5, name


def test_recovery_runbook_and_script_hook():
    """The failed server's best plan as phases and steps; HOOK(ps1) embeds a script, escaped."""
    model, html = page("seed/dpm1-failed.yaml", runbook_script=lambda s: f"# {s.failed[0]} <&>")
    rec = model.recovery
    assert rec is not None and rec.failed == ("DPM1",) and rec.plan.complete
    assert rec.plan.immediate and all(a.steps for a in rec.plan.immediate)
    assert 'id="runbook-script"' in html and "# DPM1 &lt;&amp;&gt;" in html
    _, plain = page("seed/dpm1-failed.yaml")
    assert 'id="runbook-script"' not in plain and "Runbook" in plain


def test_heat_map_for_two_failures():
    model, html = page("seed/before.yaml", failures=2, jobs=1)
    hm = model.resilience.heatmap
    assert hm.names == ("DPM1", "DPM2", "DPM3")
    for i in range(3):
        for j in range(3):
            assert hm.rows[i][j] == hm.rows[j][i]  # a pair is one failure set
    assert hm.rows[0][0].hurt is not None and html.count("diag") >= 3


def test_change_section():
    before = dpmsmt.load(str(MODELS / "seed/before.yaml"))
    model, html = page("seed/scenario1-after.yaml", before=before)
    ch = model.change
    assert ("Server1/D:\\", "primary", "DPM1", "DPM2") in [
        (m.datasource, m.what, m.before, m.after) for m in ch.moves
    ]
    verdicts = {v.rule: v for v in ch.verdicts}
    assert verdicts["NO-MOVE-UNDER-SECONDARY"].findings == 1
    assert verdicts["REMOVED-IS-GONE"].findings == 0
    assert 'href="#rule-NO-MOVE-UNDER-SECONDARY"' in html


def test_long_rule_sections_are_capped(monkeypatch):
    """Past FINDINGS_SHOWN rows a rule lists no more and says how many it left out."""
    monkeypatch.setattr(core, "FINDINGS_SHOWN", 1)
    topology = dpmsmt.loads(
        'dpmsmt: 1\ndpm_servers:\n  D1: {version: "10.19.58.0"}\n  D2: {version: "10.19.58.0", protects: [D1]}\n'
        "servers:\n  S1:\n    agent: D1\n    datasources:\n"
        "      - {name: 'D:\\', secondary: D2, dedup: true}\n"
        "      - {name: 'E:\\', secondary: D2, dedup: true}\n"
        "      - {name: 'F:\\', secondary: D2, dedup: true}\n"
    )
    model = core.collect(topology, today=dt.date.fromisoformat(TODAY))
    (section,) = model.rules
    assert section.id == "DEDUP-NO-SECONDARY" and section.counting == 3
    assert len(section.findings) == 1 and section.hidden == 2
    assert "2 more DEDUP-NO-SECONDARY findings are not listed" in render_html(model)


def test_options(capsys, tmp_path):
    src = str(MODELS / "good/seed.yaml")
    out = tmp_path / "r.html"
    out.write_text("keep", encoding="utf-8")
    code, _, err = run(capsys, "report", src, "-o", str(out))
    assert code == 2 and "exists; use --force" in err and out.read_text() == "keep"
    code, _, _ = run(capsys, "report", src, "-o", str(out), "--force", "--today", TODAY)
    assert code == 0 and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    for argv, message in (
        (["--failures", "0"], "--failures: at least 1"),
        (["--today", "soon"], "--today: not an ISO date"),
        (["--fail", "NOPE"], "NOPE"),
    ):
        code, _, err = run(capsys, "report", src, "-o", str(tmp_path / "n.html"), *argv)
        assert code == 2 and err.startswith("dpmsmt: error: ") and message in err
        assert err.count("\n") == 1 and not (tmp_path / "n.html").exists()
    code, _, err = run(capsys, "report", src)
    assert code == 2 and "--output" in err


def test_heat_map_keeps_the_most_hurt(monkeypatch):
    """Past HEAT_MAX servers the map keeps those of the worst failures and says of how many."""
    monkeypatch.setattr(core, "HEAT_MAX", 2)
    model, html = page("seed/before.yaml", failures=2, jobs=1)
    hm = model.resilience.heatmap
    assert len(hm.names) == 2 and hm.shown_of == 3
    assert "The 2 DPM servers of the worst failures are shown, of 3." in html


def test_unused_waiver_and_baseline(capsys, tmp_path):
    model, _ = page("bad/waiver-unused.yaml")
    assert [w.state for w in model.waivers] == ["unused"]
    src = str(MODELS / "bad/version-match.yaml")
    base = tmp_path / "b.json"
    run(capsys, "check", src, "--write-baseline", str(base), "--today", TODAY)
    out = tmp_path / "r.html"
    code, _, _ = run(capsys, "report", src, "-o", str(out), "--baseline", str(base))
    html = out.read_text(encoding="utf-8")
    n = dpmsmt.check(dpmsmt.load(src), today=TODAY).counts()["error"]
    assert code == 0 and n >= 1
    assert f'<dd data-count="baselined">{n}</dd>' in html


def test_the_command_embeds_the_runbook_that_format_ps1_writes(capsys, tmp_path):
    """`dpmsmt report` on an estate with a failed server shows the script `suggest-move
    --format ps1` writes for the same plan (without the byte order mark), escaped."""
    seed = str(MODELS / "seed/dpm1-failed.yaml")
    code, script, _ = run(capsys, "suggest-move", seed, "--format", "ps1", "--top", "1")
    assert code == 0
    out = tmp_path / "r.html"
    code, _, _ = run(capsys, "report", seed, "-o", str(out), "--today", TODAY)
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert 'id="runbook-script"' in html
    body = script.lstrip("\ufeff")
    # the page holds the script line for line, escaped as HTML text (as Jinja2 escapes it)
    from markupsafe import escape

    assert all(str(escape(line)) in html for line in body.splitlines())
