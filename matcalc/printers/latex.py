"""LaTeX for expressions and derivations, in the notation of a course.

:class:`Notation` holds the choices that differ between courses (W^{l}, W^{(l)} or W^{[l]};
l or \\ell; ^T or ^\\top; the loss's name; sizes m^l/n^l or d_l; how f' is written).  Output
uses only amsmath and renders in MathJax and KaTeX as well as pdflatex.
"""

from __future__ import annotations

import operator
from dataclasses import replace
from typing import TYPE_CHECKING

import sympy

from matcalc.core.expr import (
    Add,
    Apply,
    Cdots,
    Commutation,
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
    Kronecker,
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
    Vec,
    hadamard,
    substitute,
)
from matcalc.core.functions import power_exponent
from matcalc.core.record import record
from matcalc.core.shapes import (
    INPUT_SIZE,
    LAYER_SIZE,
    ONE,
    Dim,
    Shape,
    canonical,
    dims_equal,
    index_text,
    is_column,
    is_scalar,
)

if TYPE_CHECKING:
    from matcalc.engine.derive import Derivation, Gradient
    from matcalc.specs.conventions import Convention

LAYER_STYLES = {"plain": "{}", "paren": "({})", "bracket": "[{}]"}
GRADIENT_STYLES = ("fraction", "d-prefix", "nabla")
ONES_STYLES = ("vector", "sum")
DERIVATIVE_STYLES = ("closed", "prime", "diag")
SIZE_STYLES = ("mn", "d", "n", "s")


@record
class Notation:
    """How a course writes things; the defaults are the 6.390 notes'."""

    layer_style: str = "plain"
    ell: bool = False
    transpose: str = "T"
    loss: str = r"\mathcal{L}"
    sizes: str = "mn"
    derivative: str = "closed"
    shapes: bool = True
    gradients: str = "fraction"
    hadamard: str = r"\odot"
    transpose_in_superscript: bool = False
    layer_letter: str = "l"
    ones: str = "vector"
    derivative_last: bool = False
    running: str | None = None
    shifted: tuple[str, ...] = ()
    offset: int = 0
    l_is_loss: bool = True
    """The symbol L prints as ``loss`` (a network's L); False where L is a name of its own (a
    graph spec's quantity L beside a loss J)."""

    def __post_init__(self) -> None:
        if self.layer_style not in LAYER_STYLES:
            raise ValueError(f"layer style {self.layer_style!r}: one of {', '.join(LAYER_STYLES)}")
        if self.transpose not in ("T", r"\top"):
            raise ValueError(f"transpose {self.transpose!r}: T or \\top")
        if self.sizes not in SIZE_STYLES:
            raise ValueError(f"sizes {self.sizes!r}: one of {', '.join(SIZE_STYLES)}")
        if self.derivative not in DERIVATIVE_STYLES:
            raise ValueError(
                f"derivative {self.derivative!r}: one of {', '.join(DERIVATIVE_STYLES)}"
            )
        if self.gradients not in GRADIENT_STYLES:
            raise ValueError(f"gradients {self.gradients!r}: one of {', '.join(GRADIENT_STYLES)}")
        if self.ones not in ONES_STYLES:
            raise ValueError(f"ones {self.ones!r}: one of {', '.join(ONES_STYLES)}")

    @classmethod
    def of(cls, convention: Convention) -> Notation:
        """The notation a convention writes in: names with W^l, W^{[l]} or W^{(k)}, ^T or ^\\top,
        dL/dX, dX or \\nabla_X J, and its elementwise product."""
        notation = cls(
            layer_style=convention.index_style,
            transpose=convention.transpose,
            gradients=convention.gradient_names,
            hadamard=convention.hadamard,
            transpose_in_superscript=convention.transpose_in_superscript,
            layer_letter=convention.layer_letter,
            ones="sum" if convention.bias_sum == "sum" else "vector",
            sizes="mn" if convention.names.input_size else "n",
            derivative_last=convention.gradient_first,
            running="g" if convention.running_gradient == "cost" else None,
        )
        return notation.with_(**_offset_notation(convention))

    def with_(self, **changes: object) -> Notation:
        return replace(self, **changes)

    def describe(self) -> str:
        """The convention in one sentence, stated on every output."""
        l = r"\ell" if self.ell else self.layer_letter
        weight = f"W^{{{LAYER_STYLES[self.layer_style].format(l)}}}"
        sizes = {
            "mn": f"m^{{{LAYER_STYLES[self.layer_style].format(l)}}} = n^{{"
            f"{LAYER_STYLES[self.layer_style].format(l + '-1')}}}",
            "n": f"n^{{{LAYER_STYLES[self.layer_style].format(l)}}}",
            "d": f"d_{{{l}}}",
            "s": f"s_{{{l}}}",
        }[self.sizes]
        derivative = {
            "closed": "in closed form from the layer's output",
            "prime": "as $f'(Z)$ (elementwise)",
            "diag": r"as $\operatorname{diag}(f'(Z))$ (a Jacobian matrix)",
        }[self.derivative]
        gradients = {
            "fraction": "",
            "d-prefix": r", gradients $dX$ (of the cost $J$; $dZ$ per example)",
            "nabla": r", gradients $\nabla_X J$ ($g$ the running one)",
        }[self.gradients]
        if self.gradients == "d-prefix" and self.running:  # CS231n: dZ is the cost's too
            gradients = r", gradients $dX$ (of the cost $J$)"
        product = "" if self.hadamard == r"\odot" else f", elementwise product ${self.hadamard}$"
        return (
            f"Notation: weights ${weight}$, layer index ${l}$, transpose "
            f"$X^{{{self.transpose}}}$, loss ${self.loss}${gradients}{product}, sizes ${sizes}$; "
            f"activation derivatives {derivative}."
        )


DEFAULT = Notation()


def _offset_notation(convention: Convention) -> dict:
    """UFLDL's shifted quantities: z^{(l+1)}, a^{(l+1)} for layer l's Z^l, A^l, and its sizes
    s_l (nothing for a convention whose quantities share their weights' index)."""
    if not convention.quantity_offset:
        return {}
    names = convention.names
    changes: dict = {
        "shifted": (names.pre_activation, names.activation),
        "offset": convention.quantity_offset,
    }
    if convention.size_style:
        changes["sizes"] = convention.size_style
    return changes


def _shift(index: sympy.Expr, name: str, notation: Notation) -> sympy.Expr:
    """A quantity's index as the convention writes it (UFLDL: Z^l is z^{(l+1)})."""
    return index + notation.offset if name in notation.shifted else index


def plain_index(index: sympy.Expr, notation: Notation = DEFAULT) -> str:
    """A layer index with l or \\ell but no brackets: l+1, \\ell-1, L, 2."""
    text = index_text(index)
    if notation.layer_letter != "l":
        text = text.replace("l", notation.layer_letter)
    if notation.ell:
        text = text.replace("l", r"\ell ").replace(r"\ell +", r"\ell+").replace(r"\ell -", r"\ell-")
        text = text.strip()
    return text


def layer_index(index: sympy.Expr, notation: Notation = DEFAULT) -> str:
    """A layer index as a superscript's content: l, (l), [l], \\ell."""
    return LAYER_STYLES[notation.layer_style].format(plain_index(index, notation))


def dim_latex(d: Dim, notation: Notation = DEFAULT) -> str:
    """A size: n^{l}, m^{1}, d_{l-1}, 3, h."""
    if isinstance(d, sympy.Indexed) and d.base in (INPUT_SIZE, LAYER_SIZE):
        if notation.sizes == "d":
            index = canonical(d).indices[0]
            return f"d_{{{plain_index(index, notation)}}}"
        if notation.sizes == "n":
            return f"n^{{{layer_index(canonical(d).indices[0], notation)}}}"
        if notation.sizes == "s":  # UFLDL's s_l: n^l units are its layer l+1's
            index = canonical(d).indices[0] + notation.offset
            return f"s_{{{plain_index(index, notation)}}}"
        return f"{d.base.label}^{{{layer_index(d.indices[0], notation)}}}"
    if isinstance(d, sympy.Indexed):
        return f"{d.base.label}^{{{index_text(d.indices[0])}}}"
    if isinstance(d, sympy.Symbol | sympy.Integer):
        return str(d)
    return sympy.latex(d)


def shape_latex(shape: Shape, notation: Notation = DEFAULT) -> str:
    return f"{dim_latex(shape[0], notation)} \\times {dim_latex(shape[1], notation)}"


def symbol_latex(symbol: Symbol, notation: Notation = DEFAULT) -> str:
    renamed = notation.l_is_loss and symbol.name == "L" and symbol.index is None
    name = notation.loss if renamed else symbol.name
    sub = f"_{{{symbol.sub}}}" if symbol.sub else ""
    if symbol.index is None:
        return f"{name}{sub}"
    return f"{name}{sub}^{{{layer_index(_shift(symbol.index, symbol.name, notation), notation)}}}"


def function_latex(fn: Function, notation: Notation = DEFAULT) -> str:
    known = fn.scalar
    closed = notation.derivative == "closed"
    if known is not None and fn.order == 1 and known.derivative_latex and closed:
        return known.derivative_latex
    base = known.latex if known is not None else fn.name
    if fn.index is not None:  # layer l's f applies to UFLDL's z^{(l+1)}
        index = fn.index + notation.offset if notation.shifted else fn.index
        base = f"{base}^{{{layer_index(index, notation)}}}"
    delimited = notation.layer_style != "plain"
    if fn.order and fn.index is not None and notation.transpose_in_superscript and delimited:
        # Ng's g^{[l]\prime}, Goodfellow's f^{(k)\prime}: the prime inside the delimited
        # superscript, like the transpose; a plain one (f^{L-1}) takes it outside.
        return base[:-1] + r"\prime" * fn.order + "}"
    if fn.order:
        base = f"{{{base}}}" + "'" * fn.order if fn.index is not None else base + "'" * fn.order
    return base


def _coefficient(coeff: sympy.Expr) -> str:
    if coeff == -1:
        return "-"
    if coeff.is_Rational and coeff.q != 1:
        sign = "-" if coeff < 0 else ""
        return f"{sign}\\frac{{{abs(coeff.p)}}}{{{coeff.q}}}"
    return sympy.latex(coeff) + r"\,"


def _wrap(text: str) -> str:
    return f"\\left({text}\\right)"


def to_latex(expr: Expr, notation: Notation = DEFAULT, printer: _Printer | None = None) -> str:
    """LaTeX of one expression; with a ``printer`` (of the same notation), through its memo.

    A render that prints many expressions sharing subtrees (the chain forms of every layer
    share their factors) makes one :func:`latex_printer` and passes it to every call.
    """
    if printer is None:
        return _Printer(notation).print(expr)
    if printer.notation is not notation and printer.notation != notation:
        raise ValueError("the printer was made for another notation")
    return printer.print(expr)


def latex_printer(notation: Notation = DEFAULT) -> _Printer:
    """A printer whose memo lives as long as it does: one per render."""
    return _Printer(notation)


# Products of at least this many factors are remembered as candidates for sharing, the last
# few of them: the chains of one layer and of the one above it.
LONG_PRODUCT = 8
RECENT_PRODUCTS = 6


class _Printer:
    """Prints a tree bottom up, so that a node's children are printed before it.

    A deep network's expanded chain nests a level per layer; printing each child from its
    parent would recurse as deep as the tree.  Instead :meth:`print` visits the tree from the
    leaves up with an explicit stack and keeps every node's text (by identity), so a node's
    method finds its children already printed.  The node is kept with its text (and whether it
    holds a gradient, see :meth:`_holds_a_gradient`), so that its identity is not reused while
    the printer lives.
    """

    def __init__(self, notation: Notation) -> None:
        self.notation = notation
        self._printed: dict[int, tuple[Expr, str, bool]] = {}
        self._factors: dict[int, tuple[Expr, str]] = {}
        self._recent: list[tuple[tuple[Expr, ...], str, bool]] = []

    def print(self, expr: Expr) -> str:
        if id(expr) in self._printed:
            return self._printed[id(expr)][1]
        pending: list[tuple[Expr, bool]] = [(expr, False)]
        while pending:
            node, ready = pending.pop()
            if id(node) in self._printed:
                continue
            if ready:
                printed = self._printed
                holds = _is_a_gradient(node, self.notation.running) or (
                    True in [printed[id(child)][2] for child in node.children]
                )
                self._printed[id(node)] = (node, self._print_node(node), holds)
                if isinstance(node, MatMul) and len(node.factors) >= LONG_PRODUCT:
                    self._recent.append((node.factors, *self._printed[id(node)][1:]))
                    del self._recent[:-RECENT_PRODUCTS]
            elif isinstance(node, MatMul) and (shared := self._shared_product(node)):
                self._printed[id(node)] = (node, *shared)
            else:
                pending.append((node, True))
                printed = self._printed
                pending.extend([(c, False) for c in node.children if id(c) not in printed])
        return self._printed[id(expr)][1]

    def _shared_product(self, expr: MatMul) -> tuple[str, bool] | None:
        """The text of a long product whose factors end in those of a product printed just
        before (the chain of layer l ends in the chain of layer l+1), from that one's text and
        its own first factors, without visiting the shared factors again."""
        if self.notation.ones == "sum" or len(expr.factors) < LONG_PRODUCT:
            return None
        factors = expr.factors
        for earlier, text, holds in reversed(self._recent):
            count = len(earlier)
            if count <= len(factors) and all(map(operator.is_, factors[-count:], earlier)):
                own = factors[: len(factors) - count]
                texts = [self._factor_after_print(f) for f in own]
                holds = (
                    holds
                    or _is_a_gradient(expr, self.notation.running)
                    or any(self._holds_a_gradient(f) for f in own)
                )
                result = (r"\,".join([*texts, text]), holds)
                self._recent.append((factors, *result))
                del self._recent[:-RECENT_PRODUCTS]
                return result
        return None

    def _factor_after_print(self, expr: Expr) -> str:
        self.print(expr)
        return self._factor(expr)

    def forget(self, expr: Expr) -> None:
        """Drop the text of ``expr`` and of the products, transposes and multiples under it,
        which are seldom printed again (a layer's whole chain); the factors of a long product
        keep theirs."""
        pending = [expr]
        while pending:
            node = pending.pop()
            self._printed.pop(id(node), None)
            if isinstance(node, MatMul) and len(node.factors) >= LONG_PRODUCT:
                continue
            pending.extend(c for c in node.children if isinstance(c, MatMul | Transpose | Scale))

    def _holds_a_gradient(self, expr: Expr) -> bool:
        """Whether a printed factor carries a gradient (W^T dZ, g): Ng and Goodfellow write it
        first."""
        return self._printed[id(expr)][2]

    def _print_node(self, expr: Expr) -> str:
        method = getattr(self, f"_{type(expr).__name__.lower()}", None)
        if method is None:
            raise TypeError(f"no LaTeX for {type(expr).__name__}")
        return method(expr)

    def _operand(self, expr: Expr, wrap_types: tuple[type, ...]) -> str:
        text = self.print(expr)
        if isinstance(expr, wrap_types) or (isinstance(expr, Scale) and Scale in wrap_types):
            return _wrap(text)
        return text

    def _symbol(self, expr: Symbol) -> str:
        return symbol_latex(expr, self.notation)

    def _fill(self, expr: Fill) -> str:
        return sympy.latex(expr.value)

    def _identity(self, expr: Identity) -> str:
        return "I"

    def _cdots(self, expr: Cdots) -> str:
        return r"\left(\cdots\right)"

    def _derivative(self, expr: Derivative) -> str:
        style = self.notation.gradients
        if style != "fraction" and _is_objective(expr.num):
            if style == "d-prefix":
                return f"d{self.print(expr.den)}"
            return f"\\nabla_{{{self.print(expr.den)}}} {self.print(expr.num)}"
        return f"\\frac{{\\partial {self.print(expr.num)}}}{{\\partial {self.print(expr.den)}}}"

    def _superscripted(self, expr: Expr) -> tuple[str, str] | None:
        """A name with a layer superscript split as (stem, superscript): W^{[2]}, dZ^{[2]}."""
        if isinstance(expr, Symbol) and expr.index is not None:
            sub = f"_{{{expr.sub}}}" if expr.sub else ""
            index = _shift(expr.index, expr.name, self.notation)
            return f"{expr.name}{sub}", layer_index(index, self.notation)
        if (
            isinstance(expr, Derivative)
            and self.notation.gradients == "d-prefix"
            and _is_objective(expr.num)
        ):
            inner = self._superscripted(expr.den)
            return None if inner is None else (f"d{inner[0]}", inner[1])
        return None

    def _base(self, arg: Expr) -> str:
        """An operand that takes a superscript: X, (W^{l}), \\left(A + B\\right)."""
        text = self.print(arg)
        if isinstance(arg, Symbol) and arg.index is None:
            return text
        return f"({text})" if isinstance(arg, Symbol) else _wrap(text)

    def _transpose(self, expr: Transpose) -> str:
        split = self._superscripted(expr.arg) if self.notation.transpose_in_superscript else None
        if split is not None:
            return f"{split[0]}^{{{split[1]}{self.notation.transpose}}}"
        if isinstance(expr.arg, Inverse):
            return f"{self._base(expr.arg.arg)}^{{-{self.notation.transpose}}}"
        return f"{self._base(expr.arg)}^{{{self.notation.transpose}}}"

    def _inverse(self, expr: Inverse) -> str:
        return f"{self._base(expr.arg)}^{{-1}}"

    def _trace(self, expr: Trace) -> str:
        return f"\\operatorname{{tr}}\\left({self.print(expr.arg)}\\right)"

    def _det(self, expr: Det) -> str:
        return f"\\det\\left({self.print(expr.arg)}\\right)"

    def _logdet(self, expr: LogDet) -> str:
        return f"\\log\\det\\left({self.print(expr.arg)}\\right)"

    def _conv(self, expr: Conv) -> str:
        signal, kernel = self.print(expr.signal), self.print(expr.kernel)
        return f"\\operatorname{{conv}}\\left({signal}, {kernel}\\right)"

    def _fullconv(self, expr: FullConv) -> str:
        signal, kernel = self.print(expr.signal), self.print(expr.kernel)
        return (
            f"\\operatorname{{conv}}_{{\\mathrm{{full}}}}\\left({signal}, "
            f"\\operatorname{{flip}}({kernel})\\right)"
        )

    def _opaque(self, expr: Opaque) -> str:
        args = ", ".join(self.print(a) for a in expr.args)
        return f"{self.print(expr.name)}\\left({args}\\right)"

    def _scalarproduct(self, expr: ScalarProduct) -> str:
        wrap: tuple[type, ...] = (Add, Scale, MatMul, Hadamard, ScalarProduct)
        if _is_one_fraction(expr.scalar):  # a fraction bar groups it: \frac{a}{b}\,x
            wrap = (Add, Scale, MatMul, ScalarProduct)
        scalar = self._operand(expr.scalar, wrap)
        if isinstance(expr.arg, Fill) and expr.arg.value == 1:
            return f"{scalar}\\,\\mathbf{{1}}"
        return f"{scalar}\\,{self._operand(expr.arg, (Add, Scale, Hadamard))}"

    def _matmul(self, expr: MatMul) -> str:
        last = expr.factors[-1]
        if self.notation.ones == "sum" and _is_ones(last) and len(expr.factors) > 1:
            return self._sum_of_columns(
                MatMul(expr.factors[:-1]) if len(expr.factors) > 2 else expr.factors[0],
                last.shape[0],
            )
        known = self._factors
        texts = []
        for factor in expr.factors:  # a chain's factors are printed already: look them up
            found = known.get(id(factor))
            texts.append(found[1] if found is not None and found[0] is factor else None)
        if None in texts:
            texts = [
                self._factor(f) if text is None else text
                for f, text in zip(expr.factors, texts, strict=True)
            ]
        return r"\,".join(texts)

    def _factor(self, expr: Expr) -> str:
        """A factor of a product; kept by identity, as a chain's factors recur in every chain
        below it."""
        known = self._factors.get(id(expr))
        if known is not None and known[0] is expr:
            return known[1]
        text = self._factor_text(expr)
        self._factors[id(expr)] = (expr, text)
        return text

    def _factor_text(self, expr: Expr) -> str:
        if _is_ones(expr):
            rows, cols = expr.shape
            column = f"\\mathbf{{1}}_{{{dim_latex(rows, self.notation)}}}"
            row = (
                f"\\mathbf{{1}}_{{{dim_latex(cols, self.notation)}}}^{{{self.notation.transpose}}}"
            )
            if dims_equal(cols, ONE):
                return column
            return row if dims_equal(rows, ONE) else f"{column}\\,{row}"
        return self._operand(expr, (Add, Scale, Hadamard, Kronecker))

    def _sum_of_columns(self, expr: Expr, count: Dim) -> str:
        """X 1_K as Ng writes it: the sum over the examples i of the columns X^{(i)}."""
        split = self._superscripted(expr)
        if split is not None:
            column = f"{split[0]}^{{{split[1]}(i)}}"
        else:
            column = f"{_wrap(self.print(expr))}^{{(i)}}"
        return f"\\sum_{{i=1}}^{{{dim_latex(count, self.notation)}}} {column}"

    def _add(self, expr: Add) -> str:
        text = self.print(expr.terms[0])
        for term in expr.terms[1:]:
            positive = _negated(term)
            if positive is not None:
                text += " - " + self.print(positive)
                continue
            printed = self.print(term)
            text += " - " + printed[1:].lstrip() if printed.startswith("-") else " + " + printed
        return text

    def _scale(self, expr: Scale) -> str:
        fraction = self._scaled_fraction(expr)
        if fraction is not None:
            return fraction
        return _coefficient(expr.coeff) + self._operand(expr.arg, (Add, Scale))

    def _scaled_fraction(self, expr: Scale) -> str | None:
        """c times 1/d as one fraction, as textbooks write it: \\frac{2}{X},
        \\frac{1}{2\\,\\sqrt{u}}\\,y, -\\frac{2}{1 + x^T x}\\,x."""
        coeff = sympy.sympify(expr.coeff)
        if not coeff.is_Rational or abs(coeff) == 1:
            return None
        arg, rest = expr.arg, None
        if isinstance(arg, ScalarProduct) and _is_reciprocal(arg.scalar):
            arg, rest = arg.scalar, arg.arg
        p, q = abs(coeff.p), coeff.q
        wrap = (Add, Scale, Hadamard, ScalarProduct, MatMul)
        if _is_reciprocal(arg):
            top, below = str(p), arg.arg
        elif _is_one_fraction(arg) and isinstance(arg, Hadamard):
            numerator = next(f for f in arg.factors if not _is_reciprocal(f))
            below = hadamard(*(f.arg for f in arg.factors if _is_reciprocal(f)))
            top = self._operand(numerator, wrap) if p == 1 else (
                f"{p}\\,{self._operand(numerator, wrap)}")  # fmt: skip
        else:
            return None
        bottom = self.print(below) if q == 1 else f"{q}\\,{self._operand(below, wrap)}"
        sign = "-" if coeff < 0 else ""
        text = f"{sign}\\frac{{{top}}}{{{bottom}}}"
        if rest is None:
            return text
        return f"{text}\\,{self._operand(rest, (Add, Scale, Hadamard))}"

    def _hadamard(self, expr: Hadamard) -> str:
        numerators = [f for f in expr.factors if not _is_reciprocal(f)]
        denominators = [f.arg for f in expr.factors if _is_reciprocal(f)]
        wrap: tuple[type, ...] = (Add, MatMul, Hadamard, Scale, ScalarProduct)
        if self.notation.derivative_last:
            # Ng and Goodfellow: W^T dZ * g'(Z), the product binding tighter than *.
            numerators.sort(key=lambda f: not self._holds_a_gradient(f))
            wrap = (Add, Hadamard, Scale, ScalarProduct)
        times = f" {self.notation.hadamard} "
        if denominators and len(numerators) == 1:
            wrap = ()  # a fraction bar groups its numerator: \frac{1 - y}{1 - A}
        top = times.join(self._operand(f, wrap) for f in numerators) or "1"
        if not denominators:
            return top
        bottom = times.join(self._operand(f, (MatMul, Hadamard, Scale)) for f in denominators)
        return f"\\frac{{{top}}}{{{bottom}}}"

    def _apply(self, expr: Apply) -> str:
        if _is_reciprocal(expr):
            return f"\\frac{{1}}{{{self.print(expr.arg)}}}"
        fn = expr.fn
        exponent = power_exponent(fn.definition) if fn.order == 0 else None
        if exponent is not None:  # (a^T x)^{2}: a power of a scalar
            arg = self.print(expr.arg)
            base = arg if isinstance(expr.arg, Symbol) else f"\\left({arg}\\right)"
            p = sympy.Rational(exponent.numerator, exponent.denominator)
            return f"{base}^{{{sympy.latex(p)}}}"
        if fn.name == "sqrt" and fn.order == 0 and fn.definition is None:
            return f"\\sqrt{{{self.print(expr.arg)}}}"
        return f"{function_latex(fn, self.notation)}\\left({self.print(expr.arg)}\\right)"

    def _softmax(self, expr: Softmax) -> str:
        return f"\\operatorname{{softmax}}\\left({self.print(expr.arg)}\\right)"

    def _diag(self, expr: Diag) -> str:
        return f"\\operatorname{{diag}}\\left({self.print(expr.arg)}\\right)"

    def _sum(self, expr: Sum) -> str:
        return f"\\sum {self._operand(expr.arg, (Add, Scale, Hadamard, MatMul))}"

    def _norm(self, expr: Norm) -> str:
        inner = expr.arg.arg
        which = "2" if is_column(inner.shape) else "F"
        return f"\\left\\|{self.print(inner)}\\right\\|_{which}"

    def _kronecker(self, expr: Kronecker) -> str:
        wrap = (Add, Scale, MatMul, Hadamard, ScalarProduct, Kronecker)
        return f"{self._operand(expr.left, wrap)} \\otimes {self._operand(expr.right, wrap)}"

    def _commutation(self, expr: Commutation) -> str:
        rows, cols = dim_latex(expr.rows, self.notation), dim_latex(expr.cols, self.notation)
        return f"K_{{{rows} {cols}}}"

    def _vec(self, expr: Vec) -> str:
        return f"\\operatorname{{vec}}\\left({self.print(expr.arg)}\\right)"

    def _squarednorm(self, expr: SquaredNorm) -> str:
        norm = "" if is_column(expr.arg.shape) else "_F"
        return f"\\left\\|{self.print(expr.arg)}\\right\\|{norm}^2"


def _is_negative(coeff: sympy.Expr) -> bool:
    coeff = sympy.sympify(coeff)
    return bool(coeff.is_number and coeff < 0)


def _negated(term: Expr) -> Expr | None:
    """-term where term is a negative multiple, or a product (matrix or elementwise) whose
    first factor is one: so that a sum prints A - c B, never A + -c B."""
    if isinstance(term, Scale) and _is_negative(term.coeff):
        return Scale(-term.coeff, term.arg) if term.coeff != -1 else term.arg
    if isinstance(term, MatMul | Hadamard) and isinstance(term.factors[0], Scale):
        first = term.factors[0]
        if _is_negative(first.coeff):
            product = type(term)((first.arg, *term.factors[1:]))
            return product if first.coeff == -1 else Scale(-sympy.sympify(first.coeff), product)
    return None


def _is_objective(expr: Expr) -> bool:
    """A named scalar (the loss L, the cost J): what dX and \\nabla_X J differentiate."""
    return isinstance(expr, Symbol) and expr.index is None and is_scalar(expr.shape)


def _is_ones(expr: Expr) -> bool:
    """The ones vector 1_K (a row or a column), as in the bias's b 1_K^T."""
    return isinstance(expr, Fill) and expr.value == 1 and not is_scalar(expr.shape)


def _is_a_gradient(expr: Expr, running: str | None) -> bool:
    """A gradient itself: a derivative, or the running gradient's symbol g."""
    return isinstance(expr, Derivative) or (isinstance(expr, Symbol) and expr.name == running)


def _is_reciprocal(expr: Expr) -> bool:
    return isinstance(expr, Apply) and expr.fn.name == "reciprocal" and expr.fn.order == 0


def _is_one_fraction(expr: Expr) -> bool:
    """An elementwise product printed as one fraction: a single factor over reciprocals."""
    if not isinstance(expr, Hadamard):
        return False
    tops = [f for f in expr.factors if not _is_reciprocal(f)]
    return len(tops) == 1 and len(tops) < len(expr.factors)


def gradient_latex(gradient: Gradient, notation: Notation = DEFAULT) -> str:
    """dL/dW^l = chain form = simplified form, with dL/dZ^l's recursion."""
    target = to_latex(gradient.target, notation)
    from matcalc.printers.chains import chain_forms

    dz, dz_value = gradient.recursion
    return (
        f"{target} = {to_latex(chain_forms(gradient)[0], notation)} = "
        f"{to_latex(gradient.simplified, notation)},\\quad "
        f"{to_latex(dz, notation)} = {to_latex(dz_value, notation)}"
    )


def derivation_latex(derivation: Derivation, notation: Notation = DEFAULT) -> str:
    """Every gradient of a derivation, one aligned line each."""
    lines = []
    for gradient in derivation.gradients():
        lines.append(
            f"{to_latex(gradient.target, notation)} &= {to_latex(gradient.simplified, notation)}"
        )
    for l in reversed(derivation.network.indices()):
        layer = derivation.layers[l]
        lines.append(f"{to_latex(layer.dz, notation)} &= {to_latex(layer.dz_value, notation)}")
    return _aligned(lines)


# --------------------------------------------------------------- each convention's own layout


def convention_derivation_latex(derivation: Derivation, notation: Notation) -> str:
    """The derivation laid out as the convention's source does, one aligned line each.

    6.390 (fractions): every gradient, then every dL/dZ^l.  Ng (d-prefix): layer by layer from
    the output, dZ^{[l]}, dW^{[l]}, db^{[l]}.  Goodfellow (nabla): Algorithm 6.4, the running
    gradient g updated in place.
    """
    if notation.gradients == "d-prefix":
        return _aligned(_backprop_summary(derivation, notation))
    if notation.gradients == "nabla":
        return _aligned(_running_gradient_algorithm(derivation, notation))
    return derivation_latex(derivation, notation)


def _aligned(lines: list[str]) -> str:
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _backprop_summary(derivation: Derivation, notation: Notation) -> list[str]:
    """Ng's summary: dZ^{[l]}, dW^{[l]}, db^{[l]} layer by layer from the output."""
    return [
        f"{to_latex(lhs, notation)} &= {to_latex(rhs, notation)}"
        for lhs, rhs in derivation.assignments()
    ]


def _running_gradient_algorithm(derivation: Derivation, notation: Notation) -> list[str]:
    """Goodfellow's Algorithm 6.4: g <- nabla_{a^{(k)}} J = g ⊙ f'(a^{(k)}), and so on."""
    running = notation.running or "g"

    def named(expr: Expr) -> str:
        gradients = [n for n in expr.walk() if isinstance(n, Derivative) and _is_objective(n.num)]
        return to_latex(
            substitute(expr, {g: Symbol(running, g.shape) for g in gradients}), notation
        )

    def update(lhs: Expr, rhs: Expr) -> str:
        return f"{running} &\\leftarrow {to_latex(lhs, notation)} = {named(rhs)}"

    from matcalc.printers.chains import chains_of

    network = derivation.network
    chains = chains_of(derivation)
    lines = []
    for l in reversed(network.indices()):
        layer = chains.layer(l)
        if l == network.last and layer.fused is not None:
            lines.append(update(layer.dz, layer.dz_value))
        else:
            if l == network.last:
                output = Derivative(layer.dz.num, network.activation(l))
                lines.append(update(output, layer.output_gradient))
            lines.append(update(layer.dz, layer.dz_from_output))
        lines.append(f"{to_latex(layer.dw0, notation)} &= {named(layer.dw0_value)}")
        lines.append(f"{to_latex(layer.dw, notation)} &= {named(layer.dw_value)}")
        if layer.input_gradient is not None and l != 1:
            lhs = Derivative(layer.dz.num, network.layer_input(l))
            lines.append(update(lhs, layer.input_gradient))
    return lines
