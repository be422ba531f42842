"""The command line (cli.md): exit codes, error lines, options, output files, other commands.

Most tests call `dpmsmt.cli.main(argv)` in process (main maps exceptions to exit codes; typer's
CliRunner on `app` would bypass that mapping) and read stdout/stderr through capsys; a few run
`python -m dpmsmt` in a subprocess. Files are written to a temporary folder, which is the working
directory, so paths in messages are as given on the command line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
import z3

from dpmsmt import cli

REPO = Path(__file__).resolve().parent.parent
TODAY = "2026-11-24"

ERROR_LINE = re.compile(
    r"dpmsmt: error: (?P<file>[^:\n]+):(?P<line>\d+):(?P<column>\d+): (?P<message>[^\n]+) "
    r"\(at (?P<path>[^\n]+)\)\n"
)
OPTION_ERROR_LINE = re.compile(r"dpmsmt: error: (?P<message>[^\n]+)\n")

CLEAN = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0"}
  DPM2: {version: "10.19.58.0", protects: [DPM1]}
servers:
  Server1:
    agent: DPM1
    datasources: [{name: 'D:\\', secondary: DPM2}]
"""

# two errors of two rules: VERSION-MATCH (DPM2 differs) and DEDUP-NO-SECONDARY
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

# warnings only: SECONDARY-COVERAGE for E: (DPM1 has a secondary, E: is not protected by it)
WARNINGS = CLEAN.replace("secondary: DPM2}]", "secondary: DPM2}, {name: 'E:\\'}]")

# an info only: UNPROTECTED
INFOS = CLEAN.replace("secondary: DPM2}]", "secondary: DPM2}, {name: 'E:\\', primary: null}]")

# a waived error whose waiver expires at the end of June 2026
WAIVED = (
    ERRORS.replace("dedup: true", "dedup: false")
    + "waivers:\n"
    + "  - {rule: VERSION-MATCH, target: DPM2, reason: UR upgrade, expires: 2026-06-30}\n"
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else code), out.out, out.err


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding the example files above."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    for name, text in {
        "clean.yaml": CLEAN,
        "errors.yaml": ERRORS,
        "warnings.yaml": WARNINGS,
        "infos.yaml": INFOS,
        "waived.yaml": WAIVED,
    }.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def rules_in(stdout: str) -> list[str]:
    return [f["rule"] for f in json.loads(stdout)["findings"]]


# -- exit codes 0 and 1 ------------------------------------------------------------------------


def test_clean_file_exits_0(files, capsys):
    code, out, err = run(capsys, "check", "clean.yaml")
    assert (code, err) == (0, "")
    assert out.rstrip("\n").splitlines()[-1] == (
        "clean.yaml: valid under profile strict: 0 errors, 0 warnings, 0 info"
    )
    assert "\x1b[" not in out  # not a terminal: no colour


def test_errors_exit_1(files, capsys):
    code, out, err = run(capsys, "check", "errors.yaml", "--format", "json")
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["verdict"] == "invalid"
    assert report["counts"] == {"error": 2, "warning": 0, "info": 0, "waived": 0}
    assert rules_in(out) == ["DEDUP-NO-SECONDARY", "VERSION-MATCH"]


def test_text_report_groups_by_rule_and_ends_with_a_summary(files, capsys):
    code, out, _ = run(capsys, "check", "errors.yaml")
    assert code == 1
    lines = out.rstrip("\n").splitlines()
    assert lines[0] == "error DEDUP-NO-SECONDARY (1)"
    assert lines[1].startswith("  errors.yaml:8:")
    assert "error VERSION-MATCH (1)" in lines
    assert lines[lines.index("error VERSION-MATCH (1)") + 1].startswith("  errors.yaml:")
    assert lines[-1] == "errors.yaml: invalid under profile strict: 2 errors, 0 warnings, 0 info"


@pytest.mark.parametrize(
    ("file", "fail_on", "code"),
    [
        ("errors.yaml", "never", 0),
        ("errors.yaml", "error", 1),
        ("warnings.yaml", "error", 0),  # the default
        ("warnings.yaml", "warning", 1),
        ("warnings.yaml", "info", 1),
        ("infos.yaml", "warning", 0),
        ("infos.yaml", "info", 1),
        ("clean.yaml", "info", 0),
    ],
)
def test_fail_on(files, capsys, file, fail_on, code):
    got, _, err = run(capsys, "check", file, "--fail-on", fail_on)
    assert (got, err) == (code, "")


def test_fail_on_defaults_to_error(files, capsys):
    assert run(capsys, "check", "warnings.yaml")[0] == 0
    assert run(capsys, "check", "errors.yaml")[0] == 1


# -- exit code 2: bad input, one line on stderr ---------------------------------------------------

DEEP = "[" * 70 + "]" * 70
BOMB = "dpmsmt: 1\ndpm_servers: {}\nexpect:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  {b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)

# file name, content, (line, column, path), part of the message
INPUT_ERRORS = [
    pytest.param(
        "syntax.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0'\n",
        (4, 1, "<root>"),
        "YAML syntax error",
        id="yaml-syntax",
    ),
    pytest.param(
        "syntax.json",
        b'{"dpmsmt": 1,\n "dpm_servers": {,}}',
        (2, 18, "<root>"),
        "JSON syntax error",
        id="json-syntax",
    ),
    pytest.param(
        "key.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0', protect: []}\n",
        (3, 26, "dpm_servers.DPM1.protect"),
        "unknown key `protect`: did you mean `protects`?",
        id="unknown-key",
    ),
    pytest.param(
        "type.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0', protects: DPM2}\n",
        (3, 36, "dpm_servers.DPM1.protects"),
        "`protects`:",
        id="wrong-type",
    ),
    pytest.param(
        "float.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: 10.19}\n",
        (3, 19, "dpm_servers.DPM1.version"),
        'write it in quotes, e.g. "10.19"',
        id="unquoted-version",
    ),
    pytest.param(
        "undefined.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0'}\nservers:\n"
        b"  S1: {agent: DPM1, datasources: [{name: a, secondary: DPM9}]}\n",
        (5, 56, "servers.S1.datasources[0].secondary"),
        "DPM server DPM9 is not defined",
        id="undefined-name",
    ),
    pytest.param(
        "twice.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0'}\nservers:\n"
        b"  S1: {agent: DPM1, datasources: [{name: a}, {name: A}]}\n",
        (5, 53, "servers.S1.datasources[1].name"),
        "is listed twice on S1",
        id="duplicate-data-source",
    ),
    pytest.param(
        "dupkey.yaml",
        b"dpmsmt: 1\ndpm_servers: {}\ndpm_servers: {}\n",
        (3, 1, "dpm_servers"),
        "duplicate key 'dpm_servers'",
        id="duplicate-key-yaml",
    ),
    pytest.param(
        "dupkey.json",
        b'{"dpmsmt": 1, "dpm_servers": {}, "dpmsmt": 1}',
        (1, 34, "dpmsmt"),
        "duplicate key 'dpmsmt'",
        id="duplicate-key-json",
    ),
    pytest.param(
        "both.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0'}\nservers:\n  DPM1: {}\n",
        (5, 3, "servers.DPM1"),
        "defined both as a DPM server and as a protected server",
        id="dpm-and-protected-server",
    ),
    pytest.param(
        "switched.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0'}\nservers:\n"
        b"  S1: {agent: DPM1, datasources: [{name: a, mode: switched}]}\n",
        (5, 35, "servers.S1.datasources[0]"),
        "`switched_from` is required with `mode: switched`",
        id="switched-from-missing",
    ),
    pytest.param(
        "normal.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0'}\nservers:\n"
        b"  S1: {agent: DPM1, datasources: [{name: a, switched_from: DPM1}]}\n",
        (5, 45, "servers.S1.datasources[0].switched_from"),
        "`switched_from` is given only with `mode: switched`",
        id="switched-from-extra",
    ),
    pytest.param(
        "failure.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0', failure: {storage: lost}}\n",
        (3, 35, "dpm_servers.DPM1.failure"),
        "`failure` is given only with `status: failed`",
        id="failure-not-failed",
    ),
    pytest.param(
        "inactive.yaml",
        b"dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0', inactive: [{datasource: x/y, from: Z}]}\n",
        (3, 61, "dpm_servers.DPM1.inactive[0].from"),
        "DPM server Z is not defined",
        id="inactive-from-undefined",
    ),
    pytest.param(
        "waiver.yaml",
        b"dpmsmt: 1\ndpm_servers: {}\nwaivers: [{rule: NOPE-RULE, reason: x}]\n",
        (3, 18, "waivers[0].rule"),
        "unknown rule id NOPE-RULE",
        id="waiver-unknown-rule",
    ),
    pytest.param(
        "target.yaml",
        b"dpmsmt: 1\ndpm_servers: {}\nwaivers: [{rule: UNPROTECTED, target: S9, reason: x}]\n",
        (3, 39, "waivers[0].target"),
        "waiver target S9 is not a defined",
        id="waiver-undefined-target",
    ),
    pytest.param(
        "agents.yaml",
        b"dpmsmt: 1\ndpm_servers: {A: {version: '1'}, B: {version: '1'}}\nservers:\n"
        b"  HV: {agent: [A, B], cluster: true, datasources: [{name: vm1}]}\n",
        (4, 52, "servers.HV.datasources[0]"),
        "`primary` is required when the server's `agent` is a list",
        id="agent-list-without-primary",
    ),
    pytest.param(
        "deep.yaml",
        f"dpmsmt: 1\ndpm_servers: {{}}\nexpect: {DEEP}\n".encode(),
        (3, 9, "<root>"),
        "nesting deeper than 64 levels is refused",
        id="deep-yaml",
    ),
    pytest.param(
        "deep.json",
        f'{{"dpmsmt": 1, "dpm_servers": {{}}, "expect": {DEEP}}}'.encode(),
        (1, 107, "expect" + "[0]" * 63),
        "nesting deeper than 64 levels is refused",
        id="deep-json",
    ),
    pytest.param(
        "control.yaml",
        b'dpmsmt: 1\ndpm_servers: {}\nname: "a\x01b"\n',
        (3, 9, "<root>"),
        "control characters are not allowed",
        id="control-character",
    ),
    pytest.param(
        "bomb.yaml",
        BOMB.encode(),
        (8, 6, "expect.f[7]"),
        "YAML aliases expand beyond 1,000,000 nodes",
        id="alias-bomb",
    ),
    pytest.param(
        "latin1.yaml",
        b"dpmsmt: 1\nname: Z\xfcrich\ndpm_servers: {}\n",
        (2, 8, "<root>"),
        "the file is not valid UTF-8",
        id="invalid-utf8",
    ),
]


def _one_error_line(err: str, file: str, at: tuple, message: str) -> None:
    assert "Traceback" not in err
    match = ERROR_LINE.fullmatch(err)
    assert match, f"not one `FILE:LINE:COL: MESSAGE (at PATH)` line: {err!r}"
    got = (match["file"], int(match["line"]), int(match["column"]), match["path"])
    assert got == (file, *at)
    assert message in match["message"]


@pytest.mark.parametrize(("name", "content", "at", "message"), INPUT_ERRORS)
@pytest.mark.parametrize("command", ["check", "validate"])
def test_input_error_is_one_line_and_exit_2(files, capsys, command, name, content, at, message):
    if content is not None:
        (files / name).write_bytes(content)
    code, out, err = run(capsys, command, name)
    assert (code, out) == (2, ""), "exit 2 and nothing on stdout"
    _one_error_line(err, name, at, message)


def test_utf8_bom_is_accepted(files, capsys):
    Path("bom.yaml").write_bytes(b"\xef\xbb\xbf" + CLEAN.encode())
    code, out, err = run(capsys, "validate", "bom.yaml")
    assert (code, out, err) == (
        0,
        "bom.yaml: ok (2 DPM servers, 1 protected servers, 1 data sources)\n",
        "",
    )


def test_json_nesting_outside_expect_exits_2(files, capsys):
    Path("deep-dpm.json").write_text(f'{{"dpmsmt": 1, "dpm_servers": {{"DPM1": {DEEP}}}}}')
    code, out, err = run(capsys, "check", "deep-dpm.json")
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    match = ERROR_LINE.fullmatch(err)
    assert match, err
    assert match["file"] == "deep-dpm.json"
    assert match["path"].startswith("dpm_servers.DPM1")


def test_file_larger_than_64_mib_exits_2(files, capsys):
    with open("big.yaml", "wb") as fh:  # sparse
        fh.truncate(64 * 1024 * 1024 + 1)
    code, out, err = run(capsys, "check", "big.yaml")
    assert (code, out) == (2, "")
    # about the whole file: the position-less form (cli.md), no fake 1:1
    assert err == "dpmsmt: error: the file big.yaml is larger than 64 MiB (67,108,865 bytes)\n"


def test_bad_before_file_exits_2(files, capsys):
    code, out, err = run(capsys, "check", "clean.yaml", "--before", "nope.yaml")
    assert (code, out) == (2, "")
    assert err == "dpmsmt: error: cannot read the file nope.yaml: No such file or directory\n"


BAD_OPTIONS = [
    pytest.param(["--format", "xml"], r"'xml' is not one of", id="format-xml"),
    pytest.param(["--profile", "2013"], r"^--profile: unknown profile '2013'", id="profile-2013"),
    pytest.param(["--select", "NOPE"], r"^unknown rule id NOPE", id="select-unknown"),
    pytest.param(["--ignore", "VERSION-MATCH,NOPE"], r"^unknown rule id NOPE", id="ignore-unknown"),
    pytest.param(["--fail-on", "sometimes"], r"'sometimes' is not one of", id="fail-on"),
    pytest.param(["--today", "2026-13-01"], r"^--today: not an ISO date", id="today"),
    pytest.param(["--timeout", "soon"], r"--timeout", id="timeout"),
    pytest.param(["--frobnicate"], r"No such option: --frobnicate", id="unknown-option"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_bad_option_is_one_line_and_exit_2(files, capsys, options, message):
    code, out, err = run(capsys, "check", "errors.yaml", *options)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    match = OPTION_ERROR_LINE.fullmatch(err)
    assert match, err
    assert re.search(message, match["message"]), match["message"]
    assert not ERROR_LINE.fullmatch(err), "no file position for a bad option"


def test_missing_argument_and_unknown_command_exit_2(files, capsys):
    for argv in (["check"], ["frobnicate"]):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, "")
        assert OPTION_ERROR_LINE.fullmatch(err), err


# -- exit code 3: the solver gave up ----------------------------------------------------------------


def large_estate(n: int = 400) -> dict:
    """Chains of four DPM servers with distinct builds and thousands of distinct rule signatures."""
    dpm = {}
    for i in range(n):
        d = {"version": f"10.{i % 7}.{i}.0", "os": f"OS {i % 5}"}
        if i % 4:
            d["protects"] = [f"D{i - 1}"]
        dpm[f"D{i}"] = d
    servers = {}
    for i in range(n):
        secondary = f"D{i + 1}" if (i + 1) % 4 and i + 1 < n else f"D{i}"
        servers[f"S{i}"] = {
            "agent": f"D{i}",
            "datasources": [
                {
                    "name": f"v{j}",
                    "type": "sql",
                    "secondary": secondary,
                    "policy": {"sync_minutes": 15 * (j + 1)},
                    "secondary_policy": {"sync_minutes": i % 97},
                }
                for j in range(3)
            ],
        }
    return {"dpmsmt": 1, "dpm_servers": dpm, "servers": servers}


def test_solver_time_limit_exits_3(files, capsys):
    """A real time limit: 1 ms on an estate whose solving takes about 100 times longer."""
    Path("large.json").write_text(json.dumps(large_estate()), encoding="utf-8")
    code, out, err = run(capsys, "check", "large.json", "--timeout", "0.001", "--format", "json")
    assert (code, out) == (3, "")
    assert re.fullmatch(r"dpmsmt: error: the solver gave up: [^\n]+\n", err), err


def test_solver_unknown_exits_3(files, capsys, monkeypatch):
    """Z3 answering `unknown` (patched through its public API) is exit 3 with Z3's reason."""
    monkeypatch.setattr(z3.Solver, "check", lambda self, *assumptions: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "unknown")
    for argv in (["check", "clean.yaml"], ["check", "errors.yaml", "--fail-on", "never"]):
        code, out, err = run(capsys, *argv)
        assert (code, out, err) == (3, "", "dpmsmt: error: the solver gave up: unknown\n")


# -- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "rules", "code"),
    [
        ([], ["DEDUP-NO-SECONDARY", "VERSION-MATCH"], 1),
        (["--select", "VERSION-MATCH"], ["VERSION-MATCH"], 1),
        (
            ["--select", "version-match,dedup-no-secondary"],
            ["DEDUP-NO-SECONDARY", "VERSION-MATCH"],
            1,
        ),
        (
            ["--select", "VERSION-MATCH", "--select", "DEDUP-NO-SECONDARY"],
            ["DEDUP-NO-SECONDARY", "VERSION-MATCH"],
            1,
        ),
        (["--ignore", "VERSION-MATCH"], ["DEDUP-NO-SECONDARY"], 1),
        (["--ignore", "VERSION-MATCH,DEDUP-NO-SECONDARY"], [], 0),
        (["--select", "SECONDARY-ONCE"], [], 0),
    ],
)
def test_select_and_ignore(files, capsys, options, rules, code):
    got, out, _ = run(capsys, "check", "errors.yaml", "--format", "json", *options)
    assert got == code
    assert rules_in(out) == rules


def test_profile_option_overrides_the_file(files, capsys):
    Path("p2012.yaml").write_text('profile: "2012"\n' + ERRORS, encoding="utf-8")
    _, out, _ = run(capsys, "check", "p2012.yaml", "--format", "json")
    assert json.loads(out)["profile"] == "2012"
    # under 2019 VERSION-MATCH compares major.minor; the rollup difference is BUILD-MATCH's
    _, out, _ = run(capsys, "check", "p2012.yaml", "--format", "json", "--profile", "2019")
    assert json.loads(out)["profile"] == "2019"
    assert rules_in(out) == ["BUILD-MATCH", "DEDUP-NO-SECONDARY"]


@pytest.mark.parametrize(
    ("today", "code", "rules"),
    [
        ("2026-06-30", 0, ["VERSION-MATCH"]),  # the last day of the waiver: still waived
        ("2026-07-01", 1, ["VERSION-MATCH", "WAIVER-EXPIRED"]),  # expired: counts again
    ],
)
def test_today_makes_waiver_expiry_reproducible(files, capsys, today, code, rules):
    got, out, _ = run(capsys, "check", "waived.yaml", "--format", "json", "--today", today)
    assert got == code
    report = json.loads(out)
    assert rules_in(out) == rules
    assert report["findings"][0]["waived"] is (code == 0)
    # the same date gives the same bytes
    assert run(capsys, "check", "waived.yaml", "--format", "json", "--today", today)[1] == out


def test_without_today_the_date_is_today(files, capsys):
    code, out, _ = run(capsys, "check", "waived.yaml", "--format", "json")
    expired = dt.date.today() > dt.date(2026, 6, 30)
    assert code == int(expired)
    assert ("WAIVER-EXPIRED" in rules_in(out)) is expired


# -- --output ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_output_file_equals_stdout(files, capsys, fmt):
    (files / "out").mkdir()
    code, stdout, _ = run(capsys, "check", "errors.yaml", "--format", fmt, "--today", TODAY)
    assert code == 1
    code, nothing, err = run(
        capsys, "check", "errors.yaml", "--format", fmt, "--today", TODAY, "--output", "out/r"
    )
    assert (code, nothing, err) == (1, "", "")
    assert (files / "out" / "r").read_text(encoding="utf-8") == stdout
    assert [p.name for p in (files / "out").iterdir()] == ["r"], "no temporary file left"


def test_output_replaces_an_existing_file(files, capsys):
    Path("report.json").write_text("old report, longer than the new one " * 1000)
    run(capsys, "check", "clean.yaml", "--format", "json", "--output", "report.json", "--force")
    assert json.loads(Path("report.json").read_text())["verdict"] == "valid"
    assert sorted(p.name for p in files.iterdir() if p.name.startswith(".")) == []


def test_output_is_not_written_on_bad_input(files, capsys):
    Path("bad.yaml").write_text("dpmsmt: 1\ndpm_servers: {DPM1: {version: 1.0}}\n")
    code, _, _ = run(capsys, "check", "bad.yaml", "--output", "report.txt")
    assert code == 2
    assert not Path("report.txt").exists()


def test_output_into_a_missing_folder_exits_2(files, capsys):
    code, out, err = run(capsys, "check", "clean.yaml", "--output", "no/such/folder/r.json")
    assert (code, out) == (2, "")
    assert re.fullmatch(
        r"dpmsmt: error: --output no/such/folder/r\.json: the folder [^\n]+ does not exist\n", err
    )


# -- other commands ---------------------------------------------------------------------------------


def test_rules_lists_the_catalogue(capsys):
    from dpmsmt.rules import rule_ids

    code, out, err = run(capsys, "rules")
    assert (code, err) == (0, "")
    listed = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert listed == list(rule_ids())
    assert "SECONDARY-ONCE  [error]" in out
    assert "CYCLE-TWO-ONLY  [error (strict) / warning (2012, 2016, 2019, 2022, 2025)]" in out


def test_rules_json(capsys):
    code, out, _ = run(capsys, "rules", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "dpmsmt/1"
    sql = next(r for r in doc["rules"] if r["id"] == "SQL-HIGH-FREQUENCY")
    assert sql["severity"] == {
        "strict": None,
        "2012": None,
        "2016": "warning",
        "2019": None,
        "2022": None,
        "2025": None,
    }


@pytest.mark.parametrize("rule_id", ["SECONDARY-ONCE", "secondary-once"])
def test_rules_one_rule(capsys, rule_id):
    code, out, err = run(capsys, "rules", rule_id)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "SECONDARY-ONCE"
    assert "statement:  A DPM server is protected by at most one secondary." in out
    assert "formal:     ∀y: |{x : P(x,y)}| ≤ 1" in out
    assert "S1: Setting up DPM Chaining (DPM 2010)" in out
    assert "S7: Back up the DPM server" in out


def test_rules_unknown_id_exits_2(capsys):
    code, out, err = run(capsys, "rules", "NOPE")
    assert (code, out) == (2, "")
    assert err == "dpmsmt: error: unknown rule id NOPE (see `dpmsmt rules`)\n"


def test_validate(files, capsys):
    code, out, err = run(capsys, "validate", "errors.yaml")
    assert (code, err) == (0, "")  # readable: validate does not check rules
    assert out == "errors.yaml: ok (2 DPM servers, 1 protected servers, 1 data sources)\n"


def _dates_as_text(value):
    """YAML 1.1 (yaml.safe_load) reads `2026-06-30` as a date; YAML 1.2 and dpmsmt as text."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def test_schema_is_json_schema_that_accepts_the_models(capsys):
    code, out, err = run(capsys, "schema")
    assert (code, err) == (0, "")
    schema = json.loads(out)
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    check = validator(schema)

    # the models' `expect` blocks are for dpmsmt's own tests: the user schema leaves them out
    seed = yaml.safe_load((REPO / "models" / "good" / "seed.yaml").read_text(encoding="utf-8"))
    assert not check.is_valid(seed)
    del seed["expect"]
    check.validate(seed)
    # waiver.yaml fails only because yaml.safe_load (YAML 1.1) turns `expires` into a date
    waiver = yaml.safe_load((REPO / "models" / "good" / "waiver.yaml").read_text(encoding="utf-8"))
    del waiver["expect"]
    assert not check.is_valid(waiver)
    check.validate(_dates_as_text(waiver))

    # and it refuses what the reader refuses
    assert not check.is_valid({**seed, "dpm_server": {}})
    bad = json.loads(json.dumps(seed))
    bad["dpm_servers"]["DPM1"]["version"] = 10.19
    assert not check.is_valid(bad)


# -- python -m dpmsmt --------------------------------------------------------------------------------


def python_m(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dpmsmt", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_python_m_dpmsmt(files):
    done = python_m("check", "errors.yaml", "--format", "json", "--today", TODAY, cwd=files)
    assert (done.returncode, done.stderr) == (1, "")
    assert rules_in(done.stdout) == ["DEDUP-NO-SECONDARY", "VERSION-MATCH"]

    (files / "float.yaml").write_text("dpmsmt: 1\ndpm_servers:\n  DPM1: {version: 10.19}\n")
    done = python_m("validate", "float.yaml", cwd=files)
    assert (done.returncode, done.stdout) == (2, "")
    _one_error_line(done.stderr, "float.yaml", (3, 19, "dpm_servers.DPM1.version"), "quotes")


@pytest.mark.parametrize("fmt", ["sarif", "junit"])
def test_sarif_and_junit_formats_do_not_crash(files, capsys, fmt):
    code, out, err = run(capsys, "check", "errors.yaml", "--format", fmt)
    assert (code, err) == (1, "")
    assert out
