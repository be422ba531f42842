"""CAPACITY-SERVERS: a DPM server protects at most the 100 computers Microsoft plans for."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path

LIMIT = 100


class CapacityServers(Rule):
    """A DPM server protects more computers than Microsoft plans for (100 servers).

    Why: the deployment planning guide sizes a DPM server for 100 servers (S23); beyond it jobs
    queue and recovery windows stretch.
    """

    id = "CAPACITY-SERVERS"
    scope = Scope.DPM
    statement = "A DPM server protects more computers than Microsoft plans for (100 servers)."
    formal = "|{s : d ∈ agents(s)}| ≤ 100"
    sources = ("S23",)
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/plan-dpm-deployment",
    )
    severity = by_profile("warning")

    def reads(self, view, d):
        return {"computers": view.agent_load[d]}

    def holds(self, f) -> z3.BoolRef:
        return f.computers <= LIMIT

    def entities(self, view, d):
        return {"dpm": d, "count": view.agent_load[d]}

    def message(self, e):
        return f"{e['dpm']} owns the agents of {e['count']} computers; Microsoft plans for {LIMIT}"

    def where(self, view, d):
        return dpm_path(d)
