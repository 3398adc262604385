"""Network conventions as data: one declaration per course or book.

A convention fixes how a feed-forward network is written, not what it computes:

* the forward equations: ``transposed`` (6.390: Z^l = (W^l)^T A^{l-1} + W_0^l, W^l is in x out),
  ``direct`` (Ng, Goodfellow: Z = W A + b, W is out x in) or ``rows`` (CS231n: Z = X W + b,
  the examples the rows of X, W in x out, b a row broadcast over the rows);
* the names of the quantities: weight, bias, pre-activation, activation (the input is the
  activation of layer 0), target, per-example loss, cost;
* the layer-index style (W^l, W^{[l]}, W^{(k)}) and the letter of the general layer;
* the letter of the activation function (f^l, g^{[l]}, f);
* the gradient names: ``fraction`` (dL/dW), ``d-prefix`` (Ng: dW is dJ/dW), ``nabla``
  (Goodfellow: nabla_W J);
* which quantity backprop carries from layer to layer: ``loss`` (the per-example dL/dZ^l, one
  column per example, the 1/K applied in the weight and bias gradients: 6.390 and Ng's dZ) or
  ``cost`` (Goodfellow's running gradient g = nabla_{a^{(k)}} J, the 1/K already inside);
* the layout (denominator for all three: a gradient has the shape of its variable);
* the letter for the number of examples in a batch (K, Ng's and Goodfellow's m);
* how a formula writes the elementwise product (and whether the propagated gradient comes
  before f', as in Ng's W^T dZ * g'(Z)), the transpose, and a bias's sum over the batch
  (``ones``: G 1_K; ``sum``: Ng's sum over the examples i of G^{(i)});
* where the convention comes from;
* where the index of a layer's quantities is not the index of its weights
  (``quantity_offset``): UFLDL's W^{(l)} maps layer l to layer l+1, so the quantities matcalc
  calls Z^l, A^l and dL/dZ^l are its z^{(l+1)}, a^{(l+1)} and \\delta^{(l+1)}, and its input is
  a^{(1)} (an offset of 1; the weights and biases keep their index); with it, how sizes are
  written (``size_style``: UFLDL's s_l, the number of units of its layer l).

A mini-batch (``batch = K`` in the spec) stacks K examples as the columns of A^0, Z^l, A^l and
the target; the cost is J = (1/K) times the sum of the per-example losses, and each bias enters
as b 1_K^T, so the same engine's product rule gives the sum over the batch for its gradient.

Consumers: :mod:`matcalc.specs.network` builds the forward expressions and shapes from a
convention, :mod:`matcalc.engine.derive` runs the one backprop engine over them,
:mod:`matcalc.printers.latex` derives a ``Notation`` from it (names, index style, gradient
names), so every output is written in the convention's own notation and states which
convention it is, and :mod:`matcalc.reading.resolve` reads a formula's names in it (dW,
\\nabla_W J, g^{[l]}, the batch size m) for ``verify``.
"""

from __future__ import annotations

from matcalc.core.record import record
from matcalc.errors import MatcalcError

FORWARD_FORMS = ("transposed", "direct", "rows")
INDEX_STYLES = ("plain", "bracket", "paren")
GRADIENT_NAMES = ("fraction", "d-prefix", "nabla")
RUNNING_GRADIENTS = ("loss", "cost")
BIAS_SUMS = ("ones", "sum")


class ConventionError(MatcalcError):
    """A convention name that matcalc does not know."""


@record
class Names:
    """The letters a convention gives the quantities of a network.

    ``inputs`` are the names of A^0 besides A^0 itself (x, Ng's X), ``output`` those of A^L
    (6.390's guess g; \\hat{y} everywhere), ``input_size`` the letter of the input size of a
    layer where it has its own (6.390's m^l = n^{l-1}).
    """

    weight: str
    bias: str
    bias_sub: str | None
    pre_activation: str
    activation: str
    target: str
    batch_target: str
    loss: str
    cost: str
    inputs: tuple[str, ...] = ("x",)
    output: tuple[str, ...] = ()
    input_size: str | None = None


@record
class Convention:
    """How one course or book writes a feed-forward network and its gradients."""

    name: str
    title: str
    source: str
    forward: str
    names: Names
    index_style: str
    layer_letter: str
    activation_letter: str
    gradient_names: str
    running_gradient: str
    layout: str
    batch_letter: str
    hadamard: str
    gradient_first: bool
    bias_sum: str
    transpose: str
    transpose_in_superscript: bool
    equations: tuple[str, ...]
    note: str
    quantity_offset: int = 0
    size_style: str | None = None

    def __post_init__(self) -> None:
        for value, allowed in (
            (self.forward, FORWARD_FORMS),
            (self.index_style, INDEX_STYLES),
            (self.gradient_names, GRADIENT_NAMES),
            (self.running_gradient, RUNNING_GRADIENTS),
            (self.bias_sum, BIAS_SUMS),
        ):
            if value not in allowed:
                raise ValueError(f"{self.name}: {value!r} is not one of {', '.join(allowed)}")

    @property
    def examples_as_rows(self) -> bool:
        """Whether an example is a row (Z = X W + b) rather than a column."""
        return self.forward == "rows"

    @property
    def weight_is_transposed(self) -> bool:
        """Whether the forward equation multiplies by W^T (W in x out) rather than W."""
        return self.forward == "transposed"


MIT_6390 = Convention(
    name="6.390",
    title="MIT 6.390",
    source="MIT 6.390 notes, Neural Networks (introml.mit.edu/notes/neural_networks.html)",
    forward="transposed",
    names=Names("W", "W", "0", "Z", "A", "y", "Y", "L", "J", output=("g",), input_size="m"),
    index_style="plain",
    layer_letter="l",
    activation_letter="f",
    gradient_names="fraction",
    running_gradient="loss",
    layout="denominator",
    batch_letter="K",
    hadamard=r"\odot",
    gradient_first=False,
    bias_sum="ones",
    transpose="T",
    transpose_in_superscript=False,
    equations=(r"Z^l = (W^l)^T A^{l-1} + W_0^l", r"A^l = f^l(Z^l)"),
    note=(
        "6.390 convention: Z^l = (W^l)^T A^{l-1} + W_0^l, A^l = f^l(Z^l); denominator layout "
        "(dL/dX has the shape of X; (dY/dX)_{ij} = dY_j/dX_i)"
    ),
)

NG = Convention(
    name="ng",
    title="deeplearning.ai (Andrew Ng)",
    source=(
        "deeplearning.ai, Neural Networks and Deep Learning, weeks 3-4 "
        "(forward and backward propagation summary)"
    ),
    forward="direct",
    names=Names("W", "b", None, "Z", "A", "Y", "Y", "L", "J", inputs=("x", "X")),
    index_style="bracket",
    layer_letter="l",
    activation_letter="g",
    gradient_names="d-prefix",
    running_gradient="loss",
    layout="denominator",
    batch_letter="m",
    hadamard="*",
    gradient_first=True,
    bias_sum="sum",
    transpose="T",
    transpose_in_superscript=True,
    equations=(r"Z^{[l]} = W^{[l]} A^{[l-1]} + b^{[l]}", r"A^{[l]} = g^{[l]}(Z^{[l]})"),
    note=(
        "ng convention (deeplearning.ai): Z^{[l]} = W^{[l]} A^{[l-1]} + b^{[l]}, "
        "A^{[l]} = g^{[l]}(Z^{[l]}), W^{[l]} is n^{[l]} x n^{[l-1]}; dX = dJ/dX for the cost J "
        "except dZ^{[l]}, the per-example dL/dZ^{[l]} columns; * is elementwise"
    ),
)

GOODFELLOW = Convention(
    name="goodfellow",
    title="Goodfellow, Bengio and Courville, Deep Learning",
    source="I. Goodfellow, Y. Bengio, A. Courville, Deep Learning (2016), sec. 6.5, Algorithm 6.4",
    forward="direct",
    names=Names("W", "b", None, "a", "h", "y", "y", "L", "J"),
    index_style="paren",
    layer_letter="k",
    activation_letter="f",
    gradient_names="nabla",
    running_gradient="cost",
    layout="denominator",
    batch_letter="m",
    hadamard=r"\odot",
    gradient_first=True,
    bias_sum="ones",
    transpose=r"\top",
    transpose_in_superscript=True,
    equations=(r"a^{(k)} = b^{(k)} + W^{(k)} h^{(k-1)}", r"h^{(k)} = f(a^{(k)})"),
    note=(
        "goodfellow convention (Deep Learning, 6.5, Algorithm 6.4): "
        "a^{(k)} = b^{(k)} + W^{(k)} h^{(k-1)}, h^{(k)} = f(a^{(k)}), W^{(k)} is out x in; "
        "g is the running gradient nabla_{a^{(k)}} J"
    ),
)

NIELSEN = Convention(
    name="nielsen",
    title="Nielsen, Neural Networks and Deep Learning",
    source=(
        "M. Nielsen, Neural Networks and Deep Learning (2015), ch. 2, the four equations BP1-BP4 "
        "(neuralnetworksanddeeplearning.com/chap2.html)"
    ),
    forward="direct",
    names=Names("W", "b", None, "Z", "A", "y", "y", "L", "C", output=("a",)),
    index_style="plain",
    layer_letter="l",
    activation_letter="f",
    gradient_names="fraction",
    running_gradient="loss",
    layout="denominator",
    batch_letter="m",
    hadamard=r"\odot",
    gradient_first=True,
    bias_sum="ones",
    transpose="T",
    transpose_in_superscript=False,
    equations=(r"z^l = w^l a^{l-1} + b^l", r"a^l = \sigma(z^l)"),
    note=(
        "nielsen convention (Neural Networks and Deep Learning, ch. 2): "
        "z^l = w^l a^{l-1} + b^l, a^l = sigma(z^l), w^l is n^l x n^{l-1}; the cost is C (the "
        "mean over a batch), delta^l = dC/dz^l"
    ),
)

UFLDL = Convention(
    name="ufldl",
    title="UFLDL (Stanford), Multi-Layer Neural Network",
    source=(
        "Stanford UFLDL Tutorial, Multi-Layer Neural Network, Backpropagation Algorithm "
        "(ufldl.stanford.edu/tutorial/supervised/MultiLayerNeuralNetworks/); the notation of "
        "Stanford CS229's notes on deep learning"
    ),
    forward="direct",
    names=Names("W", "b", None, "z", "a", "y", "y", "L", "J"),
    index_style="paren",
    layer_letter="l",
    activation_letter="f",
    gradient_names="fraction",
    running_gradient="loss",
    layout="denominator",
    batch_letter="m",
    hadamard=r"\bullet",
    gradient_first=True,
    bias_sum="ones",
    transpose="T",
    transpose_in_superscript=False,
    equations=(
        r"z^{(l+1)} = W^{(l)} a^{(l)} + b^{(l)}",
        r"a^{(l+1)} = f(z^{(l+1)})",
        r"a^{(1)} = x",
    ),
    note=(
        "ufldl convention (UFLDL, Multi-Layer Neural Network): z^{(l+1)} = W^{(l)} a^{(l)} + "
        "b^{(l)}, a^{(l+1)} = f(z^{(l+1)}), a^{(1)} = x; W^{(l)} maps layer l to layer l+1 "
        "(s_{l+1} x s_l), delta^{(l)} = dJ/dz^{(l)}, \\bullet is elementwise"
    ),
    quantity_offset=1,
    size_style="s",
)

CS231N = Convention(
    name="cs231n",
    title="CS231n (Stanford)",
    source=(
        "Stanford CS231n notes, Backpropagation, 'Gradients for vectorized operations' "
        "(cs231n.github.io/optimization-2/) and the affine layer's backward pass of its "
        "assignments (dx = dout w^T, dw = x^T dout, db = the sum of dout over the rows); "
        "PyTorch's layout of a batch"
    ),
    forward="rows",
    names=Names("W", "b", None, "Z", "A", "y", "Y", "L", "J", inputs=("x", "X")),
    index_style="plain",
    layer_letter="l",
    activation_letter="f",
    gradient_names="d-prefix",
    running_gradient="cost",
    layout="denominator",
    batch_letter="N",
    hadamard=r"\odot",
    gradient_first=True,
    bias_sum="ones",
    transpose="T",
    transpose_in_superscript=False,
    equations=(r"Z^l = A^{l-1} W^l + b^l", r"A^l = f(Z^l)", r"A^0 = X"),
    note=(
        "cs231n convention (examples as rows): Z^l = A^{l-1} W^l + b^l, A^l = f(Z^l), A^0 = X "
        "with one example per row; W^l is in x out, b^l a row broadcast over the rows; "
        "dX = dJ/dX for the cost J (dZ includes its 1/N)"
    ),
)

BISHOP = Convention(
    name="bishop",
    title="Bishop, Pattern Recognition and Machine Learning",
    source=(
        "C. M. Bishop, Pattern Recognition and Machine Learning (2006), sec. 5.3, error "
        "backpropagation, eqs. (5.48)-(5.56)"
    ),
    forward="direct",
    names=Names("W", "b", None, "a", "z", "t", "T", "E", "J", output=("y",)),
    index_style="paren",
    layer_letter="l",
    activation_letter="h",
    gradient_names="fraction",
    running_gradient="loss",
    layout="denominator",
    batch_letter="N",
    hadamard=r"\odot",
    gradient_first=True,
    bias_sum="ones",
    transpose="T",
    transpose_in_superscript=False,
    equations=(r"a^{(l)} = W^{(l)} z^{(l-1)} + b^{(l)}", r"z^{(l)} = h(a^{(l)})"),
    note=(
        "bishop convention (PRML 5.3): a_j = sum_i w_{ji} z_i, z_j = h(a_j), delta_j = dE_n/da_j; "
        "units i, j, k of three consecutive layers"
    ),
)

CONVENTIONS: dict[str, Convention] = {
    c.name: c for c in (MIT_6390, NG, GOODFELLOW, NIELSEN, UFLDL, CS231N, BISHOP)
}
DEFAULT = MIT_6390


def convention_named(name: object) -> Convention:
    """The convention declared under ``name``, or one clear error listing the known ones."""
    if isinstance(name, str) and name in CONVENTIONS:
        return CONVENTIONS[name]
    raise ConventionError(
        f"convention = {name!r}: known conventions are {', '.join(map(repr, CONVENTIONS))}"
    )


__all__ = [
    "BISHOP",
    "CONVENTIONS",
    "CS231N",
    "DEFAULT",
    "GOODFELLOW",
    "MIT_6390",
    "NG",
    "NIELSEN",
    "UFLDL",
    "Convention",
    "ConventionError",
    "Names",
    "convention_named",
]
