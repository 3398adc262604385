"""The NumPy export of custom activations: it runs, its names never clash, it is stable."""

import warnings

import numpy as np
import pytest
from conftest import finite_difference_gradients

from matcalc.core.expr import Function
from matcalc.engine.derive import derive
from matcalc.printers.numpy_code import HELPER_PREFIX, function_helper
from matcalc.printers.render import render_derivation
from matcalc.specs.network import Network


def spec(name: str, latex: str, loss: str = "squared") -> str:
    return (
        f'input = 2\nloss = "{loss}"\n[[layer]]\nsize = 3\n'
        f'activation = {{ name = "{name}", latex = "{latex}" }}\n'
        '[[layer]]\nsize = 2\nactivation = "identity"\n'
    )


def load(source: str) -> dict:
    """Run generated source (our own output, in tests only) in a fresh namespace."""
    namespace: dict = {}
    exec(compile(source, "<matcalc numpy>", "exec"), namespace)  # noqa: S102
    return namespace


CUSTOM = [
    ("swish", r"z \\sigma(z)"),
    ("softplus", r"\\log(1+e^{z})"),
    ("leaky", r"\\max(z, 0.1 z)"),
    ("clipped", r"\\min(z, 1)"),
    ("one", "1"),
    ("forward", r"\\tanh(z)"),
    ("loss", "z^2"),
    ("gradients", r"\\sqrt{1 + z^2}"),
    ("numpy", r"\\frac{z}{1 + |z|}"),
]


@pytest.mark.parametrize(("name", "latex"), CUSTOM)
def test_export_of_a_custom_activation_runs_and_matches_finite_differences(name, latex):
    network = Network.from_toml(spec(name, latex))
    module = load(render_derivation(derive(network), "numpy"))
    rng = np.random.default_rng(7)
    params = network.random_parameters(rng)
    x, y = network.random_example(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grads = module["gradients"](params, x, y)
        value = module["loss"](params, x, y)
    assert np.isfinite(value)
    numeric = finite_difference_gradients(network, params, x, y)
    for key, gradient in numeric.items():
        assert grads[key].shape == params[key].shape
        np.testing.assert_allclose(grads[key], gradient, rtol=1e-4, atol=1e-6, err_msg=key)


def helper(name: str, latex: str, order: int):
    network = Network.from_toml(spec(name, latex))
    fn = network.activation_function(1)
    helper_name, source = function_helper(Function(name, order, definition=fn.definition))
    assert helper_name.startswith(HELPER_PREFIX)
    return load("import numpy\n" + source)[helper_name]


@pytest.mark.parametrize(
    ("name", "latex", "order", "z", "expected"),
    [
        ("swish", r"z \\sigma(z)", 0, [-800.0, 0.0, 800.0], [0.0, 0.0, 800.0]),
        ("swish", r"z \\sigma(z)", 1, [-800.0, 0.0, 800.0], [0.0, 0.5, 1.0]),
        ("softplus", r"\\log(1+e^{z})", 0, [-800.0, 0.0, 800.0], [0.0, np.log(2), 800.0]),
        ("softplus", r"\\log(1+e^{z})", 1, [-800.0, 0.0, 800.0], [0.0, 0.5, 1.0]),
        ("sig", r"\\frac{1}{1+e^{-z}}", 1, [-800.0, 0.0, 800.0], [0.0, 0.25, 0.0]),
    ],
)
def test_custom_activations_are_exported_in_stable_forms(name, latex, order, z, expected):
    function = helper(name, latex, order)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = function(np.array(z))
    np.testing.assert_allclose(values, expected, atol=1e-12)


def test_a_constant_activation_has_its_arguments_shape():
    function = helper("one", "1", 0)
    assert function(np.zeros((3, 2))).tolist() == [[1.0, 1.0]] * 3
    assert helper("one", "1", 1)(np.zeros((3, 1))).shape == (3, 1)


def test_the_exported_module_imports_only_numpy():
    network = Network.from_toml(spec("leaky", r"\\max(z, 0.1 z)"))
    source = render_derivation(derive(network), "numpy")
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert imports == ["import numpy"] and "functools" not in source
