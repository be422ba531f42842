"""VMWARE-NO-TAPE: before DPM 2019, VMware virtual machines cannot be backed up to tape."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import by_profile
from dpmsmt.rules._common import DatasourceRule


class VmwareNoTape(DatasourceRule):
    """Before DPM 2019, a VMware virtual machine cannot be protected to tape (short-term or
    long-term).

    Why: the older text of S35 says "DPM cannot protect VMware VMs to tape or a secondary DPM
    server"; the current one keeps the secondary half and adds "Back up of virtual machines to
    tape is applicable for DPM 2019 and later". So: error for strict, 2012 and 2016 (DPM 2016
    itself backs up no VMware VM, S36; 1801 and 1807 are the releases meant), not reported for
    2019+. Only where the file gives the primary's `policy`.
    """

    id = "VMWARE-NO-TAPE"
    statement = "Before DPM 2019, a VMware virtual machine cannot be protected to tape (short-term or long-term)."
    formal = "ds.type = vmware ∧ ds.policy ≠ null → ds.policy.short_term = disk ∧ ds.policy.long_term ∈ {none, online}"
    sources = ("S35", "S36")
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-vmware",
        "https://learn.microsoft.com/en-us/troubleshoot/system-center/dpm/upgrade-dpm-vmware-vm-protection",
    )
    severity = by_profile("error", p2019plus=None)
    where_key = "policy"

    def reads(self, view, f):
        p = f.policy
        return {
            "type": code("type", f.type),
            "tape": p is not None and (p.short_term == "tape" or "tape" in p.long_term),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.type == code("type", "vmware"), z3.Not(f.tape))

    def entities(self, view, ds):
        return {
            "datasource": ds.id,
            "short_term": ds.policy.short_term,
            "long_term": ds.policy.long_term,
        }

    def message(self, e):
        return f"{e['datasource']} is a VMware virtual machine protected to tape (short-term {e['short_term']}, long-term {e['long_term']}); tape backup of VMware VMs needs DPM 2019 or later"
