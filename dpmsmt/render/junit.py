"""JUnit XML output (cli.md) for CI systems that show test reports (GitLab, Jenkins, Azure DevOps).

One `<testsuite>` per file (the checked file, and any other file a finding points into), one
`<testcase>` per rule evaluated under the report's profile (classname: the file, name: the rule
id). A case fails where its rule has a finding that counts (not waived, not accepted by a
baseline): the failure's message is the count per severity and its text lists the findings' places
and messages. Waived and baselined findings are listed in the case's `<system-out>`. A file with
no finding still has its passing cases. Deterministic: attributes in a fixed order, no timestamps,
no durations.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from dpmsmt.findings import Finding, Report, Severity
from dpmsmt.rules import all_rules

__all__ = ["evaluated_rules", "render"]

# Characters XML 1.0 cannot carry, even escaped: they are written as \xNN.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def evaluated_rules(
    report: Report,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
) -> list[str]:
    """The ids of the rules `check` evaluated for this report, in catalogue order.

    A rule is evaluated when it is reported under the report's profile, is a static rule or the
    report is of a change (`before` given), and passes `--select`/`--ignore`.
    """
    chosen = set(select) if select else None
    dropped = set(ignore or ())
    return [
        r.id
        for r in all_rules()
        if r.severity_in(report.profile) is not None
        and (report.before is not None or not r.change)
        and (chosen is None or r.id in chosen)
        and r.id not in dropped
    ]


def _counts(findings: list[Finding]) -> str:
    parts = []
    for severity in sorted(Severity, reverse=True):
        n = sum(f.severity is severity for f in findings)
        if n:
            label = severity.label
            parts.append(f"{n} {label}{'s' if n != 1 and severity is not Severity.INFO else ''}")
    return ", ".join(parts)


def _line(f: Finding) -> str:
    loc = f.location
    return f"{loc.file}:{loc.line}:{loc.column}: {f.severity.label}: {f.message} (at {loc.path})"


def _testcase(parent: ET.Element, file: str, rule_id: str, findings: list[Finding]) -> bool:
    """Add one case; return whether it failed."""
    case = ET.SubElement(parent, "testcase", {"classname": _xml(file), "name": rule_id})
    counting = [f for f in findings if not f.waived and not f.baselined]
    accepted = [f for f in findings if f.waived or f.baselined]
    if counting:
        failure = ET.SubElement(
            case,
            "failure",
            {"message": _counts(counting), "type": max(f.severity for f in counting).label},
        )
        failure.text = _xml("\n".join(_line(f) for f in counting) + "\n")
    if accepted:
        lines = []
        for f in accepted:
            if f.waived:
                why = f"waived: {f.waiver_reason}" if f.waiver_reason else "waived"
            else:
                why = "baselined"
            lines.append(f"{_line(f)} [{why}]")
        out = ET.SubElement(case, "system-out")
        out.text = _xml("\n".join(lines) + "\n")
    return bool(counting)


def _totals(element: ET.Element, tests: int, failures: int) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", "0")
    element.set("skipped", "0")


def junit_tree(report: Report, *, rules: Iterable[str] | None = None) -> ET.Element:
    """The `<testsuites>` element of a report. `rules`: the evaluated rule ids (default: those of
    `evaluated_rules(report)`); rules with findings are added if missing."""
    rule_ids = list(rules) if rules is not None else evaluated_rules(report)
    rule_ids = sorted(set(rule_ids) | {f.rule for f in report.findings})
    files = [report.file, *sorted({f.location.file for f in report.findings} - {report.file})]

    root = ET.Element("testsuites", {"name": "dpmsmt"})
    all_tests = all_failures = 0
    for file in files:
        suite = ET.SubElement(root, "testsuite", {"name": _xml(file)})
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("profile", report.profile),
            ("before", report.before),
            ("verdict", report.verdict),
        ):
            if value is not None:
                ET.SubElement(props, "property", {"name": name, "value": _xml(value)})
        in_file = [f for f in report.findings if f.location.file == file]
        failures = 0
        for rule_id in rule_ids:
            failures += _testcase(suite, file, rule_id, [f for f in in_file if f.rule == rule_id])
        _totals(suite, len(rule_ids), failures)
        all_tests += len(rule_ids)
        all_failures += failures
    _totals(root, all_tests, all_failures)
    return root


def render(report: Report, *, rules: Iterable[str] | None = None) -> str:
    root = junit_tree(report, rules=rules)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
