"""Models are read from their SMT-LIB text (`encode.model_values`): names that Z3 must quote
(DPM servers named `x\\y` or `a|b` end up in variable names) come back as written."""

import z3

from dpmsmt.encode import model_values


def test_quoted_and_plain_names_and_negative_ints():
    s = z3.Solver()
    s.add(
        z3.Int("count!0!rebuild!x\\y") == 1,
        z3.Int("a|b") == 2,
        z3.Int("with space") == 3,
        z3.Bool("plain"),
        z3.Not(z3.Bool("off")),
        z3.Int("neg") == -5,
    )
    assert s.check() == z3.sat
    assert model_values(s.model()) == {
        "count!0!rebuild!x\\y": 1,
        "a|b": 2,
        "with space": 3,
        "plain": 1,
        "off": 0,
        "neg": -5,
    }
