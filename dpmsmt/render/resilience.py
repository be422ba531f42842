"""resilience output: a JSON document (cli.md) or text grouped by failure set, then the summary."""

from __future__ import annotations

from collections import Counter

from dpmsmt.render.json import SCHEMA, dumps
from dpmsmt.render.lines import first_ids, text_lines

__all__ = ["render_json", "render_text", "resilience_json"]


def resilience_json(r) -> dict:
    """The document of cli.md (`dpmsmt resilience`), plus `solved`, `derived`,
    `single_points_of_failure` and `optimal`; each set also says whether it was `derived`
    from smaller sets and whether its plan is `optimal`."""
    return {
        "schema": SCHEMA,
        "command": "resilience",
        "file": r.file,
        "failures": r.failures,
        "sets": [s.to_json() for s in r.sets],
        "weakest": [{"dpm": dpm, "cost": cost} for dpm, cost in r.weakest],
        "never_safe": list(r.never_safe),
        "single_points_of_failure": list(r.single_points_of_failure),
        "solved": r.solved,
        "derived": r.derived,
        "optimal": r.optimal,
    }


def render_json(r) -> str:
    return dumps(resilience_json(r))


def _cost(cost: dict | None) -> str:
    if cost is None:
        return "no plan"
    parts = [f"{k} {v}" for k, v in cost.items() if v and k != "max_load"]
    parts.append(f"max_load {cost.get('max_load', 0)}")
    return ", ".join(parts)


def _actions(s) -> str:
    counts = Counter(a.action for a in s.actions)
    if not counts:
        return "nothing to do"
    order = ("rebuild", "switch", "move", "new-dpm", "reassign-secondary", "switch-back")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts[k])


def render_text(r, *, color: bool = False) -> str:
    buf, line = text_lines(color)
    line(
        (r.file, "bold"),
        f": every set of at most {r.failures} DPM server(s) failing: {len(r.sets)} sets "
        f"({r.solved} solved, {r.derived} derived)",
    )
    if r.already_down:
        down = ", ".join(r.already_down)
        line((f"already down in the file (every plan recovers them too): {down}", "dim"))
    if not r.sets:
        line(("no up DPM server to fail", "yellow"))
    width = max((len(", ".join(s.failed)) for s in r.sets), default=0)
    for s in r.sets:
        _set_lines(line, s, width)
    line()
    _summary_lines(line, r)
    return buf.getvalue()


def _set_lines(line, s, width: int) -> None:
    """One failure set: its names, whether its plan is complete, the cost, what it loses."""
    if s.cost is None:
        status = ("unknown ", "yellow")
    elif s.complete:
        status = ("complete", "green")
    else:
        status = ("partial ", "red")
    flags = ["derived"] * bool(s.derived) + ["not proved optimal"] * (not s.optimal)
    line(
        "  ",
        (", ".join(s.failed).ljust(width), "bold"),
        "  ",
        status,
        f"  {_cost(s.cost)}; {_actions(s)}",
        ((f"  ({', '.join(flags)})"), "dim") if flags else "",
    )
    for label, values, style in (
        ("loses history", s.loses_history, "yellow"),
        ("loses secondary", s.loses_secondary, "yellow"),
        ("unprotected", s.unprotected, "red"),
    ):
        if values:
            line("      ", (label, style), f" ({len(values)}): {first_ids(values)}")
    if s.gave_up:
        line("      ", ("the solver gave up", "yellow"), f": {s.gave_up}")


def _summary_lines(line, r) -> None:
    """The weakest points, single points of failure, never-safe data sources, the verdict."""
    line(("Weakest points", "bold"), " (the costliest single failures)")
    for i, (dpm, cost) in enumerate(r.weakest, 1):
        line(f"  {i}. ", (dpm, "bold"), f"  {_cost(cost)}")
    spof = r.single_points_of_failure
    line(
        ("Single points of failure", "bold"),
        ": ",
        (", ".join(spof), "red") if spof else ("none", "green"),
    )
    line(
        ("Never safe", "bold"),
        f" ({len(r.never_safe)}): ",
        (first_ids(r.never_safe), "red") if r.never_safe else ("none", "green"),
    )
    incomplete = sum(1 for s in r.sets if not s.complete)
    if not r.optimal:
        line(
            ("the solver gave up on some failure sets: the answer is not known for them", "yellow")
        )
    elif incomplete:
        line((f"{incomplete} failure set(s) have no complete plan", "bold red"))
    else:
        line(("every failure set has a complete plan", "green"))
