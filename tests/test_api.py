"""The Python API a notebook uses: derive(Network(...)), gradients by name, LaTeX reprs."""

import subprocess
import sys

import pytest
from conftest import compile_tex

import matcalc
from matcalc import Derivation, Gradient, Layer, Network
from matcalc.engine.derive import derive


@pytest.fixture
def derivation() -> Derivation:
    return derive(Network([Layer(3, "tanh"), Layer(2, "sigmoid")], input=4, loss="nll"))


def balanced(text: str) -> bool:
    depth = 0
    for char in text.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and text.count(r"\left") == text.count(r"\right")


def test_network_derives_every_gradient(derivation):
    assert isinstance(derivation, Derivation)
    assert [g.key for g in derivation.gradients()] == ["W^1", "W_0^1", "W^2", "W_0^2"]


@pytest.mark.parametrize("name", ["W^2", "W^{2}", "W_0^1", "W_{0}^{1}"])
def test_gradient_by_name(derivation, name):
    gradient = derivation.gradient(name)
    assert isinstance(gradient, Gradient)
    assert gradient.key == name.replace("{", "").replace("}", "")


def test_unknown_gradient_names_the_known_ones(derivation):
    with pytest.raises(KeyError, match="W_0\\^2"):
        derivation.gradient("W^7")


@pytest.mark.parametrize(
    ("obj", "target"),
    [
        (lambda d: d, r"\frac{\partial \mathcal{L}}{\partial W^{1}}"),
        (lambda d: d.gradient("W^2"), r"\frac{\partial \mathcal{L}}{\partial W^{2}}"),
        (lambda d: d.gradient("W_0^1"), r"\frac{\partial \mathcal{L}}{\partial W_{0}^{1}}"),
    ],
    ids=["derivation", "weight gradient", "bias gradient"],
)
def test_repr_latex_is_math_that_names_the_target(derivation, obj, target):
    text = obj(derivation)._repr_latex_()
    assert text.startswith("$") and text.endswith("$")
    body = text.strip("$")
    assert body.strip() and target in body and balanced(body)


def test_import_is_cheap():
    """``import matcalc`` loads neither SymPy nor NumPy; the first public name does."""
    script = (
        "import sys, matcalc\n"
        "print('sympy' in sys.modules, 'numpy' in sys.modules)\n"
        "matcalc.Network\n"
        "print('sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False", "True"], out.stderr


def test_public_names():
    assert set(matcalc.__all__) <= set(dir(matcalc))
    for name in matcalc.__all__:
        assert getattr(matcalc, name) is not None
    with pytest.raises(AttributeError):
        matcalc.no_such_name  # noqa: B018


def test_repr_latex_compiles(derivation, tmp_path):
    reprs = [derivation._repr_latex_()] + [g._repr_latex_() for g in derivation.gradients()]
    body = "\n\n".join(f"\\noindent {text}" for text in reprs)
    compile_tex(
        "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
        "\\usepackage[a3paper,landscape,margin=1cm]{geometry}\n"
        f"\\begin{{document}}\n{body}\n\\end{{document}}\n",
        tmp_path,
    )
