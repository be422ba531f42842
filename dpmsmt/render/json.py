"""JSON output (cli.md): deterministic, sorted keys, `"schema": "dpmsmt/1"`."""

from __future__ import annotations

import json as _json

from dpmsmt.findings import Report

SCHEMA = "dpmsmt/1"


def dumps(obj) -> str:
    return _json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def yaml_dumps(obj) -> str:
    """The YAML twin of `dumps` (`--format yaml` of suggest-move and design)."""
    import yaml

    return yaml.safe_dump(obj, sort_keys=True, allow_unicode=True, width=100)


def report_json(report: Report) -> dict:
    return {
        "schema": SCHEMA,
        "command": "check",
        "file": report.file,
        "before": report.before,
        "profile": report.profile,
        "verdict": report.verdict,
        "counts": report.counts(),
        "findings": [f.to_json() for f in report.findings],
    }


def render(report: Report) -> str:
    return dumps(report_json(report))
