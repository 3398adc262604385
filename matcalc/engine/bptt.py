r"""Back-propagation through time, read as a recursion over t from an unrolled graph.

A recurrence (:class:`~matcalc.specs.recurrence.Recurrence`) is unrolled at n steps and
back-propagated as any graph (:func:`~matcalc.engine.backprop.backprop`).  The general lines
are read off the unrolled lines, as the 6.390 notes write BPTT (Recurrent Neural Networks,
"Back-propagation through time"):

* dL/dH_T: the line of the last step, its subscripts n, n-1 written T, T-1;
* dL/dH_t for t < T: the line of step k with k-1, k, k+1 written t-1, t, t+1, the same at
  every step k < n (else the recurrence has no uniform form, an error);
* dL/dW = \sum_{t=1}^{T} (term of step t): the unrolled sum grouped by step (the latest step
  a term mentions), each group the same term at every step.
"""

from __future__ import annotations

from matcalc.core.expr import Add, Derivative, Expr, Symbol, add
from matcalc.core.record import record
from matcalc.engine.backprop import Assignment, GraphDerivation, backprop
from matcalc.specs.context import name_key
from matcalc.specs.graph import GraphError
from matcalc.specs.recurrence import Recurrence

UNROLL_AT = 6
"""The steps the general lines are read at: enough for two middle steps away from both ends."""

NOT_UNIFORM = "?"


@record
class StepSum:
    r"""A gradient as ``\sum_{t=1}^{T} term`` plus the terms of no step (``rest``); a
    gradient only the last step reaches has ``term`` None and the rest at T, one only the
    first step reaches (a learned initial state) the rest at step 1."""

    term: Expr | None
    rest: Expr | None


@record
class BPTT:
    """The recursion: forward at step t, the loss, and the backward lines."""

    recurrence: Recurrence
    unrolled: GraphDerivation
    forward: tuple[tuple[Symbol, Expr], ...]
    """Each per-step quantity's definition at step t; the other quantities at T."""
    loss: tuple[Symbol, StepSum]
    last: tuple[Assignment, ...]
    """The gradients of quantities of no step, then of the per-step quantities at T."""
    general: tuple[Assignment, ...]
    """The per-step quantities' gradients at step t < T."""
    parameters: tuple[tuple[str, Derivative, StepSum], ...]
    bases: frozenset[str] = frozenset()
    """The names of the per-step symbols (H of H_t)."""


def _map_symbols(expr: Expr, change) -> Expr:
    """``expr`` with every symbol (also inside a derivative) replaced by ``change(symbol)``."""

    def walk(node: Expr) -> Expr:
        if isinstance(node, Symbol):
            return change(node)
        if isinstance(node, Derivative):
            return Derivative(walk(node.num), walk(node.den), node.shape_)
        if not node.children:
            return node
        children = tuple(walk(c) for c in node.children)
        return node if children == node.children else node.rebuild(children)

    return walk(expr)


def relabel(expr: Expr, bases: frozenset[str], labels: dict[str, str]) -> Expr:
    """``expr`` with the subscript of every per-step name relabelled (3 -> t); a subscript
    not in ``labels`` becomes NOT_UNIFORM, so that two steps compare unequal."""

    def change(symbol: Symbol) -> Symbol:
        if symbol.name in bases and symbol.sub is not None and symbol.sub.isdigit():
            sub = labels.get(symbol.sub, NOT_UNIFORM)
            return Symbol(symbol.name, symbol.shape_, symbol.index, sub)
        return symbol

    return _map_symbols(expr, change)


def at_step(expr: Expr, bases: frozenset[str], t: int, steps: int) -> Expr:
    """A general line at a concrete step: t, t-1, t+1, T, T-1 -> numbers."""
    labels = {"t": t, "t-1": t - 1, "t+1": t + 1, "T": steps, "T-1": steps - 1}

    def change(symbol: Symbol) -> Symbol:
        if symbol.name in bases and symbol.sub in labels:
            sub = str(labels[symbol.sub])
            return Symbol(symbol.name, symbol.shape_, symbol.index, sub)
        return symbol

    return _map_symbols(expr, change)


def _at_t(k: int) -> dict[str, str]:
    return {str(k - 1): "t-1", str(k): "t", str(k + 1): "t+1"}


def _at_end(n: int) -> dict[str, str]:
    return {str(n): "T", str(n - 1): "T-1"}


def _step_of(expr: Expr, bases: frozenset[str]) -> int | None:
    steps = [
        int(s.sub)
        for s in _symbols(expr)
        if s.name in bases and s.sub is not None and s.sub.isdigit()
    ]
    return max(steps) if steps else None


def _symbols(expr: Expr) -> list[Symbol]:
    found: list[Symbol] = []
    for node in expr.walk():
        if isinstance(node, Symbol):
            found.append(node)
        elif isinstance(node, Derivative):
            found += _symbols(node.num) + _symbols(node.den)
    return found


def _uniform(name: str, forms: list[Expr]) -> Expr:
    first = forms[0]
    if any(f != first for f in forms[1:]) or any(s.sub == NOT_UNIFORM for s in _symbols(first)):
        raise GraphError(
            f"{name}: the recurrence has no uniform form (the line differs between steps, or "
            "reaches a step other than t-1, t, t+1); unroll it at a number of steps instead"
        )
    return first


def step_sum(name: str, value: Expr, bases: frozenset[str], n: int) -> StepSum:
    """``value`` of the unrolled graph as a sum over the steps of one term."""
    terms = value.terms if isinstance(value, Add) else (value,)
    groups: dict[int, list[Expr]] = {}
    rest: list[Expr] = []
    for term in terms:
        step = _step_of(term, bases)
        (rest if step is None else groups.setdefault(step, [])).append(term)
    rest_expr = add(*rest) if rest else None
    if set(groups) == {n}:
        end = relabel(add(*groups[n]), bases, _at_end(n))
        last = _uniform(name, [end])
        return StepSum(None, last if rest_expr is None else add(last, rest_expr))
    if not groups:
        return StepSum(None, rest_expr)
    if set(groups) == {1} and n > 1:  # reached from the first step only: a learned H_0
        first = add(*groups[1])
        return StepSum(None, first if rest_expr is None else add(first, rest_expr))
    if set(groups) != set(range(1, n + 1)):
        raise GraphError(
            f"{name}: some steps have no term; the recurrence has no uniform form over t"
        )
    forms = [relabel(add(*groups[k]), bases, _at_t(k)) for k in range(1, n + 1)]
    return StepSum(_uniform(name, forms), rest_expr)


def bptt(recurrence: Recurrence, n: int = UNROLL_AT) -> BPTT:
    """The general lines of back-propagation through time, read at ``n`` steps."""
    derivation = backprop(recurrence.unroll(n))
    graph = derivation.graph
    context = graph.context
    names = {**context.symbols, **context.names}

    def symbol_name(base: str) -> str:
        return names[name_key(f"{base}_1")].name

    bases = frozenset(symbol_name(b) for b in recurrence.per_step)
    recurrent = {symbol_name(b): b for b in recurrence.recurrent}
    key = graph.key_of

    def step(base: str, k: int) -> Symbol:
        return context.names[name_key(f"{base}_{k}")]

    def at_end(expr: Expr) -> Expr:
        return relabel(expr, bases, _at_end(n))

    forward: list[tuple[Symbol, Expr]] = []
    seen: set[str] = set()
    loss_line: StepSum | None = None
    for quantity in graph.quantities:
        if quantity == graph.loss:
            loss_line = step_sum(key(quantity), graph.definitions[quantity], bases, n)
        elif quantity.name in recurrent and quantity.sub is not None and quantity.sub.isdigit():
            if quantity.name in seen:
                continue
            seen.add(quantity.name)
            forms = [
                relabel(graph.definitions[step(recurrent[quantity.name], k)], bases, _at_t(k))
                for k in range(2, n + 1)
            ]
            label = relabel(quantity, bases, {quantity.sub: "t"})
            assert isinstance(label, Symbol)
            forward.append((label, _uniform(f"{quantity.name}_t", forms)))
        else:
            forward.append((quantity, at_end(graph.definitions[quantity])))
    assert loss_line is not None

    last: list[Assignment] = []
    general_at: dict[int, list[Assignment]] = {}
    for assignment in derivation.quantities:
        of = assignment.of
        if of.name in recurrent and of.sub is not None and of.sub.isdigit() and of.sub != str(n):
            general_at.setdefault(int(of.sub), []).append(assignment)
            continue
        value = _uniform(f"dL/d{key(of)}", [at_end(assignment.value)])
        last.append(Assignment(at_end(assignment.target), value, assignment.rules))
    general: list[Assignment] = []
    if general_at:
        middle = general_at[n - 1]
        for position, assignment in enumerate(middle):
            forms = [relabel(general_at[k][position].value, bases, _at_t(k)) for k in range(1, n)]
            target = relabel(assignment.target, bases, _at_t(n - 1))
            assert isinstance(target, Derivative)
            value = _uniform(f"dL/d{assignment.of.name}_t", forms)
            general.append(Assignment(target, value, assignment.rules))

    parameters = tuple(
        (name, a.target, step_sum(f"dL/d{name}", a.value, bases, n))
        for name, a in derivation.iter_gradients()
    )
    return BPTT(
        recurrence,
        derivation,
        tuple(forward),
        (graph.loss, loss_line),
        tuple(last),
        tuple(general),
        parameters,
        bases,
    )


__all__ = ["BPTT", "StepSum", "UNROLL_AT", "at_step", "bptt", "relabel", "step_sum"]
