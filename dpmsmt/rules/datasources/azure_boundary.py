"""AZURE-BOUNDARY: a DPM server protects only computers on its own side of the Azure boundary."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.model import canon
from dpmsmt.rules._base import Rule, Scope, by_profile


class AzureBoundary(Rule):
    """A DPM server running as an Azure virtual machine protects only workloads in Azure, and an
    on-premises DPM server only on-premises workloads.

    Why: "On-premises DPM servers can't protect Azure-based workloads" and "DPM running as an
    Azure virtual machine can't protect on-premises workloads" (S8, "DPM as an Azure virtual
    machine"; S9 says the same of MABS). DPM runs in Azure from DPM 2012 R2 UR3 on: every profile.
    """

    id = "AZURE-BOUNDARY"
    scope = Scope.SERVER
    statement = "A DPM server running as an Azure virtual machine protects only workloads in Azure, and an on-premises DPM server only on-premises workloads."
    formal = "ds.primary ≠ null → ds.primary.location = ds.server.location"
    sources = ("S8", "S9")
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
        "https://learn.microsoft.com/en-us/azure/backup/backup-support-matrix-mabs-dpm",
    )
    severity = by_profile("error")

    def reads(self, view, s):
        server = view.topology.servers[s]
        return {
            "location": code("location", server.location),
            "primaries": tuple(
                sorted({code("location", view.dpm(p).location) for p in _primaries(server)})
            ),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.And([p == f.location for p in f.primaries])

    def entities(self, view, s):
        server = view.topology.servers[s]
        across = [p for p in _primaries(server) if view.dpm(p).location != server.location]
        return {"server": s, "location": server.location, "dpm": across}

    def message(self, e):
        other = "on-premises" if e["location"] == "azure" else "in Azure"
        where = "in Azure" if e["location"] == "azure" else "on-premises"
        return f"{e['server']} runs {where} but is protected by {', '.join(e['dpm'])}, which runs {other}; protection does not cross the Azure boundary"

    def where(self, view, s):
        return ("servers", s, "location")


def _primaries(server) -> list[str]:
    return sorted({ds.primary for ds in server.datasources if ds.primary is not None}, key=canon)
