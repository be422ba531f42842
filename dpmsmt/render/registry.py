"""The renderer table: `FORMATS[command][format]` is a function `(result, context) -> str`.

Why a table: the command line picks a renderer in one place instead of an if-chain per command,
and a new format is one entry. Renderer modules are named by string and imported on first use,
so that `dpmsmt --help` and a small `check` import no renderer they do not print.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

__all__ = ["FORMATS", "Context", "Renderer", "render"]


@dataclass(frozen=True)
class Context:
    """What a renderer may need besides the result: each renderer reads the fields it uses."""

    color: bool = False
    show_waived: bool = False
    rules: Sequence[str] | None = None  # junit: the evaluated rules, one test case each
    unused: dict | None = None  # plans: per rank, the waivers the plan makes unused
    plan: int = 1  # ps1: the plan (1-based) the runbook is written for
    topology: Any = None  # ps1, graph: the estate as read from the file
    before: Any = None  # graph: the estate before the change
    max_servers: int = 12  # graph: protected servers drawn one by one under a DPM server
    bom: bool = True  # ps1: start with a byte order mark


Renderer = Callable[[Any, Context], str]


def _lazy(module: str, function: str, *options: str) -> Renderer:
    """`module.function(result, **{option: context.option})`, the module imported when used."""

    def renderer(result, context: Context) -> str:
        kwargs = {name: getattr(context, name) for name in options}
        return getattr(import_module(module), function)(result, **kwargs)

    renderer.target = f"{module}.{function}"  # type: ignore[attr-defined]  # for a test
    return renderer


def _document(module: str, function: str, writer: str) -> Renderer:
    """A JSON or YAML document (`render.json.<writer>`) of `module.function(result, unused=…)`."""

    def renderer(result, context: Context) -> str:
        document = getattr(import_module(module), function)(result, unused=context.unused)
        return getattr(import_module("dpmsmt.render.json"), writer)(document)

    renderer.target = f"{module}.{function}"  # type: ignore[attr-defined]  # for a test
    return renderer


def _rules(fmt: str) -> Renderer:
    """`dpmsmt rules`: the catalogue (a list of rules) or one rule, in `fmt`."""

    def renderer(result, context: Context) -> str:
        from dpmsmt.render.catalogue import render_catalogue, render_rule

        if isinstance(result, list | tuple):
            return render_catalogue(result, fmt=fmt)
        return render_rule(result, fmt=fmt)

    return renderer


def _plan_formats(module: str, document: str, ps1: str) -> dict[str, Renderer]:
    """suggest-move and design: the same four formats, from their own modules."""
    return {
        "text": _lazy(module, "render_text", "color", "unused"),
        "json": _document(module, document, "dumps"),
        "yaml": _document(module, document, "yaml_dumps"),
        "ps1": _lazy("dpmsmt.render.ps1", ps1, "topology", "plan", "bom"),
    }


FORMATS: dict[str, dict[str, Renderer]] = {
    "check": {
        "text": _lazy("dpmsmt.render.text", "render", "color", "show_waived"),
        "json": _lazy("dpmsmt.render.json", "render"),
        "sarif": _lazy("dpmsmt.render.sarif", "render"),
        "junit": _lazy("dpmsmt.render.junit", "render", "rules"),
    },
    "suggest-move": _plan_formats("dpmsmt.render.plans", "suggestion_json", "suggestion_ps1"),
    "design": _plan_formats("dpmsmt.render.design", "design_json", "design_ps1"),
    "resilience": {
        "text": _lazy("dpmsmt.render.resilience", "render_text", "color"),
        "json": _lazy("dpmsmt.render.resilience", "render_json"),
    },
    "graph": {
        "dot": _lazy("dpmsmt.render.dot", "graph_dot", "topology", "before", "max_servers"),
        "mermaid": _lazy("dpmsmt.render.dot", "graph_mermaid", "topology", "before", "max_servers"),
        "svg": _lazy("dpmsmt.render.svg", "graph_svg", "topology", "before", "max_servers"),
    },
    "rules": {fmt: _rules(fmt) for fmt in ("text", "json", "markdown")},
    "import": {
        "text": _lazy("dpmsmt.render.imports", "render_text"),
        "json": _lazy("dpmsmt.render.imports", "render_json"),
    },
}


def render(command: str, fmt: str, result, context: Context | None = None) -> str:
    """The text of `result` (what `command` answered) in format `fmt`."""
    return FORMATS[command][str(fmt)](result, context or Context())
