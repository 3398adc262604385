"""How matrix calculus works: identities of the rule table derived entry by entry.

Each explanation writes the scalar in index notation, differentiates it by one entry
(X_{pq}, using dX_{ij}/dX_{pq} = delta_{ip} delta_{jq}), and reassembles the matrix whose
(p, q) entry that is.  Explanations are data keyed by rule name; :func:`explain` prints one as
LaTeX ``align*`` steps.  For a pullback, L is the scalar loss and G = dL/dY is the gradient
that arrives at the node's output Y.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy

from matcalc.core.expr import (
    Apply,
    Det,
    Expr,
    Function,
    LogDet,
    MatMul,
    SquaredNorm,
    Symbol,
    Trace,
    Transpose,
)
from matcalc.core.shapes import is_column, is_scalar
from matcalc.engine.context import context_rules, derivative_value
from matcalc.engine.rules import RULES, Rule
from matcalc.errors import MatcalcError
from matcalc.printers.latex import symbol_latex, to_latex
from matcalc.reading.parse import parse_expression
from matcalc.specs.context import Context


@dataclass(frozen=True)
class Line:
    """One line of an entrywise derivation: ``lhs`` (empty to continue) = ``rhs``, because."""

    lhs: str
    rhs: str
    why: str = ""


@dataclass(frozen=True)
class Explanation:
    """The setting (what is differentiated, shapes) and the lines of the derivation."""

    setting: str
    lines: tuple[Line, ...]


ENTRY = r"\frac{\partial X_{ij}}{\partial X_{pq}} = \delta_{ip}\,\delta_{jq}"
COLUMN_ENTRY = r"\frac{\partial x_i}{\partial x_p} = \delta_{ip}"

EXPLANATIONS: dict[str, Explanation] = {
    "product": Explanation(
        r"Y = A X B,\ G = \frac{\partial L}{\partial Y}",
        (
            Line(r"Y_{ij}", r"\sum_{k,l} A_{ik} X_{kl} B_{lj}", r"index notation"),
            Line(
                r"\frac{\partial Y_{ij}}{\partial X_{pq}}",
                r"\sum_{k,l} A_{ik}\,\delta_{kp}\,\delta_{lq}\, B_{lj} = A_{ip} B_{qj}",
                r"one entry of $X$",
            ),
            Line(
                r"\frac{\partial L}{\partial X_{pq}}",
                r"\sum_{i,j} G_{ij} \frac{\partial Y_{ij}}{\partial X_{pq}}"
                r" = \sum_{i,j} A_{ip}\, G_{ij}\, B_{qj}",
                r"chain rule over every entry of $Y$",
            ),
            Line(r"", r"\sum_{i,j} (A^T)_{pi}\, G_{ij}\, (B^T)_{jq} = (A^T G B^T)_{pq}"),
            Line(r"\frac{\partial L}{\partial X}", r"A^T G B^T", r"reassembled"),
        ),
    ),
    "linear map": Explanation(
        r"y = M x,\ \left(\frac{\partial y}{\partial x}\right)_{ij}"
        r" = \frac{\partial y_j}{\partial x_i}\ \text{(denominator layout)}",
        (
            Line(r"y_j", r"\sum_k M_{jk} x_k", r"index notation"),
            Line(
                r"\frac{\partial y_j}{\partial x_i}",
                r"\sum_k M_{jk}\,\delta_{ki} = M_{ji}",
                r"one entry of $x$",
            ),
            Line(r"\frac{\partial y}{\partial x}", r"M^T", r"entry $(i, j)$ is $M_{ji}$"),
        ),
    ),
    "transpose": Explanation(
        r"Y = X^T,\ G = \frac{\partial L}{\partial Y}",
        (
            Line(r"Y_{ij}", r"X_{ji}", r"index notation"),
            Line(
                r"\frac{\partial L}{\partial X_{pq}}",
                r"\sum_{i,j} G_{ij}\,\delta_{jp}\,\delta_{iq} = G_{qp}",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial L}{\partial X}", r"G^T", r"reassembled"),
        ),
    ),
    "elementwise function": Explanation(
        r"A = f(Z) \text{ entrywise},\ G = \frac{\partial L}{\partial A}",
        (
            Line(r"A_{ij}", r"f(Z_{ij})", r"index notation"),
            Line(
                r"\frac{\partial A_{ij}}{\partial Z_{pq}}",
                r"f'(Z_{ij})\,\delta_{ip}\,\delta_{jq}",
                r"one entry of $Z$: only $A_{pq}$ depends on it",
            ),
            Line(
                r"\frac{\partial L}{\partial Z_{pq}}",
                r"\sum_{i,j} G_{ij}\, f'(Z_{ij})\,\delta_{ip}\,\delta_{jq} = f'(Z_{pq})\, G_{pq}",
                r"chain rule",
            ),
            Line(
                r"\frac{\partial L}{\partial Z}",
                r"f'(Z) \odot G",
                r"reassembled: an entrywise product",
            ),
        ),
    ),
    "elementwise activation": Explanation(
        r"A = f(Z) \text{ for a column } Z,\ \left(\frac{\partial A}{\partial Z}\right)_{ij}"
        r" = \frac{\partial A_j}{\partial Z_i}",
        (
            Line(r"A_j", r"f(Z_j)", r"index notation"),
            Line(
                r"\frac{\partial A_j}{\partial Z_i}",
                r"f'(Z_j)\,\delta_{ij}",
                r"one entry of $Z$",
            ),
            Line(
                r"\frac{\partial A}{\partial Z}",
                r"\operatorname{diag}\left(f'(Z)\right)",
                r"only the diagonal is nonzero",
            ),
        ),
    ),
    "trace": Explanation(
        r"f = \operatorname{tr}(X),\ X \text{ square}",
        (
            Line(r"f", r"\sum_i X_{ii}", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_i \delta_{ip}\,\delta_{iq} = \delta_{pq}",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial f}{\partial X}", r"I", r"1 on the diagonal, 0 elsewhere"),
        ),
    ),
    "trace of a product": Explanation(
        r"f = \operatorname{tr}(A X)",
        (
            Line(r"f", r"\sum_i (AX)_{ii} = \sum_{i,k} A_{ik} X_{ki}", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_{i,k} A_{ik}\,\delta_{kp}\,\delta_{iq} = A_{qp}",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial f}{\partial X}", r"A^T", r"entry $(p, q)$ is $A_{qp}$"),
        ),
    ),
    "linear form": Explanation(
        r"f = a^T x",
        (
            Line(r"f", r"\sum_i a_i x_i", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial x_p}",
                r"\sum_i a_i\,\delta_{ip} = a_p",
                r"one entry of $x$",
            ),
            Line(r"\frac{\partial f}{\partial x}", r"a", r"reassembled"),
        ),
    ),
    "bilinear form": Explanation(
        r"f = a^T X b",
        (
            Line(r"f", r"\sum_{i,j} a_i X_{ij} b_j", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_{i,j} a_i\,\delta_{ip}\,\delta_{jq}\, b_j = a_p b_q",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial f}{\partial X}", r"a b^T", r"entry $(p, q)$ is $a_p b_q$"),
        ),
    ),
    "bilinear form of a transpose": Explanation(
        r"f = a^T X^T b",
        (
            Line(r"f", r"\sum_{i,j} a_i X_{ji} b_j", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_{i,j} a_i\,\delta_{jp}\,\delta_{iq}\, b_j = b_p a_q",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial f}{\partial X}", r"b a^T", r"entry $(p, q)$ is $b_p a_q$"),
        ),
    ),
    "quadratic form": Explanation(
        r"f = x^T B x,\ B \text{ square, not necessarily symmetric}",
        (
            Line(r"f", r"\sum_{i,j} x_i B_{ij} x_j", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial x_p}",
                r"\sum_{i,j} \left(\delta_{ip} B_{ij} x_j + x_i B_{ij}\,\delta_{jp}\right)",
                r"product rule: $x$ appears twice",
            ),
            Line(
                r"",
                r"\sum_j B_{pj} x_j + \sum_i B_{ip} x_i = (B x)_p + (B^T x)_p",
            ),
            Line(
                r"\frac{\partial f}{\partial x}",
                r"(B + B^T)\, x",
                r"$2Bx$ only when $B$ is symmetric",
            ),
        ),
    ),
    "trace of a quadratic form": Explanation(
        r"f = \operatorname{tr}(X^T B X),\ B \text{ square, not necessarily symmetric}",
        (
            Line(
                r"f",
                r"\sum_i (X^T B X)_{ii} = \sum_{i,k,l} X_{ki} B_{kl} X_{li}",
                r"index notation",
            ),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_{i,k,l} \left(\delta_{kp}\,\delta_{iq} B_{kl} X_{li}"
                r" + X_{ki} B_{kl}\,\delta_{lp}\,\delta_{iq}\right)",
                r"product rule, $X$ twice",
            ),
            Line(
                r"",
                r"\sum_l B_{pl} X_{lq} + \sum_k (B^T)_{pk} X_{kq} = (B X)_{pq} + (B^T X)_{pq}",
            ),
            Line(
                r"\frac{\partial f}{\partial X}",
                r"B X + B^T X",
                r"$2BX$ only if $B = B^T$",
            ),
        ),
    ),
    "squared norm": Explanation(
        r"f = \|X\|_F^2",
        (
            Line(r"f", r"\sum_{i,j} X_{ij}^2", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_{i,j} 2 X_{ij}\,\delta_{ip}\,\delta_{jq} = 2 X_{pq}",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial f}{\partial X}", r"2 X", r"reassembled"),
        ),
    ),
    "inverse": Explanation(
        r"Y = X^{-1},\ G = \frac{\partial L}{\partial Y}",
        (
            Line(
                r"\sum_k X_{ik} Y_{kj}",
                r"\delta_{ij}",
                r"$XY = I$ in index notation",
            ),
            Line(
                r"\sum_k \delta_{ip}\,\delta_{kq}\, Y_{kj}"
                r" + \sum_k X_{ik} \frac{\partial Y_{kj}}{\partial X_{pq}}",
                r"0",
                r"differentiated by one entry $X_{pq}$",
            ),
            Line(
                r"\frac{\partial Y_{ij}}{\partial X_{pq}}",
                r"-\sum_k Y_{ik}\,\delta_{kp}\, Y_{qj} = -Y_{ip} Y_{qj}",
                r"multiplied on the left by $Y = X^{-1}$",
            ),
            Line(
                r"\frac{\partial L}{\partial X_{pq}}",
                r"-\sum_{i,j} G_{ij}\, Y_{ip} Y_{qj}"
                r" = -\sum_{i,j} (Y^T)_{pi}\, G_{ij}\, (Y^T)_{jq}",
                r"chain rule",
            ),
            Line(
                r"\frac{\partial L}{\partial X}",
                r"-X^{-T} G X^{-T}",
                r"reassembled (eq. 61 is $G = a b^T$)",
            ),
        ),
    ),
    "determinant": Explanation(
        r"f = \det(X),\ C \text{ the cofactor matrix of } X",
        (
            Line(
                r"f",
                r"\sum_j X_{pj}\, C_{pj}",
                r"expansion along row $p$; no $C_{pj}$ involves row $p$",
            ),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_j \delta_{jq}\, C_{pj} = C_{pq}",
                r"one entry of $X$",
            ),
            Line(
                r"\frac{\partial f}{\partial X}",
                r"C = \det(X)\, X^{-T}",
                r"$X^{-1} = C^T / \det(X)$",
            ),
        ),
    ),
    "log-determinant": Explanation(
        r"f = \log\det(X),\ C \text{ the cofactor matrix of } X",
        (
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\frac{1}{\det X} \frac{\partial \det X}{\partial X_{pq}}"
                r" = \frac{C_{pq}}{\det X}",
                r"chain rule; the determinant rule gives $C_{pq}$",
            ),
            Line(
                r"\frac{\partial f}{\partial X}",
                r"\frac{C}{\det X} = X^{-T}",
                r"$X^{-1} = C^T / \det(X)$",
            ),
        ),
    ),
    "sum": Explanation(
        r"Y = X + W,\ G = \frac{\partial L}{\partial Y}",
        (
            Line(r"Y_{ij}", r"X_{ij} + W_{ij}", r"index notation"),
            Line(
                r"\frac{\partial L}{\partial X_{pq}}",
                r"\sum_{i,j} G_{ij}\,\delta_{ip}\,\delta_{jq} = G_{pq}",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial L}{\partial X}", r"G", r"reassembled"),
        ),
    ),
    "scalar multiple": Explanation(
        r"Y = \alpha X,\ G = \frac{\partial L}{\partial Y}",
        (
            Line(r"Y_{ij}", r"\alpha X_{ij}", r"index notation"),
            Line(
                r"\frac{\partial L}{\partial X_{pq}}",
                r"\sum_{i,j} G_{ij}\, \alpha\, \delta_{ip}\,\delta_{jq} = \alpha G_{pq}",
                r"one entry of $X$",
            ),
            Line(r"\frac{\partial L}{\partial X}", r"\alpha G", r"reassembled"),
        ),
    ),
    "elementwise product": Explanation(
        r"Y = X \odot W,\ G = \frac{\partial L}{\partial Y}",
        (
            Line(r"Y_{ij}", r"X_{ij} W_{ij}", r"index notation"),
            Line(
                r"\frac{\partial L}{\partial W_{pq}}",
                r"\sum_{i,j} G_{ij}\, X_{ij}\, \delta_{ip}\,\delta_{jq} = G_{pq} X_{pq}",
                r"one entry of $W$",
            ),
            Line(r"\frac{\partial L}{\partial W}", r"G \odot X", r"reassembled"),
        ),
    ),
    "sum of entries": Explanation(
        r"f = \textstyle\sum X = \mathbf{1}^T X \mathbf{1}",
        (
            Line(r"f", r"\sum_{i,j} X_{ij}", r"index notation"),
            Line(
                r"\frac{\partial f}{\partial X_{pq}}",
                r"\sum_{i,j} \delta_{ip}\,\delta_{jq} = 1",
                r"one entry of $X$",
            ),
            Line(
                r"\frac{\partial f}{\partial X}",
                r"\mathbf{1}\mathbf{1}^T",
                r"every entry is 1",
            ),
        ),
    ),
    "weight link": Explanation(
        r"Z = W^T A,\ G = \frac{\partial L}{\partial Z}\ \text{(6.390: } W \text{ is } m \times n)",
        (
            Line(r"Z_j", r"\sum_i W_{ij} A_i", r"index notation"),
            Line(
                r"\frac{\partial Z_j}{\partial W_{pq}}",
                r"\sum_i \delta_{ip}\,\delta_{jq}\, A_i = A_p\, \delta_{jq}",
                r"one entry of $W$: only $Z_q$ depends on it",
            ),
            Line(
                r"\frac{\partial L}{\partial W_{pq}}",
                r"\sum_j G_j\, A_p\, \delta_{jq} = A_p G_q",
                r"chain rule",
            ),
            Line(
                r"\frac{\partial L}{\partial W}",
                r"A\, G^T = A \left(\frac{\partial L}{\partial Z}\right)^T",
                r"reassembled: why $\partial Z/\partial W$ contracts to $A$",
            ),
        ),
    ),
    "softmax": Explanation(
        r"A = \operatorname{softmax}(Z),\ \left(\frac{\partial A}{\partial Z}\right)_{ij}"
        r" = \frac{\partial A_j}{\partial Z_i}",
        (
            Line(r"A_j", r"\frac{e^{Z_j}}{\sum_k e^{Z_k}}", r"index notation"),
            Line(
                r"\frac{\partial A_j}{\partial Z_i}",
                r"\frac{\delta_{ij}\, e^{Z_j}}{\sum_k e^{Z_k}}"
                r" - \frac{e^{Z_j}\, e^{Z_i}}{\left(\sum_k e^{Z_k}\right)^2}"
                r" = A_j \delta_{ij} - A_i A_j",
                r"quotient rule, one entry of $Z$",
            ),
            Line(
                r"\frac{\partial A}{\partial Z}",
                r"\operatorname{diag}(A) - A A^T",
                r"symmetric, so the same in every layout",
            ),
        ),
    ),
}


class NoExplanationError(MatcalcError):
    """A rule the catalog has but no entrywise explanation is written for."""


def _rule(name: str) -> Rule:
    matches = [rule for rule in RULES if rule.name == name]
    if not matches:
        known = ", ".join(sorted(EXPLANATIONS))
        shown = name if len(name) <= 60 else name[:60] + "..."
        raise NoExplanationError(
            f"no rule named {shown!r} (see 'matcalc rules'); explained rules: {known}"
        )
    return matches[0]


def explain(name: str) -> str:
    """The named rule derived entry by entry, as LaTeX (an align* environment)."""
    rule = _rule(name)
    explanation = EXPLANATIONS.get(name)
    if explanation is None:
        known = ", ".join(sorted(EXPLANATIONS))
        raise NoExplanationError(
            f"the rule {name!r} has no entrywise explanation yet; explained rules: {known}"
        )
    header = f"% {rule.name}: {rule.source}\n% {rule.statement}\n"
    return header + _align(rule, explanation, ENTRY)


def _align(rule: Rule, explanation: Explanation, entry: str, shapes: str = "") -> str:
    setting = f"&\\text{{{_text(rule.name)}: }} {explanation.setting}"
    if shapes:
        rows = [setting, f"&\\text{{shapes: }} {shapes} && {entry}"]
    else:
        rows = [f"{setting} && {entry}"]
    for line in explanation.lines:
        why = f" && \\text{{{_text(line.why)}}}" if line.why else ""
        rows.append(f"{line.lhs} &= {line.rhs}{why}")
    body = " \\\\\n".join(rows)
    return f"\\begin{{align*}}\n{body}\n\\end{{align*}}\n"


def _text(words: str) -> str:
    r"""Words for \text{}: math inside is already between dollars; & would break align*."""
    return words.replace("&", r"\&")


def standalone(latex: str) -> str:
    """A complete document around an explanation, for pdflatex."""
    return (
        "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
        "\\usepackage[margin=2cm]{geometry}\n"
        "\\begin{document}\n" + latex + "\\end{document}\n"
    )


# ------------------------------------------------------------------ an expression and a variable

Roles = dict[str, Symbol]


def _constant(expr: Expr, wrt: Symbol) -> bool:
    return isinstance(expr, Symbol) and expr != wrt


def _linear_form(f: Expr, x: Symbol) -> Roles | None:
    """a^T x, or x^T a: the same scalar."""
    if not (isinstance(f, MatMul) and len(f.factors) == 2 and is_column(x.shape)):
        return None
    for first, second in (f.factors, f.factors[::-1]):
        if isinstance(first, Transpose) and x in (first.arg, second):
            a = second if first.arg == x else first.arg
            if _constant(a, x) and is_column(a.shape):
                return {"a": a, "x": x}
    return None


def _bilinear_form(f: Expr, x: Symbol) -> Roles | None:
    match f:
        case MatMul(factors=(Transpose(arg=a), y, b)) if y == x:
            if _constant(a, x) and _constant(b, x) and is_column(a.shape) and is_column(b.shape):
                return {"a": a, "X": x, "b": b}
    return None


def _bilinear_form_of_a_transpose(f: Expr, x: Symbol) -> Roles | None:
    match f:
        case MatMul(factors=(Transpose(arg=a), Transpose(arg=y), b)) if y == x:
            if _constant(a, x) and _constant(b, x) and is_column(a.shape) and is_column(b.shape):
                return {"a": a, "X": x, "b": b}
    return None


def _quadratic_form(f: Expr, x: Symbol) -> Roles | None:
    match f:
        case MatMul(factors=(Transpose(arg=y), b, z)) if y == z == x and _constant(b, x):
            if is_column(x.shape):
                return {"x": x, "B": b}
    return None


def _trace_of_a_product(f: Expr, x: Symbol) -> Roles | None:
    match f:
        case Trace(arg=MatMul(factors=(a, y))) if y == x and _constant(a, x):
            return {"A": a, "X": x}
    return None


def _trace_of_a_quadratic_form(f: Expr, x: Symbol) -> Roles | None:
    match f:
        case Trace(arg=MatMul(factors=(Transpose(arg=y), b, z))) if y == z == x:
            if _constant(b, x):
                return {"X": x, "B": b}
    return None


def _of_the_variable(node: type) -> Callable[[Expr, Symbol], Roles | None]:
    def match(f: Expr, x: Symbol) -> Roles | None:
        return {"X": x} if isinstance(f, node) and f.arg == x else None

    return match


def _log_determinant(f: Expr, x: Symbol) -> Roles | None:
    if isinstance(f, Apply) and f.fn == Function("log"):
        return _of_the_variable(Det)(f.arg, x)
    return _of_the_variable(LogDet)(f, x)


@dataclass(frozen=True)
class Form:
    """Expressions a rule's explanation derives: how they are written, and who plays which role
    (the explanation's letters a, b, x, X, A, B) in one of them."""

    rule: str
    written: str
    match: Callable[[Expr, Symbol], Roles | None]


FORMS: tuple[Form, ...] = (
    Form("linear form", "a^T x or x^T a by x", _linear_form),
    Form("bilinear form", "a^T X b by X", _bilinear_form),
    Form("bilinear form of a transpose", "a^T X^T b by X", _bilinear_form_of_a_transpose),
    Form("quadratic form", "x^T B x by x", _quadratic_form),
    Form("trace of a product", "tr(A X) by X", _trace_of_a_product),
    Form("trace of a quadratic form", "tr(X^T B X) by X", _trace_of_a_quadratic_form),
    Form("squared norm", "||X||_F^2 or ||x||^2 by X", _of_the_variable(SquaredNorm)),
    Form("trace", "tr(X) by X", _of_the_variable(Trace)),
    Form("determinant", "det(X) by X", _of_the_variable(Det)),
    Form("log-determinant", "log det(X) by X", _log_determinant),
)

_LETTERS = re.compile(r"(\\?)([A-Za-z]+)")
_TEXT = re.compile(r"(\\text\{[^{}]*\})")
_DOLLARS = re.compile(r"(\$[^$]*\$)")


def _renamed_math(latex: str, names: Mapping[str, str]) -> str:
    """Math with the explanation's role letters written as the user's names; a run of letters
    is renamed only where every letter is a role (AX, Bx), never inside a command or a word."""

    def letters(found: re.Match[str]) -> str:
        backslash, run = found.groups()
        if backslash or not all(letter in names for letter in run):
            return found.group(0)
        return " ".join(names[letter] for letter in run) if len(run) > 1 else names[run]

    parts = _TEXT.split(latex)
    return "".join(
        _renamed_text(part, names) if part.startswith(r"\text{") else _LETTERS.sub(letters, part)
        for part in parts
    )


def _renamed_text(words: str, names: Mapping[str, str]) -> str:
    """Words with their $math$ renamed."""
    parts = _DOLLARS.split(words)
    return "".join(_renamed_math(part, names) if part.startswith("$") else part for part in parts)


def _letters_used(explanation: Explanation) -> set[str]:
    """The single letters the explanation writes as math (indices, f, G, C, I, ...)."""
    pieces = [explanation.setting]
    for line in explanation.lines:
        pieces += [line.lhs, line.rhs, *_DOLLARS.findall(line.why)]
    used = set()
    for piece in pieces:
        for part in _TEXT.split(piece):
            if not part.startswith(r"\text{"):
                used |= {run for slash, run in _LETTERS.findall(part) if not slash}
    return {run for run in used if len(run) == 1}


def _name(symbol: Symbol) -> str:
    """The symbol as LaTeX, braced where an index or a transpose will follow its own ones."""
    written = symbol_latex(symbol)
    return f"{{{written}}}" if "_" in written or "^" in written else written


def _renamed(explanation: Explanation, names: Mapping[str, str]) -> Explanation:
    lines = tuple(
        Line(_renamed_math(line.lhs, names), _renamed_math(line.rhs, names),
             _renamed_text(line.why, names))
        for line in explanation.lines
    )  # fmt: skip
    return Explanation(_renamed_math(explanation.setting, names), lines)


def _shapes(roles: Roles) -> str:
    return r",\ ".join(
        f"{symbol_latex(symbol)}: {sympy.latex(symbol.shape[0])} \\times "
        f"{sympy.latex(symbol.shape[1])}"
        for symbol in dict.fromkeys(roles.values())
    )


def explain_expression(text: str, wrt: str, context: Context) -> str:
    """The derivative of a scalar expression by one of its symbols, derived entry by entry:
    the explanation of the rule whose form the expression has, in the expression's own names."""
    expr = context.expand(context.resolve(parse_expression(text), text))
    variable = context.lookup(wrt)
    if not isinstance(variable, Symbol):
        raise NoExplanationError(f"--wrt {wrt}: differentiate by a declared name")
    for form in FORMS:
        roles = form.match(expr, variable)
        if roles is not None:
            return _explain_form(form, roles, expr, variable)
    if is_scalar(expr.shape) and variable in set(expr.walk()):
        try:
            return explain_by_differential(expr, variable, context)
        except MatcalcError:
            pass
    forms = "; ".join(form.written for form in FORMS)
    raise NoExplanationError(
        f"cannot explain {text!r} by {wrt} entry by entry (use 'matcalc derive' for its "
        f"gradient); explained forms: {forms}"
    )


DIFFERENTIAL_SOURCE = (
    "the differential (Matrix Cookbook sec. 2.2), identified entry by entry: "
    "df = sum_ij G_ij dX_ij gives df/dX_pq = G_pq"
)


def explain_by_differential(expr: Expr, variable: Symbol, context: Context) -> str:
    """Any scalar the engine differentiates, entry by entry: its differential df (linear in
    dX), written as the sum over the entries of G ⊙ dX, and each dX_pq in turn."""
    from matcalc.engine.differential import differential

    df = differential(expr, variable, context_rules(context))
    gradient = derivative_value(context, expr, variable, nabla=True)
    used = {symbol_latex(s) for s in expr.walk() if isinstance(s, Symbol)}
    g = next(letter for letter in ("G", r"\Gamma", r"\mathcal{G}") if letter not in used)
    x = _name(variable)
    f, df_name = "f", "df"
    if is_column(variable.shape):
        entry = _renamed_math(COLUMN_ENTRY, {"x": x})
        sum_form = f"\\sum_{{i}} {g}_{{i}}\\, d{x}_{{i}}"
        one_entry = f"\\sum_{{i}} {g}_{{i}}\\,\\delta_{{ip}} = {g}_{{p}}"
        lhs_entry = f"\\frac{{\\partial {f}}}{{\\partial {x}_{{p}}}}"
        why_entry = f"one entry of ${x}$: $d{x} = e_p$"
    else:
        entry = _renamed_math(ENTRY, {"X": x})
        sum_form = f"\\sum_{{i,j}} {g}_{{ij}}\\, d{x}_{{ij}}"
        one_entry = f"\\sum_{{i,j}} {g}_{{ij}}\\,\\delta_{{ip}}\\,\\delta_{{jq}} = {g}_{{pq}}"
        lhs_entry = f"\\frac{{\\partial {f}}}{{\\partial {x}_{{pq}}}}"
        why_entry = f"one entry of ${x}$: $d{x} = E_{{pq}}$"
    used_shapes = {s: s for s in expr.walk() if isinstance(s, Symbol)}
    lines = (
        Line(df_name, to_latex(df), "the differential, rule by rule"),
        Line(
            "",
            f"{sum_form},\\quad {g} = {to_latex(gradient)}",
            "collected on each entry of $d" + x + "$",
        ),
        Line(lhs_entry, one_entry, why_entry),
        Line(f"\\frac{{\\partial {f}}}{{\\partial {x}}}", to_latex(gradient), "reassembled"),
    )
    setting = f"&\\text{{by the differential: }} {f} = {to_latex(expr)}"
    shapes = _shapes({str(k): k for k in used_shapes})
    rows = [setting, f"&\\text{{shapes: }} {shapes} && {entry}"]
    for line in lines:
        rows.append(f"{line.lhs} &= {line.rhs} && \\text{{{_text(line.why)}}}")
    header = f"% {to_latex(expr)} by {symbol_latex(variable)}: {DIFFERENTIAL_SOURCE}\n"
    return header + "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _explain_form(form: Form, roles: Roles, expr: Expr, variable: Symbol) -> str:
    rule = _rule(form.rule)
    explanation = EXPLANATIONS[form.rule]
    names = {letter: _name(symbol) for letter, symbol in roles.items()}
    taken = (_letters_used(explanation) - set(names)) & set(names.values())
    if taken:
        raise NoExplanationError(
            f"the name {sorted(taken)[0]} is a letter the explanation of {form.rule!r} uses "
            "for something else (an index, f, G, C or I); rename it in the shapes"
        )
    if is_column(variable.shape):
        entry = _renamed_math(COLUMN_ENTRY, {"x": _name(variable)})
    else:
        entry = _renamed_math(ENTRY, {"X": _name(variable)})
    header = (
        f"% {to_latex(expr)} by {symbol_latex(variable)}: {rule.name}, {rule.source}\n"
        f"% {_renamed_math(rule.statement, names)}\n"
    )
    return header + _align(rule, _renamed(explanation, names), entry, _shapes(roles))
