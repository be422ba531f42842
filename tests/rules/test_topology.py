"""The topology rules of rules.md, one parametrized table per rule.

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


def per_profile(name: str, text: str, expected: dict[str, list]) -> list:
    """One row per profile; `expected` maps every profile to its findings."""
    assert set(expected) == set(PROFILES)
    return [pytest.param(text, p, expected[p], id=f"{name}-{p}") for p in PROFILES]


def row(name: str, text: str, expected: list, profile: str = "strict"):
    return pytest.param(text, profile, expected, id=name)


# -- SECONDARY-ONCE ---------------------------------------------------------------------------

SECONDARY_ONCE = [
    row(
        "two-secondaries",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0"}
          DPM2: {version: "1.0", protects: [DPM1]}   # the first secondary of DPM1
          DPM3: {version: "1.0", protects: [DPM1]}   # a second one: one too many
        """,
        [
            (
                "error",
                {"dpm": "DPM1", "protectors": ["DPM2", "DPM3"]},
                "dpm_servers.DPM3.protects[0]",
                5,
            )
        ],
    ),
    row(
        "protectors-sorted-case-insensitively",
        """\
        dpmsmt: 1
        dpm_servers:
          Primary: {version: "1.0"}
          dpm-b: {version: "1.0", protects: [Primary]}    # sorts after DPM-A
          DPM-A: {version: "1.0", protects: [primary]}    # `primary` is Primary
        """,
        # the second protector by name is dpm-b: its `protects` entry is the location
        [
            (
                "error",
                {"dpm": "Primary", "protectors": ["DPM-A", "dpm-b"]},
                "dpm_servers.dpm-b.protects[0]",
                4,
            )
        ],
    ),
    row(
        "three-secondaries-one-finding",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0"}
          DPM4: {version: "1.0", protects: [DPM1]}   # three protectors of DPM1,
          DPM3: {version: "1.0", protects: [DPM1]}   # listed out of order
          DPM2: {version: "1.0", protects: [DPM1]}
        """,
        [
            (
                "error",
                {"dpm": "DPM1", "protectors": ["DPM2", "DPM3", "DPM4"]},
                "dpm_servers.DPM3.protects[0]",
                5,
            )
        ],
    ),
    row(
        "mutual-path-reports-the-middle",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects: [DPM2]}         # DPM1 <-> DPM2
          DPM2: {version: "1.0", protects: [DPM1, DPM3]}   # DPM2 <-> DPM3
          DPM3: {version: "1.0", protects: [DPM2]}         # so DPM2 has two protectors
        """,
        [
            (
                "error",
                {"dpm": "DPM2", "protectors": ["DPM1", "DPM3"]},
                "dpm_servers.DPM3.protects[0]",
                5,
            )
        ],
    ),
    row(
        "chain-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0"}
          DPM2: {version: "1.0", protects: [DPM1]}   # DPM2 protects DPM1
          DPM3: {version: "1.0", protects: [DPM2]}   # DPM3 protects DPM2: each protected once
        """,
        [],
    ),
    row(
        "fan-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0"}
          DPM2: {version: "1.0"}
          DPM3: {version: "1.0", protects: [DPM1, DPM2]}   # one secondary for two primaries
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SECONDARY_ONCE)
def test_secondary_once(text, profile, expected):
    assert found("SECONDARY-ONCE", text, profile) == expected


# -- SECONDARY-NOT-SELF ------------------------------------------------------------------------

SECONDARY_NOT_SELF = [
    row(
        "protects-itself",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects: [DPM2, dpm1]}   # dpm1 is DPM1 itself
          DPM2: {version: "1.0"}
        """,
        [("error", {"dpm": "DPM1"}, "dpm_servers.DPM1.protects[1]", 3)],
    ),
    row(
        "two-cycle-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects: [DPM2]}   # DPM1 <-> DPM2 protect each other,
          DPM2: {version: "1.0", protects: [DPM1]}   # neither protects itself
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SECONDARY_NOT_SELF)
def test_secondary_not_self(text, profile, expected):
    assert found("SECONDARY-NOT-SELF", text, profile) == expected


# -- SELF-PROTECTION-BREAKS-CHAIN ----------------------------------------------------------------

SELF_PROTECTION_BREAKS_CHAIN = [
    row(
        "self-protecting-with-secondary",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1:
            version: "1.0"
            protects_own_database: true                # DPM1 protects its own DPMDB ...
          DPM2: {version: "1.0", protects: [DPM1]}     # ... and has a secondary
        """,
        [
            (
                "error",
                {"dpm": "DPM1", "protectors": ["DPM2"]},
                "dpm_servers.DPM1.protects_own_database",
                5,
            )
        ],
    ),
    row(
        "self-loop-counts-as-a-secondary",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects_own_database: true, protects: [DPM1]}
        """,
        [
            (
                "error",
                {"dpm": "DPM1", "protectors": ["DPM1"]},
                "dpm_servers.DPM1.protects_own_database",
                3,
            )
        ],
    ),
    row(
        "standalone-self-protection-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects_own_database: true}   # no secondary: allowed
        """,
        [],
    ),
    row(
        "the-secondary-may-protect-itself",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0"}
          DPM2: {version: "1.0", protects: [DPM1], protects_own_database: true}  # nobody protects DPM2
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SELF_PROTECTION_BREAKS_CHAIN)
def test_self_protection_breaks_chain(text, profile, expected):
    assert found("SELF-PROTECTION-BREAKS-CHAIN", text, profile) == expected


# -- CYCLE-TWO-ONLY ------------------------------------------------------------------------------

THREE_CYCLE = """\
dpmsmt: 1
dpm_servers:
  Charlie: {version: "1.0", protects: [Bravo]}   # Charlie -> Bravo
  alpha: {version: "1.0", protects: [Charlie]}   # alpha -> Charlie
  Bravo: {version: "1.0", protects: [alpha]}     # Bravo -> alpha closes a 3-cycle
"""
# the component sorted by name (case-insensitively); the finding points at alpha's definition
_CYCLE = ({"component": ["alpha", "Bravo", "Charlie"]}, "dpm_servers.alpha", 4)

CYCLE_TWO_ONLY = [
    *per_profile(
        "three-cycle",
        THREE_CYCLE,
        {p: [("error" if p == "strict" else "warning", *_CYCLE)] for p in PROFILES},
    ),
    row(
        "file-profile-applies",
        '# the profile of the file, not strict, decides the severity\nprofile: "2012"\n'
        + THREE_CYCLE,
        [("warning", _CYCLE[0], _CYCLE[1], 6)],
        profile=None,
    ),
    row(
        "mutual-pairs-forming-a-triangle",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects: [DPM2, DPM3]}   # every pair protects each other:
          DPM2: {version: "1.0", protects: [DPM1, DPM3]}   # only 2-cycles, but together they
          DPM3: {version: "1.0", protects: [DPM1, DPM2]}   # contain DPM1 -> DPM2 -> DPM3 -> DPM1
        """,
        [("error", {"component": ["DPM1", "DPM2", "DPM3"]}, "dpm_servers.DPM1", 3)],
    ),
    row(
        "two-cycle-with-a-one-way-edge",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects: [DPM2]}         # DPM1 <-> DPM2
          DPM2: {version: "1.0", protects: [DPM1, DPM3]}   # DPM2 -> DPM3 one way
          DPM3: {version: "1.0", protects: [DPM1]}         # DPM3 -> DPM1: DPM1 -> DPM2 -> DPM3 -> DPM1
        """,
        [("error", {"component": ["DPM1", "DPM2", "DPM3"]}, "dpm_servers.DPM1", 3)],
    ),
    row(
        "one-finding-per-component",
        """\
        dpmsmt: 1
        dpm_servers:
          A1: {version: "1.0", protects: [A2]}   # A1 -> A2 -> A3 -> A1
          A2: {version: "1.0", protects: [A3]}
          A3: {version: "1.0", protects: [A1]}
          B1: {version: "1.0", protects: [B2]}   # B1 -> B2 -> B3 -> B1, a second component
          B2: {version: "1.0", protects: [B3]}
          B3: {version: "1.0", protects: [B1]}
        """,
        [
            ("error", {"component": ["A1", "A2", "A3"]}, "dpm_servers.A1", 3),
            ("error", {"component": ["B1", "B2", "B3"]}, "dpm_servers.B1", 6),
        ],
    ),
    *per_profile(
        "two-cycle-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects: [DPM2]}   # the documented DPM1 <-> DPM2
          DPM2: {version: "1.0", protects: [DPM1]}
        """,
        {p: [] for p in PROFILES},
    ),
    row(
        "mutual-path-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", protects: [DPM2]}         # DPM1 <-> DPM2 <-> DPM3: the mutual
          DPM2: {version: "1.0", protects: [DPM1, DPM3]}   # pairs form a path, so there is no
          DPM3: {version: "1.0", protects: [DPM2]}         # cycle of length 3 (SECONDARY-ONCE fires)
        """,
        [],
    ),
    row(
        "chain-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0"}
          DPM2: {version: "1.0", protects: [DPM1]}   # DPM3 -> DPM2 -> DPM1, no way back
          DPM3: {version: "1.0", protects: [DPM2]}
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), CYCLE_TWO_ONLY)
def test_cycle_two_only(text, profile, expected):
    assert found("CYCLE-TWO-ONLY", text, profile) == expected


# -- MABS-NO-SECONDARY ---------------------------------------------------------------------------

MABS_NO_SECONDARY = [
    row(
        "dpm-protects-mabs",
        """\
        dpmsmt: 1
        dpm_servers:
          MABS1: {kind: mabs, version: "14.0"}
          DPM2: {version: "14.0", protects: [MABS1]}   # a DPM server as the secondary of a MABS
        """,
        [("error", {"secondary": "DPM2", "primary": "MABS1"}, "dpm_servers.DPM2.protects[0]", 4)],
    ),
    row(
        "mabs-protects-dpm",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "14.0"}
          DPM2: {version: "14.0"}
          MABS3: {kind: mabs, version: "14.0", protects: [DPM2, DPM1]}   # a MABS as secondary, twice
        """,
        [
            # sorted by location: protects[0] comes first
            (
                "error",
                {"secondary": "MABS3", "primary": "DPM2"},
                "dpm_servers.MABS3.protects[0]",
                5,
            ),
            (
                "error",
                {"secondary": "MABS3", "primary": "DPM1"},
                "dpm_servers.MABS3.protects[1]",
                5,
            ),
        ],
    ),
    row(
        "mabs-protects-mabs",
        """\
        dpmsmt: 1
        dpm_servers:
          MABS1: {kind: mabs, version: "14.0"}
          MABS2: {kind: mabs, version: "14.0", protects: [MABS1]}
        """,
        [("error", {"secondary": "MABS2", "primary": "MABS1"}, "dpm_servers.MABS2.protects[0]", 4)],
    ),
    row(
        "standalone-mabs-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          MABS1: {kind: mabs, version: "14.0"}       # MABS protecting computers directly: fine
          DPM1: {version: "5.0"}
          DPM2: {version: "5.0", protects: [DPM1]}   # DPM servers may chain
        servers:
          Server1:
            agent: MABS1
            datasources: [{name: 'D:\\'}]
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), MABS_NO_SECONDARY)
def test_mabs_no_secondary(text, profile, expected):
    assert found("MABS-NO-SECONDARY", text, profile) == expected


# -- VERSION-MATCH -------------------------------------------------------------------------------

ROLLUP_CHAIN = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0"}
  DPM2: {version: "10.19.202.0", protects: [DPM1]}   # DPM 2019 with UR1 protects DPM 2019 RTM
  DPM3: {version: "10.19.58.0", protects: [DPM2]}    # and is protected by RTM again
"""
_ROLLUP = (
    {
        "component": ["DPM1", "DPM2", "DPM3"],
        "versions": {"10.19.58.0": ["DPM1", "DPM3"], "10.19.202.0": ["DPM2"]},
    },
    "dpm_servers.DPM2.version",  # the first server of the second-largest group
    4,
)

MAJOR_MINOR = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.22.123.0"}
  DPM2: {version: "10.19.58.0", protects: [DPM1]}    # DPM 2019 protects DPM 2022
  DPM3: {version: "10.22.123.0", protects: [DPM2]}
"""
_MAJOR_MINOR = (
    {
        "component": ["DPM1", "DPM2", "DPM3"],
        "versions": {"10.22.123.0": ["DPM1", "DPM3"], "10.19.58.0": ["DPM2"]},
    },
    "dpm_servers.DPM2.version",
    4,
)

VERSION_MATCH = [
    *per_profile(
        "update-rollup-differs",
        ROLLUP_CHAIN,
        # the whole build for strict, 2012 and 2016; major.minor for 2019+ (BUILD-MATCH's part)
        {p: [("error", *_ROLLUP)] if p in ("strict", "2012", "2016") else [] for p in PROFILES},
    ),
    *per_profile(
        "major-minor-differs",
        MAJOR_MINOR,
        {p: [("error", *_MAJOR_MINOR)] for p in PROFILES},
    ),
    *per_profile(
        "short-version-matches-both",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "10.19"}                          # fields 1-2 only
          DPM2: {version: "10.19.58.0", protects: [DPM1]}   # agrees with DPM1 on 10.19
        """,
        {p: [] for p in PROFILES},
    ),
    row(
        "short-version-between-differing-builds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "10.19.58.0"}
          DPM2: {version: "10.19", protects: [DPM1, DPM3]}  # matches both of them ...
          DPM3: {version: "10.19.202.0"}                    # ... but they differ from each other
        """,
        [
            (
                "error",
                {
                    "component": ["DPM1", "DPM2", "DPM3"],
                    "versions": {
                        "10.19": ["DPM2"],
                        "10.19.58.0": ["DPM1"],
                        "10.19.202.0": ["DPM3"],
                    },
                },
                # three groups of one (a tie findings.md leaves open): the implementation takes
                # the second in the text order of the versions ("10.19.202.0" < "10.19.58.0")
                "dpm_servers.DPM3.version",
                5,
            )
        ],
    ),
    row(
        "numeric-fields-compare-as-integers",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "10.19.058.0"}                    # 058 is 58
          DPM2: {version: "10.19.58.0", protects: [DPM1]}
        """,
        [],
    ),
    row(
        "failed-server-is-compared",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "5.0.342.0", status: failed}     # comes back with its database's version
          DPM2: {version: "5.0.322.0", protects: [DPM1]}
          DPM3: {version: "5.0.322.0", protects: [DPM2]}
        """,
        [
            (
                "error",
                {
                    "component": ["DPM1", "DPM2", "DPM3"],
                    "versions": {"5.0.342.0": ["DPM1"], "5.0.322.0": ["DPM2", "DPM3"]},
                },
                "dpm_servers.DPM1.version",
                3,
            )
        ],
    ),
    row(
        "removed-server-is-not-compared",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "4.2.1092.0", status: removed}   # runs nothing any more
          DPM2: {version: "5.0.322.0", protects: [DPM1]}
        """,
        [],
    ),
    row(
        "removed-server-still-connects",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "5.0.322.0"}
          DPM2: {version: "4.2.1092.0", protects: [DPM1], status: removed}  # edges stay: DPM1 and
          DPM3: {version: "5.0.342.0", protects: [DPM2]}                    # DPM3 are one component
        """,
        [
            (
                "error",
                {
                    "component": ["DPM1", "DPM3"],
                    "versions": {"5.0.322.0": ["DPM1"], "5.0.342.0": ["DPM3"]},
                },
                "dpm_servers.DPM3.version",
                5,
            )
        ],
    ),
    row(
        "separate-components-hold",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "5.0.322.0"}
          DPM2: {version: "5.0.322.0", protects: [DPM1]}     # one pair on DPM 2016 UR4
          DPM3: {version: "10.19.58.0"}
          DPM4: {version: "10.19.58.0", protects: [DPM3]}    # another on DPM 2019: unrelated
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), VERSION_MATCH)
def test_version_match(text, profile, expected):
    assert found("VERSION-MATCH", text, profile) == expected


# -- BUILD-MATCH ---------------------------------------------------------------------------------

_BUILDS_TO_SECONDARY = (
    {
        "component": ["DPM1", "DPM2", "DPM3"],
        "builds": {"10.19.58.0": ["DPM1", "DPM3"], "10.19.202.0": ["DPM2"]},
    },
    "dpm_servers.DPM2.version",
    4,
)

BUILDS_NOT_TO_SECONDARY = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0", database: {sql: remote, backup: sql-native}}
  DPM2: {version: "10.19.202.0", protects: [DPM1, DPM3]}   # protects both primaries, but
  DPM3: {version: "10.19.58.0", database: {sql: remote, backup: sql-native}}  # not their DPMDBs
"""

BUILD_MATCH = [
    *per_profile(
        "database-backed-up-to-secondary",
        # DPM1's and DPM2's databases go to their secondary (the default where one protects them)
        ROLLUP_CHAIN,
        {
            p: [("error", *_BUILDS_TO_SECONDARY)] if p in ("2019", "2022", "2025") else []
            for p in PROFILES
        },
    ),
    *per_profile(
        "database-not-backed-up-to-secondary",
        BUILDS_NOT_TO_SECONDARY,
        {
            p: (
                [
                    (
                        "warning",
                        {
                            "component": ["DPM1", "DPM2", "DPM3"],
                            "builds": {"10.19.58.0": ["DPM1", "DPM3"], "10.19.202.0": ["DPM2"]},
                        },
                        "dpm_servers.DPM2.version",
                        4,
                    )
                ]
                if p in ("2019", "2022", "2025")
                else []
            )
            for p in PROFILES
        },
    ),
    row(
        "major-minor-differs-is-version-match",
        MAJOR_MINOR,
        [],  # VERSION-MATCH reports it; BUILD-MATCH applies where major.minor are equal
        profile="2019",
    ),
    row(
        "same-build-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "10.19.202.0"}
          DPM2: {version: "10.19.202.0", protects: [DPM1]}   # same update rollup
        """,
        [],
        profile="2019",
    ),
    row(
        "short-version-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "10.19"}                           # compares on 10.19 only
          DPM2: {version: "10.19.202.0", protects: [DPM1]}
        """,
        [],
        profile="2022",
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), BUILD_MATCH)
def test_build_match(text, profile, expected):
    assert found("BUILD-MATCH", text, profile) == expected


# -- OS-MATCH ------------------------------------------------------------------------------------

OS_CHAIN = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "1.0", os: "Windows Server 2019 10.0.17763"}
  DPM2: {version: "1.0", os: "Windows Server 2022 10.0.20348", protects: [DPM1]}  # another OS
  DPM3: {version: "1.0", os: "Windows Server 2019 10.0.17763", protects: [DPM2]}
  DPM4: {version: "1.0", protects: [DPM3]}    # gives no os: not compared
"""
_OS = (
    {
        "component": ["DPM1", "DPM2", "DPM3"],
        "os": {
            "Windows Server 2019 10.0.17763": ["DPM1", "DPM3"],
            "Windows Server 2022 10.0.20348": ["DPM2"],
        },
    },
    "dpm_servers.DPM2.os",
    4,
)

OS_MATCH = [
    *per_profile(
        "os-differs",
        OS_CHAIN,
        {p: [("error" if p in ("strict", "2012") else "warning", *_OS)] for p in PROFILES},
    ),
    row(
        "os-compares-exactly",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", os: "Windows Server 2019"}
          DPM2: {version: "1.0", os: "windows server 2019", protects: [DPM1]}  # not the same string
          DPM3: {version: "1.0", os: "Windows Server 2019", protects: [DPM2]}
        """,
        [
            (
                "error",
                {
                    "component": ["DPM1", "DPM2", "DPM3"],
                    "os": {
                        "Windows Server 2019": ["DPM1", "DPM3"],
                        "windows server 2019": ["DPM2"],
                    },
                },
                "dpm_servers.DPM2.os",
                4,
            )
        ],
    ),
    row(
        "only-one-gives-os-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", os: "Windows Server 2019"}
          DPM2: {version: "1.0", protects: [DPM1]}   # no os: nothing to compare with
        """,
        [],
    ),
    row(
        "removed-server-is-not-compared",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", os: "Windows Server 2012 R2", status: removed}
          DPM2: {version: "1.0", os: "Windows Server 2019", protects: [DPM1]}
        """,
        [],
    ),
    row(
        "same-os-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", os: "Windows Server 2019"}
          DPM2: {version: "1.0", os: "Windows Server 2019", protects: [DPM1]}
          DPM3: {version: "1.0", os: "Windows Server 2022"}   # not in their configuration
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), OS_MATCH)
def test_os_match(text, profile, expected):
    assert found("OS-MATCH", text, profile) == expected


# -- DB-BACKUP-WITH-SECONDARY --------------------------------------------------------------------


def db_backup(method: str, sql: str = "local", protected: bool = True) -> str:
    protects = "[DPM1]" if protected else "[]"
    return f"""\
dpmsmt: 1
dpm_servers:
  DPM1:
    version: "1.0"
    database: {{sql: {sql}, backup: {method}}}
  DPM2: {{version: "1.0", protects: {protects}}}   # the secondary of DPM1 (or not)
"""


DB_BACKUP_WITH_SECONDARY = [
    *[
        row(
            f"local-database-to-{method}",
            db_backup(method),
            [("error", {"dpm": "DPM1", "method": method}, "dpm_servers.DPM1.database.backup", 5)],
        )
        for method in ("azure", "own-pool", "tape", "share")
    ],
    *[
        row(f"local-database-to-{method}-holds", db_backup(method), [])
        for method in ("secondary", "sql-native", "none")
    ],
    row("remote-database-to-azure-holds", db_backup("azure", sql="remote"), []),
    row("no-secondary-to-tape-holds", db_backup("tape", protected=False), []),
]


@pytest.mark.parametrize(("text", "profile", "expected"), DB_BACKUP_WITH_SECONDARY)
def test_db_backup_with_secondary(text, profile, expected):
    assert found("DB-BACKUP-WITH-SECONDARY", text, profile) == expected


# -- SQL-VSS-WRITER ------------------------------------------------------------------------------

SQL_VSS_WRITER = [
    row(
        "writer-stopped-under-a-secondary",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1:
            version: "1.0"
            database: {vss_writer: stopped}            # the writer is stopped ...
          DPM2: {version: "1.0", protects: [DPM1]}     # ... and DPM2 protects DPM1's database
        """,
        [("error", {"dpm": "DPM1"}, "dpm_servers.DPM1.database.vss_writer", 5)],
    ),
    row(
        "database-not-in-scope-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1:
            version: "1.0"
            database: {vss_writer: stopped}
            secondary_scope: [config, scripting, replicas]   # the secondary skips the database
          DPM2: {version: "1.0", protects: [DPM1]}
        """,
        [],
    ),
    row(
        "no-secondary-holds",
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1: {version: "1.0", database: {vss_writer: stopped}}   # nobody protects DPM1
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SQL_VSS_WRITER)
def test_sql_vss_writer(text, profile, expected):
    assert found("SQL-VSS-WRITER", text, profile) == expected


# -- UNTRUSTED-NEEDS-CERTIFICATE -----------------------------------------------------------------


def untrusted(trust: str, auth: str, protected: bool = True) -> str:
    protects = "[DPM1]" if protected else "[]"
    return f"""\
dpmsmt: 1
dpm_servers:
  DPM1:
    version: "1.0"
    trust: {trust}          # DPM1's domain relative to its secondary
    auth: {auth}
  DPM2: {{version: "1.0", protects: {protects}}}
"""


def _untrusted(trust: str, auth: str) -> tuple:
    entities = {"dpm": "DPM1", "protectors": ["DPM2"], "trust": trust, "auth": auth}
    return ("error", entities, "dpm_servers.DPM1.trust", 5)


UNTRUSTED_NEEDS_CERTIFICATE = [
    *per_profile(
        "workgroup-with-certificate",
        untrusted("workgroup", "certificate"),
        # supported with certificates in 2012-2022; the current documentation (strict, 2025) asks
        # for trusted domains
        {
            p: [_untrusted("workgroup", "certificate")] if p in ("strict", "2025") else []
            for p in PROFILES
        },
    ),
    *per_profile(
        "untrusted-with-ntlm",
        untrusted("untrusted", "ntlm"),
        {p: [_untrusted("untrusted", "ntlm")] for p in PROFILES},
    ),
    row("trusted-holds", untrusted("trusted", "ntlm"), []),
    row("untrusted-without-secondary-holds", untrusted("workgroup", "ntlm", protected=False), []),
]


@pytest.mark.parametrize(("text", "profile", "expected"), UNTRUSTED_NEEDS_CERTIFICATE)
def test_untrusted_needs_certificate(text, profile, expected):
    assert found("UNTRUSTED-NEEDS-CERTIFICATE", text, profile) == expected


# -- SECONDARY-MINIMUM-SCOPE ---------------------------------------------------------------------


def scope(items: str, protected: bool = True) -> str:
    protects = "[DPM1]" if protected else "[]"
    return f"""\
dpmsmt: 1
dpm_servers:
  DPM1:
    version: "1.0"
    secondary_scope: {items}   # what DPM2 protects of DPM1
  DPM2: {{version: "1.0", protects: {protects}}}
"""


SECONDARY_MINIMUM_SCOPE = [
    row(
        "replicas-and-config-only",
        scope("[replicas, config]"),
        [
            (
                "warning",
                {"dpm": "DPM1", "missing": ["database", "scripting"]},
                "dpm_servers.DPM1.secondary_scope",
                5,
            )
        ],
    ),
    row(
        "missing-in-fixed-order",
        scope("[scripting, replicas]"),
        [
            (
                "warning",
                {"dpm": "DPM1", "missing": ["database", "config"]},
                "dpm_servers.DPM1.secondary_scope",
                5,
            )
        ],
    ),
    row(
        "empty-scope",
        scope("[]"),
        [
            (
                "warning",
                {"dpm": "DPM1", "missing": ["database", "config", "scripting"]},
                "dpm_servers.DPM1.secondary_scope",
                5,
            )
        ],
    ),
    row("minimum-without-replicas-holds", scope("[scripting, database, config]"), []),
    row("no-secondary-holds", scope("[replicas]", protected=False), []),
]


@pytest.mark.parametrize(("text", "profile", "expected"), SECONDARY_MINIMUM_SCOPE)
def test_secondary_minimum_scope(text, profile, expected):
    assert found("SECONDARY-MINIMUM-SCOPE", text, profile) == expected


# -- TAPE-LIBRARY-VERSION ------------------------------------------------------------------------

TAPE_LIBRARY_VERSION = [
    *per_profile(
        "shared-library-different-builds",
        """\
        dpmsmt: 1
        tape_libraries:
          Lib1: {}
        dpm_servers:
          DPM1: {version: "5.0.322.0", tape_library: Lib1}
          DPM2: {version: "5.0.342.0", tape_library: lib1}   # same library, a newer rollup
          DPM3: {version: "5.0.322.0", tape_library: Lib1}
        """,
        {
            p: [
                (
                    "error",
                    {
                        "library": "Lib1",
                        "builds": {"5.0.322.0": ["DPM1", "DPM3"], "5.0.342.0": ["DPM2"]},
                    },
                    "dpm_servers.DPM2.tape_library",
                    6,
                )
            ]
            for p in PROFILES
        },
    ),
    row(
        "removed-server-is-not-compared",
        """\
        dpmsmt: 1
        tape_libraries: {Lib1: {}}
        dpm_servers:
          DPM1: {version: "5.0.322.0", tape_library: Lib1}
          DPM2: {version: "4.2.1092.0", tape_library: Lib1, status: removed}  # gone for good
        """,
        [],
    ),
    row(
        "different-libraries-hold",
        """\
        dpmsmt: 1
        tape_libraries: {Lib1: {}, Lib2: {}}
        dpm_servers:
          DPM1: {version: "5.0.322.0", tape_library: Lib1}
          DPM2: {version: "5.0.342.0", tape_library: Lib2}   # its own library
        """,
        [],
    ),
    row(
        "same-builds-hold",
        """\
        dpmsmt: 1
        tape_libraries: {Lib1: {}}
        dpm_servers:
          DPM1: {version: "5.0.322.0", tape_library: Lib1}
          DPM2: {version: "5.0.322.0", tape_library: Lib1}
          DPM3: {version: "5.0", tape_library: Lib1}          # agrees on the fields it gives
        """,
        [],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), TAPE_LIBRARY_VERSION)
def test_tape_library_version(text, profile, expected):
    assert found("TAPE-LIBRARY-VERSION", text, profile) == expected


# -- CAPACITY-SERVERS ----------------------------------------------------------------------------


def computers(n: int, agent: str = "DPM1") -> str:
    """`n` protected computers whose agents DPM1 owns (one data source each)."""
    lines = [
        "dpmsmt: 1",
        "dpm_servers:",
        '  DPM1: {version: "1.0"}',
        '  DPM2: {version: "1.0"}',
        "servers:",
    ]
    lines += [f"  S{i:03}: {{agent: {agent}, datasources: [{{name: 'C:\\'}}]}}" for i in range(n)]
    return "\n".join(lines) + "\n"


CAPACITY_SERVERS = [
    row(
        "101-computers",
        computers(101),
        [("warning", {"dpm": "DPM1", "count": 101}, "dpm_servers.DPM1", 3)],
    ),
    row("100-computers-hold", computers(100), []),
    row(
        "scaled-out-agents-count-for-both",
        # 101 clusters whose nodes' agents belong to DPM1 and DPM2
        computers(101, agent="[DPM1, DPM2]").replace("name: 'C:\\'", "name: 'C:\\', primary: DPM1"),
        [
            ("warning", {"dpm": "DPM1", "count": 101}, "dpm_servers.DPM1", 3),
            ("warning", {"dpm": "DPM2", "count": 101}, "dpm_servers.DPM2", 4),
        ],
    ),
]


@pytest.mark.parametrize(("text", "profile", "expected"), CAPACITY_SERVERS)
def test_capacity_servers(text, profile, expected):
    assert found("CAPACITY-SERVERS", text, profile) == expected


# -- CAPACITY-DATASOURCES ------------------------------------------------------------------------


def datasources(n: int, *, replicas: int = 0) -> str:
    """DPM1 protects `n` data sources of Server1; DPM2 holds `replicas` of them as secondary."""
    lines = [
        "dpmsmt: 1",
        "dpm_servers:",
        '  DPM1: {version: "1.0"}',
        '  DPM2: {version: "1.0", protects: [DPM1]}',
        "servers:",
        "  Server1:",
        "    agent: DPM1",
        "    datasources:",
    ]
    lines += [
        f"      - {{name: 'db{i}', type: sql{', secondary: DPM2' if i < replicas else ''}}}"
        for i in range(n)
    ]
    return "\n".join(lines) + "\n"


def _capacity(dpm: str, count: int, limit: int, line: int) -> tuple:
    return ("warning", {"dpm": dpm, "count": count, "limit": limit}, f"dpm_servers.{dpm}", line)


CAPACITY_DATASOURCES = [
    *per_profile(
        "301-datasources",
        datasources(301),
        # 300 only for 2012 (LDM volumes); Modern Backup Storage plans for 2000
        {p: [_capacity("DPM1", 301, 300, 3)] if p == "2012" else [] for p in PROFILES},
    ),
    *per_profile(
        "2001-datasources",
        datasources(2001),
        {p: [_capacity("DPM1", 2001, 300 if p == "2012" else 2000, 3)] for p in PROFILES},
    ),
    row(
        "replicas-held-as-secondary-count",
        # DPM2 holds 301 replicas of DPM1's data sources (DPM1: 301 as primary)
        datasources(301, replicas=301),
        [_capacity("DPM1", 301, 300, 3), _capacity("DPM2", 301, 300, 4)],
        profile="2012",
    ),
    row("300-datasources-hold", datasources(300, replicas=300), [], profile="2012"),
    row("2000-datasources-hold", datasources(2000), [], profile="strict"),
]


@pytest.mark.parametrize(("text", "profile", "expected"), CAPACITY_DATASOURCES)
def test_capacity_datasources(text, profile, expected):
    assert found("CAPACITY-DATASOURCES", text, profile) == expected


# -- where "its definition" is ---------------------------------------------------------------------


def test_definition_location_is_the_name_line():
    text = """\
    dpmsmt: 1
    dpm_servers:
      DPM1:                      # line 3: DPM1 is defined here
        version: "1.0"
        protects: [DPM3]
      DPM2:
        version: "1.0"
        protects: [DPM1]
      DPM3:
        version: "1.0"
        protects: [DPM2]
    """
    assert found("CYCLE-TWO-ONLY", text, "strict") == [
        ("error", {"component": ["DPM1", "DPM2", "DPM3"]}, "dpm_servers.DPM1", 3)
    ]
