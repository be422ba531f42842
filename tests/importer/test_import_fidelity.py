"""`dpmsmt import` and the keys issue 14 added: a DPM server's `identity` and `domain` come from
its export (the domain guessed from the FQDN when the export has no `Domain`), `ObjectType`
VMware is type `vmware`, and `location` / `services_account`, which no cmdlet gives, come from
the overlay and survive a re-import.
"""

from __future__ import annotations

import json
from pathlib import Path

from paths import TESTS_DIR

import dpmsmt
from dpmsmt.importer.merge import datasource_type

CONTOSO = TESTS_DIR / "fixtures" / "import" / "contoso"
GUID = "0b7c2e4a-91d3-4f6e-8a25-3c6d1e9f7b10"


def contoso() -> list[Path]:
    return sorted(CONTOSO.glob("*.json"))


def with_mabs(tmp_path: Path, folder: str, **server) -> list[Path]:
    """The contoso exports with MABS01's `DpmServer` changed by `server` (None deletes a key)."""
    doc = json.loads((CONTOSO / "mabs01.json").read_text(encoding="utf-8"))
    for key, value in server.items():
        if value is None:
            doc["DpmServer"].pop(key, None)
        else:
            doc["DpmServer"][key] = value
    (tmp_path / folder).mkdir()
    changed = tmp_path / folder / "mabs01.json"
    changed.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return [p for p in contoso() if p.name != "mabs01.json"] + [changed]


def test_identity_and_domain_come_from_the_export():
    topology, _, report = dpmsmt.import_exports(contoso())
    dpm11 = topology.dpm_servers["DPM11"]
    assert dpm11.identity == "51a9e7c4-6b20-4e8f-8d3c-0a7f4e19b611"
    assert dpm11.domain == "fabrikam.local"
    assert "dpm_servers.DPM11.domain" not in report.guessed
    assert topology.dpm_servers["MABS01"].identity is None  # its export could not read it


def test_without_domain_the_fqdn_gives_a_guess_and_says_so():
    topology, text, report = dpmsmt.import_exports(contoso())
    assert topology.dpm_servers["DPM03"].domain == "contoso.com"  # an older collector's export
    assert "dpm_servers.DPM03.domain" in report.guessed
    assert "domain: contoso.com  # guessed: from the FQDN in `Name` (no `Domain`)" in text


def test_a_workgroup_server_or_a_short_name_gives_no_domain(tmp_path: Path):
    paths = with_mabs(tmp_path, "wg", Domain="WORKGROUP", PartOfDomain=False)
    assert dpmsmt.import_exports(paths)[0].dpm_servers["MABS01"].domain is None
    paths = with_mabs(tmp_path, "short", Domain=None, PartOfDomain=None, Name="MABS01")
    topology, _, report = dpmsmt.import_exports(paths)
    assert topology.dpm_servers["MABS01"].domain is None
    assert "dpm_servers.MABS01.domain" not in report.guessed


def test_a_rename_is_seen_through_the_identity(tmp_path: Path):
    """MABS01 exported again as MABS02 with one AD object GUID: DPM-KEEPS-NAME-AND-DOMAIN. Without
    the identity the rename reads as a new server, and the change rule cannot see it."""
    before = dpmsmt.import_exports(with_mabs(tmp_path, "a", Identity=GUID))[0]
    renamed = {"Identity": GUID, "ComputerName": "MABS02", "Name": "mabs02.contoso.com"}
    after = dpmsmt.import_exports(with_mabs(tmp_path, "b", **renamed))[0]
    assert after.dpm_servers["MABS02"].identity == GUID
    report = dpmsmt.check(after, before=before, today="2026-12-02")
    assert [f.rule for f in report.findings if f.rule == "DPM-KEEPS-NAME-AND-DOMAIN"] == [
        "DPM-KEEPS-NAME-AND-DOMAIN"
    ]
    anonymous = dpmsmt.import_exports(
        with_mabs(tmp_path, "c", ComputerName="MABS02", Name="mabs02.contoso.com")
    )[0]
    report = dpmsmt.check(anonymous, before=before, today="2026-12-02")
    assert "DPM-KEEPS-NAME-AND-DOMAIN" not in {f.rule for f in report.findings}


def test_a_domain_move_is_seen(tmp_path: Path):
    """The AD object moved to another domain of the forest keeps its objectGUID."""
    before = dpmsmt.import_exports(with_mabs(tmp_path, "a", Identity=GUID))[0]
    moved = with_mabs(tmp_path, "b", Identity=GUID, Domain="fabrikam.local")
    after = dpmsmt.import_exports(moved)[0]
    report = dpmsmt.check(after, before=before, today="2026-12-02")
    (finding,) = [f for f in report.findings if f.rule == "DPM-KEEPS-NAME-AND-DOMAIN"]
    assert "contoso.com to fabrikam.local" in finding.message


def test_vmware_object_type_is_the_vmware_type():
    assert datasource_type("VMware", "WEB01-VM") == ("vmware", None)
    assert datasource_type("VMware Virtual Machine", "WEB01-VM") == ("vmware", None)
    topology = dpmsmt.import_exports(contoso())[0]
    (vm,) = topology.servers["vcenter01"].datasources
    assert vm.type == "vmware"


def test_location_and_services_account_come_from_the_overlay_and_survive_a_re_import(
    tmp_path: Path,
):
    plain = dpmsmt.import_exports(contoso())[0]
    assert plain.dpm_servers["DPM02"].location == "on-premises"  # the default, not guessed
    assert plain.dpm_servers["DPM02"].services_account is None
    overlay = tmp_path / "site.yaml"
    overlay.write_text(
        "dpm_servers:\n  dpm02.contoso.com: {location: azure, services_account: domain}\n"
        "servers:\n  fs01: {location: azure}\n",
        encoding="utf-8",
    )
    for paths in (contoso(), [p for p in contoso() if p.name != "mabs01.json"]):
        topology, text, _ = dpmsmt.import_exports(paths, overlay)
        assert topology.dpm_servers["DPM02"].location == "azure"
        assert topology.dpm_servers["DPM02"].services_account == "domain"
        assert topology.servers["FS01"].location == "azure"
        assert "location: azure  # from the overlay" in text
        assert "services_account: domain  # from the overlay" in text
        assert dpmsmt.loads(text) == topology


def test_a_move_to_another_domain_with_a_new_object_guid_is_seen(tmp_path: Path):
    """Leaving a domain for another gives the computer a new AD object (a new objectGUID): the
    same name in another domain is still the same DPM server moved, not a new one."""
    before = dpmsmt.import_exports(with_mabs(tmp_path, "a", Identity=GUID))[0]
    other = "5b0c6c1e-0000-4000-8000-00000000beef"
    moved = with_mabs(tmp_path, "b", Identity=other, Domain="fabrikam.local")
    after = dpmsmt.import_exports(moved)[0]
    report = dpmsmt.check(after, before=before, today="2026-12-02")
    (finding,) = [f for f in report.findings if f.rule == "DPM-KEEPS-NAME-AND-DOMAIN"]
    assert "contoso.com to fabrikam.local" in finding.message
    # the same name and domain with a new identity (a rebuild that rejoined): no finding
    rebuilt = dpmsmt.import_exports(with_mabs(tmp_path, "c", Identity=other))[0]
    report = dpmsmt.check(rebuilt, before=before, today="2026-12-02")
    assert "DPM-KEEPS-NAME-AND-DOMAIN" not in {f.rule for f in report.findings}
