"""The proof of a plan and what it keeps and loses.

Every plan is applied and proved legal by `check` on its states before it is shown; its
unprotected data sources get the rules that block every option (`blocked_by`)."""

from __future__ import annotations

from dataclasses import replace

import z3

from dpmsmt.actions import apply_actions
from dpmsmt.check import check
from dpmsmt.model import Topology, canon
from dpmsmt.optimize.explain import irreducible
from dpmsmt.optimize.legality import IGNORED
from dpmsmt.plan import Plan
from dpmsmt.recovery.options import Group

__all__ = ["HISTORY", "Verifier", "touched"]

HISTORY = "HISTORY-LEFT-BEHIND"  # what the cost `history_broken` counts


def touched(groups: list[Group], state: Topology, down: set[str]) -> set[str]:
    """Protected servers a plan can change: the affected ones and those of DPM servers that
    may get a new secondary. Everything else is the same before and after any plan."""
    out = {n for g in groups for n in g.servers}
    for d in state.dpm_servers.values():  # a new secondary can make an old move known
        for entry in d.inactive:
            out.add(entry.datasource.split("/", 1)[0])
    for name, server in state.servers.items():
        if any(ds.secondary in down for ds in server.datasources):
            out.add(name)
    return out


class Verifier:
    """Completes and proves the plans of one problem."""

    def __init__(self, problem):
        self.problem = problem
        self.failure = problem.failure
        self.state = problem.state
        self.groups = problem.groups
        self.touched = problem.touched
        self.pre = problem.pre
        self.error_rules = problem.error_rules
        self.legal = problem.legal

    def complete(self, plan: Plan) -> Plan:
        """The plan with its states, what it keeps and loses, and why its unprotected data
        sources are (work left until the plan is one of those shown)."""
        imm_state = apply_actions(self.state, plan.immediate)
        fin_state = apply_actions(imm_state, plan.final) if plan.final else imm_state
        keeps, loses = self._keeps_loses(list(plan.immediate), list(plan.final), fin_state)
        return replace(
            plan,
            keeps=keeps,
            loses=loses,
            blocked_by=self._explain(list(plan.unprotected)) if plan.unprotected else {},
            immediate_state=imm_state,
            final_state=fin_state,
        )

    def _reduce(self, topology: Topology) -> Topology:
        keep = self.touched
        keep = {canon(n) for n in keep}
        return replace(
            topology, servers={n: s for n, s in topology.servers.items() if canon(n) in keep}
        )

    def verify(self, plan: Plan) -> Plan | None:
        """Prove the plan legal with `check`: no new error after either phase. Returns the plan
        with `loses["history"]`: the data sources HISTORY-LEFT-BEHIND reports in the final
        state (what the cost `history_broken` counts); None when the plan is not legal.

        Only the touched servers are checked (with every DPM server): the plan changes nothing
        else, so nothing else can gain an error.
        """
        before = self._reduce(self.failure.state)
        history: list[str] = []
        for state in (
            (plan.immediate_state, plan.final_state) if plan.final else (plan.final_state,)
        ):
            report = check(self._reduce(state), before=before, select=[*self.error_rules, HISTORY])
            for f in report.errors:
                if f.rule in IGNORED or f.fingerprint in self.pre:
                    continue
                if plan.unprotected and f.rule == "UNPROTECTED":
                    continue
                return None
            history = [f.entities["datasource"] for f in report.findings if f.rule == HISTORY]
        loses = {**plan.loses, "history": sorted(set(history), key=canon)}
        return replace(plan, loses=loses)

    def _keeps_loses(self, immediate, final, fin_state) -> tuple[dict, dict]:
        """What the plan keeps and loses, by data source. `secondary_protection` lists exactly
        what the cost `secondary_lost` counts (rules.md): every data source that had an up
        secondary before the failure and has none up in the final state, whether its primary
        or its secondary failed (only the touched servers can have one). `history` is filled
        in by `verify`, from HISTORY-LEFT-BEHIND itself."""
        secondary, points_lost = [], []
        before = self.failure.before
        for g in self.groups:
            failure = self.state.dpm_servers[g.p].failure
            for name in g.servers if failure and failure.storage == "lost" else ():
                after = {ds.name: ds for ds in fin_state.servers[name].datasources}
                for b in before.servers[name].datasources:
                    if b.primary == g.p and after[b.name].primary == g.p:
                        points_lost.append(b.id)
        for name in self.touched:
            b_server, a_server = before.servers.get(name), fin_state.servers.get(name)
            if b_server is None or a_server is None:
                continue
            a_by = {ds.name: ds for ds in a_server.datasources}
            for b in b_server.datasources:
                if b.secondary is None or not before.dpm_servers[b.secondary].up:
                    continue
                a = a_by.get(b.name)
                if a is None or a.secondary is None or not fin_state.dpm_servers[a.secondary].up:
                    secondary.append(b.id)
        keeps = {
            "recovery_points": "on the secondary for switched data sources; on the rebuilt server where its storage survived",
            "secondary_protection": sorted(
                (
                    ds.id
                    for g in self.groups
                    for n in g.servers
                    for ds in fin_state.servers[n].datasources
                    if ds.secondary is not None and fin_state.dpm_servers[ds.secondary].up
                ),
                key=canon,
            ),
        }
        loses = {
            "history": [],
            "recovery_points": sorted(points_lost, key=canon),
            "secondary_protection": sorted(secondary, key=canon),
        }
        return keeps, loses

    def _explain(self, unprotected: list[str]) -> dict:
        """For each unprotected data source: an irreducible set of rules blocking every option."""
        out = {}
        by_id = self.state.datasource_by_id
        for g in self.groups:
            ids = [
                ds.id
                for n in g.servers
                for ds in self.state.servers[n].datasources
                if ds.primary == g.p
            ]
            hit = [i for i in ids if i in unprotected]
            if not hit:
                continue
            rules = self._blocking_rules(g)
            for i in hit:
                out[by_id[canon(i)].id] = rules
        return out

    def _blocking_rules(self, g: Group) -> list[str]:
        """Named rule assertions over every option of the group; an unsat core, then deletion in
        rule-id order down to an irreducible set."""
        options = self.problem.options.options(g)
        if not options:
            return []
        per_rule: dict[str, list[z3.BoolRef]] = {}
        choices = []
        used: set[str] = set()
        for k, (opt, imm, fin, view) in enumerate(options):
            x = z3.Bool(f"option!{k}")
            choices.append(x)
            for rule_id, names in self.problem.options.option_terms(g, opt, imm, fin, view).items():
                used.update(names)
                for name in names:
                    per_rule.setdefault(rule_id, []).append(z3.Implies(x, z3.Bool(name)))
        definitions = self.legal.grounder.definitions(used)

        def solver() -> z3.Solver:
            s = z3.Solver()
            s.from_string(definitions)
            s.add(z3.Or(choices))
            return s

        return irreducible(per_rule, solver, precheck=True)
