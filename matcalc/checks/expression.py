"""verify for specs whose names are an expression context's: graph specs and expression contexts.

The same pipeline as for networks (:func:`matcalc.checks.verify.verify`): read the equation,
resolve its names in the spec's one namespace, compare the shapes at symbolic sizes, compare the
values at random sizes, and diagnose a wrong formula by the same small edits, in the same
:class:`~matcalc.checks.verify.ErrorClass` taxonomy.  What differs by kind of spec is a
*strategy*: what the left side may name and the formula expected for it, and how values are
drawn.

- A **graph spec** (:class:`GraphStrategy`): the left side names the gradient of the loss by a
  parameter or a named quantity; the right side may use every declared and named quantity and
  the gradients of the named quantities, as backprop is written.  Nothing is expanded: both
  sides are evaluated over the forward and backward values of the graph.
- An **expression context** (:class:`ContextStrategy`): the left side names any derivative
  (``\\nabla_\\theta J``, ``\\frac{\\partial J}{\\partial \\theta}``, the function inline, ``dW``
  under d-prefix names), in the context's layout; the right side is expanded and evaluated at
  random matrices drawn as the context assumes them.

Random draws keep every inverse and log-determinant well defined (:func:`size_sets`,
:func:`draw_symbols`): sizes are chosen so that a product that is inverted (``X^T A X``) can
be of full rank, a square matrix is drawn with a positive definite symmetric part (so
``X^T A X`` is invertible with a positive determinant wherever ``X`` has full column rank,
without making ``A`` symmetric), and a draw at which an inverted matrix is still
ill-conditioned is drawn again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import sympy

from matcalc.checks.verify import (
    Edit,
    ErrorClass,
    Verdict,
    VerifyError,
    _derivative_edits,
    _Entries,
    _entry_named,
    _index_letters,
    _letters_in,
    _mapped_children,
    _Outcome,
    _rename_indices,
    _stripped,
    _summed_letters,
    as_markdown,
    as_text,
    diagnose,
    inline_math,
)
from matcalc.core import numeric
from matcalc.core.expr import (
    Apply,
    Derivative,
    Det,
    Expr,
    Fill,
    Inverse,
    LogDet,
    MatMul,
    Scale,
    ShapeError,
    Symbol,
    substitute,
)
from matcalc.core.numeric import EvaluationError
from matcalc.core.shapes import dims_equal, shape_text, shapes_equal
from matcalc.errors import MatcalcError
from matcalc.printers.latex import DEFAULT, Notation, to_latex
from matcalc.reading.parse import (
    DerivativeOf,
    Equation,
    Group,
    Nabla,
    Neg,
    Node,
    Number,
    Primed,
    Product,
    Scripted,
    parse_latex,
    walk,
)
from matcalc.reading.parse import Name as NameNode
from matcalc.reading.resolve import NameRef, ResolveError, resolve
from matcalc.specs.context import Context, ContextNamespace, concrete, random_environment

SIZE_VALUES = (5, 3, 4, 6, 7, 2)
"""The sizes dimensions are drawn from: distinct, so equal sizes do not hide a transpose."""
SIZE_SETS = 2
DRAWS = 2
"""Random draws of values at each size set."""
MAX_SIZE_TRIES = 2000
"""Assignments of sizes tried for one that keeps every dimension positive and every inverted
product of full rank."""
MAX_DRAWS = 16
"""Draws tried for one at which every inverted matrix is well conditioned, every
log-determinant is of a positive determinant, and every value is finite."""
MAX_CONDITION = 1e8
HUGE = 1e12
"""A value this large at entries of order 1 means an ill-conditioned draw: drawn again."""
MIN_EIGENVALUE = 1.0
"""The least eigenvalue of the symmetric part of a drawn square matrix."""
RTOL = 1e-6
ATOL = 1e-9


# ------------------------------------------------------------------------------ draws


def inverted(expr: Expr) -> Iterator[Expr]:
    """The matrices an expression inverts or takes the determinant or log-determinant of."""
    for node in expr.walk():
        if isinstance(node, Inverse | Det | LogDet):
            yield node.arg


def _full_rank_possible(arg: Expr, sizes: dict) -> bool:
    """Whether a square matrix that is a product (a scaled one too) can be of full rank at
    these sizes: every factor's sizes at least the product's (the rank of a product is at most
    its narrowest factor's)."""
    while isinstance(arg, Scale):
        arg = arg.arg
    if not isinstance(arg, MatMul):
        return True
    size = sympy.sympify(arg.shape[0]).subs(sizes)
    return all(
        sympy.sympify(d).subs(sizes) >= size for factor in arg.children for d in factor.shape
    )


def size_sets(
    dims: list[sympy.Symbol], exprs: tuple[Expr, ...], symbols: tuple[Expr, ...] = ()
) -> list[dict[sympy.Symbol, int]]:
    """SIZE_SETS assignments of distinct small sizes to ``dims`` at which every symbol's
    sizes are at least 1 and every inverted product of ``exprs`` can have full rank.

    The first two rotations of SIZE_VALUES are tried first, then other orders of the values.
    """
    ordered = sorted(dims, key=str)
    count = len(ordered)
    values = [SIZE_VALUES[i % 6] + 6 * (i // 6) for i in range(max(count, len(SIZE_VALUES)))]
    arguments = [arg for expr in exprs for arg in inverted(expr)]
    shapes = [d for s in symbols for d in s.shape]

    def fits(sizes: dict) -> bool:
        if any(sympy.sympify(d).subs(sizes) < 1 for d in shapes):
            return False
        return all(_full_rank_possible(arg, sizes) for arg in arguments)

    def rotations() -> Iterator[tuple[int, ...]]:
        yield tuple(values[:count])
        yield tuple(values[1 : count + 1]) if count < len(values) else tuple(values[::-1])
        yield from itertools.islice(itertools.permutations(values, count), MAX_SIZE_TRIES)

    found: list[dict] = []
    for chosen in rotations():
        sizes = dict(zip(ordered, chosen, strict=True))
        if sizes not in found and fits(sizes):
            found.append(sizes)
            if len(found) == SIZE_SETS:
                break
    if not found:
        raise VerifyError("no sizes keep every dimension of [shapes] at least 1")
    return found


def draw_symbols(
    exprs: tuple[Expr, ...],
    rng: np.random.Generator,
    symmetric: bool = False,
    assumptions: dict | None = None,
) -> dict[Expr, np.ndarray]:
    """Random values for the symbols (and free derivatives) of concrete expressions, as the
    context assumes them (:func:`matcalc.specs.context.random_environment`), with every square
    matrix that is not assumed otherwise shifted by a multiple of I so that its symmetric part
    has eigenvalues at least MIN_EIGENVALUE: then it is invertible, its determinant is
    positive, and so is that of X^T A X for X of full column rank, yet it stays unsymmetric."""
    assumptions = assumptions or {}
    env = random_environment(exprs, rng, symmetric, assumptions)
    for node, value in env.items():
        kind = assumptions.get(node) if isinstance(node, Symbol) else None
        rows, cols = value.shape
        if rows != cols or rows < 2 or kind not in (None, "symmetric"):
            continue
        least = np.linalg.eigvalsh((value + value.T) / 2).min()
        if least < MIN_EIGENVALUE:
            env[node] = value + (MIN_EIGENVALUE - least) * np.eye(rows)
    return env


def logged_determinants(expr: Expr) -> Iterator[Expr]:
    r"""The matrices whose log-determinant an expression takes (log det X, \log|X|)."""
    for node in expr.walk():
        if isinstance(node, LogDet):
            yield node.arg
        elif isinstance(node, Apply) and node.fn.name == "log" and isinstance(node.arg, Det):
            yield node.arg.arg


def well_conditioned(exprs: tuple[Expr, ...], env: dict) -> bool:
    """Whether every matrix the expressions invert is finite and well conditioned here, and
    every one whose log-determinant they take has a positive determinant."""
    for expr in exprs:
        logged = list(logged_determinants(expr))
        for arg in inverted(expr):
            try:
                with np.errstate(all="ignore"):
                    value = numeric.evaluate(arg, env)
            except (EvaluationError, np.linalg.LinAlgError, KeyError):
                continue
            if not np.isfinite(value).all() or np.linalg.cond(value) > MAX_CONDITION:
                return False
            if arg in logged and np.linalg.det(value) <= 0:
                return False
    return True


def draw_well_defined(
    exprs: tuple[Expr, ...],
    rng: np.random.Generator,
    symmetric: bool = False,
    assumptions: dict | None = None,
) -> dict[Expr, np.ndarray]:
    """:func:`draw_symbols`, drawn again (up to MAX_DRAWS times) until every matrix the
    expressions invert is well conditioned and every log-determinant is of a positive
    determinant (log det(B A X) of independent B and X is so in about half the draws)."""
    env = draw_symbols(exprs, rng, symmetric, assumptions)
    for _ in range(MAX_DRAWS - 1):
        if well_conditioned(exprs, env):
            break
        env = draw_symbols(exprs, rng, symmetric, assumptions)
    return env


def _value(expr: Expr, env: dict) -> np.ndarray:
    """The value of a concrete expression; NaN where it inverts a singular matrix."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(numeric.evaluate(expr, env), dtype=float)
    except EvaluationError as error:
        raise MatcalcError(f"cannot check numerically: {error}") from None
    except (np.linalg.LinAlgError, ZeroDivisionError, OverflowError):
        rows, cols = (int(d) for d in expr.shape)
        return np.full((rows, cols), np.nan)


def agree(pairs: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    """Whether every (candidate, expected) pair agrees, relative to the expected's size."""
    with np.errstate(all="ignore"):
        return all(
            a.shape == b.shape
            and bool(np.isfinite(a).all())
            and np.allclose(a, b, rtol=RTOL, atol=ATOL * (1 + np.abs(b).max(initial=0)))
            for a, b in pairs
        )


def constant_ratio(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float | None:
    """The constant (not 1) the candidate is of the expected in every pair, if there is one."""
    ratios = []
    for candidate, expected in pairs:
        if candidate.shape != expected.shape:
            return None
        mask = np.abs(expected) > 1e-8
        if not mask.any():
            return None
        with np.errstate(all="ignore"):
            ratios.extend((candidate[mask] / expected[mask]).ravel())
    first = ratios[0]
    if np.isfinite(first) and abs(first - 1) > 1e-6 and np.allclose(ratios, first, rtol=1e-6):
        return float(first)
    return None


# ------------------------------------------------------------------------------ strategies


class Strategy:
    """What one kind of spec brings to the pipeline: its context (the names), the target a
    left side names and the formula expected for it, and the values of a right side."""

    context: Context
    kind = "the derivative"
    """How the reason calls the expected formula's origin."""

    def target(self, resolved: Expr, nabla: bool) -> tuple[Derivative, Expr]:
        """The derivative the left side names and matcalc's formula for it."""
        raise NotImplementedError

    def bind(self, candidate: Expr) -> Expr:
        """The right side as it is evaluated."""
        return candidate

    def pairs(self, candidate: Expr, symmetric: bool = False) -> list[tuple]:
        """(candidate, expected) values at every size set and draw."""
        raise NotImplementedError

    def texts(self, target: Derivative, expected: Expr, nabla: bool) -> tuple[str, str]:
        return to_latex(target), to_latex(expected)


class ContextStrategy(Strategy):
    """An expression context: any derivative, expanded, at values drawn as it assumes them."""

    def __init__(self, context: Context) -> None:  # noqa: D107
        self.context = context
        self.expected: Expr | None = None
        self._sets: list[dict] | None = None

    def target(self, resolved: Expr, nabla: bool) -> tuple[Derivative, Expr]:
        from matcalc.engine.context import derivative_value

        if not isinstance(resolved, Derivative):
            raise VerifyError(
                "the left side must be a derivative: \\nabla_X f, \\frac{\\partial f}"
                "{\\partial X} or \\frac{\\partial}{\\partial X} f(X)"
            )
        expected = derivative_value(self.context, resolved.num, resolved.den, nabla)
        self.expected = self.context.expand(expected)
        return resolved, expected

    def texts(self, target: Derivative, expected: Expr, nabla: bool) -> tuple[str, str]:
        if nabla:
            return f"\\nabla_{{{to_latex(target.den)}}} {to_latex(target.num)}", to_latex(expected)
        return to_latex(target), to_latex(expected)

    def bind(self, candidate: Expr) -> Expr:
        """Derivatives written on the right side: an opaque function's gradient stays a free
        quantity; any other is replaced by its value."""
        from matcalc.engine.context import derivative_value

        context = self.context
        mapping: dict[Expr, Expr] = {}
        for node in candidate.walk():
            if isinstance(node, Derivative) and not context.is_free(node):
                mapping[node] = derivative_value(context, node.num, node.den)
        return context.expand(substitute(candidate, mapping) if mapping else candidate)

    def sets(self, candidate: Expr) -> list[dict]:
        """The size sets, chosen once per check from the expected formula and the first right
        side (edits of it invert nothing new)."""
        if self._sets is None:
            assert self.expected is not None
            dims: set = set(self.context.dimensions())
            for expr in (candidate, self.expected):
                for node in expr.walk():
                    for d in getattr(node, "shape", ()):
                        dims |= sympy.sympify(d).free_symbols
            exprs = (self.expected, candidate)
            self._sets = size_sets(list(dims), exprs, tuple(self.context.symbols.values()))
        return self._sets

    def pairs(self, candidate: Expr, symmetric: bool = False) -> list[tuple]:
        """Values at each size set and draw.  A draw at which a matrix the formulas invert is
        ill-conditioned, a log-determinant's determinant is not positive, or a value is not
        finite or huge, is drawn again, up to MAX_DRAWS times; when no draw of one size set
        is well defined, the matrix is singular whatever is drawn (det(0 X)), and the other
        sets are drawn once."""
        assert self.expected is not None
        results = []
        assumed = self.context.assumed()
        tries = MAX_DRAWS
        for number, sizes in enumerate(self.sets(candidate)):
            exprs = (concrete(candidate, sizes), concrete(self.expected, sizes))
            for draw in range(DRAWS):
                rng = np.random.default_rng(1000 * number + draw)
                for _ in range(tries):
                    env = draw_symbols(exprs, rng, symmetric, assumed)
                    values = tuple(_value(e, env) for e in exprs)
                    finite = all(
                        np.isfinite(v).all() and (v.size == 0 or np.abs(v).max() < HUGE)
                        for v in values
                    )
                    if finite and well_conditioned(exprs, env):
                        break
                else:
                    tries = 1
                results.append(values)
        if any(not np.all(np.isfinite(expected)) for _, expected in results):
            raise VerifyError(
                "cannot check numerically: the derivative is not finite (inf or NaN; or it "
                "inverts a singular matrix) at random values of this context"
            )
        return results


class GraphValues:
    """A graph's backprop and its values at random sizes: what every equation checked against
    the graph shares (a batch of a class's lines draws them once per spec)."""

    def __init__(self, graph) -> None:  # noqa: D107
        from matcalc.engine.backprop import backprop

        self.graph = graph
        self.derivation = backprop(graph)
        self._draws: list[tuple[dict, dict]] | None = None

    def draws(self) -> list[tuple[dict, dict]]:
        """(sizes, environment) pairs: sizes that keep every dimension at least 1 and every
        inverted product of full rank, values as :func:`draw_well_defined` draws them, and
        every forward and backward value of the graph."""
        if self._draws is not None:
            return self._draws
        graph = self.graph
        symbols = tuple(graph.context.symbols.values())
        dims = sorted({s for sym in symbols for d in sym.shape for s in d.free_symbols}, key=str)
        definitions = tuple(graph.definitions.values())
        rng = np.random.default_rng(8390)
        draws = []
        for sizes in size_sets(dims, definitions, symbols):
            for _ in range(DRAWS):
                exprs = tuple(concrete(d, sizes) for d in definitions)
                env = draw_well_defined((*(concrete(s, sizes) for s in symbols), *exprs), rng)
                for symbol in symbols:
                    if symbol.shape == (1, 1):  # a scalar: positive, away from 0
                        env[symbol] = rng.uniform(0.2, 1.5, (1, 1))
                with np.errstate(all="ignore"):
                    for quantity in graph.quantities:
                        env[concrete(quantity, sizes)] = numeric.evaluate(
                            concrete(graph.definitions[quantity], sizes), env
                        )
                    for assignment in self.derivation.assignments:
                        env[concrete(assignment.target, sizes)] = numeric.evaluate(
                            concrete(assignment.value, sizes), env
                        )
                draws.append((sizes, env))
        self._draws = draws
        return draws


class GraphStrategy(Strategy):
    """A graph spec: gradients of the loss, over the forward and backward values of backprop
    (``values``, shared by the equations checked against one graph)."""

    kind = "backprop's"

    def __init__(self, graph, values: GraphValues | None = None) -> None:  # noqa: D107
        self.graph = graph
        self.context = graph.context
        self.values = values if values is not None else GraphValues(graph)
        self.derivation = self.values.derivation
        self.assignment = None

    def target(self, resolved: Expr, nabla: bool) -> tuple[Derivative, Expr]:
        graph = self.graph
        if not (isinstance(resolved, Derivative) and resolved.num == graph.loss):
            raise VerifyError(
                f"the left side must be a gradient of the loss {graph.loss_key}, like "
                f"\\frac{{\\partial {graph.loss_key}}}{{\\partial {graph.parameter_keys[0]}}}"
            )
        for assignment in self.derivation.assignments:
            if assignment.of == resolved.den:
                self.assignment = assignment
                return assignment.target, assignment.value
        names = ", ".join(graph.key_of(a.of) for a in self.derivation.assignments)
        raise VerifyError(
            f"matcalc derives the gradient of {graph.loss_key} by the parameters and the "
            f"quantities between them ({names}), not by {to_latex(resolved.den, self.notation)}"
        )

    def texts(self, target: Derivative, expected: Expr, nabla: bool) -> tuple[str, str]:
        notation = self.notation
        return to_latex(target, notation), to_latex(expected, notation)

    @property
    def notation(self) -> Notation:
        from matcalc.printers.graph import names_notation

        return names_notation(self.graph)

    def draws(self) -> list[tuple[dict, dict]]:
        return self.values.draws()

    def pairs(self, candidate: Expr, symmetric: bool = False) -> list[tuple]:
        assert self.assignment is not None
        pairs = []
        for sizes, env in self.draws():
            for node in candidate.walk():
                if isinstance(node, Derivative) and concrete(node, sizes) not in env:
                    raise VerifyError(
                        f"{to_latex(node, self.notation)} is not a gradient backprop computes "
                        "here; use the gradients of the loss by the graph's quantities"
                    )
            got = _value(concrete(candidate, sizes), env)
            pairs.append((got, env[concrete(self.assignment.target, sizes)]))
        return pairs


# ------------------------------------------------------------------------------ checking


def is_nabla(node: Node) -> bool:
    """Whether the left side is written \\nabla_X f (a gradient: X's shape in every layout)."""
    while isinstance(node, Group):
        node = node.inner
    return isinstance(node, Nabla) or (
        isinstance(node, Product) and isinstance(node.factors[0], Nabla)
    )


class ExpressionChecker:
    """One equation against a graph spec or a context: the pipeline's checker for them.

    One namespace reads the whole equation: the left side first (a ``\\nabla`` there is a
    gradient, of its variable's shape), then the right sides, where ``I`` is the identity of a
    square target's size.
    """

    def __init__(self, strategy: Strategy, parsed: Equation) -> None:  # noqa: D107
        self.strategy = strategy
        self.equation = parsed
        self.text = parsed.text
        lhs = parsed.sides[0]
        self.nabla = is_nabla(lhs)
        self.namespace = ContextNamespace(strategy.context, nabla=self.nabla)
        resolved = resolve(lhs, self.namespace, text=self.text)
        self.target, self.expected = strategy.target(resolved, self.nabla)
        rows, cols = self.expected.shape
        self.namespace.nabla = False
        self.namespace.identity = rows if dims_equal(rows, cols) else None
        self.layout = strategy.context.layout
        scalar = dims_equal(self.target.num.shape[0], 1) and dims_equal(self.target.num.shape[1], 1)
        if self.layout == "mixed":  # a gradient has X's shape, a Jacobian is dim y by dim x
            self.other_layout = "numerator" if scalar else "denominator"
        else:
            self.other_layout = "denominator" if self.layout == "numerator" else "numerator"
        self.notes: dict[str, None] = {}
        self._values: dict[Node, tuple] = {}

    # the pipeline's questions ---------------------------------------------------------

    def resolve(self, rhs: Node) -> Expr:
        """The right side as an expression; a bare ``0`` is the zero of the target's shape
        (a zero gradient is printed as 0)."""
        if isinstance(rhs, Number) and rhs.value == 0:
            return Fill(sympy.Integer(0), self.expected.shape)
        return self.strategy.bind(resolve(rhs, self.namespace, text=self.text))

    def run(self, rhs: Node, quick: bool = False) -> _Outcome:
        """Shapes at symbolic sizes, then values at random sizes."""
        outcome = _Outcome(layers=[None])
        try:
            candidate = self.resolve(rhs)
        except ShapeError as error:
            outcome.shape_problem = (None, error)
            return outcome
        if not shapes_equal(candidate.shape, self.expected.shape):
            outcome.shape_problem = (None, None)
            return outcome
        if not agree(self.strategy.pairs(candidate)):
            outcome.value_problem = None
            return outcome
        outcome.ok = True
        return outcome

    # what the edits ask ---------------------------------------------------------------

    def factor_names(self) -> tuple[str, ...]:
        """Names that stand for a whole quantity: every declared and defined name."""
        context = self.strategy.context
        return (*context.symbols, *context.definitions)

    weight_target = False
    convention_note = ""

    def derivative_edits(self, rhs, paths, lhs_index, notation) -> Iterator[Edit]:
        return _derivative_edits(self, rhs, paths, None, notation)

    def batch_sum_edits(self, rhs: Node) -> Iterator[Edit]:
        """A column's gradient written with one column per example: the sum over the columns
        (``\\mathbf{1}_K``) is missing, or the sum and the mean's 1/K both."""
        rows, cols = self.expected.shape
        if cols != 1:
            return
        try:
            got = self.resolve(rhs).shape
        except MatcalcError:
            return
        if not (dims_equal(got[0], rows) and isinstance(got[1], sympy.Symbol)):
            return
        letter = str(got[1])
        ones = Scripted(NameNode("1", "ones"), NameNode(letter), None)
        ones_text = inline_math("\\mathbf{1}_" + letter)
        says = (
            "the sum over the columns (the examples of the batch) is missing (multiply by "
            f"{ones_text})"
        )
        yield Edit(Product((Group(rhs, "("), ones)), says, (ErrorClass.MISSING_BATCH_SUM,))
        mean = _frac_one_over(letter)
        yield Edit(
            Product((mean, Group(rhs, "("), ones)),
            f"{says}, and so is the {inline_math('1/' + letter)} of the mean",
            (ErrorClass.MISSING_BATCH_SUM, ErrorClass.MISSING_BATCH_MEAN),
        )

    def layer_edits(self, rhs, paths, notation) -> Iterator[Edit]:
        return iter(())

    def value_diagnosis(self, rhs: Node, outcome: _Outcome) -> tuple[str, tuple] | None:
        """What the values tell when no single edit fixes the formula: right only for
        symmetric matrices (a context draws them so to tell), or off by a constant."""
        if outcome.shape_problem is not None:
            return None
        strategy = self.strategy
        candidate = self.resolve(rhs)
        if isinstance(strategy, ContextStrategy) and agree(strategy.pairs(candidate, True)):
            general = inline_math(to_latex(self.expected))
            return (
                "the formula holds only when the square matrices are symmetric; in general "
                f"it is {general}",
                (ErrorClass.UNJUSTIFIED_SYMMETRY,),
            )
        factor = constant_ratio(strategy.pairs(candidate))
        if factor is None:
            return None
        if np.isclose(factor, -1):
            return "the sign is wrong", (ErrorClass.WRONG_SIGN,)
        return f"it is off by a constant factor of {factor:g}", (ErrorClass.WRONG_SCALE,)

    def late_edits(self, rhs, paths, lhs_index, notation) -> Iterator[Edit]:
        return iter(())


def _frac_one_over(letter: str) -> Node:
    from fractions import Fraction

    from matcalc.reading.parse import Frac, Number

    return Frac(Number(Fraction(1)), NameNode(letter))


# ------------------------------------------------------------------------------ verify


def verify_expression(strategy: Strategy, equation: str) -> Verdict:
    """Whether ``equation`` (LaTeX, ``lhs = rhs``) holds for a graph spec or a context."""
    parsed = parse_latex(equation)
    if len(parsed.sides) < 2:
        raise VerifyError(
            "an equation is expected: the derivative on the left, the formula on the right, "
            "like \\nabla_\\theta J = ... or \\frac{\\partial L}{\\partial A_1} = ..."
        )
    if isinstance(strategy, ContextStrategy) and _entry_target(strategy.context, parsed):
        return verify_context_entrywise(strategy, parsed, equation)
    checker = ExpressionChecker(strategy, parsed)
    target_text, expected_text = strategy.texts(checker.target, checker.expected, checker.nabla)
    shape = shape_text(checker.expected.shape)
    layout = checker.layout
    notation = getattr(strategy, "notation", DEFAULT)
    for rhs in parsed.sides[1:]:
        outcome = checker.run(rhs)
        if outcome.ok:
            continue
        reason = _reason(checker, rhs, outcome, expected_text, shape, strategy)
        diagnosis, classes = (
            (None, ())  # singular whatever is drawn: no small edit is the mistake
            if reason.startswith(NOT_FINITE)
            else diagnose(checker, rhs, outcome, notation, None)
        )
        if outcome.shape_problem is not None and ErrorClass.SHAPE_MISMATCH not in classes:
            classes = (ErrorClass.SHAPE_MISMATCH, *classes)
        text = f"{reason}: {diagnosis}" if diagnosis else reason
        return Verdict(
            "incorrect",
            target_text,
            as_text(text),
            expected_text,
            (),
            diagnosis and as_text(diagnosis),
            tuple(classes),
            equation,
            shape,
            None,
            as_markdown(text),
        )
    draws = len(strategy.pairs(checker.resolve(parsed.sides[-1])))
    reason = (
        f"both sides agree in shape ({shape}, {layout} layout) and in value at every size and "
        f"draw checked ({draws})"
    )
    return Verdict(
        "correct", target_text, reason, expected_text, (), None, (), equation, shape, None, reason
    )


NOT_FINITE = "the right side is not finite"


def _reason(checker, rhs, outcome, expected_text, shape, strategy) -> str:
    if outcome.shape_problem is not None:
        error = outcome.shape_problem[1]
        if error is not None:
            return f"the right side does not fit together: {error}"
        got = checker.resolve(rhs).shape
        return (
            f"the right side is {shape_text(got)} but the derivative is {shape} in "
            f"{checker.layout} layout"
        )
    candidate = checker.resolve(rhs)
    pairs = strategy.pairs(candidate)
    if any(not np.all(np.isfinite(got)) for got, _ in pairs):
        return (
            f"{NOT_FINITE} (inf or NaN; or it inverts a singular matrix) at random values "
            "where the derivative is finite"
        )
    return f"the values differ from {strategy.kind} {expected_text}"


__all__ = [
    "ContextStrategy",
    "ExpressionChecker",
    "GraphStrategy",
    "GraphValues",
    "Strategy",
    "draw_symbols",
    "draw_well_defined",
    "size_sets",
    "verify_expression",
]


# ------------------------------------------------------------------------------ entrywise


def _target_of(lhs: Node) -> Node | None:
    """The variable a left side differentiates by: Y of dX/dY, \\nabla_Y X, \\partial_Y X."""
    while isinstance(lhs, Group):
        lhs = lhs.inner
    if isinstance(lhs, DerivativeOf):
        return lhs.den
    if isinstance(lhs, Product) and isinstance(lhs.factors[0], Nabla):
        return lhs.factors[0].wrt
    if isinstance(lhs, Product) and isinstance(lhs.factors[0], DerivativeOf):  # d/dY f(Y)
        return lhs.factors[0].den
    return None


def _entry_target(context: Context, parsed: Equation) -> bool:
    """Whether the left side differentiates by an entry, \\theta_j or o_j, of a quantity of the
    context (a name the context does not declare with that subscript)."""
    den = _target_of(parsed.sides[0])
    if den is None or not _entry_named(den):
        return False
    namespace = ContextNamespace(context)
    try:
        resolve(den, namespace)
    except MatcalcError:
        try:
            resolve(_stripped(den), namespace)
        except MatcalcError:
            return False
        return True
    return False


class _NotAnEntryError(ValueError):
    """A piece of an entrywise formula with no index that is not a number."""

    def __init__(self, node: Node) -> None:  # noqa: D107
        super().__init__()
        self.node = node


class _ContextEntries(_Entries):
    """Values of an entrywise formula at one size set and draw of a context."""

    def __init__(self, strategy: ContextStrategy, text: str, sizes: dict, env: dict) -> None:  # noqa: D107
        self.strategy, self.text, self.sizes, self.env = strategy, text, sizes, env
        self.namespace = ContextNamespace(strategy.context)
        self.cache: dict = {}

    def matrix(self, node: Node) -> np.ndarray:
        key = id(node)
        if key not in self.cache:
            self.namespace.nabla = is_nabla(node)
            expr = self.strategy.bind(resolve(_stripped(node), self.namespace, text=self.text))
            self.cache[key] = _value(concrete(expr, self.sizes), self.env)
        return self.cache[key]

    def at(self, node: Node, idx: dict) -> float:
        """The formula's value at the index values ``idx``; a piece with no index must be a
        number (a 1 x 1), else the formula is not one entry."""
        if not _letters_in(node) and self._lifts(node) and self.matrix(node).shape != (1, 1):
            raise _NotAnEntryError(self._culprit(node))
        return super().at(node, idx)

    def _culprit(self, node: Node) -> Node:
        """The innermost piece of ``node`` that is not a number: x in (\\theta^T x - y) x."""
        for child in _mapped_children(node, lambda item: item).values():
            for item in child if isinstance(child, tuple) else (child,):
                try:
                    if self.matrix(item).shape != (1, 1):
                        return self._culprit(item)
                except MatcalcError:
                    continue
        return node

    def _is_function(self, node: Node) -> bool:
        """A function of the context's namespace: \\mathrm{softmax}, \\exp, one it defines."""
        if isinstance(node, Primed):
            return True
        if not isinstance(node, NameNode):
            return False
        return self.namespace.function(NameRef(node.text, None, None, node.mark), 0) is not None


def verify_context_entrywise(strategy: ContextStrategy, parsed: Equation, equation: str) -> Verdict:
    """An entrywise formula of a context (CS229's dJ/d\\theta_j = (\\theta^T x - y) x_j),
    checked entry by entry against the derivative it is an entry of, at every size set and
    draw."""
    lhs, rhs = parsed.sides[0], parsed.sides[-1]
    letters = _letters_in(lhs)
    free = set(_letters_in(rhs)) - set(letters) - _summed_letters(rhs)
    if free:
        letter = sorted(free)[0]
        where = next(n for n in walk(rhs) if _entry_named(n) and letter in _index_letters(n.sub))
        raise ResolveError(
            f"the index {', '.join(sorted(free))} is neither on the left side nor summed",
            parsed.text,
            max(where.sub.start, 0),
        )
    checker = ExpressionChecker(strategy, replace(parsed, sides=(_stripped(lhs), _stripped(lhs))))
    target_text, expected_text = strategy.texts(checker.target, checker.expected, checker.nabla)
    shape = shape_text(checker.expected.shape)
    named = "(" + ", ".join(letters) + ")"
    column = dims_equal(checker.expected.shape[1], 1)
    if column != (len(letters) == 1):
        sub = _target_of(lhs).sub
        raise ResolveError(
            "a single index names an entry of a column, two an entry of a matrix; "
            f"{inline_math(target_text)} is {shape}",
            parsed.text,
            max(sub.start, 0),
        )
    wrong = _first_wrong_context_entry(strategy, parsed.text, lhs, rhs, letters)
    if wrong is None:
        reason = (
            f"every entry {named} agrees with the derivative {inline_math(target_text)} "
            f"({inline_math(shape)}) at every size and draw checked"
        )
        return Verdict("correct", target_text, as_text(reason), expected_text, (), None, (),
                       equation, shape, None, as_markdown(reason))  # fmt: skip
    position, piece = wrong
    shown = "(" + ", ".join(map(str, position)) + ")"
    reason = f"the entry {named} = {shown} differs from the derivative {inline_math(target_text)}"
    diagnosis, classes = None, ()
    negated = Neg(rhs, start=rhs.start, end=rhs.end)
    if piece is not None:
        written = inline_math(parsed.text[piece.start : piece.end].strip())
        diagnosis = f"{written} has no index but is not a number: the right side is not one entry"
        classes = (ErrorClass.SHAPE_MISMATCH,)
    elif len(letters) == 2 and not _first_wrong_context_entry(
        strategy, parsed.text, lhs, _rename_indices(rhs, letters), letters
    ):
        diagnosis = f"the indices {' and '.join(letters)} are swapped"
        classes = (ErrorClass.MISSING_TRANSPOSE,)
    elif not _first_wrong_context_entry(strategy, parsed.text, lhs, negated, letters):
        diagnosis, classes = "the sign is wrong", (ErrorClass.WRONG_SIGN,)
    if diagnosis:
        reason += f"; {diagnosis}"
    return Verdict("incorrect", target_text, as_text(reason), expected_text, (), diagnosis,
                   classes, equation, shape, None, as_markdown(reason))  # fmt: skip


def _first_wrong_context_entry(strategy, text, lhs, rhs, letters):
    """(the first entry, counted from 1, where the formula differs, the piece with no index
    that is not a number or None), or None where every entry agrees."""
    context = strategy.context
    symbols = tuple(context.symbols.values())
    assumed = context.assumed()
    for number, sizes in enumerate(strategy.sets(strategy.expected)):
        exprs = (concrete(strategy.expected, sizes), *(concrete(s, sizes) for s in symbols))
        for draw in range(DRAWS):
            env = draw_symbols(exprs, np.random.default_rng(1000 * number + draw), False, assumed)
            entries = _ContextEntries(strategy, text, sizes, env)
            want = entries.matrix(lhs)
            for position in np.ndindex(want.shape):
                idx = dict(zip(letters, position, strict=False))
                shown = tuple(p + 1 for p in position[: len(letters)])
                try:
                    with np.errstate(all="ignore"):
                        got = entries.at(rhs, idx)
                except _NotAnEntryError as error:
                    return shown, error.node
                except (IndexError, ValueError, ShapeError):
                    return shown, None
                if not np.isclose(got, want[position], RTOL, ATOL * (1 + abs(want[position]))):
                    return shown, None
    return None
