"""Markdown exports: every formula renders in KaTeX (throwOnError), no TikZ, no align*."""

import json
import re
import subprocess

import pytest
from conftest import TESTS, missing, require_tool

from matcalc.engine.derive import derive
from matcalc.printers.latex import Notation
from matcalc.printers.render import Layout, render_derivation
from matcalc.specs.network import Layer, Network

JS = TESTS / "js"
GENERIC = Network.from_dict({"depth": "L", "layer": [{"activation": "f"}]})


def formulas(markdown: str) -> list[dict]:
    """The $$ blocks (display) and the $...$ spans in the text (inline) of a Markdown file."""
    displays = re.findall(r"^\$\$\n(.*?)\n\$\$$", markdown, flags=re.S | re.M)
    text = re.sub(r"^\$\$\n.*?\n\$\$$", "", markdown, flags=re.S | re.M)
    inline = re.findall(r"\$([^$\n]+)\$", text)
    return [{"tex": t, "display": True} for t in displays] + [
        {"tex": t, "display": False} for t in inline
    ]


def katex_failures(markdown: str) -> list[dict]:
    node = require_tool("node")
    if not (JS / "node_modules" / "katex").is_dir():
        missing("KaTeX is not installed: run npm install in tests/js")
    result = subprocess.run(
        [node, str(JS / "render_math.js")],
        input=json.dumps(formulas(markdown)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def assert_renders(markdown: str) -> None:
    assert formulas(markdown), "no math found"
    assert katex_failures(markdown) == []
    assert not re.search(r"\\begin\{align\*?\}", markdown) and "tikz" not in markdown


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
