"""Exports -> one topology document (import.md, "From exports to a topology").

Each export is one DPM server's own view; no export says who protects whom. The merge joins the
views: a replica (`ProtectFromDPM`) held by S of a data source whose primary is P makes S P's
secondary; a SQL data source holding P's database, or any data source on P itself, protected by
S makes S protect P. A DPM server that others name but that exported nothing (the estate right
after a DPM server died) is rebuilt from the replicas its secondary holds.

The result is plain data in the topology format plus, per document path, the comment the writer
puts there (`guessed: ...` where a default was assumed). Names are matched without regard to
case, a short name matching the first label of an FQDN.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dpmsmt.findings import TopologyError
from dpmsmt.importer.exportfile import Export
from dpmsmt.model import canon, format_path, version_fields

__all__ = ["Disagreement", "Merged", "merge"]

_DAY = _dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class Disagreement:
    """Two exports that tell different stories: a warning naming both files."""

    files: tuple[str, str]
    message: str

    def __str__(self) -> str:
        return f"{self.files[0]} and {self.files[1]} disagree: {self.message}"

    def to_json(self) -> dict:
        return {"files": list(self.files), "message": self.message}


@dataclass
class Merged:
    """The merge's answer: the document, the comments the writer adds, and what to report."""

    doc: dict[str, Any]
    comments: dict[tuple, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)


def merge(exports: list[Export]) -> Merged:
    """Merge the exports (any order: the result depends only on their contents)."""
    return _run(exports)


# -- names -----------------------------------------------------------------------------------------


class _Names:
    """Short-name keys: `FS01`, `fs01` and `fs01.contoso.com` are one server; two FQDNs with one
    first label are two servers the topology cannot tell apart (an error)."""

    def __init__(self):
        self.spelling: dict[str, str] = {}
        self.fqdn: dict[str, tuple[str, str]] = {}
        self._checked: dict[str, str] = {}  # a name as written, FQDN checked -> its key
        self._plain: dict[str, str] = {}  # a name as written, not checked (no export) -> key

    def key(self, name: str, export: Export | None = None, path: tuple = ()) -> str:
        found = self._checked.get(name)
        if found is not None:
            return found
        if export is None:
            found = self._plain.get(name)
            if found is None:
                found = self._plain[name] = self._key(name, None, path)
            return found
        key = self._checked[name] = self._key(name, export, path)
        return key

    def _key(self, name: str, export: Export | None, path: tuple) -> str:
        name = name.strip()
        short, dot, _ = name.partition(".")
        if short.isdigit():  # an IP address is its own name
            short, dot = name, ""
        key = canon(short)
        if dot and export is not None:
            seen = self.fqdn.get(key)
            if seen is None:
                self.fqdn[key] = (name, export.file)
            elif canon(seen[0]) != canon(name):
                raise TopologyError(
                    [
                        export.error(
                            path,
                            f"{name} and {seen[0]} (in {seen[1]}) are two servers with one short "
                            f"name {self.spelling.get(key, short)}; a topology names servers by their short names",
                        )
                    ]
                )
        self.spelling.setdefault(key, short)
        return key

    def __getitem__(self, key: str) -> str:
        return self.spelling[key]


# -- the data sources' types -----------------------------------------------------------------------

_TYPES = (
    ("sql", "sql"),
    ("hyper-v", "hyperv"),
    ("exchange", "exchange"),
    ("sharepoint", "sharepoint"),
    ("share", "share"),
    ("client", "client"),
    ("vmware", "vmware"),
)


def datasource_type(object_type: str | None, name: str) -> tuple[str, str | None]:
    """(format type, comment): `ObjectType` as format.md names it; anything it has no type for
    is `other`, with the original text as a comment."""
    return _named(_object_type(object_type), name)


def _named(typed: tuple[str, str | None], name: str) -> tuple[str, str | None]:
    """A system-state data source named for bare metal is `bare-metal`."""
    if typed[0] == "system-state" and "bare metal" in canon(name):
        return "bare-metal", None
    return typed


def _object_type(object_type: str | None) -> tuple[str, str | None]:
    text = (object_type or "").strip()
    t = text.casefold()
    if t in ("volume", "folder"):
        return t, None
    if "system protection" in t or "system state" in t:
        return "system-state", None
    for word, kind in _TYPES:
        if word in t:
            return kind, None
    return "other", (f"ObjectType: {text}" if text else "guessed: the export gives no ObjectType")


def _database_name(ds: dict) -> str:
    """The SQL database a data source names (the last part of its path)."""
    text = ds.get("LogicalPath") or ds.get("Name") or ""
    return text.replace("/", "\\").rsplit("\\", 1)[-1]


def _profile_of(version: str) -> str | None:
    """The rule profile of a DPM build: 4.x is DPM 2012 (R2), 5.x 2016, 10.19 2019, 10.22 2022."""
    v = version_fields(version)
    if v[:1] == (4,):
        return "2012"
    if v[:1] == (5,):
        return "2016"
    if v[:2] == (10, 19):
        return "2019"
    if v[:2] == (10, 22):
        return "2022"
    return None


def _is_mabs(server: dict) -> bool:
    product = canon(server.get("ProductName") or "")
    if product:
        return "azure backup server" in product
    return version_fields(server["Version"])[:1] in ((11,), (12,), (13,), (14,))


# -- the merge -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Seen:
    """One data source entry of one export."""

    dpm: str
    export: Export
    path: tuple
    ds: dict


class _Reading:
    """What the exports say, indexed: the DPM servers, who names whom, every data source entry."""

    def __init__(self, exports: list[Export]):
        self.given = list(exports)  # a second export of one server is blamed in given order
        self.exports = sorted(exports, key=lambda e: (canon(e.computer), e.file))
        self.names = _Names()
        self.out = Merged(doc={})
        self._types: dict[str | None, tuple[str, str | None]] = {}  # ObjectType -> (type, note)
        self.by_dpm: dict[str, Export] = {}
        self.dead: dict[str, Export] = {}  # named DPM server that did not export -> who named it
        self.edges: dict[str, set[str]] = defaultdict(set)
        self.own_db: set[str] = set()
        self.agent_owners: dict[str, set[str]] = defaultdict(set)
        self.clusters: dict[str, set[str]] = {}
        self.primaries: dict[tuple[str, str], list[_Seen]] = defaultdict(list)
        self.replicas: dict[tuple[str, str], list[tuple[str, _Seen]]] = defaultdict(list)
        self.inactive_lists: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.inactive: dict[str, dict[str, str | None]] = defaultdict(dict)
        self.knows: dict[str, set[str]] = defaultdict(set)
        self.ds_names: dict[tuple[str, str], str] = {}
        self.groups: dict[tuple[str, str], dict] = {}

    def datasource_type(self, ds: dict, name: str | None = None) -> tuple[str, str | None]:
        """`datasource_type` of an entry (of its `Name` unless `name`), each `ObjectType` read
        once: 200k data sources share a handful."""
        object_type = ds.get("ObjectType")
        typed = self._types.get(object_type)
        if typed is None:
            typed = self._types[object_type] = _object_type(object_type)
        return _named(typed, ds.get("Name") or "" if name is None else name)

    def warn(self, message: str) -> None:
        self.out.warnings.append(message)

    def disagree(self, a: Export, b: Export, message: str) -> None:
        self.out.disagreements.append(Disagreement((a.file, b.file), message))

    def comment(self, path: tuple, text: str) -> None:
        self.out.comments[path] = text

    def dpm_servers(self) -> None:
        for e in self.given:
            server = e.server
            path = ("DpmServer", "Name") if server.get("Name") else ("DpmServer", "ComputerName")
            key = self.names.key(server.get("Name") or e.computer, e, path)
            self.names.spelling[key] = e.computer
            if key in self.by_dpm:
                first = self.by_dpm[key]
                raise TopologyError(
                    [
                        e.error(
                            path,
                            f"{first.file} is an export of the same DPM server {e.computer}; "
                            "give one export per server",
                        )
                    ]
                )
            self.by_dpm[key] = e

    def index_databases(self) -> None:
        """(database name, SQL host) -> the exported DPM server whose database it is."""
        self.databases: dict[tuple[str, str], str] = {}
        for key, e in self.by_dpm.items():
            info = e.server.get("DB") or {}
            if info.get("DatabaseName") and info.get("SqlServer"):
                host = self.names.key(info["SqlServer"])
                self.databases[(canon(info["DatabaseName"]), host)] = key

    def report_exports(self) -> None:
        timed = [(e.exported_at, e) for e in self.exports if e.exported_at is not None]
        if timed:
            newest, newest_export = max(timed, key=lambda t: (t[0], t[1].file))
            for when, e in timed:
                if newest - when > _DAY:
                    hours = (newest - when).total_seconds() / 3600
                    self.disagree(
                        e,
                        newest_export,
                        f"{os.path.basename(e.file)} was exported {hours:.0f} hours before "
                        f"{os.path.basename(newest_export.file)} (more than a day: the estate "
                        "may have changed in between)",
                    )
        for e in self.exports:
            missing = [m for m in e.data.get("MissingProperties") or [] if isinstance(m, str)]
            if missing:
                self.warn(
                    f"{e.file}: the export could not read {', '.join(sorted(missing))}; "
                    "the import goes on without them"
                )
            for err in e.data.get("Errors") or []:
                if isinstance(err, dict):
                    section = err.get("Section") or "?"
                    self.warn(
                        f"{e.file}: the export could not read {section}: {err.get('Message')}"
                    )

    def computer_key(self, e: Export, path: tuple, ds: dict) -> str | None:
        name, field_ = ds.get("Computer"), "Computer"
        if not name:
            name, field_ = ds.get("ProductionServerName"), "ProductionServerName"
            if not name:
                return None
        found = self.names._checked.get(name)  # the common case, without making a path
        return found if found is not None else self.names.key(name, e, (*path, field_))

    def source_key(self, e: Export, path: tuple, ds: dict) -> str | None:
        """The DPM server a replica (`ProtectFromDPM`) comes from: `SourceDPMServer`, else the
        production server the replica belongs to (the primary that holds it)."""
        for name in ("SourceDPMServer", "ProductionServerName"):
            if ds.get(name):
                return self.names.key(ds[name], e, (*path, name))
        return None

    def db_owner(self, ds: dict, computer: str) -> str | None:
        """The DPM server whose database this data source is, if it is one."""
        if self.datasource_type(ds, "")[0] != "sql":
            return None
        db = canon(_database_name(ds))
        found = self.databases.get((db, computer))
        if found is not None:
            return found
        if db == "dpmdb":
            return computer
        if db.startswith("dpmdb_"):
            return self.names.key(_database_name(ds)[len("DPMDB_") :])
        return None

    def find_dead(self) -> None:
        """DPM servers others name that exported nothing."""
        for e in self.exports:
            for i, ds in enumerate(e.section("Datasources")):
                path = ("Datasources", i)
                named = None
                if ds.get("ProtectionType") == "ProtectFromDPM":
                    named = self.source_key(e, path, ds)
                elif self.datasource_type(ds, "")[0] == "sql":  # a DPM database?
                    computer = self.computer_key(e, path, ds)
                    if computer is not None:
                        named = self.db_owner(ds, computer)
                if named is not None and named not in self.by_dpm and named not in self.dead:
                    self.dead[named] = e
        for key, e in sorted(self.dead.items()):
            self.warn(
                f"{self.names[key]} is a DPM server ({e.file} names it) but exported nothing; "
                "its data sources are rebuilt from the replicas its secondary holds"
            )

    def is_dpm(self, key: str) -> bool:
        return key in self.by_dpm or key in self.dead

    def read(self, e: Export) -> None:
        d = self.names.key(e.computer)
        for i, ps in enumerate(e.section("ProductionServers")):
            self.read_production_server(d, e, i, ps)
        for pg in e.section("ProtectionGroups"):
            if pg.get("Name"):
                self.groups[(d, canon(pg["Name"]))] = pg
        for i, ds in enumerate(e.section("Datasources")):
            self.read_datasource(d, e, ("Datasources", i), ds)
        for i, ds in enumerate(e.section("InactiveDatasources")):
            self.read_inactive(d, e, ("InactiveDatasources", i), ds)

    def read_production_server(self, d: str, e: Export, i: int, ps: dict) -> None:
        if ps.get("ServerProtectionState") == "Deleted":
            return
        path = ("ProductionServers", i)
        if not (ps.get("Name") or ps.get("ServerName")):
            return
        if ps.get("ServerName"):  # first: the short name's spelling is the one written
            key = self.names.key(ps["ServerName"], e, (*path, "ServerName"))
        if ps.get("Name"):
            key = self.names.key(ps["Name"], e, (*path, "Name"))
        if self.is_dpm(key):
            if key != d:
                self.knows[d].add(key)
            return
        self.agent_owners[key].add(d)
        owners = ps.get("PossibleOwners") or []
        if owners:
            nodes = self.clusters.setdefault(key, set())
            for j, node in enumerate(owners):
                nodes.add(self.names.key(node, e, (*path, "PossibleOwners", j)))

    def ds_key(self, computer: str, ds: dict) -> tuple[str, str] | None:
        ident = ds.get("LogicalPath") or ds.get("Name")
        if not ident:
            return None
        key = (computer, canon(ident))
        self.ds_names.setdefault(key, ds.get("Name") or ident)
        return key

    def read_datasource(self, d: str, e: Export, path: tuple, ds: dict) -> None:
        computer = self.computer_key(e, path, ds)
        if computer is None:
            self.warn(f"{e.file}: {format_path(path)} names no computer; skipped")
            return
        if ds.get("ProtectionType") == "ProtectFromDPM":
            source = self.source_key(e, path, ds)
            if source is None or source == d:
                self.warn(
                    f"{e.file}: {format_path(path)} is a replica from no other DPM server; skipped"
                )
                return
            self.edges[d].add(source)
            if not self.is_dpm(computer):
                key = self.ds_key(computer, ds)
                if key is not None:
                    self.replicas[key].append((source, _Seen(d, e, path, ds)))
            return
        owner = self.db_owner(ds, computer)
        if computer == d:
            if owner == d or self.datasource_type(ds)[0] in ("system-state", "bare-metal"):
                self.own_db.add(d)
            return
        if owner is not None and owner != d:
            self.edges[d].add(owner)
        if self.is_dpm(computer):
            self.edges[d].add(computer)  # its volumes or database, protected from d
            return
        key = self.ds_key(computer, ds)
        if key is not None:
            self.primaries[key].append(_Seen(d, e, path, ds))

    def read_inactive(self, d: str, e: Export, path: tuple, ds: dict) -> None:
        computer = self.computer_key(e, path, ds)
        if computer is None or self.is_dpm(computer):
            return
        key = self.ds_key(computer, ds)
        if key is None:
            return
        source = None
        if ds.get("ProtectionType") == "ProtectFromDPM":
            source = self.source_key(e, path, ds)
            if source == d:
                source = None
            if source is not None:
                self.knows[d].add(source)
        self.inactive_lists[d].add(key)
        self.inactive[d][f"{self.names[computer]}/{self.ds_names[key]}"] = source

    def export_of(self, dpm: str) -> Export:
        return self.by_dpm.get(dpm) or self.dead[dpm]


class _Servers:
    """The `servers` of the document: one entry per protected computer, data sources merged."""

    def __init__(self, r: _Reading):
        self.r = r
        self._policies: dict[tuple[str, str], dict | None] = {}
        self._switch_candidates: dict[str, list[str]] = {}

    def build_servers(self) -> dict[str, Any]:
        entries: dict[str, list[dict]] = defaultdict(list)
        rebuilt: dict[str, set[str]] = defaultdict(set)
        for key in sorted(set(self.r.primaries) | set(self.r.replicas)):
            entry = self.datasource(key, rebuilt)
            if entry is not None:
                entries[key[0]].append(entry)
        servers: dict[str, Any] = {}
        nodes = {n for members in self.r.clusters.values() for n in members}
        computers = set(entries) | set(self.r.agent_owners)
        for c in sorted(computers, key=lambda k: canon(self.r.names[k])):
            if c in nodes and c not in entries and c not in self.r.clusters:
                continue  # a cluster node: its agent serves the cluster
            servers[self.r.names[c]] = self.server(c, entries.get(c, []), rebuilt.get(c, set()))
        return servers

    def server(self, c: str, datasources: list[dict], rebuilt: set[str]) -> dict[str, Any]:
        name = self.r.names[c]
        owners = set(self.r.agent_owners.get(c, ())) | rebuilt
        out: dict[str, Any] = {}
        if c in self.r.clusters:
            for node in self.r.clusters[c]:
                owners |= self.r.agent_owners.get(node, set())
        primaries = {self.r.names.key(ds["primary"]) for ds in datasources if ds.get("primary")}
        if not owners and len(primaries) == 1:  # its agent's list was not exported
            owners = set(primaries)
        if len(owners) > 1 and c not in self.r.clusters:
            chosen = sorted(owners & primaries) or sorted(owners)
            a, b = sorted(owners)[:2]
            self.r.disagree(
                self.r.export_of(a),
                self.r.export_of(b),
                f"both list {name} among their protected servers (its agent has one owner); "
                f"written with agent {self.r.names[chosen[0]]}",
            )
            owners = {chosen[0]}
        agents = sorted((self.r.names[o] for o in owners), key=canon)
        if len(agents) == 1:
            out["agent"] = agents[0]
        elif agents:
            out["agent"] = agents
        else:
            out["agent"] = None
        if c in self.r.clusters:
            out["cluster"] = True
        if datasources:
            if len(agents) > 1:  # nodes owned by several DPM servers: scaled-out protection
                for ds in datasources:
                    if ds["type"] == "hyperv":
                        ds["hyperv_scale_out"] = True
            self.unique_names(c, datasources)
            out["datasources"] = sorted(datasources, key=lambda d: canon(d["name"]))
        return out

    def unique_names(self, c: str, datasources: list[dict]) -> None:
        """Two data sources of one server with one `Name` (two SQL instances' `Sales`) are
        written by their logical paths."""
        by_name: dict[str, list[dict]] = defaultdict(list)
        for ds in datasources:
            by_name[canon(ds["name"])].append(ds)
        for same in by_name.values():
            if len(same) > 1:
                for ds in same:
                    ds["name"] = ds.pop("_path")
        for ds in datasources:
            ds.pop("_path", None)

    def datasource(self, key: tuple[str, str], rebuilt: dict[str, set[str]]) -> dict | None:
        seen = self.r.primaries.get(key, [])
        replicas = self.r.replicas.get(key, [])
        if seen:
            primary = self.choose_primary(key, seen)
        else:
            primary = self.rebuilt_primary(key, replicas)
            if primary is None:
                return None
            rebuilt[key[0]].add(primary.dpm)
        ds, p = primary.ds, primary.dpm
        kind, note = self.r.datasource_type(ds)
        entry: dict[str, Any] = {
            "name": self.r.ds_names[key],
            "_path": ds.get("LogicalPath") or self.r.ds_names[key],
            "type": kind,
            "primary": self.r.names[p],
        }
        holders = [s for src, s in replicas if src == p]
        for src, s in replicas:
            if src != p and src in self.r.by_dpm:
                self.r.disagree(
                    s.export,
                    self.r.by_dpm[src],
                    f"{self.r.names[s.dpm]} holds a replica of {self.r.names[key[0]]}/"
                    f"{self.r.ds_names[key]} from {self.r.names[src]}, whose export does not "
                    "protect it",
                )
        if holders:
            if len(holders) > 1:
                self.r.disagree(
                    holders[0].export,
                    holders[1].export,
                    f"both hold a replica of {self.r.names[key[0]]}/{self.r.ds_names[key]} from "
                    f"{self.r.names[p]} (a data source has one secondary)",
                )
            entry["secondary"] = self.r.names[holders[0].dpm]
        switched_from = self.switched_from(key, p)
        if switched_from is not None:
            entry["mode"] = "switched"
            entry["switched_from"] = self.r.names[switched_from]
        if ds.get("ProtectionGroupName") and seen:  # a rebuilt one's group died with it
            entry["protection_group"] = ds["ProtectionGroupName"]
            policy = self.policy(p, ds["ProtectionGroupName"])
            if policy is not None:
                entry["policy"] = policy
        if holders and holders[0].ds.get("ProtectionGroupName"):
            policy = self.policy(holders[0].dpm, holders[0].ds["ProtectionGroupName"])
            if policy is not None:
                entry["secondary_policy"] = policy
        if note:
            entry["_comment"] = note
        return entry

    def choose_primary(self, key: tuple[str, str], seen: list[_Seen]) -> _Seen:
        if len(seen) == 1:
            return seen[0]
        owners = self.r.agent_owners.get(key[0], set())
        ranked = sorted(seen, key=lambda s: (s.dpm not in owners, canon(self.r.names[s.dpm])))
        a, b = ranked[0], ranked[1]
        self.r.disagree(
            a.export,
            b.export,
            f"{self.r.names[a.dpm]} and {self.r.names[b.dpm]} both protect "
            f"{self.r.names[key[0]]}/{self.r.ds_names[key]} as its primary; written with "
            f"{self.r.names[a.dpm]}",
        )
        return a

    def rebuilt_primary(self, key: tuple[str, str], replicas: list) -> _Seen | None:
        """A replica from a DPM server that did not export stands for that server's data source
        (its primary); a replica from one that did is a disagreement (reported above)."""
        for src, s in sorted(replicas, key=lambda r: (canon(self.r.names[r[1].dpm]), r[0])):
            if src in self.r.dead:
                return _Seen(src, s.export, s.path, s.ds)
        for src, s in replicas:
            if src in self.r.by_dpm:
                self.r.disagree(
                    s.export,
                    self.r.by_dpm[src],
                    f"{self.r.names[s.dpm]} holds a replica of {self.r.names[key[0]]}/"
                    f"{self.r.ds_names[key]} from {self.r.names[src]}, whose export does not "
                    "protect it; left out",
                )
        return None

    def switched_from(self, key: tuple[str, str], primary: str) -> str | None:
        """The DPM server that protected it before: one that `primary` protects (primary was
        its secondary) and that still lists the data source as inactive."""
        candidates = self._switch_candidates.get(primary)
        if candidates is None:
            candidates = self._switch_candidates[primary] = [
                p for p in sorted(self.r.edges.get(primary, ())) if self.r.inactive_lists.get(p)
            ]
        for p in candidates:
            if key in self.r.inactive_lists[p]:
                return p
        return None

    def policy(self, dpm: str, group: str) -> dict | None:
        """The policy of a protection group (one dict per group, shared by its data sources)."""
        key = (dpm, group)
        if key not in self._policies:
            self._policies[key] = self._policy(dpm, group)
        return self._policies[key]

    def _policy(self, dpm: str, group: str) -> dict | None:
        pg = self.r.groups.get((dpm, canon(group)))
        if pg is None or pg.get("SynchronizationFrequencyMinutes") is None:
            return None  # a policy without its synchronization frequency would be a wrong one
        out: dict[str, Any] = {}
        if pg.get("IsTapeShortTerm") and not pg.get("IsDiskShortTerm"):
            out["short_term"] = "tape"
        tape, cloud = bool(pg.get("IsTapeLongTerm")), bool(pg.get("IsCloudLongTerm"))
        long_term = {
            (True, True): "online-and-tape",
            (True, False): "tape",
            (False, True): "online",
        }.get((tape, cloud))
        if long_term:
            out["long_term"] = long_term
        out["sync_minutes"] = pg["SynchronizationFrequencyMinutes"]
        if pg.get("ExcludedFileTypes"):
            out["exclude_extensions"] = sorted(pg["ExcludedFileTypes"], key=canon)
        return out


class _DpmServers:
    """The `dpm_servers` (exported or rebuilt), their tape libraries and the profile."""

    def __init__(self, r: _Reading):
        self.r = r

    def build_dpm_servers(self) -> dict[str, Any]:
        protectors: dict[str, set[str]] = defaultdict(set)
        for s, targets in self.r.edges.items():
            for t in targets:
                protectors[t].add(s)
        out: dict[str, Any] = {}
        keys = sorted(set(self.r.by_dpm) | set(self.r.dead), key=lambda k: canon(self.r.names[k]))
        for key in keys:
            name = self.r.names[key]
            if key in self.r.by_dpm:
                out[name] = self.exported_dpm(key, protectors)
            else:
                out[name] = self.dead_dpm(key, protectors)
        return out

    def common(self, key: str, rec: dict, protectors: dict[str, set[str]]) -> None:
        name = self.r.names[key]
        protects = sorted(
            (self.r.names[t] for t in self.r.edges.get(key, ()) if t != key), key=canon
        )
        if protects:
            rec["protects"] = protects
        if key in self.r.own_db:
            rec["protects_own_database"] = True
        if protectors.get(key):
            path = ("dpm_servers", name)
            rec["trust"] = "trusted"
            self.r.comment((*path, "trust"), "guessed: no cmdlet tells; set it in the overlay")
            rec["auth"] = "kerberos"
            self.r.comment((*path, "auth"), "guessed: no cmdlet tells; set it in the overlay")
            rec["secondary_scope"] = ["database", "config", "scripting", "replicas"]
            self.r.comment(
                (*path, "secondary_scope"),
                "guessed: what its secondary protects beyond what the exports show",
            )
        knows = sorted(
            (
                self.r.names[k]
                for k in set(self.r.knows.get(key, ())) - set(self.r.edges.get(key, ()))
            ),
            key=canon,
        )
        if knows:
            rec["knows"] = knows
        inactive = self.r.inactive.get(key)
        if inactive:
            rec["inactive"] = [
                {"datasource": ds, **({"from": self.r.names[src]} if src else {})}
                for ds, src in sorted(inactive.items(), key=lambda t: canon(t[0]))
            ]

    def exported_dpm(self, key: str, protectors: dict[str, set[str]]) -> dict[str, Any]:
        e = self.r.by_dpm[key]
        s = e.server
        path = ("dpm_servers", self.r.names[key])
        rec: dict[str, Any] = {}
        if _is_mabs(s):
            rec["kind"] = "mabs"
        rec["version"] = s["Version"]
        os_ = _os_text(s.get("OS"))
        if os_:
            rec["os"] = os_
        self.identity_and_domain(s, rec, path)
        db = s.get("DB") or {}
        database: dict[str, Any] = {}
        if db.get("SqlServer"):
            database["sql"] = "local" if self.r.names.key(db["SqlServer"]) == key else "remote"
        else:
            database["sql"] = "local"
            self.r.comment((*path, "database"), "guessed: sql (the export names no SqlServer)")
        status = s.get("SqlWriterStatus")
        if status:
            database["vss_writer"] = "running" if canon(status) == "running" else "stopped"
        rec["database"] = database
        self.common(key, rec, protectors)
        return rec

    def identity_and_domain(self, s: dict, rec: dict, path: tuple) -> None:
        """`identity` (the AD object's GUID) and `domain` where the export has them; without a
        `Domain` property the domain is the rest of the FQDN in `Name`, a guess (a DNS suffix
        need not be the AD domain). A workgroup server (`PartOfDomain` false) has none."""
        identity = (s.get("Identity") or "").strip()
        if identity:
            rec["identity"] = identity
        if s.get("PartOfDomain") is False:
            return
        domain = (s.get("Domain") or "").strip()
        if domain:
            rec["domain"] = domain
            return
        short, dot, rest = (s.get("Name") or "").strip().partition(".")
        if dot and rest and not short.isdigit():
            rec["domain"] = rest
            self.r.comment((*path, "domain"), "guessed: from the FQDN in `Name` (no `Domain`)")

    def dead_dpm(self, key: str, protectors: dict[str, set[str]]) -> dict[str, Any]:
        name = self.r.names[key]
        path = ("dpm_servers", name)
        rec: dict[str, Any] = {}
        known = sorted(protectors.get(key, ()) & set(self.r.by_dpm)) or sorted(self.r.by_dpm)
        model = self.r.by_dpm[known[0]].server if known else {"Version": "0"}
        source = self.r.names[known[0]] if known else "nothing"
        other = next(
            (k for k in known if self.r.by_dpm[k].server["Version"] != model["Version"]), None
        )
        if other is not None and key in protectors:
            self.r.disagree(
                self.r.by_dpm[known[0]],
                self.r.by_dpm[other],
                f"{source} and {self.r.names[other]} both hold what {name} (which exported "
                f"nothing) had, and state different versions ({model['Version']}, "
                f"{self.r.by_dpm[other].server['Version']}); its version is taken from {source}",
            )
        rec["version"] = model["Version"]
        self.r.comment((*path, "version"), f"guessed: {name} exported nothing; taken from {source}")
        os_ = _os_text(model.get("OS"))
        if os_:
            rec["os"] = os_
            self.r.comment((*path, "os"), f"guessed: taken from {source}")
        rec["status"] = "up"
        self.r.comment(
            (*path, "status"),
            "guessed: it exported nothing (a failed server cannot); set status in the overlay",
        )
        self.common(key, rec, protectors)
        return rec

    def libraries(self, dpms: dict[str, Any]) -> dict[str, Any]:
        """Libraries that several DPM servers share (one serial number)."""
        by_serial: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key, e in self.r.by_dpm.items():
            for lib in e.section("Libraries"):
                serial = lib.get("SerialNumber")
                if serial:
                    label = lib.get("UserFriendlyName") or serial
                    by_serial[canon(serial)].append((self.r.names[key], label))
        out: dict[str, Any] = {}
        taken: set[str] = set()
        for serial, users in sorted(by_serial.items()):
            if len({canon(u) for u, _ in users}) < 2:
                continue
            users.sort(key=lambda t: canon(t[0]))
            label = users[0][1]
            if canon(label) in taken:
                label = f"{label} ({serial.upper()})"
            taken.add(canon(label))
            out[label] = {}
            for dpm, _ in users:
                dpms[dpm]["tape_library"] = label
        return out

    def profile(self) -> str:
        found = {_profile_of(e.server["Version"]) for e in self.r.exports if not _is_mabs(e.server)}
        if len(found) == 1 and None not in found:
            (profile,) = found
            self.r.comment(
                ("profile",), "from the DPM versions; --profile or the overlay overrides"
            )
            return profile
        self.r.comment(("profile",), "guessed: the DPM versions name no single product version")
        return "strict"


def _run(exports: list[Export]) -> Merged:
    r = _Reading(exports)
    r.dpm_servers()
    for e in r.exports:  # protected servers are written as their agents' lists spell them
        for ps in e.section("ProductionServers"):
            if ps.get("ServerName"):
                r.names.key(ps["ServerName"])
    r.index_databases()
    r.report_exports()
    r.find_dead()
    for e in r.exports:
        r.read(e)
    servers = _Servers(r).build_servers()
    dpms = _DpmServers(r)
    doc = r.out.doc
    doc["dpmsmt"] = 1
    doc["profile"] = dpms.profile()
    doc["dpm_servers"] = dpms.build_dpm_servers()
    doc["servers"] = servers
    libraries = dpms.libraries(doc["dpm_servers"])
    if libraries:
        doc["tape_libraries"] = libraries
    r.out.disagreements.sort()
    return r.out


def _os_text(info: Any) -> str | None:
    """`Microsoft Windows Server 2019 Standard` + `10.0.17763` -> `Windows Server 2019 10.0.17763`
    (the edition does not matter to the version rules; the version does)."""
    if not isinstance(info, dict):
        return None
    caption = (info.get("Caption") or "").strip()
    if caption.startswith("Microsoft "):
        caption = caption[len("Microsoft ") :]
    for edition in ("Standard", "Datacenter", "Essentials", "Enterprise"):
        if caption.endswith(" " + edition):
            caption = caption[: -len(edition) - 1]
    version = (info.get("Version") or "").strip()
    text = " ".join(p for p in (caption, version) if p)
    return text or None
