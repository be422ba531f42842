"""The renderer table: every command's `--format` has a renderer, and every renderer named by
string resolves (a module moved without its entry here would fail only when that format is used)."""

from __future__ import annotations

from importlib import import_module

import pytest
import typer

from dpmsmt import cli
from dpmsmt.render.registry import FORMATS

TARGETS = [
    (command, fmt, renderer.target)
    for command, formats in FORMATS.items()
    for fmt, renderer in formats.items()
    if hasattr(renderer, "target")
]


@pytest.mark.parametrize(("command", "fmt", "target"), TARGETS)
def test_every_named_renderer_resolves(command, fmt, target):
    module, _, function = target.rpartition(".")
    assert callable(getattr(import_module(module), function)), (command, fmt)


@pytest.mark.parametrize("command", ["check", "suggest-move", "design", "graph", "resilience"])
def test_format_choices_are_the_table(command):
    params = typer.main.get_command(cli.app).commands[command].params
    choices = next(p for p in params if p.name == "format").type_descriptor.choices
    assert [str(c) for c in choices] == list(FORMATS[command])
