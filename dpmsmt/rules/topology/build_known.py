"""BUILD-KNOWN: a DPM server's version is a build of dpmsmt's table of DPM and MABS builds."""

import z3

from dpmsmt.builds import builds, table_lines
from dpmsmt.encode.facts import code, version_vector
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path, versions_equal


class BuildKnown(Rule):
    """A DPM server's `version` is a build of a DPM or MABS release (of its `kind`), or a prefix
    of one (`10.19`): anything else is most likely a typo, which the version rules would
    otherwise compare silently.

    Why: the builds are those of Microsoft's build lists and release notes (B1-B5, in the table
    below); a build that is not listed may be a private fix, so this is advice only.
    """

    id = "BUILD-KNOWN"
    scope = Scope.DPM
    statement = "A DPM server's version is a build of a DPM or MABS release of its kind (or a prefix of one); an unknown build is likely a typo."
    formal = "∃b ∈ builds: b.kind = d.kind ∧ d.version = b.build (on the fields both give)"
    sources = ("B1",)
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/release-build-versions",
    )
    severity = by_profile("info")

    def reads(self, view, d):
        dpm = view.dpm(d)
        return {"kind": code("kind", dpm.kind), "version": version_vector(dpm.version)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Or(
            [
                z3.And(f.kind == code("kind", b.kind), versions_equal(f.version, b.fields, 4))
                for b in builds()
            ]
        )

    def entities(self, view, d):
        dpm = view.dpm(d)
        return {"dpm": d, "kind": dpm.kind, "version": dpm.version}

    def message(self, e):
        product = "MABS" if e["kind"] == "mabs" else "DPM"
        return f"{e['dpm']} runs {e['version']}, which is no {product} build dpmsmt knows (a typo?); `dpmsmt rules BUILD-KNOWN` lists the builds"

    def where(self, view, d):
        return dpm_path(d, "version")

    def details(self) -> list[str]:
        return table_lines()
