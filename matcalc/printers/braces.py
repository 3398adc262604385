"""The chain rule as the 6.390 notes lay it out, as rows of an aligned display.

Each factor carries its shape under it (``\\underbrace{A^{l-1}}_{m^{l}\\times 1}``) and each layer
a brace over its factors (``\\overbrace{(...)}^{\\text{Layer } l}``), as in the notes' Notation 2:

    dL/dW^l = (dZ^l/dW^l) (dL/dZ^l)^T                      "Weight link", "Other layers"
    dL/dZ^l = (dA^l/dZ^l) (...) (dZ^L/dA^{L-1} dA^L/dZ^L) (dL/dA^L)    "Layer l" ... "Loss unit"

Long chains break between layers, so a deep network's chain still fits the page.
"""

from __future__ import annotations

import re

import sympy

from matcalc.core.expr import (
    Add,
    Apply,
    Cdots,
    Diag,
    Expr,
    Fill,
    Function,
    Hadamard,
    Identity,
    Scale,
    Transpose,
    hadamard,
    matmul,
)
from matcalc.core.record import record
from matcalc.core.shapes import Shape
from matcalc.engine.derive import Derivation
from matcalc.printers.chains import ChainGroup, Factor, LayerChain, chains_of
from matcalc.printers.latex import DEFAULT, Notation, dim_latex, plain_index, to_latex

CHAIN_RULE = "by the chain rule in matrix form, denominator layout (MIT 6.390 notes, Notation 2)"


@record
class Row:
    """One row of an aligned display: ``lhs relation rhs``, and a note on the identity used.

    An empty ``lhs`` continues the equation above; an empty ``relation`` continues a long
    right side (a product broken between layers).
    """

    lhs: str
    rhs: str
    relation: str = "="
    note: str = ""
    parts: tuple[str, ...] = ()
    """The factors of a product ``rhs`` (joined by \\cdot), where it may break to fit a page."""


def shaped(text: str, shape: Shape, notation: Notation = DEFAULT) -> str:
    """``text`` with its shape under it, when the notation shows shapes."""
    if not notation.shapes:
        return text
    rows, cols = (dim_latex(d, notation) for d in shape)
    return f"\\underbrace{{{text}}}_{{{rows}\\times {cols}}}"


def shaped_expr(expr: Expr, notation: Notation = DEFAULT) -> str:
    return shaped(to_latex(expr, notation), expr.shape, notation)


def brace_label(group: ChainGroup, notation: Notation = DEFAULT) -> str:
    if group.layer is None:
        return f"\\text{{{group.label}}}"
    return f"\\text{{Layer }} {plain_index(group.layer, notation)}"


def group_latex(group: ChainGroup, notation: Notation = DEFAULT) -> str:
    """One layer's factors in parentheses under a brace naming the layer."""
    if group.elided is not None:
        return shaped(r"\left(\cdots\right)", group.elided.shape, notation)
    inner = r" \cdot ".join(shaped_expr(f.name, notation) for f in group.factors)
    # \left( would grow around the shapes hanging below; \Bigl( keeps to the fractions.
    left, right = (r"\Bigl(", r"\Bigr)") if notation.shapes else (r"\left(", r"\right)")
    return f"\\overbrace{{{left}{inner}{right}}}^{{{brace_label(group, notation)}}}"


def factor_value(factor: Factor, notation: Notation = DEFAULT) -> Expr:
    """The factor's value, with f'(Z) kept unless the notation writes it in closed form."""
    return (
        factor.value
        if notation.derivative == "closed"
        else without_identity_prime(factor.value_with_prime)
    )


def operand_latex(expr: Expr, notation: Notation = DEFAULT) -> str:
    """An expression as one factor of a product: parenthesized when it is a sum or a multiple."""
    text = to_latex(expr, notation)
    return f"\\left({text}\\right)" if isinstance(expr, Add | Hadamard | Scale) else text


def _values_latex(group: ChainGroup, notation: Notation) -> str:
    if group.elided is not None:
        return r"\left(\cdots\right)"
    values = (operand_latex(factor_value(f, notation), notation) for f in group.factors)
    return r" \cdot ".join(values)


def broken(lhs: str, parts: list[str], note: str = "") -> list[Row]:
    """``lhs = part · part · ...``, to be broken between parts where the page is narrow."""
    return [Row(lhs, r" \cdot ".join(parts), note=note, parts=tuple(parts))]


def fitted(row: Row, width: float = 44.0) -> list[Row]:
    """A product row broken between its parts into rows whose right side fits ``width``
    (in the units of :func:`visual_width`; 44 is A4 with 2 cm margins at 11 pt)."""
    if not row.parts:
        return [row]
    rows: list[list[str]] = [[]]
    used = 0.0
    for text in row.parts:
        size = visual_width(text) + visual_width(r"\cdot")
        if rows[-1] and used + size > width:
            rows.append([])
            used = 0.0
        rows[-1].append(text)
        used += size
    result = [Row(row.lhs, r" \cdot ".join(rows[0]), row.relation)]
    result.extend(Row("", r"\cdot " + r" \cdot ".join(part), relation="") for part in rows[1:])
    # The note on the identity used goes under the whole product.
    last = result[-1]
    result[-1] = Row(last.lhs, last.rhs, last.relation, row.note)
    return result


_COMMAND_WIDTH = {
    "cdot": 0.8, "cdots": 1.6, "odot": 1.5, "partial": 0.75, "times": 1.2, ",": 0.2,
    ";": 0.3, " ": 0.3, "quad": 1.0, "qquad": 2.0, "top": 0.8, "ell": 0.5, "|": 0.4,
}  # fmt: skip


def _group(text: str, i: int) -> tuple[str, int]:
    """The brace group (or single character) at ``text[i]`` and the index after it."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return "", i
    if text[i] != "{":
        if text[i] == "\\":
            j = i + 1
            while j < len(text) and text[j].isalpha():
                j += 1
            return text[i : max(j, i + 2)], max(j, i + 2)
        return text[i], i + 1
    depth, j = 0, i
    while j < len(text):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j], j + 1
        j += 1
    return text[i + 1 :], len(text)


def visual_width(text: str) -> float:
    """A rough printed width of math LaTeX, about one unit per letter, to break long rows."""
    width, i = 0.0, 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            j = i + 1
            while j < len(text) and text[j].isalpha():
                j += 1
            name = text[i + 1 : max(j, i + 2)]
            i = max(j, i + 2)
            if name in ("frac", "tfrac"):
                top, i = _group(text, i)
                bottom, i = _group(text, i)
                width += max(visual_width(top), visual_width(bottom)) + 0.4
            elif name in ("underbrace", "overbrace"):
                body, i = _group(text, i)
                label = ""
                if i < len(text) and text[i] in "^_":
                    label, i = _group(text, i + 1)
                width += max(visual_width(body), 0.7 * visual_width(label))
            elif name in ("text", "operatorname"):
                body, i = _group(text, i)
                width += 0.8 * len(body) + 0.3
            elif name in ("left", "right", "Bigl", "Bigr", "bigl", "bigr"):
                _, i = _group(text, i)
                width += 0.6
            elif name in ("mathcal", "mathbf", "mathrm"):
                body, i = _group(text, i)
                width += visual_width(body)
            else:
                width += _COMMAND_WIDTH.get(name, 1.0)
        elif char in "^_":
            body, i = _group(text, i + 1)
            width += 0.7 * visual_width(body)
        elif char == "{":
            body, i = _group(text, i)
            width += visual_width(body)
        else:
            width += 1.6 if char in "+-=" else 0.0 if char in " }" else 0.5 if char in "()" else 0.8
            i += 1
    return width


MAX_GROUPS = 8
"""Chains with more layer groups than this show the first two, (\\cdots), the last two and the
loss, as the notes' general chain does; printing every layer's chain stays linear in depth."""


def elided(groups: tuple[ChainGroup, ...]) -> tuple[ChainGroup, ...]:
    """The chain with its middle layers as one (\\cdots) of the right shape, when it is long."""
    if len(groups) <= MAX_GROUPS:
        return groups
    head, tail = groups[:2], groups[-3:]
    rows = head[-1].factors[-1].name.shape[1]
    cols = tail[0].factors[0].name.shape[0]
    return (*head, ChainGroup("", (), Cdots((rows, cols))), *tail)


def chain_rows(
    derivation: Derivation, l: object, notation: Notation = DEFAULT, lhs: str = ""
) -> list[Row]:
    """dL/dZ^l as the braced chain of named factors, then with each factor's value."""
    chains = chains_of(derivation)
    layer = chains.layer(l)
    groups = elided(chains.groups(l))
    lhs = lhs or to_latex(layer.dz, notation)
    named = [group_latex(g, notation) for g in groups]
    values = [_values_latex(g, notation) for g in groups]
    rules = _unique(r for g in groups for f in g.factors for r in f.rules)
    return [
        *broken(lhs, named, note=CHAIN_RULE),
        *broken("", values, note=rules_note(rules)),
    ]


def weight_link_latex(layer: LayerChain, notation: Notation = DEFAULT) -> str:
    """(dZ^l/dW^l) (dL/dZ^l)^T with the notes' braces "Weight link" and "Other layers"."""
    link = shaped_expr(layer.weight_link.name, notation)
    other = shaped(to_latex(Transpose(layer.dz), notation), _transposed(layer.dz.shape), notation)
    return (
        f"\\overbrace{{{link}}}^{{\\text{{Weight link}}}} \\cdot "
        f"\\overbrace{{{other}}}^{{\\text{{Other layers}}}}"
    )


def weight_rows(derivation: Derivation, l: object, notation: Notation = DEFAULT) -> list[Row]:
    """dL/dW^l = weight link · (other layers)^T = A^{l-1} (dL/dZ^l)^T.

    Conventions with Z = W A (or a batch) print the engine's backprop form, without braces.
    """
    layer = chains_of(derivation).layer(l)
    net = derivation.network
    if net.batch is not None or not net.declaration.weight_is_transposed or net.decay is not None:
        return [Row(to_latex(layer.dw, notation), to_latex(layer.dw_value, notation))]
    product = matmul(layer.weight_link.value, Transpose(layer.dz))
    return [
        Row(to_latex(layer.dw, notation), weight_link_latex(layer, notation)),
        Row("", _shaped_product(product, notation), note=rules_note(layer.weight_link.rules)),
    ]


def bias_rows(layer: LayerChain, notation: Notation = DEFAULT) -> list[Row]:
    return [Row(to_latex(layer.dw0, notation), to_latex(layer.dw0_value, notation))]


def _shaped_product(product: Expr, notation: Notation) -> str:
    factors = product.factors if hasattr(product, "factors") else (product,)
    return r"\,".join(shaped(operand_latex(f, notation), f.shape, notation) for f in factors)


def _transposed(shape: Shape) -> Shape:
    return (shape[1], shape[0])


def _unique(items):  # noqa: ANN001, ANN202 - any hashables, order kept
    return tuple(dict.fromkeys(items))


_TEXT_ESCAPES = (
    ("\\", r"\textbackslash "),
    ("{", r"\{"),
    ("}", r"\}"),
    ("&", r"\&"),
    ("%", r"\%"),
    ("$", r"\$"),
    ("#", r"\#"),
    ("_", r"\_"),
    ("^", ""),
    ("~", " "),
)
_MATH_MARK = re.compile(r"[\\_^{}]")


def _is_bridge(token: str) -> bool:
    """A short token that may join two math tokens into one formula: =, -, /, b, dX."""
    return len(token) <= 2 and not _MATH_MARK.search(token)


def text_latex(text: str) -> str:
    """Plain text made safe for \\text{...} in pdflatex, MathJax and KaTeX.

    Runs of words that are formulas (with \\, _, ^ or braces: "G^T", "(X \\odot Y)_{ij}") are
    set as inline math; everything else is escaped.
    """
    tokens = text.split(" ")
    math = [bool(_MATH_MARK.search(t)) and t.count("{") == t.count("}") for t in tokens]
    # A short token between two formulas belongs to them: "X^{-1} b / dX = -X^{-T}".
    for i, token in enumerate(tokens):
        if not math[i] and _is_bridge(token):
            before = any(math[j] for j in range(i - 1, -1, -1) if not _is_bridge(tokens[j]))
            after_tokens = [j for j in range(i + 1, len(tokens)) if not _is_bridge(tokens[j])]
            math[i] = (
                before
                and bool(after_tokens)
                and math[after_tokens[0]]
                and (_last_solid(tokens, math, i))
            )
    _balance(tokens, math)
    pieces: list[str] = []
    i = 0
    while i < len(tokens):
        if not math[i]:
            pieces.append(_text_token(tokens[i]))
            i += 1
            continue
        j = i
        while j < len(tokens) and math[j]:
            j += 1
        pieces.append(_math_run(" ".join(tokens[i:j])))
        i = j
    return " ".join(pieces)


def _depth(text: str) -> int:
    return text.count("(") - text.count(")")


def _balance(tokens: list[str], math: list[bool]) -> None:
    """A formula that closes a parenthesis opened by the word before it takes that word in,
    "(X \\odot Y)_{ij}" is one formula, not "(X" and "\\odot Y)_{ij}"; and so does one
    that opens a parenthesis a short word after it closes."""
    i = 0
    while i < len(tokens):
        if not math[i]:
            i += 1
            continue
        j = i
        while j < len(tokens) and math[j]:
            j += 1
        start = i
        while _depth(" ".join(tokens[start:j])) < 0 and start > 0 and "(" in tokens[start - 1]:
            start -= 1
            math[start] = True
        while (
            _depth(" ".join(tokens[start:j])) > 0
            and j < len(tokens)
            and ")" in tokens[j]
            and len(tokens[j]) <= 4
        ):
            math[j] = True
            j += 1
        i = j


def _math_run(text: str) -> str:
    """Formula words as inline math; a parenthesis the formula does not close stays text."""
    before = after = ""
    if text.startswith("(") and _depth(text) > 0:
        before, text = "(", text[1:]
    while text.endswith(")") and _depth(text) < 0:
        after, text = ")" + after, text[:-1]
    while text and text[-1] in ",;:.":
        after, text = text[-1] + after, text[:-1]
    return f"{before}${text}${after}"


def _text_token(token: str) -> str:
    for char, escaped in _TEXT_ESCAPES:
        token = token.replace(char, escaped)
    if token.startswith("'"):
        # An opening quote: TeX sets ' as a closing one.
        token = r"\textquoteleft{}" + token[1:]
    return token


def _last_solid(tokens: list[str], math: list[bool], i: int) -> bool:
    """Whether the nearest token before ``i`` that is not short is a formula."""
    for j in range(i - 1, -1, -1):
        if not _is_bridge(tokens[j]):
            return math[j]
    return False


_SOURCE_ABBREVIATIONS = (("MIT 6.390 notes, Neural Networks, ", "6.390 notes, "),)


def rules_note(rules) -> str:  # noqa: ANN001 - an iterable of Rule
    """The identities used, each with its source: "linear map (Matrix Cookbook eq. 69)"."""
    text = "; ".join(f"{rule.name} ({_abbreviated(rule.source)})" for rule in rules)
    return f"by {text}" if text else ""


def _abbreviated(source: str) -> str:
    for long, short in _SOURCE_ABBREVIATIONS:
        source = source.replace(long, short)
    return source


def without_identity_prime(expr: Expr) -> Expr:
    """The expression with id'(Z) = 1 written out: dropped from an elementwise product or a
    multiple, diag(id'(Z)) the identity matrix (the derivative of a linear layer is 1)."""
    if not expr.children:
        return expr
    children = tuple(without_identity_prime(child) for child in expr.children)
    rebuilt = expr.rebuild(children)
    match rebuilt:
        case Diag(arg=arg) if _is_ones(arg):
            return Identity(arg.shape[0])
        case Hadamard(factors=factors) if any(_is_ones(f) for f in factors):
            kept = [f for f in factors if not _is_ones(f)]
            return hadamard(*kept) if kept else factors[0]
        case Apply(fn=Function(name="identity", order=1), arg=arg):
            return Fill(sympy.Integer(1), arg.shape)
    return rebuilt


def _is_ones(expr: Expr) -> bool:
    return isinstance(expr, Fill) and expr.value == 1
