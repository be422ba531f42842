"""SECONDARY-MINIMUM-SCOPE: a secondary protects at least databases, Config and Scripting."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path

_MINIMUM = ("database", "config", "scripting")


class SecondaryMinimumScope(Rule):
    """A secondary should protect at least the primary's databases and its DPM Config and
    Scripting folders.

    Why: "At a minimum, you should select the databases, the … Config folder, and the …
    Scripting folder" (S2); without them the primary cannot be rebuilt from its secondary.
    """

    id = "SECONDARY-MINIMUM-SCOPE"
    scope = Scope.DPM
    statement = "A secondary should protect at least the primary's databases and its DPM Config and Scripting folders."
    formal = "(∃x P(x,d)) → {database, config, scripting} ⊆ d.secondary_scope"
    sources = ("S2",)
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
    )
    confidence = "documented (recommendation)"
    severity = by_profile("warning")

    def reads(self, view, d):
        scope = view.dpm(d).secondary_scope
        return {"protectors": len(view.protectors(d)), **{k: k in scope for k in _MINIMUM}}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.protectors > 0, z3.And(f.database, f.config, f.scripting))

    def entities(self, view, d):
        scope = view.dpm(d).secondary_scope
        return {"dpm": d, "missing": [k for k in _MINIMUM if k not in scope]}

    def message(self, e):
        return f"the secondary of {e['dpm']} does not protect its {', '.join(e['missing'])}"

    def where(self, view, d):
        return dpm_path(d, "secondary_scope")
