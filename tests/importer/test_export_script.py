"""scripts/Export-DpmTopology.ps1, tested where PowerShell cannot run: with a real PowerShell
grammar (tree-sitter-powershell). It parses without errors; every property it reads (each
`Read-Property OBJECT 'Section' 'Name'` call) is one the importer knows, and every property the
importer knows is read, so the two ends cannot drift apart; it calls nothing that changes the
server, and no module but DataProtectionManager.
"""

from __future__ import annotations

import re

import pytest
from paths import REPO_DIR

from dpmsmt.importer.exportfile import PROPERTIES

SCRIPT = REPO_DIR / "scripts" / "Export-DpmTopology.ps1"

tree_sitter = pytest.importorskip("tree_sitter", reason="tree-sitter is in the test extra")
tsp = pytest.importorskip(
    "tree_sitter_powershell", reason="tree-sitter-powershell is in the test extra"
)


def parse(source: bytes):
    parser = tree_sitter.Parser(tree_sitter.Language(tsp.language()))
    return parser.parse(source)


def nodes(node):
    yield node
    for child in node.children:
        yield from nodes(child)


def text(source: bytes, node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8")


def problems(source: bytes) -> list[str]:
    tree = parse(source)
    return [
        f"{n.start_point[0] + 1}:{n.start_point[1] + 1}: {text(source, n)[:60]!r}"
        for n in nodes(tree.root_node)
        if n.type == "ERROR" or n.is_missing
    ]


def commands(source: bytes) -> list[tuple[str, object]]:
    """(command name, command node) of every command the script calls."""
    out = []
    for n in nodes(parse(source).root_node):
        if n.type == "command":
            name = n.child_by_field_name("command_name")
            if name is not None:
                out.append((text(source, name), n))
    return out


def string_arguments(source: bytes, command) -> list[str]:
    """The single-quoted literal arguments of a command, in order, up to its first `-Option`."""
    out = []
    elements = command.child_by_field_name("command_elements")
    for child in elements.children if elements is not None else ():
        if child.type == "command_parameter":
            break
        literal = [n for n in nodes(child) if n.type == "verbatim_string_characters"]
        if literal:
            out.append(text(source, literal[0]).strip("'"))
    return out


SOURCE = SCRIPT.read_bytes()


def test_the_grammar_finds_errors():
    """The check below can fail: a broken script has ERROR nodes."""
    assert problems(b"function Broken { param($a\n if ($a) { }\n")
    assert not problems(b"function Fine {\n param($a)\n if ($a) { 'x' }\n}\n")


def test_script_parses_without_errors():
    assert problems(SOURCE) == []


def test_every_property_read_is_one_the_importer_knows_and_back():
    reads = set()
    for name, command in commands(SOURCE):
        if name == "Read-Property":
            args = string_arguments(SOURCE, command)
            assert len(args) == 2, f"Read-Property needs 'Section' 'Name' literals: {args}"
            reads.add(tuple(args))
    known = {(section, prop) for section, props in PROPERTIES.items() for prop in props}
    assert reads - known == set(), "the script reads properties the importer does not know"
    assert known - reads == set(), "the importer expects properties the script never reads"


def test_properties_are_read_by_name_never_all_at_once():
    source = SOURCE.decode("utf-8")
    assert ".PSObject.Properties[$Property]" in source
    called = {name.casefold() for name, _ in commands(SOURCE)}
    assert not called & {"select-object", "select", "format-list", "fl"}


# Commands that only read, or write the export file itself (Move-Item of the `.partial` file).
_ALLOWED = {
    "Import-Module",
    "Connect-DPMServer",
    "Disconnect-DPMServer",
    "Set-StrictMode",
    "New-Object",
    "Join-Path",
    "Test-Path",
    "Move-Item",
    "ConvertTo-Json",
    "Write-Progress",
    "Write-Host",
    "Write-Warning",
    "$Body",  # Invoke-Section runs the script's own blocks (`& $Body`)
}


def test_read_only_and_no_module_but_dataprotectionmanager():
    source = SOURCE.decode("utf-8")
    defined = set(re.findall(r"^function\s+([\w-]+)", source, re.M))
    for name, _ in commands(SOURCE):
        if name in defined or name in _ALLOWED or name.startswith("Get-"):
            continue
        pytest.fail(f"the script calls {name}, which may change the server")
    imports = [c for n, c in commands(SOURCE) if n == "Import-Module"]
    assert [string_arguments(SOURCE, c) or text(SOURCE, c) for c in imports] == [
        "Import-Module -Name DataProtectionManager -ErrorAction Stop"
    ]
    dpm = {n for n, _ in commands(SOURCE) if "DPM" in n}
    assert dpm == {
        "Connect-DPMServer",
        "Disconnect-DPMServer",
        "Get-DPMDatasource",
        "Get-DPMLibrary",
        "Get-DPMProductionServer",
        "Get-DPMProtectionGroup",
    }
    moved = [text(SOURCE, c) for n, c in commands(SOURCE) if n == "Move-Item"]
    assert moved == ["Move-Item -LiteralPath $temporary -Destination $full -Force"]


def test_help_parameters_progress_and_json():
    source = SOURCE.decode("utf-8")
    help_block = source[source.index("<#") : source.index("#>")]
    for keyword in (".SYNOPSIS", ".DESCRIPTION", ".PARAMETER OutputPath", ".EXAMPLE"):
        assert keyword in help_block
    assert re.search(r"param\(\s*\[Parameter\(Position = 0\)\]\s*\[string\] \$OutputPath", source)
    assert "Write-Progress" in {n for n, _ in commands(SOURCE)}
    depth = re.search(r"ConvertTo-Json -InputObject \$Export -Depth (\d+)", source)
    assert depth and int(depth.group(1)) >= 5  # export > section > record > list of names
    assert "UTF8Encoding -ArgumentList $false" in source  # UTF-8, no byte order mark
    assert "dpmsmtExport        = 1" in source
