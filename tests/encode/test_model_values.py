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


def test_evolve_is_replace_for_the_records():
    from dataclasses import replace

    import pytest

    from dpmsmt.model import DataSource, evolve

    ds = DataSource(server="S", name="D:\\", primary="DPM1", secondary="DPM3")
    changed = evolve(ds, primary="DPM3", mode="switched", switched_from="DPM1", secondary=None)
    assert changed == replace(
        ds, primary="DPM3", mode="switched", switched_from="DPM1", secondary=None
    )
    assert changed.switched and ds.primary == "DPM1"  # a new record; the old one is unchanged
    assert evolve(ds) == ds and evolve(ds) is not ds
    with pytest.raises(TypeError):
        evolve(ds, primry="DPM2")
