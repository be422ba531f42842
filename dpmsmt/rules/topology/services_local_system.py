"""SERVICES-LOCAL-SYSTEM: a primary with a secondary runs its DPM services as Local System."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path


class ServicesLocalSystem(Rule):
    """A primary DPM server with a secondary runs its DPM services (DPMRA) as Local System.

    Why: KB 2506326 (S38): with DPMRA on a domain account, consistency checks on the primary fail
    with 0x80070005 and the secondary shows the primary's agent as unavailable; "DPM services
    should be configured to run using the Local System account on the primary DPM server".
    Documented for DPM 2010: error for strict and 2012, warning for 2016+. Only where the file
    gives `services_account`.
    """

    id = "SERVICES-LOCAL-SYSTEM"
    scope = Scope.DPM
    statement = (
        "A primary DPM server with a secondary runs its DPM services (DPMRA) as Local System."
    )
    formal = "(∃x P(x,d)) ∧ d.services_account ≠ null → d.services_account = local-system"
    sources = ("S38",)
    urls = (
        "https://learn.microsoft.com/en-us/troubleshoot/system-center/dpm/consistency-check-error-0x80070005",
    )
    severity = by_profile("error", p2016plus="warning")

    def reads(self, view, d):
        return {
            "protectors": len(view.protectors(d)),
            "account": code("account", view.dpm(d).services_account),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.protectors > 0, f.account != code("account", "domain"))

    def entities(self, view, d):
        return {"dpm": d, "secondary": list(view.protectors(d))}

    def message(self, e):
        return f"{e['dpm']} runs its DPM services on a domain account, but {', '.join(e['secondary'])} protects it as a secondary: run them as Local System"

    def where(self, view, d):
        return dpm_path(d, "services_account")
