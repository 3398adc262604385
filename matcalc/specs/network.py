"""A network spec (TOML or Python) and its forward expressions, by default in the 6.390 convention.

    Z^l = (W^l)^T A^{l-1} + W_0^l,    A^l = f^l(Z^l),    A^0 = x,    L = loss(A^L, y)

W^l is m^l x n^l, W_0^l is n^l x 1, A^{l-1} is m^l x 1, Z^l and A^l are n^l x 1, and
m^l = n^{l-1}.  Sizes are integers or symbols; omitted sizes are m^1 (input) and n^l.

Other conventions (:mod:`matcalc.specs.conventions`) change the forward equation (Z = W A + b with W
n^l x n^{l-1}) and the names.  With ``batch = K`` the K examples are the columns of A^0, Z^l,
A^l and y, each bias enters as b 1_K^T, L is the sum of the per-example losses and the cost is
J = L / K.  With ``weight_decay = "lambda"`` (or a number) the objective is regularized,

    J = L (/ K over a batch) + (lambda / 2) sum_l ||W^l||_F^2,

the biases not regularized: every weight gradient gains lambda W^l.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy

from matcalc.core import functions
from matcalc.core.expr import (
    Apply,
    Expr,
    Function,
    Softmax,
    SquaredNorm,
    Symbol,
    add,
    matmul,
    ones,
    scale,
    transpose,
)
from matcalc.core.functions import ScalarFunction
from matcalc.core.losses import loss_rule
from matcalc.core.record import record
from matcalc.core.rule import Rule
from matcalc.core.shapes import (
    DEPTH,
    INPUT_SIZE,
    LAYER,
    LAYER_SIZE,
    ONE,
    Dim,
    is_layer_size,
)
from matcalc.errors import MatcalcError
from matcalc.reading.scalar_latex import activation_from_spec, loss_from_spec
from matcalc.specs.conventions import CONVENTIONS, Convention, ConventionError, convention_named
from matcalc.specs.equations import ForwardEquations

if TYPE_CHECKING:
    import numpy as np
from matcalc.specs.source import parse_spec, read_spec_file

LOSSES = ("squared", "nll", "nllm")
LOSS_OUTPUT = {"nll": "sigmoid", "nllm": "softmax"}
MAX_SIZE = 10**6
MAX_LAYERS = 1000  # chain forms grow with the square of the depth (docs/benchmarks.md)
SPEC_KEYS = ("convention", "input", "loss", "layer", "depth", "batch", "weight_decay")
LAYER_KEYS = ("size", "activation")
NO_LAYERS = (
    "no [[layer]] given: a network spec needs at least one [[layer]] with size and activation"
)
SIZE_ALLOWED = 'a size is a positive integer or a symbol like "h", "m^1" or "n^2"'
_SIZE_NAME = re.compile(r"^([A-Za-z]+)(?:[_^]\{?(\d+)\}?)?$")
_GENERIC_ACTIVATION = re.compile(r"^[a-zA-Z]$")
_DECAY_NAME = re.compile(r"^\\?([A-Za-z]+)$")
DECAY_DRAWN = sympy.Rational(3, 10)
"""The value a symbolic weight decay takes where numbers are needed (verify's instances)."""
DECAY_ALLOWED = 'a weight decay is a positive number or a name such as "lambda"'


class SpecError(MatcalcError):
    """A network spec that cannot be used; the message names the key, the value and what fits."""


def _per_layer(method: Callable[[Network, Any], Any]) -> Callable[[Network, Any], Any]:
    """Build a layer's symbol or expression once: the network and its nodes are immutable."""

    name = method.__name__

    @wraps(method)
    def memoized(self: Network, l: Any) -> Any:
        key = (name, l)
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = method(self, l)
            return value

    return memoized


def _layer_index(l: int | sympy.Expr) -> sympy.Expr:
    """A layer index as SymPy holds it (sympy.sympify, without its slower path for integers)."""
    return sympy.Integer(l) if type(l) is int else sympy.sympify(l)


@record
class Layer:
    """One layer: its size n^l and its activation f^l (a name, or a user's own function)."""

    size: int | str | Dim | None = None
    activation: str | ScalarFunction = "identity"


def parse_size(value: Any, key: str) -> Dim:
    """A size from a spec: a positive integer, or a symbol such as "h", "m^1", "n_2", "d_{3}"."""
    if isinstance(value, bool):
        raise SpecError(f"{key} = {value!r}: {SIZE_ALLOWED}")
    if isinstance(value, int):
        if not 0 < value <= MAX_SIZE:
            raise SpecError(f"{key} = {value}: a size must be between 1 and {MAX_SIZE}")
        return sympy.Integer(value)
    if isinstance(value, sympy.Expr):
        return value
    if isinstance(value, str):
        match = _SIZE_NAME.match(value.strip())
        if match:
            name, index = match.groups()
            if index is None:
                return sympy.Symbol(name, integer=True, positive=True)
            return sympy.IndexedBase(name)[int(index)]
    raise SpecError(f"{key} = {value!r}: {SIZE_ALLOWED}")


@record
class Network:
    """A feed-forward network in the 6.390 convention.

    ``layers`` lists the layers 1..L.  With ``depth = "L"`` the network has symbolic depth
    and a single layer pattern whose activation is a function symbol such as ``"f"``.
    """

    layers: tuple[Layer, ...]
    input: int | str | Dim | None = None
    loss: str | Rule = "squared"
    convention: str = "6.390"
    depth: str | None = None
    batch: int | str | Dim | None = None
    weight_decay: int | float | str | sympy.Expr | None = None
    decay_name: str | None = field(default=None, repr=False)
    own_functions: Mapping[str, ScalarFunction] = field(default_factory=dict, repr=False)
    loss_definition: Rule | None = field(default=None, repr=False)
    sizes: tuple[Dim, ...] = field(init=False, repr=False, compare=False)
    batch_size: Dim | None = field(init=False, repr=False, compare=False)
    decay: sympy.Expr | None = field(init=False, repr=False, compare=False)
    _memo: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        """Layers as Layer records; a user's own activation or loss given as a value is kept
        in the network's own table and named by its name."""
        definitions = dict(self.own_functions)
        layers = []
        for layer in self.layers:
            layer = layer if isinstance(layer, Layer) else Layer(*layer)
            if isinstance(layer.activation, ScalarFunction):
                known = definitions.get(layer.activation.name)
                if known is not None and known != layer.activation:
                    raise SpecError(
                        f"the activation {layer.activation.name!r} is defined twice, as "
                        f"{known.formula} and as {layer.activation.formula}"
                    )
                definitions[layer.activation.name] = layer.activation
                layer = Layer(layer.size, layer.activation.name)
            layers.append(layer)
        object.__setattr__(self, "layers", tuple(layers))
        object.__setattr__(self, "own_functions", definitions)
        if isinstance(self.loss, Rule):
            object.__setattr__(self, "loss_definition", self.loss)
            object.__setattr__(self, "loss", self.loss.loss)
        self._validate()
        object.__setattr__(self, "sizes", self._resolve_sizes())
        object.__setattr__(self, "batch_size", self._resolve_batch())
        object.__setattr__(self, "decay", _parse_decay(self.weight_decay))
        if self.decay is not None and self.decay.is_Symbol:
            object.__setattr__(self, "decay_name", self.decay.name)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_toml(cls, text: str) -> Network:
        return cls.from_dict(parse_spec(text, SpecError))

    @classmethod
    def from_file(cls, path: str | Path) -> Network:
        text = read_spec_file(path, SpecError)
        try:
            return cls.from_toml(text)
        except MatcalcError as error:  # also a custom activation's or a convention's error
            raise SpecError(f"{path}: {error}") from None

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Network:
        for key in spec:
            if key not in SPEC_KEYS:
                raise SpecError(f"unknown key {key!r}; a network spec has {', '.join(SPEC_KEYS)}")
        raw_layers = spec.get("layer")
        if raw_layers is None:
            raise SpecError(NO_LAYERS)
        if not isinstance(raw_layers, list):
            raise SpecError(
                f"layer = {raw_layers!r}: layers are a list of tables, written [[layer]]"
            )
        if len(raw_layers) > MAX_LAYERS:
            raise SpecError(f"{len(raw_layers)} [[layer]] tables; at most {MAX_LAYERS}")
        layers = []
        for number, raw in enumerate(raw_layers, start=1):
            if not isinstance(raw, dict):
                raise SpecError(
                    f"layer {number} = {raw!r}: a layer is a table with size and activation"
                )
            for key in raw:
                if key not in LAYER_KEYS:
                    raise SpecError(
                        f"layer {number}: unknown key {key!r}; a layer has size and activation"
                    )
            written = raw.get("activation", "identity")
            layers.append(Layer(raw.get("size"), activation_from_spec(written, f"layer {number}")))
        loss = loss_from_spec(spec.get("loss", "squared"))
        return cls(
            layers=tuple(layers),
            input=spec.get("input"),
            loss=loss,
            convention=spec.get("convention", "6.390"),
            depth=spec.get("depth"),
            batch=spec.get("batch"),
            weight_decay=spec.get("weight_decay"),
        )

    def _validate(self) -> None:
        if not isinstance(self.convention, str) or self.convention not in CONVENTIONS:
            try:
                convention_named(self.convention)
            except ConventionError as error:
                raise SpecError(str(error)) from None
        if not self.layers:
            raise SpecError(NO_LAYERS)
        if len(self.layers) > MAX_LAYERS:
            raise SpecError(f"{len(self.layers)} layers; at most {MAX_LAYERS}")
        custom = self.loss_definition is not None and self.loss_definition.loss == self.loss
        if not isinstance(self.loss, str) or not (self.loss in LOSSES or custom):
            raise SpecError(
                f"loss = {self.loss!r}: {_did_you_mean(self.loss, LOSSES)}known losses are "
                f"{', '.join(LOSSES)}, or define one: "
                'loss = { name = "...", latex = "..." } in a and y'
            )
        if self.depth is not None:
            if not isinstance(self.depth, str) or self.depth != "L":
                raise SpecError(f'depth = {self.depth!r}: symbolic depth is written depth = "L"')
            if len(self.layers) != 1:
                raise SpecError('depth = "L" takes exactly one [[layer]], the pattern of layer l')
        for number, layer in enumerate(self.layers, start=1):
            self._validate_activation(number, layer.activation)
        output = self.activation_name(self.last)
        wanted = LOSS_OUTPUT.get(self.loss)
        if wanted and self.depth is None and output != wanted:
            raise SpecError(
                f"loss = {self.loss!r} needs a {wanted} output layer, but layer "
                f"{len(self.layers)} has activation = {output!r}"
            )

    def _validate_activation(self, number: int, activation: Any) -> None:
        if not isinstance(activation, str):
            raise SpecError(
                f"layer {number} activation = {activation!r}: an activation is a name, one of "
                + ", ".join(functions.ACTIVATIONS)
            )
        known = activation in functions.ACTIVATIONS or activation in self.own_functions
        generic = self.depth is not None and _GENERIC_ACTIVATION.match(activation)
        if not (known or generic):
            allowed = ", ".join(functions.ACTIVATIONS)
            if self.depth is not None:
                allowed += ", or one letter such as f for the general layer"
            raise SpecError(
                f"layer {number} activation = {activation!r}: "
                f"{_did_you_mean(activation, functions.ACTIVATIONS)}known are {allowed}, or "
                'define one: activation = { name = "...", latex = "..." } in z'
            )

    def _resolve_sizes(self) -> tuple[Dim, ...]:
        if self.depth is not None:
            return ()
        sizes = [INPUT_SIZE[1] if self.input is None else parse_size(self.input, "input")]
        for number, layer in enumerate(self.layers, start=1):
            default = LAYER_SIZE[number]
            sizes.append(
                default if layer.size is None else parse_size(layer.size, f"layer {number} size")
            )
        return tuple(sizes)

    def _resolve_batch(self) -> Dim | None:
        """K, the number of examples (columns), or None for one example as a column."""
        if self.batch is None:
            return None
        size = parse_size(self.batch, "batch")
        if isinstance(size, sympy.Indexed) or str(size) in ("l", "L"):
            raise SpecError(
                f"batch = {self.batch!r}: the batch size is an integer or a plain name such as "
                '"K" or "m" (not a layer size or a layer index)'
            )
        return size

    # ------------------------------------------------------------------ structure

    @property
    def declaration(self) -> Convention:
        """The convention's declaration: forward form, names, index style, gradient names."""
        return CONVENTIONS[self.convention]

    @property
    def columns(self) -> Dim:
        """The number of columns of A^l, Z^l and y: K with a batch, else 1."""
        return ONE if self.batch_size is None else self.batch_size

    @property
    def cost_scale(self) -> sympy.Expr:
        """J = cost_scale * L: 1/K with a batch of K, else 1."""
        return sympy.Integer(1) / self.columns

    def example_network(self) -> Network:
        """The same network on one example (a column), for per-example Jacobian chains."""
        if self.batch is None:
            return self
        return replace(self, batch=None)

    def column_network(self) -> Network:
        """One example as a column, whose Jacobians (in denominator layout, for columns) make
        the chain: the example network, or where examples are rows, 6.390's z = W^T a + b^T
        with the same weights."""
        if self.declaration.examples_as_rows:
            return replace(self, batch=None, convention="6.390", weight_decay=None, decay_name=None)
        return self.example_network()

    @property
    def symbolic(self) -> bool:
        return self.depth is not None

    @property
    def last(self) -> int | sympy.Expr:
        """The index of the output layer: L, as an integer or the symbol L."""
        return DEPTH if self.symbolic else len(self.layers)

    def indices(self) -> tuple[int | sympy.Expr, ...]:
        """The layers to derive: 1..L, or the general layer l and the output layer L."""
        if self.symbolic:
            return (LAYER, DEPTH)
        return tuple(range(1, len(self.layers) + 1))

    @_per_layer
    def size(self, l: int | sympy.Expr) -> Dim:
        """n^l, the size of layer l (l = 0 is the input)."""
        if self.symbolic:
            return INPUT_SIZE[1] if l == 0 else LAYER_SIZE[l]
        return self.sizes[int(l)]

    @_per_layer
    def input_size(self, l: int | sympy.Expr) -> Dim:
        """m^l, the size of the input of layer l, spelled m^l where the sizes are the defaults.

        Conventions other than 6.390 have no m^l: there the input size is n^{l-1}.
        """
        previous = self.size(l - 1)
        own_letter = self.declaration.names.input_size is not None
        if own_letter and is_layer_size(previous, l - 1):
            return INPUT_SIZE[l]
        return previous

    def activation_name(self, l: int | sympy.Expr) -> str:
        if self.symbolic:
            return self.layers[0].activation
        return self.layers[int(l) - 1].activation

    def activation_function(self, l: int | sympy.Expr) -> Function:
        name = self.activation_name(l)
        definition = self.own_functions.get(name)
        generic = self.symbolic and name not in functions.ACTIVATIONS and definition is None
        return Function(name, 0, sympy.sympify(l) if generic else None, definition)

    # ------------------------------------------------------------------ symbols

    @_per_layer
    def weight(self, l: int | sympy.Expr) -> Symbol:
        """W^l: in x out (m^l x n^l) where Z = W^T A + W_0, out x in where Z = W A + b."""
        shape = (self.input_size(l), self.size(l))
        if self.declaration.forward == "direct":
            shape = (shape[1], shape[0])
        return Symbol(self.declaration.names.weight, shape, _layer_index(l))

    @_per_layer
    def bias(self, l: int | sympy.Expr) -> Symbol:
        names = self.declaration.names
        shape = self._oriented((self.size(l), ONE))
        return Symbol(names.bias, shape, _layer_index(l), names.bias_sub)

    def _oriented(self, shape: tuple[Dim, Dim]) -> tuple[Dim, Dim]:
        """A column quantity's shape, as rows x cols where the examples are rows (CS231n)."""
        return (shape[1], shape[0]) if self.declaration.examples_as_rows else shape

    @_per_layer
    def pre_activation(self, l: int | sympy.Expr) -> Symbol:
        name = self.declaration.names.pre_activation
        return Symbol(name, self._oriented((self.size(l), self.columns)), _layer_index(l))

    @_per_layer
    def activation(self, l: int | sympy.Expr) -> Symbol:
        name = self.declaration.names.activation
        return Symbol(name, self._oriented((self.size(l), self.columns)), _layer_index(l))

    @_per_layer
    def layer_input(self, l: int | sympy.Expr) -> Symbol:
        """A^{l-1}, with the shape m^l x 1 (m^l x K) it has as the input of layer l."""
        name = self.declaration.names.activation
        shape = self._oriented((self.input_size(l), self.columns))
        return Symbol(name, shape, _layer_index(l - 1))

    def target(self) -> Symbol:
        names = self.declaration.names
        name = names.target if self.batch is None else names.batch_target
        return Symbol(name, self._oriented((self.size(self.last), self.columns)))

    def loss_symbol(self) -> Symbol:
        """L: the loss of the example, or with a batch the sum of the per-example losses."""
        return Symbol(self.declaration.names.loss, (ONE, ONE))

    def cost_symbol(self) -> Symbol:
        """J = L / K, the mean loss over the batch (J = L for one example)."""
        return Symbol(self.declaration.names.cost, (ONE, ONE))

    def carried_symbol(self) -> Symbol:
        """Whose gradient backprop carries: the loss L (dL/dZ^l), or the cost J (dJ/da^{(k)})."""
        if self.declaration.running_gradient == "cost":
            return self.cost_symbol()
        return self.loss_symbol()

    def objective(self) -> Symbol:
        """What the parameter gradients differentiate: L in 6.390 without a batch, else J
        (also the regularized J = L + (lambda/2) sum_l ||W^l||_F^2 of a weight decay)."""
        if (
            self.batch is None
            and self.declaration.gradient_names == "fraction"
            and self.decay is None
        ):
            return self.loss_symbol()
        return self.cost_symbol()

    def decay_term(self, l: int | sympy.Expr) -> Expr:
        """Layer l's part of the weight decay, (lambda/2) ||W^l||_F^2 (W^l's only: biases are
        not regularized)."""
        if self.decay is None:
            raise SpecError("the network has no weight_decay")
        return scale(self.decay / 2, SquaredNorm(self.weight(l)))

    def penalty_expr(self) -> Expr:
        """(lambda/2) sum_l ||W^l||_F^2, the regularization term of J (concrete depth)."""
        return add(*(self.decay_term(l) for l in self.indices()))

    def cost_expr(self) -> Expr:
        """J in terms of L: L / K, plus the weight decay's penalty where there is one."""
        cost = scale(self.cost_scale, self.loss_symbol())
        return cost if self.decay is None else add(cost, self.penalty_expr())

    def decay_note(self) -> str:
        """What every output says of a weight decay (nothing without one)."""
        if self.decay is None:
            return ""
        mean = "" if self.batch_size is None else f"(1/{self.columns}) "
        return (
            f"; weight decay: objective J = {mean}L + ({self.decay}/2) * sum_l ||W^l||_F^2, "
            f"so each weight gradient gains {self.decay} W^l; biases are not regularized"
        )

    # ------------------------------------------------------------------ forward expressions

    @_per_layer
    def pre_activation_expr(self, l: int | sympy.Expr) -> Expr:
        """(W^l)^T A^{l-1} + W_0^l, or W^l A^{l-1} + b^l; with a batch the bias is b 1_K^T."""
        weight = self.weight(l)
        if self.declaration.examples_as_rows:  # X W + 1_K b
            bias_rows: Expr = self.bias(l)
            if self.batch is not None:
                bias_rows = matmul(ones(self.columns), bias_rows)
            return add(matmul(self.layer_input(l), weight), bias_rows)
        if self.declaration.weight_is_transposed:
            weight = transpose(weight)
        bias: Expr = self.bias(l)
        if self.batch is not None:
            bias = matmul(bias, ones(ONE, self.columns))
        return add(matmul(weight, self.layer_input(l)), bias)

    @_per_layer
    def activation_expr(self, l: int | sympy.Expr) -> Expr:
        """f^l(Z^l), or softmax(Z^l)."""
        z = self.pre_activation(l)
        if self.activation_name(l) == "softmax" and self.declaration.examples_as_rows:
            return transpose(Softmax(transpose(z)))  # each row's softmax
        if self.activation_name(l) == "softmax":
            return Softmax(z)
        return Apply(self.activation_function(l), z)

    def loss_rule(self) -> Rule:
        """The loss's record: built in, or the spec's own."""
        return loss_rule(self.loss, self.loss_definition)

    def loss_expr(self) -> Expr:
        """The loss of A^L against y; over a batch the sum of the per-example losses."""
        return self.loss_rule().apply(self.activation(self.last), self.target())[0]

    def definitions(self, l: int | sympy.Expr) -> dict[Symbol, Expr]:
        return {
            self.pre_activation(l): self.pre_activation_expr(l),
            self.activation(l): self.activation_expr(l),
        }

    def equations(self) -> ForwardEquations:
        """The network as its forward equations: Z^l and A^l for every layer, then the loss.

        A^l is inlined (its gradient is carried inside dL/dZ^l, which refers to dL/dZ^{l+1} by
        name); where the depth is the symbol L the layers are the general layer l, the layer
        l+1 after it (whose dL/dZ^{l+1} is given by name) and the output layer L.  Each
        gradient is simplified with its own layer's definitions, the parameters' with none.
        """
        quantities: list[Symbol] = []
        definitions: dict[Symbol, Expr] = {}
        scopes: dict[Symbol, dict[Symbol, Expr]] = {}
        following = (self.pre_activation(LAYER + 1),) if self.symbolic else ()
        for l in self.indices():
            layer = self.definitions(l)
            quantities += layer
            definitions.update(layer)
            scopes.update(dict.fromkeys(layer, layer))
            scopes.update({self.weight(l): {}, self.bias(l): {}})
            if l == LAYER:
                definitions[following[0]] = self.pre_activation_expr(LAYER + 1)
                quantities.append(following[0])
        loss = self.loss_symbol()
        definitions[loss] = self.loss_expr()
        quantities.append(loss)
        return ForwardEquations(
            tuple(quantities),
            definitions,
            loss,
            self.parameters(),
            inlined=frozenset(self.activation(l) for l in self.indices()),
            given=frozenset(following),
            scopes=scopes,
        )

    def parameter_key(self, symbol: Symbol) -> str:
        """A parameter's key in ``params``: "W^2", "W_0^2" (6.390), "b^2" (ng, goodfellow)."""
        sub = f"_{symbol.sub}" if symbol.sub else ""
        index = symbol.index  # an integer's digits without SymPy's printer, 15 us a call
        return f"{symbol.name}{sub}^{int(index) if getattr(index, 'is_Integer', False) else index}"

    def parameters(self) -> tuple[Symbol, ...]:
        """W^1, W_0^1, ..., W^L, W_0^L."""
        return tuple(p for l in self.indices() for p in (self.weight(l), self.bias(l)))

    # ------------------------------------------------------------------ numbers

    def forward(
        self,
        params: Mapping[str, np.ndarray],
        x: np.ndarray,
        y: np.ndarray,
        through: int | None = None,
    ) -> dict[Expr, np.ndarray]:
        """Every forward quantity's value, keyed by its symbol; params keyed "W^1", "W_0^1".

        With a batch, x and y have one column per example; the environment holds both the
        summed loss L and the cost J = L / K.  With ``through = l`` the pass stops at Z^l.
        """
        import numpy as np

        from matcalc.core import numeric

        env: dict[Expr, np.ndarray] = {self.activation(0): np.asarray(x, float)}
        env[self.target()] = np.asarray(y, float)
        for l in self.indices():
            env[self.weight(l)] = np.asarray(params[self.parameter_key(self.weight(l))], float)
            env[self.bias(l)] = np.asarray(params[self.parameter_key(self.bias(l))], float)
            env[self.pre_activation(l)] = numeric.evaluate(self.pre_activation_expr(l), env)
            if l == through:
                return env
            env[self.activation(l)] = numeric.evaluate(self.activation_expr(l), env)
        env[self.loss_symbol()] = numeric.evaluate(self.loss_expr(), env)
        env[self.cost_symbol()] = env[self.loss_symbol()] * float(self.cost_scale)
        if self.decay is not None:
            env[self.cost_symbol()] = env[self.cost_symbol()] + numeric.evaluate(
                self.penalty_expr(), env
            )
        return env

    def loss_value(self, params: Mapping[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
        return float(self.forward(params, x, y)[self.loss_symbol()][0, 0])

    def cost_value(self, params: Mapping[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
        """J, the mean loss over the batch (the loss itself for one example)."""
        return float(self.forward(params, x, y)[self.cost_symbol()][0, 0])

    def random_parameters(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        from matcalc.core import numeric

        values = {}
        for parameter in self.parameters():
            values[self.parameter_key(parameter)] = numeric.random_value(parameter.shape, rng)
        return values

    def random_example(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """An input x and a target y that fits the loss (one-hot for nllm, in (0,1) for nll).

        With a batch, one column per example.
        """
        import numpy as np

        from matcalc.core import numeric

        x = numeric.random_value(self.layer_input(1).shape, rng)
        n = numeric.size(self.size(self.last))
        k = numeric.size(self.columns)
        if self.loss == "nllm":
            y = np.zeros((n, k))
            y[rng.integers(n, size=k), np.arange(k)] = 1.0
        elif self.loss == "nll":
            y = rng.uniform(0.05, 0.95, size=(n, k))
        else:
            y = rng.standard_normal((n, k))
        return x, (y.T.copy() if self.declaration.examples_as_rows else y)

    def at_sizes(self, sizes: Sequence[int], batch: int | None = None) -> Network:
        """The same network with concrete sizes (input first), for numeric checks.

        ``batch`` replaces a symbolic batch size; without it the batch is kept as it is.  A
        symbolic weight decay takes the value DECAY_DRAWN.
        """
        layers = tuple(
            Layer(s, layer.activation) for s, layer in zip(sizes[1:], self.layers, strict=True)
        )
        return replace(
            self,
            layers=layers,
            input=sizes[0],
            depth=None,
            batch=self.batch if batch is None else batch,
            weight_decay=self.weight_decay
            if self.decay is None or self.decay.is_number
            else DECAY_DRAWN,
            decay_name=self.decay_name,
        )


def _parse_decay(value: Any) -> sympy.Expr | None:
    """A weight decay: a positive number (0.01) or a name (lambda, \\lambda), or None."""
    if value is None:
        return None
    if isinstance(value, sympy.Expr) and value.is_positive:
        return value
    if isinstance(value, bool):
        raise SpecError(f"weight_decay = {value!r}: {DECAY_ALLOWED}")
    if isinstance(value, int | float):
        if not 0 < value <= MAX_SIZE:
            raise SpecError(f"weight_decay = {value!r}: a weight decay is between 0 and {MAX_SIZE}")
        return sympy.Integer(value) if isinstance(value, int) else sympy.Float(repr(value))
    if isinstance(value, str):
        match = _DECAY_NAME.match(value.strip())
        if match and len(match.group(1)) <= 20:
            return sympy.Symbol(match.group(1), positive=True)
    raise SpecError(f"weight_decay = {value!r}: {DECAY_ALLOWED}")


def _did_you_mean(name: Any, known: Sequence[str]) -> str:
    """'did you mean "tanh"? ' for a near miss of a known name (case aside), else ''."""
    import difflib

    if not isinstance(name, str):
        return ""
    lowered = {option.lower(): option for option in known}
    close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.6)
    return f"did you mean {lowered[close[0]]!r}? " if close else ""
