"""SECONDARY-DOWN: a data source whose secondary is failed or removed lost its second copy."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class SecondaryDown(DatasourceRule):
    """A data source whose secondary is failed or removed has lost its second copy.

    Why: the secondary "provides recovery if your primary DPM server fails" (seed); while it is
    down that recovery is gone.
    """

    id = "SECONDARY-DOWN"
    statement = "A data source whose secondary is failed or removed has lost its second copy."
    formal = "ds.secondary ≠ null → up(ds.secondary)"
    sources = ("seed",)
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
    )
    confidence = "inferred"
    severity = by_profile("warning")
    where_key = "secondary"

    def reads(self, view, f):
        return {"secondary": view.idx(f.secondary), "status": view.status(f.secondary)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.secondary != NULL, f.status == code("status", "up"))

    def entities(self, view, ds):
        return {
            "datasource": ds.id,
            "secondary": ds.secondary,
            "status": view.dpm(ds.secondary).status,
        }

    def message(self, e):
        return f"{e['datasource']} has lost its second copy: its secondary {e['secondary']} is {e['status']}"
