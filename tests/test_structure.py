"""The house rules of the package's shape (issue 15), checked on its source: short functions and
classes, no writes into frozen objects, no module-global caches, tests through public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = sorted((ROOT / "dpmsmt").rglob("*.py"))
TESTS = sorted((ROOT / "tests").rglob("*.py"))
MAX_FUNCTION = 60
MAX_CLASS = 300


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def _lengths(kind: tuple[type, ...], limit: int) -> list[str]:
    return [
        f"{_where(p, n)} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
        for p in PACKAGE
        for n in ast.walk(_tree(p))
        if isinstance(n, kind) and n.end_lineno - n.lineno + 1 > limit
    ]


def test_no_function_is_longer_than_60_lines():
    assert _lengths((ast.FunctionDef, ast.AsyncFunctionDef), MAX_FUNCTION) == []


def test_no_class_is_longer_than_300_lines():
    assert _lengths((ast.ClassDef,), MAX_CLASS) == []


def _writes_into_objects(tree: ast.Module) -> list[ast.AST]:
    """`x.__dict__[...] = …`, `x.__dict__.setdefault(…)`, `object.__setattr__(…)`."""
    found = []
    for n in ast.walk(tree):
        if (isinstance(n, ast.Attribute) and n.attr == "__dict__") or (
            isinstance(n, ast.Attribute)
            and n.attr == "__setattr__"
            and isinstance(n.value, ast.Name)
            and n.value.id == "object"
        ):
            found.append(n)
    return found


def test_nothing_writes_into_frozen_objects():
    assert [_where(p, n) for p in PACKAGE for n in _writes_into_objects(_tree(p))] == []


_CACHES = {"cache", "lru_cache"}


def _module_caches(tree: ast.Module) -> list[ast.AST]:
    """Module-level memoising decorators and module-level containers that start empty."""
    found = []
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in n.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                name = (
                    target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                )
                if name in _CACHES:
                    found.append(n)
        value = n.value if isinstance(n, (ast.Assign, ast.AnnAssign)) else None
        empty = (isinstance(value, ast.Dict) and not value.keys) or (
            isinstance(value, ast.List) and not value.elts
        )
        if empty or (
            isinstance(value, ast.Call)
            and getattr(value.func, "id", "") in {"dict", "list", "set"}
            and not value.args
        ):
            found.append(n)
    return found


def test_no_module_keeps_a_global_cache():
    assert [_where(p, n) for p in PACKAGE for n in _module_caches(_tree(p))] == []


def _private_uses(tree: ast.Module) -> list[str]:
    """Private dpmsmt names a test imports or reaches through an imported dpmsmt module."""
    modules: set[str] = set()
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("dpmsmt"):
            for a in n.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    found.append(f"{n.module}.{a.name}")
                else:
                    modules.add(a.asname or a.name)
        elif isinstance(n, ast.Import):
            for a in n.names:
                if a.name.startswith("dpmsmt"):
                    modules.add(a.asname or a.name.split(".")[0])
    for n in ast.walk(tree):
        if (
            isinstance(n, ast.Attribute)
            and n.attr.startswith("_")
            and not n.attr.startswith("__")
            and isinstance(n.value, (ast.Name, ast.Attribute))
            and ast.unparse(n.value).split(".")[0] in modules
        ):
            found.append(ast.unparse(n))
    return found


@pytest.mark.parametrize("path", TESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_tests_use_public_names_only(path):
    assert _private_uses(_tree(path)) == []


def test_the_checks_find_what_they_look_for():
    """Each detector flags a small example of what it forbids (so an empty list means something)."""
    frozen = ast.parse("x.__dict__['a'] = 1\nobject.__setattr__(x, 'a', 1)\n")
    assert len(_writes_into_objects(frozen)) == 2
    caches = ast.parse(
        "@functools.cache\ndef f(): pass\n_MEMO = {}\n_SEEN = set()\nTABLE = {'a': 1}\n"
    )
    assert len(_module_caches(caches)) == 3
    private = ast.parse("from dpmsmt.recovery import _x\nimport dpmsmt.design as d\nd._y\nd.z\n")
    assert _private_uses(private) == ["dpmsmt.recovery._x", "d._y"]
