"""HISTORY-LEFT-BEHIND: a data source that changes primary starts a new recovery-point chain."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules.change._base import DatasourceChange


class HistoryLeftBehind(DatasourceChange):
    """A data source whose primary changes (not switched, not switched back) or whose primary was
    rebuilt after losing its storage starts a new recovery-point chain; the old recovery points
    stay where they were (or are gone with the storage).

    Why: recovery points do not move between DPM servers (S8: history cannot be re-associated),
    and after a rebuild without storage "You can't restore recovery points" (S4).
    """

    id = "HISTORY-LEFT-BEHIND"
    statement = "A data source whose primary changes (not switched, not switched back) or whose primary was rebuilt after losing its storage starts a new recovery-point chain; the old recovery points stay where they were (or are gone with the storage)."
    formal = "b.primary ≠ null ∧ ((b.primary ≠ a.primary ∧ a.mode = normal ∧ ¬(b.mode = switched ∧ a.primary = b.switched_from)) ∨ (b.primary = a.primary ∧ b.primary.status = failed ∧ b.primary.failure.storage = lost ∧ a.primary.status = up))"
    sources = ("S4", "S8")
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    confidence = "inferred"
    severity = by_profile("info")

    def reads(self, change, c):
        b, a = c
        bp = change.before.dpm(b.primary) if b.primary else None
        ap = change.after.dpm(a.primary) if a.primary else None
        return {
            "bp": change.idx(b.primary),
            "ap": change.idx(a.primary),
            "a_normal": a.mode == "normal",
            "b_switched": b.switched,
            "b_switched_from": change.idx(b.switched_from),
            "bp_status": code("status", bp.status) if bp else NULL,
            "bp_storage_lost": bool(bp and bp.failure and bp.failure.storage == "lost"),
            "ap_status": code("status", ap.status) if ap else NULL,
        }

    def holds(self, f) -> z3.BoolRef:
        moved = z3.And(
            f.bp != f.ap,
            f.a_normal,
            z3.Not(z3.And(f.b_switched, f.ap == f.b_switched_from)),
        )
        rebuilt_empty = z3.And(
            f.bp == f.ap,
            f.bp_status == code("status", "failed"),
            f.bp_storage_lost,
            f.ap_status == code("status", "up"),
        )
        return z3.Not(z3.And(f.bp != NULL, z3.Or(moved, rebuilt_empty)))

    def entities(self, change, c):
        return {"datasource": c.after.id, "primary": c.before.primary}

    def message(self, e):
        return f"{e['datasource']} starts a new recovery-point chain; its history stays with {e['primary']} (or is gone with its storage)"
