"""Hypothesis strategies for DPM topologies, for property-based test suites (cli.md, "Python API").

A tool that rewrites DPM topologies can assert that whatever it produces from a supported estate
is still supported::

    import dpmsmt
    from hypothesis import given
    from dpmsmt.strategies import topologies

    @given(topologies(valid=True))
    def test_rewrite_keeps_estates_supported(t):
        assert dpmsmt.check(my_rewrite(t)).verdict == "valid"

`topologies` draws whole estates across the file format (format.md): chains of any depth, fan-in,
two-server and longer cycles, MABS, mixed and abbreviated versions, OS strings, profiles, failed and
removed servers, switched data sources, dedup and scaled-out clusters, policies, inactive replicas,
`knows` lists, tape libraries and waivers. `failures` draws sets of DPM servers to fail and
`changes` draws (before, after) pairs of a change.

Needs Hypothesis (`pip install 'dpmsmt[test]'`); `import dpmsmt` itself never imports it.

How it works: the strategy builds the plain document of a file (as `dpmsmt.dump` would write it)
and reads it with `dpmsmt.loads`, so every topology is exactly what the reader makes of a file.
Every decision offers *safe* choices (no error under the rules of rules.md, given the choices made
so far: one version family and OS per component, a data source's secondary is its primary's
protector, a switched data source's primary protects the server it was switched from, ...) and
*wild* ones (anything the format allows). `valid=True` draws only safe choices, so the estate
passes `check` by construction, with no filtering; `valid=False` draws both, then injects one
violation (a self-protecting DPM server, an agent owned by another server, ...) that no waiver
covers; `valid=None` draws either. Safe choices come first, so examples shrink towards small,
supported estates with names like `DPM1`, `S1` and `D:\\`.

Waivers expire in 2020 or earlier, or in 2099 or later (or never): the promise of `valid`
holds for any `today` between 2021-01-01 and 2099-12-30, and under the topology's own profile.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "dpmsmt.strategies needs Hypothesis: pip install 'dpmsmt[test]' (or hypothesis)"
    ) from e

from dpmsmt._strategies_fidelity import add_fidelity_keys
from dpmsmt.io.dump import document
from dpmsmt.io.loader import loads
from dpmsmt.model import PROFILES, Topology, canon

__all__ = ["changes", "document_to_topology", "failures", "topologies"]

# Builds as DPM writes them: DPM 2019 RTM, DPM 2019 UR1, DPM 1801, and the spec's example
# 4.2.1092.0, which is in no build list (BUILD-KNOWN reports it).
FULL_VERSIONS = ("10.19.58.0", "10.19.260.0", "5.1.363.0", "4.2.1092.0")
OS_NAMES = (
    "Windows Server 2019 10.0.17763",
    "Windows Server 2022 10.0.20348",
    "Windows Server 2012 R2 6.3.9600",
)
# Names that a careless YAML writer would turn into something else (quoting, resolving).
ODD_DPM_NAMES = ("yes", "1.0", "null", "a:b", "x\\y", "On", "dpm #7", "Ünï")
ODD_SERVER_NAMES = ("no", "2", "true", "s: t", "Off", "~", "-S")
DATASOURCE_NAMES = (
    "C:\\",
    "D:\\",
    "db1",
    "E:\\Shares",
    "MSSQLSERVER/Sales",
    "System State",
    "VM1",
    "yes",
    "1.0",
)
DATASOURCE_TYPES = (
    "volume",
    "sql",
    "volume",
    "sql",
    "hyperv",
    "share",
    "folder",
    "exchange",
    "sharepoint",
    "system-state",
    "bare-metal",
    "client",
    "other",
)
SYNC_VALUES = (15, 30, 45, 60, 120, 240, 360, 720, 1440)
SCOPE = ["database", "config", "scripting", "replicas"]
SCOPES: tuple[list[str] | None, ...] = (
    None,  # the default: all four
    ["database", "config", "scripting"],  # no replicas: data sources get no secondary
    ["replicas", "scripting", "config", "database"],
    ["database", "database", "config", "scripting", "replicas"],
    [],
    ["config", "replicas"],
)
# Rule ids of rules.md (the catalogue is the contract, whatever the registry holds right now).
RULE_IDS = (
    "AGENT-OWNER",
    "AZURE-BOUNDARY",
    "AZURE-BOUNDARY-SECONDARY",
    "BUILD-KNOWN",
    "BUILD-MATCH",
    "CAPACITY-DATASOURCES",
    "CAPACITY-SERVERS",
    "CYCLE-TWO-ONLY",
    "DB-BACKUP-WITH-SECONDARY",
    "DEDUP-NO-SECONDARY",
    "DPM-KEEPS-NAME-AND-DOMAIN",
    "FARM-DATABASE-NO-SECONDARY",
    "HISTORY-LEFT-BEHIND",
    "MABS-NO-SECONDARY",
    "MOVED-UNDER-SECONDARY",
    "NO-MOVE-UNDER-SECONDARY",
    "OS-MATCH",
    "PRIMARY-DOWN",
    "REBUILD-NEEDS-BACKUP",
    "REBUILD-SAME-VERSION",
    "REMOVED-IS-GONE",
    "REPLICA-NO-EXCLUSIONS",
    "REPLICA-POLICY",
    "REPLICA-SYNC",
    "REPLICA-SYNC-DAILY",
    "SCALE-OUT-AGENTS",
    "SCALE-OUT-NO-SECONDARY",
    "SECONDARY-COVERAGE",
    "SECONDARY-DOWN",
    "SECONDARY-IS-PROTECTOR",
    "SECONDARY-MINIMUM-SCOPE",
    "SECONDARY-NOT-SELF",
    "SECONDARY-ONCE",
    "SELF-PROTECTION-BREAKS-CHAIN",
    "SERVICES-LOCAL-SYSTEM",
    "SQL-HIGH-FREQUENCY",
    "SQL-VSS-WRITER",
    "SWITCH-ONLY-TO-SECONDARY",
    "SWITCHED-FROM-PROTECTED",
    "SWITCHED-NO-SECONDARY",
    "TAPE-LIBRARY-VERSION",
    "UNPROTECTED",
    "UNTRUSTED-NEEDS-CERTIFICATE",
    "VERSION-MATCH",
    "VMWARE-NO-SECONDARY",
    "VMWARE-NO-TAPE",
    "WAIVER-EXPIRED",
    "WAIVER-UNUSED",
)
EXPIRED = ("2020-06-30", "2000-01-01")
LIVE = (None, "2099-12-31", "2100-01-01")

_MAX_SERVERS = 5
_MAX_DATASOURCES = 4


def short(version: str) -> str:
    """`10.19.58.0` -> `10.19` (an abbreviated version that matches the whole build)."""
    return ".".join(version.split(".")[:2])


# -- the builder ----------------------------------------------------------------------------------


class _Chooser:
    """Every decision of a build: `safe` restricts it to supported choices."""

    def __init__(self, draw, *, safe: bool, profile: str, wildness: int):
        self.draw, self.safe, self.profile, self.wildness = draw, safe, profile, wildness

    def pick(self, safe: Sequence, wild: Sequence = ()):
        """One of `safe`, or (not in safe mode, now and then) one of `wild`."""
        if wild and not self.safe and self.draw(st.integers(0, 9)) < self.wildness:
            return self.draw(st.sampled_from(list(wild)))
        return self.draw(st.sampled_from(list(safe)))

    def flag(self, safe_value: bool | None = None) -> bool:
        """A bool; with `safe_value`, only that value is safe."""
        if safe_value is None:
            return self.draw(st.booleans())
        return self.pick([safe_value], [not safe_value])


class _Dpms:
    """The DPM servers drawn so far, as the servers and inactive replicas drawn next see them."""

    def __init__(self, names: list[str], edges: set[tuple[int, int]], lower: bool):
        self.names, self.lower = names, lower
        self.edges = {(names[x], names[y]) for x, y in edges}
        self.protector_of = {
            names[y]: [names[x] for x in sorted(x for x, yy in edges if yy == y)]
            for y in range(len(names))
        }  # name -> protectors
        self.status: dict[str, str] = {}
        self.scope: dict[str, list[str]] = {}

    def ref(self, name: str) -> str:
        """A reference to `name`, spelt in another case now and then."""
        return name.lower() if self.lower else name

    @property
    def up(self) -> list[str]:
        return [x for x in self.names if self.status[x] == "up"]

    @property
    def dead(self) -> list[str]:
        return [x for x in self.names if self.status[x] != "up"]

    def name(self, ref: str) -> str:
        return next(n for n in self.names if canon(n) == canon(ref))

    def knows(self, doc: dict, s: str) -> set[str]:
        comp = {s}
        todo = [s]
        while todo:
            x = todo.pop()
            for a, b in self.edges:
                for u, v in ((a, b), (b, a)):
                    if u == x and v not in comp:
                        comp.add(v)
                        todo.append(v)
        dpms = doc["dpm_servers"]
        comp.update(self.name(k) for k in dpms[s].get("knows", []))
        comp.update(
            n for n, d in dpms.items() if canon(s) in {canon(k) for k in d.get("knows", [])}
        )
        return comp

    def moved_under_secondary(self, doc: dict, holder: str, ds_id: str, source) -> bool:
        """Whether an inactive entry breaks MOVED-UNDER-SECONDARY (rules.md's formal reading)."""
        if source is None:
            return False
        server, _, name = ds_id.partition("/")
        sd = doc.get("servers", {}).get(server)
        if sd is None:
            return False
        ds = next((d for d in sd.get("datasources", []) if canon(d["name"]) == canon(name)), None)
        if ds is None:
            return False
        if "primary" in ds:
            q = ds["primary"]
        else:
            agent = sd.get("agent")
            q = agent[0] if isinstance(agent, list) and len(agent) == 1 else agent
        if q is None or isinstance(q, list):
            return False
        q = self.name(q)
        if q == source:
            return False
        if (
            q == holder
            and ds.get("mode") == "switched"
            and self.name(ds["switched_from"]) == source
        ):
            return False
        return q in self.knows(doc, holder)


def _failures() -> list[dict[str, str] | None]:
    """A failed DPM server's `failure` (fresh dicts: a document owns its values)."""
    return [
        None,
        {"database": "intact"},
        {"database": "lost", "storage": "lost"},
        {"storage": "intact"},
    ]


_GOOD_BACKUPS = [None, "secondary", "sql-native", "none"]
_BAD_BACKUPS = ["azure", "own-pool", "tape", "share"]
_PLAIN_TRUST = [("trusted", "kerberos"), ("trusted", "ntlm"), ("trusted", "certificate")]
_UNTRUSTED = [
    ("untrusted", "certificate"),
    ("workgroup", "certificate"),
    ("workgroup", "ntlm"),
    ("untrusted", "kerberos"),
]


class _DpmBuilder:
    """Draws the `dpm_servers` of a document: names, the protection graph, each server's keys."""

    def __init__(self, chooser: _Chooser):
        self.c, self.draw = chooser, chooser.draw

    def names(self, n: int) -> list[str]:
        odd = self.draw(st.integers(0, 3)) == 3  # now and then, names that need quoting
        names: list[str] = []
        for i in range(n):
            name = f"DPM{i + 1}"
            if odd:
                name = self.draw(st.sampled_from([name, *ODD_DPM_NAMES]))
            if canon(name) in {canon(x) for x in names}:
                name = f"DPM{i + 1}"
            names.append(name)
        return names

    def graph(self, n: int) -> set[tuple[int, int]]:
        """P edges (x, y): x protects y. A forest of protectors (fan-in, chains of any depth),
        some trees closed into a cycle; wild: extra edges (self-loops, second protectors)."""
        parent: list[int | None] = [None] * n
        for i in range(1, n):
            parent[i] = self.draw(st.sampled_from([None, *range(i)]))
        edges = {(p, i) for i, p in enumerate(parent) if p is not None}
        depth = [0] * n
        for i in range(n):
            p = parent[i]
            depth[i] = 0 if p is None else depth[p] + 1
        for r in range(n):
            if parent[r] is not None:
                continue
            below = [i for i in range(n) if i != r and _root(parent, i) == r]
            if not below:
                continue
            two = [i for i in below if depth[i] == 1]
            longer = [i for i in below if depth[i] >= 2]
            # closing at depth 1 is a 2-cycle (supported); deeper is a longer cycle, which is a
            # warning except under strict
            safe = [None, *two] + (longer if self.c.profile != "strict" else [])
            closer = self.c.pick(safe, longer)
            if closer is not None:
                edges.add((closer, r))
        if not self.c.safe and self.draw(st.integers(0, 9)) < self.c.wildness:
            extra = self.draw(
                st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3)
            )
            edges.update(extra)
        return edges

    def build(self, min_dpm: int, max_dpm: int) -> tuple[dict[str, dict], list[str], _Dpms]:
        """The DPM servers' entries, the tape libraries they name, and what later draws need."""
        draw = self.draw
        n = draw(st.integers(min_dpm, max_dpm))
        names = self.names(n)
        edges = self.graph(n) if n else set()
        component = _components(n, edges)
        dpms = _Dpms(names, edges, lower=draw(st.integers(0, 4)) == 4)
        family = {c: draw(st.sampled_from(FULL_VERSIONS)) for c in set(component)}
        # wild: a component mixing builds of one release (BUILD-MATCH in 2019+, VERSION-MATCH before)
        mixed = {c: self.c.pick([False], [True]) for c in set(component)}
        os_of = {c: draw(st.sampled_from([None, *OS_NAMES])) for c in set(component)}
        self.libraries: list[str] = []
        entries: dict[str, dict[str, Any]] = {}
        for i, name in enumerate(names):
            c = component[i]
            entries[name] = self.dpm(dpms, i, edges, family[c], mixed[c], os_of[c])
        return entries, self.libraries, dpms

    def dpm(self, dpms: _Dpms, i: int, edges, v: str, mixed: bool, os_name) -> dict[str, Any]:
        """One DPM server's entry; records its status and effective scope in `dpms`."""
        draw, pick, name = self.draw, self.c.pick, dpms.names[i]
        d: dict[str, Any] = {}
        protected = bool(dpms.protector_of[name])
        linked = protected or any(x == i for x, _ in edges)
        kind = pick(["dpm"], ["mabs"]) if linked else draw(st.sampled_from(["dpm", "mabs"]))
        if kind != "dpm":
            d["kind"] = kind
        status = draw(st.sampled_from(["up", "failed", "removed"]))
        d["version"] = self.version(status, v, mixed)
        d["os"] = pick([os_name, None] if os_name else [None], OS_NAMES)
        if d["os"] is None:
            del d["os"]
        if status != "up":
            d["status"] = status
        if status == "failed":
            failure = draw(st.sampled_from(_failures()))
            if failure is not None:
                d["failure"] = failure
        children = sorted(y for x, y in edges if x == i)
        if children:
            d["protects"] = [dpms.ref(dpms.names[y]) for y in children]
        if pick([False] if protected else [False, True], [True]):
            d["protects_own_database"] = True
        scope = draw(st.sampled_from(SCOPES))
        if scope is not None:
            d["secondary_scope"] = scope
        effective_scope = SCOPE if scope is None else scope
        database = self.database(protected, "database" in effective_scope)
        if database:
            d["database"] = database
        self.trust(d, protected)
        self.knows_and_library(d, dpms, name, status, v)
        dpms.status[name] = status
        dpms.scope[name] = effective_scope
        return d

    def version(self, status: str, v: str, mixed: bool) -> str:
        if status == "removed":  # removed servers are compared with nobody
            return self.draw(st.sampled_from([v, *FULL_VERSIONS, short(v)]))
        # wild: another build of the same release (BUILD-MATCH in 2019+), or any other
        siblings = [x for x in FULL_VERSIONS if short(x) == short(v) and x != v]
        if mixed:
            return self.draw(st.sampled_from(["10.19.58.0", "10.19.202.0", "10.19"]))
        return self.c.pick([v, short(v)], [*siblings, *FULL_VERSIONS])

    def database(self, protected: bool, scoped: bool) -> dict[str, Any]:
        """The `database` block: where a protected server's database is backed up (and by VSS)."""
        draw, pick = self.draw, self.c.pick
        database: dict[str, Any] = {}
        sql = draw(st.sampled_from(["local", "remote"]))
        if sql != "local":
            database["sql"] = sql
        if protected and sql == "local":
            backup = pick(_GOOD_BACKUPS, _BAD_BACKUPS)
        else:
            backup = draw(st.sampled_from(_GOOD_BACKUPS + _BAD_BACKUPS))
        if backup is not None:
            database["backup"] = backup
        if protected and scoped:
            vss = pick(["running"], ["stopped"])
        else:
            vss = draw(st.sampled_from(["running", "stopped"]))
        if vss != "running":
            database["vss_writer"] = vss
        return database

    def trust(self, d: dict[str, Any], protected: bool) -> None:
        pick = self.c.pick
        if not protected:
            trust, auth = self.draw(st.sampled_from(_PLAIN_TRUST + _UNTRUSTED))
        elif self.c.profile in ("strict", "2025"):
            trust, auth = pick(_PLAIN_TRUST, _UNTRUSTED)
        else:
            trust, auth = pick(_PLAIN_TRUST + _UNTRUSTED[:2], _UNTRUSTED[2:])
        if trust != "trusted":
            d["trust"] = trust
        if auth != "kerberos":
            d["auth"] = auth

    def knows_and_library(self, d: dict, dpms: _Dpms, name: str, status: str, v: str) -> None:
        draw = self.draw
        others = [x for x in dpms.names if x != name]
        if others and draw(st.integers(0, 3)) == 3:
            d["knows"] = [
                dpms.ref(x)
                for x in draw(st.lists(st.sampled_from(others), unique=True, max_size=2))
            ]
        if status == "removed":  # compared with nobody
            lib = draw(st.sampled_from([None, "TL1", "TL2"]))
        else:
            lib = self.c.pick([None, f"TL{FULL_VERSIONS.index(v) + 1}"], ["TL1", "TL2"])
        if lib is not None:
            d["tape_library"] = dpms.ref(lib)
            if lib not in self.libraries:
                self.libraries.append(lib)


class _ServerBuilder:
    """Draws one protected server: plain, switched to a secondary, or a scaled-out cluster."""

    def __init__(self, chooser: _Chooser, dpms: _Dpms):
        self.c, self.draw, self.dpms = chooser, chooser.draw, dpms

    def build(self, sname: str) -> dict[str, Any]:
        draw, dpms = self.draw, self.dpms
        shape = draw(st.sampled_from(["plain", "plain", "switched", "scale-out"]))
        ds_names = draw(
            st.lists(
                st.sampled_from(DATASOURCE_NAMES),
                unique_by=canon,
                max_size=_MAX_DATASOURCES,
                min_size=1 if shape != "plain" else 0,
            )
        )
        # a switched server: its primary q protects the server p it was switched away from
        # (or p is dead and has no protector left)
        switches = [(q, p) for q, p in sorted(dpms.edges) if q != p and dpms.status[q] == "up"] + [
            (q, p) for q in dpms.up for p in dpms.dead if not dpms.protector_of[p]
        ]
        if shape == "switched" and (switches or not self.c.safe) and dpms.names:
            return self.switched(ds_names, switches)
        if shape == "scale-out" and len(dpms.up if self.c.safe else dpms.names) >= 2:
            return self.scale_out(ds_names)
        return self.plain(ds_names)

    def switched(self, ds_names: list[str], switches: list[tuple[str, str]]) -> dict[str, Any]:
        draw, pick, names, ref = self.draw, self.c.pick, self.dpms.names, self.dpms.ref
        if switches:
            q, p = pick(switches, [(a, b) for a in names for b in names])
        else:
            q, p = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        s: dict[str, Any] = {"agent": ref(pick([q], names))}
        datasources = []
        for i, name in enumerate(ds_names):
            ds: dict[str, Any] = {"name": name, "type": draw(st.sampled_from(DATASOURCE_TYPES))}
            if i == 0 or draw(st.booleans()):
                ds.update(mode="switched", primary=ref(q), switched_from=ref(p))
            else:
                ds["primary"] = pick([ref(q), None], names)
            self.secondary(ds, pick([None], names))
            datasources.append(ds)
        s["datasources"] = datasources
        return s

    def scale_out(self, ds_names: list[str]) -> dict[str, Any]:
        """A Hyper-V cluster with scaled-out protection: one agent owner per node."""
        draw, pick, names, ref = self.draw, self.c.pick, self.dpms.names, self.dpms.ref
        owners = self.dpms.up if self.c.safe else names
        agents = draw(st.lists(st.sampled_from(owners), min_size=2, max_size=3, unique=True))
        s: dict[str, Any] = {"agent": [ref(a) for a in agents]}
        if self.c.flag(True):
            s["cluster"] = True
        datasources = []
        for name in ds_names:
            ds = {"name": name, "type": pick(["hyperv"], DATASOURCE_TYPES)}
            primary = pick(agents, [*names, None])
            ds["primary"] = None if primary is None else ref(primary)
            if self.c.flag(True):
                ds["hyperv_scale_out"] = True
            self.secondary(ds, pick([None], names))
            datasources.append(ds)
        s["datasources"] = datasources
        return s

    def plain(self, ds_names: list[str]) -> dict[str, Any]:
        """One agent, data sources on it (or on others, wild)."""
        draw, names, ref = self.draw, self.dpms.names, self.dpms.ref
        s: dict[str, Any] = {}
        agent = self.c.pick([None, *self.dpms.up], names) if names else None
        if agent is not None:
            s["agent"] = ref(agent) if draw(st.booleans()) else [ref(agent)]
        if draw(st.integers(0, 5)) == 5:
            s["cluster"] = True
        datasources = [self.plain_datasource(name, agent) for name in ds_names]
        if datasources or draw(st.booleans()):
            s["datasources"] = datasources
        return s

    def plain_datasource(self, name: str, agent: str | None) -> dict[str, Any]:
        draw, names, dpms = self.draw, self.dpms.names, self.dpms
        ds: dict[str, Any] = {"name": name, "type": draw(st.sampled_from(DATASOURCE_TYPES))}
        how = draw(st.sampled_from(["default", "explicit", "none"]))
        if how == "default":
            primary = agent
        elif how == "explicit":
            primary = self.c.pick([agent], names) if names else None
            ds["primary"] = None if primary is None else dpms.ref(primary)
        else:
            primary = None
            ds["primary"] = None
        dedup = draw(st.integers(0, 4)) == 4
        scale_out = draw(st.integers(0, 5)) == 5
        if dedup:
            ds["dedup"] = True
        if scale_out:
            ds["hyperv_scale_out"] = True
        good = [None]
        if (
            primary is not None
            and len(dpms.protector_of[primary]) == 1
            and "replicas" in dpms.scope[primary]
            and not dedup
            and not scale_out
        ):
            good.append(dpms.protector_of[primary][0])
        self.secondary(ds, self.c.pick(good, names))
        if draw(st.integers(0, 3)) == 3:
            ds["protection_group"] = draw(st.sampled_from(["PG1", "PG 2", "1"]))
        return ds

    def secondary(self, ds: dict[str, Any], secondary: str | None) -> None:
        """A data source's secondary (None: none), then its policies."""
        if secondary is not None:
            ds["secondary"] = self.dpms.ref(secondary)
        self.policies(ds, secondary)

    def policies(self, ds: dict[str, Any], secondary: str | None) -> None:
        draw = self.draw
        policies = [
            None,
            {"sync_minutes": 60},
            {"sync_minutes": 15},
            {},
            {"sync_minutes": 5, "long_term": "online"},
        ]
        if ds.get("type") == "sql":  # SQL-HIGH-FREQUENCY (2016) looks at 15 minutes or less
            policies += [{"sync_minutes": 15}, {"sync_minutes": 16}, {"sync_minutes": 5}]
        policy = draw(st.sampled_from(policies))
        if policy is not None:
            ds["policy"] = policy
        good = [
            None,
            {"sync_minutes": 1440},
            {"sync_minutes": 60},
            {"short_term": "disk", "long_term": "tape"},
            {"long_term": "tape", "sync_before_recovery_point": True},
        ]
        if self.c.profile in ("2016", "2019", "2022", "2025"):
            good.append({"long_term": "online", "sync_minutes": 1440})  # a warning there
        bad = [
            {},
            {"short_term": "tape"},
            {"sync_minutes": 10},
            {"sync_minutes": 60, "sync_before_recovery_point": True},
            {"long_term": "online-and-tape"},
            {"sync_minutes": 1440, "exclude_extensions": [".tmp", ".bak"]},
        ]
        # without a replica the secondary policy is not read: anything goes
        sp = draw(st.sampled_from(good + bad)) if secondary is None else self.c.pick(good, bad)
        if sp is not None:
            ds["secondary_policy"] = copy.deepcopy(sp)


def _build(chooser: _Chooser, min_dpm: int, max_dpm: int) -> dict[str, Any]:
    """One topology document: DPM servers, protected servers, inactive replicas, waivers."""
    draw = chooser.draw
    entries, libraries, dpms = _DpmBuilder(chooser).build(min_dpm, max_dpm)
    servers = _servers(chooser, dpms)
    doc: dict[str, Any] = {"dpmsmt": 1}
    if draw(st.booleans()) or chooser.profile != "strict":
        doc["profile"] = chooser.profile
    if draw(st.integers(0, 3)) == 3:
        doc["name"] = draw(st.sampled_from(["Estate", "a: b # c", "2019", ""]))
    doc["dpm_servers"] = entries
    if servers or draw(st.booleans()):
        doc["servers"] = servers
    ids = [f"{s}/{ds['name']}" for s, sd in servers.items() for ds in sd.get("datasources", [])]
    if dpms.names and draw(st.integers(0, 2)) == 2:
        _inactive(chooser, doc, dpms, ids)
    if libraries or draw(st.integers(0, 3)) == 3:
        extra = [] if draw(st.booleans()) else ["TL9"]
        doc["tape_libraries"] = {
            lib: draw(st.sampled_from([{}, None])) for lib in [*libraries, *extra]
        }
    waiver = st.builds(
        _waiver,
        st.sampled_from(RULE_IDS),
        st.sampled_from([None, *dpms.names, *servers, *ids]),
        st.sampled_from([*LIVE, *EXPIRED]),
        st.booleans(),
    )
    waivers = draw(st.lists(waiver, max_size=3))
    if waivers:
        doc["waivers"] = waivers
    return doc


def _servers(chooser: _Chooser, dpms: _Dpms) -> dict[str, dict[str, Any]]:
    draw, names = chooser.draw, dpms.names
    builder = _ServerBuilder(chooser, dpms)
    servers: dict[str, dict[str, Any]] = {}
    m = draw(st.integers(0, _MAX_SERVERS))
    odd = draw(st.integers(0, 3)) == 3
    for k in range(m):
        sname = f"S{k + 1}"
        if odd:
            sname = draw(st.sampled_from([sname, *ODD_SERVER_NAMES]))
        taken = {canon(x) for x in [*servers, *names]}
        if canon(sname) in taken:
            sname = f"S{k + 1}"
            if canon(sname) in taken:
                continue
        servers[sname] = builder.build(sname)
    return servers


def _inactive(chooser: _Chooser, doc: dict[str, Any], dpms: _Dpms, ids: list[str]) -> None:
    """Inactive replicas: what a DPM server still holds after a move or a switch."""
    draw, servers = chooser.draw, doc.get("servers", {})
    candidates = [
        (holder, ds_id, source)
        for holder in dpms.names
        for ds_id in [*ids, "Gone/D:\\"]
        for source in [None, *dpms.names]
    ]
    safe = [c for c in candidates if not dpms.moved_under_secondary(doc, *c)]
    unsafe = [c for c in candidates if c not in safe]
    # the exception of MOVED-UNDER-SECONDARY: a switched data source's new primary still
    # holds its replica as the secondary of the server it was switched from
    switched = [
        (dpms.name(ds["primary"]), f"{s}/{ds['name']}", dpms.name(ds["switched_from"]))
        for s, sd in servers.items()
        for ds in sd.get("datasources", [])
        if ds.get("mode") == "switched" and ds.get("primary")
    ]
    entries = st.sampled_from(safe)
    if switched:
        entries |= st.sampled_from(switched)
    if unsafe and not chooser.safe:
        entries |= st.sampled_from(unsafe)
    chosen = draw(st.lists(entries, max_size=3, unique=True))
    for holder, ds_id, source in chosen:
        entry: dict[str, Any] = {"datasource": dpms.ref(ds_id)}
        if source is not None or draw(st.booleans()):
            entry["from"] = None if source is None else dpms.ref(source)
        doc["dpm_servers"][holder].setdefault("inactive", []).append(entry)


def _root(parent: list[int | None], i: int) -> int:
    while parent[i] is not None:
        i = parent[i]  # type: ignore[assignment]
    return i


def _waiver(rule: str, target: str | None, expires: str | None, lower: bool) -> dict[str, Any]:
    w: dict[str, Any] = {"rule": rule}
    if target is not None:
        w["target"] = target.lower() if lower else target
    w["reason"] = "accepted"
    if expires is not None:
        w["expires"] = expires
    return w


def _components(n: int, edges: set[tuple[int, int]]) -> list[int]:
    """A component label per node (union-find over the edges in either direction)."""
    label = list(range(n))

    def find(i: int) -> int:
        while label[i] != i:
            label[i] = label[label[i]]
            i = label[i]
        return i

    for x, y in edges:
        label[find(x)] = find(y)
    return [find(i) for i in range(n)]


# -- injected violations ------------------------------------------------------------------------


def _new_server(doc: dict, agent, datasources: list[dict]) -> str:
    servers = doc.setdefault("servers", {})
    taken = {canon(x) for x in [*servers, *doc["dpm_servers"]]}
    k = len(servers) + 1
    while canon(f"S{k}") in taken:
        k += 1
    name = f"S{k}"
    servers[name] = {"agent": agent, "datasources": datasources}
    return name


def _inject_agent_owner(doc: dict, draw) -> tuple[str, str] | None:
    """A data source protected by an up DPM server that does not own its computer's agent."""
    up = sorted(n for n, d in doc["dpm_servers"].items() if d.get("status", "up") == "up")
    if not up:
        return None
    dpm = draw(st.sampled_from(up))
    name = _new_server(doc, None, [{"name": "D:\\", "primary": dpm}])
    _same_side(doc, name, dpm)
    return "AGENT-OWNER", name


def _inject_self(doc: dict, draw) -> tuple[str, str]:
    dpm = draw(st.sampled_from(sorted(doc["dpm_servers"])))
    protects = doc["dpm_servers"][dpm].setdefault("protects", [])
    if canon(dpm) not in {canon(x) for x in protects}:
        protects.append(dpm)
    return "SECONDARY-NOT-SELF", dpm


def _inject_primary_down(doc: dict, draw) -> tuple[str, str] | None:
    dead = sorted(n for n, d in doc["dpm_servers"].items() if d.get("status", "up") != "up")
    if not dead:
        return None
    dpm = draw(st.sampled_from(dead))
    name = _new_server(doc, dpm, [{"name": "D:\\", "type": "volume"}])
    _same_side(doc, name, dpm)
    return "PRIMARY-DOWN", name


def _same_side(doc: dict, server: str, dpm: str) -> None:
    """A new server runs where its DPM server runs (so that AZURE-BOUNDARY holds)."""
    location = doc["dpm_servers"][dpm].get("location")
    if location is not None:
        doc["servers"][server]["location"] = location


def _inject_vmware(doc: dict, draw) -> tuple[str, str] | None:
    """A data source with a secondary becomes a VMware virtual machine."""
    found = [
        (s, ds)
        for s, sd in sorted((doc.get("servers") or {}).items())
        for ds in sd.get("datasources", [])
        if ds.get("secondary") is not None and ds.get("type") != "sharepoint"
    ]
    if not found:
        return None
    s, ds = draw(st.sampled_from(found))
    ds["type"] = "vmware"
    ds.pop("farm", None)
    return "VMWARE-NO-SECONDARY", f"{s}/{ds['name']}"


def _inject_dedup(doc: dict, draw) -> tuple[str, str] | None:
    found = [
        (s, ds)
        for s, sd in sorted((doc.get("servers") or {}).items())
        for ds in sd.get("datasources", [])
        if ds.get("secondary") is not None
    ]
    if not found:
        return None
    s, ds = draw(st.sampled_from(found))
    ds["dedup"] = True
    return "DEDUP-NO-SECONDARY", f"{s}/{ds['name']}"


def _inject_once(doc: dict, draw) -> tuple[str, str] | None:
    names = sorted(doc["dpm_servers"])
    if len(names) < 3:
        return None
    y, a, b = draw(st.permutations(names))[:3]
    for x in (a, b):
        protects = doc["dpm_servers"][x].setdefault("protects", [])
        if canon(y) not in {canon(p) for p in protects}:
            protects.append(y)
    return "SECONDARY-ONCE", y


def _inject_version(doc: dict, draw) -> tuple[str, str] | None:
    alive = sorted(n for n, d in doc["dpm_servers"].items() if d.get("status") != "removed")
    if len(alive) < 2:
        return None
    x, y = draw(st.permutations(alive))[:2]
    doc["dpm_servers"][x]["version"] = "5.1.363.0"
    doc["dpm_servers"][y]["version"] = "10.19.58.0"
    protects = doc["dpm_servers"][x].setdefault("protects", [])
    if canon(y) not in {canon(p) for p in protects}:
        protects.append(y)
    return "VERSION-MATCH", y


# Each makes an error of its rule whatever else the topology holds (None: not applicable).
_INJECTIONS = (
    _inject_agent_owner,
    _inject_self,
    _inject_primary_down,
    _inject_dedup,
    _inject_once,
    _inject_version,
    _inject_vmware,
)
# These add an error of their rule and of no other rule (for waived errors in valid estates).
_CLEAN_INJECTIONS = (_inject_agent_owner, _inject_primary_down, _inject_dedup)


def _inject(doc: dict, draw, injections) -> tuple[str, str] | None:
    order = draw(st.permutations(range(len(injections))))
    for i in order:
        done = injections[i](doc, draw)
        if done is not None:
            return done
    return None


# -- public strategies ------------------------------------------------------------------------


def document_to_topology(doc: dict[str, Any]) -> Topology:
    """Read a topology document (plain data, as `dpmsmt.io.dump.document(..., flow=False)`)."""
    return loads(json.dumps(doc), format="json", file="<generated>")


@st.composite
def _documents(draw, min_dpm: int, max_dpm: int, valid: bool | None, profile: str | None):
    if valid is None:
        valid_here = draw(st.booleans())
        inject = False
    else:
        valid_here, inject = valid, not valid
    prof = profile if profile is not None else draw(st.sampled_from(PROFILES))
    wildness = 0 if valid_here else draw(st.sampled_from([1, 3, 10]))
    chooser = _Chooser(draw, safe=valid_here, profile=prof, wildness=wildness)
    doc = _build(chooser, max(min_dpm, 1) if inject else min_dpm, max_dpm)
    add_fidelity_keys(doc, draw, safe=valid_here, profile=prof)
    if inject:
        rule, _ = _inject(doc, draw, _INJECTIONS)  # _inject_self always applies
        # no live waiver may cover the injected error
        doc["waivers"] = [
            w for w in doc.get("waivers", []) if w["rule"] != rule or w.get("expires") in EXPIRED
        ]
        if not doc["waivers"]:
            del doc["waivers"]
    elif doc["dpm_servers"] and draw(st.integers(0, 4)) == 4:
        # an error, accepted by a waiver: still valid (and not counted) when safe
        done = _inject(doc, draw, _CLEAN_INJECTIONS)
        if done is not None:
            rule, target = done
            w = {"rule": rule, "target": draw(st.sampled_from([None, target])), "reason": "ok"}
            if w["target"] is None:
                del w["target"]
            expires = draw(st.sampled_from(LIVE))
            if expires is not None:
                w["expires"] = expires
            doc.setdefault("waivers", []).append(w)
    return doc


def topologies(
    *,
    min_dpm: int = 1,
    max_dpm: int = 6,
    valid: bool | None = None,
    profile: str | None = None,
) -> st.SearchStrategy[Topology]:
    """Topologies across the whole file format.

    Parameters
    ----------
    min_dpm, max_dpm
        How many DPM servers (0 <= min_dpm <= max_dpm; at least 1 when `valid=False`).
    valid
        True: `dpmsmt.check(t)` finds no unwaived error (under the topology's own profile, for
        any `today` from 2021-01-01 to 2099-12-30); False: it finds at least one; None: either.
    profile
        The file's profile (`strict`, `"2012"` … `"2025"`); None draws one.
    """
    if not (isinstance(min_dpm, int) and isinstance(max_dpm, int) and 0 <= min_dpm <= max_dpm):
        raise InvalidArgument(f"need 0 <= min_dpm <= max_dpm, got {min_dpm=} {max_dpm=}")
    if valid not in (None, True, False):
        raise InvalidArgument(f"valid must be None, True or False, not {valid!r}")
    if valid is False and max_dpm < 1:
        raise InvalidArgument("valid=False needs max_dpm >= 1 (an error needs a DPM server)")
    if profile is not None and profile not in PROFILES:
        raise InvalidArgument(f"unknown profile {profile!r} (one of {', '.join(PROFILES)})")
    return _documents(min_dpm, max_dpm, valid, profile).map(document_to_topology)


def failures(
    topology: Topology, *, max_size: int | None = None
) -> st.SearchStrategy[frozenset[str]]:
    """Non-empty sets of the topology's up DPM servers, to fail at once (`suggest_moves(failed=)`)."""
    up = [n for n, d in topology.dpm_servers.items() if d.up]
    if not up:
        raise InvalidArgument("the topology has no up DPM server to fail")
    return st.frozensets(st.sampled_from(up), min_size=1, max_size=max_size or len(up))


# ---- changes ----------------------------------------------------------------------------------


def _fail(d: dict, failure: dict | None) -> None:
    d["status"] = "failed"
    d.pop("failure", None)
    if failure:
        d["failure"] = failure


def _up(d: dict) -> None:
    d.pop("status", None)
    d.pop("failure", None)


def _primary_of(sd: dict, ds: dict):
    if "primary" in ds:
        return ds["primary"]
    agent = sd.get("agent")
    if isinstance(agent, list):
        return agent[0] if len(agent) == 1 else None
    return agent


class _Change:
    """One change drawn to a topology: `before` and `after` start as copies of its document."""

    def __init__(self, draw, topology: Topology, doc: dict, protected: list, switchable: list):
        self.draw, self.topology, self.protected, self.switchable = (
            draw,
            topology,
            protected,
            switchable,
        )
        self.dpms: dict[str, dict] = doc["dpm_servers"]
        self.servers: dict[str, dict] = doc.get("servers", {})
        self.before, self.after = copy.deepcopy(doc), copy.deepcopy(doc)

    def failure(self):
        return self.draw(
            st.sampled_from([None, {"database": "intact"}, {"database": "lost", "storage": "lost"}])
        )

    def dpm(self) -> str:
        return self.draw(st.sampled_from(list(self.dpms)))

    def move(self) -> None:
        """A protected server moves to another DPM server (with its secondary)."""
        draw = self.draw
        s, p = draw(st.sampled_from(self.protected))
        n = draw(st.sampled_from([x for x in self.dpms if x != p]))
        protector = self.topology.protectors[n]
        sd = self.after["servers"][s]
        sd["agent"] = n
        for ds in sd.get("datasources", []):
            if _primary_of(self.servers[s], ds) is None:
                continue
            ds.update(primary=n, mode="normal")
            ds.pop("switched_from", None)
            ds.pop("secondary", None)
            if len(protector) == 1 and draw(st.booleans()):
                ds["secondary"] = protector[0]

    def switch(self) -> None:
        """p fails; its server is switched to p's secondary."""
        s, p = self.draw(st.sampled_from(self.switchable))
        q = self.draw(st.sampled_from(list(self.topology.protectors[p])))
        failure = self.failure()
        for side in (self.before, self.after):
            if side["dpm_servers"][p].get("status", "up") == "up":
                _fail(side["dpm_servers"][p], failure)
        sd = self.after["servers"][s]
        sd["agent"] = q
        for ds in sd.get("datasources", []):
            if _primary_of(self.servers[s], ds) == p:
                ds.update(primary=q, mode="switched", switched_from=p)
                ds.pop("secondary", None)
            elif "primary" not in ds:
                ds["primary"] = _primary_of(self.servers[s], ds)

    def rebuild(self) -> None:
        """d failed, comes back (same or another version)."""
        d = self.dpm()
        _fail(self.before["dpm_servers"][d], self.failure())
        _up(self.after["dpm_servers"][d])
        version = self.draw(st.sampled_from([self.dpms[d]["version"], *FULL_VERSIONS]))
        self.before["dpm_servers"][d]["version"] = self.dpms[d]["version"]
        self.after["dpm_servers"][d]["version"] = version

    def comeback(self) -> None:
        """A removed server comes back (REMOVED-IS-GONE)."""
        d = self.dpm()
        self.before["dpm_servers"][d]["status"] = "removed"
        self.before["dpm_servers"][d].pop("failure", None)
        _up(self.after["dpm_servers"][d])

    def rename(self) -> None:
        """d keeps its identity under a new name (DPM-KEEPS-NAME-AND-DOMAIN)."""
        d = self.dpm()
        identity = self.dpms[d].get("identity") or f"guid-{d}"
        for side in (self.before, self.after):
            side["dpm_servers"][d]["identity"] = identity
        _rename(self.after, d, _fresh_name(self.after, f"{d}-NEW"))

    def domain(self) -> None:
        """d moves to another domain."""
        d = self.dpm()
        self.before["dpm_servers"][d]["domain"] = "corp.example"
        self.after["dpm_servers"][d]["domain"] = self.draw(
            st.sampled_from(["corp.example", "new.example"])
        )

    def fail(self) -> None:
        """A server fails."""
        d = self.dpm()
        _up(self.before["dpm_servers"][d])
        _fail(self.after["dpm_servers"][d], self.failure())


@st.composite
def _changes(draw, topology: Topology, renames: bool = False):
    doc = document(topology, flow=False)
    dpms, servers = doc["dpm_servers"], doc.get("servers", {})
    protected = [
        (s, p)
        for s, sd in servers.items()
        for p in sorted({_primary_of(sd, ds) for ds in sd.get("datasources", [])} - {None})
    ]
    switchable = [(s, p) for s, p in protected if topology.protectors.get(p)]
    kinds = []
    if protected and len(dpms) >= 2:
        kinds.append("move")
    if switchable:
        kinds.append("switch")
    if dpms:
        kinds += ["rebuild", "comeback", "fail", "domain"] + (["rename"] if renames else [])
    if not kinds:
        return topology, topology
    kind = draw(st.sampled_from(kinds))
    change = _Change(draw, topology, doc, protected, switchable)
    getattr(change, kind)()
    return document_to_topology(change.before), document_to_topology(change.after)


def _fresh_name(doc: dict, name: str) -> str:
    taken = {canon(n) for n in [*doc["dpm_servers"], *(doc.get("servers") or {})]}
    while canon(name) in taken:
        name += "X"
    return name


_DPM_REFS = (
    "protects",
    "knows",
    "agent",
    "primary",
    "secondary",
    "switched_from",
    "from",
    "target",
)


def _rename(doc: dict, old: str, new: str) -> None:
    """Rename DPM server `old` to `new` in a document, references included."""
    doc["dpm_servers"] = {(new if n == old else n): d for n, d in doc["dpm_servers"].items()}

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _DPM_REFS and isinstance(value, str) and canon(value) == canon(old):
                    node[key] = new
                elif key in _DPM_REFS and isinstance(value, list):
                    node[key] = [
                        new if isinstance(v, str) and canon(v) == canon(old) else v for v in value
                    ]
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in doc.items() if k != "expect"})


def changes(
    topology: Topology, *, renames: bool = False
) -> st.SearchStrategy[tuple[Topology, Topology]]:
    """(before, after) pairs of a change to `topology`.

    A protected server moved to another DPM server; switched to its primary's secondary after the
    primary failed; a failed DPM server rebuilt with the same or another version; a removed one
    coming back; a DPM server failing; a DPM server moved to another domain. With `renames`, also
    a DPM server renamed under the same `identity` (names then differ between the snapshots).
    (A topology with no DPM server gives `(t, t)`.)
    """
    return _changes(topology, renames)
