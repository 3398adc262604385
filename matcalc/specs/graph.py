"""Networks given by their forward equations: named quantities, each defined once, in order.

A graph spec is an expression context (:mod:`matcalc.specs.context`) with a ``parameters``
list::

    parameters = ["W_1", "b_1", "V"]   # what is differentiated; other [shapes] names are data
    [shapes]
    x = "d"
    y = "k"
    W_1 = "d x d"
    b_1 = "d"
    V = "k x d"
    [define]                           # one named quantity each, in order
    A_1 = 'x + \\tanh(W_1 x + b_1)'
    L = '\\|V A_1 - y\\|^2'             # the last scalar is the loss (or: loss = "L")

Each definition refers to the declared names and to the quantities defined before it, so the
definitions form a graph without cycles; a residual connection is a quantity used twice, a
shared weight a parameter used in several definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from matcalc.core.expr import DefinitionTable, Symbol
from matcalc.core.record import record
from matcalc.core.shapes import is_scalar, shape_text
from matcalc.specs.context import CONTEXT_KEYS, Context, ContextError, name_key
from matcalc.specs.equations import ForwardEquations

GRAPH_KEYS = ("parameters", "loss", "delta")


class GraphError(ContextError):
    """A graph spec that cannot be used; the message names the key."""


def is_graph_spec(data: Mapping[str, Any]) -> bool:
    """A spec without layers that lists its parameters."""
    return "layer" not in data and "parameters" in data


@record
class Graph:
    """Named forward quantities of declared data and parameters, and the scalar loss."""

    context: Context
    parameter_keys: tuple[str, ...]
    loss_key: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graph:
        unknown = [key for key in data if key not in CONTEXT_KEYS + GRAPH_KEYS]
        if unknown:
            raise GraphError(
                f"unknown key {unknown[0]!r} in a graph spec; known: "
                f"{', '.join(GRAPH_KEYS + CONTEXT_KEYS)}"
            )
        tables = {k: v for k, v in data.items() if k not in GRAPH_KEYS}
        context = Context.from_dict(tables, graph=True)
        if context.opaque:
            raise GraphError("[opaque] functions have no place in a graph spec")
        parameters = data["parameters"]
        if not (isinstance(parameters, list) and all(isinstance(p, str) for p in parameters)):
            raise GraphError(f'parameters = {parameters!r}: a list of names, like ["W", "b"]')
        if not parameters:
            raise GraphError("parameters = []: name at least one declared matrix")
        keys = []
        for written in parameters:
            key = name_key(written)
            if key in context.definitions:
                raise GraphError(
                    f"parameters: {written!r} is defined in [define]; a parameter is declared "
                    "in [shapes]"
                )
            if key not in context.symbols:
                known = ", ".join(context.symbols) or "none"
                raise GraphError(
                    f"parameters: {written!r} is not declared in [shapes] (declared: {known})"
                )
            if key in keys:
                raise GraphError(f"parameters: {written!r} is listed twice")
            keys.append(key)
        loss = cls._loss_key(data, context)
        if "delta" in data:
            context.signals["delta"] = cls._signal(data["delta"], context, loss)
        graph = cls(context, tuple(keys), loss)
        for key, parameter in zip(graph.parameter_keys, graph.parameters, strict=True):
            users = graph.users.get(parameter, ())
            if not any(u == graph.loss or u in graph.trainable for u in users):
                raise GraphError(
                    f"parameters: the loss {loss} does not depend on {key!r}; is it written "
                    f"as it is declared (W_{{10}}, not W_10, for a subscript of two digits)?"
                )
        return graph

    @staticmethod
    def _signal(value: Any, context: Context, loss: str) -> tuple[str, str, bool]:
        """delta = "z" (the gradient dL/dz, a column) or delta = { of = "z", row = true }
        (CS224n's row delta = dL/dz as a Jacobian): (the loss, the quantity, whether a row)."""
        row = False
        if isinstance(value, Mapping):
            unknown = set(value) - {"of", "row"}
            if unknown or not isinstance(value.get("row", False), bool):
                raise GraphError(
                    f'delta = {value!r}: a quantity\'s name, or {{ of = "z", row = true }}'
                )
            row, value = value.get("row", False), value.get("of")
        if not isinstance(value, str) or name_key(value) not in context.definitions:
            raise GraphError(f'delta = {value!r}: the name of a quantity of [define], like "z"')
        return loss, name_key(value), row

    @staticmethod
    def _loss_key(data: Mapping[str, Any], context: Context) -> str:
        written = data.get("loss")
        if written is not None:
            if not isinstance(written, str) or name_key(written) not in context.definitions:
                raise GraphError(f"loss = {written!r}: the name of a quantity of [define]")
            key = name_key(written)
        else:
            scalars = [k for k, e in context.definitions.items() if is_scalar(e.shape)]
            if not scalars:
                raise GraphError(
                    "[define] has no scalar quantity to be the loss; define one, e.g. "
                    "L = '\\|O - y\\|^2'"
                )
            key = scalars[-1]
        shape = context.definitions[key].shape
        if not is_scalar(shape):
            raise GraphError(f"loss = {key!r}: the loss is a scalar; {key} is {shape_text(shape)}")
        return key

    # ------------------------------------------------------------------ the graph

    @cached_property
    def quantities(self) -> tuple[Symbol, ...]:
        """The named quantities up to the loss, in the order they are defined."""
        keys = list(self.context.definitions)
        keys = keys[: keys.index(self.loss_key) + 1]
        return tuple(self.context.names[k] for k in keys)

    @cached_property
    def definitions(self) -> DefinitionTable:
        """Each named quantity's definition, in terms of the names before it (read-only; the
        rewrite rules look a definition's name up in it, once per elementwise function)."""
        context = self.context
        return DefinitionTable(
            {context.names[k]: context.definitions[k] for k in context.definitions}
        )

    @property
    def loss(self) -> Symbol:
        return self.context.names[self.loss_key]

    @cached_property
    def parameters(self) -> tuple[Symbol, ...]:
        return tuple(self.context.symbols[k] for k in self.parameter_keys)

    @cached_property
    def data(self) -> tuple[Symbol, ...]:
        """The declared names that are not parameters: inputs, targets, constants."""
        return tuple(s for k, s in self.context.symbols.items() if k not in self.parameter_keys)

    def key_of(self, symbol: Symbol) -> str:
        """The name a declared or defined symbol has in the spec: W_1, gamma, mu."""
        for key, declared in self.context.symbols.items():
            if declared == symbol:
                return key
        for key, named in self.context.names.items():
            if named == symbol:
                return key
        raise KeyError(symbol)

    @cached_property
    def equations(self) -> ForwardEquations:
        """The named quantities, their definitions, the loss and the parameters."""
        return ForwardEquations(self.quantities, self.definitions, self.loss, self.parameters)

    @property
    def users(self) -> dict[Symbol, tuple[Symbol, ...]]:
        """For each declared or named symbol, the quantities whose definitions use it."""
        return self.equations.users

    @property
    def trainable(self) -> frozenset[Symbol]:
        """The quantities that depend on a parameter and that the loss depends on: those whose
        gradients backprop needs."""
        return self.equations.trainable


__all__ = ["GRAPH_KEYS", "Graph", "GraphError", "is_graph_spec"]
