"""Inputs that hung or crashed dpmsmt, and files from Windows (issues 11 and 12): every one is
read, or refused with one error line and exit 2 (dpmsmt/io/source.py and the readers)."""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import threading
from pathlib import Path

import pytest
from hostile import COMMANDS, POSITIONED, SMALL, one_error_line, run
from paths import TESTS_DIR

import dpmsmt

EXPORT = TESTS_DIR / "fixtures" / "import" / "seed" / "dpm1.json"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    Path("t.yaml").write_text(SMALL, encoding="utf-8")
    return tmp_path


# -- what is not a regular file --------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "f.yaml"],
        ["check", "f.yaml"],
        ["check", "t.yaml", "--before", "f.yaml"],
        ["check", "t.yaml", "--baseline", "f.yaml"],
        ["graph", "f.yaml"],
        ["suggest-move", "f.yaml", "--fail", "DPM1"],
        ["design", "f.yaml"],
        ["resilience", "f.yaml", "--quiet"],
        ["import", "f.yaml"],
        ["import", str(EXPORT), "--overlay", "f.yaml"],
    ],
    ids=lambda a: " ".join(Path(x).name if "/" in x else x for x in a),
)
def test_a_fifo_is_refused_without_waiting(here, argv):
    os.mkfifo("f.yaml")  # nobody writes into it: reading it would wait forever
    with _unblocking("f.yaml"):
        code, out, err = run(*argv)
    assert (code, out) == (2, "")
    assert "it is a pipe, not a regular file" in one_error_line(err)


@contextlib.contextmanager
def _unblocking(fifo: str):
    """If a regression makes dpmsmt wait for a writer, one comes after 3 s and closes at once:
    the test then fails on the message instead of hanging the suite."""
    done = threading.Event()

    def writer():
        if done.wait(3):
            return
        while not done.is_set():
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader yet
                done.wait(0.05)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def test_a_folder_is_refused(here):
    os.mkdir("d.yaml")
    assert "it is a folder" in one_error_line(run("validate", "d.yaml")[2])


def test_a_missing_file_has_no_fake_position(here):
    code, _, err = run("check", "nope.yaml")
    assert code == 2
    assert one_error_line(err) == "cannot read the file nope.yaml: No such file or directory"
    assert not POSITIONED.fullmatch(err)


# -- standard input --------------------------------------------------------------------------


def test_dash_reads_standard_input(here):
    code, out, _ = run("validate", "-", stdin=SMALL.encode())
    assert (code, out) == (0, "-: ok (3 DPM servers, 1 protected servers, 1 data sources)\n")


def test_dash_reads_json_too(here):
    doc = json.dumps({"dpmsmt": 1, "dpm_servers": {"A": {"version": "1"}}})
    assert run("validate", "-", stdin=doc.encode()) == (
        0,
        "-: ok (1 DPM servers, 0 protected servers, 0 data sources)\n",
        "",
    )


def test_errors_from_standard_input_name_it(here):
    code, _, err = run("validate", "-", stdin=b"dpmsmt: 2\ndpm_servers: {}\n")
    assert code == 2 and one_error_line(err).startswith("<stdin>:1:9: ")


def test_standard_input_is_read_once(here):
    code, _, err = run("check", "-", "--before", "-", stdin=SMALL.encode())
    assert code == 2 and "more than one input" in one_error_line(err)


# -- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_a_bom_are_read(here, codec):
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}[codec]  # fmt: skip
    Path("w.yaml").write_bytes(bom + SMALL.replace("\n", "\r\n").encode(codec))
    windows, unix = dpmsmt.load("w.yaml"), dpmsmt.load("t.yaml")
    assert (windows.dpm_servers, windows.servers) == (unix.dpm_servers, unix.servers)
    assert run("validate", "w.yaml")[0] == 0


def test_broken_utf16_is_one_line(here):
    Path("w.yaml").write_bytes(
        codecs.BOM_UTF16_LE + "dpmsmt: 1\n".encode("utf-16-le") + b"\x00\xd8"
    )
    code, _, err = run("validate", "w.yaml")
    assert code == 2 and "not valid UTF-16" in one_error_line(err)


def test_a_doubled_bom_is_refused(here):
    Path("b.yaml").write_bytes(codecs.BOM_UTF8 * 2 + SMALL.encode())
    code, _, err = run("validate", "b.yaml")
    assert code == 2 and "two byte order marks" in one_error_line(err)
    with pytest.raises(dpmsmt.TopologyError, match="two byte order marks"):
        dpmsmt.loads("\ufeff\ufeff" + SMALL)


def test_a_tab_in_indentation_says_tab(here):
    Path("tab.yaml").write_text("dpmsmt: 1\ndpm_servers:\n\tDPM1: {version: '1'}\n")
    message = one_error_line(run("validate", "tab.yaml")[2])
    assert message.startswith("tab.yaml:3:1: a tab character")


# -- numbers and text no reader should choke on ----------------------------------------------

HUGE = "1" * 4301  # one digit beyond what Python converts without an error of its own


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("i.yaml", f"dpmsmt: 1\ndpm_servers: {{}}\nexpect: {{n: {HUGE}}}\n"),
        ("h.yaml", f"dpmsmt: 1\ndpm_servers: {{}}\nexpect: {{n: 0x{'f' * 4000}}}\n"),
        ("a.yaml", f"dpmsmt: 1\ndpm_servers: {{}}\nexpect: &a {{n: {HUGE}}}\n"),
        ("i.json", f'{{"dpmsmt": 1, "dpm_servers": {{}}, "expect": {{"n": -{HUGE}}}}}'),
        ("s.yaml", f'dpmsmt: 1\ndpm_servers:\n  DPM1: {{version: "{HUGE}"}}\n'),
    ],
)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_huge_numbers_are_refused_by_every_command(here, name, text, command):
    Path(name).write_text(text)
    code, out, err = run(*COMMANDS[command], name)
    assert (code, out) == (2, "")
    message = one_error_line(err)
    assert "too large" in message or "at most 255 characters" in message


def test_a_number_just_below_the_bound_is_read():
    t = dpmsmt.loads("dpmsmt: 1\ndpm_servers: {}\nexpect: {n: 999999999999999999}\n")
    assert t.expect == {"n": 999999999999999999}


@pytest.mark.parametrize("where", ["key", "value"])
@pytest.mark.parametrize("command", ["check", "graph", "resilience", "validate"])
def test_a_lone_surrogate_is_refused(here, where, command):
    server = '"DPM1\\ud800"' if where == "key" else '"DPM1"'
    version = '"1"' if where == "key" else '"1\\udc00"'
    Path("s.json").write_text(
        f'{{"dpmsmt": 1, "dpm_servers": {{{server}: {{"version": {version}}}}}}}'
    )
    code, out, err = run(*COMMANDS[command], "s.json")
    assert (code, out) == (2, "")
    assert "lone surrogate" in one_error_line(err)


def test_a_surrogate_pair_is_text():
    t = dpmsmt.loads('{"dpmsmt": 1, "dpm_servers": {}, "name": "\\ud83d\\ude00"}', format="json")
    assert t.name == "\U0001f600"


# -- lenient reading: the tag says what a value is -------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!!str 4.2", "4.2"),
        ("!!str 10.19", "10.19"),
        ("!!timestamp 2026-01-01", "2026-01-01"),
        ("!!binary NC4y", "4.2"),
        ('!!str "4.2"', "4.2"),
    ],
)
def test_standard_tags_are_read_as_they_say(value, expected):
    t = dpmsmt.loads(f"dpmsmt: 1\ndpm_servers:\n  DPM1: {{version: {value}}}\n")
    assert t.dpm_servers["DPM1"].version == expected


def test_a_timestamp_tag_on_a_waiver_expiry():
    t = dpmsmt.loads(
        "dpmsmt: 1\ndpm_servers: {DPM1: {version: '1'}}\nwaivers:\n"
        "  - {rule: UNPROTECTED, reason: r, expires: !!timestamp 2027-01-01}\n"
    )
    assert t.waivers[0].expires == "2027-01-01"


@pytest.mark.parametrize("value", ["!!int 4.2", "!!binary '@@'", "!!bool yes", "!!float x"])
def test_a_tag_that_does_not_fit_is_one_line(here, value):
    Path("t.yaml").write_text(f"dpmsmt: 1\ndpm_servers:\n  DPM1: {{version: {value}}}\n")
    code, _, err = run("validate", "t.yaml")
    assert code == 2
    assert one_error_line(err).startswith("t.yaml:3:19: ")


# -- enumerated values compare without regard to case, as names do -------------------------


def test_enumerated_values_ignore_case():
    upper = dpmsmt.loads(
        "dpmsmt: 1\nprofile: STRICT\ndpm_servers:\n"
        "  DPM1: {version: '1', kind: DPM, status: Up, trust: Trusted, auth: NTLM,\n"
        "         secondary_scope: [Database, CONFIG], database: {sql: Local}}\n"
        "servers:\n  S1:\n    agent: DPM1\n"
        "    datasources: [{name: db, type: SQL, mode: Normal, policy: {short_term: Disk}}]\n"
    )
    lower = dpmsmt.loads(
        "dpmsmt: 1\nprofile: strict\ndpm_servers:\n"
        "  DPM1: {version: '1', kind: dpm, status: up, trust: trusted, auth: ntlm,\n"
        "         secondary_scope: [database, config], database: {sql: local}}\n"
        "servers:\n  S1:\n    agent: DPM1\n"
        "    datasources: [{name: db, type: sql, mode: normal, policy: {short_term: disk}}]\n"
    )
    assert upper == lower
    assert upper.servers["S1"].datasources[0].type == "sql"


def test_an_unknown_enumerated_value_is_still_an_error():
    with pytest.raises(dpmsmt.TopologyError, match="type"):
        dpmsmt.loads(
            "dpmsmt: 1\ndpm_servers: {DPM1: {version: '1'}}\n"
            "servers: {S1: {agent: DPM1, datasources: [{name: db, type: SQLL}]}}\n"
        )
