"""MABS-NO-SECONDARY: MABS takes no part in secondary, chained or cyclic protection."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import protects_path


class MabsNoSecondary(Rule):
    """MABS does not offer secondary, chained or cyclic protection.

    Why: "You can back up a primary DPM server with a secondary DPM server … MABS doesn't provide
    this functionality" (S9, S10); a mixed DPM/MABS pair is our reading of it.
    """

    id = "MABS-NO-SECONDARY"
    scope = Scope.EDGE
    statement = "MABS does not offer secondary, chained or cyclic protection."
    formal = "P(x,y) → x.kind = dpm ∧ y.kind = dpm"
    sources = ("S9", "S10")
    urls = (
        "https://learn.microsoft.com/en-us/azure/backup/backup-support-matrix-mabs-dpm",
        "https://learn.microsoft.com/en-us/azure/architecture/hybrid/azure-stack-backup",
    )
    confidence = "documented (MABS–MABS), inferred (mixed)"
    severity = by_profile("error")

    def reads(self, view, edge):
        x, y = edge
        return {"x_kind": code("kind", view.dpm(x).kind), "y_kind": code("kind", view.dpm(y).kind)}

    def holds(self, f) -> z3.BoolRef:
        dpm = code("kind", "dpm")
        return z3.And(f.x_kind == dpm, f.y_kind == dpm)

    def entities(self, view, edge):
        return {"secondary": edge[0], "primary": edge[1]}

    def message(self, e):
        return f"{e['secondary']} protects {e['primary']}, but MABS does not offer secondary protection (one of them is MABS)"

    def where(self, view, edge):
        return protects_path(view, *edge)
