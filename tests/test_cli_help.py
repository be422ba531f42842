"""What `dpmsmt --help` and `--version` say, and how bad option values read (issue 11)."""

from __future__ import annotations

import re
import tomllib
from enum import Enum
from pathlib import Path

import pytest
import typer

from dpmsmt import cli

REPO = Path(__file__).resolve().parent.parent
COMMANDS = sorted(typer.main.get_command(cli.app).commands)


def run(capsys, monkeypatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "250")  # one line per option: choices are not wrapped
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    out = capsys.readouterr()
    return info.value.code or 0, out.out, out.err


def test_version_is_the_package_version(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "--version")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (code, out) == (0, f"dpmsmt {project['version']}\n")


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_has_no_type_noise(capsys, monkeypatch, command):
    code, out, _ = run(capsys, monkeypatch, *command.split(), "--help")
    assert code == 0
    for noise in ("<bool>", "<str>", "<int>", "<float>", "<list", "{file}", "{FILE}", "--no-force"):
        assert noise not in out, noise
    assert "Exit codes: 0 done" in out and "3 the solver gave up" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_in_its_help(capsys, monkeypatch, command):
    out = run(capsys, monkeypatch, command, "--help")[1]
    assert re.search(rf"Example: dpmsmt {re.escape(command)}\b", out), out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_choice_option_shows_its_choices(capsys, monkeypatch, command):
    out = run(capsys, monkeypatch, command, "--help")[1]
    params = typer.main.get_command(cli.app).commands[command].params
    for param in params:
        choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
        if choices:
            shown = (
                "[" + "|".join(str(c.value if isinstance(c, Enum) else c) for c in choices) + "]"
            )
            assert shown in out, (param.name, shown)
    if command in ("check", "design"):
        assert "[strict|2012|2016|2019|2022|2025]" in out


def test_rank_help_names_every_criterion_in_order(capsys, monkeypatch):
    from dpmsmt.recovery import CRITERIA

    out = run(capsys, monkeypatch, "suggest-move", "--help")[1]
    assert ", ".join(CRITERIA) in " ".join(out.replace("│", " ").split())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["check", "--fail-on", "bogus", "x.yaml"],
            "--fail-on: 'bogus' is not one of error, warning, info, never",
        ),
        (
            ["check", "-f", "png", "x.yaml"],
            "--format: 'png' is not one of text, json, sarif, junit",
        ),
        (["suggest-move", "--top", "x", "x.yaml"], "--top: expected a whole number, not 'x'"),
        (["check", "--timeout", "soon", "x.yaml"], "--timeout: expected a number, not 'soon'"),
        (["graph", "-f", "png", "x.yaml"], "--format: 'png' is not one of dot, mermaid, svg"),
        (["check"], "Missing argument 'FILE'."),
    ],
)
def test_bad_option_values_read_as_one_clean_line(capsys, monkeypatch, argv, message):
    code, out, err = run(capsys, monkeypatch, *argv)
    assert (code, out, err) == (2, "", f"dpmsmt: error: {message}\n")
    assert "Value error" not in err and "Input should be" not in err


def test_rule_ids_read_without_importing_the_rules_are_the_catalogue():
    from dpmsmt.rules import all_rules, rule_ids

    assert rule_ids() == tuple(r.id for r in all_rules())


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["--help"], ("z3", "networkx", "pydantic", "dpmsmt.check")),
        (["--version"], ("z3", "networkx", "pydantic", "dpmsmt.check")),
        (["validate", "models/seed/before.yaml"], ("z3", "networkx", "dpmsmt.check")),
        (["schema"], ("z3", "networkx", "dpmsmt.check")),
        (["check", "models/seed/before.yaml"], ("rich",)),  # plain text needs no rich
    ],
)
def test_commands_import_only_what_they_need(argv, absent):
    """A fresh interpreter per command: what `import dpmsmt.cli` and the command pull in."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from dpmsmt.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {absent!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
