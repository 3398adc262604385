"""Derivatives of matrices by matrices in the forms the literature prints.

For F(X) with the differential df = A dX B (the working line), the vec/Kronecker form
d vec(F) / d vec(X)^T = B^T ⊗ A (Magnus & Neudecker; vec stacks columns, numerator layout:
rows index vec F, columns vec X) and the entrywise form dF_ij/dX_kl = A_ik B_lj.  A term
h ⊙ (A dX B) gets diag(vec h) in front; A dX^T B the commutation matrix K after.
"""

from __future__ import annotations

from matcalc.core.expr import (
    Commutation,
    Diag,
    Expr,
    Identity,
    Kronecker,
    Symbol,
    Transpose,
    Vec,
    add,
    matmul,
    scale,
    transpose,
)
from matcalc.engine.differential import VecTerm, placeholder, vec_terms
from matcalc.printers.latex import _coefficient, to_latex

VEC_NOTE = (
    "vec stacks columns; d vec(F)/d vec(X)^T has a row per entry of F and a column per entry "
    "of X (numerator layout, Magnus and Neudecker)"
)


def vec_form(term: VecTerm, wrt: Symbol) -> Expr:
    """coeff diag(vec h) (B^T ⊗ A) K as an expression."""
    product: Expr = Kronecker(transpose(term.right), term.left)
    if isinstance(term.left, Identity) and isinstance(term.right, Identity):
        product = Identity(term.left.size * term.right.size)
    factors: list[Expr] = []
    if term.weight is not None:
        weight = term.weight if term.weight.shape[1] == 1 else Vec(term.weight)
        factors.append(Diag(weight))
    factors.append(product)
    if term.transposed:
        factors.append(Commutation(wrt.shape[0], wrt.shape[1]))
    return scale(term.coeff, matmul(*factors))


def _entry(matrix: Expr, row: str, col: str) -> str:
    """The (row, col) entry of a factor: A_{ik}, A_{ki} for A^T, delta_{ik} for I."""
    if isinstance(matrix, Identity):
        return f"\\delta_{{{row}{col}}}"
    if isinstance(matrix, Transpose) and isinstance(matrix.arg, Symbol):
        return f"{to_latex(matrix.arg)}_{{{col}{row}}}"
    if isinstance(matrix, Symbol) and not matrix.sub and matrix.index is None:
        if matrix.shape[1] == 1:
            return f"{to_latex(matrix)}_{{{row}}}"
        if matrix.shape[0] == 1:
            return f"{to_latex(matrix)}_{{{col}}}"
        return f"{to_latex(matrix)}_{{{row}{col}}}"
    return f"\\left({to_latex(matrix)}\\right)_{{{row}{col}}}"


def entrywise_form(term: VecTerm, f_column: bool, x_column: bool) -> str:
    """One term of dF_ij/dX_kl: A_ik B_lj (A_il B_kj where dX is transposed)."""
    j = "" if f_column else "j"
    k, l = ("k", "l") if not term.transposed else ("l", "k")
    if x_column:
        parts = [_entry(term.left, "i", "k")]
        if not (isinstance(term.right, Identity) or term.right.shape == (1, 1)):
            parts.append(_entry(term.right, "1", j))
    else:
        parts = [_entry(term.left, "i", k), _entry(term.right, l, j)]
    if term.weight is not None:
        parts.insert(0, _entry(term.weight, "i", j) if j else _entry(term.weight, "i", ""))
    text = " ".join(p for p in parts if p)
    coeff = term.coeff
    if coeff == 1:
        return text
    return _coefficient(coeff) + text


def matrix_derivative_lines(function: Expr, name: Expr, wrt: Symbol, df: Expr) -> list[str]:
    """The working line dF = ..., then the vec/Kronecker and the entrywise forms."""
    terms = vec_terms(df, placeholder(wrt))
    f_column = function.shape[1] == 1
    x_column = wrt.shape[1] == 1
    f_text, x_text = to_latex(name), to_latex(wrt)
    vec = add(*(vec_form(t, wrt) for t in terms))
    entry_f = f"{f_text}_{{i}}" if f_column else f"{f_text}_{{ij}}"
    entry_x = f"{x_text}_{{k}}" if x_column else f"{x_text}_{{kl}}"
    entries = " + ".join(entrywise_form(t, f_column, x_column) for t in terms).replace("+ -", "- ")
    return [
        f"d{f_text} &= {to_latex(df)}",
        f"\\frac{{\\partial \\operatorname{{vec}}({f_text})}}"
        f"{{\\partial \\operatorname{{vec}}({x_text})^{{T}}}} &= {to_latex(vec)}",
        f"\\frac{{\\partial {entry_f}}}{{\\partial {entry_x}}} &= {entries}",
    ]


__all__ = ["VEC_NOTE", "entrywise_form", "matrix_derivative_lines", "vec_form"]
