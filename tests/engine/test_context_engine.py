"""Derivatives in an expression context keep the intermediate names it defines: each is
printed in terms of them, checked against central differences of the expanded function, and
read back as correct by verify."""

import numpy as np
import pytest

from matcalc.cli import main
from matcalc.core.expr import Symbol
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


CURVATURE = """
[shapes]
A = "m x n"
x = "n"
v = "n"
b = "m"
W = "k x n"
t = "k"
y = "k"
[assume]
t = "one-hot"
[define]
f = '\\|A x - b\\|^2'
h = '\\tanh(W x)'
g = '\\frac{1}{2}\\|h - y\\|^2'
z = 'W x'
E = '-\\sum(t \\odot \\log\\operatorname{softmax}(z))'
L = '-\\sum\\left(y \\odot \\log\\sigma(W x) + (1 - y) \\odot \\log(1 - \\sigma(W x))\\right)'
F = '-\\sum(t \\odot \\log\\operatorname{softmax}(W \\tanh(x)))'
"""
SOFTMAX_CURVATURE = (
    r"\operatorname{diag}\left(\operatorname{softmax}\left(z\right)\right) - "
    r"\operatorname{softmax}\left(z\right)\,\left(\operatorname{softmax}\left(z\right)\right)^{T}"
)
GAUSS_NEWTON_CASES = [
    ("f", r"A", r"2\,I", r"2\,A^{T}\,A"),
    ("g", r"\operatorname{diag}\left(1 - h \odot h\right)\,W", "I",
     r"W^{T}\,\operatorname{diag}\left(1 - h \odot h\right)\,"
     r"\operatorname{diag}\left(1 - h \odot h\right)\,W"),
    ("E", "W", SOFTMAX_CURVATURE, rf"W^{{T}}\,\left({SOFTMAX_CURVATURE}\right)\,W"),
    ("L", "W", r"\operatorname{diag}\left(\sigma\left(z\right) \odot \left(1 - "
     r"\sigma\left(z\right)\right)\right)", None),
    ("F", r"W\,\operatorname{diag}\left(1 - \tanh\left(x\right) \odot \tanh\left(x\right)\right)",
     None, None),
]  # fmt: skip
CURVATURE_SIZES = {"m": 4, "n": 3, "k": 5}


@pytest.fixture(scope="module")
def curvature() -> Context:
    return Context.from_toml(CURVATURE)


def _concrete(context: Context, expr, keep=frozenset()):
    sizes = {d: CURVATURE_SIZES[d.name] for d in context.dimensions()}
    return concrete(context.expand(expr, keep), sizes)


def _jacobian_by_differences(function, variable, env, step=1e-6):
    """dz/dx^T: a row per entry of z, a column per entry of x."""
    point = env[variable]
    columns = []
    for i in range(point.shape[0]):
        plus, minus = point.copy(), point.copy()
        plus[i] += step
        minus[i] -= step
        difference = evaluate(function, {**env, variable: plus}) - evaluate(
            function, {**env, variable: minus}
        )
        columns.append(difference[:, 0] / (2 * step))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize(("of", "jacobian", "curvature_text", "value_text"), GAUSS_NEWTON_CASES)
def test_gauss_newton_is_j_transpose_h_j_by_differences(
    curvature, of, jacobian, curvature_text, value_text, rng
):
    from matcalc.engine.context import gauss_newton, with_names

    gn = gauss_newton(curvature, of, "x")
    keep = (curvature.lookup(of), curvature.symbols["x"])
    assert to_latex(with_names(curvature, gn.jacobian, keep)) == jacobian
    if curvature_text is not None:
        assert to_latex(with_names(curvature, gn.curvature, keep)) == curvature_text
    if value_text is not None:
        assert to_latex(with_names(curvature, gn.value, keep)) == value_text
    x = curvature.symbols["x"]
    output = _concrete(curvature, gn.output, frozenset({x}))
    function = _concrete(curvature, curvature.lookup(of), frozenset({x}))
    value = _concrete(curvature, gn.value, frozenset({x}))
    env = random_environment((function, value), rng, assumptions=curvature.assumed())
    j = _jacobian_by_differences(output, x, env, 1e-6)
    # H_l by second differences of f along the output: f(x) = l(z(x)), l(z + dz) for dz = e_i
    z0 = evaluate(output, env)
    probe = Symbol(r"\zeta", (z0.shape[0], 1))
    loss = _concrete(curvature, _loss_of(curvature, of, gn), frozenset({x}))
    h = np.zeros((z0.shape[0], z0.shape[0]))
    step = 1e-4
    for i in range(z0.shape[0]):
        for k in range(z0.shape[0]):
            total = 0.0
            for si, sk in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                point = z0.copy()
                point[i] += si * step
                point[k] += sk * step
                total += si * sk * float(evaluate(loss, {**env, probe: point})[0, 0])
            h[i, k] = total / (4 * step * step)
    np.testing.assert_allclose(evaluate(value, env), j.T @ h @ j, rtol=1e-4, atol=1e-6)


def _loss_of(context: Context, of: str, gn):
    """l(zeta): the function with its output replaced by a free column."""
    from matcalc.core.expr import substitute

    probe = Symbol(r"\zeta", gn.output.shape)
    x = context.symbols["x"]
    if gn.named:
        written = context.expand(context.lookup(of), frozenset({gn.output}))
        return substitute(written, {gn.output: probe})
    return substitute(context.expand(context.lookup(of), frozenset({x})), {gn.output: probe})


def test_gauss_newton_of_a_linear_residual_is_the_hessian(curvature, rng):
    from matcalc.engine.context import gauss_newton, hessian

    assert gauss_newton(curvature, "f", "x").value == hessian(curvature, "f", "x")


@pytest.mark.parametrize("of", ["f", "g", "E", "L", "F"])
def test_hessian_vector_products_against_differences_of_the_gradient(curvature, of, rng):
    from matcalc.engine.context import derivative_value, hessian_vector_product

    x, v = curvature.symbols["x"], curvature.symbols["v"]
    product = _concrete(curvature, hessian_vector_product(curvature, of, "x", "v"))
    grad = _concrete(curvature, derivative_value(curvature, curvature.lookup(of), x, True))
    env = random_environment((product, grad), rng, assumptions=curvature.assumed())
    step = 1e-6
    plus = evaluate(grad, {**env, x: env[x] + step * env[v]})
    minus = evaluate(grad, {**env, x: env[x] - step * env[v]})
    np.testing.assert_allclose(
        evaluate(product, env), (plus - minus) / (2 * step), rtol=1e-5, atol=1e-7
    )


def test_the_cli_prints_gauss_newton_and_hessian_vector_products(tmp_path, capsys):
    path = tmp_path / "curvature.toml"
    path.write_text(CURVATURE, encoding="utf-8")
    assert main(["derive", str(path), "--gauss-newton", "--of", "E", "--wrt", "x"]) == 0
    out = capsys.readouterr().out
    assert "z &= W\\,x" in out
    assert f"\\approx J^{{T}} H_{{\\ell}} J &= W^{{T}}\\,\\left({SOFTMAX_CURVATURE}\\right)" in out
    assert main(["derive", str(path), "--hvp", "v", "--of", "f", "--format", "json"]) == 0
    record = __import__("json").loads(capsys.readouterr().out)["derivatives"]
    assert [(r["wrt"], r["value"]) for r in record] == [("x", r"2\,A^{T}\,A\,v")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hvp", "A", "--of", "f", "--wrt", "x"], "--hvp A: H v needs a column v"),
        (["--hvp", "v", "--hessian"], "one at a time"),
        (["--gauss-newton", "--of", "f", "--wrt", "A"], "formed by a column"),
        (["--gauss-newton", "--format", "tex"], "--gauss-newton with --format tex"),
    ],
)
def test_curvature_requests_that_cannot_be_met_exit_2(tmp_path, capsys, args, message):
    path = tmp_path / "curvature.toml"
    path.write_text(CURVATURE, encoding="utf-8")
    assert main(["derive", str(path), *args]) == 2
    assert message in capsys.readouterr().err


def test_hessians_print_in_the_defined_names(tmp_path, capsys, rng):
    from matcalc.engine.context import hessian, with_names

    text = (
        '[shapes]\nX = "n x d"\nw = "d"\ny = "n"\n[define]\np = \'\\sigma(X w)\'\n'
        "L = '-\\sum\\left(y \\odot \\log p + (1 - y) \\odot \\log(1 - p)\\right)'\n"
    )
    context = Context.from_toml(text)
    w = context.symbols["w"]
    value = hessian(context, "L", "w")
    named = with_names(context, value, (context.lookup("L"), w))
    expected = r"X^{T}\,\operatorname{diag}\left(p \odot \left(1 - p\right)\right)\,X"
    assert to_latex(named) == expected
    sizes = {d: {"n": 5, "d": 3}[d.name] for d in context.dimensions()}
    env = random_environment((concrete(value, sizes),), rng)
    np.testing.assert_allclose(
        evaluate(concrete(context.expand(named), sizes), env), evaluate(concrete(value, sizes), env)
    )
    path = tmp_path / "logistic.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["derive", str(path), "--hessian", "--wrt", "w"]) == 0
    assert expected in capsys.readouterr().out
