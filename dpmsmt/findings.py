"""What the core returns: findings with their locations, reports, and reading errors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import IntEnum

from dpmsmt.model import canon

__all__ = [
    "Finding",
    "LoadError",
    "Location",
    "Report",
    "Severity",
    "SolverGaveUp",
    "TopologyError",
    "UsageError",
    "fingerprint",
]


class Severity(IntEnum):
    """Ordered so that a larger value is more severe."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    file: str
    line: int = 1
    column: int = 1
    path: str = "<root>"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path}


def fingerprint(rule: str, entities: dict) -> str:
    """A hash of a finding's rule id and entities (names case-folded), not of file or line.

    Baselines and SARIF alerts match findings by it, so it survives moved lines and renamed files.
    """

    def norm(v):
        if isinstance(v, str):
            return canon(v)
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v

    text = json.dumps([rule, norm(entities)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    """One violated rule instance: the counterexample the solver found, in names and places."""

    rule: str
    severity: Severity
    message: str
    entities: dict
    location: Location
    sources: tuple[str, ...] = ()
    related: tuple[tuple[str, Location], ...] = ()  # (what, where) of the other entities
    options: tuple[str, ...] = ()
    waived: bool = False
    waiver_reason: str | None = None
    baselined: bool = False  # accepted by `check --baseline`: does not count towards the exit code

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.entities)

    def sort_key(self):
        return (
            -self.severity,
            self.rule,
            self.location,
            json.dumps(self.entities, sort_keys=True, ensure_ascii=False),
        )

    def to_json(self) -> dict:
        out = {
            "rule": self.rule,
            "severity": self.severity.label,
            "message": self.message,
            "entities": self.entities,
            "location": self.location.to_json(),
            "sources": list(self.sources),
            "fingerprint": self.fingerprint,
            "waived": self.waived,
        }
        if self.options:
            out["options"] = list(self.options)
        if self.waiver_reason is not None:
            out["waiver_reason"] = self.waiver_reason
        if self.baselined:
            out["baselined"] = True
        return out


@dataclass(frozen=True)
class Report:
    """The answer of `check`: every finding (waived ones included), sorted."""

    file: str
    profile: str
    findings: tuple[Finding, ...]
    before: str | None = None
    stats: dict = field(default_factory=dict, compare=False)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR and not f.waived)

    @property
    def verdict(self) -> str:
        return "invalid" if self.errors else "valid"

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0, "waived": 0}
        for f in self.findings:
            out["waived" if f.waived else f.severity.label] += 1
        return out


@dataclass(frozen=True, slots=True)
class LoadError:
    """A user's mistake in a topology file, with the place it was made (line 0: the whole file,
    as when it cannot be read)."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        if self.line == 0:  # about the whole file (cannot read it): the message names the file
            return self.message
        return f"{self.file}:{self.line}:{self.column}: {self.message} (at {self.path})"


class TopologyError(Exception):
    """Raised by `load`/`loads`: the file cannot be read as a topology. Holds every error found."""

    def __init__(self, errors: list[LoadError]):
        self.errors = sorted(errors, key=lambda e: (e.line, e.column, e.path, e.message))
        super().__init__(str(self.errors[0]))

    @property
    def first(self) -> LoadError:
        return self.errors[0]


class UsageError(ValueError):
    """A question the core cannot answer as asked (an unknown `--fail` server, a bad option):
    the CLI prints its message on one line and exits 2."""


class SolverGaveUp(Exception):
    """Z3 answered `unknown` or hit the time limit: the answer is not known (exit code 3)."""
