"""Write models/good/realistic.yaml: a realistic, valid DPM estate (fixed seed, deterministic).

    python models/make_realistic.py          # rewrites models/good/realistic.yaml

The estate (strict profile):

- site A: DPM-A1 and DPM-A2 are primaries, DPM-A3 is the secondary of both (the seed's shape);
  a Hyper-V cluster with scaled-out protection on DPM-A1 and DPM-A2 (no secondary allowed);
  a deduplicated volume (no secondary allowed); an unprotected folder (info UNPROTECTED);
  DPM-A3 still holds the replica of LEGACY-FS01, which moved to MABS1, a server DPM-A3 does not
  know (the seed's Option 3);
- chain B: DPM-B1 <- DPM-B2 <- DPM-B3, sharing the tape library LIB-B, replicas kept long-term on
  tape; FS-B11 was switched from DPM-B1 to DPM-B2 and stays switched (legal: DPM-B2 is DPM-B1's
  secondary, and none of FS-B11's data sources has a secondary);
- cycle C: DPM-C1 <-> DPM-C2 protect each other;
- DPM-D1: standalone, protects its own database, backs it up to its own storage pool;
- MABS1: a standalone Azure Backup Server for the branch offices.

Two waivers accept real findings: the hourly replica synchronisation of SQL-A01's databases
(REPLICA-SYNC-DAILY) and one new database on SQL-A02 whose replica is not on DPM-A3 yet
(SECONDARY-COVERAGE). Nothing else fires but one UNPROTECTED info.
"""

from __future__ import annotations

import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "good" / "realistic.yaml"
rng = random.Random(20261124)

OS_2019 = "Windows Server 2019 10.0.17763"
OS_2022 = "Windows Server 2022 10.0.20348"

DB_NAMES = [
    "Sales",
    "Orders",
    "Inventory",
    "Billing",
    "HR",
    "Payroll",
    "CRM",
    "Reporting",
    "Audit",
    "Logistics",
    "Pricing",
    "Catalog",
    "Intranet",
    "Tickets",
    "Assets",
    "Marketing",
    "Finance",
    "Procurement",
    "Projects",
    "Archive",
]
VM_NAMES = [
    "VM-Web01",
    "VM-Web02",
    "VM-Web03",
    "VM-App01",
    "VM-App02",
    "VM-App03",
    "VM-Print01",
    "VM-Jump01",
    "VM-Mon01",
    "VM-Build01",
    "VM-Build02",
    "VM-Proxy01",
]

# Replica policies, written in full at their first use with a YAML anchor, then as an alias.
POLICIES = {
    "daily": "{short_term: disk, long_term: none, sync_minutes: 1440}",
    "hourly": "{short_term: disk, long_term: none, sync_minutes: 60}",
    "tape": "{short_term: disk, long_term: tape}",
}
DAILY, HOURLY, TAPE = "*daily", "*hourly", "*tape"
_anchored: set[str] = set()


def policy_ref(ref: str) -> str:
    """`*name`, or `&name {...}` the first time the policy is written."""
    name = ref.lstrip("*")
    if name in _anchored:
        return ref
    _anchored.add(name)
    return f"&{name} {POLICIES[name]}"


def q(s: str) -> str:
    """A single-quoted YAML scalar (backslashes need no escape there)."""
    return "'" + s.replace("'", "''") + "'"


def ds(name: str, type_: str = "volume", **kw) -> str:
    parts = [f"name: {q(name)}", f"type: {type_}"]
    for key, value in kw.items():
        if value is None and key != "primary":
            continue
        if value is None:
            value = "null"
        elif value is True:
            value = "true"
        elif key == "secondary_policy":
            value = policy_ref(value)
        parts.append(f"{key}: {value}")
    return "      - {" + ", ".join(parts) + "}"


servers: list[tuple[str, list[str], list[str]]] = []  # (name, header lines, datasource lines)


def server(name: str, agent: str, datasources: list[str], *, cluster: bool = False) -> None:
    head = []
    if cluster:
        head.append("    cluster: true")
    head.append(f"    agent: {agent}")
    servers.append((name, head, datasources))


def volumes(
    secondary: str | None, pg: str, sp: str | None, *, extra: int | None = None
) -> list[str]:
    letters = ["D", "E", "F", "G"][: extra if extra is not None else rng.randint(1, 3)]
    out = [
        ds(
            f"{x}:\\",
            "volume",
            protection_group=pg,
            secondary=secondary,
            secondary_policy=sp if secondary else None,
        )
        for x in letters
    ]
    out.append(
        ds(
            "System State",
            "system-state",
            protection_group="PG-System",
            secondary=secondary,
            secondary_policy=sp if secondary else None,
        )
    )
    return out


def databases(
    count: int,
    secondary: str | None,
    pg: str,
    sp: str | None,
    *,
    sync: int = 60,
    instance: str = "MSSQLSERVER",
) -> list[str]:
    names = rng.sample(DB_NAMES, count)
    return [
        ds(
            f"{instance}/{n}",
            "sql",
            protection_group=pg,
            secondary=secondary,
            policy=f"{{sync_minutes: {sync}}}",
            secondary_policy=sp if secondary else None,
        )
        for n in names
    ]


# --- site A: DPM-A1, DPM-A2 protected by DPM-A3 ------------------------------------------------
for i in range(1, 7):
    primary = "DPM-A1" if i % 2 else "DPM-A2"
    dsl = volumes("DPM-A3", "PG-Files", DAILY)
    if i == 3:
        dsl.append(ds("E:\\Scratch", "folder", primary=None))  # listed, deliberately unprotected
    server(f"FS-A{i:02d}", primary, dsl)
server(
    "FS-A07",
    "DPM-A1",
    [
        ds(
            "D:\\",
            "volume",
            protection_group="PG-Files",
            secondary="DPM-A3",
            secondary_policy=DAILY,
        ),
        ds("E:\\", "volume", protection_group="PG-Dedup", dedup=True),  # no secondary allowed
    ],
)
server(
    "SQL-A01",
    "DPM-A1",
    [
        *databases(8, "DPM-A3", "PG-SQL-Hourly", HOURLY, sync=15),
        ds("System State", "system-state", protection_group="PG-System", secondary="DPM-A3"),
    ],
)
sql_a02 = databases(6, "DPM-A3", "PG-SQL", DAILY, instance="ERP")
sql_a02.append(ds("ERP/Staging", "sql", protection_group="PG-SQL", policy="{sync_minutes: 60}"))
server("SQL-A02", "DPM-A2", sql_a02)
server(
    "EX-A01",
    "DPM-A2",
    [
        ds(
            f"DB{n:02d}",
            "exchange",
            protection_group="PG-Exchange",
            secondary="DPM-A3",
            secondary_policy=DAILY,
        )
        for n in range(1, 6)
    ],
)
server(
    "SP-A01",
    "DPM-A1",
    [
        ds("SharePoint Farm", "sharepoint", protection_group="PG-SharePoint", secondary="DPM-A3"),
        ds("D:\\", "volume", protection_group="PG-SharePoint", secondary="DPM-A3"),
    ],
)
server(
    "HV-CL01",
    "[DPM-A1, DPM-A2]",
    [
        ds(
            vm,
            "hyperv",
            primary="DPM-A1" if k % 2 == 0 else "DPM-A2",
            protection_group="PG-HyperV",
            hyperv_scale_out=True,
        )
        for k, vm in enumerate(VM_NAMES)
    ],
    cluster=True,
)
for i in range(1, 5):
    server(f"APP-A{i:02d}", "DPM-A3", volumes(None, "PG-Apps", None))

# --- chain B: DPM-B1 <- DPM-B2 <- DPM-B3 --------------------------------------------------------
for i in range(1, 7):
    server(f"FS-B{i:02d}", "DPM-B1", volumes("DPM-B2", "PG-Files", TAPE))
server("SQL-B01", "DPM-B1", databases(5, "DPM-B2", "PG-SQL", TAPE, sync=30))
server("SQL-B02", "DPM-B1", databases(4, "DPM-B2", "PG-SQL", DAILY, sync=60))
for i in range(7, 11):
    server(f"FS-B{i:02d}", "DPM-B2", volumes("DPM-B3", "PG-Files", TAPE))
server(
    "FS-B11",
    "DPM-B2",
    [
        ds(
            f"{x}:\\",
            "volume",
            primary="DPM-B2",
            mode="switched",
            switched_from="DPM-B1",
            protection_group="PG-Switched",
        )
        for x in ("D", "E")
    ],
)
server(
    "SQL-CL01",
    "DPM-B2",
    databases(6, "DPM-B3", "PG-SQL-Cluster", DAILY, sync=60, instance="SQLCL01"),
    cluster=True,
)
for i in range(1, 4):
    server(f"APP-B{i:02d}", "DPM-B3", volumes(None, "PG-Apps", None))

# --- cycle C: DPM-C1 <-> DPM-C2 -----------------------------------------------------------------
for i in range(1, 9):
    primary, secondary = ("DPM-C1", "DPM-C2") if i <= 4 else ("DPM-C2", "DPM-C1")
    server(f"FS-C{i:02d}", primary, volumes(secondary, "PG-Files", DAILY))
server("SQL-C01", "DPM-C1", databases(4, "DPM-C2", "PG-SQL", TAPE, sync=60))

# --- DPM-D1: standalone, self-protecting ---------------------------------------------------------
for i in range(1, 5):
    server(
        f"WS-D{i:02d}",
        "DPM-D1",
        [
            ds("C:\\Users", "client", protection_group="PG-Clients"),
            ds("Bare Metal Recovery", "bare-metal", protection_group="PG-Clients"),
        ],
    )

# --- MABS1: branch offices ------------------------------------------------------------------------
for i in range(1, 5):
    server(
        f"BR-{i:02d}",
        "MABS1",
        [
            ds("D:\\", "volume", protection_group="PG-Branch", policy="{long_term: online}"),
            ds(
                "System State",
                "system-state",
                protection_group="PG-Branch",
                policy="{long_term: online}",
            ),
        ],
    )
server(
    "LEGACY-FS01",
    "MABS1",
    [
        ds("D:\\", "volume", protection_group="PG-Branch", policy="{long_term: online}"),
    ],
)


DPM_SERVERS = f"""\
dpm_servers:
  # site A: DPM-A3 is the secondary of DPM-A1 and DPM-A2
  DPM-A1:
    version: "10.19.260.0"
    os: "{OS_2019}"
  DPM-A2:
    version: "10.19.260.0"
    os: "{OS_2019}"
  DPM-A3:
    version: "10.19.260.0"
    os: "{OS_2019}"
    protects: [DPM-A1, DPM-A2]
    database: {{backup: azure}}      # DPM-A3 has no secondary, so Azure is allowed
    inactive:                      # LEGACY-FS01 moved from DPM-A1 to MABS1, unknown to DPM-A3
      - {{datasource: 'LEGACY-FS01/D:\\', from: DPM-A1}}
  # chain B: DPM-B1 <- DPM-B2 <- DPM-B3, one shared tape library
  DPM-B1:
    version: "10.22.148.0"
    os: "{OS_2022}"
    tape_library: LIB-B
  DPM-B2:
    version: "10.22.148.0"
    os: "{OS_2022}"
    protects: [DPM-B1]
    tape_library: LIB-B
  DPM-B3:
    version: "10.22.148.0"
    os: "{OS_2022}"
    protects: [DPM-B2]
    tape_library: LIB-B
    database: {{backup: tape}}
  # cycle C: DPM-C1 and DPM-C2 protect each other
  DPM-C1:
    version: "10.22.148.0"
    protects: [DPM-C2]
  DPM-C2:
    version: "10.22.148.0"
    protects: [DPM-C1]
  # standalone DPM server protecting its own database
  DPM-D1:
    version: "5.0.158.0"
    protects_own_database: true
    database: {{sql: local, backup: own-pool}}
  # standalone Azure Backup Server
  MABS1:
    kind: mabs
    version: "13.0.415.0"
    database: {{backup: azure}}
"""

WAIVERS = """\
waivers:
  - rule: REPLICA-SYNC-DAILY
    target: SQL-A01
    reason: Hourly replica synchronisation agreed with the SQL team (RPO of one hour, CHG-2231)
  - rule: SECONDARY-COVERAGE
    target: 'SQL-A02/ERP/Staging'
    reason: Staging is reloaded nightly from production; no replica on DPM-A3 needed (CHG-2304)
    expires: 2027-03-31
"""

EXPECT = """\
expect:
  verdict: valid
  findings: []
  warnings: []
  infos: [UNPROTECTED]
"""


def main(path: Path = OUT) -> None:
    n_ds = sum(len(d) for _, _, d in servers)
    out = [
        "# Generated by models/make_realistic.py (fixed seed); edit the script, not this file.",
        f"# A realistic estate: 10 DPM/MABS servers, {len(servers)} protected servers, "
        f"{n_ds} data sources.",
        "# Chains, a 2-cycle, a standalone MABS, a scaled-out Hyper-V cluster, a legal switched",
        "# server, waivers with reasons. Valid under strict; one UNPROTECTED info",
        "# (FS-A03/E:\\Scratch).",
        "dpmsmt: 1",
        "name: Contoso backup estate",
        "description: Three sites, a branch MABS and a self-protecting standalone DPM server",
        "tape_libraries:",
        "  LIB-B: {}",
        DPM_SERVERS.rstrip("\n"),
        "servers:",
    ]
    for name, head, dsl in servers:
        out.append(f"  {name}:")
        out.extend(head)
        out.append("    datasources:")
        out.extend(dsl)
    out.append(WAIVERS.rstrip("\n"))
    out.append("")
    out.append(EXPECT)
    path.write_text("\n".join(out), encoding="utf-8")
    print(f"{path}: {len(servers)} servers, {n_ds} data sources")


if __name__ == "__main__":
    main()
