"""Scalar functions applied entrywise: activations and the pieces of losses.

Each function is a SymPy expression in one variable ``z``; derivatives come from SymPy and
numbers from NumPy, so a function declared here (or defined by a user in scalar LaTeX) is
usable by derivation, printing and numeric checks alike.  There is no table of user-defined
functions: a definition travels with the spec that makes it and with the nodes that use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy

if TYPE_CHECKING:
    import numpy as np

Z = sympy.Symbol("z", real=True)


@dataclass(frozen=True)
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


@lru_cache(maxsize=256)
def _numeric(function: ScalarFunction, order: int) -> Callable[[np.ndarray], np.ndarray]:
    import numpy as np  # loaded with the first number, not with the package

    erf = np.vectorize(math.erf, otypes=[float])  # NumPy has no erf of its own
    formula = function.formula_of_order(order).replace(sympy.DiracDelta, lambda *_: 0)
    # NumPy as a module, not "numpy": SymPy's namespace for the name runs `from numpy import *`,
    # which imports every lazily loaded submodule of NumPy 2 (f2py, testing, ...) on first use.
    compiled = sympy.lambdify(Z, formula, modules=[{"erf": erf}, np])
    return lambda v: np.broadcast_to(np.asarray(compiled(v), dtype=float), np.shape(v)).copy()
