"""AZURE-BOUNDARY-SECONDARY: a secondary runs on the same side of the Azure boundary as its primary."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import protects_path


class AzureBoundarySecondary(Rule):
    """A secondary DPM server runs on the same side of the Azure boundary as the primary it
    protects: a primary's databases and replicas are workloads where the primary runs.

    Why: S8 ("DPM as an Azure virtual machine"): a DPM server in Azure "can't protect on-premises
    workloads" and an on-premises one "can't protect Azure-based workloads"; what a secondary
    protects (the primary's database, folders and replicas) lives on the primary, so it is a
    workload of the primary's side. Our reading for secondary protection; every profile.
    """

    id = "AZURE-BOUNDARY-SECONDARY"
    scope = Scope.EDGE
    statement = "A secondary DPM server runs on the same side of the Azure boundary as the primary it protects: a primary's databases and replicas are workloads where the primary runs."
    formal = "P(x,y) → x.location = y.location"
    sources = ("S8",)
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    confidence = "inferred (from the documented boundary for workloads)"
    severity = by_profile("error")

    def reads(self, view, edge):
        x, y = edge
        return {
            "x": code("location", view.dpm(x).location),
            "y": code("location", view.dpm(y).location),
        }

    def holds(self, f) -> z3.BoolRef:
        return f.x == f.y

    def entities(self, view, edge):
        x, y = edge
        return {
            "secondary": x,
            "primary": y,
            "secondary_location": view.dpm(x).location,
            "primary_location": view.dpm(y).location,
        }

    def message(self, e):
        return f"{e['secondary']} ({e['secondary_location']}) protects {e['primary']} ({e['primary_location']}), but protection does not cross the Azure boundary"

    def where(self, view, edge):
        return protects_path(view, *edge)
