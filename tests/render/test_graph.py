"""`dpmsmt graph` (cli.md) and the DOT / Mermaid renderer (dpmsmt/render/dot.py).

The DOT text is read back with a small parser (the renderer writes one statement per line), so the
tests check the structure, not the layout: nodes, clusters, edges and their attributes. Where
Graphviz is installed, `dot` also validates the text; pydot/pygraphviz parse it where available.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from paths import REPO_DIR

import dpmsmt
from dpmsmt import cli
from dpmsmt.check import check
from dpmsmt.render.dot import default_max_servers, render_dot, render_mermaid

REPO = REPO_DIR
MODELS = REPO / "models"
TODAY = "2026-11-24"
HAS_DOT = shutil.which("dot") is not None

_STR = r'"((?:[^"\\]|\\.)*)"'
_NODE = re.compile(rf"^\s*{_STR} \[(.*)\];$")
_EDGE = re.compile(rf"^\s*{_STR} -> {_STR}(?: \[(.*)\])?;$")
_CLUSTER = re.compile(rf"^\s*subgraph {_STR} {{$")
_ATTR = re.compile(rf"(\w+)=(?:{_STR}|([^,\]]+))")


def _unq(text: str) -> str:
    """A DOT quoted string's text as the renderer escaped it: `\\"` -> `"`, `\\\\` -> `\\`."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), text)


def _attrs(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(text or ""):
        out[m.group(1)] = _unq(m.group(2)) if m.group(2) is not None else m.group(3)
    return out


class Dot:
    """The statements of a rendered digraph: nodes (with their cluster), edges, attributes."""

    def __init__(self, text: str):
        self.text = text
        self.nodes: dict[str, dict[str, str]] = {}
        self.cluster: dict[str, str | None] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        current = None
        lines = text.splitlines()
        assert lines[0] == "digraph dpmsmt {" and lines[-1] == "}"
        for line in lines[1:-1]:
            if m := _CLUSTER.match(line):
                current = _unq(m.group(1))
            elif line.strip() == "}":
                current = None
            elif m := _EDGE.match(line):
                self.edges.append((_unq(m.group(1)), _unq(m.group(2)), _attrs(m.group(3))))
            elif m := _NODE.match(line):
                name = _unq(m.group(1))
                assert name not in self.nodes, f"node {name} twice"
                self.nodes[name] = _attrs(m.group(2))
                self.cluster[name] = current
            else:
                assert re.match(r"^\s*(graph|node|edge) \[.*\];$", line), line
        for a, b, _ in self.edges:
            assert a in self.nodes and b in self.nodes, (a, b)

    def edge(self, a: str, b: str, **attrs: str) -> dict[str, str]:
        found = [e for x, y, e in self.edges if (x, y) == (a, b)]
        found = [e for e in found if all(e.get(k) == v for k, v in attrs.items())]
        assert len(found) == 1, (a, b, attrs, self.edges)
        return found[0]

    def protection_edges(self) -> set[tuple[str, str]]:
        return {(a, b) for a, b, e in self.edges if e.get("label", "").startswith("protects")}


def _valid_dot(text: str) -> None:
    """Graphviz accepts the text (where it is installed)."""
    if HAS_DOT:
        done = subprocess.run(["dot", "-Tcanon"], input=text.encode(), capture_output=True)
        assert done.returncode == 0, done.stderr.decode()


def draw(name: str, before: str | None = None, **kw) -> Dot:
    topology = dpmsmt.load(str(MODELS / name))
    previous = dpmsmt.load(str(MODELS / before)) if before else None
    report = check(topology, before=previous, today=TODAY)
    text = render_dot(topology, report, previous, **kw)
    _valid_dot(text)
    return Dot(text)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else code), out.out, out.err


def _red(attrs: dict[str, str]) -> bool:
    return attrs.get("color") == "red"


# -- what is drawn --------------------------------------------------------------------------------


def test_seed_structure():
    g = draw("seed/before.yaml")
    assert {"DPM1", "DPM2", "DPM3", "Server1", "Server2"} <= set(g.nodes)
    assert g.cluster["Server1"] == g.cluster["DPM1"] == "cluster_DPM1"
    assert g.cluster["Server2"] == g.cluster["DPM2"] == "cluster_DPM2"
    assert g.cluster["DPM3"] is None  # protects no server of its own
    assert g.protection_edges() == {("DPM3", "DPM1"), ("DPM3", "DPM2")}
    assert g.edge("DPM3", "DPM1")["label"] == "protects"
    assert g.edge("DPM1", "Server1")["arrowhead"] == "none"  # the primary's line
    assert all(g.nodes[n]["shape"] == "box" for n in ("DPM1", "DPM2", "DPM3"))
    assert g.nodes["Server1"]["label"] == "Server1\nD:\\"
    assert "red" not in g.text and "orange" not in g.text  # a valid estate


def test_seed_through_the_cli(capsys):
    code, out, err = run(capsys, "graph", str(MODELS / "seed/before.yaml"))
    assert (code, err) == (0, "")
    assert out == render_dot(
        dpmsmt.load(str(MODELS / "seed/before.yaml")),
        check(dpmsmt.load(str(MODELS / "seed/before.yaml"))),
    )


def test_two_cycle_is_two_coloured_edges():
    g = draw("good/two-cycle.yaml")
    assert g.protection_edges() == {("DPM1", "DPM2"), ("DPM2", "DPM1")}
    for a, b in g.protection_edges():
        assert g.edge(a, b)["color"] == "blue"
    assert "red" not in g.text


def test_longer_cycle_is_red_with_its_rule():
    g = draw("bad/cycle-two-only.yaml")  # DPM1 -> DPM3 -> DPM2 -> DPM1: an error under strict
    assert g.protection_edges() == {("DPM1", "DPM3"), ("DPM3", "DPM2"), ("DPM2", "DPM1")}
    for a, b in g.protection_edges():
        edge = g.edge(a, b)
        assert _red(edge) and "CYCLE-TWO-ONLY" in edge["label"]
    for n in ("DPM1", "DPM2", "DPM3"):
        assert _red(g.nodes[n]) and "[CYCLE-TWO-ONLY]" in g.nodes[n]["label"]


def test_violation_in_red_with_rule_id():
    g = draw("bad/secondary-once.yaml")  # DPM1 is protected by DPM2 and DPM3
    node = g.nodes["DPM1"]
    assert _red(node) and node["label"].endswith("[SECONDARY-ONCE]")
    assert node["tooltip"].startswith("SECONDARY-ONCE (error): ")
    for x in ("DPM2", "DPM3"):
        edge = g.edge(x, "DPM1")
        assert _red(edge) and edge["label"] == "protects\n[SECONDARY-ONCE]"
        assert edge["penwidth"] == "2"


def test_warning_is_orange():
    g = draw("bad/secondary-down.yaml")
    flagged = {n for n, a in g.nodes.items() if a.get("color") == "orange"}
    assert flagged == {"Server1"}  # the data source's server; DPM2, its secondary, is only named
    assert "[SECONDARY-DOWN]" in g.nodes["Server1"]["label"]
    assert not any(_red(a) for a in g.nodes.values())


def test_waived_and_info_findings_are_not_highlighted():
    g = draw("good/waiver.yaml")  # a waived SECONDARY-COVERAGE warning
    assert "SECONDARY-COVERAGE" not in g.text and "orange" not in g.text
    g = draw("bad/unprotected.yaml")  # an info
    assert "UNPROTECTED" not in g.text and "red" not in g.text


def test_failed_primary():
    g = draw("seed/dpm1-failed.yaml")
    dpm1 = g.nodes["DPM1"]
    assert "dashed" in dpm1["style"] and dpm1["fillcolor"] == "gray90"
    assert "(failed)" in dpm1["label"] and "[PRIMARY-DOWN]" not in dpm1["label"]
    assert not _red(dpm1) and _red(g.nodes["Server1"])  # the subject: Server1's data source
    assert _red(g.edge("DPM1", "Server1"))  # joins the subject to the failed primary it names
    assert not _red(g.nodes["Server2"]) and not _red(g.nodes["DPM3"])


def test_removed_and_mabs():
    g = draw("change/dpm1-removed.yaml")
    assert "dotted" in g.nodes["DPM1"]["style"] and "(removed)" in g.nodes["DPM1"]["label"]
    g = draw("bad/mabs-no-secondary.yaml")
    for name in ("MABS1", "MABS2"):
        assert g.nodes[name]["shape"] == "component"
        assert g.nodes[name]["label"].startswith(f"{name} (MABS)")
    assert _red(g.edge("MABS2", "MABS1"))


def test_self_protection_is_a_loop():
    g = draw("bad/secondary-not-self.yaml")
    assert _red(g.edge("DPM1", "DPM1"))


def test_moved_from_old_primary():
    g = draw("seed/scenario1-after.yaml", before="seed/before.yaml")
    assert g.cluster["Server1"] == "cluster_DPM2"  # its new primary
    moved = g.edge("DPM1", "Server1", style="dashed")
    assert moved["label"].startswith("moved from DPM1")
    assert "NO-MOVE-UNDER-SECONDARY" in moved["label"] and _red(moved)
    assert len([e for e in g.edges if e[2].get("style") == "dashed"]) == 1  # Server2 stayed
    assert "dashed" in g.nodes["DPM1"]["style"]  # failed


def test_scenario_1_marks_only_what_the_finding_is_about():
    g = draw("seed/scenario1-after.yaml", before="seed/before.yaml")
    red_nodes = {n for n, a in g.nodes.items() if _red(a)}
    red_edges = {(a, b) for a, b, attrs in g.edges if _red(attrs)}
    assert red_nodes == {"Server1"}  # the moved data source's server
    assert red_edges == {("DPM1", "Server1"), ("DPM2", "Server1")}  # its move: from, to
    assert g.edge("DPM3", "DPM1")["label"] == "protects" and not _red(g.edge("DPM3", "DPM1"))


def test_a_finding_located_in_a_dpm_server_marks_it_and_its_edges():
    g = draw("bad/mabs-no-secondary.yaml")  # entities: primary, secondary; no subject key
    assert _red(g.nodes["MABS2"]) and _red(g.edge("MABS2", "MABS1"))
    assert not _red(g.nodes["MABS1"])


def test_large_estates_get_the_overview_by_default_and_say_so(capsys):
    path = str(MODELS / "good/realistic.yaml")  # 51 protected servers
    code, out, err = run(capsys, "graph", path)
    assert code == 0
    assert err.startswith("dpmsmt: note: 51 protected servers: drawing the overview")
    assert out == render_dot(dpmsmt.load(path), check(dpmsmt.load(path)), max_servers=0)
    assert not any(
        a.get("shape") == "box" and "rounded" in a.get("style", "") for a in Dot(out).nodes.values()
    )
    code, out, err = run(capsys, "graph", path, "--max-servers", "12")
    assert (code, err) == (0, "")
    code, _, err = run(capsys, "graph", str(MODELS / "seed/before.yaml"))
    assert (code, err) == (0, "")  # a small estate: every server drawn, nothing to say


def test_old_primary_missing_from_after_file():
    before = dpmsmt.loads(
        "dpmsmt: 1\ndpm_servers:\n  DPM9: {version: '10.19.58.0'}\n"
        "  DPM1: {version: '10.19.58.0'}\n"
        "servers:\n  S1: {agent: DPM9, datasources: [{name: 'C:\\'}]}\n"
    )
    after = dpmsmt.loads(
        "dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '10.19.58.0'}\n"
        "servers:\n  s1: {agent: DPM1, datasources: [{name: 'C:\\'}]}\n"  # names: any case
    )
    g = Dot(render_dot(after, None, before))
    assert (
        g.nodes["DPM9"]["label"] == "DPM9\n(not in file)" and g.nodes["DPM9"]["style"] == "dotted"
    )
    assert g.edge("DPM9", "s1")["label"] == "moved from DPM9"


def test_collapse_above_max_servers():
    topology = dpmsmt.load(str(MODELS / "good/realistic.yaml"))
    report = check(topology, today=TODAY)
    plain = Dot(render_dot(topology, report))
    assert set(topology.servers) <= set(plain.nodes)  # no DPM server has more than 12
    g = Dot(render_dot(topology, report, max_servers=4))
    _valid_dot(g.text)
    groups = {n: a for n, a in g.nodes.items() if a.get("shape") == "folder"}
    assert groups
    for name, attrs in groups.items():
        dpm = g.cluster[name].removeprefix("cluster_")
        members = [c for c, cl in plain.cluster.items() if cl == g.cluster[name] and c != dpm]
        assert len(members) > 4
        n_ds = sum(len(topology.servers[s].datasources) for s in members)
        assert attrs["label"] == f"{len(members)} protected servers, {n_ds} data sources"
        assert not set(members) & set(g.nodes)  # drawn as the one node only
        assert g.edge(dpm, name)["arrowhead"] == "none"
        assert sorted(attrs["tooltip"].split("\n")) == sorted(members)
    # DPM servers with 4 or fewer keep their servers
    kept = [s for s in topology.servers if s in g.nodes]
    assert kept and all(g.cluster[s] == plain.cluster[s] for s in kept)


def test_collapse_through_the_cli(capsys):
    path = str(MODELS / "bad/capacity-servers.yaml")  # DPM1 owns 101 agents: collapsed by default
    code, out, err = run(capsys, "graph", path)
    assert (code, err) == (0, "dpmsmt: note: " + default_max_servers(dpmsmt.load(path))[1] + "\n")
    g = Dot(out)
    (group,) = [a for a in g.nodes.values() if a.get("shape") == "folder"]
    assert group["label"].startswith("101 protected servers, ")
    assert g.nodes["DPM1"]["color"] == "orange" and "CAPACITY-SERVERS" in g.nodes["DPM1"]["label"]
    code, out, _ = run(capsys, "graph", path, "--max-servers", "200")
    assert code == 0 and "folder" not in out and len(Dot(out).nodes) > 101


def test_names_are_escaped():
    yaml_text = r"""
dpmsmt: 1
name: 'Odd "names" \ here'
dpm_servers:
  'dpm.a-1': {version: "10.19.58.0"}
  'dpm-a.1': {version: "10.19.58.0", protects: ['dpm.a-1']}
  'end': {version: "10.19.58.0", kind: mabs, status: removed}
  'x"y\': {version: "10.19.58.0", protects: ['dpm-a.1']}
servers:
  'DOM\srv#1':
    agent: 'dpm.a-1'
    datasources: [{name: 'C:\', secondary: 'dpm-a.1'}, {name: 'E:\"q"', secondary: 'dpm-a.1'}]
  'Ünï <b>':
    agent: 'x"y\'
    datasources: [{name: 'D:\'}]
"""
    topology = dpmsmt.loads(yaml_text)
    text = render_dot(topology, check(topology, today=TODAY))
    _valid_dot(text)
    g = Dot(text)
    assert set(g.nodes) == {"dpm.a-1", "dpm-a.1", "end", 'x"y\\', "DOM\\srv#1", "Ünï <b>"}
    assert g.nodes["DOM\\srv#1"]["label"] == 'DOM\\srv#1\nC:\\\nE:\\"q"'
    assert g.cluster['x"y\\'] == 'cluster_x"y\\'
    assert g.protection_edges() == {("dpm-a.1", "dpm.a-1"), ('x"y\\', "dpm-a.1")}
    mermaid = render_mermaid(topology, check(topology, today=TODAY))
    ids = _mermaid_nodes(mermaid)
    assert len(ids) == 6 and len({i.casefold() for i in ids}) == 6
    assert "dpm_end" in ids  # `end` is a Mermaid keyword: every id has a prefix


def test_pydot_or_pygraphviz_parse_it():
    text = draw("seed/scenario1-after.yaml", before="seed/before.yaml").text
    try:
        import pydot
    except ImportError:
        pydot = None
    if pydot is not None:
        (graph,) = pydot.graph_from_dot_data(text)
        assert {e.get_source().strip('"') for e in graph.get_edges()} >= {"DPM3", "DPM1"}
        return
    pygraphviz = pytest.importorskip("pygraphviz", reason="neither pydot nor pygraphviz")
    graph = pygraphviz.AGraph(string=text)
    assert graph.has_edge("DPM3", "DPM1") and graph.has_edge("DPM1", "Server1")


# -- Mermaid --------------------------------------------------------------------------------------

_M_NODE = re.compile(r'^\s*([A-Za-z0-9_]+)(\[\[|\[/|\(|\[)"([^"]*)"(\]\]|/\]|\)|\])$')
_M_EDGE = re.compile(r'^\s*([A-Za-z0-9_]+) (-->|---|-\.->)(?:\|"([^"]*)"\|)? ([A-Za-z0-9_]+)$')


def _mermaid_nodes(text: str) -> dict[str, str]:
    return {m.group(1): m.group(3) for line in text.splitlines() if (m := _M_NODE.match(line))}


def test_mermaid_structure():
    topology = dpmsmt.load(str(MODELS / "seed/scenario1-after.yaml"))
    before = dpmsmt.load(str(MODELS / "seed/before.yaml"))
    text = render_mermaid(topology, check(topology, before=before, today=TODAY), before)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = _mermaid_nodes(text)
    assert nodes["dpm_DPM1"].startswith("DPM1<br/>") and "(failed)" in nodes["dpm_DPM1"]
    assert set(nodes) == {"dpm_DPM1", "dpm_DPM2", "dpm_DPM3", "srv_Server1", "srv_Server2"}
    edges = [m.groups() for line in lines if (m := _M_EDGE.match(line))]
    assert ("dpm_DPM3", "-->", "protects", "dpm_DPM1") in edges  # not what the finding is about
    assert ("dpm_DPM1", "-.->", "moved from DPM1<br/>[NO-MOVE-UNDER-SECONDARY]", "srv_Server1") in (
        edges
    )
    assert lines.count("  end") == text.count("subgraph ")
    for line in lines[1:]:  # every statement is one the renderer knows
        assert (
            _M_NODE.match(line)
            or _M_EDGE.match(line)
            or re.match(r'^\s*(subgraph cluster_\d+\["[^"]*"\]|end|%% .*)$', line)
            or re.match(r"^\s*linkStyle \d+ [a-z-]+:[^ ]+$", line)
            or re.match(r"^\s*style [A-Za-z0-9_]+ [a-z-]+:.+$", line)
        ), line
    n_links = len(edges)
    for m in re.finditer(r"linkStyle (\d+)", text):
        assert int(m.group(1)) < n_links
    assert "style dpm_DPM1 " in text and "#d00000" in text


def test_mermaid_through_the_cli(capsys):
    code, out, err = run(capsys, "graph", str(MODELS / "good/two-cycle.yaml"), "-f", "mermaid")
    assert (code, err) == (0, "")
    assert out.startswith("flowchart LR\n")
    assert 'dpm_DPM1 -->|"protects"| dpm_DPM2' in out
    assert 'dpm_DPM2 -->|"protects"| dpm_DPM1' in out


# -- determinism ----------------------------------------------------------------------------------


def test_same_input_same_text(capsys):
    argv = ["graph", str(MODELS / "good/realistic.yaml"), "--max-servers", "5"]
    first = run(capsys, *argv)
    assert first == run(capsys, *argv)
    first = run(capsys, *argv, "-f", "mermaid")
    assert first == run(capsys, *argv, "-f", "mermaid")


def test_file_order_does_not_matter():
    a = """\
dpmsmt: 1
name: order
dpm_servers:
  DPM1: {version: "10.19.58.0"}
  DPM2: {version: "10.19.58.0", protects: [DPM1, DPM3]}
  DPM3: {version: "10.19.58.0"}
servers:
  S2: {agent: DPM1, datasources: [{name: 'C:\\', secondary: DPM2}]}
  S1: {agent: DPM1, datasources: [{name: 'C:\\', secondary: DPM2}]}
  S3: {agent: DPM3, datasources: [{name: 'C:\\', secondary: DPM2}]}
"""
    lines = a.splitlines()
    b = "\n".join([*lines[:3], lines[5], lines[4], lines[3], lines[6], *lines[7:][::-1]]) + "\n"
    b = b.replace("protects: [DPM1, DPM3]", "protects: [DPM3, DPM1]")
    ta, tb = dpmsmt.loads(a), dpmsmt.loads(b)
    assert list(ta.dpm_servers) != list(tb.dpm_servers)
    for render in (render_dot, render_mermaid):
        assert render(ta, check(ta, today=TODAY)) == render(tb, check(tb, today=TODAY))


# -- SVG, output, options -------------------------------------------------------------------------


@pytest.mark.skipif(
    not HAS_DOT,
    reason="Graphviz is not installed (no `dot` on the PATH): install the graphviz package, as .ci/run does",
)
def test_svg(capsys, tmp_path):
    path = str(MODELS / "seed/dpm1-failed.yaml")
    code, out, err = run(capsys, "graph", path, "--format", "svg")
    assert (code, err) == (0, "")
    assert "<svg" in out and "[PRIMARY&#45;DOWN]" in out  # Graphviz writes - as &#45;
    target = tmp_path / "estate.svg"
    code, out, err = run(capsys, "graph", path, "-f", "svg", "--output", str(target))
    assert (code, out, err) == (0, "", "")
    assert "<svg" in target.read_text(encoding="utf-8")


def test_svg_without_graphviz(capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    code, out, err = run(capsys, "graph", str(MODELS / "seed/before.yaml"), "--format", "svg")
    assert (code, out) == (2, "")
    assert err == (
        "dpmsmt: error: --format svg needs Graphviz's `dot` on the PATH (apt install graphviz)\n"
    )


def test_output_file(capsys, tmp_path):
    target = tmp_path / "seed.dot"
    code, out, err = run(capsys, "graph", str(MODELS / "seed/before.yaml"), "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert Dot(target.read_text(encoding="utf-8")).protection_edges() == {
        ("DPM3", "DPM1"),
        ("DPM3", "DPM2"),
    }


def test_bad_options(capsys):
    code, _, err = run(capsys, "graph", str(MODELS / "seed/before.yaml"), "--max-servers", "-1")
    assert code == 2 and err == "dpmsmt: error: --max-servers: at least 0, not -1\n"
    code, _, err = run(capsys, "graph", str(MODELS / "seed/before.yaml"), "--format", "png")
    assert code == 2 and err.startswith("dpmsmt: error: ") and err.count("\n") == 1
    code, _, err = run(capsys, "graph", "missing.yaml")
    assert code == 2 and err.startswith("dpmsmt: error: cannot read the file missing.yaml: ")
