"""REPLICA-NO-EXCLUSIONS: no file-extension exclusions when protecting a replica."""

import z3

from dpmsmt.rules._base import by_profile
from dpmsmt.rules._common import DatasourceRule
from dpmsmt.rules.datasources._replica import premise, replica_facts


class ReplicaNoExclusions(DatasourceRule):
    """File name extensions cannot be excluded when protecting a replica.

    Why: "You can't exclude file name extensions from protection for a replica" (S2, S7).
    """

    id = "REPLICA-NO-EXCLUSIONS"
    statement = "File name extensions cannot be excluded when protecting a replica."
    formal = "ds.secondary ≠ null ∧ sp ≠ null → sp.exclude_extensions = []"
    sources = ("S2", "S7")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")
    where_key = "secondary_policy"

    def reads(self, view, f):
        return replica_facts(view, f)

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(premise(f), f.exclusions == 0)

    def entities(self, view, ds):
        return {"datasource": ds.id, "extensions": list(ds.secondary_policy.exclude_extensions)}

    def message(self, e):
        return f"the secondary policy of {e['datasource']} excludes {', '.join(e['extensions'])}; extensions cannot be excluded for a replica"

    def where(self, view, ds):
        return (*super().where(view, ds), "exclude_extensions")
