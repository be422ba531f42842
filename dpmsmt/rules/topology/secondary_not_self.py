"""SECONDARY-NOT-SELF: a DPM server cannot be its own secondary."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import protects_path


class SecondaryNotSelf(Rule):
    """A DPM server cannot be its own secondary.

    Why: a secondary exists to survive the loss of its primary; protecting oneself keeps the only
    copy on the server that fails, and it breaks the chain like self-protection does (S1, S7).
    """

    id = "SECONDARY-NOT-SELF"
    scope = Scope.DPM
    statement = "A DPM server cannot be its own secondary."
    formal = "¬P(d,d)"
    sources = ()
    urls = (
        "https://docs.microsoft.com/en-us/previous-versions/system-center/data-protection-manager-2010/gg410636(v=technet.10)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    confidence = "inferred"
    severity = by_profile("error")

    def reads(self, view, d):
        return {"self_loop": d in view.dpm(d).protects}

    def holds(self, f) -> z3.BoolRef:
        return z3.Not(f.self_loop)

    def entities(self, view, d):
        return {"dpm": d}

    def message(self, e):
        return f"{e['dpm']} lists itself in `protects`; a DPM server cannot be its own secondary"

    def where(self, view, d):
        return protects_path(view, d, d)
