"""Reading topology files (format.md, "Reading rules"): every reading error, where it is reported.

Every error names the file, the line and column, and the path inside the document; `TopologyError`
holds all of them, sorted, and `first` is the one the command line prints. Line numbers count from
the first line of each text.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import dpmsmt
from dpmsmt.findings import LoadError

BASE = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: "1.0"}
  DPM2: {version: "1.0", protects: [DPM1]}
"""


def read_error(text: str, *, format: str = "yaml") -> LoadError:
    with pytest.raises(dpmsmt.TopologyError) as info:
        dpmsmt.loads(textwrap.dedent(text), format=format, file="t.yaml")
    error = info.value.first
    assert error.file == "t.yaml"
    assert "\n" not in str(error), "an error is one line"
    return error


def where(error: LoadError) -> tuple[int, int, str]:
    return (error.line, error.column, error.path)


# (text, format, (line, column, path), a regular expression the message must match)
ERRORS = [
    pytest.param(
        """\
        dpmsmt: 1
        dpm_servers:
          DPM1:
            version: "1.0"
           os: x
        """,
        "yaml",
        (5, 4, "<root>"),
        r"^YAML syntax error: .*did not find expected key",
        id="yaml-syntax-error",
    ),
    pytest.param(
        '{"dpmsmt": 1,\n "dpm_servers": {"DPM1": {"version": "1.0",}}}',
        "json",
        (2, 44, "<root>"),
        r"^JSON syntax error: Expecting property name enclosed in double quotes$",
        id="json-syntax-error",
    ),
    pytest.param(
        BASE + '  DPM3: {version: "1.0", protect: [DPM2]}\n',
        "yaml",
        (5, 26, "dpm_servers.DPM3.protect"),
        r"^unknown key `protect`: did you mean `protects`\?$",
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers: {}\nserver: {}\n",
        "yaml",
        (3, 1, "server"),
        r"^unknown key `server`: did you mean `servers`\?$",
        id="unknown-top-level-key",
    ),
    pytest.param(
        BASE + "servers:\n  S1: {agent: DPM1, datasources: [{name: a, secondry: DPM2}]}\n",
        "yaml",
        (6, 45, "servers.S1.datasources[0].secondry"),
        r"^unknown key `secondry`: did you mean `secondary`\?$",
        id="unknown-data-source-key",
    ),
    pytest.param(
        BASE + '  DPM3: {version: "1.0", zzzz: 1}\n',
        "yaml",
        (5, 26, "dpm_servers.DPM3.zzzz"),
        r"^unknown key `zzzz`$",
        id="unknown-key-nothing-close",
    ),
    pytest.param(
        BASE + '  DPM3: {version: "1.0", protects: DPM1}\n',
        "yaml",
        (5, 36, "dpm_servers.DPM3.protects"),
        r"^`protects`: .*valid list",
        id="string-for-a-list",
    ),
    pytest.param(
        BASE + '  DPM3: {version: "1.0", protects_own_database: yes}\n',
        "yaml",
        (5, 49, "dpm_servers.DPM3.protects_own_database"),
        r"^`protects_own_database`: .*valid boolean",  # YAML 1.2: `yes` is a string
        id="yes-is-not-a-boolean",
    ),
    pytest.param(
        BASE + '  DPM3: {version: "1.0", status: down}\n',
        "yaml",
        (5, 34, "dpm_servers.DPM3.status"),
        r"^`status`: .*'up', 'failed' or 'removed'",
        id="unknown-enum-value",
    ),
    pytest.param(
        BASE + "servers:\n  S1:\n    agent: DPM1\n    datasources:\n"
        '      - {name: a, policy: {sync_minutes: "15"}}\n',
        "yaml",
        (9, 42, "servers.S1.datasources[0].policy.sync_minutes"),
        r"^`sync_minutes`: .*valid integer",
        id="quoted-integer",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers: [DPM1]\n",
        "yaml",
        (2, 14, "dpm_servers"),
        r"^`dpm_servers`: .*valid dictionary",
        id="list-for-a-mapping",
    ),
    pytest.param(
        "dpmsmt: 2\ndpm_servers: {}\n",
        "yaml",
        (1, 9, "dpmsmt"),
        r"^`dpmsmt`: input should be 1$",
        id="format-version-2",
    ),
    pytest.param(
        "dpmsmt: 1\nname: x\n",
        "yaml",
        (1, 1, "<root>"),
        r"^missing required key `dpm_servers`$",
        id="missing-dpm-servers",
    ),
    pytest.param(
        'dpmsmt: 1\ndpm_servers:\n  DPM1: {os: "Windows Server 2019"}\n',
        "yaml",
        (3, 9, "dpm_servers.DPM1"),
        r"^missing required key `version`$",
        id="missing-version",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers:\n  DPM1:\n    version: 10.19\n",
        "yaml",
        (4, 14, "dpm_servers.DPM1.version"),
        r'write it in quotes, e\.g\. "10\.19"',
        id="unquoted-version",
    ),
    pytest.param(
        '{"dpmsmt": 1, "dpm_servers": {"DPM1": {"version": 10.19}}}',
        "json",
        (1, 51, "dpm_servers.DPM1.version"),
        r'write it in quotes, e\.g\. "10\.19"',
        id="json-number-version",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0', os: 6.3}\n",
        "yaml",
        (3, 30, "dpm_servers.DPM1.os"),
        r'write it in quotes, e\.g\. "6\.3"',
        id="unquoted-os",
    ),
    pytest.param(
        "dpmsmt: 1\nprofile: 2013\ndpm_servers: {}\n",
        "yaml",
        (2, 10, "profile"),
        r"^`profile`: input should be 'strict', '2012', '2016', '2019', '2022' or '2025'$",
        id="unknown-profile",
    ),
    pytest.param(
        BASE + "servers:\n  S1:\n    agent: DPM1\n    datasources:\n"
        "      - {name: 'D:\\', secondary: DPM9}\n",
        "yaml",
        (9, 34, "servers.S1.datasources[0].secondary"),
        r"^DPM server DPM9 is not defined",
        id="undefined-secondary",
    ),
    pytest.param(
        BASE + "  DPM3:\n    version: '1.0'\n    protects: [DPM1, DPM9]\n",
        "yaml",
        (7, 22, "dpm_servers.DPM3.protects[1]"),  # format.md's example path
        r"^DPM server DPM9 is not defined",
        id="undefined-in-protects",
    ),
    pytest.param(
        BASE + "servers:\n  S1: {agent: XYZ}\n",
        "yaml",
        (6, 15, "servers.S1.agent"),
        r"^DPM server XYZ is not defined$",
        id="undefined-agent",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0', tape_library: L1}\n",
        "yaml",
        (3, 40, "dpm_servers.DPM1.tape_library"),
        r"^tape library L1 is not defined$",
        id="undefined-tape-library",
    ),
    pytest.param(
        BASE + "servers:\n  S1:\n    agent: DPM1\n    datasources:\n"
        "      - {name: 'D:\\'}\n      - {name: 'd:\\', type: volume}\n",
        "yaml",
        (10, 16, "servers.S1.datasources[1].name"),
        r"^data source S1/d:\\ is listed twice on S1 \(also at datasources\[0\]\)",
        id="duplicate-data-source-case-insensitive",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers:\n  DPM1:\n    version: '1.0'\n    version: '2.0'\n",
        "yaml",
        (5, 5, "dpm_servers.DPM1.version"),
        r"^duplicate key 'version'$",
        id="duplicate-key-yaml",
    ),
    pytest.param(
        '{"dpmsmt": 1,\n "dpm_servers": {\n  "DPM1": {"version": "1.0",\n'
        '           "version": "2.0"}}}',
        "json",
        (4, 12, "dpm_servers.DPM1.version"),
        r"^duplicate key 'version'$",
        id="duplicate-key-json",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1.0'}\n  dpm1: {version: '1.0'}\n",
        "yaml",
        (4, 3, "dpm_servers.dpm1"),
        r"^DPM server dpm1 is defined twice \(DPM1; names compare without regard to case\)$",
        id="dpm-server-defined-twice",
    ),
    pytest.param(
        BASE + "servers:\n  dpm2: {}\n",
        "yaml",
        (6, 3, "servers.dpm2"),
        r"^dpm2 is defined both as a DPM server and as a protected server",
        id="dpm-server-and-protected-server",
    ),
    pytest.param(
        BASE + "servers:\n  S1:\n    agent: DPM2\n    datasources:\n"
        "      - {name: 'D:\\', mode: switched}\n",
        "yaml",
        (9, 9, "servers.S1.datasources[0]"),
        r"^`switched_from` is required with `mode: switched`$",
        id="switched-from-missing",
    ),
    pytest.param(
        BASE + "servers:\n  S1:\n    agent: DPM1\n    datasources:\n"
        "      - {name: 'D:\\', switched_from: DPM2}\n",
        "yaml",
        (9, 23, "servers.S1.datasources[0].switched_from"),
        r"^`switched_from` is given only with `mode: switched`$",
        id="switched-from-with-normal-mode",
    ),
    pytest.param(
        BASE + "  DPM3:\n    version: '1.0'\n    failure: {database: intact}\n",
        "yaml",
        (7, 14, "dpm_servers.DPM3.failure"),
        r"^`failure` is given only with `status: failed`$",
        id="failure-on-a-server-that-is-up",
    ),
    pytest.param(
        BASE
        + "  DPM3:\n    version: '1.0'\n    inactive:\n      - {datasource: 'Gone/D:\\', from: DPM7}\n",
        "yaml",
        (8, 40, "dpm_servers.DPM3.inactive[0].from"),
        r"^DPM server DPM7 is not defined",
        id="inactive-from-undefined",
    ),
    pytest.param(
        BASE + "waivers:\n  - {rule: PRIMARY-DOWNN, reason: typo}\n",
        "yaml",
        (6, 12, "waivers[0].rule"),
        r"^unknown rule id PRIMARY-DOWNN: did you mean PRIMARY-DOWN\?$",
        id="waiver-unknown-rule",
    ),
    pytest.param(
        BASE + "waivers:\n  - {rule: PRIMARY-DOWN, target: DPM9, reason: typo}\n",
        "yaml",
        (6, 34, "waivers[0].target"),
        r"^waiver target DPM9 is not a defined DPM server, server or data source$",
        id="waiver-undefined-target",
    ),
    pytest.param(
        BASE
        + "servers:\n  S1: {}\nwaivers:\n  - {rule: UNPROTECTED, target: 'S1/D:\\', reason: x}\n",
        "yaml",
        (8, 33, "waivers[0].target"),
        r"^waiver target S1/D:\\ is not a defined",
        id="waiver-undefined-data-source",
    ),
    pytest.param(
        BASE + "waivers:\n  - {rule: PRIMARY-DOWN, reason: x, expires: soon}\n",
        "yaml",
        (6, 46, "waivers[0].expires"),
        r"^`expires` is not an ISO date: 'soon'$",
        id="waiver-expiry-not-a-date",
    ),
    pytest.param(
        BASE + "servers:\n  HV:\n    agent: [DPM1, DPM2]\n    cluster: true\n    datasources:\n"
        "      - {name: vm1, hyperv_scale_out: true}\n",
        "yaml",
        (10, 9, "servers.HV.datasources[0]"),
        r"^`primary` is required when the server's `agent` is a list",
        id="agent-list-without-primary",
    ),
    pytest.param("", "yaml", (1, 1, "<root>"), r"^the file is empty", id="empty"),
    pytest.param(
        "- dpmsmt: 1\n", "yaml", (1, 1, "<root>"), r"is a mapping with `dpmsmt: 1`", id="a-list"
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers: {}\nexpect: " + "[" * 70 + "]" * 70 + "\n",
        "yaml",
        (3, 9, "<root>"),
        r"^nesting deeper than 64 levels is refused$",
        id="yaml-flow-nesting-deeper-than-64",
    ),
    pytest.param(
        "dpmsmt: 1\ndpm_servers: {}\nexpect:\n"
        + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(70))
        + "  " * 71
        + "x\n",
        "yaml",
        (67, 129, "expect." + ".".join(f"k{i}" for i in range(63))),
        r"^nesting deeper than 64 levels is refused$",
        id="yaml-block-nesting-deeper-than-64",
    ),
    pytest.param(
        '{"dpmsmt": 1, "dpm_servers": {},\n "expect": ' + "[" * 70 + "]" * 70 + "}",
        "json",
        (2, 75, "expect" + "[0]" * 63),
        r"^nesting deeper than 64 levels is refused$",
        id="json-nesting-deeper-than-64",
    ),
    pytest.param(
        textwrap.dedent(
            """\
            dpmsmt: 1
            dpm_servers: {}
            expect:
              a: &a [x, x, x, x, x, x, x, x, x, x]
              b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
              c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
              d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
              e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
              f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
              g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
              h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
              i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
            """
        ),
        "yaml",
        (8, 6, "expect.f[7]"),  # where the expansion passes 1,000,000 nodes
        r"^YAML aliases expand beyond 1,000,000 nodes$",
        id="billion-laughs",
    ),
]


@pytest.mark.parametrize(("text", "format", "at", "message"), ERRORS)
def test_reading_error(text, format, at, message):
    error = read_error(text, format=format)
    assert where(error) == at
    assert re.search(message, error.message), error.message


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_nesting_of_64_levels_is_accepted_and_65_refused(fmt):
    def doc(brackets: int) -> str:  # the root mapping is level 1, `expect`'s list level 2
        nested = "[" * brackets + "]" * brackets
        if fmt == "json":
            return '{"dpmsmt": 1, "dpm_servers": {}, "expect": ' + nested + "}"
        return "dpmsmt: 1\ndpm_servers: {}\nexpect: " + nested + "\n"

    assert dpmsmt.loads(doc(63), format=fmt).expect is not None
    with pytest.raises(dpmsmt.TopologyError, match="nesting deeper than 64 levels"):
        dpmsmt.loads(doc(64), format=fmt)


def test_json_nesting_outside_expect_is_a_reading_error():
    """Refused with a reading error, not an internal exception (whichever of the two errors,
    a value of the wrong type or nesting too deep, the reader reports)."""
    text = '{"dpmsmt": 1, "dpm_servers": {"DPM1": ' + "[" * 70 + "]" * 70 + "}}"
    error = read_error(text, format="json")
    assert error.line == 1
    assert error.path.startswith("dpm_servers.DPM1")


def test_control_character_is_one_line_at_its_position():
    error = read_error('dpmsmt: 1\ndpm_servers: {}\nname: "a\x01b"\n')
    assert (error.line, error.column) == (3, 9)


@pytest.mark.parametrize("value", ["true", "1.0"])
def test_format_version_is_the_integer_1(value):
    error = read_error(f"dpmsmt: {value}\ndpm_servers: {{}}\n")
    assert where(error) == (1, 9, "dpmsmt")


def test_every_error_is_collected_and_sorted():
    text = (
        BASE
        + '  DPM3: {version: "1.0", protects: [X2]}\n  DPM0: {version: "1.0", protects: [X1]}\n'
    )
    with pytest.raises(dpmsmt.TopologyError) as info:
        dpmsmt.loads(text, file="t.yaml")
    assert [(e.line, e.path) for e in info.value.errors] == [
        (5, "dpm_servers.DPM3.protects[0]"),
        (6, "dpm_servers.DPM0.protects[0]"),
    ]
    assert str(info.value) == str(info.value.first)
    assert str(info.value.first) == (
        "t.yaml:5:37: DPM server X2 is not defined (at dpm_servers.DPM3.protects[0])"
    )


# -- what is accepted ------------------------------------------------------------------------------


def test_unquoted_profile_is_accepted_as_a_string():
    topology = dpmsmt.loads("dpmsmt: 1\nprofile: 2019\ndpm_servers: {}\n")
    assert topology.profile == "2019"


def test_profile_defaults_to_strict():
    assert dpmsmt.loads("dpmsmt: 1\ndpm_servers: {}\n").profile == "strict"


def test_null_sections_are_empty():
    topology = dpmsmt.loads("dpmsmt: 1\ndpm_servers: null\nservers: null\nwaivers: null\n")
    assert dict(topology.dpm_servers) == {}
    assert dict(topology.servers) == {}
    assert topology.waivers == ()


def test_inactive_replica_of_a_gone_data_source_is_allowed():
    topology = dpmsmt.loads(
        BASE + "  DPM3:\n    version: '1.0'\n    inactive:\n"
        "      - {datasource: 'Gone/D:\\'}                # from omitted: null\n"
        "      - {datasource: 'Gone/E:\\', from: null}\n"
        "      - {datasource: 'Gone/F:\\', from: dpm1}   # from resolves to DPM1\n"
    )
    inactive = topology.dpm_servers["DPM3"].inactive
    assert [(i.datasource, i.from_) for i in inactive] == [
        ("Gone/D:\\", None),
        ("Gone/E:\\", None),
        ("Gone/F:\\", "DPM1"),
    ]


def test_names_compare_case_insensitively_and_print_as_defined():
    text = """\
    dpmsmt: 1
    dpm_servers:
      DPM1: {version: "1.0", status: failed}
      Dpm2: {version: "1.0", protects: [dpm1]}
    servers:
      Server1:
        agent: dpm1
        datasources:
          - {name: 'D:\\', primary: dpm1, secondary: DPM2}
    waivers:
      - {rule: PRIMARY-DOWN, target: 'SERVER1/d:\\', reason: rebuilding}
    """
    topology = dpmsmt.loads(textwrap.dedent(text))
    assert topology.dpm_servers["Dpm2"].protects == ("DPM1",)
    assert topology.servers["Server1"].agents == ("DPM1",)
    (ds,) = topology.datasources()
    assert (ds.primary, ds.secondary) == ("DPM1", "Dpm2")
    assert topology.waivers[0].target == "Server1/D:\\"
    (finding,) = [f for f in dpmsmt.check(topology).findings if f.rule == "PRIMARY-DOWN"]
    assert finding.entities == {"datasource": "Server1/D:\\", "primary": "DPM1", "status": "failed"}
    assert finding.waived


def test_agent_as_one_element_list_is_the_name():
    topology = dpmsmt.loads(BASE + "servers:\n  S1: {agent: [dpm1], datasources: [{name: a}]}\n")
    (ds,) = topology.datasources()
    assert topology.servers["S1"].agents == ("DPM1",)
    assert ds.primary == "DPM1"  # the default primary is the single agent


def test_small_aliases_are_fine():
    topology = dpmsmt.loads(
        BASE + "servers:\n  S1:\n    agent: DPM1\n    datasources:\n"
        "      - {name: a, secondary: DPM2, secondary_policy: &daily {sync_minutes: 1440}}\n"
        "      - {name: b, secondary: DPM2, secondary_policy: *daily}\n"
    )
    assert {ds.secondary_policy.sync_minutes for ds in topology.datasources()} == {1440}


def test_expect_block_is_not_validated():
    topology = dpmsmt.loads(BASE + "expect: {verdict: valid, anything: [1, {x: y}]}\n")
    assert topology.expect == {"verdict": "valid", "anything": [1, {"x": "y"}]}


# -- files -------------------------------------------------------------------------------------------


def test_file_larger_than_64_mib_is_refused(tmp_path: Path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:  # sparse: costs no disk and no time
        fh.write(b"dpmsmt: 1\ndpm_servers: {}\n")
        fh.truncate(64 * 1024 * 1024 + 1)
    with pytest.raises(dpmsmt.TopologyError) as info:
        dpmsmt.load(big)
    error = info.value.first
    # about the whole file: no position (line 0), the CLI prints the position-less form
    assert (error.file, error.line, error.column, error.path) == (str(big), 0, 0, "<root>")
    assert "larger than 64 MiB" in error.message


def test_invalid_utf8_is_refused_at_the_byte(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"dpmsmt: 1\ndpm_servers:\n  DPM\xe91: {version: '1.0'}\n")
    with pytest.raises(dpmsmt.TopologyError) as info:
        dpmsmt.load(path)
    assert where(info.value.first) == (3, 6, "<root>")
    assert info.value.first.message == "the file is not valid UTF-8"


def test_utf8_bom_is_accepted(tmp_path: Path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert list(dpmsmt.load(path).dpm_servers) == ["DPM1", "DPM2"]
    # and positions after a BOM are those of the text without it
    path.write_bytes(b"\xef\xbb\xbfdpmsmt: 2\ndpm_servers: {}\n")
    with pytest.raises(dpmsmt.TopologyError) as info:
        dpmsmt.load(path)
    assert where(info.value.first) == (1, 9, "dpmsmt")


def test_bom_in_a_string_is_accepted():
    assert dpmsmt.loads("\ufeff" + BASE).profile == "strict"


def test_json_file_is_read_as_json(tmp_path: Path):
    path = tmp_path / "estate.JSON"
    path.write_text('{"dpmsmt": 1, "dpm_servers": {"DPM1": {"version": "1.0"}}}')
    assert list(dpmsmt.load(path).dpm_servers) == ["DPM1"]


def test_missing_file(tmp_path: Path):
    with pytest.raises(dpmsmt.TopologyError) as info:
        dpmsmt.load(tmp_path / "nope.yaml")
    assert where(info.value.first) == (0, 0, "<root>")
    assert info.value.first.message.startswith("cannot read the file")
    assert str(info.value.first) == info.value.first.message  # no fake `:1:1`
