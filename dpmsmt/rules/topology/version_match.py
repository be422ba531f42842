"""VERSION-MATCH: all DPM servers of a chained or cyclic configuration run the same version."""

import z3

from dpmsmt.builds import describe, table_lines
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import (
    dpm_path,
    group_by,
    odd_one_out,
    version_facts,
    version_match_holds,
)


def compared(view, component) -> list[str]:
    """The servers a version rule compares: removed ones run nothing any more."""
    return [n for n in component if view.dpm(n).status != "removed"]


class VersionMatch(Rule):
    """All DPM servers in a chained or cyclic configuration run the same DPM version.

    Why: "all DPM servers must be running the same … DPM version, and update rollup" (S2); later
    documents ask for major and minor versions (S7, 2019-era). Strict, 2012 and 2016 compare the
    whole build, 2019+ major.minor (BUILD-MATCH covers the build there). Versions compare on the
    fields both give, so `10.19` matches `10.19.58.0`.
    """

    id = "VERSION-MATCH"
    scope = Scope.COMPONENT
    statement = "All DPM servers in a chained or cyclic configuration run the same DPM version."
    formal = "∀x,y ∈ component(d): ver(x) = ver(y)"
    sources = ("S2", "S7")
    urls = (
        "https://learn.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/hh758084(v=sc.12)",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")

    def reads(self, view, component):
        names = compared(view, component)
        if len(names) < 2:
            return None
        return {"profile": view.profile_code, "versions": version_facts(view, names)}

    def holds(self, f) -> z3.BoolRef:
        return version_match_holds(f.profile, f.versions)

    def entities(self, view, component):
        names = compared(view, component)
        return {"component": names, "versions": group_by(view, names, "version")}

    def message(self, e):
        groups = "; ".join(f"{describe(v)}: {', '.join(ns)}" for v, ns in e["versions"].items())
        return f"DPM servers in one protection configuration run different DPM versions ({groups})"

    def details(self) -> list[str]:
        """The builds are named in findings from dpmsmt's table (BUILD-KNOWN reports others)."""
        return table_lines()

    def where(self, view, component):
        e = self.entities(view, component)
        return dpm_path(odd_one_out(e["versions"]), "version")
