"""DPM-KEEPS-NAME-AND-DOMAIN: a DPM server is not renamed and not moved to another domain."""

from typing import NamedTuple

import z3

from dpmsmt.encode.facts import ChangeView
from dpmsmt.model import canon
from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules.change._base import DpmChange


class SameServer(NamedTuple):
    before: str  # its name before
    after: str  # its name after


def _same_by_name(before, after) -> bool:
    """Same name, and no identity tells the two apart; or both in a domain and the domains
    differ: an AD object GUID does not survive a move to another domain (the computer joins the
    new domain as a new object), so a new identity there is the same DPM server moved."""
    if None in (before.identity, after.identity):
        return True
    return None not in (before.domain, after.domain) and canon(before.domain) != canon(
        after.domain
    )


class DpmKeepsNameAndDomain(DpmChange):
    """A DPM server keeps its name and its domain: the same server (the same `identity`, or the
    same name where no identity is given, or where the domains differ: an AD object GUID does
    not survive a domain move) under a new name or in another domain is not supported.

    Why: "Renaming the DPM server isn't supported. Workaround: None" and "Moving the DPM server
    to a different domain after deployment isn't supported" (S8). Names are identity in the
    format, so a rename is visible only through `identity`; a domain is compared only where
    both snapshots give one.
    """

    id = "DPM-KEEPS-NAME-AND-DOMAIN"
    statement = "A DPM server keeps its name and its domain: the same server (the same identity, or the same name where no identity is given) under a new name or in another domain is not supported."
    formal = "same(b, a) → canon(b.name) = canon(a.name) ∧ (b.domain = null ∨ a.domain = null ∨ b.domain = a.domain), where same: equal identity, or equal name and (no identity on one side, or both domains given and different)"
    sources = ("S8",)
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
    )
    severity = by_profile("error")
    where_key = "domain"

    def instances(self, change: ChangeView):
        before = change.before.topology.dpm_servers
        after = change.after.topology.dpm_servers
        by_identity = {canon(d.identity): n for n, d in after.items() if d.identity is not None}
        by_name = {canon(n): n for n in after}
        out = []
        for n, d in before.items():
            if d.identity is not None and canon(d.identity) in by_identity:
                out.append(SameServer(n, by_identity[canon(d.identity)]))
            elif canon(n) in by_name and _same_by_name(d, after[by_name[canon(n)]]):
                out.append(SameServer(n, by_name[canon(n)]))
        return sorted(out, key=lambda p: (canon(p[1]), canon(p[0])))

    def reads(self, change, pair):
        b = change.before.dpm(pair[0])
        a = change.after.dpm(pair[1])
        domains = change.after  # one interning table for both snapshots' domains
        return {
            "same_name": canon(pair[0]) == canon(pair[1]),
            "b_domain": domains.string_id(canon(b.domain) if b.domain else None),
            "a_domain": domains.string_id(canon(a.domain) if a.domain else None),
        }

    def holds(self, f) -> z3.BoolRef:
        same_domain = z3.Or(f.b_domain == NULL, f.a_domain == NULL, f.b_domain == f.a_domain)
        return z3.And(f.same_name, same_domain)

    def entities(self, change, pair):
        b = change.before.dpm(pair[0])
        a = change.after.dpm(pair[1])
        return {
            "dpm": pair[1],
            "from": pair[0],
            "identity": a.identity,
            "domain_before": b.domain,
            "domain_after": a.domain,
        }

    def message(self, e):
        if canon(e["from"]) != canon(e["dpm"]):
            return f"{e['dpm']} is {e['from']} renamed (identity {e['identity']}); renaming a DPM server is not supported: keep the name, or protect its computers anew from a new DPM server"
        return f"{e['dpm']} moved from domain {e['domain_before']} to {e['domain_after']}; moving a DPM server to another domain is not supported"

    def where(self, change, pair):
        renamed = canon(pair[0]) != canon(pair[1])
        return ("dpm_servers", pair[1], "identity" if renamed else "domain")
