"""The views printed beside backprop, built from the network and the engine's assignments:
the named Jacobians of each layer, dL/dZ^l with f' kept, and Goodfellow's steps one at a time."""

import numpy as np
import pytest
from conftest import away_from_kinks

from matcalc.core.expr import Derivative
from matcalc.core.numeric import evaluate
from matcalc.engine.derive import derive
from matcalc.printers.chains import chain_forms, chains_of
from matcalc.specs.network import Layer, Network

NETWORKS = [
    Network([Layer(3, "tanh"), Layer(4, "relu"), Layer(2, "softmax")], input=2, loss="nllm"),
    Network([Layer(3, "sigmoid"), Layer(2, "identity")], input=3, loss="squared"),
    Network.from_dict(
        {"convention": "goodfellow", "input": 2, "layer": [{"size": 3}, {"size": 2}]}
    ),
]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_prime_and_diag_forms_of_dz_have_the_closed_forms_values(activation, rng):
    """The f'(Z) and diag(f'(Z)) forms kept for printing compute the same numbers."""
    network = Network([Layer(3, activation), Layer(2, activation), Layer(2, "identity")], input=2)
    derivation = derive(network)
    params, x, y = away_from_kinks(network, rng)
    env = derivation.backward(network.forward(params, x, y))
    for layer in chains_of(derivation).layers.values():
        closed = evaluate(layer.dz_value, env)
        for form in ("prime", "diag"):
            np.testing.assert_allclose(evaluate(layer.dz_form(form), env), closed, rtol=1e-10)
        factor = layer.activation
        np.testing.assert_allclose(
            evaluate(factor.value_with_prime, env), evaluate(factor.value, env), rtol=1e-10
        )


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.convention)
def test_goodfellows_steps_one_at_a_time_give_the_carried_gradients(network, rng):
    """g at A^l, then dL/dZ^l from it, then g at A^{l-1}: each equals what backprop carries."""
    derivation = derive(network)
    params, x, y = away_from_kinks(network, rng)
    env = derivation.backward(network.forward(params, x, y))
    layers = chains_of(derivation).layers
    for l, layer in layers.items():
        carried = layer.dz.num
        at_output = evaluate(layer.output_gradient, env)
        env[Derivative(carried, network.activation(l))] = at_output
        np.testing.assert_allclose(
            evaluate(layer.dz_from_output, env), env[layer.dz], rtol=1e-9, atol=1e-12
        )
        if l > 1:
            below = layers[l - 1].output_gradient
            np.testing.assert_allclose(
                evaluate(layer.input_gradient, env), evaluate(below, env), rtol=1e-9, atol=1e-12
            )


def test_the_engine_builds_no_jacobian_and_the_printers_build_each_once(monkeypatch):
    """derive() gives the assignments only; the chain forms are built when a printer asks."""
    import matcalc.engine.pullback

    calls = []
    original = matcalc.engine.pullback.jacobian_rule

    def counted(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(matcalc.engine.pullback, "jacobian_rule", counted)
    network = Network([Layer(3, "tanh")] * 4, input=2)
    derivation = derive(network)
    assert calls == [] and derivation.views == {}
    for gradient in derivation.gradients():
        chain_forms(gradient)
    built = len(calls)
    assert built > 0
    for gradient in derivation.gradients():
        chain_forms(gradient)
    assert len(calls) == built


@pytest.mark.parametrize("network", NETWORKS[:2], ids=["softmax", "sigmoid-squared"])
def test_each_chain_is_the_tail_of_layer_ones_and_the_product_matmul_builds(network):
    """The chains of the layers above 1 are tails of layer 1's, built without re-checking
    their factors: each is the very product :func:`matmul` builds, coefficient in front."""
    from matcalc.core.expr import matmul

    chains = chains_of(derive(network))
    for l in network.indices():
        factors = [f for g in chains.groups(l) for f in g.factors]
        names, values = chains.products(l)
        assert names == matmul(*(f.name for f in factors))
        assert values == matmul(*(f.value for f in factors))
        assert values.shape == matmul(*(f.value for f in factors)).shape
