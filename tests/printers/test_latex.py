"""The LaTeX printer: deep trees, and nodes whose text must keep their size."""

import json

import pytest

from matcalc.printers.render import render_derivation
from matcalc.specs.network import Network

DEEP = 150
TOP_WEIGHT = {"6.390": "W^{150}", "ng": "W^{[150]T}", "goodfellow": "W^{(150)\\top}"}


def deep_spec(convention: str) -> str:
    layers = '[[layer]]\nsize = 2\nactivation = "tanh"\n' * DEEP
    return f'convention = "{convention}"\ninput = 2\nbatch = "K"\n{layers}'


@pytest.mark.parametrize("convention", ["6.390", "ng", "goodfellow"])
def test_a_deep_batch_network_prints_as_json_and_latex(convention):
    """Over a batch the chain of dL/dW^1 writes out every dL/dZ^k: a tree a level per layer."""
    derivation = Network.from_toml(deep_spec(convention)).derive()
    records = json.loads(render_derivation(derivation, "json"))["gradients"]
    assert len(records) == 2 * DEEP
    first = next(r for r in records if r["name"] == "W^1")
    assert TOP_WEIGHT[convention] in first["chain"]["value"]
    latex = render_derivation(derivation, "latex")
    assert TOP_WEIGHT[convention] in latex and latex.count(" \\\\\n") >= 3 * DEEP - 1
