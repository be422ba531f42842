"""Deterministic generator of realistic synthetic DPM estates, in the topology file format.

    doc = generate(300, 200_000, seed=0, violations=5)
    write(doc, "estate.yaml")      # or "estate.json"

The estate (format.md, version 1, default profile `strict`):

- DPM servers come in groups of 3 or 4 (a remainder of 2 is a 2-cycle, of 1 a standalone server),
  one site per group (`DPM-LON-01`...). A group is one of a few shapes: a fan (one secondary
  protects 2 or 3 primaries, like the seed), a chain of 3 or 4 (primary <- secondary <- tertiary),
  a 2-cycle with two primaries behind it, or two 2-cycles. Every server of a group runs the same
  DPM build (a quoted `10.19.58.0`-style string) on the same OS string.
- Protected servers (`LON-FS001`, `LON-SQL002`...) have one agent owner and 10-40 data sources
  (about `n_ds / 20` servers; at most 98 per DPM server, so CAPACITY-SERVERS holds where the sizes
  allow it). Data sources are spread so that the data sources a DPM server holds as primary plus
  the replicas it holds as a secondary stay balanced (CAPACITY-DATASOURCES holds at the benchmark
  sizes). Roles: file servers (volumes, shares, folders, some deduplicated volumes), SQL servers,
  Hyper-V hosts (some clusters, a few scaled-out clusters with two agent owners), Exchange,
  SharePoint and application servers.
- A data source's `secondary` is its primary's protector where it has one (except deduplicated
  volumes and scaled-out Hyper-V, which cannot have one). About 1% of the servers are switched to
  their primary's secondary. Some protection groups carry a `policy`, some a `secondary_policy`
  (disk, daily synchronization).
- `violations` rule violations of different kinds are injected, one error finding each (the kinds
  cycle through `VIOLATION_KINDS`); the `expect` block lists the error ids injected and the
  capacity warnings the estate has, and `description` names the injected targets.

The same arguments give the same document (and byte-identical files); the base estate does not
depend on `violations`. 200k data sources take about a second to generate.

Run as a script to write one estate: `python benchmarks/estates.py 300 200000 estate.yaml`.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import time
from pathlib import Path

__all__ = ["VIOLATION_KINDS", "generate", "to_yaml", "write"]

VIOLATION_KINDS = (
    "SECONDARY-ONCE",
    "VERSION-MATCH",
    "DEDUP-NO-SECONDARY",
    "SECONDARY-IS-PROTECTOR",
    "SWITCHED-NO-SECONDARY",
    "SELF-PROTECTION-BREAKS-CHAIN",
    "SQL-VSS-WRITER",
    "DB-BACKUP-WITH-SECONDARY",
    "UNTRUSTED-NEEDS-CERTIFICATE",
    "REPLICA-NO-EXCLUSIONS",
    "AGENT-OWNER",
    "MABS-NO-SECONDARY",
)

MAX_SERVERS_PER_DPM = 98  # CAPACITY-SERVERS is 100; leave room for scaled-out clusters
CAPACITY_SERVERS = 100
CAPACITY_DATASOURCES = 2000  # strict profile

# (version family, OS) -> builds of that family; a group picks one build.
_FAMILIES = (
    (("5.0.158.0", "5.0.322.0", "5.0.342.0"), "Windows Server 2016 Datacenter 10.0.14393.6897"),
    (
        ("10.19.58.0", "10.19.260.0", "10.19.458.0", "10.19.580.0"),
        "Windows Server 2019 Datacenter 10.0.17763.5820",
    ),
    (
        ("10.22.123.0", "10.22.148.0", "10.22.189.0"),
        "Windows Server 2022 Datacenter 10.0.20348.2461",
    ),
)
_FAMILY_WEIGHTS = (1, 3, 2)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SITES = _words(
    "LON NYC FRA PAR AMS MAD MIL ZRH VIE STO OSL CPH HEL DUB BRU WAW PRG BUD IST ATH LIS CHI "
    "DAL SEA SFO LAX MIA ATL BOS TOR MEX GRU SCL JNB DXB BOM SIN HKG TYO SYD"
)

# Group shapes: (edges as (protector, protected) member indexes, own-data weight per member).
# The weights make the load of every DPM server (data sources it holds as primary plus replicas
# it holds as a secondary) at most 6 units, so no shape overloads its secondaries.
_SHAPES = {
    1: ((("single", (), (6,)), 1),),
    2: ((("pair", ((0, 1), (1, 0)), (3, 3)), 1),),
    3: (
        (("fan3", ((2, 0), (2, 1)), (3, 3, 0)), 5),  # loads 3, 3, 6
        (("chain3", ((1, 0), (2, 1)), (4, 2, 4)), 5),  # loads 4, 6, 6
    ),
    4: (
        (("fan4", ((3, 0), (3, 1), (3, 2)), (2, 2, 2, 0)), 1),  # loads 2, 2, 2, 6
        (("chain4", ((1, 0), (2, 1), (3, 2)), (4, 2, 4, 2)), 3),  # loads 4, 6, 6, 6
        (("cycle4", ((0, 1), (1, 0), (0, 2), (1, 3)), (1, 1, 4, 4)), 3),  # loads 6, 6, 4, 4
        (("pair2x2", ((0, 1), (1, 0), (2, 3), (3, 2)), (3, 3, 3, 3)), 2),  # loads 6
    ),
}

_ROLES = ("file", "sql", "hyperv", "exchange", "sharepoint", "app")
_ROLE_WEIGHTS = (30, 20, 20, 5, 5, 20)
_ROLE_PREFIX = {
    "file": "FS",
    "sql": "SQL",
    "hyperv": "HV",
    "exchange": "EX",
    "sharepoint": "SP",
    "app": "APP",
}
_ROLE_PG = {
    "file": "PG-Files",
    "sql": "PG-SQL",
    "hyperv": "PG-HyperV",
    "exchange": "PG-Exchange",
    "sharepoint": "PG-SharePoint",
    "app": "PG-Apps",
}
_ROLE_POLICIES = {
    "file": (
        {"sync_minutes": 60, "long_term": "online"},
        {"sync_minutes": 30, "exclude_extensions": [".tmp", ".bak"]},
    ),
    "sql": ({"sync_minutes": 15, "long_term": "online"}, {"sync_minutes": None}),
    "hyperv": ({"sync_minutes": 240, "long_term": "tape"},),
    "exchange": ({"sync_minutes": 15},),
    "sharepoint": ({"sync_minutes": 60, "long_term": "tape"},),
    "app": (
        {"sync_minutes": 120},
        {"short_term": "disk", "long_term": "online-and-tape", "sync_minutes": 720},
    ),
}
_SECONDARY_POLICIES = ({"sync_minutes": 1440}, {"sync_minutes": 1440, "long_term": "tape"})

_WORDS = _words(
    "Finance HR Legal Projects Users Profiles Public Scans Archive Engineering Marketing "
    "Sales IT Software Payroll Research Support Design Ops Quality"
)
_DBS = _words(
    "Sales CRM ERP Billing Inventory Orders HRIS Reporting Audit Portal Payroll Warehouse "
    "Logistics Telemetry Catalog Ledger"
)
_APP_DIRS = ("App", "Logs", "Data", "Config", "Exports", "Imports", "Spool", "Temp", "Media")
_LETTERS = "DEFGHIJKLMNOPQRSTUVWXYZ"


# --------------------------------------------------------------------------------------------
# generation


def generate(n_dpm: int, n_ds: int, *, seed: int = 0, violations: int = 5) -> dict:
    """A synthetic estate with `n_dpm` DPM servers and exactly `n_ds` data sources.

    Returns the raw document (dicts, lists, str, int, bool, None) in the topology file format.
    """
    if n_dpm < 1:
        raise ValueError("n_dpm must be at least 1")
    if n_ds < 0 or violations < 0:
        raise ValueError("n_ds and violations must not be negative")
    rng = random.Random(f"dpmsmt-estate:{seed}:{n_dpm}:{n_ds}")

    # -- DPM servers, in groups ----------------------------------------------------------
    groups: list[dict] = []
    dpm_servers: dict[str, dict] = {}
    weight: dict[str, int] = {}
    protectors: dict[str, list[str]] = {}
    group_of: dict[str, int] = {}
    remaining = n_dpm
    while remaining:
        if remaining in (1, 2, 3, 4):
            size = remaining
        elif remaining == 5:
            size = 3
        else:
            size = rng.choice((3, 4))
        remaining -= size
        gi = len(groups)
        shapes = _SHAPES[size]
        (shape, edges, weights) = rng.choices([s for s, _ in shapes], [w for _, w in shapes])[0]
        site = _SITES[gi % len(_SITES)] + (str(gi // len(_SITES) + 1) if gi >= len(_SITES) else "")
        builds, os_name = rng.choices(_FAMILIES, _FAMILY_WEIGHTS)[0]
        version = rng.choice(builds)
        members = [f"DPM-{site}-{i + 1:02d}" for i in range(size)]
        for m, w in zip(members, weights, strict=True):
            dpm_servers[m] = {"version": version, "os": os_name}
            weight[m] = w
            protectors[m] = []
            group_of[m] = gi
        for x, y in edges:
            dpm_servers[members[x]].setdefault("protects", []).append(members[y])
            protectors[members[y]].append(members[x])
        groups.append(
            {"site": site, "members": members, "shape": shape, "builds": builds, "counter": {}}
        )

    def protector(d: str) -> str | None:
        ps = protectors[d]
        return ps[0] if len(ps) == 1 else None

    # -- data sources per DPM server (largest remainder over the weights) ------------------
    total_w = sum(weight.values())
    target: dict[str, int] = {}
    fractions = []
    for d, w in weight.items():
        exact = n_ds * w / total_w
        target[d] = int(exact)
        fractions.append((-(exact - int(exact)), d))
    fractions.sort()
    for _, d in fractions[: n_ds - sum(target.values())]:
        target[d] += 1

    servers: dict[str, dict] = {}
    records: list[dict] = []  # internal: one per protected server, for the injections
    policies: dict[tuple[str, str], tuple[dict | None, dict | None, bool]] = {}

    for d, tgt in target.items():
        if tgt <= 0:
            continue
        n_srv = max(1, min(MAX_SERVERS_PER_DPM, round(tgt / 20)))
        raw = [rng.triangular(10, 40, 10) for _ in range(n_srv)]
        scale = tgt / sum(raw)
        sizes = [max(1, int(r * scale)) for r in raw]
        i = 0
        while sum(sizes) < tgt:
            sizes[i % n_srv] += 1
            i += 1
        while sum(sizes) > tgt:  # only when tgt < n_srv would need sizes of 0
            j = max(range(n_srv), key=sizes.__getitem__)
            sizes[j] -= 1
        g = groups[group_of[d]]
        hosts = [m for m in g["members"] if m != d and target[m] > 0]
        for size in sizes:
            if size <= 0:
                continue
            role = rng.choices(_ROLES, _ROLE_WEIGHTS)[0]
            scale_out = role == "hyperv" and bool(hosts) and rng.random() < 0.08
            switched = not scale_out and protector(d) is not None and rng.random() < 0.01
            prefix = _ROLE_PREFIX[role]
            k = g["counter"][prefix] = g["counter"].get(prefix, 0) + 1
            name = f"{g['site']}-{prefix}{k:03d}"
            rec = _make_server(
                rng,
                name,
                role,
                size,
                d,
                protector(d),
                scale_out,
                hosts,
                switched,
                policies,
                servers,
            )
            records.append(rec)

    doc: dict = {
        "dpmsmt": 1,
        "name": f"Synthetic estate: {n_dpm} DPM servers, {n_ds} data sources (seed {seed})",
    }
    injected = _inject(
        random.Random(f"dpmsmt-violations:{seed}:{n_dpm}:{n_ds}"),
        violations,
        groups,
        dpm_servers,
        protectors,
        records,
    )
    description = "Generated by benchmarks/estates.py."
    if injected:
        description += " Injected violations: " + "; ".join(f"{k} ({t})" for k, t in injected)
    doc["description"] = description
    doc["dpm_servers"] = dpm_servers
    doc["servers"] = servers
    errors = sorted(k for k, _ in injected)
    doc["expect"] = {
        "verdict": "invalid" if errors else "valid",
        "findings": errors,
        "warnings": _capacity_warnings(dpm_servers, servers),
        "infos": [],
    }
    return doc


def _make_server(rng, name, role, size, dpm, prot, scale_out, hosts, switched, policies, servers):
    """Add one protected server to `servers`; return its internal record."""
    ds_list: list[dict] = []
    explicit_primary = rng.random() < 0.2
    if scale_out:
        other = rng.choice(hosts)
        owners = [dpm, other]
        server: dict = {"agent": owners, "cluster": True, "datasources": ds_list}
        for j, (nm, typ) in enumerate(_names(rng, name, "hyperv", size, vm_only=True)):
            ds_list.append(
                {"name": nm, "type": typ, "primary": owners[j % 2], "hyperv_scale_out": True}
            )
        servers[name] = server
        return {"name": name, "dpm": dpm, "ds": ds_list, "kind": "scale-out", "server": server}

    agent = prot if switched else dpm
    server = {"agent": agent}
    if role in ("hyperv", "sql") and rng.random() < 0.15:
        server["cluster"] = True
    server["datasources"] = ds_list
    pol, spol, pg = _policies(rng, policies, dpm, role, prot)
    for nm, typ in _names(rng, name, role, size):
        ds: dict = {"name": nm, "type": typ}
        if switched:
            ds["primary"] = prot
            ds["mode"] = "switched"
            ds["switched_from"] = dpm
        else:
            if explicit_primary:
                ds["primary"] = dpm
            dedup = typ == "volume" and role == "file" and nm != "C:\\" and rng.random() < 0.25
            if dedup:
                ds["dedup"] = True
            elif prot is not None:
                ds["secondary"] = prot
        if pg:
            ds["protection_group"] = _ROLE_PG[role]
        if pol is not None:
            ds["policy"] = dict(pol)
        if spol is not None and "secondary" in ds:
            ds["secondary_policy"] = dict(spol)
        ds_list.append(ds)
    servers[name] = server
    return {
        "name": name,
        "dpm": dpm,
        "ds": ds_list,
        "kind": "switched" if switched else "normal",
        "server": server,
    }


def _policies(rng, cache, dpm, role, prot):
    key = (dpm, role)
    if key not in cache:
        pol = rng.choice(_ROLE_POLICIES[role]) if rng.random() < 0.35 else None
        spol = rng.choice(_SECONDARY_POLICIES) if prot is not None and rng.random() < 0.35 else None
        cache[key] = (pol, spol, rng.random() < 0.1)
    return cache[key]


def _names(rng, server, role, size, *, vm_only=False):
    """`size` (name, type) pairs, unique within the server (case-insensitively)."""
    out: list[tuple[str, str]] = []
    site = server.split("-", 1)[0]
    if vm_only:
        base = rng.randrange(1000)
        return [(f"Online\\{site}-VM{base + i:04d}", "hyperv") for i in range(size)]

    def add(name, typ):
        if len(out) < size:
            out.append((name, typ))

    if role == "file":
        add("C:\\", "volume")
        add("System Protection", "system-state")
        for letter in _LETTERS[: rng.randint(1, 6)]:
            add(f"{letter}:\\", "volume")
        i = 0
        while len(out) < size:
            word = _WORDS[i % len(_WORDS)] + (str(i // len(_WORDS)) if i >= len(_WORDS) else "")
            if i % 3 == 2:
                add(f"D:\\Data\\{word}", "folder")
            else:
                add(f"\\\\{server}\\{word}", "share")
            i += 1
    elif role in ("sql", "sharepoint"):
        add("C:\\", "volume")
        add("System Protection", "system-state")
        if role == "sharepoint":
            add(f"Sharepoint Farm\\{server}\\SharePoint_Config", "sharepoint")
        instance = "MSSQLSERVER" if rng.random() < 0.6 else f"{server}\\SQL{rng.randint(1, 3)}"
        i = 0
        while len(out) < size:
            if role == "sharepoint":
                add(f"{instance}/WSS_Content_{i:03d}", "sql")
            else:
                add(f"{instance}/{_DBS[i % len(_DBS)]}_{i // len(_DBS):02d}", "sql")
            i += 1
    elif role == "hyperv":
        add("Host Component", "hyperv")
        base = rng.randrange(1000)
        i = 0
        while len(out) < size:
            add(f"Online\\{site}-VM{base + i:04d}", "hyperv")
            i += 1
    elif role == "exchange":
        add("C:\\", "volume")
        base = rng.randrange(10**9, 10**10 - 1000)
        i = 0
        while len(out) < size:
            add(f"Mailbox Database {base + i}", "exchange")
            i += 1
    else:  # app
        add("C:\\", "volume")
        add("System Protection", "system-state")
        add("Bare Metal Recovery", "bare-metal")
        add("D:\\", "volume")
        i = 0
        while len(out) < size:
            sub = _APP_DIRS[i % len(_APP_DIRS)] + str(i // len(_APP_DIRS))
            add(f"D:\\App\\{sub}", "other" if i % 4 == 3 else "folder")
            i += 1
    return out


# --------------------------------------------------------------------------------------------
# injected violations


def _inject(rng, count, groups, dpm_servers, protectors, records):
    """Inject `count` violations, one error finding each; return [(rule id, target)]."""
    injected: list[tuple[str, str]] = []
    used_dpms: set[str] = set()
    used_groups: set[int] = set()
    used_servers: set[str] = set()
    no_edges: set[tuple[str, str]] = set()  # protections that would undo an injection
    group_index = {m: gi for gi, g in enumerate(groups) for m in g["members"]}

    def protector(d):
        ps = protectors[d]
        return ps[0] if len(ps) == 1 else None

    def protects(d):
        return dpm_servers[d].get("protects", [])

    def reaches(a, b):
        """Is there a protection path a -> ... -> b (a protects ... protects b)?"""
        seen, stack = {a}, [a]
        while stack:
            x = stack.pop()
            if x == b:
                return True
            for y in protects(x):
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        return False

    def pick(seq):
        return seq[rng.randrange(len(seq))] if seq else None

    def dpm_candidates(extra=lambda d: True):
        return [
            d
            for d in dpm_servers
            if d not in used_dpms
            and protector(d) is not None
            and dpm_servers[d].get("kind", "dpm") == "dpm"
            and extra(d)
        ]

    def normal_servers(extra=lambda r: True):
        return [
            r
            for r in records
            if r["kind"] == "normal"
            and r["name"] not in used_servers
            and protector(r["dpm"]) is not None
            and extra(r)
        ]

    def with_secondary(r):
        return [ds for ds in r["ds"] if "secondary" in ds]

    def secondary_once():
        cands = []
        for gi, g in enumerate(groups):
            if gi in used_groups:
                continue
            for y in g["members"]:
                x = protector(y)
                if x is None or y in used_dpms:
                    continue
                for z in g["members"]:
                    if (
                        z not in (x, y)
                        and z not in used_dpms
                        and (z, y) not in no_edges
                        and not reaches(y, z)
                    ):
                        cands.append((gi, y, z))
        c = pick(cands)
        if c is None:
            return None
        gi, y, z = c
        dpm_servers[z].setdefault("protects", []).append(y)
        protectors[y].append(z)
        used_groups.add(gi)
        used_dpms.update((y, z))
        return f"{y} protected by {protectors[y][0]} and {z}"

    def version_match():
        cands = [
            d
            for d in dpm_servers
            if group_index[d] not in used_groups and (protects(d) or protectors[d])
        ]
        d = pick(cands)
        if d is None:
            return None
        g = groups[group_index[d]]
        old = dpm_servers[d]["version"]
        new = pick([b for b in g["builds"] if b != old])
        dpm_servers[d]["version"] = new
        used_groups.add(group_index[d])
        return f"{d} runs {new}, its chain {old}"

    def dedup():
        cands = [
            (r, ds)
            for r in normal_servers()
            for ds in with_secondary(r)
            if ds["type"] == "volume" and ds["name"] != "C:\\"
        ]
        c = pick(cands)
        if c is None:
            return None
        r, ds = c
        ds["dedup"] = True
        used_servers.add(r["name"])
        return f"{r['name']}/{ds['name']}"

    def secondary_is_protector():
        r = pick(normal_servers(with_secondary))
        if r is None:
            return None
        ds = pick(with_secondary(r))
        p, s = r["dpm"], ds["secondary"]
        up = protector(s)
        if up is None or up in (p, s):
            up = pick([d for d in dpm_servers if d not in (p, s)])
            if up is None:
                return None
        ds["secondary"] = up
        no_edges.add((up, p))
        used_servers.add(r["name"])
        return f"{r['name']}/{ds['name']} secondary {up}, {p} is protected by {s}"

    def switched_no_secondary():
        def ok(r):
            s = protector(r["dpm"])
            return protector(s) is not None and r["dpm"] not in used_dpms and s not in used_dpms

        r = pick(normal_servers(ok))
        if r is None:
            return None
        p = r["dpm"]
        s = protector(p)
        t = protector(s)
        server_name = r["name"]
        # a switched data source: name, type, primary, mode, switched_from, then the rest
        for i, ds in enumerate(r["ds"]):
            head = {
                "name": ds["name"],
                "type": ds["type"],
                "primary": s,
                "mode": "switched",
                "switched_from": p,
            }
            if i == 0:
                head["secondary"] = t
            rest = {
                k: v
                for k, v in ds.items()
                if k not in head and k not in ("secondary", "secondary_policy", "dedup")
            }
            ds.clear()
            ds.update(head)
            ds.update(rest)
        r["server"]["agent"] = s
        r["kind"] = "switched"
        used_servers.add(server_name)
        return f"{server_name}/{r['ds'][0]['name']} switched to {s}, secondary {t}"

    def dpm_attr(setter):
        def inject():
            d = pick(dpm_candidates())
            if d is None:
                return None
            setter(dpm_servers[d])
            used_dpms.add(d)
            return d

        return inject

    def replica_no_exclusions():
        r = pick(normal_servers(with_secondary))
        if r is None:
            return None
        ds = pick(with_secondary(r))
        sp = dict(ds.get("secondary_policy") or {"sync_minutes": 1440})
        sp["exclude_extensions"] = [".tmp", ".bak"]
        ds["secondary_policy"] = sp
        used_servers.add(r["name"])
        return f"{r['name']}/{ds['name']}"

    def agent_owner():
        def ok(r):
            return any(not ds.get("dedup") for ds in r["ds"])

        r = pick(normal_servers(ok))
        if r is None:
            return None
        others = [d for d in dpm_servers if d != r["dpm"] and len(protectors[d]) <= 1]
        x = pick(others)
        if x is None:
            return None
        ds = pick([ds for ds in r["ds"] if not ds.get("dedup")])
        ds["primary"] = x
        ds.pop("secondary", None)
        ds.pop("secondary_policy", None)
        if protectors[x]:
            ds["secondary"] = protectors[x][0]
        used_servers.add(r["name"])
        return f"{r['name']}/{ds['name']} primary {x}, agent {r['dpm']}"

    def mabs():
        d = pick(dpm_candidates(lambda d: not protects(d)))
        if d is None:
            return None
        dpm_servers[d] = {"kind": "mabs", **dpm_servers[d]}
        used_dpms.add(d)
        return d

    def set_db(**kw):
        def setter(dd):
            dd.setdefault("database", {}).update(kw)

        return setter

    def set_key(key, value):
        def setter(dd):
            dd[key] = value

        return setter

    makers = {
        "SECONDARY-ONCE": secondary_once,
        "VERSION-MATCH": version_match,
        "DEDUP-NO-SECONDARY": dedup,
        "SECONDARY-IS-PROTECTOR": secondary_is_protector,
        "SWITCHED-NO-SECONDARY": switched_no_secondary,
        "SELF-PROTECTION-BREAKS-CHAIN": dpm_attr(set_key("protects_own_database", True)),
        "SQL-VSS-WRITER": dpm_attr(set_db(vss_writer="stopped")),
        "DB-BACKUP-WITH-SECONDARY": dpm_attr(set_db(backup="tape")),
        "UNTRUSTED-NEEDS-CERTIFICATE": dpm_attr(set_key("trust", "untrusted")),
        "REPLICA-NO-EXCLUSIONS": replica_no_exclusions,
        "AGENT-OWNER": agent_owner,
        "MABS-NO-SECONDARY": mabs,
    }
    k = 0
    failures = 0
    while len(injected) < count and failures < len(VIOLATION_KINDS):
        kind = VIOLATION_KINDS[k % len(VIOLATION_KINDS)]
        k += 1
        target = makers[kind]()
        if target is None:
            failures += 1
            continue
        failures = 0
        injected.append((kind, target))
    return injected


def _capacity_warnings(dpm_servers, servers):
    n_servers = dict.fromkeys(dpm_servers, 0)
    n_ds = dict.fromkeys(dpm_servers, 0)
    for s in servers.values():
        agent = s.get("agent")
        for a in agent if isinstance(agent, list) else [agent] if agent else []:
            n_servers[a] += 1
        default = agent if isinstance(agent, str) else None
        for ds in s.get("datasources", ()):
            p = ds.get("primary", default)
            sec = ds.get("secondary")
            if p is not None:
                n_ds[p] += 1
            if sec is not None and sec != p:
                n_ds[sec] += 1
    out = ["CAPACITY-SERVERS" for d in dpm_servers if n_servers[d] > CAPACITY_SERVERS]
    out += ["CAPACITY-DATASOURCES" for d in dpm_servers if n_ds[d] > CAPACITY_DATASOURCES]
    return sorted(out)


# --------------------------------------------------------------------------------------------
# writing


def write(doc: dict, path: str | Path) -> Path:
    """Write `doc` as JSON (`.json`) or YAML (`.yaml`, `.yml`), UTF-8, by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
    elif suffix in (".yaml", ".yml"):
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(to_yaml(doc))
    else:
        raise ValueError(f"{path}: unknown format (expected .json, .yaml or .yml)")
    return path


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_RESERVED = frozenset(("null", "true", "false", "yes", "no", "on", "off", "y", "n"))
_NEEDS_DOUBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_BLOCK_DICT_DEPTH = 2  # mappings up to this depth are block style, deeper ones flow style
_BLOCK_LIST_DEPTH = 3  # sequences of collections up to this depth are block style


def to_yaml(doc: dict) -> str:
    """YAML text for `doc`: block style down to the servers, one flow mapping per data source.

    Strings are plain only when they cannot be read as anything else (`[A-Za-z_][\\w.-]*`, not a
    YAML 1.1/1.2 boolean or null); everything else is single-quoted (`'D:\\'`, `'10.19.58.0'`)
    or, with control characters, double-quoted.
    """
    cache: dict[str, str] = {}

    def scalar(v) -> str:
        if isinstance(v, str):
            out = cache.get(v)
            if out is None:
                if _PLAIN.match(v) and v.lower() not in _RESERVED:
                    out = v
                elif _NEEDS_DOUBLE.search(v):
                    out = json.dumps(v)
                else:
                    out = "'" + v.replace("'", "''") + "'"
                if len(cache) < 100_000:
                    cache[v] = out
            return out
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            if math.isnan(v):
                return ".nan"
            if math.isinf(v):
                return ".inf" if v > 0 else "-.inf"
            return repr(v)
        raise TypeError(f"cannot write {type(v).__name__} as YAML")

    def flow(v) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{scalar(k)}: {flow(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list | tuple):
            return "[" + ", ".join(flow(x) for x in v) + "]"
        return scalar(v)

    lines: list[str] = []

    def block_dict(d: dict, indent: int, depth: int) -> None:
        pad = " " * indent
        for k, v in d.items():
            key = scalar(k)
            if isinstance(v, dict) and v and depth + 1 <= _BLOCK_DICT_DEPTH:
                lines.append(f"{pad}{key}:")
                block_dict(v, indent + 2, depth + 1)
            elif (
                isinstance(v, list | tuple)
                and depth + 1 <= _BLOCK_LIST_DEPTH
                and any(isinstance(x, dict | list | tuple) for x in v)
            ):
                lines.append(f"{pad}{key}:")
                block_list(v, indent + 2, depth + 1)
            else:
                lines.append(f"{pad}{key}: {flow(v)}")

    def block_list(seq, indent: int, depth: int) -> None:
        pad = " " * indent
        for x in seq:
            if isinstance(x, dict) and x and depth + 1 <= _BLOCK_DICT_DEPTH:
                start = len(lines)
                block_dict(x, indent + 2, depth + 1)
                lines[start] = pad + "- " + lines[start][indent + 2 :]
            else:
                lines.append(f"{pad}- {flow(x)}")

    block_dict(doc, 0, 0)
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Write a synthetic DPM estate (.json or .yaml).")
    ap.add_argument("n_dpm", type=int)
    ap.add_argument("n_ds", type=int)
    ap.add_argument("path")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--violations", type=int, default=5)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    doc = generate(args.n_dpm, args.n_ds, seed=args.seed, violations=args.violations)
    t1 = time.perf_counter()
    write(doc, args.path)
    t2 = time.perf_counter()
    print(
        f"{args.path}: {len(doc['dpm_servers'])} DPM servers, {len(doc['servers'])} servers, "
        f"{args.n_ds} data sources; generate {t1 - t0:.2f} s, write {t2 - t1:.2f} s; "
        f"expect {doc['expect']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
