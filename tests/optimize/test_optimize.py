"""The shared optimisation core (`dpmsmt.optimize`) and the naming rule of new DPM servers."""

from __future__ import annotations

import z3

from dpmsmt.optimize.explain import irreducible
from dpmsmt.optimize.search import Criterion, attempts, block, minimize
from dpmsmt.plan import failover_server_name, new_server_name


def test_new_server_names_skip_the_names_the_estate_has():
    assert new_server_name([]) == "NEW-DPM-1"
    assert new_server_name(["new-dpm-1", "NEW-DPM-2"]) == "NEW-DPM-3"
    # one per down server, by its place among them; a taken name steps over the others' numbers
    assert failover_server_name(["DPM1", "DPM2"], {"DPM2", "DPM1"}, "DPM2") == "NEW-DPM-2"
    assert failover_server_name(["NEW-DPM-2"], {"B", "A"}, "B") == "NEW-DPM-4"


def _criteria(x, y, **options):
    return [
        Criterion(
            "x", lambda v: x <= v, lambda m: m.eval(x, model_completion=True).as_long(), **options
        ),
        Criterion(
            "y", lambda v: y <= v, lambda m: m.eval(y, model_completion=True).as_long(), **options
        ),
    ]


def _solver(x, y) -> z3.Solver:
    s = z3.Solver()
    s.set("random_seed", 0)
    s.add(x >= 0, y >= 0, x + y >= 7, x <= 9, y - x <= 2)
    return s


def test_minimize_by_halving_under_assumptions_and_linearly_in_scopes():
    x, y = z3.Ints("x y")
    for scoped, halving in ((False, True), (True, False), (True, True)):
        s = _solver(x, y)
        assert s.check() == z3.sat
        found = minimize(s, s.model(), _criteria(x, y, halving=halving), s.check, scoped=scoped)
        assert found.proved and found.values == {"x": 3, "y": 4}


def test_minimize_keeps_fixing_criteria_after_giving_up_where_asked():
    x, y = z3.Ints("x y")
    s = _solver(x, y)
    s.add(x == 9)  # a first model with x = 9, then every bound gives up
    assert s.check() == z3.sat
    first = s.model()
    found = minimize(s, first, _criteria(x, y), lambda *a: z3.unknown, give_up=False)
    assert not found.proved and found.values == {"x": 9, "y": first.eval(y).as_long()}
    stopped = minimize(_solver(x, y), first, _criteria(x, y), lambda *a: z3.unknown)
    assert not stopped.proved and stopped.values == {}


def test_attempts_stop_at_top_or_at_four_times_top_and_eight():
    found: list[int] = []
    assert sum(1 for _ in attempts(2, found)) == 16
    assert [found.append(i) or i for i in attempts(3, found)] == [1, 2, 3]


def test_block_excludes_exactly_the_models_decision():
    """Counts of a group sum to its size: its non-zero counts and the Booleans say everything."""
    n0, n1, b = z3.Int("n0"), z3.Int("n1"), z3.Bool("b")
    s = z3.Solver()
    s.add(n0 >= 0, n1 >= 0, n0 + n1 == 2)
    seen = []
    while s.check() == z3.sat:
        m = s.model()
        seen.append((m.eval(n0).as_long(), z3.is_true(m.eval(b, model_completion=True))))
        s.add(block(m, [n0, n1, b]))
    assert sorted(seen) == [(k, v) for k in range(3) for v in (False, True)]


def test_irreducible_names_a_minimal_blocking_set_of_rules():
    a, c = z3.Bools("a c")
    per_rule = {"R1": [z3.Not(a)], "R2": [z3.Not(c)], "R3": [z3.BoolVal(True)]}

    def solver() -> z3.Solver:
        s = z3.Solver()
        s.add(z3.Or(a, c))
        return s

    assert irreducible(per_rule, solver) == ["R1", "R2"]
    assert irreducible(per_rule, solver, precheck=True) == ["R1", "R2"]
    assert irreducible({"R1": [z3.Not(a)]}, solver) == []
