"""The topology as immutable data: DPM servers, protected servers, data sources, waivers.

Names in the model are spelled as they are defined in the file; every reference has already been
resolved case-insensitively to that spelling by the reader, so the rest of dpmsmt compares names
exactly. Defaults of format.md are filled in, except the one default that depends on the topology
(`database.backup`), which `Topology.db_backup` resolves per snapshot.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PROFILES",
    "DataSource",
    "Database",
    "DpmServer",
    "Failure",
    "InactiveReplica",
    "Policy",
    "ProtectedServer",
    "Topology",
    "Waiver",
    "canon",
    "evolve",
]

PROFILES = ("strict", "2012", "2016", "2019", "2022", "2025")
SCOPE_ITEMS = ("database", "config", "scripting", "replicas")


def evolve(obj, **changes):
    """`dataclasses.replace` for the frozen, slotted records of this module, cheaper (a plan
    applies thousands of them; they validate nothing on creation): every field is an `__init__`
    parameter, so the record is rebuilt from its values read in one call."""
    cls = type(obj)
    read, position = _RECORDS[cls]
    values = list(read(obj))
    for name, value in changes.items():
        if name not in position:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        values[position[name]] = value
    return cls(*values)


def canon(name: str) -> str:
    """The case-insensitive key of a server name (`DPM1` and `dpm1` are the same server)."""
    return name.casefold()


@dataclass(frozen=True, slots=True)
class Policy:
    short_term: str = "disk"
    long_term: str = "none"
    sync_minutes: int | None = None
    sync_before_recovery_point: bool = False
    exclude_extensions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Failure:
    database: str = "lost"
    storage: str = "intact"


@dataclass(frozen=True, slots=True)
class Database:
    sql: str = "local"
    backup: str | None = None  # None: the per-snapshot default, see Topology.db_backup
    vss_writer: str = "running"


@dataclass(frozen=True, slots=True)
class InactiveReplica:
    datasource: str  # SERVER/NAME as written (it may name a data source that is gone)
    from_: str | None = None


@dataclass(frozen=True, slots=True)
class DpmServer:
    name: str
    version: str
    kind: str = "dpm"
    os: str | None = None
    status: str = "up"
    failure: Failure | None = None
    protects: tuple[str, ...] = ()
    protects_own_database: bool = False
    database: Database = Database()
    secondary_scope: tuple[str, ...] = SCOPE_ITEMS
    trust: str = "trusted"
    auth: str = "kerberos"
    knows: tuple[str, ...] = ()
    inactive: tuple[InactiveReplica, ...] = ()
    tape_library: str | None = None
    location: str = "on-premises"  # on-premises | azure (an Azure virtual machine)
    services_account: str | None = None  # local-system | domain; None: not said
    identity: str | None = None  # a stable id across renames (DPM database or AD object GUID)
    domain: str | None = None  # its Active Directory domain; None: not said

    @property
    def up(self) -> bool:
        return self.status == "up"

    @property
    def version_fields(self) -> tuple[int, ...]:
        """The numeric fields of `version` (`10.19.58.0` -> (10, 19, 58, 0))."""
        return version_fields(self.version)


def version_fields(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("."):
        try:
            out.append(int(part))
        except ValueError:
            out.append(-1)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DataSource:
    server: str
    name: str
    type: str = "volume"
    primary: str | None = None
    secondary: str | None = None
    mode: str = "normal"
    switched_from: str | None = None
    dedup: bool = False
    hyperv_scale_out: bool = False
    protection_group: str | None = None
    policy: Policy | None = None
    secondary_policy: Policy | None = None
    farm: str | None = None  # id of the SharePoint farm data source this SQL database belongs to
    index: int = field(default=0, compare=False)  # position in the server's list (for locations)

    @property
    def id(self) -> str:
        return f"{self.server}/{self.name}"

    @property
    def switched(self) -> bool:
        return self.mode == "switched"


@dataclass(frozen=True, slots=True)
class ProtectedServer:
    name: str
    agents: tuple[str, ...] = ()
    cluster: bool = False
    datasources: tuple[DataSource, ...] = ()
    location: str = "on-premises"  # on-premises | azure


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    reason: str
    target: str | None = None
    expires: str | None = None  # ISO date
    index: int = field(default=0, compare=False)


class _Lookups:
    """What one snapshot computed from itself (a fresh one per `Topology`: `replace` makes a
    new snapshot, so nothing stale survives); not pickled."""

    __slots__ = ("by_id", "protectors")

    def __init__(self) -> None:
        self.protectors: Mapping[str, tuple[str, ...]] | None = None
        self.by_id: Mapping[str, DataSource] | None = None

    def __reduce__(self):
        return (_Lookups, ())


class Shared:
    """Values computed from a part of a snapshot (its `servers` mapping), shared by the
    snapshots `dataclasses.replace` derives from it (the states of failures share one mapping
    of 200k data sources): keyed by the part's identity, the last few kept with their part so
    the identity stays valid; not pickled."""

    __slots__ = ("_entries",)
    KEEP = 3

    def __init__(self) -> None:
        self._entries: list[tuple[str, Any, Any]] = []  # (what, part, value), latest last

    def __reduce__(self):
        return (Shared, ())

    def value(self, what: str, part: Any, compute: Callable[[Any], Any]) -> Any:
        """`compute(part)`, remembered while `part` is among the last few asked about."""
        for name, known, found in self._entries:
            if known is part and name == what:
                return found
        found = compute(part)
        self._entries.append((what, part, found))
        del self._entries[: -self.KEEP]
        return found


def _record(cls: type) -> tuple[Callable[[Any], tuple], dict[str, int]]:
    names = cls.__match_args__
    return operator.attrgetter(*names), {n: i for i, n in enumerate(names)}


# The records `evolve` rebuilds: class -> (read every field, field -> position). A constant.
_RECORDS = {
    cls: _record(cls)
    for cls in (
        Policy,
        Failure,
        Database,
        InactiveReplica,
        DpmServer,
        DataSource,
        ProtectedServer,
        Waiver,
    )
}


# (path, key, at_key) -> (line, column, how many parts of the path exist in the file)
Locate = Callable[[tuple[str | int, ...], bool, bool], tuple[int, int, int] | None]


@dataclass(frozen=True)
class Topology:
    """One snapshot of a DPM estate.

    `dpm_servers` and `servers` map each name (as defined) to its record, in file order. The
    `locate` callback turns a document path into a (line, column), lazily, so that reading a large
    estate does not pay for positions that no message needs.
    """

    dpm_servers: Mapping[str, DpmServer]
    servers: Mapping[str, ProtectedServer] = field(default_factory=dict)
    profile: str = "strict"
    name: str | None = None
    description: str | None = None
    tape_libraries: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    expect: Mapping | None = field(default=None, compare=False)
    file: str = field(default="<string>", compare=False)
    locate: Locate | None = field(default=None, compare=False, repr=False)
    shared: Shared = field(default_factory=Shared, compare=False, repr=False)
    _lookups: _Lookups = field(
        default_factory=_Lookups, init=False, compare=False, repr=False
    )

    # -- lookups (derived, remembered in `_lookups`) ---------------------------------------
    @property
    def protectors(self) -> Mapping[str, tuple[str, ...]]:
        """DPM name -> the DPM servers that protect it (its secondaries), sorted by name."""
        found = self._lookups.protectors
        if found is None:
            found = self._lookups.protectors = self._protectors()
        return found

    def _protectors(self) -> Mapping[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {d: [] for d in self.dpm_servers}
        for x, dx in self.dpm_servers.items():
            for y in dx.protects:
                if x not in out[y]:
                    out[y].append(x)
        return {y: tuple(sorted(xs, key=canon)) for y, xs in out.items()}

    def has_protector(self, dpm: str) -> bool:
        return bool(self.protectors[dpm])

    def db_backup(self, dpm: str) -> str:
        """`database.backup` of a DPM server, with format.md's per-snapshot default."""
        d = self.dpm_servers[dpm]
        if d.database.backup is not None:
            return d.database.backup
        if self.protectors[dpm] and "database" in d.secondary_scope:
            return "secondary"
        return "none"

    def datasources(self):
        """Every data source, servers in file order, then list order."""
        for s in self.servers.values():
            yield from s.datasources

    @property
    def datasource_by_id(self) -> Mapping[str, DataSource]:
        """Data sources by canonical id (server name case-folded, `/`, name case-folded)."""
        found = self._lookups.by_id
        if found is None:
            found = self._lookups.by_id = {canon(ds.id): ds for ds in self.datasources()}
        return found

    def location(self, path: tuple[str | int, ...], *, key: bool = False) -> tuple[int, int]:
        """(line, column) of a document path, 1-based; (1, 1) where it is not known."""
        return self.place(path, key=key)[:2]

    def place(
        self, path: tuple[str | int, ...], *, key: bool = False
    ) -> tuple[int, int, tuple[str | int, ...]]:
        """(line, column, path) of the deepest part of `path` the file has: a default that is
        not written (a data source's `primary` taken from its agent) points at its parent."""
        if self.locate is not None:
            pos = self.locate(path, key, True)
            if pos is not None:
                line, col, depth = pos
                return line, col, path[:depth]
        return 1, 1, path


def format_path(path: tuple[str | int, ...]) -> str:
    """`('servers', 'S1', 'datasources', 0, 'primary')` -> `servers.S1.datasources[0].primary`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part and all(c.isalnum() or c in "_-" for c in part):
            out += f".{part}" if out else part
        else:
            out += f"[{_quote(part)}]"
    return out or "<root>"


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
