"""SARIF 2.1.0 output (cli.md): valid against the official schema, one result per finding.

Every report is validated against the OASIS schema vendored in `tests/data` (its source and
license note are beside it), and then read as GitHub code scanning would: rule descriptors,
result levels, locations, relatedLocations, suppressions and partialFingerprints. The last part
runs `check` with several `--format`s in one run.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from paths import REPO_DIR, TESTS_DIR

import dpmsmt
from dpmsmt import cli
from dpmsmt.baseline import apply_baseline
from dpmsmt.check import check
from dpmsmt.findings import Finding, Location, Report, Severity
from dpmsmt.io.loader import load
from dpmsmt.render import sarif
from dpmsmt.rules import all_rules
from dpmsmt.sources import SOURCES

REPO = REPO_DIR
SCHEMA_FILE = TESTS_DIR / "data" / "sarif-schema-2.1.0.json"
TODAY = "2026-11-24"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}

BAD = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "models" / "bad").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root so that model paths are relative, as a CI job gives them."""
    monkeypatch.chdir(REPO)


def run_check(file: str, before: str | None = None) -> Report:
    return check(load(file), before=load(before) if before else None, today=TODAY)


def sarif_of(report: Report, validator) -> dict:
    text = sarif.render(report)
    assert text == sarif.render(report), "deterministic"
    log = json.loads(text)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    return log


def assert_consistent(log: dict, report: Report) -> None:
    """What the schema cannot check: indexes point at the right rule and artifact, and every
    result is the finding it renders."""
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("dpmsmt", dpmsmt.__version__)
    assert [r["id"] for r in driver["rules"]] == [r.id for r in all_rules()]
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    assert len(uris) == len(set(uris))
    assert uris[0] == report.file

    def place(physical: dict, loc: Location) -> None:
        art = physical["artifactLocation"]
        assert art["uri"] == loc.file  # relative, as given (these paths need no escaping)
        assert uris[art["index"]] == art["uri"]
        assert physical["region"] == {"startLine": loc.line, "startColumn": loc.column}

    assert len(run["results"]) == len(report.findings)
    for result, f in zip(run["results"], report.findings, strict=True):
        assert result["ruleId"] == f.rule
        assert driver["rules"][result["ruleIndex"]]["id"] == f.rule
        assert result["level"] == LEVEL[f.severity.label]
        assert result["message"]["text"] == f.message
        assert result["partialFingerprints"] == {"dpmsmt/v1": f.fingerprint}
        (location,) = result["locations"]
        place(location["physicalLocation"], f.location)
        assert location["logicalLocations"] == [{"fullyQualifiedName": f.location.path}]
        related = result.get("relatedLocations", [])
        assert [r["message"]["text"] for r in related] == [name for name, _ in f.related]
        assert [r["id"] for r in related] == list(range(1, len(related) + 1))
        for r, (_, loc) in zip(related, f.related, strict=True):
            place(r["physicalLocation"], loc)
        if f.waived:
            assert result["suppressions"] == [
                {"kind": "external", "status": "accepted", "justification": f.waiver_reason}
            ]
        else:
            assert "suppressions" not in result


# -- the catalogue as rule descriptors ------------------------------------------------------------


@pytest.mark.parametrize("profile", ["strict", "2012", "2016", "2019"])
def test_every_catalogue_rule_has_a_descriptor(validator, profile):
    report = Report(file="estate.yaml", profile=profile, findings=())
    log = sarif_of(report, validator)
    (run,) = log["runs"]
    assert run["results"] == []
    rules = {r.id: r for r in all_rules()}
    for d in run["tool"]["driver"]["rules"]:
        rule = rules[d["id"]]
        assert d["shortDescription"]["text"] == rule.statement
        assert d["fullDescription"]["text"].startswith(rule.statement)
        assert d["name"] == "".join(p.capitalize() for p in rule.id.split("-"))
        severity = rule.severity_in(profile)
        assert d["defaultConfiguration"]["level"] == (LEVEL[severity.label] if severity else "none")
        if rule.sources:
            assert d["helpUri"] == SOURCES[rule.sources[0]]["url"]
        else:  # a stable fallback
            assert d["helpUri"] == f"{sarif.INFORMATION_URI}#{rule.id.lower()}"
        assert d["properties"]["sources"] == list(rule.sources)
        assert rule.family in d["properties"]["tags"]


def test_levels_follow_the_profile(validator):
    """CYCLE-TWO-ONLY is an error under strict, a warning under 2012; SQL-HIGH-FREQUENCY is
    reported under 2016 only ("none" elsewhere)."""
    levels = {}
    for profile in ("strict", "2012", "2016"):
        log = sarif_of(Report(file="e.yaml", profile=profile, findings=()), validator)
        levels[profile] = {
            r["id"]: r["defaultConfiguration"]["level"]
            for r in log["runs"][0]["tool"]["driver"]["rules"]
        }
    assert levels["strict"]["CYCLE-TWO-ONLY"] == "error"
    assert levels["2012"]["CYCLE-TWO-ONLY"] == "warning"
    assert levels["2016"]["SQL-HIGH-FREQUENCY"] == "warning"
    assert levels["strict"]["SQL-HIGH-FREQUENCY"] == "none"
    assert levels["strict"]["REPLICA-SYNC-DAILY"] == "note"


# -- results --------------------------------------------------------------------------------------


@pytest.mark.parametrize("file", BAD)
def test_bad_models(validator, file):
    report = run_check(file)
    assert report.findings, "every bad model has a finding"
    log = sarif_of(report, validator)
    assert_consistent(log, report)


def test_result_counts_and_levels(validator):
    report = run_check("models/bad/replica-policy.yaml")
    results = sarif_of(report, validator)["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("REPLICA-POLICY", "error")] * 2
    # two data sources, two alerts: their fingerprints differ
    assert len({r["partialFingerprints"]["dpmsmt/v1"] for r in results}) == 2
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 16

    report = run_check("models/bad/waiver-expired.yaml")
    results = sarif_of(report, validator)["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("PRIMARY-DOWN", "error"),
        ("WAIVER-EXPIRED", "warning"),
    ]
    report = run_check("models/bad/replica-sync-daily.yaml")
    (result,) = sarif_of(report, validator)["runs"][0]["results"]
    assert result["level"] == "note"


def test_waived_finding_is_a_suppressed_result(validator):
    report = run_check("models/good/waiver.yaml")
    log = sarif_of(report, validator)
    assert_consistent(log, report)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "SECONDARY-COVERAGE"
    assert result["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": (
                "Reports is rebuilt nightly from Sales; a replica on DPM2 is not needed (CHG-1042)"
            ),
        }
    ]
    assert log["runs"][0]["properties"]["verdict"] == "valid"


def test_change_check(validator):
    """Scenario 1: the error points at Server1's new primary; the datasource and the three DPM
    servers of the counterexample are related locations, each at its definition."""
    report = run_check("models/seed/scenario1-after.yaml", "models/seed/before.yaml")
    log = sarif_of(report, validator)
    assert_consistent(log, report)
    run = log["runs"][0]
    assert [a["location"]["uri"] for a in run["artifacts"]] == [
        "models/seed/scenario1-after.yaml",
        "models/seed/before.yaml",
    ]
    error, info = run["results"]
    assert (error["ruleId"], error["level"]) == ("NO-MOVE-UNDER-SECONDARY", "error")
    assert (info["ruleId"], info["level"]) == ("HISTORY-LEFT-BEHIND", "note")
    physical = error["locations"][0]["physicalLocation"]
    assert physical["region"] == {
        "startLine": 21,
        "startColumn": report.findings[0].location.column,
    }
    (logical,) = error["locations"][0]["logicalLocations"]
    assert logical["fullyQualifiedName"].startswith("servers.Server1.datasources[0]")
    related = {
        r["message"]["text"]: r["physicalLocation"]["region"]["startLine"]
        for r in error["relatedLocations"]
    }
    assert related == {"Server1/D:\\": 21, "DPM1": 6, "DPM2": 10, "DPM3": 13}
    paths = [r["logicalLocations"][0]["fullyQualifiedName"] for r in error["relatedLocations"]]
    assert paths == [loc.path for _, loc in report.findings[0].related]
    assert paths[1:] == ["dpm_servers.DPM1", "dpm_servers.DPM2", "dpm_servers.DPM3"]
    assert error["partialFingerprints"]["dpmsmt/v1"] == report.findings[0].fingerprint
    assert error["properties"]["options"][0] == "switch protection to DPM3"


def test_fingerprints_survive_moved_lines_and_renamed_files(validator, tmp_path):
    text = (REPO / "models/bad/replica-policy.yaml").read_text(encoding="utf-8")
    moved = tmp_path / "renamed estate.yaml"
    moved.write_text("# a comment\n# and another\n" + text, encoding="utf-8")
    before = sarif_of(run_check("models/bad/replica-policy.yaml"), validator)["runs"][0]["results"]
    after = sarif_of(run_check(str(moved)), validator)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in before] == [r["partialFingerprints"] for r in after]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after] == [18, 19]


def test_unknown_line_is_line_1_and_uris_are_escaped(validator):
    finding = Finding(
        rule="UNPROTECTED",
        severity=Severity.INFO,
        message="x",
        entities={"datasource": "S/x"},
        location=Location("my estates/prod #1.yaml", line=0, column=0),
    )
    report = Report(file="my estates/prod #1.yaml", profile="strict", findings=(finding,))
    (result,) = sarif_of(report, validator)["runs"][0]["results"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["region"] == {"startLine": 1, "startColumn": 1}
    assert physical["artifactLocation"]["uri"] == "my%20estates/prod%20%231.yaml"


def test_baselined_results_have_a_baseline_state(validator):
    report = run_check("models/bad/waiver-expired.yaml")
    first = report.findings[0].fingerprint
    results = sarif_of(apply_baseline(report, {first}), validator)["runs"][0]["results"]
    assert [r["baselineState"] for r in results] == ["unchanged", "new"]
    results = sarif_of(report, validator)["runs"][0]["results"]
    assert all("baselineState" not in r for r in results)


@pytest.mark.parametrize(
    ("given", "uri"),
    [
        ("models/bad/x.yaml", "models/bad/x.yaml"),
        ("./x.yaml", "x.yaml"),
        ("../estates/x.yaml", "../estates/x.yaml"),
        ("models\\bad\\x.yaml", "models/bad/x.yaml"),
        ("/srv/estates/a b.yaml", "file:///srv/estates/a%20b.yaml"),
        ("C:\\estates\\x.yaml", "file:///C:/estates/x.yaml"),
        ("estate:1.yaml", "estate%3A1.yaml"),
        ("Zürich.yaml", "Z%C3%BCrich.yaml"),
    ],
)
def test_artifact_uri(given, uri):
    assert sarif.artifact_uri(given) == uri


# -- the command line: SARIF with other formats in one run ----------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    out = capsys.readouterr()
    return (info.value.code or 0), out.out, out.err


def test_cli_sarif_equals_the_renderer(capsys, validator):
    file = "models/bad/replica-policy.yaml"
    code, out, err = run(capsys, "check", file, "--format", "sarif", "--today", TODAY)
    assert (code, err) == (1, "")
    assert out == sarif.render(run_check(file))
    assert not list(validator.iter_errors(json.loads(out)))


def test_sarif_to_a_file_and_text_to_stdout(capsys, tmp_path):
    file = str(REPO / "models/bad/replica-policy.yaml")
    report = tmp_path / "a.sarif"
    code, out, err = run(
        capsys, "check", file, "--format", "sarif", "--output", str(report), "--format", "text"
    )
    assert (code, err) == (1, "")
    assert (
        out.rstrip()
        .splitlines()[-1]
        .endswith("invalid under profile strict: 2 errors, 0 warnings, 0 info")
    )
    log = json.loads(report.read_text(encoding="utf-8"))
    assert len(log["runs"][0]["results"]) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["a.sarif"], "no temporary file left"


def test_each_output_takes_its_format(capsys, tmp_path):
    file = "models/bad/replica-policy.yaml"
    a, b, c = (tmp_path / n for n in ("r.sarif", "r.xml", "r.json"))
    code, out, err = run(
        capsys, "check", file, "-f", "sarif", "-f", "junit", "-f", "json", "-f", "text",
        "-o", str(a), "-o", str(b), "-o", str(c),
    )  # fmt: skip
    assert (code, err) == (1, "")
    assert json.loads(a.read_text())["version"] == "2.1.0"
    assert b.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    assert json.loads(c.read_text())["command"] == "check"
    assert "error REPLICA-POLICY (2)" in out


def test_all_formats_to_files_leaves_stdout_empty(capsys, tmp_path):
    a, b = tmp_path / "a.sarif", tmp_path / "b.json"
    code, out, err = run(
        capsys,
        "check",
        "models/good/seed.yaml",
        "-f",
        "sarif",
        "-f",
        "json",
        "-o",
        str(a),
        "-o",
        str(b),
    )
    assert (code, out, err) == (0, "", "")
    assert a.exists() and b.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["-f", "sarif", "-f", "text"], "only one --format can go to standard output"),
        (["-f", "json"] * 3 + ["-o", "a.json"], "only one --format can go to standard output"),
        (["-o", "a.txt", "-o", "b.txt"], "2 --output for 1 --format"),
        (["-f", "json", "-f", "sarif", "-o", "a", "-o", "a"], "a is named twice"),
        (["-f", "json", "-o", "a", "--write-baseline", "a"], "a is named twice"),
    ],
)
def test_bad_format_and_output_pairs_exit_2(capsys, tmp_path, options, message):
    file = str(REPO / "models/bad/replica-policy.yaml")
    options = [str(tmp_path / o) if o in ("a", "a.json", "a.txt", "b.txt") else o for o in options]
    code, out, err = run(capsys, "check", file, *options)
    assert (code, out) == (2, "")
    assert err.startswith("dpmsmt: error: ") and err.count("\n") == 1
    assert message in err
    assert list(tmp_path.iterdir()) == [], "nothing written"
