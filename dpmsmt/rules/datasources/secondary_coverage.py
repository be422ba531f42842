"""SECONDARY-COVERAGE: the primary has a secondary but this data source is not protected by it."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class SecondaryCoverage(DatasourceRule):
    """The primary has a secondary but this data source is not protected by it, and no rule
    forbids it (e.g. SQL auto-protection added it on the primary only).

    VMware virtual machines (VMWARE-NO-SECONDARY) and farm databases (FARM-DATABASE-NO-SECONDARY)
    cannot have a secondary of their own, so they are not reported.

    Why: "new databases are not automatically added from the secondary DPM server" (S17): the
    data source has no second copy although its primary has a secondary.
    """

    id = "SECONDARY-COVERAGE"
    statement = "The primary has a secondary but this data source is not protected by it, and no rule forbids it (e.g. SQL auto-protection added it on the primary only)."
    formal = "¬(ds.primary ≠ null ∧ ds.mode = normal ∧ ∃x P(x, ds.primary) ∧ replicas ∈ ds.primary.secondary_scope ∧ ds.secondary = null ∧ ¬ds.dedup ∧ ¬ds.hyperv_scale_out ∧ ds.type ≠ vmware ∧ ds.farm = null ∧ ¬∃ds' on ds.server: ds'.mode = switched)"
    sources = ("S17",)
    urls = (
        "https://github.com/MicrosoftDocs/SupportArticles-docs",
    )
    severity = by_profile("warning")

    def reads(self, view, f):
        return {
            "primary": view.idx(f.primary),
            "normal": f.mode == "normal",
            "protectors": len(view.protectors(f.primary)) if f.primary else 0,
            "replicas": bool(f.primary) and "replicas" in view.dpm(f.primary).secondary_scope,
            "secondary": view.idx(f.secondary),
            "dedup": f.dedup,
            "scale_out": f.hyperv_scale_out,
            "server_switched": f.server_switched,
            "vmware": f.type == "vmware",
            "in_farm": f.farm is not None,
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Not(
            z3.And(
                f.primary != NULL,
                f.normal,
                f.protectors > 0,
                f.replicas,
                f.secondary == NULL,
                z3.Not(f.dedup),
                z3.Not(f.scale_out),
                z3.Not(f.server_switched),
                z3.Not(f.vmware),
                z3.Not(f.in_farm),
            )
        )

    def entities(self, view, ds):
        return {
            "datasource": ds.id,
            "primary": ds.primary,
            "protectors": list(view.protectors(ds.primary)),
        }

    def message(self, e):
        return f"{e['datasource']} is not protected by {', '.join(e['protectors'])}, the secondary of its primary {e['primary']}"
