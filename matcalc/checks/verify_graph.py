"""verify for a graph spec: is a hand-written backprop line right?

The left side names the gradient of the loss by a parameter or by a named quantity
(``\\frac{\\partial L}{\\partial A_1}``, ``\\nabla_{W_1} L``); the right side may use every
declared and named quantity and the gradients of the named quantities, as backprop is
written.  The graph goes through the one pipeline of :func:`matcalc.checks.verify.verify`,
with the graph's strategy (:class:`matcalc.checks.expression.GraphStrategy`): nothing is
expanded, both sides are evaluated over the forward and backward values of the graph
(:mod:`matcalc.engine.backprop`), and the expected formula is matcalc's own backprop line.
"""

from __future__ import annotations

from matcalc.checks.expression import GraphStrategy, verify_expression
from matcalc.checks.verify import Verdict
from matcalc.specs.graph import Graph


def verify_graph(graph: Graph, equation: str) -> Verdict:
    """Whether ``equation`` (LaTeX, ``lhs = rhs``) holds for the graph, and why."""
    return verify_expression(GraphStrategy(graph), equation)


__all__ = ["verify_graph"]
