"""Edge candidates (y gets secondary t) and their legality, from the rule catalogue itself.

For every candidate the estate with that one edge is built, and every rule instance the edge can
change (y and t, the edge, the merged component, the cycle through y, y's data sources, the
inactive replicas the merged component holds) is grounded through the same `reads`/`holds` that
`check` uses; instances the estate already broke do not constrain. One presolve of every
grounded formula then tells the legal candidates, and which component rules constrain the union
of two components that choices may join.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from dpmsmt.actions import move_secondary
from dpmsmt.design.problem import CYCLE, Literals, Question, lit_true
from dpmsmt.encode import Grounder, Inactive, View
from dpmsmt.findings import Severity, fingerprint
from dpmsmt.model import DpmServer, ProtectedServer, Topology, canon
from dpmsmt.rules import Rule, Scope, all_rules

__all__ = ["Candidate", "Candidates", "EdgeView", "new_slots"]

_SCOPES = (Scope.DPM, Scope.EDGE, Scope.COMPONENT, Scope.CYCLE, Scope.DATASOURCE, Scope.INACTIVE)
Terms = dict[str, list[tuple[str, ...]]]  # rule id -> literals that must hold


@dataclass(eq=False)
class Candidate:
    """y gets secondary t (an up DPM server of the file or a new-server slot)."""

    index: int
    y: str
    t: str
    slot: int | None
    replicas: tuple[str, ...]  # ids of y's data sources whose replicas t protects
    delta: dict[str, int]  # load change per DPM server
    terms: Terms
    var: Any = None


@dataclass
class EdgeView(View):
    """The view of one candidate edge. Its topology holds only y's protected servers (what the
    edge can change), so the loads of the whole estate, changed by the edge, are given."""

    loads: Mapping[str, int] = field(default_factory=dict)
    agents: Mapping[str, int] = field(default_factory=dict)

    @property
    def datasource_load(self) -> Mapping[str, int]:  # type: ignore[override]
        return self.loads

    @property
    def agent_load(self) -> Mapping[str, int]:  # type: ignore[override]
        return self.agents


def new_slots(q: Question) -> list[tuple[str, str]]:
    """New-server slots: per version (as written) of the servers that need a secondary, as many
    as there are such servers, at most allow_new."""
    if not q.allow_new:
        return []
    counts: dict[str, int] = {}
    for y in q.needs:
        v = q.base.dpm_servers[y].version
        counts[v] = counts.get(v, 0) + 1
    taken = {canon(n) for n in q.base.dpm_servers} | {canon(n) for n in q.base.servers}
    out = []
    for v in sorted(counts):
        for _ in range(min(q.allow_new, counts[v])):
            name = f"<new {len(out) + 1}>"
            while canon(name) in taken:
                name += "'"
            out.append((name, v))
    return out


def _entities(rule: Rule, view: View, instance) -> dict | None:
    """A rule's entities for an instance, or None where they cannot be named."""
    try:
        return rule.entities(view, instance)
    except (KeyError, AttributeError, TypeError, IndexError, ValueError):
        return None


class Candidates:
    """Every candidate of every server that needs a secondary, grounded; the legal ones; the
    component rules on pairs of components that choices may join."""

    def __init__(self, q: Question):
        self.q = q
        self.rules = {
            s: [r for r in all_rules() if r.scope is s and self._blocking(r)] for s in _SCOPES
        }
        self.grounder = Grounder()
        self.slots = new_slots(q)
        dpms = dict(q.base.dpm_servers)
        for name, version in self.slots:
            dpms[name] = DpmServer(name=name, version=version)
        self.cand_base = replace(q.base, dpm_servers=dpms)
        self.protectors = self.cand_base.protectors
        self.view0 = View(self.cand_base, q.profile)
        self.loads = self.view0.datasource_load
        self.y_servers = self._servers_by_primary()
        self.candidates = self._ground_all()
        truth = self.grounder.solve(q.remaining())
        self.legal = {
            y: [c for c in cs if all(lit_true(x, truth) for ls in c.terms.values() for x in ls)]
            for y, cs in self.candidates.items()
        }
        self.open = [y for y in q.needs if self.legal[y]]
        pairs = self._pairs() if len(self.open) > 1 else []
        if pairs:
            truth = self.grounder.solve(q.remaining())
        pairs = [
            (a, b, {r: ls for r, ls in terms.items() if not all(lit_true(x, truth) for x in ls)})
            for a, b, terms in pairs
        ]
        self.pairs = [p for p in pairs if p[2]]
        self.lit = Literals()

    def _servers_by_primary(self) -> dict[str, dict[str, ProtectedServer]]:
        by_primary: dict[str, dict[str, ProtectedServer]] = {y: {} for y in self.q.needs}
        for name, server in self.q.base.servers.items():
            for ds in server.datasources:
                if ds.primary in by_primary:
                    by_primary[ds.primary][name] = server
        return by_primary

    def _ground_all(self) -> dict[str, list[Candidate]]:
        base = self.q.base
        ups = sorted((n for n, d in base.dpm_servers.items() if d.up), key=canon)
        out: dict[str, list[Candidate]] = {y: [] for y in self.q.needs}
        count = 0
        for y in self.q.needs:
            already = set(base.protectors[y])  # no new edge (`--for` a protected server)
            targets = [(t, None) for t in ups if t != y and t not in already]
            version = base.dpm_servers[y].version  # a new server runs y's build
            targets += [(name, i) for i, (name, v) in enumerate(self.slots) if v == version]
            for t, slot in targets:
                out[y].append(self._candidate(count, y, t, slot))
                count += 1
        return out

    # -- rules -------------------------------------------------------------------------------
    def _blocking(self, rule: Rule) -> bool:
        """Whether a violation of the rule can block a design under the profile."""
        severity = rule.severity_in(self.q.profile)
        if severity is None or (rule.id == CYCLE and self.q.allow_cycles):
            return False
        return (
            rule.id in self.q.hard
            or severity is Severity.ERROR
            or rule.severe_severity is Severity.ERROR
        )

    def term(self, terms: Terms, rule: Rule, facts: dict) -> None:
        """Ground `rule` for `facts`; record the literal that must hold (its error condition)."""
        hv, sv = self.grounder.add(rule, facts)
        if rule.id in self.q.hard or rule.severity_in(self.q.profile) is Severity.ERROR:
            lit: tuple[str, ...] = (hv,)
        elif sv is not None:
            lit = (hv, sv)  # a warning, an error only where severe
        else:  # pragma: no cover - _blocking admits no other rule
            return
        lits = terms.setdefault(rule.id, [])
        if lit not in lits:
            lits.append(lit)

    # -- one candidate -------------------------------------------------------------------------
    def _candidate(self, index: int, y: str, t: str, slot: int | None) -> Candidate:
        """Ground every rule instance that the edge t -> y (and y's replicas on t) can change."""
        topo, replicas = self._with_edge(y, t)
        delta = self._delta(y, t, replicas)
        loads = ChainMap({d: self.loads[d] + k for d, k in delta.items()}, self.loads)
        view = EdgeView(topo, self.q.profile, loads=loads, agents=self.view0.agent_load)
        terms: Terms = {}
        for scope, insts in self._instances(view, y, t).items():
            for rule in self.rules[scope]:
                for inst in insts:
                    facts = rule.reads(view, inst)
                    if facts is None:
                        continue
                    entities = _entities(rule, view, inst)
                    if entities is not None and fingerprint(rule.id, entities) in self.q.pre:
                        continue  # the estate already broke this instance
                    self.term(terms, rule, facts)
        for key, group in view.datasource_groups.items():
            if key.primary != y:
                continue
            for rule in self.rules[Scope.DATASOURCE]:
                if self.q.pre_ds and all((rule.id, ds.id) in self.q.pre_ds for ds in group):
                    continue
                self.term(terms, rule, rule.reads(view, key))
        ids = tuple(sorted((ds.id for ds in replicas), key=canon))
        return Candidate(index=index, y=y, t=t, slot=slot, replicas=ids, delta=delta, terms=terms)

    def _with_edge(self, y: str, t: str) -> tuple[Topology, list]:
        """y's protected servers after the edge t -> y, with the replicas t takes over."""
        dpms = dict(self.cand_base.dpm_servers)
        dpms[t] = replace(dpms[t], protects=(*dpms[t].protects, y))
        servers = self.y_servers[y]
        pre_topo = replace(self.cand_base, dpm_servers=dpms, servers=servers)
        protectors = {y: tuple(sorted((*self.protectors[y], t), key=canon))}
        changed: dict[str, ProtectedServer] = {}
        replicas = []
        for name, server in servers.items():
            switched = any(ds.switched for ds in server.datasources)
            out = []
            for ds in server.datasources:
                if (
                    ds.primary == y
                    and not switched
                    and move_secondary(pre_topo, y, ds, protectors) == t
                ):
                    replicas.append(ds)
                    out.append(replace(ds, secondary=t))
                else:
                    out.append(ds)
            changed[name] = replace(server, datasources=tuple(out))
        return replace(pre_topo, servers=changed), replicas

    @staticmethod
    def _delta(y: str, t: str, replicas) -> dict[str, int]:
        """Load change per DPM server when t takes over the replicas."""
        delta: dict[str, int] = {}
        for ds in replicas:
            if ds.secondary == t:
                continue
            delta[t] = delta.get(t, 0) + 1
            if ds.secondary is not None and ds.secondary != y:  # a stale secondary lets go
                delta[ds.secondary] = delta.get(ds.secondary, 0) - 1
        return delta

    def _instances(self, view: View, y: str, t: str) -> dict[Scope, list]:
        """The rule instances (but data sources) the edge t -> y can change."""
        comp = view.component[y]
        members = tuple(sorted(comp, key=canon))
        cycles = [
            tuple(sorted(c, key=canon))
            for c in nx.strongly_connected_components(view.g.subgraph(comp))
            if y in c and len(c) > 1
        ]
        inactive = []
        by_id = self.q.base.datasource_by_id
        for s in members:
            for i, entry in enumerate(view.dpm(s).inactive):
                ds = by_id.get(canon(entry.datasource))
                if ds is not None:
                    inactive.append(Inactive(s, i, entry.from_, ds))
        return {
            Scope.DPM: [y, t],
            Scope.EDGE: [(t, y)],
            Scope.COMPONENT: [members] if len(members) > 1 else [],
            Scope.CYCLE: cycles,
            Scope.INACTIVE: inactive,
        }

    # -- pairs of components ---------------------------------------------------------------------
    def _pairs(self) -> list[tuple[frozenset, frozenset, Terms]]:
        """Component rules on the union of every two components that choices may join."""
        involved = set(self.open)
        for y in self.open:
            involved.update(c.t for c in self.legal[y])
        comps = sorted(
            {self.view0.component[n] for n in involved},
            key=lambda c: [canon(n) for n in sorted(c, key=canon)],
        )
        rules = self.rules[Scope.COMPONENT]
        out = []
        for i, a in enumerate(comps):
            for b in comps[i + 1 :]:
                union = tuple(sorted(a | b, key=canon))
                terms: Terms = {}
                for rule in rules:
                    facts = rule.reads(self.view0, union)
                    if facts is not None:
                        self.term(terms, rule, facts)
                out.append((a, b, terms))
        return out

    def targets(self, y: str) -> list[str]:
        return [c.t for c in self.legal[y]]
