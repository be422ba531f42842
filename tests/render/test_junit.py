"""JUnit XML output (cli.md): one suite per file, one case per evaluated rule, failed where the
rule has a finding that counts; a file with no finding still has its passing cases."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from paths import REPO_DIR

from dpmsmt import cli
from dpmsmt.baseline import apply_baseline
from dpmsmt.check import check
from dpmsmt.findings import Finding, Location, Report, Severity
from dpmsmt.io.loader import load
from dpmsmt.render import junit
from dpmsmt.rules import all_rules

REPO = REPO_DIR
TODAY = "2026-11-24"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def run_check(file: str, before: str | None = None, **options) -> Report:
    return check(load(file), before=load(before) if before else None, today=TODAY, **options)


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    return root


def counts(element: ET.Element) -> tuple[int, int, int, int]:
    return tuple(int(element.get(k)) for k in ("tests", "failures", "errors", "skipped"))


def static_rules(profile: str) -> list[str]:
    return [r.id for r in all_rules() if not r.change and r.severity_in(profile) is not None]


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    out = {}
    for case in suite.iter("testcase"):
        assert case.get("classname") == suite.get("name")
        out[case.get("name")] = case
    return out


def test_bad_model():
    report = run_check("models/bad/replica-policy.yaml")
    text = junit.render(report)
    assert text == junit.render(report), "deterministic"
    root = parse(text)
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "models/bad/replica-policy.yaml"
    rules = static_rules("strict")
    assert counts(suite) == counts(root) == (len(rules), 1, 0, 0)
    by_rule = cases(suite)
    assert sorted(by_rule) == rules
    (failure,) = by_rule["REPLICA-POLICY"]
    assert failure.tag == "failure"
    assert (failure.get("message"), failure.get("type")) == ("2 errors", "error")
    lines = failure.text.splitlines()
    assert len(lines) == 2
    loc = report.findings[0].location
    assert lines[0].startswith(
        f"models/bad/replica-policy.yaml:16:{loc.column}: error: the secondary policy"
    )
    assert lines[0].endswith(f"(at {report.findings[0].location.path})")
    for rule, case in by_rule.items():
        if rule != "REPLICA-POLICY":
            assert list(case) == [], f"{rule} passes"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"profile": "strict", "verdict": "invalid"}


def test_good_model_has_only_passing_cases():
    root = parse(junit.render(run_check("models/good/seed.yaml")))
    (suite,) = root.findall("testsuite")
    n = len(static_rules(load("models/good/seed.yaml").profile))
    assert n > 0
    assert counts(suite) == (n, 0, 0, 0)
    assert all(list(case) == [] for case in suite.iter("testcase"))


def test_warnings_and_infos_fail_their_case():
    root = parse(junit.render(run_check("models/bad/waiver-expired.yaml")))
    by_rule = cases(root.find("testsuite"))
    assert counts(root)[1] == 2
    assert by_rule["PRIMARY-DOWN"].find("failure").get("message") == "1 error"
    expired = by_rule["WAIVER-EXPIRED"].find("failure")
    assert (expired.get("message"), expired.get("type")) == ("1 warning", "warning")
    info = parse(junit.render(run_check("models/bad/unprotected.yaml")))
    failure = cases(info.find("testsuite"))["UNPROTECTED"].find("failure")
    assert (failure.get("message"), failure.get("type")) == ("1 info", "info")


def test_waived_finding_passes_and_is_listed():
    root = parse(junit.render(run_check("models/good/waiver.yaml")))
    (suite,) = root.findall("testsuite")
    assert counts(suite)[1] == 0
    case = cases(suite)["SECONDARY-COVERAGE"]
    assert case.find("failure") is None
    out = case.find("system-out").text
    assert "SQL01/MSSQLSERVER/Reports" in out
    assert "[waived: Reports is rebuilt nightly" in out


def test_baselined_finding_passes():
    report = run_check("models/bad/waiver-expired.yaml")
    primary_down = report.findings[0]
    root = parse(junit.render(apply_baseline(report, {primary_down.fingerprint})))
    by_rule = cases(root.find("testsuite"))
    assert by_rule["PRIMARY-DOWN"].find("failure") is None
    assert by_rule["PRIMARY-DOWN"].find("system-out").text.rstrip().endswith("[baselined]")
    assert by_rule["WAIVER-EXPIRED"].find("failure") is not None
    assert counts(root)[1] == 1


def test_change_check_has_the_change_rules():
    report = run_check("models/seed/scenario1-after.yaml", "models/seed/before.yaml")
    root = parse(junit.render(report))
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "models/seed/scenario1-after.yaml"
    by_rule = cases(suite)
    expected = [r.id for r in all_rules() if r.severity_in("2012") is not None]
    assert sorted(by_rule) == expected
    assert by_rule["NO-MOVE-UNDER-SECONDARY"].find("failure").get("message") == "1 error"
    assert by_rule["HISTORY-LEFT-BEHIND"].find("failure").get("message") == "1 info"
    assert counts(suite) == (len(expected), 2, 0, 0)
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["before"] == "models/seed/before.yaml"


def test_mixed_severities_and_characters_xml_cannot_carry():
    def finding(severity: Severity, message: str) -> Finding:
        return Finding(
            rule="REPLICA-POLICY",
            severity=severity,
            message=message,
            entities={"datasource": message},
            location=Location("e.yaml", 3, 5, "servers.S"),
        )

    report = Report(
        file="e.yaml",
        profile="2016",
        findings=(
            finding(Severity.ERROR, "tape <short> & \x01"),
            finding(Severity.WARNING, "online"),
            finding(Severity.WARNING, "online 2"),
        ),
    )
    root = parse(junit.render(report, rules=["REPLICA-POLICY", "UNPROTECTED"]))
    suite = root.find("testsuite")
    assert counts(suite) == (2, 1, 0, 0)
    failure = cases(suite)["REPLICA-POLICY"].find("failure")
    assert (failure.get("message"), failure.get("type")) == ("1 error, 2 warnings", "error")
    assert "tape <short> & \\x01" in failure.text


def test_cli_junit_counts_follow_select(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(
            [
                "check",
                "models/bad/replica-policy.yaml",
                "--format",
                "junit",
                "--select",
                "REPLICA-POLICY,DEDUP-NO-SECONDARY",
            ]
        )
    out = capsys.readouterr()
    assert (info.value.code, out.err) == (1, "")
    suite = parse(out.out).find("testsuite")
    assert sorted(cases(suite)) == ["DEDUP-NO-SECONDARY", "REPLICA-POLICY"]
    assert counts(suite) == (2, 1, 0, 0)


def test_cli_junit_equals_the_renderer(capsys):
    file = "models/bad/replica-policy.yaml"
    with pytest.raises(SystemExit):
        cli.main(["check", file, "--format", "junit", "--today", TODAY])
    assert capsys.readouterr().out == junit.render(run_check(file))
