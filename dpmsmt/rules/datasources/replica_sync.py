"""REPLICA-SYNC: disk-only replica protection needs an explicit, accepted sync frequency."""

import z3

from dpmsmt.rules._base import by_profile
from dpmsmt.rules._common import DatasourceRule
from dpmsmt.rules.datasources._replica import SYNC_VALUES, disk_only_premise, replica_facts


class ReplicaSync(DatasourceRule):
    """Disk-only protection of a replica needs an explicit synchronization frequency from DPM's
    accepted values, and "synchronize just before a recovery point" is unavailable.

    Why: S2: "you'll need to specify a synchronization frequency and the option to synchronize
    just before a recovery point will be unavailable"; accepted values from S20.
    """

    id = "REPLICA-SYNC"
    statement = 'Disk-only protection of a replica needs an explicit synchronization frequency from DPM\'s accepted values, and "synchronize just before a recovery point" is unavailable.'
    formal = "ds.secondary ≠ null ∧ sp ≠ null ∧ sp.long_term = none → sp.sync_minutes ∈ {15,30,45,60,120,240,360,720,1440} ∧ ¬sp.sync_before_recovery_point"
    sources = ("S2", "S20")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/powershell/module/dataprotectionmanager/start-dpmswitchprotection",
    )
    severity = by_profile("error")
    where_key = "secondary_policy"

    def reads(self, view, f):
        return replica_facts(view, f)

    def holds(self, f) -> z3.BoolRef:
        accepted = z3.Or([f.sync_minutes == v for v in SYNC_VALUES])
        return z3.Implies(
            disk_only_premise(f), z3.And(accepted, z3.Not(f.sync_before_recovery_point))
        )

    def entities(self, view, ds):
        sp = ds.secondary_policy
        return {
            "datasource": ds.id,
            "sync_minutes": sp.sync_minutes,
            "sync_before_recovery_point": sp.sync_before_recovery_point,
        }

    def message(self, e):
        if e["sync_before_recovery_point"]:
            return f"the disk-only secondary policy of {e['datasource']} synchronizes just before a recovery point, which is unavailable for a replica"
        return f"the disk-only secondary policy of {e['datasource']} needs a synchronization frequency of 15, 30, 45, 60, 120, 240, 360, 720 or 1440 minutes (it has {e['sync_minutes']})"
