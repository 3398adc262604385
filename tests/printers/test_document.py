"""Documents compile with pdflatex and nothing runs off the page."""

import numpy as np
import pytest
from conftest import compile_tex, require_tool

from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.printers.document import compile_pdf
from matcalc.printers.latex import Notation
from matcalc.printers.render import Layout, render_derivation
from matcalc.specs.network import Layer, Network

GENERIC = Network.from_dict({"depth": "L", "layer": [{"activation": "f"}]})
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")
OUTPUT = {"nll": "sigmoid", "nllm": "softmax", "squared": "identity"}


def random_network(seed: int) -> Network:
    """A network of 1..9 layers with random activations and symbolic or integer sizes."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 10))
    loss = str(rng.choice(list(OUTPUT)))
    activations = [str(a) for a in rng.choice(ACTIVATIONS, size=depth)]
    activations[-1] = OUTPUT[loss] if loss != "squared" else activations[-1]
    symbolic = bool(rng.integers(2))
    sizes = [None if symbolic else int(s) for s in rng.integers(1, 30, size=depth + 1)]
    layers = [Layer(s, a) for s, a in zip(sizes[1:], activations, strict=True)]
    return Network(layers, input=sizes[0], loss=loss)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_networks_documents_compile_without_overfull_lines(seed, tmp_path):
    net = random_network(seed)
    tex = render_derivation(derive(net), "tex", layout=Layout(steps=True, diagram=True))
    compile_tex(tex, tmp_path)


@pytest.mark.parametrize(
    "notation",
    [
        Notation(),
        Notation(layer_style="bracket", ell=True, transpose=r"\top", loss="J", sizes="d"),
        Notation(layer_style="paren", derivative="diag", shapes=False, loss=r"\text{loss}"),
    ],
)
def test_a_deep_networks_chains_fit_the_page_in_every_notation(notation, tmp_path):
    net = Network([Layer(12, "tanh")] * 12 + [Layer(10, "softmax")], input=784, loss="nllm")
    tex = render_derivation(derive(net), "tex", notation=notation, layout=Layout(diagram=True))
    compile_tex(tex, tmp_path)


def test_general_network_with_steps_and_diagram_compiles(tmp_path):
    layout = Layout(steps=True, diagram=True)
    compile_tex(render_derivation(derive(GENERIC), "tex", layout=layout), tmp_path)


def test_pdf_is_written(tmp_path):
    require_tool("pdflatex")
    tex = render_derivation(derive(GENERIC), "tex")
    output = compile_pdf(tex, tmp_path / "generic.pdf")
    assert output.read_bytes().startswith(b"%PDF")


def test_pdf_without_pdflatex_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(MatcalcError, match="needs pdflatex"):
        compile_pdf("\\documentclass{article}", tmp_path / "x.pdf")


def test_every_output_states_its_convention_and_notation():
    derivation = derive(Network([Layer(2, "tanh")], input=3))
    notation = Notation(layer_style="bracket")
    for fmt in ("latex", "tex", "markdown"):
        text = render_derivation(derivation, fmt, notation=notation)
        assert "6.390" in text and "Notation: weights $W^{[l]}$" in text


@pytest.mark.parametrize("convention", ["ng", "goodfellow"])
@pytest.mark.parametrize("batch", [None, "m"])
def test_other_conventions_documents_compile(convention, batch, tmp_path):
    net = Network([Layer(4, "relu"), Layer(1, "sigmoid")], 3, "nll", convention, batch=batch)
    layout = Layout(steps=True, diagram=True, gradients=True)
    compile_tex(render_derivation(derive(net), "tex", layout=layout), tmp_path)


def test_title_and_one_parameter(tmp_path):
    net = Network([Layer(3, "tanh"), Layer(2, "identity")], input=2)
    tex = render_derivation(derive(net), "tex", wrt="W^1", layout=Layout(title="Homework 3"))
    assert r"\section*{Homework 3}" in tex
    assert r"\partial W^{1}}" in tex and r"\partial W^{2}}" not in tex
    compile_tex(tex, tmp_path)


def test_the_convention_sentence_is_in_the_chosen_notation():
    derivation = derive(Network([Layer(2, "tanh")], input=3))
    notation = Notation(layer_style="bracket", ell=True)
    text = render_derivation(derivation, "tex", notation=notation)
    sentence = next(line for line in text.splitlines() if line.startswith("Convention:"))
    assert r"$Z^{[\ell]} = (W^{[\ell]})^{T} A^{[\ell-1]} + W_0^{[\ell]}$" in sentence
    assert r"A^{[\ell]} = f^{[\ell]}(Z^{[\ell]})" in sentence


@pytest.mark.parametrize(
    ("depth", "title"),
    [(8, "an 8-layer"), (11, "an 11-layer"), (3, "a 3-layer"), (1, "a 1-layer")],
)
def test_the_default_title_reads_aloud(depth, title):
    net = Network([Layer(2, "tanh")] * depth, input=2)
    assert f"Gradients of {title} network" in render_derivation(derive(net), "markdown")


def test_a_network_of_symbolic_depth_is_an_l_layer_network():
    assert "Gradients of an $L$-layer network" in render_derivation(derive(GENERIC), "markdown")


CONTEXT_SPEC = r"""
layout = "denominator"
[shapes]
X = "n x d"
theta = "d"
theta_0 = "scalar"
Y = "n"
lambda = "scalar"
[define]
J = '\frac{1}{n}\|X\theta + \theta_0 - Y\|^2 + \lambda \|\theta\|^2'
"""


@pytest.mark.parametrize("page", ["a4", "letter", "beamer"])
def test_an_expression_context_is_a_standalone_document_too(page, tmp_path):
    from conftest import compile_tex_cleanly

    from matcalc.printers.render import render_context_document
    from matcalc.specs.context import Context

    context = Context.from_toml(CONTEXT_SPEC)
    tex = render_context_document(context, "tex", wrt="theta", layout=Layout(page=page))
    assert r"\section*{Derivatives of $J$}" in tex and r"\frac{\partial J}{\partial \theta}" in tex
    assert r"\partial \lambda" not in tex
    compile_tex_cleanly(tex, tmp_path)


def test_an_expression_context_keeps_its_own_formats():
    from matcalc.printers.context import render_context
    from matcalc.printers.render import render_context_document
    from matcalc.specs.context import Context

    context = Context.from_toml(CONTEXT_SPEC)
    for fmt in ("latex", "markdown", "json"):
        assert render_context_document(context, fmt) == render_context(context, fmt)
