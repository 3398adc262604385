"""The chain rule laid out as the 6.390 notes do: braces per layer, shapes under factors."""

import re

import numpy as np
import pytest

from matcalc.engine.derive import derive
from matcalc.printers.braces import (
    chain_rows,
    fitted,
    group_latex,
    shaped_expr,
    text_latex,
    visual_width,
    weight_rows,
)
from matcalc.printers.chains import chains_of
from matcalc.printers.latex import Notation, to_latex
from matcalc.printers.render import render_derivation
from matcalc.specs.network import Layer, Network

GENERIC = Network.from_dict({"depth": "L", "layer": [{"activation": "f"}]})
SEED = Notation(ell=True, shapes=False)

# The seed's central equation and its Notation 2, the weight link corrected to dZ/dW.
SEED_CHAIN = r"""
\frac{\partial \mathcal{L}}{\partial Z^\ell} = \overbrace{\left( \frac{\partial A^\ell}{\partial
Z^\ell} \right)}^{\text{Layer } \ell} \cdot \left( \cdots \right) \cdot \overbrace{\left(
\frac{\partial Z^{L-1}}{\partial A^{L-2}} \cdot \frac{\partial A^{L-1}}{\partial Z^{L-1}}
\right)}^{\text{Layer } L-1} \cdot \overbrace{\left( \frac{\partial Z^L}{\partial A^{L-1}} \cdot
\frac{\partial A^L}{\partial Z^L} \right)}^{\text{Layer } L} \cdot \overbrace{\left(
\frac{\partial \mathcal{L}}{\partial A^L} \right)}^{\text{Loss unit}}
"""
SEED_WEIGHT = r"""
\frac{\partial \mathcal{L}}{\partial W^\ell} = \overbrace{\frac{\partial Z^\ell}{\partial
W^\ell}}^{\text{Weight link}} \cdot \overbrace{\left( \frac{\partial \mathcal{L}}{\partial
Z^\ell} \right)^T}^{\text{Other layers}}
"""


def tokens(latex: str) -> str:
    """LaTeX without spaces and grouping braces, to compare what is printed."""
    return re.sub(r"[\s{}]", "", latex)


def first_row(rows) -> str:
    return f"{rows[0].lhs} {rows[0].relation} {rows[0].rhs}"


def test_general_chain_is_the_seeds_central_equation():
    derivation = derive(GENERIC)
    rows = chain_rows(derivation, GENERIC.indices()[0], SEED)
    assert tokens(first_row(rows)) == tokens(SEED_CHAIN)


def test_weight_gradient_is_the_seeds_notation_2_with_its_typo_corrected():
    derivation = derive(GENERIC)
    rows = weight_rows(derivation, GENERIC.indices()[0], SEED)
    assert tokens(first_row(rows)) == tokens(SEED_WEIGHT)
    assert r"\frac{\partial Z^{\ell}}{\partial W^{\ell}}}^{\text{Weight link}}" in rows[0].rhs


def test_each_factor_has_its_shape_under_it():
    net = Network([Layer(3, "tanh"), Layer(2, "identity")], input=4)
    link = chains_of(derive(net)).layer(2).weight_link
    assert shaped_expr(link.value) == r"\underbrace{A^{1}}_{3\times 1}"
    generic = chains_of(derive(GENERIC)).layer(GENERIC.indices()[0]).weight_link
    assert shaped_expr(generic.value) == r"\underbrace{A^{l-1}}_{m^{l}\times 1}"


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_concrete_chain_has_one_brace_per_layer_from_l_to_the_loss(depth):
    net = Network([Layer(2, "tanh")] * depth, input=3)
    derivation = derive(net)
    labels = [group_latex(g) for g in chains_of(derivation).groups(1)]
    expected = [f"\\text{{Layer }} {l}" for l in range(1, depth + 1)] + [r"\text{Loss unit}"]
    assert [re.search(r"\^\{(\\text\{.*\}(?: \w+)?)\}$", text).group(1) for text in labels] == (
        expected
    )


@pytest.mark.parametrize("width", [44.0, 34.5, 27.9])
def test_long_chains_break_between_layers_and_keep_every_factor(width):
    net = Network([Layer(2, "sigmoid")] * 7, input=3)
    derivation = derive(net)
    named_row = chain_rows(derivation, 1)[0]
    assert named_row.note.startswith("by the chain rule")
    rows = fitted(named_row, width)
    assert len(rows) > 1 and rows[0].relation == "=" and not rows[0].note
    continued = rows[1:]
    assert all(r.relation == "" and r.rhs.startswith(r"\cdot") for r in continued)
    assert rows[-1].note == named_row.note  # the identity under the whole product
    assert all(visual_width(r.rhs) <= width + visual_width(r"\cdot") for r in rows[1:])
    named_text = " ".join(r.rhs for r in rows)
    assert named_text.count(r"\overbrace") == 7 + 1  # seven layers and the loss
    assert named_text.count(r"\underbrace") == 1 + 2 * 6 + 1  # dA/dZ, then dZ/dA dA/dZ, dL/dA
    assert r"\cdots" not in named_text


def test_very_long_chains_elide_the_middle_layers_like_the_notes():
    net = Network([Layer(2, "tanh")] * 11 + [Layer(3, "identity")], input=3)
    rows = chain_rows(derive(net), 1)
    text = " ".join(r.rhs for r in rows)
    labels = re.findall(r"\\text\{Layer \} (\d+)", text)
    assert labels == ["1", "2", "11", "12"]
    assert r"\underbrace{\left(\cdots\right)}_{2\times 2}" in text  # dZ^3/dA^2 ... dA^10/dZ^10
    assert text.count(r"\left(\cdots\right)") == 2  # named and valued


def test_printing_every_layer_grows_linearly_with_depth():
    def size(depth: int) -> int:
        net = Network([Layer(2, "tanh")] * depth, input=2)
        return len(render_derivation(derive(net), "latex"))

    small, large = size(20), size(40)
    assert large < 2.3 * small


def test_hiding_shapes_removes_every_underbrace():
    derivation = derive(Network([Layer(2, "tanh"), Layer(2, "sigmoid")], input=3, loss="nll"))
    rows = chain_rows(derivation, 1, Notation(shapes=False))
    assert r"\underbrace" not in " ".join(r.rhs for r in rows)


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("Matrix Cookbook eq. 36", "Matrix Cookbook eq. 36"),
        ("with G^T A for A", "with $G^T$ A for A"),
        (r"(X \odot Y)_{ij} = X_{ij} Y_{ij}", r"$(X \odot Y)_{ij} = X_{ij} Y_{ij}$"),
        (r"the trace (tr(X^T Y), linear)", r"the trace ($tr(X^T Y)$, linear)"),
        ("50% & #1 ~ done", r"50\% \& \#1   done"),
        (
            "'The general case' (dA^l/dZ^l is diagonal)",
            r"\textquoteleft{}The general case' ($dA^l/dZ^l$ is diagonal)",
        ),
    ],
)
def test_notes_set_formulas_as_math_and_escape_the_rest(text, latex):
    assert text_latex(text) == latex


@pytest.mark.parametrize("derivative", ["prime", "diag"])
def test_a_linear_layers_derivative_is_written_as_one(derivative, rng):
    from matcalc.core.numeric import evaluate
    from matcalc.printers.braces import without_identity_prime

    net = Network([Layer(3, "tanh"), Layer(2, "identity")], input=2)
    derivation = derive(net)
    text = render_derivation(
        derivation, "latex", notation=Notation(derivative=derivative), layout=_steps()
    )
    assert r"\operatorname{id}'" not in text
    assert r"2\,\left(A^{2} - y\right)" in text
    env = derivation.backward(net.forward(net.random_parameters(rng), *net.random_example(rng)))
    form = chains_of(derivation).layer(2).dz_form(derivative)
    assert r"\operatorname{id}'" in to_latex(form)  # what the engine keeps
    np.testing.assert_allclose(
        evaluate(without_identity_prime(form), env), evaluate(form, env), rtol=1e-12
    )


def _steps():
    from matcalc.printers.render import Layout

    return Layout(steps=True)
