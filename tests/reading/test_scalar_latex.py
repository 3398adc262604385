"""User-defined activations and losses in scalar LaTeX: what they mean, and that they work."""

import numpy as np
import pytest
import sympy

from matcalc.checks.verify import verify
from matcalc.cli import main
from matcalc.core import functions
from matcalc.core.numeric import central_difference
from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.reading.scalar_latex import define_activation, read_scalar
from matcalc.specs.network import Network

z = sympy.Symbol("z", real=True)


@pytest.mark.parametrize(
    ("latex", "formula"),
    [
        # \log is the natural log (latex2sympy2_extended reads base 10)
        (r"\log(1 + e^{z})", sympy.log(1 + sympy.exp(z))),
        (r"\ln z", sympy.log(z)),
        (r"\log_2 z", sympy.log(z) / sympy.log(2)),
        # \sigma is the logistic sigmoid, also of an argument that is not a single letter
        (r"z \sigma(z)", z / (1 + sympy.exp(-z))),
        (r"z\,\sigma(1.702 z)", z / (1 + sympy.exp(-sympy.Float("1.702") * z))),
        (r"\sigma\left(2z\right)", 1 / (1 + sympy.exp(-2 * z))),
        (r"\tanh(\ln(1+e^z))", sympy.tanh(sympy.log(1 + sympy.exp(z)))),
        (r"\max(0, z) + 0.01 \min(0, z)", sympy.Max(0, z) + sympy.Float("0.01") * sympy.Min(0, z)),
        (r"\frac{z}{1 + |z|}", z / (1 + sympy.Abs(z))),
        (r"\mathrm{e}^{z}", sympy.exp(z)),
    ],
)
def test_definitions_mean_what_a_lecturer_means(latex, formula):
    read = read_scalar(latex, ("z",), "test")
    values = np.linspace(0.1, 2.0, 7)
    f = sympy.lambdify(z, read, "numpy")
    g = sympy.lambdify(z, formula, "numpy")
    assert np.allclose(f(values), g(values))


@pytest.mark.parametrize(
    ("latex", "message"),
    [
        ("Z", "unknown symbol Z"),  # case is kept: Z is not z
        ("x z", "unknown symbol x"),
        ("z = 1", "not a formula"),
        (r"\sigma z", "sigmoid of a bracket"),
        (r"\sigma'(z)", "not its derivative"),
        (r"\foo z", "cannot read"),
        ("(" * 9 + "z" + ")" * 9, "nested"),
        ("z" * 400, "at most"),
        ("", "non-empty"),
        ("f(z)", "unknown"),
        (r"\frac{1}{0}", "not finite"),
        ("(z", "unbalanced"),
        # each of these made every numeric check (and the NumPy export) hang
        ("99999999!", "factorial in"),
        (r"\sum_{i=1}^{99999999} z", "sum in"),
        (r"\prod_{i=1}^{99999999} z", "product in"),
        (r"\Gamma(z)", "gamma in"),
        ("9^{9^{9}}", "too large"),
    ],
)
def test_bad_definitions_are_clean_errors(latex, message):
    with pytest.raises(MatcalcError, match=message):
        read_scalar(latex, ("z",), "layer 1")


def test_builtin_names_cannot_be_redefined():
    with pytest.raises(MatcalcError, match="built in"):
        define_activation({"name": "tanh", "latex": "z"}, "layer 1")
    with pytest.raises(MatcalcError, match="unknown key"):
        define_activation({"name": "mine", "latex": "z", "extra": 1}, "layer 1")


SPEC = """
input = 3
loss = { name = "logcosh", latex = "\\\\log(\\\\cosh(a - y))" }

[[layer]]
size = 4
activation = { name = "swish", latex = "z \\\\sigma(z)" }

[[layer]]
size = 2
activation = { name = "softplus", latex = "\\\\log(1 + e^{z})" }
"""


def test_custom_activation_and_loss_derive_and_match_finite_differences():
    network = Network.from_toml(SPEC)
    assert network.own_functions["swish"].formula == functions.Z * (
        1 / (1 + sympy.exp(-functions.Z))
    )
    derivation = derive(network)
    rng = np.random.default_rng(1)
    params = network.random_parameters(rng)
    x, y = network.random_example(rng)
    gradients = derivation.numeric_gradients(params, x, y)
    for key, value in params.items():

        def loss(point, key=key):
            return network.loss_value({**params, key: point}, x, y)

        assert np.allclose(gradients[key], central_difference(loss, value), atol=1e-6)


def test_custom_activation_is_read_by_verify():
    network = Network.from_toml(SPEC)
    right = (
        r"\frac{\partial L}{\partial Z^1} = \operatorname{swish}'(Z^1) \odot "
        r"W^2 \frac{\partial L}{\partial Z^2}"
    )
    assert verify(network, right).correct
    wrong = r"\frac{\partial L}{\partial Z^1} = W^2 \frac{\partial L}{\partial Z^2}"
    assert not verify(network, wrong).correct


def test_custom_loss_in_the_cli(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text(SPEC)
    assert main(["derive", str(spec)]) == 0
    closed = r"\sigma\left(Z^{1}\right) + \sigma\left(Z^{1}\right) \odot Z^{1} \odot \left(1"
    assert closed in capsys.readouterr().out  # swish' written out from its definition
    assert main(["derive", str(spec), "--activation-derivative", "prime"]) == 0
    assert r"\operatorname{swish}'" in capsys.readouterr().out
    spec.write_text(SPEC.replace("a - y", "a - q"))
    assert main(["derive", str(spec)]) == 2
    assert "unknown symbol q" in capsys.readouterr().err


def test_two_specs_may_define_one_name_differently():
    """A definition travels with its spec: the second swish does not replace the first."""
    first = Network.from_toml(SPEC)
    second = Network.from_toml(SPEC.replace("z \\\\sigma(z)", "z \\\\tanh(z)"))
    rng = np.random.default_rng(3)
    for network in (first, second, first):
        params = network.random_parameters(rng)
        x, y = network.random_example(rng)
        gradients = derive(network).numeric_gradients(params, x, y)
        key = "W^1"

        def loss(point, network=network, params=params, x=x, y=y, key=key):
            return network.loss_value({**params, key: point}, x, y)

        assert np.allclose(gradients[key], central_difference(loss, params[key]), atol=1e-6)


def test_one_spec_defines_a_name_once():
    twice = SPEC.replace(
        'name = "softplus", latex = "\\\\log(1 + e^{z})"', 'name = "swish", latex = "z"'
    )
    with pytest.raises(MatcalcError, match="defined twice"):
        Network.from_toml(twice)
