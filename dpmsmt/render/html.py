"""The HTML report: one self-contained page laid out from a `ReportModel` (dpmsmt/report.py).

Jinja2 with autoescaping on: every name from the topology is escaped by the template engine, never
by hand. The only markup that is not escaped is the estate's picture, an SVG that Graphviz made
from our own DOT text (Graphviz escapes the names in it); `inline_svg` keeps its `<svg>` element
only and refuses one with anything active in it. The page loads nothing: inline CSS, inline SVG,
no script, and a Content-Security-Policy that forbids any request, so it reads the same mailed,
archived or opened offline, with scripting on or off.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

import dpmsmt
from dpmsmt.render.plans import describe_action
from dpmsmt.report import EXPIRING_DAYS, ReportModel

__all__ = ["PALETTE", "contrast", "inline_svg", "render_html"]

# (text colour, background) of every coloured element; tests check each pair for WCAG AA (4.5:1).
# A colour never carries meaning alone: badges say their word, heat cells their number.
PALETTE: dict[str, tuple[str, str]] = {
    "page": ("#1a1a1a", "#ffffff"),
    "muted": ("#4d4d4d", "#ffffff"),
    "link": ("#0645ad", "#ffffff"),
    "error": ("#ffffff", "#a4161a"),
    "warning": ("#000000", "#f5c242"),
    "info": ("#ffffff", "#1d4e89"),
    "ok": ("#ffffff", "#1b5e20"),
    "waived": ("#000000", "#e0e0e0"),
    "expiring": ("#000000", "#ffd27f"),
    "expired": ("#ffffff", "#6d1b7b"),
    "band-valid": ("#0b3d0e", "#e6f4e7"),
    "band-invalid": ("#6b0d10", "#fbe9e9"),
    "heat0": ("#1a1a1a", "#ffffff"),
    "heat1": ("#000000", "#fde2c8"),
    "heat2": ("#000000", "#f7a96b"),
    "heat3": ("#000000", "#d9541e"),
    "heat4": ("#ffffff", "#8c1d18"),
    "th": ("#1a1a1a", "#eef1f5"),
    # links also sit on the bands and in row headers
    "link-on-valid": ("#0645ad", "#e6f4e7"),
    "link-on-invalid": ("#0645ad", "#fbe9e9"),
    "link-on-th": ("#0645ad", "#eef1f5"),
    # Graphviz's colours in the picture (red, orange, blue, gray50), darkened by CSS to AA;
    # a failed server's label sits on gray90 (#e5e5e5)
    "graph-error": ("#b00000", "#ffffff"),
    "graph-error-failed": ("#b00000", "#e5e5e5"),
    "graph-warning": ("#8a4b00", "#ffffff"),
    "graph-cycle": ("#1f4fbf", "#ffffff"),
    "graph-gone": ("#595959", "#ffffff"),
    "graph-failed": ("#595959", "#e5e5e5"),
}

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_SVG = "http://www.w3.org/2000/svg"
_XLINK = "http://www.w3.org/1999/xlink"
# What Graphviz's SVG output is made of; anything else (script, foreignObject, image, …) refuses.
_SVG_TAGS = frozenset(
    {
        "svg",
        "g",
        "title",
        "desc",
        "path",
        "polygon",
        "polyline",
        "ellipse",
        "circle",
        "rect",
        "line",
        "text",
        "tspan",
        "a",
        "defs",
        "linearGradient",
        "radialGradient",
        "stop",
    }
)


def inline_svg(svg: str) -> Markup | None:
    """Graphviz's SVG as an element to inline (no XML prolog, no comments); None when it has an
    element or attribute that could run or load something. Graphviz never writes such things for
    our DOT (it escapes names), so None means a bug; the check reads the parsed tree, not text,
    so a server named `<img onerror=…>` is text and passes."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(svg.encode("utf-8"))
    except ET.ParseError:
        return None
    for el in root.iter():
        ns, _, tag = el.tag.rpartition("}")
        if ns.lstrip("{") != _SVG or tag not in _SVG_TAGS:
            return None
        for name, value in el.attrib.items():
            local = name.rpartition("}")[2].lower()
            if local.startswith("on") or (local == "href" and not value.startswith("#")):
                return None
    ET.register_namespace("", _SVG)
    ET.register_namespace("xlink", _XLINK)
    root.set("role", "img")
    root.set("aria-label", "The estate: DPM servers, protection, violations")
    return Markup(ET.tostring(root, encoding="unicode"))


def _luminance(color: str) -> float:
    rgb = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """The WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21)."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("dpmsmt.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["plural"] = lambda n, word: f"{n} {word}{'s' * (n != 1)}"
    env.filters["describe"] = describe_action  # an action in the words of suggest-move's text
    return env


def render_html(model: ReportModel, *, svg: str | None = None, svg_note: str | None = None) -> str:
    """The page. `svg`: Graphviz's SVG of the estate where `model.drawn` (the CLI runs `dot` on
    `render_dot`'s text); `svg_note`: why there is none (Graphviz missing or failed)."""
    picture = inline_svg(svg) if svg else None
    note = model.graph_note or svg_note
    if svg and picture is None:
        note = "The picture was left out: Graphviz's SVG had content the page does not allow."
    template = _environment().get_template("report.html.j2")
    return template.render(
        m=model,
        svg=picture,
        graph_note=note,
        palette=PALETTE,
        csp=CSP,
        version=dpmsmt.__version__,
        expiring_days=EXPIRING_DAYS,
    )
