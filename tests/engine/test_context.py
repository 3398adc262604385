"""Derivatives in an expression context keep the intermediate names it defines: each is
printed in terms of them, checked against central differences of the expanded function, and
read back as correct by verify."""

import numpy as np
import pytest

from matcalc.cli import main
from matcalc.core.numeric import central_difference, evaluate
from matcalc.engine.context import gradient
from matcalc.printers.latex import to_latex
from matcalc.specs.context import Context, concrete, name_key, random_environment

NAMED = """
[shapes]
A = "m x n"
x = "n"
b = "m"
lambda = "scalar"
X = "m x n"
w = "n"
y = "m"
W = "k x n"
t = "k"
[assume]
t = "one-hot"
[define]
r = 'A x - b'
f = '\\|r\\|^2'
J = '\\|r\\|^2 + \\lambda \\|x\\|^2'
p = '\\sigma(X w)'
L = '-\\sum\\left(y \\odot \\log p + (1 - y) \\odot \\log(1 - p)\\right)'
z = 'W w'
E = '-\\sum(t \\odot \\log\\operatorname{softmax}(z))'
h = '\\tanh(W w)'
g = '\\frac{1}{2}\\|h - t\\|^2'
q = 'r^T r'
"""
SIZES = {"m": 4, "n": 3, "k": 5}

CASES = [
    ("f", "x", r"2\,A^{T}\,r"),
    ("f", "A", r"2\,r\,x^{T}"),
    ("f", "b", r"-2\,r"),
    ("J", "x", r"2\,\left(A^{T}\,r + \lambda\,x\right)"),
    ("L", "w", r"X^{T}\,\left(p - y\right)"),
    ("L", "X", r"\left(p - y\right)\,w^{T}"),
    ("E", "W", r"\left(\operatorname{softmax}\left(z\right) - t\right)\,w^{T}"),
    ("g", "w", r"W^{T}\,\left(\left(1 - h \odot h\right) \odot \left(h - t\right)\right)"),
    ("q", "x", r"2\,A^{T}\,r"),
    ("f", "r", r"2\,r"),
]  # fmt: skip


@pytest.fixture(scope="module")
def named() -> Context:
    return Context.from_toml(NAMED)


@pytest.mark.parametrize(("of", "wrt", "expected"), CASES)
def test_gradients_are_written_in_the_defined_names(named, of, wrt, expected, rng):
    value = gradient(named, of, wrt)
    assert to_latex(value) == expected
    variable = named.wrt_symbol(wrt)
    sizes = {d: SIZES[d.name] for d in named.dimensions()}
    function = concrete(named.expand(named.lookup(of), frozenset({variable})), sizes)
    derived = concrete(named.expand(value, frozenset({variable})), sizes)
    env = random_environment((function, derived), rng, assumptions=named.assumed())

    def value_at(point):
        return float(evaluate(function, {**env, variable: point})[0, 0])

    expected_numbers = central_difference(value_at, env[variable])
    np.testing.assert_allclose(evaluate(derived, env), expected_numbers, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("of", "wrt", "expected"), CASES[:6])
def test_the_named_form_reads_back_through_verify(of, wrt, expected, tmp_path, capsys):
    path = tmp_path / "named.toml"
    path.write_text(NAMED, encoding="utf-8")
    lhs = r"\mathcal{L}" if of == "L" else of
    equation = f"\\frac{{\\partial {lhs}}}{{\\partial {wrt}}} = {expected}"
    assert main(["verify", str(path), equation]) == 0, capsys.readouterr().out


def test_json_and_latex_print_the_names(tmp_path, capsys):
    path = tmp_path / "named.toml"
    path.write_text(NAMED, encoding="utf-8")
    assert main(["derive", str(path), "--of", "f", "--wrt", "x", "--format", "json"]) == 0
    assert '"value": "2\\\\,A^{T}\\\\,r"' in capsys.readouterr().out
    assert main(["derive", str(path), "--of", "J", "--wrt", "x"]) == 0
    assert r"&= 2\,\left(A^{T}\,r + \lambda\,x\right) && n \times 1" in capsys.readouterr().out


def test_a_name_for_a_bare_symbol_is_not_folded():
    context = Context.from_toml(
        "[shapes]\nx = \"n\"\na = \"n\"\n[define]\nu = 'x'\nf = 'a^T x + u^T u'\n"
    )
    assert to_latex(gradient(context, "f", "x")) == r"a + 2\,x"
    assert name_key("u") in context.definitions
