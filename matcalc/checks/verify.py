"""Check a hand-written gradient formula against matcalc's own derivation.

In order: the left side must name a derivative the network has (dL/dW^l, dL/dW_0^l, dL/dZ^l,
dL/dA^l, or a Jacobian such as dA^l/dZ^l); the right side must have its shape, with every size
a symbol (so that sizes that happen to be equal do not hide a missing transpose); then both
sides are evaluated at distinct random sizes and random parameters, at every layer where the
formula's indices exist.  When the formula is wrong, small edits (a transpose, a swapped
product, a dropped or added f', a shifted layer index, a sign, a scale, a replaced factor) are
tried until one makes it right, and that edit is the diagnosis.

:func:`verify` is the one entry for every kind of spec: networks here; graph specs and
expression contexts through the same checking and diagnosis with their own strategy of
resolution and draws (:mod:`matcalc.checks.expression`); recurrences unrolled
(:mod:`matcalc.checks.verify_recurrence`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO

import numpy as np
import sympy

from matcalc.core import numeric
from matcalc.core.expr import (
    Add,
    Apply,
    Derivative,
    Expr,
    Fill,
    Function,
    Identity,
    ShapeError,
    Symbol,
    add,
    matmul,
    scale,
    transpose,
)
from matcalc.core.record import record
from matcalc.core.shapes import DEPTH, INPUT_SIZE, LAYER, LAYER_SIZE, dim, shapes_equal
from matcalc.engine.derive import Derivation, derive
from matcalc.errors import MatcalcError
from matcalc.printers.chains import chains_of
from matcalc.printers.latex import DEFAULT, Notation, layer_index, shape_latex, to_latex
from matcalc.reading.parse import (
    Bound,
    DerivativeOf,
    Elementwise,
    Equation,
    Frac,
    Group,
    Index,
    Nabla,
    Name,
    Neg,
    Node,
    Number,
    Primed,
    Product,
    Scripted,
    Transposed,
    parse_latex,
    walk,
)
from matcalc.reading.parse import Power as PowerNode
from matcalc.reading.parse import Sum as SumNode
from matcalc.reading.parse import SumOf as SumOfNode
from matcalc.reading.resolve import (
    NetworkNamespace,
    NoSuchLayerError,
    Resolver,
    index_symbols,
    objective_named,
    spellings,
    with_unit_layers,
)
from matcalc.specs.conventions import Convention
from matcalc.specs.network import Layer, Network

BATCH_DRAWN = 3
SMALL_SIZE = 8
"""Declared sizes up to this are evaluated at as they are; larger ones at small stand-ins."""
MAX_EDITS = 400
DIAGNOSIS_SECONDS = 5.0
PAIR_SECONDS = 4.0  # for two mistakes at once, after no single edit fixed the formula
PAIR_FIRSTS = 30  # the first edits a second one is tried after
PAIR_SECONDS_EDITS = 40  # second edits tried after each first one
SYMBOLIC_DEPTH = 4
MARGIN = 0.5
RTOL = 1e-6
ATOL = 1e-9
_LOSS_TEXTS = ("L", "J", "loss", "ell", "E", "C")


MATH_OPEN, MATH_CLOSE = "\x02", "\x03"


def inline_math(tex: str) -> str:
    """A piece of LaTeX inside a sentence: as it is in text and JSON, $...$ in Markdown."""
    return f"{MATH_OPEN}{tex}{MATH_CLOSE}"


def as_text(sentence: str) -> str:
    """The sentence with its LaTeX as it is (the CLI and JSON ``reason``)."""
    return sentence.replace(MATH_OPEN, "").replace(MATH_CLOSE, "")


def as_markdown(sentence: str) -> str:
    """The sentence with its LaTeX in $...$, for Markdown and notebooks."""
    return sentence.replace(MATH_OPEN, "$").replace(MATH_CLOSE, "$")


def layers_text(layers: tuple[str, ...]) -> str:
    """The layers checked, in words: layer 2, layer L = 2, layers 1, 2, 3."""
    return f"layer{'s' if len(layers) > 1 else ''} {', '.join(layers)}"


class ErrorClass(StrEnum):
    """What is wrong with a formula: one name, one meaning, for every kind of spec (networks,
    graph specs, recurrences, expression contexts).

    The value is the string written in JSON (``error_class``); a verdict may carry several (two
    mistakes at once carry both).  Names are only ever added, never renamed.
    """

    description: str

    def __new__(cls, value: str, description: str) -> ErrorClass:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    def __str__(self) -> str:
        return self.value

    SHAPE_MISMATCH = "shape_mismatch", "the right side's shape is not the derivative's"
    MISSING_TRANSPOSE = (
        "missing_transpose",
        "a factor (or the whole side) needs a transpose it does not have",
    )
    EXTRA_TRANSPOSE = (
        "extra_transpose",
        "a transpose that should not be there, on a factor or on the whole side",
    )
    CONVENTION_MISMATCH = (
        "convention_mismatch",
        "the formula is right in another convention (Z = W A + b against Z = W^T A + W_0)",
    )
    LAYOUT_MISMATCH = (
        "layout_mismatch",
        "the transpose of the right formula, which is right in the other layout",
    )
    SWAPPED_ORDER = "swapped_order", "the factors of a product are in the wrong order"
    EXTRA_FACTOR = "extra_factor", "a factor (such as f'(Z)) that should not be there"
    MISSING_FACTOR = "missing_factor", "a factor (such as f'(Z)) is missing"
    WRONG_FACTOR = (
        "wrong_factor",
        "a factor is another quantity than the one that belongs (never a constant: wrong_scale)",
    )
    WRONG_ARGUMENT = "wrong_argument", "a function is evaluated at the wrong argument (A for Z)"
    WRONG_LAYER = "wrong_layer", "a layer index is off by one"
    WRONG_SIGN = "wrong_sign", "the sign is wrong"
    WRONG_SCALE = "wrong_scale", "off by a constant factor (a 2, a 1/2, a 1/m, a 0)"
    MISSING_BATCH_MEAN = "missing_batch_mean", "the cost's 1/m over the batch is missing"
    EXTRA_BATCH_MEAN = "extra_batch_mean", "the cost's 1/m over the batch is there twice"
    MISSING_WEIGHT_DECAY = "missing_weight_decay", "the weight decay's lambda W^l is missing"
    EXTRA_WEIGHT_DECAY = "extra_weight_decay", "a decay term where none belongs (a bias's)"
    MISSING_BATCH_SUM = (
        "missing_batch_sum",
        "a bias's (a column's) gradient does not sum over the examples, the batch's columns",
    )
    ELEMENTWISE_AS_MATRIX_PRODUCT = (
        "elementwise_as_matrix_product",
        "an elementwise product written as a matrix product",
    )
    MATRIX_PRODUCT_AS_ELEMENTWISE = (
        "matrix_product_as_elementwise",
        "a matrix product written as an elementwise product",
    )
    UNJUSTIFIED_SYMMETRY = (
        "unjustified_symmetry",
        "right only when the square matrices are symmetric",
    )


class VerifyError(MatcalcError):
    """An equation that cannot be checked: no '=', a left side that is not a derivative..."""


@record
class Verdict:
    """Whether a formula is right, why, and the right formula in the user's notation."""

    verdict: str
    target: str
    reason: str
    expected: str
    layers: tuple[str, ...] = ()
    diagnosis: str | None = None
    error_class: tuple[str, ...] = ()
    equation: str = ""
    shape: str = ""
    where: str | None = None
    reason_markdown: str = field(default="", repr=False, compare=False)

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def __bool__(self) -> bool:
        """A verdict is true when the formula is correct: ``if verify(net, formula): ...``."""
        return self.correct

    def __repr__(self) -> str:
        diagnosis = f", {self.diagnosis}" if self.diagnosis and not self.correct else ""
        return f"<Verdict {self.verdict}: {self.target}{diagnosis}>"

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "target": self.target,
            "reason": self.reason,
            "expected": self.expected,
            "layers": list(self.layers),
            "diagnosis": self.diagnosis,
            "error_class": list(self.error_class),
            "shape": self.shape,
            "where": self.where,
            "equation": self.equation,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def summary(self) -> str:
        """Plain text for a terminal."""
        lines = [f"{self.verdict}: {self.reason}"]
        if self.layers:
            lines.append(f"checked at {layers_text(self.layers)}")
        if not self.correct:
            lines.append(f"expected: {self.target} = {self.expected}")
            if self.where:
                lines.append(f"where: {self.where}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.correct else "❌"
        text = f"{mark} **{self.verdict}**"
        if self.layers:
            text += f" ({layers_text(self.layers)})"
        reason = self.reason_markdown or self.reason
        text += f"\n\n{reason}\n\n$$\n{self.target} = {self.expected}\n$$\n"
        if self.where and not self.correct:
            text += f"\nwhere\n\n$$\n{self.where}\n$$\n"
        return text

    def _repr_latex_(self) -> str:
        verdict = r"\text{" + self.verdict + "}"
        where = f",\\quad {self.where}" if self.where and not self.correct else ""
        return f"$$ {verdict}:\\quad {self.target} = {self.expected}{where} $$"


# ------------------------------------------------------------------------------ targets


@record
class Check:
    """One formula to check: its sides as syntax, the networks and derivations to check on."""

    network: Network
    instance: Network  # concrete depth
    equation: Equation

    @cached_property
    def generic(self) -> Network:
        """The instance with every size a symbol (sizes 1 stay 1: a scalar output is structural);
        a batch of K > 1 examples has K columns, K a symbol too."""
        inst = self.instance
        layers = tuple(
            Layer(1 if inst.size(k) == 1 else LAYER_SIZE[k], layer.activation)
            for k, layer in enumerate(inst.layers, start=1)
        )
        batch = inst.batch_size
        if batch is not None and batch != 1:
            batch = batch if batch.is_Symbol else dim(inst.declaration.batch_letter)
        own_letter = inst.declaration.names.input_size is not None
        input_size = INPUT_SIZE[1] if own_letter else LAYER_SIZE[0]
        return replace(
            inst, layers=layers, input=1 if inst.size(0) == 1 else input_size, batch=batch
        )

    @cached_property
    def batch_names(self) -> tuple[str, ...]:
        """The spec's batch size (m, K or a number), which every instance reads as its own."""
        batch = self.network.batch_size
        return () if batch is None else (str(batch),)

    @cached_property
    def batch(self) -> int | None:
        """The number of examples to evaluate at: the spec's if small, else 3 (BATCH_DRAWN)."""
        batch = self.instance.batch_size
        if batch is None:
            return None
        return int(batch) if batch.is_Integer and batch <= SMALL_SIZE else BATCH_DRAWN

    def _batch_at(self, sizes: tuple[int, ...]) -> int | None:
        """The batch to evaluate at with layer sizes ``sizes``: a drawn batch (for a symbolic or
        large one) is the least from BATCH_DRAWN that is no layer's size, so that no quantity
        of a batch is square where the formula's is not ((A^{[1]})^2, a dropped transpose)."""
        batch = self.batch
        declared = self.instance.batch_size
        if batch is None or (declared.is_Integer and declared <= SMALL_SIZE):
            return batch
        while batch in sizes:
            batch += 1
        return batch

    @cached_property
    def last(self) -> int:
        return len(self.instance.layers)

    @cached_property
    def candidate_layers(self) -> tuple[int | None, ...]:
        symbols = index_symbols(self.equation)
        unknown = symbols - {LAYER, DEPTH}
        if unknown:
            names = ", ".join(sorted(str(s) for s in unknown))
            raise VerifyError(
                f"the layer index {names}: write l for a general layer, L for the last"
            )
        return tuple(range(1, self.last + 1)) if LAYER in symbols else (None,)

    def bindings(self, k: int | None) -> dict:
        bindings = {DEPTH: self.last}
        if k is not None:
            bindings[LAYER] = k
        return bindings

    @cached_property
    def size_sets(self) -> tuple[tuple[int, ...], ...]:
        """Concrete sizes to evaluate at: the network's own if they are all small
        (<= SMALL_SIZE), and distinct small ones, so the work does not grow with the declared
        sizes (a size of 10^6 is checked symbolically, and in value at small sizes)."""
        inst = self.instance
        sizes: list[tuple[int, ...]] = []
        own = [inst.size(k) for k in range(self.last + 1)]
        if all(s.is_Integer and s <= SMALL_SIZE for s in own):
            sizes.append(tuple(int(s) for s in own))
        rng = np.random.default_rng(4390)
        pool = rng.permutation(np.arange(2, 2 + 2 * (self.last + 1)))
        distinct = tuple(1 if s == 1 else int(pool[i]) for i, s in enumerate(own))
        if not sizes or len(set(sizes[0])) < len(sizes[0]):
            sizes.append(distinct)
        return tuple(sizes)

    @cached_property
    def environments(self) -> tuple[tuple[Network, Derivation, list], ...]:
        """For each size set: the network, its derivation, and ``draw_count`` random
        environments.  They depend on the network alone, so the network keeps them: every
        formula checked against one spec (a batch, a grader) draws them once."""
        key = ("verify environments", self.size_sets, self.batch)
        memo = self.instance._memo
        if key not in memo:
            memo[key] = self._environments()
        return memo[key]

    def _environments(self) -> tuple[tuple[Network, Derivation, list], ...]:
        result = []
        rng = np.random.default_rng(390)
        for sizes in self.size_sets:
            net = self.instance.at_sizes(sizes, batch=self._batch_at(sizes))
            derivation = derive(net)
            envs = []
            for draw in range(draw_count(net)):
                params = net.random_parameters(rng)
                x, y = net.random_example(rng)
                params = sign_covering(net, params, x, y, draw, rng)
                envs.append(derivation.backward(net.forward(params, x, y)))
            result.append((net, derivation, envs))
        return tuple(result)


def derived(network: Network) -> Derivation:
    """The network's derivation, derived once per network object (it is immutable)."""
    memo = network._memo
    if "verify derivation" not in memo:
        memo["verify derivation"] = derive(network)
    return memo["verify derivation"]


def draw_count(network: Network) -> int:
    """How many random environments to check at: one per sign pattern of ``unit_signs``."""
    return len(network.layers) + 2


def unit_signs(network: Network, l: int, draw: int) -> np.ndarray:
    """The sign of each unit's pre-activation at layer l in a draw.

    Draw 0 makes every unit positive; draw d = 1..L makes layer d negative and every other
    layer positive (so that a ReLU's step at layer d is 0 while the gradient flows through
    every other layer, even through units of size 1); draw L + 1 alternates the signs along
    the units and the layers.
    """
    size = int(network.size(l))
    if draw == len(network.layers) + 1:
        return np.where((np.arange(size) + l) % 2 == 0, 1.0, -1.0)
    return np.full(size, -1.0 if l == draw else 1.0)


def sign_covering(
    net: Network, params: dict, x: np.ndarray, y: np.ndarray, draw: int, rng: np.random.Generator
) -> dict:
    """The parameters with each bias shifted, layer by layer, so that every unit's
    pre-activation has the sign ``unit_signs`` gives it, in every example of a batch, with a
    magnitude between MARGIN and 5 MARGIN.

    A piecewise activation (ReLU, a user's |z|) then shows both of its pieces, and a formula
    that is right on one piece only (a dropped step f', Z where A = relu(Z) belongs) cannot
    agree by luck.
    """
    params = dict(params)
    for l in net.indices():
        z = net.forward(params, x, y, through=l)[net.pre_activation(l)]
        rows = net.declaration.examples_as_rows  # CS231n: units along the columns
        z = z.T if rows else z
        signs = unit_signs(net, l, draw)
        margin = rng.uniform(MARGIN, 5 * MARGIN, z.shape[0])
        nearest = np.where(signs > 0, z.min(axis=1), z.max(axis=1))
        key = net.parameter_key(net.bias(l))
        shift = (signs * margin - nearest)[:, None]
        params[key] = params[key] + (shift.T if rows else shift)
    return params


def _instance(network: Network) -> Network:
    """A network of concrete depth: the network itself, or a depth-4 instance of depth "L"."""
    if not network.symbolic:
        return network
    pattern = network.layers[0].activation
    generic = len(pattern) == 1
    chosen = [("tanh", "sigmoid")[k % 2] if generic else pattern for k in range(SYMBOLIC_DEPTH)]
    chosen[-1] = {"nll": "sigmoid", "nllm": "softmax"}.get(network.loss, chosen[-1])
    layers = tuple(Layer(None, a) for a in chosen)
    return replace(network, layers=layers, input=None, depth=None)


# ------------------------------------------------------------------------------ values


def derivative_value(
    target: Derivative, network: Network, derivation: Derivation, env: dict
) -> np.ndarray:
    """The value of a named derivative from the derivation: dL/dZ^k, dA^k/dZ^k, dZ^k/dA^j ...

    The loss L and the cost J = L / K differ by the batch's 1/K: a derivative of one is read
    from the other's where only that one is derived.
    """
    if target in env:
        return env[target]
    num, den = target.num, target.den
    last = len(network.layers)
    names = network.declaration.names
    objectives = (network.loss_symbol(), network.cost_symbol())
    if num in objectives and isinstance(den, Symbol):
        other = objectives[1] if num == objectives[0] else objectives[0]
        if Derivative(other, den) in env:
            ratio = float(network.cost_scale) if num == network.cost_symbol() else 1
            ratio /= float(network.cost_scale) if other == network.cost_symbol() else 1
            value = env[Derivative(other, den)]
            weight = den.index is not None and den == network.weight(den.index)
            if network.decay is not None and weight:  # J's penalty is not L's
                decay = float(network.decay) * env[den]
                value = value - decay if other == network.cost_symbol() else value + decay
            return ratio * value
        if den.name == names.activation and den.index is not None:
            k = int(den.index)
            layer = chains_of(derivation).layer(last if k == last else k + 1)
            carried = layer.dz.num
            value = layer.output_gradient if k == last else layer.input_gradient
            assert value is not None
            found = numeric.evaluate(value, env)
            if num == carried:
                return found
            return found * float(network.cost_scale) ** (1 if num == objectives[1] else -1)
        raise VerifyError(f"matcalc has no value for {to_latex(target)}")
    if isinstance(den, Symbol) and den.name == names.weight and isinstance(num, Symbol):
        return numeric.evaluate(network.layer_input(int(den.index)), env)
    start, stop = _position(den, network), _position(num, network)
    if start is None or stop is None:
        raise VerifyError(f"matcalc has no value for {to_latex(target)}")
    if stop < start:  # a quantity before the one it is differentiated by: it does not depend on it
        return numeric.evaluate(Fill(sympy.Integer(0), target.shape), env)
    result = numeric.evaluate(Identity(den.shape[0]), env)
    for t in range(int(start), int(stop)):
        if t % 2 == 0:  # A^j -> Z^{j+1}
            local = numeric.evaluate(network.weight(t // 2 + 1), env)
            if not network.declaration.weight_is_transposed:
                local = local.T
        else:  # Z^j -> A^j
            activation = chains_of(derivation).layer((t + 1) // 2).activation
            local = numeric.evaluate(activation.value, env)
        result = result @ local
    return result


def _position(symbol: Expr, network: Network) -> sympy.Expr | None:
    """Where a quantity stands in the forward pass: A^j at 2j, Z^j at 2j - 1 (j may be l)."""
    if not isinstance(symbol, Symbol) or symbol.index is None or symbol.sub:
        return None
    names = network.declaration.names
    if symbol.name == names.activation:
        return 2 * sympy.sympify(symbol.index)
    if symbol.name == names.pre_activation:
        return 2 * sympy.sympify(symbol.index) - 1
    return None


def _evaluate(expr: Expr, network: Network, derivation: Derivation, env: dict) -> np.ndarray:
    local = dict(env)
    for node in expr.walk():
        if isinstance(node, Derivative) and node not in local:
            local[node] = derivative_value(node, network, derivation, env)
    return numeric.evaluate(expr, local)


# ------------------------------------------------------------------------------ checking


@dataclass
class _Outcome:
    """What checking one right side found."""

    layers: list[int | None] = field(default_factory=list)
    # the layer, and the product that did not fit (None: the side's shape is not the target's)
    shape_problem: tuple[int | None, ShapeError | None] | None = None
    value_problem: int | None = None
    ok: bool = False


class Checker(Protocol):
    """What the pipeline's diagnosis asks of a kind of spec: check a right side (shapes, then
    values), say which names stand for whole quantities, and add the edits only that kind
    has.  ``_Checker`` answers for networks, ``matcalc.checks.expression.ExpressionChecker``
    for graph specs, recurrences (unrolled) and expression contexts."""

    text: str
    layout: str
    other_layout: str
    weight_target: bool
    convention_note: str

    def run(self, rhs: Node, quick: bool = False) -> _Outcome: ...
    def factor_names(self) -> tuple[str, ...]: ...
    def derivative_edits(self, rhs, paths, lhs_index, notation) -> Iterator[Edit]: ...
    def batch_sum_edits(self, rhs: Node) -> Iterator[Edit]: ...
    def layer_edits(self, rhs, paths, notation) -> Iterator[Edit]: ...
    def late_edits(self, rhs, paths, lhs_index, notation) -> Iterator[Edit]: ...
    def value_diagnosis(self, rhs: Node, outcome: _Outcome) -> tuple[str, tuple] | None: ...


class _Checker:
    """A network's checker: the formula at every layer where its indices exist."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.text = check.equation.text
        self.namespaces: dict[int, NetworkNamespace] = {}
        self.notes: dict[str, None] = {}  # how operators were read (\times as elementwise ...)
        self.descending = False  # \cdots read in a chain written from the output down

    def resolve(self, node: Node, network: Network, k: int | None) -> Expr:
        lhs = self.check.equation.sides[0]
        if node is not lhs and network.declaration.running_gradient == "cost":
            namespace = NetworkNamespace(network, self.check.batch_names)
            target = Resolver(namespace, self.check.bindings(k), self.text).expr(lhs)
            namespace.running = running_gradient(target, network)
        else:
            namespace = self.namespaces.get(id(network))
            if namespace is None:
                namespace = NetworkNamespace(network, self.check.batch_names)
                self.namespaces[id(network)] = namespace
        namespace.descending = self.descending
        resolver = Resolver(namespace, self.check.bindings(k), self.text)
        result = resolver.expr(node)
        self.notes.update(dict.fromkeys(resolver.notes))
        return result

    # what the edits ask (matcalc.checks.expression.ExpressionChecker answers them too) ------

    layout = "denominator"
    other_layout = "numerator"

    def factor_names(self) -> tuple[str, ...]:
        return _named_factors(self.check.network)

    @cached_property
    def weight_target(self) -> bool:
        """A weight's gradient: its whole transpose is the other forward equation's."""
        return _is_weight_target(self.check.equation.sides[0], self.check.network)

    @cached_property
    def convention_note(self) -> str:
        return _convention_note(self.check.network.declaration)

    def derivative_edits(self, rhs, paths, lhs_index, notation) -> Iterator[Edit]:
        return _derivative_edits(self, rhs, paths, lhs_index, notation)

    def value_diagnosis(self, rhs: Node, outcome: _Outcome) -> tuple[str, tuple] | None:
        """A diagnosis the values give when no single edit fixes the formula (none here)."""
        return None

    def batch_sum_edits(self, rhs: Node) -> Iterator[Edit]:
        return _batch_sum_edits(self, rhs)

    def layer_edits(self, rhs, paths, notation) -> Iterator[Edit]:
        return _layer_edits(self, rhs, paths, notation)

    def late_edits(self, rhs, paths, lhs_index, notation) -> Iterator[Edit]:
        yield from _batch_mean_edits(self, rhs)
        yield from _weight_decay_edits(self, rhs)
        yield from _replacement_edits(self, rhs, paths, lhs_index, notation)

    def target(self, k: int | None) -> Derivative | None:
        try:
            lhs = self.resolve(self.check.equation.sides[0], self.check.generic, k)
        except NoSuchLayerError:
            return None
        if not isinstance(lhs, Derivative):
            raise VerifyError(
                "the left side must name what is differentiated, like "
                "\\frac{\\partial L}{\\partial W^l}"
            )
        generic = self.check.generic
        if lhs.den in (generic.loss_symbol(), generic.cost_symbol()):
            raise VerifyError(
                "the left side differentiates by the loss itself; differentiate by a "
                "parameter or a quantity of the network, like \\frac{\\partial L}{\\partial W^l}"
            )
        return lhs

    def run(self, rhs: Node, quick: bool = False) -> _Outcome:
        """Shapes at symbolic sizes at every layer, then values; a chain with \\cdots that
        exists at no layer read upward is read as written from the output down."""
        outcome = self._run(rhs, quick)
        if not outcome.layers and "\\cdots" in self.text and not self.descending:
            self.descending = True
            try:
                outcome = self._run(rhs, quick)
            finally:
                self.descending = False
        return outcome

    def _run(self, rhs: Node, quick: bool = False) -> _Outcome:
        outcome = _Outcome()
        generic = self.check.generic
        for k in self.check.candidate_layers:
            target = self.target(k)
            if target is None:
                continue
            try:
                shape = self.resolve(rhs, generic, k).shape  # a derivative's shape is lazy
            except NoSuchLayerError:
                continue
            except ShapeError as error:
                outcome.layers.append(k)
                if outcome.shape_problem is None:
                    outcome.shape_problem = (k, error)
                if quick:
                    return outcome
                continue
            outcome.layers.append(k)
            if not shapes_equal(shape, target.shape) and outcome.shape_problem is None:
                outcome.shape_problem = (k, None)
                if quick:
                    return outcome
        if not outcome.layers or outcome.shape_problem is not None:
            return outcome
        for net, derivation, envs in self.check.environments:
            for env in envs:
                for k in outcome.layers:
                    lhs = self.resolve(self.check.equation.sides[0], net, k)
                    value = self.resolve(rhs, net, k)
                    # y / A^l at a ReLU's 0: inf, a mismatch, and no warning on stderr
                    with np.errstate(all="ignore"):
                        want = derivative_value(lhs, net, derivation, env)
                        got = _evaluate(value, net, derivation, env)
                        agree = got.shape == want.shape and np.allclose(got, want, RTOL, ATOL)
                    if not agree:
                        outcome.value_problem = k
                        return outcome
        outcome.ok = True
        return outcome


def running_gradient(target: Expr, network: Network) -> Expr | None:
    """What Goodfellow's g stands for on the right of a line of Algorithm 6.4.

    nabla_{W^{(k)}} J = g h^{(k-1)T} and nabla_{b^{(k)}} J = g: g = nabla_{a^{(k)}} J;
    nabla_{a^{(k)}} J = g ⊙ f'(a^{(k)}): g = nabla_{h^{(k)}} J; nabla_{h^{(k-1)}} J = W^{(k)T} g:
    g = nabla_{a^{(k)}} J.
    """
    if not isinstance(target, Derivative) or not isinstance(target.den, Symbol):
        return None
    den, cost = target.den, network.cost_symbol()
    k = den.index
    if k is None:
        return None
    if den in (network.weight(k), network.bias(k)):
        return Derivative(cost, network.pre_activation(k))
    if den == network.pre_activation(k):
        return Derivative(cost, network.activation(k))
    if den.name == network.declaration.names.activation and k < network.last:
        return Derivative(cost, network.pre_activation(k + 1))
    return None


def _marked_layer(equation: Equation, symbols: set) -> bool:
    """Whether every index in ``symbols`` is written as a layer index, W^{[k]} or W^{(k)}."""
    styles = {
        node.index.style
        for node in walk(equation)
        if isinstance(node, Scripted) and node.index and node.index.expr.free_symbols & symbols
    }
    return bool(styles) and "plain" not in styles


def with_layer_letter(equation: Equation, letter: str) -> Equation:
    """The equation with the convention's letter for the general layer (Goodfellow's k) read
    as l."""
    if letter == "l":
        return equation
    symbol = sympy.Symbol(letter, integer=True)
    for path, node in list(_paths(equation)):
        if isinstance(node, Scripted) and node.index and symbol in node.index.expr.free_symbols:
            index = replace(node.index, expr=node.index.expr.subs(symbol, LAYER))
            equation = _replace_at(equation, path, replace(node, index=index))
    return equation


# ------------------------------------------------------------------------------ notation


def detect_notation(equation: Equation, network: Network | None = None) -> Notation:
    """The user's notation: W^{(l)} or W^{[l]}, \\ell, ^\\top, the loss's name; what the
    formula does not show is the network's convention's (dX for Ng, \\nabla_X J for Goodfellow).
    """
    base = DEFAULT if network is None else Notation.of(network.declaration)
    style, ell, top = base.layer_style, False, base.transpose
    for node in walk(equation):
        if isinstance(node, Scripted) and node.index is not None:
            if node.index.style != "plain" and style == base.layer_style:
                style = node.index.style
            ell = ell or node.index.ell
        if isinstance(node, Transposed) and node.spelling == "\\top":
            top = "\\top"
    loss = base.loss
    lhs = equation.sides[0]
    if isinstance(lhs, DerivativeOf) and lhs.num is not None:
        raw = equation.text[lhs.num.start : lhs.num.end].strip()
        regularized = network is not None and network.decay is not None
        if _is_loss_name(lhs.num) and raw and not (regularized and raw == "J"):
            loss = raw  # (with a weight decay J is the regularized cost, not the loss)
    return base.with_(layer_style=style, ell=ell, transpose=top, loss=loss)


def _is_loss_name(node: Node) -> bool:
    while isinstance(node, Scripted | Group) and not (
        isinstance(node, Scripted) and node.index is not None
    ):
        node = node.base if isinstance(node, Scripted) else node.inner
    return isinstance(node, Name) and node.text in _LOSS_TEXTS


# ------------------------------------------------------------------------------ expected


def relabel(expr: Expr, index_map: Callable[[sympy.Expr], sympy.Expr]) -> Expr:
    """The expression with every layer index i replaced by index_map(i)."""
    if isinstance(expr, Symbol):
        return replace(expr, index=index_map(expr.index)) if expr.index is not None else expr
    if isinstance(expr, Derivative):
        return Derivative(relabel(expr.num, index_map), relabel(expr.den, index_map), expr.shape_)
    if isinstance(expr, Apply):
        fn = expr.fn
        if fn.index is not None:
            fn = replace(fn, index=index_map(fn.index))
        return Apply(fn, relabel(expr.arg, index_map))
    if not expr.children:
        return expr
    return expr.rebuild(tuple(relabel(c, index_map) for c in expr.children))


def expected_value(derivation: Derivation, target: Derivative) -> Expr:
    """matcalc's formula for a target: the simplified backprop form, or the Jacobian's value."""
    net = derivation.network
    names = net.declaration.names
    num, den = target.num, target.den
    if num in (net.loss_symbol(), net.cost_symbol()) and isinstance(den, Symbol):
        value = _gradient_formula(derivation, den)
        if value is None:
            return target
        formula, of = value
        if of == num:
            return formula
        if net.decay is not None and den.index is not None and den == net.weight(den.index):
            terms = formula.terms if isinstance(formula, Add) else (formula,)
            formula = add(*(t for t in terms if t != scale(net.decay, den)))  # L has no decay
        ratio = net.cost_scale if num == net.cost_symbol() else 1 / net.cost_scale
        return scale(ratio, formula)
    if isinstance(num, Symbol) and isinstance(den, Symbol) and num.index is not None:
        act, pre = names.activation, names.pre_activation
        if num.name == act and den.name == pre and num.index == den.index:
            layer = chains_of(derivation).layers.get(num.index)
            if layer is not None:
                return layer.activation.value
        if num.name == pre and den.name == act and num.index == den.index + 1:
            return net.weight(num.index)
        if num.name == pre and den.name == names.weight and num.index == den.index:
            return net.layer_input(num.index)
        chain = _chain_formula(derivation, num, den)
        if chain is not None:
            return chain
        start, stop = _position(den, net), _position(num, net)
        if start is not None and stop is not None:
            steps = sympy.expand(stop - start)
            if steps.is_Integer and steps < 0:  # Z^1 does not depend on A^2
                return Fill(sympy.Integer(0), target.shape)
    return target


def _chain_formula(derivation: Derivation, num: Symbol, den: Symbol) -> Expr | None:
    """dZ^k/dA^j (and the like) over several layers: the product of the local Jacobians,
    W^{j+1} (or its transpose where Z = W A + b) and dA^i/dZ^i, in denominator layout; at a
    general layer too (dZ^l/dA^{l-2} = W^{l-1} dA^{l-1}/dZ^{l-1} W^l)."""
    net = derivation.network
    start, stop = _position(den, net), _position(num, net)
    if start is None or stop is None:
        return None
    steps = sympy.expand(stop - start)
    if not steps.is_Integer or steps <= 0:
        return None
    at_activation = den.name == net.declaration.names.activation
    j = sympy.sympify(den.index)
    factors: list[Expr] = []
    for _ in range(int(steps)):
        if at_activation:  # A^j -> Z^{j+1}
            j = sympy.expand(j + 1)
            weight = net.weight(j)
            factors.append(weight if net.declaration.weight_is_transposed else transpose(weight))
        else:  # Z^j -> A^j
            local = _layer_expr(derivation, j, lambda layer: layer.activation.value)
            if local is None:
                return None
            factors.append(local)
        at_activation = not at_activation
    return matmul(*factors) if len(factors) > 1 else factors[0]


def _layer_expr(derivation: Derivation, k, part: Callable) -> Expr | None:
    """A part of layer k's derivation; at a general layer (l - 1, l + 1) the general layer
    l's, its indices moved."""
    layers = chains_of(derivation).layers
    layer = layers.get(k)
    if layer is not None:
        return part(layer)
    general = layers.get(LAYER)
    if general is None or k is None or not derivation.network.symbolic:
        return None
    value = part(general)
    return None if value is None else _at_layer(value, k)


def _at_layer(node, k):
    """An expression of the general layer l at layer k: l replaced by k in every index and
    every size (so the shapes still fit)."""
    if isinstance(node, sympy.Basic):
        return node.subs(LAYER, k)
    if isinstance(node, tuple):
        return tuple(_at_layer(item, k) for item in node)
    if is_dataclass(node) and not isinstance(node, type):
        return replace(node, **{f.name: _at_layer(getattr(node, f.name), k) for f in fields(node)})
    return node


def _gradient_formula(derivation: Derivation, den: Symbol) -> tuple[Expr, Expr] | None:
    """The derivation's formula for the gradient by ``den`` and whose gradient it is (L or J)."""
    net = derivation.network
    k = den.index
    layer = chains_of(derivation).layers.get(k)
    if layer is not None and den == net.weight(k):
        return layer.dw_value, layer.dw.num
    if layer is not None and den == net.bias(k):
        return layer.dw0_value, layer.dw0.num
    if layer is not None and den == net.pre_activation(k):
        return layer.dz_value, layer.dz.num
    if den.name == net.declaration.names.activation and k is not None:
        if k == net.last:
            return layer.output_gradient, layer.dz.num
        following = chains_of(derivation).layers.get(k + 1)
        if following is not None and following.input_gradient is not None:
            return following.input_gradient, following.dz.num
        general = derivation.layers.get(LAYER)
        value = _layer_expr(derivation, sympy.expand(k + 1), lambda g: g.input_gradient)
        if value is not None and general is not None:  # dL/dA^l = W^{l+1} dL/dZ^{l+1}
            return value, general.dz.num
    return None


def _expected(
    check: Check, lhs_index: Index | None, notation: Notation, target_k: int | None
) -> tuple[str, str, str | None]:
    """The right formula in the user's notation and indices: (target, formula, where), where
    ``where`` gives the dL/dZ of the target's layer that the formula refers to."""
    if lhs_index is not None and LAYER in lhs_index.expr.free_symbols:
        memo = check.network._memo
        if "verify symbolic network" not in memo:
            memo["verify symbolic network"] = replace(
                check.network,
                layers=(Layer(None, check.network.declaration.activation_letter),),
                input=None,
                depth="L",
            )
        symbolic = memo["verify symbolic network"]
        derivation = derived(symbolic)
        user = lhs_index.expr - _target_offset(check)
        # bind l so that the target's own index reads l, then write l back as the user did
        target = _target_at(check, 2 * LAYER - user, symbolic)

        def index_map(i: sympy.Expr) -> sympy.Expr:
            return sympy.expand(i.subs({LAYER: user}))

    else:
        derivation = derived(check.instance)
        target = _target_at(check, target_k, check.instance)
        last = check.last

        def index_map(i: sympy.Expr) -> sympy.Expr:
            if lhs_index is None or DEPTH not in lhs_index.expr.free_symbols:
                return i
            return DEPTH - (last - i) if i.is_Integer else i

    value = expected_value(derivation, target)
    where = None
    for node in value.walk():
        if (
            isinstance(node, Derivative)
            and node != target
            and isinstance(node.den, Symbol)
            and isinstance(target.den, Symbol)
            and node.den.index == target.den.index
        ):
            recursion = expected_value(derivation, node)
            if recursion != node:
                where = (
                    f"{to_latex(relabel(node, index_map), notation)} = "
                    f"{to_latex(relabel(recursion, index_map), notation)}"
                )
                if derivation.network.symbolic and node.den.index == LAYER:
                    index = layer_index(index_map(LAYER), notation.with_(layer_style="plain"))
                    where += f"\\quad ({index} < L)"
            break
    return (
        to_latex(relabel(target, index_map), notation),
        to_latex(relabel(value, index_map), notation),
        where,
    )


def _target_offset(check: Check) -> int:
    """How far the target's written index is from its layer's: 1 for UFLDL's \\delta^{(l)},
    z^{(l)}, a^{(l)} (layer l-1's quantities), else 0."""
    offset = check.network.declaration.quantity_offset
    node = _target_node(check.equation.sides[0])
    while isinstance(node, Scripted):
        node = node.base
    if not offset or not isinstance(node, Name):
        return 0
    spelling = spellings(check.network)
    quantities = ("delta", *spelling["pre_activation"], *spelling["activation"])
    return offset if node.text in quantities else 0


def _target_at(check: Check, k, network: Network) -> Derivative:
    bindings = {LAYER: k, DEPTH: network.last} if k is not None else {DEPTH: network.last}
    lhs = check.equation.sides[0]
    if network.symbolic:
        return _symbolic_target(lhs, network, bindings, check.equation.text)
    return Resolver(NetworkNamespace(network), bindings, check.equation.text).expr(lhs)


def _symbolic_target(lhs: Node, network: Network, bindings: dict, text: str) -> Derivative:
    """The target in a network of symbolic depth (only the loss and one layer's symbols)."""
    ns = _SymbolicNamespace(network)
    return Resolver(ns, bindings, text).expr(lhs)


class _SymbolicNamespace(NetworkNamespace):
    """Names of a network of symbolic depth at symbolic layers l and L (targets only)."""

    def __init__(self, network: Network) -> None:  # noqa: D107
        self.network = network
        self.last = DEPTH
        self.batch_names = ()

    def _layer(self, ref, low):  # type: ignore[override]
        return ref.index

    def symbol(self, ref):  # type: ignore[override]
        net = self.network
        spelling = spellings(net)
        if ref.text in NetworkNamespace.LOSS_NAMES and ref.index is None:
            return objective_named(net, ref.text)
        shifted = ref.index
        if shifted is not None:  # UFLDL's z^{(l)} is layer l-1's
            shifted = ref.index - net.declaration.quantity_offset
        if ref.text == "delta" and ref.sub is None:
            at = DEPTH if ref.index is None else shifted
            return Derivative(net.carried_symbol(), net.pre_activation(at))
        if ref.text in spelling["bias"] and ref.sub == spelling["bias_sub"]:
            return net.bias(ref.index)
        if ref.text in spelling["weight"]:
            return net.weight(ref.index)
        if ref.text in spelling["pre_activation"]:
            return net.pre_activation(shifted)
        if ref.text in spelling["activation"]:
            return net.activation(shifted)
        return None


# ------------------------------------------------------------------------------ verify


def verify(subject: object, equation: str) -> Verdict:
    """Whether ``equation`` (LaTeX, ``lhs = rhs``) holds for a spec of any kind, and why.

    One pipeline for every kind: read the equation, resolve its names in the spec's namespace,
    compare shapes at symbolic sizes and values at random sizes, and diagnose a wrong formula
    by small edits in one taxonomy (:class:`ErrorClass`).  A network is checked at every layer
    where the formula's indices exist; a recurrence on its unrolled graphs
    (:mod:`matcalc.checks.verify_recurrence`); a graph spec and an expression context each by
    its own strategy of resolution and draws (:mod:`matcalc.checks.expression`).
    """
    if isinstance(subject, Network):  # the other kinds' modules are imported only for them
        return verify_network(subject, equation)
    from matcalc.specs.context import Context
    from matcalc.specs.graph import Graph
    from matcalc.specs.recurrence import Recurrence

    if isinstance(subject, Recurrence):
        from matcalc.checks.verify_recurrence import verify_recurrence

        return verify_recurrence(subject, equation)
    if isinstance(subject, Graph | Context):
        from matcalc.checks.expression import ContextStrategy, GraphStrategy, verify_expression

        kind = GraphStrategy if isinstance(subject, Graph) else ContextStrategy
        return verify_expression(kind(subject), equation)
    raise TypeError(f"verify checks a network, graph spec, recurrence or context, not {subject!r}")


def verify_network(network: Network, equation: str) -> Verdict:
    """Whether ``equation`` (LaTeX, ``lhs = rhs``) holds for ``network``, and why."""
    parsed = with_layer_letter(parse_latex(equation), network.declaration.layer_letter)
    if network.declaration.name == "bishop":  # delta_j, w_{kj}: the layer from the unit letter
        parsed = with_unit_layers(parsed)
    other = index_symbols(parsed) - {LAYER, DEPTH}
    if len(other) == 1 and LAYER not in index_symbols(parsed) and _marked_layer(parsed, other):
        parsed = with_layer_letter(parsed, str(next(iter(other))))  # CS229's W^{[k]}: k is l
    if len(parsed.sides) < 2:
        raise VerifyError(
            "an equation is expected: the derivative on the left, the formula on the right, "
            "like \\frac{\\partial L}{\\partial W^l} = ..."
        )
    if is_entrywise(parsed):
        return verify_entrywise(network, parsed, equation)
    check = Check(network, _instance(network), parsed)
    checker = _Checker(check)
    layers = [k for k in check.candidate_layers if checker.target(k) is not None]
    if not layers:
        raise VerifyError("the left side names no layer of this network")
    notation = detect_notation(parsed, network)
    lhs = parsed.sides[0]
    lhs_index = _target_index(lhs)
    target_text, expected, where = _expected(check, lhs_index, notation, layers[0])
    target = checker.target(layers[0])
    display = _Display(check.last, lhs_index, notation)
    shape_text = display.shape(target.shape, layers[0])
    instance_note = f" (checked on an instance of depth {check.last})" if network.symbolic else ""

    notes: dict[str, None] = {}
    for side_number, rhs in enumerate(parsed.sides[1:], start=1):
        checker.notes = {}
        outcome = checker.run(rhs)
        notes.update(checker.notes)
        if not outcome.layers:
            raise VerifyError(
                f"the right side{_nth(side_number, parsed)} exists at no layer where the left "
                "side does"
            )
        if outcome.ok:
            continue
        reason = _reason(outcome, checker, rhs, target_text, shape_text, display)
        reason += _notes_text(notes)
        diagnosis, classes = diagnose(checker, rhs, outcome, notation, lhs_index)
        if outcome.shape_problem is not None and ErrorClass.SHAPE_MISMATCH not in classes:
            classes = (ErrorClass.SHAPE_MISMATCH, *classes)
        if diagnosis:
            reason = f"{reason}; {diagnosis}"
        reason += instance_note
        return Verdict(
            "incorrect",
            target_text,
            as_text(reason),
            expected,
            display.layers(outcome.layers, target),
            diagnosis and as_text(diagnosis),
            classes,
            equation,
            shape_text,
            where,
            as_markdown(reason),
        )
    checked = display.layers(checker.run(parsed.sides[-1]).layers, target)
    reason = (
        f"both sides agree in shape ({inline_math(shape_text)}) and in value at "
        f"{layers_text(checked)}{instance_note}{_notes_text(notes)}"
    )
    return Verdict(
        "correct",
        target_text,
        as_text(reason),
        expected,
        checked,
        None,
        (),
        equation,
        shape_text,
        where,
        as_markdown(reason),
    )


def _notes_text(notes: dict[str, None]) -> str:
    """How the reader read an operator that has more than one meaning, for the reason."""
    return "".join(f" ({as_text(note)})" for note in notes)


def _nth(number: int, parsed: Equation) -> str:
    return f" number {number}" if len(parsed.sides) > 2 else ""


def _target_node(lhs: Node) -> Node | None:
    """What the left side differentiates by: W^l in dL/dW^l, dW^{[l]}, \\nabla_{W^{(l)}} J;
    Nielsen's \\delta^l (dC/dz^l) stands for itself, its index the layer's."""
    if isinstance(lhs, Scripted) and isinstance(lhs.base, Name) and lhs.base.text == "delta":
        return lhs
    if isinstance(lhs, Product) and len(lhs.factors) >= 2:
        first, second = lhs.factors[:2]
        if isinstance(first, Nabla) and first.wrt is not None:  # \nabla_{W^{(l)}} J
            lhs = DerivativeOf(second, first.wrt)
        elif isinstance(first, Name) and first.text == "d":  # dW^{[l]}
            lhs = DerivativeOf(first, second)
    if not isinstance(lhs, DerivativeOf):
        return None
    node = lhs.den
    while isinstance(node, Group):
        node = node.inner
    return node


def _target_index(lhs: Node) -> Index | None:
    node = _target_node(lhs)
    return node.index if isinstance(node, Scripted) else None


class _Display:
    """Shapes, expressions and layers found at a concrete layer k, written as the user wrote
    the target: in general l (n^{k+1} -> n^{l+1}), relative to L, or as numbers."""

    def __init__(self, last: int, lhs_index: Index | None, notation: Notation) -> None:
        self.last = last
        self.notation = notation
        index = lhs_index.expr if lhs_index is not None else sympy.Integer(0)
        self.general = LAYER in index.free_symbols
        self.from_depth = not self.general and DEPTH in index.free_symbols

    def _index(self, i: sympy.Expr, k: int | None) -> sympy.Expr:
        if not i.is_Integer:
            return i
        if self.general and k is not None:
            return LAYER + (i - k)
        if self.from_depth:
            return DEPTH - (self.last - i)
        return i

    def shape(self, shape: tuple, k: int | None) -> str:
        def dim(d: sympy.Expr) -> sympy.Expr:
            return d.replace(
                lambda e: isinstance(e, sympy.Indexed) and e.indices[0].is_Integer,
                lambda e: e.base[self._index(e.indices[0], k)],
            )

        return shape_latex((dim(shape[0]), dim(shape[1])), self.notation)

    def expr(self, expr: Expr, k: int | None) -> str:
        return to_latex(relabel(expr, lambda i: self._index(i, k)), self.notation)

    def layers(self, layers: list, target: Derivative) -> tuple[str, ...]:
        """The layers checked: "1", "2", ... for a general formula, else the target's layer."""
        named = tuple(str(k) for k in layers if k is not None)
        if named:
            return named
        index = getattr(target.den, "index", None)
        if index is None:
            return ()
        return (f"L = {index}",) if self.from_depth and index == self.last else (str(index),)


def _reason(outcome, checker, rhs, target_text, shape_text, display: _Display) -> str:
    if outcome.shape_problem is not None:
        k, error = outcome.shape_problem
        target = f"{inline_math(target_text)} is {inline_math(shape_text)}"
        if error is not None:
            return (
                f"shapes do not fit: {error.operation}: "
                f"{inline_math(display.expr(error.left, k))} is "
                f"{inline_math(display.shape(error.left.shape, k))} but "
                f"{inline_math(display.expr(error.right, k))} is "
                f"{inline_math(display.shape(error.right.shape, k))}; {target}"
            )
        got = checker.resolve(rhs, checker.check.generic, k).shape
        return f"the right side is {inline_math(display.shape(got, k))} but {target}"
    k = outcome.value_problem
    where = f" at layer {k}" if k is not None else ""
    return f"the shapes fit but the values differ from {inline_math(target_text)}{where}"


# ------------------------------------------------------------------------------ diagnosis


@record
class Edit:
    """A small change to the right side, what it says, and its error class."""

    rhs: Node
    says: str
    error_class: tuple[str, ...]


def diagnose(
    checker: Checker, rhs: Node, outcome: _Outcome, notation: Notation, lhs_index: Index | None
) -> tuple[str | None, tuple[str, ...]]:
    """The first small edit that makes the formula right: what it says and its classes."""
    deadline = time.monotonic() + DIAGNOSIS_SECONDS
    tried: list[Edit] = []
    for count, edit in enumerate(edits(checker, rhs, lhs_index, notation)):
        if count >= MAX_EDITS or time.monotonic() > deadline:
            break
        if _fixes(checker, edit):
            return edit.says, edit.error_class
        tried.append(edit)
    found = checker.value_diagnosis(rhs, outcome)
    if found is not None:
        return found
    # the first edit of each kind, then the rest, as the first of two mistakes
    kinds: dict = {}
    for edit in tried:
        kinds.setdefault(edit.error_class, edit)
    firsts = list(kinds.values())
    firsts += [e for e in tried if e not in firsts]
    tried = firsts[:PAIR_FIRSTS]
    # two mistakes at once: a second edit after each of the likeliest first ones
    deadline = time.monotonic() + PAIR_SECONDS
    for first in tried:
        for count, second in enumerate(edits(checker, first.rhs, lhs_index, notation)):
            if count >= PAIR_SECONDS_EDITS or time.monotonic() > deadline:
                break
            if second.error_class == first.error_class or second.rhs == rhs:
                continue
            if _fixes(checker, second):
                classes = tuple(dict.fromkeys((*first.error_class, *second.error_class)))
                return f"two mistakes: {first.says}; and {second.says}", classes
        if time.monotonic() > deadline:
            break
    return None, ()


def _fixes(checker: Checker, edit: Edit) -> bool:
    """Whether the edited right side is right (shapes at symbolic sizes first, then values)."""
    try:
        result = checker.run(edit.rhs, quick=True)
        if result.shape_problem is None and result.layers:
            result = checker.run(edit.rhs)
    except MatcalcError:
        return False
    return result.ok and bool(result.layers)


def _paths(node: Node, path: tuple = ()) -> Iterator[tuple[tuple, Node]]:
    yield path, node
    for name, value in vars(node).items():
        if isinstance(value, Node):
            yield from _paths(value, (*path, name))
        elif isinstance(value, tuple):
            for position, item in enumerate(value):
                if isinstance(item, Node):
                    yield from _paths(item, (*path, (name, position)))


def _replace_at(node: Node, path: tuple, new: Node) -> Node:
    if not path:
        return new
    step, rest = path[0], path[1:]
    if isinstance(step, tuple):
        name, position = step
        items = list(getattr(node, name))
        items[position] = _replace_at(items[position], rest, new)
        return replace(node, **{name: tuple(items)})
    return replace(node, **{step: _replace_at(getattr(node, step), rest, new)})


def _source(checker: _Checker, node: Node) -> str:
    """The user's LaTeX of a piece of the formula, marked as math for the reason."""
    if node.start >= 0:
        return inline_math(checker.text[node.start : node.end].strip())
    return "?"


def _is_factor(node: Node, named: tuple[str, ...]) -> bool:
    return (
        isinstance(node, Scripted | DerivativeOf | Group | Transposed)
        or _is_gradient_name(node)
        or (isinstance(node, Name) and node.text in named)
    )


def _named_factors(network: Network) -> tuple[str, ...]:
    """Names that stand for a whole quantity: the input (x), the target (y), 6.390's guess g,
    Goodfellow's running gradient g."""
    spelling = spellings(network)
    running = ("g",) if network.declaration.running_gradient == "cost" else ()
    return (*spelling["input"], *spelling["target"], *spelling["output"], *running)


def _starts_gradient_name(node: Node) -> bool:
    return (isinstance(node, Name) and node.text == "d" and node.mark is None) or (
        isinstance(node, Nabla) and node.wrt is not None
    )


def _is_gradient_name(node: Node) -> bool:
    """Ng's dX and Goodfellow's \\nabla_X J, grouped by ``_grouped_gradients``."""
    return (
        isinstance(node, Product)
        and len(node.factors) == 2
        and _starts_gradient_name(node.factors[0])
    )


def _grouped_gradients(node: Node) -> Node:
    """The right side with each dX and \\nabla_X J one factor of its product, so that edits
    move, transpose and replace it whole."""
    changes = {}
    for name, value in vars(node).items():
        if isinstance(value, Node):
            changes[name] = _grouped_gradients(value)
        elif isinstance(value, tuple) and any(isinstance(item, Node) for item in value):
            changes[name] = tuple(_grouped_gradients(item) for item in value)
    node = replace(node, **changes) if changes else node
    if not isinstance(node, Product) or len(node.factors) <= 2:
        return node
    factors: list[Node] = []
    rest = list(node.factors)
    while rest:
        first = rest.pop(0)
        if _starts_gradient_name(first) and rest:
            second = rest.pop(0)
            first = Product((first, second), start=first.start, end=second.end)
        factors.append(first)
    return replace(node, factors=tuple(factors))


def edits(
    checker: Checker, rhs: Node, lhs_index: Index | None, notation: Notation
) -> Iterator[Edit]:
    """Small edits of the right side, the likeliest first."""
    rhs = _grouped_gradients(rhs)
    named = checker.factor_names()
    weight_target = checker.weight_target
    layout_note = _layout_note(checker.layout, checker.other_layout)
    whole = Transposed(Group(rhs, "("))
    paths = list(_paths(rhs))
    if isinstance(rhs, Transposed):
        layout = () if weight_target else (ErrorClass.LAYOUT_MISMATCH,)
        yield Edit(
            rhs.arg,
            "the right side should not be transposed" + ("" if weight_target else layout_note),
            (ErrorClass.EXTRA_TRANSPOSE, *layout),
        )
    extra = [
        Edit(
            _replace_at(rhs, path, node.arg),
            f"extra transpose on {_source(checker, node.arg)}",
            (ErrorClass.EXTRA_TRANSPOSE,),
        )
        for path, node in paths
        if path and isinstance(node, Transposed) and _is_factor(node, named)
    ]
    if weight_target:  # the classic: the gradient of the other forward equation
        classes = (ErrorClass.MISSING_TRANSPOSE, ErrorClass.CONVENTION_MISMATCH)
        yield Edit(
            whole, f"the whole right side should be transposed{checker.convention_note}", classes
        )
        yield from extra
    else:  # a transpose too many comes before a transpose of the whole
        yield from extra
        classes = (ErrorClass.MISSING_TRANSPOSE, ErrorClass.LAYOUT_MISMATCH)
        yield Edit(whole, f"the whole right side should be transposed{layout_note}", classes)
    for path, node in paths:
        if not path or not _is_factor(node, named):
            continue
        shown = _source(checker, node)
        if isinstance(node, Transposed):
            continue
        if not isinstance(node, Group) or node.delim == "(":
            yield Edit(
                _replace_at(rhs, path, Transposed(node)),
                f"missing transpose on {shown}",
                (ErrorClass.MISSING_TRANSPOSE,),
            )
    for path, node in paths:
        if isinstance(node, Product) and len(node.factors) >= 2:
            swapped = Product(tuple(reversed(node.factors)))
            yield Edit(
                _replace_at(rhs, path, swapped),
                f"the factors of {_source(checker, node)} are in the wrong order",
                (ErrorClass.SWAPPED_ORDER,),
            )
            if len(node.factors) == 2:
                first, second = node.factors
                for new, says in (
                    ((second, Transposed(first)), f"{_source(checker, first)} transposed"),
                    ((Transposed(second), first), f"{_source(checker, second)} transposed"),
                ):
                    yield Edit(
                        _replace_at(rhs, path, Product(new)),
                        f"the factors of {_source(checker, node)} are in the wrong order, "
                        f"with {says}",
                        (ErrorClass.SWAPPED_ORDER, ErrorClass.MISSING_TRANSPOSE),
                    )
            for i in range(len(node.factors) - 1):
                factors = list(node.factors)
                factors[i], factors[i + 1] = factors[i + 1], factors[i]
                yield Edit(
                    _replace_at(rhs, path, Product(tuple(factors))),
                    f"{_source(checker, node.factors[i])} and "
                    f"{_source(checker, node.factors[i + 1])} are in the wrong order",
                    (ErrorClass.SWAPPED_ORDER,),
                )
    yield from checker.derivative_edits(rhs, paths, lhs_index, notation)
    yield from _product_kind_edits(checker, rhs, paths)
    yield from checker.batch_sum_edits(rhs)
    yield from checker.layer_edits(rhs, paths, notation)
    yield Edit(Neg(Group(rhs, "(")), "the sign is wrong", (ErrorClass.WRONG_SIGN,))
    for path, node in paths:
        if isinstance(node, Product):
            numbers = [i for i, f in enumerate(node.factors) if isinstance(f, Number)]
            for i in numbers:
                rest = node.factors[:i] + node.factors[i + 1 :]
                new = rest[0] if len(rest) == 1 else Product(rest)
                yield Edit(
                    _replace_at(rhs, path, new),
                    f"the factor {_source(checker, node.factors[i])} should not be there",
                    (ErrorClass.WRONG_SCALE,),
                )
    for factor, text in (
        (Fraction(2), "a factor 2 is missing"),
        (Fraction(1, 2), "the right side is twice too large"),
    ):
        yield Edit(Product((Number(factor), Group(rhs, "("))), text, (ErrorClass.WRONG_SCALE,))
    yield from checker.late_edits(rhs, paths, lhs_index, notation)


def _layout_note(layout: str, other: str) -> str:
    """Why a whole side transposed is a layout's mistake, and in which layout it is right."""
    return (
        f" (it is the transpose of the right formula: the {other}-layout form, right in "
        f"{other} layout; here derivatives are in {layout} layout)"
    )


def _layer_edits(checker, rhs: Node, paths: list, notation: Notation) -> Iterator[Edit]:
    """A layer index off by one."""
    for path, node in paths:
        if isinstance(node, Scripted) and node.index is not None:
            for shift in (1, -1):
                moved = replace(node, index=replace(node.index, expr=node.index.expr + shift))
                yield Edit(
                    _replace_at(rhs, path, moved),
                    f"{_source(checker, node)} should be {_show(moved, notation)} "
                    "(wrong layer index)",
                    (ErrorClass.WRONG_LAYER,),
                )


def _product_kind_edits(checker: _Checker, rhs: Node, paths: list) -> Iterator[Edit]:
    """A matrix product that should be elementwise (at each split of the factors), and an
    elementwise product that should be a matrix product."""
    for path, node in paths:
        if isinstance(node, Product) and len(node.factors) >= 2:
            for split in range(1, len(node.factors)):
                left, right = node.factors[:split], node.factors[split:]
                parts = tuple(p[0] if len(p) == 1 else Product(p) for p in (left, right))
                shown = " and ".join(
                    _source(checker, Product(p, start=p[0].start, end=p[-1].end))
                    for p in (left, right)
                )
                yield Edit(
                    _replace_at(rhs, path, Elementwise(parts)),
                    f"the product of {shown} should be elementwise, not a matrix product",
                    (ErrorClass.ELEMENTWISE_AS_MATRIX_PRODUCT,),
                )
        if isinstance(node, Elementwise) and len(node.factors) >= 2:
            for factors in (node.factors, tuple(reversed(node.factors))):
                yield Edit(
                    _replace_at(rhs, path, Product(factors)),
                    f"{_source(checker, node)} should be a matrix product, not elementwise",
                    (ErrorClass.MATRIX_PRODUCT_AS_ELEMENTWISE,),
                )


def _is_bias_target(lhs: Node, network: Network) -> bool:
    node = _target_node(lhs)
    spelling = spellings(network)
    if not (isinstance(node, Scripted) and isinstance(node.base, Name)):
        return False
    sub = None if node.sub is None else _sub_text(node.sub)
    return node.base.text in spelling["bias"] and sub == spelling["bias_sub"]


def _batch_sum_edits(checker: _Checker, rhs: Node) -> Iterator[Edit]:
    """Over a batch, a bias's gradient that keeps one column per example: the sum is missing."""
    network = checker.check.network
    if network.batch_size is None or not _is_bias_target(checker.check.equation.sides[0], network):
        return
    ones = Name("1", "ones")
    batch = network.batch_size
    letter = str(batch) if batch.is_Symbol else network.declaration.batch_letter
    rows = network.declaration.examples_as_rows  # CS231n: 1^T G adds up the rows
    columns = inline_math("\\mathbf{1}^T G" if rows else "G \\mathbf{1}")
    says = (
        "the sum over the examples of the batch is missing (a bias's gradient adds up the "
        f"{'rows' if rows else 'columns'}, {columns})"
    )

    def summed(*factors: Node) -> Product:
        return Product((Transposed(ones), *factors) if rows else (*factors, ones))

    yield Edit(summed(Group(rhs, "(")), says, (ErrorClass.MISSING_BATCH_SUM,))
    mean = Frac(Number(Fraction(1)), Name(letter))
    yield Edit(
        Product((mean, summed(Group(rhs, "(")))) if rows else summed(mean, Group(rhs, "(")),
        f"{says}, and so is the {inline_math('1/' + letter)} of the mean",
        (ErrorClass.MISSING_BATCH_SUM, ErrorClass.MISSING_BATCH_MEAN),
    )


def _batch_mean_edits(checker: _Checker, rhs: Node) -> Iterator[Edit]:
    """Over a batch: the cost's 1/m forgotten, or applied twice."""
    network = checker.check.network
    if network.batch_size is None:
        return
    size = str(network.batch_size)
    letter = size if network.batch_size.is_Symbol else network.declaration.batch_letter
    mean = Frac(Number(Fraction(1)), Name(letter))
    yield Edit(
        Product((mean, Group(rhs, "("))),
        f"the {inline_math('1/' + letter)} of the mean over the batch is missing "
        f"({inline_math('J')} is the mean of the {inline_math(size)} per-example losses)",
        (ErrorClass.WRONG_SCALE, ErrorClass.MISSING_BATCH_MEAN),
    )
    yield Edit(
        Product((Name(letter), Group(rhs, "("))),
        f"the {inline_math('1/' + letter)} of the mean over the batch is there once too often",
        (ErrorClass.WRONG_SCALE, ErrorClass.EXTRA_BATCH_MEAN),
    )


def _weight_decay_edits(checker: _Checker, rhs: Node) -> Iterator[Edit]:
    """With a weight decay: its lambda W^l forgotten in a weight's gradient or written with
    another coefficient, or a term in lambda where none belongs (a bias is not regularized)."""
    network = checker.check.network
    name = network.decay_name or (None if network.decay is None else str(network.decay))
    target = _target_node(checker.check.equation.sides[0])
    if name is None or target is None:
        return
    tex = sympy.latex(network.decay if network.decay_name is None else sympy.Symbol(name))
    terms = rhs.terms if isinstance(rhs, SumNode) else (rhs,)
    decayed = [t for t in terms if any(isinstance(n, Name) and n.text == name for n in walk(t))]
    kept = tuple(t for t in terms if t not in decayed)
    weight = _is_weight_target(checker.check.equation.sides[0], network)
    decay = Product(
        (Name(name) if network.decay_name else Number(Fraction(str(network.decay))), target)
    )
    penalty = tex + r" / 2 \, \|W\|_F^2"
    if weight and not decayed:
        yield Edit(
            SumNode((*terms, decay)),
            f"the weight decay's {inline_math(tex + ' W')} is missing (the gradient of "
            f"{inline_math(penalty)})",
            (ErrorClass.MISSING_WEIGHT_DECAY,),
        )
    elif weight and kept:
        yield Edit(
            SumNode((*kept, decay)),
            f"the weight decay's term is {inline_math(tex + ' W')}, the gradient of "
            f"{inline_math(penalty)}",
            (ErrorClass.WRONG_SCALE,),
        )
    elif decayed and kept:
        yield Edit(
            kept[0] if len(kept) == 1 else SumNode(kept),
            f"the weight decay's {inline_math(tex)} term does not belong here (the biases are "
            "not regularized)",
            (ErrorClass.EXTRA_WEIGHT_DECAY,),
        )


def _convention_note(convention: Convention) -> str:
    """Why a whole transposed weight gradient is a classic: the other forward equation."""
    other = "Z = W A + b" if convention.weight_is_transposed else "Z = W^T A + W_0"
    return (
        f" (it is the gradient for {inline_math(other)}; the {convention.name} convention is "
        f"{inline_math(convention.equations[0])})"
    )


def _is_weight_target(lhs: Node, network: Network) -> bool:
    node = _target_node(lhs)
    if isinstance(node, Name) and node.mark is None:  # W of a one-layer network
        return node.text in spellings(network)["weight"]
    return (
        isinstance(node, Scripted)
        and isinstance(node.base, Name)
        and node.base.text in spellings(network)["weight"]
        and node.sub is None
    )


def _derivative_edits(checker, rhs, paths, lhs_index, notation) -> Iterator[Edit]:
    """Drop an f'(..) factor; add f'(Z^l) ⊙ in front."""
    for path, node in paths:
        if isinstance(node, Elementwise):  # (a - y) \odot \sigma'(z): an applied f' as a factor
            for i, factor in enumerate(node.factors):
                if not _applied_derivative(factor):
                    continue
                rest = node.factors[:i] + node.factors[i + 1 :]
                applied = inline_math(checker.text[factor.start : factor.end].strip())
                yield Edit(
                    _replace_at(rhs, path, rest[0] if len(rest) == 1 else Elementwise(rest)),
                    f"the factor {applied} should not be there",
                    (ErrorClass.EXTRA_FACTOR,),
                )
        if isinstance(node, Product | Elementwise):
            for i, factor in enumerate(node.factors):
                if not isinstance(factor, Primed) or i + 1 >= len(node.factors):
                    continue
                applied = inline_math(checker.text[factor.start : node.factors[i + 1].end].strip())
                for shift in (-1, 1):  # f^{l+1}'(Z^{l+1}) where f^l'(Z^l) belongs
                    moved = [_shifted(f, shift) for f in node.factors[i : i + 2]]
                    if moved == list(node.factors[i : i + 2]):
                        continue
                    factors = (*node.factors[:i], *moved, *node.factors[i + 2 :])
                    yield Edit(
                        _replace_at(rhs, path, type(node)(factors)),
                        f"{applied} is at the wrong layer (wrong layer index)",
                        (ErrorClass.WRONG_LAYER,),
                    )
                rest = node.factors[:i] + node.factors[i + 2 :]
                if not rest:
                    continue
                new = rest[0] if len(rest) == 1 else type(node)(rest)
                yield Edit(
                    _replace_at(rhs, path, new),
                    f"the factor {applied} should not be there",
                    (ErrorClass.EXTRA_FACTOR,),
                )
    if lhs_index is not None:
        convention = checker.check.network.declaration
        letter, pre = convention.activation_letter, convention.names.pre_activation
        z = Scripted(Name(pre), None, lhs_index)
        f_prime = Primed(Group(Scripted(Name(letter), None, lhs_index), "{"))
        added = Elementwise((Product((f_prime, Group(z, "("))), Group(rhs, "(")))
        at = lhs_index.expr - _target_offset(checker.check)  # UFLDL's z^{(l)}: layer l-1's
        shown = inline_math(
            to_latex(Apply(Function(letter, 1, at), Symbol(pre, (1, 1), at)), notation)
        )
        says = f"the activation's derivative {shown} is missing (multiply entrywise by it)"
        yield Edit(added, says, (ErrorClass.MISSING_FACTOR,))
        for path, node in paths:  # inside a parenthesis: A^{L-1} ((A^L - y) \odot f'(Z^L))^T
            if path and isinstance(node, Group) and node.delim == "(":
                inner = Elementwise((Product((f_prime, Group(z, "("))), node))
                yield Edit(
                    _replace_at(rhs, path, Group(inner, "(")),
                    f"{says} in {_source(checker, node)}",
                    (ErrorClass.MISSING_FACTOR,),
                )


def _applied_derivative(node: Node) -> bool:
    """Whether ``node`` is a derivative applied to its argument: f'(Z^l), \\sigma'(z^L)."""
    return (
        isinstance(node, Product) and len(node.factors) == 2 and isinstance(node.factors[0], Primed)
    )


def _replacement_edits(checker, rhs, paths, lhs_index, notation) -> Iterator[Edit]:
    """Replace one factor by another quantity of the network; swap Z and A in arguments."""
    network = checker.check.network
    candidates = _candidate_factors(lhs_index, network)
    named = _named_factors(network)
    for path, node in paths:
        replaceable = isinstance(node, Scripted | DerivativeOf) or _is_gradient_name(node)
        if not path or not (replaceable or isinstance(node, Name) and node.text in named):
            continue
        for candidate in candidates:
            if candidate == node:
                continue
            yield Edit(
                _replace_at(rhs, path, candidate),
                f"the factor {_source(checker, node)} should be {_show(candidate, notation)}",
                (ErrorClass.WRONG_FACTOR,),
            )
    spelling = spellings(network)
    pairs = list(zip(spelling["pre_activation"], spelling["activation"], strict=False))
    swapped_letter = {**dict(pairs), **{act: pre for pre, act in pairs}}
    swaps: dict = {}
    for path, node in paths:
        if (
            isinstance(node, Scripted)
            and isinstance(node.base, Name)
            and node.base.text in swapped_letter
            and node.index is not None
        ):
            swaps.setdefault(node, []).append(path)
    for node, where in swaps.items():
        new = replace(node, base=Name(swapped_letter[node.base.text]))
        edited = rhs
        for path in where:
            edited = _replace_at(edited, path, new)
        yield Edit(
            edited,
            f"{_source(checker, node)} should be {_show(new, notation)} "
            f"(the formula is evaluated at the wrong argument)",
            (ErrorClass.WRONG_ARGUMENT,),
        )


def _shifted(node: Node, shift: int) -> Node:
    """The node with every layer index in it moved by ``shift``."""
    changes = {}
    for name, value in vars(node).items():
        if isinstance(value, Node):
            changes[name] = _shifted(value, shift)
        elif isinstance(value, tuple) and any(isinstance(item, Node) for item in value):
            changes[name] = tuple(_shifted(item, shift) for item in value)
    if isinstance(node, Scripted) and node.index is not None:
        changes["index"] = replace(node.index, expr=node.index.expr + shift)
    return replace(node, **changes) if changes else node


def _candidate_factors(lhs_index: Index | None, network: Network) -> list[Node]:
    """The quantities near the target's layer, in the convention's names and gradients."""
    if lhs_index is None:
        return []
    convention = network.declaration
    names = convention.names

    def at(letter: str, shift: int) -> Scripted:
        return Scripted(Name(letter), None, replace(lhs_index, expr=lhs_index.expr + shift))

    def gradient(by: Node) -> Node:
        if convention.gradient_names == "d-prefix":
            return Product((Name("d"), by))
        if convention.gradient_names == "nabla":
            return Product((Nabla(by), Name(names.cost)))
        return DerivativeOf(Name(names.loss), by)

    pre, act = names.pre_activation, names.activation
    return [
        at(act, -1),
        at(act, 0),
        at(pre, 0),
        at(names.weight, 0),
        at(names.weight, 1),
        gradient(at(pre, 0)),
        gradient(at(pre, 1)),
        gradient(at(act, 0)),
    ]


def _show(node: Node, notation: Notation) -> str:
    """LaTeX of a constructed piece of syntax, in the user's notation, marked as math."""
    return inline_math(_show_tex(node, notation))


def _show_tex(node: Node, notation: Notation) -> str:
    if isinstance(node, Scripted) and isinstance(node.base, Name):
        sub = f"_{{{_sub_text(node.sub)}}}" if node.sub is not None else ""
        sup = f"^{{{layer_index(node.index.expr, notation)}}}" if node.index else ""
        return f"{node.base.text}{sub}{sup}"
    if isinstance(node, DerivativeOf) and node.num is not None:
        return f"\\frac{{\\partial {notation.loss}}}{{\\partial {_show_tex(node.den, notation)}}}"
    if _is_gradient_name(node):
        first, second = node.factors
        if isinstance(first, Nabla):
            return f"\\nabla_{{{_show_tex(first.wrt, notation)}}} {_show_tex(second, notation)}"
        return f"d{_show_tex(second, notation)}"
    if isinstance(node, Name):
        return node.text
    return "?"


def _sub_text(node: Node) -> str:
    if isinstance(node, Number):
        return str(node.value)
    if isinstance(node, Name):
        return node.text
    return "?"


# ------------------------------------------------------------------------------ entrywise

_INDEX_LETTERS = frozenset("ijkpqrst")


def _index_letters(node: Node | None) -> tuple[str, ...] | None:
    """The index letters of a subscript (j, {jk}, {j,k}), or None if it is not one."""
    while isinstance(node, Group) and node.delim == "{":
        node = node.inner
    if isinstance(node, Name) and node.mark is None and node.text in _INDEX_LETTERS:
        return (node.text,)
    if isinstance(node, Product) and all(_index_letters(f) is not None for f in node.factors):
        letters = tuple(t for f in node.factors for t in _index_letters(f))  # type: ignore[union-attr]
        return letters if len(letters) <= 2 else None
    return None


def _entry_named(node: Node) -> bool:
    return isinstance(node, Scripted) and _index_letters(node.sub) is not None


def is_entrywise(equation: Equation) -> bool:
    """Whether the formula is written entry by entry: w^l_{jk}, \\delta^l_j, a^{l-1}_k."""
    return any(_entry_named(node) for node in walk(equation))


def _mapped_children(node: Node, visit: Callable[[Node], Node]) -> dict:
    """The fields of ``node`` that hold syntax, each mapped by ``visit`` (for ``replace``)."""
    changes = {}
    for name, value in vars(node).items():
        if isinstance(value, Node):
            changes[name] = visit(value)
        elif isinstance(value, tuple) and any(isinstance(item, Node) for item in value):
            changes[name] = tuple(visit(item) for item in value)
    return changes


def _stripped(node: Node) -> Node:
    """The node with its index subscripts removed (w^l_{jk} -> w^l)."""
    changes = _mapped_children(node, _stripped)
    if _entry_named(node):
        changes["sub"] = None
    return replace(node, **changes) if changes else node


def _letters_in(node: Node) -> tuple[str, ...]:
    """The index letters of every subscripted name in ``node``, in order."""
    found: dict[str, None] = {}
    for item in walk(node):
        if _entry_named(item):
            found.update(dict.fromkeys(_index_letters(item.sub)))  # type: ignore[arg-type]
    return tuple(found)


class _Entries:
    """Values of an entrywise formula at one layer of one network and draw."""

    def __init__(self, checker: _Checker, net: Network, derivation: Derivation, env, k) -> None:
        self.checker, self.net, self.derivation, self.env, self.k = checker, net, derivation, env, k
        self.cache: dict = {}

    def matrix(self, node: Node) -> np.ndarray:
        """The value of a piece of formula read as matrices (its subscripts stripped)."""
        key = id(node)
        if key not in self.cache:
            expr = self.checker.resolve(_stripped(node), self.net, self.k)
            with np.errstate(all="ignore"):
                self.cache[key] = _evaluate(expr, self.net, self.derivation, self.env)
        return self.cache[key]

    def size(self, node: Node, letter: str) -> int:
        """How far a summed index runs: the size of the dimension it indexes."""
        for item in walk(node):
            if _entry_named(item):
                letters = _index_letters(item.sub)
                if letter in letters:
                    return self.matrix(item).shape[letters.index(letter)]
        raise VerifyError(f"the sum over {letter} indexes nothing")

    def at(self, node: Node, idx: dict) -> float:
        """The formula's value at the index values ``idx``."""
        letters = _letters_in(node)
        if not any(letter not in idx for letter in letters) and self._lifts(node):
            value = self.matrix(node)
            own = self._own_letters(node)
            row = idx[own[0]] if own else 0
            col = idx[own[1]] if len(own) > 1 else 0
            if value.shape == (1, 1):
                return float(value[0, 0])
            return float(value[row, col])
        match node:
            case Group(inner=inner):
                return self.at(inner, idx)
            case Neg(arg=arg):
                return -self.at(arg, idx)
            case SumNode(terms=terms):
                return sum(self.at(t, idx) for t in terms)
            case Elementwise(factors=factors):
                return float(np.prod([self.at(f, idx) for f in factors]))
            case Frac(num=num, den=den):
                return self.at(num, idx) / self.at(den, idx)
            case PowerNode(arg=arg, exponent=exponent):  # (1 - z_j^2): a power of an entry
                return self.at(arg, idx) ** float(exponent)
            case Product(factors=factors):
                return self._product(factors, idx)
        raise VerifyError("this part of an entrywise formula cannot be read entry by entry")

    def _product(self, factors: tuple[Node, ...], idx: dict) -> float:
        result = 1.0
        for position, factor in enumerate(factors):
            letter = _summed_letter(factor)
            if letter is not None:
                rest = factors[position + 1 :]
                summand = rest[0] if len(rest) == 1 else Product(rest)
                total = sum(
                    self.at(summand, {**idx, letter: v}) for v in range(self.size(summand, letter))
                )
                return result * total
            if self._is_function(factor) and position + 1 < len(factors):
                applied = Product((factor, factors[position + 1]))
                rest = factors[position + 2 :]
                value = self.at(applied, idx)
                return result * value * (self._product(rest, idx) if rest else 1.0)
            result *= self.at(factor, idx)
        return result

    def _is_function(self, node: Node) -> bool:
        return isinstance(node, Primed) or (
            isinstance(node, Name) and node.text in ("sigma", "tanh", "exp", "log", "f", "g", "h")
        )

    def _own_letters(self, node: Node) -> tuple[str, ...]:
        return _letters_in(node)

    def _lifts(self, node: Node) -> bool:
        """Whether the piece is one subscripted name, or a function of one (sigma'(z^l_j)),
        or a derivative by one (\\partial C / \\partial a^L_j): read as a matrix, then indexed."""
        while isinstance(node, Group):
            node = node.inner
        if _entry_named(node):
            return True
        if isinstance(node, DerivativeOf) and node.num is not None:
            return _entry_named(node.den) and not _letters_in(node.num)
        if (
            isinstance(node, Product)
            and len(node.factors) == 2
            and self._is_function(node.factors[0])
        ):
            arg = node.factors[1]
            while isinstance(arg, Group):
                arg = arg.inner
            return _entry_named(arg)
        return not _letters_in(node)


def verify_entrywise(network: Network, parsed: Equation, equation: str) -> Verdict:
    """An entrywise formula checked entry by entry against the matrix gradient it is part of:
    every (j, k) at random sizes, at every layer, in every random draw."""
    lhs, rhs = parsed.sides[0], parsed.sides[-1]
    letters = _letters_in(lhs)
    if not letters:
        raise VerifyError("an entrywise formula's left side names its entry, like w^l_{jk}")
    free = set(_letters_in(rhs)) - set(letters) - _summed_letters(rhs)
    if free:
        raise VerifyError(
            f"the index {', '.join(sorted(free))} is neither on the left side nor summed"
        )
    matrix_equation = replace(parsed, sides=(_stripped(lhs), _stripped(rhs)))
    check = Check(network, _instance(network), matrix_equation)
    checker = _Checker(check)
    layers = [
        k
        for k in check.candidate_layers
        if checker.target(k) is not None and _exists(checker, matrix_equation.sides[1], k)
    ]
    if not layers:
        raise VerifyError("the formula names no layer of this network on both sides")
    notation = detect_notation(matrix_equation, network)
    lhs_index = _target_index(matrix_equation.sides[0])
    target_text, expected, where = _expected(check, lhs_index, notation, layers[0])
    display = _Display(check.last, lhs_index, notation)
    target = checker.target(layers[0])
    shape_text = display.shape(target.shape, layers[0])
    named = "(" + ", ".join(letters) + ")"
    wrong_at = _first_wrong_entry(checker, check, lhs, rhs, letters, layers)
    if wrong_at is None:
        reason = (
            f"every entry {named} agrees with the matrix gradient {inline_math(target_text)} "
            f"({inline_math(shape_text)}) at {layers_text(display.layers(layers, target))}"
        )
        return Verdict("correct", target_text, as_text(reason), expected,
                       display.layers(layers, target), None, (), equation, shape_text, where,
                       as_markdown(reason))  # fmt: skip
    k, entry = wrong_at
    shown = "(" + ", ".join(map(str, entry)) + ")"
    reason = (
        f"the entry {named} = {shown} differs from the matrix gradient "
        f"{inline_math(target_text)}" + (f" at layer {k}" if k is not None else "")
    )
    diagnosis, classes = None, ()
    for swapped, says in (
        (_swap_indices(rhs), "the two indices of a weight are swapped (w_{jk} connects unit k "
         "of the layer before to unit j)"),
        (_rename_indices(rhs, letters), f"the indices {' and '.join(letters)} are swapped"),
    ):  # fmt: skip
        if swapped is not None and not _first_wrong_entry(
            checker, check, lhs, swapped, letters, layers
        ):
            diagnosis, classes = says, (ErrorClass.MISSING_TRANSPOSE,)
            reason += f"; {diagnosis}"
            break
    return Verdict("incorrect", target_text, as_text(reason), expected,
                   display.layers(layers, target), diagnosis, classes, equation, shape_text,
                   where, as_markdown(reason))  # fmt: skip


def _exists(checker: _Checker, rhs: Node, k) -> bool:
    """Whether the right side's layers exist at layer k (W^{l+1} does not at l = L)."""
    try:
        checker.resolve(rhs, checker.check.generic, k)
    except NoSuchLayerError:
        return False
    except MatcalcError:
        return True  # a real problem: reported when the entries are read
    return True


def _rename_indices(node: Node, letters: tuple[str, ...]) -> Node | None:
    """The formula with the left side's two index letters exchanged everywhere."""
    if len(letters) != 2:
        return None
    first, second = letters
    swap = {first: second, second: first}

    def visit(item: Node) -> Node:
        changes = _mapped_children(item, visit)
        if isinstance(item, Name) and item.mark is None and item.text in swap:
            changes["text"] = swap[item.text]
        return replace(item, **changes) if changes else item

    return visit(node)


def _summed_letter(node: Node) -> str | None:
    """The letter a sum runs over: \\sum_j, or \\sum_{j=1}^{s_{l+1}} (UFLDL's, over all of j's
    range), else None."""
    if not isinstance(node, SumOfNode):
        return None
    if isinstance(node.sub, Name):
        return node.sub.text
    if isinstance(node.sub, Bound) and _is_one(node.sub.low):
        return node.sub.variable
    return None


def _summed_letters(node: Node) -> set[str]:
    return {letter for n in walk(node) if (letter := _summed_letter(n)) is not None}


def _is_one(node: Node) -> bool:
    return isinstance(node, Number) and node.value == 1


def _swap_indices(node: Node) -> Node | None:
    """The formula with the two index letters of every doubly subscripted name swapped."""
    swapped = False

    def visit(item: Node) -> Node:
        nonlocal swapped
        changes = {}
        for name, value in vars(item).items():
            if isinstance(value, Node):
                changes[name] = visit(value)
            elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
                changes[name] = tuple(visit(v) for v in value)
        if _entry_named(item) and len(_index_letters(item.sub)) == 2:  # type: ignore[arg-type]
            first, second = _index_letters(item.sub)  # type: ignore[misc]
            changes["sub"] = Product((Name(second), Name(first)))
            swapped = True
        return replace(item, **changes) if changes else item

    result = visit(node)
    return result if swapped else None


def _first_wrong_entry(checker, check, lhs, rhs, letters, layers):
    """(layer, entry) of the first entry that differs, or None when every entry agrees."""
    for net, derivation, envs in check.environments:
        for env in envs:
            for k in layers:
                entries = _Entries(checker, net, derivation, env, k)
                want = entries.matrix(lhs)
                for position in np.ndindex(want.shape):
                    idx = dict(zip(letters, position, strict=False))
                    if len(letters) == 1 and want.shape[1] != 1:
                        raise VerifyError("a single index names an entry of a column")
                    shown = tuple(p + 1 for p in position[: len(letters)])
                    try:
                        got = entries.at(rhs, idx)
                    except (IndexError, ValueError):
                        return k, shown
                    if not np.isclose(got, want[position], RTOL, ATOL):
                        return k, shown
    return None


def verify_spec(spec: str, equation: str) -> Verdict:
    """verify() with the network given as TOML text."""
    return verify(Network.from_toml(spec), equation)


MAX_BATCH_LINES = 10_000_000
"""Lines of a batch file read at most (the file is streamed: memory does not grow with it)."""
MAX_LINE_BYTES = 2_000_000
"""Bytes of one batch line at most: a spec (100,000 characters) JSON-escaped, and its equation."""
BATCH_CHUNK = 8
"""Lines a worker verifies per task: enough to amortize the hand-over, few to keep order cheap."""
SPEC_CACHE_SIZE = 64
MAX_CACHED_VERDICTS = 4096
"""Distinct equations whose verdicts a parsed spec keeps within a batch."""
"""Distinct specs kept parsed per process within a batch (the same spec is usually repeated)."""


@record
class _ParsedSpec:
    """A batch spec read once: the network, graph or context (each carries its own
    definitions, so nothing one line defines reaches another), or the error reading it."""

    subject: object = None
    error: str | None = None
    verdicts: dict = field(default_factory=dict, compare=False)
    """The verdicts of the equations checked against it so far (a class repeats itself)."""
    shared: dict = field(default_factory=dict, compare=False)
    """What every equation against it shares: a graph's backprop and random values."""

    def verdict(self, equation: str) -> Verdict:
        """The verdict of one equation, a graph's values drawn once for all of them (a
        network keeps its own)."""
        if isinstance(self.subject, Network):
            return verdict_of(self.subject, equation)
        from matcalc.specs.graph import Graph

        if not isinstance(self.subject, Graph):
            return verdict_of(self.subject, equation)
        from matcalc.checks.expression import GraphStrategy, GraphValues, verify_expression

        if "graph" not in self.shared:
            self.shared["graph"] = GraphValues(self.subject)
        strategy = GraphStrategy(self.subject, self.shared["graph"])
        return verify_expression(strategy, equation)


def verdict_of(subject: object, equation: str) -> Verdict:
    """The verdict of ``equation`` for a spec of any kind (the one pipeline, :func:`verify`)."""
    return verify(subject, equation)


def _read_subject(spec: str, base: Path):
    from matcalc.specs.context import spec_from_file, spec_from_toml

    if "\n" in spec or "[[layer]]" in spec:
        return spec_from_toml(spec)
    path = Path(spec)
    return spec_from_file(path if path.is_absolute() else base / path)


def _parsed_spec(spec: str, base: Path, cache: OrderedDict | None) -> _ParsedSpec:
    """The spec of a batch case, parsed once per distinct text (or file) in ``cache``."""
    key = (spec, str(base))
    if cache is not None and key in cache:
        cache.move_to_end(key)
        return cache[key]
    try:
        parsed = _ParsedSpec(_read_subject(spec, base))
    except MatcalcError as error:
        parsed = _ParsedSpec(error=str(error))
    if cache is not None:
        cache[key] = parsed
        if len(cache) > SPEC_CACHE_SIZE:
            cache.popitem(last=False)
    return parsed


def _case(line: str) -> dict:
    try:
        case = json.loads(line)
    except json.JSONDecodeError as error:
        raise MatcalcError(f"not JSON: {error.msg} at column {error.colno}") from None
    except RecursionError:
        raise MatcalcError("not JSON: arrays or objects nested too deeply") from None
    if not isinstance(case, dict):
        raise MatcalcError('a case is a JSON object {"spec": ..., "equation": ...}')
    return case


def verify_line(line: str, base: Path, cache: OrderedDict | None = None) -> dict:
    """One batch case, {"spec": path or TOML text, "equation": LaTeX} -> its verdict record.

    A spec carries its own definitions, so none leak to the next line; ``cache`` keeps parsed
    specs, their derivations and their verdicts between lines."""
    case = _case(line)
    spec, equation = case.get("spec"), case.get("equation")
    if not isinstance(spec, str) or not isinstance(equation, str):
        raise MatcalcError('a case needs "spec" (a path or TOML text) and "equation" (LaTeX)')

    parsed = _parsed_spec(spec, base, cache)
    if parsed.error is not None:
        raise MatcalcError(parsed.error)
    verdict = parsed.verdicts.get(equation)
    if verdict is None:
        verdict = parsed.verdict(equation)
        if len(parsed.verdicts) < MAX_CACHED_VERDICTS:
            parsed.verdicts[equation] = verdict
    record = verdict.to_dict()
    if "id" in case:
        record = {"id": case["id"], **record}
    return record


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500] or "no message"


def batch_record(number: int, raw: bytes | None, base: Path, cache: OrderedDict | None) -> dict:
    """The record of physical line ``number`` (its bytes; None if it was too long): a verdict,
    or an error record, whatever goes wrong in it; the case's id is kept either way."""
    ident: dict = {}
    try:
        if raw is None:
            raise MatcalcError(f"line longer than {MAX_LINE_BYTES:,} bytes")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MatcalcError(
                f"not UTF-8: byte 0x{raw[error.start]:02x} at column {error.start + 1}"
            ) from None
        try:
            case = json.loads(line)
            if isinstance(case, dict) and "id" in case:
                ident = {"id": case["id"]}
        except (ValueError, RecursionError):
            pass
        return {"line": number, **verify_line(line, base, cache)}
    except MatcalcError as error:
        return {"line": number, **ident, "verdict": "error", "error": _one_line(str(error))}
    except Exception as error:  # noqa: BLE001 - one line's failure must not lose the batch
        message = f"matcalc could not check this case ({type(error).__name__}: {error})"
        return {"line": number, **ident, "verdict": "error", "error": _one_line(message)}


def _batch_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(number, bytes) of each non-blank physical line, split on b"\\n" only; None for a line
    longer than MAX_LINE_BYTES (read past, never held)."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number > MAX_BATCH_LINES:
            raise MatcalcError(f"more than {MAX_BATCH_LINES:,} lines; the rest were not read")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if len(raw) > MAX_LINE_BYTES:
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES)
            yield number, None
            continue
        if raw.strip():
            yield number, raw.rstrip(b"\r\n")


def _chunks(lines: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in lines:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_WORKER_CACHE: OrderedDict = OrderedDict()


def _ignore_interrupts() -> None:
    """A worker leaves SIGINT to the batch's own process, which stops the workers."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _verify_chunk(chunk: list, base: str, cache: OrderedDict | None = None) -> list[dict]:
    cache = _WORKER_CACHE if cache is None else cache
    return [batch_record(number, raw, Path(base), cache) for number, raw in chunk]


def _records(chunks: Iterator[list], base: Path, jobs: int) -> Iterator[dict]:
    """The records of every chunk, in order: in this process, or over ``jobs`` workers."""
    cache: OrderedDict = OrderedDict()
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None) if jobs > 1 else None
    if second is None:
        yield from _verify_chunk(first, str(base), cache)
        for chunk in chunks:
            yield from _verify_chunk(chunk, str(base), cache)
        return
    import itertools
    from collections import deque

    pools = [_pool(jobs)]
    pending: deque = deque()
    try:
        for chunk in itertools.chain([first, second], chunks):
            pending.append((chunk, _submit(pools, jobs, chunk, base)))
            while len(pending) > 2 * jobs:
                yield from _chunk_result(*pending.popleft(), base)
        while pending:
            yield from _chunk_result(*pending.popleft(), base)
    except BaseException:
        # an interrupt: stop the workers now (Python 3.11 has no public way to)
        for process in list((getattr(pools[-1], "_processes", None) or {}).values()):
            process.terminate()
        raise
    finally:
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)


def _pool(jobs: int):
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(jobs, initializer=_ignore_interrupts)


def _submit(pools: list, jobs: int, chunk: list, base: Path):
    """The chunk handed to the current pool; a pool broken by a dead worker is replaced."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return pools[-1].submit(_verify_chunk, chunk, str(base))
    except BrokenProcessPool:
        pools.append(_pool(jobs))
        return pools[-1].submit(_verify_chunk, chunk, str(base))


def _chunk_result(chunk: list, future, base: Path) -> list[dict]:
    """The chunk's records; if its worker died, each line again in a process of its own, so
    only the line that kills a process gets the error."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        if len(chunk) > 1:
            return [record for line in chunk for record in _alone(line, base)]
        message = "the process checking this case stopped (out of memory?)"
    except Exception as error:  # noqa: BLE001 - e.g. a record that cannot be sent back
        message = f"matcalc could not check this case ({type(error).__name__}: {error})"
    return [{"line": n, "verdict": "error", "error": _one_line(message)} for n, _ in chunk]


def _alone(line: tuple, base: Path) -> list[dict]:
    pool = _pool(1)
    try:
        return _chunk_result([line], pool.submit(_verify_chunk, [line], str(base)), base)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def verify_batch(
    path: str, out: TextIO, jobs: int | None = None, progress: TextIO | None = None
) -> int:
    """Verdicts for a JSON-lines file of cases, one JSON line each, flushed line by line, in
    the file's order; every non-blank line gets exactly one record (a line that fails for any
    reason, an error record).  ``jobs`` worker processes (default: every core; 1: this
    process); ``progress``, if given, gets a count of the lines done.  0 if every case is
    correct, 1 otherwise."""
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise MatcalcError(f"--jobs {jobs}: at least 1")
    source = Path(path)  # "-" is standard input; its relative spec paths are from the cwd
    try:
        stream = sys.stdin.buffer if path == "-" else source.open("rb")
    except FileNotFoundError:
        raise MatcalcError(f"{path}: no such file") from None
    except OSError as error:
        raise MatcalcError(f"{path}: cannot be read ({error.strerror})") from None
    all_correct = True
    done = 0
    with contextlib.nullcontext(stream) if path == "-" else stream:
        try:
            chunks = _chunks(_batch_lines(stream), BATCH_CHUNK)
            for record in _records(chunks, source.parent, jobs):
                all_correct = all_correct and record["verdict"] == "correct"
                out.write(json.dumps(record) + "\n")
                out.flush()
                done += 1
                if progress is not None and done % BATCH_CHUNK == 0:
                    progress.write(f"\rverify --batch: {done} lines")
                    progress.flush()
        except OSError as error:
            if isinstance(error, BrokenPipeError):
                raise
            raise MatcalcError(f"{path}: cannot be read ({error.strerror})") from None
        finally:
            if progress is not None and done:
                progress.write(f"\rverify --batch: {done} lines\n")
                progress.flush()
    return 0 if all_correct else 1


__all__ = [
    "Checker",
    "Edit",
    "ErrorClass",
    "Verdict",
    "VerifyError",
    "derivative_value",
    "detect_notation",
    "diagnose",
    "edits",
    "expected_value",
    "relabel",
    "verify",
    "verdict_of",
    "verify_batch",
    "verify_network",
    "verify_spec",
]
