"""MOVED-UNDER-SECONDARY: a protected server was moved while its primary had a secondary."""

import z3

from dpmsmt.rules._base import NULL, Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path

OPTIONS_TEMPLATE = (
    "switch protection to {s}",
    "rebuild {p} with the same name and restore its database",
    "move to a DPM server that {s} does not know",
)


class MovedUnderSecondary(Rule):
    """A DPM server still holds the replica of a data source it protected as the secondary of p,
    and the data source is now protected directly by another DPM server that it knows (or by
    itself, not switched): the server was moved under secondary protection.

    Why: the seed's two unsupported scenarios (S2, S8), seen in one snapshot through the inactive
    replicas the secondary still holds: "Moving protected servers between DPM servers that are
    under secondary protection isn't supported."
    """

    id = "MOVED-UNDER-SECONDARY"
    scope = Scope.INACTIVE
    statement = "A DPM server still holds the replica of a data source it protected as the secondary of p, and the data source is now protected directly by another DPM server that it knows (or by itself, not switched): the server was moved under secondary protection."
    formal = "(ds, p) ∈ s.inactive ∧ p ≠ null ∧ q = ds.primary ∉ {null, p} → q ∉ knows(s) ∨ (q = s ∧ ds.mode = switched ∧ ds.switched_from = p)"
    sources = ("seed", "S8")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    confidence = "documented (example), inferred (snapshot form)"
    severity = by_profile("error")

    def reads(self, view, inactive):
        ds = inactive.datasource
        return {
            "holder": view.idx(inactive.holder),
            "from": view.idx(inactive.from_),
            "to": view.idx(ds.primary),
            "known": ds.primary is not None and ds.primary in view.knows(inactive.holder),
            "switched": ds.switched,
            "switched_from": view.idx(ds.switched_from),
        }

    def holds(self, f) -> z3.BoolRef:
        moved = z3.And(getattr(f, "from") != NULL, f.to != NULL, f.to != getattr(f, "from"))
        legal = z3.Or(
            z3.Not(f.known),
            z3.And(f.to == f.holder, f.switched, f.switched_from == getattr(f, "from")),
        )
        return z3.Implies(moved, legal)

    def entities(self, view, inactive):
        return {
            "datasource": inactive.datasource.id,
            "holder": inactive.holder,
            "from": inactive.from_,
            "to": inactive.datasource.primary,
        }

    def message(self, e):
        how = "as an ordinary primary" if e["to"] == e["holder"] else f"which {e['holder']} knows"
        return f"{e['datasource']} moved from {e['from']} to {e['to']} ({how}) while {e['holder']}, its secondary, still holds its replica: moving a protected server under secondary protection is not supported"

    def options(self, e):
        return tuple(o.format(s=e["holder"], p=e["from"]) for o in OPTIONS_TEMPLATE)

    def where(self, view, inactive):
        return dpm_path(inactive.holder, "inactive", inactive.index)
