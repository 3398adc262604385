"""The chain forms of a network's backprop, built from the network and the engine's assignments.

The engine (:func:`matcalc.engine.derive.derive`) gives dL/dZ^l, dL/dW^l and dL/dW_0^l with their
values and rules.  The views printed beside them are built here, when a printer first asks:

- each layer's named Jacobians and their values (dA^l/dZ^l = diag(1 - A^l ⊙ A^l), dZ^{l+1}/dA^l,
  dZ^l/dW^l, dL/dA^L), grouped by layer for the seed's braces (:meth:`Chains.groups`);
- every gradient's chain, named and valued (:func:`chain_forms`);
- dL/dZ^l with f'(Z^l) kept as f'(Z^l) ("prime") or as diag(f'(Z^l)) ("diag");
- the steps of Goodfellow's Algorithm 6.4 one at a time: the carried gradient at A^l, dL/dZ^l
  from a named dL/dA^l, and the carried gradient at A^{l-1}.

A chain has a factor per layer above l, so the chains together grow with the square of the
depth; nothing here is built before it is asked for, and what is built once is kept for the
derivation (:func:`chains_of`).
"""

from __future__ import annotations

from functools import cached_property

import sympy

from matcalc.core.expr import (
    Cdots,
    Derivative,
    Expr,
    MatMul,
    Scale,
    matmul,
    scale,
    substitute,
    transpose,
)
from matcalc.core.losses import fused_rule
from matcalc.core.record import record
from matcalc.core.shapes import index_text
from matcalc.engine.derive import Derivation, Gradient, LayerDerivation, d
from matcalc.engine.pullback import jacobian, pullback
from matcalc.engine.rules import REWRITES, Rule, rule_named
from matcalc.engine.simplify import simplify
from matcalc.specs.network import Network

CLOSED_FORMS = ("derivative of an activation from its output", "derivative of a user's function")
KEEP_PRIME = tuple(r for r in REWRITES if r.name not in CLOSED_FORMS)
"""The rewrite table without the rules that write f'(Z) in closed form (1 - A ⊙ A)."""


@record
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


@record
class ChainGroup:
    """Consecutive factors that belong to one layer (or to the loss), for braces.

    ``layer`` is the layer's index (None for the loss unit and the elided layers).
    """

    label: str
    factors: tuple[Factor, ...]
    elided: Cdots | None = None
    layer: int | sympy.Expr | None = None


class LayerChain:
    """Layer l's assignments (``dz``, ``dz_value``, ``dw``, ...) and the views built from them.

    ``activation`` is dA^l/dZ^l, ``link`` dZ^{l+1}/dA^l (below the output layer), ``loss``
    dL/dA^L (at the output layer), ``weight_link`` dZ^l/dW^l; ``fused`` is the rule that gave
    dL/dZ^L in one step, if any.  The last three are Goodfellow's steps one at a time: the
    carried gradient at A^l (``output_gradient``), dL/dZ^l from a named dL/dA^l
    (``dz_from_output``), and the carried gradient at A^{l-1} (``input_gradient``).
    """

    def __init__(self, derivation: Derivation, l: int | sympy.Expr) -> None:
        self.derivation = derivation
        self.layer = l
        self.assigned: LayerDerivation = derivation.layers[l]
        self.network: Network = derivation.network
        self.example: Network = derivation.network.column_network()

    # -------------------------------------------------------------- the engine's assignments

    @property
    def dz(self) -> Derivative:
        return self.assigned.dz

    @property
    def dz_value(self) -> Expr:
        return self.assigned.dz_value

    @property
    def dz_rules(self) -> tuple[Rule, ...]:
        return self.assigned.dz_rules

    @property
    def dw(self) -> Derivative:
        return self.assigned.dw

    @property
    def dw_value(self) -> Expr:
        return self.assigned.dw_value

    @property
    def dw0(self) -> Derivative:
        return self.assigned.dw0

    @property
    def dw0_value(self) -> Expr:
        return self.assigned.dw0_value

    # ------------------------------------------------------------------ the chain's factors

    @cached_property
    def is_output(self) -> bool:
        return self.layer == self.network.last

    @cached_property
    def activation(self) -> Factor:
        return activation_factor(self.example, self.layer)

    @cached_property
    def link(self) -> Factor | None:
        return None if self.is_output else link_factor(self.example, self.layer + 1)

    @cached_property
    def loss(self) -> Factor | None:
        return loss_factor(self.example) if self.is_output else None

    @cached_property
    def weight_link(self) -> Factor:
        return weight_link_factor(self.example, self.layer)

    @cached_property
    def fused(self) -> Rule | None:
        if not self.is_output:
            return None
        net = self.network
        return fused_rule(net.activation_name(self.layer), net.loss)

    # ------------------------------------------------------------ scales of the objective

    @cached_property
    def _carried(self) -> Expr:
        return self.network.carried_symbol()

    @cached_property
    def _carried_scale(self) -> sympy.Expr | int:
        net = self.network
        return net.cost_scale if self._carried == net.cost_symbol() else 1

    # ---------------------------------------------------------- Goodfellow's steps, one each

    @cached_property
    def _raw_upstream(self) -> Expr:
        """The carried gradient at A^l before simplification."""
        net, l = self.network, self.layer
        if self.is_output:
            upstream = net.loss_rule().apply(net.activation(l), net.target())[1]
            return scale(self._carried_scale, upstream)
        return pullback(
            net.pre_activation_expr(l + 1),
            net.activation(l),
            d(self._carried, net.pre_activation(l + 1)),
        )

    @cached_property
    def output_gradient(self) -> Expr:
        """The carried gradient at A^l: dL/dA^L from the loss table, or (W^{l+1}) dL/dZ^{l+1}."""
        return simplify(self._raw_upstream, self.network.definitions(self.layer))

    @cached_property
    def dz_from_output(self) -> Expr:
        """dL/dZ^l from a named dL/dA^l: f'(Z^l) ⊙ dL/dA^l."""
        net, l = self.network, self.layer
        value = pullback(
            net.activation_expr(l), net.pre_activation(l), d(self._carried, net.activation(l))
        )
        return simplify(value, net.definitions(l))

    @cached_property
    def input_gradient(self) -> Expr:
        """The carried gradient at A^{l-1}: W^l dL/dZ^l."""
        net, l = self.network, self.layer
        return simplify(pullback(net.pre_activation_expr(l), net.layer_input(l), self.dz))

    # ------------------------------------------------------- dL/dZ^l in the three notations

    @cached_property
    def dz_prime(self) -> Expr | None:
        """dL/dZ^l with f'(Z^l) kept unrewritten, where that differs from the closed form."""
        net, l = self.network, self.layer
        if self.fused is not None:
            raw = scale(self._carried_scale, self.fused.apply(net.activation(l), net.target()))
        else:
            raw = pullback(net.activation_expr(l), net.pre_activation(l), self._raw_upstream)
        prime = simplify(raw, net.definitions(l), rules=KEEP_PRIME)
        return None if prime == self.dz_value else prime

    @cached_property
    def dz_diag(self) -> Expr | None:
        """dL/dZ^l as the product diag(f'(Z^l)) W^{l+1} dL/dZ^{l+1} (per example only)."""
        if self.fused is not None:
            return self.dz_value
        if self.network.batch is not None or self.network.declaration.examples_as_rows:
            return None  # diag(f'(Z)) is a per-example Jacobian; a batch has K columns
        if self.link is None:
            assert self.loss is not None
            product = matmul(self.activation.value_with_prime, self.loss.value)
            return scale(self._carried_scale, product)
        upstream = d(self._carried, self.network.pre_activation(self.layer + 1))
        return matmul(self.activation.value_with_prime, self.link.value, upstream)

    def dz_form(self, derivative: str) -> Expr:
        """dL/dZ^l with f' "closed" (1 - A ⊙ A), kept as f'(Z) ("prime"), or as diag(f'(Z))."""
        forms = {"closed": self.dz_value, "prime": self.dz_prime, "diag": self.dz_diag}
        form = forms[derivative]
        return self.dz_value if form is None else form


class Chains:
    """The chain forms of one derivation, built layer by layer when first asked for."""

    def __init__(self, derivation: Derivation) -> None:
        self.derivation = derivation
        self.network = derivation.network
        self.layers: dict[int | sympy.Expr, LayerChain] = {
            l: LayerChain(derivation, l) for l in derivation.layers
        }
        self._groups: dict[int | sympy.Expr, tuple[ChainGroup, ...]] = {}
        self._products: tuple[object, tuple[Expr, Expr]] | None = None
        self._expansions: dict[Expr, Expr] = {}

    def layer(self, l: int | sympy.Expr) -> LayerChain:
        return self.layers[l]

    def groups(self, l: int | sympy.Expr) -> tuple[ChainGroup, ...]:
        """dL/dZ^l as the seed's Notation 2 lays it out: layer l, then l+1, ..., L, the loss."""
        if l in self._groups:
            return self._groups[l]
        net = self.network.column_network()
        layer = self.layers[l]
        last = net.last
        if not net.symbolic and l != last and l + 1 not in self._groups:
            for k in range(last, int(l), -1):  # from the output down: no recursion in depth
                self.groups(k)
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
                    last - 1, link_factor(net, last - 1), activation_factor(net, last - 1)
                ),
                _layer_group(last, link_factor(net, last), output.activation),
                ChainGroup("Loss unit", (output.loss,)),
            )
        else:
            following = self.groups(l + 1)
            head = _layer_group(l, layer.activation)
            merged = _layer_group(l + 1, layer.link, *following[0].factors)
            groups = (head, merged, *following[1:])
        self._groups[l] = groups
        return groups

    def products(self, l: int | sympy.Expr) -> tuple[Expr, Expr]:
        """dL/dZ^l's chain as one product of named factors and one of their values.

        The last layer's products are kept (dL/dW^l and dL/dW_0^l share them); all of them
        together would hold the square of the depth.
        """
        if self._products is not None and self._products[0] == l:
            return self._products[1]
        if not self.network.symbolic:
            products = self._tails.products(2 * (int(l) - 1))
            self._products = (l, products)
            return products
        names: list[Expr] = []
        values: list[Expr] = []
        for group in self.groups(l):
            if group.elided is not None:
                names.append(group.elided)
                values.append(group.elided)
            for factor in group.factors:
                names.append(factor.name)
                values.append(factor.value)
        products = (matmul(*names), matmul(*values))
        self._products = (l, products)
        return products

    @cached_property
    def _tails(self) -> _Tails:
        """Layer 1's chain, whose tails are the chains of the layers above it."""
        return _Tails(tuple(f for g in self.groups(1) for f in g.factors))

    def forms(self, gradient: Gradient) -> tuple[Expr, Expr]:
        """The gradient's chain with each factor named (dA^l/dZ^l, ...), and with its value.

        dL/dW^l is dZ^l/dW^l (dL/dZ^l)^T where Z = W^T A, (dL/dZ^l) (dZ^l/dW^l)^T where
        Z = W A; dL/dW_0^l is dL/dZ^l's chain.  Over a batch (or with examples as rows) the
        Jacobian chain is that of one example, so the chain forms are the backprop form, named
        and with every dL/dZ^k written out; so are a weight's under a weight decay.
        """
        l = gradient.layer
        layer = self.layers[l]
        net = self.network
        by_backprop = net.batch is not None or net.declaration.examples_as_rows
        if gradient.target == layer.dw:
            by_backprop = by_backprop or net.decay is not None
        if by_backprop:
            return gradient.simplified, self.expanded(gradient.simplified)
        names, values = self.products(l)
        if gradient.target != layer.dw:
            return names, values
        link = layer.weight_link
        if self.network.declaration.weight_is_transposed:
            return matmul(link.name, transpose(names)), matmul(link.value, transpose(values))
        return matmul(names, transpose(link.name)), matmul(values, transpose(link.value))

    def expanded(self, expr: Expr) -> Expr:
        """``expr`` with every carried dL/dZ^k replaced by its value, recursively.

        dL/dZ^k's value refers only to layers above k, so the expansions are built once from
        the output down, each over the ones before it.
        """
        if not self._expansions:
            for l in reversed(self.network.indices()):
                layer = self.layers[l]
                self._expansions[layer.dz] = substitute(layer.dz_value, self._expansions)
        return substitute(expr, self._expansions)


class _Tails:
    """The chain of layer 1 of a network of fixed depth, dA^1/dZ^1 dZ^2/dA^1 ... dL/dA^L, and
    its tails: the chain of layer l is the tail from factor 2(l - 1) on.

    The whole chain is built once as a product, which checks that its factors fit; a tail of
    it fits too, so the product of a tail is made without checking its factors again (that
    check, repeated for each of L chains of up to 2L factors, was most of the time the chains
    of a deep network took).
    """

    def __init__(self, factors: tuple[Factor, ...]) -> None:
        self.names = tuple(f.name for f in factors)
        matmul(*self.names)  # the whole chain fits: so do its tails
        self.parts: list[Expr] = []
        self.starts: list[int] = []
        coefficients: list[sympy.Expr] = []
        for factor in factors:
            value, coefficient = factor.value, sympy.Integer(1)
            if isinstance(value, Scale):  # as matmul takes a coefficient out of its factors
                value, coefficient = value.arg, value.coeff
            self.starts.append(len(self.parts))
            self.parts.extend(value.factors if isinstance(value, MatMul) else (value,))
            coefficients.append(coefficient)
        matmul(*self.parts)
        self.coefficients = [sympy.Integer(1)] * (len(factors) + 1)
        for i in range(len(factors) - 1, -1, -1):
            self.coefficients[i] = coefficients[i] * self.coefficients[i + 1]

    def products(self, start: int) -> tuple[Expr, Expr]:
        """The tail from factor ``start`` on, named and valued, as :func:`matmul` builds them."""
        names = _fitting_product(self.names[start:])
        values = _fitting_product(tuple(self.parts[self.starts[start] :]))
        return names, scale(self.coefficients[start], values)


def _fitting_product(factors: tuple[Expr, ...]) -> Expr:
    """The product of factors already known to fit (a tail of a checked product)."""
    if len(factors) == 1:
        return factors[0]
    product = object.__new__(MatMul)
    object.__setattr__(product, "factors", factors)
    return product


def chains_of(derivation: Derivation) -> Chains:
    """The chain forms of ``derivation``, built once for it and kept with it."""
    found = derivation.views.get(Chains)
    if found is None:
        found = derivation.views[Chains] = Chains(derivation)
    return found


def chain_forms(gradient: Gradient) -> tuple[Expr, Expr]:
    """The gradient's chain form with each factor named, and with each factor's value."""
    return chains_of(gradient.derivation).forms(gradient)


def _layer_group(l: int | sympy.Expr, *factors: Factor) -> ChainGroup:
    return ChainGroup(f"Layer {index_text(l)}", factors, layer=l)


def activation_factor(net: Network, l: int | sympy.Expr) -> Factor:
    """dA^l/dZ^l, in closed form and with f'(Z^l) kept."""
    used: list[Rule] = []
    raw = jacobian(net.activation_expr(l), net.pre_activation(l), used)
    value = simplify(raw, net.definitions(l))
    prime = simplify(raw, net.definitions(l), rules=KEEP_PRIME)
    name = d(net.activation(l), net.pre_activation(l))
    return Factor(name, value, tuple(used), None if prime == value else prime)


def loss_factor(network: Network) -> Factor:
    """dL/dA^L from the loss table."""
    rule = network.loss_rule()
    a = network.activation(network.last)
    return Factor(d(network.loss_symbol(), a), rule.apply(a, network.target())[1], (rule,))


def weight_link_factor(network: Network, l: int | sympy.Expr) -> Factor:
    """dZ^l/dW^l, which the 6.390 notes contract to A^{l-1} (also where Z = W A)."""
    if network.declaration.weight_is_transposed:
        rule = rule_named("weight link")
        linear = matmul(transpose(network.weight(l)), network.layer_input(l))
    else:
        rule = rule_named("weight link (Z = W A)")
        linear = matmul(network.weight(l), network.layer_input(l))
    name = d(network.pre_activation(l), network.weight(l), network.layer_input(l).shape)
    return Factor(name, rule.apply(linear, 0), (rule,))


def link_factor(network: Network, l: int | sympy.Expr) -> Factor:
    """dZ^l/dA^{l-1} = W^l."""
    used: list[Rule] = []
    z, a = network.pre_activation(l), network.layer_input(l)
    value = simplify(jacobian(network.pre_activation_expr(l), a, used))
    return Factor(d(z, a), value, tuple(used))


__all__ = [
    "KEEP_PRIME",
    "ChainGroup",
    "Chains",
    "Factor",
    "LayerChain",
    "activation_factor",
    "chain_forms",
    "chains_of",
    "link_factor",
    "loss_factor",
    "weight_link_factor",
]
