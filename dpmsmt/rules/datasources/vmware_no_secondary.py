"""VMWARE-NO-SECONDARY: a VMware virtual machine cannot be protected to a secondary DPM server."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class VmwareNoSecondary(DatasourceRule):
    """A VMware virtual machine cannot be protected to a secondary DPM server.

    Why: "DPM can't protect VMware VMs to a secondary DPM server" (S35, every release that backs
    up VMware: 2012 R2 UR11 to 2025; MABS cannot have a secondary at all, MABS-NO-SECONDARY).
    """

    id = "VMWARE-NO-SECONDARY"
    statement = "A VMware virtual machine cannot be protected to a secondary DPM server."
    formal = "ds.type = vmware → ds.secondary = null"
    sources = ("S35",)
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-vmware",
    )
    severity = by_profile("error")
    where_key = "secondary"

    def reads(self, view, f):
        return {"type": code("type", f.type), "secondary": view.idx(f.secondary)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.type == code("type", "vmware"), f.secondary == NULL)

    def entities(self, view, ds):
        return {"datasource": ds.id, "secondary": ds.secondary}

    def message(self, e):
        return f"{e['datasource']} has secondary {e['secondary']}, but it is a VMware virtual machine and DPM cannot protect those to a secondary DPM server"
