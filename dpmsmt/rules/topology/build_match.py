"""BUILD-MATCH (2019+): the whole build should match within a configuration too."""

import z3

from dpmsmt.builds import describe
from dpmsmt.encode.facts import version_vector
from dpmsmt.findings import Severity
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import (
    all_equal,
    dpm_path,
    group_by,
    odd_one_out,
    version_facts,
    versions_equal,
)
from dpmsmt.rules.topology.version_match import compared


class BuildMatch(Rule):
    """The whole build (update rollup) should match too; it must where the database is backed up
    to the secondary.

    Why: "both DPM servers must be running the same DPM version and update rollups" to back a
    database up to a secondary (S5, S7); elsewhere 2019+ documents ask only for major.minor, so a
    differing rollup is a warning there.
    """

    id = "BUILD-MATCH"
    scope = Scope.COMPONENT
    statement = "The whole build (update rollup) should match too; it must where the database is backed up to the secondary."
    formal = "major.minor equal in component(d) → all whole builds equal; error when some P(x,y) has y.database.backup = secondary ∧ build(x) ≠ build(y)"
    sources = ("S5", "S7")
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile(None, p2019plus="warning")
    severe_severity = Severity.ERROR

    def reads(self, view, component):
        names = compared(view, component)
        if len(names) < 2:
            return None
        versions = version_facts(view, names)
        width = len(versions[0])
        members = set(names)
        pairs = {
            (version_vector(view.dpm(x).version, width), version_vector(view.dpm(y).version, width))
            for x, y in view.g.edges(members)
            if y in members and view.topology.db_backup(y) == "secondary"
        }
        return {"versions": versions, "db_pairs": tuple(sorted(pairs))}

    def holds(self, f) -> z3.BoolRef:
        major_minor = all_equal(f.versions, lambda a, b: versions_equal(a, b, 2))
        return z3.Implies(major_minor, all_equal(f.versions, versions_equal))

    def severe(self, f) -> z3.BoolRef:
        return z3.Or([z3.Not(versions_equal(x, y)) for x, y in f.db_pairs])

    def entities(self, view, component):
        names = compared(view, component)
        return {"component": names, "builds": group_by(view, names, "version")}

    def message(self, e):
        groups = "; ".join(f"{describe(v)}: {', '.join(ns)}" for v, ns in e["builds"].items())
        return f"DPM servers in one protection configuration run different builds ({groups})"

    def where(self, view, component):
        return dpm_path(odd_one_out(self.entities(view, component)["builds"]), "version")
