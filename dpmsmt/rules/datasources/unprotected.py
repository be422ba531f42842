"""UNPROTECTED: a data source with no primary is listed but not protected."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class Unprotected(DatasourceRule):
    """A data source with no primary is listed but not protected.

    Why: an inventory entry without protection is either deliberate or a gap worth seeing.
    """

    id = "UNPROTECTED"
    statement = "A data source with no primary is listed but not protected."
    formal = "ds.primary ≠ null"
    sources = ()
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/create-dpm-protection-groups",
    )
    confidence = "tool"
    severity = by_profile("info")

    def reads(self, view, f):
        return {"primary": view.idx(f.primary)}

    def holds(self, f) -> z3.BoolRef:
        return f.primary != NULL

    def entities(self, view, ds):
        return {"datasource": ds.id}

    def message(self, e):
        return f"{e['datasource']} has no primary: it is listed but not protected"
