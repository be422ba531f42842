"""The example estates of models/: every file with an `expect` block gets the verdict it expects.

An `expect` block (format.md) gives the verdict and exactly the ids of the unwaived errors
(`findings`), warnings and infos; `before` makes the file the "after" of a change. Ids are
compared as sets (a rule that fires twice is listed once). The models were worked out by hand
from rules.md, so a failure here is a disagreement between the checker and the catalogue.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import yaml

import dpmsmt

MODELS = Path(__file__).resolve().parent.parent / "models"
TODAY = "2026-11-24"

# Every rule id of rules.md's static tables ("Topology", "Agents and data sources").
STATIC_RULES = (
    # topology
    "SECONDARY-ONCE",
    "SECONDARY-NOT-SELF",
    "SELF-PROTECTION-BREAKS-CHAIN",
    "CYCLE-TWO-ONLY",
    "MABS-NO-SECONDARY",
    "VERSION-MATCH",
    "BUILD-MATCH",
    "OS-MATCH",
    "DB-BACKUP-WITH-SECONDARY",
    "SQL-VSS-WRITER",
    "UNTRUSTED-NEEDS-CERTIFICATE",
    "SECONDARY-MINIMUM-SCOPE",
    "TAPE-LIBRARY-VERSION",
    "CAPACITY-SERVERS",
    "CAPACITY-DATASOURCES",
    # agents and data sources
    "AGENT-OWNER",
    "SCALE-OUT-AGENTS",
    "SECONDARY-IS-PROTECTOR",
    "SWITCHED-NO-SECONDARY",
    "SWITCHED-FROM-PROTECTED",
    "MOVED-UNDER-SECONDARY",
    "DEDUP-NO-SECONDARY",
    "SCALE-OUT-NO-SECONDARY",
    "REPLICA-NO-EXCLUSIONS",
    "REPLICA-POLICY",
    "REPLICA-SYNC",
    "REPLICA-SYNC-DAILY",
    "SQL-HIGH-FREQUENCY",
    "PRIMARY-DOWN",
    "SECONDARY-DOWN",
    "SECONDARY-COVERAGE",
    "UNPROTECTED",
    "WAIVER-UNUSED",
    "WAIVER-EXPIRED",
    # issue 14
    "BUILD-KNOWN",
    "AZURE-BOUNDARY",
    "AZURE-BOUNDARY-SECONDARY",
    "SERVICES-LOCAL-SYSTEM",
    "VMWARE-NO-SECONDARY",
    "VMWARE-NO-TAPE",
    "FARM-DATABASE-NO-SECONDARY",
)

# The change rules (only with `before`), so that expect blocks name known ids only.
CHANGE_RULES = frozenset(
    {
        "NO-MOVE-UNDER-SECONDARY",
        "SWITCH-ONLY-TO-SECONDARY",
        "REBUILD-SAME-VERSION",
        "REBUILD-NEEDS-BACKUP",
        "REMOVED-IS-GONE",
        "HISTORY-LEFT-BEHIND",
        "DPM-KEEPS-NAME-AND-DOMAIN",
    }
)

SEVERITY_KEYS = {"error": "findings", "warning": "warnings", "info": "infos"}


def _expect(path: Path) -> dict | None:
    with path.open(encoding="utf-8-sig") as f:
        doc = yaml.safe_load(f)
    if isinstance(doc, dict) and isinstance(doc.get("expect"), dict):
        return doc["expect"]
    return None


def _model_files() -> list[Path]:
    return sorted(MODELS.rglob("*.yaml"))


EXAMPLES = [(p, e) for p in _model_files() if (e := _expect(p)) is not None]


def _rel(path: Path) -> str:
    return path.relative_to(MODELS).as_posix()


def _expected_ids(expect: dict) -> set[str]:
    return {rule for key in SEVERITY_KEYS.values() for rule in expect.get(key) or ()}


def test_there_are_examples():
    assert len(EXAMPLES) >= len(STATIC_RULES)


@pytest.mark.parametrize(("path", "expect"), EXAMPLES, ids=[_rel(p) for p, _ in EXAMPLES])
def test_model(path: Path, expect: dict):
    topology = dpmsmt.load(path)
    if expect.get("before"):
        before = dpmsmt.load(path.parent / expect["before"])
        report = dpmsmt.check(topology, before=before, today=TODAY)
    else:
        report = dpmsmt.check(topology, today=TODAY)

    got: dict[str, set[str]] = {key: set() for key in SEVERITY_KEYS.values()}
    for finding in report.findings:
        if not finding.waived:
            got[SEVERITY_KEYS[finding.severity.label]].add(finding.rule)

    mismatches = []
    if report.verdict != expect["verdict"]:
        mismatches.append(f"verdict: expected {expect['verdict']}, got {report.verdict}")
    for key in SEVERITY_KEYS.values():
        if key not in expect:
            continue
        want = set(expect[key] or ())
        if got[key] != want:
            mismatches.append(
                f"{key}: expected {sorted(want)}, got {sorted(got[key])} "
                f"(missing {sorted(want - got[key])}, unexpected {sorted(got[key] - want)})"
            )
    assert not mismatches, f"{_rel(path)}: " + "; ".join(mismatches)


def test_examples_are_well_formed():
    """Expect blocks name known rule ids; good/ and bad/ give all three lists; good/ is valid."""
    for path, expect in EXAMPLES:
        rel = _rel(path)
        assert expect.get("verdict") in ("valid", "invalid"), rel
        assert (expect["verdict"] == "invalid") == bool(expect.get("findings")), rel
        for key in SEVERITY_KEYS.values():
            unknown = set(expect.get(key) or ()) - set(STATIC_RULES) - CHANGE_RULES
            assert not unknown, f"{rel}: unknown rule ids {sorted(unknown)}"
            if rel.startswith(("good/", "bad/")):
                assert key in expect, f"{rel}: expect.{key} missing"
        if rel.startswith("good/"):
            assert expect["verdict"] == "valid", rel


@pytest.mark.parametrize("rule", STATIC_RULES)
def test_every_static_rule_has_a_bad_example(rule: str):
    bad = [(p, e) for p, e in EXAMPLES if _rel(p).startswith("bad/")]
    assert any(rule in _expected_ids(e) for _, e in bad), f"no models/bad/ file expects {rule}"
    named = MODELS / "bad" / f"{rule.lower()}.yaml"
    assert named.exists(), f"models/bad/{named.name} missing"
    assert rule in _expected_ids(_expect(named) or {}), f"{named.name} does not expect {rule}"


def test_realistic_matches_its_generator(tmp_path: Path):
    """good/realistic.yaml is the output of models/make_realistic.py (fixed seed), unedited."""
    generator = runpy.run_path(str(MODELS / "make_realistic.py"))
    out = tmp_path / "realistic.yaml"
    generator["main"](out)
    committed = MODELS / "good" / "realistic.yaml"
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
