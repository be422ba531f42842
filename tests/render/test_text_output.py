"""Text report of `check`: waived and baselined findings never stand under a severity heading,
and the summary counts what the headings show (issue 11, "Text output")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dpmsmt import cli

ERRORS = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0"}
  DPM2: {version: "10.19.260.0", protects: [DPM1]}
servers:
  Server1:
    agent: DPM1
    datasources: [{name: 'D:\\', secondary: DPM2, dedup: true}]
"""
MORE = ERRORS.replace(
    "dedup: true}]", "dedup: true}, {name: 'E:\\', secondary: DPM2, dedup: true}]"
)
WAIVED = (
    ERRORS + "waivers:\n  - {rule: DEDUP-NO-SECONDARY, target: 'Server1/D:\\', reason: CHG-7}\n"
)
HEADING = re.compile(r"^(error|warning|info) (\S+) \((\d+)\)$", re.M)
SUMMARY = re.compile(r": (\w+)[^:]* under profile \w+: (\d+) errors?, (\d+) warnings?, (\d+) info")


def run(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    return info.value.code or 0, capsys.readouterr().out


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    for name, text in {"errors.yaml": ERRORS, "more.yaml": MORE, "waived.yaml": WAIVED}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def headed(out: str) -> dict[str, int]:
    """How many findings each severity heading announces."""
    counts = {"error": 0, "warning": 0, "info": 0}
    for severity, _, n in HEADING.findall(out):
        counts[severity] += int(n)
    return counts


def summed(out: str) -> dict[str, int]:
    m = SUMMARY.search(out.strip().splitlines()[-1])
    assert m, out
    return {"error": int(m[2]), "warning": int(m[3]), "info": int(m[4])}


def test_baselined_findings_stand_under_no_error_heading(files, capsys):
    assert run(capsys, "check", "errors.yaml", "--write-baseline", "b.json")[0] == 1
    code, out = run(capsys, "check", "more.yaml", "--baseline", "b.json")
    assert code == 1  # E: is new
    assert HEADING.findall(out) == [("error", "DEDUP-NO-SECONDARY", "1")]
    assert "Server1/D:" not in out and "VERSION-MATCH" not in out
    assert "2 baselined findings not shown (--show-waived lists them)" in out
    assert headed(out) == summed(out) == {"error": 1, "warning": 0, "info": 0}
    assert out.strip().splitlines()[-1].endswith("; 2 baselined")


def test_only_baselined_errors_say_so_in_the_verdict(files, capsys):
    run(capsys, "check", "errors.yaml", "--write-baseline", "b.json")
    code, out = run(capsys, "check", "errors.yaml", "--baseline", "b.json")
    assert code == 0
    assert HEADING.findall(out) == []
    assert "invalid (only errors the baseline accepts)" in out
    assert summed(out) == {"error": 0, "warning": 0, "info": 0}


def test_waived_findings_are_counted_apart_and_listed_in_grey_on_request(files, capsys):
    code, out = run(capsys, "check", "waived.yaml")
    assert code == 1
    assert HEADING.findall(out) == [("error", "VERSION-MATCH", "1")]
    assert "1 waived finding not shown" in out
    assert headed(out) == summed(out) == {"error": 1, "warning": 0, "info": 0}
    _, shown = run(capsys, "check", "waived.yaml", "--show-waived")
    assert HEADING.findall(shown) == [("error", "VERSION-MATCH", "1")]
    assert "waived: error DEDUP-NO-SECONDARY (1)" in shown
    assert "(waived: CHG-7)" in shown
    assert "not shown" not in shown


def test_set_aside_findings_are_grey_on_a_terminal(files):
    from dpmsmt.check import check
    from dpmsmt.io.loader import load
    from dpmsmt.render.text import render

    out = render(check(load("waived.yaml")), color=True, show_waived=True)
    line = next(x for x in out.splitlines() if "DEDUP-NO-SECONDARY" in x)
    assert "\x1b[90m" in line and "\x1b[1;31m" not in line  # grey, not bold red


@pytest.mark.parametrize(
    "text", ["a\tb", "x\rq", "[bold]x[/]", "D:\\ path", "ünïcode ✓", "bell\x07", "  both  "]
)
def test_plain_lines_are_what_rich_prints_without_colour(text):
    """Without colour the lines are joined without rich (start-up); they must not differ."""
    import io as _io

    from rich.console import Console
    from rich.text import Text

    from dpmsmt.render.lines import text_lines

    buf, line = text_lines(False)
    line("  ", (text, "red"), " end")
    out = _io.StringIO()
    console = Console(file=out, no_color=True, width=100, highlight=False, soft_wrap=True)
    console.print(Text.assemble("  ", (text, "red"), " end"))
    assert buf.getvalue() == out.getvalue()
