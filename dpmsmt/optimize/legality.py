"""Legality of options and new edges, grounded from the rule catalogue as `check` grounds it.

`Legality` grounds the error rules over hypothetical data sources (what a server has after an
option) into named Booleans; `SecondaryLegality` does the same for a new secondary edge. Rule
instances the estate already broke before the change do not constrain, where the error after it
is the same one by fingerprint (`preexisting`, `KnownErrors`): a plan may keep an old error,
not add or rename one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import networkx as nx

from dpmsmt.actions import Action, apply_actions
from dpmsmt.check import check
from dpmsmt.encode import ChangeView, DsChange, DsFacts, Grounder, View
from dpmsmt.findings import Severity, fingerprint
from dpmsmt.model import DataSource, DpmServer, ProtectedServer, Topology, canon
from dpmsmt.optimize.search import fresh_z3
from dpmsmt.rules import Scope, all_rules, get

__all__ = [
    "IGNORED",
    "KnownErrors",
    "Legality",
    "SecondaryLegality",
    "ServerChange",
    "ds_facts",
    "error_rules",
    "preexisting",
    "safe",
]

IGNORED = frozenset(("PRIMARY-DOWN", "SECONDARY-DOWN"))  # completeness is `unprotected`


class Legality:
    """Grounds error rules over hypothetical data sources, as `check` grounds real ones.

    Every grounded formula becomes a named Boolean definition in one SMT-LIB text (shared by all
    options: equal facts give one Boolean), which the optimizer and the explanation solver load
    with `from_string`; options refer to the Booleans by name.
    """

    def __init__(
        self,
        state: Topology,
        failed: Iterable[str],
        profile: str,
        pre_ds: set[tuple[str, str]],
        pre: set[str],
    ):
        self.state = state  # the estate where the options are taken
        self.failed = frozenset(failed)  # DPM servers whose data sources may start a new chain
        self.profile = profile
        self.pre_ds = pre_ds  # (rule id, data source id) of errors the estate already had
        self.pre = pre  # their fingerprints
        self.grounder = Grounder()
        self.before_view = View(state, profile)
        rules = [r for r in all_rules() if r.scope is not None and r.id not in IGNORED]
        self.static_rules = [
            r
            for r in rules
            if r.scope is Scope.DATASOURCE and r.severity_in(profile) is Severity.ERROR
        ]
        self.change_rules = [
            r
            for r in rules
            if r.scope is Scope.CHANGE_DATASOURCE and r.severity_in(profile) is Severity.ERROR
        ]
        self.server_rules = [  # SCALE-OUT-AGENTS: an agent belongs to one DPM server
            r for r in rules if r.scope is Scope.SERVER and r.severity_in(profile) is Severity.ERROR
        ]
        self.history = get("HISTORY-LEFT-BEHIND")
        self._views: dict[tuple, View] = {}
        self._truth: dict[str, bool] = {}
        self._changes: dict[int, ChangeView] = {}
        self._truth_size = -1

    def view(self, up: frozenset[str], new: tuple[str, str] | None) -> View:
        """A view of the estate where the failed servers in `up` are rebuilt (and a new DPM)."""
        key = (up, new)
        if key not in self._views:
            dpms = dict(self.state.dpm_servers)
            for n in up:
                dpms[n] = replace(dpms[n], status="up", failure=None)
            if new is not None:
                dpms[new[0]] = DpmServer(name=new[0], version=new[1])
            self._views[key] = View(replace(self.state, dpm_servers=dpms), self.profile)
        return self._views[key]

    def name(self, rule, facts) -> str:
        return self.grounder.add(rule, facts)[0]

    def _change(self, server: ProtectedServer, after: ProtectedServer, view: View) -> ChangeView:
        """A change view of one server's data sources; the name index and `knows` are shared by
        every option that uses `view`."""
        base = self._changes.get(id(view))
        if base is None:
            base = self._changes[id(view)] = ChangeView(self.before_view, view)
        befores = {ds.name: ds for ds in server.datasources}
        return ServerChange(base, [DsChange(befores[ds.name], ds) for ds in after.datasources])

    def rule_terms(
        self, server: ProtectedServer, after: ProtectedServer, view: View
    ) -> dict[str, list[str]]:
        """Rule id -> the Booleans (by name) that must hold for the server after an option."""
        out: dict[str, list[str]] = {}
        switched = any(ds.switched for ds in after.datasources)
        by_facts: dict[DsFacts, list[DataSource]] = {}  # data sources alike for the rules
        for ds in after.datasources:
            by_facts.setdefault(ds_facts(ds, after.agents, switched), []).append(ds)
        alone = None
        for facts, alike in by_facts.items():
            for rule in self.static_rules:
                if self.pre_ds and all((rule.id, ds.id) in self.pre_ds for ds in alike):
                    if alone is None:
                        alone = View(
                            replace(view.topology, servers={after.name: after}), view.profile
                        )
                    if self.same_errors(rule, alone, alike):
                        continue  # every one of them already broke this rule, as it still would
                name = self.name(rule, rule.reads(view, facts))
                names = out.setdefault(rule.id, [])
                if name not in names:
                    names.append(name)
        if self.server_rules:
            alone = alone or View(replace(view.topology, servers={after.name: after}), self.profile)
            for rule in self.server_rules:
                if (rule.id, after.name) in self.pre_ds:
                    continue  # the server already broke this rule before the failure
                name = self.name(rule, rule.reads(alone, after.name))
                out.setdefault(rule.id, []).append(name)
        change = self._change(server, after, view)
        for rule in self.change_rules:
            for instance in rule.instances(change):
                names = out.setdefault(rule.id, [])
                name = self.name(rule, rule.reads(change, instance))
                if name not in names:
                    names.append(name)
        return out

    def same_errors(self, rule, view: View, alike: Iterable[DataSource]) -> bool:
        """Whether each data source, if it still broke the rule in `view`, would be the error
        the estate already had: same fingerprint. A plan may keep an old error, not rename one:
        `check` (the proof, and a user's baseline) matches errors by fingerprint, and the
        fingerprint names the entities (a SWITCHED-NO-SECONDARY error names the secondary)."""
        return all(
            safe(rule, view, ds) and fingerprint(rule.id, rule.entities(view, ds)) in self.pre
            for ds in alike
        )

    def names(self, server: ProtectedServer, after: ProtectedServer, view: View) -> list[str]:
        """The Booleans of every error rule instance the server has after an option."""
        return sorted({n for ns in self.rule_terms(server, after, view).values() for n in ns})

    def history_counts(
        self, server: ProtectedServer, after: ProtectedServer, view: View
    ) -> dict[str, int]:
        """The Booleans of HISTORY-LEFT-BEHIND for the server's data sources that may start a
        new recovery-point chain, and how many data sources each stands for (those start one
        where it is false)."""
        change = self._change(server, after, view)
        counts: dict[str, int] = {}
        for c in change.datasources:
            if c.before.primary != c.after.primary or c.before.primary in self.failed:
                name = self.name(self.history, self.history.reads(change, c))
                counts[name] = counts.get(name, 0) + 1
        return counts

    def truth(self) -> dict[str, bool]:
        """Solve every grounded formula so far (one `check`): which rule instances hold.

        The optimizer still gets the formulas; this presolve only drops options that Z3 has
        already shown illegal, so that no variable is made for them.
        """
        if self._truth_size != self.grounder.size:
            self._truth = self.grounder.solve(None)
            self._truth_size = self.grounder.size
        return self._truth


class ServerChange(ChangeView):
    """The change of some data sources of one server, over a change view of the whole estate
    whose name index and `knows` answers it shares (an option's change view costs nothing)."""

    def __init__(self, base: ChangeView, datasources: list[DsChange]):
        super().__init__(base.before, base.after)
        self.base = base
        self.changes = datasources

    @property
    def datasources(self) -> list[DsChange]:  # type: ignore[override]
        return self.changes

    @property
    def index(self) -> dict[str, int]:  # type: ignore[override]
        return self.base.index

    def knows(self, s: str) -> frozenset[str]:
        return self.base.knows(s)


def safe(rule, view, ds) -> bool:
    """Whether a rule's entities can be named for a data source (its facts make sense)."""
    try:
        rule.entities(view, ds)
        return True
    except (KeyError, AttributeError, TypeError, IndexError):
        return False


ds_facts = DsFacts.of  # the facts rules read, as `check` builds them


def error_rules(profile: str) -> list[str]:
    """The rules that can report an error under the profile (the only ones a plan must keep)."""
    return sorted(
        r.id for r in all_rules() if r.severity_in(profile, severe=True) is Severity.ERROR
    )


class KnownErrors:
    """The errors of estates before a failure: fingerprints, and (rule, data source or server)
    pairs; `preexisting` constrains no plan with them.

    Remembers the last two estates (by the identity of their protected servers and the value of
    everything else `check` reads): `resilience` asks for every failure set of one estate and the
    estate before each is the same, so a check of 200k data sources is done once."""

    def __init__(self) -> None:
        self.recent: list[tuple] = []  # (servers mapping, key, answer), most recent last

    def of(self, before: Topology, timeout: float | None) -> tuple[set[str], set]:
        key = (
            tuple(before.dpm_servers.items()),
            before.profile,
            before.waivers,
            before.tape_libraries,
        )
        for servers, k, answer in self.recent:
            if servers is before.servers and k == key:
                return answer
        answer = preexisting(before, timeout)
        self.recent.append((before.servers, key, answer))
        del self.recent[:-2]
        return answer


def preexisting(before: Topology, timeout: float | None) -> tuple[set[str], set]:
    """The errors of the estate before the failure: fingerprints, and (rule, data source or
    server) pairs."""
    with fresh_z3():  # so that the problem's context is the same whether cached or not
        report = check(before, timeout=timeout, select=error_rules(before.profile))
    errors = [f for f in report.errors if f.rule not in IGNORED]
    answer = (
        {f.fingerprint for f in errors},
        {(f.rule, f.entities["datasource"]) for f in errors if "datasource" in f.entities}
        | {(f.rule, f.entities["server"]) for f in errors if "server" in f.entities},
    )
    return answer


class SecondaryLegality:
    """The rule Booleans of a new secondary t for a DPM server y: what must hold so that the
    new edge brings no new error (rule instances the estate already broke, as the same error by
    fingerprint, do not count)."""

    def __init__(self, legal: Legality, state: Topology, profile: str, pre: set[str]):
        self.legal = legal
        self.state = state
        self.profile = profile
        self.pre = pre
        self._broken: dict[str, list[tuple[str, str]]] | None = None
        self._pre_rules: dict[str, list[str]] = {}

    def terms(self, y: str, t: str) -> list[str]:
        """No new error among the DPM-level rules when t becomes y's secondary."""
        after = apply_actions(
            replace(self.state, servers={}),
            [Action("reassign-secondary", dpm=y, from_=x, to=t) for x in self.state.protectors[y]][
                :1
            ]
            or [Action("reassign-secondary", dpm=y, to=t)],
        )
        if len(self.state.protectors[y]) > 1:
            for x in self.state.protectors[y][1:]:
                after = apply_actions(after, [Action("reassign-secondary", dpm=y, from_=x, to=t)])
                dpms = dict(after.dpm_servers)
                dpms[t] = replace(dpms[t], protects=tuple(dict.fromkeys(dpms[t].protects)))
                after = replace(after, dpm_servers=dpms)
        view = View(after, self.profile)
        parts = []
        # only the instances the new edge can change; the others are as before the failure
        comp = tuple(sorted(view.component[y], key=canon))
        sub = view.g.subgraph(comp)
        cycles = [
            tuple(sorted(c, key=canon))
            for c in nx.strongly_connected_components(sub)
            if y in c and len(c) > 1
        ]
        touched = {
            Scope.DPM: [d for d in (t, y) if d in view.topology.dpm_servers],
            Scope.EDGE: sorted(e for e in view.g.edges if y in e or t in e),
            Scope.COMPONENT: [comp] if len(comp) > 1 else [],
            Scope.CYCLE: cycles,
        }
        for rule in all_rules():
            if rule.scope not in touched or rule.severity_in(self.profile) is not Severity.ERROR:
                continue
            for instance in touched[rule.scope]:
                facts = rule.reads(view, instance)
                if facts is None:
                    continue
                if (
                    safe(rule, view, instance)
                    and fingerprint(rule.id, rule.entities(view, instance)) in self.pre
                ):
                    continue
                parts.append(self.legal.name(rule, facts))
        parts += self._datasource_terms(y, t)
        return sorted(set(parts))

    def _datasource_terms(self, y: str, t: str) -> list[str]:
        """Rule Booleans for y's data sources that already broke a data-source rule: once t is
        y's secondary (the action the plan runs), each must hold, or break it as the same error
        (fingerprint). The others keep every such rule: only their secondary changes, from y's
        old protector to t, which protects y (or to none where a rule forbids one)."""
        broken = self._pre_by_primary().get(y)
        if not broken:
            return []
        old = self.state.protectors[y]
        servers = {name: self.state.servers[name] for name, _ in broken}
        after = apply_actions(
            replace(self.state, servers=servers),
            [Action("reassign-secondary", dpm=y, from_=old[0] if old else None, to=t)],
        )
        view = View(after, self.profile)
        rules = {r.id: r for r in self.legal.static_rules}
        parts = []
        for name, ds_name in broken:
            server = after.servers[name]
            ds = next(d for d in server.datasources if d.name == ds_name)
            switched = any(d.switched for d in server.datasources)
            for rule_id in self._pre_rules[canon(ds.id)]:
                rule = rules.get(rule_id)
                if rule is None or self.legal.same_errors(rule, view, [ds]):
                    continue
                facts = ds_facts(ds, server.agents, switched)
                parts.append(self.legal.name(rule, rule.reads(view, facts)))
        return parts

    def _pre_by_primary(self) -> dict[str, list[tuple[str, str]]]:
        """Up DPM server -> (protected server, data source name) of its data sources that broke
        a data-source rule before the failure (`_pre_rules`: their rule ids)."""
        if self._broken is None:
            self._broken, self._pre_rules = {}, {}
            for rule_id, entity in sorted(self.legal.pre_ds):
                server = self.state.servers.get(entity.split("/", 1)[0])
                ds = (
                    next((d for d in server.datasources if d.id == entity), None)
                    if server
                    else None
                )
                if ds is None or ds.primary is None:
                    continue
                rules = self._pre_rules.setdefault(canon(ds.id), [])
                if not rules:
                    self._broken.setdefault(ds.primary, []).append((ds.server, ds.name))
                rules.append(rule_id)
        return self._broken
