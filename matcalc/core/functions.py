"""Scalar functions applied entrywise: activations and the pieces of losses.

Each function is a SymPy expression in one variable ``z``; derivatives come from SymPy and
numbers from NumPy, so a function declared here (or defined by a user in scalar LaTeX) is
usable by derivation, printing and numeric checks alike.  There is no table of user-defined
functions: a definition travels with the spec that makes it and with the nodes that use it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import field
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import sympy

from matcalc.core.record import record

if TYPE_CHECKING:
    import numpy as np

Z = sympy.Symbol("z", real=True)


@record
class ScalarFunction:
    """f(z) with its LaTeX name and, where it has one, f' in terms of the output a = f(z)."""

    name: str
    latex: str
    formula: sympy.Expr
    derivative_from_output: Callable[[sympy.Expr], sympy.Expr] | None = field(
        default=None, compare=False
    )
    derivative_latex: str | None = None

    def formula_of_order(self, order: int) -> sympy.Expr:
        return sympy.diff(self.formula, Z, order) if order else self.formula


SIGMOID = ScalarFunction(
    "sigmoid",
    r"\sigma",
    1 / (1 + sympy.exp(-Z)),
    derivative_from_output=lambda a: a * (1 - a),
)
TANH = ScalarFunction("tanh", r"\tanh", sympy.tanh(Z), derivative_from_output=lambda a: 1 - a**2)
RELU = ScalarFunction(
    "relu", r"\operatorname{ReLU}", sympy.Max(0, Z), derivative_latex=r"\operatorname{step}"
)
IDENTITY = ScalarFunction(
    "identity", r"\operatorname{id}", Z, derivative_from_output=lambda a: sympy.Integer(1)
)
STEP = ScalarFunction("step", r"\operatorname{step}", sympy.Heaviside(Z, 0))
LOG = ScalarFunction("log", r"\log", sympy.log(Z))
EXP = ScalarFunction("exp", r"\exp", sympy.exp(Z))
RECIPROCAL = ScalarFunction("reciprocal", r"\operatorname{recip}", 1 / Z)
SQRT = ScalarFunction("sqrt", r"\sqrt", sympy.sqrt(Z), derivative_from_output=lambda a: 1 / (2 * a))

SIGN = ScalarFunction("sign", r"\operatorname{sign}", sympy.sign(Z))
ABS = ScalarFunction(
    "abs", r"\operatorname{abs}", sympy.Abs(Z), derivative_latex=r"\operatorname{sign}"
)
ERF = ScalarFunction("erf", r"\operatorname{erf}", sympy.erf(Z))
SIN = ScalarFunction("sin", r"\sin", sympy.sin(Z))
COS = ScalarFunction("cos", r"\cos", sympy.cos(Z))


def power(exponent: Fraction) -> ScalarFunction:
    """z^p as a scalar function, so a power of a 1 x 1 expression is evaluated entrywise."""
    p = sympy.Rational(exponent.numerator, exponent.denominator)
    return ScalarFunction(f"power {exponent}", f"(\\cdot)^{{{p}}}", Z**p)


def power_exponent(function: ScalarFunction | None) -> Fraction | None:
    """p for the function z^p made by :func:`power`, else None."""
    if function is None or not function.name.startswith("power "):
        return None
    return Fraction(function.name.removeprefix("power "))


BUILTIN: Mapping[str, ScalarFunction] = MappingProxyType(
    {
        f.name: f
        for f in (
            SIGMOID,
            TANH,
            RELU,
            IDENTITY,
            STEP,
            LOG,
            EXP,
            RECIPROCAL,
            SQRT,
            SIGN,
            ABS,
            ERF,
            SIN,
            COS,
        )  # fmt: skip
    }
)
"""The built-in functions by name.  A user's own functions are not kept here: each travels in
the nodes that apply it (:class:`matcalc.core.expr.Function`) and in the spec that defines it."""
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")


def builtin(name: str) -> ScalarFunction | None:
    """The built-in function of that name, or None."""
    return BUILTIN.get(name)


def evaluate(function: ScalarFunction, order: int, values: np.ndarray) -> np.ndarray:
    """The ``order``-th derivative of ``function``, entrywise at ``values``."""
    return _numeric(function, order)(values)


@functools.lru_cache(maxsize=256)
def _numeric(function: ScalarFunction, order: int) -> Callable[[np.ndarray], np.ndarray]:
    import numpy as np  # loaded with the first number, not with the package

    formula = function.formula_of_order(order).replace(sympy.DiracDelta, lambda *_: 0)
    try:
        compiled = _entrywise(formula, np)
    except _NotEntrywiseError:
        compiled = _lambdified(formula, np)
    return lambda v: np.broadcast_to(np.asarray(compiled(v), dtype=float), np.shape(v)).copy()


class _NotEntrywiseError(Exception):
    """A node :func:`_entrywise` has no NumPy function for."""


def _entrywise(formula: sympy.Expr, np: Any) -> Callable[[np.ndarray], np.ndarray]:
    """f as a closure over NumPy's functions, one per node of the formula: what
    ``sympy.lambdify`` would compute, without loading SymPy's code printers (most of a first
    ``verify``'s time after the imports)."""
    if isinstance(formula, int | float) or formula.is_number:
        try:
            constant = float(formula)
        except TypeError as error:  # a complex constant
            raise _NotEntrywiseError(formula) from error
        return lambda v: constant
    if formula == Z:
        return lambda v: v
    args = [_entrywise(arg, np) for arg in formula.args]
    head = formula.func
    if head is sympy.Add:
        return lambda v: sum(arg(v) for arg in args)
    if head is sympy.Mul:
        return lambda v: math.prod(arg(v) for arg in args)
    if head is sympy.Pow:
        base, exponent = args
        return lambda v: np.power(base(v), exponent(v))
    if head in (sympy.Max, sympy.Min):
        reduce = np.maximum if head is sympy.Max else np.minimum
        return lambda v: functools.reduce(reduce, (arg(v) for arg in args))
    if head is sympy.Heaviside:  # H(z, H0): H0 at z = 0, as SymPy defines it
        arg, at_zero = args
        return lambda v: np.heaviside(arg(v), at_zero(v))
    if head is sympy.erf:  # NumPy has no erf of its own
        erf = np.vectorize(math.erf, otypes=[float])
        (arg,) = args
        return lambda v: erf(arg(v))
    name = _NUMPY_NAMES.get(head)
    if name is None:
        raise _NotEntrywiseError(formula)
    numpy_function = getattr(np, name)
    (arg,) = args
    return lambda v: numpy_function(arg(v))


_NUMPY_NAMES = {
    sympy.exp: "exp", sympy.log: "log", sympy.tanh: "tanh", sympy.sinh: "sinh",
    sympy.cosh: "cosh", sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan",
    sympy.atan: "arctan", sympy.Abs: "abs", sympy.sign: "sign",
}  # fmt: skip


def _lambdified(formula: sympy.Expr, np: Any) -> Callable[[np.ndarray], np.ndarray]:
    erf = np.vectorize(math.erf, otypes=[float])
    # NumPy as a module, not "numpy": SymPy's namespace for the name runs `from numpy import *`,
    # which imports every lazily loaded submodule of NumPy 2 (f2py, testing, ...) on first use.
    return sympy.lambdify(Z, formula, modules=[{"erf": erf}, np])
