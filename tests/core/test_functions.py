"""Scalar functions in numbers: every built-in function and derivative order, and a table of
user-defined functions read from scalar LaTeX, evaluated entrywise against ``sympy.lambdify``
of the same formula and against central differences of the order below."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from matcalc.core import functions
from matcalc.reading.scalar_latex import read_scalar

POSITIVE_ONLY = {"log", "sqrt", "reciprocal"}
USER_FORMULAS = [
    r"\log(1 + e^{z})",
    r"\max(0.1 z, z)",
    r"\min(z, 1) + |z|",
    r"\arctan(z) + \tan(z / 4)",
    r"\sinh(z) / \cosh(z)^2",
    r"z^3 - \frac{1}{2} z + \sqrt{2}",
    r"\sigma(z) (1 - \sigma(z))",
]


def _points(positive: bool) -> np.ndarray:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(-3, 3, 40), [0.0, 1.0, -1.0]]).reshape(-1, 1)
    return np.abs(values) + 0.1 if positive else values


def _user(formula: str) -> functions.ScalarFunction:
    return functions.ScalarFunction(formula, formula, read_scalar(formula, ("z",), "test"))


CASES = [(f, order) for f in functions.BUILTIN.values() for order in range(4)]
CASES += [(_user(text), order) for text in USER_FORMULAS for order in range(3)]


@pytest.mark.parametrize(("function", "order"), CASES, ids=lambda c: str(getattr(c, "name", c)))
def test_entrywise_values_are_lambdify_s(function: functions.ScalarFunction, order: int) -> None:
    points = _points(function.name in POSITIVE_ONLY)
    formula = function.formula_of_order(order).replace(sympy.DiracDelta, lambda *_: 0)
    expected = sympy.lambdify(functions.Z, formula, modules=[{"erf": np.vectorize(math.erf)}, np])(
        points
    )
    functions._entrywise(formula, np)  # every readable function is evaluated without lambdify
    got = functions.evaluate(function, order, points)
    assert got.shape == points.shape
    np.testing.assert_allclose(got, np.broadcast_to(expected, points.shape), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    ("function", "order"), [c for c in CASES if c[1] >= 1], ids=lambda c: str(getattr(c, "name", c))
)
def test_each_order_is_the_slope_of_the_one_below(
    function: functions.ScalarFunction, order: int
) -> None:
    points = _points(function.name in POSITIVE_ONLY)
    away = (np.abs(points[:, 0]) > 0.05) & (np.abs(np.abs(points[:, 0]) - 1) > 0.05)
    points = points[away]  # away from the kinks of max, min, |z| and step, at 0 and 1
    h = 1e-6
    slope = (
        functions.evaluate(function, order - 1, points + h)
        - functions.evaluate(function, order - 1, points - h)
    ) / (2 * h)
    np.testing.assert_allclose(
        functions.evaluate(function, order, points), slope, rtol=1e-5, atol=1e-5
    )
