"""Numbers for expressions: evaluation with NumPy at concrete sizes, and finite differences."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import sympy

from matcalc.core import functions
from matcalc.core.expr import (
    Add,
    Apply,
    Conv,
    Derivative,
    Det,
    Diag,
    Expr,
    Fill,
    FullConv,
    Hadamard,
    Identity,
    Inverse,
    LogDet,
    MatMul,
    Opaque,
    ScalarProduct,
    Scale,
    Softmax,
    SquaredNorm,
    Sum,
    Symbol,
    Trace,
    Transpose,
)
from matcalc.core.shapes import Dim
from matcalc.errors import MatcalcError

Environment = Mapping[Expr, np.ndarray]


class EvaluationError(MatcalcError):
    """An expression that cannot be given a number (a free symbol, a symbolic size)."""


def size(d: Dim) -> int:
    if not d.is_Integer:
        raise EvaluationError(f"the size {d} is symbolic; evaluate at concrete sizes")
    return int(d)


def softmax(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


def evaluate(expr: Expr, env: Environment) -> np.ndarray:
    """The value of ``expr`` as a 2-D array, with symbols and derivatives looked up in ``env``."""
    if expr in env:
        return np.asarray(env[expr], dtype=float)
    match expr:
        case Symbol() | Derivative():
            raise EvaluationError(f"no value for {expr}")
        case Fill(value=value, shape_=shape):
            return np.full((size(shape[0]), size(shape[1])), float(value))
        case Identity(size=n):
            return np.eye(size(n))
        case Transpose(arg=arg):
            return evaluate(arg, env).T
        case MatMul(factors=factors):
            result = evaluate(factors[0], env)
            for factor in factors[1:]:
                result = result @ evaluate(factor, env)
            return result
        case Add(terms=terms):
            return sum((evaluate(t, env) for t in terms[1:]), evaluate(terms[0], env))
        case Hadamard(factors=factors):
            result = evaluate(factors[0], env)
            for factor in factors[1:]:
                result = result * evaluate(factor, env)
            return result
        case Scale(coeff=coeff, arg=arg):
            return _number(coeff) * evaluate(arg, env)
        case Apply(fn=fn, arg=arg):
            if fn.scalar is None:
                raise EvaluationError(f"the function {fn.name} has no numeric definition")
            return functions.evaluate(fn.scalar, fn.order, evaluate(arg, env))
        case Softmax(arg=arg):
            return softmax(evaluate(arg, env))
        case Diag(arg=arg):
            return np.diag(evaluate(arg, env)[:, 0])
        case Sum(arg=arg):
            return np.array([[evaluate(arg, env).sum()]])
        case SquaredNorm(arg=arg):
            return np.array([[np.square(evaluate(arg, env)).sum()]])
        case Trace(arg=arg):
            return np.array([[np.trace(evaluate(arg, env))]])
        case Inverse(arg=arg):
            return np.linalg.inv(evaluate(arg, env))
        case Det(arg=arg):
            return np.array([[np.linalg.det(evaluate(arg, env))]])
        case LogDet(arg=arg):
            return np.array([[np.linalg.slogdet(evaluate(arg, env))[1]]])
        case Opaque(name=name, params=params, args=args):
            terms = zip(params, args, strict=True)
            return np.array([[sum(_linear_term(name, p, a, env) for p, a in terms)]])
        case ScalarProduct(scalar=scalar, arg=arg):
            return evaluate(scalar, env)[0, 0] * evaluate(arg, env)
        case Conv(signal=signal, kernel=kernel):
            x, w = evaluate(signal, env)[:, 0], evaluate(kernel, env)[:, 0]
            return np.correlate(x, w, mode="valid")[:, None]
        case FullConv(signal=signal, kernel=kernel):
            g, w = evaluate(signal, env)[:, 0], evaluate(kernel, env)[:, 0]
            return np.convolve(g, w, mode="full")[:, None]
    raise EvaluationError(f"no numeric evaluation for {type(expr).__name__}")


def _linear_term(name: Symbol, param: Symbol, arg: Expr, env: Environment) -> float:
    """An opaque L(Y) is evaluated as its linear instance sum(dL/dY ⊙ Y), given dL/dY."""
    gradient = Derivative(name, param)
    if gradient not in env:
        raise EvaluationError(f"{name} is an unspecified function; it has no value")
    return float(np.sum(np.asarray(env[gradient]) * evaluate(arg, env)))


def _number(coeff: sympy.Expr) -> float:
    if not coeff.is_number:
        raise EvaluationError(f"the coefficient {coeff} is symbolic")
    return float(coeff)


def central_difference(
    function: Callable[[np.ndarray], float], point: np.ndarray, step: float = 1e-6
) -> np.ndarray:
    """The gradient of a scalar function by central differences, entry by entry."""
    gradient = np.zeros_like(point, dtype=float)
    for index in np.ndindex(point.shape):
        plus = point.copy()
        minus = point.copy()
        plus[index] += step
        minus[index] -= step
        gradient[index] = (function(plus) - function(minus)) / (2 * step)
    return gradient


def random_value(shape: tuple[Dim, Dim], rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((size(shape[0]), size(shape[1])))
