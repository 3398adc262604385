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
    if isinstance(d, sympy.Indexed) and len(d.indices) == 1 and d.indices[0].is_Atom:
        is_input = d.base is INPUT_SIZE or d.base == INPUT_SIZE
        return LAYER_SIZE[d.indices[0] - 1] if is_input else d
    return d.replace(
        lambda e: isinstance(e, sympy.Indexed) and e.base == INPUT_SIZE,
        lambda e: LAYER_SIZE[e.indices[0] - 1],
    )


def dims_equal(a: Dim, b: Dim) -> bool:
    """Whether two dimensions are equal for every value of their symbols.

    Integers, plain symbols and layer-index sizes (n^{l-1}, m^{l}, n^{3}) are compared by
    their canonical parts; any other dimension (2h, h + 1, ...) is decided by SymPy.
    """
    if a is b:
        return True
    known_a, known_b = _KEYS.get(id(a)), _KEYS.get(id(b))
    if known_a is not None and known_b is not None and known_a[0] is a and known_b[0] is b:
        key_a, key_b = known_a[1], known_b[1]  # the common case, without a call
    else:
        key_a, key_b = structural_key(a), structural_key(b)
    if key_a is not None and key_b is not None:
        return key_a == key_b
    return _dims_equal(sympy.sympify(a), sympy.sympify(b))


@lru_cache(maxsize=CACHE_SIZE)
def _dims_equal(a: Dim, b: Dim) -> bool:
    if a == b:
        return True
    return sympy.expand(canonical(a) - canonical(b)) == 0


# A dimension's structural key: ("int", k); ("symbol", s); ("indexed", base, s, c) for
# base^{s + c} with s a symbol or None, m^{k} written as n^{k-1}.  Two dimensions with keys are
# equal for every value of their symbols exactly when their keys are equal: each key stands
# for a distinct atom of SymPy (or an integer), so their difference expands to 0 only then.
StructuralKey = tuple


def structural_key(d: Dim | int) -> StructuralKey | None:
    """The structural key of an integer, a plain symbol or base^{s + c}; None for the rest."""
    if isinstance(d, int):
        return ("int", d)
    known = _KEYS.get(id(d))
    if known is not None and known[0] is d:
        return known[1]
    if len(_KEYS) >= CACHE_SIZE:
        _KEYS.clear()
    key = _structural_key(d)
    _KEYS[id(d)] = (d, key)
    return key


def is_layer_size(d: Dim, index: sympy.Expr | int) -> bool:
    """Whether ``d`` is n^{index} (or m^{index+1}, the same size), without building n^{index}."""
    parts = _index_parts(index)
    key = structural_key(d)
    if parts is not None and key is not None:
        return key == ("indexed", LAYER_SIZE, *parts)
    return canonical(d) == LAYER_SIZE[index]


def clear_caches() -> None:
    """Forget every cached dimension fact (for measuring from cold caches)."""
    _KEYS.clear()
    canonical.cache_clear()
    _dims_equal.cache_clear()


# By identity (the dimension kept alive beside its key): hashing a SymPy Indexed and comparing
# it with an equal copy costs more than deciding its key again.
_KEYS: dict[int, tuple[Dim, StructuralKey | None]] = {}


def _structural_key(d: Dim) -> StructuralKey | None:
    if isinstance(d, sympy.Integer):
        return ("int", int(d))
    if isinstance(d, sympy.Symbol):
        return ("symbol", d)
    if isinstance(d, sympy.Indexed) and len(d.indices) == 1:
        index = _index_parts(d.indices[0])
        if index is None:
            return None
        symbol, offset = index
        base = d.base
        if base is INPUT_SIZE or base == INPUT_SIZE:
            base, offset = LAYER_SIZE, offset - 1
        return ("indexed", base, symbol, offset)
    return None


def _index_parts(index: sympy.Expr | int) -> tuple[sympy.Symbol | None, int] | None:
    """An index s + c as (s, c): l+1 -> (l, 1), 3 -> (None, 3), L -> (L, 0)."""
    if isinstance(index, int):
        return None, index
    if isinstance(index, sympy.Integer):
        return None, int(index)
    if isinstance(index, sympy.Symbol):
        return index, 0
    if isinstance(index, sympy.Add) and len(index.args) == 2:
        first, second = index.args
        if isinstance(first, sympy.Integer) and isinstance(second, sympy.Symbol):
            return second, int(first)
        if isinstance(second, sympy.Integer) and isinstance(first, sympy.Symbol):
            return first, int(second)
    return None


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


def index_text(index: sympy.Expr | int) -> str:
    """A layer index as people write it: l+1, L-1, 2.

    Integers, symbols and symbol + integer are written directly; SymPy's printer only
    writes what else an index may hold (2 l, say).
    """
    if isinstance(index, int):
        return str(index)
    if isinstance(index, sympy.Integer):
        return str(int(index))
    if isinstance(index, sympy.Symbol):
        return index.name
    index = sympy.sympify(index)
    terms = sympy.Add.make_args(index)
    symbols = [t for t in terms if not t.is_number]
    numbers = [t for t in terms if t.is_number]
    text = "+".join(t.name if isinstance(t, sympy.Symbol) else str(t) for t in symbols)
    for n in numbers:
        magnitude = str(int(abs(n))) if isinstance(n, sympy.Integer) else str(abs(n))
        text += f"{'+' if n > 0 else '-'}{magnitude}"
    return text
