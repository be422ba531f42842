"""SECONDARY-ONCE: a DPM server is protected by at most one secondary."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import protects_path


class SecondaryOnce(Rule):
    """A DPM server is protected by at most one secondary.

    Why: "Each DPM server can only be protected once" (S1, S7); a second protector cannot take
    over the chain, and protection jobs from both servers compete for the same replicas.
    """

    id = "SECONDARY-ONCE"
    scope = Scope.DPM
    statement = "A DPM server is protected by at most one secondary."
    formal = "∀y: |{x : P(x,y)}| ≤ 1"
    sources = ("S1", "S7")
    urls = (
        "https://docs.microsoft.com/en-us/previous-versions/system-center/data-protection-manager-2010/gg410636(v=technet.10)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")

    def reads(self, view, d):
        return {"protectors": len(view.protectors(d))}

    def holds(self, f) -> z3.BoolRef:
        return f.protectors <= 1

    def entities(self, view, d):
        return {"dpm": d, "protectors": list(view.protectors(d))}

    def message(self, e):
        return f"{e['dpm']} is protected by {len(e['protectors'])} secondaries ({', '.join(e['protectors'])}); a DPM server can be protected only once"

    def where(self, view, d):
        return protects_path(view, view.protectors(d)[1], d)
