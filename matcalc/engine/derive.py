"""The chain-rule engine.

:func:`pullback` walks an expression from the top down, turning the gradient of a scalar loss
with respect to a node into its gradient with respect to a symbol inside it (reverse mode);
:func:`jacobian` builds dY/dX for columns in denominator layout.  Both look up every step in the
rule table and fail with :class:`~matcalc.engine.rules.NoRuleError` when no rule applies.

:func:`derive` runs them backwards over a network.  Backprop shares dL/dZ^l between layers
(dL/dZ^l refers to dL/dZ^{l+1} by name), so deriving every layer costs time linear in depth.

The same engine serves every convention (:mod:`matcalc.specs.conventions`): the network supplies the
forward expressions (W^T A + W_0 or W A + b, with b 1_K^T over a batch), and the quantity
carried from layer to layer is the per-example dL/dZ^l (the 1/K of the cost applied in the
weight and bias gradients) or, in Goodfellow's convention, the running gradient dJ/da^{(k)}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy

from matcalc.core import numeric
from matcalc.core.expr import (
    Cdots,
    Derivative,
    Expr,
    Fill,
    Identity,
    Symbol,
    add,
    matmul,
    scale,
    substitute,
    transpose,
)
from matcalc.core.losses import fused_rule
from matcalc.core.shapes import ONE, Shape, index_text
from matcalc.engine.rules import (
    REWRITES,
    NoRuleError,
    Rule,
    jacobian_rule,
    pullback_rule,
    rule_named,
)
from matcalc.engine.simplify import simplify
from matcalc.specs.conventions import MIT_6390
from matcalc.specs.network import Network

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


# ----------------------------------------------------------------------- network results


def d(num: Expr, den: Expr, shape: Shape | None = None) -> Derivative:
    """The derivative dnum/dden as a named quantity (``shape`` where the layout gives none)."""
    return Derivative(num, den, shape)


@dataclass(frozen=True)
class Factor:
    """One named Jacobian of a chain and its value: dA^l/dZ^l = diag(1 - A^l ⊙ A^l).

    ``prime`` is the value with f'(Z^l) kept unrewritten, diag(f'(Z^l)), where that differs.
    """

    name: Derivative
    value: Expr
    rules: tuple[Rule, ...]
    prime: Expr | None = None

    @property
    def value_with_prime(self) -> Expr:
        return self.value if self.prime is None else self.prime


@dataclass(frozen=True)
class ChainGroup:
    """Consecutive factors that belong to one layer (or to the loss), for braces.

    ``layer`` is the layer's index (None for the loss unit and the elided layers).
    """

    label: str
    factors: tuple[Factor, ...]
    elided: Cdots | None = None
    layer: int | sympy.Expr | None = None


@dataclass(frozen=True)
class Line:
    """One line of a derivation: ``lhs`` = ``rhs`` by ``rules`` (``lhs`` None continues).

    ``shapes`` says whether the printer shows each factor of ``rhs`` with its shape; ``note``
    names a step that is no identity of the table (the chain rule itself).
    """

    lhs: Expr | None
    rhs: Expr
    rules: tuple[Rule, ...] = ()
    shapes: bool = True
    note: str = ""


@dataclass(frozen=True)
class Step:
    """One step of a derivation backwards from the loss: a title, then its lines.

    ``chain`` is, where the step shows it, the whole chain of ``chain_of`` (dL/dZ^l) with its
    layers.
    """

    title: str
    layer: int | sympy.Expr | None
    lines: tuple[Line, ...]
    chain: tuple[ChainGroup, ...] = ()
    chain_of: Expr | None = None


@dataclass(frozen=True)
class LayerDerivation:
    """What backprop finds at layer l.

    The last four fields are the steps of the recursion one at a time, as Goodfellow's
    Algorithm 6.4 writes them: the carried gradient at A^l (``output_gradient``), the carried
    dL/dZ^l from a named dL/dA^l (``dz_from_output``), and at A^{l-1} (``input_gradient``);
    ``fused`` is the rule that gave dL/dZ^L in one step, if any.
    """

    layer: int | sympy.Expr
    activation: Factor
    link: Factor | None
    loss: Factor | None
    weight_link: Factor
    dz: Derivative
    dz_value: Expr
    dz_rules: tuple[Rule, ...]
    dw: Derivative
    dw_value: Expr
    dw0: Derivative
    dw0_value: Expr
    output_gradient: Expr | None = None
    dz_from_output: Expr | None = None
    input_gradient: Expr | None = None
    fused: Rule | None = None
    dz_prime: Expr | None = None
    dz_diag: Expr | None = None

    def dz_form(self, derivative: str) -> Expr:
        """dL/dZ^l with f' "closed" (1 - A ⊙ A), kept as f'(Z) ("prime"), or as diag(f'(Z))."""
        forms = {"closed": self.dz_value, "prime": self.dz_prime, "diag": self.dz_diag}
        form = forms[derivative]
        return self.dz_value if form is None else form


@dataclass(frozen=True)
class Gradient:
    """dL/dW^l or dL/dW_0^l in its chain form and its simplified form.

    ``chain`` is the Jacobian chain with every factor given its value; ``chain_names`` the same
    chain with each factor named (dA^l/dZ^l, ...); ``simplified`` is the backprop form, which
    refers to dL/dZ^l, itself given by ``recursion``.  The chain forms are built when first
    asked for (``forms`` returns them): a chain has a factor per layer above l, so all of them
    together grow with the square of the depth, while the simplified forms grow linearly.
    """

    target: Derivative
    simplified: Expr
    recursion: tuple[Derivative, Expr]
    layer: int | sympy.Expr
    forms: Callable[[], tuple[Expr, Expr]] = field(compare=False, repr=False)

    @cached_property
    def _chain_forms(self) -> tuple[Expr, Expr]:
        return self.forms()

    @property
    def chain_names(self) -> Expr:
        return self._chain_forms[0]

    @property
    def chain(self) -> Expr:
        return self._chain_forms[1]

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
        from matcalc.printers.latex import to_latex

        def factors(expr: Expr) -> str:
            parts = getattr(expr, "factors", (expr,))
            return r"\,".join(shaped(operand_latex(part), part.shape) for part in parts)

        rows = [
            f"{to_latex(self.target)} &= {factors(self.chain_names)}",
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
    """Every dL/dW^l and dL/dW_0^l of a network, with the steps that led to them."""

    network: Network
    layers: dict[int | sympy.Expr, LayerDerivation]
    convention: str = CONVENTION_NOTE
    _chains: dict = field(default_factory=dict, repr=False)
    _expansions: dict = field(default_factory=dict, repr=False)

    def chain(self, l: int | sympy.Expr) -> tuple[ChainGroup, ...]:
        """dL/dZ^l as the seed's Notation 2 lays it out: layer l, then l+1, ..., L, the loss."""
        if l in self._chains:
            return self._chains[l]
        net = self.network.column_network()
        layer = self.layers[l]
        last = net.last
        if not net.symbolic and l != last and l + 1 not in self._chains:
            for k in range(last, int(l), -1):  # from the output down: no recursion in depth
                self.chain(k)
        if l == last:
            groups = (
                _layer_group(l, layer.activation),
                ChainGroup("Loss unit", (layer.loss,)),
            )
        elif net.symbolic:
            output = self.layers[last]
            groups = (
                _layer_group(l, layer.activation),
                ChainGroup("", (), Cdots((net.size(l), net.input_size(last - 1)))),
                _layer_group(
                    last - 1, _link_factor(net, last - 1), _activation_factor(net, last - 1)
                ),
                _layer_group(last, _link_factor(net, last), output.activation),
                ChainGroup("Loss unit", (output.loss,)),
            )
        else:
            following = self.chain(l + 1)
            head = _layer_group(l, layer.activation)
            merged = _layer_group(l + 1, layer.link, *following[0].factors)
            groups = (head, merged, *following[1:])
        self._chains[l] = groups
        return groups

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

    def _chain_products(self, l: int | sympy.Expr) -> tuple[Expr, Expr]:
        names: list[Expr] = []
        values: list[Expr] = []
        for group in self.chain(l):
            if group.elided is not None:
                names.append(group.elided)
                values.append(group.elided)
            for factor in group.factors:
                names.append(factor.name)
                values.append(factor.value)
        return matmul(*names), matmul(*values)

    def weight_gradient(self, l: int | sympy.Expr) -> Gradient:
        """dL/dW^l: dZ^l/dW^l (dL/dZ^l)^T where Z = W^T A, (dL/dZ^l) (dZ^l/dW^l)^T where Z = W A.

        Over a batch the Jacobian chain is that of one example (see :meth:`chain`), so the
        chain forms are the backprop form, named and with every dL/dZ^k written out.
        """
        layer = self.layers[l]

        def forms() -> tuple[Expr, Expr]:
            if self._backprop_chains:
                return layer.dw_value, self.expanded(layer.dw_value)
            names, values = self._chain_products(l)
            link = layer.weight_link
            if self.network.declaration.weight_is_transposed:
                return matmul(link.name, transpose(names)), matmul(link.value, transpose(values))
            return matmul(names, transpose(link.name)), matmul(values, transpose(link.value))

        return Gradient(layer.dw, layer.dw_value, (layer.dz, layer.dz_value), l, forms)

    def bias_gradient(self, l: int | sympy.Expr) -> Gradient:
        layer = self.layers[l]

        def forms() -> tuple[Expr, Expr]:
            if self.network.batch is not None or self.network.declaration.examples_as_rows:
                return layer.dw0_value, self.expanded(layer.dw0_value)
            return self._chain_products(l)

        return Gradient(layer.dw0, layer.dw0_value, (layer.dz, layer.dz_value), l, forms)

    @property
    def _backprop_chains(self) -> bool:
        """Whether a weight's chain form is its backprop form written out (a batch, a weight
        decay, examples as rows), not a product of one example's Jacobians."""
        net = self.network
        return net.batch is not None or net.decay is not None or net.declaration.examples_as_rows

    def expanded(self, expr: Expr) -> Expr:
        """``expr`` with every carried dL/dZ^k replaced by its value, recursively.

        dL/dZ^k's value refers only to layers above k (see :meth:`assignments`), so the
        expansions are built once from the output down, each over the ones before it.
        """
        if not self._expansions:
            for l in reversed(self.network.indices()):
                layer = self.layers[l]
                self._expansions[layer.dz] = substitute(layer.dz_value, self._expansions)
        return substitute(expr, self._expansions)

    def assignments(self) -> Iterator[tuple[Derivative, Expr]]:
        """Backprop in order: dL/dZ^l, dL/dW^l, dL/dW_0^l with their values, from l = L down.

        Each value refers only to forward quantities and to what came before it.
        """
        for l in reversed(self.network.indices()):
            layer = self.layers[l]
            yield layer.dz, layer.dz_value
            yield layer.dw, layer.dw_value
            yield layer.dw0, layer.dw0_value

    def backward(self, env: dict[Expr, np.ndarray]) -> dict[Expr, np.ndarray]:
        """Add to a forward environment the value of every dL/dZ^l, dL/dW^l and dL/dW_0^l."""
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


def _layer_group(l: int | sympy.Expr, *factors: Factor) -> ChainGroup:
    return ChainGroup(f"Layer {index_text(l)}", factors, layer=l)


CLOSED_FORMS = ("derivative of an activation from its output", "derivative of a user's function")
KEEP_PRIME = tuple(r for r in REWRITES if r.name not in CLOSED_FORMS)


def _activation_factor(net: Network, l: int | sympy.Expr) -> Factor:
    used: list[Rule] = []
    raw = jacobian(net.activation_expr(l), net.pre_activation(l), used)
    value = simplify(raw, net.definitions(l))
    prime = simplify(raw, net.definitions(l), rules=KEEP_PRIME)
    name = d(net.activation(l), net.pre_activation(l))
    return Factor(name, value, tuple(used), None if prime == value else prime)


def derive(network: Network) -> Derivation:
    """Backprop over the network: for each layer from L down to 1, dL/dZ^l, dL/dW^l, dL/dW_0^l.

    The carried quantity is dL/dZ^l for the (summed) loss L, or dJ/dZ^l where the convention
    carries the cost's gradient; the parameter gradients are those of the objective (J = L/K
    over a batch), so the engine's upstream for them is the carried quantity times the scale
    between the two.  The named Jacobians of the chain are those of one example.
    """
    layers: dict[int | sympy.Expr, LayerDerivation] = {}
    last = network.last
    example = network.column_network()
    carried = network.carried_symbol()
    objective = network.objective()
    carried_scale = network.cost_scale if carried == network.cost_symbol() else 1
    objective_scale = 1 if objective == network.loss_symbol() else network.cost_scale
    for l in reversed(network.indices()):
        definitions = network.definitions(l)
        activation = _activation_factor(example, l)
        dz = d(carried, network.pre_activation(l))
        used: list[Rule] = []
        fused = None
        if l == last:
            link = None
            loss_factor = _loss_factor(example)
            upstream = network.loss_rule().apply(network.activation(l), network.target())[1]
            upstream = scale(carried_scale, upstream)
            fused = fused_rule(network.activation_name(l), network.loss)
            if fused is not None:
                used.append(fused)
                dz_value = fused.apply(network.activation(l), network.target())
                dz_value = scale(carried_scale, dz_value)
            else:
                dz_value = pullback(
                    network.activation_expr(l), network.pre_activation(l), upstream, used
                )
        else:
            loss_factor = None
            link = _link_factor(example, l + 1)
            upstream = pullback(
                network.pre_activation_expr(l + 1),
                network.activation(l),
                d(carried, network.pre_activation(l + 1)),
                used,
            )
            dz_value = pullback(
                network.activation_expr(l), network.pre_activation(l), upstream, used
            )
        dz_prime = simplify(dz_value, definitions, rules=KEEP_PRIME)
        dz_value = simplify(dz_value, definitions, used)
        dz_from_output = pullback(
            network.activation_expr(l), network.pre_activation(l), d(carried, network.activation(l))
        )
        input_gradient = simplify(
            pullback(network.pre_activation_expr(l), network.layer_input(l), dz)
        )
        if fused is not None:
            dz_diag = dz_value
        elif network.batch is not None or network.declaration.examples_as_rows:
            dz_diag = None  # diag(f'(Z)) is a per-example Jacobian; a batch has K columns
        elif link is None:
            dz_diag = scale(carried_scale, matmul(activation.value_with_prime, loss_factor.value))
        else:
            upstream_name = d(carried, network.pre_activation(l + 1))
            dz_diag = matmul(activation.value_with_prime, link.value, upstream_name)
        weight_link = _weight_link_factor(example, l)
        to_objective = scale(sympy.sympify(objective_scale) / carried_scale, dz)
        dw_value = simplify(
            pullback(network.pre_activation_expr(l), network.weight(l), to_objective)
        )
        if network.decay is not None:  # J's (lambda/2) ||W^l||_F^2: + lambda W^l
            decay = pullback(network.decay_term(l), network.weight(l), Fill(1, (ONE, ONE)))
            dw_value = add(dw_value, simplify(decay))
        dw0_value = simplify(
            pullback(network.pre_activation_expr(l), network.bias(l), to_objective)
        )
        layers[l] = LayerDerivation(
            l,
            activation,
            link,
            loss_factor,
            weight_link,
            dz,
            dz_value,
            tuple(used),
            d(objective, network.weight(l)),
            dw_value,
            d(objective, network.bias(l)),
            dw0_value,
            simplify(upstream, definitions),
            simplify(dz_from_output, definitions),
            input_gradient,
            fused,
            None if dz_prime == dz_value else dz_prime,
            dz_diag,
        )
    return Derivation(network, layers, convention_note(network))


def _loss_factor(network: Network) -> Factor:
    """dL/dA^L from the loss table."""
    rule = network.loss_rule()
    a = network.activation(network.last)
    return Factor(d(network.loss_symbol(), a), rule.apply(a, network.target())[1], (rule,))


def _weight_link_factor(network: Network, l: int | sympy.Expr) -> Factor:
    """dZ^l/dW^l, which the 6.390 notes contract to A^{l-1} (also where Z = W A)."""
    if network.declaration.weight_is_transposed:
        rule = rule_named("weight link")
        linear = matmul(transpose(network.weight(l)), network.layer_input(l))
    else:
        rule = rule_named("weight link (Z = W A)")
        linear = matmul(network.weight(l), network.layer_input(l))
    name = d(network.pre_activation(l), network.weight(l), network.layer_input(l).shape)
    return Factor(name, rule.apply(linear, 0), (rule,))


def _link_factor(network: Network, l: int | sympy.Expr) -> Factor:
    """dZ^l/dA^{l-1} = W^l."""
    used: list[Rule] = []
    z, a = network.pre_activation(l), network.layer_input(l)
    value = simplify(jacobian(network.pre_activation_expr(l), a, used))
    return Factor(d(z, a), value, tuple(used))


__all__ = [
    "CONVENTION_NOTE",
    "convention_note",
    "ChainGroup",
    "Derivation",
    "Factor",
    "Gradient",
    "LayerDerivation",
    "Line",
    "Step",
    "derive",
    "jacobian",
    "pullback",
]
