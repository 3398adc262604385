"""Backprop over a network's forward equations.

:func:`derive` runs the one backprop over named quantities
(:func:`matcalc.engine.backprop.backprop_equations`) over the graph a ``[[layer]]`` network is
shorthand for (:meth:`matcalc.specs.network.Network.equations`), and returns the ordered
assignments dL/dZ^l, dL/dW^l, dL/dW_0^l, each with its value and the rules that made it.  A^l's
gradient is carried inline, so dL/dZ^l refers to dL/dZ^{l+1} by name and deriving every layer
costs time linear in depth.  The chain forms, braces, variants and steps printed beside them
are built by the printers from the network and these assignments (:mod:`matcalc.printers.chains`).

The same engine serves every convention (:mod:`matcalc.specs.conventions`): the network supplies the
forward expressions (W^T A + W_0 or W A + b, with b 1_K^T over a batch), and the quantity
carried from layer to layer is the per-example dL/dZ^l (the 1/K of the cost applied in the
weight and bias gradients) or, in Goodfellow's convention, the running gradient dJ/da^{(k)}.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import sympy

from matcalc.core.collector import collector_paused
from matcalc.core.expr import Derivative, Expr, Fill, Symbol, add, scale
from matcalc.core.losses import fused_rule
from matcalc.core.record import record
from matcalc.core.rule import Rule
from matcalc.core.shapes import ONE, Shape, index_text
from matcalc.engine.backprop import Assignment, backprop_equations
from matcalc.engine.pullback import pullback
from matcalc.engine.simplify import simplify
from matcalc.specs.conventions import MIT_6390
from matcalc.specs.network import Network

if TYPE_CHECKING:
    import numpy as np

CONVENTION_NOTE = MIT_6390.note


def convention_note(network: Network) -> str:
    """The statement of the network's convention that every output carries."""
    note = network.declaration.note
    if network.batch_size is not None:
        k = network.columns
        along = "rows" if network.declaration.examples_as_rows else "columns"
        note += (
            f"; batch of {k} examples as {along}, cost J = (1/{k}) * sum of the per-example "
            "losses, biases broadcast over the batch"
        )
    return note + network.decay_note()


# ----------------------------------------------------------------------- network results


def d(num: Expr, den: Expr, shape: Shape | None = None) -> Derivative:
    """The derivative dnum/dden as a named quantity (``shape`` where the layout gives none)."""
    return Derivative(num, den, shape)


@record
class LayerDerivation:
    """Layer l's three assignments: dL/dZ^l (``backprop``), dL/dW^l, dL/dW_0^l."""

    layer: int | sympy.Expr
    backprop: Assignment
    weight: Assignment
    bias: Assignment

    @property
    def dz(self) -> Derivative:
        return self.backprop.target

    @property
    def dz_value(self) -> Expr:
        return self.backprop.value

    @property
    def dz_rules(self) -> tuple[Rule, ...]:
        return self.backprop.rules

    @property
    def dw(self) -> Derivative:
        return self.weight.target

    @property
    def dw_value(self) -> Expr:
        return self.weight.value

    @property
    def dw0(self) -> Derivative:
        return self.bias.target

    @property
    def dw0_value(self) -> Expr:
        return self.bias.value


@record
class Gradient:
    """dL/dW^l or dL/dW_0^l: its simplified (backprop) form, which refers to dL/dZ^l, itself
    given by ``recursion``.

    Its chain forms, with every factor named or given its value, are built by the printers
    (:func:`matcalc.printers.chains.chain_forms`): a chain has a factor per layer above l, so
    all of them together grow with the square of the depth, while the simplified forms grow
    linearly.
    """

    target: Derivative
    simplified: Expr
    recursion: tuple[Derivative, Expr]
    layer: int | sympy.Expr
    derivation: Derivation = field(compare=False, repr=False)

    @property
    def shape(self) -> Shape:
        return self.target.shape

    @property
    def key(self) -> str:
        """The parameter's name as in design.md's numpy contract: "W^2", "W_0^2"."""
        symbol = self.target.den
        assert isinstance(symbol, Symbol)
        sub = f"_{symbol.sub}" if symbol.sub else ""
        return f"{symbol.name}{sub}^{index_text(symbol.index)}"

    def _repr_latex_(self) -> str:
        from matcalc.printers.latex import gradient_latex

        return f"$\\displaystyle {gradient_latex(self)}$"

    def _repr_markdown_(self) -> str:
        """The lecture view in a notebook: the chain and its simplified form, each factor with
        its shape under it, then what dL/dZ^l is."""
        from matcalc.printers.braces import operand_latex, shaped
        from matcalc.printers.chains import chain_forms
        from matcalc.printers.latex import to_latex

        def factors(expr: Expr) -> str:
            parts = getattr(expr, "factors", (expr,))
            return r"\,".join(shaped(operand_latex(part), part.shape) for part in parts)

        rows = [
            f"{to_latex(self.target)} &= {factors(chain_forms(self)[0])}",
            f" &= {factors(self.simplified)}",
        ]
        name, value = self.recursion
        rows.append(rf"\text{{where }} {to_latex(name)} &= {to_latex(value)}")
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$\n"

    def __repr__(self) -> str:
        from matcalc.printers.latex import to_latex

        rows, cols = self.shape
        return f"<Gradient {self.key} ({rows} x {cols}) = {to_latex(self.simplified)}>"


@dataclass
class Derivation:
    """Every dL/dZ^l, dL/dW^l and dL/dW_0^l of a network, in the order backprop finds them.

    ``views`` keeps what the printers build from the assignments when first asked for (the
    chain forms); the engine puts nothing there.
    """

    network: Network
    backprop: tuple[Assignment, ...]
    convention: str = CONVENTION_NOTE
    views: dict = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def layers(self) -> dict[int | sympy.Expr, LayerDerivation]:
        """Each layer's three assignments, from the output layer down."""
        indices = reversed(self.network.indices())
        triples = zip(*[iter(self.backprop)] * 3, strict=True)
        return {
            l: LayerDerivation(l, dz, dw, dw0)
            for l, (dz, dw, dw0) in zip(indices, triples, strict=True)
        }

    def gradient(self, name: str) -> Gradient:
        """The gradient for a parameter named like "W^2", "W_0^2", "W^L", "b^{[2]}", "W^{(2)}"."""
        bare = "".join(c for c in name if c not in "{}[]()")
        for gradient in self.gradients():
            if gradient.key == bare:
                return gradient
        known = ", ".join(g.key for g in self.gradients())
        raise KeyError(f"no parameter {name!r}; the network has {known}")

    def gradients(self) -> Iterator[Gradient]:
        for l in self.network.indices():
            yield self.weight_gradient(l)
            yield self.bias_gradient(l)

    def weight_gradient(self, l: int | sympy.Expr) -> Gradient:
        """dL/dW^l: A^{l-1} (dL/dZ^l)^T where Z = W^T A, (dL/dZ^l) (A^{l-1})^T where Z = W A."""
        layer = self.layers[l]
        return Gradient(layer.dw, layer.dw_value, (layer.dz, layer.dz_value), l, self)

    def bias_gradient(self, l: int | sympy.Expr) -> Gradient:
        layer = self.layers[l]
        return Gradient(layer.dw0, layer.dw0_value, (layer.dz, layer.dz_value), l, self)

    def assignments(self) -> Iterator[tuple[Derivative, Expr]]:
        """Backprop in order: dL/dZ^l, dL/dW^l, dL/dW_0^l with their values, from l = L down.

        Each value refers only to forward quantities and to what came before it.
        """
        for assignment in self.backprop:
            yield assignment.target, assignment.value

    def backward(self, env: dict[Expr, np.ndarray]) -> dict[Expr, np.ndarray]:
        """Add to a forward environment the value of every dL/dZ^l, dL/dW^l and dL/dW_0^l."""
        from matcalc.core import numeric

        for target, value in self.assignments():
            env[target] = numeric.evaluate(value, env)
        return env

    def numeric_gradients(
        self, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The simplified gradients' values, keyed like ``params``."""
        env = self.backward(self.network.forward(params, x, y))
        return {g.key: env[g.target] for g in self.gradients()}

    def _repr_latex_(self) -> str:
        from matcalc.printers.latex import derivation_latex

        return f"$$\n{derivation_latex(self)}\n$$"

    def _repr_markdown_(self) -> str:
        """The lecture view in a notebook: the layer-by-layer chains with their braces and
        shapes, as ``matcalc derive --format markdown`` prints them."""
        from matcalc.printers.render import render_derivation

        return render_derivation(self, "markdown")

    def __repr__(self) -> str:
        keys = ", ".join(gradient.key for gradient in self.gradients())
        return f"<Derivation of {self.network.depth or len(self.network.layers)} layers: {keys}>"


@collector_paused()
def derive(network: Network) -> Derivation:
    """Backprop over the network's forward equations: for each layer from L down to 1,
    dL/dZ^l, dL/dW^l, dL/dW_0^l.

    The network is the graph of named quantities Z^l and A^l (:meth:`Network.equations`),
    derived by the one backprop over named quantities, with dL/dA^L from the loss table (or
    dL/dZ^L at once by the fused rule of the output's activation and the loss).  The carried
    quantity is dL/dZ^l for the (summed) loss L, or dJ/dZ^l where the convention carries the
    cost's gradient; the parameter gradients are those of the objective (J = L/K over a
    batch), so the upstream for them is the carried quantity times the scale between the two.
    """
    last = network.last
    carried = network.carried_symbol()
    objective = network.objective()
    carried_scale = network.cost_scale if carried == network.cost_symbol() else 1
    objective_scale = 1 if objective == network.loss_symbol() else network.cost_scale
    output, target = network.activation(last), network.target()
    at_output = scale(carried_scale, network.loss_rule().apply(output, target)[1])
    seeds: dict[Symbol, tuple[Expr, tuple[Rule, ...]]] = {output: (at_output, ())}
    fused = fused_rule(network.activation_name(last), network.loss)
    if fused is not None:
        seeds[network.pre_activation(last)] = (
            scale(carried_scale, fused.apply(output, target)),
            (fused,),
        )
    quantities, parameters = backprop_equations(
        network.equations(),
        seeds,
        carried,
        objective,
        sympy.sympify(objective_scale) / carried_scale,
    )
    if network.decay is not None:
        parameters = tuple(_with_decay(network, a) for a in parameters)
    by_target = {a.target.den: a for a in (*quantities, *parameters)}
    assignments = tuple(
        by_target[symbol]
        for l in reversed(network.indices())
        for symbol in (network.pre_activation(l), network.weight(l), network.bias(l))
    )
    return Derivation(network, assignments, convention_note(network))


def _with_decay(network: Network, assignment: Assignment) -> Assignment:
    """A weight's gradient plus that of its part of J's (lambda/2) ||W^l||_F^2: + lambda W^l."""
    weight = assignment.of
    layer = next((l for l in network.indices() if network.weight(l) == weight), None)
    if layer is None:
        return assignment  # a bias: not regularized
    rules = list(assignment.rules)
    decay = pullback(network.decay_term(layer), weight, Fill(1, (ONE, ONE)), rules)
    value = add(assignment.value, simplify(decay, None, rules))
    return Assignment(assignment.target, value, tuple(rules), assignment.uses)


__all__ = [
    "CONVENTION_NOTE",
    "Derivation",
    "Gradient",
    "LayerDerivation",
    "convention_note",
    "derive",
]
