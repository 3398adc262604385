# ruff: noqa: E501 - tables of formulas as people type them
"""Conventions (6.390, ng, goodfellow) and mini-batches: shapes, names, and numbers."""

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import sympy
from conftest import compile_tex
from hypothesis import given, settings
from hypothesis import strategies as st

from matcalc.checks.verify import verify
from matcalc.cli import main
from matcalc.core.numeric import central_difference, evaluate
from matcalc.core.shapes import LAYER_SIZE, ONE, dims_equal
from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.printers.chains import chain_forms
from matcalc.printers.explain import standalone
from matcalc.printers.latex import Notation, convention_derivation_latex
from matcalc.printers.render import Layout, render_derivation
from matcalc.specs.conventions import CONVENTIONS, ConventionError, convention_named
from matcalc.specs.network import Layer, Network, SpecError

PROPERTY = settings(max_examples=50, deadline=None)
OUTPUT_OF_LOSS = {"squared": ("identity", "tanh", "sigmoid", "softmax"), "nll": ("sigmoid",)}
OUTPUT_OF_LOSS["nllm"] = ("softmax",)
HIDDEN = ("identity", "sigmoid", "tanh", "relu", "softmax")
RELU_MARGIN = 1e-3


@st.composite
def networks(draw):
    """(network, seed): any convention, depth 1..4, sizes 1..4, with or without a batch."""
    depth = draw(st.integers(1, 4))
    loss = draw(st.sampled_from(sorted(OUTPUT_OF_LOSS)))
    activations = draw(st.lists(st.sampled_from(HIDDEN), min_size=depth, max_size=depth))
    activations[-1] = draw(st.sampled_from(OUTPUT_OF_LOSS[loss]))
    sizes = draw(st.lists(st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    layers = [Layer(n, f) for n, f in zip(sizes[1:], activations, strict=True)]
    convention = draw(st.sampled_from(sorted(CONVENTIONS)))
    batch = draw(st.one_of(st.none(), st.integers(1, 4)))
    network = Network(layers, sizes[0], loss, convention, batch=batch)
    return network, draw(st.integers(0, 2**32 - 1))


def random_point(network: Network, rng: np.random.Generator):
    """(params, x, y) with every ReLU pre-activation away from its kink and a sigmoid output
    away from 0 and 1, where log(1 - A) leaves central differences no digits to work with."""
    relu = [l for l in network.indices() if network.activation_name(l) == "relu"]
    for _ in range(200):
        params = network.random_parameters(rng)
        x, y = network.random_example(rng)
        env = network.forward(params, x, y)
        output = env[network.activation(network.last)]
        saturated = network.loss == "nll" and (output.min() < 1e-4 or output.max() > 1 - 1e-4)
        if not saturated and all(
            np.abs(env[network.pre_activation(l)]).min() > RELU_MARGIN for l in relu
        ):
            return params, x, y
    pytest.fail("no random point away from the ReLU kinks")


def cost_differences(network: Network, params, x, y) -> dict[str, np.ndarray]:
    """Central differences of the forward cost J with respect to every parameter."""
    return {
        key: central_difference(lambda p, key=key: network.cost_value({**params, key: p}, x, y), v)
        for key, v in params.items()
    }


def assert_close(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key in expected:
        assert actual[key].shape == expected[key].shape, key
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-4, atol=1e-6, err_msg=key)


def derived_gradients(network: Network, params, x, y) -> tuple[dict, dict]:
    """The backprop form's values and the chain form's values, keyed like ``params``."""
    derivation = derive(network)
    env = network.forward(params, x, y)
    chains = {g.key: evaluate(chain_forms(g)[1], env) for g in derivation.gradients()}
    return derivation.numeric_gradients(params, x, y), chains


# ----------------------------------------------------------------------------- the table


@pytest.mark.parametrize("convention", CONVENTIONS.values(), ids=list(CONVENTIONS))
def test_every_convention_states_its_equations_names_and_source(convention):
    assert convention.source and convention.title and convention.equations
    assert convention.note.startswith(convention.name)
    names = convention.names
    for letter in (names.weight, names.pre_activation, names.activation, names.target):
        assert letter.isalpha()
    assert convention.layout == "denominator"


def test_an_unknown_convention_is_named_with_the_known_ones():
    with pytest.raises(
        ConventionError, match="'6.390', 'ng', 'goodfellow', 'nielsen', 'ufldl', 'cs231n', 'bishop'"
    ):
        convention_named("haykin")


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("convention", "weight_shape", "bias", "pre_activation", "activation"),
    [
        ("6.390", (4, 3), "W_0^2", "Z", "A"),
        ("ng", (3, 4), "b^2", "Z", "A"),
        ("goodfellow", (3, 4), "b^2", "a", "h"),
    ],
)
def test_forward_shapes_and_names(convention, weight_shape, bias, pre_activation, activation):
    network = Network(
        [Layer(4, "tanh"), Layer(3, "tanh"), Layer(2, "identity")],
        5,
        "squared",
        convention,
        batch=6,
    )
    weight = network.weight(2)
    assert tuple(int(d) for d in weight.shape) == weight_shape
    assert network.parameter_key(network.bias(2)) == bias
    z = network.pre_activation_expr(2)
    assert tuple(int(d) for d in z.shape) == (3, 6)
    assert network.pre_activation(2).name == pre_activation
    assert network.activation(1).name == activation


def test_ng_sizes_are_n_of_the_previous_layer_not_m():
    network = Network([Layer(None, "tanh"), Layer(None, "sigmoid")], loss="nll", convention="ng")
    rows, cols = network.weight(2).shape
    assert rows == LAYER_SIZE[2] and cols == LAYER_SIZE[1]


def test_a_symbolic_batch_is_the_number_of_columns():
    network = Network([Layer(3, "sigmoid")], 2, "nll", "ng", batch="m")
    m = sympy.Symbol("m", integer=True, positive=True)
    assert network.activation(1).shape == (3, m)
    assert network.cost_scale == 1 / m
    assert dims_equal(network.bias(1).shape[1], ONE)


# ----------------------------------------------------------------------------- numbers


@given(networks())
@PROPERTY
def test_every_convention_matches_finite_differences_of_the_cost(case):
    network, seed = case
    params, x, y = random_point(network, np.random.default_rng(seed))
    expected = cost_differences(network, params, x, y)
    backprop, chain = derived_gradients(network, params, x, y)
    assert_close(backprop, expected)
    assert_close(chain, expected)


def example(network: Network, x, y):
    """One example's input and target (columns), in the network's orientation."""
    return (x.T, y.T) if network.declaration.examples_as_rows else (x, y)


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_a_batch_gradient_is_the_mean_of_the_per_example_gradients(convention, rng):
    layers = [Layer(3, "tanh"), Layer(4, "softmax")]
    batched = Network(layers, 2, "nllm", convention, batch=5)
    single = batched.example_network()
    params, x, y = random_point(batched, rng)
    total = derive(batched).numeric_gradients(params, x, y)
    derivation = derive(single)
    if batched.declaration.examples_as_rows:  # CS231n: an example is a row
        x, y = x.T, y.T
    per_example = [
        derivation.numeric_gradients(params, *example(batched, x[:, [k]], y[:, [k]]))
        for k in range(x.shape[1])
    ]
    mean = {key: sum(g[key] for g in per_example) / len(per_example) for key in total}
    assert_close(total, mean)


def test_the_check_fails_without_the_one_over_k(rng):
    """A gradient that forgets the mean (the sum, not 1/K of it) does not pass."""
    network = Network([Layer(3, "tanh"), Layer(1, "sigmoid")], 4, "nll", "ng", batch=6)
    params, x, y = random_point(network, rng)
    derived, _ = derived_gradients(network, params, x, y)
    derived["W^1"] = derived["W^1"] * 6
    with pytest.raises(AssertionError):
        assert_close(derived, cost_differences(network, params, x, y))


def test_columnwise_softmax_pullback_matches_finite_differences(rng):
    network = Network([Layer(4, "softmax")], 3, "squared", "6.390", batch=3)
    params, x, y = random_point(network, rng)
    backprop, _ = derived_gradients(network, params, x, y)
    assert_close(backprop, cost_differences(network, params, x, y))


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'convention = "haykin"',
            "known conventions are '6.390', 'ng', 'goodfellow', 'nielsen', 'ufldl', 'cs231n', 'bishop'",
        ),
        ("convention = 6390", "known conventions are"),
        ("batch = 0", "batch = 0: a size must be between 1"),
        ("batch = -3", "batch = -3"),
        ("batch = true", "batch = True"),
        ("batch = 2.5", "batch = 2.5"),
        ('batch = "two words"', "batch = 'two words'"),
        ('batch = "m^1"', "batch = 'm^1': the batch size is an integer or a plain name"),
        ('batch = "L"', "not a layer size or a layer index"),
    ],
)
def test_bad_convention_or_batch_is_one_line_and_exit_2(line, message, tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text(f'{line}\nloss = "nll"\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n')
    with pytest.raises(SpecError, match=re.escape(message)):
        Network.from_file(spec)
    assert main(["derive", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


# ----------------------------------------------------------------------------- numpy export


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize("batch", [None, 4, "K"])
def test_numpy_export_keeps_the_conventions_keys_and_shapes(convention, batch, rng):
    """Symbolic sizes and a symbolic batch are read from the arrays at run time."""
    layers = [Layer(None, "relu"), Layer(None, "softmax")]
    network = Network(layers, None, "nllm", convention, batch=batch)
    source = render_derivation(derive(network), "numpy")
    namespace: dict = {}
    exec(compile(source, "<matcalc numpy>", "exec"), namespace)  # noqa: S102 - our own output
    concrete = network.at_sizes([3, 4, 2], batch=5 if batch == "K" else None)
    params, x, y = random_point(concrete, rng)
    assert set(params) == {f"W^{l}" for l in (1, 2)} | {
        concrete.parameter_key(concrete.bias(1)),
        concrete.parameter_key(concrete.bias(2)),
    }
    assert namespace["loss"](params, x, y) == pytest.approx(concrete.cost_value(params, x, y))
    assert_close(namespace["gradients"](params, x, y), cost_differences(concrete, params, x, y))


# ----------------------------------------------------------------------------- printing

GOLDEN = {
    ("ng", None): [
        r"dZ^{[2]} &= A^{[2]} - Y",
        r"dW^{[2]} &= dZ^{[2]}\,A^{[1]T}",
        r"db^{[2]} &= dZ^{[2]}",
        r"dZ^{[1]} &= W^{[2]T}\,dZ^{[2]} * \left(1 - A^{[1]} * A^{[1]}\right)",
        r"dW^{[1]} &= dZ^{[1]}\,A^{[0]T}",
        r"db^{[1]} &= dZ^{[1]}",
    ],
    ("ng", "m"): [
        r"dZ^{[2]} &= A^{[2]} - Y",
        r"dW^{[2]} &= \frac{1}{m}\,dZ^{[2]}\,A^{[1]T}",
        r"db^{[2]} &= \frac{1}{m}\,\sum_{i=1}^{m} dZ^{[2](i)}",
        r"dZ^{[1]} &= W^{[2]T}\,dZ^{[2]} * \left(1 - A^{[1]} * A^{[1]}\right)",
        r"dW^{[1]} &= \frac{1}{m}\,dZ^{[1]}\,A^{[0]T}",
        r"db^{[1]} &= \frac{1}{m}\,\sum_{i=1}^{m} dZ^{[1](i)}",
    ],
    ("goodfellow", None): [
        r"g &\leftarrow \nabla_{a^{(2)}} J = h^{(2)} - y",
        r"\nabla_{b^{(2)}} J &= g",
        r"\nabla_{W^{(2)}} J &= g\,h^{(1)\top}",
        r"g &\leftarrow \nabla_{h^{(1)}} J = W^{(2)\top}\,g",
        r"g &\leftarrow \nabla_{a^{(1)}} J = g \odot \left(1 - h^{(1)} \odot h^{(1)}\right)",
        r"\nabla_{b^{(1)}} J &= g",
        r"\nabla_{W^{(1)}} J &= g\,h^{(0)\top}",
    ],
    ("goodfellow", "m"): [
        r"g &\leftarrow \nabla_{a^{(2)}} J = \frac{1}{m}\,\left(h^{(2)} - y\right)",
        r"\nabla_{b^{(2)}} J &= g\,\mathbf{1}_{m}",
        r"\nabla_{W^{(2)}} J &= g\,h^{(1)\top}",
        r"g &\leftarrow \nabla_{h^{(1)}} J = W^{(2)\top}\,g",
        r"g &\leftarrow \nabla_{a^{(1)}} J = g \odot \left(1 - h^{(1)} \odot h^{(1)}\right)",
        r"\nabla_{b^{(1)}} J &= g\,\mathbf{1}_{m}",
        r"\nabla_{W^{(1)}} J &= g\,h^{(0)\top}",
    ],
    ("6.390", "m"): [
        r"\frac{\partial J}{\partial W^{1}} &= \frac{1}{m}\,A^{0}\,"
        r"\left(\frac{\partial \mathcal{L}}{\partial Z^{1}}\right)^{T}",
        r"\frac{\partial J}{\partial W_{0}^{1}} &= \frac{1}{m}\,"
        r"\frac{\partial \mathcal{L}}{\partial Z^{1}}\,\mathbf{1}_{m}",
        r"\frac{\partial J}{\partial W^{2}} &= \frac{1}{m}\,A^{1}\,"
        r"\left(\frac{\partial \mathcal{L}}{\partial Z^{2}}\right)^{T}",
        r"\frac{\partial J}{\partial W_{0}^{2}} &= \frac{1}{m}\,"
        r"\frac{\partial \mathcal{L}}{\partial Z^{2}}\,\mathbf{1}_{m}",
        r"\frac{\partial \mathcal{L}}{\partial Z^{2}} &= A^{2} - Y",
        r"\frac{\partial \mathcal{L}}{\partial Z^{1}} &= \left(1 - A^{1} \odot A^{1}\right) \odot "
        r"\left(W^{2}\,\frac{\partial \mathcal{L}}{\partial Z^{2}}\right)",
    ],
}


def small_network(convention: str, batch) -> Network:
    return Network([Layer(3, "tanh"), Layer(1, "sigmoid")], 2, "nll", convention, batch=batch)


@pytest.mark.parametrize(("convention", "batch"), GOLDEN, ids=[f"{c}-{b}" for c, b in GOLDEN])
def test_each_convention_prints_in_its_own_notation(convention, batch):
    network = small_network(convention, batch)
    text = render_derivation(derive(network), "latex")
    comment, body = text.split("\n", 1)
    assert comment.startswith(f"% {convention} convention")
    assert ("batch of m examples" in comment) == (batch is not None)
    assert body.startswith("\\[\n") and body.endswith("\n\\]"), "a display, to paste in a body"
    body = body.removeprefix("\\[\n").removesuffix("\n\\]")
    lines = body.removeprefix("\\begin{aligned}\n").removesuffix("\n\\end{aligned}")
    assert lines.split(" \\\\\n") == GOLDEN[convention, batch]


SYMBOLIC_DEPTH = {
    "ng": r"dZ^{[l]} &= W^{[l+1]T}\,dZ^{[l+1]} * g^{[l]\prime}\left(Z^{[l]}\right)",
    "goodfellow": r"g &\leftarrow \nabla_{a^{(k)}} J = g \odot f^{(k)\prime}\left(a^{(k)}\right)",
}


@pytest.mark.parametrize("convention", SYMBOLIC_DEPTH)
def test_the_general_layer_reads_as_in_the_source(convention):
    activation = "g" if convention == "ng" else "f"
    network = Network([Layer(None, activation)], depth="L", convention=convention)
    assert SYMBOLIC_DEPTH[convention] in render_derivation(derive(network), "latex")


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_json_names_the_convention_and_the_batch(convention, tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text(
        f'convention = "{convention}"\nloss = "nll"\nbatch = 6\n'
        '[[layer]]\nsize = 3\nactivation = "tanh"\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n'
    )
    assert main(["derive", str(spec), "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["convention_name"] == convention and record["batch"] == "6"
    assert record["convention"].startswith(convention)
    keys = [g["name"] for g in record["gradients"]]
    bias = "W_0" if convention == "6.390" else "b"
    assert keys == ["W^1", f"{bias}^1", "W^2", f"{bias}^2"]


@pytest.mark.parametrize(
    ("convention", "name", "key"), [("ng", "b^{[2]}", "b^2"), ("goodfellow", "W^{(1)}", "W^1")]
)
def test_wrt_accepts_the_conventions_own_spelling(convention, name, key):
    assert derive(small_network(convention, None)).gradient(name).key == key


@pytest.mark.parametrize(("convention", "batch"), GOLDEN, ids=[f"{c}-{b}" for c, b in GOLDEN])
def test_the_printed_latex_compiles(convention, batch, tmp_path):
    """The latex format is a document body: pasted as it is, it compiles."""
    body = render_derivation(derive(small_network(convention, batch)), "latex")
    compile_tex(standalone(body), tmp_path)


# ----------------------------------------------------------------------------- verify


def ng_network(batch) -> Network:
    return Network([Layer(3, "tanh"), Layer(1, "sigmoid")], 4, "nll", "ng", batch=batch)


def goodfellow_network(batch) -> Network:
    layers = [Layer(3, "tanh"), Layer(4, "relu"), Layer(2, "sigmoid")]
    return Network(layers, 3, "nll", "goodfellow", batch=batch)


def mit_batch_network(batch) -> Network:
    return Network([Layer(3, "relu"), Layer(4, "softmax")], 5, "nllm", "6.390", batch=batch)


# (network, formula, correct, error classes of the diagnosis when one is expected)
VERIFY_CASES = {
    # Ng, Neural Networks and Deep Learning, weeks 3-4: the backprop summary
    "ng-dZ-output": (ng_network("m"), r"dZ^{[2]} = A^{[2]} - Y", True, ()),
    "ng-dW": (ng_network("m"), r"dW^{[2]} = \frac{1}{m} dZ^{[2]} A^{[1]T}", True, ()),
    "ng-dW-no-mean": (
        ng_network("m"),
        r"dW^{[2]} = dZ^{[2]} A^{[1]T}",
        False,
        ("missing_batch_mean",),
    ),
    "ng-dZ-general": (
        ng_network(6),
        r"dZ^{[l]} = W^{[l+1]T}dZ^{[l+1]} * g^{[l]\prime}\left(Z^{[l]}\right)",
        True,
        (),
    ),
    "ng-dZ-tanh": (
        ng_network(6),
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - A^{[1]} * A^{[1]})",
        True,
        (),
    ),
    "ng-dZ-no-transpose": (
        ng_network(6),
        r"dZ^{[1]} = W^{[2]} dZ^{[2]} * g^{[1]\prime}(Z^{[1]})",
        False,
        ("missing_transpose",),
    ),
    "ng-dZ-wrong-argument": (
        ng_network(6),
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]\prime}(A^{[1]})",
        False,
        ("wrong_factor",),
    ),
    "ng-dA": (ng_network(6), r"dA^{[1]} = W^{[2]T} dZ^{[2]}", True, ()),
    "ng-dW-6390-habit": (
        ng_network(6),
        r"dW^{[l]} = \frac{1}{m} A^{[l-1]} dZ^{[l]T}",
        False,
        ("missing_transpose",),
    ),
    "ng-db": (ng_network("m"), r"db^{[l]} = \frac{1}{m}\sum_{i=1}^{m} dZ^{[l](i)}", True, ()),
    "ng-db-no-mean": (
        ng_network(6),
        r"db^{[l]} = \sum_{i=1}^{m} dZ^{[l](i)}",
        False,
        ("missing_batch_mean",),
    ),
    "ng-dW-sum-over-examples": (
        ng_network(6),
        r"dW^{[l]} = \frac{1}{m}\sum_{i=1}^{m} dZ^{[l](i)} A^{[l-1](i)T}",
        True,
        (),
    ),
    "ng-one-example-X": (ng_network(None), r"dW^{[1]} = dZ^{[1]} X^T", True, ()),
    "ng-one-example": (ng_network(None), r"dW^{[l]} = dZ^{[l]} A^{[l-1]T}", True, ()),
    "ng-db-one-example": (ng_network(None), r"db^{[l]} = dZ^{[l]}", True, ()),
    # Goodfellow, Bengio and Courville, Deep Learning, Algorithm 6.4 (g the running gradient)
    "gf-weights": (goodfellow_network(None), r"\nabla_{W^{(k)}} J = g h^{(k-1)\top}", True, ()),
    "gf-weights-transposed": (
        goodfellow_network(None),
        r"\nabla_{W^{(k)}} J = h^{(k-1)} g^\top",
        False,
        ("missing_transpose",),
    ),
    "gf-pre-activation": (
        goodfellow_network(None),
        r"\nabla_{a^{(k)}} J = g \odot f'(a^{(k)})",
        True,
        (),
    ),
    "gf-pre-activation-at-h": (
        goodfellow_network(None),
        r"\nabla_{a^{(k)}} J = g \odot f'(h^{(k)})",
        False,
        (),
    ),
    "gf-lower-layer": (goodfellow_network(None), r"\nabla_{h^{(k-1)}} J = W^{(k)\top} g", True, ()),
    "gf-lower-layer-no-transpose": (
        goodfellow_network(None),
        r"\nabla_{h^{(k-1)}} J = W^{(k)} g",
        False,
        ("missing_transpose",),
    ),
    "gf-bias": (goodfellow_network(None), r"\nabla_{b^{(k)}} J = g", True, ()),
    "gf-output": (goodfellow_network(None), r"\nabla_{a^{(3)}} J = \hat{y} - y", True, ()),
    "gf-output-sign": (
        goodfellow_network(None),
        r"\nabla_{a^{(3)}} J = y - \hat{y}",
        False,
        ("wrong_sign",),
    ),
    "gf-batch-output": (
        goodfellow_network("m"),
        r"\nabla_{a^{(3)}} J = \frac{1}{m}(h^{(3)} - y)",
        True,
        (),
    ),
    "gf-batch-weights": (
        goodfellow_network("m"),
        r"\nabla_{W^{(k)}} J = g h^{(k-1)\top}",
        True,
        (),
    ),
    "gf-batch-weights-twice-the-mean": (
        goodfellow_network("m"),
        r"\nabla_{W^{(k)}} J = \frac{1}{m} g h^{(k-1)\top}",
        False,
        ("extra_batch_mean",),
    ),
    # 6.390 over a batch; CS231n's dW = X^T dscores, with dscores = dJ/dZ already holding 1/K
    "mit-batch-weights": (
        mit_batch_network("K"),
        r"\frac{\partial J}{\partial W^{l}} = \frac{1}{K} A^{l-1} "
        r"\left(\frac{\partial L}{\partial Z^{l}}\right)^T",
        True,
        (),
    ),
    "mit-batch-weights-sum": (
        mit_batch_network("K"),
        r"\frac{\partial J}{\partial W^{l}} = A^{l-1} \left(\frac{\partial L}{\partial Z^{l}}\right)^T",
        False,
        ("missing_batch_mean",),
    ),
    "cs231n-dW-from-dscores": (
        mit_batch_network("K"),
        r"\frac{\partial J}{\partial W^{l}} = A^{l-1} \left(\frac{\partial J}{\partial Z^{l}}\right)^T",
        True,
        (),
    ),
    "mit-batch-softmax": (
        mit_batch_network("K"),
        r"\frac{\partial L}{\partial Z^{2}} = A^{2} - Y",
        True,
        (),
    ),
    "cs231n-dscores-without-mean": (
        mit_batch_network("K"),
        r"\frac{\partial J}{\partial Z^{2}} = A^{2} - Y",
        False,
        ("missing_batch_mean",),
    ),
    "cs231n-dscores": (
        mit_batch_network(8),
        r"\frac{\partial J}{\partial Z^{2}} = \frac{1}{K}(A^{2} - Y)",
        True,
        (),
    ),
}


@pytest.mark.parametrize(
    ("network", "equation", "correct", "classes"), VERIFY_CASES.values(), ids=VERIFY_CASES.keys()
)
def test_formulas_verify_under_the_specs_convention(network, equation, correct, classes):
    verdict = verify(network, equation)
    assert verdict.correct == correct, verdict.reason
    assert set(classes) <= set(verdict.error_class), (verdict.error_class, verdict.reason)


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        (ng_network("m"), r"dW^{[l]} = \frac{1}{m}\,dZ^{[l]}\,A^{[l-1]T}"),
        (goodfellow_network(None), r"\nabla_{W^{(k)}} J = \nabla_{a^{(k)}} J\,h^{(k-1)\top}"),
    ],
)
def test_the_expected_formula_is_in_the_conventions_notation(network, expected):
    lhs = "dW^{[l]}" if network.convention == "ng" else r"\nabla_{W^{(k)}} J"
    verdict = verify(network, f"{lhs} = 0")
    assert not verdict.correct
    assert f"{verdict.target} = {verdict.expected}" == expected


def test_a_formula_right_in_one_convention_is_wrong_in_another():
    """Z = W A + b's weight gradient: right under Ng, the transpose of 6.390's answer."""
    ng = verify(ng_network(None), r"dW^{[l]} = dZ^{[l]} A^{[l-1]T}")
    mit = verify(
        Network([Layer(3, "tanh"), Layer(1, "sigmoid")], 4, "nll"),
        r"\frac{\partial L}{\partial W^l} = \frac{\partial L}{\partial Z^l} (A^{l-1})^T",
    )
    assert ng.correct and not mit.correct
    assert "convention_mismatch" in mit.error_class


def test_verify_cli_reads_the_specs_convention(tmp_path, capsys):
    spec = tmp_path / "ng.toml"
    spec.write_text(
        'convention = "ng"\ninput = 4\nloss = "nll"\nbatch = 6\n[[layer]]\nsize = 3\n'
        'activation = "tanh"\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n'
    )
    right = r"dZ^{[1]} = W^{[2]T}dZ^{[2]} * g^{[1]\prime}\left(Z^{[1]}\right)"
    assert main(["verify", str(spec), right]) == 0
    assert main(["verify", str(spec), right.replace("T}", "}"), "--json"]) == 1
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert record["verdict"] == "incorrect" and record["target"] == "dZ^{[1]}"


def derived_lines(network: Network) -> list[str]:
    """Each line the convention's layout prints, as an equation (Goodfellow's g <- dropped)."""
    body = convention_derivation_latex(derive(network), Notation.of(network.declaration))
    lines = body.removeprefix("\\begin{aligned}\n").removesuffix("\n\\end{aligned}")
    equations = [line.replace("&", "") for line in lines.split(" \\\\\n")]
    return [eq.split("\\leftarrow", 1)[-1] for eq in equations]


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize("batch", [None, "m", 5])
def test_what_derive_prints_verifies_as_correct(convention, batch):
    """Printing and reading agree: every line of each convention's layout is right."""
    layers = [Layer(3, "tanh"), Layer(4, "relu"), Layer(2, "sigmoid")]
    network = Network(layers, 2, "nll", convention, batch=batch)
    for equation in derived_lines(network):
        verdict = verify(network, equation)
        assert verdict.correct, (equation, verdict.reason)


@pytest.mark.parametrize(
    ("equation", "message"),
    [
        (r"db^{[l]} = \frac{1}{m} dZ^{[l](i)}", "is one example's column"),
        (r"db^{[l]} = \frac{1}{m}\sum_{i=1}^{3} dZ^{[l](i)}", "runs from 1 to the batch size"),
        (r"db^{[l]} = \frac{1}{m}\sum_{i=2}^{m} dZ^{[l](i)}", "runs from 1 to the batch size"),
    ],
)
def test_a_misused_example_index_is_bad_input(equation, message):
    with pytest.raises(MatcalcError, match=message):
        verify(ng_network(6), equation)


def test_columnwise_softmax_prints_its_ones_matrix_as_two_vectors():
    network = Network([Layer(3, "softmax")], 3, "squared", "goodfellow", batch="m")
    text = render_derivation(derive(network), "latex")
    assert (
        r"g &\leftarrow \nabla_{a^{(1)}} J = \left(g - \mathbf{1}_{3}\,\mathbf{1}_{3}^{\top}\,"
        r"\left(g \odot h^{(1)}\right)\right) \odot h^{(1)}" in text
    )


# ----------------------------------------------------------------------------- weight decay


@st.composite
def decayed_networks(draw):
    """(network, seed) as :func:`networks` draws them, with a weight decay (a number)."""
    network, seed = draw(networks())
    return replace(network, weight_decay=draw(st.sampled_from((0.3, 2, 1e-2)))), seed


@PROPERTY
@given(decayed_networks())
def test_weight_decay_gradients_match_finite_differences(case):
    """J = L (/K) + (lambda/2) sum_l ||W^l||_F^2 in every convention, with and without a batch:
    the backprop form and the chain form against central differences of J."""
    network, seed = case
    params, x, y = random_point(network, np.random.default_rng(seed))
    backprop, chains = derived_gradients(network, params, x, y)
    expected = cost_differences(network, params, x, y)
    assert_close(backprop, expected)
    assert_close(chains, expected)


@pytest.mark.parametrize(
    ("convention", "batch", "weight", "bias"),
    [
        (
            "6.390",
            None,
            r"A^{0}\,\left(\frac{\partial \mathcal{L}}{\partial Z^{1}}\right)^{T} + \lambda\,W^{1}",
            r"\frac{\partial \mathcal{L}}{\partial Z^{1}}",
        ),
        (
            "ng",
            "m",
            r"\frac{1}{m}\,dZ^{[1]}\,A^{[0]T} + \lambda\,W^{[1]}",
            r"\frac{1}{m}\,\sum_{i=1}^{m} dZ^{[1](i)}",
        ),
        (
            "goodfellow",
            "m",
            r"\nabla_{a^{(1)}} J\,h^{(0)\top} + \lambda\,W^{(1)}",
            r"\nabla_{a^{(1)}} J\,\mathbf{1}_{m}",
        ),
        (
            "ufldl",
            None,
            r"\frac{\partial \mathcal{L}}{\partial z^{(2)}}\,(a^{(1)})^{T} + \lambda\,W^{(1)}",
            r"\frac{\partial \mathcal{L}}{\partial z^{(2)}}",
        ),
    ],
)
def test_every_output_states_the_weight_decay(convention, batch, weight, bias):
    """The weight gradients gain lambda W^l and the biases do not, in the convention's own
    notation; LaTeX, JSON, the steps and the NumPy export state the regularized objective."""
    network = Network(
        [Layer(3, "tanh"), Layer(2, "sigmoid")], 4, "nll", convention, batch=batch,
        weight_decay="lambda",
    )  # fmt: skip
    derivation = derive(network)
    notation = Notation.of(network.declaration)
    latex = render_derivation(derivation, "tex")
    decayed = weight[
        weight.index(r" + \lambda") :
    ]  # as Algorithm 6.4 prints it too: g ... + lambda W
    assert decayed in latex and "\\lambda\\,b" not in latex and "\\lambda\\,W_{0}" not in latex
    assert r"\frac{\lambda}{2}" in latex and "biases are not regularized" in latex
    record = json.loads(render_derivation(derivation, "json"))
    assert record["weight_decay"] == "lambda" and "weight decay" in record["convention"]
    by_name = {g["name"]: g for g in record["gradients"]}
    assert by_name["W^1"]["simplified"] == weight
    assert by_name[network.parameter_key(network.bias(1))]["simplified"] == bias
    steps = render_derivation(derivation, "markdown", notation=notation, layout=Layout(steps=True))
    assert decayed in steps
    assert "weight decay" in render_derivation(derivation, "numpy")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "weight_decay = -1: a weight decay is between 0"),
        ("0", "weight_decay = 0: a weight decay is between 0"),
        ("true", "weight_decay = True: a weight decay is a positive number or a name"),
        ('"2x"', "weight_decay = '2x': a weight decay is a positive number or a name"),
        ("[1]", "weight_decay = [1]: a weight decay is a positive number or a name"),
    ],
)
def test_a_bad_weight_decay_is_named(value, message):
    spec = f'weight_decay = {value}\n[[layer]]\nsize = 2\nactivation = "tanh"\n'
    with pytest.raises(SpecError, match=re.escape(message)):
        Network.from_toml(spec)


# ----------------------------------------------------------------------------- examples as rows


def test_examples_as_rows_have_row_shapes_and_a_row_bias():
    """CS231n: X is N x d, W^l in x out, b^l a 1 x n^l row broadcast as 1_N b^l, Z^l N x n^l."""
    network = Network([Layer(3, "tanh"), Layer(2, "softmax")], 4, "nllm", "cs231n", batch=5)
    assert network.activation(0).shape == (5, 4)
    assert network.weight(1).shape == (4, 3) and network.bias(1).shape == (1, 3)
    assert network.pre_activation(2).shape == (5, 2) and network.target().shape == (5, 2)
    params, x, y = random_point(network, np.random.default_rng(7))
    env = network.forward(params, x, y)
    z1 = x @ params["W^1"] + params["b^1"]
    np.testing.assert_allclose(env[network.pre_activation(1)], z1)
    a2 = env[network.activation(2)]
    np.testing.assert_allclose(a2.sum(axis=1), np.ones(5))  # each row's softmax
    assert y.sum(axis=1).tolist() == [1.0] * 5  # one-hot rows
