"""Named forward quantities, each defined once in terms of what comes before it.

Both kinds of spec describe their forward pass this way: a graph spec
(:mod:`matcalc.specs.graph`) as written, and a ``[[layer]]`` network
(:meth:`matcalc.specs.network.Network.equations`) as its shorthand, Z^l and A^l for every layer
(the general layer l, l+1 and the output layer L where the depth is the symbol L).  One backprop
over named quantities (:func:`matcalc.engine.backprop.backprop_equations`) derives both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from functools import cached_property

from matcalc.core.expr import Expr, Symbol
from matcalc.core.record import record


@record(eq=False)
class ForwardEquations:
    """The quantities in the order they are defined, up to the scalar loss, and the parameters.

    ``inlined`` quantities have no gradient of their own name: the gradient reaching one is
    written out inside the gradients of what it uses (A^l: dL/dZ^l refers to dL/dZ^{l+1} by
    name, with dL/dA^l carried inline).  ``given`` quantities have a gradient referred to by
    name but derived elsewhere (the general layer's Z^{l+1}).  ``scopes`` gives, for a quantity
    or a parameter, the definitions its gradient is simplified with (all of them otherwise).
    """

    quantities: tuple[Symbol, ...]
    definitions: Mapping[Symbol, Expr]
    loss: Symbol
    parameters: tuple[Symbol, ...]
    inlined: frozenset[Symbol] = frozenset()
    given: frozenset[Symbol] = frozenset()
    scopes: Mapping[Symbol, Mapping[Symbol, Expr]] = field(default_factory=dict)

    def scope(self, symbol: Symbol) -> Mapping[Symbol, Expr]:
        """The definitions the gradient by ``symbol`` is simplified with."""
        return self.scopes.get(symbol, self.definitions)

    @cached_property
    def users(self) -> dict[Symbol, tuple[Symbol, ...]]:
        """For each declared or named symbol, the quantities whose definitions use it."""
        found: dict[Symbol, list[Symbol]] = {}
        for quantity in self.quantities:
            for symbol in self._symbols[quantity]:
                found.setdefault(symbol, []).append(quantity)
        return {symbol: tuple(users) for symbol, users in found.items()}

    @cached_property
    def _symbols(self) -> dict[Symbol, tuple[Symbol, ...]]:
        """The symbols each quantity's definition refers to, each once."""
        return {
            q: tuple(dict.fromkeys(n for n in self.definitions[q].walk() if isinstance(n, Symbol)))
            for q in self.quantities
        }

    @cached_property
    def trainable(self) -> frozenset[Symbol]:
        """The quantities that depend on a parameter and that the loss depends on (or whose
        gradient is given): those whose gradients backprop needs."""
        depends: set[Symbol] = set()
        sources = set(self.parameters)  # the parameters and the quantities that depend on them
        for quantity in self.quantities:
            if any(symbol in sources for symbol in self._symbols[quantity]):
                depends.add(quantity)
                sources.add(quantity)
        reaches = {self.loss, *self.given}
        for quantity in reversed(self.quantities):
            if any(user in reaches for user in self.users.get(quantity, ())):
                reaches.add(quantity)
        return frozenset(depends & reaches)


__all__ = ["ForwardEquations"]
