"""FARM-DATABASE-NO-SECONDARY: a SharePoint farm's SQL database is not protected on its own on the secondary."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class FarmDatabaseNoSecondary(DatasourceRule):
    """A SQL Server database that belongs to a SharePoint farm is not protected independently on
    the secondary DPM server: the farm data source protects it there.

    Why: "If you are protecting a SQL Server database that belongs to a SharePoint farm, then
    ensure that you do not protect that database independently on the secondary DPM server"
    (S37); otherwise recovery points go missing without an error. Documented for System Center
    2012 DPM: error for strict and 2012, warning for 2016+ (no later document repeats or revokes
    it).
    """

    id = "FARM-DATABASE-NO-SECONDARY"
    statement = "A SQL Server database that belongs to a SharePoint farm is not protected independently on the secondary DPM server: the farm data source protects it there."
    formal = "ds.farm ≠ null → ds.secondary = null"
    sources = ("S37",)
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
    )
    severity = by_profile("error", p2016plus="warning")
    where_key = "secondary"

    def reads(self, view, f):
        return {"in_farm": f.farm is not None, "secondary": view.idx(f.secondary)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.in_farm, f.secondary == NULL)

    def entities(self, view, ds):
        return {"datasource": ds.id, "secondary": ds.secondary, "farm": ds.farm}

    def message(self, e):
        return f"{e['datasource']} belongs to the SharePoint farm {e['farm']} but is protected on its own by the secondary {e['secondary']}; protect it there through the farm only"
