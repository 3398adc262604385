"""Python source that computes a derivation's numbers with NumPy alone.

:func:`expr_code` prints one expression as a NumPy expression; :func:`network_code` prints
the module design.md specifies, from the network's forward expressions and the derived
dL/dZ^l, dL/dW^l, dL/dW_0^l:

    loss(params, x, y) -> float
    gradients(params, x, y) -> dict     # keys "W^1", "W_0^1", ... like params

Sizes are read from the arrays at run time, so code for a network of symbolic sizes works for
any concrete sizes that fit together.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

import sympy
from sympy.printing.numpy import NumPyPrinter

from matcalc.core import functions
from matcalc.core.expr import (
    Add,
    Apply,
    Cdots,
    Conv,
    Derivative,
    Diag,
    Expr,
    Fill,
    FullConv,
    Function,
    Hadamard,
    Identity,
    MatMul,
    ScalarProduct,
    Scale,
    Softmax,
    SquaredNorm,
    Sum,
    Symbol,
    Transpose,
)
from matcalc.core.shapes import Dim, canonical, shape_text
from matcalc.errors import MatcalcError

# f(z) and f'(z) of the built-in functions, in NumPy, stable for large |z|.
SCALAR_CODE: dict[tuple[str, int], str] = {
    ("sigmoid", 0): "0.5 * (1.0 + numpy.tanh(0.5 * z))",
    ("sigmoid", 1): "0.25 * (1.0 - numpy.tanh(0.5 * z) ** 2)",
    ("tanh", 0): "numpy.tanh(z)",
    ("tanh", 1): "1.0 - numpy.tanh(z) ** 2",
    ("relu", 0): "numpy.maximum(z, 0.0)",
    ("relu", 1): "(z > 0).astype(float)",
    ("identity", 0): "z",
    ("identity", 1): "numpy.ones_like(z)",
    ("step", 0): "(z > 0).astype(float)",
    ("step", 1): "numpy.zeros_like(z)",
    ("log", 0): "numpy.log(z)",
    ("log", 1): "1.0 / z",
    ("exp", 0): "numpy.exp(z)",
    ("exp", 1): "numpy.exp(z)",
    ("reciprocal", 0): "1.0 / z",
    ("reciprocal", 1): "-1.0 / z ** 2",
    ("sqrt", 0): "numpy.sqrt(z)",
    ("sqrt", 1): "0.5 / numpy.sqrt(z)",
}
SOFTMAX_CODE = (
    "def _softmax(z):\n"
    "    shifted = numpy.exp(z - z.max(axis=0, keepdims=True))\n"
    "    return shifted / shifted.sum(axis=0, keepdims=True)\n"
)
TIMES = " \\times "
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class NumpyCodeError(MatcalcError):
    """An expression with no NumPy counterpart (symbolic depth, an undefined function)."""


def symbol_name(symbol: Symbol) -> str:
    """A Python name for a symbol: W^2 -> W_2, W_0^2 -> W0_2, A^0 -> A_0, y -> y."""
    base = symbol.name + (symbol.sub or "")
    if not _IDENTIFIER.match(base):
        raise NumpyCodeError(f"the symbol {symbol.name} has no Python name")
    if symbol.index is None:
        return base
    index = sympy.sympify(symbol.index)
    if not (index.is_Integer and index >= 0):
        raise NumpyCodeError(f"{symbol} has a symbolic layer index; give the network's depth")
    return f"{base}_{int(index)}"


def derivative_name(derivative: Derivative) -> str:
    """dL/dZ^2 -> dL_dZ_2."""
    num, den = derivative.num, derivative.den
    if not (isinstance(num, Symbol) and isinstance(den, Symbol)):
        raise NumpyCodeError(f"the derivative {derivative} has no Python name")
    return f"d{symbol_name(num)}_d{symbol_name(den)}"


HELPER_PREFIX = "_fn_"
"""Every function helper's name starts so: no user function (named ``forward``, ``loss``,
``numpy``, ...) can clash with the module's own names or a Python name."""


def function_helper(fn: Function) -> tuple[str, str]:
    """The helper's name and its definition, for f or its derivative of some order.

    A custom function is printed in a stable form where one exists (:func:`stable_form`), and
    a constant one is broadcast to its argument's shape."""
    scalar = fn.scalar
    if scalar is None or not _IDENTIFIER.match(fn.name):
        raise NumpyCodeError(f"the function {fn.name} has no numeric definition")
    name = HELPER_PREFIX + fn.name + (f"_d{fn.order}" if fn.order else "")
    body = SCALAR_CODE.get((fn.name, fn.order))
    if body is None:
        formula = scalar.formula_of_order(fn.order).subs(functions.Z, _Z)
        try:
            body = _StablePrinter({"strict": True}).doprint(stable_form(formula))
        except Exception as error:  # noqa: BLE001 - any printer failure means no NumPy form
            raise NumpyCodeError(f"no NumPy form for {fn.name} of order {fn.order}") from error
        if not formula.has(_Z):
            body = f"numpy.full(numpy.shape(z), {body}, dtype=float)"
    return name, f"def {name}(z):\n    return {body}\n"


_Z = sympy.Symbol("z")
_S = sympy.Symbol("s", positive=True)
_T = sympy.Symbol("t", positive=True)
STABLE_OPS = 400
"""Formulas larger than this (in SymPy operations) are printed as they are."""


class _LogAddExp0(sympy.Function):
    """log(1 + e^u), printed as numpy.logaddexp(0, u): finite for large u."""


class _Expit(sympy.Function):
    """1 / (1 + e^{-u}), printed through tanh: no overflow for any u."""


class _StablePrinter(NumPyPrinter):
    """NumPy source with the stable helpers above, and max/min without functools."""

    def _print__LogAddExp0(self, expr: sympy.Expr) -> str:  # noqa: N802 - SymPy dispatch
        return f"numpy.logaddexp(0, {self._print(expr.args[0])})"

    def _print__Expit(self, expr: sympy.Expr) -> str:  # noqa: N802
        return f"(0.5 * (1.0 + numpy.tanh(0.5 * ({self._print(expr.args[0])}))))"

    def _nested(self, function: str, args: tuple) -> str:
        first, *rest = args
        if not rest:
            return self._print(first)
        return f"numpy.{function}({self._print(first)}, {self._nested(function, tuple(rest))})"

    def _print_Max(self, expr: sympy.Expr) -> str:  # noqa: N802
        return self._nested("maximum", expr.args)

    def _print_Min(self, expr: sympy.Expr) -> str:  # noqa: N802
        return self._nested("minimum", expr.args)


def stable_form(formula: sympy.Expr) -> sympy.Expr:
    """``formula`` (in z) rewritten so NumPy evaluates it without overflow where SymPy can:
    log(1 + e^u) as logaddexp(0, u), and a function of e^z that is a polynomial in the
    sigmoid s = 1/(1 + e^{-z}) (z s for swish, s (1 - s) for its derivative's core) in s."""
    if sympy.count_ops(formula) > STABLE_OPS:
        return formula

    def softplus(arg: sympy.Expr) -> sympy.Expr | None:
        rest = arg - 1
        if isinstance(rest, sympy.exp):
            return _LogAddExp0(rest.args[0])
        return None

    formula = formula.replace(
        lambda e: isinstance(e, sympy.log) and softplus(e.args[0]) is not None,
        lambda e: softplus(e.args[0]),
    )
    if not formula.has(sympy.exp(_Z)) and not formula.has(sympy.exp(-_Z)):
        return formula
    in_t = formula.subs(sympy.exp(_Z), _T)
    if any(isinstance(e, sympy.exp) and e.has(_Z) for e in sympy.preorder_traversal(in_t)):
        return formula
    in_s = sympy.cancel(sympy.together(in_t.subs(_T, _S / (1 - _S))))
    _, denominator = sympy.fraction(in_s)
    if denominator.has(_S):
        return formula
    return in_s.subs(_S, _Expit(_Z))


class _Printer:
    """Expression -> NumPy source; records the helper functions the source calls."""

    def __init__(self, sizes: dict[Dim, str]) -> None:
        self.sizes = sizes
        self.helpers: dict[str, str] = {}
        self._helper_names: dict[tuple, str] = {}

    def _helper(self, fn: Function) -> str:
        """The helper for ``fn``: one per definition, so that two functions a spec gives the
        same name (a user's cosh, a loss's cosh piece) never share one."""
        key = (fn.scalar, fn.order)
        if key not in self._helper_names:
            base, definition = function_helper(fn)
            name, count = base, 1
            while name in self.helpers:
                count += 1
                name = f"{base}_{count}"
            self.helpers[name] = definition.replace(f"def {base}(", f"def {name}(", 1)
            self._helper_names[key] = name
        return self._helper_names[key]

    def code(self, expr: Expr, broadcast: bool = False) -> str:
        """``broadcast``: the expression is an operand of + or *, so a constant may be a number."""
        match expr:
            case Symbol():
                return symbol_name(expr)
            case Derivative():
                return derivative_name(expr)
            case Fill(value=value):
                number = repr(float(value))
                return number if broadcast else f"numpy.full({self._shape(expr)}, {number})"
            case Identity(size=n):
                return f"numpy.eye({self._dim(n)})"
            case Transpose(arg=arg):
                return f"{self._atom(arg)}.T"
            case MatMul(factors=factors):
                return " @ ".join(self._operand(f, (Add, Scale, Hadamard)) for f in factors)
            case Add(terms=terms):
                return self._sum(terms)
            case Hadamard(factors=factors):
                return " * ".join(self._operand(f, (Add, Scale, MatMul), True) for f in factors)
            case Scale(coeff=coeff, arg=arg):
                operand = self._operand(arg, (Add, Scale, MatMul), broadcast)
                return f"-{operand}" if coeff == -1 else f"{self._coefficient(coeff)} * {operand}"
            case Apply(fn=fn, arg=arg):
                return f"{self._helper(fn)}({self.code(arg)})"
            case Softmax(arg=arg):
                self.helpers["_softmax"] = SOFTMAX_CODE
                return f"_softmax({self.code(arg)})"
            case Diag(arg=arg):
                return f"numpy.diag({self._atom(arg)}[:, 0])"
            case Sum(arg=arg):
                return f"numpy.sum({self.code(arg)}, keepdims=True)"
            case SquaredNorm(arg=arg):
                return f"numpy.sum(numpy.square({self.code(arg)}), keepdims=True)"
            case ScalarProduct(scalar=scalar, arg=arg):
                return f"{self._atom(scalar)} * {self._operand(arg, (Add, Scale, MatMul), True)}"
            case Conv(signal=signal, kernel=kernel):
                x, w = self._atom(signal), self._atom(kernel)
                return f'numpy.correlate({x}[:, 0], {w}[:, 0], mode="valid")[:, None]'
            case FullConv(signal=signal, kernel=kernel):
                g, w = self._atom(signal), self._atom(kernel)
                return f'numpy.convolve({g}[:, 0], {w}[:, 0], mode="full")[:, None]'
            case Cdots():
                raise NumpyCodeError("a chain of symbolic length has no NumPy code")
        raise NumpyCodeError(f"no NumPy code for {type(expr).__name__}")

    def _sum(self, terms: Iterable[Expr]) -> str:
        text = ""
        for term in terms:
            negative = isinstance(term, Scale) and term.coeff.is_number and term.coeff < 0
            if negative:
                positive = term.arg if term.coeff == -1 else Scale(-term.coeff, term.arg)
                text += f" - {self._operand(positive, (Add,), True)}"
            else:
                text += f" + {self.code(term, True)}" if text else self.code(term, True)
        return text if not text.startswith(" - ") else "-" + text[3:]

    def _operand(self, expr: Expr, wrap: tuple[type, ...], broadcast: bool = False) -> str:
        text = self.code(expr, broadcast)
        return f"({text})" if isinstance(expr, wrap) else text

    def _atom(self, expr: Expr) -> str:
        text = self.code(expr)
        return text if isinstance(expr, Symbol | Derivative) else f"({text})"

    def _dim(self, d: Dim) -> str:
        if d.is_Integer:
            return str(int(d))
        code = self.sizes.get(canonical(d))
        if code is None:
            raise NumpyCodeError(f"the size {d} cannot be read from the arrays")
        return code

    def _coefficient(self, coeff: sympy.Expr) -> str:
        """A constant such as 2, -1/2 or 1/K, with K read from the arrays."""
        if coeff.is_number:
            return repr(float(coeff)) if coeff.is_Integer else f"({float(coeff)!r})"
        numerator, denominator = coeff.as_numer_denom()
        return f"({self._factor(numerator)} / {self._factor(denominator)})"

    def _factor(self, value: sympy.Expr) -> str:
        if value.is_number:
            return repr(float(value))
        coeff, rest = value.as_coeff_Mul()
        dims = " * ".join(self._dim(d) for d in sympy.Mul.make_args(rest))
        return dims if coeff == 1 else f"{float(coeff)!r} * {dims}"

    def _shape(self, expr: Expr) -> str:
        rows, cols = expr.shape
        return f"({self._dim(rows)}, {self._dim(cols)})"


def expr_code(expr: Expr, sizes: dict[Dim, str] | None = None) -> str:
    """One expression as NumPy source (helpers it calls are not included)."""
    return _Printer(sizes or {}).code(expr)


def network_code(derivation, keys: Iterable[str] | None = None) -> str:  # noqa: ANN001
    """The module with ``loss`` and ``gradients`` for a derivation (Derivation).

    ``keys`` limits the gradients returned ("W^2", ...); all parameters by default.
    """
    network = derivation.network
    if network.symbolic:
        raise NumpyCodeError(
            'a network of symbolic depth (depth = "L") has no NumPy code; list its layers'
        )
    indices = network.indices()
    inputs = symbol_name(network.activation(0))
    across, along = (1, 0) if network.declaration.examples_as_rows else (0, 1)  # CS231n: rows
    sizes = {
        canonical(network.size(0)): f"{inputs}.shape[{across}]",
        network.columns: f"{inputs}.shape[{along}]",
    }
    for l in indices:
        sizes[canonical(network.size(l))] = f"{symbol_name(network.bias(l))}.shape[{across}]"
    decay_key = None
    if network.decay is not None and not network.decay.is_number:  # read like the weights
        decay_key = str(network.decay)
        sizes[network.decay] = f'float(params["{decay_key}"])'
    printer = _Printer(sizes)

    forward: list[str] = [
        f"{inputs} = numpy.asarray(x, dtype=float)",
        f"{symbol_name(network.target())} = numpy.asarray(y, dtype=float)",
    ]
    names = [inputs, symbol_name(network.target())]
    for l in indices:
        for parameter in (network.weight(l), network.bias(l)):
            key = network.parameter_key(parameter)
            forward.append(
                f'{symbol_name(parameter)} = numpy.asarray(params["{key}"], dtype=float)'
            )
            names.append(symbol_name(parameter))
        for symbol, definition in (
            (network.pre_activation(l), network.pre_activation_expr(l)),
            (network.activation(l), network.activation_expr(l)),
        ):
            forward.append(f"{symbol_name(symbol)} = {printer.code(definition)}")
            names.append(symbol_name(symbol))
    loss_name = symbol_name(network.loss_symbol())
    forward.append(f"{loss_name} = {printer.code(network.loss_expr())}")
    names.append(loss_name)
    objective = symbol_name(network.objective())
    if objective != loss_name:
        forward.append(f"{objective} = {printer.code(network.cost_expr())}")
        names.append(objective)

    backward = [
        f"{derivative_name(target)} = {printer.code(value)}"
        for target, value in derivation.assignments()
    ]
    wanted = set(keys) if keys is not None else None
    results = [
        f'"{network.parameter_key(parameter)}": {derivative_name(target)}'
        for l in indices
        for parameter, target in (
            (network.weight(l), derivation.layers[l].dw),
            (network.bias(l), derivation.layers[l].dw0),
        )
        if wanted is None or network.parameter_key(parameter) in wanted
    ]

    unpack = ", ".join(names)
    shapes = [
        f'    "{network.parameter_key(p)}": {shape_text(p.shape).replace(TIMES, " x ")}'
        for p in network.parameters()
    ]
    docstring = [
        "Loss and gradients of a network, generated by matcalc from its derivation.",
        "",
        f"{derivation.convention}.",
        "",
        f"loss(params, x, y) returns {objective}; gradients(params, x, y) its gradient by each",
        "parameter, under the keys of params, which maps to arrays of these shapes:",
        *shapes,
    ]
    if decay_key is not None:
        docstring.append(
            f'and "{decay_key}" to the weight decay, a float (no gradient is returned for it).'
        )
    lines = [
        '"""' + "\n".join(docstring).replace("\\", "\\\\"),
        '"""',
        "",
        "import numpy",
        "",
        "",
        *(definition + "\n" for definition in sorted(printer.helpers.values())),
        "def _forward(params, x, y):",
        *(f"    {line}" for line in forward),
        f"    return {unpack}",
        "",
        "",
        "def loss(params, x, y):",
        f"    {unpack} = _forward(params, x, y)",
        f"    return float({objective}[0, 0])",
        "",
        "",
        "def gradients(params, x, y):",
        f"    {unpack} = _forward(params, x, y)",
        *(f"    {line}" for line in backward),
        "    return {",
        *(f"        {line}," for line in results),
        "    }",
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ graph specs

_RESERVED = {"numpy", "values", "loss", "gradients", "float", "dict"}


class _NamedPrinter(_Printer):
    """The printer with each declared and named symbol, and each gradient, given a name."""

    def __init__(self, sizes: dict[Dim, str], names: dict[Expr, str]) -> None:
        super().__init__(sizes)
        self.names = names

    def code(self, expr: Expr, broadcast: bool = False) -> str:
        if expr in self.names:
            return self.names[expr]
        return super().code(expr, broadcast)

    def _dim(self, d: Dim) -> str:
        """A size, also one such as n - k + 1, read from the arrays."""
        if d.is_Integer or canonical(d) in self.sizes:
            return super()._dim(d)
        if isinstance(d, sympy.Add):
            return "(" + " + ".join(self._dim(t) for t in d.args) + ")"
        if isinstance(d, sympy.Mul):
            return "(" + " * ".join(self._dim(f) for f in d.args) + ")"
        if isinstance(d, sympy.Pow) and d.exp.is_Rational:
            return f"({self._dim(d.base)}) ** {float(d.exp)!r}"
        return super()._dim(d)


def python_name(key: str) -> str:
    """A Python name for a spec's name: W_1 stays W_1; lambda becomes lambda_."""
    name = re.sub(r"\W", "_", key)
    if not name.isidentifier() or keyword.iskeyword(name) or name in _RESERVED:
        name += "_"
    return name


def graph_code(derivation, keys: Iterable[str] | None = None) -> str:  # noqa: ANN001
    """The module with ``loss(values)`` and ``gradients(values)`` for a graph derivation.

    ``values`` maps every [shapes] name to an array of its shape (a column as n x 1) or a
    float for a scalar; sizes are read from the arrays; the result maps each parameter name
    (those of ``keys``, by default all) to its gradient, of the parameter's shape (a float for
    a scalar).
    """
    graph = derivation.graph
    names: dict[Expr, str] = {}

    def name(expr: Expr, wanted: str) -> None:
        """``wanted``, or with underscores added where another name has it (W^2 beside W_2,
        a quantity dW beside the gradient of W)."""
        taken = set(names.values())
        while wanted in taken:
            wanted += "_"
        names[expr] = wanted

    for key, symbol in graph.context.symbols.items():
        name(symbol, python_name(key))
    for key, symbol in graph.context.names.items():
        name(symbol, python_name(key))
    for assignment in derivation.assignments:
        name(assignment.target, "d" + python_name(graph.key_of(assignment.of)).rstrip("_"))
    sizes: dict[Dim, str] = {}
    for symbol, name in names.items():
        if isinstance(symbol, Symbol):
            for axis, d in enumerate(symbol.shape):
                if isinstance(d, sympy.Symbol) and d not in sizes:
                    sizes[d] = f"{name}.shape[{axis}]"
    printer = _NamedPrinter(sizes, names)
    forward = []
    for key, symbol in graph.context.symbols.items():
        name = names[symbol]
        forward.append(f'{name} = numpy.asarray(values["{key}"], dtype=float)')
        forward.append(
            f"{name} = {name}.reshape(1, 1)"
            if symbol.shape == (sympy.Integer(1), sympy.Integer(1))
            else f"{name} = {name}.reshape({name}.shape[0], -1)"
        )
    for quantity in graph.quantities:
        forward.append(f"{names[quantity]} = {printer.code(graph.definitions[quantity])}")
    backward = [f"{names[a.target]} = {printer.code(a.value)}" for a in derivation.assignments]
    wanted = set(keys) if keys is not None else None
    results = []
    for key, assignment in derivation.iter_gradients():
        if wanted is not None and key not in wanted:
            continue
        value = names[assignment.target]
        scalar = assignment.shape == (sympy.Integer(1), sympy.Integer(1))
        results.append(f'"{key}": {f"float({value}[0, 0])" if scalar else value}')
    unpack = ", ".join(names[s] for s in (*graph.context.symbols.values(), *graph.quantities))
    shapes = [
        f'    "{key}": {shape_text(symbol.shape).replace(TIMES, " x ")}'
        for key, symbol in graph.context.symbols.items()
    ]
    docstring = [
        "Loss and gradients of a network given by its forward equations, generated by matcalc.",
        "",
        f"{derivation.note}.",
        "",
        f"loss(values) returns {graph.loss_key}; gradients(values) its gradient by each parameter",
        f"({', '.join(graph.parameter_keys)}). values maps each name to an array of its shape",
        "(a column as n x 1; a float for a scalar):",
        *shapes,
    ]
    lines = [
        '"""' + "\n".join(docstring).replace("\\", "\\\\"),
        '"""',
        "",
        "import numpy",
        "",
        "",
        *(definition + "\n" for definition in sorted(printer.helpers.values())),
        "def _forward(values):",
        *(f"    {line}" for line in forward),
        f"    return {unpack}",
        "",
        "",
        "def loss(values):",
        f"    {unpack} = _forward(values)",
        f"    return float({names[graph.loss]}[0, 0])",
        "",
        "",
        "def gradients(values):",
        f"    {unpack} = _forward(values)",
        *(f"    {line}" for line in backward),
        "    return {",
        *(f"        {line}," for line in results),
        "    }",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["NumpyCodeError", "expr_code", "function_helper", "graph_code", "network_code"]
