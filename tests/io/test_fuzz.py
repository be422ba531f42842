"""Fuzzing `dpmsmt check` with random bytes and mutated example files.

Whatever the input, the command answers with an exit code (0 clean, 1 findings, 2 unreadable input
with one line on stderr) and never with a traceback (cli.md, "Exit codes").
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from paths import REPO_DIR

import dpmsmt
from dpmsmt.cli import main

MODELS = REPO_DIR / "models"
EXAMPLES = sorted([*MODELS.glob("good/*.yaml"), *MODELS.glob("bad/*.yaml")])
SOURCES = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in EXAMPLES}


# BUG (dpmsmt/io/yaml_reader.py): PyYAML's ReaderError (a control character) is printed with its
# own second line `  in "<unicode string>", position N` and at 1:1. Tolerated by the fuzz tests
# so that they keep looking for other failures; pinned by the xfail test below.
KNOWN_TWO_LINE_ERROR = "control characters are not allowed\n  in "


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """`dpmsmt ARGS` in-process: (exit code, stdout, stderr). Any exception but SystemExit fails."""
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as e:
            code = e.code
    return (
        (code if isinstance(code, int) else (0 if code is None else 2)),
        out.getvalue(),
        err.getvalue(),
    )


def check_bytes(data: bytes, suffix: str, *extra: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"estate{suffix}")
        Path(path).write_bytes(data)
        args = ["check", path, "--format", "json", "--today", "2026-01-15", *extra]
        code, out, err = run_cli(args)
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("dpmsmt: error: "), err
        if KNOWN_TWO_LINE_ERROR in err:  # see test_control_character_error_is_one_line
            return
        assert "\n" not in err.rstrip("\n"), err
    else:
        report = json.loads(out)
        assert report["schema"] == "dpmsmt/1"
        assert report["verdict"] == ("invalid" if code == 1 else "valid")


@given(st.binary(max_size=400), st.sampled_from([".yaml", ".json", ".yml"]))
def test_random_bytes(data, suffix):
    check_bytes(data, suffix)


@given(st.text(alphabet="{}[]:,-'\"#&*!|>%@ \n\tabcDPM1209.\\/", max_size=200))
def test_random_yaml_like_text(text):
    check_bytes(text.encode(), ".yaml")


def mutate(draw, data: bytes) -> bytes:
    """Flip, delete, insert or duplicate bytes and lines, a few times."""
    for _ in range(draw(st.integers(1, 4))):
        lines = data.split(b"\n")
        op = draw(
            st.sampled_from(
                [
                    "flip",
                    "delete-bytes",
                    "insert-bytes",
                    "delete-line",
                    "duplicate-line",
                    "swap-lines",
                    "indent-line",
                    "dedent-line",
                    "foreign-line",
                ]
            )
        )
        if op in ("flip", "delete-bytes", "insert-bytes") and data:
            at = draw(st.integers(0, len(data) - 1))
            if op == "flip":
                data = (
                    data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
                )
            elif op == "delete-bytes":
                data = data[:at] + data[at + draw(st.integers(1, 8)) :]
            else:
                data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
            continue
        if not lines:
            continue
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete-line":
            del lines[i]
        elif op == "duplicate-line":
            lines.insert(i, lines[i])
        elif op == "swap-lines":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent-line":
            lines[i] = b"  " + lines[i]
        elif op == "dedent-line":
            lines[i] = lines[i][2:] if lines[i].startswith(b"  ") else lines[i]
        elif op == "foreign-line":
            other = SOURCES[draw(st.sampled_from(sorted(SOURCES)))].split(b"\n")
            lines.insert(i, other[draw(st.integers(0, len(other) - 1))])
        data = b"\n".join(lines)
    return data


@st.composite
def mutated_examples(draw) -> bytes:
    name = draw(st.sampled_from(sorted(SOURCES)))
    return mutate(draw, SOURCES[name])


@given(mutated_examples())
def test_mutated_example_files(data):
    check_bytes(data, ".yaml")


@given(mutated_examples(), st.sampled_from(sorted(SOURCES)))
def test_mutated_example_files_as_a_change(data, before):
    # the change rules read two snapshots: a mutated after file against an intact before file
    check_bytes(data, ".yaml", "--before", str(MODELS / before))


@st.composite
def mutated_json(draw) -> bytes:
    """An example file as JSON, with a value somewhere replaced by another JSON value."""
    import yaml

    name = draw(st.sampled_from(sorted(SOURCES)))
    doc = yaml.safe_load(SOURCES[name])
    node, paths = doc, [()]

    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                paths.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                paths.append((*path, i))
                walk(v, (*path, i))

    walk(doc, ())
    path = draw(st.sampled_from(paths[1:] or [()]))
    replacement = draw(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=5,
        )
    )
    if path:
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = replacement
    return json.dumps(doc, default=str).encode()


@given(mutated_json())
def test_mutated_json_documents(data):
    check_bytes(data, ".json")


def test_control_character_error_is_one_line():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "estate.yaml")
        Path(path).write_bytes(b"dpmsmt: 1\n\x00\n")
        code, _, err = run_cli(["check", path])
    assert code == 2
    assert "\n" not in err.rstrip("\n"), err
    assert err.startswith(f"dpmsmt: error: {path}:2:1: "), err


def digit_like_but_not_decimal(text: str) -> bool:
    """Characters such as `²` that `str.isdigit` accepts and `int` refuses (see the xfail below)."""
    return any(c.isdigit() and not c.isdecimal() for c in text)


@given(
    st.lists(
        st.text(
            alphabet=st.characters(categories=["Nd", "No", "Nl", "Zs"]) | st.sampled_from(".x"),
            min_size=1,
            max_size=8,
        ),
        min_size=2,
        max_size=2,
    )
)
def test_any_version_string_is_compared_without_crashing(versions):
    if any(map(digit_like_but_not_decimal, versions)):
        return  # the known bug below
    doc = {
        "dpmsmt": 1,
        "dpm_servers": {
            "DPM1": {"version": versions[0], "protects": ["DPM2"], "tape_library": "TL1"},
            "DPM2": {"version": versions[1], "tape_library": "TL1"},
        },
        "tape_libraries": {"TL1": {}},
    }
    t = dpmsmt.loads(json.dumps(doc), format="json")
    for profile in ("strict", "2019"):
        dpmsmt.check(t, profile=profile, today="2026-01-15")


def test_superscript_digit_in_a_version_is_not_a_crash():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "estate.yaml")
        Path(path).write_text(
            'dpmsmt: 1\ndpm_servers:\n  A: {version: "1.²", protects: [B]}\n'
            '  B: {version: "1.2"}\n',
            encoding="utf-8",
        )
        code, _, err = run_cli(["check", path])
    assert code in (0, 1), err


@given(mutated_examples(), st.sampled_from(["json", "sarif", "junit", "text"]), st.booleans())
def test_mutated_example_files_with_an_output(data, fmt, exists):
    """The same fuzzing with the report going to a file (issue 12): the input is never touched,
    an existing report is kept (no --force), a new one is whole or absent, no temporary stays."""
    with tempfile.TemporaryDirectory() as folder:
        path, out = os.path.join(folder, "estate.yaml"), os.path.join(folder, "report")
        Path(path).write_bytes(data)
        if exists:
            Path(out).write_text("an earlier report")
        code, _, err = run_cli(["check", path, "--format", fmt, "--output", out,
                                "--today", "2026-01-15"])  # fmt: skip
        assert code in (0, 1, 2), (code, err)
        assert Path(path).read_bytes() == data
        if exists:
            assert code == 2 and Path(out).read_text() == "an earlier report"
        elif code == 2:
            assert not os.path.exists(out)
        elif fmt in ("json", "sarif"):
            json.loads(Path(out).read_text(encoding="utf-8"))
        assert sorted(os.listdir(folder)) == sorted(
            ["estate.yaml", *(["report"] if exists or code != 2 else [])]
        )
