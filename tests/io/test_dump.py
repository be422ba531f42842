"""`dpmsmt.dump` and `dump_json`: text that the reader reads back to an equal topology."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from paths import REPO_DIR

import dpmsmt
from dpmsmt.io.dump import dump, dump_json, scalar
from dpmsmt.io.yaml_reader import read_yaml
from dpmsmt.model import (
    Database,
    DataSource,
    DpmServer,
    Failure,
    InactiveReplica,
    Policy,
    ProtectedServer,
    Topology,
    Waiver,
    canon,
)

MODELS = REPO_DIR / "models"
EXAMPLES = sorted([*MODELS.glob("good/*.yaml"), *MODELS.glob("bad/*.yaml")])

# Strings a YAML writer must quote (or escape) to read them back as these very strings.
TRICKY = [
    "",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "NULL",
    "~",
    "1.0",
    "10.19",
    "10.19.58.0",
    "2019",
    "0o17",
    "0x1F",
    "1e3",
    ".5",
    "+1",
    "-1",
    ".inf",
    "-.inf",
    ".nan",
    "2027-06-30",
    "a: b",
    "a:b",
    "a #b",
    "#a",
    "D:\\",
    "x\\y",
    "'quoted'",
    '"quoted"',
    "it's",
    " lead",
    "trail ",
    "two  spaces",
    "- item",
    "-",
    "?",
    "? x",
    "[a]",
    "{a: 1}",
    "a, b",
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "|",
    ">",
    "---",
    "...",
    "tab\there",
    "\ttab",
    "line\nbreak",
    "cr\rlf",
    "nul\x00",
    "bell\x07",
    "del\x7f",
    "nel\x85",
    "nbsp\xa0",
    "ls\u2028ps\u2029",
    "bom\ufeff",
    "\ufffe",
    "Ünïcödé",
    "emoji 😀",
    "MSSQLSERVER/Sales",
]


@pytest.mark.parametrize("text", TRICKY, ids=repr)
def test_tricky_strings_read_back_as_themselves(text):
    assert read_yaml(f"k: {scalar(text)}\n")[0] == {"k": text}
    assert read_yaml(f"{scalar(text)}: v\n")[0] == {text: "v"}
    assert read_yaml(f"k: [{scalar(text)}, {{a: {scalar(text)}}}]\n")[0] == {
        "k": [text, {"a": text}]
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (15, "15"),
        ("DPM1", "DPM1"),
        ("Windows Server 2019 10.0.17763", "Windows Server 2019 10.0.17763"),
        ("volume", "volume"),
        ("10.19", "'10.19'"),
        ("yes", "'yes'"),
        ("D:\\", "'D:\\'"),
        ("it's", "'it''s'"),
        ("a\nb", '"a\\nb"'),
    ],
)
def test_scalars_are_plain_where_safe_and_quoted_otherwise(value, text):
    assert scalar(value) == text


def test_long_keys_are_written_as_explicit_keys():
    name = "D" * 1500  # YAML allows at most 1024 characters in an implicit key
    t = Topology(dpm_servers={name: DpmServer(name=name, version="10.19")})
    assert f"? {name}" in dump(t)
    # the writer copes; the reader refuses a server name that long (dpmsmt/io/names.py)
    with pytest.raises(dpmsmt.TopologyError, match="at most 255 characters"):
        dpmsmt.loads(dump(t))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_files_round_trip(path):
    t = dpmsmt.load(path)
    text = dump(t)
    assert dpmsmt.loads(text) == t
    assert dpmsmt.loads(dump_json(t), format="json") == t
    assert dump(dpmsmt.loads(text)) == text
    assert dpmsmt.loads(text).expect == t.expect


def seed() -> Topology:
    return dpmsmt.loads(
        """
dpmsmt: 1
profile: "2012"
dpm_servers:
  DPM1: {version: "4.2.1092.0"}
  DPM2: {version: "4.2.1092.0"}
  DPM3: {version: "4.2.1092.0", protects: [DPM1, DPM2]}
servers:
  Server1:
    agent: DPM1
    datasources:
      - {name: 'D:\\', secondary: DPM3}
  Server2:
    agent: DPM2
    datasources:
      - {name: 'D:\\', type: volume, primary: DPM2, secondary: DPM3}
"""
    )


def test_dump_is_readable_yaml():
    assert dump(seed()) == (
        "dpmsmt: 1\n"
        "profile: '2012'\n"
        "dpm_servers:\n"
        "  DPM1:\n"
        "    version: '4.2.1092.0'\n"
        "  DPM2:\n"
        "    version: '4.2.1092.0'\n"
        "  DPM3:\n"
        "    version: '4.2.1092.0'\n"
        "    protects: [DPM1, DPM2]\n"
        "servers:\n"
        "  Server1:\n"
        "    agent: DPM1\n"
        "    datasources:\n"
        "      - {name: 'D:\\', type: volume, primary: DPM1, secondary: DPM3}\n"
        "  Server2:\n"
        "    agent: DPM2\n"
        "    datasources:\n"
        "      - {name: 'D:\\', type: volume, primary: DPM2, secondary: DPM3}\n"
    )


def test_dump_json_is_the_same_document():
    doc = json.loads(dump_json(seed()))
    assert doc["profile"] == "2012"
    assert doc["servers"]["Server1"]["datasources"] == [
        {"name": "D:\\", "type": "volume", "primary": "DPM1", "secondary": "DPM3"}
    ]
    assert dpmsmt.loads(dump_json(seed()), format="json") == seed()


def test_primary_is_written_even_where_it_is_the_default():
    # the default of `primary` is the agent: written out, a later change of agent keeps it
    assert "primary: DPM1" in dump(seed())
    unprotected = dpmsmt.loads(
        "dpmsmt: 1\ndpm_servers: {DPM1: {version: '1'}}\n"
        "servers: {S1: {agent: DPM1, datasources: [{name: a, primary: null}]}}\n"
    )
    assert "primary: null" in dump(unprotected)
    assert dpmsmt.loads(dump(unprotected)) == unprotected


def test_database_backup_only_where_explicit():
    # its default depends on the snapshot (a protector and the scope): left to the reader
    t = seed()
    assert "backup" not in dump(t)
    assert t.db_backup("DPM1") == "secondary"
    explicit = dpmsmt.loads(
        "dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '1', database: {backup: none}}\n"
        "  DPM2: {version: '1', protects: [DPM1]}\n"
    )
    assert "database: {backup: none}" in dump(explicit)
    assert dpmsmt.loads(dump(explicit)).db_backup("DPM1") == "none"


def test_dump_is_deterministic():
    assert dump(seed()) == dump(seed())
    assert dump_json(seed()) == dump_json(seed())


def test_every_field_round_trips():
    t = Topology(
        dpm_servers={
            "DPM1": DpmServer(
                name="DPM1",
                version="10.19.58.0",
                kind="dpm",
                os="Windows Server 2019",
                status="failed",
                failure=Failure(database="intact", storage="lost"),
                protects=("yes",),
                protects_own_database=True,
                database=Database(sql="remote", backup="azure", vss_writer="stopped"),
                secondary_scope=("replicas", "database"),
                trust="workgroup",
                auth="certificate",
                knows=("yes",),
                inactive=(
                    InactiveReplica("S1/gone", "yes"),
                    InactiveReplica("Nowhere/D:\\", None),
                ),
                tape_library="1.0",
            ),
            "yes": DpmServer(name="yes", version="10.19", kind="mabs", status="removed"),
        },
        servers={
            "S1": ProtectedServer(
                name="S1",
                agents=("DPM1", "yes"),
                cluster=True,
                datasources=(
                    DataSource(
                        server="S1",
                        name="MSSQLSERVER/Sales",
                        type="sql",
                        primary="yes",
                        secondary="DPM1",
                        mode="switched",
                        switched_from="DPM1",
                        dedup=True,
                        hyperv_scale_out=True,
                        protection_group="PG: 1",
                        policy=Policy("tape", "online", 15, True, (".tmp",)),
                        secondary_policy=Policy(sync_minutes=None, exclude_extensions=("a", "b")),
                        index=0,
                    ),
                    DataSource(server="S1", name="null", primary=None, index=1),
                ),
            ),
            "S2": ProtectedServer(name="S2"),
        },
        profile="2022",
        name="Estate: all fields",
        description="line one\nline two",
        tape_libraries=("1.0", "null"),
        waivers=(
            Waiver("PRIMARY-DOWN", "because", target="S1/MSSQLSERVER/Sales", expires="2027-06-30"),
            Waiver("UNPROTECTED", "yes", index=1),
        ),
    )
    text = dump(t)
    assert dpmsmt.loads(text) == t
    assert dpmsmt.loads(dump_json(t), format="json") == t


# Any text the reader takes as names, versions and free text: the quoting is complete. (Names
# hold no control or invisible formatting characters and are not blank: dpmsmt/io/names.py.)
_printable = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
names = st.text(_printable, min_size=1, max_size=12).filter(str.strip)


@given(names, names, names, st.text(_printable, max_size=12), st.text(_printable, max_size=20))
def test_any_text_round_trips(dpm, server, datasource, version, free):
    assume(canon(dpm) != canon(server) and version)
    t = Topology(
        dpm_servers={dpm: DpmServer(name=dpm, version=version, os=free, tape_library=free or None)},
        servers={
            server: ProtectedServer(
                name=server,
                agents=(dpm,),
                datasources=(
                    DataSource(server=server, name=datasource, primary=dpm, protection_group=free),
                ),
            )
        },
        name=free,
        description=free,
        tape_libraries=(free,) if free else (),
        waivers=(Waiver("UNPROTECTED", free or "r", target=dpm),),
    )
    assert dpmsmt.loads(dump(t)) == t
    assert dpmsmt.loads(dump_json(t), format="json") == t
