"""Gradients of random scalar functions of matrices (trace, inverse, det, log det, norms,
products, transposes, sums, scalar multiples, Hadamard, elementwise functions) against central
finite differences: the generic pullback covers every combination of the supported operations.
"""

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from matcalc.core.expr import (
    Apply,
    Det,
    Expr,
    Fill,
    Function,
    Identity,
    Inverse,
    LogDet,
    ScalarProduct,
    SquaredNorm,
    Sum,
    Symbol,
    Trace,
    add,
    broadcast,
    hadamard,
    matmul,
    scalar_product,
    scale,
    transpose,
)
from matcalc.core.numeric import central_difference, evaluate
from matcalc.core.shapes import SCALAR, dim, shapes_equal
from matcalc.engine.pullback import pullback
from matcalc.engine.rules import NoRuleError
from matcalc.engine.simplify import simplify
from matcalc.printers.latex import to_latex

PROPERTY = settings(max_examples=60, deadline=None)
N = dim(3)
X = Symbol("X", (N, N))
A = Symbol("A", (N, N))
B = Symbol("B", (N, N))
V = Symbol("v", (N, dim(1)))
C = Symbol("c", (N, dim(1)))
S = Symbol("s", SCALAR)
ONE = Fill(sympy.Integer(1), SCALAR)


def well_conditioned(m: Expr) -> Expr:
    """tanh(M) + 4 I: entries of tanh(M) are below 1, so its eigenvalues have real part > 1."""
    return add(Apply(Function("tanh"), m), scale(4, Identity(N)))


@st.composite
def matrices(draw, depth: int = 2) -> Expr:
    """A random 3 x 3 expression in X, A, B."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([X, X, A, B, transpose(X), Identity(N)]))
    op = draw(
        st.sampled_from(
            ["matmul", "add", "transpose", "scale", "hadamard", "apply", "inverse", "scalar"]
        )
    )
    left = draw(matrices(depth - 1))
    if op in ("matmul", "add", "hadamard"):
        right = draw(matrices(depth - 1))
        return {"matmul": matmul, "add": add, "hadamard": hadamard}[op](left, right)
    if op == "transpose":
        return transpose(left)
    if op == "scale":
        return scale(draw(st.sampled_from([-1, 2, sympy.Rational(1, 2)])), left)
    if op == "apply":
        return Apply(Function(draw(st.sampled_from(["tanh", "sigmoid"]))), left)
    if op == "inverse":
        return Inverse(well_conditioned(left))
    return scalar_product(draw(scalars(depth - 1)), left)


@st.composite
def scalars(draw, depth: int = 2) -> Expr:
    """A random scalar function of the matrices above."""
    m = draw(matrices(depth))
    kind = draw(
        st.sampled_from(["trace", "norm", "det", "logdet", "bilinear", "sum", "product", "plus"])
    )
    if kind == "trace":
        return Trace(m)
    if kind == "norm":
        return SquaredNorm(m)
    if kind == "det":
        return Det(well_conditioned(m))
    if kind == "logdet":
        return LogDet(well_conditioned(m))
    if kind == "bilinear":
        return matmul(transpose(C), m, add(C, V))
    if kind == "sum":
        return Sum(m)
    other = Trace(draw(matrices(depth - 1))) if depth else S
    if kind == "product":
        return ScalarProduct(other, SquaredNorm(m))
    return add(Trace(m), other)


def environment(rng: np.random.Generator) -> dict:
    env = {sym: 0.5 * rng.standard_normal((3, 3)) for sym in (X, A, B)}
    env[V] = rng.standard_normal((3, 1))
    env[C] = rng.standard_normal((3, 1))
    env[S] = rng.standard_normal((1, 1))
    return env


def assert_gradient_matches(function: Expr, wrt: Symbol, seed: int) -> None:
    env = environment(np.random.default_rng(seed))

    def value_at(point: np.ndarray) -> float:
        return float(evaluate(function, {**env, wrt: point})[0, 0])

    expected = central_difference(value_at, env[wrt])
    raw = pullback(function, wrt, ONE)
    tidy = simplify(raw)
    assert shapes_equal(tidy.shape, wrt.shape)
    scale_ = 1 + np.abs(expected).max()
    for gradient in (raw, tidy):
        np.testing.assert_allclose(evaluate(gradient, env), expected, rtol=1e-4, atol=1e-5 * scale_)
    to_latex(tidy)


@given(scalars(), st.integers(0, 2**32 - 1))
@PROPERTY
def test_random_scalar_functions_of_a_matrix(function, seed):
    if X not in set(function.walk()):
        function = add(function, Trace(X))
    assert_gradient_matches(function, X, seed)


@given(matrices(), st.integers(0, 2**32 - 1))
@PROPERTY
def test_random_functions_of_a_column_and_a_broadcast_scalar(m, seed):
    """||M v + s 1||^2 + s tr(M): v enters through a product, s through a broadcast."""
    function = add(
        SquaredNorm(add(matmul(m, V), broadcast(S, V.shape))), scalar_product(S, Trace(m))
    )
    assert_gradient_matches(function, V, seed)
    assert_gradient_matches(function, S, seed)


TEXTBOOK = [
    ("d tr(AX)/dX", Trace(matmul(A, X)), X, r"A^{T}"),
    ("d tr(X)/dX", Trace(X), X, "I"),
    ("d det(X)/dX", Det(X), X, r"\det\left(X\right)\,X^{-T}"),
    ("d log det(X)/dX", LogDet(X), X, r"X^{-T}"),
    ("d v^T A v/dv", matmul(transpose(V), A, V), V, r"\left(A + A^{T}\right)\,v"),
    (
        "d c^T X^{-1} v/dX",
        matmul(transpose(C), Inverse(X), V),
        X,
        r"-X^{-T}\,c\,v^{T}\,X^{-T}",
    ),
    ("d s ||v||^2/dv", ScalarProduct(S, SquaredNorm(V)), V, r"2\,s\,v"),
    ("d ||Xv + s1||^2/ds", SquaredNorm(add(matmul(X, V), broadcast(S, V.shape))), S, None),
]


@pytest.mark.parametrize(
    ("function", "wrt", "latex"), [case[1:] for case in TEXTBOOK], ids=[c[0] for c in TEXTBOOK]
)
def test_results_take_the_textbook_form(function, wrt, latex, rng):
    tidy = simplify(pullback(function, wrt, ONE))
    if latex is not None:
        assert to_latex(tidy) == latex
    assert_gradient_matches(function, wrt, 7)


def test_no_rule_fails_loudly():
    with pytest.raises(NoRuleError, match="does not depend on"):
        pullback(Trace(A), X, ONE)
