"""DEDUP-NO-SECONDARY: A deduplicated volume protected by a primary cannot be protected to a secondary."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class DedupNoSecondary(DatasourceRule):
    """A deduplicated volume protected by a primary cannot be protected to a secondary.

    Why: "After a dedup file system is protected by a primary DPM server, it can't be protected to a secondary DPM server" (S8; KB 4037310, S16).
    """

    id = "DEDUP-NO-SECONDARY"
    statement = "A deduplicated volume protected by a primary cannot be protected to a secondary."
    formal = "ds.dedup → ds.secondary = null"
    sources = ("S8", "S16")
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
        "https://github.com/MicrosoftDocs/SupportArticles-docs",
    )
    severity = by_profile("error")
    where_key = "secondary"

    def reads(self, view, f):
        return {"dedup": f.dedup, "secondary": view.idx(f.secondary)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.dedup, f.secondary == NULL)

    def entities(self, view, ds):
        return {"datasource": ds.id, "secondary": ds.secondary}

    def message(self, e):
        return f"{e['datasource']} has secondary {e['secondary']}, but it is a deduplicated volume and cannot have secondary protection"
