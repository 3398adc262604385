"""Immutable matrix-expression nodes with shapes over symbolic dimensions.

Every node is a frozen dataclass.  Its shape is computed when it is built, and a node whose
operands do not fit cannot be built: :class:`ShapeError` names both operands and both shapes.
Vectors are columns (k x 1) and scalars are 1 x 1 matrices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import field, replace
from typing import Any, ClassVar

import sympy

from matcalc.core.functions import ScalarFunction, builtin
from matcalc.core.record import record
from matcalc.core.shapes import (
    ONE,
    SCALAR,
    Dim,
    Shape,
    dims_equal,
    is_column,
    is_scalar,
    shape_text,
)
from matcalc.errors import MatcalcError


class ShapeError(MatcalcError):
    """Two operands whose shapes do not fit; the message names both."""

    def __init__(self, operation: str, left: Expr, right: Expr, detail: str = "") -> None:
        self.operation = operation
        self.left = left
        self.right = right
        message = (
            f"{operation}: {left} is {shape_text(left.shape)}"
            if left is right
            else f"{operation}: {left} is {shape_text(left.shape)} but "
            f"{right} is {shape_text(right.shape)}"
        )
        super().__init__(message + (f" ({detail})" if detail else ""))


class cached_shape:  # noqa: N801 - used as a decorator, like functools.cached_property
    """A property computed on first use and kept in the instance's ``__dict__``.

    functools.cached_property takes a lock on every first use, which costs more than the
    shapes it keeps; nodes are immutable, so nothing here needs one.
    """

    def __init__(self, compute: Any) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.compute(instance)
        instance.__dict__[self.name] = value
        return value


class Expr:
    """Base class of matrix expressions."""

    __slots__ = ()

    @property
    def shape(self) -> Shape:
        raise NotImplementedError

    @property
    def children(self) -> tuple[Expr, ...]:
        return ()

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        """The same node over new children (leaves return themselves)."""
        return self

    def walk(self) -> Iterator[Expr]:
        """Every node of the tree, parents before children (iteratively: trees can be deep)."""
        pending: list[Expr] = [self]
        while pending:
            node = pending.pop()
            yield node
            pending.extend(reversed(node.children))

    def __str__(self) -> str:
        from matcalc.printers.latex import to_latex

        return to_latex(self)

    # Operators build nodes, so user code reads like the math.
    def __matmul__(self, other: Expr) -> Expr:
        return matmul(self, other)

    def __add__(self, other: Expr) -> Expr:
        return add(self, other)

    def __sub__(self, other: Expr) -> Expr:
        return add(self, scale(-1, other))

    def __neg__(self) -> Expr:
        return scale(-1, self)

    def __rmul__(self, coeff: int | sympy.Expr) -> Expr:
        return scale(coeff, self)

    @property
    def T(self) -> Expr:  # noqa: N802 - the mathematical name
        return transpose(self)


# ----------------------------------------------------------------------------------- leaves


@record
class Symbol(Expr):
    """A named matrix such as W^{l+1}, W_0^2, A^0, y.

    ``index`` is the layer index (an integer or a SymPy expression in l and L), ``sub`` a
    subscript that is part of the name (the 0 of W_0).  Two symbols with the same name, index
    and subscript are the same quantity, so the shape does not take part in equality.
    """

    name: str
    shape_: Shape = field(compare=False)
    index: sympy.Expr | None = None
    sub: str | None = None

    @property
    def shape(self) -> Shape:
        return self.shape_

    def at(self, index: sympy.Expr | int) -> Symbol:
        return Symbol(self.name, self.shape_, sympy.sympify(index), self.sub)


@record
class Fill(Expr):
    """A constant matrix, every entry ``value``: 1 in ``1 - A``, the ones vector."""

    value: sympy.Expr
    shape_: Shape

    @property
    def shape(self) -> Shape:
        return self.shape_


@record
class Identity(Expr):
    """The n x n identity matrix."""

    size: Dim

    @property
    def shape(self) -> Shape:
        return (self.size, self.size)


@record
class Cdots(Expr):
    """The factors left out of a chain of symbolic length, written (\\cdots)."""

    shape_: Shape

    @property
    def shape(self) -> Shape:
        return self.shape_


@record
class Derivative(Expr):
    """The derivative of ``num`` by ``den`` as a quantity of its own: dL/dZ^l, dA^l/dZ^l.

    Denominator layout: a scalar by a matrix has the matrix's shape; a column y by a column x
    is dim x by dim y.  ``shape_`` is given where neither applies (the 6.390 weight link
    dZ^l/dW^l, which the notes contract to A^{l-1}).
    """

    num: Expr
    den: Expr
    shape_: Shape | None = field(default=None, compare=False)

    @cached_shape
    def shape(self) -> Shape:
        if self.shape_ is not None:
            return self.shape_
        if is_scalar(self.num.shape):
            return self.den.shape
        if is_column(self.num.shape) and is_column(self.den.shape):
            return (self.den.shape[0], self.num.shape[0])
        raise ShapeError("derivative of a matrix by a matrix is not a matrix", self.num, self.den)


# ------------------------------------------------------------------------------ operations


@record
class Transpose(Expr):
    arg: Expr

    @property
    def shape(self) -> Shape:
        rows, cols = self.arg.shape
        return (cols, rows)

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return transpose(children[0])


@record
class MatMul(Expr):
    """A matrix product of two or more factors, left to right."""

    factors: tuple[Expr, ...]

    def __post_init__(self) -> None:
        for left, right in zip(self.factors, self.factors[1:], strict=False):
            if not dims_equal(left.shape[1], right.shape[0]):
                raise ShapeError("product does not fit", left, right)

    @cached_shape
    def shape(self) -> Shape:
        return (self.factors[0].shape[0], self.factors[-1].shape[1])

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.factors

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return matmul(*children)


def _check_same_shape(operation: str, terms: tuple[Expr, ...]) -> None:
    first = terms[0]
    for other in terms[1:]:
        if not (
            dims_equal(first.shape[0], other.shape[0])
            and dims_equal(first.shape[1], other.shape[1])
        ):
            raise ShapeError(operation, first, other)


@record
class Add(Expr):
    """A sum of two or more terms of one shape."""

    terms: tuple[Expr, ...]

    def __post_init__(self) -> None:
        _check_same_shape("sum of different shapes", self.terms)

    @property
    def shape(self) -> Shape:
        return self.terms[0].shape

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.terms

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return add(*children)


@record
class Hadamard(Expr):
    """The elementwise product of two or more factors of one shape."""

    factors: tuple[Expr, ...]

    def __post_init__(self) -> None:
        _check_same_shape("elementwise product of different shapes", self.factors)

    @property
    def shape(self) -> Shape:
        return self.factors[0].shape

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.factors

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return hadamard(*children)


@record
class Scale(Expr):
    """A constant scalar coefficient times a matrix: 2 A, -Z, (1/K) X."""

    coeff: sympy.Expr
    arg: Expr

    @property
    def shape(self) -> Shape:
        return self.arg.shape

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return scale(self.coeff, children[0])


@record
class Function:
    """A scalar function applied entrywise, or its ``order``-th derivative: sigma, f^l, tanh'.

    ``definition`` is a user's own function (swish, a piece of a custom loss), carried by the
    node itself so that two specs may define the same name differently; a built-in function is
    found by its name, and a generic f^l has neither.
    """

    name: str
    order: int = 0
    index: sympy.Expr | None = None
    definition: ScalarFunction | None = None

    @property
    def scalar(self) -> ScalarFunction | None:
        """f(z) as a SymPy formula with its LaTeX name, or None for a generic f."""
        return self.definition if self.definition is not None else builtin(self.name)

    def derivative(self) -> Function:
        return replace(self, order=self.order + 1)

    def at(self, index: sympy.Expr | int) -> Function:
        return replace(self, index=sympy.sympify(index))


@record
class Apply(Expr):
    """A scalar function applied to every entry: sigma(Z), f'(Z^l), log(A), 1/A."""

    fn: Function
    arg: Expr

    @property
    def shape(self) -> Shape:
        return self.arg.shape

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Apply(self.fn, children[0])


@record
class _OfOne(Expr):
    """A node over one matrix, ``arg``, rebuilt as the same kind of node."""

    arg: Expr

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return type(self)(children[0])


@record
class Softmax(_OfOne):
    """softmax(z)_i = exp(z_i) / sum_j exp(z_j), of a column; of each column of a matrix."""

    @property
    def shape(self) -> Shape:
        return self.arg.shape


@record
class Diag(_OfOne):
    """diag(v): the square matrix with the column v on its diagonal."""

    def __post_init__(self) -> None:
        if not is_column(self.arg.shape):
            raise ShapeError("diag needs a column", self.arg, self.arg)

    @property
    def shape(self) -> Shape:
        return (self.arg.shape[0], self.arg.shape[0])


@record
class Sum(_OfOne):
    """The sum of all entries, a scalar."""

    @property
    def shape(self) -> Shape:
        return SCALAR


@record
class SquaredNorm(_OfOne):
    """||X||^2, the sum of squared entries (Frobenius norm squared), a scalar."""

    @property
    def shape(self) -> Shape:
        return SCALAR


@record
class _OfSquare(_OfOne):
    """A function of one square matrix; subclasses name it and give its shape."""

    what: ClassVar[str] = ""
    scalar: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not dims_equal(self.arg.shape[0], self.arg.shape[1]):
            raise ShapeError(f"{self.what} needs a square matrix", self.arg, self.arg)

    @property
    def shape(self) -> Shape:
        return SCALAR if self.scalar else self.arg.shape


@record
class Trace(_OfSquare):
    """tr(X): the sum of the diagonal of a square matrix, a scalar."""

    what: ClassVar[str] = "the trace"


@record
class Inverse(_OfSquare):
    """X^{-1} of a square matrix.  X^{-T} is written Transpose(Inverse(X))."""

    what: ClassVar[str] = "the inverse"
    scalar: ClassVar[bool] = False


@record
class Det(_OfSquare):
    """det(X) of a square matrix, a scalar."""

    what: ClassVar[str] = "the determinant"


@record
class LogDet(_OfSquare):
    """log det(X) of a square matrix, a scalar: log|det X|, which is log det X where det X > 0.

    A node of its own rather than log applied to det(X), so that its gradient is X^{-T}
    directly (Cookbook eq. 57); the rewrite rules turn log(det X) into it.
    """

    what: ClassVar[str] = "the log-determinant"


@record
class ScalarProduct(Expr):
    """A scalar expression times a matrix: lambda ||theta||^2, theta_0 1 (a broadcast scalar).

    ``scalar`` is any 1 x 1 expression (a constant coefficient is a :class:`Scale`).
    """

    scalar: Expr
    arg: Expr

    def __post_init__(self) -> None:
        if not is_scalar(self.scalar.shape):
            raise ShapeError("a scalar multiple needs a 1 x 1 factor", self.scalar, self.arg)

    @property
    def shape(self) -> Shape:
        return self.arg.shape

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.scalar, self.arg)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return scalar_product(children[0], children[1])


@record
class Opaque(Expr):
    """An unspecified scalar function L(Y, ...) of declared matrices; dL/dY is a free quantity.

    ``params`` are the declared arguments (Y), ``args`` what they stand for in this expression
    (Y itself, or its definition X theta).
    """

    name: Symbol
    params: tuple[Symbol, ...]
    args: tuple[Expr, ...]

    def __post_init__(self) -> None:
        for param, arg in zip(self.params, self.args, strict=True):
            _check_same_shape("argument of an opaque function", (param, arg))

    @property
    def shape(self) -> Shape:
        return SCALAR

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.args

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Opaque(self.name, self.params, children)


@record
class Conv(Expr):
    """conv(x, w): the valid cross-correlation of deep-learning libraries, for columns x of n
    entries and w of k: z_i = sum_j w_j x_{i+j-1}, n - k + 1 entries."""

    signal: Expr
    kernel: Expr

    def __post_init__(self) -> None:
        if not (is_column(self.signal.shape) and is_column(self.kernel.shape)):
            raise ShapeError("conv takes two columns", self.signal, self.kernel)

    @property
    def shape(self) -> Shape:
        return (self.signal.shape[0] - self.kernel.shape[0] + 1, ONE)

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.signal, self.kernel)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Conv(*children)


@record
class FullConv(Expr):
    """conv_full(g, flip(w)): g zero-padded by k - 1 on both sides and cross-correlated with
    the flipped w (the full convolution of g with w): x_m = sum_i g_i w_{m-i+1}, n + k - 1
    entries for g of n and w of k."""

    signal: Expr
    kernel: Expr

    def __post_init__(self) -> None:
        if not (is_column(self.signal.shape) and is_column(self.kernel.shape)):
            raise ShapeError("a full convolution takes two columns", self.signal, self.kernel)

    @property
    def shape(self) -> Shape:
        return (self.signal.shape[0] + self.kernel.shape[0] - 1, ONE)

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.signal, self.kernel)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return FullConv(*children)


@record
class Kronecker(Expr):
    """The Kronecker product A ⊗ B: the block matrix (a_ij B), of shape (r_A r_B) x (c_A c_B)."""

    left: Expr
    right: Expr

    @cached_shape
    def shape(self) -> Shape:
        return (self.left.shape[0] * self.right.shape[0], self.left.shape[1] * self.right.shape[1])

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Kronecker(children[0], children[1])


@record
class Commutation(Expr):
    """The commutation matrix K_{mn}: K vec(X) = vec(X^T) for an m x n matrix X."""

    rows: Dim
    cols: Dim

    @property
    def shape(self) -> Shape:
        size = self.rows * self.cols
        return (size, size)


@record
class Vec(_OfOne):
    """vec(X): the columns of X stacked into one column."""

    @property
    def shape(self) -> Shape:
        return (self.arg.shape[0] * self.arg.shape[1], ONE)


@record
class Norm(Apply):
    """||x||_2 of a column, ||X||_F of a matrix: the square root of :class:`SquaredNorm`.

    An :class:`Apply` of sqrt to the squared norm, so that it differentiates and evaluates as
    one; a node of its own so that it prints as a norm.
    """

    def __post_init__(self) -> None:
        if not (isinstance(self.arg, SquaredNorm) and self.fn == Function("sqrt")):
            raise ShapeError("a norm is the square root of a squared norm", self.arg, self.arg)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        if isinstance(children[0], SquaredNorm):
            return Norm(self.fn, children[0])
        return Apply(self.fn, children[0])


def norm(arg: Expr) -> Norm:
    """||arg||_2 (a column) or ||arg||_F (a matrix)."""
    return Norm(Function("sqrt"), SquaredNorm(arg))


# ------------------------------------------------------------------------------ builders


def transpose(arg: Expr) -> Expr:
    """X^T, with (X^T)^T = X and a scalar its own transpose."""
    if isinstance(arg, Transpose):
        return arg.arg
    if isinstance(arg, Fill):
        return Fill(arg.value, (arg.shape[1], arg.shape[0]))
    if isinstance(arg, Identity | Diag) or is_scalar(arg.shape):
        return arg
    return Transpose(arg)


def matmul(*factors: Expr) -> Expr:
    """A product with nested products flattened; one factor is itself."""
    flat: list[Expr] = []
    coeff: sympy.Expr | None = None
    for factor in factors:
        if isinstance(factor, Scale):
            coeff = factor.coeff if coeff is None else coeff * factor.coeff
            factor = factor.arg
        if isinstance(factor, MatMul):
            flat.extend(factor.factors)
        else:
            flat.append(factor)
    product = flat[0] if len(flat) == 1 else MatMul(tuple(flat))
    if coeff is None and not isinstance(product, Scale):
        return product
    return scale(ONE if coeff is None else coeff, product)


def add(*terms: Expr) -> Expr:
    flat: list[Expr] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, Add) else (term,))
    return flat[0] if len(flat) == 1 else Add(tuple(flat))


def hadamard(*factors: Expr) -> Expr:
    flat: list[Expr] = []
    for factor in factors:
        flat.extend(factor.factors if isinstance(factor, Hadamard) else (factor,))
    return flat[0] if len(flat) == 1 else Hadamard(tuple(flat))


def scale(coeff: int | sympy.Expr, arg: Expr) -> Expr:
    """coeff * arg, with nested coefficients multiplied and 1 * X = X."""
    if type(coeff) is int:
        coeff = sympy.Integer(coeff)
    elif not isinstance(coeff, sympy.Basic):
        coeff = sympy.sympify(coeff)
    if isinstance(arg, Scale):
        coeff, arg = coeff * arg.coeff, arg.arg
    return arg if coeff == 1 else Scale(coeff, arg)


def scalar_product(scalar: Expr, arg: Expr) -> Expr:
    """s X for a 1 x 1 expression s; a constant s is a coefficient: 2 X, not (2) X."""
    if isinstance(scalar, Fill) and is_scalar(scalar.shape):
        return scale(scalar.value, arg)
    if isinstance(arg, Fill) and is_scalar(arg.shape):
        return scale(arg.value, scalar)
    if isinstance(scalar, Scale):
        return scale(scalar.coeff, scalar_product(scalar.arg, arg))
    if isinstance(arg, Scale):
        return scale(arg.coeff, scalar_product(scalar, arg.arg))
    return ScalarProduct(scalar, arg)


def broadcast(scalar: Expr, shape: Shape) -> Expr:
    """A scalar added to every entry of a matrix of ``shape`` is s times the ones matrix."""
    if not is_scalar(scalar.shape):
        raise ShapeError("only a scalar broadcasts", scalar, Fill(sympy.Integer(1), shape))
    return scalar_product(scalar, Fill(sympy.Integer(1), shape))


def ones(rows: Dim, cols: Dim = ONE) -> Fill:
    return Fill(sympy.Integer(1), (rows, cols))


def one_minus(arg: Expr) -> Expr:
    """1 - X, entrywise."""
    return add(Fill(sympy.Integer(1), arg.shape), scale(-1, arg))


def substitute(expr: Expr, mapping: dict[Expr, Expr]) -> Expr:
    """Replace whole subtrees, bottom up."""
    if expr in mapping:
        return mapping[expr]
    if not expr.children:
        return expr
    children = tuple(substitute(child, mapping) for child in expr.children)
    return expr if children == expr.children else expr.rebuild(children)


class DefinitionTable(Mapping[Symbol, Expr]):
    """Named quantities and what each stands for (read-only), with the look-up the other way:
    which name a definition has, in constant time rather than by a scan of every entry."""

    __slots__ = ("_entries", "_names")

    def __init__(self, entries: Mapping[Symbol, Expr]) -> None:
        self._entries = dict(entries)
        self._names: dict[Expr, Symbol] | None = None

    def __getitem__(self, symbol: Symbol) -> Expr:
        return self._entries[symbol]

    def __iter__(self) -> Iterator[Symbol]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"DefinitionTable({self._entries!r})"

    def name_of(self, definition: Expr) -> Symbol | None:
        """The first symbol (in the table's order) defined as ``definition``, or None."""
        if self._names is None:
            names: dict[Expr, Symbol] = {}
            for symbol, value in self._entries.items():
                names.setdefault(value, symbol)
            self._names = names
        return self._names.get(definition)


def symbols_of(expr: Expr) -> set[Symbol]:
    return {node for node in expr.walk() if isinstance(node, Symbol)}


__all__ = [
    "Add",
    "Apply",
    "Commutation",
    "Kronecker",
    "Vec",
    "Cdots",
    "Conv",
    "FullConv",
    "Derivative",
    "DefinitionTable",
    "Det",
    "Diag",
    "Expr",
    "Fill",
    "Function",
    "Hadamard",
    "Identity",
    "Inverse",
    "LogDet",
    "MatMul",
    "Norm",
    "Opaque",
    "Scale",
    "ScalarProduct",
    "ShapeError",
    "Softmax",
    "SquaredNorm",
    "Sum",
    "Symbol",
    "Trace",
    "Transpose",
    "add",
    "broadcast",
    "hadamard",
    "matmul",
    "norm",
    "one_minus",
    "ones",
    "scalar_product",
    "scale",
    "substitute",
    "symbols_of",
    "transpose",
]
