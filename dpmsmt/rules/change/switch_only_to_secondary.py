"""SWITCH-ONLY-TO-SECONDARY: a data source is switched only to the DPM server holding its replica."""

import z3

from dpmsmt.rules._base import by_profile
from dpmsmt.rules.change._base import DatasourceChange


class SwitchOnlyToSecondary(DatasourceChange):
    """A data source can only be switched to the DPM server that was its secondary.

    Why: Start-DPMSwitchProtection "switches protection of data sources to a secondary DPM
    server" and runs on that secondary (S20): only the server holding the replica can take over.
    """

    id = "SWITCH-ONLY-TO-SECONDARY"
    statement = "A data source can only be switched to the DPM server that was its secondary."
    formal = "b.mode = normal ∧ a.mode = switched → b.secondary = a.primary"
    sources = ("S20",)
    urls = (
        "https://learn.microsoft.com/en-us/powershell/module/dataprotectionmanager/start-dpmswitchprotection",
    )
    severity = by_profile("error")
    where_key = "mode"

    def reads(self, change, c):
        b, a = c
        return {
            "was_normal": b.mode == "normal",
            "is_switched": a.switched,
            "old_secondary": change.idx(b.secondary),
            "new_primary": change.idx(a.primary),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(z3.And(f.was_normal, f.is_switched), f.old_secondary == f.new_primary)

    def entities(self, change, c):
        return {
            "datasource": c.after.id,
            "secondary": c.before.secondary,
            "primary": c.after.primary,
        }

    def message(self, e):
        if e["secondary"] is None:
            return f"{e['datasource']} was switched to {e['primary']}, but it had no secondary to switch to"
        return f"{e['datasource']} was switched to {e['primary']}, but its secondary was {e['secondary']}"
