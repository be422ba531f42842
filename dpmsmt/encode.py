"""Topology -> the facts rules read (`View`), and rule formulas -> one SMT-LIB problem (`Grounder`).

Encoding idea (signature grounding, see ../shared/guide/performance.md): joins and lookups are done
once in Python (`View`), each rule reads the facts of an instance as plain values, and instances
with equal facts share one Boolean. Each rule's formula is built once per shape as a Z3 term over
symbolic facts and printed as SMT-LIB text; grounding a signature substitutes its values into that
text. All grounded formulas go into one SMT-LIB string that Z3 solves in one `check`; the model
says, per signature, whether the rule holds. Quantifiers, per-instance terms through the Python
API and per-violation unsat cores are avoided: they cost orders of magnitude more at estate scale.
"""

from __future__ import annotations

import itertools
import operator
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from types import SimpleNamespace
from typing import Any, NamedTuple

import networkx as nx
import z3

from dpmsmt.findings import SolverGaveUp
from dpmsmt.graph import knows as _knows
from dpmsmt.graph import protection_graph
from dpmsmt.model import DataSource, Policy, Topology, canon
from dpmsmt.rules._base import NULL, Rule, Scope, profile_code

__all__ = ["Grounder", "View", "code"]

# Enumerations of the file format as ints, for formulas. Stable: never renumber.
_CODES: dict[str, tuple[str, ...]] = {
    "status": ("up", "failed", "removed"),
    "kind": ("dpm", "mabs"),
    "backup": ("none", "secondary", "azure", "own-pool", "tape", "share", "sql-native"),
    "sql": ("local", "remote"),
    "vss": ("running", "stopped"),
    "trust": ("trusted", "untrusted", "workgroup"),
    "auth": ("kerberos", "ntlm", "certificate"),
    "short_term": ("disk", "tape"),
    "long_term": ("none", "tape", "online", "online-and-tape"),
    "mode": ("normal", "switched"),
    "type": (
        "volume",
        "share",
        "folder",
        "sql",
        "hyperv",
        "exchange",
        "sharepoint",
        "system-state",
        "bare-metal",
        "client",
        "other",
        "vmware",
    ),
    "storage": ("intact", "lost"),
    "location": ("on-premises", "azure"),
    "account": ("local-system", "domain"),
}


_CODE_INDEX = {enum: {v: i for i, v in enumerate(values)} for enum, values in _CODES.items()}


def code(enum: str, value: str | None) -> int:
    """The int of an enumeration value (`code("status", "up") == 0`); NULL for None."""
    if value is None:
        return NULL
    return _CODE_INDEX[enum][value]


def version_vector(version: str, width: int = 4) -> tuple[int, ...]:
    """`10.19.58.0` -> (10, 19, 58, 0); missing fields are NULL ("compare the fields both give").

    A non-numeric field becomes a stable negative number below NULL, so it compares by text.
    """
    out = []
    for part in version.split("."):
        part = part.strip()
        numeric = part.isascii() and part.isdigit()
        out.append(int(part) if numeric else -2 - zlib.crc32(part.encode()) % 1_000_000)
    out += [NULL] * (width - len(out))
    return tuple(out)


class DsFacts(NamedTuple):
    """What data-source rules may read: a data source without its name, plus its server's facts.

    Data sources with equal facts are one signature, so 200k data sources ground to a few
    hundred formulas.
    """

    type: str
    primary: str | None
    secondary: str | None
    mode: str
    switched_from: str | None
    dedup: bool
    hyperv_scale_out: bool
    policy: Policy | None
    secondary_policy: Policy | None
    farm: str | None
    agents: tuple[str, ...]
    server_switched: bool

    @classmethod
    def of(cls, ds: DataSource, agents: tuple[str, ...], server_switched: bool) -> DsFacts:
        """The facts of a data source on a server with these agents (and switched state)."""
        return cls(
            ds.type,
            ds.primary,
            ds.secondary,
            ds.mode,
            ds.switched_from,
            ds.dedup,
            ds.hyperv_scale_out,
            ds.policy,
            ds.secondary_policy,
            ds.farm,
            agents,
            server_switched,
        )


@dataclass
class View:
    """Precomputed joins over one snapshot, and the int encoding of names for formulas."""

    topology: Topology
    profile: str

    @cached_property
    def g(self) -> nx.DiGraph:
        return protection_graph(self.topology)

    @cached_property
    def index(self) -> dict[str, int]:
        names = sorted(self.topology.dpm_servers, key=canon)
        return {n: i for i, n in enumerate(names)}

    def idx(self, name: str | None) -> int:
        return NULL if name is None else self.index[name]

    @property
    def profile_code(self) -> int:
        return profile_code(self.profile)

    def dpm(self, name: str):
        return self.topology.dpm_servers[name]

    def protectors(self, name: str) -> tuple[str, ...]:
        return self.topology.protectors[name]

    def status(self, name: str | None) -> int:
        return NULL if name is None else code("status", self.dpm(name).status)

    def version(self, name: str) -> tuple[int, ...]:
        return version_vector(self.dpm(name).version)

    @cached_property
    def component(self) -> dict[str, frozenset[str]]:
        """`component(d)` for every DPM server, from one pass over the weak components."""
        out: dict[str, frozenset[str]] = {}
        for nodes in nx.weakly_connected_components(self.g):
            comp = frozenset(nodes)
            for n in comp:
                out[n] = comp
        return out

    def knows(self, s: str) -> frozenset[str]:
        cache = self.__dict__.setdefault("_knows", {})
        if s not in cache:
            cache[s] = _knows(self.topology, self.g, s)
        return cache[s]

    def string_id(self, text: str | None) -> int:
        """Interned int of a free-text value (an OS string), for equality in formulas."""
        if text is None:
            return NULL
        table = self.__dict__.setdefault("_strings", {})
        return table.setdefault(text, len(table))

    # -- per-server and per-DPM aggregates ------------------------------------------------
    @cached_property
    def first_switched(self) -> dict[str, DataSource]:
        """Protected server -> its first switched data source (list order), where it has one."""
        out = {}
        for name, s in self.topology.servers.items():
            for ds in s.datasources:
                if ds.switched:
                    out[name] = ds
                    break
        return out

    @cached_property
    def datasource_groups(self) -> dict[DsFacts, list[DataSource]]:
        """Data sources grouped by their facts (one pass over the estate, shared by every view
        of the same protected servers: a failure changes DPM servers, not data sources)."""
        return grouped_datasources(self.topology.servers)

    @cached_property
    def datasource_load(self) -> dict[str, int]:
        """DPM -> data sources it holds as primary or secondary (each counted once)."""
        out = dict.fromkeys(self.topology.dpm_servers, 0)
        for facts, group in self.datasource_groups.items():
            n = len(group)
            if facts.primary is not None:
                out[facts.primary] += n
            if facts.secondary is not None and facts.secondary != facts.primary:
                out[facts.secondary] += n
        return out

    @cached_property
    def agent_load(self) -> dict[str, int]:
        """DPM -> protected computers whose agent it owns."""
        out = dict.fromkeys(self.topology.dpm_servers, 0)
        for s in self.topology.servers.values():
            for a in s.agents:
                out[a] += 1
        return out

    # -- instances per scope ----------------------------------------------------------------
    def instances(self, scope: Scope) -> Iterable[Any]:
        t = self.topology
        if scope is Scope.DPM:
            return sorted(t.dpm_servers, key=canon)
        if scope is Scope.EDGE:
            return sorted(self.g.edges, key=lambda e: (canon(e[0]), canon(e[1])))
        if scope is Scope.COMPONENT:
            comps = {c for c in self.component.values() if len(c) > 1}
            return sorted((tuple(sorted(c, key=canon)) for c in comps), key=_names_key)
        if scope is Scope.CYCLE:
            return sorted(
                (
                    tuple(sorted(c, key=canon))
                    for c in nx.strongly_connected_components(self.g)
                    if len(c) > 1
                ),
                key=_names_key,
            )
        if scope is Scope.LIBRARY:
            libs: dict[str, list[str]] = {}
            for name, d in t.dpm_servers.items():
                if d.tape_library is not None and d.status != "removed":
                    libs.setdefault(d.tape_library, []).append(name)
            return sorted(
                ((lib, tuple(sorted(ns, key=canon))) for lib, ns in libs.items() if len(ns) > 1),
                key=lambda x: canon(x[0]),
            )
        if scope is Scope.SERVER:
            return sorted(t.servers, key=canon)
        if scope is Scope.DATASOURCE:
            return self.datasource_groups
        if scope is Scope.INACTIVE:
            out = []
            if not any(d.inactive for d in t.dpm_servers.values()):
                return out  # no index of 200k data sources for nothing
            by_id = t.datasource_by_id
            for name in sorted(t.dpm_servers, key=canon):
                for i, entry in enumerate(t.dpm_servers[name].inactive):
                    ds = by_id.get(canon(entry.datasource))
                    if ds is not None:
                        out.append(Inactive(name, i, entry.from_, ds))
            return out
        raise ValueError(f"scope {scope} needs two snapshots")  # pragma: no cover


_DS_FIELDS = operator.attrgetter(*DsFacts._fields[:-2])  # a data source's own facts
_GROUPS_CACHE: list[tuple[Any, dict]] = []  # (servers mapping, its groups), most recent last


def grouped_datasources(servers) -> dict[DsFacts, list[DataSource]]:
    """Data sources of `servers` grouped by their facts; the last few answers are remembered by
    the identity of the mapping (which is kept alive with them), since views of the states of a
    failure share one mapping of 200k data sources."""
    for key, groups in _GROUPS_CACHE:
        if key is servers:
            return groups
    by_key: dict[tuple, list[DataSource]] = {}  # plain tuples first: 200k NamedTuples cost
    for s in servers.values():
        agents = s.agents
        sw = any(ds.mode == "switched" for ds in s.datasources)
        for ds in s.datasources:
            key = (*_DS_FIELDS(ds), agents, sw)
            group = by_key.get(key)
            if group is None:
                by_key[key] = [ds]
            else:
                group.append(ds)
    groups = {DsFacts._make(key): group for key, group in by_key.items()}
    if len(servers) >= 256:  # small estates are cheap to group again
        _GROUPS_CACHE.append((servers, groups))
        del _GROUPS_CACHE[:-3]
    return groups


class Inactive(NamedTuple):
    """An inactive replica that DPM server `holder` still holds (format.md, `inactive`)."""

    holder: str
    index: int
    from_: str | None
    datasource: DataSource


def _names_key(names: tuple[str, ...]) -> list[str]:
    return [canon(n) for n in names]


# ---------------------------------------------------------------------------------------------
# Grounding rule formulas into one SMT-LIB problem

_VAR = re.compile(r"v__(\d+)")


def _symbolic(value: Any, counter) -> Any:
    if isinstance(value, bool):
        return z3.Bool(f"v__{next(counter)}")
    if isinstance(value, int):
        return z3.Int(f"v__{next(counter)}")
    if isinstance(value, tuple):
        return [_symbolic(v, counter) for v in value]
    raise TypeError(f"a rule fact must be a bool, an int or a tuple of them, not {value!r}")


def _literals(value: Any, out: list[str]) -> None:
    if isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value) if value >= 0 else f"(- {-value})")
    else:
        for v in value:
            _literals(v, out)


def _shape(value: Any) -> Any:
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "i"
    return tuple(_shape(v) for v in value)


def symbolic_facts(facts: dict[str, Any]) -> SimpleNamespace:
    """Fresh Z3 constants shaped like `facts` (for building a rule's template)."""
    counter = itertools.count()
    return SimpleNamespace(**{k: _symbolic(v, counter) for k, v in facts.items()})


def _as_bool(expr: Any) -> z3.BoolRef:
    return z3.BoolVal(expr) if isinstance(expr, bool) else expr


class Grounder:
    """Collects grounded rule formulas, one Boolean per (rule, signature), and solves them."""

    def __init__(self) -> None:
        self._templates: dict[tuple, tuple[str, str | None]] = {}
        self._signatures: dict[tuple, tuple[str, str | None]] = {}
        self._lines: dict[str, str] = {}  # Boolean name -> its declaration and definition

    def template(self, rule: Rule, facts: dict[str, Any]) -> tuple[str, str | None]:
        key = (rule.id, tuple((k, _shape(v)) for k, v in facts.items()))
        found = self._templates.get(key)
        if found is None:
            f = symbolic_facts(facts)
            holds = _as_bool(rule.holds(f)).sexpr()
            severe = _as_bool(rule.severe(f)).sexpr() if rule.severe is not None else None
            found = self._templates[key] = (holds, severe)
        return found

    def ground(self, rule: Rule, facts: dict[str, Any]) -> str:
        """The rule's formula for `facts` as closed SMT-LIB text (true where the rule holds)."""
        holds_t, _ = self.template(rule, facts)
        lits: list[str] = []
        for v in facts.values():
            _literals(v, lits)
        return _VAR.sub(lambda m: lits[int(m.group(1))], holds_t)

    def add(self, rule: Rule, facts: dict[str, Any]) -> tuple[str, str | None]:
        """The names of the Booleans that say whether `rule` holds (and is severe) for `facts`."""
        key = (rule.id, tuple(facts.items()))
        found = self._signatures.get(key)
        if found is not None:
            return found
        holds_t, severe_t = self.template(rule, facts)
        lits: list[str] = []
        for v in facts.values():
            _literals(v, lits)

        def ground(text: str) -> str:
            return _VAR.sub(lambda m: lits[int(m.group(1))], text)

        n = len(self._signatures)
        hv = f"h{n}"
        self._lines[hv] = f"(declare-const {hv} Bool)\n(assert (= {hv} {ground(holds_t)}))"
        sv = None
        if severe_t is not None:
            sv = f"s{n}"
            self._lines[sv] = f"(declare-const {sv} Bool)\n(assert (= {sv} {ground(severe_t)}))"
        found = self._signatures[key] = (hv, sv)
        return found

    @property
    def size(self) -> int:
        return len(self._signatures)

    def smtlib(self) -> str:
        return "\n".join(self._lines.values())

    def definitions(self, names) -> str:
        """SMT-LIB text defining only the named Booleans (those a problem refers to)."""
        return "\n".join(self._lines[n] for n in sorted(set(names)))

    def solve(self, timeout: float | None) -> dict[str, bool]:
        """One `check` of everything grounded; the truth value of every Boolean.

        Raises SolverGaveUp when Z3 answers `unknown` (time limit reached or incomplete).
        """
        solver = new_solver(timeout)
        if self._lines:
            solver.from_string(self.smtlib())
        result = solver.check()
        if result != z3.sat:
            reason = solver.reason_unknown() if result == z3.unknown else "unsat"
            raise SolverGaveUp(f"the solver gave up: {reason}")
        return {k: bool(v) for k, v in model_values(solver.model()).items()}


_DEFINE = re.compile(
    r"\(define-fun (\|(?:[^|\\]|\\.)*\||[^\s()|]+) \(\) (?:Bool|Int)\s+(true|false|\d+|\(- \d+\))\)"
)
_ESCAPE = re.compile(r"\\(.)")


def model_values(model: z3.ModelRef) -> dict[str, int]:
    """Every Boolean and Int constant of a model by name (Booleans as 0/1).

    Read from the model's SMT-LIB text in one call: five times faster than asking the Python API
    for each of thousands of constants.
    """
    out: dict[str, int] = {}
    for name, value in _DEFINE.findall(model.sexpr()):
        if name.startswith("|"):  # a quoted symbol: `\|` and `\\` are escapes
            name = _ESCAPE.sub(r"\1", name[1:-1])
        if value == "true":
            out[name] = 1
        elif value == "false":
            out[name] = 0
        elif value.startswith("("):
            out[name] = -int(value[3:-1])
        else:
            out[name] = int(value)
    return out


def new_solver(timeout: float | None) -> z3.Solver:
    """A solver with fixed seeds (deterministic answers) and the time limit in seconds."""
    solver = z3.Solver()
    solver.set("random_seed", 0)
    if timeout is not None:
        solver.set("timeout", max(1, int(timeout * 1000)))
    return solver


class DsChange(NamedTuple):
    """A data source present in both snapshots (matched by `SERVER/NAME`)."""

    before: DataSource
    after: DataSource


@dataclass
class ChangeView:
    """Two snapshots side by side, for the change rules (rules.md, "Change rules").

    DPM servers are matched by name and data sources by id, both case-insensitively; names are
    encoded as ints over the union of both snapshots, so a server that exists only after the
    change (a new DPM4) still has a number.
    """

    before: View
    after: View

    @property
    def profile(self) -> str:
        return self.after.profile

    @cached_property
    def index(self) -> dict[str, int]:
        names = {canon(n): n for n in self.before.topology.dpm_servers}
        names.update({canon(n): n for n in self.after.topology.dpm_servers})
        ordered = sorted(names)
        out = {}
        for t in (self.before.topology, self.after.topology):
            for n in t.dpm_servers:
                out[n] = ordered.index(canon(n))
        return out

    def idx(self, name: str | None) -> int:
        return NULL if name is None else self.index[name]

    def knows(self, s: str) -> frozenset[str]:
        """`knows(s)` over both snapshots, as canonical names."""
        cache = self.__dict__.setdefault("_knows", {})
        if s not in cache:
            cache[s] = self._knows_uncached(s)
        return cache[s]

    def _knows_uncached(self, s: str) -> frozenset[str]:
        out = (
            {canon(n) for n in self.before.knows(s)}
            if s in self.before.topology.dpm_servers
            else set()
        )
        after = self.after.topology.dpm_servers
        match = next((n for n in after if canon(n) == canon(s)), None)
        if match is not None:
            out |= {canon(n) for n in self.after.knows(match)}
        return frozenset(out)

    @cached_property
    def datasources(self) -> list[DsChange]:
        after = self.after.topology.datasource_by_id
        out = []
        for ds in self.before.topology.datasources():
            match = after.get(canon(ds.id))
            if match is not None:
                out.append(DsChange(ds, match))
        return sorted(out, key=lambda c: canon(c.after.id))

    @cached_property
    def dpm_servers(self) -> list[tuple[str, str]]:
        """(name before, name after) of every DPM server in both snapshots."""
        after = {canon(n): n for n in self.after.topology.dpm_servers}
        return sorted(
            ((n, after[canon(n)]) for n in self.before.topology.dpm_servers if canon(n) in after),
            key=lambda p: canon(p[1]),
        )
