"""Dimensions and shapes over symbols.

A dimension is a SymPy expression: a positive integer, a plain symbol such as ``h``, or an
indexed size such as ``n[l]`` (printed ``n^{l}``).  In the 6.390 convention the input size of
layer l is ``m[l]`` and it equals ``n[l-1]``; :func:`canonical` rewrites every ``m[k]`` to
``n[k-1]`` so that the two spellings compare equal while each keeps its own printed form.
"""

from __future__ import annotations

from functools import lru_cache

import sympy

# Dimensions recur across layers and nodes; deciding equality once each keeps derivation cheap.
CACHE_SIZE = 1 << 16

Dim = sympy.Expr
Shape = tuple[Dim, Dim]

LAYER = sympy.Symbol("l", integer=True)
DEPTH = sympy.Symbol("L", integer=True, positive=True)
INPUT_SIZE = sympy.IndexedBase("m")
LAYER_SIZE = sympy.IndexedBase("n")

ONE = sympy.Integer(1)
SCALAR: Shape = (ONE, ONE)


def dim(value: int | str | sympy.Expr) -> Dim:
    """A dimension from an integer, an existing SymPy expression, or a plain symbol name."""
    if isinstance(value, sympy.Expr):
        return value
    if isinstance(value, int):
        return sympy.Integer(value)
    return sympy.Symbol(value, integer=True, positive=True)


@lru_cache(maxsize=CACHE_SIZE)
def canonical(d: Dim) -> Dim:
    """Rewrite m^k as n^{k-1} (6.390: the input size of layer k is the size of layer k-1)."""
    if isinstance(d, int | sympy.Integer | sympy.Symbol):
        return d
    return d.replace(
        lambda e: isinstance(e, sympy.Indexed) and e.base == INPUT_SIZE,
        lambda e: LAYER_SIZE[e.indices[0] - 1],
    )


def dims_equal(a: Dim, b: Dim) -> bool:
    """Whether two dimensions are equal for every value of their symbols."""
    if a is b:
        return True
    if isinstance(a, int | sympy.Integer) and isinstance(b, int | sympy.Integer):
        return int(a) == int(b)
    return _dims_equal(sympy.sympify(a), sympy.sympify(b))


@lru_cache(maxsize=CACHE_SIZE)
def _dims_equal(a: Dim, b: Dim) -> bool:
    if a == b:
        return True
    return sympy.expand(canonical(a) - canonical(b)) == 0


def shapes_equal(a: Shape, b: Shape) -> bool:
    return dims_equal(a[0], b[0]) and dims_equal(a[1], b[1])


def is_scalar(shape: Shape) -> bool:
    return dims_equal(shape[0], ONE) and dims_equal(shape[1], ONE)


def is_column(shape: Shape) -> bool:
    return dims_equal(shape[1], ONE)


def dim_text(d: Dim) -> str:
    """Plain LaTeX of a dimension in the default notation: n^{l+1}, m^{1}, 3, h."""
    if isinstance(d, sympy.Indexed):
        return f"{d.base.label}^{{{index_text(d.indices[0])}}}"
    if isinstance(d, sympy.Symbol | sympy.Integer):
        return str(d)
    return sympy.latex(d)


def shape_text(shape: Shape) -> str:
    return f"{dim_text(shape[0])} \\times {dim_text(shape[1])}"


def index_text(index: sympy.Expr) -> str:
    """A layer index as people write it: l+1, L-1, 2."""
    index = sympy.sympify(index)
    if isinstance(index, sympy.Integer | sympy.Symbol):
        return str(index)
    terms = sympy.Add.make_args(index)
    symbols = [t for t in terms if not t.is_number]
    numbers = [t for t in terms if t.is_number]
    text = "+".join(str(t) for t in symbols)
    for n in numbers:
        text += f"{'+' if n > 0 else '-'}{abs(n)}"
    return text
