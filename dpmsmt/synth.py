"""suggest-move: synthesize ranked, legal recovery plans after DPM servers fail (rules.md).

Encoding idea. Only the protected servers whose primary failed are unknowns. Servers that are
interchangeable (same failed primary, same agents, same facts of their data sources) form a
group, and the optimizer chooses how many of each group take each option (switch, switch now and
back after a rebuild, rebuild, move to n, a new DPM server, or nothing), with one Int per
(group, option) instead of one variable per server (performance.md: counting removes the
symmetry that makes pigeonhole problems hard). Which failed servers are rebuilt (now or in the
final phase) and which DPM servers get a new secondary are Booleans.

Legality comes from the rule catalogue itself: for every option, the data sources it would
produce are grounded through the same `reads`/`holds` of every error rule (static and change)
that `check` uses, and `count > 0 → formula` is asserted. Rule instances the estate already
violated before the failure do not constrain (they are `preexisting`). Costs are the criteria of
rules.md, minimized lexicographically by `z3.Optimize`; equal-cost plans are ordered by their
sorted action lists and later plans come from blocking earlier ones. Every plan is then applied
and proved legal by `check` on its states before it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import z3

from dpmsmt.actions import Action, apply_actions
from dpmsmt.check import check
from dpmsmt.encode import ChangeView, DsChange, DsFacts, Grounder, View
from dpmsmt.findings import Severity, SolverGaveUp, fingerprint
from dpmsmt.model import DataSource, DpmServer, ProtectedServer, Topology, canon
from dpmsmt.rules import Scope, all_rules, get

__all__ = ["CRITERIA", "Plan", "Suggestion", "apply", "suggest_moves", "synthesize"]

CRITERIA = (
    "unprotected",
    "history_broken",
    "exposure",
    "secondary_lost",
    "new_servers",
    "rebuilds",
    "repointed",
    "max_load",
)
EXPOSURE = {"switch": 1, "switch-back": 1, "move": 2, "rebuild": 3, "new-dpm": 4, "none": 0}
IGNORED = frozenset(("PRIMARY-DOWN", "SECONDARY-DOWN"))  # completeness is `unprotected`
_OPTIONS_ORDER = ("move", "new-dpm", "none", "rebuild", "switch", "switch-back")


@dataclass(frozen=True)
class Plan:
    """One recovery plan: its phases, costs, what it keeps and loses, and its proof states."""

    rank: int
    complete: bool
    cost: dict
    immediate: tuple[Action, ...]
    final: tuple[Action, ...]
    keeps: dict
    loses: dict
    unprotected: tuple[str, ...] = ()
    blocked_by: dict = field(default_factory=dict)
    immediate_state: Topology | None = field(default=None, compare=False, repr=False)
    final_state: Topology | None = field(default=None, compare=False, repr=False)

    @property
    def phases(self) -> dict[str, tuple[Action, ...]]:
        return {"immediate": self.immediate, "final": self.final}

    @property
    def actions(self) -> tuple[Action, ...]:
        return self.immediate + self.final

    def sort_key(self) -> tuple:
        return tuple(sorted(a.sort_key() for a in self.actions))

    def to_json(self) -> dict:
        out = {
            "rank": self.rank,
            "complete": self.complete,
            "cost": self.cost,
            "phases": {
                "immediate": [a.to_json() for a in self.immediate],
                "final": [a.to_json() for a in self.final],
            },
            "actions": [a.to_json() for a in self.actions],
            "keeps": self.keeps,
            "loses": self.loses,
        }
        if not self.complete:
            out["unprotected"] = list(self.unprotected)
            out["blocked_by"] = self.blocked_by
        return out


@dataclass(frozen=True)
class Suggestion:
    """The answer of suggest-move: plans best first, and what was assumed."""

    file: str
    failed: tuple[str, ...]
    removed: tuple[str, ...]
    preexisting: tuple[str, ...]
    plans: tuple[Plan, ...]
    optimal: bool = True

    @property
    def complete(self) -> bool:
        return any(p.complete for p in self.plans)


# ------------------------------------------------------------------------------------------
# The failure


@dataclass
class _Failure:
    """The estate before the failure (`before`), at the failure (`state`), and what failed."""

    original: Topology
    before: Topology
    state: Topology
    failed: tuple[str, ...]
    removed: tuple[str, ...]


def _resolve(topology: Topology, names: Iterable[str], what: str) -> list[str]:
    index = {canon(n): n for n in topology.dpm_servers}
    out = []
    for n in names:
        if canon(n) not in index:
            raise KeyError(f"--{what} {n}: not a DPM server of {topology.file}")
        out.append(index[canon(n)])
    return out


def _failure(topology: Topology, failed: Iterable[str], removed: Iterable[str]) -> _Failure:
    failed_l = _resolve(topology, failed, "fail")
    removed_l = _resolve(topology, removed, "remove")
    dpms = dict(topology.dpm_servers)
    for n in failed_l:
        if dpms[n].status == "up":
            dpms[n] = replace(
                dpms[n], status="failed", failure=dpms[n].failure or _default_failure()
            )
    for n in removed_l:
        dpms[n] = replace(dpms[n], status="removed", failure=None)
    state = replace(topology, dpm_servers=dpms)
    down_f = tuple(sorted((n for n, d in dpms.items() if d.status == "failed"), key=canon))
    down_r = tuple(sorted((n for n, d in dpms.items() if d.status == "removed"), key=canon))
    before = replace(
        topology,
        dpm_servers={
            n: (replace(d, status="up", failure=None) if n in down_f or n in down_r else d)
            for n, d in dpms.items()
        },
    )
    return _Failure(topology, before, state, down_f, down_r)


def _default_failure():
    from dpmsmt.model import Failure

    return Failure()


# ------------------------------------------------------------------------------------------
# Options and their legality, grounded from the rule catalogue


@dataclass(frozen=True)
class _Option:
    kind: str  # switch | switch-back | rebuild | move | new-dpm | none
    target: str | None = None  # s for switches, n for move

    def key(self) -> tuple:
        return (_OPTIONS_ORDER.index(self.kind), canon(self.target or ""))


@dataclass
class _Group:
    """Interchangeable protected servers: same failed primary p, same agents, same facts."""

    p: str
    servers: list[str]
    secondary: str | None  # the common secondary of their data sources on p (switch target)
    datasources: int  # data sources on p per server
    with_secondary: int  # of those, with a secondary before the failure
    options: dict[_Option, dict] = field(default_factory=dict)  # option -> facts


class _Legality:
    """Grounds error rules over hypothetical data sources, as `check` grounds real ones."""

    def __init__(self, failure: _Failure, profile: str):
        self.failure = failure
        self.profile = profile
        self.grounder = Grounder()
        self.before_view = View(failure.state, profile)
        rules = [r for r in all_rules() if r.scope is not None and r.id not in IGNORED]
        self.static_rules = [
            r for r in rules if r.scope is Scope.DATASOURCE and r.severity.get(profile) is not None
        ]
        self.change_rules = [
            r
            for r in rules
            if r.scope is Scope.CHANGE_DATASOURCE and r.severity.get(profile) is not None
        ]
        self.history = get("HISTORY-LEFT-BEHIND")
        self._views: dict[tuple, View] = {}
        self._cache: dict[str, z3.BoolRef] = {}
        self.pre: set[str] = set()

    def preexisting_for(self, pre: set[str]) -> None:
        self.pre = pre

    def view(self, up: frozenset[str], new: tuple[str, str] | None) -> View:
        """A view of the estate where the failed servers in `up` are rebuilt (and a new DPM)."""
        key = (up, new)
        if key not in self._views:
            dpms = dict(self.failure.state.dpm_servers)
            for n in up:
                dpms[n] = replace(dpms[n], status="up", failure=None)
            if new is not None:
                dpms[new[0]] = DpmServer(name=new[0], version=new[1])
            self._views[key] = View(replace(self.failure.state, dpm_servers=dpms), self.profile)
        return self._views[key]

    def formula(self, server: ProtectedServer, after: ProtectedServer, view: View) -> z3.BoolRef:
        """The error rules that must hold for the server's data sources after an option."""
        parts: list[z3.BoolRef] = []
        switched = any(ds.switched for ds in after.datasources)
        befores = {ds.name: ds for ds in server.datasources}
        change = ChangeView(self.before_view, view)
        pairs = [DsChange(befores[ds.name], ds) for ds in after.datasources]
        change.__dict__["datasources"] = pairs
        for ds in after.datasources:
            facts = _facts(ds, after.agents, switched)
            for rule in self.static_rules:
                if rule.severity_in(self.profile) is not Severity.ERROR:
                    continue
                if (
                    _safe(rule, view, ds)
                    and fingerprint(rule.id, rule.entities(view, ds)) in self.pre
                ):
                    continue
                parts.append(self._parse(self.grounder.ground(rule, rule.reads(view, facts))))
        for rule in self.change_rules:
            if rule.severity_in(self.profile) is not Severity.ERROR:
                continue
            for instance in rule.instances(change):
                parts.append(self._parse(self.grounder.ground(rule, rule.reads(change, instance))))
        return z3.And(parts) if parts else z3.BoolVal(True)

    def history_broken(
        self, server: ProtectedServer, after: ProtectedServer, view: View
    ) -> z3.ArithRef:
        befores = {ds.name: ds for ds in server.datasources}
        change = ChangeView(self.before_view, view)
        change.__dict__["datasources"] = [
            DsChange(befores[ds.name], ds) for ds in after.datasources
        ]
        terms = [
            z3.If(
                self._parse(self.grounder.ground(self.history, self.history.reads(change, c))), 0, 1
            )
            for c in change.datasources
            if c.before.primary != c.after.primary or c.before.primary in self.failure.failed
        ]
        return z3.Sum(terms) if terms else z3.IntVal(0)

    def _parse(self, text: str) -> z3.BoolRef:
        found = self._cache.get(text)
        if found is None:
            found = z3.parse_smt2_string(f"(assert {text})")[0]
            self._cache[text] = found
        return found


def _safe(rule, view, ds) -> bool:
    """Whether a rule's entities can be named for a data source (its facts make sense)."""
    try:
        rule.entities(view, ds)
        return True
    except (KeyError, AttributeError, TypeError, IndexError):
        return False


def _facts(ds: DataSource, agents: tuple[str, ...], switched: bool) -> DsFacts:
    return DsFacts(
        ds.type,
        ds.primary,
        ds.secondary,
        ds.mode,
        ds.switched_from,
        ds.dedup,
        ds.hyperv_scale_out,
        ds.policy,
        ds.secondary_policy,
        agents,
        switched,
    )


# ------------------------------------------------------------------------------------------
# Synthesis


def suggest_moves(
    topology: Topology,
    *,
    failed: Sequence[str] = (),
    removed: Sequence[str] = (),
    top: int = 3,
    allow: Iterable[str] | None = None,
    rank: Sequence[str] | None = None,
    timeout: float | None = 60.0,
) -> list[Plan]:
    """Ranked recovery plans for the failed DPM servers (the Python API of cli.md)."""
    return list(
        synthesize(
            topology,
            failed=failed,
            removed=removed,
            top=top,
            allow=allow,
            rank=rank,
            timeout=timeout,
        ).plans
    )


def apply(topology: Topology, plan: Plan) -> Topology:
    """A plan's final state: its actions applied to the estate after the failure.

    Plans from `suggest_moves` carry that state already (with the failed servers marked); for a
    plan built by hand, its actions are applied to `topology` in order.
    """
    if plan.final_state is not None:
        return plan.final_state
    return apply_actions(topology, plan.actions)


def synthesize(
    topology: Topology,
    *,
    failed: Sequence[str] = (),
    removed: Sequence[str] = (),
    top: int = 3,
    allow: Iterable[str] | None = None,
    rank: Sequence[str] | None = None,
    timeout: float | None = 60.0,
) -> Suggestion:
    """Find the best `top` plans; raise SolverGaveUp only when no plan at all was found in time."""
    allowed = set(allow) if allow is not None else None
    order = tuple(rank) if rank else CRITERIA
    if "unprotected" not in order:
        order = ("unprotected", *order)  # complete plans first unless asked otherwise
    order = order + tuple(c for c in CRITERIA if c not in order)
    failure = _failure(topology, failed, removed)
    profile = topology.profile
    pre_report = check(failure.before, timeout=timeout)
    preexisting = {
        f.fingerprint
        for f in pre_report.findings
        if f.severity is Severity.ERROR and f.rule not in IGNORED
    }
    problem = _Problem(failure, profile, preexisting, allowed, order)
    plans, optimal = problem.solve(top, timeout)
    return Suggestion(
        file=topology.file,
        failed=failure.failed,
        removed=failure.removed,
        preexisting=tuple(sorted(preexisting)),
        plans=tuple(plans),
        optimal=optimal,
    )


class _Problem:
    def __init__(self, failure: _Failure, profile: str, pre: set[str], allowed, order):
        self.failure = failure
        self.profile = profile
        self.pre = pre
        self.allowed = allowed
        self.order = order
        self.legal = _Legality(failure, profile)
        self.legal.preexisting_for(pre)
        self.state = failure.state
        self.down = set(failure.failed) | set(failure.removed)
        self.groups = self._groups()
        self.rebuildable = self._rebuildable()
        self.reassign = self._reassign_options()
        self.touched = self._touched()

    def ok(self, action: str) -> bool:
        return self.allowed is None or action in self.allowed

    # -- the unknowns ----------------------------------------------------------------------
    def _groups(self) -> list[_Group]:
        state = self.state
        groups: dict[tuple, _Group] = {}
        for name in sorted(state.servers, key=canon):
            server = state.servers[name]
            for p in sorted(
                {ds.primary for ds in server.datasources if ds.primary in self.down}, key=canon
            ):
                on_p = [ds for ds in server.datasources if ds.primary == p]
                secondaries = {ds.secondary for ds in on_p}
                key = (
                    p,
                    server.agents,
                    server.cluster,
                    tuple(
                        sorted(
                            ((_facts(ds, (), False), ds.primary == p) for ds in server.datasources),
                            key=repr,
                        )
                    ),
                )
                g = groups.get(key)
                if g is None:
                    g = groups[key] = _Group(
                        p=p,
                        servers=[],
                        secondary=next(iter(secondaries)) if len(secondaries) == 1 else None,
                        datasources=len(on_p),
                        with_secondary=sum(1 for ds in on_p if ds.secondary is not None),
                    )
                g.servers.append(name)
        return sorted(groups.values(), key=lambda g: (canon(g.p), canon(g.servers[0])))

    def _rebuildable(self) -> dict[str, z3.BoolRef]:
        """Failed servers and the change-rule formulas (REBUILD-*, REMOVED-IS-GONE) of bringing
        each back up."""
        out = {}
        if not self.ok("rebuild"):
            return out
        grounder = self.legal.grounder
        for p in sorted(self.down, key=canon):
            after = self.legal.view(frozenset({p}), None)
            change = ChangeView(self.legal.before_view, after)
            parts = []
            for rule in all_rules():
                if (
                    rule.scope is Scope.CHANGE_DPM
                    and rule.severity_in(self.profile) is Severity.ERROR
                ):
                    parts.append(
                        self.legal._parse(grounder.ground(rule, rule.reads(change, (p, p))))
                    )
            out[p] = z3.And(parts)
        return out

    def _reassign_options(self) -> dict[str, list[str]]:
        """Up DPM servers whose secondary is down -> candidate new secondaries."""
        out: dict[str, list[str]] = {}
        if not self.ok("reassign-secondary"):
            return out
        state = self.state
        ups = sorted((n for n, d in state.dpm_servers.items() if d.up), key=canon)
        for y in ups:
            prot = state.protectors[y]
            if prot and all(x in self.down for x in prot):
                out[y] = [t for t in ups if t != y]
        return out

    # -- options of a group ----------------------------------------------------------------
    def _options(
        self, g: _Group
    ) -> list[tuple[_Option, ProtectedServer, ProtectedServer | None, View]]:
        """(option, state after the immediate phase, state after the final phase or None, view)."""
        server = self.state.servers[g.servers[0]]
        p, s = g.p, g.secondary
        out = []
        base_view = self.legal.view(frozenset(), None)
        s_up = s is not None and self.state.dpm_servers[s].up
        if s_up and self.ok("switch"):
            switched = apply_actions(
                self._one(server), [Action("switch", server=server.name, from_=p, to=s)]
            )
            out.append((_Option("switch", s), switched.servers[server.name], None, base_view))
            if p in self.rebuildable and self.ok("switch-back"):
                back = apply_actions(
                    switched,
                    [
                        Action("rebuild", dpm=p),
                        Action("switch-back", server=server.name, from_=s, to=p),
                    ],
                )
                out.append(
                    (
                        _Option("switch-back", s),
                        switched.servers[server.name],
                        back.servers[server.name],
                        self.legal.view(frozenset({p}), None),
                    )
                )
        if p in self.rebuildable:
            out.append((_Option("rebuild", p), server, None, self.legal.view(frozenset({p}), None)))
        if self.ok("move"):
            for n in sorted(self.state.dpm_servers, key=canon):
                d = self.state.dpm_servers[n]
                if n == p or not d.up:
                    continue
                moved = apply_actions(
                    self._one(server), [Action("move", server=server.name, from_=p, to=n)]
                )
                out.append((_Option("move", n), moved.servers[server.name], None, base_view))
        if self.ok("new-dpm"):
            name, version = self._new_name(p), self.state.dpm_servers[p].version
            view = self.legal.view(frozenset(), (name, version))
            one = replace(self._one(server), dpm_servers=view.topology.dpm_servers)
            moved = apply_actions(one, [Action("move", server=server.name, from_=p, to=name)])
            out.append((_Option("new-dpm", name), moved.servers[server.name], None, view))
        return out

    def _one(self, server: ProtectedServer) -> Topology:
        return replace(self.state, servers={server.name: server})

    def _new_name(self, p: str) -> str:
        """The placeholder name of the new DPM server that takes p's servers (one per p)."""
        index = sorted(self.down, key=canon).index(p) + 1
        taken = {canon(n) for n in self.state.dpm_servers}
        k = index
        while canon(f"NEW-DPM-{k}") in taken:
            k += len(self.down)
        return f"NEW-DPM-{k}"

    # -- the optimization problem ------------------------------------------------------------
    def build(self):
        """Variables, constraints and cost terms; returns (constraints, variables, costs)."""
        cons: list[z3.BoolRef] = []
        counts: dict[tuple[int, _Option], z3.ArithRef] = {}
        info: dict[tuple[int, _Option], tuple] = {}
        rb_now = {
            p: z3.Bool(f"rebuild_now!{i}")
            for i, p in enumerate(sorted(self.rebuildable, key=canon))
        }
        rb_final = {
            p: z3.Bool(f"rebuild_final!{i}")
            for i, p in enumerate(sorted(self.rebuildable, key=canon))
        }
        for p, legal in self.rebuildable.items():
            cons.append(z3.Not(z3.And(rb_now[p], rb_final[p])))
            cons.append(z3.Implies(z3.Or(rb_now[p], rb_final[p]), legal))
        cost = {c: [] for c in CRITERIA}

        def up_final(x: str | None) -> z3.BoolRef:
            """Whether DPM server x is up in the final state (a failed one only if rebuilt)."""
            if x is None:
                return z3.BoolVal(False)
            if x not in self.down:
                return z3.BoolVal(True)
            if x in rb_now:
                return z3.Or(rb_now[x], rb_final[x])
            return z3.BoolVal(False)

        loads = self._base_loads()
        load_terms: dict[str, list] = {d: [] for d in loads}
        new_used: dict[str, list] = {}
        for gi, g in enumerate(self.groups):
            server = self.state.servers[g.servers[0]]
            options = self._options(g)
            none = _Option("none")
            total = []
            for opt, imm, fin, view in [*options, (none, None, None, None)]:
                c = z3.Int(f"count!{gi}!{opt.kind}!{opt.target or ''}")
                counts[(gi, opt)] = c
                info[(gi, opt)] = (imm, fin)
                total.append(c)
                cons.append(c >= 0)
                if opt.kind == "none":
                    cost["unprotected"].append(c * g.datasources)
                    cost["secondary_lost"].append(c * 0)
                    continue
                legal = self.legal.formula(server, imm, view)
                if fin is not None:
                    legal = z3.And(legal, self.legal.formula(server, fin, view))
                cons.append(z3.Implies(c > 0, legal))
                if opt.kind == "rebuild":
                    cons.append(z3.Implies(c > 0, rb_now[g.p]))
                if opt.kind == "switch-back":
                    cons.append(z3.Implies(c > 0, rb_final[g.p]))
                final = fin if fin is not None else imm
                cost["history_broken"].append(c * self.legal.history_broken(server, final, view))
                cost["exposure"].append(c * EXPOSURE[opt.kind] * g.datasources)
                lost = [
                    z3.If(up_final(a.secondary), 0, 1)
                    for b, a in zip(server.datasources, final.datasources, strict=True)
                    if b.primary == g.p and b.secondary is not None
                ]
                cost["secondary_lost"].append(c * z3.Sum([z3.IntVal(0), *lost]))
                if opt.kind != "rebuild":
                    cost["repointed"].append(c)
                if opt.kind == "new-dpm":
                    new_used.setdefault(opt.target, []).append(c)
                    load_terms.setdefault(opt.target, [])
                for ds in final.datasources:
                    if (
                        ds.primary is not None
                        and ds.primary in load_terms
                        and any(b.primary == g.p and b.name == ds.name for b in server.datasources)
                    ):
                        load_terms[ds.primary].append(c)
                        if ds.secondary is not None and ds.secondary != ds.primary:
                            load_terms[ds.secondary].append(c)
            cons.append(z3.Sum(total) == len(g.servers))
            for p in self.rebuildable:
                if p == g.p:
                    back = counts.get((gi, _Option("switch-back", g.secondary)))
                    if back is not None:
                        info.setdefault(("back", p), []).append(back)
        for p in self.rebuildable:
            backs = info.get(("back", p), [])
            cons.append(z3.Implies(rb_final[p], z3.Sum(backs) > 0 if backs else z3.BoolVal(False)))
        # reassign-secondary: one new secondary at most per DPM server whose secondary is down
        reassign: dict[tuple[str, str], z3.BoolRef] = {}
        for yi, (y, targets) in enumerate(self.reassign.items()):
            choice = []
            for ti, t in enumerate(targets):
                v = z3.Bool(f"reassign!{yi}!{ti}")
                legal = self._reassign_legal(y, t)
                cons.append(z3.Implies(v, legal))
                reassign[(y, t)] = v
                choice.append(v)
            cons.append(z3.AtMost(*choice, 1) if len(choice) > 1 else z3.BoolVal(True))
            old = [x for x in self.state.protectors[y]]
            restored = (
                z3.Or(
                    *choice,
                    *[z3.Or(rb_now[x], rb_final[x]) for x in old if x in rb_now],
                )
                if choice or any(x in rb_now for x in old)
                else z3.BoolVal(False)
            )
            nsec = self._secondary_count(y)
            cost["secondary_lost"].append(z3.If(restored, 0, nsec))
            for t in targets:
                load_terms.setdefault(t, []).append(z3.If(reassign[(y, t)], nsec, 0))
        # secondary lost through failed secondaries with no reassign option at all
        for y in self._lost_without_option():
            cost["secondary_lost"].append(z3.IntVal(self._secondary_count(y)))
        cost["new_servers"] = [z3.If(z3.Or([c > 0 for c in cs]), 1, 0) for cs in new_used.values()]
        cost["rebuilds"] = [z3.If(z3.Or(rb_now[p], rb_final[p]), 1, 0) for p in rb_now]
        max_load = z3.Int("max_load")
        for d, base in loads.items():
            cons.append(max_load >= base + z3.Sum([z3.IntVal(0), *load_terms.get(d, [])]))
        for d, terms in load_terms.items():
            if d not in loads:
                cons.append(max_load >= z3.Sum([z3.IntVal(0), *terms]))
        costs = {c: (z3.Sum(v) if v else z3.IntVal(0)) for c, v in cost.items() if c != "max_load"}
        costs["max_load"] = max_load
        variables = {"counts": counts, "rb_now": rb_now, "rb_final": rb_final, "reassign": reassign}
        return cons, variables, costs, info

    def _secondary_count(self, y: str) -> int:
        return sum(
            1
            for s in self.state.servers.values()
            for ds in s.datasources
            if ds.primary == y and ds.secondary is not None and ds.secondary in self.down
        )

    def _lost_without_option(self) -> list[str]:
        out = []
        for y, d in self.state.dpm_servers.items():
            if not d.up or y in self.reassign:
                continue
            prot = self.state.protectors[y]
            if (
                prot
                and all(x in self.down for x in prot)
                and not any(x in self.rebuildable for x in prot)
            ):
                out.append(y)
        return out

    def _base_loads(self) -> dict[str, int]:
        """Data sources each DPM server holds in the failure state, without the affected ones."""
        view = View(self.state, self.profile)
        loads = dict(view.datasource_load)
        for g in self.groups:
            for name in g.servers:
                for ds in self.state.servers[name].datasources:
                    if ds.primary == g.p:
                        loads[ds.primary] -= 1
                        if ds.secondary is not None and ds.secondary != ds.primary:
                            loads[ds.secondary] -= 1
        for y in self.reassign:
            for x in self.state.protectors[y]:
                loads[x] -= self._secondary_count(y) if x in self.down else 0
        return loads

    def _reassign_legal(self, y: str, t: str) -> z3.BoolRef:
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
        for rule in all_rules():
            if rule.scope not in (
                Scope.DPM,
                Scope.EDGE,
                Scope.COMPONENT,
                Scope.CYCLE,
                Scope.LIBRARY,
            ):
                continue
            if rule.severity_in(self.profile) is not Severity.ERROR:
                continue
            for instance in view.instances(rule.scope):
                facts = rule.reads(view, instance)
                if facts is None:
                    continue
                if (
                    _safe(rule, view, instance)
                    and fingerprint(rule.id, rule.entities(view, instance)) in self.pre
                ):
                    continue
                parts.append(self.legal._parse(self.legal.grounder.ground(rule, facts)))
        return z3.And(parts) if parts else z3.BoolVal(True)

    # -- solving ---------------------------------------------------------------------------------
    def solve(self, top: int, timeout: float | None) -> tuple[list[Plan], bool]:
        cons, variables, costs, info = self.build()
        decision = [
            *variables["counts"].values(),
            *variables["rb_now"].values(),
            *variables["rb_final"].values(),
            *variables["reassign"].values(),
        ]
        blocks: list[z3.BoolRef] = []
        plans: list[Plan] = []
        optimal = True
        seen: set[tuple] = set()
        attempts = 0
        while len(plans) < top and attempts < top * 4 + 8:
            attempts += 1
            opt = z3.Optimize()
            opt.set("timeout", max(1, int((timeout or 600) * 1000)))
            z3.set_param("smt.random_seed", 0)
            opt.add(cons)
            opt.add(blocks)
            for c in self.order:
                opt.minimize(costs[c])
            result = opt.check()
            if result == z3.unsat:
                break
            if result == z3.unknown:
                optimal = False
                try:
                    model = opt.model()
                except z3.Z3Exception:
                    model = None
                if model is None:
                    if not plans:
                        raise SolverGaveUp(f"the solver gave up: {opt.reason_unknown()}")
                    break
            else:
                model = opt.model()
            best = tuple(model.eval(costs[c], model_completion=True).as_long() for c in self.order)
            # every plan of this cost (up to a bound), ordered by its sorted action list
            tied = self._tied(cons + blocks, costs, best, decision, model, limit=max(12, top * 3))
            candidates = []
            for m in tied:
                blocks.append(_block(m, decision))
                plan = self._plan(m, variables, costs, info)
                key = plan.sort_key()
                if key in seen:
                    continue
                seen.add(key)
                if self._verify(plan):
                    candidates.append(plan)
            candidates.sort(key=Plan.sort_key)
            for plan in candidates:
                if len(plans) >= top:
                    break
                plans.append(replace(plan, rank=len(plans) + 1))
            if plans and plans[0].complete:
                cons = [
                    *cons,
                    costs["unprotected"] == 0,
                ]  # partial plans only when none is complete
            if result == z3.unknown:
                break
        return plans, optimal

    def _tied(self, cons, costs, best, decision, first, limit: int) -> list[z3.ModelRef]:
        solver = z3.Solver()
        solver.set("random_seed", 0)
        solver.add(cons)
        solver.add([costs[c] == v for c, v in zip(self.order, best, strict=True)])
        out = [first]
        solver.add(_block(first, decision))
        while len(out) < limit and solver.check() == z3.sat:
            m = solver.model()
            out.append(m)
            solver.add(_block(m, decision))
        return out

    # -- from a model to a plan ------------------------------------------------------------------
    def _plan(self, model, variables, costs, info) -> Plan:
        def val(x) -> int:
            v = model.eval(x, model_completion=True)
            return v.as_long() if z3.is_int_value(v) else int(z3.is_true(v))

        immediate: list[Action] = []
        final: list[Action] = []
        unprotected: list[str] = []
        rebuild_now = [p for p, v in variables["rb_now"].items() if val(v)]
        rebuild_final = [p for p, v in variables["rb_final"].items() if val(v)]
        for p in sorted(rebuild_now, key=canon):
            immediate.append(self._rebuild(p))
        for gi, g in enumerate(self.groups):
            chosen = sorted(
                (
                    (opt, val(c))
                    for (i, opt), c in variables["counts"].items()
                    if i == gi and val(c) > 0
                ),
                key=lambda oc: oc[0].key(),
            )
            servers = iter(sorted(g.servers, key=canon))
            for opt, n in chosen:
                for _ in range(n):
                    name = next(servers)
                    server = self.state.servers[name]
                    on_p = [ds for ds in server.datasources if ds.primary == g.p]
                    ids = tuple(ds.id for ds in on_p)
                    pgs = tuple(sorted({ds.protection_group for ds in on_p if ds.protection_group}))
                    if opt.kind == "none":
                        unprotected.extend(ids)
                    elif opt.kind == "switch":
                        immediate.append(self._switch(name, g.p, opt.target, ids, pgs))
                    elif opt.kind == "switch-back":
                        immediate.append(self._switch(name, g.p, opt.target, ids, pgs))
                        final.append(self._switch_back(name, opt.target, g.p, ids, pgs))
                    elif opt.kind == "rebuild":
                        pass  # the rebuild of p re-protects it
                    elif opt.kind == "move":
                        immediate.append(self._move(name, g.p, opt.target, ids, pgs, g.secondary))
                    elif opt.kind == "new-dpm":
                        immediate.append(
                            self._move(name, g.p, opt.target, ids, pgs, g.secondary, new=True)
                        )
        for (y, t), v in variables["reassign"].items():
            if val(v):
                old = self.state.protectors[y]
                immediate.append(self._reassign(y, old[0] if old else None, t))
        if rebuild_final:
            final = [self._rebuild(p) for p in sorted(rebuild_final, key=canon)] + final
        immediate = _ordered(immediate)
        cost = {c: val(costs[c]) for c in CRITERIA}
        imm_state = apply_actions(self.state, immediate)
        fin_state = apply_actions(imm_state, final) if final else imm_state
        cost["max_load"] = max(View(fin_state, self.profile).datasource_load.values(), default=0)
        keeps, loses = self._keeps_loses(immediate, final, fin_state)
        return Plan(
            rank=0,
            complete=not unprotected,
            cost=cost,
            immediate=tuple(immediate),
            final=tuple(final),
            keeps=keeps,
            loses=loses,
            unprotected=tuple(sorted(unprotected, key=canon)),
            blocked_by=self._explain(unprotected) if unprotected else {},
            immediate_state=imm_state,
            final_state=fin_state,
        )

    def _touched(self) -> set[str]:
        """Protected servers a plan can change: the affected ones and those of DPM servers that
        may get a new secondary. Everything else is the same before and after any plan."""
        out = {n for g in self.groups for n in g.servers}
        ys = set(self.reassign) | set(self.state.dpm_servers)
        for name, server in self.state.servers.items():
            if any(ds.primary in ys and ds.secondary in self.down for ds in server.datasources):
                out.add(name)
        return out

    def _reduce(self, topology: Topology) -> Topology:
        keep = self.touched
        return replace(topology, servers={n: s for n, s in topology.servers.items() if n in keep})

    def _verify(self, plan: Plan) -> bool:
        """Prove the plan legal with `check`: no new error after either phase.

        Only the touched servers are checked (with every DPM server): the plan changes nothing
        else, so nothing else can gain an error.
        """
        before = self._reduce(self.failure.state)
        for state in (
            (plan.immediate_state, plan.final_state) if plan.final else (plan.final_state,)
        ):
            report = check(self._reduce(state), before=before)
            for f in report.errors:
                if f.rule in IGNORED or f.fingerprint in self.pre:
                    continue
                if plan.unprotected and f.rule == "UNPROTECTED":
                    continue
                return False
        return True

    def _keeps_loses(self, immediate, final, fin_state) -> tuple[dict, dict]:
        history, secondary, points_lost = [], [], []
        before = self.failure.before
        for g in self.groups:
            for name in g.servers:
                b_server = before.servers[name]
                a_server = fin_state.servers.get(name)
                if a_server is None:
                    continue
                a_by = {ds.name: ds for ds in a_server.datasources}
                for b in b_server.datasources:
                    if b.primary != g.p:
                        continue
                    a = a_by[b.name]
                    if a.primary != b.primary and not a.switched:
                        history.append(a.id)
                    elif (
                        a.primary == b.primary
                        and self.state.dpm_servers[g.p].failure
                        and (self.state.dpm_servers[g.p].failure.storage == "lost")
                    ):
                        points_lost.append(a.id)
                    if b.secondary is not None and (
                        a.secondary is None or not fin_state.dpm_servers[a.secondary].up
                    ):
                        secondary.append(a.id)
        keeps = {
            "recovery_points": "on the secondary for switched data sources; on the rebuilt server where its storage survived",
            "secondary_protection": sorted(
                {ds.id for s in fin_state.servers.values() for ds in s.datasources if ds.secondary}
                & {
                    ds.id
                    for g in self.groups
                    for n in g.servers
                    for ds in self.state.servers[n].datasources
                },
                key=canon,
            ),
        }
        loses = {
            "history": sorted(history, key=canon),
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

    def _blocking_rules(self, g: _Group) -> list[str]:
        """Named rule assertions over every option of the group; an unsat core, then deletion in
        rule-id order down to an irreducible set."""
        server = self.state.servers[g.servers[0]]
        options = self._options(g)
        if not options:
            return []
        per_rule: dict[str, list[z3.BoolRef]] = {}
        choices = []
        for k, (opt, imm, fin, view) in enumerate(options):
            x = z3.Bool(f"option!{k}")
            choices.append(x)
            for state in (imm, fin) if fin is not None else (imm,):
                for rule_id, formula in self._rule_formulas(server, state, view):
                    per_rule.setdefault(rule_id, []).append(z3.Implies(x, formula))
            if opt.kind == "rebuild" or opt.kind == "switch-back":
                per_rule.setdefault("REBUILD", []).append(z3.Implies(x, self.rebuildable[g.p]))
        names = sorted(per_rule)

        def unsat(subset) -> bool:
            s = z3.Solver()
            s.add(z3.Or(choices))
            for name in subset:
                s.add(per_rule[name])
            return s.check() == z3.unsat

        if not unsat(names):
            return []
        s = z3.Solver()
        s.add(z3.Or(choices))
        for name in names:
            s.assert_and_track(z3.And(per_rule[name]), name)
        s.check()
        core = sorted(str(c) for c in s.unsat_core())
        kept = list(core)
        for name in sorted(core):
            trial = [n for n in kept if n != name]
            if unsat(trial):
                kept = trial
        return [n if n != "REBUILD" else "REBUILD-NEEDS-BACKUP" for n in kept]

    def _rule_formulas(self, server, after, view):
        befores = {ds.name: ds for ds in server.datasources}
        change = ChangeView(self.legal.before_view, view)
        change.__dict__["datasources"] = [
            DsChange(befores[ds.name], ds) for ds in after.datasources
        ]
        switched = any(ds.switched for ds in after.datasources)
        for ds in after.datasources:
            facts = _facts(ds, after.agents, switched)
            for rule in self.legal.static_rules:
                if rule.severity_in(self.profile) is Severity.ERROR:
                    yield (
                        rule.id,
                        self.legal._parse(
                            self.legal.grounder.ground(rule, rule.reads(view, facts))
                        ),
                    )
        for rule in self.legal.change_rules:
            if rule.severity_in(self.profile) is Severity.ERROR:
                for instance in rule.instances(change):
                    yield (
                        rule.id,
                        self.legal._parse(
                            self.legal.grounder.ground(rule, rule.reads(change, instance))
                        ),
                    )

    # -- actions with their DPM steps ------------------------------------------------------------
    def _switch(self, server, p, s, ids, pgs) -> Action:
        groups = ", ".join(pgs) or "the protection groups that hold them"
        return Action(
            "switch",
            server=server,
            from_=p,
            to=s,
            datasources=ids,
            protection_groups=pgs,
            steps=(
                f"On {s} (the secondary): Start-DPMSwitchProtection -ProtectionGroup <{groups}> -Datasource <{', '.join(ids)}>",
                f"On {s}: accept ownership of {server}'s protection agent",
                f"On {s}: run a consistency check on each switched data source (replicas are inconsistent until then)",
                f"Leave {server} without secondary protection while it is switched",
            ),
        )

    def _switch_back(self, server, s, p, ids, pgs) -> Action:
        return Action(
            "switch-back",
            server=server,
            from_=s,
            to=p,
            datasources=ids,
            protection_groups=pgs,
            steps=(
                f"On {p}: answer the 'Agent Ownership Required' alert with Take Ownership for {server}",
                f"On {p}: modify the protection group to protect {server}'s data sources again",
                f"On {s}: modify the protection group to protect {p}'s replicas of them (secondary protection)",
                f"Run consistency checks on {p} and {s}",
            ),
        )

    def _rebuild(self, p) -> Action:
        d = self.state.dpm_servers[p]
        failure = d.failure
        backup = self.failure.before.db_backup(p)
        steps = [f"Install DPM {d.version} on a server named {p} (same name, same build)"]
        if not (failure and failure.database == "intact"):
            source = {
                "secondary": f"its secondary {', '.join(self.state.protectors[p]) or ''}".strip()
            }.get(backup, backup)
            steps.append(f"DpmSync -RestoreDb -DbLoc <backup of {p}'s database from {source}>")
        steps.append("DpmSync -Sync")
        if failure and failure.storage == "lost":
            prot = ", ".join(self.state.protectors[p]) or "tape"
            steps.append(
                f"DpmSync -ReallocateReplica, then re-create the replicas from {prot} (Restore to replica)"
            )
        steps.append(f"On each computer {p} protects: SetDpmServer.exe -dpmServerName {p}")
        steps.append("Run a consistency check on every data source")
        return Action("rebuild", dpm=p, steps=tuple(steps))

    def _move(self, server, p, n, ids, pgs, s, *, new=False) -> Action:
        steps = []
        if new:
            version = self.state.dpm_servers[p].version
            steps.append(
                f"Install a new DPM server {n} (DPM {version}) that {s or 'no secondary'} does not know about"
            )
        steps.append(
            f"On {server}: SetDpmServer.exe -dpmServerName {n} (or install the agent from {n})"
        )
        steps.append(
            f"On {n}: add {server}'s data sources to a protection group and run the initial replication"
        )
        protectors = [x for x in self.state.protectors.get(n, ()) if self.state.dpm_servers[x].up]
        if protectors and not new:
            steps.append(
                f"On {protectors[0]}: add {n}'s replicas of them to its secondary protection group"
            )
        steps.append(f"The old recovery points stay on {p}" + (f" and {s}" if s else ""))
        return Action(
            "new-dpm" if new else "move",
            server=server,
            from_=p,
            to=n,
            datasources=ids,
            protection_groups=pgs,
            steps=tuple(steps),
            version=self.state.dpm_servers[p].version if new else None,
        )

    def _reassign(self, y, old, t) -> Action:
        return Action(
            "reassign-secondary",
            dpm=y,
            from_=old,
            to=t,
            steps=(
                f"On {y}: install the protection agent of {t} (no restart is needed)",
                f"On {t}: create a protection group for {y}'s databases, Config and Scripting folders and replicas",
                f"Start the SQL Server VSS Writer on {y} if it is stopped",
                f"Back {y}'s DPM database up to {t}",
            ),
        )


def _ordered(actions: list[Action]) -> list[Action]:
    """The order an administrator runs them: secondaries first, then rebuilds, switches, moves."""
    rank = {
        "reassign-secondary": 0,
        "rebuild": 1,
        "switch": 2,
        "move": 3,
        "new-dpm": 4,
        "switch-back": 5,
    }
    return sorted(actions, key=lambda a: (rank[a.action], a.sort_key()))


def _block(model, decision) -> z3.BoolRef:
    return (
        z3.Or([v != model.eval(v, model_completion=True) for v in decision])
        if decision
        else z3.BoolVal(False)
    )
