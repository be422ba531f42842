"""NO-MOVE-UNDER-SECONDARY: no moving protected servers between DPM servers under a secondary."""

from typing import NamedTuple

import z3

from dpmsmt.encode.facts import ChangeView, DsChange
from dpmsmt.model import canon
from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules.change._base import DatasourceChange
from dpmsmt.rules.datasources.moved_under_secondary import OPTIONS_TEMPLATE


class MoveUnderSecondary(NamedTuple):
    change: DsChange
    secondary: str  # a protector of the old primary, before the change


class NoMoveUnderSecondary(DatasourceChange):
    """Moving a protected server between DPM servers under secondary protection is not
    supported. If its primary p had a secondary s, the only options are: switch protection to s
    (and stay switched); rebuild p with the same name and restore its database; move it to a DPM
    server that s does not know about.

    Why: the seed (S2) and S8: "Moving protected servers between DPM servers that are under
    secondary protection isn't supported … You can only select one of the following options".
    `knows(s)` is our reading of "a DPM server that DPM3 doesn't know about" (Q6), over both
    snapshots. Moving a data source to no primary is allowed.
    """

    id = "NO-MOVE-UNDER-SECONDARY"
    statement = "Moving a protected server between DPM servers under secondary protection is not supported. If its primary p had a secondary s, the only options are: switch protection to s (and stay switched); rebuild p with the same name and restore its database; move it to a DPM server that s does not know about."
    formal = "∀s: b.primary = p ≠ a.primary = q ∧ P_b(s,p) → (q = s ∧ a.mode = switched ∧ a.switched_from = p) ∨ q ∉ knows(s)"
    sources = ("seed", "S8")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    confidence = "documented (3-server example), inferred (general form)"
    severity = by_profile("error")

    def instances(self, change: ChangeView):
        out = []
        for c in change.datasources:
            p = c.before.primary
            if p is not None:
                out.extend(MoveUnderSecondary(c, s) for s in change.before.protectors(p))
        return out

    def reads(self, change, m):
        b, a = m.change
        q = a.primary
        return {
            "p": change.idx(b.primary),
            "q": change.idx(q),
            "s": change.idx(m.secondary),
            "known": q is not None and canon(q) in change.knows(m.secondary),
            "switched": a.switched,
            "switched_from": change.idx(a.switched_from),
        }

    def holds(self, f) -> z3.BoolRef:
        moved = z3.And(f.p != NULL, f.q != NULL, f.p != f.q)
        switched_to_s = z3.And(f.q == f.s, f.switched, f.switched_from == f.p)
        return z3.Implies(moved, z3.Or(switched_to_s, z3.Not(f.known)))

    def entities(self, change, m):
        b, a = m.change
        return {"datasource": a.id, "from": b.primary, "to": a.primary, "secondary": m.secondary}

    def message(self, e):
        if canon(e["to"]) == canon(e["secondary"]):
            how = f"{e['to']} took it over as an ordinary primary, not by switching protection"
        else:
            how = f"{e['secondary']} knows {e['to']}"
        return f"{e['datasource']} moved from {e['from']} to {e['to']}, but {e['from']} was under secondary protection by {e['secondary']} and {how}"

    def options(self, e):
        return tuple(o.format(s=e["secondary"], p=e["from"]) for o in OPTIONS_TEMPLATE)

    def where(self, change, m):
        return super().where(change, m.change)
