"""REMOVED-IS-GONE: a removed DPM server does not come back."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import by_profile
from dpmsmt.rules.change._base import DpmChange


class RemovedIsGone(DpmChange):
    """A removed DPM server does not come back: a fresh installation is a new server and needs a
    new name.

    Why: renaming is not supported and a rebuilt server keeps its name only when restored from
    its own database (S8); `removed` says that will never happen.
    """

    id = "REMOVED-IS-GONE"
    statement = "A removed DPM server does not come back: a fresh installation is a new server and needs a new name."
    formal = "b.status = removed → a.status ≠ up"
    sources = ("S8",)
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    confidence = "inferred"
    severity = by_profile("error")

    def reads(self, change, pair):
        return {
            "before": code("status", change.before.dpm(pair[0]).status),
            "after": code("status", change.after.dpm(pair[1]).status),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.before == code("status", "removed"), f.after != code("status", "up"))

    def entities(self, change, pair):
        return {"dpm": pair[1]}

    def message(self, e):
        return f"{e['dpm']} was removed but is up again: a fresh installation is a new server and needs a new name"
