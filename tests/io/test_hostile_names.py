"""Names that forged error lines, drove the terminal or flooded it (issue 12): names with control
characters, NUL, bidirectional overrides, or empty are reading errors that say what is allowed,
and text from a file is shown escaped and cut in every error (dpmsmt/io/names.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile import one_error_line, run

import dpmsmt
from dpmsmt.io.names import name_problem, shown


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def estate(dpm: str = "DPM1", server: str = "S1", datasource: str = "D:\\", **extra) -> str:
    return json.dumps(
        {
            "dpmsmt": 1,
            "dpm_servers": {dpm: {"version": "10.19.58.0"}},
            "servers": {server: {"agent": dpm, "datasources": [{"name": datasource}]}},
            **extra,
        }
    )


HOSTILE = {
    "newline": "DPM1\ndpmsmt: error: forged",
    "escape": "DPM\x1b[2J\x1b[31m1",
    "nul": "DPM\x001",
    "bidi-override": "DPM\u202e1MPD",
    "bidi-isolate": "DPM\u20661",
    "zero-width": "DPM\u200b1",
    "line-separator": "DPM\u20281",
    "tab": "DPM\t1",
    "empty": "",
    "blank": "   ",
}


@pytest.mark.parametrize("where", ["dpm", "server", "datasource"])
@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("command", ["validate", "check"])
def test_a_hostile_name_is_a_reading_error_on_one_clean_line(here, where, name, command):
    Path("e.json").write_text(estate(**{where: name}))
    code, out, err = run(command, "e.json")
    assert (code, out) == (2, "")
    message = one_error_line(err)  # one line: nothing forged
    assert message.startswith("e.json:1:")
    assert "names are printable text" in message
    assert all(c == " " or c.isprintable() for c in err[:-1]), "escaped, not raw"


def test_the_forged_line_is_shown_escaped(here):
    Path("e.json").write_text(estate(dpm=HOSTILE["newline"]))
    message = one_error_line(run("validate", "e.json")[2])
    assert "`DPM1\\ndpmsmt: error: forged`" in message
    assert "character 5 is \\n" in message


def test_a_10_mb_name_is_cut(here):
    Path("e.json").write_text(estate(dpm="D" * 10_000_000))
    code, _, err = run("validate", "e.json")
    assert code == 2 and len(err) < 2500
    assert "…" in err and "a name has at most 255 characters, this one has 10,000,000" in err


def test_a_10_mb_reference_is_cut(here):
    doc = json.loads(estate())
    doc["servers"]["S1"]["agent"] = "\x1b" + "X" * 10_000_000
    Path("e.json").write_text(json.dumps(doc))
    code, _, err = run("validate", "e.json")
    assert code == 2 and len(err) < 2500
    message = one_error_line(err)
    assert "DPM server \\x1bXXX" in message and "… is not defined" in message


def test_a_10_mb_unknown_key_is_cut(here):
    Path("e.json").write_text(json.dumps({"dpmsmt": 1, "dpm_servers": {}, "k" * 10**7: 1}))
    code, _, err = run("validate", "e.json")
    assert code == 2 and len(err) < 2500 and "unknown key" in one_error_line(err)


def test_a_file_name_with_a_newline_stays_on_one_line(here):
    code, _, err = run("validate", "a\nb.yaml")
    assert code == 2
    assert one_error_line(err) == "cannot read the file a\\nb.yaml: No such file or directory"


@pytest.mark.parametrize("field", ["reason", "description"])
def test_free_text_may_break_lines_but_not_drive_the_terminal(here, field):
    waiver = {"rule": "UNPROTECTED", "reason": "two\nlines\tand a tab"}
    ok = json.loads(estate(waivers=[waiver], description="line one\nline two"))
    assert dpmsmt.loads(json.dumps(ok), format="json").waivers[0].reason.startswith("two\n")
    if field == "reason":
        ok["waivers"][0]["reason"] = "red \x1b[31m alert"
    else:
        ok["description"] = "\u202egnp.exe"
    Path("e.json").write_text(json.dumps(ok))
    code, _, err = run("validate", "e.json")
    assert code == 2 and "no other control or invisible formatting" in one_error_line(err)


@pytest.mark.parametrize(
    "name", ["DPM1", "dpm-sfo-01.contoso.com", "Sérvér 1", "D:\\", "MSSQLSERVER\\Sales", "服务器"]
)
def test_ordinary_names_are_names(name):
    assert name_problem(name, 1024) is None


def test_shown_escapes_and_cuts():
    assert shown("a\nb\x1b\u202e") == "a\\nb\\x1b\\u202e"
    assert shown("x" * 100, 10) == "x" * 9 + "…"


def test_text_output_prints_unicode_names_whole(here):
    Path("e.json").write_text(estate(dpm="Sérvér-1", server="服务器"))
    code, out, err = run("check", "e.json")
    assert code == 0 and err == ""
    assert "e.json: valid" in out


def test_no_suggestion_is_sought_for_a_huge_name(monkeypatch):
    """difflib compares every character: for a 10 MB name, seconds per defined name."""
    import difflib

    real = difflib.get_close_matches

    def bounded(word, *args, **kwargs):
        assert len(word) <= 1024, "a suggestion sought for a huge name"
        return real(word, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", bounded)
    doc = json.loads(estate())
    doc["servers"]["S1"]["agent"] = "X" * 100_000
    doc["servers"]["S1"]["k" * 100_000] = 1
    with pytest.raises(dpmsmt.TopologyError) as info:
        dpmsmt.loads(json.dumps(doc), format="json")
    assert "is not defined" in str(info.value) or "unknown key" in str(info.value)
