"""Small helpers shared by rule modules: document paths, name lists, version comparison."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import z3

from dpmsmt.encode.facts import View, version_vector
from dpmsmt.model import DataSource, canon
from dpmsmt.rules._base import NULL, Rule, Scope, in_profiles

__all__ = [
    "DatasourceRule",
    "all_equal",
    "dpm_path",
    "ds_path",
    "group_by",
    "protects_path",
    "sorted_names",
    "version_facts",
    "versions_equal",
]


def sorted_names(names: Iterable[str]) -> list[str]:
    return sorted(names, key=canon)


def dpm_path(name: str, *rest) -> tuple:
    return ("dpm_servers", name, *rest)


def ds_path(ds: DataSource, *rest) -> tuple:
    return ("servers", ds.server, "datasources", ds.index, *rest)


def protects_path(view: View, x: str, y: str) -> tuple:
    """The `protects` entry of x that names y."""
    return dpm_path(x, "protects", view.dpm(x).protects.index(y))


def group_by(view: View, names: Iterable[str], attr: str) -> dict[str, list[str]]:
    """Value as written -> servers with it, servers sorted, keys in sorted order."""
    out: dict[str, list[str]] = {}
    for n in names:
        out.setdefault(getattr(view.dpm(n), attr), []).append(n)
    return {k: sorted_names(v) for k, v in sorted(out.items())}


def odd_one_out(groups: dict[str, list[str]]) -> str:
    """The first server of the second-largest group: where a mismatch is pointed at."""
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return ordered[1][1][0] if len(ordered) > 1 else ordered[0][1][0]


def version_facts(view: View, names: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """The distinct version vectors of `names`, padded to one width, sorted."""
    raw = {view.dpm(n).version for n in names}
    width = max(4, *(len(v.split(".")) for v in raw))
    return tuple(sorted({version_vector(v, width) for v in raw}))


def versions_equal(a: Sequence, b: Sequence, fields: int | None = None) -> z3.BoolRef:
    """Two versions agree on the fields both give (a NULL field is not given)."""
    n = len(a) if fields is None else fields
    return z3.And([z3.Or(a[k] == NULL, b[k] == NULL, a[k] == b[k]) for k in range(n)])


def all_equal(items: Sequence, eq) -> z3.BoolRef:
    return z3.And(
        [eq(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))]
    )


def version_match_holds(profile, versions: Sequence) -> z3.BoolRef:
    """VERSION-MATCH's equality: the whole build (strict, 2012, 2016) or major.minor (2019+)."""
    whole = all_equal(versions, versions_equal)
    major_minor = all_equal(versions, lambda a, b: versions_equal(a, b, 2))
    return z3.If(in_profiles(profile, "2019", "2022", "2025"), major_minor, whole)


class DatasourceRule(Rule):
    """A rule over one data source; `reads` gets its `DsFacts`, `entities`/`where` the source."""

    scope = Scope.DATASOURCE
    where_key: str | None = None

    def where(self, view, ds: DataSource) -> tuple:
        return ds_path(ds, self.where_key) if self.where_key else ds_path(ds)
