"""verify in an expression context: is a hand-written derivative of a function of matrices right?

The left side names the derivative: ``\\nabla_\\theta J``,
``\\frac{\\partial J}{\\partial \\theta}``, the function inline
(``\\frac{\\partial}{\\partial X}\\operatorname{tr}(AX)``), or ``dW`` under d-prefix names.
The right side is compared with the derivation, in the context's layout: first the shape (a
transposed shape is the other layout's form), then the values at two sets of sizes with random
matrices.  A wrong formula gets a diagnosis where one fits: right only for symmetric matrices,
off by a constant factor (``wrong_scale``), transposed.
"""

from __future__ import annotations

import numpy as np
import sympy

from matcalc.checks.verify import ErrorClass, Verdict, VerifyError
from matcalc.core.expr import Derivative, Expr, ShapeError, substitute, transpose
from matcalc.core.numeric import EvaluationError, evaluate
from matcalc.core.shapes import dims_equal, shape_text, shapes_equal
from matcalc.engine.context import derivative_value
from matcalc.errors import MatcalcError
from matcalc.printers.latex import to_latex
from matcalc.reading.parse import (
    Group,
    Nabla,
    Node,
    Product,
    parse_latex,
)
from matcalc.reading.resolve import resolve
from matcalc.specs.context import Context, ContextNamespace, concrete, random_environment

SIZE_SETS = ((5, 3, 4, 6, 7, 2), (3, 4, 6, 2, 5, 7))
DRAWS = 2
# what differs, a diagnosis where one fits, error classes
Problem = tuple[str, str | None, tuple[str, ...]]
RTOL = 1e-6
ATOL = 1e-9
REDRAWS = 5
"""Further random draws tried when one is singular or ill-conditioned."""
HUGE = 1e12
"""A value this large at entries of order 1 means an ill-conditioned draw: drawn again."""


def verify_in_context(context: Context, equation: str) -> Verdict:
    """Whether ``equation`` (LaTeX, ``lhs = rhs``) holds in ``context``, and why."""
    parsed = parse_latex(equation)
    if len(parsed.sides) < 2:
        raise VerifyError(
            "an equation is expected: the derivative on the left, the formula on the right, "
            "like \\nabla_\\theta J = ..."
        )
    sides = parsed.sides
    lhs = sides[0]
    nabla = _is_nabla(lhs)
    target = resolve(lhs, ContextNamespace(context, nabla=nabla), text=equation)
    if not isinstance(target, Derivative):
        raise VerifyError(
            "the left side must be a derivative: \\nabla_X f, \\frac{\\partial f}{\\partial X}"
            " or \\frac{\\partial}{\\partial X} f(X)"
        )
    expected = derivative_value(context, target.num, target.den, nabla)
    expected_full = context.expand(expected)
    target_text = (
        f"\\nabla_{{{to_latex(target.den)}}} {to_latex(target.num)}" if nabla else to_latex(target)
    )
    expected_text = to_latex(expected)
    shape = shape_text(expected.shape)
    for rhs in sides[1:]:
        try:
            namespace = ContextNamespace(context, identity=_identity_size(expected))
            candidate = _bind(resolve(rhs, namespace, text=equation), context)
        except ShapeError as error:
            problem: Problem | None = (
                f"the right side does not fit together: {error}",
                None,
                (ErrorClass.SHAPE_MISMATCH,),
            )
        else:
            problem = _compare(candidate, expected_full, context)
        if problem is not None:
            reason, diagnosis, classes = problem
            return Verdict(
                "incorrect",
                target_text,
                f"{reason}: {diagnosis}" if diagnosis else reason,
                expected_text,
                (),
                diagnosis,
                classes,
                equation,
                shape,
            )
    return Verdict(
        "correct",
        target_text,
        f"both sides agree in shape ({shape}, {context.layout} layout) and in value "
        "at every size and draw checked",
        expected_text,
        (),
        None,
        (),
        equation,
        shape,
    )


# ------------------------------------------------------------------------- the left side


def _is_nabla(node: Node) -> bool:
    while isinstance(node, Group):
        node = node.inner
    return isinstance(node, Nabla) or (
        isinstance(node, Product) and isinstance(node.factors[0], Nabla)
    )


# ------------------------------------------------------------------------- the right side


def _identity_size(expected: Expr) -> sympy.Expr | None:
    """I on the right side of a square derivative is the identity of its size."""
    rows, cols = expected.shape
    return rows if dims_equal(rows, cols) else None


def _bind(candidate: Expr, context: Context) -> Expr:
    """Derivatives written on the right side: an opaque function's gradient stays a free
    quantity; any other is replaced by its value."""
    mapping: dict[Expr, Expr] = {}
    for node in candidate.walk():
        if isinstance(node, Derivative) and not context.is_free(node):
            mapping[node] = derivative_value(context, node.num, node.den)
    return context.expand(substitute(candidate, mapping) if mapping else candidate)


# ----------------------------------------------------------------------------- comparing


def _sizes(context: Context, exprs: tuple[Expr, ...]) -> list[dict[sympy.Symbol, int]]:
    dims: set[sympy.Symbol] = set(context.dimensions())
    for expr in exprs:
        for node in expr.walk():
            for d in getattr(node, "shape", ()):
                dims |= sympy.sympify(d).free_symbols
    ordered = sorted(dims, key=str)
    return [
        {
            d: values[i % len(values)] + len(values) * (i // len(values))
            for i, d in enumerate(ordered)
        }
        for values in SIZE_SETS
    ]


def _values(
    exprs: tuple[Expr, ...], context: Context, symmetric: bool = False
) -> list[tuple[np.ndarray, ...]]:
    """The expressions' values at each size set and draw.  A draw at which a matrix the
    formulas invert is singular, or a value is not finite or huge (ill-conditioned), is drawn
    again, up to REDRAWS times; one that stays so is kept, its singular values NaN, and
    :func:`_non_finite` reports them."""
    results = []
    for number, sizes in enumerate(_sizes(context, exprs)):
        concrete_exprs = tuple(concrete(e, sizes) for e in exprs)
        for draw in range(DRAWS):
            for attempt in range(REDRAWS + 1):
                rng = np.random.default_rng(1000 * number + draw + 100_000 * attempt)
                env = random_environment(concrete_exprs, rng, symmetric, context.assumed())
                values = tuple(_value(e, env) for e in concrete_exprs)
                if all(_well_conditioned(v) for v in values):
                    break
            results.append(values)
    return results


def _value(expr: Expr, env: dict) -> np.ndarray:
    """The value of a concrete expression; NaN where it inverts a singular matrix."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(evaluate(expr, env), dtype=float)
    except EvaluationError as error:
        raise MatcalcError(f"cannot check numerically: {error}") from None
    except (np.linalg.LinAlgError, ZeroDivisionError, OverflowError):
        rows, cols = (int(d) for d in expr.shape)
        return np.full((rows, cols), np.nan)


def _well_conditioned(value: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(value))) and (value.size == 0 or np.abs(value).max() < HUGE)


def _non_finite(pairs: list[tuple[np.ndarray, ...]]) -> Problem | None:
    """What is not finite at the random values, if anything: the right side, or the
    derivative itself (then no value check can decide)."""
    if any(not np.all(np.isfinite(expected)) for _, expected in pairs):
        raise VerifyError(
            "cannot check numerically: the derivative is not finite (inf or NaN; or it inverts "
            "a singular matrix) at random values of this context"
        )
    if any(not np.all(np.isfinite(candidate)) for candidate, _ in pairs):
        return (
            "the right side is not finite (inf or NaN; or it inverts a singular matrix) at "
            "random values where the derivative is finite",
            None,
            (),
        )
    return None


def _agree(pairs: list[tuple[np.ndarray, ...]]) -> bool:
    with np.errstate(all="ignore"):
        return all(
            a.shape == b.shape
            and np.allclose(a, b, rtol=RTOL, atol=ATOL * (1 + np.abs(b).max(initial=0)))
            for a, b in pairs
        )


def _compare(candidate: Expr, expected: Expr, context: Context) -> Problem | None:
    """None when both sides agree; else what differs, a diagnosis if one fits, error classes."""
    layout = context.layout
    if not shapes_equal(candidate.shape, expected.shape):
        shapes = (
            f"the right side is {shape_text(candidate.shape)} but the derivative is "
            f"{shape_text(expected.shape)} in {layout} layout"
        )
        if shapes_equal(transpose(candidate).shape, expected.shape) and _agree(
            _values((transpose(candidate), expected), context)
        ):
            other = "numerator" if layout != "numerator" else "denominator"
            return (
                shapes,
                f"it is the transpose of the right answer, the {other}-layout form "
                f"(in {layout} layout: {to_latex(expected)})",
                (ErrorClass.LAYOUT_MISMATCH, ErrorClass.SHAPE_MISMATCH),
            )
        return shapes, None, (ErrorClass.SHAPE_MISMATCH,)
    pairs = _values((candidate, expected), context)
    if _agree(pairs):
        return None
    non_finite = _non_finite(pairs)
    if non_finite is not None:
        return non_finite
    wrong = f"the values differ from the derivative {to_latex(expected)}"
    if shapes_equal(transpose(candidate).shape, expected.shape) and _agree(
        _values((transpose(candidate), expected), context)
    ):
        return wrong, "it is the transpose of the right answer", (ErrorClass.MISSING_TRANSPOSE,)
    if _agree(_values((candidate, expected), context, symmetric=True)):
        return (
            wrong,
            "the formula holds only when the square matrices are symmetric; in general it is "
            f"{to_latex(expected)}",
            (ErrorClass.UNJUSTIFIED_SYMMETRY,),
        )
    factor = _constant_ratio(pairs)
    if factor is not None:
        if np.isclose(factor, -1):
            return wrong, "the sign is wrong", (ErrorClass.WRONG_SIGN,)
        return wrong, f"it is off by a constant factor of {factor:g}", (ErrorClass.WRONG_SCALE,)
    return wrong, None, ()


def _constant_ratio(pairs: list[tuple[np.ndarray, ...]]) -> float | None:
    ratios = []
    for candidate, expected in pairs:
        mask = np.abs(expected) > 1e-8
        if not mask.any():
            return None
        with np.errstate(all="ignore"):
            ratios.extend((candidate[mask] / expected[mask]).ravel())
    first = ratios[0]
    if abs(first - 1) > 1e-6 and np.allclose(ratios, first, rtol=1e-6):
        return float(first)
    return None


__all__ = ["verify_in_context"]
