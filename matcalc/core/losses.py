"""The losses of the 6.390 loss table, and the output activations they simplify with.

Each loss is one record: its name, the statement of its gradient, its source, and a function
``apply(A, y)`` returning the loss L(A, y) and dL/dA.  A ``fused`` record gives dL/dZ for an
output activation and a loss that simplify together (sigmoid with nll, softmax with nllm).
A user-defined loss (:mod:`matcalc.reading.scalar_latex`) is a record of the same kind that
travels with its network spec; there is no table of them.
"""

from __future__ import annotations

from matcalc.core.expr import (
    Apply,
    Expr,
    Function,
    SquaredNorm,
    Sum,
    Symbol,
    add,
    hadamard,
    one_minus,
    scale,
)
from matcalc.core.rule import NOTES, Kind, NoRuleError, Rule
from matcalc.core.shapes import dim

COOKBOOK = "Matrix Cookbook"


def _column(name: str, size: int = 3) -> Symbol:
    return Symbol(name, (dim(size), dim(1)))


def _squared(a: Expr, y: Expr) -> tuple[Expr, Expr]:
    return SquaredNorm(add(a, scale(-1, y))), scale(2, add(a, scale(-1, y)))


def _nll(a: Expr, y: Expr) -> tuple[Expr, Expr]:
    log = Function("log")
    value = scale(
        -1,
        Sum(add(hadamard(y, Apply(log, a)), hadamard(one_minus(y), Apply(log, one_minus(a))))),
    )
    reciprocal = Function("reciprocal")
    gradient = add(
        scale(-1, hadamard(y, Apply(reciprocal, a))),
        hadamard(one_minus(y), Apply(reciprocal, one_minus(a))),
    )
    return value, gradient


def _nllm(a: Expr, y: Expr) -> tuple[Expr, Expr]:
    value = scale(-1, Sum(hadamard(y, Apply(Function("log"), a))))
    return value, scale(-1, hadamard(y, Apply(Function("reciprocal"), a)))


def _loss_example() -> tuple[Symbol, Symbol]:
    return _column("A"), _column("y")


LOSSES: tuple[Rule, ...] = (
    Rule(
        "squared",
        Kind.LOSS,
        r"\frac{\partial \|A - y\|^2}{\partial A} = 2(A - y)",
        f"{NOTES}, loss table (squared loss); {COOKBOOK} eq. 131",
        _squared,
        _loss_example,
        loss="squared",
    ),
    Rule(
        "nll",
        Kind.LOSS,
        r"\frac{\partial}{\partial A}\left(-\sum \left(y \log A + (1-y)\log(1-A)\right)\right)"
        r" = -\frac{y}{A} + \frac{1-y}{1-A}",
        f"{NOTES}, loss table (NLL with a sigmoid output); 6.390 notes, Classification",
        _nll,
        _loss_example,
        loss="nll",
    ),
    Rule(
        "nllm",
        Kind.LOSS,
        r"\frac{\partial}{\partial A}\left(-\sum_k y_k \log A_k\right) = -\frac{y}{A}",
        f"{NOTES}, loss table (multiclass NLL with a softmax output)",
        _nllm,
        _loss_example,
        loss="nllm",
    ),
)

FUSED: tuple[Rule, ...] = (
    Rule(
        "sigmoid with nll",
        Kind.FUSED,
        r"\frac{\partial L_{\text{nll}}}{\partial Z^L} = A^L - y,\ A^L = \sigma(Z^L)",
        f"{NOTES}, loss table (NLL + sigmoid); 6.390 notes, Classification (gradient (g - y)x)",
        lambda a, y: add(a, scale(-1, y)),
        _loss_example,
        activation="sigmoid",
        loss="nll",
    ),
    Rule(
        "softmax with nllm",
        Kind.FUSED,
        r"\frac{\partial L_{\text{nllm}}}{\partial Z^L} = A^L - y,\ A^L = "
        r"\operatorname{softmax}(Z^L),\ \textstyle\sum_k y_k = 1",
        f"{NOTES}, loss table (NLLM + softmax)",
        lambda a, y: add(a, scale(-1, y)),
        _loss_example,
        activation="softmax",
        loss="nllm",
    ),
)

BUILTIN_LOSSES = tuple(rule.loss for rule in LOSSES)


def loss_example() -> tuple[Symbol, Symbol]:
    """A small instance for checking a loss rule: A and y, 3 x 1."""
    return _loss_example()


def loss_rule(name: str, custom: Rule | None = None) -> Rule:
    """The built-in loss of that name, or ``custom`` (a spec's own loss) if it has that name."""
    if custom is not None and custom.loss == name:
        return custom
    for rule in LOSSES:
        if rule.loss == name:
            return rule
    raise NoRuleError(f"no rule for the loss {name!r}")


def fused_rule(activation: str, loss: str) -> Rule | None:
    for rule in FUSED:
        if rule.activation == activation and rule.loss == loss:
            return rule
    return None


__all__ = ["BUILTIN_LOSSES", "FUSED", "LOSSES", "fused_rule", "loss_example", "loss_rule"]
