"""SARIF 2.1.0 output (cli.md) for GitHub code scanning and other SARIF viewers.

One run: `tool.driver` describes dpmsmt and every rule of the catalogue (id, name, descriptions,
help URI to its first source, default level under the report's profile); each finding is one
result with its physical location (line 1 where no line is known), its document path as a logical
location, the other entities of its counterexample as `relatedLocations`, a waiver as an external
suppression, and `partialFingerprints["dpmsmt/v1"]`, the finding's fingerprint (rule id and
entities, not file or line), so that code scanning keeps one alert per violation across moved
lines and renamed files. Deterministic: the same dumper as the JSON output (sorted keys), lists in
a fixed order, no timestamps, no absolute paths that the user did not give.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

import dpmsmt
from dpmsmt.findings import Finding, Location, Report, Severity
from dpmsmt.render.json import dumps
from dpmsmt.rules import Rule, all_rules
from dpmsmt.sources import SOURCES

__all__ = ["FINGERPRINT_KEY", "INFORMATION_URI", "SARIF_SCHEMA", "render", "sarif_log"]

SARIF_SCHEMA = (
    "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/dpmsmt/"
FINGERPRINT_KEY = "dpmsmt/v1"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# Characters kept as they are in a relative URI path; everything else is percent-encoded (a `:`
# is encoded too, so that a first segment like `C:` is never read as a scheme).
_SAFE = "/!$&'()*+,;=@~"
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def artifact_uri(file: str) -> str:
    """The file as a URI reference: relative paths stay relative, with forward slashes.

    A path with backslashes (or a drive letter) is read as a Windows path. An absolute path becomes
    a `file://` URI; a relative one is percent-encoded where a URI needs it (spaces, `%`, `#`,
    non-ASCII characters) and is otherwise the path as given.
    """
    windows = "\\" in file or bool(_DRIVE.match(file))
    path = PureWindowsPath(file) if windows else PurePosixPath(file)
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix(), safe=_SAFE)


def _level(severity: Severity | None) -> str:
    return "none" if severity is None else _LEVEL[severity]


def _name(rule_id: str) -> str:
    """`SECONDARY-ONCE` -> `SecondaryOnce` (SARIF's identifier-like rule name)."""
    return "".join(part.capitalize() for part in rule_id.split("-"))


def _help_uri(rule: Rule) -> str:
    for source in rule.sources:
        url = SOURCES.get(source, {}).get("url")
        if url:
            return url
    return f"{INFORMATION_URI}#{rule.id.lower()}"


def _help(rule: Rule) -> dict:
    sources = [(s, SOURCES.get(s, {})) for s in rule.sources]
    text = [rule.statement, "", f"Formal reading: {rule.formal}"]
    tick = "``" if "`" in rule.formal else "`"
    markdown = [rule.statement, "", f"**Formal reading:** {tick} {rule.formal} {tick}"]
    if sources:
        text += ["", "Sources:"]
        markdown += ["", "**Sources:**", ""]
        for sid, src in sources:
            title, url = src.get("title", sid), src.get("url")
            text.append(f"- {sid}: {title}" + (f" <{url}>" if url else ""))
            markdown.append(f"- {sid}: [{title}]({url})" if url else f"- {sid}: {title}")
    return {"text": "\n".join(text), "markdown": "\n".join(markdown)}


def _descriptor(rule: Rule, profile: str) -> dict:
    severity = rule.severity_in(profile)
    return {
        "id": rule.id,
        "name": _name(rule.id),
        "shortDescription": {"text": rule.statement},
        "fullDescription": {"text": f"{rule.statement} Formal reading: {rule.formal}"},
        "helpUri": _help_uri(rule),
        "help": _help(rule),
        "defaultConfiguration": {"level": _level(severity)},
        "properties": {
            "tags": sorted({"dpm", rule.family}),
            "family": rule.family,
            "confidence": rule.confidence,
            "sources": list(rule.sources),
        },
    }


class _Artifacts:
    """The run's `artifacts`: the checked file first, then the before file, then any other."""

    def __init__(self, report: Report):
        self.uris: list[str] = []
        self.index: dict[str, int] = {}
        for file in (report.file, report.before):
            if file is not None:
                self.add(file)
        others = {f.location.file for f in report.findings}
        others |= {loc.file for f in report.findings for _, loc in f.related}
        for file in sorted(others):
            self.add(file)

    def add(self, file: str) -> None:
        uri = artifact_uri(file)
        if uri not in self.index:
            self.index[uri] = len(self.uris)
            self.uris.append(uri)

    def location(self, file: str) -> dict:
        uri = artifact_uri(file)
        return {"uri": uri, "index": self.index[uri]}

    def to_json(self, report: Report) -> list[dict]:
        targets = {artifact_uri(f) for f in (report.file, report.before) if f is not None}
        out = []
        for uri in self.uris:
            artifact: dict = {"location": {"uri": uri}}
            if uri in targets:
                artifact["roles"] = ["analysisTarget"]
            out.append(artifact)
        return out


def _physical(loc: Location, artifacts: _Artifacts) -> dict:
    return {
        "artifactLocation": artifacts.location(loc.file),
        "region": {"startLine": max(loc.line, 1), "startColumn": max(loc.column, 1)},
    }


def _logical(loc: Location) -> list[dict]:
    return [{"fullyQualifiedName": loc.path}]


def _result(f: Finding, rule_index: dict[str, int], artifacts: _Artifacts, baseline: bool) -> dict:
    out: dict = {
        "ruleId": f.rule,
        "level": _level(f.severity),
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": _physical(f.location, artifacts),
                "logicalLocations": _logical(f.location),
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"entities": f.entities, "sources": list(f.sources)},
    }
    if f.rule in rule_index:
        out["ruleIndex"] = rule_index[f.rule]
    if f.options:
        out["properties"]["options"] = list(f.options)
    if f.related:
        out["relatedLocations"] = [
            {
                "id": i,
                "message": {"text": name},
                "physicalLocation": _physical(loc, artifacts),
                "logicalLocations": _logical(loc),
            }
            for i, (name, loc) in enumerate(f.related, start=1)
        ]
    if f.waived:
        suppression: dict = {"kind": "external", "status": "accepted"}
        if f.waiver_reason:
            suppression["justification"] = f.waiver_reason
        out["suppressions"] = [suppression]
    if baseline:
        out["baselineState"] = "unchanged" if f.baselined else "new"
    return out


def sarif_log(report: Report) -> dict:
    """The SARIF log of a report, as plain data."""
    rules = all_rules()
    rule_index = {r.id: i for i, r in enumerate(rules)}
    artifacts = _Artifacts(report)
    # SARIF: baselineState is given on every result of a run or on none; it is given when the
    # report was compared with a baseline that matched something.
    baseline = any(f.baselined for f in report.findings)
    results = [_result(f, rule_index, artifacts, baseline) for f in report.findings]
    run: dict = {
        "tool": {
            "driver": {
                "name": "dpmsmt",
                "version": dpmsmt.__version__,
                "semanticVersion": dpmsmt.__version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(r, report.profile) for r in rules],
            }
        },
        "artifacts": artifacts.to_json(report),
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "file": report.file,
            "before": report.before,
            "profile": report.profile,
            "verdict": report.verdict,
            "counts": report.counts(),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render(report: Report) -> str:
    return dumps(sarif_log(report))
