"""Scalar functions applied entrywise: activations and the pieces of losses.

Each function is a SymPy expression in one variable ``z``; derivatives come from SymPy and
numbers from NumPy, so a function declared here (or defined by a user in scalar LaTeX) is
usable by derivation, printing and numeric checks alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy

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

BUILTIN: dict[str, ScalarFunction] = {
    f.name: f for f in (SIGMOID, TANH, RELU, IDENTITY, STEP, LOG, EXP, RECIPROCAL)
}
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")

_registry: dict[str, ScalarFunction] = dict(BUILTIN)


def register(function: ScalarFunction) -> ScalarFunction:
    """Make a (user-defined) scalar function known by its name."""
    _registry[function.name] = function
    _numeric.cache_clear()
    return function


def lookup(name: str) -> ScalarFunction | None:
    return _registry.get(name)


def registered() -> tuple[ScalarFunction, ...]:
    """Every known function, built in or registered."""
    return tuple(_registry.values())


def evaluate(name: str, order: int, values: np.ndarray) -> np.ndarray:
    """The ``order``-th derivative of the named function, entrywise at ``values``."""
    return _numeric(name, order)(values)


@lru_cache(maxsize=256)
def _numeric(name: str, order: int) -> Callable[[np.ndarray], np.ndarray]:
    function = _registry.get(name)
    if function is None:
        raise KeyError(f"no numeric value for the function {name!r}")
    formula = function.formula_of_order(order).replace(sympy.DiracDelta, lambda *_: 0)
    compiled = sympy.lambdify(Z, formula, modules="numpy")
    return lambda v: np.broadcast_to(np.asarray(compiled(v), dtype=float), np.shape(v)).copy()
