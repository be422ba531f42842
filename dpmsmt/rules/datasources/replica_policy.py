"""REPLICA-POLICY: a replica is protected short-term on disk, long-term on tape or not at all."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.findings import Severity
from dpmsmt.rules._base import by_profile
from dpmsmt.rules._common import DatasourceRule
from dpmsmt.rules.datasources._replica import premise, replica_facts


class ReplicaPolicy(DatasourceRule):
    """A replica is protected short-term on disk, with long-term tape or nothing; online
    long-term for a replica is documented only for the DPM database (2019), so it is flagged.

    Why: "You can select short-term disk-based protection and long-term tape-based protection,
    or short-term disk-based protection only" (S2, S7). Short-term tape is an error everywhere;
    online long-term an error under strict and 2012, a warning under 2016+ (Q8). One finding at
    the highest severity broken.
    """

    id = "REPLICA-POLICY"
    statement = "A replica is protected short-term on disk, with long-term tape or nothing; online long-term for a replica is documented only for the DPM database (2019), so it is flagged."
    formal = "ds.secondary ≠ null ∧ sp ≠ null → sp.short_term = disk ∧ sp.long_term ∈ {none, tape}"
    sources = ("S2", "S7")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error", p2016plus="warning")
    severe_severity = Severity.ERROR
    where_key = "secondary_policy"

    def reads(self, view, f):
        return replica_facts(view, f)

    def holds(self, f) -> z3.BoolRef:
        long_ok = z3.Or(
            f.long_term == code("long_term", "none"), f.long_term == code("long_term", "tape")
        )
        return z3.Implies(premise(f), z3.And(f.short_term == code("short_term", "disk"), long_ok))

    def severe(self, f) -> z3.BoolRef:
        return z3.And(premise(f), f.short_term != code("short_term", "disk"))

    def entities(self, view, ds):
        sp = ds.secondary_policy
        return {"datasource": ds.id, "short_term": sp.short_term, "long_term": sp.long_term}

    def message(self, e):
        return f"the secondary policy of {e['datasource']} is short-term {e['short_term']}, long-term {e['long_term']}; a replica is protected short-term on disk with long-term tape or nothing"
