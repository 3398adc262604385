"""The rule walkers: reverse mode and Jacobians, one rule of the table per step.

:func:`pullback` walks an expression from the top down, turning the gradient of a scalar loss
with respect to a node into its gradient with respect to a symbol inside it (reverse mode);
:func:`jacobian` builds dY/dX for columns in denominator layout.  Both look up every step in the
rule table and fail with :class:`~matcalc.engine.rules.NoRuleError` when no rule applies.
"""

from __future__ import annotations

from matcalc.core.expr import Expr, Identity, Symbol, add, matmul
from matcalc.engine.rules import NoRuleError, Rule, jacobian_rule, pullback_rule


def _depends_on(expr: Expr, symbol: Expr) -> bool:
    return any(node == symbol for node in expr.walk())


def pullback(expr: Expr, wrt: Symbol, upstream: Expr, used: list[Rule] | None = None) -> Expr:
    """dL/d(wrt), given ``upstream`` = dL/d(expr) and expr's dependence on ``wrt``."""
    contributions: list[Expr] = []

    def visit(node: Expr, gradient: Expr) -> None:
        if node == wrt:
            contributions.append(gradient)
            return
        for position, child in enumerate(node.children):
            if _depends_on(child, wrt):
                rule = pullback_rule(node, position)
                _note(used, rule)
                visit(child, rule.apply(node, position, gradient))

    visit(expr, upstream)
    if not contributions:
        raise NoRuleError(f"{expr} does not depend on {wrt}")
    return add(*contributions)


def jacobian(expr: Expr, wrt: Symbol, used: list[Rule] | None = None) -> Expr:
    """dY/dX for a column Y = expr of a column X = wrt, in denominator layout (dim X x dim Y)."""
    if expr == wrt:
        return Identity(wrt.shape[0])
    terms: list[Expr] = []
    for position, child in enumerate(expr.children):
        if not _depends_on(child, wrt):
            continue
        rule = jacobian_rule(expr, position)
        _note(used, rule)
        local = rule.apply(expr, position)
        terms.append(matmul(jacobian(child, wrt, used), local))
    if not terms:
        raise NoRuleError(f"{expr} does not depend on {wrt}")
    return add(*terms)


def _note(used: list[Rule] | None, rule: Rule) -> None:
    if used is not None and rule not in used:
        used.append(rule)


__all__ = ["jacobian", "pullback"]
