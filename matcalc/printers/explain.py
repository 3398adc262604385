"""How matrix calculus works: identities of the rule table derived entry by entry.

Each explanation writes the scalar in index notation, differentiates it by one entry
(X_{pq}, using dX_{ij}/dX_{pq} = delta_{ip} delta_{jq}), and reassembles the matrix whose
(p, q) entry that is.  Explanations are data keyed by rule name; :func:`explain` prints one as
LaTeX ``align*`` steps.  For a pullback, L is the scalar loss and G = dL/dY is the gradient
that arrives at the node's output Y.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcalc.engine.rules import RULES, Rule
from matcalc.errors import MatcalcError


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
        raise NoExplanationError(
            f"no rule named {name!r} (see 'matcalc rules'); explained rules: {known}"
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
    rows = [f"&\\text{{{_text(rule.name)}: }} {explanation.setting} && {ENTRY}"]
    for line in explanation.lines:
        why = f" && \\text{{{_text(line.why)}}}" if line.why else ""
        rows.append(f"{line.lhs} &= {line.rhs}{why}")
    header = f"% {rule.name}: {rule.source}\n% {rule.statement}\n"
    body = " \\\\\n".join(rows)
    return f"{header}\\begin{{align*}}\n{body}\n\\end{{align*}}\n"


def _text(words: str) -> str:
    r"""Words for \text{}: math inside is already between dollars; & would break align*."""
    return words.replace("&", r"\&")


def standalone(latex: str) -> str:
    """A complete document around an explanation, for pdflatex."""
    return (
        "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
        "\\begin{document}\n" + latex + "\\end{document}\n"
    )
