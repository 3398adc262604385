"""Every identity of the rule table, checked entrywise on random instances.

The checks dispatch on the rule's kind, so a rule added to :data:`matcalc.engine.rules.RULES` gets
its test with no change here.  Instances come from the rule's own ``example()``.
"""

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from matcalc.core.expr import (
    Apply,
    Derivative,
    Diag,
    Expr,
    Function,
    Softmax,
    Symbol,
    Transpose,
    add,
    hadamard,
    matmul,
    ones,
    scale,
    substitute,
    symbols_of,
    transpose,
)
from matcalc.core.losses import loss_rule
from matcalc.core.numeric import central_difference, evaluate, size
from matcalc.core.shapes import is_column, shapes_equal
from matcalc.engine.rules import RULES, Kind, Rule, pullback_rule, rule_named

TOLERANCE = {"rtol": 1e-5, "atol": 1e-7}


def random_values(symbols, rng: np.random.Generator, low=None, high=None) -> dict:
    """A random value for each symbol: standard normal, or uniform in (low, high)."""
    values = {}
    for symbol in sorted(symbols, key=repr):
        shape = (size(symbol.shape[0]), size(symbol.shape[1]))
        if low is None:
            values[symbol] = rng.standard_normal(shape)
        else:
            values[symbol] = rng.uniform(low, high, shape)
    return values


def gradient_of_pairing(node: Expr, wrt: Symbol, upstream: Symbol, env: dict) -> np.ndarray:
    """Finite-difference gradient of sum(G ⊙ node) with respect to ``wrt``."""

    def pairing(value: np.ndarray) -> float:
        return float(np.sum(env[upstream] * evaluate(node, {**env, wrt: value})))

    return central_difference(pairing, env[wrt])


def jacobian_by_differences(node: Expr, wrt: Symbol, env: dict) -> np.ndarray:
    """(dY/dx)_{ij} = dY_j/dx_i by central differences (denominator layout)."""
    outputs = size(node.shape[0])
    columns = []
    for j in range(outputs):

        def entry(value: np.ndarray, j: int = j) -> float:
            return float(evaluate(node, {**env, wrt: value})[j, 0])

        columns.append(central_difference(entry, env[wrt])[:, 0])
    return np.stack(columns, axis=1)


def free_derivatives(expr: Expr) -> set:
    """Derivatives standing as free quantities (dL/dY of an unspecified L)."""
    return {node for node in expr.walk() if isinstance(node, Derivative)}


def the_symbol_in(expr: Expr) -> Symbol:
    (symbol,) = symbols_of(expr)
    return symbol


# ----------------------------------------------------------------------------- by kind


def check_pullback(rule: Rule, rng: np.random.Generator) -> None:
    """The rule's dL/dX against finite differences of sum(G ⊙ node) with respect to X."""
    node, position = rule.example()
    argument = node.children[position]
    assert isinstance(argument, Symbol), "a pullback example differentiates by a symbol"
    upstream = Symbol("G", node.shape)
    env = random_values(symbols_of(node) | {upstream}, rng)
    result = rule.apply(node, position, upstream)
    env.update(random_values(free_derivatives(result), rng))
    assert shapes_equal(result.shape, argument.shape)
    expected = gradient_of_pairing(node, argument, upstream, env)
    np.testing.assert_allclose(evaluate(result, env), expected, **TOLERANCE)


def check_jacobian(rule: Rule, rng: np.random.Generator) -> None:
    """dY/dx against finite differences; for a matrix argument W (the weight links), the
    contraction dY/dW · G^T (Z = W^T A) or G · (dY/dW)^T (Z = W A) against the gradient of
    <G, Y> with respect to W."""
    node, position = rule.example()
    argument = node.children[position]
    env = random_values(symbols_of(node), rng)
    result = rule.apply(node, position)
    if isinstance(argument, Symbol) and is_column(argument.shape):
        assert shapes_equal(result.shape, (argument.shape[0], node.shape[0]))
        expected = jacobian_by_differences(node, argument, env)
        np.testing.assert_allclose(evaluate(result, env), expected, **TOLERANCE)
        return
    wrt = the_symbol_in(argument)
    upstream = Symbol("G", node.shape)
    env = {**env, **random_values({upstream}, rng)}
    if isinstance(argument, Transpose):  # Z = W^T A (6.390): dZ/dW · G^T
        contracted = matmul(result, transpose(upstream))
    else:  # Z = W A (Ng, Goodfellow): G · (dZ/dW)^T
        contracted = matmul(upstream, transpose(result))
    assert shapes_equal(contracted.shape, wrt.shape)
    expected = gradient_of_pairing(node, wrt, upstream, env)
    np.testing.assert_allclose(evaluate(contracted, env), expected, **TOLERANCE)


def check_rewrite(rule: Rule, rng: np.random.Generator) -> None:
    """Left and right side equal entrywise, with the definitions (A = f(Z)) bound."""
    instance = rule.example()
    expr, definitions = instance if isinstance(instance, tuple) else (instance, {})
    result = rule.apply(expr, definitions)
    assert result is not None and result != expr, "the rule applies to its own example"
    assert shapes_equal(result.shape, expr.shape)
    free = symbols_of(expr) | {s for d in definitions.values() for s in symbols_of(d)}
    env = random_values(free - set(definitions), rng)
    for symbol, definition in definitions.items():
        env[symbol] = evaluate(definition, env)
    np.testing.assert_allclose(evaluate(result, env), evaluate(expr, env), **TOLERANCE)


def check_loss(rule: Rule, rng: np.random.Generator) -> None:
    """dL/dA against finite differences of L, at A and y inside (0, 1)."""
    a, y = rule.example()
    value, gradient = rule.apply(a, y)
    assert shapes_equal(value.shape, (1, 1)) and shapes_equal(gradient.shape, a.shape)
    env = random_values({a, y}, rng, 0.05, 0.95)

    def loss_at(point: np.ndarray) -> float:
        return float(evaluate(value, {**env, a: point})[0, 0])

    expected = central_difference(loss_at, env[a])
    np.testing.assert_allclose(evaluate(gradient, env), expected, **TOLERANCE)


def check_fused(rule: Rule, rng: np.random.Generator) -> None:
    """dL/dZ equals the activation's pullback of the loss gradient, and finite differences.

    y is positive and sums to 1, as nllm with softmax needs (and nll allows).
    """
    a, y = rule.example()
    z = Symbol("Z", a.shape)
    activation = Softmax(z) if rule.activation == "softmax" else Apply(Function(rule.activation), z)
    env = random_values({z}, rng)
    target = rng.uniform(0.05, 1.0, (size(y.shape[0]), 1))
    env[y] = target / target.sum()
    env[a] = evaluate(activation, env)
    fused = evaluate(rule.apply(a, y), env)
    value, gradient = loss_rule(rule.loss).apply(a, y)
    composed = pullback_rule(activation, 0).apply(activation, 0, gradient)
    np.testing.assert_allclose(fused, evaluate(composed, env), **TOLERANCE)
    loss_of_z = substitute(value, {a: activation})

    def loss_at(point: np.ndarray) -> float:
        return float(evaluate(loss_of_z, {**env, z: point})[0, 0])

    np.testing.assert_allclose(fused, central_difference(loss_at, env[z]), **TOLERANCE)


def check_identity(rule: Rule, rng: np.random.Generator) -> None:
    """The textbook gradient and the engine's (pullbacks, then simplification) against finite
    differences of f.  Square matrices get 3 I added, so inverses are well conditioned."""
    from matcalc.core.expr import Fill
    from matcalc.core.shapes import SCALAR
    from matcalc.engine.pullback import pullback
    from matcalc.engine.simplify import simplify

    function, wrt = rule.example()
    env = random_values(symbols_of(function), rng)
    for symbol, value in env.items():
        if value.shape[0] == value.shape[1] > 1:
            env[symbol] = value + 3 * np.eye(value.shape[0])

    def value_at(point: np.ndarray) -> float:
        return float(evaluate(function, {**env, wrt: point})[0, 0])

    expected = central_difference(value_at, env[wrt])
    textbook = rule.apply(function, wrt)
    assert shapes_equal(textbook.shape, wrt.shape)
    np.testing.assert_allclose(evaluate(textbook, env), expected, **TOLERANCE)
    derived = simplify(pullback(function, wrt, Fill(1, SCALAR)))
    np.testing.assert_allclose(evaluate(derived, env), expected, **TOLERANCE)


CHECKS = {
    Kind.PULLBACK: check_pullback,
    Kind.JACOBIAN: check_jacobian,
    Kind.REWRITE: check_rewrite,
    Kind.LOSS: check_loss,
    Kind.FUSED: check_fused,
    Kind.IDENTITY: check_identity,
}


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.kind.value}: {r.name}" for r in RULES])
def test_rule_holds_entrywise(rule: Rule, rng):
    for _ in range(3):
        CHECKS[rule.kind](rule, rng)


def test_every_kind_has_a_check():
    assert set(CHECKS) == set(Kind)


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.kind.value}: {r.name}" for r in RULES])
def test_rule_is_documented(rule: Rule):
    assert rule.name.strip() and rule.statement.strip() and rule.source.strip()


# The Matrix Cookbook (Petersen & Pedersen, November 15, 2012) equations the table cites, each
# checked against two transcriptions of that edition: SymPy's matrix-derivative tests, which cite
# "Cookbook example N" (61-64, 69-72, 77-83, 99-127), and the Lean formalisation
# eric-wieser/lean-matrix-cookbook, whose theorem eq_N states equation N (1-46) and whose
# numbered skeleton of sections 2.1-2.8, read beside its transcription of the text, places the
# rest (49: first of "Linear forms", 57: third of "Other nonlinear forms", 131: third of
# "Two-norm", 132: the one of "Frobenius norm").
COOKBOOK_EQUATIONS = {
    3: "(A^T)^{-1} = (A^{-1})^T",
    4: "(A + B)^T = A^T + B^T",
    5: "(AB)^T = B^T A^T",
    11: "Tr(A) = sum_i A_ii",
    14: "Tr(AB) = Tr(BA)",
    34: "d(alpha X) = alpha dX",
    35: "d(X + Y) = dX + dY",
    37: "d(XY) = (dX) Y + X (dY)",
    38: "d(X o Y) = (dX) o Y + X o (dY)",
    40: "d(X^{-1}) = -X^{-1} (dX) X^{-1}",
    43: "d(ln(det(X))) = Tr(X^{-1} dX)",
    49: "d det(X) / dX = det(X) (X^{-1})^T",
    57: "d ln|det(X)| / dX = (X^{-1})^T = (X^T)^{-1}",
    61: "d a^T X^{-1} b / dX = -X^{-T} a b^T X^{-T}",
    62: "d det(X^{-1}) / dX = -det(X^{-1}) (X^{-1})^T",
    63: "d Tr(A X^{-1} B) / dX = -(X^{-1} B A X^{-1})^T",
    69: "d x^T a / dx = d a^T x / dx = a",
    70: "d a^T X b / dX = a b^T",
    71: "d a^T X^T b / dX = b a^T",
    78: "d (Bx + b)^T C (Dx + d) / dx = B^T C (Dx + d) + D^T C^T (Bx + b)",
    81: "d x^T B x / dx = (B + B^T) x",
    99: "d Tr(X) / dX = I",
    100: "d Tr(XA) / dX = A^T",
    101: "d Tr(AXB) / dX = A^T B^T",
    104: "d Tr(A X^T) / dX = A",
    108: "d Tr(X^T B X) / dX = B X + B^T X",
    115: "d Tr(X^T X) / dX = d Tr(X X^T) / dX = 2 X",
    131: "d ||x||_2^2 / dx = 2 x",
    132: "d ||X||_F^2 / dX = d Tr(X X^H) / dX = 2 X",
}
COOKBOOK_SECTIONS = {"2.8.1": "The Chain Rule (of Derivatives of Structured Matrices)"}


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.kind.value}: {r.name}" for r in RULES])
def test_cited_cookbook_equations_are_verified(rule: Rule):
    cited = {int(n) for n in re.findall(r"\beq\. (\d+)", rule.source)}
    assert cited <= set(COOKBOOK_EQUATIONS), f"unverified: {cited - set(COOKBOOK_EQUATIONS)}"
    assert set(re.findall(r"\bsec\. ([\d.]+\d)", rule.source)) <= set(COOKBOOK_SECTIONS)
    assert not cited or "Matrix Cookbook" in rule.source


def test_names_are_unique_per_kind():
    counts = Counter((rule.kind, rule.name) for rule in RULES)
    assert [key for key, count in counts.items() if count > 1] == []


# ------------------------------------------------------------------ the checks can fail


def _times_two(apply):
    return lambda *args: scale(2, apply(*args))


WRONG_RULES = {
    "product pullback, a factor 2 too many": (
        rule_named("product", Kind.PULLBACK),
        _times_two(rule_named("product", Kind.PULLBACK).apply),
    ),
    "weight link, a factor 2 too many": (
        rule_named("weight link", Kind.JACOBIAN),
        _times_two(rule_named("weight link", Kind.JACOBIAN).apply),
    ),
    "softmax Jacobian without -A A^T": (
        rule_named("softmax", Kind.JACOBIAN),
        lambda node, position: Diag(node),
    ),
    "activation Jacobian with f for f'": (
        rule_named("elementwise activation", Kind.JACOBIAN),
        lambda node, position: Diag(node),
    ),
    "squared loss without its 2": (
        rule_named("squared", Kind.LOSS),
        lambda a, y: (rule_named("squared", Kind.LOSS).apply(a, y)[0], a - y),
    ),
    "sigmoid with nll, sign flipped": (
        rule_named("sigmoid with nll", Kind.FUSED),
        lambda a, y: y - a,
    ),
    "quadratic form as 2 B x (B not symmetric)": (
        rule_named("quadratic form", Kind.IDENTITY),
        lambda f, x: scale(2, matmul(f.factors[1], x)),
    ),
    "sigma' written A (1 + A)": (
        rule_named("derivative of an activation from its output", Kind.REWRITE),
        lambda expr, definitions: hadamard(*definitions, one_plus(*definitions)),
    ),
    "sqrt' written as its argument": (
        rule_named("elementary derivatives", Kind.REWRITE),
        lambda expr, definitions: expr.arg,
    ),
    "a cancelled quotient that keeps a stray factor": (
        rule_named("entrywise cancellation", Kind.REWRITE),
        lambda expr, definitions: add(_column_of(expr, "z"), _column_of(expr, "y")),
    ),
    "a^T (u / a) summed without the quotient": (
        rule_named("sum of a quotient", Kind.REWRITE),
        lambda expr, definitions: scale(2, expr.factors[0]),
    ),
}


def _column_of(expr: Expr, name: str) -> Expr:
    return next(s for s in symbols_of(expr) if s.name == name)


def one_plus(expr: Expr) -> Expr:
    return add(ones(expr.shape[0], expr.shape[1]), expr)


@pytest.mark.parametrize(("rule", "wrong"), WRONG_RULES.values(), ids=WRONG_RULES.keys())
def test_a_wrong_rule_fails_its_check(rule: Rule, wrong, rng):
    with pytest.raises(AssertionError):
        CHECKS[rule.kind](replace(rule, apply=wrong), rng)
