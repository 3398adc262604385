"""The LaTeX printer: deep trees, and nodes whose text must keep their size."""

import json

import pytest
import sympy

from matcalc import verify
from matcalc.core.expr import Identity
from matcalc.engine.derive import derive
from matcalc.printers.chains import chain_forms, chains_of
from matcalc.printers.latex import Notation, to_latex
from matcalc.printers.render import render_derivation
from matcalc.specs.network import Layer, Network

DEEP = 150
TOP_WEIGHT = {"6.390": "W^{150}", "ng": "W^{[150]T}", "goodfellow": "W^{(150)\\top}"}


def deep_spec(convention: str) -> str:
    layers = '[[layer]]\nsize = 2\nactivation = "tanh"\n' * DEEP
    return f'convention = "{convention}"\ninput = 2\nbatch = "K"\n{layers}'


@pytest.mark.parametrize("convention", ["6.390", "ng", "goodfellow"])
def test_a_deep_batch_network_prints_as_json_and_latex(convention):
    """Over a batch the chain of dL/dW^1 writes out every dL/dZ^k: a tree a level per layer."""
    derivation = derive(Network.from_toml(deep_spec(convention)))
    records = json.loads(render_derivation(derivation, "json"))["gradients"]
    assert len(records) == 2 * DEEP
    first = next(r for r in records if r["name"] == "W^1")
    assert TOP_WEIGHT[convention] in first["chain"]["value"]
    latex = render_derivation(derivation, "latex")
    assert TOP_WEIGHT[convention] in latex and latex.count(" \\\\\n") >= 3 * DEEP - 1


def test_the_jacobian_of_an_identity_layer_is_the_identity_and_reads_back():
    """diag(1) would lose its size (it reads back as 1 x 1): the chain writes I, whose size the
    reader takes from the matrix beside it."""
    network = Network([Layer(3, "tanh"), Layer(3, "identity")], input=2)
    derivation = derive(network)
    factor = chains_of(derivation).layer(2).activation
    assert factor.value == Identity(3) and to_latex(factor.value) == "I"
    chain = chain_forms(derivation.bias_gradient(1))[1]
    assert r"\,I\," in to_latex(chain)
    assert verify(network, f"{to_latex(derivation.layers[1].dz)} = {to_latex(chain)}").correct
    wrong = to_latex(chain).replace(r"\,I\,", r"\,I\,2\,")
    assert not verify(network, f"{to_latex(derivation.layers[1].dz)} = {wrong}").correct


@pytest.mark.parametrize(
    ("convention", "style", "latex"),
    [
        ("6.390", "plain", "{f^{L-1}}'"),
        ("ng", "bracket", r"g^{[L-1]\prime}"),  # Ng's and Goodfellow's own keep the prime inside
        ("ng", "plain", "{g^{L-1}}'"),
        ("goodfellow", "paren", r"f^{(L-1)\prime}"),
        ("goodfellow", "plain", "{f^{L-1}}'"),
    ],
)
def test_the_prime_of_a_layer_function_goes_outside_its_superscript(convention, style, latex):
    from matcalc.core.expr import Function
    from matcalc.printers.latex import function_latex
    from matcalc.specs.conventions import CONVENTIONS

    notation = Notation.of(CONVENTIONS[convention]).with_(layer_style=style, derivative="prime")
    letter = CONVENTIONS[convention].activation_letter
    fn = Function(letter, 1, sympy.Symbol("L") - 1)
    assert function_latex(fn, notation) == latex
