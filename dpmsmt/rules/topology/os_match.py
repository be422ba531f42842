"""OS-MATCH: all DPM servers of a configuration run the same OS version and updates."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import all_equal, dpm_path, group_by, odd_one_out
from dpmsmt.rules.topology.version_match import compared


class OsMatch(Rule):
    """All DPM servers in a configuration run the same OS version, service packs and updates.

    Why: S2 asks for "the same operation system version, service packs, updates" across chained
    and cyclic configurations. Only servers that give `os` are compared.
    """

    id = "OS-MATCH"
    scope = Scope.COMPONENT
    statement = (
        "All DPM servers in a configuration run the same OS version, service packs and updates."
    )
    formal = "∀x,y ∈ component(d): x.os = y.os (where both give os)"
    sources = ("S2",)
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
    )
    severity = by_profile("warning", strict="error", p2012="error")

    def _names(self, view, component):
        return [n for n in compared(view, component) if view.dpm(n).os is not None]

    def reads(self, view, component):
        names = self._names(view, component)
        if len(names) < 2:
            return None
        return {"os": tuple(sorted({view.string_id(view.dpm(n).os) for n in names}))}

    def holds(self, f) -> z3.BoolRef:
        return all_equal(f.os, lambda a, b: a == b)

    def entities(self, view, component):
        names = self._names(view, component)
        return {"component": names, "os": group_by(view, names, "os")}

    def message(self, e):
        groups = "; ".join(f"{v}: {', '.join(ns)}" for v, ns in e["os"].items())
        return f"DPM servers in one protection configuration run different OS versions ({groups})"

    def where(self, view, component):
        return dpm_path(odd_one_out(self.entities(view, component)["os"]), "os")
