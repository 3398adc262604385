# ruff: noqa: E501 - tables of formulas as people type them
"""The notation textbooks and students write, read to what it means and checked by verify."""

import json

import pytest
from conftest import TESTS

from matcalc.checks.verify import verify
from matcalc.cli import main
from matcalc.errors import MatcalcError
from matcalc.reading.parse import (
    Abs,
    Arguments,
    Power,
    Primed,
    Product,
    Scripted,
    Transposed,
    parse_latex,
)
from matcalc.specs.context import spec_from_toml
from matcalc.specs.network import Network

SPECS = json.loads((TESTS / "data" / "context_cases.json").read_text())["specs"]


def network(
    convention: str, batch: str | None = None, activations=("sigmoid", "tanh", "sigmoid")
) -> Network:
    text = f'convention = "{convention}"\ninput = 4\nloss = "squared"\n'
    if batch:
        text += f'batch = "{batch}"\n'
    for size, activation in zip((3, 5, 2), activations, strict=True):
        text += f'[[layer]]\nsize = {size}\nactivation = "{activation}"\n'
    return Network.from_toml(text)


SIGMOIDS = ("sigmoid", "sigmoid", "sigmoid")
TANHS = ("tanh", "tanh", "identity")
REVERSED_CHAIN = r"\frac{\partial \mathcal{L}}{\partial Z^\ell} = \left( \frac{\partial \mathcal{L}}{\partial A^L} \right) \cdot \left( \frac{\partial Z^L}{\partial A^{L-1}} \cdot \frac{\partial A^L}{\partial Z^L} \right) \cdots \left( \frac{\partial A^\ell}{\partial Z^\ell} \right)"

# (convention, batch, activations, equation, correct)
NETWORK_FORMULAS = [
    # error signals: Nielsen's delta^l, UFLDL's delta^{(l)}, CS224n's delta (the output's)
    ("6.390", None, SIGMOIDS, r"\frac{\partial L}{\partial W^l} = A^{l-1} (\delta^l)^T", True),
    ("6.390", None, SIGMOIDS, r"\frac{\partial L}{\partial W^l} = \delta^l (A^{l-1})^T", False),
    ("6.390", None, SIGMOIDS, r"\delta^l = f'(Z^l) \odot (W^{l+1} \delta^{l+1})", True),
    (
        "ng",
        None,
        SIGMOIDS,
        r"\delta^{[l]} = (W^{[l+1]})^T \delta^{[l+1]} \odot \sigma'(Z^{[l]})",
        True,
    ),
    ("goodfellow", None, SIGMOIDS, r"\nabla_{b^{(k)}} J = \delta^{(k)}", True),
    ("6.390", None, SIGMOIDS, r"\frac{\partial L}{\partial W_0^L} = \delta", True),
    # primes
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = (f^l)'(Z^l) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        True,
    ),
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = {f^l}'(Z^l) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        True,
    ),
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = f^{'}(Z^l) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        True,
    ),
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = \sigma'(Z^l) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        True,
    ),
    ("ng", None, SIGMOIDS, r"dZ^{[l]} = W^{[l+1]T} dZ^{[l+1]} * g'^{[l]}(Z^{[l]})", True),
    ("ng", None, SIGMOIDS, r"dZ^{[l]} = W^{[l+1]T} dZ^{[l+1]} * g'^{[l]}(A^{[l]})", False),
    # an activation named by a letter
    (
        "6.390",
        None,
        ("tanh", "relu", "tanh"),
        r"\frac{\partial L}{\partial Z^l} = \phi'(Z^l) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        True,
    ),
    (
        "6.390",
        None,
        ("tanh", "relu", "tanh"),
        r"\frac{\partial L}{\partial Z^l} = h'(Z^l) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        True,
    ),
    (
        "6.390",
        None,
        ("tanh", "relu", "tanh"),
        r"\frac{\partial L}{\partial Z^l} = \sigma'(Z^l) \odot (W^{l+1} \frac{\partial L}{\partial Z^{l+1}})",
        False,
    ),
    # the objective's arguments on the left
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial J(W, b; x, y)}{\partial W^l} = A^{l-1} (\frac{\partial L}{\partial Z^l})^T",
        True,
    ),
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\nabla_{W^l} L(W) = A^{l-1} (\frac{\partial L}{\partial Z^l})^T",
        True,
    ),
    # products: \times where only the elementwise product fits, \otimes
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = (W^{l+1} \frac{\partial L}{\partial Z^{l+1}}) \times \sigma'(Z^l)",
        True,
    ),
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = (W^{l+1} \frac{\partial L}{\partial Z^{l+1}}) \otimes \sigma'(Z^l)",
        True,
    ),
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial W^l} = A^{l-1} \times (\frac{\partial L}{\partial Z^l})^T",
        True,
    ),
    # transposes inside the superscript
    ("ng", "m", SIGMOIDS, r"dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]^T}", True),
    ("ng", "m", SIGMOIDS, r"dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]T}", True),
    ("ng", "m", SIGMOIDS, r"dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l]^T}", False),
    # sums over the examples, the ones vector
    ("ng", "m", SIGMOIDS, r"db^{[l]} = \frac{1}{m} \sum_{i=1}^m dZ^{[l](i)}", True),
    ("ng", "m", SIGMOIDS, r"db^{[l]} = \frac{1}{m} \sum_i dZ^{[l](i)}", True),
    ("ng", "m", SIGMOIDS, r"db^{[l]} = \frac{1}{m} \sum dZ^{[l]}", True),
    ("ng", "m", SIGMOIDS, r"db^{[l]} = \sum dZ^{[l]}", False),
    ("ng", "m", SIGMOIDS, r"db^{[l]} = \frac{1}{m} dZ^{[l]} \mathbf{1}", True),
    ("ng", "m", SIGMOIDS, r"db^{[l]} = \frac{1}{m} dZ^{[l]} \mathbf{1}_m", True),
    # Goodfellow's update lines: the right side is read
    ("goodfellow", None, SIGMOIDS, r"g \leftarrow \nabla_{a^{(k)}} J = g \odot f'(a^{(k)})", True),
    ("goodfellow", None, SIGMOIDS, r"g \leftarrow \nabla_{a^{(k)}} J = g", False),
    # the 6.390 general chain, with the weight matrices beside \cdots
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = \frac{\partial A^l}{\partial Z^l} W^{l+1} \cdots W^L \frac{\partial A^L}{\partial Z^L}\frac{\partial L}{\partial A^L}",
        True,
    ),
    (
        "6.390",
        None,
        SIGMOIDS,
        r"\frac{\partial L}{\partial Z^l} = \frac{\partial A^l}{\partial Z^l} W^{l+1} \cdots W^L \frac{\partial L}{\partial A^L}",
        False,
    ),
    # a power of a column is entrywise; \tanh^2 is the entrywise square of tanh
    (
        "6.390",
        None,
        TANHS,
        r"\frac{\partial A^1}{\partial Z^1} = \operatorname{diag}(1 - (A^1)^2)",
        True,
    ),
    (
        "6.390",
        None,
        TANHS,
        r"\frac{\partial A^1}{\partial Z^1} = \operatorname{diag}(1 - (A^1)^3)",
        False,
    ),
    (
        "6.390",
        None,
        TANHS,
        r"\frac{\partial A^1}{\partial Z^1} = \operatorname{diag}(1 - \tanh^2(Z^1))",
        True,
    ),
    (
        "6.390",
        None,
        TANHS,
        r"\frac{\partial A^1}{\partial Z^1} = \operatorname{diag}(\tanh^2(Z^1))",
        False,
    ),
    (
        "6.390",
        None,
        TANHS,
        r"\frac{\partial A^2}{\partial Z^2} = \operatorname{diag}(1 - \tanh(Z^2)^2)",
        True,
    ),
    # a chain written from the output down, with \cdots, is read in that order: it does not fit
    ("6.390", None, TANHS, REVERSED_CHAIN, False),
    (
        "6.390",
        None,
        TANHS,
        r"\frac{\partial \mathcal{L}}{\partial Z^\ell} = \frac{\partial A^\ell}{\partial Z^\ell} \cdots \frac{\partial Z^L}{\partial A^{L-1}} \frac{\partial A^L}{\partial Z^L} \frac{\partial \mathcal{L}}{\partial A^L}",
        True,
    ),
]


@pytest.mark.parametrize(
    ("convention", "batch", "activations", "equation", "correct"), NETWORK_FORMULAS
)
def test_network_notation_is_read_and_checked(convention, batch, activations, equation, correct):
    verdict = verify(network(convention, batch, activations), equation)
    assert verdict.correct == correct, verdict.reason


CONTEXT_FORMULAS = [
    ("square", r"\frac{\partial}{\partial x} \|x\| = \frac{x}{\|x\|}", True),
    ("square", r"\frac{\partial}{\partial x} \|x\|_2 = \frac{x}{\|x\|_2}", True),
    ("square", r"\frac{\partial}{\partial x} \|x\|_2 = \frac{x}{\|x\|^2}", False),
    ("square", r"\frac{\partial}{\partial X} \|X\|_F = \frac{X}{\|X\|_F}", True),
    ("square", r"\frac{\partial}{\partial X} |X| = |X| X^{-T}", True),
    ("square", r"\frac{\partial}{\partial X} |X| = |X| X^{-1}", False),
    ("square", r"\frac{\partial}{\partial X} \det(X) = \det(X) (X^{-1})^T", True),
    ("square", r"\frac{\partial}{\partial x} \mathbf{1}^T x = \mathbf{1}_n", True),
    ("square", r"\frac{\partial}{\partial x} a \cdot x = a", True),
    ("square", r"\frac{\partial}{\partial x} (a^T x)^2 = 2 (a^T x) a", True),
    ("square", r"\frac{\partial}{\partial x} (a^T x)^2 = (a^T x) a", False),
    ("square", r"\frac{\partial}{\partial x} \frac{a^T x}{2} = \frac{a}{2}", True),
    ("logistic", r"\nabla_\theta J(\theta) = \frac{1}{n} X^T (\sigma(X\theta) - y)", True),
    ("logistic", r"\nabla_\theta J(\theta) = X^T (\sigma(X\theta) - y)", False),
    # a power after a function's argument, or on its name, is a power of its value
    (
        "square",
        r"\frac{\partial}{\partial X} \operatorname{tr}(X)^2 = 2 \operatorname{tr}(X) I",
        True,
    ),
    ("square", r"\frac{\partial}{\partial X} \operatorname{tr}(X)^2 = 2 X^T", False),
    (
        "square",
        r"\frac{\partial}{\partial x} \mathbf{1}^T \sin^2(x) = 2 \sin(x) \odot \cos(x)",
        True,
    ),
    (
        "square",
        r"\frac{\partial}{\partial x} \mathbf{1}^T \sin(x)^2 = 2 \sin(x) \odot \cos(x)",
        True,
    ),
    ("square", r"\frac{\partial}{\partial x} \mathbf{1}^T \sin^2(x) = 2 \cos(x)", False),
    # \max and \min of two columns entry by entry; |x| of a column entrywise, |X| still det X
    (
        "square",
        r"\frac{\partial}{\partial x} \mathbf{1}^T \max(x, b) = \operatorname{step}(x - b)",
        True,
    ),
    (
        "square",
        r"\frac{\partial}{\partial x} \mathbf{1}^T \max(x, b) = \operatorname{step}(b - x)",
        False,
    ),
    (
        "square",
        r"\frac{\partial}{\partial x} \mathbf{1}^T \min(x, b) = \operatorname{step}(b - x)",
        True,
    ),
    (
        "square",
        r"\frac{\partial}{\partial x} \mathbf{1}^T \min(x, b) = \operatorname{step}(x - b)",
        False,
    ),
    (
        "square",
        r"\frac{\partial}{\partial x} \mathbf{1}^T \max(1, x) = \operatorname{step}(x - \mathbf{1}_n)",
        True,
    ),
    ("square", r"\frac{\partial}{\partial x} \sum |x| = \operatorname{sgn}(x)", True),
    ("square", r"\frac{\partial}{\partial x} \sum |x| = x", False),
    ("square", r"\frac{\partial}{\partial x} \mathbf{1}^T |x| = \operatorname{sign}(x)", True),
    ("square", r"\frac{\partial}{\partial X} |X| = |X| X^{-T}", True),
]


@pytest.mark.parametrize(("spec", "equation", "correct"), CONTEXT_FORMULAS)
def test_context_notation_is_read_and_checked(spec, equation, correct):
    verdict = verify(spec_from_toml(SPECS[spec]), equation)
    assert verdict.correct == correct, verdict.reason


def test_times_read_as_elementwise_says_so():
    verdict = verify(
        network("6.390", None, SIGMOIDS),
        r"\frac{\partial L}{\partial Z^l} = (W^{l+1} \frac{\partial L}{\partial Z^{l+1}}) \times \sigma'(Z^l)",
    )
    assert "elementwise product, the only product the shapes allow" in verdict.reason


@pytest.mark.parametrize(
    ("spec", "equation", "message"),
    [
        (
            "square",
            r"\frac{\partial}{\partial X} \operatorname{tr}(A X) = A \times X",
            r"the matrix product A\,X or as the elementwise product A \odot X",
        ),
        (
            "square",
            r"\frac{\partial}{\partial x} a^T x = \mathbf{1}",
            "takes its size from the matrix beside it",
        ),
        (
            "square",
            r"\frac{\partial}{\partial X} \operatorname{tr}(A X) = (X)^2",
            "a power of a square matrix is not read",
        ),
        ("square", r"\frac{\partial}{\partial x} a^T x = (a, x)", "a list of arguments"),
    ],
)
def test_ambiguous_or_meaningless_notation_is_a_clean_error(spec, equation, message):
    with pytest.raises(MatcalcError) as error:
        verify(spec_from_toml(SPECS[spec]), equation)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("J(W, b; x, y)", Arguments),
        ("|A|", Abs),
        (r"\|v\|^3", Power),
        ("(1 - a)^2", Power),
        (r"A^{[l-1]^T}", Transposed),
        (r"g'^{[l]}", Primed),
    ],
)
def test_notation_parses_to_its_node(text, kind):
    (side,) = parse_latex(text).sides
    found = side.factors[1] if isinstance(side, Product) else side
    assert isinstance(found, kind)


def test_a_superscript_transpose_keeps_the_layer_index():
    (side,) = parse_latex(r"A^{[l-1]^T}").sides
    assert isinstance(side.arg, Scripted) and str(side.arg.index.expr) == "l - 1"


def test_times_and_cdot_are_remembered_between_factors():
    (side,) = parse_latex(r"a \times b c \cdot d").sides
    assert side.ops == ("times", "", "cdot")


def test_an_assignment_keeps_the_equation_on_its_right():
    equation = parse_latex(r"g \leftarrow \nabla_{a} J = g")
    assert len(equation.sides) == 2


LOGISTIC = 'input = 3\nloss = "nll"\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n'


@pytest.mark.parametrize(
    ("equation", "correct", "classes"),
    [
        (r"\frac{\partial L}{\partial W} = x (g - y)^T", True, set()),
        (r"\frac{\partial L}{\partial W_0} = g - y", True, set()),
        (r"\frac{\partial L}{\partial W} = (g - y) x^T", False, {"convention_mismatch"}),
    ],
)
def test_one_layer_needs_no_layer_index(equation, correct, classes):
    verdict = verify(Network.from_toml(LOGISTIC), equation)
    assert verdict.correct == correct, verdict.reason
    assert classes <= set(verdict.error_class)


# ------------------------------------------------------------------ graph specs and contexts, more books

BOOK_SPECS = json.loads((TESTS / "data" / "textbook_formulas.json").read_text())["specs"]


def _verdict(spec: str, equation: str):
    return verify(spec_from_toml(BOOK_SPECS[spec]), equation)


@pytest.mark.parametrize(
    ("spec", "equation", "correct"),
    [
        # \sum extends over the elementwise product after it
        (
            "cs224n-ce",
            r"\frac{\partial}{\partial \theta} \left(-\sum y \odot \log \hat{y}\right) = \hat{y} - y",
            True,
        ),
        (
            "cs224n-ce",
            r"\frac{\partial}{\partial \theta} \left(-\sum y \odot \log \hat{y}\right) = y - \hat{y}",
            False,
        ),
        # f'(z) names the derivative of the function the graph applies to z
        ("cs224n", r"\frac{\partial s}{\partial z} = u \odot f'(z)", True),
        ("cs224n", r"\frac{\partial s}{\partial z} = u \odot \phi'(z)", True),
        ("cs224n", r"\frac{\partial s}{\partial z} = u", False),
        # UFLDL's \bullet is elementwise
        ("nielsen", r"\delta^L = (a^L - y) \bullet \sigma'(z^L)", True),
        # Bishop's unit letters and z_j^2 as a square
        ("bishop-net", r"\delta_j = (1 - z_j^2) \sum_k w_{kj} \delta_k", True),
        ("bishop-net", r"\delta_j = (1 - z_j) \sum_k w_{kj} \delta_k", False),
        (
            "bishop-net",
            r"\frac{\partial E_n}{\partial w^{(2)}_{ji}} = \delta^{(2)}_j z^{(1)}_i",
            True,
        ),
        # CS229's [k] layers in Ng's convention
        (
            "ng-single",
            r"\frac{\partial J}{\partial b^{[k]}} = \frac{\partial J}{\partial z^{[k]}}",
            True,
        ),
        # what matcalc prints: shape labels, conditions, a plain example index
        (
            "cs224n",
            r"\underbrace{\frac{\partial s}{\partial W}}_{n\times d} = \underbrace{\frac{\partial s}{\partial z}}_{n \times - 1 + 2}\,x^{T}",
            True,
        ),
        (
            "mit-tanh",
            r"\frac{\partial L}{\partial Z^{l}} = \left(1 - A^{l} \odot A^{l}\right) \odot \left(W^{l+1}\,\frac{\partial L}{\partial Z^{l+1}}\right) \quad (l < L)",
            True,
        ),
        ("ng-batch", r"db^{[2]} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[2](i)}", True),
        # Parr & Howard's max(0, w . x + b), the ReLU (numerator layout)
        (
            "parr",
            r"\frac{\partial}{\partial \mathbf{w}} \max(0, \mathbf{w} \cdot \mathbf{x} + b) = \operatorname{step}(\mathbf{w} \cdot \mathbf{x} + b) \mathbf{x}^T",
            True,
        ),
        (
            "parr",
            r"\frac{\partial}{\partial \mathbf{w}} \max(\mathbf{w} \cdot \mathbf{x} + b, 0) = \mathbf{x}^T",
            False,
        ),
        # max of a number and a scalar, entrywise
        ("parr", r"\frac{\partial}{\partial b} \max(1, b) = \operatorname{step}(b - 1)", True),
        ("parr", r"\frac{\partial}{\partial b} \max(1, b) = 1", False),
        # the row delta of CS224n, declared in the spec
        ("cs224n-delta", r"\frac{\partial s}{\partial W} = \delta^T x^T", True),
        ("cs224n-delta", r"\frac{\partial s}{\partial W} = x \delta", False),
        # a prime after a matrix is its transpose; after a function, its derivative
        ("nielsen", r"\delta^l = ((w^{l+1})' \delta^{l+1}) \odot \sigma'(z^l)", True),
        ("nielsen", r"\delta^l = (w^{l+1} \delta^{l+1}) \odot \sigma'(z^l)", False),
        ("cs229-normal", r"\nabla_\theta J = X' X \theta - X' y", True),
        ("cs229-normal", r"\nabla_\theta J = X X' \theta - X' y", False),
        ("bishop-logistic", r"\nabla_{w} E = (y - t)' \Phi", False),
        # the transpose after a layer index in one superscript: w^{l+1 T}
        ("nielsen", r"\delta^l = (w^{l+1 T} \delta^{l+1}) \odot \sigma'(z^l)", True),
        ("nielsen", r"\delta^l = (w^{l+1 \top} \delta^{l+1}) \odot \sigma'(z^l)", True),
        ("nielsen", r"\delta^l = (w^{l T} \delta^{l+1}) \odot \sigma'(z^l)", False),
        # d2l's \partial_x f, a gradient by x
        (
            "d2l-linreg",
            r"\partial_{\mathbf{w}} L = 2 \mathbf{X}^\top (\mathbf{X} \mathbf{w} - \mathbf{y})",
            True,
        ),
        ("d2l-linreg-one", r"\partial_{b} l = \mathbf{w}^\top \mathbf{x} + b - y", True),
        (
            "d2l-linreg-one",
            r"\partial_{\mathbf{w}} l = \mathbf{x}^\top (\mathbf{w}^\top \mathbf{x} + b - y)",
            False,
        ),
        # Bishop's \nabla E(\mathbf{w}): the gradient by the argument
        (
            "bishop-logistic",
            r"\nabla E(\mathbf{w}) = \mathbf{\Phi}^T(\mathbf{y} - \mathbf{t})",
            True,
        ),
        ("bishop-logistic", r"\nabla E(w) = \Phi^T (t - y)", False),
        ("cs229-normal", r"\nabla J(\boldsymbol{\theta}) = X^T X \theta - X^T y", True),
    ],
)
def test_more_book_notation_reads_to_what_it_means(spec, equation, correct):
    verdict = _verdict(spec, equation)
    assert verdict.correct == correct, verdict.reason


def test_a_softmax_layer_over_a_batch_reads_back_its_column_sums():
    """A layer-sized ones vector (1_3 1_3^T: the softmax Jacobian's column sums) is sized by
    the factor beside it even where the batch is also 3."""
    net = Network.from_toml(
        'input = 1\nloss = "squared"\nbatch = 3\n[[layer]]\nsize = 3\nactivation = "softmax"\n'
        '[[layer]]\nsize = 1\nactivation = "identity"\n'
    )
    equation = (
        r"\frac{\partial \mathcal{L}}{\partial Z^{1}} = A^{1} \odot \left(W^{2}\,"
        r"\frac{\partial \mathcal{L}}{\partial Z^{2}} - \mathbf{1}_{3}\,\mathbf{1}_{3}^{T}\,"
        r"\left(A^{1} \odot \left(W^{2}\,\frac{\partial \mathcal{L}}{\partial Z^{2}}\right)\right)\right)"
    )
    assert verify(net, equation).correct
    assert not verify(net, equation.replace(r"- \mathbf{1}", r"+ \mathbf{1}")).correct


@pytest.mark.parametrize(
    ("spec", "equation", "message"),
    [
        (
            "cs224n",
            r"\frac{\partial s}{\partial W} = (u \odot f'(h)) x^T",
            "applies no entrywise function to h",
        ),
        (
            "cs224n-ce",
            r"\frac{\partial J}{\partial \theta} = \hat{x} - y",
            r"unknown symbol \hat{x}",
        ),
        (
            "nielsen",
            r"\delta^l = (q^{l+1})^T \delta^{l+1}",
            r"known here: W^l, w^l, b^l, Z^l, z^l, A^l, a^l, \delta^l",
        ),
        ("cs224n-delta", r"\frac{\partial s}{\partial W} = \delta^T q", r"\delta"),
        ("parr", r"\frac{\partial}{\partial b} \max(x, b) = 1", "one shape"),
        ("nielsen", r"\delta^l = (q^{l+1})' \delta^{l+1}", "unknown symbol q"),
        ("d2l-linreg", r"\partial L = 2 X^T (X w - y)", "\\partial outside a derivative"),
        ("bishop-logistic", r"\nabla E = \Phi^T (y - t)", "\\nabla needs a subscript"),
    ],
)
def test_unreadable_book_notation_is_one_clear_error(spec, equation, message):
    with pytest.raises(MatcalcError) as error:
        _verdict(spec, equation)
    assert message in str(error.value)


D2L_LAYERED = (
    'parameters = ["W^{(1)}", "W^{(2)}"]\n[shapes]\nx = "d"\ny = "q"\n"W^{(1)}" = "p x d"\n'
    '"W^{(2)}" = "q x p"\nlambda = "scalar"\n[define]\nz = \'W^{(1)} x\'\nh = \'\\tanh(z)\'\n'
    "o = 'W^{(2)} h'\nL = '\\|o - y\\|^2'\n"
    "J = 'L + \\frac{\\lambda}{2} (\\|W^{(1)}\\|_F^2 + \\|W^{(2)}\\|_F^2)'\n"
)


@pytest.mark.parametrize(
    ("equation", "correct"),
    [
        (
            r"\frac{\partial J}{\partial \mathbf{W}^{(2)}} = \frac{\partial J}{\partial \mathbf{o}} \mathbf{h}^\top + \lambda \mathbf{W}^{(2)}",
            True,
        ),
        (
            r"\frac{\partial J}{\partial \mathbf{h}} = {\mathbf{W}^{(2)}}^\top \frac{\partial J}{\partial \mathbf{o}}",
            True,
        ),
        (
            r"\frac{\partial J}{\partial \mathbf{W}^{(1)}} = \frac{\partial J}{\partial \mathbf{z}} \mathbf{x}^\top",
            False,
        ),
    ],
)
def test_a_layered_name_is_a_name_in_a_graph_spec(equation, correct):
    """d2l's W^{(1)}, W^{(2)} declared as names (sec. 5.3, the regularized MLP)."""
    assert verify(spec_from_toml(D2L_LAYERED), equation).correct == correct


def test_an_ambiguous_times_names_both_readings_of_what_is_written():
    context = spec_from_toml(SPECS["square"])
    with pytest.raises(MatcalcError) as error:
        verify(context, r"\frac{\partial}{\partial X} \operatorname{tr}(A X) = A^T B \times X")
    text = str(error.value)
    assert r"(A^T B)\,X" in text and r"(A^T B) \odot X" in text
    assert text.splitlines()[-1].index("^") == text.splitlines()[-2].index(
        "X", text.splitlines()[-2].index(r"\times")
    )


@pytest.mark.parametrize(
    "delta",
    ['"q"', '{ of = "z", row = 1 }', '{ of = "z", rows = true }', "3"],
)
def test_a_bad_delta_declaration_is_one_clear_error(delta):
    text = BOOK_SPECS["cs224n-delta"].replace(
        'delta = { of = "z", row = true }', f"delta = {delta}"
    )
    with pytest.raises(MatcalcError, match="delta = "):
        spec_from_toml(text)


def test_a_chain_written_from_the_output_down_is_diagnosed_as_in_the_wrong_order(capsys, tmp_path):
    """Not unreadable (exit 2): incorrect (exit 1), its factors in the wrong order."""
    verdict = verify(network("6.390", None, TANHS), REVERSED_CHAIN)
    assert {c.value for c in verdict.error_class} >= {"shape_mismatch", "swapped_order"}
    spec = tmp_path / "net.toml"
    layers = zip((3, 5, 2), TANHS, strict=True)
    spec.write_text(
        'convention = "6.390"\ninput = 4\nloss = "squared"\n'
        + "".join(f'[[layer]]\nsize = {n}\nactivation = "{f}"\n' for n, f in layers)
    )
    assert main(["verify", str(spec), REVERSED_CHAIN]) == 1
    assert "wrong order" in capsys.readouterr().out
