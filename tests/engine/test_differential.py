"""Differentials, matrix-by-matrix derivatives and Hessians, against finite differences."""

import json

import numpy as np
import pytest
from conftest import assert_renders, compile_tex

from matcalc.cli import main
from matcalc.core.numeric import evaluate
from matcalc.engine import context as derive_in
from matcalc.engine.context import context_rules, derivative_value, matrix_derivative
from matcalc.engine.differential import (
    commutation,
    differential,
    hessian,
    hessian_vector,
    placeholder,
    vec_jacobian,
    vec_terms,
)
from matcalc.printers.explain import standalone
from matcalc.printers.latex import to_latex
from matcalc.specs.context import Context, concrete, random_environment

SPEC = """
[shapes]
A = "m x n"
X = "n x p"
B = "p x q"
Y = "n x n"
C = "n x n"
W = "h x d"
x = "d"
v = "d"
M = "n x d"
w = "d"
y = "n"
Q = "d x d"
lambda = "scalar"
[assume]
C = "symmetric"
[define]
F = 'AXB'
G = 'Y^{-1}'
H = '\\tanh(Wx)'
K = 'X^T A^T'
P = 'Y^{-1} C Y'
S = '\\operatorname{softmax}(Wx)'
E = '\\exp(Y) \\odot Y'
T = 'Y^T C Y'
q = 'w^T Q w'
ls = '\\|Mw - y\\|^2 + \\lambda \\|w\\|^2'
l = '-\\sum\\left(y \\odot \\log\\sigma(Mw) + (1 - y) \\odot \\log(1 - \\sigma(Mw))\\right)'
c = '\\sum \\exp(Mw) + w^T Q^T Q w'
"""
SIZES = (4, 3, 2, 5, 3, 2)  # d, h, m, n, p, q: distinct, so a transpose cannot hide


@pytest.fixture(scope="module")
def context():
    return Context.from_toml(SPEC)


def _sizes(context):
    return dict(zip(sorted(context.dimensions(), key=str), SIZES, strict=True))


def _env(context, exprs, rng):
    env = random_environment(exprs, rng, assumptions=context.assumed())
    return {k: 0.5 * v for k, v in env.items()}


MATRIX_CASES = [
    ("F", "X", r"A\,dX\,B", r"B^{T} \otimes A", r"A_{ik} B_{lj}"),
    ("G", "Y", r"-Y^{-1}\,dY\,Y^{-1}", r"-Y^{-T} \otimes Y^{-1}",
     r"-\left(Y^{-1}\right)_{ik} \left(Y^{-1}\right)_{lj}"),
    ("H", "W", None, None, None),
    ("K", "X", r"dX^{T}\,A^{T}", r"\left(A \otimes I\right)\,K_{n p}", r"\delta_{il} A_{jk}"),
    ("P", "Y", None, None, None),
    ("S", "W", None, None, None),
    ("E", "Y", None, None, None),
    ("T", "Y", r"dY^{T}\,C\,Y + Y^{T}\,C\,dY", None, None),
]  # fmt: skip


@pytest.mark.parametrize(("of", "wrt", "working", "vec", "entries"), MATRIX_CASES)
def test_matrix_by_matrix_against_differences(context, of, wrt, working, vec, entries, rng):
    """d vec(F)/d vec(X)^T from the vec/Kronecker form, and dF at each dX = E_kl, equal the
    central differences of F entry by entry."""
    sizes = _sizes(context)
    function, df = matrix_derivative(context, of, wrt)
    variable = context.symbols[wrt]
    exact, exact_df = concrete(function, sizes), concrete(df, sizes)
    x = concrete(variable, sizes)
    env = _env(context, (exact, exact_df), rng)
    rows, cols = env[x].shape
    step = 1e-6
    expected = np.zeros((exact.shape[0] * exact.shape[1], rows * cols))
    for column, (k, l) in enumerate((k, l) for l in range(cols) for k in range(rows)):
        bump = np.zeros((rows, cols))
        bump[k, l] = step
        plus = evaluate(exact, {**env, x: env[x] + bump})
        minus = evaluate(exact, {**env, x: env[x] - bump})
        expected[:, column] = ((plus - minus) / (2 * step)).flatten(order="F")
        linear = evaluate(exact_df, {**env, placeholder(x): bump / step})
        np.testing.assert_allclose(linear.flatten(order="F"), expected[:, column], atol=1e-6)
    terms = vec_terms(exact_df, placeholder(x))
    np.testing.assert_allclose(vec_jacobian(terms, x, env), expected, rtol=1e-5, atol=1e-6)
    record = _json(context, of, wrt)
    for key, value in (("differential", working), ("vec", vec), ("entrywise", entries)):
        if value is not None:
            assert record[key] == value


def _json(context, of, wrt):
    from matcalc.printers.context import render_context

    return json.loads(render_context(context, "json", of, wrt))["derivatives"][0]


def test_commutation_matrix_transposes_vec(rng):
    x = rng.standard_normal((3, 2))
    np.testing.assert_allclose(commutation(3, 2) @ x.flatten(order="F"), x.T.flatten(order="F"))


HESSIAN_CASES = [
    ("q", r"Q + Q^{T}"),
    ("ls", r"2\,\left(M^{T}\,M + \lambda\,I\right)"),
    ("l", r"M^{T}\,\operatorname{diag}\left(\sigma\left(M\,w\right) \odot "
          r"\left(1 - \sigma\left(M\,w\right)\right)\right)\,M"),
    ("c", None),
]  # fmt: skip


@pytest.mark.parametrize(("of", "expected"), HESSIAN_CASES)
def test_hessians_against_differences_of_the_gradient(context, of, expected, rng):
    sizes = _sizes(context)
    w, v = context.symbols["w"], context.symbols["v"]
    gradient = derivative_value(context, context.lookup(of), w, nabla=True)
    h = derive_in.hessian(context, of, "w")
    if expected is not None:
        assert to_latex(h) == expected
    exact_g, exact_h = concrete(gradient, sizes), concrete(h, sizes)
    product = concrete(hessian_vector(gradient, w, v, context_rules(context)), sizes)
    cw, cv = concrete(w, sizes), concrete(v, sizes)
    env = _env(context, (exact_g, exact_h, product, cv), rng)
    step = 1e-6
    columns = []
    for k in range(env[cw].shape[0]):
        bump = np.zeros_like(env[cw])
        bump[k] = step
        plus = evaluate(exact_g, {**env, cw: env[cw] + bump})
        minus = evaluate(exact_g, {**env, cw: env[cw] - bump})
        columns.append(((plus - minus) / (2 * step))[:, 0])
    expected_h = np.array(columns).T
    np.testing.assert_allclose(evaluate(exact_h, env), expected_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(evaluate(product, env), expected_h @ env[cv], rtol=1e-5, atol=1e-6)


def test_a_symmetric_assumption_simplifies_a_hessian():
    context = Context.from_toml(SPEC.replace('Q = "d x d"', 'Q = "d x d"\nR = "d x d"'))
    assert to_latex(derive_in.hessian(context, "q", "w")) == r"Q + Q^{T}"
    symmetric = Context.from_toml(SPEC.replace('C = "symmetric"', 'Q = "symmetric"'))
    assert to_latex(derive_in.hessian(symmetric, "q", "w")) == r"2\,Q"


def test_hessian_of_a_matrix_variable_is_a_clear_error():
    from matcalc.engine.rules import NoRuleError

    context = Context.from_toml(SPEC)
    with pytest.raises(NoRuleError, match="for a column"):
        hessian(context.lookup("F"), context.symbols["X"])


def test_differential_of_an_unrelated_name_is_an_error():
    from matcalc.engine.rules import NoRuleError

    context = Context.from_toml(SPEC)
    with pytest.raises(NoRuleError, match="does not depend"):
        differential(context.symbols["A"], context.symbols["X"])


def test_cli_hessian_and_matrix_derivative_compile_and_render(tmp_path, capsys):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC, encoding="utf-8")
    assert main(["derive", str(path), "--hessian", "--of", "l", "--wrt", "w"]) == 0
    hessian_tex = capsys.readouterr().out
    assert r"\operatorname{diag}" in hessian_tex
    assert main(["derive", str(path), "--of", "H", "--wrt", "W", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert r"\otimes" in markdown
    assert_renders(markdown)
    matrices = []
    for of, wrt in (("F", "X"), ("H", "W"), ("S", "W"), ("T", "Y")):
        assert main(["derive", str(path), "--of", of, "--wrt", wrt]) == 0
        matrices.append(capsys.readouterr().out)
    compile_tex(standalone(hessian_tex + "".join(matrices)), tmp_path)
