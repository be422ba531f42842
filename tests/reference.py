"""An independent, brute-force reference checker of the static rules of rules.md.

Test code: it cross-checks the Z3-based checker, so every rule below is a direct transcription of
the `formal` column of rules.md (and of its "Readings that the tables leave open"), written for
obviousness, not speed. It imports nothing from dpmsmt but `dpmsmt.model`, and only the plain
data (names are already resolved to their defined spelling; `Topology.db_backup` gives the
per-snapshot default of `database.backup`).

Judgement calls where the spec leaves room (keep in sync with the real checker's README):

- Version fields are compared as integers where they are all ASCII digits, else as exact
  strings; two versions are equal when they agree on every field both give (`zip`).
- A self-loop `P(d, d)` is a protection edge like any other: d counts among its own protectors
  (SECONDARY-ONCE, SELF-PROTECTION-BREAKS-CHAIN, UNTRUSTED-NEEDS-CERTIFICATE, SECONDARY-COVERAGE
  ...), as rules.md's "a self-loop counts as having a secondary" says.
- CYCLE-TWO-ONLY enumerates the simple cycles of each strongly connected component (networkx)
  and stops at the first of length >= 3, instead of the linear-time characterisation of rules.md:
  a component whose cycles all have length <= 2 has at most |E| + |V| of them, so this stays
  polynomial, and it checks that characterisation independently.
- VERSION-MATCH / BUILD-MATCH / OS-MATCH / TAPE-LIBRARY-VERSION: one finding per component
  (library) where some pair of compared servers differs; `removed` servers are neither compared
  nor listed, `failed` ones are. BUILD-MATCH's error premise `P(x, y)` is taken only between
  compared (non-removed) servers x and y.
- TAPE-LIBRARY-VERSION groups servers by library name case-insensitively and reports the first
  server's spelling (the reader should already have resolved it).
- Status-independent rules (SECONDARY-NOT-SELF, SECONDARY-ONCE, MABS-NO-SECONDARY, ...) apply to
  failed and removed servers too: their formal readings do not mention status.
- SWITCHED-FROM-PROTECTED with no `switched_from` (the reader forbids it) is a finding.
- Waivers: a finding's names are the values of its name-valued entity keys (DPM servers,
  protected servers, data source ids; the servers listed in `versions`/`builds`/`os` groups), not
  methods, statuses, versions, OS strings or library names. A data source id matches a target
  equal to it or to its server part (split at the first `/`). All comparisons case-insensitive.
- A waiver's `waiver` entity is its position in `Topology.waivers` (not `Waiver.index`).
- An expired waiver (expires < today; expiring today is still valid) waives nothing and is
  reported only as WAIVER-EXPIRED, never also as WAIVER-UNUSED.
- WAIVER-UNUSED and WAIVER-EXPIRED findings are never waived themselves (no circularity): a
  waiver whose rule is one of those two matches nothing and is itself WAIVER-UNUSED.
- A live waiver of a change rule (NO-MOVE-UNDER-SECONDARY, ...) is not WAIVER-UNUSED here: the
  static rules cannot tell whether it is used (it is, in the `--before` check of a change whose
  after file carries it). rules.md lists WAIVER-UNUSED among the static rules without saying;
  this follows the checker, which judges a waiver only when its rule was evaluated.

Issue 14's rules (the format's optional keys `location`, `services_account`, `identity`, `domain`,
`farm` and the data source type `vmware`):

- BUILD-KNOWN reads dpmsmt/data/builds.csv as plain data (the table is data, not logic): a
  version is known when some row of the server's `kind` agrees with it on the fields both give,
  all fields of the version being ASCII digits and at most four of them.
- AZURE-BOUNDARY: one finding per protected server with a data source whose primary runs on the
  other side; `dpm` lists those primaries, sorted by name.
- VMWARE-NO-TAPE reads the primary's `policy` only (tape short-term, or `tape` in long-term).
- DPM-KEEPS-NAME-AND-DOMAIN pairs a before server with the after server of the same identity,
  or else of the same name where at most one of the two gives an identity or where both give
  domains that differ (a domain move gives the computer a new AD object GUID).

Change rules (`reference_check_change`, rules.md "Change rules", entities as docs/findings.md):

- DPM servers are matched by name and data sources by id, case-insensitively; a DPM server or
  data source present in only one snapshot is not compared. Names in entities are spelled as in
  the snapshot the entity comes from (`from`, `secondary`, `before`: the before file; `to`,
  `primary` of SWITCH-ONLY-TO-SECONDARY, `dpm`, `datasource`: the after file).
- `knows(s)` is the union over both snapshots of component(s) ∪ s.knows ∪ {n : s ∈ n.knows}.
- A failed server without `failure` has format.md's defaults (database lost, storage intact).
- "Moving a data source to no primary is allowed": NO-MOVE-UNDER-SECONDARY needs q ≠ null.
- Waivers of the after file apply as for static findings.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import networkx as nx

from dpmsmt.model import DataSource, Failure, Topology, Waiver

__all__ = ["RefFinding", "reference_check", "reference_check_change"]

RANK = {"error": 3, "warning": 2, "info": 1}
NEWER = ("2016", "2019", "2022", "2025")  # 2016+
NEWEST = ("2019", "2022", "2025")  # 2019+
SYNC_VALUES = (15, 30, 45, 60, 120, 240, 360, 720, 1440)

# entity keys whose values are names (a name or a list of names)
NAME_KEYS = (
    "dpm",
    "protectors",
    "component",
    "secondary",
    "primary",
    "datasource",
    "switched",
    "switched_from",
    "holder",
    "from",
    "to",
    "server",
    "agents",
)
# entity keys whose values are data source ids
DATASOURCE_KEYS = ("datasource", "switched")
# entity keys mapping a version/build/OS to a list of server names
GROUP_KEYS = ("versions", "builds", "os")


class RefFinding(NamedTuple):
    rule: str
    severity: str
    entities: dict
    waived: bool


# -- small helpers ------------------------------------------------------------------------------


def fold(name: str) -> str:
    return name.casefold()


def by_name(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=str.casefold)


def fields(version: str) -> tuple[int | str, ...]:
    out: list[int | str] = []
    for part in version.split("."):
        out.append(int(part) if part.isascii() and part.isdigit() else part)
    return tuple(out)


def same_fields(a: tuple, b: tuple) -> bool:
    """Equal on the fields both give."""
    return all(x == y for x, y in zip(a, b, strict=False))


def build_equal(v1: str, v2: str) -> bool:
    return same_fields(fields(v1), fields(v2))


def major_minor_equal(v1: str, v2: str) -> bool:
    return same_fields(fields(v1)[:2], fields(v2)[:2])


def group(names: Iterable[str], key) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in names:
        out.setdefault(key(n), []).append(n)
    return {k: by_name(v) for k, v in out.items()}


def all_pairs_equal(versions: dict[str, str], eq) -> bool:
    """Whether eq holds between the versions of every pair of servers."""
    return all(eq(v, w) for v in versions.values() for w in versions.values())


def _builds() -> list[tuple[str, tuple[int, ...]]]:
    """(kind, fields) of every row of dpmsmt's table of builds, read as plain CSV data."""
    path = Path(__file__).resolve().parent.parent / "dpmsmt" / "data" / "builds.csv"
    rows = csv.DictReader(path.read_text(encoding="utf-8").splitlines())
    return [(r["kind"], tuple(int(p) for p in r["build"].split("."))) for r in rows]


BUILDS = _builds()


def known_build(version: str, kind: str) -> bool:
    parts = version.strip().split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return False
    given = tuple(int(p) for p in parts)
    return any(k == kind and same_fields(given, b) for k, b in BUILDS)


# -- the static rules ---------------------------------------------------------------------------


def severity_of(rule: str, profile: str) -> str | None:
    """The severity a rule has under a profile, None where it is not reported there."""
    if rule == "CYCLE-TWO-ONLY":
        return "error" if profile == "strict" else "warning"
    if rule == "OS-MATCH":
        return "error" if profile in ("strict", "2012") else "warning"
    if rule == "SQL-HIGH-FREQUENCY":
        return "warning" if profile == "2016" else None
    if rule in ("SERVICES-LOCAL-SYSTEM", "FARM-DATABASE-NO-SECONDARY"):
        return "warning" if profile in NEWER else "error"
    if rule == "VMWARE-NO-TAPE":
        return None if profile in NEWEST else "error"
    if rule == "BUILD-MATCH":
        raise AssertionError("BUILD-MATCH's severity depends on the instance")
    if rule == "REPLICA-POLICY":
        raise AssertionError("REPLICA-POLICY's severity depends on the instance")
    return STATIC_SEVERITY[rule]


# Rules that only `check AFTER --before BEFORE` evaluates (rules.md, "Change rules").
CHANGE_RULES = frozenset(
    (
        "NO-MOVE-UNDER-SECONDARY",
        "SWITCH-ONLY-TO-SECONDARY",
        "REBUILD-SAME-VERSION",
        "REBUILD-NEEDS-BACKUP",
        "REMOVED-IS-GONE",
        "HISTORY-LEFT-BEHIND",
        "DPM-KEEPS-NAME-AND-DOMAIN",
    )
)

STATIC_SEVERITY = {
    "SECONDARY-ONCE": "error",
    "SECONDARY-NOT-SELF": "error",
    "SELF-PROTECTION-BREAKS-CHAIN": "error",
    "MABS-NO-SECONDARY": "error",
    "VERSION-MATCH": "error",
    "DB-BACKUP-WITH-SECONDARY": "error",
    "SQL-VSS-WRITER": "error",
    "UNTRUSTED-NEEDS-CERTIFICATE": "error",
    "SECONDARY-MINIMUM-SCOPE": "warning",
    "TAPE-LIBRARY-VERSION": "error",
    "CAPACITY-SERVERS": "warning",
    "CAPACITY-DATASOURCES": "warning",
    "AGENT-OWNER": "error",
    "SCALE-OUT-AGENTS": "error",
    "SECONDARY-IS-PROTECTOR": "error",
    "SWITCHED-NO-SECONDARY": "error",
    "SWITCHED-FROM-PROTECTED": "error",
    "MOVED-UNDER-SECONDARY": "error",
    "DEDUP-NO-SECONDARY": "error",
    "SCALE-OUT-NO-SECONDARY": "error",
    "REPLICA-NO-EXCLUSIONS": "error",
    "REPLICA-SYNC": "error",
    "REPLICA-SYNC-DAILY": "info",
    "PRIMARY-DOWN": "error",
    "SECONDARY-DOWN": "warning",
    "SECONDARY-COVERAGE": "warning",
    "UNPROTECTED": "info",
    "BUILD-KNOWN": "info",
    "AZURE-BOUNDARY": "error",
    "AZURE-BOUNDARY-SECONDARY": "error",
    "VMWARE-NO-SECONDARY": "error",
}


class _Estate:
    """The relations of the Notation section, computed by brute force."""

    def __init__(self, t: Topology):
        self.t = t
        self.dpms = list(t.dpm_servers)
        # P(x, y): y in x.protects
        self.P: set[tuple[str, str]] = {
            (x, y) for x, d in t.dpm_servers.items() for y in d.protects
        }
        self.protectors_of = {y: by_name(x for x, yy in self.P if yy == y) for y in self.dpms}
        self.neighbours: dict[str, set[str]] = {d: set() for d in self.dpms}
        for x, y in self.P:
            self.neighbours[x].add(y)
            self.neighbours[y].add(x)

    def has_secondary(self, d: str) -> bool:
        return bool(self.protectors_of[d])

    def component(self, d: str) -> set[str]:
        """DPM servers connected to d through P edges in either direction (d included)."""
        seen = {d}
        todo = [d]
        while todo:
            for m in self.neighbours[todo.pop()]:
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen

    def components(self) -> list[set[str]]:
        out: list[set[str]] = []
        for d in self.dpms:
            if not any(d in c for c in out):
                out.append(self.component(d))
        return out

    def knows(self, s: str) -> set[str]:
        t = self.t
        return (
            self.component(s)
            | set(t.dpm_servers[s].knows)
            | {n for n, dn in t.dpm_servers.items() if s in dn.knows}
        )

    def agents(self, server: str) -> set[str]:
        return set(self.t.servers[server].agents)


def static_findings(t: Topology, profile: str) -> list[tuple[str, str, dict]]:
    """Every static rule instance that fails, as (rule, severity, entities)."""
    e = _Estate(t)
    out: list[tuple[str, str, dict]] = []

    def add(rule: str, entities: dict, severity: str | None = None) -> None:
        sev = severity if severity is not None else severity_of(rule, profile)
        if sev is not None:
            out.append((rule, sev, entities))

    dpm = t.dpm_servers

    # ---- topology ----
    for y in e.dpms:
        if len(e.protectors_of[y]) > 1:
            add("SECONDARY-ONCE", {"dpm": y, "protectors": e.protectors_of[y]})

    for d in e.dpms:
        if (d, d) in e.P:
            add("SECONDARY-NOT-SELF", {"dpm": d})

    for d in e.dpms:
        if dpm[d].protects_own_database and e.has_secondary(d):
            add("SELF-PROTECTION-BREAKS-CHAIN", {"dpm": d, "protectors": e.protectors_of[d]})

    graph = nx.DiGraph()
    graph.add_nodes_from(e.dpms)
    graph.add_edges_from(e.P)
    for scc in nx.strongly_connected_components(graph):
        sub = graph.subgraph(scc)
        if any(len(cycle) >= 3 for cycle in nx.simple_cycles(sub)):
            add("CYCLE-TWO-ONLY", {"component": by_name(scc)})

    for x, y in sorted(e.P):
        if dpm[x].kind != "dpm" or dpm[y].kind != "dpm":
            add("MABS-NO-SECONDARY", {"secondary": x, "primary": y})

    newest = profile in NEWEST
    for comp in e.components():
        compared = by_name(n for n in comp if dpm[n].status != "removed")
        if len(compared) < 2:
            continue
        version = {n: dpm[n].version for n in compared}
        whole_equal = all_pairs_equal(version, build_equal)
        if newest:
            mm_equal = all_pairs_equal(version, major_minor_equal)
            if not mm_equal:
                add(
                    "VERSION-MATCH",
                    {"component": compared, "versions": group(compared, version.get)},
                )
            elif not whole_equal:
                strict_edge = any(
                    x in compared
                    and y in compared
                    and t.db_backup(y) == "secondary"
                    and not build_equal(version[x], version[y])
                    for x, y in e.P
                )
                add(
                    "BUILD-MATCH",
                    {"component": compared, "builds": group(compared, version.get)},
                    "error" if strict_edge else "warning",
                )
        elif not whole_equal:
            add("VERSION-MATCH", {"component": compared, "versions": group(compared, version.get)})

        with_os = [n for n in compared if dpm[n].os is not None]
        if len({dpm[n].os for n in with_os}) > 1:
            add("OS-MATCH", {"component": with_os, "os": group(with_os, lambda n: dpm[n].os)})

    for d in e.dpms:
        method = t.db_backup(d)
        if (
            e.has_secondary(d)
            and dpm[d].database.sql == "local"
            and method in ("azure", "own-pool", "tape", "share")
        ):
            add("DB-BACKUP-WITH-SECONDARY", {"dpm": d, "method": method})

    for d in e.dpms:
        if (
            e.has_secondary(d)
            and "database" in dpm[d].secondary_scope
            and dpm[d].database.vss_writer != "running"
        ):
            add("SQL-VSS-WRITER", {"dpm": d})

    for d in e.dpms:
        x = dpm[d]
        if (
            e.has_secondary(d)
            and x.trust != "trusted"
            and not (x.auth == "certificate" and profile not in ("strict", "2025"))
        ):
            add(
                "UNTRUSTED-NEEDS-CERTIFICATE",
                {"dpm": d, "protectors": e.protectors_of[d], "trust": x.trust, "auth": x.auth},
            )

    for d in e.dpms:
        if e.has_secondary(d):
            missing = [
                item
                for item in ("database", "config", "scripting")
                if item not in dpm[d].secondary_scope
            ]
            if missing:
                add("SECONDARY-MINIMUM-SCOPE", {"dpm": d, "missing": missing})

    libraries: dict[str, list[str]] = {}
    for d in e.dpms:
        lib = dpm[d].tape_library
        if lib is not None and dpm[d].status != "removed":
            libraries.setdefault(fold(lib), []).append(d)
    for members in libraries.values():
        members = by_name(members)
        version = {n: dpm[n].version for n in members}
        if not all_pairs_equal(version, build_equal):
            add(
                "TAPE-LIBRARY-VERSION",
                {"library": dpm[members[0]].tape_library, "builds": group(members, version.get)},
            )

    for d in e.dpms:
        if not known_build(dpm[d].version, dpm[d].kind):
            add("BUILD-KNOWN", {"dpm": d, "kind": dpm[d].kind, "version": dpm[d].version})

    for x, y in sorted(e.P):
        if dpm[x].location != dpm[y].location:
            add(
                "AZURE-BOUNDARY-SECONDARY",
                {
                    "secondary": x,
                    "primary": y,
                    "secondary_location": dpm[x].location,
                    "primary_location": dpm[y].location,
                },
            )

    for d in e.dpms:
        if e.has_secondary(d) and dpm[d].services_account == "domain":
            add("SERVICES-LOCAL-SYSTEM", {"dpm": d, "secondary": e.protectors_of[d]})

    for s, server in t.servers.items():
        across = by_name(
            ds.primary
            for ds in server.datasources
            if ds.primary is not None and dpm[ds.primary].location != server.location
        )
        if across:
            add("AZURE-BOUNDARY", {"server": s, "location": server.location, "dpm": across})

    for d in e.dpms:
        count = sum(1 for s in t.servers if d in e.agents(s))
        if count > 100:
            add("CAPACITY-SERVERS", {"dpm": d, "count": count})

    limit = 300 if profile == "2012" else 2000
    all_ds: list[DataSource] = [ds for s in t.servers.values() for ds in s.datasources]
    for d in e.dpms:
        count = sum(1 for ds in all_ds if ds.primary == d or ds.secondary == d)
        if count > limit:
            add("CAPACITY-DATASOURCES", {"dpm": d, "count": count, "limit": limit})

    # ---- agents and data sources ----
    for s, server in t.servers.items():
        agents = e.agents(s)
        switched = [ds for ds in server.datasources if ds.mode == "switched"]

        if len(agents) > 1 and not (
            server.cluster
            and all(ds.hyperv_scale_out for ds in server.datasources if ds.primary is not None)
        ):
            add("SCALE-OUT-AGENTS", {"server": s, "agents": by_name(agents)})

        for ds in server.datasources:
            did = ds.id
            sp = ds.secondary_policy

            if ds.primary is not None and ds.primary not in agents:
                add(
                    "AGENT-OWNER",
                    {"datasource": did, "primary": ds.primary, "agents": by_name(agents)},
                )

            if ds.secondary is not None and not (
                ds.primary is not None
                and (ds.secondary, ds.primary) in e.P
                and "replicas" in dpm[ds.primary].secondary_scope
            ):
                add(
                    "SECONDARY-IS-PROTECTOR",
                    {
                        "datasource": did,
                        "primary": ds.primary,
                        "secondary": ds.secondary,
                        "protectors": e.protectors_of[ds.primary] if ds.primary else [],
                    },
                )

            if switched and ds.secondary is not None:
                add(
                    "SWITCHED-NO-SECONDARY",
                    {"datasource": did, "secondary": ds.secondary, "switched": switched[0].id},
                )

            if ds.mode == "switched":
                sf = ds.switched_from
                ok = sf is not None and (
                    (ds.primary, sf) in e.P
                    or (
                        sf in dpm
                        and dpm[sf].status in ("failed", "removed")
                        and not e.has_secondary(sf)
                    )
                )
                if not ok:
                    add(
                        "SWITCHED-FROM-PROTECTED",
                        {"datasource": did, "primary": ds.primary, "switched_from": sf},
                    )

            if ds.dedup and ds.secondary is not None:
                add("DEDUP-NO-SECONDARY", {"datasource": did, "secondary": ds.secondary})

            if ds.hyperv_scale_out and ds.secondary is not None:
                add("SCALE-OUT-NO-SECONDARY", {"datasource": did, "secondary": ds.secondary})

            if ds.type == "vmware" and ds.secondary is not None:
                add("VMWARE-NO-SECONDARY", {"datasource": did, "secondary": ds.secondary})

            if (
                ds.type == "vmware"
                and ds.policy is not None
                and (ds.policy.short_term == "tape" or "tape" in ds.policy.long_term)
            ):
                add(
                    "VMWARE-NO-TAPE",
                    {
                        "datasource": did,
                        "short_term": ds.policy.short_term,
                        "long_term": ds.policy.long_term,
                    },
                )

            if ds.farm is not None and ds.secondary is not None:
                add(
                    "FARM-DATABASE-NO-SECONDARY",
                    {"datasource": did, "secondary": ds.secondary, "farm": ds.farm},
                )

            if ds.secondary is not None and sp is not None:
                if sp.exclude_extensions:
                    add(
                        "REPLICA-NO-EXCLUSIONS",
                        {"datasource": did, "extensions": list(sp.exclude_extensions)},
                    )

                sevs = []
                if sp.short_term != "disk":
                    sevs.append("error")
                if sp.long_term not in ("none", "tape"):
                    sevs.append("warning" if profile in NEWER else "error")
                if sevs:
                    add(
                        "REPLICA-POLICY",
                        {"datasource": did, "short_term": sp.short_term, "long_term": sp.long_term},
                        max(sevs, key=RANK.__getitem__),
                    )

                if sp.long_term == "none":
                    if sp.sync_minutes not in SYNC_VALUES or sp.sync_before_recovery_point:
                        add(
                            "REPLICA-SYNC",
                            {
                                "datasource": did,
                                "sync_minutes": sp.sync_minutes,
                                "sync_before_recovery_point": sp.sync_before_recovery_point,
                            },
                        )
                    if sp.sync_minutes != 1440:
                        add(
                            "REPLICA-SYNC-DAILY",
                            {"datasource": did, "sync_minutes": sp.sync_minutes},
                        )

            if (
                ds.type == "sql"
                and ds.secondary is not None
                and ds.policy is not None
                and ds.policy.sync_minutes is not None
                and ds.policy.sync_minutes <= 15
            ):
                add(
                    "SQL-HIGH-FREQUENCY",
                    {"datasource": did, "sync_minutes": ds.policy.sync_minutes},
                )

            if ds.primary is not None and dpm[ds.primary].status != "up":
                add(
                    "PRIMARY-DOWN",
                    {
                        "datasource": did,
                        "primary": ds.primary,
                        "status": dpm[ds.primary].status,
                    },
                )

            if ds.secondary is not None and dpm[ds.secondary].status != "up":
                add(
                    "SECONDARY-DOWN",
                    {
                        "datasource": did,
                        "secondary": ds.secondary,
                        "status": dpm[ds.secondary].status,
                    },
                )

            if (
                ds.primary is not None
                and ds.mode == "normal"
                and e.has_secondary(ds.primary)
                and "replicas" in dpm[ds.primary].secondary_scope
                and ds.secondary is None
                and not ds.dedup
                and not ds.hyperv_scale_out
                and ds.type != "vmware"
                and ds.farm is None
                and not switched
            ):
                add(
                    "SECONDARY-COVERAGE",
                    {
                        "datasource": did,
                        "primary": ds.primary,
                        "protectors": e.protectors_of[ds.primary],
                    },
                )

            if ds.primary is None:
                add("UNPROTECTED", {"datasource": did})

    # MOVED-UNDER-SECONDARY: per inactive entry (ds, p) of a holder s
    for s in e.dpms:
        for entry in dpm[s].inactive:
            p = entry.from_
            ds = t.datasource_by_id.get(fold(entry.datasource))
            if p is None or ds is None:
                continue
            q = ds.primary
            if q is None or q == p:
                continue
            ok = q not in e.knows(s) or (q == s and ds.mode == "switched" and ds.switched_from == p)
            if not ok:
                add(
                    "MOVED-UNDER-SECONDARY",
                    {"datasource": ds.id, "holder": s, "from": p, "to": q},
                )

    return out


# -- waivers ------------------------------------------------------------------------------------


def finding_names(entities: dict) -> tuple[set[str], set[str]]:
    """(names, data source ids) among a finding's entities, case-folded."""
    names: set[str] = set()
    ids: set[str] = set()
    for key, value in entities.items():
        if key in NAME_KEYS:
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, str):
                    names.add(fold(v))
                    if key in DATASOURCE_KEYS:
                        ids.add(fold(v))
        elif key in GROUP_KEYS and isinstance(value, dict):
            for servers in value.values():
                names.update(fold(v) for v in servers)
    return names, ids


def waiver_matches(rule: str, target: str | None, finding_rule: str, entities: dict) -> bool:
    if rule != finding_rule:
        return False
    if target is None:
        return True
    names, ids = finding_names(entities)
    tgt = fold(target)
    return tgt in names or any(i.split("/", 1)[0] == tgt for i in ids)


def reference_check(
    topology: Topology, *, profile: str | None = None, today: str | None = None
) -> list[RefFinding]:
    prof = profile if profile is not None else topology.profile
    day = datetime.date.fromisoformat(today) if today is not None else datetime.date.today()

    raw = static_findings(topology, prof)

    # waivers by their index in `waivers`; an expired one waives nothing
    live: list[tuple[int, Waiver]] = []
    expired: list[tuple[int, Waiver]] = []
    for k, w in enumerate(topology.waivers):
        if w.expires is not None and datetime.date.fromisoformat(str(w.expires)) < day:
            expired.append((k, w))
        else:
            live.append((k, w))

    findings: list[RefFinding] = []
    used: set[int] = set()
    for rule, sev, entities in raw:
        matching = [k for k, w in live if waiver_matches(w.rule, w.target, rule, entities)]
        used.update(matching)
        findings.append(RefFinding(rule, sev, entities, bool(matching)))

    for k, w in live:
        if k not in used and w.rule not in CHANGE_RULES:
            findings.append(
                RefFinding(
                    "WAIVER-UNUSED",
                    "warning",
                    {"waiver": k, "rule": w.rule, "target": w.target},
                    False,
                )
            )
    for k, w in expired:
        findings.append(
            RefFinding(
                "WAIVER-EXPIRED",
                "warning",
                {"waiver": k, "rule": w.rule, "target": w.target, "expires": str(w.expires)},
                False,
            )
        )

    findings.sort(key=lambda f: (-RANK[f.severity], f.rule, json.dumps(f.entities, sort_keys=True)))
    return findings


# -- the change rules ---------------------------------------------------------------------------

CHANGE_SEVERITY = {
    "NO-MOVE-UNDER-SECONDARY": "error",
    "SWITCH-ONLY-TO-SECONDARY": "error",
    "REBUILD-SAME-VERSION": "error",
    "REBUILD-NEEDS-BACKUP": "error",
    "REMOVED-IS-GONE": "error",
    "HISTORY-LEFT-BEHIND": "info",
    "DPM-KEEPS-NAME-AND-DOMAIN": "error",
}


def same(x: str | None, y: str | None) -> bool:
    """Two names (or nulls) are the same server, case-insensitively."""
    if x is None or y is None:
        return x is None and y is None
    return fold(x) == fold(y)


def _find(t: Topology, name: str | None) -> str | None:
    """The spelling of a DPM server's name in `t`, or None where it has no such server."""
    if name is None:
        return None
    return next((n for n in t.dpm_servers if fold(n) == fold(name)), None)


def change_findings(before: Topology, after: Topology) -> list[tuple[str, str, dict]]:
    """Every change rule instance that fails, as (rule, severity, entities)."""
    out: list[tuple[str, str, dict]] = []

    def add(rule: str, entities: dict) -> None:
        out.append((rule, CHANGE_SEVERITY[rule], entities))

    eb, ea = _Estate(before), _Estate(after)

    def knows(s: str) -> set[str]:
        """knows(s) over both snapshots, case-folded."""
        names = {fold(n) for n in eb.knows(s)}
        sa = _find(after, s)
        if sa is not None:
            names |= {fold(n) for n in ea.knows(sa)}
        return names

    def status(t: Topology, name: str | None) -> str | None:
        return t.dpm_servers[name].status if name is not None else None

    # ---- data sources present in both snapshots ----
    after_ds = {fold(ds.id): ds for s in after.servers.values() for ds in s.datasources}
    for server in before.servers.values():
        for b in server.datasources:
            a = after_ds.get(fold(b.id))
            if a is None:
                continue
            p, q = b.primary, a.primary

            # NO-MOVE-UNDER-SECONDARY, once per protector s of p before
            if p is not None:
                for s in eb.protectors_of[p]:
                    moved = q is not None and not same(p, q)
                    switched_to_s = (
                        q is not None
                        and same(q, s)
                        and a.mode == "switched"
                        and same(a.switched_from, p)
                    )
                    if moved and not (switched_to_s or fold(q) not in knows(s)):
                        add(
                            "NO-MOVE-UNDER-SECONDARY",
                            {"datasource": a.id, "from": p, "to": q, "secondary": s},
                        )

            # SWITCH-ONLY-TO-SECONDARY
            if b.mode == "normal" and a.mode == "switched" and not same(b.secondary, q):
                add(
                    "SWITCH-ONLY-TO-SECONDARY",
                    {"datasource": a.id, "secondary": b.secondary, "primary": q},
                )

            # HISTORY-LEFT-BEHIND
            if p is not None:
                moved = (
                    not same(p, q)
                    and a.mode == "normal"
                    and not (b.mode == "switched" and same(q, b.switched_from))
                )
                bp = before.dpm_servers[p]
                b_failure = bp.failure if bp.failure is not None else Failure()
                rebuilt_empty = (
                    same(p, q)
                    and bp.status == "failed"
                    and b_failure.storage == "lost"
                    and status(after, q) == "up"
                )
                if moved or rebuilt_empty:
                    add("HISTORY-LEFT-BEHIND", {"datasource": a.id, "primary": p})

    # ---- DPM servers present in both snapshots ----
    for name_b, db in before.dpm_servers.items():
        name_a = _find(after, name_b)
        if name_a is None:
            continue
        da = after.dpm_servers[name_a]
        came_back = db.status == "failed" and da.status == "up"
        failure = db.failure if db.failure is not None else Failure()

        if came_back and not build_equal(db.version, da.version):
            add("REBUILD-SAME-VERSION", {"dpm": name_a, "before": db.version, "after": da.version})

        if came_back:
            m = before.db_backup(name_b)
            protector_up = any(
                before.dpm_servers[x].status == "up" for x in eb.protectors_of[name_b]
            )
            survives = (
                m != "none"
                and (m != "secondary" or protector_up)
                and (m != "own-pool" or failure.storage == "intact")
            )
            if not (failure.database == "intact" or survives):
                add(
                    "REBUILD-NEEDS-BACKUP",
                    {
                        "dpm": name_a,
                        "database": failure.database,
                        "backup": m,
                    },
                )

        if db.status == "removed" and da.status == "up":
            add("REMOVED-IS-GONE", {"dpm": name_a})

    # ---- DPM-KEEPS-NAME-AND-DOMAIN: the same server by identity, or by name ----
    for name_b, db in before.dpm_servers.items():
        by_identity = [
            n
            for n, d in after.dpm_servers.items()
            if db.identity is not None
            and d.identity is not None
            and fold(d.identity) == fold(db.identity)
        ]
        same_name = _find(after, name_b)
        if by_identity:
            name_a = by_identity[0]
        elif same_name is not None and (
            None in (db.identity, after.dpm_servers[same_name].identity)
            or (
                db.domain is not None
                and after.dpm_servers[same_name].domain is not None
                and fold(db.domain) != fold(after.dpm_servers[same_name].domain)
            )
        ):
            name_a = same_name
        else:
            continue
        da = after.dpm_servers[name_a]
        renamed = fold(name_a) != fold(name_b)
        moved = (
            db.domain is not None and da.domain is not None and fold(db.domain) != fold(da.domain)
        )
        if renamed or moved:
            add(
                "DPM-KEEPS-NAME-AND-DOMAIN",
                {
                    "dpm": name_a,
                    "from": name_b,
                    "identity": da.identity,
                    "domain_before": db.domain,
                    "domain_after": da.domain,
                },
            )

    return out


def reference_check_change(
    before: Topology,
    after: Topology,
    *,
    profile: str | None = None,
    today: str | None = None,
) -> list[RefFinding]:
    """The change rules of rules.md for the change `before` -> `after`, sorted as `reference_check`.

    The change rules have one severity under every profile (`profile` is accepted for symmetry
    with `check`). Only the six change rules are reported; the after file's live waivers apply.
    """
    del profile  # no change rule depends on the profile
    day = datetime.date.fromisoformat(today) if today is not None else datetime.date.today()
    live = [
        w
        for w in after.waivers
        if w.expires is None or datetime.date.fromisoformat(str(w.expires)) >= day
    ]
    findings = [
        RefFinding(
            rule,
            sev,
            entities,
            any(waiver_matches(w.rule, w.target, rule, entities) for w in live),
        )
        for rule, sev, entities in change_findings(before, after)
    ]
    findings.sort(key=lambda f: (-RANK[f.severity], f.rule, json.dumps(f.entities, sort_keys=True)))
    return findings
