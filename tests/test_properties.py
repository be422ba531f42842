"""Property tests over generated topologies (dpmsmt.strategies).

- differential: the Z3 checker and the plain-Python reference (tests/reference.py) report the same
  findings, under every profile;
- metamorphic: renaming servers, changing the case of references, reordering mappings and lists,
  and going through YAML and JSON do not change the findings (up to the renaming);
- determinism: the JSON report of one input is byte-identical across runs;
- round trip: `loads(dump(t)) == t`;
- the strategies keep their promises (`valid=True` passes, `valid=False` has an error).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from reference import reference_check  # tests/ is on sys.path (rootdir-relative)

import dpmsmt
from dpmsmt.io.dump import document, dump, dump_json
from dpmsmt.model import PROFILES, Topology, canon
from dpmsmt.render.json import render
from dpmsmt.strategies import changes, document_to_topology, failures, topologies

# Dates around the waivers' expiry dates (dpmsmt.strategies.EXPIRED / LIVE): before, on, after.
TODAYS = st.sampled_from(
    ["2026-01-15", "2020-06-30", "2020-07-01", "2099-12-31", "2100-01-01", "2100-01-02"]
)
# Within the range where `topologies(valid=...)` keeps its promise.
SAFE_TODAYS = st.sampled_from(["2021-01-01", "2026-01-15", "2099-12-30"])


# -- findings as comparable values ---------------------------------------------------------------


def key(rule: str, severity: str, entities: dict, waived: bool) -> tuple[str, str, str, bool]:
    return (rule, severity, json.dumps(entities, sort_keys=True, ensure_ascii=False), waived)


def z3_findings(t: Topology, profile: str | None = None, today: str = "2026-01-15") -> Counter:
    report = dpmsmt.check(t, profile=profile, today=today)
    return Counter(key(f.rule, f.severity.label, f.entities, f.waived) for f in report.findings)


def ref_findings(t: Topology, profile: str | None = None, today: str = "2026-01-15") -> Counter:
    return Counter(
        key(f.rule, f.severity, f.entities, f.waived)
        for f in reference_check(t, profile=profile, today=today)
    )


def explain(check: Counter, ref: Counter) -> str:
    only_check = sorted((check - ref).elements())
    only_ref = sorted((ref - check).elements())
    return (
        "only in check:\n  "
        + "\n  ".join(map(str, only_check))
        + ("\nonly in reference:\n  " + "\n  ".join(map(str, only_ref)))
    )


def assert_agree(t: Topology, profile: str, today: str) -> None:
    got, want = z3_findings(t, profile, today), ref_findings(t, profile, today)
    assert got == want, f"profile {profile}, today {today}\n{dump(t)}\n{explain(got, want)}"


# -- (a) differential ----------------------------------------------------------------------------


@given(topologies(), TODAYS)
def test_check_agrees_with_reference(t, today):
    for profile in PROFILES:
        assert_agree(t, profile, today)


@given(topologies(valid=True), TODAYS)
def test_check_agrees_with_reference_near_valid(t, today):
    # supported estates sit next to the rules' boundaries: one step off is a finding
    for profile in PROFILES:
        assert_agree(t, profile, today)


# -- (b) metamorphic -----------------------------------------------------------------------------


def rename_document(doc: dict, rename) -> dict:
    """The document with every DPM server and protected server name passed through `rename`
    (definitions and references; a data source id `SERVER/NAME` renames its server part)."""

    def ds_id(text: str) -> str:
        server, sep, rest = text.partition("/")
        return rename(server) + sep + rest if sep else text

    out = dict(doc)
    out["dpm_servers"] = {}
    for name, d in doc["dpm_servers"].items():
        d = dict(d)
        for k in ("protects", "knows"):
            if k in d:
                d[k] = [rename(x) for x in d[k]]
        if "inactive" in d:
            d["inactive"] = [
                {
                    "datasource": ds_id(e["datasource"]),
                    **({"from": rename(e["from"])} if e.get("from") else {}),
                }
                for e in d["inactive"]
            ]
        out["dpm_servers"][rename(name)] = d
    if "servers" in doc:
        out["servers"] = {}
        for name, s in doc["servers"].items():
            s = dict(s)
            if isinstance(s.get("agent"), str):
                s["agent"] = rename(s["agent"])
            elif isinstance(s.get("agent"), list):
                s["agent"] = [rename(a) for a in s["agent"]]
            datasources = []
            for ds in s.get("datasources", []):
                ds = dict(ds)
                for k in ("primary", "secondary", "switched_from"):
                    if ds.get(k) is not None:
                        ds[k] = rename(ds[k])
                if ds.get("farm") is not None:  # a data source id: SERVER/NAME
                    ds["farm"] = ds_id(ds["farm"])
                datasources.append(ds)
            if "datasources" in s:
                s["datasources"] = datasources
            out["servers"][rename(name)] = s
    if "waivers" in doc:
        out["waivers"] = [
            {**w, "target": ds_id(w["target"]) if "/" in w["target"] else rename(w["target"])}
            if w.get("target")
            else w
            for w in doc["waivers"]
        ]
    return out


def rename_value(value: Any, rename) -> Any:
    """Apply a renaming to finding entities: names, data source ids, lists and groups of them."""
    if isinstance(value, str):
        renamed = rename(value)
        if renamed != value:
            return renamed
        server, sep, rest = value.partition("/")
        if sep and rename(server) != server:
            return rename(server) + sep + rest
        return value
    if isinstance(value, list | tuple):
        return [rename_value(v, rename) for v in value]
    if isinstance(value, dict):
        return {k: rename_value(v, rename) for k, v in value.items()}
    return value


def findings_of(t: Topology, today: str, rename=None) -> Counter:
    out: Counter = Counter()
    for f in dpmsmt.check(t, today=today).findings:
        entities = f.entities if rename is None else rename_value(f.entities, rename)
        out[key(f.rule, f.severity.label, entities, f.waived)] += 1
    return out


def renamer(t: Topology, prefix: str):
    """Definition spelling -> prefixed name, for the names the topology defines (any case)."""
    table = {canon(n): prefix + n for n in [*t.dpm_servers, *t.servers]}
    return lambda name: table.get(canon(name), name)


@given(topologies(), SAFE_TODAYS, st.sampled_from(["X", "new-", "Z9."]))
def test_renaming_servers_renames_findings(t, today, prefix):
    rename = renamer(t, prefix)
    renamed = document_to_topology(rename_document(document(t, flow=False), rename))
    note(dump(renamed))
    assert findings_of(renamed, today) == findings_of(t, today, rename)


@given(topologies(), SAFE_TODAYS, st.sampled_from([str.swapcase, str.lower, str.upper]))
def test_case_of_references_does_not_matter(t, today, spell):
    # every reference, but no definition, spelt in another case: the same topology
    defined = {canon(n): n for n in [*t.dpm_servers, *t.servers]}
    doc = document(t, flow=False)
    respelt = rename_document(doc, lambda n: spell(n) if canon(n) in defined else n)
    # keep the definitions as they were
    respelt["dpm_servers"] = {defined[canon(k)]: v for k, v in respelt["dpm_servers"].items()}
    if "servers" in respelt:
        respelt["servers"] = {defined[canon(k)]: v for k, v in respelt["servers"].items()}
    other = document_to_topology(respelt)
    assert findings_of(other, today) == findings_of(t, today)


def shuffled(value: Any, rnd: random.Random, *, lists: bool) -> Any:
    if isinstance(value, dict):
        items = [(k, shuffled(v, rnd, lists=lists and k != "waivers")) for k, v in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        items = [shuffled(v, rnd, lists=lists) for v in value]
        if lists:
            rnd.shuffle(items)
        return items
    return value


def order_free(counter: Counter) -> Counter:
    """Findings without what depends on list order by design: SWITCHED-NO-SECONDARY names the
    first switched data source of the server (in list order) as `switched`; REPLICA-NO-EXCLUSIONS
    lists the extensions as written."""
    out: Counter = Counter()
    for (rule, severity, entities, waived), n in counter.items():
        if rule == "SWITCHED-NO-SECONDARY":
            e = json.loads(entities)
            e["switched"] = "<first switched>"
            entities = json.dumps(e, sort_keys=True, ensure_ascii=False)
        elif rule == "REPLICA-NO-EXCLUSIONS":
            e = json.loads(entities)
            e["extensions"] = sorted(e["extensions"])
            entities = json.dumps(e, sort_keys=True, ensure_ascii=False)
        out[(rule, severity, entities, waived)] += n
    return out


@given(topologies(), SAFE_TODAYS, st.randoms(use_true_random=False))
def test_order_of_keys_and_lists_does_not_matter(t, today, rnd):
    # waivers keep their order: a finding about a waiver names its position
    doc = shuffled(document(t, flow=False), rnd, lists=True)
    other = document_to_topology(doc)
    assert order_free(findings_of(other, today)) == order_free(findings_of(t, today))


@given(topologies(), SAFE_TODAYS, st.randoms(use_true_random=False))
def test_order_of_keys_alone_does_not_matter(t, today, rnd):
    doc = shuffled(document(t, flow=False), rnd, lists=False)
    other = document_to_topology(doc)
    # `Topology.tape_libraries` is a tuple in file order, while the server mappings compare as
    # dicts: compare the libraries as a set
    assert sorted(other.tape_libraries) == sorted(t.tape_libraries)
    assert replace(other, tape_libraries=t.tape_libraries) == t
    assert findings_of(other, today) == findings_of(t, today)


@given(topologies(), SAFE_TODAYS)
def test_yaml_to_json_does_not_change_findings(t, today):
    from_yaml = dpmsmt.loads(dump(t), file="t.yaml")
    from_json = dpmsmt.loads(dump_json(from_yaml), format="json", file="t.json")
    assert findings_of(from_json, today) == findings_of(from_yaml, today) == findings_of(t, today)


# -- (c) determinism -----------------------------------------------------------------------------


@given(topologies(), TODAYS)
def test_json_report_is_byte_identical_across_runs(t, today):
    text = dump(t)
    first = render(dpmsmt.check(dpmsmt.loads(text, file="estate.yaml"), today=today))
    second = render(dpmsmt.check(dpmsmt.loads(text, file="estate.yaml"), today=today))
    assert first == second


# -- (d) round trip ------------------------------------------------------------------------------


@given(topologies(min_dpm=0))
def test_dump_round_trips(t):
    text = dump(t)
    note(text)
    back = dpmsmt.loads(text)
    assert back == t
    assert dump(back) == text
    assert dpmsmt.loads(dump_json(t), format="json") == t


# -- (e) the strategies keep their promises --------------------------------------------------------


@given(topologies(valid=True), SAFE_TODAYS)
def test_valid_topologies_pass_check(t, today):
    report = dpmsmt.check(t, today=today)
    assert report.verdict == "valid", (dump(t), [f.message for f in report.errors])


@given(topologies(valid=False), SAFE_TODAYS)
def test_invalid_topologies_fail_check(t, today):
    assert dpmsmt.check(t, today=today).verdict == "invalid", dump(t)


@pytest.mark.parametrize("profile", PROFILES)
@given(data=st.data())
def test_topologies_take_the_profile(profile, data):
    t = data.draw(topologies(profile=profile, valid=True, max_dpm=3))
    assert t.profile == profile
    assert dpmsmt.check(t, today="2026-01-15").verdict == "valid"


@given(st.data())
def test_topologies_keep_the_size(data):
    lo = data.draw(st.integers(0, 4))
    hi = data.draw(st.integers(lo, 6))
    t = data.draw(topologies(min_dpm=lo, max_dpm=hi))
    assert lo <= len(t.dpm_servers) <= hi


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_dpm": -1},
        {"min_dpm": 3, "max_dpm": 2},
        {"valid": "yes"},
        {"valid": False, "max_dpm": 0},
        {"profile": "2020"},
    ],
)
def test_topologies_refuse_bad_arguments(kwargs):
    from hypothesis.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        topologies(**kwargs)


@given(st.data())
def test_failures_are_nonempty_sets_of_up_servers(data):
    t = data.draw(topologies(valid=True))
    up = {n for n, d in t.dpm_servers.items() if d.up}
    if not up:
        from hypothesis.errors import InvalidArgument

        with pytest.raises(InvalidArgument):
            failures(t)
        return
    failed = data.draw(failures(t))
    assert failed and failed <= up


@given(st.data())
def test_changes_are_pairs_of_snapshots(data):
    t = data.draw(topologies())
    before, after = data.draw(changes(t))
    assert isinstance(before, Topology) and isinstance(after, Topology)
    # a change keeps the DPM servers' and the protected servers' names (rules.md)
    assert list(before.dpm_servers) == list(after.dpm_servers) == list(t.dpm_servers)
    assert list(before.servers) == list(after.servers) == list(t.servers)
    report = dpmsmt.check(after, before=before, today="2026-01-15")
    assert report.verdict in ("valid", "invalid")


# -- versions, field by field --------------------------------------------------------------------

versions = st.text(alphabet="0129.x", min_size=1, max_size=9)


@given(
    st.lists(versions, min_size=3, max_size=3),
    st.lists(st.sampled_from(["up", "failed", "removed"]), min_size=3, max_size=3),
    st.sampled_from(["secondary", "none"]),
    TODAYS,
)
def test_versions_compare_alike(vs, statuses, backup, today):
    # DPM3 protects DPM2 protects DPM1, all on one tape library: VERSION-MATCH, BUILD-MATCH and
    # TAPE-LIBRARY-VERSION compare every field both versions give (`10.19` = `10.19.58.0`)
    doc = {
        "dpmsmt": 1,
        "dpm_servers": {
            f"DPM{i + 1}": {
                "version": v,
                "status": s,
                "tape_library": "TL1",
                "database": {"backup": backup, "sql": "remote"},
                **({"protects": [f"DPM{i}"]} if i else {}),
            }
            for i, (v, s) in enumerate(zip(vs, statuses, strict=True))
        },
        "tape_libraries": {"TL1": {}},
    }
    t = document_to_topology(doc)
    for profile in PROFILES:
        assert_agree(t, profile, today)


# -- capacity limits (too large for the strategies) ----------------------------------------------


@pytest.mark.parametrize(
    ("servers", "per_server", "profile"),
    [(100, 1, "strict"), (101, 1, "strict"), (30, 10, "2012"), (31, 10, "2012"), (2, 1001, "2016")],
)
def test_capacity_limits_agree(servers, per_server, profile):
    # DPM1 protects S1..Sn directly; DPM2 holds the replicas of S1's data sources
    doc = {
        "dpmsmt": 1,
        "profile": profile,
        "dpm_servers": {
            "DPM1": {"version": "10.19.58.0"},
            "DPM2": {"version": "10.19.58.0", "protects": ["DPM1"]},
        },
        "servers": {
            f"S{k}": {
                "agent": "DPM1",
                "datasources": [
                    {"name": f"v{j}", **({"secondary": "DPM2"} if k == 1 else {})}
                    for j in range(per_server)
                ],
            }
            for k in range(1, servers + 1)
        },
    }
    t = document_to_topology(doc)
    assert_agree(t, profile, "2026-01-15")


# -- disagreements found by the tests above, kept as regression tests ------------------------------


def test_waiver_on_a_server_does_not_match_a_dpm_named_like_its_data_source():
    t = dpmsmt.loads(
        "dpmsmt: 1\n"
        "dpm_servers: {'A/B': {version: '1', protects: ['A/B']}}\n"
        "servers: {A: {}}\n"
        "waivers: [{rule: SECONDARY-NOT-SELF, target: A, reason: x}]\n"
    )
    assert_agree(t, "strict", "2026-01-15")
