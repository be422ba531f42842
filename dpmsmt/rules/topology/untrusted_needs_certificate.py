"""UNTRUSTED-NEEDS-CERTIFICATE: an untrusted primary needs certificates, or is not supported."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import Rule, Scope, by_profile, in_profiles
from dpmsmt.rules._common import dpm_path


class UntrustedNeedsCertificate(Rule):
    """A primary in a workgroup or an untrusted domain can have a secondary only with
    certificate authentication (2012–2022); strict and 2025 do not support it at all.

    Why: S19 supports it "Certificate authentication only"; the current S7 revision requires both
    servers in the same or two-way forest-trusted domains.
    """

    id = "UNTRUSTED-NEEDS-CERTIFICATE"
    scope = Scope.DPM
    statement = "A primary in a workgroup or an untrusted domain can be protected by a secondary only with certificate authentication (2012–2022); the current documentation (strict, 2025) requires both servers in the same or two-way forest-trusted domains, so there it is not supported at all."
    formal = "(∃x P(x,d)) ∧ d.trust ≠ trusted → d.auth = certificate ∧ profile ∉ {strict, 2025}"
    sources = ("S19", "S7")
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")

    def reads(self, view, d):
        dpm = view.dpm(d)
        return {
            "protectors": len(view.protectors(d)),
            "trust": code("trust", dpm.trust),
            "auth": code("auth", dpm.auth),
            "profile": view.profile_code,
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(
            z3.And(f.protectors > 0, f.trust != code("trust", "trusted")),
            z3.And(
                f.auth == code("auth", "certificate"),
                z3.Not(in_profiles(f.profile, "strict", "2025")),
            ),
        )

    def entities(self, view, d):
        dpm = view.dpm(d)
        return {
            "dpm": d,
            "protectors": list(view.protectors(d)),
            "trust": dpm.trust,
            "auth": dpm.auth,
        }

    def message(self, e):
        return f"{e['dpm']} ({e['trust']}, {e['auth']} authentication) is protected by {', '.join(e['protectors'])}: an untrusted primary needs certificate authentication, and strict/2025 require trusted domains"

    def where(self, view, d):
        return dpm_path(d, "trust")
