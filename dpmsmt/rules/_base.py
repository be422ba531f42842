"""The shape of a rule: metadata, what it reads, and its formula over Z3 terms.

A rule is a class with plain attributes (id, statement, formal reading, sources and the URLs of
the documents they name, severities per profile) and four small methods:

- `reads(view, instance) -> dict`: the facts of one instance the formula looks at, as plain values
  (bool, int, or tuples of them). Names are encoded as ints by the view (`NULL` for none). Joins
  and lookups happen here, in Python; nothing is decided here.
- `holds(f) -> z3.BoolRef`: the rule's formal reading over Z3 terms `f.<name>`, one per fact. This is
  the single statement of the rule: `check` grounds it with the facts of each distinct signature and
  asks Z3 which instances violate it; `suggest-move` grounds it with the facts of hypothetical
  states and gives it to the optimizer as a constraint.
- `entities(view, instance) -> dict` and `message(entities) -> str`: how a violation is named.
- `where(view, instance) -> path`: the place in the file the finding points at.

A rule whose violation can be of two severities (REPLICA-POLICY, BUILD-MATCH) also has
`severe(f) -> z3.BoolRef`, true when the violation is at its `severe_severity`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import z3

from dpmsmt.encode.facts import NULL, Scope, profile_code
from dpmsmt.findings import Severity
from dpmsmt.model import PROFILES

__all__ = ["NULL", "Rule", "Scope", "by_profile", "in_profiles", "profile_code"]

_GROUPS = {
    "2016+": ("2016", "2019", "2022", "2025"),
    "2019+": ("2019", "2022", "2025"),
}


def by_profile(default: str | None, **overrides: str | None) -> Mapping[str, Severity | None]:
    """Severity per profile: `by_profile("error", p2016plus="warning")`.

    Override keys name a profile (`p2012`, `strict`) or a group (`p2016plus`, `p2019plus`);
    a value of None means the rule is not reported under that profile.
    """
    table: dict[str, Severity | None] = {
        p: Severity.parse(default) if default else None for p in PROFILES
    }
    for key, value in overrides.items():
        name = key.removeprefix("p").replace("plus", "+")
        for p in _GROUPS.get(name, (name,)):
            if p not in table:
                raise ValueError(f"unknown profile {p!r}")
            table[p] = Severity.parse(value) if value else None
    return table


def in_profiles(profile: z3.ArithRef, *names: str) -> z3.BoolRef:
    """A formula that the (int-coded) profile fact is one of `names`."""
    return z3.Or([profile == profile_code(n) for n in names])


class Rule:
    """Base class of every rule; subclasses are records, registered by `dpmsmt.rules`."""

    id: ClassVar[str]
    scope: ClassVar[Scope]
    statement: ClassVar[str]
    formal: ClassVar[str]
    sources: ClassVar[tuple[str, ...]]  # ids into dpmsmt.sources (findings name these)
    urls: ClassVar[tuple[str, ...]] = ()  # the documents' addresses, declared by the rule module
    confidence: ClassVar[str] = "documented"
    severity: ClassVar[Mapping[str, Severity | None]]
    severe_severity: ClassVar[Severity | None] = None
    family: ClassVar[str] = "topology"

    @property
    def change(self) -> bool:
        """A change rule: its scope pairs the states before and after (needs `--before`)."""
        return self.scope is not None and self.scope.change

    def instances(self, view: Any) -> Iterable[Any]:
        """Its instances in a view (a `ChangeView` for a change rule): those of its scope."""
        return view.instances(self.scope)

    def reads(self, view: Any, instance: Any) -> dict[str, Any]:
        raise NotImplementedError

    def holds(self, f: Any) -> z3.BoolRef:
        raise NotImplementedError

    severe: Any = None  # optional: (f) -> z3.BoolRef

    def entities(self, view: Any, instance: Any) -> dict[str, Any]:
        raise NotImplementedError

    def message(self, e: dict[str, Any]) -> str:
        raise NotImplementedError

    def where(self, view: Any, instance: Any) -> tuple:
        return ()

    def options(self, e: dict[str, Any]) -> tuple[str, ...]:
        return ()

    def details(self) -> list[str]:
        """Reference lines `dpmsmt rules ID` prints after the reason (the table of builds)."""
        return []

    def severity_in(self, profile: str, severe: bool = False) -> Severity | None:
        base = self.severity.get(profile)
        if severe and self.severe_severity is not None and base is not None:
            return max(base, self.severe_severity)
        return base

    @property
    def why(self) -> str:
        return (type(self).__doc__ or "").strip()

    def __repr__(self) -> str:
        return f"<rule {self.id}>"
