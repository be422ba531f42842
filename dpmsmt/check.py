"""`check`: ground every rule over a snapshot (or a change), ask Z3, return the findings.

The solver's model is the verdict: a finding exists exactly where the grounded formula of its rule
is false in the model. Python only enumerates instances, names the entities of a violated
instance and finds its place in the file.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

from dpmsmt.encode import ChangeView, Grounder, View
from dpmsmt.findings import Finding, Location, Report, Severity
from dpmsmt.model import Topology, canon, format_path
from dpmsmt.rules import Rule, all_rules
from dpmsmt.rules.meta.waivers import apply_waivers

__all__ = ["check"]


def check(
    topology: Topology,
    *,
    before: Topology | None = None,
    profile: str | None = None,
    today: str | _dt.date | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    timeout: float | None = 60.0,
) -> Report:
    """Prove `topology` supported or list every violated rule instance.

    With `before`, `topology` is the state after a change and the change rules apply too.
    Raises `SolverGaveUp` when Z3 cannot answer within `timeout` seconds.
    """
    profile = profile or topology.profile
    selected = _selection(select, ignore, change=before is not None)
    view = View(topology, profile)
    change = ChangeView(View(before, profile), view) if before is not None else None
    grounder = Grounder()
    pending = []
    for rule in selected:
        if rule.scope is None or rule.severity.get(profile) is None:
            continue
        for instance, facts, members in _instances(rule, view, change):
            pending.append((rule, instance, members, grounder.add(rule, facts)))
    values = grounder.solve(timeout)

    findings: list[Finding] = []
    for rule, _instance, members, (hv, sv) in pending:
        if values[hv]:
            continue
        severity = rule.severity_in(profile, severe=bool(sv and values[sv]))
        for member in members:
            findings.append(_finding(rule, severity, change if rule.change else view, member))
    findings = apply_waivers(
        findings,
        topology,
        today=_date(today),
        evaluated={r.id for r in selected},
    )
    findings.sort(key=Finding.sort_key)
    return Report(
        file=topology.file,
        profile=profile,
        findings=tuple(findings),
        before=before.file if before is not None else None,
        stats={"signatures": grounder.size, "instances": len(pending)},
    )


def _selection(select, ignore, *, change: bool) -> list[Rule]:
    chosen = set(select) if select else None
    dropped = set(ignore or ())
    return [
        r
        for r in all_rules()
        if (change or not r.change) and (chosen is None or r.id in chosen) and r.id not in dropped
    ]


def _instances(rule: Rule, view: View, change: ChangeView | None):
    """(instance, facts, members) of a rule: members are what a violation is reported for."""
    ctx = change if rule.scope.change else view
    listed = rule.instances(ctx)
    if rule.scope.grouped:
        for facts_key, group in listed.items():
            yield facts_key, rule.reads(ctx, facts_key), group
        return
    for instance in listed:
        facts = rule.reads(ctx, instance)
        if facts is not None:
            yield instance, facts, (instance,)


def _finding(rule: Rule, severity: Severity, ctx: View | ChangeView, member) -> Finding:
    """Name a violated instance: entities, message and place (in the after file for a change)."""
    entities = rule.entities(ctx, member)
    path = rule.where(ctx, member)
    topo = ctx.after.topology if isinstance(ctx, ChangeView) else ctx.topology
    line, col, path = topo.place(path)
    loc = Location(topo.file, line, col, format_path(path))
    return Finding(
        rule=rule.id,
        severity=severity,
        message=rule.message(entities),
        entities=entities,
        location=loc,
        sources=tuple(rule.sources),
        related=tuple(_related(topo, entities, path)),
        options=tuple(rule.options(entities)),
    )


def _related(topo: Topology, entities: dict[str, Any], main: tuple):
    """Where the other entities of a counterexample are defined (SARIF relatedLocations)."""
    seen = {format_path(main)}
    names: list[str] = []
    for value in entities.values():
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, list | tuple):
            names.extend(v for v in value if isinstance(v, str))
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, list):
                    names.extend(x for x in v if isinstance(x, str))
    for name in names:
        path = _entity_path(topo, name)
        if path is None:
            continue
        text = format_path(path)
        if text in seen:
            continue
        seen.add(text)
        line, col, path = topo.place(path, key=True)
        yield name, Location(topo.file, line, col, format_path(path))
        if len(seen) > 10:
            return


def _entity_path(topo: Topology, name: str) -> tuple | None:
    if name in topo.dpm_servers:
        return ("dpm_servers", name)
    if name in topo.servers:
        return ("servers", name)
    ds = topo.datasource_by_id.get(canon(name)) if "/" in name else None
    if ds is not None:
        return ("servers", ds.server, "datasources", ds.index)
    return None


def _date(today) -> _dt.date:
    if today is None:
        return _dt.date.today()
    if isinstance(today, _dt.date):
        return today
    return _dt.date.fromisoformat(today)
