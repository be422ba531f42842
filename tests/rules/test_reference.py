"""The reference checker (tests/reference.py) on hand-built topologies."""

from __future__ import annotations

import pytest
from reference import RefFinding, reference_check  # tests/ is on sys.path (rootdir-relative)

from dpmsmt.model import (
    PROFILES,
    DataSource,
    DpmServer,
    InactiveReplica,
    Policy,
    ProtectedServer,
    Topology,
    Waiver,
)

TODAY = "2026-01-15"


def dpm(name: str, version: str = "10.19.58.0", **kw) -> DpmServer:
    return DpmServer(name=name, version=version, **kw)


def server(name: str, agent: str | None, *datasources: DataSource, **kw) -> ProtectedServer:
    return ProtectedServer(
        name=name,
        agents=(agent,) if agent else (),
        datasources=tuple(datasources),
        **kw,
    )


def ds(server_name: str, primary: str | None, secondary: str | None = None, **kw) -> DataSource:
    kw.setdefault("name", "D:\\")
    return DataSource(server=server_name, primary=primary, secondary=secondary, **kw)


def topo(dpms, servers=(), **kw) -> Topology:
    return Topology(
        dpm_servers={d.name: d for d in dpms},
        servers={s.name: s for s in servers},
        **kw,
    )


def check(t: Topology, **kw) -> list[RefFinding]:
    kw.setdefault("today", TODAY)
    return reference_check(t, **kw)


def rules(findings) -> list[str]:
    return [f.rule for f in findings]


def seed(**kw) -> Topology:
    """The seed's estate before DPM1 fails: DPM3 is the secondary of DPM1 and DPM2."""
    return topo(
        [dpm("DPM1"), dpm("DPM2"), dpm("DPM3", protects=("DPM1", "DPM2"))],
        [
            server("Server1", "DPM1", ds("Server1", "DPM1", "DPM3")),
            server("Server2", "DPM2", ds("Server2", "DPM2", "DPM3")),
        ],
        **kw,
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_seed_is_clean(profile):
    assert check(seed(), profile=profile) == []


def test_secondary_once():
    t = topo(
        [dpm("DPM1"), dpm("DPM3", protects=("DPM1",)), dpm("dpm4", protects=("DPM1",))],
    )
    assert check(t) == [
        RefFinding(
            "SECONDARY-ONCE", "error", {"dpm": "DPM1", "protectors": ["DPM3", "dpm4"]}, False
        )
    ]


def test_version_match_uses_the_fields_both_give():
    short = topo([dpm("DPM1", "10.19"), dpm("DPM2", "10.19.58.0", protects=("DPM1",))])
    assert check(short, profile="strict") == []
    assert check(short, profile="2019") == []

    three = topo(
        [
            dpm("DPM1", "10.19"),
            dpm("DPM2", "10.19.58.0", protects=("DPM1",)),
            dpm("DPM3", "10.19.260.0", protects=("DPM2",)),
        ]
    )
    entities = {
        "component": ["DPM1", "DPM2", "DPM3"],
        "versions": {"10.19": ["DPM1"], "10.19.58.0": ["DPM2"], "10.19.260.0": ["DPM3"]},
    }
    for profile in ("strict", "2012", "2016"):
        assert check(three, profile=profile) == [
            RefFinding("VERSION-MATCH", "error", entities, False)
        ]
    # 2019+: major.minor agree, so BUILD-MATCH covers the build; DPM2's database is backed up to
    # its secondary DPM3 (the default) and their builds differ: an error
    builds = {"component": entities["component"], "builds": entities["versions"]}
    for profile in ("2019", "2022", "2025"):
        assert check(three, profile=profile) == [RefFinding("BUILD-MATCH", "error", builds, False)]


def test_version_match_ignores_removed_servers():
    t = topo(
        [
            dpm("DPM1", "10.19.58.0"),
            dpm("DPM2", "5.0.0.0", status="removed", protects=("DPM1",)),
        ],
    )
    assert "VERSION-MATCH" not in rules(check(t))


def test_cycle_of_three_one_way():
    t = topo(
        [
            dpm("a", protects=("b",)),
            dpm("b", protects=("c",)),
            dpm("c", protects=("a",)),
        ]
    )
    found = [f for f in check(t) if f.rule == "CYCLE-TWO-ONLY"]
    assert found == [RefFinding("CYCLE-TWO-ONLY", "error", {"component": ["a", "b", "c"]}, False)]
    found = [f for f in check(t, profile="2012") if f.rule == "CYCLE-TWO-ONLY"]
    assert [f.severity for f in found] == ["warning"]


def test_mutual_pairs_in_a_path_are_not_a_long_cycle():
    t = topo(
        [
            dpm("a", protects=("b",)),
            dpm("b", protects=("a", "c")),
            dpm("c", protects=("b",)),
        ]
    )
    found = check(t)
    assert "CYCLE-TWO-ONLY" not in rules(found)
    assert [f for f in found if f.rule == "SECONDARY-ONCE"] == [
        RefFinding("SECONDARY-ONCE", "error", {"dpm": "b", "protectors": ["a", "c"]}, False)
    ]


def test_two_server_cycle_is_fine():
    t = topo([dpm("DPM1", protects=("DPM2",)), dpm("DPM2", protects=("DPM1",))])
    assert check(t) == []


def switched_estate(switched_from: str, dpm1_status: str = "failed") -> Topology:
    """Server1 switched to DPM3; DPM3 protects DPM1 unless DPM1 was removed (and dropped)."""
    return topo(
        [
            dpm("DPM1", status=dpm1_status),
            dpm("DPM2"),
            dpm("DPM3", protects=() if dpm1_status == "removed" else ("DPM1",)),
            dpm("DPM4", protects=("DPM2",)),
        ],
        [
            server(
                "Server1",
                "DPM3",
                ds("Server1", "DPM3", mode="switched", switched_from=switched_from),
            )
        ],
    )


def test_switched_from_protected():
    # switched to DPM3 from DPM1, whose secondary DPM3 is
    assert check(switched_estate("DPM1")) == []
    # DPM3 never protected DPM2
    assert check(switched_estate("DPM2")) == [
        RefFinding(
            "SWITCHED-FROM-PROTECTED",
            "error",
            {"datasource": "Server1/D:\\", "primary": "DPM3", "switched_from": "DPM2"},
            False,
        )
    ]
    # a removed former primary that every `protects` dropped
    assert check(switched_estate("DPM1", "removed")) == []


def test_moved_under_secondary():
    # DPM3 still holds Server1's replica as DPM1's secondary; Server1 now sits on DPM2, which
    # DPM3 protects too: DPM3 knows DPM2
    t = topo(
        [
            dpm("DPM1"),
            dpm("DPM2"),
            dpm(
                "DPM3",
                protects=("DPM1", "DPM2"),
                inactive=(InactiveReplica("server1/d:\\", "DPM1"),),
            ),
        ],
        [server("Server1", "DPM2", ds("Server1", "DPM2", "DPM3"))],
    )
    assert check(t) == [
        RefFinding(
            "MOVED-UNDER-SECONDARY",
            "error",
            {"datasource": "Server1/D:\\", "holder": "DPM3", "from": "DPM1", "to": "DPM2"},
            False,
        )
    ]


def test_waivers():
    base = seed()
    bad = topo(
        [*base.dpm_servers.values(), dpm("DPM4", protects=("DPM1",))],
        list(base.servers.values()),
        waivers=(
            Waiver(rule="SECONDARY-ONCE", reason="r", target="dpm1", index=0),
            Waiver(rule="UNPROTECTED", reason="r", index=1),
            Waiver(rule="SECONDARY-ONCE", reason="r", target="DPM1", expires="2020-01-01", index=2),
        ),
    )
    found = check(bad)
    assert found == [
        RefFinding(
            "SECONDARY-ONCE", "error", {"dpm": "DPM1", "protectors": ["DPM3", "DPM4"]}, True
        ),
        RefFinding(
            "WAIVER-EXPIRED",
            "warning",
            {"waiver": 2, "rule": "SECONDARY-ONCE", "target": "DPM1", "expires": "2020-01-01"},
            False,
        ),
        RefFinding(
            "WAIVER-UNUSED", "warning", {"waiver": 1, "rule": "UNPROTECTED", "target": None}, False
        ),
    ]
    # the day the first waiver expires too, the finding counts again
    only_expiring = topo(
        list(bad.dpm_servers.values()),
        list(bad.servers.values()),
        waivers=(Waiver(rule="SECONDARY-ONCE", reason="r", expires="2026-01-14"),),
    )
    assert [(f.rule, f.waived) for f in check(only_expiring)] == [
        ("SECONDARY-ONCE", False),
        ("WAIVER-EXPIRED", False),
    ]
    # expiring today is still valid
    assert [(f.rule, f.waived) for f in check(only_expiring, today="2026-01-14")] == [
        ("SECONDARY-ONCE", True),
    ]


def test_waiver_on_a_protected_server_covers_its_data_sources():
    t = topo(
        [dpm("DPM1")],
        [server("Server1", "DPM1", ds("Server1", None, name="SQL/db1", type="sql"))],
        waivers=(
            Waiver(rule="UNPROTECTED", reason="r", target="SERVER1"),
            Waiver(rule="UNPROTECTED", reason="r", target="Server1/sql/DB1"),
            Waiver(rule="UNPROTECTED", reason="r", target="DPM1"),
        ),
    )
    assert check(t) == [
        RefFinding(
            "WAIVER-UNUSED",
            "warning",
            {"waiver": 2, "rule": "UNPROTECTED", "target": "DPM1"},
            False,
        ),
        RefFinding("UNPROTECTED", "info", {"datasource": "Server1/SQL/db1"}, True),
    ]


def test_replica_policy_is_one_finding_at_the_highest_severity():
    def estate(sp: Policy) -> Topology:
        base = seed()
        s1 = server("Server1", "DPM1", ds("Server1", "DPM1", "DPM3", secondary_policy=sp))
        return topo(base.dpm_servers.values(), [s1, base.servers["Server2"]])

    online = estate(Policy(long_term="online", sync_minutes=1440))
    entities = {"datasource": "Server1/D:\\", "short_term": "disk", "long_term": "online"}
    assert check(online, profile="2012") == [RefFinding("REPLICA-POLICY", "error", entities, False)]
    assert check(online, profile="2016") == [
        RefFinding("REPLICA-POLICY", "warning", entities, False)
    ]
    both = estate(Policy(short_term="tape", long_term="online", sync_minutes=1440))
    assert [(f.rule, f.severity) for f in check(both, profile="2016")] == [
        ("REPLICA-POLICY", "error")
    ]
