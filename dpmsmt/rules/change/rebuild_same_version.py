"""REBUILD-SAME-VERSION: a DPM server rebuilt from a database backup runs that database's version."""

import z3

from dpmsmt.builds import describe
from dpmsmt.encode.facts import version_vector
from dpmsmt.rules._base import by_profile
from dpmsmt.rules._common import versions_equal
from dpmsmt.rules.change._base import DpmChange


class RebuildSameVersion(DpmChange):
    """A DPM server rebuilt from a database backup runs the version of that database.

    Why: "the DPM installation you want to restore with the DPM database must match the version
    of the DPM database itself" (S5, S7, S11).
    """

    id = "REBUILD-SAME-VERSION"
    statement = "A DPM server rebuilt from a database backup runs the version of that database."
    formal = "b.status = failed ∧ a.status = up → b.version = a.version"
    sources = ("S5", "S7", "S11")
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
        "https://learn.microsoft.com/en-us/azure/backup/backup-the-mabs-server",
    )
    severity = by_profile("error")
    where_key = "version"

    def reads(self, change, pair):
        b = change.before.dpm(pair[0])
        a = change.after.dpm(pair[1])
        width = max(4, len(b.version.split(".")), len(a.version.split(".")))
        return {
            "was_failed": b.status == "failed",
            "is_up": a.status == "up",
            "before": version_vector(b.version, width),
            "after": version_vector(a.version, width),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(z3.And(f.was_failed, f.is_up), versions_equal(f.before, f.after))

    def entities(self, change, pair):
        return {
            "dpm": pair[1],
            "before": change.before.dpm(pair[0]).version,
            "after": change.after.dpm(pair[1]).version,
        }

    def message(self, e):
        return f"{e['dpm']} was rebuilt with version {describe(e['after'])}, but its database backup is of version {describe(e['before'])}"
