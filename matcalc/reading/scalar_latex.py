"""User-defined activations and losses, written in scalar LaTeX in the network spec.

    activation = { name = "swish", latex = "z \\sigma(z)" }
    loss = { name = "logcosh", latex = "\\log(\\cosh(a - y))" }

An activation is a formula in the one variable z; a loss is a formula in a and y, one entry of
A^L and of the target, and the network's loss is its sum over the entries.  The text is read
by latex2sympy2_extended (a LaTeX-to-SymPy parser; never eval or sympify) configured and
corrected so that it means what a lecturer means:

* ``\\log`` is the natural log (the parser reads it as base 10): it is rewritten to ``\\ln``
  before parsing; an explicit base ``\\log_2`` is kept;
* ``\\sigma(u)`` is the logistic sigmoid (the parser makes an undefined function of it, and
  for an argument other than a single letter silently reads sigma * u): it is rewritten to
  ``\\frac{1}{1+e^{-(u)}}`` before parsing;
* symbols keep their case (the parser lowercases them by default), mixed fractions are off
  (``2 1/2`` is not 2.5), equations and sets are refused;
* only the allowed variables may appear; input length and nesting are bounded, since the
  parser's time grows steeply with nesting.

Derivatives come from SymPy and numbers from NumPy.  A definition is a value (a
:class:`~matcalc.core.functions.ScalarFunction`, or a loss :class:`~matcalc.core.rule.Rule`
whose pieces carry their own functions) kept by the spec that makes it: nothing is registered
process-wide, so two specs may define the same name differently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sympy
from sympy.core.function import AppliedUndef

from matcalc.core import functions
from matcalc.core.expr import Apply, Expr, Fill, Function, Sum, add, hadamard, scale
from matcalc.core.losses import BUILTIN_LOSSES, loss_example
from matcalc.core.rule import Kind, Rule
from matcalc.errors import MatcalcError

MAX_LENGTH = 300
MAX_NESTING = 6
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,23}$")
_LOG = re.compile(r"\\log(?![A-Za-z_])")
_SIGMA = re.compile(r"\\sigma\s*(\\left\s*)?\(")
_KNOWN_HEADS = {sympy.log: "log", sympy.exp: "exp", sympy.tanh: "tanh"}
_LATEX_HEADS = ("sinh", "cosh", "sin", "cos", "tan", "atan", "sqrt")


class ScalarLatexError(MatcalcError):
    """A scalar formula that cannot be used; the message names the definition and the cause."""


def read_scalar(text: Any, variables: tuple[str, ...], where: str) -> sympy.Expr:
    """A SymPy formula from scalar LaTeX in the given variables (real symbols)."""
    if not isinstance(text, str) or not text.strip():
        raise ScalarLatexError(f"{where}: latex must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ScalarLatexError(
            f"{where}: the formula is {len(text)} characters; at most {MAX_LENGTH}"
        )
    if "'" in text or "\\prime" in text:
        raise ScalarLatexError(
            f"{where}: write the function itself, not its derivative; matcalc differentiates it"
        )
    depth = 0
    for char in text:
        depth += char in "({["
        depth -= char in ")}]"
        if depth > MAX_NESTING:
            raise ScalarLatexError(f"{where}: the formula is nested more than {MAX_NESTING} deep")
        if depth < 0:
            raise ScalarLatexError(f"{where}: unbalanced brackets in {text!r}")
    if depth != 0:
        raise ScalarLatexError(f"{where}: unbalanced brackets in {text!r}")
    prepared = _expand_sigma(_LOG.sub(r"\\ln", text), where)
    formula = _parse(prepared, where)
    return _checked(formula, variables, where, text)


def _expand_sigma(text: str, where: str) -> str:
    """\\sigma(u) -> \\frac{1}{1+e^{-(u)}}, with u found by matching parentheses."""
    while True:
        match = _SIGMA.search(text)
        if match is None:
            break
        depth, position = 1, match.end()
        while position < len(text) and depth:
            depth += text[position] == "("
            depth -= text[position] == ")"
            position += 1
        inner = text[match.end() : position - 1]
        if inner.rstrip().endswith("\\right"):
            inner = inner.rstrip()[: -len("\\right")]
        sigmoid = f"\\frac{{1}}{{1+e^{{-\\left({inner}\\right)}}}}"
        text = text[: match.start()] + sigmoid + text[position:]
    if "\\sigma" in text:
        raise ScalarLatexError(f"{where}: \\sigma is read as the sigmoid of a bracket: \\sigma(z)")
    return text


def _parse(text: str, where: str) -> sympy.Basic:
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig
    from latex2sympy2_extended.math_normalization import NormalizationConfig

    conversion = ConversionConfig(
        interpret_as_mixed_fractions=False,
        interpret_simple_eq_as_assignment=False,
        interpret_contains_as_eq=False,
        lowercase_symbols=False,
    )
    normalization = NormalizationConfig(
        basic_latex=True, units=False, malformed_operators=False, nits=False, boxed="none",
        equations=False,
    )  # fmt: skip
    try:
        return latex2sympy(text, normalization_config=normalization, conversion_config=conversion)
    except RecursionError:
        raise ScalarLatexError(f"{where}: the formula is nested too deeply") from None
    except Exception as error:  # the parser raises bare Exceptions with a caret picture
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ScalarLatexError(f"{where}: cannot read {text!r}: {first}") from None


def _checked(formula: sympy.Basic, variables: tuple[str, ...], where: str, text: str) -> sympy.Expr:
    refused = (sympy.Rel, sympy.logic.boolalg.BooleanFunction, sympy.logic.boolalg.BooleanAtom)
    if not isinstance(formula, sympy.Expr) or isinstance(formula, refused):
        raise ScalarLatexError(f"{where}: {text!r} is not a formula (an equation, a set?)")
    undefined = sorted({str(f.func) for f in formula.atoms(AppliedUndef)})
    if undefined:
        raise ScalarLatexError(
            f"{where}: unknown function {', '.join(undefined)}; matcalc knows \\sigma, \\tanh, "
            "\\ln/\\log (natural), \\exp, e^{...}, \\max, \\min, \\sqrt, |...|"
        )
    formula = formula.subs({sympy.Symbol("e"): sympy.E})
    _check_operations(formula, where, text)
    names = {str(s): s for s in formula.free_symbols}
    unknown = sorted(set(names) - set(variables))
    if unknown:
        raise ScalarLatexError(
            f"{where}: unknown symbol {', '.join(unknown)}; only {', '.join(variables)} may appear"
        )
    real = {names[v]: sympy.Symbol(v, real=True) for v in variables if v in names}
    formula = formula.subs(real)
    if formula.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise ScalarLatexError(f"{where}: {text!r} is not finite")
    return formula


_OPERATIONS = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Abs, sympy.Max, sympy.Min, sympy.exp)
_OPERATIONS += (sympy.log, sympy.tanh, sympy.sinh, sympy.cosh, sympy.sin, sympy.cos, sympy.tan)
_OPERATIONS += (sympy.atan,)
MAX_CONSTANT_EXPONENT = 64


def _check_operations(formula: sympy.Basic, where: str, text: str) -> None:
    """Only elementary functions, and no power of constants too large to compute: a factorial,
    a sum, a product or 9^{9^9} would make every evaluation (and the NumPy export) hang."""
    for node in sympy.preorder_traversal(formula):
        if node.is_Atom:
            continue
        if not isinstance(node, _OPERATIONS):
            raise ScalarLatexError(
                f"{where}: {type(node).__name__.lower()} in {text!r} is not read; use "
                "+ - * /, powers, e^{...}, \\exp, \\ln/\\log, \\sigma, \\tanh, "
                "\\sinh, \\cosh, \\sin, \\cos, \\tan, \\arctan, \\max, \\min, \\sqrt, |...|"
            )
        if (
            isinstance(node, sympy.Pow)
            and node.base.is_number
            and node.exp.is_number
            and not (node.exp.is_Rational and abs(node.exp) <= MAX_CONSTANT_EXPONENT)
        ):
            raise ScalarLatexError(
                f"{where}: the constant {node} in {text!r} is too large; "
                f"a constant's exponent is at most {MAX_CONSTANT_EXPONENT}"
            )


def _check_name(name: Any, where: str, taken: bool) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScalarLatexError(
            f"{where}: name = {name!r}: letters and digits, starting with a letter"
        )
    if taken:
        raise ScalarLatexError(f"{where}: name = {name!r} is built in; choose another name")
    return name


def define_activation(table: Mapping[str, Any], where: str) -> functions.ScalarFunction:
    """The activation f(z) that ``{name, latex}`` defines."""
    _check_keys(table, where)
    name = _check_name(table.get("name"), where, name_is_builtin(table.get("name")))
    formula = read_scalar(table.get("latex"), ("z",), where).subs(
        sympy.Symbol("z", real=True), functions.Z
    )
    return functions.ScalarFunction(name, f"\\operatorname{{{name}}}", formula)


def name_is_builtin(name: Any) -> bool:
    builtin = set(functions.BUILTIN) | set(functions.ACTIVATIONS) | {"f", "g"}
    return isinstance(name, str) and (name in builtin or name in BUILTIN_LOSSES)


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    extra = set(table) - {"name", "latex"}
    if extra:
        raise ScalarLatexError(f"{where}: unknown key {sorted(extra)[0]!r}; give name and latex")


A = sympy.Symbol("a", real=True)
Y = sympy.Symbol("y", real=True)


def define_loss(table: Mapping[str, Any], where: str = "loss") -> Rule:
    """The loss sum_i l(a_i, y_i) that ``{name, latex}`` (a formula in a and y) defines."""
    _check_keys(table, where)
    name = _check_name(table.get("name"), where, name_is_builtin(table.get("name")))
    text = table.get("latex")
    formula = read_scalar(text, ("a", "y"), where)
    if A not in formula.free_symbols:
        raise ScalarLatexError(f"{where}: the loss {text!r} does not depend on a")
    gradient = sympy.diff(formula, A)
    pieces = _Pieces(name)

    def apply(a: Expr, y: Expr) -> tuple[Expr, Expr]:
        bindings = {A: a, Y: y}
        return Sum(pieces.entrywise(formula, bindings, a.shape)), pieces.entrywise(
            gradient, bindings, a.shape
        )

    statement = (
        f"L = \\sum_i \\ell(a_i, y_i),\\ \\ell(a, y) = {sympy.latex(formula)},\\ "
        f"\\frac{{\\partial \\ell}}{{\\partial a}} = {sympy.latex(gradient)}"
    )
    return Rule(
        name,
        Kind.LOSS,
        statement,
        f"user-defined loss {name!r} (scalar LaTeX in the spec, differentiated by SymPy)",
        apply,
        loss_example,
        loss=name,
    )


class _Pieces:
    """Entrywise matrix expressions from a scalar formula in bound variables.

    A piece with no matrix form of its own becomes a function that its nodes carry; its name
    (``logcosh_1``) has an underscore, which a user's names cannot have, so it never stands
    for a user's function.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.pieces: dict[sympy.Expr, functions.ScalarFunction] = {}

    def function(self, formula: sympy.Expr) -> Function:
        """A scalar function of z for a piece with no matrix form of its own."""
        for known in functions.BUILTIN.values():
            if known.formula == formula:
                return Function(known.name)
        if formula not in self.pieces:
            head = type(formula).__name__
            if (
                len(formula.args) == 1
                and formula == type(formula)(functions.Z)
                and head in _LATEX_HEADS
            ):
                name, latex = f"{head}_", f"\\{head}"
            else:
                name = f"{self.prefix}_{len(self.pieces) + 1}"
                latex = f"\\operatorname{{{self.prefix}}}_{{{len(self.pieces) + 1}}}"
            self.pieces[formula] = functions.ScalarFunction(name, latex, formula)
        piece = self.pieces[formula]
        return Function(piece.name, definition=piece)

    def entrywise(
        self, formula: sympy.Expr, bindings: Mapping[sympy.Symbol, Expr], shape: tuple
    ) -> Expr:
        if formula in bindings:
            return bindings[formula]
        if formula.is_number:
            return Fill(sympy.nsimplify(formula) if formula.is_Float else formula, shape)
        if isinstance(formula, sympy.Add):
            return add(*(self.entrywise(t, bindings, shape) for t in formula.args))
        if isinstance(formula, sympy.Mul):
            coeff, rest = formula.as_coeff_Mul()
            factors = [self.entrywise(f, bindings, shape) for f in sympy.Mul.make_args(rest)]
            return scale(coeff, hadamard(*factors))
        if isinstance(formula, sympy.Pow) and formula.exp.is_Integer and formula.exp > 0:
            base = self.entrywise(formula.base, bindings, shape)
            return hadamard(*([base] * int(formula.exp)))
        if isinstance(formula, sympy.Pow) and formula.exp == -1:
            return Apply(Function("reciprocal"), self.entrywise(formula.base, bindings, shape))
        head = _KNOWN_HEADS.get(type(formula))
        if head is not None:
            return Apply(Function(head), self.entrywise(formula.args[0], bindings, shape))
        inner = [a for a in formula.args if a.free_symbols & set(bindings)]
        if len(inner) == 1 and formula.free_symbols & set(bindings):
            argument = inner[0]
            piece = formula.subs(argument, functions.Z)
            if not (piece.free_symbols & set(bindings)):
                return Apply(self.function(piece), self.entrywise(argument, bindings, shape))
        raise ScalarLatexError(f"{sympy.latex(formula)} cannot be applied entry by entry")


def loss_from_spec(value: Any) -> Any:
    """A spec's loss value: a name stays a name; a {name, latex} table gives its Rule."""
    if isinstance(value, Mapping):
        return define_loss(value, "loss")
    return value


def activation_from_spec(value: Any, where: str) -> Any:
    """A layer's activation value: a name stays a name; a {name, latex} table gives its
    ScalarFunction."""
    if isinstance(value, Mapping):
        return define_activation(value, where)
    return value


__all__ = [
    "ScalarLatexError",
    "activation_from_spec",
    "define_activation",
    "define_loss",
    "loss_from_spec",
    "read_scalar",
]
