"""CAPACITY-DATASOURCES: a DPM server holds at most the data sources Microsoft plans for."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile, profile_code
from dpmsmt.rules._common import dpm_path


def limit(profile: str) -> int:
    return 300 if profile == "2012" else 2000


class CapacityDatasources(Rule):
    """A DPM server protects more data sources than Microsoft plans for (2000; 300 for 2012).

    Why: S23 plans for 2000 data sources; DPM 2010/2012's LDM volumes limited it to 300 (S27,
    S28). Replicas it holds as a secondary count too.
    """

    id = "CAPACITY-DATASOURCES"
    scope = Scope.DPM
    statement = "A DPM server protects more data sources than Microsoft plans for (2000; 300 for profile 2012). Replicas it holds as a secondary count."
    formal = "|{ds : ds.primary = d ∨ ds.secondary = d}| ≤ limit"
    sources = ("S23", "S27", "S28")
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/plan-dpm-deployment",
        "https://techcommunity.microsoft.com/t5/system-center-blog/about-dpm2010-scalability-and-new-features/ba-p/341480",
        "https://learn.microsoft.com/en-us/azure/backup/backup-azure-backup-sql",
    )
    severity = by_profile("warning")

    def reads(self, view, d):
        return {"datasources": view.datasource_load[d], "profile": view.profile_code}

    def holds(self, f) -> z3.BoolRef:
        return f.datasources <= z3.If(f.profile == profile_code("2012"), 300, 2000)

    def entities(self, view, d):
        return {"dpm": d, "count": view.datasource_load[d], "limit": limit(view.profile)}

    def message(self, e):
        return f"{e['dpm']} holds {e['count']} data sources as primary or secondary; Microsoft plans for {e['limit']}"

    def where(self, view, d):
        return dpm_path(d)
