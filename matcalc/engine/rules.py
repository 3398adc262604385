"""The identities matcalc derives with, declared as data.

Each :class:`Rule` is one identity with its name, its statement in LaTeX and its source (a
Matrix Cookbook equation number, K. B. Petersen and M. S. Pedersen, edition of November 15,
2012, or a section of the MIT 6.390 notes).  The derivation engine looks rules up here; the
catalog is printed, documented and tested by iterating over :data:`RULES`.

Layout is denominator throughout: dL/dX has the shape of X, and for columns the Jacobian
(dy/dx)_{ij} = dy_j / dx_i, so chains multiply right to left toward the loss.

Kinds of rule:

* ``pullback``: for a node Y = F(..., X, ...) and the gradient G = dL/dY, the contribution
  of this path to dL/dX.  ``apply(node, position, G)``.
* ``jacobian``: for a column Y = F(x) of a column x, dY/dx.  ``apply(node, position)``.
* ``rewrite``: an equality used to simplify.  ``apply(expr, definitions)`` returns the right
  side, or None where the left side does not match.
* ``loss``: a loss L(A, y) and its gradient dL/dA.  ``apply(A, y)`` returns ``(L, dL/dA)``.
* ``fused``: dL/dZ for an output activation and loss that simplify together.
  ``apply(A, y)`` returns dL/dZ^L.
* ``identity``: a first-order identity of the Matrix Cookbook, such as d tr(AX)/dX = A^T, that
  the engine reproduces from the pullbacks.  ``apply(f, X)`` returns the textbook right side
  for an instance f of the left side; ``example()`` returns ``(f, X)``.

``example()`` returns a small instance for the entrywise checks in the tests: for pullbacks
and Jacobians ``(node, position)``, for rewrites an expression or ``(expression, definitions)``
where the rule needs named forward quantities (A = sigma(Z)), for losses and fused rules
``(A, y)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import sympy

from matcalc.core import functions
from matcalc.core.expr import (
    Add,
    Apply,
    Conv,
    Derivative,
    Det,
    Diag,
    Expr,
    Fill,
    FullConv,
    Function,
    Hadamard,
    Identity,
    Inverse,
    LogDet,
    MatMul,
    Norm,
    Opaque,
    ScalarProduct,
    Scale,
    Softmax,
    SquaredNorm,
    Sum,
    Symbol,
    Trace,
    Transpose,
    add,
    hadamard,
    matmul,
    ones,
    scalar_product,
    scale,
    transpose,
)
from matcalc.core.functions import ScalarFunction
from matcalc.core.losses import FUSED, LOSSES
from matcalc.core.rule import COOKBOOK, NOTES, Kind, NoRuleError, Rule
from matcalc.core.shapes import ONE, SCALAR, dim, dims_equal, is_column, is_scalar

Definitions = Mapping[Symbol, Expr]


# --------------------------------------------------------------------- example symbols


def _matrix(name: str, rows: int, cols: int) -> Symbol:
    return Symbol(name, (dim(rows), dim(cols)))


def _column(name: str, size: int = 4) -> Symbol:
    return _matrix(name, size, 1)


def _square(name: str) -> Symbol:
    return _matrix(name, 3, 3)


# ----------------------------------------------------------------------------- pullbacks


def _matmul_pullback(node: MatMul, position: int, upstream: Expr) -> Expr:
    before = node.factors[:position]
    after = node.factors[position + 1 :]
    parts = [transpose(matmul(*before))] if before else []
    parts.append(upstream)
    if after:
        parts.append(transpose(matmul(*after)))
    return matmul(*parts)


def _hadamard_pullback(node: Hadamard, position: int, upstream: Expr) -> Expr:
    others = node.factors[:position] + node.factors[position + 1 :]
    return hadamard(upstream, *others)


def _apply_pullback(node: Apply, position: int, upstream: Expr) -> Expr:
    return hadamard(Apply(node.fn.derivative(), node.arg), upstream)


def _columnwise_softmax_pullback(node: Softmax, position: int, upstream: Expr) -> Expr:
    """A ⊙ (G - 1 1^T (A ⊙ G)): the softmax Jacobian applied to each column of G."""
    rows = node.shape[0]
    weighted = hadamard(node, upstream)
    return hadamard(node, add(upstream, scale(-1, matmul(Fill(ONE, (rows, rows)), weighted))))


def _softmax_jacobian(node: Softmax) -> Expr:
    return add(Diag(node), scale(-1, matmul(node, transpose(node))))


def _scalar_times(upstream: Expr, matrix: Expr) -> Expr:
    """The scalar upstream gradient times a matrix (the engine's seed is the constant 1)."""
    return scalar_product(upstream, matrix)


def _scalar_factor_pullback(node: ScalarProduct, position: int, upstream: Expr) -> Expr:
    """d tr(G^T s X)/ds = sum of G ⊙ X (G X when both are scalars)."""
    if is_scalar(node.arg.shape):
        return scalar_product(upstream, node.arg)
    return Sum(hadamard(upstream, node.arg))


def _inverse_transposed(x: Expr) -> Expr:
    """X^{-T}."""
    return transpose(Inverse(x))


PULLBACKS: tuple[Rule, ...] = (
    Rule(
        "convolution, by the filter",
        Kind.PULLBACK,
        r"\frac{\partial L}{\partial w} = \operatorname{conv}\left(x, G\right),\ "
        r"z = \operatorname{conv}(x, w),\ G = \frac{\partial L}{\partial z}",
        "MIT 6.390 notes, Convolutional Neural Networks, backpropagation in a 1-D "
        "convolutional layer (dL/dw_j = sum_i G_i x_{i+j-1})",
        lambda node, position, upstream: Conv(node.signal, upstream),
        lambda: (Conv(_column("x", 6), _column("w", 3)), 1),
        node=Conv,
        position=1,
    ),
    Rule(
        "convolution, by the signal",
        Kind.PULLBACK,
        r"\frac{\partial L}{\partial x} = \operatorname{conv}_{\mathrm{full}}\left(G, "
        r"\operatorname{flip}(w)\right),\ z = \operatorname{conv}(x, w)",
        "MIT 6.390 notes, Convolutional Neural Networks, backpropagation in a 1-D "
        "convolutional layer (a full convolution of G with the flipped filter)",
        lambda node, position, upstream: FullConv(upstream, node.kernel),
        lambda: (Conv(_column("x", 6), _column("w", 3)), 0),
        node=Conv,
        position=0,
    ),
    Rule(
        "full convolution, by the signal",
        Kind.PULLBACK,
        r"\frac{\partial L}{\partial g} = \operatorname{conv}\left(G, w\right),\ "
        r"x = \operatorname{conv}_{\mathrm{full}}(g, \operatorname{flip}(w))",
        "adjoint of the valid cross-correlation (6.390 notes, Convolutional Neural Networks)",
        lambda node, position, upstream: Conv(upstream, node.kernel),
        lambda: (FullConv(_column("g", 4), _column("w", 3)), 0),
        node=FullConv,
        position=0,
    ),
    Rule(
        "full convolution, by the filter",
        Kind.PULLBACK,
        r"\frac{\partial L}{\partial w} = \operatorname{conv}\left(G, g\right),\ "
        r"x = \operatorname{conv}_{\mathrm{full}}(g, \operatorname{flip}(w))",
        "adjoint of the valid cross-correlation (6.390 notes, Convolutional Neural Networks)",
        lambda node, position, upstream: Conv(upstream, node.signal),
        lambda: (FullConv(_column("g", 4), _column("w", 3)), 1),
        node=FullConv,
        position=1,
    ),
    Rule(
        "product",
        Kind.PULLBACK,
        r"\frac{\partial}{\partial X}\operatorname{tr}(G^T A X B) = A^T G B^T",
        f"{COOKBOOK} eq. 101 (with G^T A for A)",
        _matmul_pullback,
        lambda: (matmul(_matrix("A", 3, 4), _matrix("X", 4, 2), _matrix("B", 2, 5)), 1),
        node=MatMul,
    ),
    Rule(
        "transpose",
        Kind.PULLBACK,
        r"\frac{\partial}{\partial X}\operatorname{tr}(G^T X^T) = G^T",
        f"{COOKBOOK} eq. 104 (A = G^T)",
        lambda node, position, upstream: transpose(upstream),
        lambda: (Transpose(_matrix("X", 3, 2)), 0),
        node=Transpose,
    ),
    Rule(
        "sum",
        Kind.PULLBACK,
        r"\partial(X + Y) = \partial X + \partial Y",
        f"{COOKBOOK} eq. 35",
        lambda node, position, upstream: upstream,
        lambda: (add(_matrix("X", 3, 2), _matrix("Y", 3, 2)), 0),
        node=Add,
    ),
    Rule(
        "scalar multiple",
        Kind.PULLBACK,
        r"\partial(\alpha X) = \alpha\,\partial X",
        f"{COOKBOOK} eq. 34",
        lambda node, position, upstream: scale(node.coeff, upstream),
        lambda: (scale(3, _matrix("X", 3, 2)), 0),
        node=Scale,
    ),
    Rule(
        "elementwise product",
        Kind.PULLBACK,
        r"\partial(X \odot Y) = (\partial X) \odot Y + X \odot (\partial Y)",
        f"{COOKBOOK} eq. 38",
        _hadamard_pullback,
        lambda: (hadamard(_matrix("X", 3, 2), _matrix("Y", 3, 2)), 1),
        node=Hadamard,
    ),
    Rule(
        "elementwise function",
        Kind.PULLBACK,
        r"\frac{\partial L}{\partial Z} = f'(Z) \odot \frac{\partial L}{\partial f(Z)}",
        f"{NOTES}, 'The general case' (elementwise activation, chain rule per entry)",
        _apply_pullback,
        lambda: (Apply(Function("tanh"), _matrix("Z", 3, 2)), 0),
        node=Apply,
    ),
    Rule(
        "columnwise softmax",
        Kind.PULLBACK,
        r"\frac{\partial L}{\partial Z} = A \odot \left(G - \mathbf{1}\mathbf{1}^T (A \odot G)"
        r"\right),\ A = \operatorname{softmax}(Z) \text{ by columns},\ "
        r"G = \frac{\partial L}{\partial A}",
        f"{NOTES}, softmax output layer (its Jacobian diag(a) - a a^T, one column per example)",
        _columnwise_softmax_pullback,
        lambda: (Softmax(_matrix("Z", 4, 3)), 0),
        node=Softmax,
        applies=lambda node: not is_column(node.shape),
    ),
    Rule(
        "softmax",
        Kind.PULLBACK,
        r"\frac{\partial L}{\partial Z} = \left(\operatorname{diag}(A) - A A^T\right)"
        r"\frac{\partial L}{\partial A},\ A = \operatorname{softmax}(Z)",
        f"{NOTES}, softmax output layer (Jacobian of softmax)",
        lambda node, position, upstream: matmul(_softmax_jacobian(node), upstream),
        lambda: (Softmax(_column("Z")), 0),
        node=Softmax,
    ),
    Rule(
        "sum of entries",
        Kind.PULLBACK,
        r"\frac{\partial\, \mathbf{1}^T X \mathbf{1}}{\partial X} = \mathbf{1}\mathbf{1}^T",
        f"{COOKBOOK} eq. 70 (a = b = 1)",
        lambda node, position, upstream: _scalar_times(upstream, Fill(ONE, node.arg.shape)),
        lambda: (Sum(_matrix("X", 3, 2)), 0),
        node=Sum,
    ),
    Rule(
        "squared norm",
        Kind.PULLBACK,
        r"\frac{\partial \|X\|_F^2}{\partial X} = 2X",
        f"{COOKBOOK} eq. 131 (vectors), eq. 132 (Frobenius norm of a matrix)",
        lambda node, position, upstream: _scalar_times(upstream, scale(2, node.arg)),
        lambda: (SquaredNorm(_matrix("X", 3, 2)), 0),
        node=SquaredNorm,
    ),
    Rule(
        "diagonal matrix of a column",
        Kind.PULLBACK,
        r"Y = \operatorname{diag}(x):\ \frac{\partial L}{\partial x} = (G \odot I)\,\mathbf{1},"
        r"\ \text{the diagonal of } G",
        "definition of diag: Y_{ij} = x_i delta_ij, so dL/dx_i = G_ii",
        lambda node, position, upstream: matmul(
            hadamard(upstream, Identity(node.shape[0])), ones(node.shape[0])
        ),
        lambda: (Diag(_column("x", 3)), 0),
        node=Diag,
    ),
    Rule(
        "trace",
        Kind.PULLBACK,
        r"\frac{\partial \operatorname{tr}(X)}{\partial X} = I",
        f"{COOKBOOK} eq. 99",
        lambda node, position, upstream: _scalar_times(upstream, Identity(node.arg.shape[0])),
        lambda: (Trace(_matrix("X", 3, 3)), 0),
        node=Trace,
    ),
    Rule(
        "inverse",
        Kind.PULLBACK,
        r"\frac{\partial}{\partial X}\operatorname{tr}(G^T X^{-1}) = -X^{-T} G X^{-T}",
        f"{COOKBOOK} eq. 61 (G = a b^T: d a^T X^{{-1}} b / dX = -X^{{-T}} a b^T X^{{-T}}), "
        "from eq. 40",
        lambda node, position, upstream: scale(
            -1, matmul(_inverse_transposed(node.arg), upstream, _inverse_transposed(node.arg))
        ),
        lambda: (Inverse(_matrix("X", 3, 3)), 0),
        node=Inverse,
    ),
    Rule(
        "determinant",
        Kind.PULLBACK,
        r"\frac{\partial \det(X)}{\partial X} = \det(X)\, X^{-T}",
        f"{COOKBOOK} eq. 49",
        lambda node, position, upstream: _scalar_times(
            upstream, scalar_product(node, _inverse_transposed(node.arg))
        ),
        lambda: (Det(_matrix("X", 3, 3)), 0),
        node=Det,
    ),
    Rule(
        "log-determinant",
        Kind.PULLBACK,
        r"\frac{\partial \log\det(X)}{\partial X} = X^{-T}",
        f"{COOKBOOK} eq. 57 (ln|det X|, which is log det X where det X > 0)",
        lambda node, position, upstream: _scalar_times(upstream, _inverse_transposed(node.arg)),
        lambda: (LogDet(_matrix("X", 3, 3)), 0),
        node=LogDet,
    ),
    Rule(
        "unspecified function",
        Kind.PULLBACK,
        r"\frac{\partial L(Y)}{\partial Y} = \frac{\partial L}{\partial Y}"
        r"\ \text{(a free quantity of the shape of } Y\text{)}",
        "chain rule (Matrix Cookbook sec. 2.8.1) through a function left unspecified",
        lambda node, position, upstream: _scalar_times(
            upstream, Derivative(node.name, node.params[position])
        ),
        lambda: (
            Opaque(_matrix("L", 1, 1), (_matrix("Y", 3, 2),), (_matrix("Y", 3, 2),)),
            0,
        ),
        node=Opaque,
    ),
    Rule(
        "scalar times a matrix, by the scalar",
        Kind.PULLBACK,
        r"\frac{\partial}{\partial s}\operatorname{tr}(G^T s X) = \operatorname{tr}(G^T X)"
        r" = \textstyle\sum G \odot X",
        f"{COOKBOOK} eq. 37 (product rule, d(sX) = (ds) X + s dX)",
        _scalar_factor_pullback,
        lambda: (ScalarProduct(_matrix("s", 1, 1), _matrix("X", 3, 2)), 0),
        node=ScalarProduct,
        position=0,
    ),
    Rule(
        "scalar times a matrix, by the matrix",
        Kind.PULLBACK,
        r"\frac{\partial}{\partial X}\operatorname{tr}(G^T s X) = s\, G",
        f"{COOKBOOK} eq. 34",
        lambda node, position, upstream: scalar_product(node.scalar, upstream),
        lambda: (ScalarProduct(_matrix("s", 1, 1), _matrix("X", 3, 2)), 1),
        node=ScalarProduct,
        position=1,
    ),
)


# ----------------------------------------------------------------------------- jacobians


JACOBIANS: tuple[Rule, ...] = (
    Rule(
        "linear map",
        Kind.JACOBIAN,
        r"\frac{\partial (M x)}{\partial x} = M^T",
        f"{COOKBOOK} eq. 69, one row of M at a time",
        lambda node, position: transpose(matmul(*node.factors[:position])),
        lambda: (matmul(_matrix("M", 3, 4), _column("x")), 1),
        node=MatMul,
    ),
    Rule(
        "weight link",
        Kind.JACOBIAN,
        r"\frac{\partial Z}{\partial W} \cdot \left(\frac{\partial L}{\partial Z}\right)^T"
        r" = A \left(\frac{\partial L}{\partial Z}\right)^T,\ Z = W^T A",
        f"{NOTES}, 'How the chain rule changes in matrix form' (dZ/dW contracts to A); "
        f"{COOKBOOK} eq. 71",
        lambda node, position: node.factors[1],
        lambda: (matmul(Transpose(_matrix("W", 4, 3)), _column("A")), 0),
        node=MatMul,
    ),
    Rule(
        "weight link (Z = W A)",
        Kind.JACOBIAN,
        r"\frac{\partial L}{\partial Z} \cdot \left(\frac{\partial Z}{\partial W}\right)^T"
        r" = \frac{\partial L}{\partial Z} A^T,\ Z = W A",
        f"{COOKBOOK} eq. 70 (Ng, Goodfellow: W is out x in)",
        lambda node, position: node.factors[1],
        lambda: (matmul(_matrix("W", 3, 4), _column("A")), 0),
        node=MatMul,
    ),
    Rule(
        "elementwise activation",
        Kind.JACOBIAN,
        r"\frac{\partial f(Z)}{\partial Z} = \operatorname{diag}\left(f'(Z)\right)",
        f"{NOTES}, 'The general case' (dA^l/dZ^l is diagonal)",
        lambda node, position: Diag(Apply(node.fn.derivative(), node.arg)),
        lambda: (Apply(Function("sigmoid"), _column("Z")), 0),
        node=Apply,
    ),
    Rule(
        "softmax",
        Kind.JACOBIAN,
        r"\frac{\partial \operatorname{softmax}(Z)}{\partial Z} = \operatorname{diag}(A) - A A^T",
        f"{NOTES}, softmax output layer",
        lambda node, position: _softmax_jacobian(node),
        lambda: (Softmax(_column("Z")), 0),
        node=Softmax,
    ),
    Rule(
        "sum",
        Kind.JACOBIAN,
        r"\frac{\partial (Y_1 + Y_2)}{\partial Y_1} = I",
        f"{COOKBOOK} eq. 35",
        lambda node, position: Identity(node.shape[0]),
        lambda: (add(_column("x"), _column("b")), 0),
        node=Add,
    ),
    Rule(
        "scalar multiple",
        Kind.JACOBIAN,
        r"\frac{\partial (\alpha x)}{\partial x} = \alpha I",
        f"{COOKBOOK} eq. 34",
        lambda node, position: scale(node.coeff, Identity(node.shape[0])),
        lambda: (scale(-2, _column("x")), 0),
        node=Scale,
    ),
)


# ------------------------------------------------------------------------------- rewrites


def _transpose_of_product(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Transpose) and isinstance(expr.arg, MatMul):
        return matmul(*(transpose(f) for f in reversed(expr.arg.factors)))
    return None


def _transpose_of_sum(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Transpose) and isinstance(expr.arg, Add):
        return add(*(transpose(t) for t in expr.arg.terms))
    return None


def _transpose_of_multiple(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Transpose) and isinstance(expr.arg, Scale):
        return scale(expr.arg.coeff, transpose(expr.arg.arg))
    return None


def _diagonal_times_column(expr: Expr, definitions: Definitions) -> Expr | None:
    if not isinstance(expr, MatMul):
        return None
    for position, factor in enumerate(expr.factors[:-1]):
        if not isinstance(factor, Diag):
            continue
        rest = matmul(*expr.factors[position + 1 :])
        if is_column(rest.shape):
            head = expr.factors[:position]
            return matmul(*head, hadamard(factor.arg, rest)) if head else hadamard(factor.arg, rest)
    return None


def _diagonal_of_ones(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Diag) and isinstance(expr.arg, Fill) and expr.arg.value == 1:
        return Identity(expr.shape[0])
    return None


def _identity_factor(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, MatMul) and any(isinstance(f, Identity) for f in expr.factors):
        kept = [f for f in expr.factors if not isinstance(f, Identity)]
        return matmul(*kept) if kept else expr.factors[0]
    return None


def _ones_factor(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Hadamard):
        kept = [f for f in expr.factors if not (isinstance(f, Fill) and f.value == 1)]
        if len(kept) < len(expr.factors):
            return hadamard(*kept) if kept else expr.factors[0]
    return None


def _multiple_in_product(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Hadamard) and any(isinstance(f, Scale) for f in expr.factors):
        coeff = sympy.Integer(1)
        bare = []
        for factor in expr.factors:
            if isinstance(factor, Scale):
                coeff *= factor.coeff
                factor = factor.arg
            bare.append(factor)
        return scale(coeff, hadamard(*bare))
    return None


def _defined_as(definitions: Definitions, expr: Expr) -> Symbol | None:
    """The first name whose definition is ``expr`` (a DefinitionTable looks it up directly)."""
    name_of = getattr(definitions, "name_of", None)
    if name_of is not None:
        return name_of(expr)
    for symbol, definition in definitions.items():
        if definition == expr:
            return symbol
    return None


def _output_of(definitions: Definitions, fn: Function, arg: Expr) -> Symbol | None:
    return _defined_as(definitions, Apply(fn, arg))


def _undifferentiated(fn: Function) -> Function:
    """f itself, for f' (dataclasses.replace, which is slower, would give the same)."""
    return Function(fn.name, 0, fn.index, fn.definition)


def _closed_form_derivative(expr: Expr, definitions: Definitions) -> Expr | None:
    """f'(Z) as a polynomial in A = f(Z) (sigmoid, tanh, identity); step(Z) for ReLU."""
    if not (isinstance(expr, Apply) and expr.fn.order == 1):
        return None
    function = expr.fn.scalar
    if function is None:
        return None
    if function.name == "relu":
        return Apply(Function("step"), expr.arg)
    if function.derivative_from_output is None:
        return None
    output = _output_of(definitions, _undifferentiated(expr.fn), expr.arg)
    if output is None:  # no name for f(Z): 1 - tanh(Z) ⊙ tanh(Z)
        output = Apply(_undifferentiated(expr.fn), expr.arg)
    return from_scalar(
        _derivative_in_output(function, function.derivative_from_output),
        {_OUTPUT: output},
        expr.shape,
    )


_OUTPUT = sympy.Symbol("a")  # a = f(z), the variable of ScalarFunction.derivative_from_output


@functools.lru_cache(maxsize=256)
def _derivative_in_output(
    function: ScalarFunction, in_output: Callable[[sympy.Expr], sympy.Expr]
) -> sympy.Expr:
    """f'(z) as a formula in a = f(z), made once per function (``in_output`` is the function's
    derivative_from_output, which takes no part in a function's equality)."""
    return in_output(_OUTPUT)


_SIGMOID_OF_Z = sympy.Symbol("s_of_z")  # sigma(z), for a derivative written in the sigmoid


def _in_sigmoid(formula: sympy.Expr) -> sympy.Expr:
    """A function of e^z written as a polynomial in s = sigma(z) where it is one: the
    derivative of swish, sigma(z) + z sigma(z)(1 - sigma(z)); else ``formula`` itself."""
    z = functions.Z
    if not (formula.has(sympy.exp(z)) or formula.has(sympy.exp(-z))):
        return formula
    t = sympy.Symbol("t_of_z", positive=True)
    in_t = formula.subs(sympy.exp(z), t).subs(sympy.exp(-z), 1 / t)
    if in_t.has(sympy.exp):
        return formula
    s = _SIGMOID_OF_Z
    in_s = sympy.cancel(sympy.together(in_t.subs(t, s / (1 - s))))
    _, denominator = sympy.fraction(in_s)
    if denominator.has(s):
        return formula
    collected = sympy.collect(sympy.expand(in_s), z, evaluate=False)
    terms = []
    for power, coefficient in collected.items():
        if coefficient.has(s) and coefficient.subs(s, 1) == 0:  # s - s^2 as s (1 - s)
            coefficient = sympy.factor(sympy.cancel(coefficient / (1 - s))) * (1 - s)
        terms.append(power * coefficient)
    return sympy.Add(*terms)


def _entrywise(formula: sympy.Expr, bindings: Mapping[sympy.Symbol, Expr], shape) -> Expr:
    """:func:`from_scalar` with the elementary functions of the built-in table applied."""
    heads = {sympy.exp: "exp", sympy.log: "log", sympy.tanh: "tanh"}
    head = heads.get(type(formula))
    if head is not None:
        return Apply(Function(head), _entrywise(formula.args[0], bindings, shape))
    if isinstance(formula, sympy.Add | sympy.Mul):
        parts = [_entrywise(a, bindings, shape) for a in formula.args if not a.is_number]
        number = (
            sum(a for a in formula.args if a.is_number) if isinstance(formula, sympy.Add) else None
        )
        if isinstance(formula, sympy.Add):
            if number:
                parts.insert(0, Fill(sympy.sympify(number), shape))
            return add(*parts)
        coeff = sympy.Mul(*(a for a in formula.args if a.is_number))
        return scale(coeff, hadamard(*parts))
    if isinstance(formula, sympy.Pow) and formula.exp.is_Integer and formula.exp > 0:
        return hadamard(*([_entrywise(formula.base, bindings, shape)] * int(formula.exp)))
    if isinstance(formula, sympy.Pow) and formula.exp == -1:
        return Apply(Function("reciprocal"), _entrywise(formula.base, bindings, shape))
    return from_scalar(formula, bindings, shape)


MAX_DERIVATIVE_OPS = 60


def _derivative_of_definition(expr: Expr, definitions: Definitions) -> Expr | None:
    """f'(Z) of a user's f written out from its definition, differentiated by SymPy (in the
    sigmoid where it can be); None where the result has no entrywise form."""
    if not (isinstance(expr, Apply) and expr.fn.order >= 1 and expr.fn.definition is not None):
        return None
    formula = _in_sigmoid(expr.fn.definition.formula_of_order(expr.fn.order))
    if sympy.count_ops(formula) > MAX_DERIVATIVE_OPS:
        return None
    sigmoid = _output_of(definitions, Function("sigmoid"), expr.arg) or Apply(
        Function("sigmoid"), expr.arg
    )
    bindings = {functions.Z: expr.arg, _SIGMOID_OF_Z: sigmoid}
    try:
        return _entrywise(formula, bindings, expr.shape)
    except NoRuleError:
        return None


def _name_forward_quantity(expr: Expr, definitions: Definitions) -> Expr | None:
    """Write f(Z^l) as A^l where the network defines A^l = f(Z^l)."""
    if isinstance(expr, Apply | Softmax):
        return _defined_as(definitions, expr)
    return None


def from_scalar(formula: sympy.Expr, bindings: Mapping[sympy.Symbol, Expr], shape) -> Expr:
    """An entrywise matrix expression from a scalar polynomial: a(1-a) -> A ⊙ (1 - A)."""
    return _scalar_plan(formula, frozenset(bindings))(bindings, shape)


ScalarPlan = Callable[[Mapping[sympy.Symbol, Expr], Any], Expr]


@functools.lru_cache(maxsize=1024)
def _scalar_plan(formula: sympy.Expr, names: frozenset[sympy.Symbol]) -> ScalarPlan:
    """How :func:`from_scalar` builds ``formula`` over bindings of ``names``: the formula is
    taken apart by SymPy once, and each use only builds the nodes."""
    if formula in names:
        return lambda bindings, shape: bindings[formula]
    if formula.is_number:
        value = sympy.sympify(formula)
        return lambda bindings, shape: Fill(value, shape)
    if isinstance(formula, sympy.Add):
        constant, terms = formula.as_coeff_Add()
        plans = [_scalar_plan(t, names) for t in sympy.Add.make_args(terms)]

        def build_sum(bindings: Mapping[sympy.Symbol, Expr], shape: Any) -> Expr:
            parts = [plan(bindings, shape) for plan in plans]
            if constant != 0:
                parts.insert(0, Fill(constant, shape))
            return add(*parts)

        return build_sum
    if isinstance(formula, sympy.Mul):
        coeff, rest = formula.as_coeff_Mul()
        plans = [_scalar_plan(f, names) for f in sympy.Mul.make_args(rest)]
        return lambda bindings, shape: scale(
            coeff, hadamard(*[plan(bindings, shape) for plan in plans])
        )
    if isinstance(formula, sympy.Pow) and formula.exp.is_Integer and formula.exp > 0:
        base, power = _scalar_plan(formula.base, names), int(formula.exp)
        return lambda bindings, shape: hadamard(*([base(bindings, shape)] * power))
    if isinstance(formula, sympy.Pow) and formula.exp == -1:
        base = _scalar_plan(formula.base, names)
        return lambda bindings, shape: Apply(Function("reciprocal"), base(bindings, shape))
    message = f"no entrywise form for {formula}"

    def no_form(bindings: Mapping[sympy.Symbol, Expr], shape: Any) -> Expr:
        raise NoRuleError(message)

    return no_form


def _polish_one_minus(expr: Expr, definitions: Definitions) -> Expr | None:
    """-X + 1 -> 1 - X: constants first in sums, as people write them."""
    if isinstance(expr, Add):
        fills = [t for t in expr.terms if isinstance(t, Fill)]
        if fills and expr.terms[0] is not fills[0]:
            rest = [t for t in expr.terms if not isinstance(t, Fill)]
            return add(*fills, *rest)
    return None


def _inverse_of_transpose(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Inverse) and isinstance(expr.arg, Transpose):
        return transpose(Inverse(expr.arg.arg))
    return None


def _inverse_of_inverse(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Inverse) and isinstance(expr.arg, Inverse):
        return expr.arg.arg
    return None


def _trace_of_scalar(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Trace | Sum) and is_scalar(expr.arg.shape):
        return expr.arg
    return None


def _log_of_determinant(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Apply) and expr.fn == Function("log") and isinstance(expr.arg, Det):
        return LogDet(expr.arg.arg)
    return None


def _transpose_of_scalar_product(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Transpose) and isinstance(expr.arg, ScalarProduct):
        return scalar_product(expr.arg.scalar, transpose(expr.arg.arg))
    return None


def _scalar_out_of_product(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, MatMul | Hadamard):
        for position, factor in enumerate(expr.children):
            if isinstance(factor, ScalarProduct):
                children = list(expr.children)
                children[position] = factor.arg
                return scalar_product(factor.scalar, expr.rebuild(tuple(children)))
    return None


def _bare(term: Expr) -> tuple[sympy.Expr, Expr]:
    return (term.coeff, term.arg) if isinstance(term, Scale) else (sympy.Integer(1), term)


def _common_right_factor(expr: Expr, definitions: Definitions) -> Expr | None:
    """A x + B x -> (A + B) x, when every term ends in the same factor."""
    if not isinstance(expr, Add):
        return None
    bare = [_bare(term) for term in expr.terms]
    if not all(isinstance(arg, MatMul) for _, arg in bare):
        return None
    last = bare[0][1].factors[-1]
    if any(arg.factors[-1] != last for _, arg in bare):
        return None
    heads = [scale(coeff, matmul(*arg.factors[:-1])) for coeff, arg in bare]
    return matmul(add(*heads), last)


def _constant_scalar_factor(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, MatMul):
        for position, factor in enumerate(expr.factors):
            if isinstance(factor, Fill) and is_scalar(factor.shape):
                rest = expr.factors[:position] + expr.factors[position + 1 :]
                return scale(factor.value, matmul(*rest))
    return None


def _like_terms(expr: Expr, definitions: Definitions) -> Expr | None:
    """c X + d X -> (c + d) X."""
    if not isinstance(expr, Add):
        return None
    coefficients: dict[Expr, sympy.Expr] = {}
    for term in expr.terms:
        coeff, arg = _bare(term)
        coefficients[arg] = coefficients.get(arg, sympy.Integer(0)) + coeff
    if len(coefficients) == len(expr.terms):
        return None
    kept = [scale(coeff, arg) for arg, coeff in coefficients.items() if coeff != 0]
    return add(*kept) if kept else scale(0, expr.terms[0])


def _inverse_pair(left: Expr, right: Expr) -> bool:
    if isinstance(left, Transpose) and isinstance(right, Transpose):
        left, right = left.arg, right.arg
    return (isinstance(left, Inverse) and left.arg == right) or (
        isinstance(right, Inverse) and right.arg == left
    )


def _inverse_cancels(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, MatMul):
        factors = expr.factors
        for position, (left, right) in enumerate(zip(factors, factors[1:], strict=False)):
            if _inverse_pair(left, right):
                kept = factors[:position] + factors[position + 2 :]
                return matmul(*kept) if kept else Identity(left.shape[0])
    return None


def _multiple_out_of_sum(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Sum | Trace) and isinstance(expr.arg, Scale):
        return scale(expr.arg.coeff, expr.rebuild((expr.arg.arg,)))
    return None


def _reciprocal(arg: Expr) -> Expr:
    return Apply(Function("reciprocal"), arg)


def _elementary_derivative(expr: Expr, definitions: Definitions) -> Expr | None:
    """exp' = exp, log' = 1/x, recip' = -1/x^2, sqrt' = 1/(2 sqrt x), abs' = sign, erf'."""
    if not (isinstance(expr, Apply) and expr.fn.order == 1 and expr.fn.definition is None):
        return None
    x, name = expr.arg, expr.fn.name
    if name == "exp":
        return Apply(Function("exp"), x)
    if name == "log":
        return _reciprocal(x)
    if name == "reciprocal":
        return scale(-1, _reciprocal(hadamard(x, x)))
    if name == "sqrt":
        return scale(sympy.Rational(1, 2), _reciprocal(Apply(Function("sqrt"), x)))
    if name == "abs":
        return Apply(Function("sign"), x)
    if name == "erf":
        return scale(2 / sympy.sqrt(sympy.pi), Apply(Function("exp"), scale(-1, hadamard(x, x))))
    return None


def _trigonometric_derivative(expr: Expr, definitions: Definitions) -> Expr | None:
    """sin' = cos, cos' = -sin."""
    if not (isinstance(expr, Apply) and expr.fn.order == 1 and expr.fn.definition is None):
        return None
    if expr.fn.name == "sin":
        return Apply(Function("cos"), expr.arg)
    if expr.fn.name == "cos":
        return scale(-1, Apply(Function("sin"), expr.arg))
    return None


def _scalar_power(base: Expr, exponent: Fraction) -> Expr:
    """base^p for a 1 x 1 base: base itself for p = 1, 1/base^|p| for p < 0."""
    if exponent < 0:
        return _reciprocal(_scalar_power(base, -exponent))
    if exponent == 1:
        return base
    return Apply(Function(f"power {exponent}", definition=functions.power(exponent)), base)


def _power_of(factor: Expr) -> tuple[Expr, Fraction]:
    """(base, p) with factor = base^p: s = s^1, 1/s = s^-1, (s^p) = s^p, 1/s^p = s^-p."""
    sign = 1
    if _is_reciprocal(factor):
        sign, factor = -1, factor.arg
    if isinstance(factor, Apply) and factor.fn.order == 0:
        exponent = functions.power_exponent(factor.fn.definition)
        if exponent is not None:
            return factor.arg, sign * exponent
    return factor, Fraction(sign)


def _scalar_powers_gathered(expr: Expr, definitions: Definitions) -> Expr | None:
    """s ⊙ s = s^2, s^2 ⊙ s = s^3, s^2 / s^6 = 1 / s^4 for a 1 x 1 s (a power of a number)."""
    if not (isinstance(expr, Hadamard) and is_scalar(expr.shape)):
        return None
    exponents: dict[Expr, Fraction] = {}
    counts: dict[Expr, int] = {}
    for factor in expr.factors:
        base, exponent = _power_of(factor)
        exponents[base] = exponents.get(base, Fraction(0)) + exponent
        counts[base] = counts.get(base, 0) + 1
    if all(count == 1 for count in counts.values()):
        return None
    kept = [_scalar_power(b, p) for b, p in exponents.items() if p != 0]
    return hadamard(*kept) if kept else Fill(sympy.Integer(1), SCALAR)


def _scalar_multiples_gathered(expr: Expr, definitions: Definitions) -> Expr | None:
    """s (s X) = s^2 X for a 1 x 1 s: a repeated scalar factor is a power."""
    if not (isinstance(expr, ScalarProduct) and isinstance(expr.arg, ScalarProduct)):
        return None
    outer, inner = _power_of(expr.scalar), _power_of(expr.arg.scalar)
    if outer[0] != inner[0]:
        return None
    return scalar_product(hadamard(expr.scalar, expr.arg.scalar), expr.arg.arg)


def _is_reciprocal(expr: Expr) -> bool:
    return isinstance(expr, Apply) and expr.fn == Function("reciprocal")


def _softmax_of_exponentials(expr: Expr, definitions: Definitions) -> Expr | None:
    """exp(x) / sum(exp(x)) = softmax(x) for a column x."""
    if not (isinstance(expr, ScalarProduct) and is_column(expr.arg.shape)):
        return None
    top = expr.arg
    if not (isinstance(top, Apply) and top.fn == Function("exp")):
        return None
    if expr.scalar == _reciprocal(Sum(top)):
        return Softmax(top.arg)
    return None


def _positive_column(name: str) -> Expr:
    """1 + x ⊙ x: an example argument where log, sqrt and 1/x are defined."""
    return add(ones(dim(3)), hadamard(_column(name, 3), _column(name, 3)))


def _rewrite_example_transpose_product() -> Expr:
    return Transpose(matmul(_matrix("A", 3, 4), _matrix("B", 4, 2)))


def _defined_output(activation: str, expr: Expr) -> tuple[Expr, dict[Symbol, Expr]]:
    """An example over Z with the definition A = f(Z) that the rule looks up."""
    return expr, {_column("A", 3): Apply(Function(activation), _column("Z", 3))}


REWRITES: tuple[Rule, ...] = (
    Rule(
        "transpose of a product",
        Kind.REWRITE,
        r"(AB)^T = B^T A^T",
        f"{COOKBOOK} eq. 5",
        _transpose_of_product,
        _rewrite_example_transpose_product,
    ),
    Rule(
        "transpose of a sum",
        Kind.REWRITE,
        r"(A + B)^T = A^T + B^T",
        f"{COOKBOOK} eq. 4",
        _transpose_of_sum,
        lambda: Transpose(add(_matrix("A", 3, 2), _matrix("B", 3, 2))),
    ),
    Rule(
        "transpose of a multiple",
        Kind.REWRITE,
        r"(\alpha A)^T = \alpha A^T",
        "definition of the transpose: a scalar multiple transposes entry by entry",
        _transpose_of_multiple,
        lambda: Transpose(scale(2, _matrix("A", 3, 2))),
    ),
    Rule(
        "diagonal times a column",
        Kind.REWRITE,
        r"\operatorname{diag}(v)\, u = v \odot u",
        f"definition of diag: (diag(v) u)_i = v_i u_i; {NOTES} (backprop with elementwise f')",
        _diagonal_times_column,
        lambda: matmul(Diag(_column("v", 3)), _matrix("W", 3, 4), _column("u", 4)),
    ),
    Rule(
        "diagonal of ones",
        Kind.REWRITE,
        r"\operatorname{diag}(\mathbf{1}_n) = I_n",
        "definition of the identity matrix: ones on the diagonal, zeros elsewhere",
        _diagonal_of_ones,
        lambda: Diag(ones(dim(3))),
    ),
    Rule(
        "identity factor",
        Kind.REWRITE,
        r"I X = X I = X",
        "definition of the identity matrix: ones on the diagonal, zeros elsewhere",
        _identity_factor,
        lambda: matmul(Identity(dim(3)), _matrix("X", 3, 2)),
    ),
    Rule(
        "ones in an elementwise product",
        Kind.REWRITE,
        r"\mathbf{1} \odot X = X",
        "definition of the Hadamard product: (X \\odot Y)_{ij} = X_{ij} Y_{ij}",
        _ones_factor,
        lambda: hadamard(ones(dim(3), dim(2)), _matrix("X", 3, 2)),
    ),
    Rule(
        "scalars out of an elementwise product",
        Kind.REWRITE,
        r"(\alpha X) \odot Y = \alpha (X \odot Y)",
        "definition of the Hadamard product: (X \\odot Y)_{ij} = X_{ij} Y_{ij}",
        _multiple_in_product,
        lambda: hadamard(scale(2, _matrix("X", 3, 2)), _matrix("Y", 3, 2)),
    ),
    Rule(
        "elementary derivatives",
        Kind.REWRITE,
        r"\exp'(x) = \exp(x),\ \log'(x) = \frac{1}{x},\ \left(\frac{1}{x}\right)' = "
        r"-\frac{1}{x^2},\ \sqrt{x}\,' = \frac{1}{2\sqrt{x}},\ |x|' = \operatorname{sign}(x),"
        r"\ \operatorname{erf}'(x) = \frac{2}{\sqrt{\pi}} e^{-x^2}",
        "derivatives of the elementary functions, entry by entry (any calculus text)",
        _elementary_derivative,
        lambda: Apply(Function("sqrt", 1), _positive_column("x")),
    ),
    Rule(
        "derivative of a user's function",
        Kind.REWRITE,
        r"f'(Z) = \left.\frac{d f}{d z}\right|_{z = Z} \text{ entry by entry, from the "
        r"definition of } f:\ \operatorname{swish}'(Z) = \sigma(Z) + Z \odot \sigma(Z) "
        r"\odot (1 - \sigma(Z))",
        "SymPy's derivative of the spec's scalar definition, written in the sigmoid where it is "
        "a polynomial in it",
        _derivative_of_definition,
        lambda: Apply(
            Function(
                "swish",
                1,
                definition=functions.ScalarFunction(
                    "swish", r"\operatorname{swish}", functions.Z / (1 + sympy.exp(-functions.Z))
                ),
            ),
            _column("Z", 3),
        ),
    ),
    Rule(
        "derivative of an activation from its output",
        Kind.REWRITE,
        r"\sigma'(Z) = A \odot (1 - A),\ \tanh'(Z) = 1 - A \odot A,\ "
        r"\operatorname{ReLU}'(Z) = \operatorname{step}(Z),\ \operatorname{id}'(Z) = 1",
        f"{NOTES}, activation functions (sigmoid, tanh, ReLU derivatives)",
        _closed_form_derivative,
        lambda: _defined_output("sigmoid", Apply(Function("sigmoid", 1), _column("Z", 3))),
    ),
    Rule(
        "forward quantities by name",
        Kind.REWRITE,
        r"f^l(Z^l) = A^l",
        f"{NOTES}, forward pass A^l = f^l(Z^l)",
        _name_forward_quantity,
        lambda: _defined_output("tanh", Apply(Function("tanh"), _column("Z", 3))),
    ),
    Rule(
        "constants first",
        Kind.REWRITE,
        r"-X + 1 = 1 - X",
        "commutativity of matrix addition",
        _polish_one_minus,
        lambda: add(scale(-1, _column("X", 3)), ones(dim(3))),
    ),
    Rule(
        "inverse of a transpose",
        Kind.REWRITE,
        r"(X^T)^{-1} = (X^{-1})^T = X^{-T}",
        f"{COOKBOOK} eq. 3",
        _inverse_of_transpose,
        lambda: Inverse(Transpose(_matrix("X", 3, 3))),
    ),
    Rule(
        "inverse of an inverse",
        Kind.REWRITE,
        r"(X^{-1})^{-1} = X",
        "definition of the inverse (X X^{-1} = I)",
        _inverse_of_inverse,
        lambda: Inverse(Inverse(_matrix("X", 3, 3))),
    ),
    Rule(
        "trace of a scalar",
        Kind.REWRITE,
        r"\operatorname{tr}(s) = \textstyle\sum s = s,\ s \text{ a } 1 \times 1 \text{ matrix}",
        f"{COOKBOOK} eq. 11 (a single diagonal entry)",
        _trace_of_scalar,
        lambda: Trace(matmul(Transpose(_column("a", 3)), _column("b", 3))),
    ),
    Rule(
        "log of a determinant",
        Kind.REWRITE,
        r"\log\left(\det X\right) = \log\det X,\ \det X > 0",
        f"notation: {COOKBOOK} eq. 43 writes ln(det(X))",
        _log_of_determinant,
        lambda: Apply(
            Function("log"),
            Det(add(matmul(Transpose(_square("X")), _square("X")), Identity(dim(3)))),
        ),
    ),
    Rule(
        "transpose of a scalar times a matrix",
        Kind.REWRITE,
        r"(s X)^T = s X^T",
        f"{COOKBOOK} eq. 5 with a 1 x 1 factor (s X)^T = X^T s^T = s X^T",
        _transpose_of_scalar_product,
        lambda: Transpose(ScalarProduct(_matrix("s", 1, 1), _matrix("X", 3, 2))),
    ),
    Rule(
        "scalars out of a product",
        Kind.REWRITE,
        r"A (s X) = s\, A X,\quad (s X) \odot Y = s\,(X \odot Y)",
        "a 1 x 1 factor commutes: it multiplies every entry",
        _scalar_out_of_product,
        lambda: matmul(_matrix("A", 2, 3), ScalarProduct(_matrix("s", 1, 1), _matrix("X", 3, 4))),
    ),
    Rule(
        "constant scalar factor",
        Kind.REWRITE,
        r"(c)\, X = c X,\ c \text{ a constant } 1 \times 1 \text{ matrix}",
        "a 1 x 1 factor commutes: it multiplies every entry",
        _constant_scalar_factor,
        lambda: matmul(_column("a", 3), Fill(sympy.Integer(2), SCALAR), Transpose(_column("b", 3))),
    ),
    Rule(
        "like terms",
        Kind.REWRITE,
        r"c X + d X = (c + d) X",
        "distributivity of scalar multiplication",
        _like_terms,
        lambda: add(_matrix("X", 3, 2), scale(3, _matrix("X", 3, 2)), _matrix("Y", 3, 2)),
    ),
    Rule(
        "inverse cancels",
        Kind.REWRITE,
        r"X^{-1} X = X X^{-1} = I,\ X^{-T} X^T = X^T X^{-T} = I",
        f"definition of the inverse (X X^{{-1}} = X^{{-1}} X = I); {COOKBOOK} eq. 3 for X^{{-T}}",
        _inverse_cancels,
        lambda: matmul(
            _matrix("A", 2, 3),
            Transpose(Inverse(_square("X"))),
            Transpose(_square("X")),
            _matrix("B", 3, 2),
        ),
    ),
    Rule(
        "constants out of a sum or trace",
        Kind.REWRITE,
        r"\textstyle\sum (c X) = c \sum X,\quad \operatorname{tr}(c X) = c \operatorname{tr}(X)",
        "linearity of the sum of entries and of the trace",
        _multiple_out_of_sum,
        lambda: Sum(scale(sympy.Rational(2, 3), _matrix("X", 3, 2))),
    ),
    Rule(
        "common right factor",
        Kind.REWRITE,
        r"A X + B X = (A + B) X",
        "distributivity of the matrix product",
        _common_right_factor,
        lambda: add(
            matmul(_matrix("A", 3, 3), _column("x", 3)),
            matmul(Transpose(_matrix("A", 3, 3)), _column("x", 3)),
        ),
    ),
)


# -------------------------------------------------------------- rewrites of expression contexts

MAX_ENTRYWISE_ATOMS = 8
MAX_ENTRYWISE_NODES = 60


def _derivative_from_the_function(expr: Expr, definitions: Definitions) -> Expr | None:
    """sigma'(u) = sigma(u) ⊙ (1 - sigma(u)), tanh'(u) = 1 - tanh(u) ⊙ tanh(u): f' written with
    f itself, where no name stands for f(u) (a function of matrices, not a network layer)."""
    if not (isinstance(expr, Apply) and expr.fn.order == 1 and expr.fn.definition is None):
        return None
    function = expr.fn.scalar
    if function is None or function.name not in ("sigmoid", "tanh"):
        return None
    output = Apply(_undifferentiated(expr.fn), expr.arg)
    return from_scalar(
        _derivative_in_output(function, function.derivative_from_output),
        {_OUTPUT: output},
        expr.shape,
    )


def _is_entrywise_node(expr: Expr) -> bool:
    return isinstance(expr, Add | Hadamard | Scale) or (
        isinstance(expr, Apply) and expr.fn == Function("reciprocal")
    )


def _to_scalar(expr: Expr, atoms: dict[Expr, sympy.Symbol]) -> sympy.Expr:
    """The entrywise algebra of ``expr`` as a SymPy formula; other subtrees are atoms."""
    if isinstance(expr, Add):
        return sympy.Add(*(_to_scalar(t, atoms) for t in expr.terms))
    if isinstance(expr, Hadamard):
        return sympy.Mul(*(_to_scalar(f, atoms) for f in expr.factors))
    if isinstance(expr, Scale):
        return expr.coeff * _to_scalar(expr.arg, atoms)
    if isinstance(expr, Fill):
        return sympy.sympify(expr.value)
    if isinstance(expr, Apply) and expr.fn == Function("reciprocal"):
        return 1 / _to_scalar(expr.arg, atoms)
    if expr not in atoms:
        atoms[expr] = sympy.Symbol(f"u{len(atoms)}", commutative=True)
    return atoms[expr]


def _from_scalar_formula(formula: sympy.Expr, atoms: Mapping[sympy.Symbol, Expr], shape) -> Expr:
    """An entrywise expression from a rational formula in the atoms; positive terms first."""
    if formula in atoms:
        return atoms[formula]
    if formula.is_number:
        return Fill(formula, shape)
    if isinstance(formula, sympy.Add):
        terms = sorted(sympy.Add.make_args(formula), key=lambda t: t.could_extract_minus_sign())
        numbers = [t for t in terms if t.is_number]
        rest = [t for t in terms if not t.is_number]
        return add(*(_from_scalar_formula(t, atoms, shape) for t in numbers + rest))
    if isinstance(formula, sympy.Mul):
        coeff, rest = formula.as_coeff_Mul()
        top, bottom = [], []
        for factor in sympy.Mul.make_args(rest):
            base, power = factor.as_base_exp()
            if not (power.is_Integer and power != 0):
                raise NoRuleError(f"no entrywise form for {formula}")
            (top if power > 0 else bottom).extend([base] * abs(int(power)))
        parts = [_from_scalar_formula(f, atoms, shape) for f in top]
        if bottom:
            below = hadamard(*(_from_scalar_formula(f, atoms, shape) for f in bottom))
            parts.append(_reciprocal(below))
        return scale(coeff, hadamard(*parts))
    if isinstance(formula, sympy.Pow):
        return _from_scalar_formula(sympy.Mul(formula, 1, evaluate=False), atoms, shape)
    raise NoRuleError(f"no entrywise form for {formula}")


def _size(expr: Expr) -> int:
    return sum(1 for _ in expr.walk())


def _entrywise_cancellation(expr: Expr, definitions: Definitions) -> Expr | None:
    """Entrywise sums, products and quotients brought to their shortest rational form:
    (sigma ⊙ (1 - sigma) ⊙ y) / sigma = (1 - sigma) ⊙ y, and so on."""
    negated_sum = isinstance(expr, Scale) and isinstance(expr.arg, Add | Hadamard)
    if not (isinstance(expr, Add | Hadamard) or negated_sum) or _size(expr) > MAX_ENTRYWISE_NODES:
        return None
    atoms: dict[Expr, sympy.Symbol] = {}
    formula = _to_scalar(expr, atoms)
    if len(atoms) > MAX_ENTRYWISE_ATOMS:
        return None
    back = {symbol: atom for atom, symbol in atoms.items()}

    def cost(candidate: Expr) -> tuple[int, int]:
        """How often the atoms are written, then how many nodes: a(1 - t t) beats a - a t t."""
        return (sum(1 for node in candidate.walk() if node in atoms), _size(candidate))

    best, best_cost = None, cost(expr)
    for candidate in (sympy.cancel(formula), sympy.factor(formula), sympy.expand(formula)):
        try:
            rewritten = _from_scalar_formula(candidate, back, expr.shape)
        except NoRuleError:
            continue
        if cost(rewritten) < best_cost:
            best, best_cost = rewritten, cost(rewritten)
    return best


def _scalar_last_factor(expr: Expr, definitions: Definitions) -> Expr | None:
    """A x s -> s A x for a 1 x 1 factor s at the end of a product: scalars are written first."""
    if isinstance(expr, MatMul) and len(expr.factors) > 1 and not is_scalar(expr.shape):
        last = expr.factors[-1]
        if is_scalar(last.shape):
            return scalar_product(last, matmul(*expr.factors[:-1]))
    return None


def _common_scalar(expr: Expr, definitions: Definitions) -> Expr | None:
    """s X + s Y -> s (X + Y) for one 1 x 1 expression s in every term."""
    if not isinstance(expr, Add):
        return None
    bare = [_bare(term) for term in expr.terms]
    if not all(isinstance(arg, ScalarProduct) for _, arg in bare):
        return None
    common = bare[0][1].scalar
    if any(arg.scalar != common for _, arg in bare):
        return None
    return scalar_product(common, add(*(scale(coeff, arg.arg) for coeff, arg in bare)))


def _norm_of_a_square_root(expr: Expr, definitions: Definitions) -> Expr | None:
    """sqrt(||x||^2) = ||x||_2, sqrt(||X||_F^2) = ||X||_F."""
    if type(expr) is Apply and expr.fn == Function("sqrt") and isinstance(expr.arg, SquaredNorm):
        return Norm(expr.fn, expr.arg)
    return None


def _transposes_gathered(expr: Expr, definitions: Definitions) -> Expr | None:
    """x^T - mu^T -> (x - mu)^T: a sum of transposes written as the transpose of a sum."""
    if not isinstance(expr, Add) or is_scalar(expr.shape):
        return None
    bare = [_bare(term) for term in expr.terms]
    if not all(isinstance(arg, Transpose) for _, arg in bare):
        return None
    return Transpose(add(*(scale(coeff, arg.arg) for coeff, arg in bare)))


def _negated_difference(expr: Expr, definitions: Definitions) -> Expr | None:
    """-A (y - s) B = A (s - y) B: the minus sign taken into a difference of two terms."""
    if not (isinstance(expr, Scale) and isinstance(expr.arg, MatMul)):
        return None
    if not (expr.coeff.is_number and expr.coeff < 0):
        return None
    factors = expr.arg.factors
    for position, factor in enumerate(factors):
        if isinstance(factor, Add) and len(factor.terms) == 2:
            (c1, a), (c2, b) = (_bare(t) for t in factor.terms)
            if c1.is_number and c2.is_number and c1 > 0 and c2 < 0:
                swapped = add(scale(-c2, b), scale(-c1, a))
                rebuilt = matmul(*factors[:position], swapped, *factors[position + 1 :])
                return scale(-expr.coeff, rebuilt)
    return None


def _logistic_function(expr: Expr, definitions: Definitions) -> Expr | None:
    """exp(u) / (1 + exp(u)) = sigma(u), also among other elementwise factors."""
    if not isinstance(expr, Hadamard):
        return None
    factors = list(expr.factors)
    for top in factors:
        if not (isinstance(top, Apply) and top.fn == Function("exp")):
            continue
        bottom = _reciprocal(add(Fill(sympy.Integer(1), top.shape), top))
        if bottom in factors:
            rest = list(factors)
            rest.remove(top)
            rest.remove(bottom)
            return hadamard(Apply(Function("sigmoid"), top.arg), *rest)
    return None


def _common_left_factor(expr: Expr, definitions: Definitions) -> Expr | None:
    """A x + A y -> A (x + y), when every term starts with the same factor."""
    if not isinstance(expr, Add):
        return None
    bare = [_bare(term) for term in expr.terms]
    if not all(isinstance(arg, MatMul) for _, arg in bare):
        return None
    first = bare[0][1].factors[0]
    if any(arg.factors[0] != first for _, arg in bare):
        return None
    tails = [scale(coeff, matmul(*arg.factors[1:])) for coeff, arg in bare]
    return matmul(first, add(*tails))


def _sum_of_a_quotient(expr: Expr, definitions: Definitions) -> Expr | None:
    """a^T (u / a) = sum of u's entries: the step that fuses softmax with cross-entropy."""
    if not isinstance(expr, MatMul):
        return None
    factors = expr.factors
    for position, (left, right) in enumerate(zip(factors, factors[1:], strict=False)):
        if not (isinstance(left, Transpose) and isinstance(right, Hadamard)):
            continue
        if not is_column(right.shape):
            continue
        quotient = _reciprocal(left.arg)
        if quotient in right.factors:
            rest = list(right.factors)
            rest.remove(quotient)
            kept = factors[:position] + factors[position + 2 :]
            total = Sum(hadamard(*rest))
            return scalar_product(total, matmul(*kept)) if kept else total
    return None


def _distribute_over_a_difference(expr: Expr, definitions: Definitions) -> Expr | None:
    """(D - a a^T) u = D u - a (a^T u): the softmax Jacobian applied term by term."""
    if not isinstance(expr, MatMul):
        return None
    factors = expr.factors
    for position, (left, right) in enumerate(zip(factors, factors[1:], strict=False)):
        if (
            isinstance(left, Add)
            and is_column(right.shape)
            and any(isinstance(_bare(t)[1], Diag) for t in left.terms)
        ):
            distributed = add(*(matmul(t, right) for t in left.terms))
            return matmul(*factors[:position], distributed, *factors[position + 2 :])
    return None


def _common_coefficient(expr: Expr, definitions: Definitions) -> Expr | None:
    """2 x - 2 mu -> 2 (x - mu): a constant every term of a sum shares, taken out."""
    if not isinstance(expr, Add):
        return None
    bare = [_bare(term) for term in expr.terms]
    if not all(coeff.is_Rational for coeff, _ in bare):
        return None
    common = abs(functools.reduce(sympy.gcd, [coeff for coeff, _ in bare]))
    if common in (0, 1):
        return None
    return scale(common, add(*(scale(coeff / common, arg) for coeff, arg in bare)))


def _is_gram(expr: Expr) -> bool:
    """Z^T Z (or Z^T S Z with S symmetric by its form): equal to its own transpose."""
    return (
        isinstance(expr, MatMul)
        and len(expr.factors) == 2
        and transpose(expr.factors[0]) == expr.factors[1]
    )


def _symmetric_gram(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Transpose):
        inner = expr.arg.arg if isinstance(expr.arg, Inverse) else expr.arg
        if _is_gram(inner):
            return expr.arg
    return None


def _inverse_of_a_product(expr: Expr, definitions: Definitions) -> Expr | None:
    if isinstance(expr, Inverse) and isinstance(expr.arg, MatMul):
        factors = expr.arg.factors
        if all(dims_equal(f.shape[0], f.shape[1]) for f in factors):
            return matmul(*(Inverse(f) for f in reversed(factors)))
    return None


EXPRESSION_REWRITES: tuple[Rule, ...] = (
    Rule(
        "repeated scalar factor",
        Kind.REWRITE,
        r"s\,(s\,X) = s^{2} X,\ s \text{ a } 1 \times 1 \text{ matrix}",
        "laws of exponents for a number",
        _scalar_multiples_gathered,
        lambda: ScalarProduct(
            _matrix("s", 1, 1), ScalarProduct(_matrix("s", 1, 1), _matrix("X", 3, 2))
        ),
    ),
    Rule(
        "derivatives of sine and cosine",
        Kind.REWRITE,
        r"\sin'(x) = \cos(x),\ \cos'(x) = -\sin(x)",
        "derivatives of the trigonometric functions, entry by entry (any calculus text)",
        _trigonometric_derivative,
        lambda: Apply(Function("cos", 1), _column("x", 4)),
    ),
    Rule(
        "powers of a scalar",
        Kind.REWRITE,
        r"s \odot s = s^{2},\ s^{p} \odot s^{q} = s^{p + q},\ \frac{s^{p}}{s^{q}} = "
        r"\frac{1}{s^{q - p}},\ s \text{ a } 1 \times 1 \text{ matrix}",
        "laws of exponents for a number",
        _scalar_powers_gathered,
        lambda: hadamard(
            _matrix("s", 1, 1),
            _matrix("s", 1, 1),
            _reciprocal(_scalar_power(add(Fill(ONE, SCALAR), _matrix("s", 1, 1)), Fraction(3))),
            _scalar_power(add(Fill(ONE, SCALAR), _matrix("s", 1, 1)), Fraction(2)),
        ),
    ),
    Rule(
        "softmax of exponentials",
        Kind.REWRITE,
        r"\frac{1}{\sum \exp(x)}\,\exp(x) = \operatorname{softmax}(x),\ x \text{ a column}",
        "definition of the softmax, softmax(x)_i = exp(x_i) / sum_j exp(x_j)",
        _softmax_of_exponentials,
        lambda: ScalarProduct(
            _reciprocal(Sum(Apply(Function("exp"), _column("x", 4)))),
            Apply(Function("exp"), _column("x", 4)),
        ),
    ),
    Rule(
        "scalar factors first",
        Kind.REWRITE,
        r"A x\, s = s\, A x,\ s \text{ a } 1 \times 1 \text{ matrix}",
        "a 1 x 1 factor commutes: it multiplies every entry",
        _scalar_last_factor,
        lambda: matmul(_matrix("A", 3, 2), _column("x", 2), _matrix("s", 1, 1)),
    ),
    Rule(
        "common scalar factor",
        Kind.REWRITE,
        r"s X + s Y = s (X + Y),\ s \text{ a } 1 \times 1 \text{ matrix}",
        "distributivity of scalar multiplication",
        _common_scalar,
        lambda: add(
            ScalarProduct(_matrix("s", 1, 1), _column("x", 3)),
            ScalarProduct(_matrix("s", 1, 1), _column("y", 3)),
        ),
    ),
    Rule(
        "unsquared norm",
        Kind.REWRITE,
        r"\sqrt{\|x\|^2} = \|x\|_2,\ \sqrt{\|X\|_F^2} = \|X\|_F",
        "definition of the 2-norm and the Frobenius norm",
        _norm_of_a_square_root,
        lambda: Apply(Function("sqrt"), SquaredNorm(_matrix("X", 3, 2))),
    ),
    Rule(
        "transposes gathered",
        Kind.REWRITE,
        r"A^T + B^T = (A + B)^T",
        f"{COOKBOOK} eq. 4, read from right to left",
        _transposes_gathered,
        lambda: add(Transpose(_matrix("A", 3, 2)), scale(-1, Transpose(_matrix("B", 3, 2)))),
    ),
    Rule(
        "a minus sign into a difference",
        Kind.REWRITE,
        r"-A (y - s) B = A (s - y) B",
        "distributivity of the matrix product",
        _negated_difference,
        lambda: scale(
            -1,
            matmul(
                _matrix("A", 2, 3),
                add(_column("y", 3), scale(-1, _column("s", 3))),
                Transpose(_column("x", 4)),
            ),
        ),
    ),
    Rule(
        "the logistic function",
        Kind.REWRITE,
        r"\frac{\exp(u)}{1 + \exp(u)} = \sigma(u)",
        "definition of the logistic sigmoid, sigma(u) = 1 / (1 + exp(-u))",
        _logistic_function,
        lambda: hadamard(
            Apply(Function("exp"), _column("u", 3)),
            _reciprocal(add(ones(dim(3)), Apply(Function("exp"), _column("u", 3)))),
        ),
    ),
    Rule(
        "a Gram matrix is symmetric",
        Kind.REWRITE,
        r"(Z^T Z)^T = Z^T Z,\ (Z^T Z)^{-T} = (Z^T Z)^{-1}",
        f"{COOKBOOK} eq. 5 ((AB)^T = B^T A^T) and eq. 3",
        _symmetric_gram,
        lambda: Transpose(Inverse(matmul(Transpose(_matrix("Z", 4, 3)), _matrix("Z", 4, 3)))),
    ),
    Rule(
        "inverse of a product of square matrices",
        Kind.REWRITE,
        r"(A B)^{-1} = B^{-1} A^{-1},\ A, B \text{ square and invertible}",
        "definition of the inverse: (AB)(B^{-1}A^{-1}) = I",
        _inverse_of_a_product,
        lambda: Inverse(matmul(Transpose(_square("S")), _square("S"))),
    ),
    Rule(
        "common coefficient",
        Kind.REWRITE,
        r"c X + c Y = c (X + Y)",
        "distributivity of scalar multiplication",
        _common_coefficient,
        lambda: add(scale(2, _column("x", 3)), scale(-2, _column("y", 3))),
    ),
    Rule(
        "sigmoid and tanh derivatives from the function",
        Kind.REWRITE,
        r"\sigma'(u) = \sigma(u) \odot (1 - \sigma(u)),\ \tanh'(u) = 1 - \tanh(u) \odot \tanh(u)",
        f"{NOTES}, activation functions (sigmoid and tanh derivatives)",
        _derivative_from_the_function,
        lambda: Apply(Function("sigmoid", 1), matmul(_matrix("X", 3, 2), _column("w", 2))),
    ),
    Rule(
        "entrywise cancellation",
        Kind.REWRITE,
        r"\frac{\sigma \odot (1 - \sigma) \odot y}{\sigma} = (1 - \sigma) \odot y,"
        r"\ (1 - y) \odot \sigma - (1 - \sigma) \odot y = \sigma - y",
        "arithmetic of real numbers, entry by entry (the Hadamard product and quotient)",
        _entrywise_cancellation,
        lambda: add(
            hadamard(_positive_column("s"), _reciprocal(_positive_column("s")), _column("y", 3)),
            scale(-1, _column("y", 3)),
            _column("z", 3),
        ),
    ),
    Rule(
        "common left factor",
        Kind.REWRITE,
        r"A X + A Y = A (X + Y)",
        "distributivity of the matrix product",
        _common_left_factor,
        lambda: add(
            matmul(_matrix("A", 2, 3), _column("x", 3)),
            scale(-1, matmul(_matrix("A", 2, 3), _column("y", 3))),
        ),
    ),
    Rule(
        "sum of a quotient",
        Kind.REWRITE,
        r"a^T \left(\frac{u}{a}\right) = \textstyle\sum u",
        "definition of the matrix product: sum_i a_i (u_i / a_i) = sum_i u_i",
        _sum_of_a_quotient,
        lambda: matmul(
            _column("b", 3),
            Transpose(_positive_column("a")),
            hadamard(_column("u", 3), _reciprocal(_positive_column("a"))),
        ),
    ),
    Rule(
        "distribute a Jacobian over a difference",
        Kind.REWRITE,
        r"\left(\operatorname{diag}(a) - a a^T\right) u = \operatorname{diag}(a)\, u - a\, a^T u",
        "distributivity of the matrix product",
        _distribute_over_a_difference,
        lambda: matmul(
            add(
                Diag(_column("a", 3)),
                scale(-1, matmul(_column("a", 3), Transpose(_column("a", 3)))),
            ),
            _column("u", 3),
        ),
    ),
)


# --------------------------------------------------------------------------- assumptions

SYMMETRIC_KINDS = ("symmetric", "positive definite", "diagonal")
PROBABILITY_KINDS = ("probability", "one-hot")


def _symmetric_transpose(symmetric: frozenset[Expr]):
    def apply(expr: Expr, definitions: Definitions) -> Expr | None:
        if isinstance(expr, Transpose):
            inner = expr.arg.arg if isinstance(expr.arg, Inverse) else expr.arg
            if inner in symmetric:
                return expr.arg
        return None

    return apply


def _probability_sum(probabilities: frozenset[Expr]):
    """sum y = 1 for a probability column; 1 1^T Y = 1 1^T for probability columns Y."""

    def apply(expr: Expr, definitions: Definitions) -> Expr | None:
        if isinstance(expr, Sum) and expr.arg in probabilities and is_column(expr.arg.shape):
            return Fill(sympy.Integer(1), SCALAR)
        if isinstance(expr, MatMul):
            factors = expr.factors
            for position, (left, right) in enumerate(zip(factors, factors[1:], strict=False)):
                if isinstance(left, Fill) and left.value == 1 and right in probabilities:
                    block = Fill(sympy.Integer(1), (left.shape[0], right.shape[1]))
                    return matmul(*factors[:position], block, *factors[position + 2 :])
        return None

    return apply


def assumption_rules(assumptions: Mapping[Symbol, str]) -> tuple[Rule, ...]:
    """The rewrites that a context's ``[assume]`` table allows: S^T = S and S^{-T} = S^{-1}
    for a symmetric (positive definite, diagonal) S; the entries of a probability vector (a
    one-hot target) sum to 1."""
    symmetric = frozenset(s for s, kind in assumptions.items() if kind in SYMMETRIC_KINDS)
    probabilities = frozenset(s for s, kind in assumptions.items() if kind in PROBABILITY_KINDS)
    rules = []
    if symmetric:
        rules.append(
            Rule(
                "a symmetric matrix is its transpose",
                Kind.REWRITE,
                r"S^T = S,\ S^{-T} = S^{-1}\ \text{for } S = S^T",
                f"definition of symmetry; {COOKBOOK} eq. 3 for the inverse",
                _symmetric_transpose(symmetric),
                lambda: Transpose(next(iter(symmetric))),
            )
        )
    if probabilities:
        rules.append(
            Rule(
                "a probability vector sums to one",
                Kind.REWRITE,
                r"\textstyle\sum y = \mathbf{1}^T y = 1,\ "
                r"\mathbf{1}\mathbf{1}^T Y = \mathbf{1}\mathbf{1}^T"
                r"\ \text{(each column of } Y \text{ a probability vector)}",
                "definition of a probability vector (a one-hot target is one)",
                _probability_sum(probabilities),
                lambda: Sum(next(iter(probabilities))),
            )
        )
    return tuple(rules)


# ------------------------------------------------------------------------ cookbook identities


def _a_x_b(middle: Expr) -> Expr:
    return matmul(Transpose(_column("a", 3)), middle, _column("b", 3))


IDENTITIES: tuple[Rule, ...] = (
    Rule(
        "linear form",
        Kind.IDENTITY,
        r"\frac{\partial a^T x}{\partial x} = \frac{\partial x^T a}{\partial x} = a",
        f"{COOKBOOK} eq. 69",
        lambda f, x: transpose(f.factors[0]),
        lambda: (matmul(Transpose(_column("a")), _column("x")), _column("x")),
    ),
    Rule(
        "bilinear form",
        Kind.IDENTITY,
        r"\frac{\partial a^T X b}{\partial X} = a b^T",
        f"{COOKBOOK} eq. 70",
        lambda f, x: matmul(transpose(f.factors[0]), transpose(f.factors[2])),
        lambda: (_a_x_b(_square("X")), _square("X")),
    ),
    Rule(
        "bilinear form of a transpose",
        Kind.IDENTITY,
        r"\frac{\partial a^T X^T b}{\partial X} = b a^T",
        f"{COOKBOOK} eq. 71",
        lambda f, x: matmul(f.factors[2], f.factors[0]),
        lambda: (_a_x_b(Transpose(_square("X"))), _square("X")),
    ),
    Rule(
        "quadratic form",
        Kind.IDENTITY,
        r"\frac{\partial x^T B x}{\partial x} = (B + B^T)\, x",
        f"{COOKBOOK} eq. 81",
        lambda f, x: matmul(add(f.factors[1], transpose(f.factors[1])), x),
        lambda: (
            matmul(Transpose(_column("x", 3)), _square("B"), _column("x", 3)),
            _column("x", 3),
        ),
    ),
    Rule(
        "least squares",
        Kind.IDENTITY,
        r"\frac{\partial \|A x - b\|^2}{\partial x} = 2 A^T (A x - b)",
        f"{COOKBOOK} eq. 78 with B = D = A, C = I and -b for both constant vectors",
        lambda f, x: scale(2, matmul(transpose(f.arg.terms[0].factors[0]), f.arg)),
        lambda: (
            SquaredNorm(add(matmul(_matrix("A", 4, 3), _column("x", 3)), scale(-1, _column("b")))),
            _column("x", 3),
        ),
    ),
    Rule(
        "trace of a product",
        Kind.IDENTITY,
        r"\frac{\partial \operatorname{tr}(A X)}{\partial X}"
        r" = \frac{\partial \operatorname{tr}(X A)}{\partial X} = A^T",
        f"{COOKBOOK} eq. 100 (tr(AX) = tr(XA), eq. 14)",
        lambda f, x: transpose(f.arg.factors[0]),
        lambda: (Trace(matmul(_matrix("A", 2, 3), _matrix("X", 3, 2))), _matrix("X", 3, 2)),
    ),
    Rule(
        "trace of a sandwich",
        Kind.IDENTITY,
        r"\frac{\partial \operatorname{tr}(A X B)}{\partial X} = A^T B^T",
        f"{COOKBOOK} eq. 101",
        lambda f, x: matmul(transpose(f.arg.factors[0]), transpose(f.arg.factors[2])),
        lambda: (
            Trace(matmul(_matrix("A", 2, 3), _matrix("X", 3, 4), _matrix("B", 4, 2))),
            _matrix("X", 3, 4),
        ),
    ),
    Rule(
        "trace of a Gram matrix",
        Kind.IDENTITY,
        r"\frac{\partial \operatorname{tr}(X^T X)}{\partial X}"
        r" = \frac{\partial \|X\|_F^2}{\partial X} = 2 X",
        f"{COOKBOOK} eq. 115; eq. 132 for the Frobenius norm",
        lambda f, x: scale(2, x),
        lambda: (
            Trace(matmul(Transpose(_matrix("X", 3, 2)), _matrix("X", 3, 2))),
            _matrix("X", 3, 2),
        ),
    ),
    Rule(
        "trace of a quadratic form",
        Kind.IDENTITY,
        r"\frac{\partial \operatorname{tr}(X^T B X)}{\partial X} = B X + B^T X",
        f"{COOKBOOK} eq. 108",
        lambda f, x: add(matmul(f.arg.factors[1], x), matmul(transpose(f.arg.factors[1]), x)),
        lambda: (
            Trace(matmul(Transpose(_matrix("X", 3, 2)), _square("B"), _matrix("X", 3, 2))),
            _matrix("X", 3, 2),
        ),
    ),
    Rule(
        "bilinear form of an inverse",
        Kind.IDENTITY,
        r"\frac{\partial a^T X^{-1} b}{\partial X} = -X^{-T} a b^T X^{-T}",
        f"{COOKBOOK} eq. 61",
        lambda f, x: scale(
            -1,
            matmul(
                _inverse_transposed(x),
                transpose(f.factors[0]),
                transpose(f.factors[2]),
                _inverse_transposed(x),
            ),
        ),
        lambda: (_a_x_b(Inverse(_square("X"))), _square("X")),
    ),
    Rule(
        "trace with an inverse",
        Kind.IDENTITY,
        r"\frac{\partial \operatorname{tr}(A X^{-1} B)}{\partial X}"
        r" = -\left(X^{-1} B A X^{-1}\right)^T",
        f"{COOKBOOK} eq. 63",
        lambda f, x: scale(
            -1, transpose(matmul(Inverse(x), f.arg.factors[2], f.arg.factors[0], Inverse(x)))
        ),
        lambda: (
            Trace(matmul(_matrix("A", 2, 3), Inverse(_square("X")), _matrix("B", 3, 2))),
            _square("X"),
        ),
    ),
    Rule(
        "determinant of an inverse",
        Kind.IDENTITY,
        r"\frac{\partial \det(X^{-1})}{\partial X} = -\det(X^{-1})\, X^{-T}",
        f"{COOKBOOK} eq. 62",
        lambda f, x: scale(-1, scalar_product(f, _inverse_transposed(x))),
        lambda: (Det(Inverse(_square("X"))), _square("X")),
    ),
)


RULES: tuple[Rule, ...] = (
    PULLBACKS + JACOBIANS + REWRITES + EXPRESSION_REWRITES + LOSSES + FUSED + IDENTITIES
)


def pullback_rule(node: Expr, position: int) -> Rule:
    """The pullback rule for this node, or :class:`NoRuleError`."""
    for rule in PULLBACKS:
        if (
            isinstance(node, rule.node)
            and rule.position in (None, position)
            and (rule.applies is None or rule.applies(node))
        ):
            return rule
    raise NoRuleError(f"no pullback rule for {type(node).__name__} in {node}")


def jacobian_rule(node: Expr, position: int) -> Rule:
    """The Jacobian rule for this node and argument, or :class:`NoRuleError`."""
    for rule in JACOBIANS:
        if rule.name.startswith("weight link") or not isinstance(node, rule.node):
            continue
        if rule.node is MatMul and position != len(node.factors) - 1:
            continue
        return rule
    raise NoRuleError(
        f"no Jacobian rule for argument {position + 1} of {type(node).__name__} in {node}"
    )


def rule_named(name: str, kind: Kind | None = None) -> Rule:
    for rule in RULES:
        if rule.name == name and (kind is None or rule.kind == kind):
            return rule
    raise NoRuleError(f"no rule named {name!r}")
