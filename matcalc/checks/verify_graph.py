"""verify for a graph spec: is a hand-written backprop line right?

The left side names the gradient of the loss by a parameter or by a named quantity
(``\\frac{\\partial L}{\\partial A_1}``, ``\\nabla_{W_1} L``); the right side may use every
declared and named quantity and the gradients of the named quantities, as backprop is
written.  Nothing is expanded: both sides are evaluated over the forward and backward values
of the graph (:mod:`matcalc.engine.backprop`) at random sizes and values, after the shapes
are compared at symbolic sizes.  The expected formula is matcalc's own backprop line.
"""

from __future__ import annotations

import numpy as np
import sympy

from matcalc.checks.verify import Verdict, VerifyError
from matcalc.checks.verify_context import _constant_ratio, _identity_size, _is_nabla
from matcalc.core import numeric
from matcalc.core.expr import Derivative, Expr, ShapeError, transpose
from matcalc.core.shapes import shape_text, shapes_equal
from matcalc.engine.backprop import Assignment, GraphDerivation, backprop
from matcalc.printers.latex import Notation, to_latex
from matcalc.reading.parse import parse_latex
from matcalc.reading.resolve import resolve
from matcalc.specs.context import ContextNamespace, concrete
from matcalc.specs.graph import Graph

DRAWS = 3
SIZE_RANGE = (2, 6)
RTOL = 1e-6
ATOL = 1e-9


def verify_graph(graph: Graph, equation: str) -> Verdict:
    """Whether ``equation`` (LaTeX, ``lhs = rhs``) holds for the graph, and why."""
    parsed = parse_latex(equation)
    if len(parsed.sides) < 2:
        raise VerifyError(
            "an equation is expected: the gradient on the left, the formula on the right, "
            "like \\frac{\\partial L}{\\partial A_1} = ..."
        )
    derivation = backprop(graph)
    lhs = parsed.sides[0]
    target = resolve(lhs, ContextNamespace(graph.context, nabla=_is_nabla(lhs)), text=equation)
    expected = _assignment(derivation, target)
    notation = Notation(loss=to_latex(graph.loss, Notation(loss="L")))
    target_text = to_latex(expected.target, notation)
    expected_text = to_latex(expected.value, notation)
    shape = shape_text(expected.shape)
    draws = _draws(derivation)

    def verdict(reason: str, diagnosis: str | None, classes: tuple[str, ...]) -> Verdict:
        text = f"{reason}: {diagnosis}" if diagnosis else reason
        return Verdict(
            "incorrect", target_text, text, expected_text, (), diagnosis, classes, equation, shape
        )

    for rhs in parsed.sides[1:]:
        namespace = ContextNamespace(graph.context, identity=_identity_size(expected.value))
        try:
            candidate = resolve(rhs, namespace, text=equation)
        except ShapeError as error:
            return verdict(
                f"the right side does not fit together: {error}", None, ("shape_mismatch",)
            )
        if not shapes_equal(candidate.shape, expected.shape):
            reason = (
                f"the right side is {shape_text(candidate.shape)} but "
                f"{to_latex(expected.target, notation)} is {shape}"
            )
            if shapes_equal(candidate.shape[::-1], expected.shape) and _agree(
                transpose(candidate), expected, draws
            ):
                return verdict(reason, "it is the transpose of the right answer",
                               ("missing_transpose", "shape_mismatch"))  # fmt: skip
            return verdict(reason, None, ("shape_mismatch",))
        if not _agree(candidate, expected, draws):
            wrong = f"the values differ from backprop's {expected_text}"
            if _agree(transpose(candidate), expected, draws):
                return verdict(wrong, "it is the transpose of the right answer",
                               ("missing_transpose",))  # fmt: skip
            ratio = _constant_ratio(_pairs(candidate, expected, draws))
            if ratio is not None:
                return verdict(wrong, f"it is off by a constant factor of {ratio:g}",
                               ("wrong_scale",))  # fmt: skip
            return verdict(wrong, None, ())
    return Verdict(
        "correct",
        target_text,
        f"both sides agree in shape ({shape}, {graph.context.layout} layout) and in value at "
        f"every size and draw checked ({len(draws)})",
        expected_text,
        (),
        None,
        (),
        equation,
        shape,
    )


def _assignment(derivation: GraphDerivation, target: Expr) -> Assignment:
    graph = derivation.graph
    if not (isinstance(target, Derivative) and target.num == graph.loss):
        raise VerifyError(
            f"the left side must be a gradient of the loss {graph.loss_key}, like "
            f"\\frac{{\\partial {graph.loss_key}}}{{\\partial {graph.parameter_keys[0]}}}"
        )
    for assignment in derivation.assignments:
        if assignment.of == target.den:
            return assignment
    names = ", ".join(graph.key_of(a.of) for a in derivation.assignments)
    raise VerifyError(
        f"matcalc derives the gradient of {graph.loss_key} by the parameters and the quantities "
        f"between them ({names}), not by {to_latex(target.den)}"
    )


def _draws(derivation: GraphDerivation) -> list[tuple[dict, dict]]:
    """(sizes, environment) pairs: random sizes that keep every dimension at least 1, random
    values, and every forward and backward value of the graph."""
    graph = derivation.graph
    symbols = tuple(graph.context.symbols.values())
    dims = sorted({s for sym in symbols for d in sym.shape for s in d.free_symbols}, key=str)
    rng = np.random.default_rng(8390)
    draws = []
    for _ in range(100 * DRAWS):
        if len(draws) == DRAWS:
            break
        sizes = {d: int(rng.integers(*SIZE_RANGE)) for d in dims}
        shapes = [[int(sympy.sympify(d).subs(sizes)) for d in s.shape] for s in symbols]
        if any(d < 1 for shape in shapes for d in shape):
            continue
        env: dict[Expr, np.ndarray] = {}
        for symbol, (rows, cols) in zip(symbols, shapes, strict=True):
            scalar = (rows, cols) == (1, 1)
            value = rng.uniform(0.2, 1.5, (1, 1)) if scalar else rng.standard_normal((rows, cols))
            env[concrete(symbol, sizes)] = value
        with np.errstate(all="ignore"):
            for quantity in graph.quantities:
                env[concrete(quantity, sizes)] = numeric.evaluate(
                    concrete(graph.definitions[quantity], sizes), env
                )
            for assignment in derivation.assignments:
                env[concrete(assignment.target, sizes)] = numeric.evaluate(
                    concrete(assignment.value, sizes), env
                )
        draws.append((sizes, env))
    if not draws:
        raise VerifyError("no random sizes keep every dimension of [shapes] at least 1")
    return draws


def _pairs(
    candidate: Expr, expected: Assignment, draws: list[tuple[dict, dict]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = []
    for sizes, env in draws:
        local = dict(env)
        for node in candidate.walk():
            if isinstance(node, Derivative) and concrete(node, sizes) not in local:
                shown = to_latex(node)
                raise VerifyError(
                    f"{shown} is not a gradient backprop computes here; use the gradients of "
                    "the loss by the graph's quantities"
                )
        with np.errstate(all="ignore"):
            got = numeric.evaluate(concrete(candidate, sizes), local)
        pairs.append((got, env[concrete(expected.target, sizes)]))
    return pairs


def _agree(candidate: Expr, expected: Assignment, draws: list[tuple[dict, dict]]) -> bool:
    for got, want in _pairs(candidate, expected, draws):
        if got.shape != want.shape or not np.isfinite(got).all():
            return False
        if not np.allclose(got, want, rtol=RTOL, atol=ATOL * (1 + np.abs(want).max())):
            return False
    return True


__all__ = ["verify_graph"]
