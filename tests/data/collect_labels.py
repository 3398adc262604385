# ruff: noqa: E501, N802, N803, N806 - formulas as the sources print them, names as the math writes them
"""Label the textbook formulas of ``textbook_formulas.json`` by central finite differences.

Each formula is quoted from a public source (its URL or repository and path is recorded) and
transcribed here into NumPy by hand, in its source's convention.  The label is whether that
transcription equals the finite-difference gradient of the objective at random parameters,
at every layer the formula is written for.  Nothing here uses matcalc's reader or engine, so the
labels are independent of the ``verify`` they test.

    python3 tests/data/collect_labels.py          # rewrites textbook_formulas.json
    python3 tests/data/collect_labels.py --check  # exit 1 if a stored label disagrees
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
TABLE = HERE / "textbook_formulas.json"
SIZES = (4, 3, 5, 2)  # input, then the three layers
SIZES_DEFAULT = SIZES
SIZES_OF = {"ng-shallow": (4, 3, 1), "ng-shallow-batch": (4, 3, 1)}  # Ng's week-3 network
EPS = 1e-6

NIELSEN = "M. Nielsen, Neural Networks and Deep Learning, ch. 2, http://neuralnetworksanddeeplearning.com/chap2.html"
NIELSEN_MATRIX = "https://compphysics.github.io/MachineLearning/doc/pub/week41/html/._week41-bs032.html (Nielsen's equations in matrix form, Hadamard product as \\circ)"
MIT = "MIT 6.390 notes, Neural Networks, https://introml.mit.edu/notes/neural_networks.html (source github.com/390introml/notes, neural_networks.qmd)"
NG = "deeplearning.ai, Neural Networks and Deep Learning, week 4, 'Forward and Backward Propagation' summary slide (https://www.coursera.org/learn/neural-networks-deep-learning)"
GOODFELLOW = "Goodfellow, Bengio, Courville, Deep Learning, sec. 6.5.4, Algorithm 6.4, https://www.deeplearningbook.org/contents/mlp.html"
CS231N = "CS231n notes, Backpropagation, Intuitions, 'Gradients for vectorized operations', https://cs231n.github.io/optimization-2/"
D2L = "Dive into Deep Learning, 5.3 Forward Propagation, Backward Propagation, and Computational Graphs, https://d2l.ai/chapter_multilayer-perceptrons/backprop.html"
UFLDL = "UFLDL, Backpropagation Algorithm, http://ufldl.stanford.edu/wiki/index.php/Backpropagation_Algorithm"
CS231N_CASE = "CS231n notes, Putting it together: Minimal Neural Network Case Study, https://cs231n.github.io/neural-networks-case-study/ (scores = np.dot(X, W) + b; dW = np.dot(X.T, dscores); db = np.sum(dscores, axis=0, keepdims=True); dhidden = np.dot(dscores, W2.T); dscores /= num_examples)"
UFLDL_TUTORIAL = "UFLDL Tutorial, Multi-Layer Neural Network, Backpropagation Algorithm, http://ufldl.stanford.edu/tutorial/supervised/MultiLayerNeuralNetworks/"

CS229 = "CS229 Lecture Notes, Deep Learning (A. Ng, K. Katanforoosh; backpropagation by A. Avati), sec. Backpropagation for MLPs, https://cs229.stanford.edu/main_notes.pdf"
CS224N = "K. Clark, Computing Neural Network Gradients, CS224n, sec. 5 (1-layer network, s = u^T h, h = f(z), z = Wx + b), https://web.stanford.edu/class/cs224n/readings/gradient-notes.pdf; its row delta = u^T o f'(z) written as the column of the shape convention"
CS224N_DELTA = "K. Clark, Computing Neural Network Gradients, CS224n, sec. 5, its row delta = ds/dz = u^T diag(f'(z)) declared in the spec (delta = { of = 'z', row = true }), https://web.stanford.edu/class/cs224n/readings/gradient-notes.pdf"
BISHOP = "C. M. Bishop, Pattern Recognition and Machine Learning (2006), sec. 5.3.2, eqs. (5.54), (5.56), (5.67), in matrix form (tanh hidden units, linear outputs, sum-of-squares error)"
PARR = "T. Parr, J. Howard, The Matrix Calculus You Need For Deep Learning, sec. 'The gradient of neuron activation', https://explained.ai/matrix-calculus/ (numerator layout)"
COOKBOOK = "K. B. Petersen, M. S. Pedersen, The Matrix Cookbook (2012), https://www.math.uwaterloo.ca/~hwolkowi/matrixcookbook.pdf"
BISHOP_UNITS = "C. M. Bishop, Pattern Recognition and Machine Learning (2006), sec. 5.3.1-5.3.2, units i -> j -> k of consecutive layers (here the last three: k the linear outputs), tanh hidden units, sum-of-squares error"
D2L_MLP = D2L + " (W^{(1)}, W^{(2)} written W_1, W_2; phi = tanh; l the squared error)"

SPECS = {
    "bishop-net": 'convention = "bishop"\ninput = 4\nloss = { name = "sumsquares", latex = "\\\\frac{1}{2} (a - y)^2" }\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 5\nactivation = "tanh"\n\n[[layer]]\nsize = 2\nactivation = "identity"\n',
    "ng-single": 'convention = "ng"\ninput = 4\nloss = "squared"\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 5\nactivation = "relu"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "mit-tanh": 'convention = "6.390"\ninput = 4\nloss = "squared"\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 5\nactivation = "tanh"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "nielsen": 'convention = "nielsen"\ninput = 4\nloss = { name = "quadratic", latex = "\\\\frac{1}{2} (a - y)^2" }\n\n[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n[[layer]]\nsize = 5\nactivation = "sigmoid"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "ng-batch": 'convention = "ng"\ninput = 4\nloss = "squared"\nbatch = "m"\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 5\nactivation = "relu"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "goodfellow": 'convention = "goodfellow"\ninput = 4\nloss = "squared"\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 5\nactivation = "sigmoid"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "cs231n-rows": 'convention = "cs231n"\ninput = 4\nloss = "squared"\nbatch = "N"\n\n[[layer]]\nsize = 3\nactivation = "relu"\n\n[[layer]]\nsize = 5\nactivation = "tanh"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "ufldl-decay": 'convention = "ufldl"\ninput = 4\nloss = { name = "halfsquared", latex = "\\\\frac{1}{2} (a - y)^2" }\nbatch = "m"\nweight_decay = "lambda"\n\n[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n[[layer]]\nsize = 5\nactivation = "sigmoid"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "goodfellow-decay": 'convention = "goodfellow"\ninput = 4\nloss = "squared"\nbatch = "m"\nweight_decay = "lambda"\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 5\nactivation = "sigmoid"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
    "ufldl": 'convention = "ufldl"\ninput = 4\nloss = { name = "halfsquared", latex = "\\\\frac{1}{2} (a - y)^2" }\n\n[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n[[layer]]\nsize = 5\nactivation = "sigmoid"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
}

# the networks of SPECS, as this script computes them: convention form, activations, loss, batch
NETWORKS = {
    "bishop-net": ("direct", ("tanh", "tanh", "identity"), "quadratic", None),
    "ng-single": ("direct", ("tanh", "relu", "sigmoid"), "squared", None),
    "mit-tanh": ("transposed", ("tanh", "tanh", "sigmoid"), "squared", None),
    "nielsen": ("direct", ("sigmoid", "sigmoid", "sigmoid"), "quadratic", None),
    "ng-batch": ("direct", ("tanh", "relu", "sigmoid"), "squared", 3),
    "goodfellow": ("direct", ("tanh", "sigmoid", "sigmoid"), "squared", None),
    "ufldl": ("direct", ("sigmoid", "sigmoid", "sigmoid"), "quadratic", None),
    "cs231n-rows": ("rows", ("relu", "tanh", "sigmoid"), "squared", 3),
    "ufldl-decay": ("direct", ("sigmoid", "sigmoid", "sigmoid"), "quadratic", 3),
    "goodfellow-decay": ("direct", ("tanh", "sigmoid", "sigmoid"), "squared", 3),
}
# the weight decay lambda of the specs that have one, at the value verify's instances give a
# symbolic one (matcalc.specs.network.DECAY_DRAWN): J = L / m + (lambda/2) sum_l ||W^l||_F^2
DECAY = {"ufldl-decay": 0.3, "goodfellow-decay": 0.3}


def act(name: str, z: np.ndarray) -> np.ndarray:
    return {
        "tanh": np.tanh,
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "relu": lambda v: np.maximum(v, 0),
        "identity": lambda v: v,
        "softmax": lambda v: np.exp(v - v.max(axis=0)) / np.exp(v - v.max(axis=0)).sum(axis=0),
    }[name](z)


def dact(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "identity":
        return np.ones_like(z)
    return (z > 0).astype(float)


@dataclass
class Net:
    form: str
    acts: tuple[str, ...]
    loss: str
    batch: int | None
    W: dict
    b: dict
    x: np.ndarray
    y: np.ndarray

    @property
    def L(self) -> int:
        return len(self.acts)

    def forward(self, W=None, b=None, z_at=None, a_at=None):
        """(Z, A, loss summed over the batch); ``z_at = (l, Z)`` replaces Z^l, ``a_at`` A^l."""
        W, b = W or self.W, b or self.b
        A, Z = {0: self.x if a_at is None or a_at[0] != 0 else a_at[1]}, {}
        for l in range(1, self.L + 1):
            if self.form == "rows":  # CS231n: X W + b, one example per row, b a row
                Z[l] = A[l - 1] @ W[l] + b[l]
            else:
                Z[l] = (W[l].T if self.form == "transposed" else W[l]) @ A[l - 1] + b[l]
            if z_at is not None and z_at[0] == l:
                Z[l] = z_at[1]
            A[l] = act(self.acts[l - 1], Z[l])
            if a_at is not None and a_at[0] == l:
                A[l] = a_at[1]
        out, y = A[self.L], self.y
        if self.loss == "xent":  # binary cross-entropy of a sigmoid output
            loss = -float(np.sum(y * np.log(out) + (1 - y) * np.log(1 - out)))
        elif self.loss == "nllm":  # cross-entropy of a softmax output, y one-hot
            loss = -float(np.sum(y * np.log(out)))
        else:
            loss = float(np.sum((out - y) ** 2)) * (0.5 if self.loss == "quadratic" else 1.0)
        return Z, A, loss

    decay: float = 0.0

    def objective(self, **kw) -> float:
        """The cost: the mean over the batch where there is one (J), else the loss; plus the
        weight decay's (lambda/2) sum_l ||W^l||_F^2 where there is one."""
        loss = self.forward(**kw)[2]
        cost = loss / self.batch if self.batch else loss
        W = kw.get("W") or self.W
        return cost + self.decay / 2 * sum(float(np.sum(w**2)) for w in W.values())


def random_net(name: str, rng: np.random.Generator) -> Net:
    form, acts, loss, batch = NETWORKS[name]
    cols = batch or 1
    W, b = {}, {}
    SIZES = SIZES_OF.get(name, SIZES_DEFAULT)  # noqa: N806 - the sizes of this network
    for l in range(1, len(acts) + 1):
        in_by_out = form in ("transposed", "rows")
        shape = (SIZES[l - 1], SIZES[l]) if in_by_out else (SIZES[l], SIZES[l - 1])
        W[l] = rng.normal(size=shape)
        b[l] = rng.normal(size=(1, SIZES[l]) if form == "rows" else (SIZES[l], 1))
    x = rng.normal(size=(cols, SIZES[0]) if form == "rows" else (SIZES[0], cols))
    out = SIZES[len(acts)]
    y = rng.uniform(0.1, 0.9, size=(cols, out) if form == "rows" else (out, cols))
    if loss == "nllm":  # one-hot targets, one per column
        y = np.eye(out)[:, rng.integers(0, out, size=cols)]
    return Net(form, acts, loss, batch, W, b, x, y, DECAY.get(name, 0.0))


def fd(f, value: np.ndarray, put) -> np.ndarray:
    grad = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[idx] += EPS
        minus[idx] -= EPS
        grad[idx] = (f(put(plus)) - f(put(minus))) / (2 * EPS)
    return grad


class Q:
    """What a transcribed formula may use, at random parameters; gradients by differences."""

    def __init__(self, net: Net) -> None:
        self.net = net
        self.Zs, self.As, _ = net.forward()
        self.m = net.batch or 1
        self.lam = net.decay

    def W(self, l):
        return self.net.W[l]

    def b(self, l):
        return self.net.b[l]

    def Z(self, l):
        return self.Zs[l]

    def A(self, l):
        return self.As[l]

    def fp(self, l):
        return dact(self.net.acts[l - 1], self.Zs[l])

    def dW(self, l):
        """d objective / dW^l (the cost J over a batch)."""
        return fd(lambda W: self.net.objective(W=W), self.net.W[l], lambda v: {**self.net.W, l: v})

    def db(self, l):
        return fd(lambda b: self.net.objective(b=b), self.net.b[l], lambda v: {**self.net.b, l: v})

    def dZ(self, l):
        """dL/dZ^l for the loss L summed over the batch (Ng's per-example dZ columns)."""
        return fd(lambda z: self.net.forward(z_at=(l, z))[2], self.Zs[l], lambda v: v)

    def dZJ(self, l):
        """dJ/dZ^l, J the cost (Goodfellow's running gradient)."""
        return self.dZ(l) / self.m

    def dA(self, l):
        """dL/dA^l for the loss L summed over the batch."""
        return fd(lambda a: self.net.forward(a_at=(l, a))[2], self.As[l], lambda v: v)

    def dAJ(self, l):
        """dJ/dA^l, J the cost."""
        return self.dA(l) / self.m

    def dAL(self):
        """dL/dA^L, by differences."""
        return self.dA(self.net.L)


T = np.transpose


def diag(v):
    return np.diag(v.ravel())


# id -> (source, spec, equation, target kind, layers, transcription of the right side, why)
# target kinds: W, b (the objective's gradient), Z (dL/dZ^l), ZJ (dJ/dZ^l), A (dL/dA^l), AJ
# (dJ/dA^l), L the loss summed over a batch and J the cost; layers: where the formula is checked.
FORMULAS = [
    # ---------------------------------------------------------------- Nielsen, in his convention
    (
        "nielsen-bp1",
        NIELSEN + " eq. (BP1a)",
        "nielsen",
        r"\delta^L = \nabla_a C \odot \sigma'(z^L)",
        "Z",
        [3],
        lambda q, l: q.dAL() * q.fp(3),
        None,
    ),
    (
        "nielsen-bp1-quadratic",
        NIELSEN + " eq. (30)",
        "nielsen",
        r"\delta^L = (a^L-y) \odot \sigma'(z^L)",
        "Z",
        [3],
        lambda q, l: (q.A(3) - q.net.y) * q.fp(3),
        None,
    ),
    (
        "nielsen-bp2",
        NIELSEN + " eq. (BP2)",
        "nielsen",
        r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "nielsen-bp3",
        NIELSEN + " eq. (BP3)",
        "nielsen",
        r"\frac{\partial C}{\partial b^l} = \delta^l",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "nielsen-bp4-matrix",
        NIELSEN + " (BP4 in matrix form, problem 'Fully matrix-based approach')",
        "nielsen",
        r"\frac{\partial C}{\partial w^l} = \delta^l (a^{l-1})^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "nielsen-bp1-sigma",
        NIELSEN + " eq. (33), BP1 with Sigma'",
        "nielsen",
        r"\delta^L = \Sigma'(z^L) \nabla_a C",
        "Z",
        [3],
        lambda q, l: diag(q.fp(3)) @ q.dAL(),
        None,
    ),
    (
        "nielsen-bp2-sigma",
        NIELSEN + " problem 'Alternate presentation of the equations of backpropagation'",
        "nielsen",
        r"\delta^l = \Sigma'(z^l) (w^{l+1})^T \cdots \Sigma'(z^{L-1}) (w^L)^T \Sigma'(z^L) \nabla_a C",
        "Z",
        [1],
        lambda q, l: (
            diag(q.fp(1)) @ T(q.W(2)) @ diag(q.fp(2)) @ T(q.W(3)) @ diag(q.fp(3)) @ q.dAL()
        ),
        None,
    ),
    (
        "nielsen-bp2-circ",
        NIELSEN_MATRIX,
        "nielsen",
        r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \circ \sigma'(z^l)",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "nielsen-bp1-circ",
        NIELSEN_MATRIX,
        "nielsen",
        r"\delta^L = \sigma'(z^L) \circ \frac{\partial C}{\partial a^L}",
        "Z",
        [3],
        lambda q, l: q.fp(3) * q.dAL(),
        None,
    ),
    (
        "nielsen-bp4-swapped",
        NIELSEN + " BP4 (a_in delta_out) written as a^{l-1} (delta^l)^T",
        "nielsen",
        r"\frac{\partial C}{\partial w^l} = a^{l-1} (\delta^l)^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.A(l - 1) @ T(q.dZ(l)),
        "BP4's a_in delta_out read as a column times a row: the transpose of dC/dw^l in Nielsen's convention (w^l is out x in)",
    ),
    (
        "nielsen-bp2-notranspose",
        NIELSEN + " BP2 with the transpose dropped",
        "nielsen",
        r"\delta^l = (w^{l+1} \delta^{l+1}) \odot \sigma'(z^l)",
        "Z",
        [1, 2],
        lambda q, l: (q.W(l + 1) @ q.dZ(l + 1)) * q.fp(l),
        "the weight matrix must be transposed to carry delta^{l+1} back",
    ),
    (
        "nielsen-bp2-matmul",
        NIELSEN + " BP2 with the Hadamard product written as a matrix product",
        "nielsen",
        r"\delta^l = \sigma'(z^l) ((w^{l+1})^T \delta^{l+1})^T",
        "Z",
        [1, 2],
        lambda q, l: q.fp(l) @ T(T(q.W(l + 1)) @ q.dZ(l + 1)),
        "an outer product instead of the elementwise product",
    ),
    (
        "nielsen-bp1-noprime",
        NIELSEN + " BP1 without sigma'",
        "nielsen",
        r"\delta^L = a^L - y",
        "Z",
        [3],
        lambda q, l: q.A(3) - q.net.y,
        "a - y is the output error for the cross-entropy cost, not for the quadratic cost",
    ),
    # entry by entry, as Nielsen writes BP1-BP4 (each entry transcribed with its own loops)
    (
        "nielsen-bp1-entry",
        NIELSEN + " eq. (BP1)",
        "nielsen",
        r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j)",
        "Z",
        [3],
        lambda q, l: np.array([[q.dAL()[j, 0] * q.fp(3)[j, 0]] for j in range(SIZES[3])]),
        None,
    ),
    (
        "nielsen-bp2-entry",
        NIELSEN + " eq. (BP2), entrywise (the proof of BP2, eq. (42))",
        "nielsen",
        r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_j)",
        "Z",
        [1, 2],
        lambda q, l: np.array(
            [
                [
                    sum(q.W(l + 1)[k, j] * q.dZ(l + 1)[k, 0] for k in range(SIZES[l + 1]))
                    * q.fp(l)[j, 0]
                ]
                for j in range(SIZES[l])
            ]
        ),
        None,
    ),
    (
        "nielsen-bp3-entry",
        NIELSEN + " eq. (BP3)",
        "nielsen",
        r"\frac{\partial C}{\partial b^l_j} = \delta^l_j",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "nielsen-bp4-entry",
        NIELSEN + " eq. (BP4)",
        "nielsen",
        r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j",
        "W",
        [1, 2, 3],
        lambda q, l: np.array(
            [
                [q.A(l - 1)[k, 0] * q.dZ(l)[j, 0] for k in range(SIZES[l - 1])]
                for j in range(SIZES[l])
            ]
        ),
        None,
    ),
    (
        "nielsen-bp4-entry-swapped",
        NIELSEN + " eq. (BP4) with j and k exchanged",
        "nielsen",
        r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_j \delta^l_k",
        "W",
        [1, 2, 3],
        lambda q, l: np.array(
            [
                [q.A(l - 1)[j, 0] * q.dZ(l)[k, 0] for k in range(SIZES[l - 1])]
                for j in range(SIZES[l])
            ]
        ),
        "a^{l-1} has n^{l-1} entries, indexed by k, the unit of the layer before",
    ),
    (
        "nielsen-bp2-entry-swapped",
        NIELSEN + " eq. (BP2) with the weight's indices exchanged",
        "nielsen",
        r"\delta^l_j = \sum_k w^{l+1}_{jk} \delta^{l+1}_k \sigma'(z^l_j)",
        "Z",
        [1, 2],
        lambda q, l: np.array(
            [
                [
                    sum(q.W(l + 1)[j, k] * q.dZ(l + 1)[k, 0] for k in range(SIZES[l + 1]))
                    * q.fp(l)[j, 0]
                ]
                for j in range(SIZES[l])
            ]
        ),
        "w^{l+1}_{jk} connects unit k of layer l to unit j of layer l + 1",
    ),
    # ---------------------------------------------------------------- MIT 6.390 notes
    (
        "mit-gradloss",
        MIT + " eq-gradloss",
        "mit-tanh",
        r"\frac{\partial \text{loss}}{\partial W^l} = A^{l-1}\left(\frac{\partial \text{loss}}{\partial Z^l}\right)^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.A(l - 1) @ T(q.dZ(l)),
        None,
    ),
    (
        "mit-bias",
        MIT + " (the bias gradient)",
        "mit-tanh",
        r"\frac{\partial \text{loss}}{\partial W_0^l} = \frac{\partial \text{loss}}{\partial Z^l}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "mit-gradz",
        MIT + " eq-gradz, with the Jacobians' values",
        "mit-tanh",
        r"\frac{\partial \text{loss}}{\partial Z^l} = \frac{\partial A^l}{\partial Z^l} W^{l+1} \frac{\partial \text{loss}}{\partial Z^{l+1}}",
        "Z",
        [1, 2],
        lambda q, l: diag(q.fp(l)) @ q.W(l + 1) @ q.dZ(l + 1),
        None,
    ),
    (
        "mit-chain",
        MIT + " the general chain for dL/dZ^l",
        "mit-tanh",
        r"\frac{\partial \text{loss}}{\partial Z^l} = \frac{\partial A^l}{\partial Z^l} W^{l+1} \cdots W^L \frac{\partial A^L}{\partial Z^L} \frac{\partial \text{loss}}{\partial A^L}",
        "Z",
        [1],
        lambda q, l: diag(q.fp(1)) @ q.W(2) @ diag(q.fp(2)) @ q.W(3) @ diag(q.fp(3)) @ q.dAL(),
        None,
    ),
    (
        "mit-chain-jacobians",
        MIT + " the general chain, every factor a Jacobian",
        "mit-tanh",
        r"\frac{\partial L}{\partial Z^l} = \frac{\partial A^l}{\partial Z^l} \frac{\partial Z^{l+1}}{\partial A^l} \cdots \frac{\partial A^L}{\partial Z^L} \frac{\partial L}{\partial A^L}",
        "Z",
        [1, 2],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "mit-recursion-fprime",
        MIT + " the recursion with f'",
        "mit-tanh",
        r"\frac{\partial \mathcal{L}}{\partial Z^l} = {f^l}'(Z^l) \odot \left(W^{l+1}\frac{\partial \mathcal{L}}{\partial Z^{l+1}}\right)",
        "Z",
        [1, 2],
        lambda q, l: q.fp(l) * (q.W(l + 1) @ q.dZ(l + 1)),
        None,
    ),
    (
        "mit-last-squared",
        MIT + " loss table, squared loss",
        "mit-tanh",
        r"\frac{\partial L}{\partial A^L} = 2 (A^L - y)",
        "A",
        [3],
        lambda q, l: 2 * (q.A(3) - q.net.y),
        None,
    ),
    (
        "mit-gradloss-nielsen-form",
        MIT + " read with Nielsen's dC/dw = delta a^T",
        "mit-tanh",
        r"\frac{\partial L}{\partial W^l} = \frac{\partial L}{\partial Z^l} (A^{l-1})^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)),
        "the Z = W A + b form; in 6.390, Z = W^T A + W_0, so the weight gradient is its transpose",
    ),
    (
        "mit-gradz-transposed-w",
        MIT + " eq-gradz with W^{l+1} transposed",
        "mit-tanh",
        r"\frac{\partial L}{\partial Z^l} = \frac{\partial A^l}{\partial Z^l} (W^{l+1})^T \frac{\partial L}{\partial Z^{l+1}}",
        "Z",
        [1, 2],
        lambda q, l: diag(q.fp(l)) @ T(q.W(l + 1)) @ q.dZ(l + 1),
        "in 6.390 W^{l+1} is m x n, already the Jacobian dZ^{l+1}/dA^l",
    ),
    (
        "mit-gradz-order",
        MIT + " eq-gradz with the factors reversed",
        "mit-tanh",
        r"\frac{\partial L}{\partial Z^l} = \frac{\partial L}{\partial Z^{l+1}} W^{l+1} \frac{\partial A^l}{\partial Z^l}",
        "Z",
        [1, 2],
        lambda q, l: q.dZ(l + 1) @ q.W(l + 1) @ diag(q.fp(l)),
        "denominator layout multiplies the Jacobians from the left",
    ),
    (
        "mit-recursion-wrong-layer",
        MIT + " the recursion with f' at the wrong layer",
        "mit-tanh",
        r"\frac{\partial L}{\partial Z^l} = {f^{l+1}}'(Z^{l+1}) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        "Z",
        [1, 2],
        lambda q, l: q.fp(l + 1) * (q.W(l + 1) @ q.dZ(l + 1)),
        "f' belongs to layer l",
    ),
    (
        "mit-last-half",
        MIT + " loss table, squared loss, with the 2 dropped",
        "mit-tanh",
        r"\frac{\partial L}{\partial W^L} = A^{L-1}\left(A^L - y\right)^T",
        "W",
        [3],
        lambda q, l: q.A(2) @ T(q.A(3) - q.net.y),
        "the squared loss (a - y)^2 has the gradient 2 (a - y), and the output's sigmoid' is missing",
    ),
    # ---------------------------------------------------------------- deeplearning.ai
    (
        "ng-dz",
        NG,
        "ng-batch",
        r"dZ^{[l]} = dA^{[l]} * g^{[l]\prime}(Z^{[l]})",
        "Z",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "ng-dw",
        NG,
        "ng-batch",
        r"dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]T}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)) / q.m,
        None,
    ),
    (
        "ng-db",
        NG + " (np.sum(dZ, axis=1, keepdims=True))",
        "ng-batch",
        r"db^{[l]} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[l](i)}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l).sum(axis=1, keepdims=True) / q.m,
        None,
    ),
    (
        "ng-da",
        NG,
        "ng-batch",
        r"dA^{[l-1]} = W^{[l]T} dZ^{[l]}",
        "A",
        [1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZ(l + 1),
        None,
    ),
    (
        "ng-dz-recursion",
        NG + " week 3, two-layer network",
        "ng-batch",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]\prime}(Z^{[1]})",
        "Z",
        [1],
        lambda q, l: (T(q.W(2)) @ q.dZ(2)) * q.fp(1),
        None,
    ),
    (
        "ng-dw-superscript-t",
        NG + " as typed with the transpose inside the superscript",
        "ng-batch",
        r"dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]^T}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)) / q.m,
        None,
    ),
    (
        "ng-db-ones",
        NG + " (the sum written with the ones vector)",
        "ng-batch",
        r"db^{[l]} = \frac{1}{m} dZ^{[l]} \mathbf{1}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ np.ones((q.m, 1)) / q.m,
        None,
    ),
    (
        "ng-db-bare-sum",
        NG + " (np.sum written as a bare sum)",
        "ng-batch",
        r"db^{[l]} = \frac{1}{m} \sum dZ^{[l]}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l).sum(axis=1, keepdims=True) / q.m,
        None,
    ),
    (
        "ng-dw-no-mean",
        NG + " without the 1/m",
        "ng-batch",
        r"dW^{[l]} = dZ^{[l]} A^{[l-1]T}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)),
        "dW is the gradient of the mean cost J",
    ),
    (
        "ng-db-no-sum",
        NG + " without the sum over the examples",
        "ng-batch",
        r"db^{[l]} = \frac{1}{m} dZ^{[l]}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l) / q.m,
        "one column per example: the sum over the batch is missing",
    ),
    (
        "ng-dz-matmul",
        NG + " with * read as a matrix product",
        "ng-batch",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} g^{[1]\prime}(Z^{[1]})",
        "Z",
        [1],
        lambda q, l: T(q.W(2)) @ q.dZ(2) @ q.fp(1),
        "* is elementwise",
    ),
    (
        "ng-dw-order",
        NG + " with the factors swapped",
        "ng-batch",
        r"dW^{[l]} = \frac{1}{m} A^{[l-1]T} dZ^{[l]}",
        "W",
        [1, 2, 3],
        lambda q, l: T(q.A(l - 1)) @ q.dZ(l) / q.m,
        "the factors are in the wrong order",
    ),
    # ---------------------------------------------------------------- Goodfellow, Algorithm 6.4
    (
        "gf-b",
        GOODFELLOW,
        "goodfellow",
        r"\nabla_{b^{(k)}} J = g",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZJ(l),
        None,
    ),
    (
        "gf-w",
        GOODFELLOW,
        "goodfellow",
        r"\nabla_{W^{(k)}} J = g\, h^{(k-1)\top}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "gf-a",
        GOODFELLOW,
        "goodfellow",
        r"g \leftarrow \nabla_{a^{(k)}} J = g \odot f'(a^{(k)})",
        "ZJ",
        [1, 2, 3],
        lambda q, l: q.dZJ(l),
        None,
    ),
    (
        "gf-h",
        GOODFELLOW,
        "goodfellow",
        r"g \leftarrow \nabla_{h^{(k-1)}} J = W^{(k)\top} g",
        "AJ",
        [1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZJ(l + 1),
        None,
    ),
    (
        "gf-w-order",
        GOODFELLOW + " with the outer product reversed",
        "goodfellow",
        r"\nabla_{W^{(k)}} J = h^{(k-1)} g^\top",
        "W",
        [1, 2, 3],
        lambda q, l: q.A(l - 1) @ T(q.dZJ(l)),
        "the transpose of the weight gradient",
    ),
    (
        "gf-h-notranspose",
        GOODFELLOW + " with the transpose dropped",
        "goodfellow",
        r"\nabla_{h^{(k-1)}} J = W^{(k)} g",
        "AJ",
        [1, 2],
        lambda q, l: q.W(l + 1) @ q.dZJ(l + 1),
        "W^{(k)} must be transposed",
    ),
    # ---------------------------------------------------------------- CS231n, d2l, UFLDL (matrix forms in the direct convention)
    (
        "cs231n-dw",
        CS231N + " (dW = dot(dD, X.T) for D = W X)",
        "goodfellow",
        r"\nabla_{W^{(k)}} J = \nabla_{a^{(k)}} J \, (h^{(k-1)})^\top",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "cs231n-dx",
        CS231N + " (dX = dot(W.T, dD))",
        "goodfellow",
        r"\nabla_{h^{(k-1)}} J = W^{(k)\top} \nabla_{a^{(k)}} J",
        "AJ",
        [1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZJ(l + 1),
        None,
    ),
    (
        "d2l-w",
        D2L + " eq. (5.3.11), with the regularizer dropped",
        "goodfellow",
        r"\nabla_{W^{(k)}} J = \nabla_{a^{(k)}} J \, h^{(k-1)\top}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "d2l-z",
        D2L + " eq. (5.3.10)",
        "goodfellow",
        r"\nabla_{a^{(k)}} J = \nabla_{h^{(k)}} J \odot f'(a^{(k)})",
        "ZJ",
        [1, 2, 3],
        lambda q, l: q.dZJ(l),
        None,
    ),
    (
        "ufldl-delta",
        UFLDL + " step 3, with W^{(l)} renumbered to the layer it feeds",
        "goodfellow",
        r"\delta^{(k)} = \left((W^{(k+1)})^T \delta^{(k+1)}\right) \odot f'(a^{(k)})",
        "ZJ",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZJ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "ufldl-w",
        UFLDL + " step 4, nabla_{W^{(l)}} J(W,b;x,y) = delta^{(l+1)} (a^{(l)})^T, renumbered",
        "goodfellow",
        r"\nabla_{W^{(k)}} J(W,b;x,y) = \delta^{(k)} (h^{(k-1)})^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "ufldl-w-unrenumbered",
        UFLDL + " step 4 as printed, in a convention where W^{(k)} feeds layer k",
        "goodfellow",
        r"\nabla_{W^{(k)}} J = \delta^{(k+1)} (h^{(k)})^T",
        "W",
        [1, 2],
        lambda q, l: q.dZJ(l + 1) @ T(q.A(l)),
        "UFLDL's W^{(l)} maps layer l to l + 1: read where W^{(k)} feeds layer k, every index is one too high",
    ),
    # ---------------------------------------------------------------- UFLDL in its own convention
    # W^{(l)} maps layer l to l + 1, a^{(1)} = x: the transcriptions' layer l (that of W^{(l)})
    # is UFLDL's z^{(l+1)}, a^{(l+1)}, delta^{(l+1)}; the three-layer spec's output is a^{(4)}.
    (
        "ufldl-output",
        UFLDL_TUTORIAL + " (vectorized) step 2",
        "ufldl",
        r"\delta^{(4)} = - (y - a^{(4)}) \bullet f'(z^{(4)})",
        "Z",
        [3],
        lambda q, l: -(q.net.y - q.A(l)) * q.fp(l),
        None,
    ),
    (
        "ufldl-hidden",
        UFLDL_TUTORIAL + " (vectorized) step 3",
        "ufldl",
        r"\delta^{(l)} = \left((W^{(l)})^T \delta^{(l+1)}\right) \bullet f'(z^{(l)})",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "ufldl-weights",
        UFLDL_TUTORIAL + " (vectorized) step 4",
        "ufldl",
        r"\nabla_{W^{(l)}} J(W,b;x,y) = \delta^{(l+1)} (a^{(l)})^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "ufldl-biases",
        UFLDL_TUTORIAL + " (vectorized) step 4",
        "ufldl",
        r"\nabla_{b^{(l)}} J(W,b;x,y) = \delta^{(l+1)}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "ufldl-hidden-entry",
        UFLDL_TUTORIAL + " step 3",
        "ufldl",
        r"\delta^{(l)}_i = \left( \sum_{j=1}^{s_{l+1}} W^{(l)}_{ji} \delta^{(l+1)}_j \right) f'(z^{(l)}_i)",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "ufldl-weights-same-index",
        UFLDL_TUTORIAL + " step 4, misquoted with the error term of the weights' own index",
        "ufldl",
        r"\nabla_{W^{(l)}} J(W,b;x,y) = \delta^{(l)} (a^{(l)})^T",
        "W",
        [2, 3],
        lambda q, l: q.dZ(l - 1) @ T(q.A(l - 1)),
        "delta^{(l)} belongs to the layer W^{(l-1)} feeds; W^{(l)} feeds delta^{(l+1)}",
    ),
    (
        "ufldl-hidden-no-transpose",
        UFLDL_TUTORIAL + " step 3, misquoted without the transpose",
        "ufldl",
        r"\delta^{(l)} = \left(W^{(l)} \delta^{(l+1)}\right) \bullet f'(z^{(l)})",
        "Z",
        [1, 2],
        lambda q, l: (q.W(l + 1) @ q.dZ(l + 1)) * q.fp(l),
        "W^{(l)} is s_{l+1} x s_l: back from layer l+1 it is transposed",
    ),
    (
        "ufldl-hidden-no-prime",
        UFLDL_TUTORIAL + " step 3, misquoted without f'",
        "ufldl",
        r"\delta^{(l)} = (W^{(l)})^T \delta^{(l+1)}",
        "Z",
        [1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZ(l + 1),
        "the error term is taken back through the activation too",
    ),
    (
        "ufldl-output-sign",
        UFLDL_TUTORIAL + " step 2, misquoted without the minus sign",
        "ufldl",
        r"\delta^{(4)} = (y - a^{(4)}) \bullet f'(z^{(4)})",
        "Z",
        [3],
        lambda q, l: (q.net.y - q.A(l)) * q.fp(l),
        "d/da of (1/2)||y - a||^2 is -(y - a)",
    ),
    # ---------------------------------------------------------------- CS231n, examples as rows
    (
        "cs231n-rows-dw",
        CS231N_CASE + ": dW = np.dot(X.T, dscores)",
        "cs231n-rows",
        r"dW^l = (A^{l-1})^T dZ^l",
        "W",
        [1, 2, 3],
        lambda q, l: T(q.A(l - 1)) @ q.dZJ(l),
        None,
    ),
    (
        "cs231n-rows-db",
        CS231N_CASE + ": db = np.sum(dscores, axis=0, keepdims=True), the sum of the rows",
        "cs231n-rows",
        r"db^l = \mathbf{1}^T dZ^l",
        "b",
        [1, 2, 3],
        lambda q, l: np.ones((1, q.m)) @ q.dZJ(l),
        None,
    ),
    (
        "cs231n-rows-dx",
        CS231N_CASE + ": dhidden = np.dot(dscores, W2.T)",
        "cs231n-rows",
        r"dA^{l} = dZ^{l+1} (W^{l+1})^T",
        "AJ",
        [1, 2],
        lambda q, l: q.dZJ(l + 1) @ T(q.W(l + 1)),
        None,
    ),
    (
        "cs231n-rows-dw-swapped",
        CS231N_CASE + ", misquoted in the column convention's order",
        "cs231n-rows",
        r"dW^l = dZ^l (A^{l-1})^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ T(q.A(l - 1)),
        "with the examples as rows, dZ^l is N x n^l: the examples are summed by (A^{l-1})^T on the left",
    ),
    (
        "cs231n-rows-db-unsummed",
        CS231N_CASE + ", misquoted without the sum over the rows",
        "cs231n-rows",
        r"db^l = dZ^l",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZJ(l),
        "b^l is one row broadcast over the N examples: its gradient sums dZ^l's rows",
    ),
    (
        "cs231n-rows-dx-no-transpose",
        CS231N_CASE + ", misquoted without the transpose",
        "cs231n-rows",
        r"dA^{l} = dZ^{l+1} W^{l+1}",
        "AJ",
        [1, 2],
        lambda q, l: q.dZJ(l + 1) @ q.W(l + 1),
        "W^{l+1} is n^l x n^{l+1}: back from Z^{l+1} it is transposed",
    ),
    # ---------------------------------------------------------------- weight decay
    (
        "ufldl-decay-weights",
        UFLDL_TUTORIAL
        + " gradient descent, step 3: W^{(l)} -= alpha [(1/m) Delta W^{(l)} + lambda W^{(l)}], Delta W^{(l)} the sum over the examples of delta^{(l+1)} (a^{(l)})^T",
        "ufldl-decay",
        r"\nabla_{W^{(l)}} J(W,b) = \frac{1}{m} \delta^{(l+1)} (a^{(l)})^T + \lambda W^{(l)}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)) / q.m + q.lam * q.W(l),
        None,
    ),
    (
        "ufldl-decay-biases",
        UFLDL_TUTORIAL
        + " gradient descent, step 3: b^{(l)} -= alpha [(1/m) Delta b^{(l)}] (weight decay is not applied to the bias terms)",
        "ufldl-decay",
        r"\nabla_{b^{(l)}} J(W,b) = \frac{1}{m} \delta^{(l+1)} \mathbf{1}_m",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ np.ones((q.m, 1)) / q.m,
        None,
    ),
    (
        "ufldl-decay-missing",
        UFLDL_TUTORIAL + " gradient descent, step 3, misquoted without the weight decay",
        "ufldl-decay",
        r"\nabla_{W^{(l)}} J(W,b) = \frac{1}{m} \delta^{(l+1)} (a^{(l)})^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)) / q.m,
        "J(W,b) includes the weight decay term, whose gradient is lambda W^{(l)}",
    ),
    (
        "ufldl-decay-bias-regularized",
        UFLDL_TUTORIAL + " gradient descent, step 3, misquoted with the bias regularized",
        "ufldl-decay",
        r"\nabla_{b^{(l)}} J(W,b) = \frac{1}{m} \delta^{(l+1)} \mathbf{1}_m + \lambda b^{(l)}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ np.ones((q.m, 1)) / q.m + q.lam * q.b(l),
        "weight decay is not applied to the bias terms",
    ),
    (
        "goodfellow-decay-weights",
        GOODFELLOW
        + " (nabla_{W^{(k)}} J = g h^{(k-1)T} + lambda nabla_{W^{(k)}} Omega(theta), with Omega = (1/2) sum_k ||W^{(k)}||_F^2, sec. 7.1.1)",
        "goodfellow-decay",
        r"\nabla_{W^{(k)}} J = g \, h^{(k-1)\top} + \lambda W^{(k)}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ T(q.A(l - 1)) + q.lam * q.W(l),
        None,
    ),
    (
        "goodfellow-decay-biases",
        GOODFELLOW
        + " (nabla_{b^{(k)}} J = g + lambda nabla_{b^{(k)}} Omega(theta), Omega not depending on the biases; g summed over the m examples)",
        "goodfellow-decay",
        r"\nabla_{b^{(k)}} J = g \, \mathbf{1}_{m}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ np.ones((q.m, 1)),
        None,
    ),
    (
        "goodfellow-decay-half",
        GOODFELLOW + ", misquoted with the penalty's 1/2 left in its gradient",
        "goodfellow-decay",
        r"\nabla_{W^{(k)}} J = g \, h^{(k-1)\top} + \frac{\lambda}{2} W^{(k)}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ T(q.A(l - 1)) + q.lam / 2 * q.W(l),
        "d/dW of (lambda/2) ||W||_F^2 is lambda W",
    ),
    # ---------------------------------------------------------------- CS229 (Ng's [k] layers, one example)
    (
        "cs229-w",
        CS229 + " eq. (7.35)-style: dJ/dW^{[k]} = dJ/dz^{[k]} a^{[k-1]T}",
        "ng-single",
        r"\frac{\partial J}{\partial W^{[k]}} = \frac{\partial J}{\partial z^{[k]}} a^{[k-1]\top}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "cs229-a",
        CS229 + " dJ/da^{[k-1]} = W^{[k]T} dJ/dz^{[k]}",
        "ng-single",
        r"\frac{\partial J}{\partial a^{[k-1]}} = W^{[k]\top} \frac{\partial J}{\partial z^{[k]}}",
        "A",
        [0, 1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZ(l + 1),
        None,
    ),
    (
        "cs229-z",
        CS229 + " dJ/dz^{[k]} = dJ/da^{[k]} (elementwise) g'(z^{[k]})",
        "ng-single",
        r"\frac{\partial J}{\partial z^{[k]}} = \frac{\partial J}{\partial a^{[k]}} \odot g'(z^{[k]})",
        "Z",
        [1, 2, 3],
        lambda q, l: q.dA(l) * q.fp(l),
        None,
    ),
    (
        "cs229-b",
        CS229 + " dJ/db^{[k]} = dJ/dz^{[k]}",
        "ng-single",
        r"\frac{\partial J}{\partial b^{[k]}} = \frac{\partial J}{\partial z^{[k]}}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "cs229-w-notranspose",
        CS229 + " with the transpose of a^{[k-1]} dropped",
        "ng-single",
        r"\frac{\partial J}{\partial W^{[k]}} = \frac{\partial J}{\partial z^{[k]}} a^{[k-1]}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ q.A(l - 1),
        "a column times a column does not fit: a^{[k-1]} must be transposed",
    ),
    (
        "cs229-a-notranspose",
        CS229 + " with W^{[k]} not transposed",
        "ng-single",
        r"\frac{\partial J}{\partial a^{[k-1]}} = W^{[k]} \frac{\partial J}{\partial z^{[k]}}",
        "A",
        [0, 1, 2],
        lambda q, l: q.W(l + 1) @ q.dZ(l + 1),
        "W^{[k]} maps layer k-1 to k; the gradient goes back through its transpose",
    ),
    (
        "cs229-w-order",
        CS229 + " with the outer product reversed",
        "ng-single",
        r"\frac{\partial J}{\partial W^{[k]}} = a^{[k-1]} \left(\frac{\partial J}{\partial z^{[k]}}\right)^\top",
        "W",
        [1, 2, 3],
        lambda q, l: q.A(l - 1) @ T(q.dZ(l)),
        "the transpose of the weight gradient",
    ),
    # ---------------------------------------------------------------- UFLDL's bullet (elementwise), in Nielsen's numbering
    (
        "ufldl-output-bullet",
        UFLDL
        + " step 2, delta^{(n_l)} = -(y - a^{(n_l)}) \\bullet f'(z^{(n_l)}), n_l the output layer",
        "nielsen",
        r"\delta^{(L)} = -(y - a^{(L)}) \bullet \sigma'(z^{(L)})",
        "Z",
        [3],
        lambda q, l: -(q.net.y - q.A(3)) * q.fp(3),
        None,
    ),
    (
        "ufldl-hidden-bullet",
        UFLDL + " step 3, renumbered so that W^{(l+1)} feeds layer l + 1",
        "nielsen",
        r"\delta^{(l)} = \left((W^{(l+1)})^T \delta^{(l+1)}\right) \bullet f'(z^{(l)})",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "ufldl-hidden-as-printed",
        UFLDL + " step 3 as printed (W^{(l)} maps layer l to l + 1), read in Nielsen's numbering",
        "nielsen",
        r"\delta^{(l)} = \left((W^{(l)})^T \delta^{(l+1)}\right) \bullet f'(z^{(l)})",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l)) @ q.dZ(l + 1)) * q.fp(l),
        "UFLDL's W^{(l)} is Nielsen's w^{l+1}: the index is one too low",
    ),
    (
        "mit-grad-a",
        MIT + " dZ^l/dA^{l-1} = W^l, so dL/dA^{l-1} = W^l dL/dZ^l",
        "mit-tanh",
        r"\frac{\partial L}{\partial A^{l-1}} = W^l \frac{\partial L}{\partial Z^l}",
        "A",
        [0, 1, 2],
        lambda q, l: q.W(l + 1) @ q.dZ(l + 1),
        None,
    ),
    # ---------------------------------------------------------------- Bishop, unit letters i -> j -> k (k the output)
    (
        "bishop-delta-hidden",
        BISHOP_UNITS + " eq. (5.56)",
        "bishop-net",
        r"\delta_j = h'(a_j) \sum_k w_{kj} \delta_k",
        "Z",
        [2],
        lambda q, l: np.array(
            [
                [q.fp(2)[j, 0] * sum(q.W(3)[k, j] * q.dZ(3)[k, 0] for k in range(SIZES[3]))]
                for j in range(SIZES[2])
            ]
        ),
        None,
    ),
    (
        "bishop-delta-tanh",
        BISHOP_UNITS + " eq. (5.56) for tanh units, h'(a) = 1 - z^2",
        "bishop-net",
        r"\delta_j = (1 - z_j^2) \sum_k w_{kj} \delta_k",
        "Z",
        [2],
        lambda q, l: np.array(
            [
                [
                    (1 - q.A(2)[j, 0] ** 2)
                    * sum(q.W(3)[k, j] * q.dZ(3)[k, 0] for k in range(SIZES[3]))
                ]
                for j in range(SIZES[2])
            ]
        ),
        None,
    ),
    (
        "bishop-delta-output",
        BISHOP_UNITS + " eq. (5.54), linear outputs",
        "bishop-net",
        r"\delta_k = y_k - t_k",
        "Z",
        [3],
        lambda q, l: np.array([[q.A(3)[k, 0] - q.net.y[k, 0]] for k in range(SIZES[3])]),
        None,
    ),
    (
        "bishop-dw-hidden",
        BISHOP_UNITS + " eq. (5.53), dE_n/dw_{ji} = delta_j z_i",
        "bishop-net",
        r"\frac{\partial E_n}{\partial w_{ji}} = \delta_j z_i",
        "W",
        [2],
        lambda q, l: np.array(
            [[q.dZ(2)[j, 0] * q.A(1)[i, 0] for i in range(SIZES[1])] for j in range(SIZES[2])]
        ),
        None,
    ),
    (
        "bishop-dw-output",
        BISHOP_UNITS + " eq. (5.67), dE_n/dw_{kj} = delta_k z_j",
        "bishop-net",
        r"\frac{\partial E_n}{\partial w_{kj}} = \delta_k z_j",
        "W",
        [3],
        lambda q, l: np.array(
            [[q.dZ(3)[k, 0] * q.A(2)[j, 0] for j in range(SIZES[2])] for k in range(SIZES[3])]
        ),
        None,
    ),
    (
        "bishop-dw-swapped",
        BISHOP_UNITS + " eq. (5.67) with the unit letters exchanged",
        "bishop-net",
        r"\frac{\partial E_n}{\partial w_{kj}} = \delta_j z_k",
        "W",
        [3],
        lambda q, l: np.array(
            [[q.dZ(2)[j, 0] * q.A(3)[k, 0] for j in range(SIZES[2])] for k in range(SIZES[3])]
        ),
        "delta_j belongs to the hidden unit at the input end of w_{kj}, z_k to the output",
    ),
    (
        "bishop-delta-noprime",
        BISHOP_UNITS + " eq. (5.56) without h'(a_j)",
        "bishop-net",
        r"\delta_j = \sum_k w_{kj} \delta_k",
        "Z",
        [2],
        lambda q, l: np.array(
            [[sum(q.W(3)[k, j] * q.dZ(3)[k, 0] for k in range(SIZES[3]))] for j in range(SIZES[2])]
        ),
        "the error signal passes through the unit's activation: h'(a_j) is missing",
    ),
]


# ------------------------------------------------------------------------------ graph specs and contexts
# Specs without layers, each with its forward pass in NumPy at fixed sizes; an entry's check
# draws the inputs and returns (the transcribed right side, the finite-difference gradient).
OTHER_SPECS = {
    "cs224n": 'parameters = ["W", "b", "u"]\n[shapes]\nx = "d"\nW = "n x d"\nb = "n"\nu = "n"\n[define]\nz = \'W x + b\'\nh = \'\\tanh(z)\'\ns = \'u^T h\'\n',
    "cs224n-delta": 'parameters = ["W", "b", "u"]\ndelta = { of = "z", row = true }\n[shapes]\nx = "d"\nW = "n x d"\nb = "n"\nu = "n"\n[define]\nz = \'W x + b\'\nh = \'\\tanh(z)\'\ns = \'u^T h\'\n',
    "cs224n-ce": "[shapes]\ntheta = \"k\"\ny = \"k\"\n[assume]\ny = \"one-hot\"\n[define]\n'\\hat{y}' = '\\operatorname{softmax}(\\theta)'\nJ = '-\\sum y \\odot \\log \\hat{y}'\n",
    "cs229-softmax": '[shapes]\ntheta = "d x k"\nx = "d"\ny = "k"\n[assume]\ny = "one-hot"\n[define]\nell = \'-\\sum y \\odot \\log \\operatorname{softmax}(\\theta^T x)\'\n',
    "bishop": 'parameters = ["W_1", "W_2"]\n[shapes]\nx = "D"\nt = "K"\nW_1 = "M x D"\nW_2 = "K x M"\n[define]\na = \'W_1 x\'\nz = \'\\tanh(a)\'\ny = \'W_2 z\'\nE = \'\\frac{1}{2} \\|y - t\\|^2\'\n',
    "d2l": 'parameters = ["W_1", "W_2"]\n[shapes]\nx = "d"\ny = "q"\nW_1 = "p x d"\nW_2 = "q x p"\nlambda = "scalar"\n[define]\nz = \'W_1 x\'\nh = \'\\tanh(z)\'\no = \'W_2 h\'\nL = \'\\|o - y\\|^2\'\nJ = \'L + \\frac{\\lambda}{2} (\\|W_1\\|_F^2 + \\|W_2\\|_F^2)\'\n',
    "parr": 'layout = "numerator"\n[shapes]\nw = "n"\nx = "n"\nb = "scalar"\n',
    "cookbook": '[shapes]\na = "n"\nb = "m"\nX = "n x m"\nx = "n"\nB = "n x n"\nA = "n x k"\ns = "k"\nV = "n x n"\n[assume]\nV = "symmetric"\n',
}


def scalar(value) -> float:
    """The one entry of a 1 x 1 array (or a number)."""
    return float(np.asarray(value).sum())


def fd_of(f, value: np.ndarray) -> np.ndarray:
    """Central differences of the scalar f at value (any shape)."""
    return fd(f, value, lambda v: v)


def softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


def col(rng, n):
    return rng.normal(size=(n, 1))


def cs224n(rng, wrt, rhs):
    """s = u^T tanh(W x + b); x 4, W 3 x 4."""
    x, W, b, u = col(rng, 4), rng.normal(size=(3, 4)), col(rng, 3), col(rng, 3)
    v = {"W": W, "b": b, "u": u}

    def s(**kw):
        p = {**v, **kw}
        return scalar(p["u"].T @ np.tanh(p["W"] @ x + p["b"]))

    z = W @ x + b
    h = np.tanh(z)
    fp = 1 - h**2
    want = {
        "z": fd_of(lambda zz: scalar(u.T @ np.tanh(zz)), z),
        "h": fd_of(lambda hh: scalar(u.T @ hh), h),
    }.get(wrt)
    if want is None:
        want = fd_of(lambda val: s(**{wrt: val}), v[wrt])
    return rhs(x=x, W=W, b=b, u=u, z=z, h=h, fp=fp), want


def cs224n_ce(rng, rhs):
    theta, y = col(rng, 4), np.eye(4)[:, [1]]
    want = fd_of(lambda t: scalar(-np.sum(y * np.log(softmax(t)))), theta)
    return rhs(theta=theta, y=y, yhat=softmax(theta)), want


def cs229_softmax(rng, rhs):
    theta, x, y = rng.normal(size=(3, 4)), col(rng, 3), np.eye(4)[:, [2]]
    want = fd_of(lambda t: scalar(-np.sum(y * np.log(softmax(t.T @ x)))), theta)
    return rhs(theta=theta, x=x, y=y, p=softmax(theta.T @ x)), want


def bishop(rng, wrt, rhs):
    """E = 1/2 ||W_2 tanh(W_1 x) - t||^2; x 4, hidden 3, outputs 2."""
    x, t = col(rng, 4), col(rng, 2)
    W1, W2 = rng.normal(size=(3, 4)), rng.normal(size=(2, 3))
    a = W1 @ x
    z = np.tanh(a)
    y = W2 @ z

    def E(W1=W1, W2=W2, a=None, y=None):
        a = W1 @ x if a is None else a
        y = W2 @ np.tanh(a) if y is None else y
        return scalar(0.5 * np.sum((y - t) ** 2))

    want = {
        "W_1": lambda: fd_of(lambda v: E(W1=v), W1),
        "W_2": lambda: fd_of(lambda v: E(W2=v), W2),
        "a": lambda: fd_of(lambda v: E(a=v), a),
        "y": lambda: fd_of(lambda v: E(y=v), y),
    }[wrt]()
    return rhs(x=x, t=t, W1=W1, W2=W2, a=a, z=z, y=y), want


def d2l(rng, wrt, rhs):
    """J = ||W_2 tanh(W_1 x) - y||^2 + lambda/2 (||W_1||_F^2 + ||W_2||_F^2)."""
    x, y, lam = col(rng, 4), col(rng, 2), 0.7
    W1, W2 = rng.normal(size=(3, 4)), rng.normal(size=(2, 3))
    z = W1 @ x
    h = np.tanh(z)
    o = W2 @ h
    reg = lam / 2 * (np.sum(W1**2) + np.sum(W2**2))

    def J(W1=W1, W2=W2, h=None, z=None, o=None):
        r = lam / 2 * (np.sum(W1**2) + np.sum(W2**2))
        if o is None:
            if h is None:
                h = np.tanh(W1 @ x if z is None else z)
            o = W2 @ h
        return scalar(np.sum((o - y) ** 2) + r)

    want = {
        "W_1": lambda: fd_of(lambda v: J(W1=v), W1),
        "W_2": lambda: fd_of(lambda v: J(W2=v), W2),
        "z": lambda: fd_of(lambda v: J(z=v), z),
        "h": lambda: fd_of(lambda v: J(h=v), h),
    }[wrt]()
    dJ_do = fd_of(lambda v: J(o=v), o) + 0 * reg
    dJ_dh = fd_of(lambda v: J(h=v), h)
    dJ_dz = fd_of(lambda v: J(z=v), z)
    return rhs(x=x, y=y, lam=lam, W1=W1, W2=W2, z=z, h=h, o=o, do=dJ_do, dh=dJ_dh, dz=dJ_dz), want


def parr(rng, wrt, rhs):
    """d(w . x + b)/dw in numerator layout: a row."""
    w, x, b = col(rng, 4), col(rng, 4), 0.3
    want = T(fd_of(lambda v: scalar(v.T @ x + b), w)) if wrt == "w" else np.array([[1.0]])
    return rhs(w=w, x=x, b=b), want


def cookbook(rng, target, rhs):
    n, m, k = 4, 3, 2
    a, b, x = col(rng, n), col(rng, m), col(rng, n)
    X, B, A, s = (
        rng.normal(size=(n, m)),
        rng.normal(size=(n, n)),
        rng.normal(size=(n, k)),
        col(rng, k),
    )
    G = rng.normal(size=(n, n))
    V = G + G.T
    env = {"a": a, "b": b, "x": x, "X": X, "B": B, "A": A, "s": s, "V": V}
    want = {
        "xTa": lambda: fd_of(lambda v: scalar(v.T @ a), x),
        "aTXb": lambda: fd_of(lambda v: scalar(a.T @ v @ b), X),
        "xTBx": lambda: fd_of(lambda v: scalar(v.T @ B @ v), x),
        "quad": lambda: fd_of(lambda v: scalar((x - A @ v).T @ V @ (x - A @ v)), s),
        "frob": lambda: fd_of(lambda v: scalar(np.sum(v**2)), X),
        "aTXTa": lambda: fd_of(lambda v: scalar(a[:m].T @ v.T @ a), X),
    }[target]()
    return rhs(**env), want


# id -> (source, spec, equation, check(rng) -> (transcribed right side, finite differences), why)
OTHER_FORMULAS = [
    (
        "cs224n-u",
        CS224N + " ds/du = h",
        "cs224n",
        r"\frac{\partial s}{\partial u} = h",
        lambda r: cs224n(r, "u", lambda **q: q["h"]),
        None,
    ),
    (
        "cs224n-h",
        CS224N + " ds/dh = u",
        "cs224n",
        r"\frac{\partial s}{\partial h} = u",
        lambda r: cs224n(r, "h", lambda **q: q["u"]),
        None,
    ),
    (
        "cs224n-b",
        CS224N + " ds/db = delta = u o f'(z)",
        "cs224n",
        r"\frac{\partial s}{\partial b} = u \circ f'(z)",
        lambda r: cs224n(r, "b", lambda **q: q["u"] * q["fp"]),
        None,
    ),
    (
        "cs224n-z",
        CS224N + " delta = ds/dz = u^T diag(f'(z)), as a column",
        "cs224n",
        r"\frac{\partial s}{\partial z} = \operatorname{diag}(f'(z)) u",
        lambda r: cs224n(r, "z", lambda **q: np.diag(q["fp"].ravel()) @ q["u"]),
        None,
    ),
    (
        "cs224n-w",
        CS224N + " ds/dW = delta^T x^T",
        "cs224n",
        r"\frac{\partial s}{\partial W} = (u \circ f'(z)) x^T",
        lambda r: cs224n(r, "W", lambda **q: (q["u"] * q["fp"]) @ T(q["x"])),
        None,
    ),
    (
        "cs224n-w-swapped",
        CS224N + " ds/dW written x delta (numerator layout's d x n)",
        "cs224n",
        r"\frac{\partial s}{\partial W} = x (u \circ f'(z))^T",
        lambda r: cs224n(r, "W", lambda **q: q["x"] @ T(q["u"] * q["fp"])),
        "the numerator layout's d x n Jacobian, not the gradient in W's shape",
    ),
    (
        "cs224n-b-row",
        CS224N + " ds/db left as the row delta = u^T diag(f'(z))",
        "cs224n",
        r"\frac{\partial s}{\partial b} = u^T \operatorname{diag}(f'(z))",
        lambda r: cs224n(r, "b", lambda **q: T(q["u"]) @ np.diag(q["fp"].ravel())),
        "the row delta; the gradient in b's shape is its transpose",
    ),
    (
        "cs224n-w-delta",
        CS224N_DELTA + " ds/dW = delta^T x^T",
        "cs224n-delta",
        r"\frac{\partial s}{\partial W} = \delta^T x^T",
        lambda r: cs224n(r, "W", lambda **q: T(T(q["u"] * q["fp"])) @ T(q["x"])),
        None,
    ),
    (
        "cs224n-b-delta",
        CS224N_DELTA + " ds/db = delta, in b's shape",
        "cs224n-delta",
        r"\frac{\partial s}{\partial b} = \delta^T",
        lambda r: cs224n(r, "b", lambda **q: T(T(q["u"] * q["fp"]))),
        None,
    ),
    (
        "cs224n-w-delta-swapped",
        CS224N_DELTA + " ds/dW written x delta",
        "cs224n-delta",
        r"\frac{\partial s}{\partial W} = x \delta",
        lambda r: cs224n(r, "W", lambda **q: q["x"] @ T(q["u"] * q["fp"])),
        "x delta is d x n, the transpose of W's shape",
    ),
    (
        "cs224n-b-delta-row",
        CS224N_DELTA + " ds/db = delta left as the row",
        "cs224n-delta",
        r"\frac{\partial s}{\partial b} = \delta",
        lambda r: cs224n(r, "b", lambda **q: T(q["u"] * q["fp"])),
        "delta is a row; b's gradient in its shape is delta^T",
    ),
    (
        "cs224n-ce",
        "K. Clark, Computing Neural Network Gradients, CS224n, sec. 4 item (7), cross-entropy loss with respect to logits",
        "cs224n-ce",
        r"\frac{\partial J}{\partial \theta} = \hat{y} - y",
        lambda r: cs224n_ce(r, lambda **q: q["yhat"] - q["y"]),
        None,
    ),
    (
        "cs224n-ce-row",
        "K. Clark, Computing Neural Network Gradients, CS224n, sec. 4 item (7), the row form (y a column)",
        "cs224n-ce",
        r"\frac{\partial J}{\partial \theta} = (\hat{y} - y)^T",
        lambda r: cs224n_ce(r, lambda **q: T(q["yhat"] - q["y"])),
        "the numerator layout's row; in denominator layout the gradient is a column",
    ),
    (
        "cs224n-ce-sign",
        "K. Clark, Computing Neural Network Gradients, CS224n, sec. 4 item (7), with the sign reversed",
        "cs224n-ce",
        r"\frac{\partial J}{\partial \theta} = y - \hat{y}",
        lambda r: cs224n_ce(r, lambda **q: q["y"] - q["yhat"]),
        "the gradient of the log-likelihood, not of the loss",
    ),
    (
        "cs229-softmax",
        CS229 + " softmax regression, grad_t l_ce = phi - e_y with t = theta^T x",
        "cs229-softmax",
        r"\frac{\partial \ell}{\partial \theta} = x (\operatorname{softmax}(\theta^T x) - y)^T",
        lambda r: cs229_softmax(r, lambda **q: q["x"] @ T(q["p"] - q["y"])),
        None,
    ),
    (
        "cs229-softmax-swapped",
        CS229 + " softmax regression, outer product reversed",
        "cs229-softmax",
        r"\frac{\partial \ell}{\partial \theta} = (\operatorname{softmax}(\theta^T x) - y) x^T",
        lambda r: cs229_softmax(r, lambda **q: (q["p"] - q["y"]) @ T(q["x"])),
        "theta is d x k: x comes first",
    ),
    (
        "bishop-w2",
        BISHOP + " (5.67): dE_n/dw_{kj} = delta_k z_j, delta_k = y_k - t_k (5.54)",
        "bishop",
        r"\frac{\partial E}{\partial W_2} = (y - t) z^T",
        lambda r: bishop(r, "W_2", lambda **q: (q["y"] - q["t"]) @ T(q["z"])),
        None,
    ),
    (
        "bishop-a",
        BISHOP + " (5.56): delta_j = (1 - z_j^2) sum_k w_{kj} delta_k",
        "bishop",
        r"\frac{\partial E}{\partial a} = (1 - z \odot z) \odot (W_2^T (y - t))",
        lambda r: bishop(r, "a", lambda **q: (1 - q["z"] ** 2) * (T(q["W2"]) @ (q["y"] - q["t"]))),
        None,
    ),
    (
        "bishop-w1",
        BISHOP + " (5.67): dE_n/dw_{ji} = delta_j x_i",
        "bishop",
        r"\frac{\partial E}{\partial W_1} = \left((1 - z \odot z) \odot (W_2^T (y - t))\right) x^T",
        lambda r: bishop(
            r, "W_1", lambda **q: ((1 - q["z"] ** 2) * (T(q["W2"]) @ (q["y"] - q["t"]))) @ T(q["x"])
        ),
        None,
    ),
    (
        "bishop-y",
        BISHOP + " (5.54): delta_k = y_k - t_k",
        "bishop",
        r"\frac{\partial E}{\partial y} = y - t",
        lambda r: bishop(r, "y", lambda **q: q["y"] - q["t"]),
        None,
    ),
    (
        "bishop-w2-swapped",
        BISHOP + " (5.67) read as z_j delta_k with j the row",
        "bishop",
        r"\frac{\partial E}{\partial W_2} = z (y - t)^T",
        lambda r: bishop(r, "W_2", lambda **q: q["z"] @ T(q["y"] - q["t"])),
        "w_{kj} connects hidden unit j to output k: row k, column j",
    ),
    (
        "bishop-y-scale",
        BISHOP + " (5.54) with the 1/2 of the error forgotten",
        "bishop",
        r"\frac{\partial E}{\partial y} = 2 (y - t)",
        lambda r: bishop(r, "y", lambda **q: 2 * (q["y"] - q["t"])),
        "E_n = 1/2 sum (y - t)^2 has the gradient y - t",
    ),
    (
        "d2l-mlp-w2",
        D2L_MLP + " eq. (5.3.8)",
        "d2l",
        r"\frac{\partial J}{\partial W_2} = \frac{\partial J}{\partial o} h^T + \lambda W_2",
        lambda r: d2l(r, "W_2", lambda **q: q["do"] @ T(q["h"]) + q["lam"] * q["W2"]),
        None,
    ),
    (
        "d2l-mlp-h",
        D2L_MLP + " eq. (5.3.9)",
        "d2l",
        r"\frac{\partial J}{\partial h} = W_2^T \frac{\partial J}{\partial o}",
        lambda r: d2l(r, "h", lambda **q: T(q["W2"]) @ q["do"]),
        None,
    ),
    (
        "d2l-mlp-z",
        D2L_MLP + " eq. (5.3.10)",
        "d2l",
        r"\frac{\partial J}{\partial z} = \frac{\partial J}{\partial h} \odot \phi'(z)",
        lambda r: d2l(r, "z", lambda **q: q["dh"] * (1 - np.tanh(q["z"]) ** 2)),
        None,
    ),
    (
        "d2l-mlp-w1",
        D2L_MLP + " eq. (5.3.11)",
        "d2l",
        r"\frac{\partial J}{\partial W_1} = \frac{\partial J}{\partial z} x^T + \lambda W_1",
        lambda r: d2l(r, "W_1", lambda **q: q["dz"] @ T(q["x"]) + q["lam"] * q["W1"]),
        None,
    ),
    (
        "d2l-mlp-h-row",
        D2L_MLP + " eq. (5.3.9) with the factors as a row times W_2",
        "d2l",
        r"\frac{\partial J}{\partial h} = \left(\frac{\partial J}{\partial o}\right)^T W_2",
        lambda r: d2l(r, "h", lambda **q: T(q["do"]) @ q["W2"]),
        "the row form; h is a column",
    ),
    (
        "parr-affine-w",
        PARR,
        "parr",
        r"\frac{\partial}{\partial \mathbf{w}} (\mathbf{w} \cdot \mathbf{x} + b) = \mathbf{x}^T",
        lambda r: parr(r, "w", lambda **q: T(q["x"])),
        None,
    ),
    (
        "parr-affine-b",
        PARR,
        "parr",
        r"\frac{\partial}{\partial b} (\mathbf{w} \cdot \mathbf{x} + b) = 1",
        lambda r: parr(r, "b", lambda **q: np.array([[1.0]])),
        None,
    ),
    (
        "parr-affine-w-column",
        PARR + " written as a column (denominator layout)",
        "parr",
        r"\frac{\partial}{\partial \mathbf{w}} (\mathbf{w} \cdot \mathbf{x} + b) = \mathbf{x}",
        lambda r: parr(r, "w", lambda **q: q["x"]),
        "in numerator layout the derivative of a scalar by a column is a row",
    ),
    (
        "cookbook-69",
        COOKBOOK + " eq. (69)",
        "cookbook",
        r"\frac{\partial x^T a}{\partial x} = a",
        lambda r: cookbook(r, "xTa", lambda **q: q["a"]),
        None,
    ),
    (
        "cookbook-70",
        COOKBOOK + " eq. (70)",
        "cookbook",
        r"\frac{\partial a^T X b}{\partial X} = a b^T",
        lambda r: cookbook(r, "aTXb", lambda **q: q["a"] @ T(q["b"])),
        None,
    ),
    (
        "cookbook-81",
        COOKBOOK + " eq. (81)",
        "cookbook",
        r"\frac{\partial x^T B x}{\partial x} = (B + B^T) x",
        lambda r: cookbook(r, "xTBx", lambda **q: (q["B"] + T(q["B"])) @ q["x"]),
        None,
    ),
    (
        "cookbook-86",
        COOKBOOK + " eq. (86), W symmetric (here V)",
        "cookbook",
        r"\frac{\partial}{\partial s} (x - A s)^T V (x - A s) = -2 A^T V (x - A s)",
        lambda r: cookbook(
            r, "quad", lambda **q: -2 * T(q["A"]) @ q["V"] @ (q["x"] - q["A"] @ q["s"])
        ),
        None,
    ),
    (
        "cookbook-103",
        COOKBOOK + " eq. (103)",
        "cookbook",
        r"\frac{\partial}{\partial X} \|X\|_F^2 = 2 X",
        lambda r: cookbook(r, "frob", lambda **q: 2 * q["X"]),
        None,
    ),
    (
        "cookbook-70-swapped",
        COOKBOOK + " eq. (70) with the outer product reversed",
        "cookbook",
        r"\frac{\partial a^T X b}{\partial X} = b a^T",
        lambda r: cookbook(r, "aTXb", lambda **q: q["b"] @ T(q["a"])),
        "eq. (71) is for a^T X^T b; here X is n x m",
    ),
    (
        "cookbook-86-sign",
        COOKBOOK + " eq. (86) with the sign lost",
        "cookbook",
        r"\frac{\partial}{\partial s} (x - A s)^T V (x - A s) = 2 A^T V (x - A s)",
        lambda r: cookbook(
            r, "quad", lambda **q: 2 * T(q["A"]) @ q["V"] @ (q["x"] - q["A"] @ q["s"])
        ),
        "the inner derivative of x - A s is -A",
    ),
    (
        "cookbook-103-half",
        COOKBOOK + " eq. (103) with the 2 dropped",
        "cookbook",
        r"\frac{\partial}{\partial X} \|X\|_F^2 = X",
        lambda r: cookbook(r, "frob", lambda **q: q["X"]),
        "d/dX tr(X^T X) = 2X",
    ),
]


# ------------------------------------------------------------------ a second sweep of sources
NIELSEN_CH3 = "M. Nielsen, Neural Networks and Deep Learning, ch. 3, eqs. (66)-(67) (the cross-entropy cost: delta^L = a^L - y), http://neuralnetworksanddeeplearning.com/chap3.html"
NIELSEN_NOTATION = (
    NIELSEN
    + " (BP1-BP4 as students write them: bold vectors, \\top, \\intercal, a prime for the transpose)"
)
MIT_SOFTMAX = (
    MIT
    + " (softmax output with NLLM: dL/dZ^L = A^L - y; ReLU's derivative as the indicator of Z > 0)"
)
NG_SHALLOW = "deeplearning.ai, Neural Networks and Deep Learning, week 3, 'Gradient descent for neural networks' and 'Backpropagation intuition' (tanh hidden layer, sigmoid output, cross-entropy; g^{[1]'}(z) = 1 - a^2), https://www.coursera.org/learn/neural-networks-deep-learning"
GOODFELLOW_BOLD = GOODFELLOW + " (bold vectors as the book prints them)"
D2L_LINREG = "Dive into Deep Learning, 3.1.1 Linear Regression Basics, 'Analytic Solution' (the gradient of ||y - Xw||^2) and 'Minibatch Stochastic Gradient Descent' (the partial of l^{(i)} by w and b), https://d2l.ai/chapter_linear-regression/linear-regression.html"
D2L_SOFTMAX = "Dive into Deep Learning, 4.1.2.3 Softmax and Cross-Entropy Loss (the derivative of the loss by the logits o is softmax(o) - y), https://d2l.ai/chapter_linear-classification/softmax-regression.html"
CS229_LMS = "CS229 Lecture Notes (A. Ng), Part I, 1.1 LMS algorithm (one training example) and 1.2.2 the normal equations (nabla_theta J = X^T X theta - X^T y), https://cs229.stanford.edu/main_notes.pdf"
CS229_LOGISTIC = "CS229 Lecture Notes (A. Ng), Part II, 5.1 Logistic regression, the gradient of the log likelihood l(theta) for one example: (y - h_theta(x)) x, https://cs229.stanford.edu/main_notes.pdf"
BISHOP_LOGISTIC = "C. M. Bishop, Pattern Recognition and Machine Learning (2006), sec. 4.3.2-4.3.3, eqs. (4.91) and (4.96): nabla E(w) = Phi^T (y - t) for logistic regression"

SPECS.update(
    {
        "nielsen-xent": 'convention = "nielsen"\ninput = 4\nloss = "nll"\n\n[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n[[layer]]\nsize = 5\nactivation = "sigmoid"\n\n[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
        "ng-shallow": 'convention = "ng"\ninput = 4\nloss = "nll"\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
        "ng-shallow-batch": 'convention = "ng"\ninput = 4\nloss = "nll"\nbatch = "m"\n\n[[layer]]\nsize = 3\nactivation = "tanh"\n\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
        "mit-softmax": 'convention = "6.390"\ninput = 4\nloss = "nllm"\n\n[[layer]]\nsize = 3\nactivation = "relu"\n\n[[layer]]\nsize = 5\nactivation = "tanh"\n\n[[layer]]\nsize = 2\nactivation = "softmax"\n',
    }
)
NETWORKS.update(
    {
        "nielsen-xent": ("direct", ("sigmoid", "sigmoid", "sigmoid"), "xent", None),
        "ng-shallow": ("direct", ("tanh", "sigmoid"), "xent", None),
        "ng-shallow-batch": ("direct", ("tanh", "sigmoid"), "xent", 3),
        "mit-softmax": ("transposed", ("relu", "tanh", "softmax"), "nllm", None),
    }
)


def _bp2(q, l):
    """Nielsen's BP2: ((w^{l+1})^T delta^{l+1}) (.) sigma'(z^l)."""
    return (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l)


def _entries(rows, cols, entry):
    """The matrix whose (j, k) entry is entry(j, k), each computed on its own."""
    return np.array([[entry(j, k) for k in range(cols)] for j in range(rows)])


FORMULAS += [
    # ------------------------------------------------ Nielsen, as students type BP1-BP4
    (
        "nielsen-bp1-prime-command",
        NIELSEN + " eq. (BP1) with (30) for the quadratic cost, \\prime for the derivative",
        "nielsen",
        r"\delta^{L} = (a^{L} - y) \odot \sigma^{\prime}(z^{L})",
        "Z",
        [3],
        lambda q, l: (q.A(3) - q.net.y) * q.fp(3),
        None,
    ),
    (
        "nielsen-bp1-bold",
        NIELSEN_NOTATION,
        "nielsen",
        r"\boldsymbol{\delta}^L = (\mathbf{a}^L - \mathbf{y}) \odot \sigma'(\mathbf{z}^L)",
        "Z",
        [3],
        lambda q, l: (q.A(3) - q.net.y) * q.fp(3),
        None,
    ),
    (
        "nielsen-bp2-top-left-right",
        NIELSEN_NOTATION,
        "nielsen",
        r"\delta^l = \left( (w^{l+1})^{\top} \delta^{l+1} \right) \odot \sigma'(z^l)",
        "Z",
        [1, 2],
        _bp2,
        None,
    ),
    (
        "nielsen-bp2-intercal",
        NIELSEN_NOTATION,
        "nielsen",
        r"\delta^l = ((w^{l+1})^\intercal \delta^{l+1}) \odot \sigma'(z^l)",
        "Z",
        [1, 2],
        _bp2,
        None,
    ),
    (
        "nielsen-bp2-index-then-t",
        NIELSEN_NOTATION + ", the transpose inside the layer superscript",
        "nielsen",
        r"\delta^l = (w^{l+1 T} \delta^{l+1}) \odot \sigma'(z^l)",
        "Z",
        [1, 2],
        _bp2,
        None,
    ),
    (
        "nielsen-bp2-prime-transpose",
        NIELSEN_NOTATION + ", (w^{l+1})' for the transpose",
        "nielsen",
        r"\delta^l = ((w^{l+1})' \delta^{l+1}) \odot \sigma'(z^l)",
        "Z",
        [1, 2],
        _bp2,
        None,
    ),
    (
        "nielsen-bp2-star",
        NIELSEN_NOTATION + ", * for the Hadamard product",
        "nielsen",
        r"\delta^l = ((w^{l+1})^T \delta^{l+1}) * \sigma'(z^l)",
        "Z",
        [1, 2],
        _bp2,
        None,
    ),
    (
        "nielsen-bp1-sigma-quadratic",
        NIELSEN + " eq. (33) with (30): Sigma'(z^L) (a^L - y)",
        "nielsen",
        r"\delta^L = \Sigma'(z^L)(a^L - y)",
        "Z",
        [3],
        lambda q, l: diag(q.fp(3)) @ (q.A(3) - q.net.y),
        None,
    ),
    (
        "nielsen-grad-a",
        NIELSEN + " eq. (30), nabla_a C = (a^L - y) for the quadratic cost",
        "nielsen",
        r"\nabla_a C = a^L - y",
        "A",
        [3],
        lambda q, l: q.A(3) - q.net.y,
        None,
    ),
    (
        "nielsen-grad-a-entry",
        NIELSEN + " eq. (30) entrywise: dC/da^L_j = (a^L_j - y_j)",
        "nielsen",
        r"\frac{\partial C}{\partial a^L_j} = a^L_j - y_j",
        "A",
        [3],
        lambda q, l: np.array([[q.A(3)[j, 0] - q.net.y[j, 0]] for j in range(q.A(3).shape[0])]),
        None,
    ),
    (
        "nielsen-bp1-entry-quadratic",
        NIELSEN + " eq. (BP1) with (30), entrywise",
        "nielsen",
        r"\delta^{L}_j = (a^L_j - y_j) \sigma'(z^L_j)",
        "Z",
        [3],
        lambda q, l: np.array(
            [[(q.A(3)[j, 0] - q.net.y[j, 0]) * q.fp(3)[j, 0]] for j in range(q.A(3).shape[0])]
        ),
        None,
    ),
    (
        "nielsen-bp2-same-layer",
        NIELSEN + " BP2 with the weights of layer l",
        "nielsen",
        r"\delta^l = ((w^{l})^T \delta^{l+1}) \odot \sigma'(z^l)",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l)) @ q.dZ(l + 1)) * q.fp(l),
        "the error of layer l+1 goes back through w^{l+1}",
    ),
    (
        "nielsen-bp2-no-prime",
        NIELSEN + " BP2 without sigma'(z^l)",
        "nielsen",
        r"\delta^l = (w^{l+1})^T \delta^{l+1}",
        "Z",
        [1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZ(l + 1),
        "the sigmoid's derivative at z^l is missing",
    ),
    (
        "nielsen-bp4-no-transpose",
        NIELSEN + " BP4 in matrix form with the transpose dropped",
        "nielsen",
        r"\frac{\partial C}{\partial w^l} = \delta^l a^{l-1}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ q.A(l - 1),
        "a column times a column does not fit: a^{l-1} must be transposed",
    ),
    (
        "nielsen-bp1-sign",
        NIELSEN + " BP1 with (30) as y - a^L",
        "nielsen",
        r"\delta^L = (y - a^L) \odot \sigma'(z^L)",
        "Z",
        [3],
        lambda q, l: (q.net.y - q.A(3)) * q.fp(3),
        "the gradient of (1/2)||y - a||^2 by a is a - y",
    ),
    (
        "nielsen-bp3-wrong-layer",
        NIELSEN + " BP3 with the next layer's error",
        "nielsen",
        r"\frac{\partial C}{\partial b^l} = \delta^{l+1}",
        "b",
        [1, 2],
        lambda q, l: q.dZ(l + 1),
        "b^l's gradient is the error of its own layer",
    ),
    (
        "nielsen-bp2-entry-wrong-prime",
        NIELSEN + " eq. (BP2) entrywise with sigma' at the summed index",
        "nielsen",
        r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_k)",
        "Z",
        [1, 2],
        lambda q, l: np.array(
            [
                [
                    sum(
                        q.W(l + 1)[k, j] * q.dZ(l + 1)[k, 0] * q.fp(l)[k, 0]
                        for k in range(q.W(l + 1).shape[0])
                    )
                ]
                for j in range(q.W(l + 1).shape[1])
            ]
        ),
        "sigma'(z^l_j) belongs to unit j, outside the sum over k (and k runs past layer l's units)",
    ),
    (
        "nielsen-bp4-entry-wrong-layer",
        NIELSEN + " eq. (BP4) entrywise with the activation of layer l",
        "nielsen",
        r"\frac{\partial C}{\partial w^l_{jk}} = a^{l}_k \delta^l_j",
        "W",
        [1, 2, 3],
        lambda q, l: _entries(
            q.W(l).shape[0], q.W(l).shape[1], lambda j, k: q.A(l)[k, 0] * q.dZ(l)[j, 0]
        ),
        "w^l_{jk} multiplies a^{l-1}_k, the input of layer l",
    ),
    (
        "nielsen-bp1-cdot",
        NIELSEN + " BP1 with \\cdot for the Hadamard product",
        "nielsen",
        r"\delta^L = \nabla_a C \cdot \sigma'(z^L)",
        "Z",
        [3],
        lambda q, l: T(q.dAL()) @ q.fp(3),
        "\\cdot between two columns is their dot product, a number",
    ),
    # ------------------------------------------------ Nielsen, ch. 3: the cross-entropy cost
    (
        "nielsen-xent-delta",
        NIELSEN_CH3 + " (delta^L = a^L - y)",
        "nielsen-xent",
        r"\delta^L = a^L - y",
        "Z",
        [3],
        lambda q, l: q.A(3) - q.net.y,
        None,
    ),
    (
        "nielsen-xent-w-entry",
        NIELSEN_CH3 + " eq. (67) for one example",
        "nielsen-xent",
        r"\frac{\partial C}{\partial w^L_{jk}} = a^{L-1}_k (a^L_j - y_j)",
        "W",
        [3],
        lambda q, l: _entries(
            q.W(3).shape[0],
            q.W(3).shape[1],
            lambda j, k: q.A(2)[k, 0] * (q.A(3)[j, 0] - q.net.y[j, 0]),
        ),
        None,
    ),
    (
        "nielsen-xent-b-entry",
        NIELSEN_CH3 + " the bias's partial (a^L_j - y_j) for one example",
        "nielsen-xent",
        r"\frac{\partial C}{\partial b^L_j} = a^L_j - y_j",
        "b",
        [3],
        lambda q, l: q.A(3) - q.net.y,
        None,
    ),
    (
        "nielsen-xent-extra-prime",
        NIELSEN_CH3 + " BP1 of the quadratic cost used with the cross-entropy",
        "nielsen-xent",
        r"\delta^L = (a^L - y) \odot \sigma'(z^L)",
        "Z",
        [3],
        lambda q, l: (q.A(3) - q.net.y) * q.fp(3),
        "the cross-entropy cancels sigma': delta^L = a^L - y",
    ),
    # ------------------------------------------------ MIT 6.390
    (
        "mit-gradloss-top",
        MIT + " eq-gradloss with \\mathcal{L}, \\left(\\right) and \\top",
        "mit-tanh",
        r"\frac{\partial \mathcal{L}}{\partial W^l} = A^{l-1} \left( \frac{\partial \mathcal{L}}{\partial Z^l} \right)^\top",
        "W",
        [1, 2, 3],
        lambda q, l: q.A(l - 1) @ T(q.dZ(l)),
        None,
    ),
    (
        "mit-bias-plain-l",
        MIT + " dL/dW_0^l = dL/dZ^l",
        "mit-tanh",
        r"\frac{\partial L}{\partial W_0^l} = \frac{\partial L}{\partial Z^l}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "mit-grad-a-next",
        MIT + " dL/dA^l = W^{l+1} dL/dZ^{l+1}",
        "mit-tanh",
        r"\frac{\partial L}{\partial A^{l}} = W^{l+1} \frac{\partial L}{\partial Z^{l+1}}",
        "A",
        [1, 2],
        lambda q, l: q.W(l + 1) @ q.dZ(l + 1),
        None,
    ),
    (
        "mit-last-sigmoid",
        MIT + " the output layer: squared loss, sigmoid, sigma' = A(1 - A)",
        "mit-tanh",
        r"\frac{\partial L}{\partial Z^L} = 2 (A^L - y) \odot A^L \odot (1 - A^L)",
        "Z",
        [3],
        lambda q, l: 2 * (q.A(3) - q.net.y) * q.A(3) * (1 - q.A(3)),
        None,
    ),
    (
        "mit-last-sigmoid-no-2",
        MIT + " the output layer with the 2 of the squared loss dropped",
        "mit-tanh",
        r"\frac{\partial L}{\partial Z^L} = (A^L - y) \odot A^L \odot (1 - A^L)",
        "Z",
        [3],
        lambda q, l: (q.A(3) - q.net.y) * q.A(3) * (1 - q.A(3)),
        "the squared loss has no 1/2 here: dL/dA^L = 2(A^L - y)",
    ),
    (
        "mit-grad-a-transposed",
        MIT + " dL/dA^l with W^{l+1} transposed (Nielsen's habit)",
        "mit-tanh",
        r"\frac{\partial L}{\partial A^{l}} = (W^{l+1})^T \frac{\partial L}{\partial Z^{l+1}}",
        "A",
        [1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZ(l + 1),
        "in 6.390's convention W^{l+1} is m x n: no transpose",
    ),
    (
        "mit-gradloss-jacobian",
        MIT + " eq-gradloss with the factor dZ^l/dW^l written out",
        "mit-tanh",
        r"\frac{\partial L}{\partial W^l} = \frac{\partial Z^l}{\partial W^l} \left(\frac{\partial L}{\partial Z^l}\right)^T",
        "W",
        [1, 2, 3],
        lambda q, l: q.A(l - 1) @ T(q.dZ(l)),
        None,
    ),
    (
        "mit-recursion-tanh",
        MIT + " eq-gradz at layer 1 with tanh' = 1 - A odot A",
        "mit-tanh",
        r"\frac{\partial L}{\partial Z^1} = (1 - A^1 \odot A^1) \odot \left(W^{2} \frac{\partial L}{\partial Z^{2}}\right)",
        "Z",
        [1],
        lambda q, l: (1 - q.A(1) ** 2) * (q.W(2) @ q.dZ(2)),
        None,
    ),
    (
        "mit-gradloss-paren-index",
        MIT + " eq-gradloss at layer 2, the index as (2)",
        "mit-tanh",
        r"\frac{\partial L}{\partial W^{(2)}} = A^{(1)} \left(\frac{\partial L}{\partial Z^{(2)}}\right)^T",
        "W",
        [2],
        lambda q, l: q.A(1) @ T(q.dZ(2)),
        None,
    ),
    (
        "mit-gradloss-bracket-index",
        MIT + " eq-gradloss at layer 2, the index as [2], \\! before \\top",
        "mit-tanh",
        r"\frac{\partial L}{\partial W^{[2]}} = A^{[1]} \left(\frac{\partial L}{\partial Z^{[2]}}\right)^{\!\top}",
        "W",
        [2],
        lambda q, l: q.A(1) @ T(q.dZ(2)),
        None,
    ),
    (
        "mit-softmax-z",
        MIT_SOFTMAX,
        "mit-softmax",
        r"\frac{\partial L}{\partial Z^L} = A^L - y",
        "Z",
        [3],
        lambda q, l: q.A(3) - q.net.y,
        None,
    ),
    (
        "mit-softmax-w",
        MIT_SOFTMAX,
        "mit-softmax",
        r"\frac{\partial L}{\partial W^L} = A^{L-1} (A^L - y)^T",
        "W",
        [3],
        lambda q, l: q.A(2) @ T(q.A(3) - q.net.y),
        None,
    ),
    (
        "mit-softmax-w-order",
        MIT_SOFTMAX + " with the outer product reversed",
        "mit-softmax",
        r"\frac{\partial L}{\partial W^L} = (A^L - y) (A^{L-1})^T",
        "W",
        [3],
        lambda q, l: (q.A(3) - q.net.y) @ T(q.A(2)),
        "W^L is m^L x n^L: A^{L-1} comes first",
    ),
    # ------------------------------------------------ Ng, week 3: one example, then m
    (
        "ng-shallow-dz2",
        NG_SHALLOW + " dz^{[2]} = a^{[2]} - y",
        "ng-shallow",
        r"dz^{[2]} = a^{[2]} - y",
        "Z",
        [2],
        lambda q, l: q.A(2) - q.net.y,
        None,
    ),
    (
        "ng-shallow-dw2",
        NG_SHALLOW + " dW^{[2]} = dz^{[2]} a^{[1]T}",
        "ng-shallow",
        r"dW^{[2]} = dz^{[2]} a^{[1]T}",
        "W",
        [2],
        lambda q, l: q.dZ(2) @ T(q.A(1)),
        None,
    ),
    (
        "ng-shallow-db2",
        NG_SHALLOW + " db^{[2]} = dz^{[2]}",
        "ng-shallow",
        r"db^{[2]} = dz^{[2]}",
        "b",
        [2],
        lambda q, l: q.dZ(2),
        None,
    ),
    (
        "ng-shallow-dz1",
        NG_SHALLOW + " dz^{[1]} = W^{[2]T} dz^{[2]} * g^{[1]'}(z^{[1]})",
        "ng-shallow",
        r"dz^{[1]} = W^{[2]T} dz^{[2]} * g^{[1]\prime}(z^{[1]})",
        "Z",
        [1],
        lambda q, l: (T(q.W(2)) @ q.dZ(2)) * q.fp(1),
        None,
    ),
    (
        "ng-shallow-dw1",
        NG_SHALLOW + " dW^{[1]} = dz^{[1]} x^T",
        "ng-shallow",
        r"dW^{[1]} = dz^{[1]} x^T",
        "W",
        [1],
        lambda q, l: q.dZ(1) @ T(q.net.x),
        None,
    ),
    (
        "ng-shallow-db1",
        NG_SHALLOW + " db^{[1]} = dz^{[1]}",
        "ng-shallow",
        r"db^{[1]} = dz^{[1]}",
        "b",
        [1],
        lambda q, l: q.dZ(1),
        None,
    ),
    (
        "ng-shallow-dz1-no-transpose",
        NG_SHALLOW + " dz^{[1]} with W^{[2]} untransposed",
        "ng-shallow",
        r"dz^{[1]} = W^{[2]} dz^{[2]} * g^{[1]\prime}(z^{[1]})",
        "Z",
        [1],
        lambda q, l: (q.W(2) @ q.dZ(2)) * q.fp(1),
        "W^{[2]} is n^{[2]} x n^{[1]}: it is transposed to go back",
    ),
    (
        "ng-shallow-dw1-no-transpose",
        NG_SHALLOW + " dW^{[1]} = dz^{[1]} x",
        "ng-shallow",
        r"dW^{[1]} = dz^{[1]} x",
        "W",
        [1],
        lambda q, l: q.dZ(1) @ q.net.x,
        "x must be transposed",
    ),
    (
        "ng-shallow-batch-dz2",
        NG_SHALLOW + " vectorized: dZ^{[2]} = A^{[2]} - Y",
        "ng-shallow-batch",
        r"dZ^{[2]} = A^{[2]} - Y",
        "Z",
        [2],
        lambda q, l: q.A(2) - q.net.y,
        None,
    ),
    (
        "ng-shallow-batch-dw2",
        NG_SHALLOW + " vectorized: dW^{[2]} = (1/m) dZ^{[2]} A^{[1]T}",
        "ng-shallow-batch",
        r"dW^{[2]} = \frac{1}{m} dZ^{[2]} A^{[1]T}",
        "W",
        [2],
        lambda q, l: q.dZ(2) @ T(q.A(1)) / q.m,
        None,
    ),
    (
        "ng-shallow-batch-dz1",
        NG_SHALLOW + " vectorized: dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]'}(Z^{[1]})",
        "ng-shallow-batch",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]\prime}(Z^{[1]})",
        "Z",
        [1],
        lambda q, l: (T(q.W(2)) @ q.dZ(2)) * q.fp(1),
        None,
    ),
    (
        "ng-shallow-batch-dw1",
        NG_SHALLOW + " vectorized: dW^{[1]} = (1/m) dZ^{[1]} X^T",
        "ng-shallow-batch",
        r"dW^{[1]} = \frac{1}{m} dZ^{[1]} X^T",
        "W",
        [1],
        lambda q, l: q.dZ(1) @ T(q.net.x) / q.m,
        None,
    ),
    (
        "ng-shallow-batch-db1",
        NG_SHALLOW + " vectorized: db^{[1]} as the mean of the columns",
        "ng-shallow-batch",
        r"db^{[1]} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[1](i)}",
        "b",
        [1],
        lambda q, l: q.dZ(1).sum(axis=1, keepdims=True) / q.m,
        None,
    ),
    (
        "ng-shallow-batch-dw1-no-mean",
        NG_SHALLOW + " vectorized dW^{[1]} without 1/m",
        "ng-shallow-batch",
        r"dW^{[1]} = dZ^{[1]} X^T",
        "W",
        [1],
        lambda q, l: q.dZ(1) @ T(q.net.x),
        "J is the mean over the m examples",
    ),
    (
        "ng-shallow-batch-dw1-order",
        NG_SHALLOW + " vectorized dW^{[1]} as X^T dZ^{[1]} (CS231n's order)",
        "ng-shallow-batch",
        r"dW^{[1]} = \frac{1}{m} X^T dZ^{[1]}",
        "W",
        [1],
        lambda q, l: T(q.net.x) @ q.dZ(1) / q.m,
        "with examples as columns dW = dZ X^T",
    ),
    (
        "ng-shallow-batch-dz2-mean",
        NG_SHALLOW + " vectorized dZ^{[2]} with the 1/m put in",
        "ng-shallow-batch",
        r"dZ^{[2]} = \frac{1}{m} (A^{[2]} - Y)",
        "Z",
        [2],
        lambda q, l: (q.A(2) - q.net.y) / q.m,
        "Ng's dZ is the per-example dL/dZ; the 1/m comes in dW and db",
    ),
    (
        "ng-dz-ast",
        NG + " dZ^{[l]} with \\ast",
        "ng-batch",
        r"dZ^{[l]} = W^{[l+1]T} dZ^{[l+1]} \ast g^{[l]\prime}(Z^{[l]})",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "ng-dz-odot-apostrophe",
        NG + " dZ^{[l]} with \\odot and g^{[l]'}",
        "ng-batch",
        r"dZ^{[l]} = W^{[l+1]T} dZ^{[l+1]} \odot g^{[l]'}(Z^{[l]})",
        "Z",
        [1, 2],
        lambda q, l: (T(q.W(l + 1)) @ q.dZ(l + 1)) * q.fp(l),
        None,
    ),
    (
        "ng-dw-cdot",
        NG + " dW^{[l]} with \\cdot for the product",
        "ng-batch",
        r"dW^{[l]} = \frac{1}{m} dZ^{[l]} \cdot A^{[l-1]T}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)) / q.m,
        None,
    ),
    (
        "ng-db-ones-sized",
        NG + " db^{[l]} = (1/m) dZ^{[l]} 1_m",
        "ng-batch",
        r"db^{[l]} = \frac{1}{m} dZ^{[l]} \mathbf{1}_m",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ np.ones((q.m, 1)) / q.m,
        None,
    ),
    (
        "ng-db-ones-wrong-side",
        NG + " db^{[l]} summed by a row of ones on the left (the wrong axis)",
        "ng-batch",
        r"db^{[l]} = \frac{1}{m} \mathbf{1}_m^T dZ^{[l]}",
        "b",
        [1, 2, 3],
        lambda q, l: np.ones((1, q.m)) @ q.dZ(l) / q.m,
        "the examples are dZ's columns: sum along the rows, dZ 1_m",
    ),
    # ------------------------------------------------ Goodfellow, Algorithm 6.4, bold as printed
    (
        "gf-w-bold",
        GOODFELLOW_BOLD,
        "goodfellow",
        r"\nabla_{\boldsymbol{W}^{(k)}} J = \boldsymbol{g} \boldsymbol{h}^{(k-1)\top}",
        "W",
        [1, 2, 3],
        lambda q, l: q.dZ(l) @ T(q.A(l - 1)),
        None,
    ),
    (
        "gf-h-bold",
        GOODFELLOW_BOLD,
        "goodfellow",
        r"\nabla_{\boldsymbol{h}^{(k-1)}} J = \boldsymbol{W}^{(k)\top} \boldsymbol{g}",
        "AJ",
        [1, 2],
        lambda q, l: T(q.W(l + 1)) @ q.dZJ(l + 1),
        None,
    ),
    (
        "gf-b-bold",
        GOODFELLOW_BOLD,
        "goodfellow",
        r"\nabla_{\boldsymbol{b}^{(k)}} J = \boldsymbol{g}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZ(l),
        None,
    ),
    (
        "gf-a-bold",
        GOODFELLOW_BOLD,
        "goodfellow",
        r"\boldsymbol{g} \leftarrow \nabla_{\boldsymbol{a}^{(k)}} J = \boldsymbol{g} \odot f'(\boldsymbol{a}^{(k)})",
        "Z",
        [1, 2, 3],
        lambda q, l: q.dA(l) * q.fp(l),
        None,
    ),
    (
        "gf-h-wrong-layer",
        GOODFELLOW + " with the weights of layer k-1",
        "goodfellow",
        r"\nabla_{h^{(k-1)}} J = W^{(k-1)\top} g",
        "AJ",
        [1, 2],
        lambda q, l: T(q.W(l)) @ q.dZJ(l + 1),
        "g at layer k goes back through W^{(k)}",
    ),
    (
        "gf-w-row-times-column",
        GOODFELLOW + " with g^T h^{(k-1)}",
        "goodfellow",
        r"\nabla_{W^{(k)}} J = g^\top h^{(k-1)}",
        "W",
        [1, 2, 3],
        lambda q, l: T(q.dZ(l)) @ q.A(l - 1),
        "a row times a column is a number: the outer product is g h^T",
    ),
    (
        "gf-output",
        GOODFELLOW + " the first line: g <- nabla_{yhat} J for the squared error",
        "goodfellow",
        r"\nabla_{\hat{y}} J = 2 (\hat{y} - y)",
        "A",
        [3],
        lambda q, l: 2 * (q.A(3) - q.net.y),
        None,
    ),
    (
        "gf-a-no-prime",
        GOODFELLOW + " with f'(a^{(k)}) dropped",
        "goodfellow",
        r"\nabla_{a^{(k)}} J = \nabla_{h^{(k)}} J",
        "Z",
        [1, 2, 3],
        lambda q, l: q.dA(l),
        "the activation's derivative is missing",
    ),
    # ------------------------------------------------ CS231n, examples as rows
    (
        "cs231n-rows-dw-input",
        CS231N_CASE + " dW = np.dot(X.T, dscores), the first layer",
        "cs231n-rows",
        r"dW^1 = X^T dZ^1",
        "W",
        [1],
        lambda q, l: T(q.net.x) @ q.dZJ(1),
        None,
    ),
    (
        "cs231n-rows-dw-input-top",
        CS231N_CASE + " dW = X^\\top dZ",
        "cs231n-rows",
        r"dW^1 = X^\top dZ^1",
        "W",
        [1],
        lambda q, l: T(q.net.x) @ q.dZJ(1),
        None,
    ),
    (
        "cs231n-rows-db-ones-sized",
        CS231N_CASE + " db = np.sum(dscores, axis=0) as 1_N^T dZ",
        "cs231n-rows",
        r"db^l = \mathbf{1}_N^\top dZ^l",
        "b",
        [1, 2, 3],
        lambda q, l: np.ones((1, q.m)) @ q.dZJ(l),
        None,
    ),
    (
        "cs231n-rows-db-wrong-axis",
        CS231N_CASE + " db summed along the wrong axis",
        "cs231n-rows",
        r"db^l = dZ^l \mathbf{1}",
        "b",
        [1, 2, 3],
        lambda q, l: q.dZJ(l) @ np.ones((q.dZJ(l).shape[1], 1)),
        "np.sum(dscores, axis=0): the sum runs over the rows (the examples)",
    ),
    (
        "cs231n-rows-dx-top",
        CS231N_CASE + " dhidden = np.dot(dscores, W2.T)",
        "cs231n-rows",
        r"dA^{l-1} = dZ^l W^{l\top}",
        "AJ",
        [1, 2],
        lambda q, l: q.dZJ(l + 1) @ T(q.W(l + 1)),
        None,
    ),
    (
        "cs231n-rows-dx-left",
        CS231N_CASE + " dhidden written W dZ (the column habit)",
        "cs231n-rows",
        r"dA^{l-1} = W^{l} dZ^l",
        "AJ",
        [1, 2],
        lambda q, l: q.W(l + 1) @ q.dZJ(l + 1),
        "with examples as rows the upstream gradient comes first: dZ W^T",
    ),
    (
        "cs231n-rows-dz",
        CS231N + " the local gradient times the upstream one",
        "cs231n-rows",
        r"dZ^l = dA^l \odot f'(Z^l)",
        "ZJ",
        [1, 2, 3],
        lambda q, l: q.dAJ(l) * q.fp(l),
        None,
    ),
    (
        "cs231n-rows-dw-no-transpose",
        CS231N_CASE + " dW = X dZ",
        "cs231n-rows",
        r"dW^1 = X dZ^1",
        "W",
        [1],
        lambda q, l: q.net.x @ q.dZJ(1),
        "X must be transposed: np.dot(X.T, dscores)",
    ),
]


def d2l_linreg(rng, rhs):
    """L = ||y - X w||^2; X 5 x 3."""
    X, w, y = rng.normal(size=(5, 3)), col(rng, 3), col(rng, 5)
    want = fd_of(lambda v: scalar(np.sum((y - X @ v) ** 2)), w)
    return rhs(X=X, w=w, y=y), want


def d2l_linreg_one(rng, wrt, rhs):
    """l = (1/2) (w^T x + b - y)^2 for one example."""
    x, w, b, y = col(rng, 3), col(rng, 3), 0.4, 0.7

    def loss(w=w, b=b):
        return scalar(0.5 * (w.T @ x + b - y) ** 2)

    want = (
        fd_of(lambda v: loss(w=v), w) if wrt == "w" else fd_of(lambda v: loss(b=v), np.array([[b]]))
    )
    return rhs(x=x, w=w, b=b, y=y, r=scalar(w.T @ x + b - y)), want


def d2l_softmax(rng, rhs):
    o, y = col(rng, 4), np.eye(4)[:, [2]]
    want = fd_of(lambda v: scalar(-np.sum(y * np.log(softmax(v)))), o)
    return rhs(o=o, y=y, p=softmax(o)), want


def cs229_lms(rng, rhs):
    theta, x, y = col(rng, 3), col(rng, 3), 0.3
    want = fd_of(lambda v: scalar(0.5 * (v.T @ x - y) ** 2), theta)
    return rhs(theta=theta, x=x, y=y), want


def cs229_normal(rng, rhs):
    X, theta, y = rng.normal(size=(5, 3)), col(rng, 3), col(rng, 5)
    want = fd_of(lambda v: scalar(0.5 * (X @ v - y).T @ (X @ v - y)), theta)
    return rhs(X=X, theta=theta, y=y), want


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def cs229_logistic(rng, rhs):
    theta, x, y = col(rng, 3), col(rng, 3), 1.0

    def ell(v):
        h = sigmoid(scalar(v.T @ x))
        return y * np.log(h) + (1 - y) * np.log(1 - h)

    return rhs(theta=theta, x=x, y=y, h=sigmoid(scalar(theta.T @ x))), fd_of(ell, theta)


def bishop_logistic(rng, rhs):
    Phi, w, t = rng.normal(size=(5, 3)), col(rng, 3), rng.integers(0, 2, size=(5, 1)).astype(float)

    def E(v):
        y = sigmoid(Phi @ v)
        return scalar(-np.sum(t * np.log(y) + (1 - t) * np.log(1 - y)))

    return rhs(Phi=Phi, w=w, t=t, y=sigmoid(Phi @ w)), fd_of(E, w)


def cookbook_square(rng, target, rhs):
    n = 4
    X = rng.normal(size=(n, n)) + 3 * np.eye(n)  # away from singular
    A, B, a, b = rng.normal(size=(n, n)), rng.normal(size=(n, n)), col(rng, n), col(rng, n)
    inv = np.linalg.inv
    f = {
        "aTXb": lambda v: scalar(a.T @ v @ b),
        "aTXTb": lambda v: scalar(a.T @ v.T @ b),
        "aTXa": lambda v: scalar(a.T @ v @ a),
        "tr": lambda v: float(np.trace(v)),
        "trXA": lambda v: float(np.trace(v @ A)),
        "trAXB": lambda v: float(np.trace(A @ v @ B)),
        "trXTBX": lambda v: float(np.trace(v.T @ B @ v)),
        "logdet": lambda v: float(np.log(abs(np.linalg.det(v)))),
        "det": lambda v: float(np.linalg.det(v)),
        "aTXinvb": lambda v: scalar(a.T @ inv(v) @ b),
        "bTXTXa": lambda v: scalar(b.T @ v.T @ v @ a),
    }[target]
    return rhs(X=X, A=A, B=B, a=a, b=b, inv=inv, det=np.linalg.det), fd_of(f, X)


OTHER_SPECS.update(
    {
        "d2l-linreg": '[shapes]\nX = "n x d"\nw = "d"\ny = "n"\n[define]\nL = \'\\|y - X w\\|^2\'\n',
        "d2l-linreg-one": '[shapes]\nx = "d"\nw = "d"\nb = "scalar"\ny = "scalar"\n[define]\nl = \'\\frac{1}{2} (w^T x + b - y)^2\'\n',
        "d2l-softmax": '[shapes]\no = "q"\ny = "q"\n[assume]\ny = "one-hot"\n[define]\nl = \'-\\sum y \\odot \\log \\operatorname{softmax}(o)\'\n',
        "cs229-lms": '[shapes]\ntheta = "d"\nx = "d"\ny = "scalar"\n[define]\nJ = \'\\frac{1}{2} (\\theta^T x - y)^2\'\n',
        "cs229-normal": '[shapes]\nX = "n x d"\ntheta = "d"\ny = "n"\n[define]\nJ = \'\\frac{1}{2} (X \\theta - y)^T (X \\theta - y)\'\n',
        "cs229-logistic": "[shapes]\ntheta = \"d\"\nx = \"d\"\ny = \"scalar\"\n[define]\nh = '\\sigma(\\theta^T x)'\n'\\ell' = 'y \\log h + (1 - y) \\log(1 - h)'\n",
        "bishop-logistic": '[shapes]\nPhi = "N x M"\nw = "M"\nt = "N"\n[define]\ny = \'\\sigma(\\Phi w)\'\nE = \'-\\sum (t \\odot \\log y + (1 - t) \\odot \\log(1 - y))\'\n',
        "cookbook-square": '[shapes]\nX = "n x n"\nA = "n x n"\nB = "n x n"\na = "n"\nb = "n"\n',
    }
)

OTHER_FORMULAS += [
    (
        "d2l-linreg-grad",
        D2L_LINREG,
        "d2l-linreg",
        r"\frac{\partial L}{\partial \mathbf{w}} = 2 \mathbf{X}^\top (\mathbf{X} \mathbf{w} - \mathbf{y})",
        lambda r: d2l_linreg(r, lambda **q: 2 * T(q["X"]) @ (q["X"] @ q["w"] - q["y"])),
        None,
    ),
    (
        "d2l-linreg-partial",
        D2L_LINREG + " in d2l's \\partial_{\\mathbf{w}} notation",
        "d2l-linreg",
        r"\partial_{\mathbf{w}} L = 2 \mathbf{X}^\top (\mathbf{X} \mathbf{w} - \mathbf{y})",
        lambda r: d2l_linreg(r, lambda **q: 2 * T(q["X"]) @ (q["X"] @ q["w"] - q["y"])),
        None,
    ),
    (
        "d2l-linreg-sign",
        D2L_LINREG + " with the residual reversed",
        "d2l-linreg",
        r"\frac{\partial L}{\partial \mathbf{w}} = 2 \mathbf{X}^\top (\mathbf{y} - \mathbf{X} \mathbf{w})",
        lambda r: d2l_linreg(r, lambda **q: 2 * T(q["X"]) @ (q["y"] - q["X"] @ q["w"])),
        "the inner derivative of y - X w is -X",
    ),
    (
        "d2l-linreg-no-2",
        D2L_LINREG + " with the 2 dropped (the 1/2 of the squared loss assumed)",
        "d2l-linreg",
        r"\frac{\partial L}{\partial \mathbf{w}} = \mathbf{X}^\top (\mathbf{X} \mathbf{w} - \mathbf{y})",
        lambda r: d2l_linreg(r, lambda **q: T(q["X"]) @ (q["X"] @ q["w"] - q["y"])),
        "||.||^2 has no 1/2 here",
    ),
    (
        "d2l-linreg-row",
        D2L_LINREG + " as the row (Xw - y)^T X",
        "d2l-linreg",
        r"\nabla_{\mathbf{w}} L = 2 (\mathbf{X} \mathbf{w} - \mathbf{y})^\top \mathbf{X}",
        lambda r: d2l_linreg(r, lambda **q: 2 * T(q["X"] @ q["w"] - q["y"]) @ q["X"]),
        "the gradient has w's shape, a column",
    ),
    (
        "d2l-linreg-one-w",
        D2L_LINREG + " eq. for one example: x (w^T x + b - y)",
        "d2l-linreg-one",
        r"\frac{\partial l}{\partial \mathbf{w}} = \mathbf{x} (\mathbf{w}^\top \mathbf{x} + b - y)",
        lambda r: d2l_linreg_one(r, "w", lambda **q: q["x"] * q["r"]),
        None,
    ),
    (
        "d2l-linreg-one-b",
        D2L_LINREG + " eq. for one example: the bias",
        "d2l-linreg-one",
        r"\frac{\partial l}{\partial b} = \mathbf{w}^\top \mathbf{x} + b - y",
        lambda r: d2l_linreg_one(r, "b", lambda **q: np.array([[q["r"]]])),
        None,
    ),
    (
        "d2l-linreg-one-b-partial",
        D2L_LINREG + " the bias in d2l's \\partial_b notation",
        "d2l-linreg-one",
        r"\partial_{b} l = \mathbf{w}^\top \mathbf{x} + b - y",
        lambda r: d2l_linreg_one(r, "b", lambda **q: np.array([[q["r"]]])),
        None,
    ),
    (
        "d2l-linreg-one-w-row",
        D2L_LINREG + " with x transposed",
        "d2l-linreg-one",
        r"\frac{\partial l}{\partial \mathbf{w}} = \mathbf{x}^\top (\mathbf{w}^\top \mathbf{x} + b - y)",
        lambda r: d2l_linreg_one(r, "w", lambda **q: T(q["x"]) * q["r"]),
        "the gradient has w's shape, a column",
    ),
    (
        "d2l-softmax-o",
        D2L_SOFTMAX,
        "d2l-softmax",
        r"\frac{\partial l}{\partial \mathbf{o}} = \mathrm{softmax}(\mathbf{o}) - \mathbf{y}",
        lambda r: d2l_softmax(r, lambda **q: q["p"] - q["y"]),
        None,
    ),
    (
        "d2l-softmax-sign",
        D2L_SOFTMAX + " with the sign reversed",
        "d2l-softmax",
        r"\frac{\partial l}{\partial \mathbf{o}} = \mathbf{y} - \mathrm{softmax}(\mathbf{o})",
        lambda r: d2l_softmax(r, lambda **q: q["y"] - q["p"]),
        "the loss is the negative log likelihood",
    ),
    (
        "cs229-lms-vector",
        CS229_LMS + " the LMS update's gradient as a vector",
        "cs229-lms",
        r"\nabla_\theta J = (\theta^T x - y) x",
        lambda r: cs229_lms(r, lambda **q: scalar(q["theta"].T @ q["x"] - q["y"]) * q["x"]),
        None,
    ),
    (
        "cs229-normal",
        CS229_LMS,
        "cs229-normal",
        r"\nabla_\theta J = X^T X \theta - X^T y",
        lambda r: cs229_normal(r, lambda **q: T(q["X"]) @ q["X"] @ q["theta"] - T(q["X"]) @ q["y"]),
        None,
    ),
    (
        "cs229-normal-vec",
        CS229_LMS + " as printed, with J(theta) and \\vec{y}",
        "cs229-normal",
        r"\nabla_{\theta} J(\theta) = X^T X \theta - X^T \vec{y}",
        lambda r: cs229_normal(r, lambda **q: T(q["X"]) @ q["X"] @ q["theta"] - T(q["X"]) @ q["y"]),
        None,
    ),
    (
        "cs229-normal-order",
        CS229_LMS + " with X X^T for X^T X",
        "cs229-normal",
        r"\nabla_\theta J = X X^T \theta - X^T y",
        lambda r: cs229_normal(r, lambda **q: q["X"] @ T(q["X"]) @ q["theta"] - T(q["X"]) @ q["y"]),
        "X^T X is d x d",
    ),
    (
        "cs229-normal-half",
        CS229_LMS + " with the 1/2 kept",
        "cs229-normal",
        r"\nabla_\theta J = \frac{1}{2} (X^T X \theta - X^T y)",
        lambda r: cs229_normal(
            r, lambda **q: 0.5 * (T(q["X"]) @ q["X"] @ q["theta"] - T(q["X"]) @ q["y"])
        ),
        "the 1/2 of J cancels the 2 of the square",
    ),
    (
        "cs229-logistic",
        CS229_LOGISTIC,
        "cs229-logistic",
        r"\frac{\partial \ell}{\partial \theta} = (y - \sigma(\theta^T x)) x",
        lambda r: cs229_logistic(r, lambda **q: (q["y"] - q["h"]) * q["x"]),
        None,
    ),
    (
        "cs229-logistic-sign",
        CS229_LOGISTIC + " with the loss's sign (h - y) for the likelihood's",
        "cs229-logistic",
        r"\frac{\partial \ell}{\partial \theta} = (\sigma(\theta^T x) - y) x",
        lambda r: cs229_logistic(r, lambda **q: (q["h"] - q["y"]) * q["x"]),
        "l(theta) is the log likelihood, maximized",
    ),
    (
        "bishop-logistic",
        BISHOP_LOGISTIC,
        "bishop-logistic",
        r"\nabla_{w} E = \Phi^T (y - t)",
        lambda r: bishop_logistic(r, lambda **q: T(q["Phi"]) @ (q["y"] - q["t"])),
        None,
    ),
    (
        "bishop-logistic-as-printed",
        BISHOP_LOGISTIC + " as printed: \\nabla E(\\mathbf{w}), bold",
        "bishop-logistic",
        r"\nabla E(\mathbf{w}) = \mathbf{\Phi}^T(\mathbf{y} - \mathbf{t})",
        lambda r: bishop_logistic(r, lambda **q: T(q["Phi"]) @ (q["y"] - q["t"])),
        None,
    ),
    (
        "bishop-logistic-no-transpose",
        BISHOP_LOGISTIC + " with Phi untransposed",
        "bishop-logistic",
        r"\nabla E(\mathbf{w}) = \mathbf{\Phi}(\mathbf{y} - \mathbf{t})",
        lambda r: bishop_logistic(r, lambda **q: q["Phi"] @ (q["y"] - q["t"])),
        "Phi is N x M: Phi^T maps the N residuals to M",
    ),
    (
        "cookbook-71",
        COOKBOOK + " eq. (71)",
        "cookbook-square",
        r"\frac{\partial a^T X^T b}{\partial X} = b a^T",
        lambda r: cookbook_square(r, "aTXTb", lambda **q: q["b"] @ T(q["a"])),
        None,
    ),
    (
        "cookbook-72",
        COOKBOOK + " eq. (72)",
        "cookbook-square",
        r"\frac{\partial a^T X a}{\partial X} = a a^T",
        lambda r: cookbook_square(r, "aTXa", lambda **q: q["a"] @ T(q["a"])),
        None,
    ),
    (
        "cookbook-99",
        COOKBOOK + " eq. (99)",
        "cookbook-square",
        r"\frac{\partial}{\partial X} \operatorname{Tr}(X) = I",
        lambda r: cookbook_square(r, "tr", lambda **q: np.eye(4)),
        None,
    ),
    (
        "cookbook-100",
        COOKBOOK + " eq. (100)",
        "cookbook-square",
        r"\frac{\partial}{\partial X} \operatorname{Tr}(X A) = A^T",
        lambda r: cookbook_square(r, "trXA", lambda **q: T(q["A"])),
        None,
    ),
    (
        "cookbook-101",
        COOKBOOK + " eq. (101)",
        "cookbook-square",
        r"\frac{\partial}{\partial X} \text{Tr}(A X B) = A^T B^T",
        lambda r: cookbook_square(r, "trAXB", lambda **q: T(q["A"]) @ T(q["B"])),
        None,
    ),
    (
        "cookbook-101-untransposed",
        COOKBOOK + " eq. (101) with the transposes dropped",
        "cookbook-square",
        r"\frac{\partial}{\partial X} \text{Tr}(A X B) = A B",
        lambda r: cookbook_square(r, "trAXB", lambda **q: q["A"] @ q["B"]),
        "d tr(AXB) = tr(BA dX): the gradient is (BA)^T",
    ),
    (
        "cookbook-108",
        COOKBOOK + " eq. (108)",
        "cookbook-square",
        r"\frac{\partial}{\partial X} \operatorname{Tr}(X^T B X) = B X + B^T X",
        lambda r: cookbook_square(r, "trXTBX", lambda **q: q["B"] @ q["X"] + T(q["B"]) @ q["X"]),
        None,
    ),
    (
        "cookbook-57",
        COOKBOOK + " eq. (57)",
        "cookbook-square",
        r"\frac{\partial \ln |\det(X)|}{\partial X} = (X^{-1})^T",
        lambda r: cookbook_square(r, "logdet", lambda **q: T(q["inv"](q["X"]))),
        None,
    ),
    (
        "cookbook-49",
        COOKBOOK + " eq. (49)",
        "cookbook-square",
        r"\frac{\partial \det(X)}{\partial X} = \det(X) (X^{-1})^T",
        lambda r: cookbook_square(r, "det", lambda **q: q["det"](q["X"]) * T(q["inv"](q["X"]))),
        None,
    ),
    (
        "cookbook-49-no-transpose",
        COOKBOOK + " eq. (49) with the transpose dropped",
        "cookbook-square",
        r"\frac{\partial \det(X)}{\partial X} = \det(X) X^{-1}",
        lambda r: cookbook_square(r, "det", lambda **q: q["det"](q["X"]) * q["inv"](q["X"])),
        "the cofactor matrix is det(X) X^{-T}",
    ),
    (
        "cookbook-61",
        COOKBOOK + " eq. (61)",
        "cookbook-square",
        r"\frac{\partial a^T X^{-1} b}{\partial X} = -X^{-T} a b^T X^{-T}",
        lambda r: cookbook_square(
            r,
            "aTXinvb",
            lambda **q: -T(q["inv"](q["X"])) @ q["a"] @ T(q["b"]) @ T(q["inv"](q["X"])),
        ),
        None,
    ),
    (
        "cookbook-61-sign",
        COOKBOOK + " eq. (61) with the sign lost",
        "cookbook-square",
        r"\frac{\partial a^T X^{-1} b}{\partial X} = X^{-T} a b^T X^{-T}",
        lambda r: cookbook_square(
            r, "aTXinvb", lambda **q: T(q["inv"](q["X"])) @ q["a"] @ T(q["b"]) @ T(q["inv"](q["X"]))
        ),
        "d X^{-1} = -X^{-1} dX X^{-1}",
    ),
    (
        "cookbook-77",
        COOKBOOK + " eq. (77) with c = a",
        "cookbook-square",
        r"\frac{\partial b^T X^T X a}{\partial X} = X(b a^T + a b^T)",
        lambda r: cookbook_square(
            r, "bTXTXa", lambda **q: q["X"] @ (q["b"] @ T(q["a"]) + q["a"] @ T(q["b"]))
        ),
        None,
    ),
]


# What is wrong with each incorrect formula (the error classes of matcalc.checks.verify), as
# the misquotation made it: the diagnosis must name these.
MISTAKES = {
    "cs231n-rows-dw-swapped": ["swapped_order"],
    "cs231n-rows-db-unsummed": ["missing_batch_sum"],
    "cs231n-rows-dx-no-transpose": ["missing_transpose"],
    "ufldl-weights-same-index": ["wrong_layer"],
    "ufldl-decay-missing": ["missing_weight_decay"],
    "ufldl-decay-bias-regularized": ["extra_weight_decay"],
    "goodfellow-decay-half": ["wrong_scale"],
    "ufldl-hidden-no-transpose": ["missing_transpose"],
    "ufldl-hidden-no-prime": ["missing_factor"],
    "ufldl-output-sign": ["wrong_sign"],
    "nielsen-bp4-swapped": ["missing_transpose"],
    "nielsen-bp2-notranspose": ["missing_transpose"],
    "nielsen-bp2-matmul": ["extra_transpose"],
    "nielsen-bp1-noprime": ["missing_factor"],
    "nielsen-bp4-entry-swapped": ["missing_transpose"],
    "nielsen-bp2-entry-swapped": ["missing_transpose"],
    "mit-gradloss-nielsen-form": ["convention_mismatch"],
    "mit-gradz-transposed-w": ["extra_transpose"],
    "mit-gradz-order": ["swapped_order"],
    "mit-recursion-wrong-layer": ["wrong_layer"],
    "mit-last-half": ["wrong_scale", "missing_factor"],
    "ng-dw-no-mean": ["missing_batch_mean"],
    "ng-db-no-sum": ["missing_batch_sum"],
    "ng-dz-matmul": ["elementwise_as_matrix_product"],
    "ng-dw-order": ["swapped_order"],
    "gf-w-order": ["missing_transpose"],
    "gf-h-notranspose": ["missing_transpose"],
    "ufldl-w-unrenumbered": ["wrong_layer"],
    "cs229-w-notranspose": ["missing_transpose"],
    "cs229-a-notranspose": ["missing_transpose"],
    "cs229-w-order": ["missing_transpose"],
    "ufldl-hidden-as-printed": ["wrong_layer"],
    "cs224n-w-swapped": ["missing_transpose"],
    "cs224n-b-row": ["missing_transpose"],
    "cs224n-ce-row": ["layout_mismatch"],
    "cs224n-ce-sign": ["wrong_sign"],
    "cs229-softmax-swapped": ["layout_mismatch"],
    "bishop-w2-swapped": ["missing_transpose"],
    "bishop-y-scale": ["wrong_scale"],
    "d2l-mlp-h-row": ["missing_transpose"],
    "parr-affine-w-column": ["layout_mismatch"],
    "cookbook-70-swapped": ["layout_mismatch"],
    "cookbook-86-sign": ["wrong_sign"],
    "cookbook-103-half": ["wrong_scale"],
    "bishop-dw-swapped": ["wrong_factor"],
    "cs224n-w-delta-swapped": ["missing_transpose"],
    "cs224n-b-delta-row": ["missing_transpose"],
    "bishop-delta-noprime": ["missing_factor"],
}


MISTAKES.update(
    {
        "nielsen-bp2-same-layer": ["wrong_layer"],
        "nielsen-bp2-no-prime": ["missing_factor"],
        "nielsen-bp4-no-transpose": ["missing_transpose"],
        "nielsen-bp1-sign": ["wrong_sign"],
        "nielsen-bp3-wrong-layer": ["wrong_layer"],
        "nielsen-bp2-entry-wrong-prime": [],
        "nielsen-bp4-entry-wrong-layer": [],
        "nielsen-bp1-cdot": ["elementwise_as_matrix_product"],
        "nielsen-xent-extra-prime": ["extra_factor"],
        "mit-last-sigmoid-no-2": ["wrong_scale"],
        "mit-grad-a-transposed": ["extra_transpose"],
        "mit-softmax-w-order": ["convention_mismatch"],
        "ng-shallow-dz1-no-transpose": ["missing_transpose"],
        "ng-shallow-dw1-no-transpose": ["missing_transpose"],
        "ng-shallow-batch-dw1-no-mean": ["missing_batch_mean"],
        "ng-shallow-batch-dw1-order": ["swapped_order"],
        "ng-shallow-batch-dz2-mean": ["extra_batch_mean"],
        "ng-db-ones-wrong-side": ["swapped_order"],
        "gf-h-wrong-layer": ["wrong_layer"],
        "gf-w-row-times-column": ["swapped_order"],
        "gf-a-no-prime": ["missing_factor"],
        "cs231n-rows-db-wrong-axis": ["swapped_order"],
        "cs231n-rows-dx-left": ["swapped_order"],
        "cs231n-rows-dw-no-transpose": ["missing_transpose"],
        "d2l-linreg-sign": ["wrong_sign"],
        "d2l-linreg-no-2": ["wrong_scale"],
        "d2l-linreg-row": ["layout_mismatch"],
        "d2l-linreg-one-w-row": ["extra_transpose"],
        "d2l-softmax-sign": ["wrong_sign"],
        "cs229-normal-order": ["swapped_order"],
        "cs229-normal-half": ["wrong_scale"],
        "cs229-logistic-sign": ["wrong_sign"],
        "bishop-logistic-no-transpose": ["missing_transpose"],
        "cookbook-101-untransposed": ["unjustified_symmetry"],
        "cookbook-49-no-transpose": ["missing_transpose"],
        "cookbook-61-sign": ["wrong_sign"],
    }
)


def _step(v):
    return (v > 0).astype(float)


FORMULAS += [
    # ------------------------------------------------ ReLU's derivative as an indicator
    (
        "mit-relu-indicator",
        MIT_SOFTMAX + ", \\mathbb{1}[Z^1 > 0] for ReLU'(Z^1)",
        "mit-softmax",
        r"\frac{\partial L}{\partial Z^1} = \mathbb{1}[Z^1 > 0] \odot \left(W^2 \frac{\partial L}{\partial Z^2}\right)",
        "Z",
        [1],
        lambda q, l: _step(q.Z(1)) * (q.W(2) @ q.dZ(2)),
        None,
    ),
    (
        "mit-relu-indicator-diag",
        MIT_SOFTMAX + ", the Jacobian dA^1/dZ^1 = diag(1[Z^1 > 0])",
        "mit-softmax",
        r"\frac{\partial L}{\partial Z^1} = \text{diag}(\mathbb{1}[Z^1 > 0]) W^2 \frac{\partial L}{\partial Z^2}",
        "Z",
        [1],
        lambda q, l: diag(_step(q.Z(1))) @ q.W(2) @ q.dZ(2),
        None,
    ),
    (
        "mit-relu-indicator-braces",
        CS229 + " (the ReLU's derivative written 1\\{z \\geq 0\\})",
        "mit-softmax",
        r"\frac{\partial L}{\partial Z^1} = 1\{Z^1 \geq 0\} \odot (W^2 \frac{\partial L}{\partial Z^2})",
        "Z",
        [1],
        lambda q, l: (q.Z(1) >= 0).astype(float) * (q.W(2) @ q.dZ(2)),
        None,
    ),
    (
        "mit-relu-iverson",
        MIT_SOFTMAX + ", the Iverson bracket [Z^1 > 0] after the product",
        "mit-softmax",
        r"\frac{\partial L}{\partial Z^1} = \left(W^2 \frac{\partial L}{\partial Z^2}\right) \odot [Z^1 > 0]",
        "Z",
        [1],
        lambda q, l: (q.W(2) @ q.dZ(2)) * _step(q.Z(1)),
        None,
    ),
    (
        "mit-relu-indicator-reversed",
        MIT_SOFTMAX + " with the comparison reversed",
        "mit-softmax",
        r"\frac{\partial L}{\partial Z^1} = \mathbb{1}[Z^1 < 0] \odot \left(W^2 \frac{\partial L}{\partial Z^2}\right)",
        "Z",
        [1],
        lambda q, l: _step(-q.Z(1)) * (q.W(2) @ q.dZ(2)),
        "ReLU passes the gradient where Z > 0",
    ),
    (
        "mit-relu-indicator-tanh-layer",
        MIT_SOFTMAX + " with the ReLU's indicator at the tanh layer",
        "mit-softmax",
        r"\frac{\partial L}{\partial Z^2} = \text{diag}(\mathbb{1}[Z^2 > 0]) W^3 (A^3 - y)",
        "Z",
        [2],
        lambda q, l: diag(_step(q.Z(2))) @ q.W(3) @ (q.A(3) - q.net.y),
        "layer 2 is tanh: its derivative is 1 - A^2",
    ),
    (
        "cs231n-rows-relu-mask",
        CS231N_CASE + " dhidden[hidden_layer <= 0] = 0, as the mask 1[Z > 0]",
        "cs231n-rows",
        r"dZ^1 = dA^1 \odot \mathbb{1}[Z^1 > 0]",
        "ZJ",
        [1],
        lambda q, l: q.dAJ(1) * _step(q.Z(1)),
        None,
    ),
    (
        "cs231n-rows-relu-mask-output",
        CS231N_CASE + " the mask taken from the ReLU's output, as the code does",
        "cs231n-rows",
        r"dZ^1 = dA^1 \odot \mathbb{1}[A^1 > 0]",
        "ZJ",
        [1],
        lambda q, l: q.dAJ(1) * _step(q.A(1)),
        None,
    ),
    (
        "cs231n-rows-relu-no-mask",
        CS231N_CASE + " with the ReLU's mask forgotten",
        "cs231n-rows",
        r"dZ^1 = dA^1",
        "ZJ",
        [1],
        lambda q, l: q.dAJ(1),
        "dhidden[hidden_layer <= 0] = 0 is the ReLU's backward pass",
    ),
]
MISTAKES.update(
    {
        "mit-relu-indicator-reversed": [],
        "mit-relu-indicator-tanh-layer": [],
        "cs231n-rows-relu-no-mask": ["missing_factor"],
    }
)


def _column(n, entry):
    """The column whose j-th entry is entry(j), each computed on its own."""
    return np.array([[entry(j)] for j in range(n)])


OTHER_FORMULAS += [
    # ------------------------------------------------ entry by entry, in contexts
    (
        "cs229-lms-entry",
        CS229_LMS + " eq. for one example, entrywise: (h_theta(x) - y) x_j",
        "cs229-lms",
        r"\frac{\partial J}{\partial \theta_j} = (\theta^T x - y) x_j",
        lambda r: cs229_lms(
            r,
            lambda **q: _column(3, lambda j: scalar(q["theta"].T @ q["x"] - q["y"]) * q["x"][j, 0]),
        ),
        None,
    ),
    (
        "cs229-lms-entry-operator",
        CS229_LMS + " as printed: d/dtheta_j J(theta)",
        "cs229-lms",
        r"\frac{\partial}{\partial \theta_j} J(\theta) = (\theta^T x - y) x_j",
        lambda r: cs229_lms(
            r,
            lambda **q: _column(3, lambda j: scalar(q["theta"].T @ q["x"] - q["y"]) * q["x"][j, 0]),
        ),
        None,
    ),
    (
        "cs229-lms-entry-sign",
        CS229_LMS + " entrywise with the residual reversed",
        "cs229-lms",
        r"\frac{\partial J}{\partial \theta_j} = (y - \theta^T x) x_j",
        lambda r: cs229_lms(
            r,
            lambda **q: _column(3, lambda j: scalar(q["y"] - q["theta"].T @ q["x"]) * q["x"][j, 0]),
        ),
        "the LMS update adds alpha (y - h) x_j: it is minus the gradient",
    ),
    (
        "cs229-lms-entry-no-index",
        CS229_LMS + " entrywise with x_j written x",
        "cs229-lms",
        r"\frac{\partial J}{\partial \theta_j} = (\theta^T x - y) x",
        # each "entry" is the whole vector: the table of the 3 entries is 3 x 3
        lambda r: cs229_lms(
            r, lambda **q: scalar(q["theta"].T @ q["x"] - q["y"]) * q["x"] @ np.ones((1, 3))
        ),
        "the right side is a vector, not the entry j",
    ),
    (
        "cs229-logistic-entry",
        CS229_LOGISTIC + " entrywise: (y - h_theta(x)) x_j",
        "cs229-logistic",
        r"\frac{\partial \ell}{\partial \theta_j} = (y - h) x_j",
        lambda r: cs229_logistic(
            r, lambda **q: _column(3, lambda j: (q["y"] - q["h"]) * q["x"][j, 0])
        ),
        None,
    ),
    (
        "cs229-logistic-entry-operator",
        CS229_LOGISTIC + " as printed: d/dtheta_j l(theta)",
        "cs229-logistic",
        r"\frac{\partial}{\partial \theta_j} \ell(\theta) = (y - \sigma(\theta^T x)) x_j",
        lambda r: cs229_logistic(
            r, lambda **q: _column(3, lambda j: (q["y"] - q["h"]) * q["x"][j, 0])
        ),
        None,
    ),
    (
        "cs229-logistic-entry-sign",
        CS229_LOGISTIC + " entrywise with the loss's sign",
        "cs229-logistic",
        r"\frac{\partial \ell}{\partial \theta_j} = (h - y) x_j",
        lambda r: cs229_logistic(
            r, lambda **q: _column(3, lambda j: (q["h"] - q["y"]) * q["x"][j, 0])
        ),
        "l(theta) is the log likelihood, maximized",
    ),
    (
        "d2l-softmax-entry",
        D2L_SOFTMAX + " eq. (4.1.10), second form: softmax(o)_j - y_j",
        "d2l-softmax",
        r"\partial_{o_j} l = \mathrm{softmax}(\mathbf{o})_j - y_j",
        lambda r: d2l_softmax(r, lambda **q: _column(4, lambda j: q["p"][j, 0] - q["y"][j, 0])),
        None,
    ),
    (
        "d2l-softmax-entry-exp",
        D2L_SOFTMAX + " eq. (4.1.10), first form",
        "d2l-softmax",
        r"\frac{\partial l}{\partial o_j} = \frac{\exp(o_j)}{\sum_{k=1}^q \exp(o_k)} - y_j",
        lambda r: d2l_softmax(
            r,
            lambda **q: _column(
                4,
                lambda j: (
                    np.exp(q["o"][j, 0]) / sum(np.exp(q["o"][k, 0]) for k in range(4))
                    - q["y"][j, 0]
                ),
            ),
        ),
        None,
    ),
    (
        "d2l-softmax-entry-no-target",
        D2L_SOFTMAX + " with the target's y_j dropped",
        "d2l-softmax",
        r"\frac{\partial l}{\partial o_j} = \frac{\exp(o_j)}{\sum_{k=1}^q \exp(o_k)}",
        lambda r: d2l_softmax(
            r,
            lambda **q: _column(
                4, lambda j: np.exp(q["o"][j, 0]) / sum(np.exp(q["o"][k, 0]) for k in range(4))
            ),
        ),
        "the derivative of -log softmax(o)_y has the -y_j",
    ),
    (
        "d2l-softmax-entry-sign",
        D2L_SOFTMAX + " entrywise with the sign reversed",
        "d2l-softmax",
        r"\frac{\partial l}{\partial o_j} = y_j - \mathrm{softmax}(\mathbf{o})_j",
        lambda r: d2l_softmax(r, lambda **q: _column(4, lambda j: q["y"][j, 0] - q["p"][j, 0])),
        "the loss is the negative log likelihood",
    ),
    (
        "cookbook-70-entry",
        COOKBOOK + " eq. (70) entry by entry",
        "cookbook-square",
        r"\frac{\partial a^T X b}{\partial X_{ij}} = a_i b_j",
        lambda r: cookbook_square(
            r,
            "aTXb",
            lambda **q: np.array(
                [[q["a"][i, 0] * q["b"][j, 0] for j in range(4)] for i in range(4)]
            ),
        ),
        None,
    ),
    (
        "cookbook-70-entry-swapped",
        COOKBOOK + " eq. (70) entry by entry with the indices swapped",
        "cookbook-square",
        r"\frac{\partial a^T X b}{\partial X_{ij}} = a_j b_i",
        lambda r: cookbook_square(
            r,
            "aTXb",
            lambda **q: np.array(
                [[q["a"][j, 0] * q["b"][i, 0] for j in range(4)] for i in range(4)]
            ),
        ),
        "X_{ij} multiplies a_i b_j",
    ),
]
MISTAKES.update(
    {
        "cs229-lms-entry-sign": ["wrong_sign"],
        "cs229-lms-entry-no-index": ["shape_mismatch"],
        "cs229-logistic-entry-sign": ["wrong_sign"],
        "d2l-softmax-entry-no-target": [],
        "d2l-softmax-entry-sign": ["wrong_sign"],
        "cookbook-70-entry-swapped": ["missing_transpose"],
    }
)


FORMULAS += [
    # ------------------------------------------------ Ng's tanh derivative written out
    (
        "ng-shallow-dz1-tanh",
        NG_SHALLOW + " with g^{[1]'}(z^{[1]}) = 1 - (a^{[1]})^2",
        "ng-shallow",
        r"dz^{[1]} = W^{[2]T} dz^{[2]} * (1 - (a^{[1]})^2)",
        "Z",
        [1],
        lambda q, l: (T(q.W(2)) @ q.dZ(2)) * (1 - q.A(1) ** 2),
        None,
    ),
    (
        "ng-shallow-batch-dz1-tanh",
        NG_SHALLOW + " vectorized, 1 - (A^{[1]})^2 (np.power(A1, 2))",
        "ng-shallow-batch",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - (A^{[1]})^2)",
        "Z",
        [1],
        lambda q, l: (T(q.W(2)) @ q.dZ(2)) * (1 - q.A(1) ** 2),
        None,
    ),
    (
        "ng-shallow-batch-dz1-tanh-unsquared",
        NG_SHALLOW + " vectorized, the square of A^{[1]} forgotten",
        "ng-shallow-batch",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - A^{[1]})",
        "Z",
        [1],
        lambda q, l: (T(q.W(2)) @ q.dZ(2)) * (1 - q.A(1)),
        "tanh'(z) = 1 - tanh(z)^2",
    ),
]
MISTAKES.update({"ng-shallow-batch-dz1-tanh-unsquared": []})


def label(entry) -> bool:
    """True/False by finite differences at two random points (False where the transcribed
    formula's shapes do not fit)."""
    _, _, spec, _, kind, layers, fn, _ = entry
    agree = True
    for seed in (0, 1):
        q = Q(random_net(spec, np.random.default_rng(seed)))
        for l in layers:
            want = {"W": q.dW, "b": q.db, "Z": q.dZ, "ZJ": q.dZJ, "A": q.dA, "AJ": q.dAJ}[kind](l)
            try:
                got = fn(q, l)
            except (ValueError, IndexError):  # shapes or index ranges do not fit: wrong
                return False
            agree &= got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-6)
    return bool(agree)


def other_label(entry) -> bool:
    """True/False by finite differences at two random points, for a graph spec or a context."""
    check = entry[4]
    agree = True
    for seed in (0, 1):
        try:
            got, want = check(np.random.default_rng(seed))
        except ValueError:  # the transcription's shapes do not fit: wrong
            return False
        agree &= got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-6)
    return bool(agree)


def labels() -> dict[str, bool]:
    found = {entry[0]: label(entry) for entry in FORMULAS}
    found.update({entry[0]: other_label(entry) for entry in OTHER_FORMULAS})
    return found


def table() -> dict:
    found = labels()
    formulas = []
    entries = [(i, src, spec, eq, why) for i, src, spec, eq, _, _, _, why in FORMULAS]
    entries += [(i, src, spec, eq, why) for i, src, spec, eq, _, why in OTHER_FORMULAS]
    for ident, source, spec, equation, why in entries:
        if found[ident] == (ident in MISTAKES):
            raise SystemExit(f"{ident}: labelled {found[ident]}, but MISTAKES says otherwise")
        formulas.append(
            {
                "id": ident,
                "source": source,
                "spec": spec,
                "equation": equation,
                "correct": found[ident],
                "error_class": MISTAKES.get(ident, []),
                "why": why,
            }
        )
    return {
        "about": "Gradient formulas quoted from public textbooks and course notes, each labelled by central finite differences in its source's convention (tests/data/collect_labels.py). 'spec' names an entry of 'specs'.",
        "specs": {**SPECS, **OTHER_SPECS},
        "formulas": formulas,
    }


def main(argv: list[str]) -> int:
    new = table()
    if "--check" in argv:
        old = json.loads(TABLE.read_text())
        stale = [f["id"] for f, g in zip(new["formulas"], old["formulas"], strict=False) if f != g]
        if stale or len(new["formulas"]) != len(old["formulas"]):
            print(f"stale labels: {', '.join(stale) or 'count'}")
            return 1
        return 0
    TABLE.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(new['formulas'])} formulas, {sum(f['correct'] for f in new['formulas'])} correct")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
