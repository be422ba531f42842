"""Options that crashed dpmsmt or meant different things to different commands, and the exit code
of a bug (issue 12): one rule per option, one error line, exit 2; a bug is exit 4, never 1."""

from __future__ import annotations

from pathlib import Path

import pytest
import z3
from hostile import COMMANDS, POSITIONED, SMALL, one_error_line, run


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    Path("t.yaml").write_text(SMALL, encoding="utf-8")
    return tmp_path


TIMED = ["check", "suggest-move", "design", "resilience", "report"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "NaN"])
@pytest.mark.parametrize("command", TIMED)
def test_timeout_is_positive_and_finite_for_every_command(here, command, value):
    code, out, err = run(*COMMANDS[command], "t.yaml", f"--timeout={value}")
    assert (code, out) == (2, "")
    assert one_error_line(err).startswith("--timeout: a positive, finite number of seconds")


@pytest.mark.parametrize("command", TIMED)
def test_a_small_timeout_is_still_a_timeout(here, command):
    code, _, err = run(*COMMANDS[command], "t.yaml", "--timeout", "0.5")
    assert code in (0, 1, 3), err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "t.yaml", "--today", "20260101"], "--today: not an ISO date"),
        (["check", "t.yaml", "--today", "2026-W01"], "--today: not an ISO date"),
        (["check", "t.yaml", "--select", ""], "--select: empty value"),
        (["check", "t.yaml", "--ignore", " , "], "--ignore: empty value"),
        (["suggest-move", "t.yaml", "--allow", ""], "--allow: empty value"),
        (["suggest-move", "t.yaml", "--rank", ""], "--rank: empty value"),
        (["suggest-move", "t.yaml", "--fail", ""], "--fail: empty value"),
        (["design", "t.yaml", "--for", ""], "--for: empty value"),
        (
            ["suggest-move", "t.yaml", "--fail", "DPM2", "--remove", "dpm2"],
            "DPM2 is given to both --fail and --remove",
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_options_refused_with_a_reason(here, argv, message):
    code, out, err = run(*argv)
    assert (code, out) == (2, "")
    assert one_error_line(err).startswith(message)


def test_today_in_iso_form_is_taken(here):
    assert run("check", "t.yaml", "--today", "2026-01-01")[0] == 1  # DPM1 is failed: an error


def test_a_waiver_expiry_must_be_iso_too(here):
    Path("w.yaml").write_text(
        SMALL + "waivers: [{rule: PRIMARY-DOWN, reason: r, expires: '20260101'}]\n"
    )
    code, _, err = run("validate", "w.yaml")
    assert code == 2 and "`expires` is not an ISO date" in one_error_line(err)


def test_suggest_move_with_nothing_failed_uses_a_documented_form(here):
    Path("up.yaml").write_text(SMALL.replace(", status: failed", ""))
    code, out, err = run("suggest-move", "up.yaml")
    assert (code, out) == (2, "")
    message = one_error_line(err)
    assert not POSITIONED.fullmatch(err) and not message.startswith("up.yaml:")
    assert message.startswith("no DPM server is failed or removed in up.yaml: name one with --fail")


# -- a bug is exit 4 -------------------------------------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


def test_an_internal_error_is_exit_4_and_one_line(here, monkeypatch):
    monkeypatch.setattr(z3.Solver, "check", _boom)  # a bug anywhere under check
    code, out, err = run("check", "t.yaml")
    assert (code, out) == (4, "")
    assert one_error_line(err).startswith("internal error: RuntimeError: boom (a bug in dpmsmt")


@pytest.mark.parametrize("how", ["option", "option-first", "environment"])
def test_debug_shows_the_traceback(here, monkeypatch, how):
    monkeypatch.setattr(z3.Solver, "check", _boom)  # a bug anywhere under check
    argv = ["check", "t.yaml"]
    if how == "option":
        argv.append("--debug")
    elif how == "option-first":
        argv.insert(0, "--debug")
    else:
        monkeypatch.setenv("DPMSMT_DEBUG", "1")
    code, _, err = run(*argv)
    assert code == 4
    assert err.startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom" in err
    assert err.splitlines()[-1].startswith("dpmsmt: error: internal error: RuntimeError: boom")


def test_debug_after_double_dash_is_an_argument(here):
    code, _, err = run("validate", "--", "--debug")
    assert code == 2 and "cannot read the file --debug" in one_error_line(err)
