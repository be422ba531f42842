"""SQL-HIGH-FREQUENCY (2016): SQL with a secondary and a high sync frequency can fail jobs."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class SqlHighFrequency(DatasourceRule):
    """A SQL database protected by a primary and a secondary with a high synchronization
    frequency can fail backup jobs in DPM 2016.

    Why: a DPM 2016 release note (S18): "If a SQL Database is protected by a primary and
    secondary DPM server with a high synchronization frequency … the backup jobs may fail".
    Reported under profile 2016 only.
    """

    id = "SQL-HIGH-FREQUENCY"
    statement = "A SQL database protected by a primary and a secondary with a high synchronization frequency can fail backup jobs in DPM 2016."
    formal = "¬(ds.type = sql ∧ ds.secondary ≠ null ∧ ds.policy.sync_minutes ≠ null ∧ ds.policy.sync_minutes ≤ 15)"
    sources = ("S18",)
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
    )
    confidence = "documented (release note)"
    severity = by_profile(None, p2016="warning")
    where_key = "policy"

    def reads(self, view, f):
        sync = f.policy.sync_minutes if f.policy and f.policy.sync_minutes is not None else NULL
        return {
            "type": code("type", f.type),
            "secondary": view.idx(f.secondary),
            "sync_minutes": sync,
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Not(
            z3.And(
                f.type == code("type", "sql"),
                f.secondary != NULL,
                f.sync_minutes != NULL,
                f.sync_minutes <= 15,
            )
        )

    def entities(self, view, ds):
        return {"datasource": ds.id, "sync_minutes": ds.policy.sync_minutes}

    def message(self, e):
        return f"SQL database {e['datasource']} has a secondary and synchronizes every {e['sync_minutes']} minutes; in DPM 2016 its backup jobs may fail"
