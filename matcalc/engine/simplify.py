"""Rewrite an expression to its tidy form with the rewrite rules of the table.

Rules are tried bottom up until none applies.  Every rule keeps the shape, which the node
constructors check again on every rebuild.

The table is indexed by node type, as a pattern table is indexed by operation: at a node only
the rules that can match its type are tried, in the table's order, so the first rule that
applies is the same one the whole table would find.
"""

from __future__ import annotations

from matcalc.core.expr import (
    Add,
    Apply,
    Cdots,
    Commutation,
    Derivative,
    Diag,
    Expr,
    Fill,
    Hadamard,
    Identity,
    Inverse,
    MatMul,
    Softmax,
    Sum,
    Symbol,
    Trace,
    Transpose,
)
from matcalc.engine.rules import REWRITES, Definitions, Rule

MAX_PASSES = 64

# The node types at which each rewrite of the table can apply (its function returns None at
# every other node).  A rule missing here, and without a ``node`` of its own, is tried at every
# node: slower, never wrong.
NODE_TYPES: dict[str, tuple[type, ...]] = {
    "transpose of a product": (Transpose,),
    "transpose of a sum": (Transpose,),
    "transpose of a multiple": (Transpose,),
    "diagonal times a column": (MatMul,),
    "diagonal of ones": (Diag,),
    "identity factor": (MatMul,),
    "ones in an elementwise product": (Hadamard,),
    "scalars out of an elementwise product": (Hadamard,),
    "derivative of an activation from its output": (Apply,),
    "derivative of a user's function": (Apply,),
    "elementary derivatives": (Apply,),
    "forward quantities by name": (Apply, Softmax),
    "constants first": (Add,),
    "inverse of a transpose": (Inverse,),
    "inverse of an inverse": (Inverse,),
    "trace of a scalar": (Trace, Sum),
    "log of a determinant": (Apply,),
    "transpose of a scalar times a matrix": (Transpose,),
    "scalars out of a product": (MatMul, Hadamard),
    "constant scalar factor": (MatMul,),
    "like terms": (Add,),
    "inverse cancels": (MatMul,),
    "constants out of a sum or trace": (Sum, Trace),
    "common right factor": (Add,),
}


LEAF_TYPES = (Symbol, Fill, Identity, Derivative, Cdots, Commutation)


def node_types(rule: Rule) -> tuple[type, ...] | None:
    """The node types a rewrite can apply at, or None for every node."""
    if rule.node is not None:
        return (rule.node,)
    return NODE_TYPES.get(rule.name)


class RuleIndex:
    """The rules of a table that can apply at each node type, in the table's order."""

    __slots__ = ("rules", "_by_type", "_types", "inert")

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._types = [node_types(rule) for rule in rules]
        self._by_type: dict[type, tuple[Rule, ...]] = {}
        # Leaf types (no children of their own) at which no rule of the table applies.
        self.inert = frozenset(
            leaf for leaf in LEAF_TYPES if leaf.children is Expr.children and not self.at(leaf)
        )

    def at(self, node_type: type) -> tuple[Rule, ...]:
        found = self._by_type.get(node_type)
        if found is None:
            found = tuple(
                rule
                for rule, types in zip(self.rules, self._types, strict=True)
                if types is None or issubclass(node_type, types)
            )
            self._by_type[node_type] = found
        return found


# One index per rule table, kept by the table's identity (the table itself is kept alive here).
_INDEXES: dict[int, RuleIndex] = {}


def rule_index(rules: tuple[Rule, ...]) -> RuleIndex:
    index = _INDEXES.get(id(rules))
    if index is None or index.rules is not rules:
        index = _INDEXES[id(rules)] = RuleIndex(rules)
    return index


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
    index = rule_index(rules)
    settled: dict[int, Expr] = {}
    for _ in range(MAX_PASSES):
        rewritten = _rewrite_once(expr, definitions, used, index, settled)
        if rewritten is expr:
            return expr
        expr = rewritten
    raise RuntimeError(f"simplification did not settle after {MAX_PASSES} passes: {expr}")


def _rewrite_once(
    expr: Expr,
    definitions: Definitions,
    used: list[Rule] | None,
    index: RuleIndex,
    settled: dict[int, Expr],
) -> Expr:
    """One bottom-up pass; returns ``expr`` itself exactly when no rule applies anywhere in it.

    Such subtrees are recorded in ``settled`` (by identity, the node kept alive there) and not
    visited again in later passes: the rules depend only on the node and the definitions.
    """
    if id(expr) in settled:
        return expr
    original = expr
    old = expr.children
    if old:
        changed = False
        children = []
        inert = index.inert
        for child in old:
            if child.__class__ in inert:  # a leaf no rule applies to: settled as it is
                children.append(child)
                continue
            new = _rewrite_once(child, definitions, used, index, settled)
            changed = changed or new is not child
            children.append(new)
        if changed:
            expr = expr.rebuild(tuple(children))
    node_type = type(expr)
    rules = index._by_type.get(node_type) or index.at(node_type)
    for rule in rules:
        result = rule.apply(expr, definitions)
        if result is not None and result != expr:
            if used is not None and rule not in used:
                used.append(rule)
            return result
    if expr is original:
        settled[id(expr)] = expr
    return expr
