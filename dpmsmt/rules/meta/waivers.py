"""WAIVER-UNUSED and WAIVER-EXPIRED, and how waivers apply to findings (format.md, "Waivers").

A waiver is an administrator's accepted finding. It matches when the rule ids are equal and its
target is empty or names one of the finding's entities (a protected server's name also matches
its data sources). Waived findings stay in the report, marked, and do not count towards the exit
code. These two rules are about the waivers themselves, so they are decided after the solver has
answered, from the findings it produced, and have no formula of their own.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace

from dpmsmt.findings import Finding, Location, Severity
from dpmsmt.model import Topology, Waiver, canon, format_path
from dpmsmt.rules._base import Rule, by_profile

__all__ = ["WaiverExpired", "WaiverUnused", "apply_waivers"]

# Entity keys whose values are names a waiver target can match.
_NAME_KEYS = frozenset(
    (
        "dpm",
        "protectors",
        "component",
        "secondary",
        "primary",
        "datasource",
        "switched",
        "switched_from",
        "holder",
        "from",
        "to",
        "server",
        "agents",
    )
)
_GROUP_KEYS = frozenset(("versions", "builds", "os"))


class WaiverUnused(Rule):
    """A waiver matches no finding: it is stale, or its target is misspelt in spirit.

    Why: a waiver that matches nothing hides nothing today but will silently hide a future
    finding; it should be removed or corrected.
    """

    id = "WAIVER-UNUSED"
    scope = None
    statement = "A waiver matches no finding."
    formal = "no finding f with f.rule = w.rule and (w.target = none or w.target ∈ entities(f))"
    sources = ()
    urls = (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html",
    )
    confidence = "tool"
    severity = by_profile("warning")
    family = "waivers"


class WaiverExpired(Rule):
    """A waiver's date has passed; the finding it covered counts again.

    Why: waivers are agreements with an end date; after it the risk must be looked at again.
    """

    id = "WAIVER-EXPIRED"
    scope = None
    statement = "A waiver's date has passed; the finding it covered counts again."
    formal = "w.expires < today"
    sources = ()
    urls = (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html",
    )
    confidence = "tool"
    severity = by_profile("warning")
    family = "waivers"


_DATASOURCE_KEYS = frozenset(("datasource", "switched"))


def _datasources(entities: dict) -> set[str]:
    """The data source ids a finding names (only these split into server and name)."""
    return {canon(entities[k]) for k in _DATASOURCE_KEYS if isinstance(entities.get(k), str)}


def _names(entities: dict) -> set[str]:
    out: set[str] = set()
    for key, value in entities.items():
        if key in _NAME_KEYS:
            if isinstance(value, str):
                out.add(canon(value))
            elif isinstance(value, list | tuple):
                out.update(canon(v) for v in value if isinstance(v, str))
        elif key in _GROUP_KEYS and isinstance(value, dict):
            for names in value.values():
                out.update(canon(v) for v in names if isinstance(v, str))
    return out


def matches(waiver: Waiver, finding: Finding) -> bool:
    if waiver.rule != finding.rule:
        return False
    if waiver.target is None:
        return True
    target = canon(waiver.target)
    if target in _names(finding.entities):
        return True
    # a protected server's name also matches its data sources (ids split at the first `/`)
    return any(n.split("/", 1)[0] == target for n in _datasources(finding.entities))


def apply_waivers(
    findings: list[Finding], topology: Topology, *, today: _dt.date, evaluated: set[str]
) -> list[Finding]:
    """Mark waived findings and add WAIVER-UNUSED / WAIVER-EXPIRED findings."""
    out = list(findings)
    extra: list[Finding] = []
    for position, w in enumerate(topology.waivers):
        path = ("waivers", position)
        base = {"waiver": position, "rule": w.rule, "target": w.target}
        if w.expires is not None and _dt.date.fromisoformat(w.expires) < today:
            if WaiverExpired.id in evaluated:
                where = (*path, "expires")
                extra.append(
                    _meta(
                        WaiverExpired,
                        topology,
                        where,
                        {**base, "expires": w.expires},
                        f"waiver {position} ({w.rule}"
                        + (f" on {w.target}" if w.target else "")
                        + f") expired on {w.expires}; the finding it covered counts again",
                    )
                )
            continue
        used = False
        for i, f in enumerate(out):
            if matches(w, f):
                used = True
                if not f.waived:
                    out[i] = replace(f, waived=True, waiver_reason=w.reason)
        if not used and WaiverUnused.id in evaluated and w.rule in evaluated:
            extra.append(
                _meta(
                    WaiverUnused,
                    topology,
                    path,
                    base,
                    f"waiver {position} ({w.rule}"
                    + (f" on {w.target}" if w.target else "")
                    + ") matches no finding",
                )
            )
    return out + extra


def _meta(rule, topology: Topology, path: tuple, entities: dict, message: str) -> Finding:
    line, col = topology.location(path)
    return Finding(
        rule=rule.id,
        severity=Severity.WARNING,
        message=message,
        entities=entities,
        location=Location(topology.file, line, col, format_path(path)),
        sources=(),
    )
