"""suggest-move: synthesize ranked, legal recovery plans after DPM servers fail (rules.md).

Encoding idea. Only the protected servers whose primary failed are unknowns. Servers that are
interchangeable (same failed primary, same agents, same facts of their data sources) form a
group, and the optimizer chooses how many of each group take each option (switch, switch now and
back after a rebuild, rebuild, move to n, a new DPM server, or nothing), with one Int per
(group, option) instead of one variable per server (performance.md: counting removes the
symmetry that makes pigeonhole problems hard). Move targets are counted the same way: the up DPM
servers that no rule can tell apart for a group form a class (`_target_key`), one of them is
grounded and one Int counts the group's servers that move to the class; `_place` then puts them
on members (least largest load, then names). Which failed servers are rebuilt (now or in the
final phase) and which DPM servers get a new secondary are Booleans.

Legality comes from the rule catalogue itself: for every option, the data sources it would
produce are grounded through the same `reads`/`holds` of every error rule (static and change)
that `check` uses, and `count > 0 → formula` is asserted. Rule instances the estate already
violated before the failure do not constrain (they are `preexisting`) where the error after
the option is the same one, by fingerprint, as `check` matches it. Costs are the criteria of
rules.md, minimized lexicographically (`optimize.search.lexmin`, binary search per criterion on one
incremental solver); equal-cost plans are ordered by their
sorted action lists and later plans come from blocking earlier ones. Every plan is then applied
and proved legal by `check` on its states before it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import networkx as nx
import z3

from dpmsmt.actions import Action, apply_actions
from dpmsmt.check import check
from dpmsmt.encode import ChangeView, DsChange, DsFacts, Grounder, View, model_values
from dpmsmt.findings import Severity, SolverGaveUp, UsageError, fingerprint
from dpmsmt.model import DataSource, DpmServer, ProtectedServer, Topology, canon, evolve
from dpmsmt.optimize.explain import irreducible
from dpmsmt.optimize.placement import CANDIDATES, greedy, least_peak
from dpmsmt.optimize.search import attempts, block, lexmin
from dpmsmt.optimize.smt import SmtText, conj, disj, total
from dpmsmt.plan import MoveClass, Plan, SecondaryChoice, Suggestion, failover_server_name
from dpmsmt.rules import Scope, all_rules, get
from dpmsmt.steps import (
    move_action,
    reassign_action,
    rebuild_action,
    run_order,
    switch_action,
    switch_back_action,
)

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
HISTORY = "HISTORY-LEFT-BEHIND"  # what the cost `history_broken` counts
REPOINTING = frozenset(("switch", "switch-back", "move", "new-dpm"))  # the agent changes
MOVE_CANDIDATES = CANDIDATES  # legal move targets kept per group and outcome (the least loaded)
_OPTIONS_ORDER = ("move", "new-dpm", "none", "rebuild", "switch", "switch-back")


# ------------------------------------------------------------------------------------------
# The failure


@dataclass
class _Failure:
    """The estate before the failure (`before`), at the failure (`state`), and what failed."""

    before: Topology
    state: Topology
    failed: tuple[str, ...]
    removed: tuple[str, ...]


def _resolve(topology: Topology, names: Iterable[str], what: str) -> list[str]:
    index = {canon(n): n for n in topology.dpm_servers}
    out = []
    for n in names:
        if canon(n) not in index:
            raise UsageError(f"--{what} {n}: not a DPM server of {topology.file}")
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
    return _Failure(before, state, down_f, down_r)


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
    classes: dict[str, list[str]] | None = None  # move target classes: representative -> members


class _Legality:
    """Grounds error rules over hypothetical data sources, as `check` grounds real ones.

    Every grounded formula becomes a named Boolean definition in one SMT-LIB text (shared by all
    options: equal facts give one Boolean), which the optimizer and the explanation solver load
    with `from_string`; options refer to the Booleans by name.
    """

    def __init__(
        self, failure: _Failure, profile: str, pre_ds: set[tuple[str, str]], pre: set[str]
    ):
        self.failure = failure
        self.profile = profile
        self.pre_ds = pre_ds  # (rule id, data source id) of errors the estate already had
        self.pre = pre  # their fingerprints
        self.grounder = Grounder()
        self.before_view = View(failure.state, profile)
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
            dpms = dict(self.failure.state.dpm_servers)
            for n in up:
                dpms[n] = replace(dpms[n], status="up", failure=None)
            if new is not None:
                dpms[new[0]] = DpmServer(name=new[0], version=new[1])
            self._views[key] = View(replace(self.failure.state, dpm_servers=dpms), self.profile)
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
            by_facts.setdefault(_facts(ds, after.agents, switched), []).append(ds)
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
            _safe(rule, view, ds) and fingerprint(rule.id, rule.entities(view, ds)) in self.pre
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
            if c.before.primary != c.after.primary or c.before.primary in self.failure.failed:
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


def _safe(rule, view, ds) -> bool:
    """Whether a rule's entities can be named for a data source (its facts make sense)."""
    try:
        rule.entities(view, ds)
        return True
    except (KeyError, AttributeError, TypeError, IndexError):
        return False


_facts = DsFacts.of  # the facts rules read, as `check` builds them


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
    """Find the best `top` plans; raise SolverGaveUp only when no plan at all was found in time.

    Z3 runs in a fresh main context: among plans of equal cost, which one Z3 finds first depends
    on the terms the context already holds, and the same question must get the same answer
    however many were asked before it in the process."""
    with fresh_z3():
        problem = problem_of(topology, failed, removed, allow=allow, rank=rank, timeout=timeout)
        plans, optimal = problem.solve(top, timeout)
    return Suggestion(
        file=topology.file,
        failed=problem.failure.failed,
        removed=problem.failure.removed,
        preexisting=tuple(sorted(problem.pre)),
        plans=tuple(plans),
        optimal=optimal,
    )


@contextmanager
def fresh_z3(timeout: float | None = None):
    """Run with a new Z3 main context and, with `timeout`, that default limit for every Z3
    check; the caller's context and limit are restored."""
    old_ctx = z3.z3._main_ctx
    old_timeout = z3.get_param("timeout")
    z3.z3._main_ctx = None
    if timeout is not None:
        z3.set_param("timeout", max(1, int(timeout * 1000)))
    try:
        yield
    finally:
        z3.z3._main_ctx = old_ctx
        z3.set_param("timeout", old_timeout)


def problem_of(
    topology: Topology,
    failed: Sequence[str] = (),
    removed: Sequence[str] = (),
    *,
    allow: Iterable[str] | None = None,
    rank: Sequence[str] | None = None,
    timeout: float | None = 60.0,
    classes: bool = True,
) -> _Problem:
    """The synthesis problem of a failure: what failed, the errors the estate already had
    (`preexisting`: the errors of the file as given, where the servers named by `failed` and
    `removed` are still as the file says), the unknowns."""
    allowed = set(allow) if allow is not None else None
    order = tuple(rank) if rank else CRITERIA
    if "unprotected" not in order:
        order = ("unprotected", *order)  # complete plans first unless asked otherwise
    order = order + tuple(c for c in CRITERIA if c not in order)
    failure = _failure(topology, failed, removed)
    preexisting, pre_ds = _preexisting(topology, timeout)
    return _Problem(failure, topology.profile, preexisting, pre_ds, allowed, order, classes=classes)


def error_rules(profile: str) -> list[str]:
    """The rules that can report an error under the profile (the only ones a plan must keep)."""
    return sorted(
        r.id for r in all_rules() if r.severity_in(profile, severe=True) is Severity.ERROR
    )


_PRE_CACHE: list[tuple] = []  # (servers mapping, key, answer), most recent last


def _preexisting(before: Topology, timeout: float | None) -> tuple[set[str], set]:
    """The errors of the estate before the failure: fingerprints, and (rule, data source or
    server) pairs.

    Remembered for the last estates (by the identity of their protected servers and the value of
    everything else `check` reads), since `resilience` asks for every failure set of one estate
    and the estate before each is the same: a check of 200k data sources is done once."""
    key = (tuple(before.dpm_servers.items()), before.profile, before.waivers, before.tape_libraries)
    for servers, k, answer in _PRE_CACHE:
        if servers is before.servers and k == key:
            return answer
    with fresh_z3():  # so that the problem's context is the same whether cached or not
        report = check(before, timeout=timeout, select=error_rules(before.profile))
    errors = [f for f in report.errors if f.rule not in IGNORED]
    answer = (
        {f.fingerprint for f in errors},
        {(f.rule, f.entities["datasource"]) for f in errors if "datasource" in f.entities}
        | {(f.rule, f.entities["server"]) for f in errors if "server" in f.entities},
    )
    _PRE_CACHE.append((before.servers, key, answer))
    del _PRE_CACHE[:-2]
    return answer


def _lost_terms(p: str, server, final, count: str, up_final) -> list[str]:
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


class _Held:
    """What a member m of a move class and its protector would hold of a moved server's data
    sources, as a mapping; computed when first read (a class may have hundreds of members)."""

    def __init__(self, problem, g, imm, rep, m):
        self.args = (problem, g, imm, rep, m)
        self._value: dict[str, int] | None = None

    def items(self):
        if self._value is None:
            problem, g, imm, rep, m = self.args
            key = (id(g), rep)
            held = problem._rep_held.get(key)
            if held is None:
                held = problem._rep_held[key] = problem._held(g, imm)
            # a member holds what the representative holds; its protector, what rep's held
            protector = problem.state.protectors[m]
            self._value = {(m if d == rep else protector[0]): k for d, k in held.items()}
        return self._value.items()


class _Problem:
    def __init__(
        self,
        failure: _Failure,
        profile: str,
        pre: set[str],
        pre_ds: set,
        allowed,
        order,
        *,
        classes: bool = True,
    ):
        self.failure = failure
        self.classes = classes  # group move targets into classes (False: ground every target)
        self.prune = False  # no moves for groups that can switch (`_legal_options`)
        self._knows_cache: dict[str, frozenset[str]] = {}
        self._secondary_counts: dict[str, int] | None = None
        self._broken: dict[str, list[tuple[str, str]]] | None = None
        self._orphan_counts: list | None = None
        self._pre_rules: dict[str, list[str]] = {}
        self._rep_held: dict[tuple, dict[str, int]] = {}
        self._classes_of: dict[tuple[str, ...], dict[str, list[str]]] = {}
        self.inactive_holders: dict[str, list[str]] = {}
        for name, d in failure.state.dpm_servers.items():
            for entry in d.inactive:
                self.inactive_holders.setdefault(canon(entry.datasource), []).append(name)
        self.profile = profile
        self.pre = pre
        self.allowed = allowed
        self.order = order
        self.legal = _Legality(failure, profile, pre_ds, pre)
        self.state = failure.state
        self.down = set(failure.failed) | set(failure.removed)
        self.groups = self._groups()
        self.rebuild_terms = self._rebuild_terms()
        truth = self.legal.truth()
        self.rebuildable = {
            p: True
            for p, terms in self.rebuild_terms.items()
            if all(truth[n] for ns in terms.values() for n in ns)
        }
        self.reassign = self._reassign_options()
        self.touched = self._touched()
        self.error_rules = error_rules(profile)
        self.base_loads = self._base_loads()

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

    def _rebuild_terms(self) -> dict[str, dict[str, list[str]]]:
        """Down server -> the change rules (REBUILD-*, REMOVED-IS-GONE) of bringing it back up,
        as rule id -> Booleans."""
        out: dict[str, dict[str, list[str]]] = {}
        if not self.ok("rebuild"):
            return out
        for p in sorted(self.down, key=canon):
            after = self.legal.view(frozenset({p}), None)
            change = ChangeView(self.legal.before_view, after)
            out[p] = {
                rule.id: [self.legal.name(rule, rule.reads(change, (p, p)))]
                for rule in all_rules()
                if rule.scope is Scope.CHANGE_DPM
                and rule.severity_in(self.profile) is Severity.ERROR
            }
        return out

    def _option_terms(self, g: _Group, opt: _Option, imm, fin, view) -> dict[str, list[str]]:
        """Rule id -> Booleans that must hold for the group's server to take an option."""
        server = self.state.servers[g.servers[0]]
        out = self.legal.rule_terms(server, imm, view)
        if fin is not None:
            for rule_id, names in self.legal.rule_terms(server, fin, view).items():
                out.setdefault(rule_id, []).extend(n for n in names if n not in out[rule_id])
        if opt.kind in ("rebuild", "switch-back"):
            for rule_id, names in self.rebuild_terms[g.p].items():
                out.setdefault(rule_id, []).extend(names)
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
        self, g: _Group, moving: bool | None = None
    ) -> list[tuple[_Option, ProtectedServer, ProtectedServer | None, View]]:
        """(option, state after the immediate phase, state after the final phase or None, view);
        with `moving`, only the moves and new servers (True) or only the others (False)."""
        server = self.state.servers[g.servers[0]]
        p, s = g.p, g.secondary
        out = []
        base_view = self.legal.view(frozenset(), None)
        s_up = s is not None and self.state.dpm_servers[s].up
        if moving is True:
            return self._moves(g, server, base_view)
        if s_up and self.ok("switch"):
            switched = self._apply(
                self._one(server), [Action("switch", server=server.name, from_=p, to=s)]
            )
            out.append((_Option("switch", s), switched.servers[server.name], None, base_view))
            if p in self.rebuild_terms and self.ok("switch-back"):
                back = self._apply(
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
        if p in self.rebuild_terms:
            out.append((_Option("rebuild", p), server, None, self.legal.view(frozenset({p}), None)))
        if moving is None:
            out += self._moves(g, server, base_view)
        return out

    def _moves(self, g: _Group, server: ProtectedServer, base_view: View) -> list[tuple]:
        """The move options (one per class of targets) and the new-dpm option of a group."""
        p, out = g.p, []
        if self.ok("move"):
            for n in self._move_classes(g):
                moved = self._apply(
                    self._one(server), [Action("move", server=server.name, from_=p, to=n)]
                )
                out.append((_Option("move", n), moved.servers[server.name], None, base_view))
        if self.ok("new-dpm"):
            name, version = self._new_name(p), self.state.dpm_servers[p].version
            view = self.legal.view(frozenset(), (name, version))
            one = replace(self._one(server), dpm_servers=view.topology.dpm_servers)
            moved = self._apply(one, [Action("move", server=server.name, from_=p, to=name)])
            out.append((_Option("new-dpm", name), moved.servers[server.name], None, view))
        return out

    def _move_classes(self, g: _Group) -> list[str]:
        """The representatives of the classes of move targets for the group, in name order.

        Every up DPM server n ≠ p is a move target; targets with the same `_target_key` are
        indistinguishable to every rule, so only the first of each class (by name) is grounded
        and its rule Booleans stand for the whole class (`g.classes`).
        """
        if g.classes is None:
            server = self.state.servers[g.servers[0]]
            mentioned = self._mentioned(g, server)
            found = self._classes_of.get(mentioned)  # groups naming the same servers share them
            if found is None:
                classes: dict[tuple, list[str]] = {}
                for n in sorted(self.state.dpm_servers, key=canon):
                    if n != g.p and self.state.dpm_servers[n].up:
                        key = self._target_key(n, mentioned) if self.classes else (n,)
                        classes.setdefault(key, []).append(n)
                found = self._classes_of[mentioned] = {ms[0]: ms for ms in classes.values()}
            g.classes = found
        return sorted(g.classes, key=canon)

    def _mentioned(self, g: _Group, server: ProtectedServer) -> tuple[str, ...]:
        """The DPM servers the group's facts name: its failed primary, the agents, every
        primary, secondary and former primary of its data sources, the protectors of p, and the
        DPM servers that hold inactive replicas of its data sources."""
        names = [g.p, *server.agents, *self.state.protectors[g.p]]
        for ds in server.datasources:
            names += [ds.primary, ds.secondary, ds.switched_from]
            names += self.inactive_holders.get(canon(ds.id), ())
        return tuple(dict.fromkeys(n for n in names if n is not None))

    def _target_key(self, n: str, mentioned: tuple[str, ...]) -> tuple:
        """What rules can tell apart about a move target n: rules compare names only for
        equality, so n is known by its status, kind, location and replica scope, its protectors
        (and theirs), which of the group's names it equals or is known to (`knows`, Q6)."""
        dpms = self.state.dpm_servers
        d = dpms[n]

        def rel(x: str) -> tuple:
            return tuple(x == m for m in mentioned)

        protectors = self.state.protectors[n]
        return (
            d.status,
            d.kind,
            d.location,  # AZURE-BOUNDARY
            "replicas" in d.secondary_scope,
            rel(n),
            tuple(canon(n) in self._knows(m) for m in mentioned),
            tuple(
                (dpms[x].status, dpms[x].kind, x == n, rel(x), len(self.state.protectors[x]))
                for x in protectors
            ),
        )

    def _knows(self, m: str) -> frozenset[str]:
        """`knows(m)` over the state at the failure, as canonical names (moves change neither
        the protection graph nor the `knows` lists, so it is the same in every state)."""
        found = self._knows_cache.get(m)
        if found is None:
            found = self._knows_cache[m] = frozenset(
                canon(x) for x in self.legal.before_view.knows(m)
            )
        return found

    def _apply(self, one: Topology, actions: list[Action]) -> Topology:
        """Actions on a one-server state of the failure: its protectors are the failure
        state's (a new DPM server protects nothing and has no protector)."""
        return apply_actions(one, actions, protectors=self.state.protectors)

    def _one(self, server: ProtectedServer) -> Topology:
        """The failure state with only this server (same DPM servers: `self.state.protectors`
        are its protectors)."""
        return replace(self.state, servers={server.name: server})

    def _new_name(self, p: str) -> str:
        """The placeholder name of the new DPM server that takes p's servers (one per p)."""
        return failover_server_name(self.state.dpm_servers, self.down, p)

    # -- the optimization problem ------------------------------------------------------------
    def build(self, expand: bool = True):
        """Variables, constraints and cost terms; returns (variables, costs).

        The constraints are SMT-LIB text (`variables["smt"]`, loaded with the rule Booleans'
        definitions: writing text is many times faster than building terms through the Python
        API); each cost is an Int constant the text defines, and the decision variables are Z3
        constants of the same names. With `expand`, a move class is one option per member (the
        MOVE_CANDIDATES least loaded) and `max_load` is part of the problem; without, one option
        per class stands for all its members and `max_load` is left to `_plan`, which places
        servers on members.
        """
        smt = SmtText()
        int_var, bool_var = smt.int_var, smt.bool_var

        counts: dict[tuple[int, _Option], z3.ArithRef] = {}
        repointing: dict[int, list[str]] = {}  # group -> counts of options that change agents
        backs: dict[str, list[str]] = {}  # failed server -> counts of its servers switched back
        ordered = sorted(self.rebuildable, key=canon)
        rb_now = {p: bool_var(f"rebuild_now!{i}") for i, p in enumerate(ordered)}
        rb_final = {p: bool_var(f"rebuild_final!{i}") for i, p in enumerate(ordered)}
        now = {p: f"rebuild_now!{i}" for i, p in enumerate(ordered)}
        fin_ = {p: f"rebuild_final!{i}" for i, p in enumerate(ordered)}
        used: set[str] = set()  # the grounded Booleans this problem refers to
        for p in self.rebuildable:
            names = [n for ns in self.rebuild_terms[p].values() for n in ns]
            used.update(names)
            smt.add(f"(not (and {now[p]} {fin_[p]}))")
            smt.add(f"(=> (or {now[p]} {fin_[p]}) {conj(names)})")
        cost: dict[str, list[str]] = {c: [] for c in CRITERIA}

        def up_final(x: str | None) -> str:
            """Whether DPM server x is up in the final state (a failed one only if rebuilt)."""
            if x is None:
                return "false"
            if x not in self.down:
                return "true"
            if x in rb_now:
                return f"(or {now[x]} {fin_[x]})"
            return "false"

        loads = self.base_loads
        load_terms: dict[str, list[str]] = {d: [] for d in loads}
        new_used: dict[str, list[str]] = {}
        reassign_candidates = {y: self._reassign_candidates(y) for y in self.reassign}
        candidates = self._legal_options(loads, expand, prune=self.prune)
        rows: dict[tuple[int, _Option], tuple] = {}
        for gi, g in enumerate(self.groups):
            server = self.state.servers[g.servers[0]]
            options = candidates[gi]
            none = _Option("none")
            group = []
            for j, (opt, imm, fin, view, names) in enumerate(
                [*options, (none, None, None, None, ())]
            ):
                c = f"count!{gi}!{j}"
                counts[(gi, opt)] = int_var(c)
                rows[(gi, opt)] = (imm, fin)
                group.append(c)
                smt.add(f"(>= {c} 0)")
                if opt.kind == "none":  # its data sources keep their secondaries
                    cost["unprotected"].append(f"(* {g.datasources} {c})")
                    cost["secondary_lost"] += _lost_terms(g.p, server, server, c, up_final)
                    continue
                used.update(names)
                if names:
                    smt.add(f"(=> (> {c} 0) {conj(names)})")
                if opt.kind == "rebuild":
                    smt.add(f"(=> (> {c} 0) {now[g.p]})")
                if opt.kind == "switch-back":
                    smt.add(f"(=> (> {c} 0) {fin_[g.p]})")
                final = fin if fin is not None else imm
                history = self.legal.history_counts(server, final, view)
                used.update(history)
                cost["history_broken"] += [
                    f"(ite {n} 0 (* {k} {c}))" for n, k in sorted(history.items())
                ]
                exposure = EXPOSURE[opt.kind] * g.datasources
                if exposure:
                    cost["exposure"].append(f"(* {exposure} {c})")
                cost["secondary_lost"] += _lost_terms(g.p, server, final, c, up_final)
                if opt.kind in REPOINTING:
                    repointing.setdefault(gi, []).append(c)
                if opt.kind == "new-dpm":
                    new_used.setdefault(opt.target, []).append(c)
                    load_terms.setdefault(opt.target, [])
                for d, k in self._held(g, final).items():
                    if d in load_terms:
                        load_terms[d].append(f"(* {k} {c})")
            smt.add(f"(= {total(group)} {len(g.servers)})")
            for p in self.rebuildable:
                if p == g.p:
                    back = counts.get((gi, _Option("switch-back", g.secondary)))
                    if back is not None:
                        backs.setdefault(p, []).append(back.decl().name())
        for p in self.rebuildable:
            back = backs.get(p, [])
            smt.add(f"(=> {fin_[p]} {f'(> {total(back)} 0)' if back else 'false'})")
        # reassign-secondary: one new secondary at most per DPM server whose secondary is down
        reassign: dict[tuple[str, str | None], z3.BoolRef] = {}
        chosen: dict[str, str] = {}  # DPM server -> whether it gets a new secondary
        for yi, y in enumerate(self.reassign):
            choice = []
            legal = {}
            for t, names in reassign_candidates[y]:
                used.update(names)
                legal[t] = conj(names)
            if not expand and legal:  # one choice; `_place` picks the target among `legal`
                v = f"reassign!{yi}"
                reassign[(y, None)] = bool_var(v)
                smt.add(f"(=> {v} {disj(legal.values())})")
                choice.append(v)
            for ti, t in enumerate(legal if expand else ()):
                v = f"reassign!{yi}!{ti}"
                reassign[(y, t)] = bool_var(v)
                smt.add(f"(=> {v} {legal[t]})")
                choice.append(v)
            if len(choice) > 1:
                smt.add(f"((_ at-most 1) {' '.join(choice)})")
            chosen[y] = disj(choice)
            given = self._reassigned_count(y)
            for ti, t in enumerate(legal if expand else ()):
                load_terms.setdefault(t, []).append(f"(ite reassign!{yi}!{ti} {given} 0)")
        # data sources whose primary is up (or none) and whose secondary is down: kept where
        # that secondary comes back, or where their primary gets a new one that may protect them
        for (y, z, forbidden), n in self._orphans():
            rebuilt = f"(or {now[z]} {fin_[z]})" if z in rb_now else "false"
            by_new = (
                chosen.get(y, "false") if self.state.protectors.get(y, ())[:1] == (z,) else "false"
            )
            kept = f"(and (not {by_new}) {rebuilt})" if forbidden else f"(or {by_new} {rebuilt})"
            cost["secondary_lost"].append(f"(ite {kept} 0 {n})")
        cost["repointed"] = self._repointed_terms(repointing, total)
        cost["new_servers"] = [
            f"(ite {disj(f'(> {c} 0)' for c in cs)} 1 0)" for cs in new_used.values()
        ]
        cost["rebuilds"] = [f"(ite (or {now[p]} {fin_[p]}) 1 0)" for p in ordered]
        smt.declare("max_load")
        if not expand:
            load_terms, loads = {}, {}
            smt.add("(= max_load 0)")  # placed in _plan
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
        by_group: dict[int, list] = {}
        for (gi, opt), c in counts.items():
            by_group.setdefault(gi, []).append((opt, c))
        variables = {
            "counts": counts,
            "by_group": by_group,
            "rb_now": rb_now,
            "rb_final": rb_final,
            "reassign": reassign,
            "used": used,
            "rows": rows,
            "expand": expand,
            "reassign_targets": {y: [t for t, _ in ts] for y, ts in reassign_candidates.items()},
            "smt": smt.text(),
        }
        return variables, costs

    def _repointed_terms(self, repointing: dict[int, list[str]], total) -> list[str]:
        """`repointed` counts protected servers, not groups: a server with data sources on two
        failed primaries is in two groups (with the same servers: `_bundles`). Within a bundle
        `_plan` gives the agent-changing options to the same servers first, so the servers
        repointed are as many as the largest of its groups' counts."""
        terms = []
        for gis in self._bundles():
            counts = [total(repointing[gi]) for gi in gis if gi in repointing]
            if not counts:
                continue
            most = counts[0]
            for c in counts[1:]:
                most = f"(ite (>= {most} {c}) {most} {c})"
            terms.append(most)
        return terms

    def _bundles(self) -> list[list[int]]:
        """The groups by their servers: one list per set of servers, in group order."""
        out: dict[frozenset[str], list[int]] = {}
        for gi, g in enumerate(self.groups):
            out.setdefault(frozenset(g.servers), []).append(gi)
        return list(out.values())

    def _held(self, g: _Group, final: ProtectedServer) -> dict[str, int]:
        """What each DPM server holds, as primary or secondary, of one of the group's servers'
        data sources on p once the server has taken an option (its state `final`)."""
        server = self.state.servers[g.servers[0]]
        held: dict[str, int] = {}
        for b, ds in zip(server.datasources, final.datasources, strict=True):
            if b.primary == g.p and ds.primary is not None:
                held[ds.primary] = held.get(ds.primary, 0) + 1
                if ds.secondary is not None and ds.secondary != ds.primary:
                    held[ds.secondary] = held.get(ds.secondary, 0) + 1
        return held

    def _legal_options(
        self, loads: dict[str, int], expand: bool = True, prune: bool = False
    ) -> list[list[tuple]]:
        """Per group: (option, immediate, final, view, rule Booleans) of the options whose rule
        instances all hold, after one presolve of every grounded formula. A legal move class
        becomes one option per member, the MOVE_CANDIDATES least loaded, sharing the
        representative's rule Booleans.

        With `prune`, a group whose switch is legal gets no move or new-dpm option: under the
        criteria in rules.md's order, switching a server instead of moving it keeps it protected
        and its history, with less exposure, whatever the other servers do; so no best plan
        moves it (only the first plan is asked for: later ones may)."""

        def rows(g: _Group, moving: bool) -> list[tuple]:
            out = []
            for opt, imm, fin, view in self._options(g, moving):
                terms = self._option_terms(g, opt, imm, fin, view)
                names = sorted({n for ns in terms.values() for n in ns})
                out.append((opt, imm, fin, view, names))
            return out

        staged = [rows(g, False) + ([] if prune else rows(g, True)) for g in self.groups]
        truth = self.legal.truth()
        if prune:  # moves only for the groups that cannot switch
            for g, staged_rows in zip(self.groups, staged, strict=True):
                if not any(
                    r[0].kind == "switch" and all(truth[n] for n in r[4]) for r in staged_rows
                ):
                    staged_rows += rows(g, True)
            truth = self.legal.truth()
        out = []
        for g, rows in zip(self.groups, staged, strict=True):
            legal = []
            for row in rows:
                if not all(truth[n] for n in row[4]):
                    continue
                opt, imm, fin, view, names = row
                if opt.kind != "move" or not expand:
                    legal.append(row)
                    continue
                members = sorted(g.classes[opt.target], key=lambda m: (loads.get(m, 0), canon(m)))
                for m in sorted(members[:MOVE_CANDIDATES], key=canon):
                    moved = imm if m == opt.target else self._retarget(imm, opt.target, m)
                    legal.append((_Option("move", m), moved, fin, view, names))
            legal.sort(key=lambda r: r[0].key())
            out.append(legal)
        return out

    def _retarget(self, server: ProtectedServer, rep: str, n: str) -> ProtectedServer:
        """The server as moved to n instead of rep (a member of rep's class): the same data
        sources, with n's protector as the secondary where rep's protector was one."""
        protectors = self.state.protectors[n]
        datasources = tuple(
            evolve(
                ds,
                primary=n,
                secondary=None if ds.secondary is None else protectors[0],
            )
            if ds.primary == rep
            else ds
            for ds in server.datasources
        )
        agents = tuple(n if a == rep else a for a in server.agents)
        return evolve(server, agents=agents, datasources=datasources)

    def _secondary_count(self, y: str) -> int:
        """Data sources of y whose secondary is down (they need y's new secondary)."""
        if self._secondary_counts is None:
            counts: dict[str, int] = {}
            for facts, group in self.legal.before_view.datasource_groups.items():
                if facts.secondary is not None and facts.secondary in self.down:
                    counts[facts.primary] = counts.get(facts.primary, 0) + len(group)
            self._secondary_counts = counts
        return self._secondary_counts.get(y, 0)

    def _reassign_candidates(self, y: str) -> list[tuple[str, list[str]]]:
        """Legal new secondaries for y with their rule Booleans: in batches, those of y's build
        and whose load stays within the base loads first, each batch in name order, until
        MOVE_CANDIDATES are legal, or until a batch has none once some are (grounding all 300
        candidates of a large estate costs seconds; any legal one restores the same secondary
        protection, and the choice among them only weighs on max_load)."""
        loads, nsec = self.base_loads, self._reassigned_count(y)
        floor = max(loads.values(), default=0)
        dpms = self.state.dpm_servers
        build = dpms[y].version_fields

        def differs(t: str, fields: int | None) -> bool:
            """A different major.minor (fields=2) or build (None), on the fields both give."""
            theirs = dpms[t].version_fields[:fields]
            return any(a != b for a, b in zip(build[:fields], theirs, strict=False))

        # another major.minor last (VERSION-MATCH refuses it), another build before it
        # (VERSION-MATCH refuses it under strict, 2012 and 2016, BUILD-MATCH warns under 2019+);
        # the rules still decide
        order = sorted(
            self.reassign[y],
            key=lambda t: (
                differs(t, 2),
                differs(t, None),
                loads.get(t, 0) + nsec > floor,
                canon(t),
            ),
        )
        out: list[tuple[str, list[str]]] = []
        for start in range(0, len(order), MOVE_CANDIDATES):
            batch = [
                (t, self._reassign_legal(y, t)) for t in order[start : start + MOVE_CANDIDATES]
            ]
            truth = self.legal.truth()
            legal = [(t, names) for t, names in batch if all(truth[n] for n in names)]
            if out and not legal:
                break  # the candidates left are of other builds the rules refuse, most likely
            out += legal
            if len(out) >= MOVE_CANDIDATES:
                break
        return sorted(out, key=lambda tn: canon(tn[0]))

    def _orphans(self) -> list[tuple[tuple[str | None, str, bool], int]]:
        """Data sources whose primary is up (or none) and whose secondary is down, counted by
        (primary, secondary, whether a rule forbids them a new secondary: `reassigned_secondary`)."""
        if self._orphan_counts is not None:
            return self._orphan_counts
        counts: dict[tuple[str | None, str, bool], int] = {}
        for facts, group in self.legal.before_view.datasource_groups.items():
            if facts.secondary in self.down and facts.primary not in self.down:
                forbidden = facts.dedup or facts.hyperv_scale_out or facts.server_switched
                key = (facts.primary, facts.secondary, forbidden)
                counts[key] = counts.get(key, 0) + len(group)
        self._orphan_counts = sorted(
            counts.items(), key=lambda kv: (canon(kv[0][0] or ""), canon(kv[0][1]), kv[0][2])
        )
        return self._orphan_counts

    def _reassigned_count(self, y: str) -> int:
        """Data sources of y that a new secondary t protects (the action replaces y's first
        protector; `reassigned_secondary` leaves out those a rule forbids a secondary)."""
        old = self.state.protectors.get(y, ())[:1]
        return sum(
            n
            for (p, z, forbidden), n in self._orphans()
            if p == y and (z,) == old and not forbidden
        )

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

    def _reassign_legal(self, y: str, t: str) -> list[str]:
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
                    _safe(rule, view, instance)
                    and fingerprint(rule.id, rule.entities(view, instance)) in self.pre
                ):
                    continue
                parts.append(self.legal.name(rule, facts))
        parts += self._reassign_datasource_terms(y, t)
        return sorted(set(parts))

    def _reassign_datasource_terms(self, y: str, t: str) -> list[str]:
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
                facts = _facts(ds, server.agents, switched)
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

    # -- solving ---------------------------------------------------------------------------------
    def solve(self, top: int, timeout: float | None) -> tuple[list[Plan], bool]:
        """The best `top` plans, and whether the first is proved optimal.

        Where `max_load` is the last criterion, the optimizer decides with one option per class
        of move targets (exact for the other seven criteria) and `_place` puts the servers on
        members with the least largest load for that decision. Where `--rank` puts `max_load`
        earlier, every member is its own option (the MOVE_CANDIDATES least loaded per class).
        """
        expand = not (self.classes and self.order[-1] == "max_load")
        self.prune = top == 1 and self.order == CRITERIA
        return self._solve(top, timeout, expand=expand)

    def _solve(self, top: int, timeout: float | None, expand: bool) -> tuple[list[Plan], bool]:
        variables, costs = self.build(expand)
        cons: list[z3.BoolRef] = []  # the problem is the text; these come on top of it
        definitions = self.legal.grounder.definitions(variables["used"]) + "\n" + variables["smt"]
        self.used_definitions = definitions
        decision = [
            *variables["counts"].values(),
            *variables["rb_now"].values(),
            *variables["rb_final"].values(),
            *variables["reassign"].values(),
        ]
        blocks: list[z3.BoolRef] = []
        plans: list[Plan] = []
        optimal = True
        refused = False  # the proof refused a plan the search found
        seen: set[tuple] = set()
        for _ in attempts(top, plans):
            result, model, reason = lexmin(
                definitions, [*cons, *blocks], [costs[c] for c in self.order], timeout
            )
            if result == z3.unsat:
                break
            if result == z3.unknown:
                optimal = False
                if model is None:
                    if not plans:
                        raise SolverGaveUp(f"the solver gave up: {reason}")
                    break
            best = tuple(model.eval(costs[c], model_completion=True).as_long() for c in self.order)
            # every plan of this cost (up to a bound), ordered by its sorted action list; first
            # those whose moves fit under the least possible largest load, class by class
            limit = min(12, top + 3)
            floor = max(self.base_loads.values(), default=0)
            fits = self._fits(variables, floor, model)
            tied = (
                self._tied(cons + blocks + fits, costs, best, decision, None, limit) if fits else []
            )
            if not tied:
                tied = self._tied(cons + blocks, costs, best, decision, model, limit)
            candidates = []
            for m in tied:
                blocks.append(block(m, decision))
                # once a plan of this cost reaches the least possible largest load, a tied
                # model that cannot reach it is worse: skip it rather than place it
                at_floor = any(p.cost["max_load"] <= floor for p in candidates)
                plan = self._plan(m, variables, costs, floor_only=at_floor)
                if plan is None:
                    continue
                key = plan.sort_key()
                if key in seen:
                    continue
                seen.add(key)
                candidates.append(plan)
            candidates.sort(key=lambda p: (tuple(p.cost[c] for c in self.order), p.sort_key()))
            # states, losses and the proof only for the plans shown, best first
            for candidate in candidates:
                if len(plans) >= top:
                    break
                plan = self._verify(self._complete(candidate))
                if plan is not None:
                    plans.append(replace(plan, rank=len(plans) + 1))
                else:
                    refused = True
            if plans and plans[0].complete:
                cons = [
                    *cons,
                    costs["unprotected"] == 0,
                ]  # partial plans only when none is complete
            if result == z3.unknown:
                break
        # the encoding and `check` disagreed and no plan survived the proof: "no plan" is not
        # proved (the search may have stopped at its attempt limit among refused models). A plan
        # shown after refused cheaper ones is the least the proof accepts in the search's order.
        if refused and not plans:
            optimal = False
        return plans, optimal

    def _tied(self, cons, costs, best, decision, first, limit: int) -> list[z3.ModelRef]:
        """Models of cost `best` (after `first` where given), up to `limit`."""
        solver = z3.SolverFor("QF_LIA")
        solver.set("random_seed", 0)
        solver.from_string(self.used_definitions)
        solver.add(cons)
        solver.add([costs[c] == v for c, v in zip(self.order, best, strict=True)])
        out = []
        if first is not None:
            out.append(first)
            solver.add(block(first, decision))
        while len(out) < limit and solver.check() == z3.sat:
            m = solver.model()
            out.append(m)
            solver.add(block(m, decision))
        return out

    def _fits(self, variables, floor: int, model) -> list[z3.BoolRef]:
        """Class by class, the data sources moved to a class within what its members can take
        below `floor` (by their base loads): a linear relaxation of `max_load` for the choice of
        classes, which `_place` then makes exact. Empty where the model moves nothing (its tied
        models are then taken as they come)."""
        if variables["expand"]:
            return []
        values = _values(model)
        if not any(
            values.get(c.decl().name(), 0)
            for options in variables["by_group"].values()
            for opt, c in options
            if opt.kind == "move"
        ):
            return []
        moved: dict[tuple[str, ...], list] = {}
        for gi, options in variables["by_group"].items():
            g = self.groups[gi]
            for opt, c in options:
                if opt.kind == "move":
                    members = tuple(g.classes[opt.target])
                    moved.setdefault(members, []).append(c * g.datasources)
        loads = self.base_loads
        return [
            z3.Sum(terms) <= sum(max(0, floor - loads.get(m, 0)) for m in members)
            for members, terms in sorted(moved.items())
        ]

    # -- from a model to a plan ------------------------------------------------------------------
    def _plan(self, model, variables, costs, floor_only: bool = False) -> Plan | None:
        values = _values(model)

        def val(x) -> int:
            return values.get(x.decl().name(), 0)

        immediate: list[Action] = []
        final: list[Action] = []
        unprotected: list[str] = []
        rebuild_now = [p for p, v in variables["rb_now"].items() if val(v)]
        rebuild_final = [p for p, v in variables["rb_final"].items() if val(v)]
        for p in sorted(rebuild_now, key=canon):
            immediate.append(self._rebuild(p))
        chosen: list[tuple[_Group, _Option, str]] = []
        shared = {gi for gis in self._bundles() if len(gis) > 1 for gi in gis}

        def order(gi: int, opt: _Option) -> tuple:
            """Options in their order; where the servers are in several groups, those that
            change the agent first (see `_repointed_terms`)."""
            return (gi in shared and opt.kind not in REPOINTING, *opt.key())

        for gi, g in enumerate(self.groups):
            servers = iter(sorted(g.servers, key=canon))
            for opt, c in sorted(variables["by_group"][gi], key=lambda oc: order(gi, oc[0])):
                chosen.extend((gi, opt, next(servers)) for _ in range(val(c)))
        loads = None
        alternatives: dict = {}
        reassigned = {y: t for (y, t), v in variables["reassign"].items() if val(v)}
        if not variables["expand"]:
            placement = self._place(chosen, variables["rows"], reassigned, variables, floor_only)
            if placement is None:
                return None
            chosen, loads, reassigned, alternatives = placement
        for gi, opt, name in chosen:
            g = self.groups[gi]
            server = self.state.servers[name]
            on_p = [ds for ds in server.datasources if ds.primary == g.p]
            ids = tuple(ds.id for ds in on_p)
            pgs = tuple(sorted({ds.protection_group for ds in on_p if ds.protection_group}))
            if opt.kind == "none":
                unprotected.extend(ids)
            elif opt.kind == "switch":
                immediate.append(switch_action(name, g.p, opt.target, ids, pgs))
            elif opt.kind == "switch-back":
                immediate.append(switch_action(name, g.p, opt.target, ids, pgs))
                final.append(switch_back_action(name, opt.target, g.p, ids, pgs))
            elif opt.kind == "rebuild":
                pass  # the rebuild of p re-protects it
            elif opt.kind == "move":
                immediate.append(self._move(name, g.p, opt.target, ids, pgs, g.secondary))
            elif opt.kind == "new-dpm":
                immediate.append(self._move(name, g.p, opt.target, ids, pgs, g.secondary, new=True))
        for y, t in reassigned.items():
            old = self.state.protectors[y]
            immediate.append(reassign_action(y, old[0] if old else None, t))
        if rebuild_final:
            final = [self._rebuild(p) for p in sorted(rebuild_final, key=canon)] + final
        immediate = run_order(immediate)
        cost = {c: model.eval(costs[c], model_completion=True).as_long() for c in CRITERIA}
        if loads is not None:
            cost["max_load"] = max(loads.values(), default=0)
        return Plan(
            rank=0,
            complete=not unprotected,
            cost=cost,
            immediate=tuple(immediate),
            final=tuple(final),
            keeps={},
            loses={},
            unprotected=tuple(sorted(unprotected, key=canon)),
            alternatives=alternatives,
        )

    def _complete(self, plan: Plan) -> Plan:
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

    def _place(self, chosen, rows, reassigned, variables, floor_only: bool = False):
        """Without `expand`: put each server that moves to a class on a member of it, and give
        each DPM server that gets a new secondary one of its legal candidates.

        Every choice (new secondaries by DPM server, the largest loads, then moves by server)
        takes the first target by name that keeps every load within a bound: the largest load
        the plan has without them where that suffices, else the least largest load over all
        placements (`_least_peak`). Returns the choices with members as targets, the final
        loads, the new secondaries and, per moved server, its class (`Plan.alternatives`)."""
        loads = dict(self.base_loads)
        items: list[tuple[tuple, list[tuple[str, dict[str, int]]]]] = []
        alternatives: dict = {}
        for gi, opt, name in sorted(chosen, key=lambda c: canon(c[2])):
            if opt.kind == "move":
                g, imm = self.groups[gi], rows[(gi, opt)][0]
                members = sorted(g.classes[opt.target], key=canon)
                held = [(m, _Held(self, g, imm, opt.target, m)) for m in members]
                items.append(((1, canon(name), gi, name), held))
                rep_held = dict(held[members.index(opt.target)][1].items())
                alternatives[name] = MoveClass(
                    members=tuple(members),
                    target_holds=rep_held.get(opt.target, 0),
                    protector_holds=sum(k for d, k in rep_held.items() if d != opt.target),
                    secondary=g.secondary,
                )
            elif opt.kind != "none":
                imm, fin = rows[(gi, opt)]
                for d, k in self._held(self.groups[gi], fin if fin is not None else imm).items():
                    loads[d] = loads.get(d, 0) + k
        for y in sorted(reassigned, key=canon):
            nsec = self._reassigned_count(y)
            targets = variables["reassign_targets"][y]
            items.append(((0, canon(y), 0, y), [(t, {t: nsec}) for t in targets]))
            alternatives[("reassign-secondary", y)] = SecondaryChoice(tuple(targets), nsec)
        items.sort(key=lambda item: item[0])  # new secondaries (the largest loads) first
        placed = greedy(items, loads, max(loads.values(), default=0))
        if placed is None and floor_only:
            return None
        if placed is None:
            peak, fallback = least_peak(items, loads)
            placed = greedy(items, loads, peak) or fallback
        for key, candidates in items:
            for d, k in dict(candidates)[placed[key]].items():
                loads[d] = loads.get(d, 0) + k
        moved = {key[2:]: _Option("move", t) for key, t in placed.items() if key[0] == 1}
        out = [(gi, moved.get((gi, name), opt), name) for gi, opt, name in chosen]
        return out, loads, {key[3]: t for key, t in placed.items() if key[0] == 0}, alternatives

    def _touched(self) -> set[str]:
        """Protected servers a plan can change: the affected ones and those of DPM servers that
        may get a new secondary. Everything else is the same before and after any plan."""
        out = {n for g in self.groups for n in g.servers}
        for d in self.state.dpm_servers.values():  # a new secondary can make an old move known
            for entry in d.inactive:
                out.add(entry.datasource.split("/", 1)[0])
        for name, server in self.state.servers.items():
            if any(ds.secondary in self.down for ds in server.datasources):
                out.add(name)
        return out

    def _reduce(self, topology: Topology) -> Topology:
        keep = self.touched
        keep = {canon(n) for n in keep}
        return replace(
            topology, servers={n: s for n, s in topology.servers.items() if canon(n) in keep}
        )

    def _verify(self, plan: Plan) -> Plan | None:
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
        in by `_verify`, from HISTORY-LEFT-BEHIND itself."""
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

    def _blocking_rules(self, g: _Group) -> list[str]:
        """Named rule assertions over every option of the group; an unsat core, then deletion in
        rule-id order down to an irreducible set."""
        options = self._options(g)
        if not options:
            return []
        per_rule: dict[str, list[z3.BoolRef]] = {}
        choices = []
        used: set[str] = set()
        for k, (opt, imm, fin, view) in enumerate(options):
            x = z3.Bool(f"option!{k}")
            choices.append(x)
            for rule_id, names in self._option_terms(g, opt, imm, fin, view).items():
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

    # -- actions with their DPM steps ------------------------------------------------------------
    def _rebuild(self, p) -> Action:
        """Rebuild p: from its database backup unless the database survived, and its replicas
        from its protectors (or tape) where its storage was lost."""
        d = self.state.dpm_servers[p]
        failure = d.failure
        restore_from = None
        if not (failure and failure.database == "intact"):
            backup = self.failure.before.db_backup(p)
            source = {
                "secondary": f"its secondary {', '.join(self.state.protectors[p]) or ''}".strip()
            }.get(backup, backup)
            restore_from = source
        reallocate_from = None
        if failure and failure.storage == "lost":
            reallocate_from = ", ".join(self.state.protectors[p]) or "tape"
        return rebuild_action(p, d.version, restore_from, reallocate_from)

    def _move(self, server, p, n, ids, pgs, s, *, new=False) -> Action:
        state = self.state
        protectors = [x for x in state.protectors.get(n, ()) if state.dpm_servers[x].up]
        version = state.dpm_servers[p].version if new else None
        return move_action(
            server, p, n, ids, pgs, s, protectors[0] if protectors else None, version
        )


def _values(model) -> dict[str, int]:
    """Every constant the model assigns, by name (ints as ints, Booleans as 0/1)."""
    return model_values(model)
