"""The rule registry against the catalogue of rules.md.

The catalogue below is transcribed from rules.md's tables (static rules: "Topology" and "Agents
and data sources"; then the change rules): id -> (severity per profile, sources). A severity of
None means the rule is not reported under that profile; `severe` is the severity of the severe
form of a two-severity rule (REPLICA-POLICY, BUILD-MATCH).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from paths import REPO_DIR

import dpmsmt.rules
from dpmsmt.rules import all_rules, families, get, rule_ids
from dpmsmt.sources import SOURCES

PROFILES = ("strict", "2012", "2016", "2019", "2022", "2025")
MODELS = REPO_DIR / "models"


def sev(default: str | None, **by_profile: str | None) -> dict[str, str | None]:
    table = dict.fromkeys(PROFILES, default)
    for key, value in by_profile.items():
        table[key.removeprefix("p")] = value
    return table


ERROR = sev("error")
WARNING = sev("warning")
INFO = sev("info")
FROM_2016 = {"p2016": "warning", "p2019": "warning", "p2022": "warning", "p2025": "warning"}

# id -> (severities, sources, severe)
STATIC = {
    # Topology
    "SECONDARY-ONCE": (ERROR, {"S1", "S7"}, None),
    "SECONDARY-NOT-SELF": (ERROR, set(), None),  # inferred, no document
    "SELF-PROTECTION-BREAKS-CHAIN": (ERROR, {"S1", "S3", "S7"}, None),
    "CYCLE-TWO-ONLY": (sev("warning", strict="error"), {"S1", "S7"}, None),
    "MABS-NO-SECONDARY": (ERROR, {"S9", "S10"}, None),
    "VERSION-MATCH": (ERROR, {"S2", "S7"}, None),
    "BUILD-MATCH": (
        sev(None, p2019="warning", p2022="warning", p2025="warning"),
        {"S5", "S7"},
        "error",
    ),
    "OS-MATCH": (sev("warning", strict="error", p2012="error"), {"S2"}, None),
    "DB-BACKUP-WITH-SECONDARY": (ERROR, {"S5", "S7", "S11"}, None),
    "SQL-VSS-WRITER": (ERROR, {"S3", "S7"}, None),
    "UNTRUSTED-NEEDS-CERTIFICATE": (ERROR, {"S19", "S7"}, None),
    "SECONDARY-MINIMUM-SCOPE": (WARNING, {"S2"}, None),
    "TAPE-LIBRARY-VERSION": (ERROR, {"S8"}, None),
    "CAPACITY-SERVERS": (WARNING, {"S23"}, None),
    "CAPACITY-DATASOURCES": (WARNING, {"S23", "S27", "S28"}, None),
    # Agents and data sources
    "AGENT-OWNER": (ERROR, {"S13", "S15"}, None),
    "SCALE-OUT-AGENTS": (ERROR, {"S8", "S34"}, None),
    "SECONDARY-IS-PROTECTOR": (ERROR, {"S1", "S7"}, None),
    "SWITCHED-NO-SECONDARY": (ERROR, {"S2", "S8"}, None),
    "SWITCHED-FROM-PROTECTED": (ERROR, {"S2", "S4", "S20"}, None),
    "MOVED-UNDER-SECONDARY": (ERROR, {"seed", "S8"}, None),
    "DEDUP-NO-SECONDARY": (ERROR, {"S8", "S16"}, None),
    "SCALE-OUT-NO-SECONDARY": (ERROR, {"S8", "S34"}, None),
    "REPLICA-NO-EXCLUSIONS": (ERROR, {"S2", "S7"}, None),
    "REPLICA-POLICY": (sev("error", **FROM_2016), {"S2", "S7"}, "error"),
    "REPLICA-SYNC": (ERROR, {"S2", "S20"}, None),
    "REPLICA-SYNC-DAILY": (INFO, {"S2", "S7"}, None),
    "SQL-HIGH-FREQUENCY": (sev(None, p2016="warning"), {"S18"}, None),
    "PRIMARY-DOWN": (ERROR, {"seed"}, None),
    "SECONDARY-DOWN": (WARNING, {"seed"}, None),
    "SECONDARY-COVERAGE": (WARNING, {"S17"}, None),
    "UNPROTECTED": (INFO, set(), None),  # a tool rule
    "WAIVER-UNUSED": (WARNING, set(), None),  # a tool rule
    "WAIVER-EXPIRED": (WARNING, set(), None),  # a tool rule
    # issue 14: facts the format could not say before
    "BUILD-KNOWN": (INFO, {"B1"}, None),
    "AZURE-BOUNDARY": (ERROR, {"S8", "S9"}, None),
    "AZURE-BOUNDARY-SECONDARY": (ERROR, {"S8"}, None),
    "SERVICES-LOCAL-SYSTEM": (sev("error", **FROM_2016), {"S38"}, None),
    "VMWARE-NO-SECONDARY": (ERROR, {"S35"}, None),
    "VMWARE-NO-TAPE": (sev("error", p2019=None, p2022=None, p2025=None), {"S35", "S36"}, None),
    "FARM-DATABASE-NO-SECONDARY": (sev("error", **FROM_2016), {"S37"}, None),
}

CHANGE = {
    # rules.md gives NO-MOVE-UNDER-SECONDARY "seed (S2), S8": S2 is the seed's document
    "NO-MOVE-UNDER-SECONDARY": (ERROR, {"seed", "S8"}, None),
    "SWITCH-ONLY-TO-SECONDARY": (ERROR, {"S20"}, None),
    "REBUILD-SAME-VERSION": (ERROR, {"S5", "S7", "S11"}, None),
    "REBUILD-NEEDS-BACKUP": (ERROR, {"S4", "S5", "S7"}, None),
    "REMOVED-IS-GONE": (ERROR, {"S8"}, None),
    "HISTORY-LEFT-BEHIND": (INFO, {"S4", "S8"}, None),
    "DPM-KEEPS-NAME-AND-DOMAIN": (ERROR, {"S8"}, None),
}

CATALOGUE = {**STATIC, **CHANGE}


def test_registry_holds_the_static_rules():
    assert set(STATIC) <= set(rule_ids())


def test_registry_holds_exactly_the_catalogue():
    assert sorted(rule_ids()) == sorted(CATALOGUE)


def test_ids_are_unique_sorted_and_well_formed():
    ids = rule_ids()
    assert len(ids) == len(set(ids))
    assert list(ids) == sorted(ids)
    for rule_id in ids:
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*", rule_id), rule_id


def test_change_rules_are_marked_as_change_rules():
    assert {r.id for r in all_rules() if r.change} == set(CHANGE) & set(rule_ids())


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_record(rule):
    assert rule.statement.strip(), "statement"
    assert rule.formal.strip(), "formal reading"
    assert rule.confidence.strip(), "confidence"
    # a docstring that says why: what it does, then why
    lines = [line for line in rule.why.splitlines() if line.strip()]
    assert len(lines) >= 2, "a why-docstring"
    assert "Why" in rule.why or "why" in rule.why, "the docstring says why"
    assert get(rule.id) is rule


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_severities_match_the_catalogue(rule):
    assert set(rule.severity) == set(PROFILES), "a severity (or None) for each of the six profiles"
    expected, _sources, severe = CATALOGUE[rule.id]
    got = {p: (s.label if s else None) for p, s in rule.severity.items()}
    assert got == expected
    assert (rule.severe_severity.label if rule.severe_severity else None) == severe
    assert any(got.values()), "reported under some profile"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_sources_exist_and_match_the_catalogue(rule):
    assert set(rule.sources) <= set(SOURCES), "every source is in dpmsmt/sources.py"
    assert len(rule.sources) == len(set(rule.sources))
    _severities, expected, _severe = CATALOGUE[rule.id]
    assert set(rule.sources) == expected
    for source in rule.sources:
        assert SOURCES[source]["title"] and SOURCES[source]["url"].startswith("https://")


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_module_declares_the_urls_of_its_documents(rule):
    """The URLs sit next to the rule's code; they hold the address of every source it names."""
    assert rule.urls, "at least one document"
    for url in rule.urls:
        assert url.startswith("https://") and not any(c.isspace() for c in url), url
    for source in rule.sources:
        assert SOURCES[source]["url"].split()[0] in rule.urls, source


def test_families_are_the_rule_directories():
    """A new directory of rule modules is a new family: discovered, not listed."""
    rules_dir = Path(dpmsmt.rules.__file__).parent
    holding = {
        p.parent.name
        for p in rules_dir.glob("*/*.py")
        if re.search(r"^    id = \"", p.read_text(encoding="utf-8"), re.M)
    }
    assert set(families()) == holding
    assert list(families()) == sorted(families())
    assert {r.family for r in all_rules()} == holding


def test_rules_without_a_document_are_the_inferred_and_tool_rules():
    bare = {r.id for r in all_rules() if not r.sources}
    assert bare == {"SECONDARY-NOT-SELF", "UNPROTECTED", "WAIVER-UNUSED", "WAIVER-EXPIRED"}
    for rule_id in bare:
        assert get(rule_id).confidence in ("inferred", "tool")


# -- example models -----------------------------------------------------------------------------


@cache
def _expect(path: Path) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=loader)
    return (doc or {}).get("expect") or {}


def _expected_ids(path: Path) -> set[str]:
    expect = _expect(path)
    return {r for key in ("findings", "warnings", "infos") for r in expect.get(key) or ()}


@pytest.mark.parametrize("rule_id", sorted(STATIC))
def test_static_rule_has_a_bad_model(rule_id):
    """models/bad/<id-lowercase>*.yaml exists and expects the rule."""
    files = sorted((MODELS / "bad").glob(f"{rule_id.lower()}*.yaml"))
    assert files, f"no models/bad/{rule_id.lower()}*.yaml"
    assert any(rule_id in _expected_ids(p) for p in files)


@pytest.mark.parametrize("rule_id", sorted(CHANGE))
def test_change_rule_has_a_bad_model(rule_id):
    """Change rules need a before and an after file: some model with `before` expects each."""
    found = [
        p
        for p in sorted(MODELS.rglob("*.yaml"))
        if rule_id in _expected_ids(p) and _expect(p).get("before")
    ]
    assert found, f"no model expects {rule_id}"


def test_good_models_exist():
    good = sorted((MODELS / "good").glob("*.yaml"))
    assert good
    for path in good:
        assert _expect(path)["verdict"] == "valid", path.name
