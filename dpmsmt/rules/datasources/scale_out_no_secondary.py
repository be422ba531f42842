"""SCALE-OUT-NO-SECONDARY: Hyper-V workloads protected with scaled-out DPM protection cannot have secondary protection."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class ScaleOutNoSecondary(DatasourceRule):
    """Hyper-V workloads protected with scaled-out DPM protection cannot have secondary protection.

    Why: "When protecting a Hyper-V cluster using scaled-out DPM protection, you can't add secondary protection for the protected Hyper-V workloads" (S8, S34).
    """

    id = "SCALE-OUT-NO-SECONDARY"
    statement = "Hyper-V workloads protected with scaled-out DPM protection cannot have secondary protection."
    formal = "ds.hyperv_scale_out → ds.secondary = null"
    sources = ("S8", "S34")
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-protection-matrix",
    )
    severity = by_profile("error")
    where_key = "secondary"

    def reads(self, view, f):
        return {"hyperv_scale_out": f.hyperv_scale_out, "secondary": view.idx(f.secondary)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.hyperv_scale_out, f.secondary == NULL)

    def entities(self, view, ds):
        return {"datasource": ds.id, "secondary": ds.secondary}

    def message(self, e):
        return f"{e['datasource']} has secondary {e['secondary']}, but it is protected with scaled-out Hyper-V protection and cannot have secondary protection"
