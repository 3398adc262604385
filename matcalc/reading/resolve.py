"""Give a syntax tree from :mod:`matcalc.reading.parse` its meaning: matrix expressions with shapes.

Names are looked up in a :class:`Namespace` (a network at a concrete layer, or an expression
context with declared shapes), so the grammar knows nothing about networks.  Layer indices in l
and L are bound to numbers first (``bindings``).  Every node is built by the shape-checking
constructors of :mod:`matcalc.core.expr`, so a product that does not fit raises
:class:`~matcalc.core.expr.ShapeError` naming both factors and their shapes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING

import sympy

from matcalc.core import functions
from matcalc.core.expr import (
    Apply,
    Conv,
    Derivative,
    Det,
    Diag,
    Expr,
    Fill,
    Function,
    Identity,
    Inverse,
    MatMul,
    Scale,
    ShapeError,
    Softmax,
    SquaredNorm,
    Sum,
    Symbol,
    Trace,
    add,
    broadcast,
    hadamard,
    matmul,
    ones,
    scalar_product,
    scale,
    transpose,
)
from matcalc.core.record import record
from matcalc.core.shapes import (
    DEPTH,
    LAYER,
    dims_equal,
    is_column,
    is_scalar,
    shape_text,
    shapes_equal,
)
from matcalc.errors import MatcalcError
from matcalc.reading.parse import (
    Abs,
    Arguments,
    Bound,
    Cdots,
    DerivativeOf,
    Elementwise,
    ExampleOf,
    Frac,
    Group,
    Index,
    Nabla,
    Name,
    Neg,
    Node,
    Norm,
    Number,
    ParseError,
    Power,
    Primed,
    Product,
    Scripted,
    SumOf,
    Transposed,
)
from matcalc.reading.parse import Inverse as InverseOf
from matcalc.reading.parse import Sum as SumNode

if TYPE_CHECKING:
    from matcalc.specs.network import Network


class ResolveError(ParseError):
    """A formula that parses but means nothing here (an unknown name, a missing argument)."""


class NoSuchLayerError(MatcalcError):
    """A layer index that does not exist in the network (W^{l+1} at l = L): skip this layer."""


@record
class NameRef:
    """A name as written: base text, subscript text, bound layer index, accent."""

    text: str
    sub: str | None = None
    index: sympy.Expr | None = None
    mark: str | None = None


ScalarFn = Callable[[Expr], Expr]

# Functions written as LaTeX operators whose superscript is a power: \\tanh^2(Z) = (tanh Z)^2.
POWERED_FUNCTIONS = frozenset({"tanh", "sinh", "cosh", "sin", "cos", "tan", "log", "ln", "exp"})

# Names of scalar functions as people write them -> matcalc's function names.
FUNCTION_NAMES = {
    "sigma": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "ReLU": "relu", "relu": "relu",
    "Relu": "relu", "RELU": "relu", "log": "log", "ln": "log", "exp": "exp", "step": "step",
    "id": "identity", "identity": "identity", "sqrt": "sqrt", "sin": "sin", "cos": "cos",
    "sgn": "sign", "sign": "sign",
}  # fmt: skip


class Namespace:
    """What names mean.  Subclasses give symbols; functions shared by every context live here."""

    def symbol(self, ref: NameRef) -> Expr | None:
        """The matrix a name stands for, or None if the name is unknown."""
        return None

    def known_names(self) -> tuple[str, ...]:
        """Names to suggest when a name is unknown."""
        return ()

    def function(self, ref: NameRef, order: int) -> ScalarFn | None:
        """The entrywise function (or its ``order``-th derivative) a name stands for."""
        text = ref.text
        if text == "softmax" and order == 0:
            return Softmax
        if text == "diag" and order == 0:
            return Diag
        if text in ("tr", "Tr", "trace") and order == 0:
            return Trace
        if text == "det" and order == 0:
            return Det
        if text == "conv" and order == 0:
            return _two_arguments("conv", Conv)
        if text == "max" and order == 0:  # max(0, z): Parr & Howard's and CS229's ReLU
            return _two_arguments("max", _max_with_zero)
        if text == "min" and order == 0:
            return _two_arguments("min", _entrywise_min)
        name = FUNCTION_NAMES.get(text, text)
        own = self.definitions().get(text)
        if own is not None:
            fn = Function(own.name, order, definition=own)
            return lambda arg: Apply(fn, arg)
        if functions.builtin(name) is not None and name not in ("reciprocal",):
            fn = Function(name, order)
            return lambda arg: Apply(fn, arg)
        return None

    def definitions(self) -> Mapping[str, functions.ScalarFunction]:
        """The scalar functions the spec defines itself, by name."""
        return {}

    def derivative(self, num: Expr, den: Expr) -> Expr:
        """d num / d den as a named quantity."""
        return Derivative(num, den)

    def prefixed_gradient(self, quantity: Expr) -> Expr | None:
        """What ``dX`` means where names like dW, dZ are gradients (Ng), or None elsewhere."""
        return None

    def constant(self, ref: NameRef) -> sympy.Expr | None:
        """A name that stands for a number (the batch size m, a size n in 1/n), or None."""
        return None

    def ones(self, size: str) -> Expr | None:
        """The ones vector \\mathbf{1}_{size} (a column), or None where the size means nothing."""
        return None

    def examples(self) -> sympy.Expr | None:
        """The number of examples a sum over i = 1..m runs through, or None (no batch)."""
        return None

    def names_batch(self, text: str) -> bool:
        """Whether ``text`` (m, K, 6) is the batch size's name here."""
        return False

    def chain_between(self, left: Expr, right: Expr) -> tuple[Expr, ...]:
        """The Jacobians a \\cdots stands for between two factors of a chain."""
        raise MatcalcError("\\cdots is read only inside a chain of a network's Jacobians")

    def inverse(self, arg: Expr) -> Expr:
        return Inverse(arg)

    def takes_arguments(self, ref: NameRef) -> bool:
        """Whether ``ref`` is the objective, written with its arguments as in L(W) or C(w, b)."""
        return False


class NetworkNamespace(Namespace):
    """The names of a network in its convention's notation, at concrete layers.

    6.390: W^k, W_0^k, Z^k, A^k (also w, z, a), x = A^0, y the target, g = \\hat{y} = A^L, the
    loss L / \\mathcal{L} / \\text{loss} / J (any subscript), f^k the activation of layer k.
    Ng: W^{[k]}, b^{[k]}, Z^{[k]}, A^{[k]}, X = A^{[0]}, Y, g^{[k]} the activation, and dX for the
    gradients (dW = dJ/dW, dZ = dL/dZ).  Goodfellow: W^{(k)}, b^{(k)}, a^{(k)} (pre-activation),
    h^{(k)}, x = h^{(0)}, y, f the activation, \\nabla_X J.  J is the cost (the mean over a
    batch) where the convention or a batch distinguishes it from the loss L.
    """

    LOSS_NAMES = ("L", "J", "loss", "ell", "E", "C")

    def __init__(self, network: Network, batch_names: tuple[str, ...] = ()) -> None:
        if network.symbolic:
            raise MatcalcError("names resolve against a network of concrete depth")
        self.network = network
        self.last = len(network.layers)
        self.batch_names = batch_names
        self.spelling = spellings(network)
        self.running: Expr | None = None
        self.descending = False  # read \cdots in a chain written from the output down
        self._symbols: dict[NameRef, Expr | None] = {}

    def _layer(self, ref: NameRef, low: int) -> int:
        if ref.index is None and self.last == 1 and low == 1:
            return 1  # one layer (logistic regression): W, b and Z need no index
        if ref.index is None:
            raise MatcalcError(
                f"{ref.text} needs a layer index, like {ref.text}^l or {ref.text}^{{{self.last}}}"
            )
        if not ref.index.is_Integer:
            raise MatcalcError(
                f"the layer index {ref.index} of {ref.text}: write l for a general layer and L "
                "for the last"
            )
        k = int(ref.index)
        if not low <= k <= self.last:
            raise NoSuchLayerError(
                f"{ref.text}^{{{k}}} is not in the network (layers 1..{self.last})"
            )
        return k

    def symbol(self, ref: NameRef) -> Expr | None:
        if self.running is not None:  # g names the running gradient of the current target
            return self._symbol(ref)
        if ref not in self._symbols:
            self._symbols[ref] = self._symbol(ref)
        return self._symbols[ref]

    def _symbol(self, ref: NameRef) -> Expr | None:
        net = self.network
        text, sub = ref.text, ref.sub
        spelling = self.spelling
        offset = net.declaration.quantity_offset
        if offset and ref.index is not None and _is_shifted(text, spelling):
            ref = replace(ref, index=ref.index - offset)  # UFLDL's z^{(l+1)}: layer l's Z^l
        if ref.mark == "hat" and text == "y" and ref.index is None:
            return net.activation(self.last)
        if ref.mark is not None:
            return None
        if text in self.LOSS_NAMES and ref.index is None:
            return objective_named(net, text)
        if text == "delta" and sub is None:  # Nielsen's delta^l, UFLDL's delta^{(l)}: dL/dZ^l
            k = self.last if ref.index is None else self._layer(ref, 1)
            return Derivative(net.carried_symbol(), net.pre_activation(k))
        if ref.index is None and sub is None and text in spelling["output"]:
            return net.activation(self.last)  # Nielsen's a in \nabla_a C: the output
        if text in spelling["bias"] and sub == spelling["bias_sub"]:
            return net.bias(self._layer(ref, 1))
        if text in spelling["weight"] and sub is None:
            return net.weight(self._layer(ref, 1))
        if sub is not None:
            return None
        if text in spelling["pre_activation"]:
            return net.pre_activation(self._layer(ref, 1))
        if text in spelling["activation"]:
            k = self._layer(ref, 0)
            # A^{k} as the input of layer k+1 is m^{k+1} x 1, as the 6.390 notes write it
            return net.layer_input(k + 1) if k < self.last else net.activation(k)
        if ref.index is None:
            if text in spelling["input"]:
                return net.activation(0)
            if text in spelling["target"]:
                return net.target()
            if text in spelling["output"]:
                return net.activation(self.last)
            if text == "g" and self.running is not None:
                return self.running
        return None

    def known_names(self) -> tuple[str, ...]:
        s = self.spelling
        bias = s["bias"][0] + (f"_{s['bias_sub']}" if s["bias_sub"] else "")
        names = self.network.declaration.names
        return tuple(
            dict.fromkeys(
                (
                    *(f"{letter}^l" for letter in s["weight"]),
                    f"{bias}^l",
                    *(
                        f"{letter}^l"
                        for role in ("pre_activation", "activation")
                        for letter in s[role]
                    ),
                    "\\delta^l",
                    s["input"][0],
                    s["target"][0],
                    *s["output"],
                    "L",
                    names.cost,
                )
            )
        )

    def constant(self, ref: NameRef) -> sympy.Expr | None:
        """The number of examples of a batch, by the convention's letter or the spec's name;
        a weight decay's name (\\lambda)."""
        batch = self.network.batch_size
        plain = ref.index is None and ref.sub is None and not ref.mark
        if plain and ref.text == self.network.decay_name:
            return self.network.decay  # the weight decay's lambda (a number in an instance)
        if batch is None or ref.index is not None or ref.sub is not None or ref.mark:
            return None
        if ref.text in self._batch_names():
            return batch
        return None

    def _batch_names(self) -> tuple[str, ...]:
        """The batch size's names: the convention's letter, the spec's symbol, its number."""
        batch = self.network.batch_size
        return (self.network.declaration.batch_letter, str(batch), *self.batch_names)

    def examples(self) -> sympy.Expr | None:
        return self.network.batch_size

    def names_batch(self, text: str) -> bool:
        return self.network.batch_size is not None and text in self._batch_names()

    def ones(self, size: str) -> Expr | None:
        """1_K, a column of ones for each example of the batch (as in b 1_K^T); 1_3, 1_{n^2}:
        a column of ones as long as a layer (a softmax's column sums, 1 1^T A)."""
        if self.names_batch(size):
            return ones(self.network.columns)
        for layer in range(len(self.network.layers) + 1):
            dim = self.network.size(layer)
            if isinstance(dim, sympy.Expr) and not dim.is_number and size in _size_spellings(dim):
                return ones(dim)
        return None

    def prefixed_gradient(self, quantity: Expr) -> Expr | None:
        """Ng's dX: dJ/dW and dJ/db for the parameters, the per-example dL/dX otherwise."""
        net = self.network
        if net.declaration.gradient_names != "d-prefix" or not isinstance(quantity, Symbol):
            return None
        if quantity.index is None:
            return None
        parameter = quantity in (net.weight(quantity.index), net.bias(quantity.index))
        return Derivative(net.objective() if parameter else net.carried_symbol(), quantity)

    def takes_arguments(self, ref: NameRef) -> bool:
        return ref.text in self.LOSS_NAMES and ref.index is None and ref.sub is None

    def function(self, ref: NameRef, order: int) -> ScalarFn | None:
        letter = self.network.declaration.activation_letter  # Ng's g(Z^{[l]})
        quantities = (
            {n for names in spellings(self.network).values() if isinstance(names, tuple)
             for n in names} if ref.text == "h" else set()
        )  # fmt: skip
        # a letter a source names the activation by: phi (Haykin), h (Bishop) where h is no
        # quantity of the convention, g primed or indexed (Ng's g^{[l]}, 6.390's g is the guess)
        if (
            ref.text in ("f", letter, "phi", "varphi")
            or (ref.text == "g" and (order or ref.index is not None))
            or (ref.text == "h" and ("h" not in quantities or order))
        ):
            if ref.index is not None:
                k = self._layer(ref, 1)
                return self._activation(k, order)
            return lambda arg: self._activation(self._layer_of(arg), order)(arg)
        if ref.text == "Sigma" and order and ref.index is None:  # Nielsen's \Sigma'(z^l)
            return lambda arg: Diag(self._activation(self._layer_of(arg), order)(arg))
        if ref.index is not None:
            return None
        return super().function(ref, order)

    def definitions(self) -> Mapping[str, functions.ScalarFunction]:
        return self.network.own_functions

    def _activation(self, k: int, order: int) -> ScalarFn:
        name = self.network.activation_name(k)
        if name == "softmax":
            if order:
                raise MatcalcError(
                    f"f^{k} is softmax, which is not entrywise: write its Jacobian "
                    f"\\frac{{\\partial A^{k}}}{{\\partial Z^{k}}}"
                )
            return Softmax
        fn = replace(self.network.activation_function(k), order=order)
        return lambda arg: Apply(fn, arg)

    def _layer_of(self, arg: Expr) -> int:
        names = self.network.declaration.names
        if isinstance(arg, Symbol) and arg.index is not None:
            k = None
            if arg.name == names.pre_activation:
                k = int(arg.index)
            if arg.name == names.activation:  # the input of the next layer; A^L: the last's
                k = min(int(arg.index) + 1, self.last)
            if k is not None and 1 <= k <= self.last:
                return k
        raise MatcalcError(
            f"write f^l({names.pre_activation}^l) to say which layer's activation f is"
        )

    def derivative(self, num: Expr, den: Expr) -> Expr:
        net = self.network
        names = net.declaration.names
        if (
            isinstance(num, Symbol)
            and isinstance(den, Symbol)
            and num.name == names.pre_activation
            and den.name == names.weight
            and den.sub is None
            and num.index == den.index
        ):
            # the 6.390 weight link dZ^l/dW^l, which the notes contract to A^{l-1}
            return Derivative(num, den, net.layer_input(den.index).shape)
        if (
            isinstance(den, Symbol)
            and den.index is not None
            and den == net.weight(den.index)
            and not is_scalar(num.shape)
        ):
            raise MatcalcError(
                "the derivative of a vector by a matrix is read only as the weight link "
                "\\frac{\\partial Z^l}{\\partial W^l}"
            )
        return Derivative(num, den)

    def chain_between(self, left: Expr, right: Expr) -> tuple[Expr, ...]:
        """dZ^{k+1}/dA^k, dA^{k+1}/dZ^{k+1}, ... from left's numerator up to right's denominator.

        A weight matrix beside the dots stands for the Jacobian it is (the 6.390 notes write
        W^{l+1} for dZ^{l+1}/dA^l in the general chain for dL/dZ^l).
        """
        left, right = self._as_jacobian(left), self._as_jacobian(right)
        if not (isinstance(left, Derivative) and isinstance(right, Derivative)):
            raise MatcalcError(
                "\\cdots must stand between two Jacobians of the chain (or weight matrices "
                "standing for dZ^k/dA^{k-1})"
            )
        start, stop = _position(left.num, self.network), _position(right.den, self.network)
        if start is None or stop is None:
            raise MatcalcError("\\cdots must stand between Jacobians of Z^k and A^k")
        if not self.descending:
            if stop < start:
                raise NoSuchLayerError("the chain's two ends overlap at this layer")
            return tuple(
                Derivative(self._quantity(t + 1), self._quantity(t)) for t in range(start, stop)
            )
        # written from the output down (dA^L/dZ^L \cdots dA^l/dZ^l): the Jacobians in between
        # in that order, so the formula is checked (in denominator layout it does not fit)
        high, low = _position(left.den, self.network), _position(right.num, self.network)
        if high is None or low is None or high <= low:
            raise NoSuchLayerError("the chain's two ends overlap at this layer")
        return tuple(
            Derivative(self._quantity(t), self._quantity(t - 1)) for t in range(high, low, -1)
        )

    def _as_jacobian(self, factor: Expr) -> Expr:
        """W^k (6.390) or (W^k)^T (Z = W A + b) as dZ^k/dA^{k-1}, whose value it is."""
        net = self.network
        for k in range(1, self.last + 1):
            jacobian = Derivative(net.pre_activation(k), net.layer_input(k))
            weight = net.weight(k)
            value = weight if net.declaration.weight_is_transposed else transpose(weight)
            if factor == value:
                return Derivative(net.pre_activation(k), net.activation(k - 1))
            if factor == jacobian:
                return factor
            if (  # \Sigma'(z^k)
                isinstance(factor, Diag)
                and isinstance(factor.arg, Apply)
                and factor.arg.arg == net.pre_activation(k)
                and factor.arg.fn.order == 1
            ):
                return Derivative(net.activation(k), net.pre_activation(k))
        return factor

    def _quantity(self, t: int) -> Symbol:
        net = self.network
        return net.activation(t // 2) if t % 2 == 0 else net.pre_activation((t + 1) // 2)


def _size_spellings(dim: sympy.Expr) -> set[str]:
    """How a layer size such as n^2 may be written under a ones vector: n^2, n^{2}, n_2."""
    if not isinstance(dim, sympy.Indexed):
        return {str(dim)}
    letter, index = str(dim.base), str(dim.indices[0])
    return {
        f"{letter}^{index}",
        f"{letter}^{{{index}}}",
        f"{letter}_{index}",
        f"{letter}_{{{index}}}",
    }


def objective_named(network: Network, text: str) -> Symbol:
    """The loss L, or the cost J where J names the objective (Ng, Goodfellow, a batch)."""
    if text == network.declaration.names.cost and network.objective() == network.cost_symbol():
        return network.cost_symbol()
    return network.loss_symbol()


def spellings(network: Network) -> dict:
    """How the convention's quantities may be written: its letters and their lower-case forms
    where those do not name something else (z and a for Z and A, but not h for a in Goodfellow).
    """
    names = network.declaration.names
    primary = {
        "weight": names.weight,
        "pre_activation": names.pre_activation,
        "activation": names.activation,
    }
    taken = {*primary.values(), names.bias}

    def variants(letter: str) -> tuple[str, ...]:
        lower = letter.lower()
        return (letter,) if lower == letter or lower in taken else (letter, lower)

    result: dict = {role: variants(letter) for role, letter in primary.items()}
    result["bias"] = (names.bias,) if names.bias_sub else variants(names.bias)
    result["bias_sub"] = names.bias_sub
    result["input"] = names.inputs
    result["target"] = tuple(dict.fromkeys((names.target, names.batch_target, "y")))
    result["output"] = names.output
    return result


def _is_shifted(text: str, spelling: dict) -> bool:
    """Whether a name is one of the quantities whose index a convention offsets from the
    weights' (UFLDL's z^{(l)}, a^{(l)}, \\delta^{(l)})."""
    return text == "delta" or text in spelling["pre_activation"] or text in spelling["activation"]


def _position(symbol: Expr, network: Network | None = None) -> int | None:
    """Forward order of the chain's quantities: A^0, Z^1, A^1, Z^2, ... -> 0, 1, 2, 3, ..."""
    if not isinstance(symbol, Symbol) or symbol.index is None or symbol.sub:
        return None
    names = network.declaration.names if network is not None else None
    if symbol.name == (names.activation if names else "A"):
        return 2 * int(symbol.index)
    if symbol.name == (names.pre_activation if names else "Z"):
        return 2 * int(symbol.index) - 1
    return None


# ------------------------------------------------------------------------------ the resolver


@record
class _Const:
    """A number in the formula: 2, \\frac{1}{2}."""

    value: sympy.Expr


@record
class _Operator:
    """Something that applies to what follows it: sigma, \\frac{\\partial}{\\partial X}, \\sum."""

    apply: Callable[[Expr], Expr]
    node: Node
    # a derivative operator takes the whole product after it: d/dX (a^T X b)
    greedy: bool = False
    # \sum_{i=1}^{m} binds the example index i in what it sums
    binds: str | None = None


@record
class _Ones:
    """\\mathbf{1} without a size: a column (or, transposed, a row) of ones sized by the matrix
    beside it, so G \\mathbf{1} sums G's columns and \\mathbf{1}^T v sums v's entries."""

    node: Node
    transposed: bool = False
    fallback: Expr | None = None  # 1_3 where 3 is also the batch: 1_K when nothing sizes it

    def fallen_back(self) -> Expr | None:
        if self.fallback is None:
            return None
        return transpose(self.fallback) if self.transposed else self.fallback


@record
class _Pair:
    """(x, w): the arguments of a function of two matrices."""

    items: tuple[Expr, Expr]


_Value = Expr | _Const | _Operator | _Ones | _Pair


def _power_function(exponent: Fraction) -> functions.ScalarFunction:
    """z^p as a scalar function, so a power of a 1 x 1 expression is evaluated entrywise."""
    return functions.power(exponent)


class Resolver:
    """Syntax tree -> expression, with names from ``namespace`` and indices bound."""

    def __init__(
        self, namespace: Namespace, bindings: Mapping[sympy.Symbol, int] | None = None, text=""
    ) -> None:
        self.namespace = namespace
        self.bindings = {
            symbol: sympy.Integer(value) if isinstance(value, int) else value
            for symbol, value in (bindings or {}).items()
        }
        self.text = text
        self.examples: list[str] = []  # the example indices of the sums being read
        self.notes: list[str] = []  # how an ambiguous operator was read, for the reason

    def error(self, message: str, node: Node) -> ResolveError:
        return ResolveError(message, self.text, max(node.start, 0))

    def expr(self, node: Node) -> Expr:
        """The matrix expression of ``node``."""
        return self._matrix(node)

    def value(self, node: Node) -> _Value:
        try:
            return self._value(node)
        except (ResolveError, ShapeError, NoSuchLayerError):
            raise
        except MatcalcError as error:
            raise self.error(str(error), node) from None

    def _value(self, node: Node) -> _Value:
        match node:
            case Number(value=value):
                return _Const(sympy.Rational(value.numerator, value.denominator))
            case Name() | Scripted():
                return self._name(node, 0)
            case Group(inner=inner):
                if isinstance(inner, Cdots):
                    raise self.error("\\cdots is read only between factors of a chain", node)
                return self.value(inner)
            case Primed(arg=arg, order=1) if self._primes_a_matrix(arg):
                self.notes.append("' after a matrix is read as its transpose (X' = X^T)")
                inner = self.value(arg)
                if isinstance(inner, _Ones):
                    return replace(inner, transposed=not inner.transposed)
                return transpose(self._matrix(arg, inner))
            case Primed(arg=arg, order=order):
                return self._name(arg, order)
            case Transposed(arg=arg):
                inner = self.value(arg)
                if isinstance(inner, _Ones):
                    return replace(inner, transposed=not inner.transposed)
                return transpose(self._matrix(arg, inner))
            case InverseOf(arg=arg):
                return self.namespace.inverse(self._matrix(arg))
            case Neg(arg=arg):
                inner = self.value(arg)
                if isinstance(inner, _Const):
                    return _Const(-inner.value)
                return scale(-1, self._matrix(arg, inner))
            case SumNode(terms=terms):
                return self._sum(terms)
            case Elementwise(factors=factors):
                return self._elementwise(factors)
            case Product(factors=factors, ops=ops):
                return self._product(factors, ops)
            case Frac(num=num, den=den):
                return self._quotient(num, den)
            case DerivativeOf(num=None, den=den):
                wrt = self._matrix(den)
                return _Operator(lambda arg: self.namespace.derivative(arg, wrt), node, True)
            case DerivativeOf(num=num, den=den):
                return self.namespace.derivative(self._matrix(num), self._matrix(den))
            case Nabla(wrt=None):
                raise self.error("\\nabla needs a subscript: \\nabla_{W^l} L", node)
            case Nabla(wrt=wrt):
                by = self._matrix(wrt)
                return _Operator(lambda arg: self.namespace.derivative(arg, by), node, True)
            case SumOf(sub=Bound(variable=variable)):
                self._summed_examples(node)
                return _Operator(self._example_sum, node, greedy=True, binds=variable)
            case SumOf(sub=Name(text=variable), upper=None) if self._over_examples(variable):
                return _Operator(self._example_sum, node, greedy=True, binds=variable)
            case SumOf(sub=None, upper=None) if self.namespace.examples() is not None:
                return _Operator(self._example_sum, node, greedy=True)  # a bare sum: examples
            case SumOf():
                return _Operator(Sum, node)
            case ExampleOf(arg=arg, variable=variable):
                self._check_example(node, variable)
                return self.value(arg)
            case Norm(arg=arg, squared=True):
                return SquaredNorm(self._matrix(arg))
            case Norm(arg=arg):  # the root of the sum of squares: \|v\|, \|v\|_2, \|X\|_F
                return Apply(Function("sqrt"), SquaredNorm(self._matrix(arg)))
            case Abs(arg=arg):
                return self._abs(arg)
            case Power(arg=arg, exponent=exponent):
                return self._power(arg, exponent, node)
            case Arguments(items=items) if len(items) == 2:
                return _Pair(tuple(self._matrix(item) for item in items))
            case Arguments():
                raise self.error(
                    "a list of arguments (x, y) follows a function or the objective, like J(W, b)",
                    node,
                )
            case Cdots():
                raise self.error("\\cdots is read only between factors of a chain", node)
        raise self.error("this cannot be read here", node)

    def _matrix(self, node: Node, value: _Value | None = None) -> Expr:
        value = self.value(node) if value is None else value
        if isinstance(value, _Operator):
            raise self.error("this needs an argument after it", node)
        if isinstance(value, _Pair):
            raise self.error(
                "a list of arguments (x, y) follows a function or the objective, like "
                "conv(x, w) or J(W, b)",
                node,
            )
        if isinstance(value, _Const):
            return Fill(value.value, (sympy.Integer(1), sympy.Integer(1)))
        if isinstance(value, _Ones) and value.fallback is not None:
            return value.fallen_back()
        if isinstance(value, _Ones):
            raise self.error(
                "\\mathbf{1} takes its size from the matrix beside it (G \\mathbf{1}, "
                "\\mathbf{1}^T v), or write it with its size, \\mathbf{1}_m",
                node,
            )
        return value

    # ------------------------------------------------------------------ names

    def _primes_a_matrix(self, arg: Node) -> bool:
        """Whether a prime follows a matrix, not a function: (w^{l+1})', X', (X w - y)' are
        transposes, as statistics texts write them; f', \\sigma' are derivatives."""
        while isinstance(arg, Group) and arg.delim in ("{", "("):
            arg = arg.inner
        if not isinstance(arg, Name | Scripted):
            return not isinstance(arg, Primed | Number)
        try:
            ref = self._ref(arg)
        except ResolveError:
            return False
        if self.namespace.function(ref, 1) is not None:
            return False
        try:
            return self.namespace.symbol(ref) is not None
        except NoSuchLayerError:
            return True  # w^{L+1}': reading it says which layer does not exist

    def _ref(self, node: Node) -> NameRef:
        sub = index = None
        if isinstance(node, Scripted):
            if node.sub is not None:
                sub = self._sub_text(node.sub)
            if node.index is not None:
                index = node.index.expr.xreplace(self.bindings)
            node = node.base
        while isinstance(node, Group) and node.delim in ("{", "("):  # {f^L}', (f^L)'
            node = node.inner
        if isinstance(node, Scripted):  # {W_0}^l
            inner = self._ref(node)
            return NameRef(inner.text, inner.sub or sub, inner.index or index, inner.mark)
        if not isinstance(node, Name):
            raise self.error("a name is expected here", node)
        return NameRef(node.text, sub, index, node.mark)

    def _sub_text(self, node: Node) -> str:
        while isinstance(node, Group) and node.delim == "{":
            node = node.inner
        if isinstance(node, Name):
            return node.text
        if isinstance(node, Number) and node.value.denominator == 1:
            return str(node.value.numerator)
        return self.text[node.start : node.end] if node.start >= 0 else "?"

    def _abs(self, arg: Node) -> _Value:
        """|x| of a scalar is its absolute value; |A| of a square matrix its determinant; |x|
        of a column (any matrix that is not square) its absolute values, entrywise."""
        value = self.value(arg)
        if isinstance(value, _Const):
            return _Const(sympy.Abs(value.value))
        matrix = self._matrix(arg, value)
        if not is_scalar(matrix.shape) and dims_equal(matrix.shape[0], matrix.shape[1]):
            return Det(matrix)
        return Apply(Function("abs"), matrix)  # the built-in |z|, whose derivative is sign(z)

    def _function_power(
        self, factors: tuple[Node, ...], position: int
    ) -> tuple[tuple[Node, ...], Fraction] | None:
        """(factors with the power moved off, exponent) where a named function is raised."""
        node = factors[position]
        if position + 1 >= len(factors):
            return None
        following = factors[position + 1]
        if (
            isinstance(node, Scripted)
            and isinstance(node.base, Name)
            and node.base.text in POWERED_FUNCTIONS
            and node.sub is None
            and node.index is not None
            and node.index.style == "plain"
            and node.index.expr.is_Integer
        ):
            exponent = Fraction(int(node.index.expr))
            return (*factors[:position], node.base, *factors[position + 1 :]), exponent
        if (
            isinstance(node, Name)
            and isinstance(following, Power)
            and isinstance(following.arg, Group)
            and following.arg.delim == "("
            and following.arg.start == node.end
            and isinstance(self.value(node), _Operator)
        ):
            rest = factors[position + 2 :]
            return (*factors[:position], node, following.arg, *rest), following.exponent
        return None

    def _raise(self, arg: Node, value: _Value, exponent: Fraction, node: Node) -> _Value:
        if isinstance(value, _Const):
            return _Const(value.value ** sympy.Rational(exponent.numerator, exponent.denominator))
        """A power of a function's value: entrywise, as the function is."""
        matrix = self._matrix(arg, value)
        return Apply(Function(f"power {exponent}", definition=_power_function(exponent)), matrix)

    def _power(self, arg: Node, exponent: Fraction, node: Node) -> _Value:
        """A number power of a scalar (entrywise, so (1 - a)^2 of a 1 x 1 is its square); of a
        column or any matrix that is not square, where no matrix power exists, entrywise."""
        value = self.value(arg)
        if isinstance(value, _Const):
            return _Const(value.value ** sympy.Rational(exponent.numerator, exponent.denominator))
        matrix = self._matrix(arg, value)
        if dims_equal(matrix.shape[0], matrix.shape[1]) and not is_scalar(matrix.shape):
            raise self.error(
                "a power of a square matrix is not read; write A A or A \\odot A", node
            )
        if not is_scalar(matrix.shape):
            self.notes.append(
                "a power of a matrix that is not square is read entrywise (no matrix power exists)"
            )
        return Apply(Function(f"power {exponent}", definition=_power_function(exponent)), matrix)

    def _name(self, node: Node, order: int) -> _Value:
        if order and not isinstance(node, Name | Scripted | Group):
            raise self.error("a prime ' marks the derivative of a function, like f'(Z)", node)
        if _is_ones_vector(node):
            size = self._sub_text(node.sub)
            vector = self.namespace.ones(size)
            if (size.isdigit() and int(size) > 0) or (
                vector is None and isinstance(node.sub, Scripted)
            ):
                return _Ones(node, fallback=vector)  # 1_3, 1_{n^2}: sized by the factor beside it
            if vector is None:
                raise self.error(f"the ones vector's size {size} means nothing here", node)
            return vector
        if _is_bold_one(node):
            return _Ones(node)
        ref = self._ref(node)
        fn = self.namespace.function(ref, order)
        if fn is not None:
            return _Operator(fn, node)
        if order and self.namespace.symbol(ref) is None and self.namespace.constant(ref) is None:
            raise self.error(self._unknown(ref), node)  # q' of a name nothing defines
        if order:
            raise self.error(f"{ref.text} is not a function, so {ref.text}' means nothing", node)
        constant = self.namespace.constant(ref)
        if constant is not None:
            return _Const(constant)
        symbol = self.namespace.symbol(ref)
        if symbol is None and ref == NameRef("pi"):  # \pi, where no matrix is named pi
            return _Const(sympy.pi)
        if symbol is None:
            raise self.error(self._unknown(ref), node)
        return symbol

    def _unknown(self, ref: NameRef) -> str:
        shown = ref.text if ref.mark is None else f"\\{ref.mark}{{{ref.text}}}"
        shown = shown if ref.sub is None else f"{shown}_{ref.sub}"
        names = self.namespace.known_names()
        close = difflib.get_close_matches(ref.text, [n.split("^")[0] for n in names], n=3)
        close = [c for c in close if c != shown]
        hint = f"; did you mean {' or '.join(dict.fromkeys(close))}?" if close else ""
        return f"unknown symbol {shown}{hint} (known here: {', '.join(names)})"

    # ------------------------------------------------------------------ operations

    def _sum(self, terms: tuple[Node, ...]) -> _Value:
        values = [self.value(t) for t in terms]
        for value, term in zip(values, terms, strict=True):
            if isinstance(value, _Operator):
                raise self.error("this needs an argument after it", term)
        matrices = [v for v in values if isinstance(v, Expr)]
        if not matrices:
            return _Const(sympy.Add(*(v.value for v in values)))
        shape = next((m.shape for m in matrices if not is_scalar(m.shape)), matrices[0].shape)
        parts = [Fill(v.value, shape) if isinstance(v, _Const) else v for v in values]
        # a scalar added to a matrix is broadcast to every entry: X theta + theta_0
        return add(*(broadcast(p, shape) if _broadcasts(p, shape) else p for p in parts))

    def _elementwise(self, factors: tuple[Node, ...]) -> _Value:
        """A \\odot B: the identity I in it is sized by a square factor beside it."""
        coeff = sympy.Integer(1)
        matrices: list[Expr] = []
        identities = [f for f in factors if self._is_identity(f)]
        if identities and len(identities) < len(factors):
            others = tuple(f for f in factors if f not in identities)
            sized = self._elementwise(others)
            if isinstance(sized, Expr) and dims_equal(sized.shape[0], sized.shape[1]):
                return hadamard(sized, Identity(sized.shape[0]))
        for factor in factors:
            value = self.value(factor)
            if isinstance(value, _Const):
                coeff *= value.value
            else:
                matrices.append(self._matrix(factor, value))
        if not matrices:
            return _Const(coeff)
        return scale(coeff, hadamard(*matrices))

    def _quotient(self, num: Node, den: Node) -> _Value:
        top, bottom = self.value(num), self.value(den)
        if isinstance(bottom, _Const):
            if bottom.value == 0:
                raise self.error("division by zero", den)
            if isinstance(top, _Const):
                return _Const(top.value / bottom.value)
            return scale(1 / bottom.value, self._matrix(num, top))
        reciprocal = Apply(Function("reciprocal"), self._matrix(den, bottom))
        if isinstance(top, _Const):
            return scale(top.value, reciprocal)
        numerator = self._matrix(num, top)
        if is_scalar(reciprocal.shape) and not is_scalar(numerator.shape):
            return scalar_product(reciprocal, numerator)  # x / \|x\|: division by a scalar
        return hadamard(numerator, reciprocal)

    def _product(self, factors: tuple[Node, ...], ops: tuple[str, ...] = ()) -> _Value:
        values: list[Expr | _Const | Node | _Ones] = []
        written: list[str] = []  # the operator before each value ("" for juxtaposition)
        spans: list[tuple[int, int]] = []  # where each value is written
        identity: Node | None = None
        position = 0

        def op_at(i: int) -> str:
            return ops[i - 1] if ops and 0 < i <= len(ops) else ""

        factors = self._nabla_by_argument(factors)
        while position < len(factors):
            before = op_at(position)
            prefixed = self._prefixed(factors, position)
            if prefixed is not None:
                values.append(prefixed)
                written.append(before)
                spans.append((factors[position].start, factors[position + 1].end))
                position += 2
                continue
            node = factors[position]
            if _is_cdots(node):
                values.append(node)
                written.append(before)
                spans.append((node.start, node.end))
                position += 1
                continue
            if self._is_identity(node):  # I X = X I = X
                identity = node
                position += 1
                continue
            if self._objective_arguments(factors, position):  # L(W), J(W, b; x, y)
                values.append(self.value(node))
                written.append(before)
                spans.append((node.start, factors[position + 1].end))
                position += 2
                continue
            value, after = self._take(factors, position, ops)
            values.append(value)
            written.append(before)
            spans.append((node.start, factors[after - 1].end))
            position = after
        if len(spans) != len(values) or any(isinstance(v, Node) for v in values):
            spans = []  # a chain with \cdots is expanded into factors of its own
        values, written = self._expand_cdots(values, written)
        values = self._size_ones(values)
        coeff = sympy.Integer(1)
        result: Expr | None = None
        first = -1
        for at, (value, op) in enumerate(zip(values, written, strict=True)):
            if isinstance(value, _Const):
                coeff *= value.value
                continue
            assert isinstance(value, Expr)
            if result is None:
                result, first = value, at
            elif op in ("times", "cdot"):
                shown = None
                if spans and first >= 0:
                    shown = (self._written(spans[first][0], spans[at - 1][1]),
                             self._written(*spans[at]))  # fmt: skip
                try:
                    result = self._cross(result, value, op, shown)
                except ShapeError:
                    raise
                except MatcalcError as error:
                    if not spans:
                        raise
                    raise ResolveError(str(error), self.text, max(spans[at][0], 0)) from None
            else:
                result = times(result, value)
        if result is None:
            if identity is not None:
                raise self.error("the identity I takes its size from a matrix beside it", identity)
            return _Const(coeff)
        return scale(coeff, result)

    def _nabla_by_argument(self, factors: tuple[Node, ...]) -> tuple[Node, ...]:
        """Bishop's \\nabla E(\\mathbf{w}): a \\nabla with no subscript, before an objective
        written with one argument, is the gradient by that argument."""
        for position, node in enumerate(factors[:-2]):
            if not (isinstance(node, Nabla) and node.wrt is None):
                continue
            argument = factors[position + 2]
            inner = argument.inner if isinstance(argument, Group) else None
            while isinstance(inner, Group) and inner.delim == "{":
                inner = inner.inner
            if (
                isinstance(inner, Name | Scripted)
                and argument.delim == "("
                and self._objective_arguments(factors, position + 1)
            ):
                by = Nabla(inner, start=node.start, end=node.end)
                return (*factors[:position], by, *factors[position + 1 :])
        return factors

    def _objective_arguments(self, factors: tuple[Node, ...], position: int) -> bool:
        """Whether factors[position] is the objective and the next factor its arguments."""
        if position + 1 >= len(factors):
            return False
        node, following = factors[position], factors[position + 1]
        if not isinstance(node, Name | Scripted) or following.start != node.end:
            return False
        if isinstance(following, Arguments):
            try:  # conv(x, w) is a function of two matrices, not an objective's arguments
                return self.namespace.function(self._ref(node), 0) is None
            except MatcalcError:
                return True
        if not (isinstance(following, Group) and following.delim == "("):
            return False
        try:
            if self.namespace.takes_arguments(self._ref(node)):
                return True
            value = self.value(node)
        except MatcalcError:
            return False
        # a scalar objective the spec defines, written with its argument: J(\theta)
        scalar = isinstance(value, Expr) and is_scalar(value.shape)
        inner = following.inner
        while isinstance(inner, Group) and inner.delim == "{":  # J(\\boldsymbol{\\theta})
            inner = inner.inner
        return scalar and (
            not isinstance(value, Symbol)
            or (node_text(node) in OBJECTIVE_LETTERS and isinstance(inner, Name | Scripted))
        )

    def _is_objective_name(self, node: Node) -> bool:
        """J, L, C (any subscript, no layer index): the objective a \\nabla is applied to."""
        if not isinstance(node, Name | Scripted) or (
            isinstance(node, Scripted) and node.index is not None
        ):
            return False
        try:
            ref = self._ref(node)
        except ResolveError:
            return False
        return self.namespace.takes_arguments(ref) or ref.text in OBJECTIVE_LETTERS

    def _size_ones(self, values: list) -> list:
        """Each unsized \\mathbf{1} as the ones column (row) that fits the factor beside it."""
        sized = list(values)
        for i, value in enumerate(values):
            if not isinstance(value, _Ones):
                continue
            if value.transposed:
                after = next((v for v in values[i + 1 :] if isinstance(v, Expr)), None)
                if after is not None:
                    sized[i] = transpose(ones(after.shape[0]))
                    continue
            else:
                before = next((v for v in reversed(sized[:i]) if isinstance(v, Expr)), None)
                if before is not None:
                    sized[i] = ones(before.shape[1])
                    continue
                following = values[i + 1] if i + 1 < len(values) else None
                after = next((v for v in values[i + 2 :] if isinstance(v, Expr)), None)
                if isinstance(following, _Ones) and following.transposed and after is not None:
                    sized[i] = ones(after.shape[0])  # 1 1^T X: the column sums of X, spread
                    continue
            if value.fallback is not None:
                sized[i] = value.fallen_back()
                continue
            self._matrix(value.node, value)  # the error that says where its size comes from
        return sized

    def _written(self, start: int, end: int) -> str:
        """The source text from ``start`` to ``end`` (a placeholder where it is not known)."""
        text = self.text[start:end].strip() if 0 <= start < end <= len(self.text) else ""
        return text if text and len(text) <= 60 else "..."

    def _cross(
        self, left: Expr, right: Expr, op: str, shown: tuple[str, str] | None = None
    ) -> Expr:
        """A product written \\times (\\otimes) or \\cdot: the matrix product where it fits;
        \\times of two matrices of one shape is elementwise, \\cdot of two columns a dot
        product, and a \\times that both readings fit is an error naming both."""
        if is_scalar(left.shape) or is_scalar(right.shape):
            return times(left, right)
        fits = dims_equal(left.shape[1], right.shape[0])
        same = shapes_equal(left.shape, right.shape)
        sign = "\\times" if op == "times" else "\\cdot"
        if op == "times" and same and fits:
            a, b = shown or ("A", "B")
            a = f"({a})" if a != "A" and not _one_factor(a) else a
            b = f"({b})" if b != "B" and not _one_factor(b) else b
            raise MatcalcError(
                f"\\times between two {shape_text(left.shape)} matrices is ambiguous: it reads "
                f"as the matrix product {a}\\,{b} or as the elementwise product {a} \\odot {b}, "
                "and both fit; write one of them"
            )
        if op == "times" and same:
            self.notes.append(
                f"{sign} is read as the elementwise product, the only product the shapes allow"
            )
            return hadamard(left, right)
        if op == "cdot" and not fits and same and is_column(left.shape):
            self.notes.append(f"{sign} between two columns is read as their dot product u^T v")
            return matmul(transpose(left), right)
        return times(left, right)

    def _is_identity(self, node: Node) -> bool:
        """I or (I), the identity matrix, where no symbol is named I."""
        while isinstance(node, Group) and not isinstance(node.inner, Cdots):
            node = node.inner
        return (
            isinstance(node, Name)
            and node.text == "I"
            and node.mark is None
            and self.namespace.symbol(NameRef("I")) is None
        )

    def _summed_examples(self, node: SumOf) -> None:
        """\\sum_{i=1}^{m} must run over the examples of the batch: from 1 to its size."""
        batch = self.namespace.examples()
        upper = node.upper
        while isinstance(upper, Group) and upper.delim == "{":
            upper = upper.inner
        if batch is not None and upper is not None:
            low = self.value(node.sub.low)
            named = upper.start >= 0 and self.namespace.names_batch(
                self.text[upper.start : upper.end].strip()
            )
            if named and isinstance(low, _Const) and low.value == 1:
                return
        raise self.error("a sum over examples runs from 1 to the batch size, like i=1..m", node)

    def _over_examples(self, variable: str) -> bool:
        """\\sum_i without bounds runs over the examples where there is a batch."""
        return len(variable) == 1 and self.namespace.examples() is not None

    def _check_example(self, node: Node, variable: str) -> None:
        if variable not in self.examples:
            raise self.error(
                f"^{{({variable})}} is one example's column: sum it, \\sum_{{{variable}=1}}^{{m}}",
                node,
            )

    def _example_sum(self, summand: Expr) -> Expr:
        """\\sum_i over the examples: the columns X^{(i)} add up to X 1_K; a sum of products
        of columns and rows (x^{(i)} y^{(i)T}) is already the matrix product X Y^T."""
        batch = self.namespace.examples()
        if batch is not None and dims_equal(summand.shape[1], batch) and not dims_equal(batch, 1):
            return matmul(summand, ones(batch))
        return summand

    def _prefixed(self, factors: tuple[Node, ...], position: int) -> Expr | None:
        """dZ^{[l]}, dW^{[l]T}: a d written against a name, where the namespace reads it so."""
        node = factors[position]
        if not (isinstance(node, Name) and node.text == "d" and node.mark is None):
            return None
        if position + 1 >= len(factors) or factors[position + 1].start != node.end:
            return None
        following = factors[position + 1]
        transposed = isinstance(following, Transposed)
        named = following.arg if transposed else following
        if isinstance(named, ExampleOf):  # dZ^{[l](i)}
            self._check_example(named, named.variable)
            named = named.arg
        if not isinstance(named, Name | Scripted):
            return None
        try:
            quantity = self._name(named, 0)
        except ResolveError:
            return None
        if not isinstance(quantity, Expr):
            return None
        gradient = self.namespace.prefixed_gradient(quantity)
        if gradient is None:
            return None
        return transpose(gradient) if transposed else gradient

    def _take(
        self, factors: tuple[Node, ...], position: int, ops: tuple[str, ...] = ()
    ) -> tuple[_Value, int]:
        """The value at ``position``; a function or operator takes the value after it.  A power
        written on a function's name (\\tanh^2(Z)) or after its parenthesized argument
        (\\operatorname{tr}(X)^2, \\sin(x)^2) is a power of the function's value."""
        node = factors[position]
        powered = self._function_power(factors, position)
        if powered is not None:
            rewritten, exponent = powered
            value, after = self._take(rewritten, position, ops)
            return self._raise(rewritten[position], value, exponent, node), after
        value = self.value(node)
        if not isinstance(value, _Operator):
            return value, position + 1
        if position + 1 >= len(factors) or _is_cdots(factors[position + 1]):
            raise self.error("this needs an argument after it, like \\sigma(Z^l)", node)
        if value.binds is not None:
            self.examples.append(value.binds)
        named = isinstance(value.node, Nabla) and self._is_objective_name(factors[position + 1])
        try:
            if named:  # \nabla_{a} J \, h^T: the gradient of J, times what follows
                after = position + 2
                if self._objective_arguments(factors, position + 1):
                    after += 1
                argument = self.value(factors[position + 1])
                matrix = self._matrix(factors[position + 1], argument)
            elif value.greedy and position + 2 < len(factors):
                rest = factors[position + 1 :]
                argument, after = self._product(rest, ops[position + 1 :]), len(factors)
                whole = Product(rest, start=rest[0].start, end=rest[-1].end)
                matrix = self._matrix(whole, argument)
            else:
                argument, after = self._take(factors, position + 1)
                number = _of_number(value, argument)
                if number is not None:
                    return number, after
                if isinstance(argument, _Pair):
                    matrix = argument.items
                else:
                    matrix = self._matrix(factors[position + 1], argument)
        finally:
            if value.binds is not None:
                self.examples.pop()
        try:
            return value.apply(matrix), after
        except (ShapeError, NoSuchLayerError):
            raise
        except MatcalcError as error:
            raise self.error(str(error), node) from None

    def _expand_cdots(self, values: list, written: list[str]) -> tuple[list, list[str]]:
        expanded: list = []
        ops: list[str] = []
        for position, value in enumerate(values):
            if not isinstance(value, Node):
                expanded.append(value)
                ops.append(written[position])
                continue
            if position == 0 or position == len(values) - 1:
                raise self.error("\\cdots must stand between two factors of a chain", value)
            left, right = expanded[-1], values[position + 1]
            if not (isinstance(left, Expr) and isinstance(right, Expr)):
                raise self.error("\\cdots must stand between two factors of a chain", value)
            try:
                between = self.namespace.chain_between(_last(left), _first(right))
            except NoSuchLayerError:
                raise
            except MatcalcError as error:
                raise self.error(str(error), value) from None
            expanded.extend(between)
            ops.extend("" for _ in between)
        return expanded, ops


def _two_arguments(name: str, build: Callable[[Expr, Expr], Expr]) -> ScalarFn:
    """A function of two matrices, written name(x, w)."""

    def apply(arguments: Expr | tuple[Expr, Expr]) -> Expr:
        if not isinstance(arguments, tuple):
            raise MatcalcError(f"{name} takes two arguments: {name}(x, w)")
        return build(*arguments)

    return apply


def _max_with_zero(left: Expr, right: Expr) -> Expr:
    """max(0, z) = max(z, 0) = ReLU(z), entrywise; max(x, y) = ReLU(x - y) + y, entrywise."""
    for zero, z in ((left, right), (right, left)):
        if isinstance(zero, Fill) and zero.value == 0 and is_scalar(zero.shape):
            return Apply(Function("relu"), z)
    left, right = _same_shape("max", left, right)
    return add(Apply(Function("relu"), add(left, scale(-1, right))), right)


def _entrywise_min(left: Expr, right: Expr) -> Expr:
    """min(x, y) = x - ReLU(x - y), entrywise."""
    left, right = _same_shape("min", left, right)
    return add(left, scale(-1, Apply(Function("relu"), add(left, scale(-1, right)))))


def _same_shape(name: str, left: Expr, right: Expr) -> tuple[Expr, Expr]:
    """The two arguments of an entrywise max or min, a number spread to the other's shape."""
    if isinstance(left, Fill) and is_scalar(left.shape):
        left = Fill(left.value, right.shape)
    if isinstance(right, Fill) and is_scalar(right.shape):
        right = Fill(right.value, left.shape)
    if not shapes_equal(left.shape, right.shape):
        raise MatcalcError(
            f"\\{name}(x, y) is taken entry by entry of two matrices of one shape; here they "
            f"are {shape_text(left.shape)} and {shape_text(right.shape)}"
        )
    return left, right


def _of_number(operator: _Operator, argument: _Value) -> _Const | None:
    """An entrywise function of a number is a number: \\sqrt{e}, \\exp(1); else None."""
    if not isinstance(argument, _Const):
        return None
    try:
        probe = operator.apply(Fill(sympy.Integer(1), (sympy.Integer(1), sympy.Integer(1))))
    except MatcalcError:
        return None
    if not isinstance(probe, Apply) or probe.fn.scalar is None:
        return None
    formula = probe.fn.scalar.formula_of_order(probe.fn.order)
    return _Const(formula.subs(functions.Z, argument.value))


OBJECTIVE_LETTERS = ("J", "L", "C", "E", "R", "ell", "loss", "cost")


def node_text(node: Node) -> str | None:
    """The base name of a name as written: J in J, J_{\\text{ridge}}, {J}."""
    while isinstance(node, Scripted | Group):
        node = node.base if isinstance(node, Scripted) else node.inner
    return node.text if isinstance(node, Name) else None


def _is_ones_vector(node: Node) -> bool:
    """\\mathbf{1}_K: a 1 with a subscript and no layer index."""
    if not (isinstance(node, Scripted) and node.sub is not None and node.index is None):
        return False
    base = node.base
    while isinstance(base, Group) and base.delim == "{":
        base = base.inner
    return (isinstance(base, Number) and base.value == 1) or _is_bold_one(base)


def _is_bold_one(node: Node) -> bool:
    """\\mathbf{1} (also \\mathbb{1}, \\boldsymbol{1}, \\vec{1}) without a size."""
    return isinstance(node, Name) and node.mark == "ones"


def _one_factor(text: str) -> bool:
    """Whether written text is one factor that needs no parentheses in a product: A, W^{l}."""
    return re.fullmatch(r"\\?[A-Za-z]+(?:[_^](?:\{[^{}]*\}|[A-Za-z0-9]))*", text) is not None


def _is_cdots(node: Node) -> bool:
    while isinstance(node, Group):
        node = node.inner
    return isinstance(node, Cdots)


def _last(expr: Expr) -> Expr:
    expr = expr.arg if isinstance(expr, Scale) else expr
    return expr.factors[-1] if isinstance(expr, MatMul) else expr


def _first(expr: Expr) -> Expr:
    expr = expr.arg if isinstance(expr, Scale) else expr
    return expr.factors[0] if isinstance(expr, MatMul) else expr


def times(left: Expr, right: Expr) -> Expr:
    """A written product: a matrix product, with the readings people intend.

    f'(Z) juxtaposed with a matrix of its rows is diag(f'(Z)) (6.390 writes dA/dZ as f'(Z));
    a 1 x 1 factor that does not fit is a scalar multiple.  Anything else must fit.
    """
    if dims_equal(left.shape[1], right.shape[0]):
        return matmul(left, right)
    if (
        isinstance(left, Apply)
        and left.fn.order >= 1
        and is_column(left.shape)
        and dims_equal(left.shape[0], right.shape[0])
    ):
        return matmul(Diag(left), right)
    if is_scalar(left.shape):
        return scalar_product(left, right)
    if is_scalar(right.shape):
        return scalar_product(right, left)
    return matmul(left, right)


def _broadcasts(term: Expr, shape: tuple) -> bool:
    return is_scalar(term.shape) and not is_scalar(shape)


def resolve(
    node: Node, namespace: Namespace, bindings: Mapping[sympy.Symbol, int] | None = None, text=""
) -> Expr:
    """The expression of a syntax tree in ``namespace`` with layer indices bound."""
    return Resolver(namespace, bindings, text).expr(node)


# Bishop's units i -> j -> k of three consecutive layers, k at the output (PRML 5.3)
UNIT_LETTER_LAYERS = {"i": 2, "j": 1, "k": 0}
_LAYERED_BY_UNIT = frozenset({"delta", "w", "W", "a", "z", "b"})


def with_unit_layers(node: Node) -> Node:
    """Bishop's unindexed entries as layer entries: \\delta_j, a_j, z_j of the layer before the
    output, \\delta_k of the output, w_{kj} of the output layer's weights, w_{ji} of the layer
    before, z_i two layers down (x_i, y_k and t_k name the input, output and target)."""
    changes = {}
    for name, value in vars(node).items():
        if isinstance(value, Node):
            changes[name] = with_unit_layers(value)
        elif isinstance(value, tuple) and any(isinstance(item, Node) for item in value):
            changes[name] = tuple(
                with_unit_layers(item) if isinstance(item, Node) else item for item in value
            )
    node = replace(node, **changes) if changes else node
    if not (isinstance(node, Scripted) and node.index is None and node.sub is not None):
        return node
    base = node.base
    letters = _sub_letters(node.sub)
    if not (isinstance(base, Name) and base.mark is None and base.text in _LAYERED_BY_UNIT):
        return node
    if not letters or letters[0] not in UNIT_LETTER_LAYERS:
        return node
    index = Index(DEPTH - UNIT_LETTER_LAYERS[letters[0]], "paren")
    return replace(node, index=index)


def _sub_letters(node: Node) -> tuple[str, ...]:
    """The letters of a subscript such as j, {kj} or {k j}."""
    while isinstance(node, Group) and node.delim == "{":
        node = node.inner
    if isinstance(node, Name) and len(node.text) == 1:
        return (node.text,)
    if isinstance(node, Product) and all(isinstance(f, Name) for f in node.factors):
        return tuple(f.text for f in node.factors)  # type: ignore[union-attr]
    return ()


def index_symbols(node: Node) -> set[sympy.Symbol]:
    """The index variables a formula uses (l, L, ...)."""
    from matcalc.reading.parse import walk

    found: set[sympy.Symbol] = set()
    for item in walk(node):
        if isinstance(item, Scripted) and item.index is not None:
            found |= item.index.expr.free_symbols
    return found


__all__ = [
    "DEPTH",
    "LAYER",
    "NoSuchLayerError",
    "NameRef",
    "Namespace",
    "NetworkNamespace",
    "ResolveError",
    "Resolver",
    "index_symbols",
    "resolve",
    "times",
]
