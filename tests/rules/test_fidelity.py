"""Issue 14: what Microsoft documents that the format could not say before.

The table of builds and its names; BUILD-KNOWN; the new keys (`location`, `services_account`,
`identity`, `domain`, `farm`, type `vmware`) in the reader, the writer and the schema; their rules
in check, the reference checker (differential over generated estates that use the keys),
suggest-move and design.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from paths import REPO_DIR
from reference import reference_check, reference_check_change

import dpmsmt
from dpmsmt.builds import builds, describe
from dpmsmt.builds import find as find_builds
from dpmsmt.cli import main
from dpmsmt.findings import TopologyError
from dpmsmt.io.dump import document, dump
from dpmsmt.io.schema import schema
from dpmsmt.recovery import apply, synthesize
from dpmsmt.strategies import changes, failures, topologies

ROOT = REPO_DIR
TODAY = "2026-01-15"
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def rules_of(report) -> list[str]:
    return sorted(f.rule for f in report.findings if not f.waived)


# -- the table of builds ------------------------------------------------------------------------


def test_table_rows_are_unique_well_formed_builds():
    rows = builds()
    assert len({(b.kind, b.build) for b in rows}) == len(rows)
    for b in rows:
        assert b.kind in ("dpm", "mabs") and len(b.fields) == 4
        assert b.source.startswith("B")


def test_builds_are_named_as_people_say_them():
    assert describe("4.2.1205.0") == "DPM 2012 R2 RTM (4.2.1205.0)"
    assert describe("10.19.58.0") == "DPM 2019 RTM (10.19.58.0)"
    # Microsoft's build list: 10.19.260.0 is UR1, 10.19.379.0 UR2
    assert describe("10.19.260.0") == "DPM 2019 UR1 (10.19.260.0)"
    assert describe("10.19.379.0") == "DPM 2019 UR2 (10.19.379.0)"
    assert describe("5.1.363.0") == "DPM 1801 RTM (5.1.363.0)"
    assert describe("14.0.42.0") == "MABS v4 UR1 (14.0.42.0)"
    assert describe("10.19") == "DPM 2019 (10.19)"  # a prefix of one release
    assert describe("4.2.1092.0") == "4.2.1092.0"  # in no list: as written
    assert describe("x.y") == "x.y"
    assert len(find_builds("10.19")) == 7


def test_version_findings_name_the_builds():
    report = dpmsmt.check(dpmsmt.load(ROOT / "models/bad/version-match.yaml"), today=TODAY)
    (f,) = [f for f in report.findings if f.rule == "VERSION-MATCH"]
    assert "DPM 2019 UR1 (10.19.260.0): DPM2" in f.message
    assert "DPM 2019 RTM (10.19.58.0): DPM1" in f.message
    assert f.entities["versions"] == {"10.19.260.0": ["DPM2"], "10.19.58.0": ["DPM1"]}


def test_rules_version_match_shows_the_table(capsys):
    code, out, _ = run(["rules", "VERSION-MATCH"], capsys)
    assert code == 0
    assert "table:" in out
    assert "10.19.260.0    DPM 2019 UR1" in out
    assert "learn.microsoft.com/en-us/system-center/dpm/release-build-versions" in out


@pytest.mark.parametrize(
    ("version", "kind", "known"),
    [
        ("10.19.260.0", "dpm", True),
        ("10.19", "dpm", True),
        ("10.25.25.0", "dpm", True),
        ("10.19.202.0", "dpm", False),  # a typo of a real build
        ("4.2.1092.0", "dpm", False),  # the spec's example: read, but in no list
        ("13.0.415.0", "mabs", True),
        ("13.0.415.0", "dpm", False),  # a MABS build on a DPM server
        ("10.19.58.0", "mabs", False),
        ("ten", "dpm", False),
    ],
)
def test_build_known(version, kind, known):
    t = dpmsmt.loads(f"dpmsmt: 1\ndpm_servers:\n  D1: {{version: '{version}', kind: {kind}}}\n")
    report = dpmsmt.check(t, today=TODAY)
    assert ("BUILD-KNOWN" in rules_of(report)) is not known
    assert report.verdict == "valid"  # advice only
    assert Counter(f.rule for f in reference_check(t, today=TODAY))["BUILD-KNOWN"] == (not known)


# -- the new keys in the reader, the writer and the schema ------------------------------------


NEW_KEYS = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: '10.22.148.0', location: azure, services_account: local-system,
         identity: G-1, domain: corp.example}
servers:
  SP: {agent: DPM1, location: azure, datasources: [{name: Farm, type: sharepoint},
       {name: db, type: sql, farm: sp/FARM}, {name: vm1, type: vmware}]}
"""


def test_new_keys_are_read_and_written_back():
    t = dpmsmt.loads(NEW_KEYS)
    d = t.dpm_servers["DPM1"]
    assert (d.location, d.services_account, d.identity, d.domain) == (
        "azure",
        "local-system",
        "G-1",
        "corp.example",
    )
    s = t.servers["SP"]
    assert s.location == "azure"
    assert s.datasources[1].farm == "SP/Farm"  # resolved to the defined spelling
    assert s.datasources[2].type == "vmware"
    assert dpmsmt.loads(dump(t)) == t
    doc = document(t, flow=False)
    assert doc["dpm_servers"]["DPM1"]["location"] == "azure"


def test_defaults_keep_todays_meaning():
    t = dpmsmt.loads("dpmsmt: 1\ndpm_servers: {D: {version: '10.19.58.0'}}\nservers: {S: {}}\n")
    d = t.dpm_servers["D"]
    assert (d.location, d.services_account, d.identity, d.domain) == (
        "on-premises",
        None,
        None,
        None,
    )
    assert t.servers["S"].location == "on-premises"
    assert "location" not in dump(t)


def test_schema_describes_the_new_properties():
    defs = schema()["$defs"]
    for model, key in [
        ("DpmServerDoc", "location"),
        ("DpmServerDoc", "services_account"),
        ("DpmServerDoc", "identity"),
        ("DpmServerDoc", "domain"),
        ("ServerDoc", "location"),
        ("DataSourceDoc", "farm"),
    ]:
        assert defs[model]["properties"][key]["description"]
    assert "vmware" in json.dumps(defs["DataSourceDoc"]["properties"]["type"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "  S: {datasources: [{name: a, type: volume, farm: S/b}, {name: b, type: sharepoint}]}",
            "`farm` is given only on a `sql` data source (S/a is volume)",
        ),
        ("  S: {datasources: [{name: a, type: sql, farm: S/zz}]}", "farm S/zz is not a defined"),
        (
            "  S: {datasources: [{name: a, type: sql, farm: S/b}, {name: b, type: sql}]}",
            "farm S/b is a `sql` data source, not `sharepoint`",
        ),
        ("  S: {location: mars}", "location"),
    ],
)
def test_bad_new_keys_are_reading_errors(text, message):
    doc = "dpmsmt: 1\ndpm_servers: {D: {version: '10.19.58.0'}}\nservers:\n" + text + "\n"
    with pytest.raises(TopologyError) as info:
        dpmsmt.loads(doc, file="x.yaml")
    assert message in str(info.value.errors[0])


def test_identity_names_one_dpm_server(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text(
        "dpmsmt: 1\ndpm_servers:\n  A: {version: '10.19.58.0', identity: g}\n"
        "  B: {version: '10.19.58.0', identity: G}\n"
    )
    code, out, err = run(["check", path], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"dpmsmt: error: {path}:4:40: ")
    assert "identity G is also the identity of A" in err
    assert err.count("\n") == 1


# -- the rules per profile ------------------------------------------------------------------


def test_vmware_tape_is_reported_before_dpm_2019_only():
    t = dpmsmt.load(ROOT / "models/bad/vmware-no-tape.yaml")
    for profile in ("strict", "2012", "2016"):
        assert rules_of(dpmsmt.check(t, profile=profile, today=TODAY)) == ["VMWARE-NO-TAPE"]
    for profile in ("2019", "2022", "2025"):
        assert rules_of(dpmsmt.check(t, profile=profile, today=TODAY)) == []


def test_farm_database_and_services_account_are_warnings_from_2016():
    farm = dpmsmt.load(ROOT / "models/bad/farm-database-no-secondary.yaml")
    services = dpmsmt.load(ROOT / "models/bad/services-local-system.yaml")
    for t, rule in ((farm, "FARM-DATABASE-NO-SECONDARY"), (services, "SERVICES-LOCAL-SYSTEM")):
        for profile, label in (("2012", "error"), ("2016", "warning"), ("2025", "warning")):
            report = dpmsmt.check(t, profile=profile, today=TODAY)
            assert {(f.rule, f.severity.label) for f in report.findings if f.rule == rule} == {
                (rule, label)
            }


def test_a_rename_without_identity_reads_as_a_move():
    before = dpmsmt.load(ROOT / "models/change/renamed-before.yaml")
    after = dpmsmt.load(ROOT / "models/change/dpm-renamed.yaml")
    report = dpmsmt.check(after, before=before, today=TODAY)
    (f,) = [f for f in report.findings if f.rule == "DPM-KEEPS-NAME-AND-DOMAIN"]
    assert f.entities["from"] == "DPM1" and f.entities["dpm"] == "DPM-FS"
    assert "renamed" in f.message
    no_identity = dpmsmt.loads(
        (ROOT / "models/change/dpm-renamed.yaml")
        .read_text()
        .replace("    identity: 3d0c9e55-0000-4000-8000-00000000d0a1\n", "")
    )
    assert "DPM-KEEPS-NAME-AND-DOMAIN" not in rules_of(
        dpmsmt.check(no_identity, before=before, today=TODAY)
    )


# -- differential: check and the reference agree where the new keys are used --------------------


def _key(f, severity) -> tuple:
    return (f.rule, severity, json.dumps(f.entities, sort_keys=True), f.waived)


def assert_agree(t, profile=None):
    got = Counter(
        _key(f, f.severity.label) for f in dpmsmt.check(t, profile=profile, today=TODAY).findings
    )
    want = Counter(_key(f, f.severity) for f in reference_check(t, profile=profile, today=TODAY))
    assert got == want, f"{dump(t)}\nonly check: {got - want}\nonly reference: {want - got}"


def _uses_new_keys(t) -> bool:
    return any(d.location == "azure" or d.services_account for d in t.dpm_servers.values()) or any(
        ds.type == "vmware" or ds.farm for ds in t.datasources()
    )


@FEW
@given(topologies(max_dpm=5), st.sampled_from(["strict", "2012", "2016", "2019", "2025"]))
def test_check_agrees_with_reference_on_the_new_keys(t, profile):
    assert_agree(t, profile)


@pytest.mark.parametrize(
    "predicate",
    [
        lambda t: any(d.location == "azure" for d in t.dpm_servers.values()),
        lambda t: any(s.location == "azure" for s in t.servers.values()),
        lambda t: any(d.services_account == "domain" for d in t.dpm_servers.values()),
        lambda t: any(d.identity and d.domain for d in t.dpm_servers.values()),
        lambda t: any(ds.type == "vmware" for ds in t.datasources()),
        lambda t: any(ds.farm for ds in t.datasources()),
    ],
    ids=["azure-dpm", "azure-server", "domain-account", "identity-domain", "vmware", "farm"],
)
def test_strategies_generate_the_new_keys(predicate):
    """The differential tests above see the new keys: the strategies draw each of them."""
    # generation only: shrinking the example found costs far more than finding it
    quick = settings(
        max_examples=2000, deadline=None, phases=[Phase.generate], database=None, derandomize=True
    )
    t = find(topologies(max_dpm=4), predicate, settings=quick)
    assert_agree(t)


@FEW
@given(st.data())
def test_change_rules_agree_on_renames_and_domain_moves(data):
    t = data.draw(topologies(max_dpm=4))
    before, after = data.draw(changes(t, renames=True))

    def key(f, severity):
        return (f.rule, severity, json.dumps(f.entities, sort_keys=True), f.waived)

    report = dpmsmt.check(after, before=before, today=TODAY)
    change_ids = {
        "DPM-KEEPS-NAME-AND-DOMAIN",
        "NO-MOVE-UNDER-SECONDARY",
        "SWITCH-ONLY-TO-SECONDARY",
        "REBUILD-SAME-VERSION",
        "REBUILD-NEEDS-BACKUP",
        "REMOVED-IS-GONE",
        "HISTORY-LEFT-BEHIND",
    }
    got = Counter(key(f, f.severity.label) for f in report.findings if f.rule in change_ids)
    want = Counter(key(f, f.severity) for f in reference_check_change(before, after, today=TODAY))
    assert got == want, f"{dump(before)}\n---\n{dump(after)}\n{got - want}\n{want - got}"


# -- suggest-move and design respect the new rules ------------------------------------------------

VMWARE_ESTATE = """\
dpmsmt: 1
profile: "2022"
dpm_servers:
  DPM1: {version: '10.22.148.0'}
  DPM2: {version: '10.22.148.0'}
  DPM3: {version: '10.22.148.0', protects: [DPM2]}
servers:
  vcenter01:
    agent: DPM1
    datasources: [{name: VM1, type: vmware}, {name: VM2, type: vmware}]
  FS01:
    agent: DPM1
    datasources: [{name: 'D:\\', type: volume}]
"""


def test_a_plan_never_moves_a_vmware_vm_onto_a_secondary():
    t = dpmsmt.loads(VMWARE_ESTATE)
    result = synthesize(t, failed=["DPM1"], top=5)
    assert result.plans and result.complete
    moved = False
    for plan in result.plans:
        after = apply(t, plan)
        vms = [ds for ds in after.datasources() if ds.type == "vmware"]
        assert all(ds.secondary is None for ds in vms)
        moved |= any(ds.primary == "DPM2" for ds in vms)
        # the volume moved to DPM2 does get DPM3 as its secondary: the rule is per data source
        assert rules_of(dpmsmt.check(after, today=TODAY)) == [] or "VMWARE-NO-SECONDARY" not in (
            rules_of(dpmsmt.check(after, today=TODAY))
        )
    assert moved, "some plan moves the VMs to DPM2 (which has a secondary)"


AZURE_ESTATE = """\
dpmsmt: 1
profile: "2022"
dpm_servers:
  DPM1: {version: '10.22.148.0'}
  DPM2: {version: '10.22.148.0'}
  DPM-AZ: {version: '10.22.148.0', location: azure}
servers:
  FS01:
    agent: DPM1
    datasources: [{name: 'D:\\', type: volume}]
  VM-AZ1:
    agent: DPM-AZ
    location: azure
    datasources: [{name: 'C:\\', type: volume}]
"""


def test_a_plan_never_moves_an_on_premises_server_to_an_azure_dpm():
    t = dpmsmt.loads(AZURE_ESTATE)
    result = synthesize(t, failed=["DPM1"], top=10)
    assert result.plans and result.complete
    targets = {a.to for p in result.plans for a in p.actions if a.server == "FS01"}
    assert "DPM-AZ" not in targets
    assert "DPM2" in targets


def test_design_never_puts_an_azure_dpm_over_an_on_premises_one():
    only_azure = dpmsmt.loads(AZURE_ESTATE.replace("  DPM2: {version: '10.22.148.0'}\n", ""))
    (blocked,) = dpmsmt.design(only_azure, for_=["DPM1"]).designs
    # DPM-AZ is the only other DPM server: no secondary, and the rule that blocks it named
    assert not blocked.complete and blocked.actions == ()
    assert blocked.blocked_by == {"DPM1": ["AZURE-BOUNDARY-SECONDARY"]}
    both = dpmsmt.loads(AZURE_ESTATE)
    result = dpmsmt.design(both, for_=["DPM1"])
    assert result.designs and result.designs[0].complete
    for d in result.designs:
        assert {a.dpm: a.to for a in d.actions}.get("DPM1") != "DPM-AZ"


def test_design_gives_no_secondary_to_a_primary_with_domain_services():
    t = dpmsmt.loads(
        "dpmsmt: 1\nprofile: '2012'\ndpm_servers:\n"
        "  DPM1: {version: '4.2.1205.0', services_account: domain}\n"
        "  DPM2: {version: '4.2.1205.0'}\n"
    )
    (blocked,) = dpmsmt.design(t, for_=["DPM1"]).designs
    assert blocked.blocked_by == {"DPM1": ["SERVICES-LOCAL-SYSTEM"]}
    fixed = dpmsmt.loads(
        dump(t).replace("services_account: domain", "services_account: local-system")
    )
    assert dpmsmt.design(fixed, for_=["DPM1"]).designs[0].complete


@FEW
@given(st.data())
def test_generated_plans_give_no_vmware_vm_or_farm_database_a_secondary(data):
    t = data.draw(topologies(max_dpm=4, valid=True))
    up = [n for n, d in t.dpm_servers.items() if d.up]
    if not up or not any(ds.type == "vmware" or ds.farm for ds in t.datasources()):
        return
    failed = data.draw(failures(t, max_size=1))
    for plan in synthesize(t, failed=sorted(failed), top=2, timeout=30).plans:
        after = apply(t, plan)
        for ds in after.datasources():
            if ds.type == "vmware" or ds.farm is not None:
                assert ds.secondary is None, (plan.to_json(), ds)


def test_plans_name_the_builds_they_install_as_people_say_them():
    """A rebuild or a new DPM server names its build from the table (issue 14, "Versions by
    name"); a build in no list keeps the plain "DPM <version>"."""
    from dpmsmt.builds import product
    from dpmsmt.recovery import synthesize

    seed = dpmsmt.load(str(REPO_DIR / "models/seed/before.yaml"))
    plans = synthesize(seed, failed=["DPM1"], top=5, allow=["rebuild"]).plans
    steps = [s for p in plans for a in p.actions for s in a.steps]
    assert any("Install DPM 2012 R2 RTM (4.2.1205.0) on a server named DPM1" in s for s in steps)
    assert product("4.2.1092.0") == "DPM 4.2.1092.0"
