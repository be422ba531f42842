"""Waivers (format.md, "Waivers"): WAIVER-UNUSED, WAIVER-EXPIRED, and which findings a waiver waives.

The estate below has two PRIMARY-DOWN errors (DPM1 failed) on data sources whose names contain
`/` (SQL names), and a VERSION-MATCH error between DPM1 and DPM2. Waivers are appended to it;
`today` is fixed, so expiry is reproducible.
"""

from __future__ import annotations

import textwrap

import pytest

import dpmsmt

TODAY = "2026-11-24"

ESTATE = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19", status: failed}       # PRIMARY-DOWN for both databases
  DPM2: {version: "10.22", protects: [DPM1]}     # VERSION-MATCH with DPM1
  DPM3: {version: "10.22"}                       # takes part in nothing
servers:
  SQL1:
    agent: DPM1
    datasources:
      - {name: 'MSSQLSERVER/Sales', type: sql, secondary: DPM2}
      - {name: 'MSSQLSERVER/HR', type: sql, secondary: DPM2}
waivers:
"""
SALES = "SQL1/MSSQLSERVER/Sales"
HR = "SQL1/MSSQLSERVER/HR"
WAIVERS_LINE = 13  # the first line after `waivers:`


def report(waivers: str, **kw) -> dpmsmt.Report:
    text = ESTATE + textwrap.indent(textwrap.dedent(waivers), "  ")
    return dpmsmt.check(dpmsmt.loads(text, file="t.yaml"), today=TODAY, **kw)


def found(rule: str, waivers: str, **kw) -> list[tuple]:
    return [
        (f.severity.label, f.entities, f.location.path, f.location.line)
        for f in report(waivers, **kw).findings
        if f.rule == rule
    ]


# -- WAIVER-UNUSED -------------------------------------------------------------------------------


def _unused(index: int, rule: str, target: str | None, line: int) -> tuple:
    entities = {"waiver": index, "rule": rule, "target": target}
    return ("warning", entities, f"waivers[{index}]", line)


WAIVER_UNUSED = [
    pytest.param(
        "- {rule: PRIMARY-DOWN, target: dpm3, reason: nothing on DPM3 is down}\n",
        [_unused(0, "PRIMARY-DOWN", "DPM3", WAIVERS_LINE)],  # the target as defined
        id="target-in-no-finding",
    ),
    pytest.param(
        "- {rule: SECONDARY-DOWN, reason: no secondary is down}\n",
        [_unused(0, "SECONDARY-DOWN", None, WAIVERS_LINE)],
        id="rule-with-no-finding",
    ),
    pytest.param(
        """\
        - {rule: PRIMARY-DOWN, reason: used}
        - {rule: UNPROTECTED, target: SQL1, reason: unused}   # its index is 1
        """,
        [_unused(1, "UNPROTECTED", "SQL1", WAIVERS_LINE + 1)],
        id="index-of-the-waiver",
    ),
    pytest.param(
        "- {rule: WAIVER-UNUSED, reason: waiver findings are never waived}\n",
        [_unused(0, "WAIVER-UNUSED", None, WAIVERS_LINE)],
        id="waiving-waiver-unused-is-itself-unused",
    ),
    pytest.param("- {rule: PRIMARY-DOWN, target: DPM1, reason: rebuilding}\n", [], id="used-holds"),
    pytest.param(
        "- {rule: VERSION-MATCH, target: DPM3, reason: old, expires: 2020-01-01}\n",
        [],  # expired: WAIVER-EXPIRED only, never also WAIVER-UNUSED
        id="expired-is-not-also-unused",
    ),
]


@pytest.mark.parametrize(("waivers", "expected"), WAIVER_UNUSED)
def test_waiver_unused(waivers, expected):
    assert found("WAIVER-UNUSED", waivers) == expected


def test_waiver_unused_only_for_rules_that_were_checked():
    waivers = "- {rule: SECONDARY-DOWN, reason: no secondary is down}\n"
    assert found("WAIVER-UNUSED", waivers, ignore=["SECONDARY-DOWN"]) == []
    assert found("WAIVER-UNUSED", waivers, select=["PRIMARY-DOWN"]) == []


# -- WAIVER-EXPIRED ------------------------------------------------------------------------------


def expiring(expires: str) -> str:
    return f"""\
    - rule: PRIMARY-DOWN
      target: sql1
      reason: DPM1 is being rebuilt
      expires: {expires}
    """


def _expired(expires: str) -> tuple:
    entities = {"waiver": 0, "rule": "PRIMARY-DOWN", "target": "SQL1", "expires": expires}
    return ("warning", entities, "waivers[0].expires", WAIVERS_LINE + 3)


WAIVER_EXPIRED = [
    pytest.param(expiring("2026-11-23"), [_expired("2026-11-23")], False, id="expired-yesterday"),
    pytest.param(expiring("'2020-01-01'"), [_expired("2020-01-01")], False, id="expired-long-ago"),
    pytest.param(expiring("2026-11-24"), [], True, id="expires-today-holds"),
    pytest.param(expiring("2027-06-30"), [], True, id="expires-later-holds"),
    pytest.param(
        "- {rule: PRIMARY-DOWN, target: SQL1, reason: no end date}\n", [], True, id="no-date-holds"
    ),
]


@pytest.mark.parametrize(("waivers", "expected", "waived"), WAIVER_EXPIRED)
def test_waiver_expired(waivers, expected, waived):
    r = report(waivers)
    got = [
        (f.severity.label, f.entities, f.location.path, f.location.line)
        for f in r.findings
        if f.rule == "WAIVER-EXPIRED"
    ]
    assert got == expected
    # an expired waiver waives nothing: the findings it covered count again
    down = [f for f in r.findings if f.rule == "PRIMARY-DOWN"]
    assert [f.waived for f in down] == [waived, waived]


def test_expiry_follows_today():
    waivers = expiring("2026-11-23")
    text = ESTATE + textwrap.indent(textwrap.dedent(waivers), "  ")
    topology = dpmsmt.loads(text, file="t.yaml")
    rules = {f.rule for f in dpmsmt.check(topology, today="2026-11-23").findings if not f.waived}
    assert "WAIVER-EXPIRED" not in rules
    rules = {f.rule for f in dpmsmt.check(topology, today="2026-11-24").findings if not f.waived}
    assert "WAIVER-EXPIRED" in rules


# -- what a waiver waives -------------------------------------------------------------------------

MATCHING = [
    pytest.param(
        "- {rule: PRIMARY-DOWN, reason: all of them}\n",
        {("PRIMARY-DOWN", SALES), ("PRIMARY-DOWN", HR)},
        id="no-target-waives-every-finding-of-the-rule",
    ),
    pytest.param(
        "- {rule: PRIMARY-DOWN, target: 'sql1/mssqlserver/sales', reason: one database}\n",
        {("PRIMARY-DOWN", SALES)},  # the id splits at the first `/`: SQL1 + MSSQLSERVER/Sales
        id="data-source-with-slash-in-its-name",
    ),
    pytest.param(
        "- {rule: PRIMARY-DOWN, target: SQL1, reason: the whole server}\n",
        {("PRIMARY-DOWN", SALES), ("PRIMARY-DOWN", HR)},
        id="protected-server-matches-its-data-sources",
    ),
    pytest.param(
        "- {rule: PRIMARY-DOWN, target: Dpm1, reason: a DPM server among the entities}\n",
        {("PRIMARY-DOWN", SALES), ("PRIMARY-DOWN", HR)},
        id="dpm-server-named-in-the-finding",
    ),
    pytest.param(
        "- {rule: VERSION-MATCH, target: DPM2, reason: upgrade planned}\n",
        {("VERSION-MATCH", None)},
        id="dpm-server-in-a-component",
    ),
    pytest.param(
        "- {rule: SECONDARY-DOWN, target: SQL1, reason: wrong rule}\n",
        set(),
        id="other-rule-waives-nothing",
    ),
]


@pytest.mark.parametrize(("waivers", "expected"), MATCHING)
def test_waiver_matching(waivers, expected):
    r = report(waivers)
    waived = {(f.rule, f.entities.get("datasource")) for f in r.findings if f.waived}
    assert waived == expected
    # waived findings stay in the report, with the waiver's reason; counts keep them apart
    assert all(f.waiver_reason for f in r.findings if f.waived)
    assert r.counts()["waived"] == len(expected)


def test_waived_errors_do_not_make_the_verdict():
    r = report(
        """\
        - {rule: PRIMARY-DOWN, reason: DPM1 is being rebuilt}
        - {rule: VERSION-MATCH, reason: DPM1 comes back at 10.22}
        """
    )
    assert r.verdict == "valid"
    assert r.errors == ()
    assert r.counts() == {"error": 0, "warning": 0, "info": 0, "waived": 3}
