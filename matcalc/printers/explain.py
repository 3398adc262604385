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
from matcalc.core.record import record
from matcalc.core.shapes import is_column, is_scalar
from matcalc.engine.context import context_rules, derivative_value
from matcalc.engine.rules import RULES, Rule
from matcalc.errors import MatcalcError
from matcalc.printers.latex import symbol_latex, to_latex
from matcalc.reading.parse import parse_expression
from matcalc.specs.context import Context


@record
class Line:
    """One line of an entrywise derivation: ``lhs`` (empty to continue) = ``rhs``, because."""

    lhs: str
    rhs: str
    why: str = ""


@record
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


@record
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
            return explain_by_indices(expr, variable, context)
        except NotPolynomialError:
            pass
        try:
            return explain_by_differential(expr, variable, context)
        except MatcalcError:
            pass
    forms = "; ".join(form.written for form in FORMS)
    raise NoExplanationError(
        f"cannot explain {text!r} by {wrt} entry by entry (use 'matcalc derive' for its "
        f"gradient); explained forms: {forms}"
    )


# ------------------------------------------------------------ index notation, term by term


class NotPolynomialError(MatcalcError):
    """An expression outside sums, products, transposes, traces, Hadamard products and
    squared norms of names, which index notation writes as one finite sum."""


@record
class Entry:
    """One factor of a term: the entry name_{indices} (delta_{ij} for the identity)."""

    name: Expr | None  # None: Kronecker's delta
    indices: tuple[str, ...]


@record
class Term:
    """coeff * sum over ``summed`` of the product of ``entries``."""

    coeff: sympy.Expr
    entries: tuple[Entry, ...]
    summed: tuple[str, ...]

    def times(self, other: Term) -> Term:
        return Term(self.coeff * other.coeff, self.entries + other.entries,
                    self.summed + other.summed)  # fmt: skip


INDEX_LETTERS = ("i", "j", "k", "l", "m", "r", "s", "t", "u", "v", "a", "b", "c", "d", "e", "g")


class IndexWriter:
    """Expressions in index notation: (A B)_{ij} = sum_k A_{ik} B_{kj}, tr A = sum_i A_{ii}."""

    def __init__(self, taken: set[str]) -> None:
        self.free = [letter for letter in INDEX_LETTERS if letter not in taken]
        self.sizes: dict[str, sympy.Expr] = {}

    def fresh(self, size: sympy.Expr) -> str:
        if not self.free:
            raise NotPolynomialError("too many indices to write out")
        letter = self.free.pop(0)
        self.sizes[letter] = size
        return letter

    def index(self, rows: sympy.Expr) -> str | None:
        return None if rows == 1 else self.fresh(rows)

    def terms(self, expr: Expr, i: str | None, j: str | None) -> list[Term]:  # noqa: C901
        """The (i, j) entry of ``expr`` as a sum of terms; None stands for a size-1 index."""
        from matcalc.core.expr import Add, Fill, Hadamard, Identity, ScalarProduct, Scale, Sum

        if isinstance(expr, Symbol):
            indices = tuple(k for k in (i, j) if k is not None)
            return [Term(sympy.Integer(1), (Entry(expr, indices),), ())]
        if isinstance(expr, Transpose):
            return self.terms(expr.arg, j, i)
        if isinstance(expr, Identity):
            return [Term(sympy.Integer(1), (Entry(None, (i, j)),), ())]
        if isinstance(expr, Fill) and expr.value.is_number:
            return [Term(sympy.sympify(expr.value), (), ())]
        if isinstance(expr, Scale):
            return [Term(expr.coeff * t.coeff, t.entries, t.summed)
                    for t in self.terms(expr.arg, i, j)]  # fmt: skip
        if isinstance(expr, Add):
            return [t for term in expr.terms for t in self.terms(term, i, j)]
        if isinstance(expr, MatMul):
            total = [Term(sympy.Integer(1), (), ())]
            left = i
            for position, factor in enumerate(expr.factors):
                last = position == len(expr.factors) - 1
                right = j if last else self.index(factor.shape[1])
                total = _products(total, self.terms(factor, left, right))
                if right is not None and not last:
                    total = [Term(t.coeff, t.entries, (*t.summed, right)) for t in total]
                left = right
            return total
        if isinstance(expr, Hadamard):
            total = [Term(sympy.Integer(1), (), ())]
            for factor in expr.factors:
                total = _products(total, self.terms(factor, i, j))
            return total
        if isinstance(expr, ScalarProduct):
            return _products(self.terms(expr.scalar, None, None), self.terms(expr.arg, i, j))
        if isinstance(expr, Trace | Sum | SquaredNorm):
            arg = expr.arg
            k = self.index(arg.shape[0])
            l = k if isinstance(expr, Trace) else self.index(arg.shape[1])
            inner = (self.terms(arg, k, l) if not isinstance(expr, SquaredNorm)
                     else _products(self.terms(arg, k, l), self.terms(arg, k, l)))  # fmt: skip
            summed = tuple(dict.fromkeys(x for x in (k, l) if x is not None))
            return [Term(t.coeff, t.entries, (*t.summed, *summed)) for t in inner]
        raise NotPolynomialError(f"{type(expr).__name__} is not written in index notation here")


def _products(left: list[Term], right: list[Term]) -> list[Term]:
    return [a.times(b) for a in left for b in right]


def _renamed_index(term: Term, old: str, new: str) -> Term:
    entries = tuple(
        Entry(e.name, tuple(new if k == old else k for k in e.indices)) for e in term.entries
    )
    return Term(term.coeff, entries, tuple(k for k in term.summed if k != old))


def differentiate_term(term: Term, variable: Symbol, free: tuple[str, ...]) -> list[Term]:
    """d term / d X_{pq}: the product rule over each entry of X, with dX_{ab}/dX_{pq} =
    delta_{ap} delta_{bq} summed out where a (b) is summed."""
    results = []
    for position, entry in enumerate(term.entries):
        if entry.name != variable:
            continue
        rest = Term(term.coeff, term.entries[:position] + term.entries[position + 1 :],
                    term.summed)  # fmt: skip
        renamed: dict[str, str] = {}  # X_{ii} of a trace: the second i is p by then
        for index, target in zip(entry.indices, free, strict=True):
            current = renamed.get(index, index)
            if current in rest.summed:
                rest = _renamed_index(rest, current, target)
                renamed[current] = target
            elif current != target:
                rest = Term(rest.coeff, (*rest.entries, Entry(None, (current, target))),
                            rest.summed)  # fmt: skip
        results.append(rest)
    return results


def _entry_latex(entry: Entry) -> str:
    indices = "".join(entry.indices)
    if entry.name is None:
        return f"\\delta_{{{indices}}}"
    name = symbol_latex(entry.name)
    if entry.name.sub:
        name = f"\\left({name}\\right)"
    return f"{name}_{{{indices}}}" if indices else name


def terms_latex(terms: list[Term]) -> str:
    """sum_{k} A_{ik} x_k + ..., with each term's sums in front."""
    return " ".join(terms_rows(terms, width=None))


def terms_rows(terms: list[Term], width: int | None = 48) -> list[str]:
    """The sum split into rows of about ``width`` characters of LaTeX (None: one row); each
    row after the first starts with its sign."""
    if not terms:
        return ["0"]
    parts = []
    for term in terms:
        body = r"\,".join(_entry_latex(e) for e in term.entries) or "1"
        order = [k for e in term.entries for k in e.indices]
        summed = sorted(term.summed, key=lambda k: order.index(k) if k in order else len(order))
        sums = f"\\sum_{{{','.join(summed)}}} " if summed else ""
        coeff = term.coeff
        sign = "-" if coeff.is_number and coeff < 0 else "+"
        magnitude = -coeff if sign == "-" else coeff
        shown = "" if magnitude == 1 else f"{sympy.latex(magnitude)}\\,"
        parts.append((sign, f"{shown}{sums}{body}"))
    first_sign, first = parts[0]
    rows = [("-" if first_sign == "-" else "") + first]
    for sign, part in parts[1:]:
        if width is not None and len(rows[-1]) + len(part) > width:
            rows.append(f"{sign} {part}")
        else:
            rows[-1] += f" {sign} {part}"
    return rows


def evaluate_terms(terms: list[Term], env: Mapping[Expr, object], sizes: Mapping[str, int],
                   free: tuple[str, ...]) -> object:  # fmt: skip
    """The terms' value for every value of the free indices (an array over them)."""
    import numpy as np

    shape = tuple(sizes[k] for k in free)
    total = np.zeros(shape)
    for term in terms:
        operands, subscripts = [], []
        letters: dict[str, str] = {}
        for entry in term.entries:
            if entry.name is None:
                a, b = entry.indices
                operands.append(np.eye(sizes[a], sizes[b]))
            else:
                value = np.asarray(env[entry.name], dtype=float)
                operands.append(value.reshape(tuple(sizes[k] for k in entry.indices)))
            subscripts.append("".join(letters.setdefault(k, chr(97 + len(letters)))
                                      for k in entry.indices))  # fmt: skip
        carried = [k for k in free if any(k in e.indices for e in term.entries)]
        out = "".join(letters[k] for k in carried)
        value = np.einsum(",".join(subscripts) + "->" + out, *operands) if operands else 1.0
        # a free index no entry carries: the term is constant along it
        value = np.asarray(value, dtype=float)
        for axis, k in enumerate(free):
            if k not in carried:
                value = np.expand_dims(value, axis)
        total = total + float(term.coeff) * np.broadcast_to(value, shape)
    return total


def index_derivation(
    expr: Expr, variable: Symbol
) -> tuple[list[Term], list[Term], tuple[str, ...], dict[str, sympy.Expr]]:
    """f in index notation, df/dX_pq term by term, the free indices (p, q) and the sizes of
    every index."""
    taken = {symbol_latex(s) for s in expr.walk() if isinstance(s, Symbol)}
    if taken & {"p", "q"}:
        raise NotPolynomialError("p and q are the indices of the variable's entry here")
    writer = IndexWriter(taken)
    terms = writer.terms(expr, None, None)
    free = ("p",) if is_column(variable.shape) else ("p", "q")
    sizes = dict(writer.sizes)
    sizes["p"] = variable.shape[0]
    if len(free) == 2:
        sizes["q"] = variable.shape[1]
    derivative = [d for t in terms for d in differentiate_term(t, variable, free)]
    return terms, derivative, free, sizes


def _rows(lhs: str, parts: list[str], why: str) -> list[str]:
    """lhs = the first part (with the reason), the others continued on their own rows."""
    rows = [f"{lhs} &= {parts[0]} && \\text{{{_text(why)}}}"]
    rows += [f"&\\quad {part}" for part in parts[1:]]
    return rows


INDEX_SOURCE = (
    "index notation: f as one sum over indices, the product rule over each entry of the "
    "variable, dX_ij/dX_pq = delta_ip delta_jq"
)


def explain_by_indices(expr: Expr, variable: Symbol, context: Context) -> str:
    """A scalar of sums, products, transposes, traces and Hadamard products, entry by entry:
    written in index notation, differentiated by one entry X_pq (the product rule over each
    occurrence of X), and the matrix of those entries, the engine's gradient, reassembled."""
    if is_scalar(variable.shape):  # no entry X_pq to differentiate by (ridge's lambda)
        raise NotPolynomialError("a scalar variable has no entries to write out")
    terms, derivative, free, _ = index_derivation(expr, variable)
    if len(terms) > 12 or len(derivative) > 12:
        raise NotPolynomialError("too many terms to write out")
    gradient = derivative_value(context, expr, variable, nabla=True)
    x = _name(variable)
    at = "".join(free)
    names = {symbol_latex(s) for s in expr.walk() if isinstance(s, Symbol)}
    a, b = [letter for letter in INDEX_LETTERS if letter not in names][:2]
    if is_column(variable.shape):
        entry = f"\\frac{{\\partial {x}_{{{a}}}}}{{\\partial {x}_{{p}}}} = \\delta_{{{a}p}}"
    else:
        entry = (
            f"\\frac{{\\partial {x}_{{{a}{b}}}}}{{\\partial {x}_{{pq}}}} = "
            f"\\delta_{{{a}p}}\\,\\delta_{{{b}q}}"
        )
    shapes = _shapes({str(s): s for s in expr.walk() if isinstance(s, Symbol)})
    rows = [
        f"&\\text{{in index notation: }} f = {to_latex(expr)}",
        f"&\\text{{shapes: }} {shapes} && {entry}",
        *_rows("f", terms_rows(terms), "index notation"),
        *_rows(
            f"\\frac{{\\partial f}}{{\\partial {x}_{{{at}}}}}",
            terms_rows(derivative),
            f"the product rule over each entry of ${x}$",
        ),
        f" &= \\left({to_latex(gradient)}\\right)_{{{at}}} && \\text{{the sums read as "
        f"matrix products}}",
        f"\\frac{{\\partial f}}{{\\partial {x}}} &= {to_latex(gradient)} && \\text{{reassembled}}",
    ]
    header = f"% {to_latex(expr)} by {symbol_latex(variable)}: {INDEX_SOURCE}\n"
    return header + "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


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
