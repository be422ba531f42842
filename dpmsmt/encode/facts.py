"""Topology -> the facts rules read: `View` (one snapshot), `ChangeView` (two), `Scope`.

Encoding idea (signature grounding, see ../shared/guide/performance.md): joins and lookups are done
once in Python (`View`), each rule reads the facts of an instance as plain values, and instances
with equal facts share one Boolean (`dpmsmt.encode.grounder` turns them into one SMT-LIB problem).
No Z3 here and no rule: rules import this module, never the other way round.
"""

from __future__ import annotations

import operator
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple, get_args

import networkx as nx

from dpmsmt.graph import knows as _knows
from dpmsmt.graph import protection_graph
from dpmsmt.io.schema import DatasourceType
from dpmsmt.model import DataSource, Policy, Topology, canon

__all__ = [
    "NULL",
    "ChangeView",
    "DsChange",
    "DsFacts",
    "Inactive",
    "Scope",
    "View",
    "code",
    "grouped_datasources",
    "inactive_replicas",
    "profile_code",
    "version_vector",
]

NULL = -1  # the int that stands for "no server" in rule facts


def profile_code(profile: str) -> int:
    """The int of a profile in rule facts (`strict` is 0, the others their year)."""
    return 0 if profile == "strict" else int(profile)


class Scope(StrEnum):
    """What one instance of a rule is. Its one home: a new scope is a member here and its
    lister in `_LISTERS` below (`View.instances` / `ChangeView.instances` look it up)."""

    DPM = "dpm"  # a DPM server
    EDGE = "edge"  # a P(x, y) edge
    COMPONENT = "component"  # a weakly connected component of P
    CYCLE = "cycle"  # a strongly connected component of P with 2+ servers
    LIBRARY = "library"  # a tape library and its servers
    SERVER = "server"  # a protected server
    DATASOURCE = "datasource"  # a data source (grouped by its facts)
    INACTIVE = "inactive"  # an inactive replica a DPM server holds
    CHANGE_DATASOURCE = "change-datasource"  # a data source in both snapshots
    CHANGE_DPM = "change-dpm"  # a DPM server in both snapshots

    @property
    def change(self) -> bool:
        """Its instances pair two snapshots: they are listed by a `ChangeView`."""
        return self.value.startswith("change-")

    @property
    def grouped(self) -> bool:
        """Its instances come as facts -> members: members with equal facts are one instance
        (200k data sources ground to a few hundred formulas)."""
        return self is Scope.DATASOURCE


# Enumerations of the file format as ints, for formulas. Stable: never renumber.
_CODES: dict[str, tuple[str, ...]] = {
    "status": ("up", "failed", "removed"),
    "kind": ("dpm", "mabs"),
    "backup": ("none", "secondary", "azure", "own-pool", "tape", "share", "sql-native"),
    "sql": ("local", "remote"),
    "vss": ("running", "stopped"),
    "trust": ("trusted", "untrusted", "workgroup"),
    "auth": ("kerberos", "ntlm", "certificate"),
    "short_term": ("disk", "tape"),
    "long_term": ("none", "tape", "online", "online-and-tape"),
    "mode": ("normal", "switched"),
    "type": get_args(DatasourceType),
    "storage": ("intact", "lost"),
    "location": ("on-premises", "azure"),
    "account": ("local-system", "domain"),
}


_CODE_INDEX = {enum: {v: i for i, v in enumerate(values)} for enum, values in _CODES.items()}


def code(enum: str, value: str | None) -> int:
    """The int of an enumeration value (`code("status", "up") == 0`); NULL for None."""
    if value is None:
        return NULL
    return _CODE_INDEX[enum][value]


def version_vector(version: str, width: int = 4) -> tuple[int, ...]:
    """`10.19.58.0` -> (10, 19, 58, 0); missing fields are NULL ("compare the fields both give").

    A non-numeric field becomes a stable negative number below NULL, so it compares by text.
    """
    out = []
    for part in version.split("."):
        part = part.strip()
        numeric = part.isascii() and part.isdigit()
        out.append(int(part) if numeric else -2 - zlib.crc32(part.encode()) % 1_000_000)
    out += [NULL] * (width - len(out))
    return tuple(out)


class DsFacts(NamedTuple):
    """What data-source rules may read: a data source without its name, plus its server's facts.

    Data sources with equal facts are one signature, so 200k data sources ground to a few
    hundred formulas.
    """

    type: str
    primary: str | None
    secondary: str | None
    mode: str
    switched_from: str | None
    dedup: bool
    hyperv_scale_out: bool
    policy: Policy | None
    secondary_policy: Policy | None
    farm: str | None
    agents: tuple[str, ...]
    server_switched: bool

    @classmethod
    def of(cls, ds: DataSource, agents: tuple[str, ...], server_switched: bool) -> DsFacts:
        """The facts of a data source on a server with these agents (and switched state)."""
        return cls(
            ds.type,
            ds.primary,
            ds.secondary,
            ds.mode,
            ds.switched_from,
            ds.dedup,
            ds.hyperv_scale_out,
            ds.policy,
            ds.secondary_policy,
            ds.farm,
            agents,
            server_switched,
        )


@dataclass
class View:
    """Precomputed joins over one snapshot, and the int encoding of names for formulas."""

    topology: Topology
    profile: str
    # memos of this view (a view is a short-lived helper: it may remember what it computed)
    _knows: dict[str, frozenset[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _strings: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def g(self) -> nx.DiGraph:
        return protection_graph(self.topology)

    @cached_property
    def index(self) -> dict[str, int]:
        names = sorted(self.topology.dpm_servers, key=canon)
        return {n: i for i, n in enumerate(names)}

    def idx(self, name: str | None) -> int:
        return NULL if name is None else self.index[name]

    @property
    def profile_code(self) -> int:
        return profile_code(self.profile)

    def dpm(self, name: str):
        return self.topology.dpm_servers[name]

    def protectors(self, name: str) -> tuple[str, ...]:
        return self.topology.protectors[name]

    def status(self, name: str | None) -> int:
        return NULL if name is None else code("status", self.dpm(name).status)

    def version(self, name: str) -> tuple[int, ...]:
        return version_vector(self.dpm(name).version)

    @cached_property
    def component(self) -> dict[str, frozenset[str]]:
        """`component(d)` for every DPM server, from one pass over the weak components."""
        out: dict[str, frozenset[str]] = {}
        for nodes in nx.weakly_connected_components(self.g):
            comp = frozenset(nodes)
            for n in comp:
                out[n] = comp
        return out

    def knows(self, s: str) -> frozenset[str]:
        found = self._knows.get(s)
        if found is None:
            found = self._knows[s] = _knows(self.topology, self.g, s)
        return found

    def string_id(self, text: str | None) -> int:
        """Interned int of a free-text value (an OS string), for equality in formulas."""
        if text is None:
            return NULL
        table = self._strings
        return table.setdefault(text, len(table))

    # -- per-server and per-DPM aggregates ------------------------------------------------
    @cached_property
    def first_switched(self) -> dict[str, DataSource]:
        """Protected server -> its first switched data source (list order), where it has one."""
        out = {}
        for name, s in self.topology.servers.items():
            for ds in s.datasources:
                if ds.switched:
                    out[name] = ds
                    break
        return out

    @cached_property
    def datasource_groups(self) -> dict[DsFacts, list[DataSource]]:
        """Data sources grouped by their facts (one pass over the estate, shared by every view
        of the same protected servers: a failure changes DPM servers, not data sources; small
        estates are cheap to group again)."""
        servers = self.topology.servers
        if len(servers) < 256:
            return grouped_datasources(servers)
        return self.topology.shared.value("datasource groups", servers, grouped_datasources)

    @cached_property
    def datasource_load(self) -> dict[str, int]:
        """DPM -> data sources it holds as primary or secondary (each counted once)."""
        out = dict.fromkeys(self.topology.dpm_servers, 0)
        for facts, group in self.datasource_groups.items():
            n = len(group)
            if facts.primary is not None:
                out[facts.primary] += n
            if facts.secondary is not None and facts.secondary != facts.primary:
                out[facts.secondary] += n
        return out

    @cached_property
    def agent_load(self) -> dict[str, int]:
        """DPM -> protected computers whose agent it owns."""
        out = dict.fromkeys(self.topology.dpm_servers, 0)
        for s in self.topology.servers.values():
            for a in s.agents:
                out[a] += 1
        return out

    # -- instances per scope ----------------------------------------------------------------
    def instances(self, scope: Scope) -> Iterable[Any]:
        """The instances of a one-snapshot scope, in a stable order."""
        return _LISTERS[scope](self)


_DS_FIELDS = operator.attrgetter(*DsFacts._fields[:-2])  # a data source's own facts


def grouped_datasources(servers) -> dict[DsFacts, list[DataSource]]:
    """Data sources of `servers` grouped by their facts, in one pass."""
    by_key: dict[tuple, list[DataSource]] = {}  # plain tuples first: 200k NamedTuples cost
    for s in servers.values():
        agents = s.agents
        sw = any(ds.mode == "switched" for ds in s.datasources)
        for ds in s.datasources:
            key = (*_DS_FIELDS(ds), agents, sw)
            group = by_key.get(key)
            if group is None:
                by_key[key] = [ds]
            else:
                group.append(ds)
    return {DsFacts._make(key): group for key, group in by_key.items()}


class Inactive(NamedTuple):
    """An inactive replica that DPM server `holder` still holds (format.md, `inactive`)."""

    holder: str
    index: int
    from_: str | None
    datasource: DataSource


def _names_key(names: tuple[str, ...]) -> list[str]:
    return [canon(n) for n in names]


def _components(view: View) -> list[tuple[str, ...]]:
    comps = {c for c in view.component.values() if len(c) > 1}
    return sorted((tuple(sorted(c, key=canon)) for c in comps), key=_names_key)


def _cycles(view: View) -> list[tuple[str, ...]]:
    sccs = (c for c in nx.strongly_connected_components(view.g) if len(c) > 1)
    return sorted((tuple(sorted(c, key=canon)) for c in sccs), key=_names_key)


def _libraries(view: View) -> list[tuple[str, tuple[str, ...]]]:
    libs: dict[str, list[str]] = {}
    for name, d in view.topology.dpm_servers.items():
        if d.tape_library is not None and d.status != "removed":
            libs.setdefault(d.tape_library, []).append(name)
    return sorted(
        ((lib, tuple(sorted(ns, key=canon))) for lib, ns in libs.items() if len(ns) > 1),
        key=lambda x: canon(x[0]),
    )


def _inactive(view: View) -> list[Inactive]:
    dpms = view.topology.dpm_servers
    if not any(d.inactive for d in dpms.values()):
        return []  # no index of 200k data sources for nothing
    return inactive_replicas(view.topology, sorted(dpms, key=canon))


def inactive_replicas(topology: Topology, holders: Iterable[str]) -> list[Inactive]:
    """The inactive replicas `holders` hold (in that order) of data sources `topology` has."""
    by_id = topology.datasource_by_id
    out = []
    for name in holders:
        for i, entry in enumerate(topology.dpm_servers[name].inactive):
            ds = by_id.get(canon(entry.datasource))
            if ds is not None:
                out.append(Inactive(name, i, entry.from_, ds))
    return out


# Scope -> its instances in a view (a `View`, or a `ChangeView` for the change scopes).
_LISTERS: dict[Scope, Callable[[Any], Iterable[Any]]] = {
    Scope.DPM: lambda view: sorted(view.topology.dpm_servers, key=canon),
    Scope.EDGE: lambda view: sorted(view.g.edges, key=lambda e: (canon(e[0]), canon(e[1]))),
    Scope.COMPONENT: _components,
    Scope.CYCLE: _cycles,
    Scope.LIBRARY: _libraries,
    Scope.SERVER: lambda view: sorted(view.topology.servers, key=canon),
    Scope.DATASOURCE: lambda view: view.datasource_groups,
    Scope.INACTIVE: _inactive,
    Scope.CHANGE_DATASOURCE: lambda change: change.datasources,
    Scope.CHANGE_DPM: lambda change: change.dpm_servers,
}


class DsChange(NamedTuple):
    """A data source present in both snapshots (matched by `SERVER/NAME`)."""

    before: DataSource
    after: DataSource


@dataclass
class ChangeView:
    """Two snapshots side by side, for the change rules (rules.md, "Change rules").

    DPM servers are matched by name and data sources by id, both case-insensitively; names are
    encoded as ints over the union of both snapshots, so a server that exists only after the
    change (a new DPM4) still has a number.
    """

    before: View
    after: View
    _knows: dict[str, frozenset[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def profile(self) -> str:
        return self.after.profile

    @cached_property
    def index(self) -> dict[str, int]:
        names = {canon(n): n for n in self.before.topology.dpm_servers}
        names.update({canon(n): n for n in self.after.topology.dpm_servers})
        ordered = sorted(names)
        out = {}
        for t in (self.before.topology, self.after.topology):
            for n in t.dpm_servers:
                out[n] = ordered.index(canon(n))
        return out

    def idx(self, name: str | None) -> int:
        return NULL if name is None else self.index[name]

    def instances(self, scope: Scope) -> Iterable[Any]:
        """The instances of a change scope (pairs across the two snapshots)."""
        if not scope.change:
            raise ValueError(f"scope {scope} is of one snapshot")  # pragma: no cover
        return _LISTERS[scope](self)

    def knows(self, s: str) -> frozenset[str]:
        """`knows(s)` over both snapshots, as canonical names."""
        found = self._knows.get(s)
        if found is None:
            found = self._knows[s] = self._knows_uncached(s)
        return found

    def _knows_uncached(self, s: str) -> frozenset[str]:
        out = (
            {canon(n) for n in self.before.knows(s)}
            if s in self.before.topology.dpm_servers
            else set()
        )
        after = self.after.topology.dpm_servers
        match = next((n for n in after if canon(n) == canon(s)), None)
        if match is not None:
            out |= {canon(n) for n in self.after.knows(match)}
        return frozenset(out)

    @cached_property
    def datasources(self) -> list[DsChange]:
        after = self.after.topology.datasource_by_id
        out = []
        for ds in self.before.topology.datasources():
            match = after.get(canon(ds.id))
            if match is not None:
                out.append(DsChange(ds, match))
        return sorted(out, key=lambda c: canon(c.after.id))

    @cached_property
    def dpm_servers(self) -> list[tuple[str, str]]:
        """(name before, name after) of every DPM server in both snapshots."""
        after = {canon(n): n for n in self.after.topology.dpm_servers}
        return sorted(
            ((n, after[canon(n)]) for n in self.before.topology.dpm_servers if canon(n) in after),
            key=lambda p: canon(p[1]),
        )
