"""The optimisation problem of a failure as SMT-LIB text: one Int per (group, option) counts
the group's servers that take it, Booleans say which failed servers are rebuilt (now or in the
final phase) and which DPM servers get a new secondary; each criterion of rules.md is an Int
defined as a sum of terms (`cost!<criterion>`, and `max_load`).
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from dpmsmt.model import canon
from dpmsmt.optimize.smt import SmtText, conj, disj, total
from dpmsmt.plan import CRITERIA
from dpmsmt.recovery.options import Option

__all__ = ["CRITERIA", "EXPOSURE", "REPOINTING", "Encoding", "Variables"]

EXPOSURE = {"switch": 1, "switch-back": 1, "move": 2, "rebuild": 3, "new-dpm": 4, "none": 0}
REPOINTING = frozenset(("switch", "switch-back", "move", "new-dpm"))  # the agent changes


@dataclass(frozen=True)
class Variables:
    """The decision variables of an encoding, and what decoding a model needs."""

    counts: dict  # (group index, option) -> Int
    by_group: dict  # group index -> [(option, Int)]
    rb_now: dict  # failed server -> Bool: rebuilt in the immediate phase
    rb_final: dict  # failed server -> Bool: rebuilt in the final phase
    reassign: dict  # (y, t or None) -> Bool: y gets t (None: a target `place` picks)
    used: set  # the grounded Booleans the text refers to
    rows: dict  # (group index, option) -> (state after the immediate phase, after the final)
    expand: bool
    reassign_targets: dict  # y -> its legal new secondaries
    smt: str

    @property
    def decision(self) -> list:
        return [
            *self.counts.values(),
            *self.rb_now.values(),
            *self.rb_final.values(),
            *self.reassign.values(),
        ]


class Encoding:
    """Builds the text of one problem (`encode`). With `expand`, a move class is one option per
    member (the MOVE_CANDIDATES least loaded) and `max_load` is part of the problem; without,
    one option per class stands for all its members and `max_load` is left to placement."""

    def __init__(self, problem, expand: bool):
        self.p = problem
        self.expand = expand
        self.smt = SmtText()
        self.cost: dict[str, list[str]] = {c: [] for c in CRITERIA}
        self.counts: dict[tuple[int, Option], z3.ArithRef] = {}
        self.rows: dict[tuple[int, Option], tuple] = {}
        self.used: set[str] = set()
        self.repointing: dict[int, list[str]] = {}  # group -> counts of agent-changing options
        self.backs: dict[str, list[str]] = {}  # failed server -> counts of its switched back
        self.new_used: dict[str, list[str]] = {}
        self.reassign: dict[tuple[str, str | None], z3.BoolRef] = {}
        self.chosen: dict[str, str] = {}  # DPM server -> whether it gets a new secondary
        self.ordered = sorted(problem.rebuildable, key=canon)
        self.loads = problem.base_loads
        self.load_terms: dict[str, list[str]] = {d: [] for d in self.loads}

    def encode(self) -> tuple[Variables, dict]:
        """Variables, constraints and cost terms; returns (variables, costs by criterion)."""
        self._rebuilds()
        p = self.p
        candidates = {y: p.secondaries.reassign_candidates(y) for y in p.reassign}
        legal = p.options.legal_options(self.loads, self.expand, prune=p.prune)
        for gi, g in enumerate(p.groups):
            self._group(gi, g, legal[gi])
        for x in p.rebuildable:
            back = self.backs.get(x, [])
            self.smt.add(f"(=> {self.fin[x]} {f'(> {total(back)} 0)' if back else 'false'})")
        self._secondaries(candidates)
        self._orphans()
        costs = self._costs()
        by_group: dict[int, list] = {}
        for (gi, opt), c in self.counts.items():
            by_group.setdefault(gi, []).append((opt, c))
        variables = Variables(
            counts=self.counts,
            by_group=by_group,
            rb_now=self.rb_now,
            rb_final=self.rb_final,
            reassign=self.reassign,
            used=self.used,
            rows=self.rows,
            expand=self.expand,
            reassign_targets={y: [t for t, _ in ts] for y, ts in candidates.items()},
            smt=self.smt.text(),
        )
        return variables, costs

    def _rebuilds(self) -> None:
        ordered, smt = self.ordered, self.smt
        self.rb_now = {p: smt.bool_var(f"rebuild_now!{i}") for i, p in enumerate(ordered)}
        self.rb_final = {p: smt.bool_var(f"rebuild_final!{i}") for i, p in enumerate(ordered)}
        self.now = {p: f"rebuild_now!{i}" for i, p in enumerate(ordered)}
        self.fin = {p: f"rebuild_final!{i}" for i, p in enumerate(ordered)}
        for p in self.p.rebuildable:
            names = [n for ns in self.p.rebuild_terms[p].values() for n in ns]
            self.used.update(names)
            smt.add(f"(not (and {self.now[p]} {self.fin[p]}))")
            smt.add(f"(=> (or {self.now[p]} {self.fin[p]}) {conj(names)})")

    def up_final(self, x: str | None) -> str:
        """Whether DPM server x is up in the final state (a failed one only if rebuilt)."""
        if x is None:
            return "false"
        if x not in self.p.down:
            return "true"
        if x in self.rb_now:
            return f"(or {self.now[x]} {self.fin[x]})"
        return "false"

    def _group(self, gi: int, g, options: list[tuple]) -> None:
        """The counts of one group's options: they sum to its servers."""
        server = self.p.state.servers[g.servers[0]]
        group = []
        none = (Option("none"), None, None, None, ())
        for j, (opt, imm, fin, view, names) in enumerate([*options, none]):
            c = f"count!{gi}!{j}"
            self.counts[(gi, opt)] = self.smt.int_var(c)
            self.rows[(gi, opt)] = (imm, fin)
            group.append(c)
            self.smt.add(f"(>= {c} 0)")
            if opt.kind == "none":  # its data sources keep their secondaries
                self.cost["unprotected"].append(f"(* {g.datasources} {c})")
                self.cost["secondary_lost"] += lost_terms(g.p, server, server, c, self.up_final)
                continue
            self._option(gi, g, server, opt, c, names)
            self._outcome(gi, g, server, opt, c, fin if fin is not None else imm, view)
        self.smt.add(f"(= {total(group)} {len(g.servers)})")
        for p in self.p.rebuildable:
            if p == g.p:
                back = self.counts.get((gi, Option("switch-back", g.secondary)))
                if back is not None:
                    self.backs.setdefault(p, []).append(back.decl().name())

    def _option(self, gi: int, g, server, opt: Option, c: str, names) -> None:
        """An option's legality: its rule Booleans, and the rebuild it needs."""
        self.used.update(names)
        if names:
            self.smt.add(f"(=> (> {c} 0) {conj(names)})")
        if opt.kind == "rebuild":
            self.smt.add(f"(=> (> {c} 0) {self.now[g.p]})")
        if opt.kind == "switch-back":
            self.smt.add(f"(=> (> {c} 0) {self.fin[g.p]})")

    def _outcome(self, gi: int, g, server, opt: Option, c: str, final, view) -> None:
        """An option's costs: history, exposure, secondaries lost, agents, servers, loads."""
        history = self.p.legal.history_counts(server, final, view)
        self.used.update(history)
        self.cost["history_broken"] += [
            f"(ite {n} 0 (* {k} {c}))" for n, k in sorted(history.items())
        ]
        exposure = EXPOSURE[opt.kind] * g.datasources
        if exposure:
            self.cost["exposure"].append(f"(* {exposure} {c})")
        self.cost["secondary_lost"] += lost_terms(g.p, server, final, c, self.up_final)
        if opt.kind in REPOINTING:
            self.repointing.setdefault(gi, []).append(c)
        if opt.kind == "new-dpm":
            self.new_used.setdefault(opt.target, []).append(c)
            self.load_terms.setdefault(opt.target, [])
        for d, k in self.p.options.held(g, final).items():
            if d in self.load_terms:
                self.load_terms[d].append(f"(* {k} {c})")

    def _secondaries(self, candidates: dict) -> None:
        """reassign-secondary: one new secondary at most per DPM server whose secondary is down."""
        smt = self.smt
        for yi, y in enumerate(self.p.reassign):
            choice = []
            legal = {}
            for t, names in candidates[y]:
                self.used.update(names)
                legal[t] = conj(names)
            if not self.expand and legal:  # one choice; `place` picks the target among `legal`
                v = f"reassign!{yi}"
                self.reassign[(y, None)] = smt.bool_var(v)
                smt.add(f"(=> {v} {disj(legal.values())})")
                choice.append(v)
            for ti, t in enumerate(legal if self.expand else ()):
                v = f"reassign!{yi}!{ti}"
                self.reassign[(y, t)] = smt.bool_var(v)
                smt.add(f"(=> {v} {legal[t]})")
                choice.append(v)
            if len(choice) > 1:
                smt.add(f"((_ at-most 1) {' '.join(choice)})")
            self.chosen[y] = disj(choice)
            given = self.p.secondaries.reassigned_count(y)
            for ti, t in enumerate(legal if self.expand else ()):
                self.load_terms.setdefault(t, []).append(f"(ite reassign!{yi}!{ti} {given} 0)")

    def _orphans(self) -> None:
        """Data sources whose primary is up (or none) and whose secondary is down: kept where
        that secondary comes back, or where their primary gets a new one that may protect them."""
        protectors = self.p.state.protectors
        for (y, z, forbidden), n in self.p.secondaries.orphans():
            rebuilt = f"(or {self.now[z]} {self.fin[z]})" if z in self.rb_now else "false"
            by_new = self.chosen.get(y, "false") if protectors.get(y, ())[:1] == (z,) else "false"
            kept = f"(and (not {by_new}) {rebuilt})" if forbidden else f"(or {by_new} {rebuilt})"
            self.cost["secondary_lost"].append(f"(ite {kept} 0 {n})")

    def _costs(self) -> dict:
        cost, smt = self.cost, self.smt
        cost["repointed"] = self._repointed_terms()
        cost["new_servers"] = [
            f"(ite {disj(f'(> {c} 0)' for c in cs)} 1 0)" for cs in self.new_used.values()
        ]
        cost["rebuilds"] = [f"(ite (or {self.now[p]} {self.fin[p]}) 1 0)" for p in self.ordered]
        smt.declare("max_load")
        loads, load_terms = self.loads, self.load_terms
        if not self.expand:
            load_terms, loads = {}, {}
            smt.add("(= max_load 0)")  # placed when decoding
        for d, base in loads.items():
            smt.add(f"(>= max_load (+ {base} {total(load_terms.get(d, []))}))")
        for d, terms in load_terms.items():
            if d not in loads:
                smt.add(f"(>= max_load {total(terms)})")
        costs = {}
        for c in CRITERIA:
            if c == "max_load":
                costs[c] = z3.Int("max_load")
                continue
            costs[c] = smt.define(f"cost!{c}", total(cost[c]))
        return costs

    def _repointed_terms(self) -> list[str]:
        """`repointed` counts protected servers, not groups: a server with data sources on two
        failed primaries is in two groups (with the same servers: `bundles`). Within a bundle
        decoding gives the agent-changing options to the same servers first, so the servers
        repointed are as many as the largest of its groups' counts."""
        terms = []
        for gis in bundles(self.p.groups):
            counts = [total(self.repointing[gi]) for gi in gis if gi in self.repointing]
            if not counts:
                continue
            most = counts[0]
            for c in counts[1:]:
                most = f"(ite (>= {most} {c}) {most} {c})"
            terms.append(most)
        return terms


def bundles(groups) -> list[list[int]]:
    """The groups by their servers: one list per set of servers, in group order."""
    out: dict[frozenset[str], list[int]] = {}
    for gi, g in enumerate(groups):
        out.setdefault(frozenset(g.servers), []).append(gi)
    return list(out.values())


def lost_terms(p: str, server, final, count: str, up_final) -> list[str]:
    """Cost terms of `secondary_lost` for `count` servers like `server` that take an option
    (their state `final`): per secondary after it, the data sources on p that had one and hold
    it there, lost unless that secondary is up in the final state (`up_final`: a formula)."""
    kept: dict[str | None, int] = {}
    for b, a in zip(server.datasources, final.datasources, strict=True):
        if b.primary == p and b.secondary is not None:
            kept[a.secondary] = kept.get(a.secondary, 0) + 1
    lost = [(up_final(x), n) for x, n in sorted(kept.items(), key=_by_name)]
    return [
        f"(* {n} {count})" if u == "false" else f"(ite {u} 0 (* {n} {count}))"
        for u, n in lost
        if u != "true"
    ]


def _by_name(item: tuple) -> tuple:
    """Sort key of (name or None, value) pairs: by the name's canonical form, None first."""
    return (item[0] is not None, canon(item[0] or ""))
