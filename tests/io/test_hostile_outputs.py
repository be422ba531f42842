"""Output paths that used to destroy files (issue 12): what `--output`, `--write-baseline` and
`--apply` may replace, and how (dpmsmt/io/output.py; README, "Reliability")."""

from __future__ import annotations

import os
import signal
import stat
import threading
from pathlib import Path

import pytest
from hostile import SMALL, one_error_line, run
from hypothesis import given, settings
from hypothesis import strategies as st

from dpmsmt.io.output import TEMP_MARK, OutputError, Outputs

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file kinds (FIFOs, links)")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    Path("t.yaml").write_text(SMALL, encoding="utf-8")
    Path("a.yaml").write_text(SMALL, encoding="utf-8")
    return tmp_path


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARK in p.name)


# The commands of the issue that replaced their input with a report.
INTO_THE_INPUT = [
    ["check", "t.yaml", "--format", "json", "--output", "t.yaml"],
    ["check", "t.yaml", "--write-baseline", "t.yaml"],
    ["check", "a.yaml", "--before", "t.yaml", "--format", "sarif", "--output", "t.yaml"],
    ["check", "a.yaml", "--baseline", "b.json", "--output", "b.json"],
    ["suggest-move", "t.yaml", "--fail", "DPM2", "--output", "t.yaml"],
    ["suggest-move", "t.yaml", "--apply", "1", "--output", "t.yaml"],
    ["design", "t.yaml", "--output", "t.yaml"],
    ["design", "t.yaml", "--apply", "1", "--output", "t.yaml"],
    ["graph", "t.yaml", "--output", "t.yaml"],
    ["graph", "a.yaml", "--before", "t.yaml", "--output", "t.yaml"],
    ["resilience", "t.yaml", "--jobs", "1", "--quiet", "--output", "t.yaml"],
    ["report", "t.yaml", "--output", "t.yaml"],
    ["report", "a.yaml", "--before", "t.yaml", "--output", "t.yaml"],
    ["report", "a.yaml", "--baseline", "b.json", "--output", "b.json"],
]


@pytest.mark.parametrize("argv", INTO_THE_INPUT, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("force", [False, True])
def test_an_input_is_never_an_output(here, argv, force):
    Path("b.json").write_text('{"schema": "dpmsmt/1", "command": "baseline", "fingerprints": []}')
    before = {p: Path(p).read_bytes() for p in ("t.yaml", "a.yaml", "b.json")}
    code, out, err = run(*argv, *(["--force"] if force else []))
    assert (code, out) == (2, "")
    assert "never writes over a file it reads" in one_error_line(err)
    assert {p: Path(p).read_bytes() for p in before} == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_an_input_reached_through_a_link_is_refused(here, link):
    (os.symlink if link == "symlink" else os.link)("t.yaml", "report.json")
    code, _, err = run("check", "t.yaml", "--format", "json", "--output", "report.json", "--force")
    assert code == 2
    assert "is the same file as the input t.yaml" in one_error_line(err)
    assert Path("t.yaml").read_text(encoding="utf-8") == SMALL


def test_a_baseline_may_be_updated_in_place_with_force(here):
    assert run("check", "t.yaml", "--write-baseline", "b.json")[0] in (0, 1)
    argv = ["check", "t.yaml", "--baseline", "b.json", "--write-baseline", "b.json"]
    assert "--force" in one_error_line(run(*argv)[2])
    assert run(*argv, "--force")[0] == 0


WRITERS = [
    ["check", "t.yaml", "--output", "out"],
    ["check", "t.yaml", "--write-baseline", "out"],
    ["suggest-move", "t.yaml", "--output", "out"],
    ["suggest-move", "t.yaml", "--apply", "1", "--output", "out"],
    ["design", "t.yaml", "--output", "out"],
    ["graph", "t.yaml", "--output", "out"],
    ["resilience", "t.yaml", "--jobs", "1", "--quiet", "--output", "out"],
    ["report", "t.yaml", "--output", "out"],
]


@pytest.mark.parametrize("argv", WRITERS, ids=lambda a: " ".join(a))
def test_every_command_replaces_an_existing_file_only_with_force(here, argv):
    Path("out").write_text("keep me")
    code, out, err = run(*argv)
    assert (code, out) == (2, "")
    assert one_error_line(err) == "--{} out exists; use --force to replace it".format(
        "write-baseline" if "--write-baseline" in argv else "output"
    )
    assert Path("out").read_text() == "keep me"
    code, _, err = run(*argv, "--force")
    assert code in (0, 1), err
    assert Path("out").read_text() != "keep me"
    assert temporaries(here) == []


def test_a_file_created_while_solving_is_not_overwritten(here, monkeypatch):
    import z3

    real = z3.Solver.check

    def meanwhile(*args, **kwargs):  # while the solver works
        Path("recovered.yaml").write_text("written by someone else")
        return real(*args, **kwargs)

    monkeypatch.setattr(z3.Solver, "check", meanwhile)
    code, _, err = run("suggest-move", "t.yaml", "--apply", "1", "--output", "recovered.yaml")
    assert code == 2
    assert "appeared while dpmsmt was working" in one_error_line(err)
    assert Path("recovered.yaml").read_text() == "written by someone else"
    assert temporaries(here) == []


def test_exclusive_creation_at_write_time(here):
    sink = Outputs(["t.yaml"], force=False)
    sink.claim("new.txt")
    Path("new.txt").write_text("theirs")
    with pytest.raises(OutputError, match="appeared while dpmsmt was working"):
        sink.write("new.txt", "ours")
    assert Path("new.txt").read_text() == "theirs"


def test_a_fifo_is_written_through(here):
    os.mkfifo("pipe")
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(Path("pipe").read_bytes()))
    reader.start()
    code, out, err = run("check", "t.yaml", "--format", "json", "--output", "pipe")
    reader.join(timeout=30)
    assert (code, out, err) == (1, "", "")  # SMALL has DPM1 failed: an error finding
    assert b'"schema": "dpmsmt/1"' in got[0]
    assert stat.S_ISFIFO(os.lstat("pipe").st_mode), "still a FIFO"


def test_a_character_device_is_written_through(here):
    code, _, err = run("check", "t.yaml", "--output", os.devnull)
    assert (code, err) == (1, "")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_dash_is_standard_output(here):
    code, out, _ = run("check", "t.yaml", "--format", "json", "--output", "-")
    assert code == 1 and out.startswith("{")
    assert not Path("-").exists()


def test_a_symlink_is_followed_and_its_target_keeps_its_mode(here):
    Path("real.json").write_text("old")
    os.chmod("real.json", 0o640)
    os.symlink("real.json", "link.json")
    code, _, _ = run("check", "t.yaml", "--format", "json", "--output", "link.json", "--force")
    assert code == 1
    assert os.path.islink("link.json"), "the link stays a link"
    assert Path("real.json").read_text().startswith("{")
    assert stat.S_IMODE(os.stat("real.json").st_mode) == 0o640


def test_a_dangling_symlink_creates_its_target(here):
    os.symlink("made.json", "link.json")
    assert run("check", "t.yaml", "--format", "json", "--output", "link.json")[0] == 1
    assert os.path.islink("link.json") and Path("made.json").read_text().startswith("{")


@pytest.mark.parametrize("target", [".", "no/such/folder/out.json"])
def test_unwritable_places_are_one_line(here, target):
    code, _, err = run("check", "t.yaml", "--output", target)
    assert code == 2
    one_error_line(err)


def test_stale_temporaries_of_dead_processes_are_removed(here):
    dead = 2**22 + 12345  # above the default pid_max: no such process
    Path(f".out.json{TEMP_MARK}{dead}").write_text("half a report")
    alive = Path(f".out.json{TEMP_MARK}{os.getppid()}")
    alive.write_text("another run's, still writing")
    assert run("check", "t.yaml", "--format", "json", "--output", "out.json")[0] == 1
    assert temporaries(here) == [alive.name]


def test_a_failed_write_leaves_no_temporary(here, monkeypatch):
    def broken(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    code, _, err = run("check", "t.yaml", "--output", "out.txt")
    assert code == 2
    assert one_error_line(err) == "--output out.txt: cannot write: No space left on device"
    assert not Path("out.txt").exists() and temporaries(here) == []


def test_sigterm_during_a_write_removes_the_temporary(here, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: os.kill(os.getpid(), signal.SIGTERM))
    code, _, err = run("check", "t.yaml", "--output", "out.txt")
    assert code == 128 + signal.SIGTERM
    assert one_error_line(err) == f"terminated by signal {int(signal.SIGTERM)}"
    assert not Path("out.txt").exists() and temporaries(here) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the handler is restored"


def test_the_same_output_twice_is_refused(here):
    os.symlink("x.json", "y.json")
    code, _, err = run(
        "check", "t.yaml", "-f", "json", "-o", "x.json", "-f", "sarif", "-o", "y.json"
    )
    assert code == 2 and "named twice" in one_error_line(err)


# -- the fuzzers over output paths ------------------------------------------------------------

KINDS = ["absent", "regular", "symlink", "dangling", "input", "input-link", "folder",
         "devnull", "dash", "missing-folder"]  # fmt: skip
COMMAND_LINES = [
    ["check", "t.yaml", "--format", "json", "--output"],
    ["check", "t.yaml", "--write-baseline"],
    ["suggest-move", "t.yaml", "--output"],
    ["suggest-move", "t.yaml", "--apply", "1", "--output"],
    ["graph", "t.yaml", "--output"],
    ["design", "t.yaml", "--format", "yaml", "--output"],
]


def make(kind: str) -> str:
    """An output path of the given kind, in the current folder."""
    if kind == "regular":
        Path("out").write_text("precious")
    elif kind == "symlink":
        Path("target").write_text("precious")
        os.symlink("target", "out")
    elif kind == "dangling":
        os.symlink("target", "out")
    elif kind == "input":
        return "t.yaml"
    elif kind == "input-link":
        os.symlink("t.yaml", "out")
    elif kind == "folder":
        os.mkdir("out")
    elif kind == "devnull":
        return os.devnull
    elif kind == "dash":
        return "-"
    elif kind == "missing-folder":
        return "nowhere/out"
    return "out"


@settings(max_examples=40)
@given(st.sampled_from(COMMAND_LINES), st.sampled_from(KINDS), st.booleans(), st.data())
def test_fuzz_output_paths(tmp_path_factory, command, kind, force, data):
    folder = tmp_path_factory.mktemp("out")
    old = os.getcwd()
    os.chdir(folder)
    try:
        text = SMALL if data.draw(st.booleans()) else SMALL.replace("DPM3: {", "DPM3: {{")
        Path("t.yaml").write_text(text, encoding="utf-8")
        path = make(kind)
        precious = {p: Path(p).read_bytes() for p in ("out", "target") if Path(p).is_file()}
        code, _, err = run(*command, path, *(["--force"] if force else []))
        assert code in (0, 1, 2), err
        if code == 2:
            one_error_line(err)
        assert Path("t.yaml").read_text(encoding="utf-8") == text, "the input is never touched"
        if not force or code == 2:
            assert {p: Path(p).read_bytes() for p in precious} == precious
        if kind in ("input", "input-link", "folder", "missing-folder"):
            assert code == 2
        assert temporaries(folder) == []
        assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    finally:
        os.chdir(old)


def test_dash_counts_as_the_one_format_on_standard_output(here):
    code, _, err = run("check", "t.yaml", "-f", "json", "-o", "-", "-f", "text")
    assert code == 2 and "only one --format can go to standard output" in one_error_line(err)


def test_apply_to_standard_output_is_refused(here):
    code, _, err = run("suggest-move", "t.yaml", "--apply", "1", "--output", "-")
    assert code == 2 and "name a file" in one_error_line(err)
