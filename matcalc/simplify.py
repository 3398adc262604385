"""Rewrite an expression to its tidy form with the rewrite rules of the table.

Rules are tried bottom up until none applies.  Every rule keeps the shape, which the node
constructors check again on every rebuild.
"""

from __future__ import annotations

from matcalc.expr import Expr
from matcalc.rules import REWRITES, Definitions, Rule

MAX_PASSES = 64


def simplify(
    expr: Expr,
    definitions: Definitions | None = None,
    used: list[Rule] | None = None,
    rules: tuple[Rule, ...] = REWRITES,
) -> Expr:
    """The expression rewritten until no rule of :data:`REWRITES` applies.

    ``definitions`` maps named forward quantities to what they stand for (A^l -> f(Z^l)), so
    that f(Z^l) is written A^l and f'(Z^l) in closed form.  Rules applied are appended to
    ``used`` when given.  ``rules`` narrows the table (to keep f'(Z) unrewritten, say).
    """
    definitions = definitions or {}
    for _ in range(MAX_PASSES):
        rewritten = _rewrite_once(expr, definitions, used, rules)
        if rewritten == expr:
            return expr
        expr = rewritten
    raise RuntimeError(f"simplification did not settle after {MAX_PASSES} passes: {expr}")


def _rewrite_once(
    expr: Expr, definitions: Definitions, used: list[Rule] | None, rules: tuple[Rule, ...]
) -> Expr:
    if expr.children:
        children = tuple(_rewrite_once(c, definitions, used, rules) for c in expr.children)
        if children != expr.children:
            expr = expr.rebuild(children)
    for rule in rules:
        result = rule.apply(expr, definitions)
        if result is not None and result != expr:
            if used is not None and rule not in used:
                used.append(rule)
            return result
    return expr
