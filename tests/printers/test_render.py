"""JSON with shared chain forms expands back to the full records, byte for byte."""

import json

import pytest

from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.printers.render import expand_chains, render_derivation, shared_json
from matcalc.specs.network import Layer, Network


def deep(convention: str, depth: int, batch: bool = False) -> Network:
    layers = "".join(
        f'[[layer]]\nsize = 2\nactivation = "{"tanh" if l % 2 else "relu"}"\n' for l in range(depth)
    )
    extra = 'batch = "K"\n' if batch else ""
    return Network.from_toml(f'convention = "{convention}"\ninput = 2\n{extra}{layers}')


NETWORKS = [
    pytest.param(deep("6.390", 12), id="6.390"),
    pytest.param(deep("ng", 12), id="ng"),
    pytest.param(deep("goodfellow", 12), id="goodfellow"),
    pytest.param(deep("6.390", 6, batch=True), id="batch"),
    pytest.param(
        Network([Layer(None, "tanh")] * 9 + [Layer(None, "softmax")], loss="nllm"), id="nllm"
    ),
    pytest.param(Network([Layer(3, "sigmoid")], input=2, loss="nll"), id="one layer"),
]


@pytest.mark.parametrize("network", NETWORKS)
def test_shared_chains_expand_to_the_full_json(network):
    derivation = derive(network)
    full = json.loads(render_derivation(derivation, "json"))
    shared = json.loads(shared_json(derivation))
    assert shared["chains"] == "shared" and "chains" not in full
    assert expand_chains(shared["gradients"]) == full["gradients"]
    for record, full_record in zip(shared["gradients"], full["gradients"], strict=True):
        assert {k: v for k, v in record.items() if k != "chain"} == {
            k: v for k, v in full_record.items() if k != "chain"
        }


def test_deep_chains_are_shared_not_repeated():
    """Every chain below the output layer refers to the one above it: the output is linear."""
    derivation = derive(deep("6.390", 40))
    shared = json.loads(shared_json(derivation))["gradients"]
    referring = [r for r in shared if isinstance(r["chain"]["value"], dict)]
    assert len(referring) == len(shared) - 1  # all but the output layer's bias
    assert max(len(json.dumps(r)) for r in shared) < 1000
    half = derive(deep("6.390", 20))
    assert len(shared_json(derivation)) < 2.2 * len(shared_json(half))
    assert len(render_derivation(derivation, "json")) > 3 * len(render_derivation(half, "json"))


def test_one_gradient_alone_has_nothing_to_share():
    derivation = derive(deep("6.390", 5))
    record = json.loads(shared_json(derivation, "W^1"))["gradients"][0]
    full = json.loads(render_derivation(derivation, "json", "W^1"))["gradients"][0]
    assert record == full


def test_shared_chains_are_a_json_option_only():
    derivation = derive(deep("6.390", 3))
    assert render_derivation(derivation, "json", shared_chains=True) == shared_json(derivation)
    with pytest.raises(MatcalcError, match="JSON option"):
        render_derivation(derivation, "latex", shared_chains=True)
