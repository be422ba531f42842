"""The options of a failure: groups of interchangeable protected servers, and for each group
what its servers can do (switch, switch now and back after a rebuild, rebuild, move to a class of
targets, a new DPM server) with the state each option gives and the rule Booleans it needs.

Servers are interchangeable when they have the same failed primary, agents and facts of their
data sources; the optimizer counts how many of a group take each option (performance.md:
counting removes the symmetry that makes pigeonhole problems hard).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dpmsmt.actions import Action, apply_actions
from dpmsmt.encode import ChangeView, View
from dpmsmt.findings import Severity
from dpmsmt.model import ProtectedServer, Topology, canon, evolve
from dpmsmt.optimize.legality import Legality, ds_facts
from dpmsmt.optimize.placement import CANDIDATES
from dpmsmt.plan import failover_server_name
from dpmsmt.recovery.failure import Failure
from dpmsmt.rules import Scope, all_rules

__all__ = ["MOVE_CANDIDATES", "Group", "MoveTargets", "Option", "Options"]

MOVE_CANDIDATES = CANDIDATES  # legal move targets kept per group and outcome (the least loaded)
_OPTIONS_ORDER = ("move", "new-dpm", "none", "rebuild", "switch", "switch-back")


@dataclass(frozen=True)
class Option:
    kind: str  # switch | switch-back | rebuild | move | new-dpm | none
    target: str | None = None  # s for switches, n for move

    def key(self) -> tuple:
        return (_OPTIONS_ORDER.index(self.kind), canon(self.target or ""))


@dataclass
class Group:
    """Interchangeable protected servers: same failed primary p, same agents, same facts."""

    p: str
    servers: list[str]
    secondary: str | None  # the common secondary of their data sources on p (switch target)
    datasources: int  # data sources on p per server
    with_secondary: int  # of those, with a secondary before the failure
    classes: dict[str, list[str]] | None = None  # move target classes: representative -> members


class MoveTargets:
    """The classes of move targets of a group: up DPM servers that no rule can tell apart for
    its servers (`target_key`); one member of each class is grounded for all of them."""

    def __init__(self, state: Topology, legal: Legality, classes: bool = True):
        self.state = state
        self.legal = legal
        self.classes = classes  # group move targets into classes (False: ground every target)
        self._knows_cache: dict[str, frozenset[str]] = {}
        self._classes_of: dict[tuple[str, ...], dict[str, list[str]]] = {}
        self.inactive_holders: dict[str, list[str]] = {}
        for name, d in state.dpm_servers.items():
            for entry in d.inactive:
                self.inactive_holders.setdefault(canon(entry.datasource), []).append(name)

    def of(self, g: Group) -> list[str]:
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

    def _mentioned(self, g: Group, server: ProtectedServer) -> tuple[str, ...]:
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


class Options:
    """The options of each group of interchangeable servers, their states and rule Booleans."""

    def __init__(
        self, failure: Failure, legal: Legality, profile: str, allowed, classes: bool = True
    ):
        self.failure = failure
        self.state = failure.state
        self.down = set(failure.failed) | set(failure.removed)
        self.legal = legal
        self.profile = profile
        self.allowed = allowed
        self.targets = MoveTargets(failure.state, legal, classes)
        self.rep_held: dict[tuple, dict[str, int]] = {}  # (group, representative) -> held
        self.groups = self._groups()
        self.rebuild_terms = self._rebuild_terms()

    def ok(self, action: str) -> bool:
        return self.allowed is None or action in self.allowed

    def _groups(self) -> list[Group]:
        state = self.state
        groups: dict[tuple, Group] = {}
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
                            (
                                (ds_facts(ds, (), False), ds.primary == p)
                                for ds in server.datasources
                            ),
                            key=repr,
                        )
                    ),
                )
                g = groups.get(key)
                if g is None:
                    g = groups[key] = Group(
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

    def option_terms(self, g: Group, opt: Option, imm, fin, view) -> dict[str, list[str]]:
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

    def reassign_options(self) -> dict[str, list[str]]:
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

    def options(
        self, g: Group, moving: bool | None = None
    ) -> list[tuple[Option, ProtectedServer, ProtectedServer | None, View]]:
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
            out.append((Option("switch", s), switched.servers[server.name], None, base_view))
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
                        Option("switch-back", s),
                        switched.servers[server.name],
                        back.servers[server.name],
                        self.legal.view(frozenset({p}), None),
                    )
                )
        if p in self.rebuild_terms:
            out.append((Option("rebuild", p), server, None, self.legal.view(frozenset({p}), None)))
        if moving is None:
            out += self._moves(g, server, base_view)
        return out

    def _moves(self, g: Group, server: ProtectedServer, base_view: View) -> list[tuple]:
        """The move options (one per class of targets) and the new-dpm option of a group."""
        p, out = g.p, []
        if self.ok("move"):
            for n in self.targets.of(g):
                moved = self._apply(
                    self._one(server), [Action("move", server=server.name, from_=p, to=n)]
                )
                out.append((Option("move", n), moved.servers[server.name], None, base_view))
        if self.ok("new-dpm"):
            name, version = self._new_name(p), self.state.dpm_servers[p].version
            view = self.legal.view(frozenset(), (name, version))
            one = replace(self._one(server), dpm_servers=view.topology.dpm_servers)
            moved = self._apply(one, [Action("move", server=server.name, from_=p, to=name)])
            out.append((Option("new-dpm", name), moved.servers[server.name], None, view))
        return out

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

    def legal_options(
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

        def rows(g: Group, moving: bool) -> list[tuple]:
            out = []
            for opt, imm, fin, view in self.options(g, moving):
                terms = self.option_terms(g, opt, imm, fin, view)
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
                    legal.append((Option("move", m), moved, fin, view, names))
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

    def held(self, g: Group, final: ProtectedServer) -> dict[str, int]:
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
