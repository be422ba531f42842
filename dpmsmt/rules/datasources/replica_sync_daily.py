"""REPLICA-SYNC-DAILY: Microsoft recommends synchronizing a disk-only replica daily."""

import z3

from dpmsmt.rules._base import by_profile
from dpmsmt.rules._common import DatasourceRule
from dpmsmt.rules.datasources._replica import disk_only_premise, replica_facts


class ReplicaSyncDaily(DatasourceRule):
    """Microsoft recommends synchronizing a disk-only replica every 24 hours.

    Why: "We recommend you synchronize every 24 hours" (S2, S7).
    """

    id = "REPLICA-SYNC-DAILY"
    statement = "Microsoft recommends synchronizing a disk-only replica every 24 hours."
    formal = "ds.secondary ≠ null ∧ sp ≠ null ∧ sp.long_term = none → sp.sync_minutes = 1440"
    sources = ("S2", "S7")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("info")
    where_key = "secondary_policy"

    def reads(self, view, f):
        return replica_facts(view, f)

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(disk_only_premise(f), f.sync_minutes == 1440)

    def entities(self, view, ds):
        return {"datasource": ds.id, "sync_minutes": ds.secondary_policy.sync_minutes}

    def message(self, e):
        return f"the disk-only secondary policy of {e['datasource']} synchronizes every {e['sync_minutes']} minutes; Microsoft recommends every 24 hours (1440)"
