"""Baselines (cli.md, `--baseline FILE` / `--write-baseline FILE`): recorded findings are accepted
by fingerprint, so only new findings count towards the exit code; a missing or malformed baseline
is exit 2 with one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dpmsmt import cli
from dpmsmt.baseline import (
    BaselineError,
    apply_baseline,
    baseline_json,
    parse_baseline,
    render,
)
from dpmsmt.check import check
from dpmsmt.io.loader import loads

TODAY = "2026-11-24"

# two errors: VERSION-MATCH (DPM2 differs) and DEDUP-NO-SECONDARY (Server1/D:\)
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
# one more error of an existing rule, on another data source: a new finding
MORE = ERRORS.replace(
    "dedup: true}]", "dedup: true}, {name: 'E:\\', secondary: DPM2, dedup: true}]"
)
# the same findings, lines moved and names in other case
MOVED = "# estate of site A\n# (reviewed)\n" + ERRORS.replace("Server1", "SERVER1")
# a waived error
WAIVED = (
    ERRORS + "waivers:\n  - {rule: DEDUP-NO-SECONDARY, target: 'Server1/D:\\', reason: CHG-7}\n"
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    out = capsys.readouterr()
    return (info.value.code or 0), out.out, out.err


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, text in {"errors.yaml": ERRORS, "more.yaml": MORE, "moved.yaml": MOVED}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "waived.yaml").write_text(WAIVED, encoding="utf-8")
    return tmp_path


def report_of(text: str, file: str = "e.yaml"):
    return check(loads(text, file=file), today=TODAY)


# -- the core -------------------------------------------------------------------------------------


def test_baseline_records_sorted_unique_fingerprints_of_unwaived_findings():
    report = report_of(ERRORS)
    data = baseline_json(report)
    assert (data["schema"], data["command"]) == ("dpmsmt/1", "baseline")
    assert data["fingerprints"] == sorted(f.fingerprint for f in report.findings)
    assert [(f["rule"], f["fingerprint"]) for f in data["findings"]] == sorted(
        ((f.rule, f.fingerprint) for f in report.findings), key=lambda t: t[1]
    )
    waived = report_of(WAIVED)
    assert [f.rule for f in waived.findings if f.waived] == ["DEDUP-NO-SECONDARY"]
    assert baseline_json(waived)["fingerprints"] == [
        f.fingerprint for f in waived.findings if f.rule == "VERSION-MATCH"
    ]
    assert render(report) == render(report) and render(report).endswith("}\n")


def test_round_trip_and_apply():
    report = report_of(ERRORS)
    prints = parse_baseline(render(report))
    assert prints == {f.fingerprint for f in report.findings}
    marked = apply_baseline(report_of(MORE), prints)
    assert sorted((f.rule, f.baselined) for f in marked.findings) == [
        ("DEDUP-NO-SECONDARY", False),
        ("DEDUP-NO-SECONDARY", True),
        ("VERSION-MATCH", True),
    ]
    assert [f.to_json().get("baselined") for f in marked.findings].count(True) == 2
    assert all("baselined" not in f.to_json() for f in report.findings)


def test_waived_findings_are_not_marked():
    report = report_of(WAIVED)
    marked = apply_baseline(report, {f.fingerprint for f in report.findings})
    assert [(f.rule, f.waived, f.baselined) for f in marked.findings] == [
        ("DEDUP-NO-SECONDARY", True, False),
        ("VERSION-MATCH", False, True),
    ]


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", (1, 1, "<root>"), "JSON syntax error"),
        ('{"schema": "dpmsmt/1",', (1, 23, "<root>"), "JSON syntax error"),
        ("[]", (1, 1, "<root>"), "expected a JSON object"),
        ('{"command": "baseline", "fingerprints": []}', (1, 1, "<root>"), '"schema" must be'),
        ('{"schema": "dpmsmt/2", "command": "baseline"}', (1, 12, "schema"), '"schema" must be'),
        (
            '{"schema": "dpmsmt/1",\n "command": "check", "fingerprints": []}',
            (2, 13, "command"),
            '"command" must be "baseline"',
        ),
        ('{"schema": "dpmsmt/1", "command": "baseline"}', (1, 1, "<root>"), '"fingerprints"'),
        (
            '{"schema": "dpmsmt/1", "command": "baseline", "fingerprints": {}}',
            (1, 63, "fingerprints"),
            "must be a list",
        ),
        (
            '{"schema": "dpmsmt/1", "command": "baseline",\n "fingerprints": ["0123456789abcdef", 7]}',
            (2, 39, "fingerprints[1]"),
            "not a fingerprint",
        ),
        (
            '{"schema": "dpmsmt/1", "command": "baseline", "fingerprints": ["0123456789ABCDEF"]}',
            (1, 64, "fingerprints[0]"),
            "not a fingerprint",
        ),
        (
            '{"schema": "dpmsmt/1", "schema": "dpmsmt/1", "command": "baseline"}',
            (1, 24, "schema"),
            "duplicate key",
        ),
    ],
)
def test_malformed_baselines(text, position, message):
    with pytest.raises(BaselineError) as info:
        parse_baseline(text, file="b.json")
    e = info.value
    assert (e.line, e.column, e.path) == position
    assert message in e.message
    assert str(e) == f"b.json:{e.line}:{e.column}: {e.message} (at {e.path})"


# -- the command line -----------------------------------------------------------------------------


def test_write_then_check_against_the_baseline(files, capsys):
    code, out, err = run(capsys, "check", "errors.yaml", "--write-baseline", "b.json")
    assert code == 1, "writing a baseline does not change the exit code"
    assert out.rstrip().splitlines()[-1].startswith("errors.yaml: invalid")
    assert err == "dpmsmt: recorded 2 finding(s) in the baseline b.json\n"
    data = json.loads(Path("b.json").read_text(encoding="utf-8"))
    assert len(data["fingerprints"]) == 2
    assert sorted(p.name for p in files.iterdir() if p.name.startswith(".")) == [], "no temp file"

    code, out, err = run(capsys, "check", "errors.yaml", "--baseline", "b.json", "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert [f["baselined"] for f in report["findings"]] == [True, True]
    assert report["verdict"] == "invalid", "the topology is as invalid as before; only new count"

    # a new finding fails the run; the recorded ones stay accepted
    code, out, _ = run(capsys, "check", "more.yaml", "--baseline", "b.json", "--format", "json")
    assert code == 1
    new = [f for f in json.loads(out)["findings"] if not f.get("baselined")]
    assert [(f["rule"], f["entities"]["datasource"]) for f in new] == [
        ("DEDUP-NO-SECONDARY", "Server1/E:\\")
    ]


def test_baseline_survives_moved_lines_and_renamed_files(files, capsys):
    run(capsys, "check", "errors.yaml", "--write-baseline", "b.json")
    code, out, _ = run(capsys, "check", "moved.yaml", "--baseline", "b.json", "--format", "json")
    assert code == 0
    assert all(f["baselined"] for f in json.loads(out)["findings"])


def test_fail_on_applies_to_new_findings_only(files, capsys):
    run(capsys, "check", "errors.yaml", "--write-baseline", "b.json")
    assert run(capsys, "check", "more.yaml", "--baseline", "b.json", "--fail-on", "never")[0] == 0
    assert run(capsys, "check", "errors.yaml", "--baseline", "b.json", "--fail-on", "info")[0] == 0


def test_update_a_baseline_in_place(files, capsys):
    run(capsys, "check", "errors.yaml", "--write-baseline", "b.json")
    code, _, _ = run(
        capsys,
        "check",
        "more.yaml",
        "--baseline",
        "b.json",
        "--write-baseline",
        "b.json",
        "--force",
    )
    assert code == 1, "the new finding still fails this run"
    assert len(json.loads(Path("b.json").read_text())["fingerprints"]) == 3
    assert run(capsys, "check", "more.yaml", "--baseline", "b.json")[0] == 0


def test_waived_findings_stay_out_of_the_baseline(files, capsys):
    code, _, _ = run(capsys, "check", "waived.yaml", "--write-baseline", "b.json")
    assert code == 1  # VERSION-MATCH is not waived
    data = json.loads(Path("b.json").read_text())
    assert [f["rule"] for f in data["findings"]] == ["VERSION-MATCH"]


def test_baseline_with_sarif_and_text(files, capsys):
    run(capsys, "check", "errors.yaml", "--write-baseline", "b.json")
    code, out, err = run(
        capsys, "check", "more.yaml", "--baseline", "b.json",
        "--format", "sarif", "--output", "r.sarif", "--format", "text",
    )  # fmt: skip
    assert (code, err) == (1, "")
    results = json.loads(Path("r.sarif").read_text())["runs"][0]["results"]
    assert sorted(r["baselineState"] for r in results) == ["new", "unchanged", "unchanged"]
    assert "more.yaml: invalid" in out


BASELINE_ERROR = re.compile(r"dpmsmt: error: b\.json:\d+:\d+: [^\n]+ \(at [^\n]+\)\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the baseline b.json: No such file or directory"),
        (b"not json", "JSON syntax error"),
        (b'{"schema": "dpmsmt/1", "command": "check", "findings": []}', '"command" must be'),
        (b'{"schema": "dpmsmt/1", "command": "baseline", "fingerprints": [1]}', "fingerprint"),
        (b"\xfe{}", "not valid UTF-8"),
    ],
)
def test_missing_or_invalid_baseline_exits_2(files, capsys, content, message):
    if content is not None:
        Path("b.json").write_bytes(content)
    code, out, err = run(
        capsys, "check", "errors.yaml", "--baseline", "b.json", "--output", "r.txt"
    )
    assert (code, out) == (2, "")
    if content is None:  # a missing file has no position to point at (cli.md's other form)
        assert err == f"dpmsmt: error: {message}\n"
    else:
        assert BASELINE_ERROR.fullmatch(err), err
    assert message in err
    assert not Path("r.txt").exists(), "no report written"


def test_a_check_report_is_not_a_baseline(files, capsys):
    run(capsys, "check", "errors.yaml", "--format", "json", "--output", "report.json")
    code, _, err = run(capsys, "check", "errors.yaml", "--baseline", "report.json")
    assert code == 2
    assert '"command" must be "baseline"' in err
