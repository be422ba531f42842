"""CYCLE-TWO-ONLY: cyclic protection is documented for two DPM servers only."""

import z3

from dpmsmt.graph import mutual_pairs
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path


class CycleTwoOnly(Rule):
    """Cyclic protection is documented for two DPM servers only (DPM1 ↔ DPM2).

    Why: S1 and S7 document "DPM1 protects DPM2, and likewise DPM2 protects DPM1"; longer cycles
    are not documented (Q4). A strongly connected component has a cycle of length three or more
    exactly when it has an edge without its reverse, or its mutual pairs, as undirected edges,
    form a cycle: with n servers, more than n - 1 pairs (they connect the component).
    """

    id = "CYCLE-TWO-ONLY"
    scope = Scope.CYCLE
    statement = "Cyclic protection is documented for two DPM servers only (DPM1 ↔ DPM2)."
    formal = "no strongly connected component of P contains a cycle of length ≥ 3"
    sources = ("S1", "S7")
    urls = (
        "https://docs.microsoft.com/en-us/previous-versions/system-center/data-protection-manager-2010/gg410636(v=technet.10)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("warning", strict="error")

    def reads(self, view, component):
        nodes = set(component)
        edges = sum(1 for x, y in view.g.edges(nodes) if x != y and y in nodes)
        return {
            "servers": len(nodes),
            "edges": edges,
            "mutual_pairs": len(mutual_pairs(view.g, nodes)),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.And(f.edges == 2 * f.mutual_pairs, f.mutual_pairs <= f.servers - 1)

    def entities(self, view, component):
        return {"component": list(component)}

    def message(self, e):
        return f"{', '.join(e['component'])} protect each other in a cycle longer than two; only DPM1 ↔ DPM2 cycles are documented"

    def where(self, view, component):
        return dpm_path(component[0])
