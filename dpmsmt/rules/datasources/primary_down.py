"""PRIMARY-DOWN: a data source whose primary is failed or removed is not protected."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class PrimaryDown(DatasourceRule):
    """A data source whose primary DPM server is failed or removed is not protected; see
    `dpmsmt suggest-move`.

    Why: the seed's starting point: "DPM1 fails or is removed from the infrastructure".
    """

    id = "PRIMARY-DOWN"
    statement = "A data source whose primary DPM server is failed or removed is not protected; see `dpmsmt suggest-move`."
    formal = "ds.primary ≠ null → up(ds.primary)"
    sources = ("seed",)
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
    )
    severity = by_profile("error")
    where_key = "primary"

    def reads(self, view, f):
        return {"primary": view.idx(f.primary), "status": view.status(f.primary)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.primary != NULL, f.status == code("status", "up"))

    def entities(self, view, ds):
        return {"datasource": ds.id, "primary": ds.primary, "status": view.dpm(ds.primary).status}

    def message(self, e):
        return f"{e['datasource']} is not protected: its primary {e['primary']} is {e['status']} (see `dpmsmt suggest-move`)"
