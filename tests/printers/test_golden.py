"""The exact LaTeX of small networks in every notation option, pinned in tests/golden/.

After an intended change of output, rewrite the files with
``MATCALC_UPDATE_GOLDEN=1 python3 -m pytest tests/printers/test_golden.py`` and review the diff.
"""

import os

import pytest
from conftest import TESTS

from matcalc.engine.derive import derive
from matcalc.printers.latex import Notation
from matcalc.printers.render import Layout, render_derivation
from matcalc.specs.network import Layer, Network

GOLDEN = TESTS / "golden"
NETWORKS = {
    "logistic": Network([Layer(1, "sigmoid")], input=2, loss="nll"),
    "two-layer": Network([Layer(3, "tanh"), Layer(1, "identity")], input=2, loss="squared"),
}
NOTATIONS = {
    "default": Notation(),
    "index-paren": Notation(layer_style="paren"),
    "index-bracket": Notation(layer_style="bracket"),
    "ell": Notation(ell=True),
    "transpose-top": Notation(transpose=r"\top"),
    "loss-L": Notation(loss="L"),
    "loss-text": Notation(loss=r"\text{loss}"),
    "loss-J": Notation(loss="J"),
    "sizes-d": Notation(sizes="d"),
    "derivative-prime": Notation(derivative="prime"),
    "derivative-diag": Notation(derivative="diag"),
    "no-shapes": Notation(shapes=False),
}
CASES = [(n, o, Layout()) for n in NETWORKS for o in NOTATIONS] + [
    ("two-layer", "default", Layout(steps=True)),
    ("two-layer", "default", Layout(diagram=True)),
]


def case_id(network: str, option: str, layout: Layout) -> str:
    extra = "-steps" if layout.steps else "-diagram" if layout.diagram else ""
    return f"{network}-{option}{extra}"


@pytest.mark.parametrize(
    ("network", "option", "layout"), CASES, ids=[case_id(*case) for case in CASES]
)
def test_latex_is_the_golden_file(network, option, layout):
    text = render_derivation(
        derive(NETWORKS[network]), "latex", notation=NOTATIONS[option], layout=layout
    )
    path = GOLDEN / f"{case_id(network, option, layout)}.tex"
    if os.environ.get("MATCALC_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_every_golden_file_is_a_case():
    names = {f"{case_id(*case)}.tex" for case in CASES}
    assert {p.name for p in GOLDEN.glob("*.tex")} == names
