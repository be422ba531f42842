"""The agent and data-source rules of rules.md, one parametrized table per rule.

Each row is a tiny topology (YAML, as a user writes it), the profile it is checked under, and the
findings of the rule under test that `check` must report: severity, entities (docs/findings.md)
and location (document path and line). Other rules may fire on the same input; only the rule under
test is compared. Line numbers count from the first line of the YAML text (`dpmsmt: 1` is line 1).
"""

from __future__ import annotations

import textwrap

import pytest

import dpmsmt

TODAY = "2026-11-24"
PROFILES = ("strict", "2012", "2016", "2019", "2022", "2025")

# DPM2 is DPM1's secondary; every table below starts from this estate (lines 1-4).
PAIR = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "1.0"}
  DPM2: {version: "1.0", protects: [DPM1]}   # DPM2 is the secondary of DPM1
"""


def found(rule: str, text: str, profile: str | None) -> list[tuple]:
    """(severity, entities, path, line) of every finding of `rule`, in report order."""
    topology = dpmsmt.loads(textwrap.dedent(text), file="t.yaml")
    report = dpmsmt.check(topology, profile=profile, today=TODAY)
    out = []
    for f in report.findings:
        if f.rule == rule:
            assert f.location.file == "t.yaml"
            out.append((f.severity.label, f.entities, f.location.path, f.location.line))
    return out


def estate(servers: str, dpm: str = PAIR) -> str:
    """`dpm` (lines 1-4 for PAIR) followed by a `servers:` section (line 5 on)."""
    return dpm + "servers:\n" + textwrap.indent(textwrap.dedent(servers), "  ")


def per_profile(name: str, text: str, expected: dict[str, list]) -> list:
    assert set(expected) == set(PROFILES)
    return [pytest.param(text, p, expected[p], id=f"{name}-{p}") for p in PROFILES]


def row(name: str, text: str, expected: list, profile: str = "strict"):
    return pytest.param(text, profile, expected, id=name)


DS = "Server1/D:\\"
DS_E = "Server1/E:\\"

# -- AGENT-OWNER ---------------------------------------------------------------------------------

AGENT_OWNER = [
    row(
        "primary-is-not-the-agent-owner",
        estate(
            """\
              Server1:
                agent: DPM1                             # DPM1 owns the agent ...
                datasources:
                  - {name: 'D:\\', primary: DPM2}        # ... but DPM2 protects D:
            """
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM2", "agents": ["DPM1"]},
                "servers.Server1.datasources[0].primary",
                9,
            )
        ],
    ),
    row(
        "no-agent",
        estate(
            """\
              Server1:
                datasources:                      # no agent at all
                  - name: 'D:\\'
                    primary: DPM1
            """
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM1", "agents": []},
                "servers.Server1.datasources[0].primary",
                9,
            )
        ],
    ),
    row(
        "primary-defaults-to-the-agent-holds",
        estate(
            """\
              Server1:
                agent: dpm1                       # any spelling of DPM1
                datasources: [{name: 'D:\\'}, {name: 'E:\\', primary: DPM1}]
            """
        ),
        [],
    ),
    row(
        "unprotected-holds",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources: [{name: 'D:\\', primary: null}]   # UNPROTECTED, not AGENT-OWNER
            """
        ),
        [],
    ),
    row(
        "scaled-out-cluster-holds",
        estate(
            """\
              HV:
                agent: [DPM1, DPM2]               # one agent owner per node
                cluster: true
                datasources:
                  - {name: vm1, type: hyperv, hyperv_scale_out: true, primary: DPM1}
                  - {name: vm2, type: hyperv, hyperv_scale_out: true, primary: DPM2}
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), AGENT_OWNER)
def test_agent_owner(text, profile, expected):
    assert found("AGENT-OWNER", text, profile) == expected


# -- SCALE-OUT-AGENTS ----------------------------------------------------------------------------

SCALE_OUT_AGENTS = [
    row(
        "two-agent-owners-not-a-cluster",
        estate(
            """\
              FS1:
                agent: [DPM2, DPM1]               # two owners for a plain file server
                datasources: [{name: 'D:\\', primary: DPM1}]
            """
        ),
        [("error", {"server": "FS1", "agents": ["DPM1", "DPM2"]}, "servers.FS1.agent", 7)],
    ),
    row(
        "cluster-with-a-data-source-not-scaled-out",
        estate(
            """\
              HV:
                agent: [DPM1, DPM2]
                cluster: true
                datasources:
                  - {name: vm1, type: hyperv, hyperv_scale_out: true, primary: DPM1}
                  - {name: vm2, type: hyperv, primary: DPM2}         # not scaled out
            """
        ),
        [("error", {"server": "HV", "agents": ["DPM1", "DPM2"]}, "servers.HV.agent", 7)],
    ),
    row(
        "scaled-out-cluster-holds",
        estate(
            """\
              HV:
                agent: [DPM1, DPM2]
                cluster: true
                datasources:
                  - {name: vm1, type: hyperv, hyperv_scale_out: true, primary: DPM1}
                  - {name: vm2, type: hyperv, primary: null}   # unprotected: not counted
            """
        ),
        [],
    ),
    row(
        "one-element-list-holds",
        estate(
            """\
              FS1:
                agent: [DPM1]                     # the same as `agent: DPM1`
                datasources: [{name: 'D:\\'}]
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SCALE_OUT_AGENTS)
def test_scale_out_agents(text, profile, expected):
    assert found("SCALE-OUT-AGENTS", text, profile) == expected


# -- SECONDARY-IS-PROTECTOR ----------------------------------------------------------------------

CHAIN = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "1.0"}
  DPM2: {version: "1.0", protects: [DPM1]}   # DPM2 protects DPM1
  DPM3: {version: "1.0", protects: [DPM2]}   # DPM3 protects DPM2, so DPM1 only indirectly
"""

SECONDARY_IS_PROTECTOR = [
    row(
        "secondary-further-up-the-chain",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources: [{name: 'D:\\', secondary: DPM3}]   # DPM3 cannot act for DPM1
            """,
            dpm=CHAIN,
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM1", "secondary": "DPM3", "protectors": ["DPM2"]},
                "servers.Server1.datasources[0].secondary",
                9,
            )
        ],
    ),
    row(
        "secondary-without-primary",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources: [{name: 'D:\\', primary: null, secondary: DPM2}]
            """
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": None, "secondary": "DPM2", "protectors": []},
                "servers.Server1.datasources[0].secondary",
                8,
            )
        ],
    ),
    row(
        "replicas-not-in-scope",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources: [{name: 'D:\\', secondary: DPM2}]
            """,
            dpm=PAIR.replace('{version: "1.0"}', '{version: "1.0", secondary_scope: [database]}'),
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM1", "secondary": "DPM2", "protectors": ["DPM2"]},
                "servers.Server1.datasources[0].secondary",
                8,
            )
        ],
    ),
    row(
        "direct-secondary-holds",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources: [{name: 'D:\\', secondary: dpm2}]   # DPM2 protects DPM1
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SECONDARY_IS_PROTECTOR)
def test_secondary_is_protector(text, profile, expected):
    assert found("SECONDARY-IS-PROTECTOR", text, profile) == expected


# -- SWITCHED-NO-SECONDARY -----------------------------------------------------------------------

SWITCHED_NO_SECONDARY = [
    row(
        "secondary-on-a-switched-server",
        estate(
            """\
              Server1:
                agent: DPM2
                datasources:
                  - {name: 'C:\\', primary: DPM2}                        # not switched
                  - {name: 'D:\\', primary: DPM2, mode: switched, switched_from: DPM1}
                  - {name: 'E:\\', primary: DPM2, mode: switched, switched_from: DPM1}
                  - {name: 'F:\\', primary: DPM2, secondary: DPM1}       # a secondary meanwhile
            """,
            dpm=PAIR.replace('{version: "1.0"}', '{version: "1.0", protects: [DPM2]}'),
        ),
        [
            (
                "error",
                # `switched` names the server's first switched data source in list order
                {"datasource": "Server1/F:\\", "secondary": "DPM1", "switched": DS},
                "servers.Server1.datasources[3].secondary",
                12,
            )
        ],
    ),
    row(
        "switched-server-without-secondaries-holds",
        estate(
            """\
              Server1:
                agent: DPM2
                datasources:
                  - {name: 'D:\\', primary: DPM2, mode: switched, switched_from: DPM1}
                  - {name: 'E:\\', primary: DPM2}
              Server2:
                agent: DPM1
                datasources: [{name: 'D:\\', secondary: DPM2}]   # another server: fine
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SWITCHED_NO_SECONDARY)
def test_switched_no_secondary(text, profile, expected):
    assert found("SWITCHED-NO-SECONDARY", text, profile) == expected


# -- SWITCHED-FROM-PROTECTED ---------------------------------------------------------------------


def switched(dpm_servers: str) -> str:
    """Server1's D: switched from DPM1 to DPM3 (on line 7 + the number of DPM servers)."""
    return estate(
        """\
          Server1:
            agent: DPM3
            datasources:
              - {name: 'D:\\', primary: DPM3, mode: switched, switched_from: DPM1}
        """,
        dpm="dpmsmt: 1\ndpm_servers:\n" + textwrap.indent(textwrap.dedent(dpm_servers), "  "),
    )


SWITCHED_FROM_PROTECTED = [
    row(
        "switched-to-a-server-that-was-not-the-secondary",
        switched(
            """\
              DPM1: {version: "1.0"}
              DPM2: {version: "1.0", protects: [DPM1]}   # DPM2 is DPM1's secondary, not DPM3
              DPM3: {version: "1.0"}
            """
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM3", "switched_from": "DPM1"},
                "servers.Server1.datasources[0].switched_from",
                10,
            )
        ],
    ),
    row(
        "failed-primary-still-protected-by-another",
        switched(
            """\
              DPM1: {version: "1.0", status: failed}
              DPM2: {version: "1.0", protects: [DPM1]}   # still listed as DPM1's protector
              DPM3: {version: "1.0"}
            """
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM3", "switched_from": "DPM1"},
                "servers.Server1.datasources[0].switched_from",
                10,
            )
        ],
    ),
    row(
        "up-primary-without-protector",
        switched(
            """\
              DPM1: {version: "1.0"}                   # up, and nobody protects it
              DPM3: {version: "1.0"}
            """
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM3", "switched_from": "DPM1"},
                "servers.Server1.datasources[0].switched_from",
                9,
            )
        ],
    ),
    row(
        "switched-to-the-secondary-holds",
        switched(
            """\
              DPM1: {version: "1.0", status: failed}
              DPM3: {version: "1.0", protects: [DPM1]}   # DPM3 protects DPM1
            """
        ),
        [],
    ),
    *[
        row(
            f"{status}-primary-dropped-from-protects-holds",
            switched(
                f"""\
                  DPM1: {{version: "1.0", status: {status}}}   # dead, and no longer protected
                  DPM3: {{version: "1.0"}}
                """
            ),
            [],
        )
        for status in ("failed", "removed")
    ],
]


@pytest.mark.parametrize(("text", "profile", "expected"), SWITCHED_FROM_PROTECTED)
def test_switched_from_protected(text, profile, expected):
    assert found("SWITCHED-FROM-PROTECTED", text, profile) == expected


# -- MOVED-UNDER-SECONDARY -----------------------------------------------------------------------


def moved(
    primary: str,
    *,
    agent: str = "",
    extra_dpm: str = "",
    inactive_from: str = "DPM1",
    more: str = "",
) -> str:
    """The seed after a move: DPM3 was the secondary of Server1's D: on DPM1 and still holds it."""
    return f"""\
dpmsmt: 1
dpm_servers:
  DPM1: {{version: "1.0"}}
  DPM2: {{version: "1.0"}}
  DPM3:
    version: "1.0"
    protects: [DPM1, DPM2]               # DPM3 is the secondary of DPM1 and DPM2
    inactive:                            # it still holds the replica it had from DPM1
      - {{datasource: 'server1/d:\\', from: {inactive_from}}}
{extra_dpm}servers:
  Server1:
    agent: {agent or primary}
    datasources:
      - {{name: 'D:\\', primary: {primary}{more}}}
"""


def _moved(to: str) -> list:
    entities = {"datasource": DS, "holder": "DPM3", "from": "DPM1", "to": to}
    return [("error", entities, "dpm_servers.DPM3.inactive[0]", 9)]


MOVED_UNDER_SECONDARY = [
    row("moved-to-a-server-the-secondary-knows", moved("DPM2"), _moved("DPM2")),
    row("moved-to-the-secondary-not-switched", moved("DPM3"), _moved("DPM3")),
    row(
        "switched-to-the-secondary-holds",
        moved("DPM3", more=", mode: switched, switched_from: DPM1"),
        [],
    ),
    row(
        "moved-to-an-unknown-server-holds",
        moved("DPM4", extra_dpm='  DPM4: {version: "1.0"}          # outside DPM3\'s chain\n'),
        [],
    ),
    row(
        "moved-to-a-server-registered-in-the-secondary",
        moved("DPM4", extra_dpm='  DPM4: {version: "1.0"}\n').replace(
            "protects: [DPM1, DPM2]", "protects: [DPM1, DPM2]\n    knows: [DPM4]"
        ),
        [
            (
                "error",
                {"datasource": DS, "holder": "DPM3", "from": "DPM1", "to": "DPM4"},
                "dpm_servers.DPM3.inactive[0]",
                10,
            )
        ],
    ),
    row(
        "moved-to-a-server-that-registered-the-secondary",
        moved(
            "DPM4", extra_dpm='  DPM4: {version: "1.0", knows: [DPM3]}   # an old agent of DPM3\n'
        ),
        _moved("DPM4"),
    ),
    row(
        "back-on-the-old-primary-holds",
        moved("DPM1"),
        [],  # q = p: not a move
    ),
    row(
        "held-as-primary-holds",
        moved("DPM2", inactive_from="null"),  # from null: DPM3 held it as its primary
        [],
    ),
    row("now-unprotected-holds", moved("null", agent="DPM2"), []),
]


@pytest.mark.parametrize(("text", "profile", "expected"), MOVED_UNDER_SECONDARY)
def test_moved_under_secondary(text, profile, expected):
    assert found("MOVED-UNDER-SECONDARY", text, profile) == expected


def test_moved_under_secondary_inactive_of_a_gone_data_source_holds():
    text = moved("DPM2").replace("server1/d:\\", "Server9/X:\\")  # the data source is gone
    assert found("MOVED-UNDER-SECONDARY", text, "strict") == []


# -- DEDUP-NO-SECONDARY and SCALE-OUT-NO-SECONDARY ------------------------------------------------

DEDUP_NO_SECONDARY = [
    row(
        "deduplicated-volume-with-secondary",
        estate(
            """\
              FS1:
                agent: DPM1
                datasources:
                  - {name: 'D:\\', dedup: true, secondary: DPM2}   # a dedup volume to the secondary
            """
        ),
        [
            (
                "error",
                {"datasource": "FS1/D:\\", "secondary": "DPM2"},
                "servers.FS1.datasources[0].secondary",
                9,
            )
        ],
    ),
    row(
        "deduplicated-volume-without-secondary-holds",
        estate(
            """\
              FS1:
                agent: DPM1
                datasources: [{name: 'D:\\', dedup: true}]
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), DEDUP_NO_SECONDARY)
def test_dedup_no_secondary(text, profile, expected):
    assert found("DEDUP-NO-SECONDARY", text, profile) == expected


SCALE_OUT_NO_SECONDARY = [
    row(
        "scaled-out-vm-with-secondary",
        estate(
            """\
              HV:
                agent: [DPM1, DPM2]
                cluster: true
                datasources:
                  - {name: vm1, type: hyperv, hyperv_scale_out: true, primary: DPM1}
                  - name: vm2
                    type: hyperv
                    hyperv_scale_out: true
                    primary: DPM1
                    secondary: DPM2                       # not for scaled-out protection
            """
        ),
        [
            (
                "error",
                {"datasource": "HV/vm2", "secondary": "DPM2"},
                "servers.HV.datasources[1].secondary",
                15,
            )
        ],
    ),
    row(
        "vm-not-scaled-out-with-secondary-holds",
        estate(
            """\
              HV:
                agent: DPM1
                cluster: true
                datasources: [{name: vm1, type: hyperv, secondary: DPM2}]
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SCALE_OUT_NO_SECONDARY)
def test_scale_out_no_secondary(text, profile, expected):
    assert found("SCALE-OUT-NO-SECONDARY", text, profile) == expected


# -- the replica policy rules --------------------------------------------------------------------


def replica(secondary_policy: str, *, secondary: str = "DPM2", policy: str = "") -> str:
    """Server1's D: on DPM1, its replica on `secondary` with `secondary_policy` (line 13)."""
    return estate(
        f"""\
          Server1:
            agent: DPM1
            datasources:
              - name: 'D:\\'
                type: sql
                secondary: {secondary}
                {policy or "protection_group: PG1"}
                secondary_policy: {secondary_policy}
        """
    )


SP = "servers.Server1.datasources[0].secondary_policy"

REPLICA_NO_EXCLUSIONS = [
    row(
        "extensions-excluded-for-a-replica",
        replica("{sync_minutes: 1440, exclude_extensions: [.tmp, .mp3]}"),
        # as given, in order
        [
            (
                "error",
                {"datasource": DS, "extensions": [".tmp", ".mp3"]},
                SP + ".exclude_extensions",
                13,
            )
        ],
    ),
    row(
        "no-secondary-holds",
        replica("{exclude_extensions: [.tmp]}", secondary="null"),
        [],
    ),
    row(
        "exclusions-on-the-primary-hold",
        replica("{sync_minutes: 1440}", policy="policy: {exclude_extensions: [.tmp]}"),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), REPLICA_NO_EXCLUSIONS)
def test_replica_no_exclusions(text, profile, expected):
    assert found("REPLICA-NO-EXCLUSIONS", text, profile) == expected


def _policy(short: str, long: str) -> dict:
    return {"datasource": DS, "short_term": short, "long_term": long}


REPLICA_POLICY = [
    *per_profile(
        "short-term-tape",
        replica("{short_term: tape}"),
        {p: [("error", _policy("tape", "none"), SP, 13)] for p in PROFILES},
    ),
    *per_profile(
        "long-term-online",
        replica("{long_term: online}"),
        {
            p: [
                (
                    "error" if p in ("strict", "2012") else "warning",
                    _policy("disk", "online"),
                    SP,
                    13,
                )
            ]
            for p in PROFILES
        },
    ),
    row(
        "long-term-online-and-tape",
        replica("{long_term: online-and-tape}"),
        [("warning", _policy("disk", "online-and-tape"), SP, 13)],
        profile="2019",
    ),
    *per_profile(
        "tape-and-online-one-finding-at-the-highest-severity",
        replica("{short_term: tape, long_term: online}"),
        {p: [("error", _policy("tape", "online"), SP, 13)] for p in PROFILES},
    ),
    row("disk-and-tape-holds", replica("{short_term: disk, long_term: tape}"), []),
    row("disk-only-holds", replica("{sync_minutes: 1440}"), []),
    row("no-secondary-policy-holds", replica("null"), []),  # unknown, not wrong
]


@pytest.mark.parametrize(("text", "profile", "expected"), REPLICA_POLICY)
def test_replica_policy(text, profile, expected):
    assert found("REPLICA-POLICY", text, profile) == expected


def _sync(minutes, before=False) -> dict:
    return {"datasource": DS, "sync_minutes": minutes, "sync_before_recovery_point": before}


REPLICA_SYNC = [
    row("no-frequency", replica("{long_term: none}"), [("error", _sync(None), SP, 13)]),
    row("frequency-not-accepted", replica("{sync_minutes: 90}"), [("error", _sync(90), SP, 13)]),
    row(
        "just-before-a-recovery-point",
        replica("{sync_minutes: 60, sync_before_recovery_point: true}"),
        [("error", _sync(60, True), SP, 13)],
    ),
    *[row(f"every-{m}-minutes-holds", replica(f"{{sync_minutes: {m}}}"), []) for m in (15, 1440)],
    row("long-term-tape-needs-no-frequency", replica("{long_term: tape}"), []),
    row("no-secondary-policy-holds", replica("null"), []),
]


@pytest.mark.parametrize(("text", "profile", "expected"), REPLICA_SYNC)
def test_replica_sync(text, profile, expected):
    assert found("REPLICA-SYNC", text, profile) == expected


REPLICA_SYNC_DAILY = [
    row(
        "hourly",
        replica("{sync_minutes: 60}"),
        [("info", {"datasource": DS, "sync_minutes": 60}, SP, 13)],
    ),
    row(
        "no-frequency",
        replica("{}"),
        [("info", {"datasource": DS, "sync_minutes": None}, SP, 13)],
    ),
    row("daily-holds", replica("{sync_minutes: 1440}"), []),
    row("long-term-tape-holds", replica("{sync_minutes: 60, long_term: tape}"), []),
    row("no-secondary-holds", replica("{sync_minutes: 60}", secondary="null"), []),
]


@pytest.mark.parametrize(("text", "profile", "expected"), REPLICA_SYNC_DAILY)
def test_replica_sync_daily(text, profile, expected):
    assert found("REPLICA-SYNC-DAILY", text, profile) == expected


# -- SQL-HIGH-FREQUENCY --------------------------------------------------------------------------

SQL_HIGH_FREQUENCY = [
    *per_profile(
        "sql-every-15-minutes-with-secondary",
        replica("{sync_minutes: 1440}", policy="policy: {sync_minutes: 15}"),
        # a DPM 2016 release note: reported under 2016 only, not under strict
        {
            p: (
                [
                    (
                        "warning",
                        {"datasource": DS, "sync_minutes": 15},
                        "servers.Server1.datasources[0].policy",
                        12,
                    )
                ]
                if p == "2016"
                else []
            )
            for p in PROFILES
        },
    ),
    row(
        "every-30-minutes-holds",
        replica("{sync_minutes: 1440}", policy="policy: {sync_minutes: 30}"),
        [],
        profile="2016",
    ),
    row(
        "no-secondary-holds",
        replica("null", secondary="null", policy="policy: {sync_minutes: 15}"),
        [],
        profile="2016",
    ),
    row(
        "not-sql-holds",
        replica("{sync_minutes: 1440}", policy="policy: {sync_minutes: 15}").replace(
            "type: sql", "type: volume"
        ),
        [],
        profile="2016",
    ),
    row(
        "no-frequency-holds",
        replica("{sync_minutes: 1440}", policy="policy: {short_term: disk}"),
        [],
        profile="2016",
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SQL_HIGH_FREQUENCY)
def test_sql_high_frequency(text, profile, expected):
    assert found("SQL-HIGH-FREQUENCY", text, profile) == expected


# -- PRIMARY-DOWN and SECONDARY-DOWN ------------------------------------------------------------

DOWN = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "1.0", status: failed}
  DPM2: {version: "1.0", status: removed, protects: [DPM1]}
  DPM3: {version: "1.0"}
"""

PRIMARY_DOWN = [
    row(
        "primary-failed-or-removed",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources:
                  - {name: 'D:\\', primary: DPM1}     # DPM1 failed
                  - {name: 'E:\\', primary: DPM2}     # DPM2 removed
                  - {name: 'F:\\', primary: DPM3}     # DPM3 up
            """,
            dpm=DOWN,
        ),
        [
            (
                "error",
                {"datasource": DS, "primary": "DPM1", "status": "failed"},
                "servers.Server1.datasources[0].primary",
                10,
            ),
            (
                "error",
                {"datasource": DS_E, "primary": "DPM2", "status": "removed"},
                "servers.Server1.datasources[1].primary",
                11,
            ),
        ],
    ),
    row(
        "unprotected-holds",
        estate(
            """\
              Server1:
                datasources: [{name: 'D:\\'}]       # no agent, no primary
            """,
            dpm=DOWN,
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), PRIMARY_DOWN)
def test_primary_down(text, profile, expected):
    assert found("PRIMARY-DOWN", text, profile) == expected


def test_primary_down_with_default_primary_points_at_the_data_source():
    text = estate(
        """\
          Server1:
            agent: DPM1                           # D: is protected by DPM1 by default
            datasources:
              - name: 'D:\\'
        """,
        dpm=DOWN,
    )
    assert found("PRIMARY-DOWN", text, "strict") == [
        (
            "error",
            {"datasource": DS, "primary": "DPM1", "status": "failed"},
            "servers.Server1.datasources[0]",
            10,
        )
    ]


SECONDARY_DOWN = [
    row(
        "secondary-failed-or-removed",
        estate(
            """\
              Server1:
                agent: DPM3
                datasources:
                  - {name: 'D:\\', primary: DPM3, secondary: DPM1}    # DPM1 failed
                  - {name: 'E:\\', primary: DPM3, secondary: DPM2}    # DPM2 removed
                  - {name: 'F:\\', primary: DPM3}
            """,
            dpm=DOWN.replace('DPM3: {version: "1.0"}', 'DPM3: {version: "1.0"}  # up'),
        ),
        [
            (
                "warning",
                {"datasource": DS, "secondary": "DPM1", "status": "failed"},
                "servers.Server1.datasources[0].secondary",
                10,
            ),
            (
                "warning",
                {"datasource": DS_E, "secondary": "DPM2", "status": "removed"},
                "servers.Server1.datasources[1].secondary",
                11,
            ),
        ],
    ),
    row(
        "secondary-up-holds",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources: [{name: 'D:\\', secondary: DPM2}]
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SECONDARY_DOWN)
def test_secondary_down(text, profile, expected):
    assert found("SECONDARY-DOWN", text, profile) == expected


# -- SECONDARY-COVERAGE --------------------------------------------------------------------------


def coverage(datasource: str, dpm: str = PAIR) -> str:
    return estate(
        f"""\
          Server1:
            agent: DPM1
            datasources:
              - {{name: 'C:\\', secondary: DPM2}}     # covered by DPM1's secondary
              - {datasource}
        """,
        dpm=dpm,
    )


COVERAGE = {"datasource": DS, "primary": "DPM1", "protectors": ["DPM2"]}

SECONDARY_COVERAGE = [
    row(
        "not-covered-by-the-primary-s-secondary",
        coverage("{name: 'D:\\'}                       # e.g. a database auto-protected on DPM1"),
        [("warning", COVERAGE, "servers.Server1.datasources[1]", 10)],
    ),
    row(
        "two-protectors-are-listed",
        coverage(
            "{name: 'D:\\'}",
            dpm=PAIR + '  DPM3: {version: "1.0", protects: [DPM1]}   # SECONDARY-ONCE too\n',
        ),
        [
            (
                "warning",
                {**COVERAGE, "protectors": ["DPM2", "DPM3"]},
                "servers.Server1.datasources[1]",
                11,
            )
        ],
    ),
    row("dedup-holds", coverage("{name: 'D:\\', dedup: true}"), []),
    row("scale-out-holds", coverage("{name: 'D:\\', hyperv_scale_out: true}"), []),
    row(
        "scope-without-replicas-holds",
        coverage(
            "{name: 'D:\\'}",
            dpm=PAIR.replace(
                '{version: "1.0"}',
                '{version: "1.0", secondary_scope: [database, config, scripting]}',
            ),
        ),
        [],
    ),
    row(
        "switched-server-holds",
        coverage("{name: 'D:\\', primary: DPM2, mode: switched, switched_from: DPM1}"),
        [],
    ),
    row(
        "primary-without-secondary-holds",
        coverage("{name: 'D:\\', primary: DPM2}"),  # nobody protects DPM2
        [],
    ),
    row("unprotected-holds", coverage("{name: 'D:\\', primary: null}"), []),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SECONDARY_COVERAGE)
def test_secondary_coverage(text, profile, expected):
    assert found("SECONDARY-COVERAGE", text, profile) == expected


# -- UNPROTECTED ---------------------------------------------------------------------------------

UNPROTECTED = [
    row(
        "explicitly-unprotected-and-no-agent",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources:
                  - {name: 'D:\\', primary: null}     # listed, deliberately not protected
              Server2:
                datasources: [{name: 'E:\\'}]        # no agent: no primary by default
            """
        ),
        [
            ("info", {"datasource": DS}, "servers.Server1.datasources[0]", 9),
            ("info", {"datasource": "Server2/E:\\"}, "servers.Server2.datasources[0]", 11),
        ],
    ),
    row(
        "protected-holds",
        estate(
            """\
              Server1:
                agent: DPM1
                datasources: [{name: 'D:\\'}]
            """
        ),
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), UNPROTECTED)
def test_unprotected(text, profile, expected):
    assert found("UNPROTECTED", text, profile) == expected


def test_location_through_a_yaml_alias_is_the_alias():
    text = estate(
        """\
          Server1:
            agent: DPM1
            datasources:
              - {name: 'C:\\', secondary: DPM2, secondary_policy: &hourly {sync_minutes: 60}}
              - {name: 'D:\\', secondary: DPM2, secondary_policy: *hourly}   # line 10
        """
    )
    assert found("REPLICA-SYNC-DAILY", text, "strict") == [
        ("info", {"datasource": "Server1/C:\\", "sync_minutes": 60}, SP, 9),
        ("info", {"datasource": DS, "sync_minutes": 60}, SP.replace("[0]", "[1]"), 10),
    ]
