"""The exports a running estate would give: one Export-DpmTopology.ps1 file per DPM server.

    doc = estates.generate(300, 200_000, seed=0)
    files = export_set(doc)               # file name -> export (plain JSON data)
    write_export_set(doc, "exports/")     # one JSON file per DPM server

What each DPM server's export holds, from the topology document (format.md) of
benchmarks/estates.py: its protected servers (the computers whose agent it owns, and the DPM
servers it protects), its protection groups (one per group name and policy), its data sources
(`ProtectFromPS` where it is the primary, the database of each DPM server it protects, and a
`ProtectFromDPM` replica where it is the secondary), the inactive data sources it lists, and
its tape library. Names are written as the cmdlets give them: short `ServerName`, FQDN `Name`,
short or FQDN `Computer`. A cluster's agent appears as the cluster with `PossibleOwners` (two
nodes, `<cluster>-N1`, `-N2`) and the nodes, each owned by one of the cluster's agent owners.

What exports cannot say (trust, auth, dedup, scaled-out Hyper-V, the secondary's scope, how a
database is backed up) is not in them: an import gets those from an overlay or guesses them.

Run as a script to write one set: `python benchmarks/export_sets.py 300 200000 exports/`.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import estates

__all__ = ["export_set", "write_export_set"]

DOMAIN = "corp.example"
_TYPES = {
    "volume": "Volume",
    "share": "File share",
    "folder": "Folder",
    "sql": "SQL Server 2019 database",
    "hyperv": "Microsoft Hyper-V",
    "exchange": "Exchange Mailbox Database",
    "sharepoint": "SharePoint Farm",
    "system-state": "System Protection",
    "bare-metal": "System Protection",
    "client": "Client",
    "other": "Application",
}


def _fqdn(name: str) -> str:
    return f"{name.lower()}.{DOMAIN}"


def _os(text: str | None) -> dict | None:
    """`Windows Server 2019 Datacenter 10.0.17763.5820` -> WMI's Caption and Version."""
    if not text:
        return None
    caption, _, version = text.rpartition(" ")
    return {"Caption": f"Microsoft {caption}", "Version": version}


def _product(version: str, kind: str) -> str:
    if kind == "mabs":
        return "Microsoft Azure Backup Server"
    year = {"4": "2012 R2", "5": "2016", "10.19": "2019", "10.22": "2022"}
    key = (
        version.split(".")[0]
        if version.startswith(("4.", "5."))
        else ".".join(version.split(".")[:2])
    )
    return f"Microsoft System Center Data Protection Manager {year.get(key, '')}".rstrip()


def _policy_fields(policy: dict | None) -> dict:
    p = policy or {}
    long_term = p.get("long_term", "none")
    return {
        "IsDiskShortTerm": p.get("short_term", "disk") == "disk",
        "IsTapeShortTerm": p.get("short_term", "disk") == "tape",
        "IsTapeLongTerm": long_term in ("tape", "online-and-tape"),
        "IsCloudLongTerm": long_term in ("online", "online-and-tape"),
        "SynchronizationFrequencyMinutes": p.get("sync_minutes") if policy else None,
        "ExcludedFileTypes": list(p.get("exclude_extensions", [])) or None,
    }


class _Export:
    def __init__(self, name: str, d: dict, when: str):
        self.name = name
        self.groups: dict[tuple[str, str], str] = {}
        self.group_records: list[dict] = []
        self.production: dict[str, dict] = {}
        self.data = {
            "dpmsmtExport": 1,
            "exportedAt": when,
            "collector": "Export-DpmTopology.ps1 1.0",
            "DpmServer": {
                "Name": _fqdn(name),
                "ComputerName": name,
                "ProductName": _product(d["version"], d.get("kind", "dpm")),
                "Version": d["version"],
                "OS": _os(d.get("os")),
                "DB": {
                    "SqlServer": name,
                    "InstanceName": "MSDPM",
                    "DatabaseName": f"DPMDB_{name}",
                },
                "SqlWriterStatus": "Running"
                if (d.get("database") or {}).get("vss_writer", "running") == "running"
                else "Stopped",
            },
            "ProductionServers": [],
            "ProtectionGroups": self.group_records,
            "Datasources": [],
            "InactiveDatasources": [],
            "Libraries": [],
            "MissingProperties": [],
            "Errors": [],
        }

    def group(self, name: str | None, policy: dict | None) -> str:
        """The group a data source is in: one per name and policy (a group has one policy)."""
        base = name or "PG-Default"
        key = (base, json.dumps(policy, sort_keys=True))
        found = self.groups.get(key)
        if found is None:
            taken = {g["Name"] for g in self.group_records}
            found = base if base not in taken else f"{base} #{len(taken) + 1}"
            self.groups[key] = found
            self.group_records.append({"Name": found, **_policy_fields(policy)})
        return found

    def production_server(self, name: str, cluster: str | None = None, owners=()) -> None:
        if name not in self.production:
            self.production[name] = {
                "ServerName": name,
                "Name": _fqdn(name),
                "Domain": DOMAIN,
                "ClusterName": cluster,
                "PossibleOwners": list(owners),
                "ServerProtectionState": "HasDatasourcesProtected",
            }

    def datasource(
        self, server: str, ds: dict, kind: str, group: str, source: str | None, *, fqdn: bool
    ) -> dict:
        record = {
            "DatasourceId": str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"{self.name}/{kind}/{server}/{ds['name']}")
            ),
            "Name": ds["name"],
            "LogicalPath": ds["name"],
            "Computer": _fqdn(server) if fqdn else server,
            "ProductionServerName": _fqdn(source or server),
            "ObjectType": _TYPES.get(ds.get("type", "volume"), "Application"),
            "ProtectionGroupName": group,
            "Protected": True,
            "ProtectionType": kind,
            "SourceDPMServer": _fqdn(source) if source else None,
            "InactiveProtectionStatus": None,
        }
        self.data["Datasources"].append(record)
        return record


def export_set(doc: dict, *, when: str = "2026-12-02T09:00:00Z") -> dict[str, dict]:
    """File name -> export, one per DPM server of the topology document."""
    dpms = doc["dpm_servers"]
    out = {name: _Export(name, d, when) for name, d in dpms.items()}
    by_key = {name.casefold(): name for name in dpms}
    for name, d in dpms.items():
        for protected in d.get("protects", []):
            e = out[by_key[protected.casefold()]]
            out[name].production_server(e.name)
            out[name].datasource(
                e.name,
                {"name": f"DPMDB_{e.name}", "type": "sql"},
                "ProtectFromPS",
                out[name].group("PG-DPM", {"sync_minutes": 1440}),
                None,
                fqdn=False,
            )
        for entry in d.get("inactive", []):
            server, _, ds_name = entry["datasource"].partition("/")
            out[name].data["InactiveDatasources"].append(
                {
                    "DatasourceId": None,
                    "Name": ds_name,
                    "LogicalPath": ds_name,
                    "Computer": server,
                    "ProductionServerName": _fqdn(server),
                    "ObjectType": "Volume",
                    "ProtectionGroupName": None,
                    "Protected": False,
                    "ProtectionType": "ProtectFromDPM" if entry.get("from") else "ProtectFromPS",
                    "SourceDPMServer": _fqdn(entry["from"]) if entry.get("from") else None,
                    "InactiveProtectionStatus": "Disk",
                }
            )
    for i, (server, s) in enumerate(doc.get("servers", {}).items()):
        agents = s.get("agent")
        agents = [agents] if isinstance(agents, str) else list(agents or [])
        _agents(out, server, s, agents)
        default_primary = agents[0] if agents else None
        for ds in s.get("datasources", []):
            primary = ds.get("primary", default_primary)
            if primary is None:
                continue
            p = out[by_key[primary.casefold()]]
            group = p.group(ds.get("protection_group"), ds.get("policy"))
            p.datasource(server, ds, "ProtectFromPS", group, None, fqdn=i % 2 == 1)
            if ds.get("mode") == "switched" and ds.get("switched_from"):
                old = out[by_key[ds["switched_from"].casefold()]]
                old.data["InactiveDatasources"].append(
                    {
                        **p.data["Datasources"][-1],
                        "Protected": False,
                        "InactiveProtectionStatus": "Disk",
                    }
                )
            if ds.get("secondary"):
                sec = out[by_key[ds["secondary"].casefold()]]
                sgroup = sec.group(f"PG-Replicas-{primary}", ds.get("secondary_policy"))
                sec.datasource(server, ds, "ProtectFromDPM", sgroup, primary, fqdn=False)
    for name, d in dpms.items():
        if d.get("tape_library"):
            out[name].data["Libraries"].append(
                {
                    "UserFriendlyName": d["tape_library"],
                    "ProductId": "MSL G3 Series",
                    "SerialNumber": f"SN-{d['tape_library']}",
                }
            )
    files = {}
    for name, e in out.items():
        e.data["ProductionServers"] = list(e.production.values())
        files[f"{name}.dpmsmt.json"] = e.data
    return files


def _agents(out: dict, server: str, s: dict, agents: list[str]) -> None:
    """The agent owners list the server; a cluster appears with its two nodes."""
    by_key = {name.casefold(): name for name in out}
    if s.get("cluster"):
        nodes = [f"{server}-N1", f"{server}-N2"]
        for j, node in enumerate(nodes):
            owner = out[by_key[agents[j % len(agents)].casefold()]] if agents else None
            if owner is not None:
                owner.production_server(node, cluster=server)
        for a in agents:
            out[by_key[a.casefold()]].production_server(server, owners=nodes)
        return
    for a in agents:
        out[by_key[a.casefold()]].production_server(server)


def write_export_set(doc: dict, folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in export_set(doc).items():
        path = folder / name
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    n_dpm, n_ds, folder = int(argv[0]), int(argv[1]), argv[2]
    t = time.perf_counter()
    doc = estates.generate(n_dpm, n_ds, seed=0, violations=0)
    paths = write_export_set(doc, folder)
    print(f"{folder}: {len(paths)} exports in {time.perf_counter() - t:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
