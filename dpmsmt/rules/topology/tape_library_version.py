"""TAPE-LIBRARY-VERSION: DPM servers sharing a tape library run the same version."""

import z3

from dpmsmt.builds import describe
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import (
    all_equal,
    dpm_path,
    group_by,
    odd_one_out,
    version_facts,
    versions_equal,
)


class TapeLibraryVersion(Rule):
    """DPM servers sharing a tape library run the same DPM version.

    Why: "All DPM servers sharing a library must be running the same version of DPM" (S8).
    """

    id = "TAPE-LIBRARY-VERSION"
    scope = Scope.LIBRARY
    statement = "DPM servers sharing a tape library run the same DPM version."
    formal = "x.tape_library = y.tape_library ≠ none → build(x) = build(y)"
    sources = ("S8",)
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    severity = by_profile("error")

    def reads(self, view, library):
        _, names = library
        return {"versions": version_facts(view, names)}

    def holds(self, f) -> z3.BoolRef:
        return all_equal(f.versions, versions_equal)

    def entities(self, view, library):
        lib, names = library
        return {"library": lib, "builds": group_by(view, names, "version")}

    def message(self, e):
        groups = "; ".join(f"{describe(v)}: {', '.join(ns)}" for v, ns in e["builds"].items())
        return f"DPM servers sharing tape library {e['library']} run different versions ({groups})"

    def where(self, view, library):
        return dpm_path(odd_one_out(self.entities(view, library)["builds"]), "tape_library")
