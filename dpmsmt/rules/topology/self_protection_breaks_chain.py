"""SELF-PROTECTION-BREAKS-CHAIN: a self-protecting DPM server cannot have a secondary."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path


class SelfProtectionBreaksChain(Rule):
    """A DPM server that protects its own database or system state cannot have a secondary.

    Why: "If a DPM server is configured to protect its own data source the chain will be broken"
    (S1, S3, S7): the secondary can no longer protect it.
    """

    id = "SELF-PROTECTION-BREAKS-CHAIN"
    scope = Scope.DPM
    statement = (
        "A DPM server that protects its own database or system state cannot have a secondary."
    )
    formal = "d.protects_own_database → ¬∃x P(x,d)"
    sources = ("S1", "S3", "S7")
    urls = (
        "https://docs.microsoft.com/en-us/previous-versions/system-center/data-protection-manager-2010/gg410636(v=technet.10)",
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")

    def reads(self, view, d):
        return {
            "protects_own_database": view.dpm(d).protects_own_database,
            "protectors": len(view.protectors(d)),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.protects_own_database, f.protectors == 0)

    def entities(self, view, d):
        return {"dpm": d, "protectors": list(view.protectors(d))}

    def message(self, e):
        return f"{e['dpm']} protects its own database or system state and is protected by {', '.join(e['protectors'])}: the chain is broken"

    def where(self, view, d):
        return dpm_path(d, "protects_own_database")
