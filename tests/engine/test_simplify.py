"""The rewrite table indexed by node type gives what the whole table tried at every node gives."""

import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matcalc.core.expr import (
    Apply,
    Det,
    Diag,
    Expr,
    Fill,
    Function,
    Identity,
    Inverse,
    ScalarProduct,
    Softmax,
    Sum,
    Symbol,
    Trace,
    Transpose,
    add,
    hadamard,
    matmul,
    scale,
)
from matcalc.core.shapes import ONE, SCALAR, dim
from matcalc.engine.rules import REWRITES, Rule
from matcalc.engine.simplify import MAX_PASSES, NODE_TYPES, rule_index, simplify
from matcalc.printers.chains import KEEP_PRIME

N = dim("n")
X, Y = Symbol("X", (N, N)), Symbol("Y", (N, N))
Z, A = Symbol("Z", (N, ONE)), Symbol("A", (N, ONE))
V = Symbol("v", (N, ONE))
S = Symbol("s", SCALAR)
P = Symbol("P", (N, ONE))
DEFINITIONS = {A: Apply(Function("tanh"), Z), P: Softmax(Z)}
ONES = Fill(sympy.Integer(1), (N, ONE))


def simplify_unindexed(expr: Expr, definitions, used: list[Rule], rules) -> Expr:
    """The table as it reads: every rule tried at every node, bottom up, until none applies."""

    def once(node: Expr) -> Expr:
        if node.children:
            children = tuple(once(c) for c in node.children)
            if any(new is not old for new, old in zip(children, node.children, strict=True)):
                node = node.rebuild(children)
        for rule in rules:
            result = rule.apply(node, definitions)
            if result is not None and result != node:
                if rule not in used:
                    used.append(rule)
                return result
        return node

    for _ in range(MAX_PASSES):
        rewritten = once(expr)
        if rewritten == expr:
            return expr
        expr = rewritten
    raise AssertionError("did not settle")


@st.composite
def columns(draw, depth: int) -> Expr:
    """A random n x 1 expression over Z, A, v."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from([Z, A, V, Fill(sympy.Integer(1), (N, ONE))]))
    inner = draw(columns(depth - 1))
    kinds = ["tanh", "tanh'", "softmax", "diag", "hadamard", "scale", "add", "one minus"]
    kind = draw(st.sampled_from(kinds))
    if kind == "tanh":
        return Apply(Function("tanh"), inner)
    if kind == "tanh'":
        return Apply(Function("tanh", 1), draw(st.sampled_from([Z, inner])))
    if kind == "softmax":
        return Softmax(inner)
    if kind == "diag":
        return matmul(Diag(inner), draw(squares(depth - 1)), draw(columns(depth - 1)))
    if kind == "hadamard":
        return hadamard(inner, draw(columns(depth - 1)))
    if kind == "add":
        return add(inner, draw(columns(depth - 1)))
    if kind == "one minus":
        return add(scale(-1, inner), Fill(sympy.Integer(1), (N, ONE)))
    return scale(draw(st.sampled_from([-1, 2])), inner)


@st.composite
def squares(draw, depth: int) -> Expr:
    """A random n x n expression over X, Y: products, sums, transposes, inverses, scalars."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from([X, Y, Identity(N)]))
    left = draw(squares(depth - 1))
    kind = draw(
        st.sampled_from(
            [
                "T",
                "inv",
                "matmul",
                "add",
                "like",
                "common",
                "scale",
                "scalar",
                "diag",
                "outer",
                "hadamard",
            ]
        )
    )
    if kind == "T":
        return Transpose(left) if draw(st.booleans()) else left.T
    if kind == "inv":
        return Inverse(left)
    if kind == "matmul":
        return matmul(left, draw(squares(depth - 1)))
    if kind == "add":
        return add(left, draw(squares(depth - 1)))
    if kind == "like":
        right = draw(squares(depth - 1))
        return add(matmul(left, right), scale(2, matmul(draw(squares(depth - 1)), right)), left)
    if kind == "common":
        right = draw(squares(depth - 1))
        return add(matmul(left, right), scale(-1, matmul(draw(squares(depth - 1)), right)))
    if kind == "scale":
        return scale(draw(st.sampled_from([-1, 2, sympy.Rational(1, 2)])), left)
    if kind == "scalar":
        scalar = draw(
            st.sampled_from(
                [
                    S,
                    Trace(left),
                    Sum(left),
                    Det(left),
                    Fill(sympy.Integer(2), SCALAR),
                    Sum(Trace(left)),
                    Trace(scale(2, S)),
                    Sum(scale(3, left)),
                ]
            )
        )
        return ScalarProduct(scalar, draw(squares(depth - 1)))
    if kind == "diag":
        return Diag(draw(columns(depth - 1)))
    if kind == "outer":
        return matmul(draw(columns(depth - 1)), V.T)
    return hadamard(left, draw(squares(depth - 1)))


expressions = st.one_of(
    squares(4),
    columns(4),
    squares(3).map(Trace),
    squares(3).map(lambda x: Apply(Function("log"), Det(x))),
)


@settings(max_examples=300, deadline=None)
@given(expressions, st.sampled_from([REWRITES, KEEP_PRIME]))
@example(matmul(X, Diag(ONES)), REWRITES)
@example(hadamard(Softmax(Z), Apply(Function("tanh", 1), Z)), REWRITES)
def test_indexed_simplify_matches_the_whole_table(expr, rules):
    used, expected_used = [], []
    try:
        expected = simplify_unindexed(expr, DEFINITIONS, expected_used, rules)
    except AssertionError:
        return
    assert simplify(expr, DEFINITIONS, used, rules) == expected
    assert used == expected_used


def test_every_indexed_name_is_a_rewrite_of_the_table():
    assert set(NODE_TYPES) <= {rule.name for rule in REWRITES}


def test_a_rule_the_index_does_not_know_is_tried_everywhere():
    unknown = Rule("unknown", REWRITES[0].kind, "", "", lambda e, d: None, lambda: None)
    index = rule_index((*REWRITES, unknown))
    for node_type in (Transpose, Apply, Symbol, Fill):
        assert index.at(node_type)[-1] is unknown


@pytest.mark.parametrize(
    ("node_type", "names"),
    [
        (Transpose, {"transpose of a product", "transpose of a sum", "transpose of a multiple"}),
        (Trace, {"trace of a scalar", "constants out of a sum or trace"}),
        (Symbol, set()),
    ],
)
def test_the_index_keeps_the_rules_of_a_node_type(node_type, names):
    found = {rule.name for rule in rule_index(REWRITES).at(node_type)}
    assert names <= found
    assert all(node_type in NODE_TYPES.get(name, (node_type,)) for name in found)
