"""SWITCHED-FROM-PROTECTED: protection switches only to the former primary's secondary."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import by_profile
from dpmsmt.rules._common import DatasourceRule


class SwitchedFromProtected(DatasourceRule):
    """Protection can only be switched to the DPM server that was the secondary of the former
    primary.

    Why: Start-DPMSwitchProtection runs on the secondary and switches the data sources it holds
    as replicas (S2, S4, S20). A dead former primary may have been dropped from every `protects`.
    """

    id = "SWITCHED-FROM-PROTECTED"
    statement = "Protection can only be switched to the DPM server that was the secondary of the former primary."
    formal = (
        "ds.mode = switched → P(ds.primary, sf) ∨ (sf.status ∈ {failed, removed} ∧ ¬∃x P(x, sf))"
    )
    sources = ("S2", "S4", "S20")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/powershell/module/dataprotectionmanager/start-dpmswitchprotection",
    )
    severity = by_profile("error")
    where_key = "switched_from"

    def reads(self, view, f):
        switched = f.mode == "switched"
        protectors = view.protectors(f.switched_from) if switched else ()
        return {
            "switched": switched,
            "primary": view.idx(f.primary),
            "from_protectors": tuple(view.idx(p) for p in protectors),
            "from_protector_count": len(protectors),
            "from_status": view.status(f.switched_from) if switched else -1,
        }

    def holds(self, f) -> z3.BoolRef:
        dead = z3.Or(
            f.from_status == code("status", "failed"), f.from_status == code("status", "removed")
        )
        return z3.Implies(
            f.switched,
            z3.Or(
                z3.Or([f.primary == p for p in f.from_protectors]),
                z3.And(dead, f.from_protector_count == 0),
            ),
        )

    def entities(self, view, ds):
        return {"datasource": ds.id, "primary": ds.primary, "switched_from": ds.switched_from}

    def message(self, e):
        return f"{e['datasource']} is switched from {e['switched_from']} to {e['primary']}, which was not {e['switched_from']}'s secondary"
