# ruff: noqa: E501 - tables of formulas as people type them
"""The notation textbooks and students write, read to what it means and checked by verify."""

import json

import pytest
from conftest import TESTS

from matcalc.checks.verify import verify
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
            "both the matrix product A B and the elementwise product",
        ),
        (
            "square",
            r"\frac{\partial}{\partial x} a^T x = \mathbf{1}",
            "takes its size from the matrix beside it",
        ),
        (
            "square",
            r"\frac{\partial}{\partial X} \operatorname{tr}(A X) = (X)^2",
            "a power is read of a scalar only",
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
