"""`dpmsmt import`: exports of realistic estates become the topologies written by hand next to
them (tests/fixtures/import/<estate>/expected.yaml), with `check`'s verdict in their `expect`
block; bad input is one line with file, line, column and path, exit 2, and nothing written.

An estate folder holds the exports (`*.json`), `expected.yaml`, and optionally `overlay.yaml`
with `expected-overlay.yaml` (the same exports imported with the overlay). The `expect` block
also gives how many values the import had to guess and how many disagreements it reports.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import REPO_DIR, TESTS_DIR

import dpmsmt
from dpmsmt.cli import main
from dpmsmt.findings import TopologyError
from dpmsmt.importer.schema import export_schema

FIXTURES = TESTS_DIR / "fixtures" / "import"
MODELS = REPO_DIR / "models"
ESTATES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yaml").exists())
CASES = [(e, False) for e in ESTATES] + [
    (e, True) for e in ESTATES if (FIXTURES / e / "overlay.yaml").exists()
]
SEVERITY_KEYS = {"error": "findings", "warning": "warnings", "info": "infos"}


def exports(estate: str) -> list[Path]:
    return sorted((FIXTURES / estate).glob("*.json"))


def expect_of(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["expect"]


def rule_ids(report) -> dict[str, set[str]]:
    got: dict[str, set[str]] = {key: set() for key in SEVERITY_KEYS.values()}
    for f in report.findings:
        if not f.waived:
            got[SEVERITY_KEYS[f.severity.label]].add(f.rule)
    return got


def test_there_are_estates():
    assert {"seed", "seed-dpm1-died", "contoso", "northwind"} <= set(ESTATES)


@pytest.mark.parametrize(
    ("estate", "with_overlay"), CASES, ids=[f"{e}{'+overlay' * o}" for e, o in CASES]
)
def test_estate_imports_to_its_topology_and_verdict(estate: str, with_overlay: bool):
    folder = FIXTURES / estate
    overlay = folder / "overlay.yaml" if with_overlay else None
    expected_file = folder / ("expected-overlay.yaml" if with_overlay else "expected.yaml")
    topology, text, report = dpmsmt.import_exports(exports(estate), overlay)
    expected = dpmsmt.load(expected_file)
    assert topology == expected, text
    # the text written is what the topology is (the command reads it back before writing)
    assert dpmsmt.loads(text) == topology
    assert dpmsmt.import_exports(exports(estate), overlay, read_back=True)[0] == topology
    expect = expect_of(expected_file)
    result = dpmsmt.check(topology, today="2026-12-02")
    assert result.verdict == expect["verdict"]
    got = rule_ids(result)
    for key in SEVERITY_KEYS.values():
        assert got[key] == set(expect[key] or ()), key
    assert len(report.guessed) == expect["guessed"]
    assert len(report.disagreements) == expect["disagreements"]
    # every guess is marked in the text, and nothing else is
    assert text.count("  # guessed") == len(report.guessed)


def test_the_seed_imports_to_the_seeds_verdict():
    """models/seed/before.yaml, from its three exports: the same estate and verdict (the exports
    add only the protection groups' names and the domains guessed from the FQDNs)."""
    topology, _, _ = dpmsmt.import_exports(exports("seed"))
    before = dpmsmt.load(MODELS / "seed" / "before.yaml")

    def unlabelled(t):
        servers = {
            n: dataclasses.replace(
                s,
                datasources=tuple(
                    dataclasses.replace(d, protection_group=None) for d in s.datasources
                ),
            )
            for n, s in t.servers.items()
        }
        dpms = {n: dataclasses.replace(d, domain=None) for n, d in t.dpm_servers.items()}
        return dataclasses.replace(
            t, servers=servers, dpm_servers=dpms, name=None, description=None
        )

    assert unlabelled(topology) == unlabelled(before)
    assert dpmsmt.check(topology).verdict == before.expect["verdict"] == "valid"


def test_seed_after_dpm1_died_is_the_seeds_failed_model():
    folder = FIXTURES / "seed-dpm1-died"
    topology, _, _ = dpmsmt.import_exports(exports("seed-dpm1-died"), folder / "overlay.yaml")
    failed = dpmsmt.load(MODELS / "seed" / "dpm1-failed.yaml")
    assert topology.dpm_servers["DPM2"].domain == "contoso.com"  # guessed from the FQDN
    assert {n: dataclasses.replace(d, domain=None) for n, d in topology.dpm_servers.items()} == (
        failed.dpm_servers
    )
    assert dpmsmt.check(topology).verdict == failed.expect["verdict"]
    plans = dpmsmt.suggest_moves(topology, failed=["DPM1"])
    assert plans and plans[0].complete


def test_order_of_exports_does_not_matter_and_output_is_stable():
    paths = exports("contoso")
    _, a, _ = dpmsmt.import_exports(paths)
    _, b, _ = dpmsmt.import_exports(list(reversed(paths)))
    assert a == b
    assert dpmsmt.import_exports(paths)[1] == a


def test_every_fixture_export_matches_the_export_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = export_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(FIXTURES.rglob("*.json"))
    assert len(files) >= 12
    for path in files:
        errors = list(validator.iter_errors(json.loads(path.read_text(encoding="utf-8"))))
        assert not errors, f"{path.name}: {errors[0].message}"


def test_the_schema_refuses_what_the_reader_refuses():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(export_schema())
    doc = json.loads((FIXTURES / "seed" / "dpm1.json").read_text(encoding="utf-8"))
    assert validator.is_valid(doc)
    assert not validator.is_valid({**doc, "dpmsmtExport": 2})
    assert not validator.is_valid({k: v for k, v in doc.items() if k != "DpmServer"})
    doc["Datasources"][0]["Protected"] = "yes"
    assert not validator.is_valid(doc)


def test_overlay_values_survive_a_re_import(tmp_path: Path):
    overlay = tmp_path / "site.yaml"
    overlay.write_text(
        "dpm_servers:\n  dpm02.contoso.com: {trust: untrusted, auth: certificate}\n"
        "servers:\n  fs01:\n    datasources:\n      - {name: 'e:\\', dedup: true}\n",
        encoding="utf-8",
    )
    for paths in (exports("contoso"), [p for p in exports("contoso") if p.name != "mabs01.json"]):
        topology, text, report = dpmsmt.import_exports(paths, overlay)
        assert topology.dpm_servers["DPM02"].trust == "untrusted"
        assert topology.dpm_servers["DPM02"].auth == "certificate"
        assert topology.datasource_by_id["fs01/e:\\"].dedup is True
        assert "dpm_servers.DPM02.trust" not in report.guessed
        assert "trust: untrusted  # from the overlay" in text


def test_overlay_value_the_loader_refuses_points_into_the_overlay(tmp_path: Path):
    overlay = tmp_path / "site.yaml"
    overlay.write_text("dpm_servers:\n  DPM02:\n    trust: maybe\n", encoding="utf-8")
    with pytest.raises(TopologyError) as err:
        dpmsmt.import_exports(exports("contoso"), overlay)
    first = err.value.first
    assert (first.file, first.line, first.path) == (str(overlay), 3, "dpm_servers.DPM02.trust")


def test_short_names_match_fqdns_and_two_domains_one_short_name_is_an_error(tmp_path: Path):
    topology, _, _ = dpmsmt.import_exports(exports("contoso"))
    assert "FS01" in topology.servers and "HVCLU01" in topology.servers
    doc = json.loads((FIXTURES / "contoso" / "dpm04.json").read_text(encoding="utf-8"))
    doc["ProductionServers"].append(
        {"ServerName": "FS01", "Name": "fs01.fabrikam.local", "Domain": "fabrikam.local"}
    )
    bad = tmp_path / "dpm04.json"
    bad.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    paths = [p for p in exports("contoso") if p.name != "dpm04.json"] + [bad]
    with pytest.raises(TopologyError) as err:
        dpmsmt.import_exports(paths)
    assert "one short name FS01" in str(err.value)


# -- the command ---------------------------------------------------------------------------------


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def test_cli_writes_atomically_and_reads_back(tmp_path: Path, capsys):
    out = tmp_path / "estate.yaml"
    code, stdout, err = run(capsys, "import", *map(str, exports("contoso")), "-o", str(out))
    assert code == 0 and stdout == ""
    assert "imported 7 export(s)" in err
    assert dpmsmt.load(out) == dpmsmt.import_exports(exports("contoso"))[0]
    before = out.read_bytes()
    code, _, err = run(capsys, "import", *map(str, exports("seed")), "-o", str(out))
    assert code == 2 and "--force" in err and out.read_bytes() == before
    code, _, _ = run(capsys, "import", *map(str, exports("seed")), "-o", str(out), "--force")
    assert code == 0 and out.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["estate.yaml"]


def test_cli_json_report_lists_disagreements_and_stderr_names_both_files(tmp_path: Path, capsys):
    out = tmp_path / "estate.yaml"
    code, stdout, err = run(
        capsys, "import", *map(str, exports("northwind")), "-o", str(out), "--format", "json"
    )
    assert code == 0
    report = json.loads(stdout)
    assert report["command"] == "import" and len(report["disagreements"]) == 3
    for d in report["disagreements"]:
        assert len(d["files"]) == 2
        line = next(x for x in err.splitlines() if d["message"] in x)
        assert all(f in line for f in d["files"])


def test_cli_profile_option_wins(capsys):
    code, stdout, _ = run(capsys, "import", *map(str, exports("seed")), "--profile", "2019")
    assert code == 0 and "profile: '2019'  # from --profile" in stdout


def _bad_cases(tmp_path: Path) -> dict[str, tuple[list[str], str, tuple[int, int], str]]:
    """name -> (arguments, file blamed, (line, column), path)."""
    seed = FIXTURES / "seed"
    text = (seed / "dpm1.json").read_text(encoding="utf-8")
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[:700], encoding="utf-8")
    not_json = tmp_path / "notjson.json"
    not_json.write_text("DpmServer : DPM1\r\nVersion : 4.2.1092.0\r\n", encoding="utf-8")
    v2 = tmp_path / "v2.json"
    v2.write_text(text.replace('"dpmsmtExport": 1', '"dpmsmtExport": 2'), encoding="utf-8")
    doc = json.loads(text)
    del doc["DpmServer"]
    no_server = tmp_path / "noserver.json"
    no_server.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    twice = tmp_path / "dpm1-again.json"
    twice.write_text(text, encoding="utf-8")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("dpm_servers:\n  DPM1: {trust: trusted}\n  DPM9: {trust: workgroup}\n")
    one = [str(seed / "dpm1.json")]
    return {
        "truncated": ([str(truncated)], str(truncated), _pos(text[:700]), "<root>"),
        "not-json": ([str(not_json)], str(not_json), (1, 1), "<root>"),
        "version": ([str(v2)], str(v2), (2, 19), "dpmsmtExport"),
        "no-server": ([str(no_server)], str(no_server), (1, 1), "<root>"),
        "twice": ([*one, str(twice)], str(twice), (6, 13), "DpmServer.Name"),
        "overlay": ([*one, "--overlay", str(overlay)], str(overlay), (3, 3), "dpm_servers.DPM9"),
    }


def _pos(text: str) -> tuple[int, int]:
    """Where json reports the end of a truncated text (the unterminated string's start)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return e.lineno, e.colno
    raise AssertionError("not truncated")  # pragma: no cover


BAD = ["truncated", "not-json", "version", "no-server", "twice", "overlay"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2_nothing_written(case: str, tmp_path: Path, capsys):
    args, file, (line, col), path = _bad_cases(tmp_path)[case]
    out = tmp_path / "out" / "estate.yaml"
    out.parent.mkdir()
    code, stdout, err = run(capsys, "import", *args, "-o", str(out))
    assert code == 2
    assert stdout == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"dpmsmt: error: {file}:{line}:{col}: "), lines[0]
    assert lines[0].endswith(f"(at {path})")
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_fixture_folders_are_self_contained(tmp_path: Path):
    """An estate imports from a copy of its folder (no path outside it matters)."""
    copy = tmp_path / "seed"
    shutil.copytree(FIXTURES / "seed", copy)
    a = dpmsmt.import_exports(sorted(copy.glob("*.json")))[0]
    assert a == dpmsmt.import_exports(exports("seed"))[0]


def test_generated_export_set_imports_back_to_its_estate(tmp_path: Path):
    """benchmarks/export_sets.py writes what each DPM server of a generated estate would
    export; importing those gives the estate back, in everything an export can tell (the OS
    string loses its edition; what no cmdlet gives, like dedup, is not compared)."""
    import sys

    sys.path.insert(0, str(REPO_DIR / "benchmarks"))
    import estates
    import export_sets

    doc = estates.generate(10, 1000, seed=3, violations=0)
    paths = export_sets.write_export_set(doc, tmp_path)
    topology, text, report = dpmsmt.import_exports(paths)
    assert dpmsmt.loads(text) == topology
    source = dpmsmt.loads(json.dumps(doc), format="json")
    assert report.disagreements == ()

    def view(t):
        dpms = {
            n: (d.version, d.kind, frozenset(d.protects), d.tape_library)
            for n, d in t.dpm_servers.items()
        }
        servers = {
            n: (
                frozenset(s.agents),
                s.cluster,
                frozenset(
                    (d.name, d.type, d.primary, d.secondary, d.mode, d.switched_from)
                    for d in s.datasources
                ),
            )
            for n, s in t.servers.items()
        }
        return dpms, servers

    assert view(topology) == view(source)


def test_cli_refuses_json_output_and_json_report_without_output(tmp_path: Path, capsys):
    seed = [str(p) for p in exports("seed")]
    code, _, err = run(capsys, "import", *seed, "-o", str(tmp_path / "estate.json"))
    assert code == 2 and "writes YAML" in err and not (tmp_path / "estate.json").exists()
    code, _, err = run(capsys, "import", *seed, "--format", "json")
    assert code == 2 and "--output" in err


def test_agent_falls_back_to_the_primary_when_the_agent_list_failed(tmp_path: Path):
    """MABS01's export lost its ProductionServers section (recorded in Errors): its protected
    servers' agent is the DPM server that protects their data sources."""
    doc = json.loads((FIXTURES / "contoso" / "mabs01.json").read_text(encoding="utf-8"))
    doc["ProductionServers"] = []
    doc["Errors"].append({"Section": "ProductionServers", "Message": "RPC server unavailable"})
    bad = tmp_path / "mabs01.json"
    bad.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    paths = [p for p in exports("contoso") if p.name != "mabs01.json"] + [bad]
    topology, _, report = dpmsmt.import_exports(paths)
    assert topology.servers["FS05"].agents == ("MABS01",)
    assert any("ProductionServers: RPC server unavailable" in w for w in report.warnings)
    assert topology == dpmsmt.load(FIXTURES / "contoso" / "expected.yaml")


def test_a_utf16_export_is_refused_with_the_reason(tmp_path: Path):
    """`ConvertTo-Json | Out-File` in Windows PowerShell 5.1 writes UTF-16: say so."""
    text = (FIXTURES / "seed" / "dpm1.json").read_text(encoding="utf-8")
    utf16 = tmp_path / "dpm1.json"
    utf16.write_bytes(text.encode("utf-16"))
    with pytest.raises(TopologyError) as err:
        dpmsmt.import_exports([utf16])
    assert "UTF-16" in str(err.value) and str(err.value).startswith(f"{utf16}:1:1:")


def test_versions_stated_differently_for_a_dead_server_are_a_disagreement(tmp_path: Path):
    """DPM1 exported nothing; DPM2 and DPM3 both protect it but run different builds: which
    one DPM1 ran is unknown, and the import says so, naming both exports."""
    folder = FIXTURES / "seed-dpm1-died"
    dpm2 = json.loads((folder / "dpm2.json").read_text(encoding="utf-8"))
    dpm2["DpmServer"]["Version"] = "4.2.1283.0"
    dpm2["ProtectionGroups"].append({"Name": "PG-DPM1"})
    dpm2["Datasources"].append(
        {
            "Name": "DPMDB_DPM1",
            "LogicalPath": "DPM1\\MSDPM2012\\DPMDB_DPM1",
            "Computer": "DPM1",
            "ObjectType": "SQL Server 2012 database",
            "ProtectionGroupName": "PG-DPM1",
            "ProtectionType": "ProtectFromPS",
        }
    )
    changed = tmp_path / "dpm2.json"
    changed.write_text(json.dumps(dpm2, indent=2), encoding="utf-8")
    _, _, report = dpmsmt.import_exports([changed, folder / "dpm3.json"])
    (d,) = [d for d in report.disagreements if "different versions" in d.message]
    assert set(d.files) == {str(changed), str(folder / "dpm3.json")}


# -- any value anywhere: an error with a place, or a topology; never a crash ---------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "DPM1", "x.y.z", "D:\\"]),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(st.sampled_from(["Name", "a"]), inner, max_size=2)
    ),
    max_leaves=4,
)


def _paths(value, path=()):
    """Every (path, value) of a JSON document, containers included."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


_SEED = [json.loads(p.read_text(encoding="utf-8")) for p in exports("seed")]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(which=st.integers(0, 2), pick=st.integers(0, 10_000), value=_JSON)
def test_any_value_anywhere_is_an_error_with_a_place_or_a_topology(tmp_path, which, pick, value):
    docs = json.loads(json.dumps(_SEED))
    places = [p for p in _paths(docs[which]) if p]
    path = places[pick % len(places)]
    target = docs[which]
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    files = []
    for i, doc in enumerate(docs):
        f = tmp_path / f"e{i}.json"
        f.write_text(json.dumps(doc), encoding="utf-8")
        files.append(f)
    try:
        dpmsmt.import_exports(files)
    except TopologyError as e:
        assert e.first.file in {str(f) for f in files} and e.first.line >= 1


def test_cli_never_overwrites_the_overlay(tmp_path: Path, capsys):
    overlay = tmp_path / "site.yaml"
    overlay.write_text("dpm_servers:\n  DPM1: {trust: trusted}\n", encoding="utf-8")
    before = overlay.read_bytes()
    seed = [str(p) for p in exports("seed")]
    code, _, err = run(
        capsys, "import", *seed, "--overlay", str(overlay), "-o", str(overlay), "--force"
    )
    assert code == 2 and "overlay" in err and overlay.read_bytes() == before


def test_the_administrators_path_export_import_check_suggest_runbook(tmp_path: Path, capsys):
    """The seed right after DPM1 died: two exports and an overlay -> a topology; check finds
    PRIMARY-DOWN (exit 1); suggest-move writes plan 1 as a runbook the grammar parses."""
    folder = FIXTURES / "seed-dpm1-died"
    estate, runbook = tmp_path / "estate.yaml", tmp_path / "recover.ps1"
    paths = [str(p) for p in exports("seed-dpm1-died")]
    code, _, _ = run(
        capsys, "import", *paths, "--overlay", str(folder / "overlay.yaml"), "-o", str(estate)
    )
    assert code == 0
    code, out, _ = run(capsys, "check", str(estate))
    assert code == 1 and "PRIMARY-DOWN" in out
    args = [
        "suggest-move",
        str(estate),
        "--fail",
        "DPM1",
        "--format",
        "ps1",
        "--output",
        str(runbook),
    ]
    code, _, _ = run(capsys, *args)
    assert code == 0 and "Start-DPMSwitchProtection" in runbook.read_text(encoding="utf-8")
    ts = pytest.importorskip("tree_sitter")
    tsp = pytest.importorskip("tree_sitter_powershell")
    tree = ts.Parser(ts.Language(tsp.language())).parse(runbook.read_bytes())
    assert not tree.root_node.has_error
