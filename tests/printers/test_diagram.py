"""The 6.390 notes' Notation 1 picture: forward straight and right, backward curved and left."""

import re

import pytest

from matcalc.engine.derive import derive
from matcalc.printers.diagram import fallback_rows, nodes, shown_layers, tikz
from matcalc.printers.latex import Notation
from matcalc.specs.network import Layer, Network

GENERIC = Network.from_dict({"depth": "L", "layer": [{"activation": "f"}]})


def test_three_layers_draw_every_quantity_in_forward_order():
    net = Network([Layer(4, "relu"), Layer(3, "tanh"), Layer(2, "softmax")], input=5, loss="nllm")
    labels = [n.label for n in nodes(net)]
    assert labels == ["x", "Z^{1}", "A^{1}", "Z^{2}", "A^{2}", "Z^{3}", "A^{3}", r"\mathcal{L}"]


@pytest.mark.parametrize("depth", [1, 3, 9])
def test_arrows_forward_straight_backward_curved_with_the_gradient_carried(depth):
    net = Network([Layer(2, "tanh")] * depth, input=2)
    picture = tikz(derive(net))
    chain = nodes(net)
    straight = re.findall(r"\\draw\[->\] \((\w+)\) -- ", picture)
    assert len(straight) == len(chain) - 1 + sum(1 for n in chain if n.weights)
    back = re.findall(
        r"\\draw\[back\] \((\w+)\) to (?:node\[[^]]*\] \{\$([^$]*)\$\} )?\((\w+)\)", picture
    )
    assert len(back) == len(chain) - 2  # from the loss back to Z^1
    assert back[0][1] == r"\partial \mathcal{L}/\partial A^{" + str(depth) + "}"
    positions = {key: int(x) for key, x in re.findall(r"\\node \((\w+)\) at \((\d+),0\)", picture)}
    assert all(positions[start] > positions[end] for start, _, end in back)  # leftwards
    assert picture.count(r"\partial W") == len(shown_layers(net)) - shown_layers(net).count(None)


def test_deep_and_symbolic_networks_elide_the_middle_with_cdots():
    deep = Network([Layer(2, "tanh")] * 9, input=2)
    assert shown_layers(deep) == [1, 2, None, 9]
    assert r"{$\cdots$}" in tikz(derive(deep))
    generic = tikz(derive(GENERIC))
    assert r"{$\cdots$}" in generic and "Z^{L}" in generic and "W^{1}" in generic


def test_notation_reaches_the_picture():
    net = Network([Layer(2, "sigmoid")], input=2, loss="nll")
    picture = tikz(derive(net), Notation(layer_style="bracket", loss="J"))
    assert "Z^{[1]}" in picture and r"\partial J/\partial A^{[1]}" in picture


def test_markdown_fallback_has_both_passes():
    forward, backward = fallback_rows(derive(GENERIC))
    assert forward.rhs.startswith("x ") and forward.rhs.endswith(r"\mathcal{L}")
    assert backward.rhs.startswith(r"\mathcal{L} \to") and r"\cdots" in backward.rhs


def test_weight_gradients_rise_on_the_side_away_from_the_activation_labels():
    picture = tikz(derive(Network([Layer(3, "sigmoid"), Layer(1, "sigmoid")], input=2)))
    weight_arrows = [line for line in picture.splitlines() if "to[bend" in line]
    assert len(weight_arrows) == 2
    # The activation label is set above the arrow Z^l -> A^l, east of Z^l: the curved arrow
    # up to W^l leaves Z^l from the west and bulges west, its label on the left.
    assert all(".north west) to[bend left" in a and "node[label, left" in a for a in weight_arrows)
    assert r"node[label, above] {$\sigma$}" in picture
