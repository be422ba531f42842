"""Pictures of an estate (`dpmsmt graph`): a topology and its report -> Graphviz DOT or Mermaid.

What is drawn (the same in both formats):

- DPM servers as boxes, labelled with name and version; MABS as a `component` shape with
  "(MABS)"; failed servers dashed and grey, "(failed)"; removed ones dotted, "(removed)".
- Protection edges x -> y ("x is the secondary of y") labelled "protects"; a 2-cycle is two
  edges, and every edge inside a cyclic component (2-cycles and longer cycles) is blue.
- Protected servers in a cluster per primary DPM server (the primary of most of their data
  sources), joined to it by a plain line; a DPM server with more than `max_servers` protected
  servers gets one node "N protected servers, M data sources" instead.
- Violations: the subject of an unwaived error finding (its data source's server, its DPM
  server, or the component it judges) is red with the rule ids in the label and the messages in
  the tooltip, and so are the edges joining the subject to the other names of the finding;
  warnings orange. Infos and waived findings are not highlighted.
- With `before`: a dashed edge "moved from X" from the old primary X of every protected server
  whose primary changed (X drawn dotted as "(not in file)" when the after file has no X).

Pure functions of their arguments: the output is sorted, so the same input gives the same text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from dpmsmt.findings import Finding, Report, Severity
from dpmsmt.graph import cyclic_components, protection_graph
from dpmsmt.model import ProtectedServer, Topology, canon

__all__ = ["default_max_servers", "render_dot", "render_mermaid"]

MAX_SERVERS = 12
OVERVIEW_ABOVE = 36  # more protected servers than this: by default, one node per DPM server's
_SHOWN_DATASOURCES = 3  # a server's label lists this many data sources, or counts them
_MAX_TIPS = 10  # messages in one tooltip

_RED, _ORANGE, _BLUE = "red", "orange", "blue"
# Entity keys whose values are not names (status, versions, methods, …): never highlighted.
NOT_NAMES = frozenset(
    {
        "after",
        "auth",
        "backup",
        "before",
        "database",
        "expires",
        "extensions",
        "long_term",
        "method",
        "missing",
        "rule",
        "short_term",
        "status",
        "trust",
    }
)


@dataclass
class _Node:
    id: str
    kind: str  # dpm | server | group | gone
    lines: list[str]
    status: str = "up"  # up | failed | removed | gone
    mabs: bool = False
    marks: list[tuple[Severity, str, str]] = field(default_factory=list)  # (severity, rule, msg)
    tip: list[str] = field(default_factory=list)  # tooltip lines when no finding names it


@dataclass
class _Edge:
    src: str
    dst: str
    kind: str  # protects | primary | moved
    label: str = ""
    cyclic: bool = False
    marks: list[tuple[Severity, str, str]] = field(default_factory=list)


@dataclass
class _Picture:
    title: str
    nodes: dict[str, _Node]
    clusters: list[tuple[str, str, list[str]]]  # (DPM node id, label, member ids)
    loose: list[str]  # node ids outside clusters
    edges: list[_Edge]


# -- the picture, independent of the format ------------------------------------------------------


def _primary(server: ProtectedServer, dpms) -> str | None:
    """The DPM server a protected server is drawn under: the primary of most of its data
    sources (ties: by name); a server without data sources goes under its first agent."""
    counts = Counter(ds.primary for ds in server.datasources if ds.primary in dpms)
    if counts:
        return min(counts, key=lambda p: (-counts[p], canon(p), p))
    if not server.datasources:
        return next((a for a in server.agents if a in dpms), None)
    return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def entity_names(entities, not_names: frozenset[str] = NOT_NAMES, key: str | None = None):
    """Every string of a finding's entities that may be a name: values under `not_names` keys
    (statuses, versions, methods…) are not (the report leaves out a few more)."""
    if key in not_names:
        return
    if isinstance(entities, str):
        yield entities
    elif isinstance(entities, list | tuple):
        for v in entities:
            yield from entity_names(v, not_names, key)
    elif isinstance(entities, dict):
        for k, v in entities.items():
            # a dict under a key (builds, versions, os) maps values to names: only its values
            yield from entity_names(v, not_names, k if key is None else key)


def _build(
    topology: Topology,
    report: Report | None,
    before: Topology | None,
    max_servers: int,
) -> _Picture:
    b = _Builder(topology)
    b.add_dpm_servers()
    b.add_protected_servers(max_servers)
    b.add_edges()
    if before is not None:
        b.add_moves(before)
    for f in report.findings if report is not None else ():
        if not f.waived and f.severity >= Severity.WARNING:
            b.mark(f)
    title = topology.name or topology.file
    if before is not None:
        title += f" — changed from: {before.name or before.file}"
    order = {nid: i for i, nid in enumerate(b.nodes)}
    kinds = {"protects": 0, "primary": 1, "moved": 2}
    edges = sorted(b.edges.values(), key=lambda e: (order[e.src], order[e.dst], kinds[e.kind]))
    return _Picture(title, b.nodes, b.clusters, b.loose, edges)


def _by_name(names) -> list[str]:
    return sorted(names, key=lambda n: (canon(n), n))


class _Builder:
    """A picture while it is built: node ids are unique (a second `X` is `X (2)`), and every
    name drawn maps (canonically) to its node: a grouped server to its group's node."""

    def __init__(self, topology: Topology):
        self.topology = topology
        self.dpms = topology.dpm_servers
        self.dpm_names = _by_name(self.dpms)
        self.server_names = _by_name(topology.servers)
        self.taken: set[str] = set()
        self.nodes: dict[str, _Node] = {}
        self.by_name: dict[str, str] = {}  # canonical name -> node id
        self.edges: dict[tuple[str, str, str], _Edge] = {}
        self.clusters: list[tuple[str, str, list[str]]] = []
        self.loose: list[str] = []

    def alloc(self, name: str) -> str:
        out, n = name, 1
        while out in self.taken:
            n += 1
            out = f"{name} ({n})"
        self.taken.add(out)
        return out

    def add_dpm_servers(self) -> None:
        for name in self.dpm_names:
            d = self.dpms[name]
            nid = self.alloc(name)
            mabs = d.kind == "mabs"
            lines = [name + (" (MABS)" if mabs else ""), d.version]
            if d.status != "up":
                lines.append(f"({d.status})")
            self.nodes[nid] = _Node(nid, "dpm", lines, status=d.status, mabs=mabs)
            self.by_name[canon(name)] = nid

    def add_protected_servers(self, max_servers: int) -> None:
        """Protected servers in a cluster under their primary (one group node above
        `max_servers`); DPM servers without any and servers without a primary stay loose."""
        groups: dict[str, list[str]] = {n: [] for n in self.dpm_names}
        ungrouped: list[str] = []
        for name in self.server_names:
            p = _primary(self.topology.servers[name], self.dpms)
            (groups[p] if p is not None else ungrouped).append(name)
        for dpm in self.dpm_names:
            members = groups[dpm]
            if not members:
                continue
            dpm_id = self.by_name[canon(dpm)]
            if len(members) > max_servers:
                ids = [self.add_group(dpm, members)]
            else:
                ids = [self.add_server(self.topology.servers[s]) for s in members]
            self.clusters.append((dpm_id, f"{dpm}: protected servers", [dpm_id, *ids]))
        self.loose = [self.by_name[canon(n)] for n in self.dpm_names if not groups[n]]
        self.loose += [self.add_server(self.topology.servers[s]) for s in ungrouped]

    def add_group(self, dpm: str, members: list[str]) -> str:
        n_ds = sum(len(self.topology.servers[s].datasources) for s in members)
        gid = self.alloc(f"{dpm}: protected servers")
        label = f"{_plural(len(members), 'protected server')}, {_plural(n_ds, 'data source')}"
        names = members[:_MAX_TIPS] + [f"… and {len(members) - _MAX_TIPS} more"] * (
            len(members) > _MAX_TIPS
        )
        self.nodes[gid] = _Node(gid, "group", [label], tip=names)
        for s in members:
            self.by_name[canon(s)] = gid
        return gid

    def add_server(self, server: ProtectedServer) -> str:
        nid = self.alloc(server.name)
        lines = [server.name]
        if len(server.datasources) <= _SHOWN_DATASOURCES:
            lines += [ds.name for ds in server.datasources]
        else:
            lines.append(_plural(len(server.datasources), "data source"))
        self.nodes[nid] = _Node(nid, "server", lines)
        self.by_name[canon(server.name)] = nid
        return nid

    def add_edges(self) -> None:
        """Protection edges (blue inside a cycle) and primary lines."""
        dpms, by_name = self.dpms, self.by_name
        g = protection_graph(self.topology)
        cyclic = {n: i for i, comp in enumerate(cyclic_components(g)) for n in comp}
        for x in self.dpm_names:
            for y in dpms[x].protects:
                in_cycle = x != y and x in cyclic and cyclic.get(y) == cyclic[x]
                key = (by_name[canon(x)], by_name[canon(y)], "protects")
                self.edges[key] = _Edge(*key, label="protects", cyclic=in_cycle)
        for name in self.server_names:
            server = self.topology.servers[name]
            primaries = {ds.primary for ds in server.datasources if ds.primary in dpms}
            if not server.datasources:
                primaries = {p for p in [_primary(server, dpms)] if p is not None}
            for p in primaries:
                key = (by_name[canon(p)], by_name[canon(name)], "primary")
                self.edges.setdefault(key, _Edge(*key))

    def add_moves(self, before: Topology) -> None:
        """A "moved from X" edge from each protected server's old primary X, drawn as
        "(not in file)" when the estate has no X any more."""
        now = {canon(n): n for n in self.topology.servers}
        moves: dict[str, list[str]] = {}  # old primary -> servers (after spelling)
        for name, old in before.servers.items():
            if canon(name) not in now:
                continue
            was = _primary(old, before.dpm_servers)
            new = _primary(self.topology.servers[now[canon(name)]], self.dpms)
            if was is not None and (new is None or canon(new) != canon(was)):
                moves.setdefault(was, []).append(now[canon(name)])
        for was in _by_name(moves):
            if canon(was) not in self.by_name:
                gid = self.alloc(was)
                self.nodes[gid] = _Node(gid, "gone", [was, "(not in file)"], status="gone")
                self.by_name[canon(was)] = gid
                self.loose.append(gid)
            for s in moves[was]:
                key = (self.by_name[canon(was)], self.by_name[canon(s)], "moved")
                self.edges.setdefault(key, _Edge(*key, label=f"moved from {was}"))

    def node_of(self, text: str) -> str | None:
        key = canon(text)
        if key in self.by_name:
            return self.by_name[key]
        datasources = self.topology.datasource_by_id
        if key in datasources:
            return self.by_name.get(canon(datasources[key].server))
        return None

    def mark(self, f: Finding) -> None:
        """A violation: the finding's subject, and the edges between it and what else it
        names."""
        named = {n for n in map(self.node_of, entity_names(f.entities)) if n is not None}
        subject = {n for n in map(self.node_of, _subject_names(f)) if n is not None}
        mark = (f.severity, f.rule, _message(f))
        for nid in sorted(subject):
            self.nodes[nid].marks.append(mark)
        for e in self.edges.values():
            if (e.src in subject and e.dst in named) or (e.dst in subject and e.src in named):
                e.marks.append(mark)


def _subject_names(f: Finding) -> list[str]:
    """What a finding is about, as names: its data source, DPM server or protected server, else
    the component it judges, else the DPM server or server its location is in. The other names
    of the finding (the DPM servers a data source moved between, its secondary, …) only colour
    the edges that join them to the subject: in scenario 1 the moved server and its move are
    red, not every DPM server the message mentions."""
    for key in ("datasource", "dpm", "server"):
        value = f.entities.get(key)
        if isinstance(value, str):
            return [value]
    component = f.entities.get("component")
    if isinstance(component, list) and component:
        return [c for c in component if isinstance(c, str)]
    return [n for n in [_located_in(f.location.path)] if n is not None]


_LOCATED = re.compile(r'(?:dpm_servers|servers)(?:\.([A-Za-z0-9_-]+)|\["((?:[^"\\]|\\.)*)"\])')


def _located_in(path: str) -> str | None:
    """`Server1` of `servers.Server1.datasources[0]` (format_path's spelling, quoted or not)."""
    m = _LOCATED.match(path)
    if m is None:
        return None
    return m[1] if m[1] is not None else re.sub(r"\\(.)", r"\1", m[2])


def _message(f: Finding) -> str:
    return f"{f.rule} ({f.severity.label}): {f.message}"


def _severity(marks) -> Severity | None:
    return max((m[0] for m in marks), default=None)


def _rules(marks) -> list[str]:
    """Rule ids, most severe first, each once."""
    out: list[str] = []
    for _, rule, _ in sorted(marks, key=lambda m: (-m[0], m[1])):
        if rule not in out:
            out.append(rule)
    return out


def _tips(marks) -> list[str]:
    msgs = sorted({m[2] for m in marks})
    if len(msgs) > _MAX_TIPS:
        msgs = [*msgs[:_MAX_TIPS], f"… and {len(msgs) - _MAX_TIPS} more"]
    return msgs


def _mark_color(marks) -> str | None:
    sev = _severity(marks)
    if sev is None:
        return None
    return _RED if sev >= Severity.ERROR else _ORANGE


def default_max_servers(topology: Topology) -> tuple[int, str | None]:
    """`--max-servers` when not given, and the note that says why: above a few dozen protected
    servers a picture of every server is a strip thousands of pixels long, so the overview (each
    DPM server's protected servers as one node) is drawn instead."""
    n = len(topology.servers)
    if n <= OVERVIEW_ABOVE:
        return MAX_SERVERS, None
    note = (
        f"{n} protected servers: drawing the overview, one node for each DPM server's "
        "protected servers (--max-servers N draws up to N of them one by one)"
    )
    return 0, note


# -- DOT ------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _esc(text: str) -> str:
    """The inside of a DOT quoted string: backslashes doubled (so that labels show them as
    written and `\\N`, `\\l`… never act), quotes escaped, line breaks as `\\n`."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r\n", "\\n").replace("\n", "\\n")
    return _CONTROL.sub(" ", text)


def _q(text: str) -> str:
    return f'"{_esc(text)}"'


def _label(lines: list[str]) -> str:
    return '"' + "\\n".join(_esc(line) for line in lines) + '"'


def _attrs(pairs: list[tuple[str, str]]) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in pairs) + "]"


def _dot_node(node: _Node) -> str:
    lines = list(node.lines)
    rules = _rules(node.marks)
    if rules:
        lines.append("[" + ", ".join(rules) + "]")
    attrs = [("label", _label(lines))]
    styles: list[str] = []
    if node.kind == "dpm":
        attrs.append(("shape", "component" if node.mabs else "box"))
    elif node.kind == "group":
        attrs.append(("shape", "folder"))
    elif node.kind == "server":
        attrs.append(("shape", "box"))
        styles.append("rounded")
    else:
        attrs.append(("shape", "box"))
    if node.status == "failed":
        styles += ["dashed", "filled"]
        attrs += [("fillcolor", "gray90"), ("color", "gray50"), ("fontcolor", "gray40")]
    elif node.status in ("removed", "gone"):
        styles.append("dotted")
        attrs += [("color", "gray50"), ("fontcolor", "gray50")]
        if node.status == "removed" and not node.mabs:
            styles.append("diagonals")
    if styles:
        attrs.append(("style", _q(",".join(styles))))
    color = _mark_color(node.marks)
    if color:
        attrs = [(k, v) for k, v in attrs if k not in ("color", "fontcolor")]
        attrs += [("color", color), ("fontcolor", color), ("penwidth", "2")]
    attrs.append(("tooltip", _label(_tips(node.marks) or node.tip or [node.lines[0]])))
    return f"{_q(node.id)} {_attrs(attrs)};"


def _dot_edge(edge: _Edge) -> str:
    attrs: list[tuple[str, str]] = []
    rules = _rules(edge.marks)
    label = [edge.label] if edge.label else []
    if rules:
        label.append("[" + ", ".join(rules) + "]")
    if label:
        attrs.append(("label", _label(label)))
    if edge.kind == "primary":
        attrs += [("arrowhead", "none"), ("color", "gray50")]
    elif edge.kind == "moved":
        attrs += [("style", "dashed"), ("color", "gray30"), ("fontcolor", "gray30")]
    elif edge.cyclic:
        attrs += [("color", _BLUE), ("fontcolor", _BLUE)]
    color = _mark_color(edge.marks)
    if color:
        attrs = [(k, v) for k, v in attrs if k not in ("color", "fontcolor")]
        attrs += [("color", color), ("fontcolor", color), ("penwidth", "2")]
    if edge.marks:
        attrs.append(("tooltip", _label(_tips(edge.marks))))
    tail = f" {_attrs(attrs)}" if attrs else ""
    return f"  {_q(edge.src)} -> {_q(edge.dst)}{tail};"


def picture(
    topology: Topology,
    report: Report | None = None,
    before: Topology | None = None,
    *,
    max_servers: int = MAX_SERVERS,
) -> _Picture:
    """What is drawn, whatever the format (the arguments of `render_dot` and `render_mermaid`)."""
    return _build(topology, report, before, max_servers)


def render_dot(topology: Topology, *args, **options) -> str:
    """The estate as a Graphviz digraph (see the module's docstring for what is drawn);
    arguments as `picture`'s."""
    pic = picture(topology, *args, **options)
    out = [
        "digraph dpmsmt {",
        f"  graph [rankdir=LR, fontname=Helvetica, labelloc=t, label={_q(pic.title)}];",
        "  node [fontname=Helvetica, fontsize=11];",
        "  edge [fontname=Helvetica, fontsize=9];",
    ]
    for dpm_id, label, members in pic.clusters:
        out.append(f"  subgraph {_q('cluster_' + dpm_id)} {{")
        out.append(f"    graph [label={_q(label)}, style=rounded, color=gray70];")
        out += [f"    {_dot_node(pic.nodes[m])}" for m in members]
        out.append("  }")
    out += [f"  {_dot_node(pic.nodes[n])}" for n in pic.loose]
    out += [_dot_edge(e) for e in pic.edges]
    out.append("}")
    return "\n".join(out) + "\n"


# -- Mermaid --------------------------------------------------------------------------------------

_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
_HEX = {_RED: "#d00000", _ORANGE: "#f08000", _BLUE: "#1f5fbf"}


def _m_text(text: str) -> str:
    text = "".join(_MERMAID_ENTITIES.get(c, c) for c in text)
    return _CONTROL.sub(" ", text)


def _m_label(lines: list[str]) -> str:
    return '"' + "<br/>".join(_m_text(line) for line in lines) + '"'


def render_mermaid(topology: Topology, *args, **options) -> str:
    """The estate as a Mermaid flowchart (what GitHub renders in Markdown); arguments as
    `picture`'s."""
    pic = picture(topology, *args, **options)
    ids = _mermaid_ids(pic)
    out = ["flowchart LR", f"  %% {_m_text(pic.title)}"]
    for n, (_, label, members) in enumerate(pic.clusters):
        out.append(f"  subgraph cluster_{n}[{_m_label([label])}]")
        out += [f"    {_m_node(pic.nodes[m], ids)}" for m in members]
        out.append("  end")
    out += [f"  {_m_node(pic.nodes[n], ids)}" for n in pic.loose]
    out += _m_edges(pic.edges, ids)
    for node in pic.nodes.values():
        style = _m_style(node)
        if style:
            out.append(f"  style {ids[node.id]} {','.join(style)}")
    return "\n".join(out) + "\n"


def _mermaid_ids(pic: _Picture) -> dict[str, str]:
    """Node id -> a Mermaid id: letters, digits and `_` only, unique without regard to case."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    prefix = {"dpm": "dpm_", "server": "srv_", "group": "grp_", "gone": "old_"}
    for node in pic.nodes.values():
        base = prefix[node.kind] + (re.sub(r"[^A-Za-z0-9]", "_", node.id) or "_")
        mid, n = base, 1
        while mid.casefold() in used:
            n += 1
            mid = f"{base}_{n}"
        used.add(mid.casefold())
        ids[node.id] = mid
    return ids


def _m_node(node: _Node, ids: dict[str, str]) -> str:
    lines = list(node.lines)
    rules = _rules(node.marks)
    if rules:
        lines.append("[" + ", ".join(rules) + "]")
    label = _m_label(lines)
    if node.kind == "dpm" and node.mabs:
        return f"{ids[node.id]}[[{label}]]"
    if node.kind == "server":
        return f"{ids[node.id]}({label})"
    if node.kind == "group":
        return f"{ids[node.id]}[/{label}/]"
    return f"{ids[node.id]}[{label}]"


def _m_edges(edges: list[_Edge], ids: dict[str, str]) -> list[str]:
    """The links, then their styles (`linkStyle` counts links in the order they are drawn)."""
    out: list[str] = []
    link_styles: list[str] = []
    for i, e in enumerate(edges):
        rules = _rules(e.marks)
        label = [e.label] if e.label else []
        if rules:
            label.append("[" + ", ".join(rules) + "]")
        arrow = {"protects": "-->", "primary": "---", "moved": "-.->"}[e.kind]
        text = f"|{_m_label(label)}|" if label else ""
        out.append(f"  {ids[e.src]} {arrow}{text} {ids[e.dst]}")
        color = _mark_color(e.marks) or (_BLUE if e.cyclic and e.kind == "protects" else None)
        if color:
            width = "2px" if e.marks else "1px"
            link_styles.append(f"  linkStyle {i} stroke:{_HEX[color]},stroke-width:{width}")
        elif e.kind == "primary":
            link_styles.append(f"  linkStyle {i} stroke:#999999")
    return out + link_styles


def _m_style(node: _Node) -> list[str]:
    style = []
    if node.status == "failed":
        style += ["fill:#e8e8e8", "stroke:#808080", "stroke-dasharray:5 3", "color:#606060"]
    elif node.status in ("removed", "gone"):
        style += ["fill:#ffffff", "stroke:#808080", "stroke-dasharray:2 2", "color:#808080"]
    color = _mark_color(node.marks)
    if color:
        style = [s for s in style if not s.startswith(("stroke:", "color:"))]
        style += [f"stroke:{_HEX[color]}", "stroke-width:2px", f"color:{_HEX[color]}"]
    return style


def graph_dot(report: Report | None, *, topology: Topology, before, max_servers: int) -> str:
    """`render_dot` as the renderer table calls it: the report first."""
    return render_dot(topology, report, before, max_servers=max_servers)


def graph_mermaid(report: Report | None, *, topology: Topology, before, max_servers: int) -> str:
    """`render_mermaid` as the renderer table calls it: the report first."""
    return render_mermaid(topology, report, before, max_servers=max_servers)
