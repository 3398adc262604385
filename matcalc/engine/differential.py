"""Differentials: df as an expression linear in a symbolic dX, and what it gives.

The rules are those of the Matrix Cookbook, section 2.2 (eqs. 33-40, 43, 49): d(AXB) = A dX B,
d(X^{-1}) = -X^{-1} dX X^{-1}, d(f(X)) = f'(X) ⊙ dX, d det X = det X tr(X^{-1} dX), ...  From
the differential come

* the derivative of a matrix (or column) by a matrix, a 4-index object, in the forms the
  literature prints: vec/Kronecker, d vec(F) = (B^T ⊗ A) d vec(X) (:func:`vec_terms`; layout
  d vec F / d (vec X)^T, Magnus & Neudecker), and entrywise, dF_ij/dX_kl = A_ik B_lj
  (:func:`entrywise_terms`);
* the Hessian of a scalar f of a column x as the linear map of the gradient's differential,
  d(grad f) = H dx (:func:`hessian`), and Hessian-vector products H v (:func:`hessian_vector`).

The placeholder dX is a :class:`~matcalc.core.expr.Symbol` named d plus X's name, of X's shape,
so a differential evaluates numerically like any expression (dX given a value).
"""

from __future__ import annotations

import numpy as np
import sympy

from matcalc.core.expr import (
    Add,
    Apply,
    Det,
    Diag,
    Expr,
    Hadamard,
    Identity,
    Inverse,
    LogDet,
    MatMul,
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
    scalar_product,
    scale,
    transpose,
)
from matcalc.core.record import record
from matcalc.core.rule import NoRuleError
from matcalc.core.shapes import is_column, is_scalar
from matcalc.engine.rules import REWRITES, Rule
from matcalc.engine.simplify import simplify


def placeholder(wrt: Symbol) -> Symbol:
    """dX, of X's shape."""
    return Symbol(f"d{wrt.name}", wrt.shape, wrt.index, wrt.sub)


def _depends(expr: Expr, wrt: Symbol) -> bool:
    return any(node == wrt for node in expr.walk())


def differential(expr: Expr, wrt: Symbol, rules: tuple[Rule, ...] = REWRITES) -> Expr:
    """df for F = ``expr``, linear in :func:`placeholder` (wrt), simplified with ``rules``."""
    raw = _d(expr, wrt, placeholder(wrt))
    if raw is None:
        raise NoRuleError(f"{expr} does not depend on {wrt}")
    return simplify(raw, rules=rules)


def _d(expr: Expr, wrt: Symbol, dx: Symbol) -> Expr | None:  # noqa: C901 - one case per node
    """The differential, or None where it is zero."""
    if expr == wrt:
        return dx
    if not _depends(expr, wrt):
        return None
    parts: list[Expr] = []
    if isinstance(expr, Add):
        parts = [p for p in (_d(t, wrt, dx) for t in expr.terms) if p is not None]
    elif isinstance(expr, Scale):
        return scale(expr.coeff, _d(expr.arg, wrt, dx))
    elif isinstance(expr, MatMul | Hadamard):
        build = matmul if isinstance(expr, MatMul) else hadamard
        for position, factor in enumerate(expr.factors):
            inner = _d(factor, wrt, dx)
            if inner is not None:
                factors = list(expr.factors)
                factors[position] = inner
                parts.append(build(*factors))
    elif isinstance(expr, Transpose):
        return transpose(_d(expr.arg, wrt, dx))
    elif isinstance(expr, Apply):
        return hadamard(Apply(expr.fn.derivative(), expr.arg), _d(expr.arg, wrt, dx))
    elif isinstance(expr, Inverse):
        return scale(-1, matmul(expr, _d(expr.arg, wrt, dx), expr))
    elif isinstance(expr, Trace):
        return Trace(_d(expr.arg, wrt, dx))
    elif isinstance(expr, Sum):
        return Sum(_d(expr.arg, wrt, dx))
    elif isinstance(expr, SquaredNorm):
        return scale(2, Sum(hadamard(expr.arg, _d(expr.arg, wrt, dx))))
    elif isinstance(expr, LogDet):
        return Trace(matmul(Inverse(expr.arg), _d(expr.arg, wrt, dx)))
    elif isinstance(expr, Det):
        return scalar_product(expr, Trace(matmul(Inverse(expr.arg), _d(expr.arg, wrt, dx))))
    elif isinstance(expr, Diag):
        return Diag(_d(expr.arg, wrt, dx))
    elif isinstance(expr, Softmax) and is_column(expr.shape):
        jacobian = add(Diag(expr), scale(-1, matmul(expr, transpose(expr))))
        return matmul(jacobian, _d(expr.arg, wrt, dx))
    elif isinstance(expr, ScalarProduct):
        for position, child in enumerate(expr.children):
            inner = _d(child, wrt, dx)
            if inner is not None:
                children = list(expr.children)
                children[position] = inner
                parts.append(scalar_product(*children))
    else:
        raise NoRuleError(f"no differential rule for {type(expr).__name__} in {expr}")
    return add(*parts) if parts else None


# ------------------------------------------------------------------ linear maps of a column


def linear_map(expr: Expr, dx: Symbol) -> Expr:
    """M with ``expr`` = M dx, for an expression linear in the column dx (a column or scalar)."""
    if expr == dx:
        return Identity(dx.shape[0])
    if isinstance(expr, Add):
        return add(*(linear_map(t, dx) for t in expr.terms))
    if isinstance(expr, Scale):
        return scale(expr.coeff, linear_map(expr.arg, dx))
    if isinstance(expr, MatMul):
        factors = expr.factors
        position = next(i for i, f in enumerate(factors) if _depends(f, dx))
        if position == len(factors) - 1:
            return matmul(*factors[:-1], linear_map(factors[-1], dx))
        if is_scalar(expr.shape):
            return linear_map(matmul(*(transpose(f) for f in reversed(factors))), dx)
        rest = matmul(*factors[position + 1 :])
        if is_scalar(rest.shape):  # A (l^T dx) c: the scalar moves to the end
            return linear_map(matmul(*factors[:position], rest, factors[position]), dx)
    if isinstance(expr, Transpose) and is_scalar(expr.shape):
        return linear_map(expr.arg, dx)
    if isinstance(expr, Hadamard) and is_column(expr.shape):
        linear = [f for f in expr.factors if _depends(f, dx)]
        others = [f for f in expr.factors if not _depends(f, dx)]
        if len(linear) == 1 and others:
            return matmul(Diag(hadamard(*others)), linear_map(linear[0], dx))
    if isinstance(expr, Sum) and isinstance(expr.arg, Hadamard):
        others = [f for f in expr.arg.factors if not _depends(f, dx)]
        linear = [f for f in expr.arg.factors if _depends(f, dx)]
        if len(linear) == 1 and others and is_column(expr.arg.shape):
            return matmul(transpose(hadamard(*others)), linear_map(linear[0], dx))
    if isinstance(expr, ScalarProduct):
        if _depends(expr.scalar, dx):
            return matmul(expr.arg, linear_map(expr.scalar, dx))
        return scalar_product(expr.scalar, linear_map(expr.arg, dx))
    raise NoRuleError(f"cannot write {expr} as a matrix times {dx}")


def hessian(gradient: Expr, wrt: Symbol, rules: tuple[Rule, ...] = REWRITES) -> Expr:
    """H = d(grad f)/dx for a column x, from d(grad f) = H dx (denominator layout, symmetric)."""
    if not is_column(wrt.shape):
        raise NoRuleError(f"a Hessian is formed for a column; {wrt} is a matrix")
    dg = differential(gradient, wrt, rules)
    return simplify(linear_map(dg, placeholder(wrt)), rules=rules)


def hessian_vector(
    gradient: Expr, wrt: Symbol, v: Expr, rules: tuple[Rule, ...] = REWRITES
) -> Expr:
    """H v: the gradient's differential with dx = v, no Hessian formed."""
    from matcalc.core.expr import substitute

    return simplify(
        substitute(differential(gradient, wrt, rules), {placeholder(wrt): v}), rules=rules
    )


# --------------------------------------------------------- matrix-by-matrix derivatives


@record
class VecTerm:
    """One term coeff * (h ⊙) (left dX^(T) right) of a differential.

    ``weight`` is an elementwise factor h of the term's shape (None for none), ``transposed``
    whether dX appears transposed.  Its vec form is coeff diag(vec h) (right^T ⊗ left) K.
    """

    coeff: sympy.Expr
    left: Expr
    right: Expr
    transposed: bool = False
    weight: Expr | None = None


def vec_terms(df: Expr, dx: Symbol) -> tuple[VecTerm, ...]:
    """dF as a sum of terms h ⊙ (A dX B) (or A dX^T B), for the vec and entrywise forms."""
    expanded = _distribute(df, dx)
    terms = expanded.terms if isinstance(expanded, Add) else (expanded,)
    return tuple(_vec_term(t, dx) for t in terms)


def _distribute(expr: Expr, dx: Symbol) -> Expr:
    """Products multiplied out over the sums that hold dX: A (B dX + dX C) = A B dX + A dX C."""
    if isinstance(expr, Add):
        return add(*(_distribute(t, dx) for t in expr.terms))
    if isinstance(expr, Scale):
        return scale(expr.coeff, _distribute(expr.arg, dx))
    if isinstance(expr, MatMul | Hadamard):
        build = matmul if isinstance(expr, MatMul) else hadamard
        factors = [_distribute(f, dx) for f in expr.factors]
        for position, factor in enumerate(factors):
            if isinstance(factor, Add) and _depends(factor, dx):
                return add(
                    *(
                        _distribute(build(*factors[:position], t, *factors[position + 1 :]), dx)
                        for t in factor.terms
                    )
                )
        return build(*factors)
    return expr


def _vec_term(term: Expr, dx: Symbol) -> VecTerm:
    coeff = sympy.Integer(1)
    if isinstance(term, Scale):
        coeff, term = term.coeff, term.arg
    weight = None
    if isinstance(term, Hadamard):
        linear = [f for f in term.factors if _depends(f, dx)]
        others = [f for f in term.factors if not _depends(f, dx)]
        if len(linear) != 1:
            raise NoRuleError(f"{term} is not linear in {dx}")
        weight, term = hadamard(*others), linear[0]
        if isinstance(term, Scale):
            coeff, term = coeff * term.coeff, term.arg
    factors = term.factors if isinstance(term, MatMul) else (term,)
    for position, factor in enumerate(factors):
        if factor == dx or factor == Transpose(dx):
            rows = factors[:position]
            cols = factors[position + 1 :]
            left = matmul(*rows) if rows else Identity(term.shape[0])
            right = matmul(*cols) if cols else Identity(term.shape[1])
            return VecTerm(coeff, left, right, factor != dx, weight)
    raise NoRuleError(f"no vec form for the term {term} of a differential in {dx}")


def _kron(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.kron(left, right)


def commutation(rows: int, cols: int) -> np.ndarray:
    """K_{mn}: K vec(X) = vec(X^T) for an m x n matrix X (columns stacked)."""
    k = np.zeros((rows * cols, rows * cols))
    for i in range(rows):
        for j in range(cols):
            k[i * cols + j, j * rows + i] = 1
    return k


def vec_jacobian(terms: tuple[VecTerm, ...], wrt: Symbol, env: dict) -> np.ndarray:
    """d vec(F) / d vec(X)^T as a number: the sum of coeff diag(vec h) (B^T ⊗ A) K."""
    from matcalc.core.numeric import evaluate

    total = None
    m, n = (int(wrt.shape[0]), int(wrt.shape[1]))
    for term in terms:
        block = _kron(evaluate(term.right, env).T, evaluate(term.left, env))
        if term.transposed:
            block = block @ commutation(m, n)
        if term.weight is not None:
            block = np.diag(evaluate(term.weight, env).flatten(order="F")) @ block
        block = float(term.coeff) * block
        total = block if total is None else total + block
    return total


__all__ = [
    "VecTerm",
    "commutation",
    "differential",
    "hessian",
    "hessian_vector",
    "linear_map",
    "placeholder",
    "vec_jacobian",
    "vec_terms",
]
