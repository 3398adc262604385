"""Back-propagation over named quantities, the way it is taught.

For a graph of named forward quantities (:class:`~matcalc.specs.graph.Graph`) and its scalar
loss L, the gradient of every quantity Q that depends on a parameter is, from the loss back,

    dL/dQ = sum over the quantities U that use Q of  pullback(U's definition, Q, dL/dU),

each written in terms of the gradients of the quantities that use Q (a residual connection
gives a sum of two terms; a weight shared by several definitions a sum over its uses).  Every
parameter's gradient is the same sum over the definitions that use it.  Each value is built by
the pullback rules of the table and simplified with the definitions, so f'(.) is written from
the quantity's own name where it has one (H ⊙ (1 - H) for H = sigma(.)).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import sympy

from matcalc.core import numeric
from matcalc.core.expr import Derivative, Expr, Fill, Symbol, add
from matcalc.core.rule import Rule
from matcalc.core.shapes import SCALAR, Shape
from matcalc.engine.pullback import pullback
from matcalc.engine.simplify import simplify
from matcalc.specs.context import LAYOUT_NOTES
from matcalc.specs.graph import Graph


@dataclass(frozen=True)
class Assignment:
    """One line of backprop: ``target`` (dL/dQ) = ``value``, by ``rules``."""

    target: Derivative
    value: Expr
    rules: tuple[Rule, ...]
    uses: tuple[Symbol, ...] = ()
    """The quantities whose gradients the value was pulled back from."""

    @property
    def of(self) -> Symbol:
        assert isinstance(self.target.den, Symbol)
        return self.target.den

    @property
    def shape(self) -> Shape:
        return self.target.shape


@dataclass
class GraphDerivation:
    """The gradient of every quantity from the loss back, then of every parameter."""

    graph: Graph
    quantities: tuple[Assignment, ...]
    parameters: tuple[Assignment, ...]
    note: str = field(default="")

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        """In the order they are computed: each refers only to forward values and to the
        gradients before it."""
        return self.quantities + self.parameters

    def gradient(self, name: str) -> Assignment:
        """The gradient of the parameter named like "W_1", "\\gamma", "b"."""
        from matcalc.specs.context import name_key

        key = name_key(name)
        for assignment, parameter_key in zip(
            self.parameters, self.graph.parameter_keys, strict=True
        ):
            if parameter_key == key:
                return assignment
        known = ", ".join(self.graph.parameter_keys)
        raise KeyError(f"no parameter {name!r}; the graph's parameters are {known}")

    def needed_for(self, assignment: Assignment) -> tuple[Assignment, ...]:
        """The assignments ``assignment`` needs, in order, ending with itself."""
        by_symbol = {a.of: a for a in self.quantities}
        wanted: set[Symbol] = set()
        pending = list(assignment.uses)
        while pending:
            symbol = pending.pop()
            if symbol in wanted or symbol not in by_symbol:
                continue
            wanted.add(symbol)
            pending.extend(by_symbol[symbol].uses)
        return (*(a for a in self.quantities if a.of in wanted), assignment)

    def forward(self, values: dict[Expr, np.ndarray]) -> dict[Expr, np.ndarray]:
        """The environment of the declared values with every named quantity added."""
        env = dict(values)
        for quantity in self.graph.quantities:
            env[quantity] = numeric.evaluate(self.graph.definitions[quantity], env)
        return env

    def backward(self, env: dict[Expr, np.ndarray]) -> dict[Expr, np.ndarray]:
        """Add to a forward environment the value of every assignment."""
        for assignment in self.assignments:
            env[assignment.target] = numeric.evaluate(assignment.value, env)
        return env

    def iter_gradients(self) -> Iterator[tuple[str, Assignment]]:
        yield from zip(self.graph.parameter_keys, self.parameters, strict=True)


def graph_note(graph: Graph) -> str:
    """The statement of the layout and of what is differentiated, on every output."""
    layout = LAYOUT_NOTES[graph.context.layout]
    return (
        f"back-propagation over named quantities; {layout}; the loss is {graph.loss_key}, "
        f"the parameters {', '.join(graph.parameter_keys)}"
    )


def backprop(graph: Graph) -> GraphDerivation:
    """dL/dQ for every quantity Q the loss depends on through a parameter, from the loss
    back, then dL/dP for every parameter P."""
    loss = graph.loss
    definitions = graph.definitions
    seed = Fill(sympy.Integer(1), SCALAR)

    def upstream(user: Symbol) -> Expr:
        return seed if user == loss else Derivative(loss, user)

    def gradient_of(symbol: Symbol) -> Assignment:
        used: list[Rule] = []
        users = tuple(u for u in graph.users.get(symbol, ()) if u == loss or u in graph.trainable)
        contributions = [pullback(definitions[u], symbol, upstream(u), used) for u in users]
        value = simplify(add(*contributions), definitions, used)
        target = Derivative(loss, symbol)
        return Assignment(target, value, tuple(used), tuple(u for u in users if u != loss))

    quantities = tuple(
        gradient_of(q) for q in reversed(graph.quantities) if q != loss and q in graph.trainable
    )
    parameters = tuple(gradient_of(p) for p in graph.parameters)
    return GraphDerivation(graph, quantities, parameters, graph_note(graph))


__all__ = ["Assignment", "GraphDerivation", "backprop", "graph_note"]
