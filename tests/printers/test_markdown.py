"""Markdown exports: every formula renders in KaTeX (throwOnError), no TikZ, no align*."""

import pytest
from conftest import assert_renders, katex_failures

from matcalc.engine.derive import derive
from matcalc.printers.latex import Notation
from matcalc.printers.render import Layout, render_derivation
from matcalc.specs.network import Layer, Network

GENERIC = Network.from_dict({"depth": "L", "layer": [{"activation": "f"}]})


def test_katex_catches_a_broken_formula():
    failures = katex_failures("$$\n\\frac{1}{\n$$\n\nand $\\notacommand x$\n")
    assert len(failures) == 2


@pytest.mark.parametrize(
    "network",
    [
        GENERIC,
        Network([Layer(4, "relu"), Layer(3, "tanh"), Layer(5, "softmax")], input=6, loss="nllm"),
        Network([Layer(1, "sigmoid")], input=3, loss="nll"),
        Network([Layer(None, "sigmoid")] * 7, loss="squared"),
    ],
    ids=["generic", "three-layer", "logistic", "deep"],
)
@pytest.mark.parametrize("steps", [False, True], ids=["gradients", "steps"])
def test_markdown_renders_in_katex(network, steps):
    layout = Layout(steps=steps, diagram=True)
    assert_renders(render_derivation(derive(network), "markdown", layout=layout))


@pytest.mark.parametrize(
    "notation",
    [
        Notation(layer_style="bracket", ell=True, transpose=r"\top", loss="J", sizes="d"),
        Notation(layer_style="paren", derivative="diag", loss=r"\text{loss}"),
        Notation(derivative="prime", loss="L", shapes=False),
    ],
)
def test_markdown_renders_in_every_notation(notation):
    net = Network([Layer(3, "relu"), Layer(2, "sigmoid")], input=4, loss="nll")
    text = render_derivation(derive(net), "markdown", notation=notation, layout=Layout(steps=True))
    assert_renders(text)


@pytest.mark.parametrize("convention", ["ng", "goodfellow"])
def test_other_conventions_render_too(convention):
    net = Network([Layer(3, "tanh"), Layer(1, "sigmoid")], 2, "nll", convention, batch="m")
    layout = Layout(steps=True, diagram=True)
    assert_renders(render_derivation(derive(net), "markdown", layout=layout))
