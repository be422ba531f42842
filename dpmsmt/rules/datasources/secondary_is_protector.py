"""SECONDARY-IS-PROTECTOR: a data source's secondary is the DPM server protecting its primary."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class SecondaryIsProtector(DatasourceRule):
    """A data source's secondary is the DPM server that protects its primary; a DPM further up a
    chain cannot act directly as its secondary.

    Why: "although DPM3 is actually protecting DPM1 … it can't act directly as a secondary
    server for DPM1" (S1, S7). The primary's secondary scope must include its replicas.
    """

    id = "SECONDARY-IS-PROTECTOR"
    statement = "A data source's secondary is the DPM server that protects its primary; a DPM further up a chain cannot act directly as its secondary."
    formal = "ds.secondary ≠ null → ds.primary ≠ null ∧ P(ds.secondary, ds.primary) ∧ replicas ∈ ds.primary.secondary_scope"
    sources = ("S1", "S7")
    urls = (
        "https://docs.microsoft.com/en-us/previous-versions/system-center/data-protection-manager-2010/gg410636(v=technet.10)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")
    where_key = "secondary"

    def reads(self, view, f):
        protectors = view.protectors(f.primary) if f.primary else ()
        return {
            "secondary": view.idx(f.secondary),
            "primary": view.idx(f.primary),
            "protectors": tuple(view.idx(p) for p in protectors),
            "replicas": bool(f.primary) and "replicas" in view.dpm(f.primary).secondary_scope,
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(
            f.secondary != NULL,
            z3.And(f.primary != NULL, z3.Or([f.secondary == p for p in f.protectors]), f.replicas),
        )

    def entities(self, view, ds):
        protectors = list(view.protectors(ds.primary)) if ds.primary else []
        return {
            "datasource": ds.id,
            "primary": ds.primary,
            "secondary": ds.secondary,
            "protectors": protectors,
        }

    def message(self, e):
        if e["primary"] is None:
            return f"{e['datasource']} has secondary {e['secondary']} but no primary"
        if e["secondary"] in e["protectors"]:
            return f"{e['datasource']} has secondary {e['secondary']}, but {e['primary']}'s secondary scope does not include its replicas"
        actual = ", ".join(e["protectors"]) or "no DPM server"
        return f"{e['datasource']} has secondary {e['secondary']}, but its primary {e['primary']} is protected by {actual}"
