"""Back-propagation over named quantities, the way it is taught.

For a graph of named forward quantities (:class:`~matcalc.specs.graph.Graph`) and its scalar
loss L, the gradient of every quantity Q that depends on a parameter is, from the loss back,

    dL/dQ = sum over the quantities U that use Q of  pullback(U's definition, Q, dL/dU),

each written in terms of the gradients of the quantities that use Q (a residual connection
gives a sum of two terms; a weight shared by several definitions a sum over its uses).  Every
parameter's gradient is the same sum over the definitions that use it.  Each value is built by
the pullback rules of the table and simplified with the definitions, so f'(.) is written from
the quantity's own name where it has one (H ⊙ (1 - H) for H = sigma(.)).

The same backprop (:func:`backprop_equations`) derives a ``[[layer]]`` network, the shorthand
for the forward equations Z^l = (W^l)^T A^{l-1} + W_0^l, A^l = f(Z^l): there A^l is inlined
(dL/dZ^l refers to dL/dZ^{l+1} by name), and the loss table gives the gradient at A^L (or the
fused rule dL/dZ^L at once).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sympy

from matcalc.core.collector import collector_paused
from matcalc.core.expr import Derivative, Expr, Fill, Symbol, add, scale
from matcalc.core.record import record
from matcalc.core.rule import Rule
from matcalc.core.shapes import SCALAR, Shape
from matcalc.engine.pullback import pullback
from matcalc.engine.simplify import simplify
from matcalc.specs.equations import ForwardEquations

# Graph specs are read through the LaTeX reader: their modules load only when one is derived, so
# that deriving a network does not import the reader and its parser.
if TYPE_CHECKING:
    import numpy as np

    from matcalc.specs.graph import Graph


@record
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
        from matcalc.core import numeric

        env = dict(values)
        for quantity in self.graph.quantities:
            env[quantity] = numeric.evaluate(self.graph.definitions[quantity], env)
        return env

    def backward(self, env: dict[Expr, np.ndarray]) -> dict[Expr, np.ndarray]:
        """Add to a forward environment the value of every assignment."""
        from matcalc.core import numeric

        for assignment in self.assignments:
            env[assignment.target] = numeric.evaluate(assignment.value, env)
        return env

    def iter_gradients(self) -> Iterator[tuple[str, Assignment]]:
        yield from zip(self.graph.parameter_keys, self.parameters, strict=True)


def graph_note(graph: Graph) -> str:
    """The statement of the layout and of what is differentiated, on every output."""
    from matcalc.specs.context import LAYOUT_NOTES

    layout = LAYOUT_NOTES[graph.context.layout]
    return (
        f"back-propagation over named quantities; {layout}; the loss is {graph.loss_key}, "
        f"the parameters {', '.join(graph.parameter_keys)}"
    )


Seeds = Mapping[Symbol, tuple[Expr, tuple[Rule, ...]]]
"""Gradients reaching a quantity given outright, with the rules that give them: the loss's
seed 1, or the loss table's dL/dA^L."""


def backprop_equations(
    equations: ForwardEquations,
    seeds: Seeds,
    carried: Symbol | None = None,
    objective: Symbol | None = None,
    parameter_scale: int | sympy.Expr = 1,
) -> tuple[tuple[Assignment, ...], tuple[Assignment, ...]]:
    """d(carried)/dQ for every named quantity Q that needs one, from the loss back, then
    d(objective)/dP for every parameter P.

    The gradient reaching a quantity is its seed where it has one, else the sum of the
    pullbacks through the definitions that use it of the gradients reaching those, named
    (d(carried)/dU) or, for an inlined U, written out.  A parameter's gradient pulls back
    ``parameter_scale`` times the named gradients (the scale between the objective and the
    carried quantity, 1/K for a batch's cost).  ``carried`` and ``objective`` default to the
    loss.
    """
    loss = equations.loss
    carried = loss if carried is None else carried
    objective = carried if objective is None else objective
    definitions = equations.definitions
    trainable = equations.trainable

    def users_of(symbol: Symbol) -> tuple[Symbol, ...]:
        return tuple(u for u in equations.users.get(symbol, ()) if u == loss or u in trainable)

    def reaching(user: Symbol, used: list[Rule], uses: list[Symbol], factor: object) -> Expr:
        """The gradient reaching ``user``, as the pullbacks through its definition take it:
        by name where the user has a named gradient, else its seed or written out."""
        if user != loss and user not in equations.inlined:
            uses.append(user)
            return scale(factor, Derivative(carried, user))
        return pulled_back(user, used, uses, factor)

    def pulled_back(symbol: Symbol, used: list[Rule], uses: list[Symbol], factor: object) -> Expr:
        """The gradient reaching ``symbol``: its seed, or the sum over its users."""
        if symbol in seeds:
            value, rules = seeds[symbol]
            used.extend(rule for rule in rules if rule not in used)
            return value
        contributions = [
            pullback(definitions[u], symbol, reaching(u, used, uses, factor), used)
            for u in users_of(symbol)
        ]
        return add(*contributions)

    def gradient_of(symbol: Symbol, numerator: Symbol, factor: object) -> Assignment:
        used: list[Rule] = []
        uses: list[Symbol] = []
        value = simplify(pulled_back(symbol, used, uses, factor), equations.scope(symbol), used)
        target = Derivative(numerator, symbol)
        return Assignment(target, value, tuple(used), tuple(dict.fromkeys(uses)))

    named = (
        q
        for q in reversed(equations.quantities)
        if q != loss and q in trainable and q not in equations.inlined and q not in equations.given
    )
    quantities = tuple(gradient_of(q, carried, 1) for q in named)
    parameters = tuple(gradient_of(p, objective, parameter_scale) for p in equations.parameters)
    return quantities, parameters


@collector_paused()
def backprop(graph: Graph) -> GraphDerivation:
    """dL/dQ for every quantity Q the loss depends on through a parameter, from the loss
    back, then dL/dP for every parameter P."""
    seed = Fill(sympy.Integer(1), SCALAR)
    quantities, parameters = backprop_equations(graph.equations, {graph.loss: (seed, ())})
    return GraphDerivation(graph, quantities, parameters, graph_note(graph))


__all__ = ["Assignment", "GraphDerivation", "Seeds", "backprop", "backprop_equations", "graph_note"]
