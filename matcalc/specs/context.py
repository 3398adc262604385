"""Expression contexts: matrices named by shape and scalar functions of them defined in LaTeX.

A spec without layers is an expression context::

    layout = "denominator"        # denominator | numerator | mixed
    gradient_names = "d-prefix"   # optional: dX means dL/dX (CS231n)
    [shapes]                      # "rows x cols", a single size for a column, or "scalar"
    X = "n x d"
    theta = "d"
    lambda = "scalar"
    [define]                      # LaTeX, read by the formula reader
    J = '\\frac{1}{n}\\|X\\theta - Y\\|^2 + \\lambda \\|\\theta\\|^2'
    [opaque]                      # an unspecified scalar function of these
    L = ["Y"]

Layouts.  For a scalar f and a matrix X, the *denominator* layout (6.390, the Matrix Cookbook)
gives df/dX the shape of X, and for columns (dy/dx)_{ij} = dy_j/dx_i (dim x by dim y).  The
*numerator* layout (Parr & Howard) transposes both: df/dx is a row, dy/dx is dim y by dim x.
The *mixed* layout (Goodfellow, matrixcalculus.org) gives df/dX the shape of X and Jacobians
dim y by dim x.  \\nabla_X f has the shape of X in every layout, and so has dX under d-prefix
names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from matcalc.core.expr import (
    Apply,
    Derivative,
    Expr,
    Fill,
    Identity,
    Opaque,
    Scale,
    Symbol,
    ones,
    substitute,
    transpose,
)
from matcalc.core.functions import ScalarFunction
from matcalc.core.record import record
from matcalc.core.shapes import ONE, SCALAR, Shape, dims_equal, is_column, is_scalar, shape_text
from matcalc.errors import MatcalcError
from matcalc.reading.resolve import NameRef, Namespace, resolve
from matcalc.specs.network import Network, SpecError
from matcalc.specs.source import parse_spec, read_spec_file

if TYPE_CHECKING:
    from matcalc.specs.graph import Graph

LAYOUTS = ("denominator", "numerator", "mixed")
GRADIENT_NAMES = ("d-prefix",)
COST_NAMES = ("L", "J", "loss", "ell", "E")
CONTEXT_KEYS = ("layout", "gradient_names", "shapes", "define", "opaque", "assume", "functions")
ASSUMPTIONS = ("symmetric", "positive definite", "diagonal", "probability", "one-hot", "positive")
MAX_FUNCTIONS = 20
MAX_NAMES = 200
MAX_GRAPH_NAMES = 5000  # a graph spec is never expanded, so it may be long
MAX_SIZE_NAME = 20
MAX_SIZE = 1000  # integer sizes are used as they are in numeric checks
MAX_EXPANDED_NODES = 5000
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau",
    "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda",
    "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "ell",
}  # fmt: skip
_WORD_COMMANDS = re.compile(  # fonts and words the formula reader reads through
    r"\\(?:text|textrm|textit|textbf|textsf|texttt|mbox|mathtt|mathrm|operatorname|mathbf"
    r"|boldsymbol|bm|mathit|mathcal|mathbb|mathscr|mathfrak|mathnormal|mathsf|pmb|vec)"
    r"\s*\{([^{}]*)\}"
)
_ACCENTS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "bar": "bar", "overline": "bar"}
_ACCENTED = re.compile(r"\\(widehat|hat|tilde|bar|overline)\s*\{\s*\\?([A-Za-z]+)\s*\}")
_NAME = re.compile(r"^[A-Za-z]+(?:_[A-Za-z0-9]+)?(?:\^[0-9]+)?$")
_LAYER_SUPERSCRIPT = re.compile(r"\^[(\[]?([0-9]+)[)\]]?$")
_SIZE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$|^[1-9][0-9]*$")
_SIZE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*|[0-9]+|[-+*()]")
MAX_SIZE_TEXT = 60


class ContextError(MatcalcError):
    """An expression-context spec that cannot be used; the message names the key and value."""


def name_key(text: str) -> str:
    r"""The name a symbol is known by, however it is written: \theta_{0}, theta_0 -> theta_0;
    J_{\text{ridge}} -> J_ridge."""
    text = _WORD_COMMANDS.sub(r"\1", text.strip())
    text = _ACCENTED.sub(lambda m: f"{_ACCENTS[m[1]]}{m[2]}", text)  # \widehat{y} -> haty
    key = text.replace("\\", "").replace("{", "").replace("}", "").replace(" ", "")
    return _LAYER_SUPERSCRIPT.sub(r"^\1", key)  # W^{(2)}, W^{[2]}, W^2 -> W^2


def is_context_spec(data: Mapping[str, Any]) -> bool:
    """A spec without layers that declares shapes, definitions or a layout."""
    return "layer" not in data and "depth" not in data and any(k in data for k in CONTEXT_KEYS)


def _size(text: str, key: str) -> sympy.Expr:
    """A size: a positive integer, a name such as n, or sums, differences and products of
    them in parentheses, such as (n - k + 1)."""
    text = text.strip()
    if len(text) > MAX_SIZE_TEXT:
        raise ContextError(f"[shapes] {key}: a size has at most {MAX_SIZE_TEXT} characters")
    tokens = _SIZE_TOKEN.findall(text)
    if "".join(tokens) != text.replace(" ", ""):
        raise ContextError(
            f'[shapes] {key} = {text!r}: a size is a positive integer, a name such as "n", or '
            'an expression of them such as "(n - k + 1)"'
        )
    value, rest = _size_sum(tokens, key, text)
    if rest or not (value.is_Integer and value > 0 or value.free_symbols):
        raise ContextError(
            f'[shapes] {key} = {text!r}: a size is a positive integer, a name such as "n", or '
            'an expression of them such as "(n - k + 1)"'
        )
    return value


def _size_sum(tokens: list[str], key: str, text: str) -> tuple[sympy.Expr, list[str]]:
    value, tokens = _size_product(tokens, key, text)
    while tokens and tokens[0] in "+-":
        sign = 1 if tokens[0] == "+" else -1
        term, tokens = _size_product(tokens[1:], key, text)
        value += sign * term
    return value, tokens


def _size_product(tokens: list[str], key: str, text: str) -> tuple[sympy.Expr, list[str]]:
    value, tokens = _size_atom(tokens, key, text)
    while tokens and tokens[0] == "*":
        factor, tokens = _size_atom(tokens[1:], key, text)
        value *= factor
    return value, tokens


def _size_atom(tokens: list[str], key: str, text: str) -> tuple[sympy.Expr, list[str]]:
    if not tokens:
        raise ContextError(f"[shapes] {key} = {text!r}: the size ends too early")
    first, rest = tokens[0], tokens[1:]
    if first == "(":
        value, rest = _size_sum(rest, key, text)
        if not rest or rest[0] != ")":
            raise ContextError(f"[shapes] {key} = {text!r}: unbalanced parentheses")
        return value, rest[1:]
    if first.isdigit():
        if int(first) > MAX_SIZE:
            raise ContextError(
                f"[shapes] {key}: the size {first} is above {MAX_SIZE}; name it (n) instead"
            )
        return sympy.Integer(int(first)), rest
    if _SIZE.match(first) and len(first) <= MAX_SIZE_NAME:
        return sympy.Symbol(first, integer=True, positive=True), rest
    raise ContextError(f"[shapes] {key} = {text!r}: {first!r} is not a size")


def parse_shape(value: Any, key: str) -> Shape:
    """ "n x d" (or "n \\times d") -> (n, d); "d" -> (d, 1), a column; "scalar" -> (1, 1)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return (sympy.Integer(value), ONE)
    if not isinstance(value, str):
        raise ContextError(f'[shapes] {key} = {value!r}: write "rows x cols", "n" or "scalar"')
    text = value.replace("\\times", " x ").replace("×", " x ").strip()
    if text == "scalar":
        return SCALAR
    parts = [p for p in re.split(r"\s+x\s+", text) if p]
    if len(parts) == 1:
        return (_size(parts[0], key), ONE)
    if len(parts) == 2:
        return (_size(parts[0], key), _size(parts[1], key))
    raise ContextError(f'[shapes] {key} = {value!r}: write "rows x cols", "n" or "scalar"')


def symbol_for(written: str, shape: Shape) -> Symbol:
    r"""The symbol of a declared name, printed as LaTeX: theta_0 -> \theta_{0}."""
    key = name_key(written)
    if not _NAME.match(key):
        raise ContextError(
            f"{written!r}: a name is letters with an optional subscript, like theta_0 or "
            r"J_{\text{ridge}}"
        )
    key, _, layer = key.partition("^")  # W^{(2)}: a name with a layer index
    base, _, sub = key.partition("_")
    accent = _ACCENTED.match(written.strip())
    if accent:  # \hat{y}
        letter = f"\\{accent[2]}" if accent[2] in GREEK else accent[2]
        latex = f"\\{_ACCENTS[accent[1]]}{{{letter}}}"
    elif base in GREEK:
        latex = f"\\{base}"
    else:  # a name of several letters is a word: \text{loss}
        latex = base if len(base) == 1 else f"\\text{{{base}}}"
    if sub and not sub.isdigit() and len(sub) > 1:
        sub = f"\\text{{{sub}}}"
    index = sympy.Integer(int(layer)) if layer else None
    return Symbol(latex, shape, index, sub or None)


@record
class Context:
    """Named matrices, defined scalar functions and the layout they are differentiated in."""

    layout: str = "denominator"
    symbols: dict[str, Symbol] = field(default_factory=dict)
    definitions: dict[str, Expr] = field(default_factory=dict)
    names: dict[str, Symbol] = field(default_factory=dict)
    opaque: dict[str, tuple[str, ...]] = field(default_factory=dict)
    gradient_names: str | None = None
    expanded_sizes: dict[Symbol, int] = field(default_factory=dict, repr=False)
    assumptions: dict[str, str] = field(default_factory=dict)
    functions: dict[str, ScalarFunction] = field(default_factory=dict)
    signals: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # a graph's delta

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_file(cls, path: str | Path) -> Context:
        return cls.from_toml(read_spec_file(path, ContextError), str(path))

    @classmethod
    def from_toml(cls, text: str, where: str = "spec") -> Context:
        return cls.from_dict(parse_spec(text, ContextError, where))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], graph: bool = False) -> Context:
        """The context of a spec's tables; ``graph``: the forward equations of a graph spec,
        which are derived over their names and never expanded (so they are not bounded by
        the size of their expansion, only by their number)."""
        unknown = [key for key in data if key not in CONTEXT_KEYS]
        if unknown:
            raise ContextError(
                f"unknown key {unknown[0]!r} in an expression context; known: "
                f"{', '.join(CONTEXT_KEYS)}"
            )
        layout = data.get("layout", "denominator")
        if layout not in LAYOUTS:
            raise ContextError(f"layout = {layout!r}: one of {', '.join(LAYOUTS)}")
        gradient_names = data.get("gradient_names")
        if gradient_names is not None and gradient_names not in GRADIENT_NAMES:
            raise ContextError(
                f"gradient_names = {gradient_names!r}: one of {', '.join(GRADIENT_NAMES)}"
            )
        shapes = _table(data, "shapes")
        defines = _table(data, "define")
        opaque_table = _table(data, "opaque")
        limit = MAX_GRAPH_NAMES if graph else MAX_NAMES
        if len(shapes) + len(defines) + len(opaque_table) > limit:
            raise ContextError(
                f"at most {limit} names in {'a graph spec' if graph else 'an expression context'}"
            )
        symbols = {name_key(k): symbol_for(k, parse_shape(v, k)) for k, v in shapes.items()}
        context = cls(layout, symbols, {}, {}, {}, gradient_names)
        context._define_functions(_table(data, "functions"))
        for written in shapes:
            context._check_name(written, "shapes")
        context._assume(_table(data, "assume"))
        for written, arguments in opaque_table.items():
            context._declare_opaque(written, arguments)
        for written, formula in defines.items():
            context._define(written, formula, bounded=not graph)
        for written, arguments in opaque_table.items():
            for argument in arguments:
                if name_key(argument) not in {**context.symbols, **context.definitions}:
                    raise ContextError(
                        f"[opaque] {written}: {argument!r} is neither in [shapes] nor in [define]"
                    )
        return context

    def _assume(self, table: Mapping[str, Any]) -> None:
        """[assume] A = "symmetric": what derive may use and what random draws respect."""
        for written, what in table.items():
            key = name_key(written)
            if key not in self.symbols:
                raise ContextError(f"[assume] {written}: not a name of [shapes]")
            if what not in ASSUMPTIONS:
                raise ContextError(
                    f"[assume] {written} = {what!r}: one of {', '.join(ASSUMPTIONS)}"
                )
            shape = self.symbols[key].shape
            square = dims_equal(shape[0], shape[1]) and not is_scalar(shape)
            if what in ("probability", "one-hot") and is_scalar(shape):
                raise ContextError(f"[assume] {written} = {what!r}: needs a column or a matrix")
            if what not in ("probability", "one-hot", "positive") and not square:
                raise ContextError(f"[assume] {written} = {what!r}: needs a square matrix")
            self.assumptions[key] = what

    def _define_functions(self, table: Mapping[str, Any]) -> None:
        r"""[functions] swish = 'z \sigma(z)': scalar functions of z, applied entrywise."""
        from matcalc.reading.scalar_latex import define_activation

        if len(table) > MAX_FUNCTIONS:
            raise ContextError(f"at most {MAX_FUNCTIONS} functions in [functions]")
        for name, latex in table.items():
            if not isinstance(latex, str):
                raise ContextError(f"[functions] {name} = {latex!r}: a LaTeX formula in z")
            try:
                self.functions[name] = define_activation(
                    {"name": name, "latex": latex}, f"[functions] {name}"
                )
            except MatcalcError as error:
                raise ContextError(str(error)) from None

    def assumed(self) -> dict[Symbol, str]:
        """The assumptions by symbol."""
        return {self.symbols[key]: what for key, what in self.assumptions.items()}

    def _declare_opaque(self, written: str, arguments: Any) -> None:
        key = name_key(written)
        if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
            raise ContextError(f'[opaque] {written} = {arguments!r}: a list of names, like ["Y"]')
        self.opaque[key] = tuple(name_key(a) for a in arguments)
        self.names[key] = symbol_for(written, SCALAR)

    def _check_name(self, written: str, table: str) -> None:
        """A name that formulas read as a function (\\sigma, \\log, \\operatorname{tr}) is
        no name of a matrix: the formulas could not use it."""
        base = name_key(written).partition("^")[0].partition("_")[0]
        if Namespace.function(ContextNamespace(self), NameRef(base), 0) is not None:
            shown = f"\\{base}" if base in GREEK else base
            raise ContextError(
                f"[{table}] {written}: formulas read {shown} as a function ({shown}(Z)), so it "
                "cannot name a matrix; rename it"
            )

    def _check_spelling(self, written: str, formula: str) -> None:
        """A name of several letters written without its command (dW for \\text{dW}, theta
        for \\theta) reads as a product of letters; refused rather than misread."""
        for key in (*self.symbols, *self.definitions):
            base = key.partition("^")[0].partition("_")[0]
            if len(base) > 1 and re.search(rf"(?<![\\A-Za-z{{]){base}(?![A-Za-z}}])", formula):
                command = f"\\{base}" if base in GREEK else f"\\text{{{base}}}"
                raise ContextError(
                    f"[define] {written}: {base} reads as the product of the letters "
                    f"{' '.join(base)}; write {command} for the name {key}"
                )

    def _define(self, written: str, formula: Any, bounded: bool = True) -> None:
        from matcalc.reading.parse import parse_expression

        key = name_key(written)
        if not isinstance(formula, str):
            raise ContextError(f"[define] {written} = {formula!r}: a LaTeX formula in quotes")
        if key in self.symbols or key in self.definitions:
            raise ContextError(f"[define] {written}: the name is already declared")
        self._check_name(written, "define")
        self._check_spelling(written, formula)
        try:
            expr = self.resolve(parse_expression(formula), formula)
        except MatcalcError as error:
            raise ContextError(f"[define] {written}: {error}") from None
        # how many nodes the formula has with every defined name in it written out
        size = sum(self.expanded_sizes.get(node, 1) for node in expr.walk())
        if bounded and size > MAX_EXPANDED_NODES:
            raise ContextError(
                f"[define] {written}: with the definitions it uses written out, the formula has "
                f"more than {MAX_EXPANDED_NODES} parts"
            )
        self.definitions[key] = expr
        self.names[key] = symbol_for(written, expr.shape)
        self.expanded_sizes[self.names[key]] = size

    # ------------------------------------------------------------------ names

    def resolve(self, node: Any, text: str = "") -> Expr:
        """The expression of a syntax tree from :mod:`matcalc.reading.parse` in this context."""
        return resolve(node, ContextNamespace(self), text=text)

    def find(self, key: str) -> Expr | None:
        """The symbol of a declared or defined name, or an opaque function's call; None."""
        if key in self.symbols:
            return self.symbols[key]
        if key in self.definitions:
            return self.names[key]
        if key in self.opaque:
            return self.opaque_call(key)
        return None

    def lookup(self, written: str) -> Expr:
        """A declared or defined name (plain or LaTeX) as a symbol: theta, \\theta, J."""
        found = self.find(name_key(written))
        if found is not None:
            return found
        known = ", ".join([*self.symbols, *self.definitions, *self.opaque])
        raise ContextError(f"unknown name {written!r}; known here: {known}")

    def opaque_call(self, key: str) -> Opaque:
        """L(Y): its arguments by name (Y, for dL/dY) and by value (Y or its definition)."""
        params, args = [], []
        for argument in self.opaque[key]:
            if argument in self.symbols:
                params.append(self.symbols[argument])
                args.append(self.symbols[argument])
            elif argument in self.definitions:
                params.append(self.names[argument])
                args.append(self.names[argument])
            else:
                raise ContextError(f"[opaque] {key}: {argument} is not defined before it is used")
        return Opaque(self.names[key], tuple(params), tuple(args))

    def dimensions(self) -> set[sympy.Symbol]:
        found: set[sympy.Symbol] = set()
        for symbol in self.symbols.values():
            for d in symbol.shape:
                found |= d.free_symbols
        return found

    def expand(self, expr: Expr, keep: frozenset[Expr] = frozenset()) -> Expr:
        """The expression with every defined name replaced by its definition, except ``keep``."""
        mapping = {
            self.names[key]: definition
            for key, definition in self.definitions.items()
            if self.names[key] not in keep
        }
        for _ in range(len(mapping) + 1):
            expanded = substitute(expr, mapping)
            if expanded == expr:
                return expr
            expr = expanded
        return expr

    def cost_name(self) -> str:
        """What dX differentiates under d-prefix names: a defined scalar named L, J or loss
        (or the only defined scalar), else an unspecified one (an opaque L)."""
        defined = [k for k, e in self.definitions.items() if is_scalar(e.shape)]
        for group in (defined, list(self.opaque)):
            for name in COST_NAMES:
                if name in group:
                    return name
            if len(group) == 1:
                return group[0]
        raise ContextError(
            "d-prefix names (dW means dL/dW) need a cost named L, J or loss, or a single "
            "defined scalar"
        )

    def is_free(self, derivative: Derivative) -> bool:
        """dL/dY of an opaque L: a quantity of its own, not derived."""
        return any(derivative.num == self.names[key] for key in self.opaque)

    # ------------------------------------------------------------------ derivatives

    def derivative_shape(self, num: Expr, den: Expr, nabla: bool = False) -> Shape:
        """The shape of d num / d den in this layout (\\nabla: always den's shape)."""
        if is_scalar(num.shape):
            rows, cols = den.shape
            if nabla or self.layout != "numerator":
                return (rows, cols)
            return (cols, rows)
        if is_column(num.shape) and is_column(den.shape):
            if self.layout == "denominator":
                return (den.shape[0], num.shape[0])
            return (num.shape[0], den.shape[0])
        raise ContextError(
            f"the derivative of {num} ({shape_text(num.shape)}) by {den} "
            f"({shape_text(den.shape)}) is not a matrix; differentiate a scalar or a column"
        )

    def wrt_symbol(self, written: str) -> Symbol:
        """A declared or defined name to differentiate by, as its symbol."""
        found = self.find(name_key(written))
        if isinstance(found, Symbol):
            return found
        known = ", ".join([*self.symbols, *self.definitions])
        raise ContextError(f"--wrt {written}: not a declared or defined name; known: {known}")


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ContextError(f"[{key}] must be a table of names")
    return value


def spec_from_toml(text: str, where: str = "the spec") -> Network | Context | Graph:
    """A network, a graph spec (forward equations with parameters), or an expression context
    for a spec without layers."""
    return _spec_from_dict(parse_spec(text, ContextError, where))


def _spec_from_dict(data: Mapping[str, Any]) -> Network | Context | Graph:
    from matcalc.specs.graph import Graph, is_graph_spec
    from matcalc.specs.recurrence import Recurrence, is_recurrence_spec

    if is_graph_spec(data) and is_recurrence_spec(data):
        return Recurrence.from_dict(data)
    if is_graph_spec(data):
        return Graph.from_dict(data)
    if is_context_spec(data):
        return Context.from_dict(data)
    return Network.from_dict(data)


def spec_from_file(path: str | Path) -> Network | Context:
    """The spec in a file: an expression context, or else a network; errors name the file."""
    text = read_spec_file(path, SpecError)
    try:
        data = parse_spec(text, SpecError)
    except SpecError as error:
        raise SpecError(f"{path}: {error}") from None
    error_class = ContextError if is_context_spec(data) or "parameters" in data else SpecError
    try:
        return _spec_from_dict(data)
    except MatcalcError as error:
        raise error_class(f"{path}: {error}") from None


# ---------------------------------------------------------------------- the formula reader


def replace_index(ref: NameRef) -> NameRef:
    """The name without its layer index (W^{(2)} -> W), to look up W^2 by."""
    return NameRef(ref.text, ref.sub, None, ref.mark)


# letters sources name an activation by (CS224n's h = f(z), Bishop's h(a), Haykin's phi)
GENERIC_FUNCTION_LETTERS = frozenset({"f", "g", "h", "phi", "varphi"})


def to_text(expr: Expr) -> str:
    """A short name for a quantity in a message."""
    return getattr(expr, "name", None) or "its argument"


class ContextNamespace(Namespace):
    """Names of an expression context for the formula reader: declared matrices, defined
    functions, opaque functions, sizes (the n of \\frac{1}{n}), tr, det and inverses."""

    def __init__(
        self, context: Context, nabla: bool = False, identity: sympy.Expr | None = None
    ) -> None:
        self.context = context
        self.nabla = nabla
        self.identity = identity

    def _key(self, ref: NameRef) -> str:
        text = ref.text if ref.mark is None else f"\\{ref.mark}{{{ref.text}}}"  # \hat{y}
        return name_key(text if ref.sub is None else f"{text}_{ref.sub}")

    def symbol(self, ref: NameRef) -> Expr | None:
        if ref.index is not None and ref.index.is_Integer:
            found = self.context.find(f"{self._key(replace_index(ref))}^{int(ref.index)}")
            if found is not None:
                return found
            base = self._key(replace_index(ref))
            if any(
                key.startswith(f"{base}^")
                for key in (*self.context.symbols, *self.context.definitions)
            ):
                return None  # W^{(3)} where W^{(1)} and W^{(2)} are declared: unknown, listed
        if ref.index is not None:
            raise ContextError(
                f"{ref.text}^{{{ref.index}}}: a superscript is a transpose (T), an inverse "
                "(-1 or -T) or, in a network, a layer index; powers are not read"
            )
        key = self._key(ref)
        signal = self.context.signals.get(key)
        if signal is not None and self.context.find(key) is None:  # a graph spec's delta
            loss, quantity, row = signal
            gradient = self.derivative(self.context.lookup(loss), self.context.lookup(quantity))
            return transpose(gradient) if row else gradient
        found = self.context.find(key)
        if found is None and key == "I" and self.identity is not None:
            return Identity(self.identity)
        return found

    def constant(self, ref: NameRef) -> sympy.Expr | None:
        """A size used as a number: the n of \\frac{1}{n}."""
        named = (*self.context.symbols, *self.context.definitions, *self.context.opaque)
        if ref.sub is None and ref.index is None and self._key(ref) not in named:
            for d in self.context.dimensions():
                if d.name == ref.text:
                    return d
        return None

    def ones(self, size: str) -> Expr | None:
        """\\mathbf{1}_K: a column of ones whose length is a size of the context (or a number)."""
        if size.isdigit() and 0 < int(size) <= MAX_SIZE:
            return ones(sympy.Integer(int(size)))
        for d in self.context.dimensions():
            if d.name == size:
                return ones(d)
        return None

    def definitions(self) -> Mapping[str, ScalarFunction]:
        """The scalar functions of the context's [functions] table."""
        return self.context.functions

    def function(self, ref: NameRef, order: int):  # type: ignore[no-untyped-def]
        """Besides the built-in and [functions] ones: a letter a source names an activation
        by (f, g, h, \\phi; CS224n's h = f(z)), where the spec names no quantity so, is the
        entrywise function the spec applies to the argument: f'(z) for h = \\tanh(z)."""
        found = super().function(ref, order)
        if found is not None or ref.text not in GENERIC_FUNCTION_LETTERS or ref.index is not None:
            return found
        if ref.sub is not None or self.context.find(self._key(ref)) is not None:
            return None

        def applied(arg: Expr) -> Expr:
            for value in self.context.definitions.values():
                if isinstance(value, Apply) and value.arg == arg:
                    return Apply(dc_replace(value.fn, order=value.fn.order + order), arg)
            raise MatcalcError(
                f"{ref.text}({to_text(arg)}): the spec applies no entrywise function to "
                f"{to_text(arg)} that {ref.text} could name"
            )

        return applied

    def known_names(self) -> tuple[str, ...]:
        context = self.context
        signals = ("\\delta",) if "delta" in context.signals else ()
        return (*context.symbols, *context.definitions, *context.opaque, *signals)

    def prefixed_gradient(self, quantity: Expr) -> Expr | None:
        """dX under d-prefix names: the derivative of the cost by X, with X's shape."""
        context = self.context
        if context.gradient_names != "d-prefix":
            return None
        cost = context.lookup(context.cost_name())
        if isinstance(cost, Opaque) and quantity in cost.params:
            return Derivative(cost.name, quantity)
        return Derivative(cost, quantity, quantity.shape)

    def derivative(self, num: Expr, den: Expr) -> Expr:
        """d num/d den; dL/dY of an opaque L(Y) is a free quantity named by L and Y."""
        if isinstance(num, Opaque) and den in num.params:
            return Derivative(num.name, den)
        return Derivative(num, den, self.context.derivative_shape(num, den, self.nabla))


# ----------------------------------------------------------------------------- numbers


def concrete(expr: Expr, sizes: Mapping[sympy.Symbol, int]) -> Expr:
    """The expression with every symbolic size replaced by a number (for evaluation)."""
    from dataclasses import fields, replace

    def dims(shape: Shape | None) -> Shape | None:
        if shape is None:
            return None
        return (sympy.sympify(shape[0]).subs(sizes), sympy.sympify(shape[1]).subs(sizes))

    def visit(node: Expr) -> Expr:
        if isinstance(node, Symbol):
            return Symbol(node.name, dims(node.shape_), node.index, node.sub)
        if isinstance(node, Fill):
            return Fill(sympy.sympify(node.value).subs(sizes), dims(node.shape_))
        if isinstance(node, Identity):
            return Identity(sympy.sympify(node.size).subs(sizes))
        if isinstance(node, Derivative):
            return Derivative(visit(node.num), visit(node.den), dims(node.shape_))
        if isinstance(node, Scale):
            return Scale(sympy.sympify(node.coeff).subs(sizes), visit(node.arg))
        if isinstance(node, Opaque):
            params = tuple(visit(p) for p in node.params)
            return Opaque(visit(node.name), params, tuple(visit(a) for a in node.args))
        if not node.children:
            names = {f.name for f in fields(node)}
            return replace(node, shape_=dims(node.shape_)) if "shape_" in names else node
        return node.rebuild(tuple(visit(child) for child in node.children))

    return visit(expr)


MAX_REDRAWS = 20
MAX_CONDITION = 1e6


def random_environment(
    exprs: tuple[Expr, ...],
    rng: np.random.Generator,
    symmetric: bool = False,
    assumptions: Mapping[Symbol, str] | None = None,
) -> dict[Expr, np.ndarray]:
    """Random values for the symbols and free derivatives of concrete expressions.

    Square matrices get 3 I added (invertible, positive determinant); ``symmetric`` makes them
    symmetric too (to tell a formula that assumes symmetry).  ``assumptions`` (a context's
    ``[assume]``) draws a symmetric, positive definite or diagonal matrix as such and a
    probability target on the simplex (a one-hot one as a unit column).  Where a matrix that is
    inverted or whose determinant is taken comes out nearly singular (X^T A X), the values are
    drawn again.
    """
    assumptions = assumptions or {}
    for _ in range(MAX_REDRAWS):
        env = _draw(exprs, rng, symmetric, assumptions)
        if _well_conditioned(exprs, env):
            return env
    return env


def _draw(
    exprs: tuple[Expr, ...],
    rng: np.random.Generator,
    symmetric: bool,
    assumptions: Mapping[Symbol, str],
) -> dict[Expr, np.ndarray]:
    env: dict[Expr, np.ndarray] = {}
    for expr in exprs:
        for node in expr.walk():
            if node in env or not isinstance(node, Symbol | Derivative):
                continue
            rows, cols = (int(node.shape[0]), int(node.shape[1]))
            value = rng.standard_normal((rows, cols))
            kind = assumptions.get(node) if isinstance(node, Symbol) else None
            if kind == "positive":  # every entry (log X, sqrt(x^T y) are defined)
                value = np.abs(value) + 0.5
            elif kind == "probability":
                value = np.exp(value) / np.exp(value).sum(axis=0, keepdims=True)
            elif kind == "one-hot":
                value = np.eye(rows)[:, rng.integers(rows, size=cols)]
            elif kind == "diagonal":
                value = np.diag(np.abs(np.diag(value)) + 1)
            elif kind == "positive definite":
                value = value @ value.T / rows + np.eye(rows)
            elif rows == cols > 1:
                value = value + 3 * np.eye(rows)
                if symmetric or kind == "symmetric":
                    value = (value + value.T) / 2
            env[node] = value
    return env


def _well_conditioned(exprs: tuple[Expr, ...], env: dict[Expr, np.ndarray]) -> bool:
    from matcalc.core.expr import Det, Inverse, LogDet
    from matcalc.core.numeric import EvaluationError, evaluate

    for expr in exprs:
        for node in expr.walk():
            if isinstance(node, Inverse | Det | LogDet):
                try:
                    value = evaluate(node.arg, env)
                except (EvaluationError, np.linalg.LinAlgError):
                    continue
                if not np.isfinite(value).all() or np.linalg.cond(value) > MAX_CONDITION:
                    return False
    return True


# ---------------------------------------------------------------------------- printing

LAYOUT_NOTES = {
    "denominator": "denominator layout: df/dX has the shape of X; (dy/dx)_{ij} = dy_j/dx_i",
    "numerator": "numerator layout: df/dX has the shape of X^T; (dy/dx)_{ij} = dy_i/dx_j",
    "mixed": "mixed layout: df/dX has the shape of X; (dy/dx)_{ij} = dy_i/dx_j",
}
__all__ = [
    "LAYOUTS",
    "Context",
    "ContextError",
    "ContextNamespace",
    "concrete",
    "is_context_spec",
    "name_key",
    "parse_shape",
    "random_environment",
    "spec_from_file",
    "spec_from_toml",
]
