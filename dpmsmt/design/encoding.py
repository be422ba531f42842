"""The design problem in Z3: one Boolean `choose[y][t]` per legal candidate (at most one per
server) implies the candidate's grounded rule Booleans. What no single edge shows is asserted
over the choices with the same formulas: CAPACITY-DATASOURCES over the summed load of a
secondary (its `holds` applied to a Z3 sum); the component rules (VERSION-MATCH, OS-MATCH, ...)
on the union of every two components that choices may join, through one Int label per
component (joined components have equal labels); CYCLE-TWO-ONLY by the chain bound
(`chains.py`) and, where no bound is asserted yet, by a rank that decreases along new chains
except in a direct pair. Costs of a solution are computed in plain Python from its choices.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import z3

from dpmsmt.design.candidates import Candidate, Candidates
from dpmsmt.design.chains import Chains
from dpmsmt.design.costs import longest_new_chain
from dpmsmt.design.problem import all_of, any_of
from dpmsmt.model import canon
from dpmsmt.rules import Scope, get
from dpmsmt.rules._base import profile_code

__all__ = ["Encoding"]


class Encoding:
    """Variables and constraints: structural ones (`struct`), legality of each choice
    (`legality`), per rule id what several choices break together (`tagged`, as explanations
    need them), ranks against longer cycles (`cycles`), chain definitions for allow_cycles
    (`objective`); the cost bounds (`bound`) and the costs of a set of choices (`evaluate`)."""

    def __init__(self, cands: Candidates):
        self.c = cands
        self.q = cands.q
        legal = [c for y in cands.open for c in cands.legal[y]]
        for c in legal:
            c.var = z3.Bool(f"choose!{c.index}")
        self.var = {(c.y, c.t): c.var for c in legal}
        self.covered = {y: any_of(c.var for c in cands.legal[y]) for y in cands.open}
        self.chains = Chains(cands, self.var, self.covered)
        self.struct: list[z3.BoolRef] = []
        self.tagged: dict[str, list[z3.BoolRef]] = {}
        self.objective: list[z3.BoolRef] = []
        used_names: set[str] = set()
        for y in cands.open:
            vs = [c.var for c in cands.legal[y]]
            if len(vs) > 1:
                self.struct.append(z3.AtMost(*vs, 1))
        self.legality = self._legality(legal, used_names)
        targets = self._loads(legal)
        self._capacity(targets)
        if cands.pairs:
            self._labels(legal, used_names)
        self.cycles = [] if self.q.allow_cycles else self._ranks(legal)
        self.used_slot = self._new_servers(legal)
        # costs are bounded ("at most v") in `bound`
        self.targets = {t: any_of(vs) for t, vs in targets.items()}
        if self.q.allow_cycles:
            self.reach = self.chains.reach(self.objective, [*cands.open, *self.chains.via])
        self.definitions = cands.grounder.definitions(used_names)
        self.decision = [c.var for c in legal]

    def _legality(self, legal: list[Candidate], used_names: set[str]) -> list[z3.BoolRef]:
        """Each choice implies every grounded rule Boolean of its candidate (per rule, as
        explanations need them, only when asked: `Explainer`)."""
        out = []
        for c in legal:
            lits = list(dict.fromkeys(lit for ls in c.terms.values() for lit in ls))
            used_names.update(n for lit in lits for n in lit)
            if lits:
                out.append(z3.Implies(c.var, self.c.lit.all(lits)))
        return out

    def _loads(self, legal: list[Candidate]) -> dict[str, list[z3.BoolRef]]:
        """What each DPM server holds in the final state (`load`); the choices per target."""
        changes: dict[str, list[tuple[z3.BoolRef, int]]] = {}
        for c in legal:
            for d, k in c.delta.items():
                changes.setdefault(d, []).append((c.var, k))
        self.load = {
            d: z3.IntVal(self.c.loads[d]) + z3.Sum([z3.If(v, k, 0) for v, k in terms])
            for d, terms in changes.items()
        }
        targets: dict[str, list[z3.BoolRef]] = {}
        for c in legal:
            targets.setdefault(c.t, []).append(c.var)
        self.changes = changes
        return targets

    def _capacity(self, targets: dict[str, list[z3.BoolRef]]) -> None:
        """CAPACITY-DATASOURCES on the summed load of a target several choices may load."""
        capacity = get("CAPACITY-DATASOURCES")
        if capacity not in self.c.rules[Scope.DPM]:
            return
        code = z3.IntVal(profile_code(self.q.profile))
        for t, vs in targets.items():
            if len(vs) < 2 or t not in self.load:
                continue
            most = self.c.loads[t] + sum(k for _, k in self.changes[t] if k > 0)
            most_facts = SimpleNamespace(datasources=z3.IntVal(most), profile=code)
            if z3.is_true(z3.simplify(capacity.holds(most_facts))):
                continue  # holds even if every choice that can load t does (a bound: monotone)
            f = SimpleNamespace(datasources=self.load[t], profile=code)
            self.tagged.setdefault(capacity.id, []).append(
                z3.Implies(any_of(vs), capacity.holds(f))
            )

    def _labels(self, legal: list[Candidate], used_names: set[str]) -> None:
        """Components that choices join share a label; incompatible pairs differ."""
        component = self.c.view0.component
        comps = sorted(
            {component[n] for y in self.c.open for n in (y, *self.c.targets(y))},
            key=lambda c: sorted(canon(n) for n in c),
        )
        label = {comp: z3.Int(f"label!{i}") for i, comp in enumerate(comps)}
        for c in legal:
            a, b = component[c.y], component[c.t]
            if a != b:
                self.struct.append(z3.Implies(c.var, label[a] == label[b]))
        for a, b, terms in self.c.pairs:
            for rule_id, lits in terms.items():
                used_names.update(n for lit in lits for n in lit)
                self.tagged.setdefault(rule_id, []).append(
                    z3.Implies(label[a] == label[b], self.c.lit.all(lits))
                )

    def _ranks(self, legal: list[Candidate]) -> list[z3.BoolRef]:
        """CYCLE-TWO-ONLY over several choices: a rank that decreases along new chains. The
        search uses it only until a chain bound is asserted (which has no solution around a
        longer cycle either, and with which the ranks slow Z3 down by orders of magnitude);
        explanations always use it."""
        cycles: list[z3.BoolRef] = []
        rank = {y: z3.Int(f"rank!{i}") for i, y in enumerate(self.c.open)}
        for c in legal:
            for y2 in sorted(self.chains.reach_open(c.t), key=canon):
                if y2 == c.y:
                    continue  # a cycle this edge closes alone: the grounded rule decides
                cond = c.var
                if c.t == y2 and (y2, c.y) in self.var:
                    cond = z3.And(c.var, z3.Not(self.var[(y2, c.y)]))  # a direct pair
                cycles.append(z3.Implies(cond, rank[c.y] > rank[y2]))
        return cycles

    def _new_servers(self, legal: list[Candidate]) -> list[z3.BoolRef]:
        """At most allow_new new servers, numbered in order of first use."""
        slots = self.c.slots
        used_slot = {}
        for i in range(len(slots)):
            vs = [c.var for c in legal if c.slot == i]
            if vs:
                used_slot[i] = z3.Bool(f"new!{i}")
                self.struct.append(used_slot[i] == any_of(vs))
        if used_slot:
            self.struct.append(z3.AtMost(*used_slot.values(), self.q.allow_new))
        by_version: dict[str, list[int]] = {}
        for i, (_, v) in enumerate(slots):
            by_version.setdefault(v, []).append(i)
        for indices in by_version.values():
            for prev, cur in itertools.pairwise(indices):
                for k, y in enumerate(self.c.open):
                    v = self.var.get((y, slots[cur][0]))
                    if v is None:
                        continue
                    earlier = [
                        self.var[(y2, slots[prev][0])]
                        for y2 in self.c.open[:k]
                        if (y2, slots[prev][0]) in self.var
                    ]
                    self.struct.append(z3.Implies(v, any_of(earlier)))
        return list(used_slot.values())

    # -- costs ----------------------------------------------------------------------------------
    def bound(self, criterion: str, v: int) -> z3.BoolRef:
        """The criterion is at most v (exactly: a choice satisfies it iff its cost is <= v)."""
        if criterion == "unassigned":
            blocked = len(self.q.needs) - len(self.c.open)
            return (
                z3.IntVal(blocked)
                + z3.Sum([z3.IntVal(0), *[z3.If(self.covered[y], 0, 1) for y in self.c.open]])
                <= v
            )
        if criterion == "new_servers":
            return z3.Sum([z3.IntVal(0), *[z3.If(u, 1, 0) for u in self.used_slot]]) <= v
        if criterion == "max_load":
            return all_of(
                z3.Implies(used, self.load.get(t, z3.IntVal(self.c.loads[t])) <= v)
                for t, used in self.targets.items()
            )
        if self.q.allow_cycles:
            return all_of(z3.Implies(new, length <= v) for new, length in self.reach)
        return self.chains.bound(v)

    def evaluate(self, chosen: list[Candidate]) -> dict[str, int]:
        """The costs of a set of choices, computed in plain Python from the graph they make."""
        protectors = dict(self.c.protectors)
        new = set()
        for c in chosen:
            protectors[c.y] = (c.t,)
            new.add((c.t, c.y))
        longest = longest_new_chain(self.c.cand_base.dpm_servers, protectors, new)
        load = {}
        for c in chosen:
            load[c.t] = self.c.loads[c.t] + sum(x.delta.get(c.t, 0) for x in chosen)
        return {
            "unassigned": len(self.q.needs) - len(chosen),
            "longest_chain": longest,
            "max_load": max(load.values(), default=0),
            "new_servers": len({c.slot for c in chosen if c.slot is not None}),
        }
