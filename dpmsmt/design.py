"""design: choose a secondary for every up DPM server that has none (cli.md, `dpmsmt design`).

Which DPM servers need one: every up DPM server that is the primary of some data source and has
no secondary, or exactly those named with `--for`. Each of them gets a secondary among the up DPM
servers of the file, or among at most `allow_new` new servers (`NEW-DPM-k`, of the version of
the server they protect); the new secondary also protects the server's replicas (below).

Encoding idea. Legality comes from the rule catalogue itself, as in suggest-move: for every
candidate (y gets secondary t) the estate with that one edge is built, and every rule instance
the edge can change (y and t, the edge, the merged component, the cycle through y, y's data
sources, the inactive replicas the merged component holds) is grounded through the same
`reads`/`holds` that `check` uses; instances the estate already broke are `preexisting` and do
not constrain. One Boolean `choose[y][t]` per legal candidate (at most one per server) implies
the candidate's grounded rule Booleans. What no single edge shows is asserted over the choices
with the same formulas: CAPACITY-DATASOURCES over the summed load of a secondary (its `holds`
applied to a Z3 sum); the component rules (VERSION-MATCH, OS-MATCH, ...) on the union of every
two components that choices may join, through one Int label per component (joined components
have equal labels); CYCLE-TWO-ONLY by the chain bound below (and, where no bound is asserted
yet, by a rank that decreases along new chains except in a direct pair).

Search. The criteria are minimized lexicographically (servers left without a secondary, the
longest new chain, the largest load on a chosen secondary, new servers) by one incremental
`z3.Solver`: each criterion is bounded ("at most v") from a lower bound up (halving for the
load), starting from a solution, and the best value found is kept as a constraint for the next.
Costs of a solution are computed in plain Python from its choices. Then, among designs of equal
cost, the one whose sorted action list is smallest is fixed server by server; later designs
block earlier ones. `z3.Optimize` is not used: on these problems it was orders of magnitude
slower, and its model could lag behind the optimum its objectives reported. A step that only
improves a solution gets a share of the time left (`SEARCH_SHARE`); if it runs out, the best
design found is still verified and shown as not proved best. Every design is applied and
re-checked by `check` before it is shown: no error (and no CAPACITY-* or, unless allowed,
CYCLE-TWO-ONLY finding) the estate did not already have.

Chain length: a chain starts at a DPM server and follows its unique secondary upwards while the
server has exactly one and the path does not return to a server already on it (as
`graph.chains`); its length is the number of servers on it. A chain is new when it uses an edge
the design adds (a chain that stops at y because y's new secondary is already on it does not:
it is as long as before); `longest_chain` is the length of the longest new chain. "Every new
chain has at most b servers" is a Boolean encoding (`le[y][j]`: the chain from y has at most
j), exact, and unsatisfiable around a cycle of three or more; a matching (Edmonds) gives a lower
bound first, because proving "no chains of two" with the solver alone is a pigeonhole-like
search. With `allow_cycles`, one Boolean and one Int per (start, server) say whether and where
the server is on the chain: exact with cycles of any length, but quadratic in size and slow
beyond a few dozen servers. Estates of many identical DPM servers (same build, same number of
data sources) are the hard case for proving the best load: the time limit then applies.
`measure` computes the costs from a final state; the tests compare it, and a brute-force search
over every assignment, with the answers.
"""

from __future__ import annotations

import itertools
import time
from collections import ChainMap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import networkx as nx
import z3

from dpmsmt.actions import Action, apply_actions, move_secondary
from dpmsmt.builds import product
from dpmsmt.check import check
from dpmsmt.encode import Grounder, Inactive, View
from dpmsmt.findings import Severity, SolverGaveUp, UsageError, fingerprint
from dpmsmt.model import PROFILES, DpmServer, ProtectedServer, Topology, canon
from dpmsmt.rules import Rule, Scope, all_rules, get
from dpmsmt.rules._base import profile_code

__all__ = ["CRITERIA", "Design", "DesignError", "DesignResult", "design", "measure"]

CRITERIA = ("unassigned", "longest_chain", "max_load", "new_servers")
CAPACITY = ("CAPACITY-DATASOURCES", "CAPACITY-SERVERS")  # hard for a design, though warnings
CYCLE = "CYCLE-TWO-ONLY"  # hard for a design (whatever its severity) unless allow_cycles
_SCOPES = (Scope.DPM, Scope.EDGE, Scope.COMPONENT, Scope.CYCLE, Scope.DATASOURCE, Scope.INACTIVE)
_NEW = "NEW-DPM-"
SEARCH_SHARE = 0.6  # of the time left, what improving a found design may take


class DesignError(UsageError):
    """A question `design` cannot ask: an unknown or down `--for` server, a bad option."""


@dataclass(frozen=True)
class Design:
    """One design: the new secondaries (as `reassign-secondary` actions with no old secondary),
    the new servers it installs, its costs, and the estate after it (`final_state`)."""

    rank: int
    complete: bool
    cost: dict
    actions: tuple[Action, ...]
    new_servers: tuple[tuple[str, str], ...] = ()  # (name, version)
    unassigned: tuple[str, ...] = ()  # DPM servers left without a secondary
    blocked_by: dict = field(default_factory=dict)  # server -> rule ids blocking every option
    final_state: Topology | None = field(default=None, compare=False, repr=False)

    @property
    def immediate(self) -> tuple[Action, ...]:
        return self.actions

    @property
    def final(self) -> tuple[Action, ...]:
        return ()

    @property
    def phases(self) -> dict[str, tuple[Action, ...]]:
        return {"immediate": self.actions, "final": ()}

    def sort_key(self) -> tuple:
        return tuple(sorted(a.sort_key() for a in self.actions))

    def action_json(self, a: Action) -> dict:
        new = {n for n, _ in self.new_servers}
        return {**a.to_json(), "datasources": list(a.datasources), "new": a.to in new}

    def to_json(self) -> dict:
        actions = [self.action_json(a) for a in self.actions]
        out = {
            "rank": self.rank,
            "complete": self.complete,
            "cost": dict(self.cost),
            "phases": {"immediate": actions, "final": []},
            "actions": actions,
            "new_servers": [{"name": n, "version": v} for n, v in self.new_servers],
        }
        if not self.complete:
            out["unassigned"] = list(self.unassigned)
            out["blocked_by"] = {k: list(v) for k, v in self.blocked_by.items()}
        return out


@dataclass(frozen=True)
class DesignResult:
    """The answer of `design`: designs best first, and what was asked."""

    file: str
    profile: str
    needs: tuple[str, ...]  # the DPM servers that need a secondary, sorted
    allow_new: int
    allow_cycles: bool
    preexisting: tuple[str, ...]  # fingerprints of blocking findings the estate already had
    designs: tuple[Design, ...]
    optimal: bool = True

    @property
    def plans(self) -> tuple[Design, ...]:
        return self.designs

    @property
    def complete(self) -> bool:
        """Whether a design gives every server that needs one a secondary."""
        return bool(self.designs) and self.designs[0].complete


def design(
    topology: Topology,
    *,
    for_: Iterable[str] = (),
    allow_new: int = 0,
    allow_cycles: bool = False,
    top: int = 3,
    profile: str | None = None,
    timeout: float | None = 60.0,
) -> DesignResult:
    """Choose secondaries so that the estate passes `check` (cli.md, `dpmsmt design`).

    Parameters
    ----------
    for_
        The DPM servers to find a secondary for; default: every up DPM server that is the
        primary of a data source and has no secondary.
    allow_new
        How many new DPM servers (`NEW-DPM-k`) the design may install.
    allow_cycles
        Allow cycles of more than two servers (CYCLE-TWO-ONLY findings are then accepted).
    top
        How many designs, best first; they differ in at least one action.

    Raises
    ------
    DesignError
        An unknown or down `--for` server, or a bad option.
    SolverGaveUp
        Z3 answered `unknown` (or `timeout` passed) before any design was found.
    """
    if top < 1:
        raise DesignError("--top: at least 1")
    if allow_new < 0:
        raise DesignError("--allow-new: at least 0")
    if timeout is not None and timeout <= 0:
        raise DesignError("--timeout: must be positive")
    if profile is not None and profile not in PROFILES:
        raise DesignError(f"--profile: unknown profile {profile!r} (one of {', '.join(PROFILES)})")
    profile = profile or topology.profile
    deadline = time.monotonic() + timeout if timeout is not None else None
    needs = _needs(topology, for_)
    hard = set(CAPACITY) | (set() if allow_cycles else {CYCLE})
    report = check(topology, profile=profile, timeout=timeout)
    blocking = [f for f in report.findings if f.severity is Severity.ERROR or f.rule in hard]
    pre = {f.fingerprint for f in blocking}
    pre_ds = {(f.rule, f.entities["datasource"]) for f in blocking if "datasource" in f.entities}
    result = DesignResult(
        file=topology.file,
        profile=profile,
        needs=tuple(needs),
        allow_new=allow_new,
        allow_cycles=allow_cycles,
        preexisting=tuple(sorted(pre)),
        designs=(),
    )
    if not needs:  # nothing to design: the best design is to change nothing
        empty = Design(
            rank=1,
            complete=True,
            cost=dict.fromkeys(CRITERIA, 0),
            actions=(),
            final_state=topology,
        )
        return replace(result, designs=(empty,))
    problem = _Problem(topology, profile, needs, allow_new, allow_cycles, pre, pre_ds, deadline)
    designs, optimal = problem.solve(top)
    return replace(result, designs=tuple(designs), optimal=optimal)


def _needs(topology: Topology, for_: Iterable[str]) -> list[str]:
    """The DPM servers to design for, sorted by name."""
    index = {canon(n): n for n in topology.dpm_servers}
    named = list(for_)
    if named:
        out = []
        for n in named:
            name = index.get(canon(n))
            if name is None:
                raise DesignError(f"--for {n}: not a DPM server of {topology.file}")
            status = topology.dpm_servers[name].status
            if status != "up":
                raise DesignError(
                    f"--for {n}: {name} is {status}; design gives up DPM servers a secondary "
                    "(see suggest-move for failed ones)"
                )
            out.append(name)
        return sorted(set(out), key=canon)
    primaries = {ds.primary for ds in topology.datasources() if ds.primary is not None}
    return sorted(
        (
            n
            for n, d in topology.dpm_servers.items()
            if d.up and n in primaries and not topology.protectors[n]
        ),
        key=canon,
    )


# ------------------------------------------------------------------------------------------
# What a design costs, measured on its final state (independent of the encoding; tests use it)


def longest_new_chain(dpms: Iterable[str], protectors, new: set[tuple[str, str]]) -> int:
    """The servers on the longest chain that uses a new edge: from each DPM server, follow its
    unique secondary upwards until a server has none, several, or one already on the chain."""
    longest = 0
    for start in dpms:
        chain, uses_new = [start], False
        while True:
            ups = protectors[chain[-1]]
            if len(ups) != 1 or ups[0] in chain:
                break
            uses_new = uses_new or (ups[0], chain[-1]) in new
            chain.append(ups[0])
        if uses_new:
            longest = max(longest, len(chain))
    return longest


def measure(state: Topology, edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """`longest_chain` and `max_load` of a final state, where `edges` are the new (t, y) edges."""
    new = set(edges)
    protectors = state.protectors
    longest = longest_new_chain(state.dpm_servers, protectors, new)
    loads = View(state, state.profile).datasource_load
    targets = {t for t, _ in new}
    return {"longest_chain": longest, "max_load": max((loads[t] for t in targets), default=0)}


# ------------------------------------------------------------------------------------------
# The problem


@dataclass(eq=False)
class _Candidate:
    """y gets secondary t (an up DPM server of the file or a new-server slot)."""

    index: int
    y: str
    t: str
    slot: int | None
    replicas: tuple[str, ...]  # ids of y's data sources whose replicas t protects
    delta: dict[str, int]  # load change per DPM server
    terms: dict[str, list[tuple[str, ...]]]  # rule id -> literals that must hold
    var: Any = None


def _entities(rule: Rule, view: View, instance) -> dict | None:
    """A rule's entities for an instance, or None where they cannot be named."""
    try:
        return rule.entities(view, instance)
    except (KeyError, AttributeError, TypeError, IndexError, ValueError):
        return None


def _lit_true(lit: tuple[str, ...], truth: dict[str, bool]) -> bool:
    return truth[lit[0]] or (len(lit) == 2 and not truth[lit[1]])


def _lit_z3(lit: tuple[str, ...]) -> z3.BoolRef:
    if len(lit) == 1:
        return z3.Bool(lit[0])
    return z3.Or(z3.Bool(lit[0]), z3.Not(z3.Bool(lit[1])))


def _all(terms: Iterable[z3.BoolRef]) -> z3.BoolRef:
    terms = list(terms)
    if not terms:
        return z3.BoolVal(True)
    return terms[0] if len(terms) == 1 else z3.And(terms)


def _any(terms: Iterable[z3.BoolRef]) -> z3.BoolRef:
    terms = list(terms)
    if not terms:
        return z3.BoolVal(False)
    return terms[0] if len(terms) == 1 else z3.Or(terms)


class _Problem:
    def __init__(
        self,
        topology: Topology,
        profile: str,
        needs: list[str],
        allow_new: int,
        allow_cycles: bool,
        pre: set[str],
        pre_ds: set[tuple[str, str]],
        deadline: float | None,
    ):
        self.base = topology
        self.profile = profile
        self.needs = needs
        self.allow_new = allow_new
        self.allow_cycles = allow_cycles
        self.pre = pre
        self.pre_ds = pre_ds
        self.deadline = deadline
        self.hard = set(CAPACITY) | (set() if allow_cycles else {CYCLE})
        self.rules = {
            s: [r for r in all_rules() if r.scope is s and self._blocking(r)] for s in _SCOPES
        }
        self.grounder = Grounder()
        self.slots = self._slots()
        dpms = dict(topology.dpm_servers)
        for name, version in self.slots:
            dpms[name] = DpmServer(name=name, version=version)
        self.cand_base = replace(topology, dpm_servers=dpms)
        self.protectors = self.cand_base.protectors
        self.view0 = View(self.cand_base, profile)
        self.loads = self.view0.datasource_load
        by_primary: dict[str, dict[str, ProtectedServer]] = {y: {} for y in needs}
        for name, server in topology.servers.items():
            for ds in server.datasources:
                if ds.primary in by_primary:
                    by_primary[ds.primary][name] = server
        self.y_servers = by_primary
        # every candidate, grounded; then the legal ones (one presolve of every formula)
        ups = sorted((n for n, d in topology.dpm_servers.items() if d.up), key=canon)
        self.candidates: dict[str, list[_Candidate]] = {y: [] for y in needs}
        count = 0
        for y in needs:
            already = set(topology.protectors[y])  # no new edge (`--for` a protected server)
            targets = [(t, None) for t in ups if t != y and t not in already]
            version = topology.dpm_servers[y].version  # a new server runs y's build
            targets += [(name, i) for i, (name, v) in enumerate(self.slots) if v == version]
            for t, slot in targets:
                self.candidates[y].append(self._candidate(count, y, t, slot))
                count += 1
        truth = self.grounder.solve(self._remaining())
        self.legal = {
            y: [
                c
                for c in cs
                if all(_lit_true(lit, truth) for lits in c.terms.values() for lit in lits)
            ]
            for y, cs in self.candidates.items()
        }
        self.open = [y for y in needs if self.legal[y]]
        self.pairs = self._pairs() if len(self.open) > 1 else []
        if self.pairs:
            truth = self.grounder.solve(self._remaining())
        self.pairs = [
            (a, b, {r: ls for r, ls in terms.items() if not all(_lit_true(x, truth) for x in ls)})
            for a, b, terms in self.pairs
        ]
        self.pairs = [p for p in self.pairs if p[2]]
        self._explained: dict[tuple, list[str]] = {}
        self._terms: dict[tuple[str, ...], z3.BoolRef] = {}

    # -- rules -------------------------------------------------------------------------------
    def _blocking(self, rule: Rule) -> bool:
        """Whether a violation of the rule can block a design under the profile."""
        severity = rule.severity_in(self.profile)
        if severity is None or (rule.id == CYCLE and self.allow_cycles):
            return False
        return (
            rule.id in self.hard
            or severity is Severity.ERROR
            or rule.severe_severity is Severity.ERROR
        )

    def _term(self, terms: dict[str, list[tuple[str, ...]]], rule: Rule, facts: dict) -> None:
        """Ground `rule` for `facts`; record the literal that must hold (its error condition)."""
        hv, sv = self.grounder.add(rule, facts)
        if rule.id in self.hard or rule.severity_in(self.profile) is Severity.ERROR:
            lit: tuple[str, ...] = (hv,)
        elif sv is not None:
            lit = (hv, sv)  # a warning, an error only where severe
        else:  # pragma: no cover - _blocking admits no other rule
            return
        lits = terms.setdefault(rule.id, [])
        if lit not in lits:
            lits.append(lit)

    def _lit(self, lit: tuple[str, ...]) -> z3.BoolRef:
        """The Z3 term of a literal, made once (terms cost 50-75 µs each through the API)."""
        term = self._terms.get(lit)
        if term is None:
            term = self._terms[lit] = _lit_z3(lit)
        return term

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SolverGaveUp("the solver gave up: the time limit was reached")
        return left

    # -- candidates ----------------------------------------------------------------------------
    def _slots(self) -> list[tuple[str, str]]:
        """New-server slots: per version (as written) of the servers that need a secondary, as
        many as there are such servers, at most allow_new."""
        if not self.allow_new:
            return []
        counts: dict[str, int] = {}
        for y in self.needs:
            v = self.base.dpm_servers[y].version
            counts[v] = counts.get(v, 0) + 1
        taken = {canon(n) for n in self.base.dpm_servers} | {canon(n) for n in self.base.servers}
        out = []
        for v in sorted(counts):
            for _ in range(min(self.allow_new, counts[v])):
                name = f"<new {len(out) + 1}>"
                while canon(name) in taken:
                    name += "'"
                out.append((name, v))
        return out

    def _candidate(self, index: int, y: str, t: str, slot: int | None) -> _Candidate:
        """Ground every rule instance that the edge t -> y (and y's replicas on t) can change."""
        dpms = dict(self.cand_base.dpm_servers)
        dpms[t] = replace(dpms[t], protects=(*dpms[t].protects, y))
        servers = self.y_servers[y]
        pre_topo = replace(self.cand_base, dpm_servers=dpms, servers=servers)
        protectors = pre_topo.protectors
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
        topo = replace(pre_topo, servers=changed)
        topo.__dict__["protectors"] = protectors  # same DPM servers, same edges
        view = View(topo, self.profile)
        delta: dict[str, int] = {}
        for ds in replicas:
            if ds.secondary == t:
                continue
            delta[t] = delta.get(t, 0) + 1
            if ds.secondary is not None and ds.secondary != y:  # a stale secondary lets go
                delta[ds.secondary] = delta.get(ds.secondary, 0) - 1
        view.__dict__["datasource_load"] = ChainMap(
            {d: self.loads[d] + k for d, k in delta.items()}, self.loads
        )
        view.__dict__["agent_load"] = self.view0.agent_load
        comp = view.component[y]
        members = tuple(sorted(comp, key=canon))
        cycles = [
            tuple(sorted(c, key=canon))
            for c in nx.strongly_connected_components(view.g.subgraph(comp))
            if y in c and len(c) > 1
        ]
        inactive = []
        by_id = self.base.datasource_by_id
        for s in members:
            for i, entry in enumerate(view.dpm(s).inactive):
                ds = by_id.get(canon(entry.datasource))
                if ds is not None:
                    inactive.append(Inactive(s, i, entry.from_, ds))
        instances = {
            Scope.DPM: [y, t],
            Scope.EDGE: [(t, y)],
            Scope.COMPONENT: [members] if len(members) > 1 else [],
            Scope.CYCLE: cycles,
            Scope.INACTIVE: inactive,
        }
        terms: dict[str, list[tuple[str, ...]]] = {}
        for scope, insts in instances.items():
            for rule in self.rules[scope]:
                for inst in insts:
                    facts = rule.reads(view, inst)
                    if facts is None:
                        continue
                    entities = _entities(rule, view, inst)
                    if entities is not None and fingerprint(rule.id, entities) in self.pre:
                        continue  # the estate already broke this instance
                    self._term(terms, rule, facts)
        for key, group in view.datasource_groups.items():
            if key.primary != y:
                continue
            for rule in self.rules[Scope.DATASOURCE]:
                if self.pre_ds and all((rule.id, ds.id) in self.pre_ds for ds in group):
                    continue
                self._term(terms, rule, rule.reads(view, key))
        return _Candidate(
            index=index,
            y=y,
            t=t,
            slot=slot,
            replicas=tuple(sorted((ds.id for ds in replicas), key=canon)),
            delta=delta,
            terms=terms,
        )

    def _pairs(self) -> list[tuple[frozenset, frozenset, dict]]:
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
                terms: dict[str, list[tuple[str, ...]]] = {}
                for rule in rules:
                    facts = rule.reads(self.view0, union)
                    if facts is not None:
                        self._term(terms, rule, facts)
                out.append((a, b, terms))
        return out

    # -- the fixed part of the graph -------------------------------------------------------------
    def _walk(self, x: str) -> tuple:
        """The chain from a server that gets no new secondary, up to the first server that may:
        ("const", length) when it ends before one, ("via", k, entry, y) when it reaches y after
        k servers (the last of them, `entry`, is protected by y)."""
        path = [x]
        open_ = self._open_set
        while True:
            cur = path[-1]
            if cur in open_ and cur != x:
                return ("via", len(path) - 1, path[-2], cur)
            ups = self.protectors[cur]
            if len(ups) != 1 or ups[0] in path:
                return ("const", len(path))
            path.append(ups[0])

    def _reach_open(self, t: str) -> set[str]:
        """Servers that may get a new secondary, reachable from t upwards over fixed edges."""
        if t in self._open_set:
            return {t}
        out, seen, todo = set(), {t}, [t]
        while todo:
            cur = todo.pop()
            for p in self.protectors[cur]:
                if p in seen:
                    continue
                seen.add(p)
                if p in self._open_set:
                    out.add(p)
                else:
                    todo.append(p)
        return out

    # -- the optimization problem --------------------------------------------------------------
    def build(self) -> None:
        """Variables and constraints: structural ones, legality (and, per rule id, what
        explanations need), ranks against longer cycles, chain definitions for allow_cycles."""
        self._open_set = set(self.open)
        legal = [c for y in self.open for c in self.legal[y]]
        for c in legal:
            c.var = z3.Bool(f"choose!{c.index}")
        self.var = {(c.y, c.t): c.var for c in legal}
        self.covered = {y: _any(c.var for c in self.legal[y]) for y in self.open}
        struct: list[z3.BoolRef] = []
        tagged: dict[str, list[z3.BoolRef]] = {}
        objective: list[z3.BoolRef] = []
        used_names: set[str] = set()
        for y in self.open:
            vs = [c.var for c in self.legal[y]]
            if len(vs) > 1:
                struct.append(z3.AtMost(*vs, 1))
        # legality of each choice: every grounded rule Boolean of the candidate (per rule, as
        # explanations need them, only when asked: `_per_rule`)
        legality = []
        for c in legal:
            lits = list(dict.fromkeys(lit for ls in c.terms.values() for lit in ls))
            used_names.update(n for lit in lits for n in lit)
            if lits:
                legality.append(z3.Implies(c.var, _all(self._lit(lit) for lit in lits)))
        self.legality = legality
        # loads: what each DPM server holds in the final state
        changes: dict[str, list[tuple[z3.BoolRef, int]]] = {}
        for c in legal:
            for d, k in c.delta.items():
                changes.setdefault(d, []).append((c.var, k))
        self.load = {
            d: z3.IntVal(self.loads[d]) + z3.Sum([z3.If(v, k, 0) for v, k in terms])
            for d, terms in changes.items()
        }
        targets: dict[str, list[z3.BoolRef]] = {}
        for c in legal:
            targets.setdefault(c.t, []).append(c.var)
        self.changes = changes
        capacity = get("CAPACITY-DATASOURCES")
        if capacity in self.rules[Scope.DPM]:
            code = z3.IntVal(profile_code(self.profile))
            for t, vs in targets.items():
                if len(vs) < 2 or t not in self.load:
                    continue
                most = self.loads[t] + sum(k for _, k in changes[t] if k > 0)
                if z3.is_true(
                    z3.simplify(
                        capacity.holds(SimpleNamespace(datasources=z3.IntVal(most), profile=code))
                    )
                ):
                    continue  # holds even if every choice that can load t does (a bound: monotone)
                f = SimpleNamespace(datasources=self.load[t], profile=code)
                tagged.setdefault(capacity.id, []).append(z3.Implies(_any(vs), capacity.holds(f)))
        # components that choices join share a label; incompatible pairs differ
        if self.pairs:
            comps = sorted(
                {self.view0.component[n] for y in self.open for n in (y, *self._targets(y))},
                key=lambda c: sorted(canon(n) for n in c),
            )
            label = {comp: z3.Int(f"label!{i}") for i, comp in enumerate(comps)}
            for c in legal:
                a, b = self.view0.component[c.y], self.view0.component[c.t]
                if a != b:
                    struct.append(z3.Implies(c.var, label[a] == label[b]))
            for a, b, terms in self.pairs:
                for rule_id, lits in terms.items():
                    used_names.update(n for lit in lits for n in lit)
                    tagged.setdefault(rule_id, []).append(
                        z3.Implies(label[a] == label[b], _all(self._lit(x) for x in lits))
                    )
        # CYCLE-TWO-ONLY over several choices: a rank that decreases along new chains. The
        # search uses it only until a chain bound is asserted (which has no solution around a
        # longer cycle either, and with which the ranks slow Z3 down by orders of magnitude);
        # explanations always use it.
        cycles: list[z3.BoolRef] = []
        if not self.allow_cycles:
            rank = {y: z3.Int(f"rank!{i}") for i, y in enumerate(self.open)}
            for c in legal:
                for y2 in sorted(self._reach_open(c.t), key=canon):
                    if y2 == c.y:
                        continue  # a cycle this edge closes alone: the grounded rule decides
                    cond = c.var
                    if c.t == y2 and (y2, c.y) in self.var:
                        cond = z3.And(c.var, z3.Not(self.var[(y2, c.y)]))  # a direct pair
                    cycles.append(z3.Implies(cond, rank[c.y] > rank[y2]))
        # new servers: at most allow_new, numbered in order of first use
        used_slot = {}
        for i in range(len(self.slots)):
            vs = [c.var for c in legal if c.slot == i]
            if vs:
                used_slot[i] = z3.Bool(f"new!{i}")
                struct.append(used_slot[i] == _any(vs))
        if used_slot:
            struct.append(z3.AtMost(*used_slot.values(), self.allow_new))
        by_version: dict[str, list[int]] = {}
        for i, (_, v) in enumerate(self.slots):
            by_version.setdefault(v, []).append(i)
        for indices in by_version.values():
            for prev, cur in itertools.pairwise(indices):
                for k, y in enumerate(self.open):
                    v = self.var.get((y, self.slots[cur][0]))
                    if v is None:
                        continue
                    earlier = [
                        self.var[(y2, self.slots[prev][0])]
                        for y2 in self.open[:k]
                        if (y2, self.slots[prev][0]) in self.var
                    ]
                    struct.append(z3.Implies(v, _any(earlier)))
        # costs are bounded ("at most v") in `bound`
        self.used_slot = list(used_slot.values())
        self.targets = {t: _any(vs) for t, vs in targets.items()}
        starts = [x for x in self.cand_base.dpm_servers if x not in self._open_set]
        self.walks = {x: self._walk(x) for x in starts}
        via = sorted((x for x, w in self.walks.items() if w[0] == "via"), key=canon)
        if self.allow_cycles:
            self.reach = self._chains_reach(objective, [*self.open, *via])
        self.via = via
        self.struct, self.tagged, self.objective = struct, tagged, objective
        self.cycles = cycles
        self.definitions = self.grounder.definitions(used_names)
        self.decision = [c.var for c in legal]

    def _targets(self, y: str) -> list[str]:
        return [c.t for c in self.legal[y]]

    def bound(self, criterion: str, v: int) -> z3.BoolRef:
        """The criterion is at most v (exactly: a choice satisfies it iff its cost is <= v)."""
        if criterion == "unassigned":
            blocked = len(self.needs) - len(self.open)
            return (
                z3.IntVal(blocked)
                + z3.Sum([z3.IntVal(0), *[z3.If(self.covered[y], 0, 1) for y in self.open]])
                <= v
            )
        if criterion == "new_servers":
            return z3.Sum([z3.IntVal(0), *[z3.If(u, 1, 0) for u in self.used_slot]]) <= v
        if criterion == "max_load":
            return _all(
                z3.Implies(used, self.load.get(t, z3.IntVal(self.loads[t])) <= v)
                for t, used in self.targets.items()
            )
        if self.allow_cycles:
            return _all(z3.Implies(new, length <= v) for new, length in self.reach)
        return self._chain_bound(v)

    def _chain_bound(self, b: int) -> z3.BoolRef:
        cache = self.__dict__.setdefault("_chain_bounds", {})
        if b not in cache:
            cache[b] = self._chain_bound_uncached(b)
        return cache[b]

    def _chain_bound_uncached(self, b: int) -> z3.BoolRef:
        """Every new chain has at most b servers, as Booleans: `le[y][j]` (the chain from y has
        at most j) follows y's choice downwards, `le[y][j] ∧ choose[y][t] → le[t][j - 1]`, down
        to a server with no secondary or a 2-cycle (2). Around a cycle of three or more the
        implications never end, so such cycles have no solution, as CYCLE-TWO-ONLY asks."""
        if b < 2:  # a new chain has two servers at least: no server gets a secondary
            return _all(z3.Not(self.covered[y]) for y in self.open)
        le = {
            (y, j): z3.Bool(f"le!{b}!{i}!{j}")
            for i, y in enumerate(self.open)
            for j in range(1, b + 1)
        }

        def at_most(x: str, j: int) -> z3.BoolRef:
            """The chain from x (if it gets no new secondary itself) has at most j servers."""
            if j < 1:
                return z3.BoolVal(False)
            if x in self._open_set:
                return le[(x, j)]
            w = self.walks[x]
            if w[0] == "const":
                return z3.BoolVal(w[1] <= j)
            _, k, entry, y2 = w
            back = self.var.get((y2, entry))  # y2 <-> entry: the chain stops at y2
            ahead = at_most(y2, j - k)
            return ahead if back is None else z3.If(back, z3.BoolVal(k + 1 <= j), ahead)

        out: list[z3.BoolRef] = []
        for y in self.open:
            for c in self.legal[y]:
                if c.slot is None and c.t not in self._open_set:
                    w = self.walks[c.t]
                    if w[0] == "via" and w[3] == y and w[1] >= 2:
                        out.append(z3.Not(c.var))  # closes a longer cycle (illegal anyway)
                        continue
                    if w[0] == "via" and w[3] == y:  # t's protector is y: a 2-cycle
                        out += [
                            z3.Implies(z3.And(c.var, le[(y, j)]), z3.BoolVal(j >= 2))
                            for j in range(1, b + 1)
                        ]
                        continue
                back = self.var.get((c.t, y)) if c.t in self._open_set else None
                for j in range(1, b + 1):
                    rest = at_most(c.t, j - 1)
                    if back is not None:
                        rest = z3.If(back, z3.BoolVal(j >= 2), rest)
                    out.append(z3.Implies(z3.And(c.var, le[(y, j)]), rest))
        for y in self.open:  # the new chains: from y, and from the servers below it
            out.append(z3.Implies(self.covered[y], le[(y, b)]))
        for x in self.via:
            _, _, entry, y2 = self.walks[x]
            back = self.var.get((y2, entry))
            new = self.covered[y2] if back is None else z3.And(self.covered[y2], z3.Not(back))
            out.append(z3.Implies(new, at_most(x, b)))
        return _all(out)

    def evaluate(self, chosen: list[_Candidate]) -> dict[str, int]:
        """The costs of a set of choices, computed in plain Python from the graph they make."""
        protectors = dict(self.protectors)
        new = set()
        for c in chosen:
            protectors[c.y] = (c.t,)
            new.add((c.t, c.y))
        longest = longest_new_chain(self.cand_base.dpm_servers, protectors, new)
        load = {}
        for c in chosen:
            load[c.t] = self.loads[c.t] + sum(x.delta.get(c.t, 0) for x in chosen)
        return {
            "unassigned": len(self.needs) - len(chosen),
            "longest_chain": longest,
            "max_load": max(load.values(), default=0),
            "new_servers": len({c.slot for c in chosen if c.slot is not None}),
        }

    def _chains_reach(self, objective: list, starts: list[str]) -> list:
        """With longer cycles allowed: for each start s, `on[x]` says x is on the chain from s and
        `dist[x]` is its place on it (one more than some predecessor on the chain, at most one
        more than each), so both are exact; the new edge y -> t is used when t comes right
        after y (not when it closes the cycle back to an earlier server)."""

        def succ(x: str) -> list[tuple[z3.BoolRef | None, str]]:
            if x in self._open_set:
                return [(c.var, c.t) for c in self.legal[x]]
            ups = self.protectors[x]
            return [(None, ups[0])] if len(ups) == 1 else []

        out = []
        for si, s in enumerate(starts):
            reach, todo = {s}, [s]
            while todo:
                cur = todo.pop()
                for _, nxt in succ(cur):
                    if nxt not in reach:
                        reach.add(nxt)
                        todo.append(nxt)
            names = sorted(reach, key=canon)
            on = {x: z3.Bool(f"on!{si}!{xi}") for xi, x in enumerate(names)}
            dist = {x: z3.Int(f"dist!{si}!{xi}") for xi, x in enumerate(names)}
            objective += [on[s], dist[s] == 0]
            support: dict[str, list[z3.BoolRef]] = {x: [] for x in names}
            for x in names:
                for cond, nxt in succ(x):
                    active = on[x] if cond is None else z3.And(on[x], cond)
                    objective.append(z3.Implies(active, z3.And(on[nxt], dist[nxt] <= dist[x] + 1)))
                    support[nxt].append(z3.And(active, dist[nxt] == dist[x] + 1))
            for x in names:
                if x != s:
                    objective.append(z3.Implies(on[x], z3.And(dist[x] >= 1, _any(support[x]))))
            length = z3.Sum([z3.If(on[x], 1, 0) for x in names])
            new = _any(
                z3.And(on[y], c.var, dist[c.t] == dist[y] + 1)
                for y in names
                if y in self._open_set
                for c in self.legal[y]
            )
            out.append((new, length))
        return out

    # -- solving --------------------------------------------------------------------------------
    def _timeout_ms(self) -> int:
        left = self._remaining()
        return 600_000 if left is None else max(1, int(left * 1000))

    def solve(self, top: int) -> tuple[list[Design], bool]:
        self.build()
        blocks: list[z3.BoolRef] = []
        extra: list[z3.BoolRef] = []
        designs: list[Design] = []
        optimal = True
        self.rejected = 0
        attempts = 0
        while len(designs) < top and attempts < top * 4 + 8:
            attempts += 1
            try:
                found = self._lexmin([*blocks, *extra])
            except SolverGaveUp:
                if not designs:
                    raise
                optimal = False
                break
            if found is None:
                break
            chosen, best, proved = found
            optimal = optimal and proved
            if self.decision:
                blocks.append(self._block(chosen))
            design = self._design(chosen, best)
            if design is None:
                self.rejected += 1
            else:
                designs.append(replace(design, rank=len(designs) + 1))
                # the next designs leave as few servers without a secondary as the best one
                extra = [self.bound("unassigned", designs[0].cost["unassigned"])]
            if not proved or not self.decision:
                break
        return designs, optimal

    def _solver(self, cons: list[z3.BoolRef]) -> z3.Solver:
        solver = z3.Solver()
        solver.set("random_seed", 0)
        solver.set("timeout", self._timeout_ms())
        solver.from_string(self.definitions)
        solver.add(self.struct)
        solver.add(self.legality)
        solver.add([t for ts in self.tagged.values() for t in ts])
        solver.add(cons)
        return solver

    def _chosen(self, model) -> list[_Candidate]:
        return [
            c
            for y in self.open
            for c in self.legal[y]
            if z3.is_true(model.eval(c.var, model_completion=True))
        ]

    def _check(self, solver: z3.Solver, *, improving: bool = False) -> z3.CheckSatResult:
        """One check within the time left; a step that only improves a solution already found
        gets at most the search's share of it, so that the best design so far can still be
        verified and shown (as not proved best) when the solver gives up on a step."""
        left = self._remaining()
        if improving and left is not None:
            left = min(left, max(0.0, self.search_deadline - time.monotonic()))
            if left <= 0:
                return z3.unknown
        solver.set("timeout", 600_000 if left is None else max(1, int(left * 1000)))
        return solver.check()

    def _lexmin(self, cons: list[z3.BoolRef]) -> tuple[list[_Candidate], dict, bool] | None:
        """The best choices under `cons`: the criteria minimized one after the other (each
        bounded by the best value found, searching from a lower bound up, or halving for the
        load), then the smallest sorted action list among them. None when nothing is left;
        `proved` is False when the solver gave up on a step (the choices are the best found)."""
        left = self._remaining()
        self.search_deadline = (
            float("inf") if left is None else time.monotonic() + SEARCH_SHARE * left
        )
        solver = self._solver(cons)
        solver.push()
        solver.add(self.cycles)  # without a chain bound yet, longer cycles are ruled out here
        result = self._check(solver)
        if result == z3.unsat:
            return None
        if result != z3.sat:
            raise SolverGaveUp(f"the solver gave up: {solver.reason_unknown()}")
        chosen = self._chosen(solver.model())
        proved = True
        blocked = len(self.needs) - len(self.open)
        best: dict[str, int] = {}
        for criterion in CRITERIA:
            value = self.evaluate(chosen)[criterion]
            lo = {"unassigned": blocked}.get(criterion, 0)
            if criterion == "longest_chain" and value:
                lo = self._chain_floor(best["unassigned"])
            linear = criterion != "max_load"
            while lo < value and proved:
                trial = lo if linear else (lo + value) // 2
                solver.push()
                solver.add(self.bound(criterion, trial))
                result = self._check(solver, improving=True)
                if result == z3.sat:
                    chosen = self._chosen(solver.model())
                    value = self.evaluate(chosen)[criterion]
                elif result == z3.unsat:
                    lo = trial + 1
                else:
                    proved = False
                solver.pop()
            best[criterion] = value
            if criterion == "unassigned":
                solver.pop()  # the chain bound rules out longer cycles from now on
                solver.add(self.objective)  # with --allow-cycles: what `on`/`dist` mean
                solver.add(self.bound("longest_chain", self._chain_limit(chosen)))
            solver.add(self.bound(criterion, value))
        if proved:
            smallest = self._smallest(solver)
            if smallest is None:
                proved = False
            else:
                chosen = smallest
        return chosen, self.evaluate(chosen), proved

    def _chain_floor(self, unassigned: int) -> int:
        """A lower bound of the longest new chain when `unassigned` servers get no secondary:
        2, or 3 where chains of two are impossible even without the rules that tie choices
        together. Chains of two need every server y either to take a root (a server with no
        or several secondaries, or a new one) or to form a 2-cycle; a server that protects
        others must pair with its only child (else their chains grow by y's new secondary).
        The servers left need a partner among themselves: a matching (Edmonds) must cover
        them. Proving this with the solver alone is a pigeonhole-like search."""
        if unassigned != len(self.needs) - len(self.open):
            return 2  # some could be left out: no simple bound
        below: dict[str, set[str]] = {y: set() for y in self.open}
        for x in self.via:
            below[self.walks[x][3]].add(self.walks[x][2])
        free, rooted = [], set()
        for y in self.open:
            entries = below[y]
            if entries:
                if len(entries) > 1 or (y, next(iter(entries))) not in self.var:
                    return 3
                continue  # pairs with its child
            free.append(y)
            for c in self.legal[y]:
                if c.slot is not None or (
                    c.t not in self._open_set and self.walks[c.t] == ("const", 1)
                ):
                    rooted.add(y)
                    break
        needy = [y for y in free if y not in rooted]
        if not needy:
            return 2
        graph = nx.Graph()
        free_set = set(free)
        for y in free:
            for c in self.legal[y]:
                if c.t in free_set and (c.t, y) in self.var:
                    graph.add_edge(y, c.t, weight=(y in needy) + (c.t in needy))
        matching = nx.max_weight_matching(graph)
        covered = {n for edge in matching for n in edge}
        return 2 if all(y in covered for y in needy) else 3

    def _chain_limit(self, chosen: list[_Candidate]) -> int:
        """A chain bound that `chosen` meets (its longest new chain), so that adding it keeps
        `chosen` a solution while it rules out longer cycles."""
        return max(self.evaluate(chosen)["longest_chain"], 2)

    def _smallest(self, solver: z3.Solver) -> list[_Candidate] | None:
        """Among the choices the solver still allows, the one whose sorted action list is
        smallest: server by server in name order, the first candidate (by name; no secondary
        last) that still has a solution, found by halving the candidate list."""
        if self._check(solver) != z3.sat:
            return None
        model = solver.model()
        for y in self.open:
            options = [c.var for c in sorted(self.legal[y], key=self._order)]
            options.append(z3.Not(self.covered[y]))
            current = next(
                i for i, v in enumerate(options) if z3.is_true(model.eval(v, model_completion=True))
            )
            lo, hi = 0, current  # options[hi] has a solution; is there one before it?
            while lo < hi:
                mid = (lo + hi) // 2
                solver.push()
                solver.add(_any(options[lo : mid + 1]))
                result = self._check(solver, improving=True)
                if result == z3.sat:
                    model = solver.model()
                    hi = next(
                        i
                        for i in range(lo, mid + 1)
                        if z3.is_true(model.eval(options[i], model_completion=True))
                    )
                elif result == z3.unsat:
                    lo = mid + 1
                solver.pop()
                if result == z3.unknown:
                    return None
            solver.add(options[hi])
        if self._check(solver) != z3.sat:
            return None
        return self._chosen(solver.model())

    def _order(self, c: _Candidate) -> tuple:
        if c.slot is None:
            return (canon(c.t), 0)
        return (canon(_NEW), c.slot)

    def _block(self, chosen: list[_Candidate]) -> z3.BoolRef:
        picked = {id(c) for c in chosen}
        same = [
            c.var if id(c) in picked else z3.Not(c.var) for y in self.open for c in self.legal[y]
        ]
        return z3.Not(z3.And(same))

    # -- from a model to a design -----------------------------------------------------------
    def _design(self, chosen: list[_Candidate], best: dict[str, int]) -> Design | None:
        taken = {canon(n) for n in self.base.dpm_servers} | {canon(n) for n in self.base.servers}
        names: dict[str, str] = {}
        k = 0
        for c in chosen:  # servers in name order: new servers numbered by first use
            if c.slot is not None and c.t not in names:
                k += 1
                while canon(f"{_NEW}{k}") in taken:
                    k += 1
                names[c.t] = f"{_NEW}{k}"
        new_servers = tuple((names[slot], version) for slot, version in self.slots if slot in names)
        new_servers = tuple(sorted(new_servers, key=lambda nv: canon(nv[0])))
        actions = []
        seen: set[str] = set()
        for c in chosen:
            t = names.get(c.t, c.t)
            version = self.cand_base.dpm_servers[c.t].version if c.slot is not None else None
            actions.append(self._action(c.y, t, c.replicas, version, first=t not in seen))
            seen.add(t)
        state = self._state(chosen, names)
        covered = {c.y for c in chosen}
        unassigned = tuple(y for y in self.needs if y not in covered)
        if not self._verify(state):
            return None
        blocked = {y: self._explain(y, covered) for y in unassigned}
        return Design(
            rank=0,
            complete=not unassigned,
            cost=dict(best),
            actions=tuple(actions),
            new_servers=new_servers,
            unassigned=unassigned,
            blocked_by=blocked,
            final_state=state,
        )

    def _state(self, chosen: list[_Candidate], names: dict[str, str]) -> Topology:
        """The estate after the design: new servers, new `protects` edges, replicas on t."""
        dpms = dict(self.base.dpm_servers)
        for slot, version in self.slots:
            if slot in names:
                dpms[names[slot]] = DpmServer(name=names[slot], version=version)
        edges = [
            Action("reassign-secondary", dpm=c.y, from_=None, to=names.get(c.t, c.t))
            for c in chosen
        ]
        state = apply_actions(replace(self.base, dpm_servers=dpms), edges)
        secondary = {canon(i): names.get(c.t, c.t) for c in chosen for i in c.replicas}
        servers = dict(state.servers)
        for name, server in servers.items():
            if any(canon(ds.id) in secondary for ds in server.datasources):
                servers[name] = replace(
                    server,
                    datasources=tuple(
                        replace(ds, secondary=secondary[canon(ds.id)])
                        if canon(ds.id) in secondary
                        else ds
                        for ds in server.datasources
                    ),
                )
        return replace(state, servers=servers)

    def _verify(self, state: Topology) -> bool:
        """Prove the design legal with `check`: nothing that blocks a design is new."""
        report = check(state, profile=self.profile, timeout=self._remaining())
        for f in report.findings:
            if f.waived or f.fingerprint in self.pre:
                continue
            if self.allow_cycles and f.rule == CYCLE:
                continue  # allowed
            if f.severity is Severity.ERROR or f.rule in self.hard:
                return False
        return True

    # -- why a server gets no secondary ------------------------------------------------------------
    def _explain(self, y: str, covered: set[str]) -> list[str]:
        """An irreducible set of rule ids that blocks every option of y: from an unsat core of
        named per-rule assertions, reduced by deletion in rule-id order."""
        key = (y, frozenset(covered))
        if key in self._explained:
            return self._explained[key]
        if self.legal[y]:  # legal alone; blocked together with the servers this design covers
            per_rule = {k: list(v) for k, v in self.tagged.items()}
            for rule_id, terms in self._per_rule().items():
                per_rule.setdefault(rule_id, []).extend(terms)
            if self.cycles:
                per_rule.setdefault(CYCLE, []).extend(self.cycles)
            legal = {c.index for c in self.legal[y]}
            options = [self.covered[y]]
            for c in self.candidates[y]:  # and what blocks its other candidates
                if c.index in legal:
                    continue
                x = z3.Bool(f"option!{c.index}")
                options.append(x)
                for rule_id, lits in c.terms.items():
                    per_rule.setdefault(rule_id, []).append(
                        z3.Implies(x, _all(self._lit(lit) for lit in lits))
                    )
            fixed = [*self.struct, _any(options), *(self.covered[x] for x in covered)]
            rules = self._irreducible(per_rule, fixed)
        else:
            per_rule = {}
            options = []
            for c in self.candidates[y]:
                x = z3.Bool(f"option!{c.index}")
                options.append(x)
                for rule_id, lits in c.terms.items():
                    per_rule.setdefault(rule_id, []).append(
                        z3.Implies(x, _all(self._lit(lit) for lit in lits))
                    )
            rules = self._irreducible(per_rule, [_any(options)]) if options else []
        self._explained[key] = rules
        return rules

    def _per_rule(self) -> dict[str, list[z3.BoolRef]]:
        """The legality of every choice, split by rule id (for unsat cores)."""
        if not hasattr(self, "_split"):
            self._split: dict[str, list[z3.BoolRef]] = {}
            for y in self.open:
                for c in self.legal[y]:
                    for rule_id, lits in c.terms.items():
                        self._split.setdefault(rule_id, []).append(
                            z3.Implies(c.var, _all(self._lit(lit) for lit in lits))
                        )
        return self._split

    def _irreducible(self, per_rule: dict[str, list], fixed: list) -> list[str]:
        names = sorted(per_rule)
        definitions = self.grounder.smtlib()

        def solver() -> z3.Solver:
            s = z3.Solver()
            s.set("random_seed", 0)
            s.set("timeout", self._timeout_ms())
            s.from_string(definitions)
            s.add(fixed)
            return s

        def unsat(subset: Sequence[str]) -> bool:
            s = solver()
            for n in subset:
                s.add(per_rule[n])
            return s.check() == z3.unsat

        s = solver()
        for n in names:
            s.assert_and_track(_all(per_rule[n]), n)
        if s.check() != z3.unsat:
            return []
        kept = sorted(str(c) for c in s.unsat_core())
        for n in list(kept):
            trial = [k for k in kept if k != n]
            if unsat(trial):
                kept = trial
        return kept

    # -- actions with their DPM steps ---------------------------------------------------------
    def _action(self, y: str, t: str, replicas, version: str | None, *, first: bool) -> Action:
        d = self.base.dpm_servers[y]
        steps = []
        if version is not None and first:
            steps.append(
                f"Install {product(version)} on a new server {t} (the build of {y}, on the OS of {y})"
            )
        steps.append(f"From {t}: install the DPM protection agent on {y} (no restart is needed)")
        what = []
        if "database" in d.secondary_scope:
            what.append("DPM database")
        folders = [f.capitalize() for f in ("config", "scripting") if f in d.secondary_scope]
        if folders:
            what.append(f"{' and '.join(folders)} folder{'s' if len(folders) > 1 else ''}")
        if replicas:
            what.append(f"replicas of {', '.join(replicas)}")
        if what:
            listed = ", ".join(what[:-1]) + (" and " if len(what) > 1 else "") + what[-1]
            steps.append(f"On {t}: add {y}'s {listed} to a protection group")
        if "database" in d.secondary_scope:
            steps.append(f"Make sure the SQL Server VSS Writer service runs on {y}'s SQL host")
        if replicas:
            steps.append(f"On {t}: run a consistency check on each new replica")
        return Action(
            "reassign-secondary",
            dpm=y,
            from_=None,
            to=t,
            datasources=tuple(replicas),
            steps=tuple(steps),
            version=version,
        )
