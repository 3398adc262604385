"""Rewrite an expression to its tidy form with the rewrite rules of the table.

Rules are tried bottom up until none applies.  Every rule keeps the shape, which the node
constructors check again on every rebuild.
"""

from __future__ import annotations

from matcalc.core.expr import Expr
from matcalc.engine.rules import REWRITES, Definitions, Rule

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
    settled: dict[int, Expr] = {}
    for _ in range(MAX_PASSES):
        rewritten = _rewrite_once(expr, definitions, used, rules, settled)
        if rewritten is expr:
            return expr
        expr = rewritten
    raise RuntimeError(f"simplification did not settle after {MAX_PASSES} passes: {expr}")


def _rewrite_once(
    expr: Expr,
    definitions: Definitions,
    used: list[Rule] | None,
    rules: tuple[Rule, ...],
    settled: dict[int, Expr],
) -> Expr:
    """One bottom-up pass; returns ``expr`` itself exactly when no rule applies anywhere in it.

    Such subtrees are recorded in ``settled`` (by identity, the node kept alive there) and not
    visited again in later passes: the rules depend only on the node and the definitions.
    """
    if id(expr) in settled:
        return expr
    original = expr
    if expr.children:
        children = tuple(_rewrite_once(c, definitions, used, rules, settled) for c in expr.children)
        if any(new is not old for new, old in zip(children, expr.children, strict=True)):
            expr = expr.rebuild(children)
    for rule in rules:
        result = rule.apply(expr, definitions)
        if result is not None and result != expr:
            if used is not None and rule not in used:
                used.append(rule)
            return result
    if expr is original:
        settled[id(expr)] = expr
    return expr
