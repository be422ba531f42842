"""Hypothesis choices for the keys of issue 14 (`location`, `services_account`, `identity`,
`domain`, `farm`, type `vmware`), drawn over a finished topology document.

Kept apart from `dpmsmt.strategies` so that its builder stays as it is: this pass only adds keys
and changes data source types. Safe choices (the `valid=True` promise) follow the new rules:
an Azure side is a DPM server without protection edges together with every protected server
that only it protects; a VMware VM or a farm database has no secondary (and, before DPM 2019,
VMware has no tape policy); a domain account only on a DPM server without a secondary.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dpmsmt.model import canon

DOMAINS = ("corp.example", "EU.corp.example")
_NEWEST = ("2019", "2022", "2025")


def add_fidelity_keys(doc: dict[str, Any], draw, *, safe: bool, profile: str) -> None:
    """Add the new keys to `doc` in place (safe: no new error under `profile`)."""
    dpms: dict[str, dict] = doc["dpm_servers"]
    servers: dict[str, dict] = doc.get("servers") or {}
    protected = {canon(y) for d in dpms.values() for y in d.get("protects", [])}
    for i, (name, d) in enumerate(sorted(dpms.items())):
        if draw(st.integers(0, 2)) == 2:
            d["identity"] = f"guid-{i}"
        if draw(st.integers(0, 2)) == 2:
            d["domain"] = draw(st.sampled_from(DOMAINS))
        account = draw(st.sampled_from([None, "local-system", "domain"]))
        if account == "domain" and safe and canon(name) in protected:
            account = "local-system"
        if account is not None:
            d["services_account"] = account
    _locations(dpms, servers, draw, safe)
    _types(servers, draw, safe, profile)


def _primaries(sd: dict) -> set[str]:
    agent = sd.get("agent")
    default = agent[0] if isinstance(agent, list) and len(agent) == 1 else agent
    out = set()
    for ds in sd.get("datasources", []):
        p = ds.get("primary", default)
        if isinstance(p, str):
            out.add(canon(p))
    return out


def _locations(dpms: dict, servers: dict, draw, safe: bool) -> None:
    if not safe:
        for d in dpms.values():
            if draw(st.integers(0, 3)) == 3:
                d["location"] = "azure"
        for sd in servers.values():
            if draw(st.integers(0, 3)) == 3:
                sd["location"] = "azure"
        return
    linked = {canon(n) for n, d in dpms.items() if d.get("protects")}
    linked |= {canon(y) for d in dpms.values() for y in d.get("protects", [])}
    for name, d in sorted(dpms.items()):
        if canon(name) in linked or draw(st.integers(0, 2)) != 2:
            continue
        theirs = [sd for sd in servers.values() if canon(name) in _primaries(sd)]
        if all(_primaries(sd) == {canon(name)} for sd in theirs):
            d["location"] = "azure"
            for sd in theirs:
                sd["location"] = "azure"
    for sd in servers.values():  # a computer nobody protects may run anywhere
        if not _primaries(sd) and draw(st.integers(0, 3)) == 3:
            sd["location"] = "azure"


def _types(servers: dict, draw, safe: bool, profile: str) -> None:
    farms = []
    for sname, sd in sorted(servers.items()):
        for ds in sd.get("datasources", []):
            if ds.get("type") == "sharepoint":
                farms.append(f"{sname}/{ds['name']}")
    for _sname, sd in sorted(servers.items()):
        for ds in sd.get("datasources", []):
            free = ds.get("secondary") is None or not safe
            if free and ds.get("type") != "sharepoint" and draw(st.integers(0, 5)) == 5:
                ds["type"] = "vmware"
                ds.pop("farm", None)
                if not safe and draw(st.booleans()):
                    ds["policy"] = draw(
                        st.sampled_from([{"short_term": "tape"}, {"long_term": "tape"}])
                    )
                policy = ds.get("policy")
                tape = policy is not None and (
                    policy.get("short_term") == "tape" or "tape" in policy.get("long_term", "")
                )
                if safe and tape and profile not in _NEWEST:
                    del ds["policy"]
            elif free and farms and ds.get("type") == "sql" and draw(st.booleans()):
                ds["farm"] = draw(st.sampled_from(farms))
