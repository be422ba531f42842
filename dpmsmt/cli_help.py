"""What `dpmsmt --help` shows beyond the options: plain metavars, choices, an example per
command, the exit codes; and bad option values as one clean line.

Why a module of its own: typer derives metavars from Python types (`<bool>`, `<list[str]>`,
`{file}`) and passes pydantic's messages through (`Value error, …`). Rather than spell a metavar
into every option of cli.py, `tidy` walks the finished command tree once and replaces what
typer made up with what an administrator reads in the manual (`FILE`, `SECONDS`, `[text|json]`).
This module imports nothing heavy: `dpmsmt --help` must stay quick.
"""

from __future__ import annotations

from enum import Enum

from dpmsmt.model import PROFILES
from dpmsmt.plan import CRITERIA

__all__ = ["CRITERIA", "EXAMPLES", "EXIT_CODES", "bad_value_message", "tidy"]


EXIT_CODES = (
    "Exit codes: 0 done (check: nothing at or above --fail-on); 1 the answer is no (violations, "
    "no complete plan or design); 2 bad input or option (one line on stderr); 3 the solver gave "
    "up (--timeout); 4 an internal error (a bug: --debug shows the traceback)."
)

EXAMPLES = {
    "check": "dpmsmt check estate.yaml --fail-on warning --format sarif -o dpmsmt.sarif",
    "suggest-move": "dpmsmt suggest-move estate.yaml --fail DPM3 --top 3; "
    "then --apply 1 --output after.yaml",
    "design": "dpmsmt design estate.yaml --allow-new 1 --top 2",
    "graph": "dpmsmt graph estate.yaml --format svg -o estate.svg",
    "report": "dpmsmt report estate.yaml --failures 1 --fail DPM1 -o estate.html",
    "resilience": "dpmsmt resilience estate.yaml --failures 2 --format json",
    "validate": "dpmsmt validate estate.yaml",
    "import": "dpmsmt import dpm1.json dpm2.json --overlay overlay.yaml -o estate.yaml",
    "schema": "dpmsmt schema > dpmsmt.schema.json",
    "rules": "dpmsmt rules VERSION-MATCH",
}

# metavars by option name; others by type (TEXT, N, NUMBER)
_METAVARS = {
    "before": "FILE",
    "output": "FILE",
    "baseline": "FILE",
    "write_baseline": "FILE",
    "today": "YYYY-MM-DD",
    "timeout": "SECONDS",
    "select": "ID,…",
    "ignore": "ID,…",
    "allow": "ACTION,…",
    "rank": "CRITERION,…",
    "fail": "DPM",
    "remove": "DPM",
    "for_": "DPM",
    "profile": "[" + "|".join(PROFILES) + "]",
}
# plain-str options with choices
_CHOICES_BY_NAME = {("rules", "format"): ("text", "json", "markdown")}


def tidy(group) -> None:
    """Give every command of the click group its example and exit codes, and every parameter
    a metavar an administrator reads (flags none at all)."""
    group.epilog = EXIT_CODES
    _tidy_params(group, "")
    for name, command in getattr(group, "commands", {}).items():
        example = EXAMPLES.get(name)
        command.epilog = f"Example: {example}\n\n{EXIT_CODES}" if example else EXIT_CODES
        _tidy_params(command, name)


def _tidy_params(command, name: str) -> None:
    help_option = command.get_help_option(_HelpNames)  # created once, then cached by click
    for param in [*command.params, *([help_option] if help_option else [])]:
        param.metavar = _metavar(name, param)
        if param.param_type_name == "argument":  # `FILE`, not typer's `{FILE}` and `<str>`
            shown = param.metavar if param.required else f"[{param.metavar}]"
            param._usage_display_name = lambda shown=shown: shown
            param.display_type_rich = lambda ctx: None
        if getattr(param, "is_flag", False) and param.secondary_opts and not param.default:
            param.secondary_opts = []  # `--force`, not `--force / --no-force [default: no-force]`


class _HelpNames:
    """What `get_help_option` reads of a click context: the names of the help option."""

    help_option_names = ("-h", "--help")


def _metavar(command: str, param) -> str:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.param_type_name == "argument":
        return (param.metavar or param.name).upper()
    choices = _choices(param) or _CHOICES_BY_NAME.get((command, param.name))
    if choices:
        return "[" + "|".join(choices) + "]"
    if param.name in _METAVARS:
        return _METAVARS[param.name]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return {int: "N", float: "NUMBER"}.get(annotation, "TEXT")


def _choices(param) -> tuple[str, ...] | None:
    descriptor = getattr(param, "type_descriptor", None)
    values = getattr(descriptor, "choices", None) if descriptor is not None else None
    if not values:
        return None
    return tuple(str(v.value if isinstance(v, Enum) else v) for v in values)


def bad_value_message(error) -> str | None:
    """`--fail-on: 'bogus' is not one of error, warning, info, never` for a click BadParameter
    that typer built from a pydantic error; None where the error is not of that kind."""
    param = getattr(error, "param", None)
    if param is None:
        return None
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")] or list(param.opts)
    hint = opts[0] if opts and param.param_type_name == "option" else param.name.upper()
    cause = error.__cause__
    if not hasattr(cause, "errors"):  # not typer's coercion: click's own message is clean
        return None
    errors = cause.errors()
    value = errors[0].get("input") if errors else None
    kind = errors[0].get("type", "") if errors else ""
    choices = _choices(param)
    if choices and value is not None:
        return f"{hint}: {value!r} is not one of {', '.join(choices)}"
    if kind.startswith("int_"):
        return f"{hint}: expected a whole number, not {value!r}"
    if kind.startswith("float_"):
        return f"{hint}: expected a number, not {value!r}"
    message = str(getattr(error, "message", "") or error).removeprefix("Value error, ")
    return f"{hint}: {message}"
