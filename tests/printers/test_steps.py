"""The derivation step by step: from the loss back to dL/dW^1, each line true and sourced."""

import numpy as np
import pytest

from matcalc.core.expr import Cdots, MatMul
from matcalc.core.numeric import EvaluationError, evaluate
from matcalc.core.shapes import dims_equal
from matcalc.engine.derive import derive
from matcalc.printers.chains import chains_of
from matcalc.printers.steps import Line, at_layer, line_rows, steps, steps_blocks
from matcalc.specs.network import Layer, Network

GENERIC = Network.from_dict({"depth": "L", "layer": [{"activation": "f"}]})
NETWORKS = [
    Network([Layer(4, "relu"), Layer(3, "tanh"), Layer(3, "softmax")], input=5, loss="nllm"),
    Network([Layer(3, "sigmoid"), Layer(2, "sigmoid")], input=2, loss="squared"),
    Network([Layer(1, "sigmoid")], input=3, loss="nll"),
    Network([Layer(2, "tanh")] * 4 + [Layer(2, "identity")], input=2, loss="squared"),
]


@pytest.mark.parametrize("network", NETWORKS)
def test_steps_go_from_the_loss_to_the_first_weight_one_layer_each(network):
    records = steps(derive(network))
    assert records[0].title.startswith("Start from the loss")
    assert records[-1].title.endswith("what we are after, the gradient for $W^{1}$")
    assert [s.layer for s in records] == list(reversed(network.indices()))
    first = records[0].lines[0]
    assert first.lhs.den == network.activation(network.last)  # dL/dA^L
    targets = [line.lhs for line in records[-1].lines if line.lhs is not None]
    assert derive(network).layers[1].dw in targets


@pytest.mark.parametrize("network", NETWORKS)
def test_every_line_holds_numerically(network, rng):
    """Each right side that can be evaluated equals its left side's backprop value."""
    derivation = derive(network)
    params = network.random_parameters(rng)
    x, y = network.random_example(rng)
    env = derivation.backward(network.forward(params, x, y))
    for layer in chains_of(derivation).layers.values():
        if layer.loss is not None:
            env[layer.loss.name] = evaluate(layer.loss.value, env)
    checked = 0
    for step in steps(derivation):
        lhs = None
        for line in step.lines:
            lhs = line.lhs or lhs
            try:
                value = evaluate(line.rhs, env)
            except EvaluationError:
                continue
            np.testing.assert_allclose(value, evaluate(lhs, env), rtol=1e-9, atol=1e-12)
            checked += 1
    assert checked >= 4 * len(network.layers)


@pytest.mark.parametrize("network", NETWORKS)
def test_products_fit_and_every_identity_line_names_its_source(network):
    for step in steps(derive(network)):
        for line in step.lines:
            if isinstance(line.rhs, MatMul):
                for left, right in zip(line.rhs.factors, line.rhs.factors[1:], strict=False):
                    assert dims_equal(left.shape[1], right.shape[0])
            assert line.rules or line.note or line.lhs is None
            assert all(rule.source for rule in line.rules)


def test_general_network_unrolls_the_chain_and_ends_at_layer_one():
    records = steps(derive(GENERIC))
    assert [s.title for s in records][:2] == [
        "Start from the loss",
        "Jump to a general layer $l$, given the layer after it",
    ]
    assert any(isinstance(g.elided, Cdots) for g in records[-2].chain)
    text = " ".join(row.rhs for line in records[-1].lines for row in line_rows(line))
    assert "A^{0}" in text and r"\partial W^{1}" in "".join(
        row.lhs for line in records[-1].lines for row in line_rows(line)
    )


def test_at_layer_substitutes_index_and_shapes():
    layer = chains_of(derive(GENERIC)).layer(GENERIC.indices()[0])
    link = at_layer(layer.weight_link.value, 1)
    assert str(link) == "A^{0}" and str(link.shape[0]) == "m[1]"


def test_printed_steps_name_the_identity_with_its_source():
    blocks = steps_blocks(steps(derive(NETWORKS[0])))
    text = repr(blocks)
    assert "softmax with nllm" in text and "Matrix Cookbook eq." in text
    assert "by the chain rule" in text


def test_a_line_without_shapes_prints_plainly():
    line = Line(None, derive(NETWORKS[1]).layers[1].dz_value, shapes=False)
    assert r"\underbrace" not in line_rows(line)[0].rhs


@pytest.mark.parametrize(
    ("wanted", "layers", "title"),
    [
        ("W^3", [3], "Start from the loss: what we are after, the gradient for $W^{3}$"),
        ("W^2", [3, 2], "Finally, layer 2: what we are after, the gradient for $W^{2}$"),
        ("W_0^2", [3, 2], "Finally, layer 2: what we are after, the gradient for $W_{0}^{2}$"),
        ("W^1", [3, 2, 1], "Finally, layer 1: what we are after, the gradient for $W^{1}$"),
    ],
)
def test_steps_end_at_the_chosen_parameter(wanted, layers, title):
    derivation = derive(NETWORKS[0])
    records = steps(derivation, derivation.gradient(wanted).target)
    assert [s.layer for s in records] == layers
    assert records[-1].title == title
    targets = [line.lhs for line in records[-1].lines if line.lhs is not None]
    assert derivation.gradient(wanted).target in targets


def test_the_chosen_parameter_is_named_in_the_readers_notation():
    from matcalc.printers.latex import Notation

    derivation = derive(NETWORKS[0])
    notation = Notation(layer_style="bracket")
    records = steps(derivation, derivation.gradient("W^2").target, notation)
    assert records[-1].title.endswith("the gradient for $W^{[2]}$")
