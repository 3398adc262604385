"""Backprop over named quantities: every architecture's NumPy gradients against central
differences of an independent forward pass written here in NumPy, random graphs against
central differences of their expanded loss, and the lecture form of the lines."""

import json
import re
import types
from pathlib import Path

import numpy as np
import pytest
import sympy
from conftest import central
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from matcalc.core import numeric
from matcalc.core.expr import Derivative, Symbol
from matcalc.engine.backprop import backprop
from matcalc.printers.graph import render_graph
from matcalc.printers.latex import to_latex
from matcalc.specs.context import spec_from_file, spec_from_toml
from matcalc.specs.graph import Graph

ARCHITECTURES = Path(__file__).resolve().parents[2] / "derivations" / "architectures"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax_columns(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def residual(v):
    a1 = v["x"] + np.tanh(v["W_1"] @ v["x"] + v["b_1"])
    a2 = a1 + np.tanh(v["W_2"] @ a1 + v["b_2"])
    return np.sum((v["V"] @ a2 + v["c"] - v["y"]) ** 2)


def rnn(v):
    h, total = v["h_0"], 0.0
    for t in (1, 2, 3):
        h = np.tanh(v["W"] @ h + v["U"] @ v[f"x_{t}"] + v["b"])
        total += np.sum((v["V"] @ h - v[f"y_{t}"]) ** 2)
    return total


def attention(v):
    q, k, val = v["W_q"] @ v["X"], v["W_k"] @ v["X"], v["W_v"] @ v["X"]
    p = softmax_columns(k.T @ q / np.sqrt(q.shape[0]))
    return np.sum((v["W_o"] @ val @ p - v["Y"]) ** 2)


def batchnorm(v):
    z = v["W"] @ v["X"]
    mu = z.mean(axis=1, keepdims=True)
    var = ((z - mu) ** 2).mean(axis=1, keepdims=True)
    n = (z - mu) / np.sqrt(var + v["epsilon"])
    return np.sum((v["gamma"] * n + v["beta"] - v["T"]) ** 2)


def autoencoder(v):
    h = sigmoid(v["W"] @ v["x"] + v["b"])
    return np.sum((v["W"].T @ h + v["c"] - v["x"]) ** 2)


def conv1d(v):
    z = np.correlate(v["x"][:, 0], v["w"][:, 0], mode="valid")[:, None] + v["b"]
    return np.sum((v["V"] @ np.maximum(z, 0) - v["y"]) ** 2)


def weight_decay(v):
    a1 = sigmoid(v["W_1"] @ v["x"] + v["b_1"])
    p = softmax_columns(v["W_2"] @ a1 + v["b_2"])
    decay = v["lambda"] / 2 * (np.sum(v["W_1"] ** 2) + np.sum(v["W_2"] ** 2))
    return float(-(v["y"].T @ np.log(p))[0, 0]) + decay


def layernorm(v):
    z = v["W"] @ v["x"]
    c = z - z.mean()
    n = c / np.sqrt((c**2).mean() + v["epsilon"])
    return np.sum((v["V"] @ (v["g"] * n + v["b"]) - v["y"]) ** 2)


def highway(v):
    h = np.tanh(v["W_H"] @ v["x"] + v["b_H"])
    g = sigmoid(v["W_G"] @ v["x"] + v["b_G"])
    return np.sum((g * h + (1 - g) * v["x"] - v["y"]) ** 2)


def mlp_batch(v):
    a1 = np.maximum(v["W_1"] @ v["X"] + v["b_1"], 0)
    p = softmax_columns(v["W_2"] @ a1 + v["b_2"])
    return -np.sum(v["Y"] * np.log(p)) / v["X"].shape[1]


FORWARD = {
    "layernorm": layernorm,
    "highway": highway,
    "mlp-batch": mlp_batch,
    "residual": residual,
    "rnn": rnn,
    "attention": attention,
    "batchnorm": batchnorm,
    "autoencoder": autoencoder,
    "conv1d": conv1d,
    "weight-decay": weight_decay,
}


def random_sizes(graph: Graph, rng: np.random.Generator) -> dict:
    """Sizes 2..6 for the size symbols, every declared dimension (n - k + 1) at least 1."""
    dims = sorted(
        {s for sym in graph.context.symbols.values() for d in sym.shape for s in d.free_symbols},
        key=str,
    )
    for _ in range(100):
        sizes = {d: int(rng.integers(2, 7)) for d in dims}
        shapes = [
            [sympy.sympify(d).subs(sizes) for d in s.shape] for s in graph.context.symbols.values()
        ]
        if all(int(d) >= 1 for shape in shapes for d in shape):
            return sizes
    raise AssertionError("no sizes fit")


def random_values(graph: Graph, rng: np.random.Generator) -> dict:
    sizes = random_sizes(graph, rng)
    values = {}
    for key, symbol in graph.context.symbols.items():
        rows, cols = (int(sympy.sympify(d).subs(sizes)) for d in symbol.shape)
        if (rows, cols) == (1, 1):
            values[key] = float(rng.uniform(0.2, 1.5))
        else:
            values[key] = rng.standard_normal((rows, cols))
    return values


def exported(graph: Graph):
    module = types.ModuleType("exported")
    exec(compile(render_graph(backprop(graph), "numpy"), "exported", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("name", sorted(FORWARD))
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_architecture_gradients_match_an_independent_forward_pass(name, seed):
    graph = spec_from_file(ARCHITECTURES / f"{name}.toml")
    module = exported(graph)
    rng = np.random.default_rng(seed)
    values = random_values(graph, rng)
    if name == "weight-decay":  # a one-hot target, as the spec says
        y = np.zeros_like(values["y"])
        y[rng.integers(len(y))] = 1.0
        values["y"] = y
    if name == "mlp-batch":  # away from the ReLU's kink
        assume(np.abs(values["W_1"] @ values["X"] + values["b_1"]).min() > 1e-3)
    if name == "conv1d":  # away from the ReLU's kink
        z = np.correlate(values["x"][:, 0], values["w"][:, 0], "valid") + values["b"]
        values["b"] += 0.5 - np.abs(z).min() if np.abs(z).min() < 0.1 else 0
    forward = FORWARD[name]
    assert module.loss(values) == pytest.approx(forward(values), rel=1e-9)
    gradients = module.gradients(values)
    assert list(gradients) == list(graph.parameter_keys)
    for key in graph.parameter_keys:
        expected = central(forward, values, key)
        np.testing.assert_allclose(gradients[key], expected, rtol=1e-5, atol=1e-6, err_msg=key)
        assert np.shape(gradients[key]) == np.shape(values[key])


# ------------------------------------------------------------------ random graphs

UNARY = (r"\tanh({})", r"\sigma({})", r"({}) \odot ({})", r"\sqrt{{({}) \odot ({}) + 1}}")


@st.composite
def random_graph(draw):
    """A random DAG over d-columns: products with square parameters (shared between uses),
    elementwise functions, skip connections to any earlier quantity, then a squared loss."""
    count = draw(st.integers(1, 6))
    weights = draw(st.integers(1, 3))
    lines = []
    names = ["x"]
    for i in range(count):
        source = draw(st.sampled_from(names))
        weight = f"W_{draw(st.integers(1, weights))}"
        inner = f"{weight} {source} + b"
        shape = draw(st.sampled_from(UNARY))
        body = shape.format(inner, inner) if shape.count("{}") == 2 else shape.format(inner)
        if len(names) > 1 and draw(st.booleans()):
            body = f"{draw(st.sampled_from(names))} + {body}"
        lines.append(f"Q_{i + 1} = '{body}'")
        names.append(f"Q_{i + 1}")
    used = sorted({w for line in lines for w in re.findall(r"W_\d", line)})
    parameters = [*used, "b"]
    spec = (
        f'parameters = {json.dumps(parameters)}\n[shapes]\nx = "d"\ny = "d"\nb = "d"\n'
        + "".join(f'{w} = "d x d"\n' for w in used)
        + "[define]\n"
        + "\n".join(lines)
        + "\nL = '"
        + " + ".join(f"\\|{name} - y\\|^2" for name in names[1:])
        + "'\n"
    )
    return spec


@settings(max_examples=25, deadline=None)
@given(spec=random_graph(), seed=st.integers(0, 2**32 - 1))
def test_random_graphs_match_central_differences_of_the_expanded_loss(spec, seed):
    graph = spec_from_toml(spec)
    assert isinstance(graph, Graph)
    derivation = backprop(graph)
    rng = np.random.default_rng(seed)
    d = sympy.Symbol("d", integer=True, positive=True)
    size = int(rng.integers(1, 4))
    from matcalc.specs.context import concrete

    symbols = {key: concrete(s, {d: size}) for key, s in graph.context.symbols.items()}
    values = {
        key: 0.5 * rng.standard_normal((size, 1 if key in "xyb" else size)) for key in symbols
    }
    loss_expr = concrete(graph.context.expand(graph.loss), {d: size})

    def loss(point_values):
        env = {symbols[k]: v for k, v in point_values.items()}
        return float(numeric.evaluate(loss_expr, env)[0, 0])

    env = {symbols[k]: v for k, v in values.items()}
    concrete_graph = {
        "definitions": {
            concrete(q, {d: size}): concrete(e, {d: size}) for q, e in graph.definitions.items()
        }
    }
    for quantity in graph.quantities:
        cq = concrete(quantity, {d: size})
        env[cq] = numeric.evaluate(concrete_graph["definitions"][cq], env)
    for assignment in derivation.assignments:
        target = concrete(assignment.target, {d: size})
        env[target] = numeric.evaluate(concrete(assignment.value, {d: size}), env)
    for key, assignment in derivation.iter_gradients():
        got = env[concrete(assignment.target, {d: size})]
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, central(loss, values, key), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ the lecture form


def residual_blocks(count: int) -> str:
    shapes = "".join(f'W_{b} = "d x d"\nb_{b} = "d"\n' for b in range(1, count + 1))
    define = "".join(
        f"Z_{b} = 'W_{{{b}}} A_{{{b - 1}}} + b_{{{b}}}'\n"
        f"A_{b} = 'A_{{{b - 1}}} + \\tanh(Z_{{{b}}})'\n"
        for b in range(1, count + 1)
    ).replace("A_{0}", "x")
    parameters = [f"W_{b}" for b in range(1, count + 1)]
    return (
        f"parameters = {json.dumps(parameters)}\n"
        + f'[shapes]\nx = "d"\ny = "d"\n{shapes}[define]\n{define}'
        + f"L = '\\|A_{{{count}}} - y\\|^2'\n"
    )


def test_residual_stack_names_each_block_and_grows_linearly():
    lengths = {}
    for count in (4, 8):
        derivation = backprop(spec_from_toml(residual_blocks(count)))
        text = render_graph(derivation, "latex")
        for b in range(1, count + 1):
            assert f"\\frac{{\\partial L}}{{\\partial A_{{{b}}}}}" in text
        lengths[count] = len(text)
    assert lengths[8] <= 2.6 * lengths[4]


def test_a_residual_connection_gives_a_sum_of_two_terms():
    derivation = backprop(spec_from_file(ARCHITECTURES / "residual.toml"))
    (line,) = [a for a in derivation.quantities if to_latex(a.of) == "A_{1}"]
    text = to_latex(line.value)
    assert text.count(r"\frac{\partial \mathcal{L}}") == 2 and " + " in text
    assert r"1 - \tanh\left(Z_{1}\right) \odot \tanh\left(Z_{1}\right)" in to_latex(
        derivation.quantities[-1].value
    )


def test_a_shared_weight_sums_over_its_uses():
    derivation = backprop(spec_from_file(ARCHITECTURES / "rnn.toml"))
    w = derivation.gradient("W")
    assert len(w.value.terms) == 3
    assert all(isinstance(u, Symbol) for u in w.uses)
    assert {to_latex(u) for u in w.uses} == {"H_{1}", "H_{2}", "H_{3}"}


def test_wrt_prints_only_what_one_parameter_needs():
    derivation = backprop(spec_from_file(ARCHITECTURES / "residual.toml"))
    text = render_graph(derivation, "json", wrt="V")
    assert '"name": "V"' in text and "W_{1}" not in text.split('"assignments"')[1]
    needed = derivation.needed_for(derivation.gradient("W_1"))
    assert [to_latex(a.of) for a in needed][-1] == "W_{1}"
    assert isinstance(needed[0].target, Derivative)


# ------------------------------------------------------------------ one backprop for both

MLP_GRAPH = r"""
parameters = ["W_1", "b_1", "W_2", "b_2"]
[shapes]
x = "d"
y = "k"
W_1 = "h x d"
b_1 = "h"
W_2 = "k x h"
b_2 = "k"
[define]
Z_1 = 'W_1 x + b_1'
A_1 = '\tanh(Z_1)'
Z_2 = 'W_2 A_1 + b_2'
A_2 = '\sigma(Z_2)'
L = '\|A_2 - y\|^2'
"""


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_layer_network_and_its_forward_equations_as_a_graph_spec_agree(seed):
    """[[layer]] is shorthand: the network and the graph spec of its equations, each derived
    by the one backprop over named quantities, give the same gradients."""
    from matcalc.engine.derive import derive
    from matcalc.specs.network import Layer, Network

    rng = np.random.default_rng(seed)
    d, h, k = (int(n) for n in rng.integers(1, 5, size=3))
    network = Network([Layer(h, "tanh"), Layer(k, "sigmoid")], input=d, convention="ng")
    params = network.random_parameters(rng)
    x, y = network.random_example(rng)
    expected = derive(network).numeric_gradients(params, x, y)
    values = {"x": x, "y": y}
    values |= {f"{p}_{l}": params[f"{p}^{l}"] for p in ("W", "b") for l in (1, 2)}
    gradients = exported(spec_from_toml(MLP_GRAPH)).gradients(values)
    for key, value in gradients.items():
        name, layer = key.split("_")
        np.testing.assert_allclose(value, expected[f"{name}^{layer}"], rtol=1e-9, atol=1e-12)


def test_an_inlined_quantity_is_carried_inside_the_gradients_that_use_it(rng):
    """Inlining A_1 of a residual stack: no line names dL/dA_1, every value stays the same."""
    from dataclasses import replace

    from matcalc.core.expr import Fill
    from matcalc.core.shapes import SCALAR
    from matcalc.engine.backprop import backprop_equations

    graph = spec_from_file(ARCHITECTURES / "residual.toml")
    a_1 = graph.context.names["A_1"]
    inlined = replace(graph.equations, inlined=frozenset({a_1}))
    seeds = {graph.loss: (Fill(sympy.Integer(1), SCALAR), ())}
    quantities, parameters = backprop_equations(inlined, seeds)
    assert a_1 in {q.of for q in backprop(graph).quantities}
    assert a_1 not in {q.of for q in quantities}
    gradient_of_a_1 = Derivative(graph.loss, a_1)
    for assignment in (*quantities, *parameters):
        assert gradient_of_a_1 not in set(assignment.value.walk())
        assert a_1 not in assignment.uses
    from matcalc.specs.context import concrete

    named = backprop(graph)
    sizes = random_sizes(graph, rng)
    env = {}
    for symbol in graph.context.symbols.values():
        rows, cols = (int(sympy.sympify(n).subs(sizes)) for n in symbol.shape)
        env[concrete(symbol, sizes)] = rng.standard_normal((rows, cols))
    for quantity in graph.quantities:
        value = concrete(graph.definitions[quantity], sizes)
        env[concrete(quantity, sizes)] = numeric.evaluate(value, env)
    for assignment in named.assignments:
        value = concrete(assignment.value, sizes)
        env[concrete(assignment.target, sizes)] = numeric.evaluate(value, env)
    for assignment in (*quantities, *parameters):
        np.testing.assert_allclose(
            numeric.evaluate(concrete(assignment.value, sizes), env),
            env[concrete(assignment.target, sizes)],
            rtol=1e-9,
        )
