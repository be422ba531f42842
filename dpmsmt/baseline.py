"""Baselines (cli.md, `check --baseline/--write-baseline`): accept the findings an estate has today.

A baseline records the fingerprints of a report's findings that count (waived ones are accepted by
their waiver already). Checked against it, a finding whose fingerprint is recorded is marked
`baselined` and no longer counts towards the exit code: only new findings fail a run, as with
checkov's and cfn-lint's baselines. Fingerprints hash a finding's rule id and entities, not its
file or line, so a baseline survives edits that move lines and renamed files.

The file is JSON: `{"schema": "dpmsmt/1", "command": "baseline", "fingerprints": [sorted, unique],
"findings": [{"fingerprint", "rule", "message"}, …]}`; `findings` is for the humans who review a
baseline in a pull request and is not read back.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from dpmsmt.findings import Report
from dpmsmt.io.json_reader import read_json
from dpmsmt.io.limits import ReadFailure
from dpmsmt.model import format_path
from dpmsmt.render.json import SCHEMA, dumps

__all__ = ["BaselineError", "apply_baseline", "baseline_json", "parse_baseline", "render"]

COMMAND = "baseline"
_FINGERPRINT = re.compile(r"[0-9a-f]{16}\Z")


class BaselineError(ValueError):
    """A baseline file that cannot be read: its position, document path and what is wrong."""

    def __init__(self, file: str, line: int, column: int, path: str, message: str):
        self.file, self.line, self.column, self.path, self.message = (
            file,
            line,
            column,
            path,
            message,
        )
        super().__init__(f"{file}:{line}:{column}: {message} (at {path})")


def baseline_json(report: Report) -> dict:
    """The baseline of a report: every finding that counts now (not waived)."""
    recorded: dict[str, dict] = {}
    for f in report.findings:
        if not f.waived:
            recorded.setdefault(
                f.fingerprint, {"fingerprint": f.fingerprint, "rule": f.rule, "message": f.message}
            )
    return {
        "schema": SCHEMA,
        "command": COMMAND,
        "fingerprints": sorted(recorded),
        "findings": [recorded[k] for k in sorted(recorded)],
    }


def render(report: Report) -> str:
    """The baseline file's text (deterministic, as the JSON output)."""
    return dumps(baseline_json(report))


def parse_baseline(text: str, *, file: str = "<string>") -> frozenset[str]:
    """The fingerprints a baseline file records. Raises BaselineError on anything else."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data, locate = read_json(text)
    except ReadFailure as f:
        raise BaselineError(file, f.line, f.column, format_path(f.path), f.message) from None

    def fail(path: tuple, message: str) -> BaselineError:
        line, column = (locate(path) or (1, 1))[:2]
        return BaselineError(file, line, column, format_path(path), message)

    if not isinstance(data, dict):
        raise fail((), "not a dpmsmt baseline: expected a JSON object")
    if data.get("schema") != SCHEMA:
        raise fail(
            ("schema",) if "schema" in data else (),
            f'not a dpmsmt baseline: "schema" must be "{SCHEMA}"',
        )
    if data.get("command") != COMMAND:
        raise fail(
            ("command",) if "command" in data else (),
            f'not a dpmsmt baseline: "command" must be "{COMMAND}" (write one with --write-baseline)',
        )
    prints = data.get("fingerprints")
    if not isinstance(prints, list):
        raise fail(
            ("fingerprints",) if "fingerprints" in data else (),
            'not a dpmsmt baseline: "fingerprints" must be a list of fingerprints',
        )
    for i, value in enumerate(prints):
        if not isinstance(value, str) or not _FINGERPRINT.match(value):
            raise fail(("fingerprints", i), f"not a fingerprint (16 hex digits): {value!r}")
    return frozenset(prints)


def apply_baseline(report: Report, fingerprints: Iterable[str]) -> Report:
    """The report with every unwaived finding whose fingerprint is recorded marked `baselined`."""
    accepted = frozenset(fingerprints)
    findings = tuple(
        dataclasses.replace(f, baselined=True) if not f.waived and f.fingerprint in accepted else f
        for f in report.findings
    )
    return dataclasses.replace(report, findings=findings)
