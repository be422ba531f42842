"""SWITCHED-NO-SECONDARY: no secondary protection while a server is in switched mode."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class SwitchedNoSecondary(DatasourceRule):
    """While a protected server is in switched protection mode, none of its data sources can
    have secondary protection on another DPM server.

    Why: "you can't add secondary protection for Server1 on another DPM server when you're using
    switched protection mode" (S2, S8).
    """

    id = "SWITCHED-NO-SECONDARY"
    statement = "While a protected server is in switched protection mode, none of its data sources can have secondary protection on another DPM server."
    formal = "(∃ds' on ds.server: ds'.mode = switched) → ds.secondary = null"
    sources = ("S2", "S8")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    severity = by_profile("error")
    where_key = "secondary"

    def reads(self, view, f):
        return {"server_switched": f.server_switched, "secondary": view.idx(f.secondary)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.server_switched, f.secondary == NULL)

    def entities(self, view, ds):
        return {
            "datasource": ds.id,
            "secondary": ds.secondary,
            "switched": view.first_switched[ds.server].id,
        }

    def message(self, e):
        return f"{e['datasource']} has secondary {e['secondary']} while its server is in switched protection mode ({e['switched']} is switched)"
