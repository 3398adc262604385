"""Expression contexts: the spec, names plain or LaTeX, layouts, derive --wrt, and every
derived gradient against finite differences of the defined function."""

import json
import re

import numpy as np
import pytest
import sympy
from conftest import compile_tex

from matcalc.cli import main
from matcalc.core.numeric import central_difference, evaluate
from matcalc.core.shapes import ONE
from matcalc.engine.context import context_gradients, gradient
from matcalc.printers.explain import standalone
from matcalc.printers.latex import to_latex
from matcalc.specs.context import (
    Context,
    ContextError,
    concrete,
    name_key,
    parse_shape,
)

RIDGE = """
layout = "denominator"
[shapes]
X = "n x d"
theta = "d"
theta_0 = "scalar"
Y = "n"
lambda = "scalar"
[define]
J = '\\frac{1}{n}\\|X\\theta + \\theta_0 - Y\\|^2 + \\lambda \\|\\theta\\|^2'
"""

FUNCTIONS = """
[shapes]
A = "n x n"
X = "n x n"
B = "n x m"
v = "n"
s = "scalar"
[define]
f = '\\operatorname{tr}(AX^{-1}) + \\log\\det(X^T X) + s\\, v^T X B B^T v'
g = '\\sum \\tanh(X B) + \\det(X) \\|X^T v\\|_2^2 - \\operatorname{tr}(X \\odot A)'
h = '\\sum \\sigma(Xv + s) + v^T X^{-T} v'
"""


def n_d(n, d):
    return (
        sympy.Symbol(n, integer=True, positive=True),
        sympy.Symbol(d, integer=True, positive=True),
    )


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("n x d", n_d("n", "d")),
        ("n \\times d", n_d("n", "d")),
        ("3 x 2", (sympy.Integer(3), sympy.Integer(2))),
        ("d", (n_d("d", "d")[0], ONE)),
        ("scalar", (ONE, ONE)),
        ("c x (n - k + 1)", (n_d("c", "n")[0], n_d("n", "k")[0] - n_d("n", "k")[1] + 1)),
        ("(2*h) x d", (2 * n_d("h", "d")[0], n_d("h", "d")[1])),
    ],
)
def test_shapes(text, shape):
    assert parse_shape(text, "X") == shape


@pytest.mark.parametrize("text", ["n x", "n x d x k", "(n - 1", "2 - 3", "n / 2", "", "0 x 2"])
def test_bad_shapes_name_the_key(text):
    with pytest.raises(ContextError, match=r"\[shapes\] X"):
        parse_shape(text, "X")


@pytest.mark.parametrize(
    ("written", "key"),
    [("theta", "theta"), ("\\theta", "theta"), ("\\theta_{0}", "theta_0"), ("theta_0", "theta_0"),
     ("J_{\\text{ridge}}", "J_ridge"), ("J_ridge", "J_ridge")],
)  # fmt: skip
def test_names_plain_or_latex(written, key):
    assert name_key(written) == key


def test_ridge_gradients_in_textbook_form():
    context = Context.from_toml(RIDGE)
    assert to_latex(gradient(context, "J", "\\theta")) == (
        r"\frac{2}{n}\,X^{T}\,\left(X\,\theta + \theta_{0}\,\mathbf{1} - Y\right)"
        r" + 2\,\lambda\,\theta"
    )
    assert to_latex(gradient(context, "J", "lambda")) == r"\left\|\theta\right\|^2"
    assert gradient(context, "J", "theta_0").shape == (ONE, ONE)


@pytest.mark.parametrize("layout", ["denominator", "numerator", "mixed"])
def test_layouts_shape_the_derivative(layout):
    context = Context.from_toml(
        f'layout = "{layout}"\n' + RIDGE.replace('layout = "denominator"', "")
    )
    value = gradient(context, "J", "theta")
    column = value.shape[1] == ONE
    assert column == (layout != "numerator")


def _check_against_differences(context: Context, name: str, rng) -> None:
    sizes = {
        d: size for d, size in zip(sorted(context.dimensions(), key=str), (4, 3, 5), strict=False)
    }
    function = context.expand(context.lookup(name))
    for written in context.symbols:
        symbol = context.symbols[written]
        if symbol not in set(function.walk()):
            continue
        exact = concrete(function, sizes)
        env = {}
        for node in exact.walk():
            if node in context.symbols.values() and node not in env:
                rows, cols = int(node.shape[0]), int(node.shape[1])
                value = 0.5 * rng.standard_normal((rows, cols))
                env[node] = value + 2 * np.eye(rows) if rows == cols > 1 else value

        def value_at(point, symbol=symbol, exact=exact, env=env):
            return float(evaluate(exact, {**env, symbol: point})[0, 0])

        expected = central_difference(value_at, env[symbol])
        derived = concrete(gradient(context, name, written), sizes)
        np.testing.assert_allclose(evaluate(derived, env), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("spec", "name"), [(RIDGE, "J"), (FUNCTIONS, "f"), (FUNCTIONS, "g"), (FUNCTIONS, "h")]
)
def test_every_gradient_matches_finite_differences(spec, name, rng):
    _check_against_differences(Context.from_toml(spec), name, rng)


def test_derive_cli_json_and_latex(tmp_path, capsys):
    path = tmp_path / "ridge.toml"
    path.write_text(RIDGE, encoding="utf-8")
    assert main(["derive", str(path), "--wrt", "theta", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["layout"] == "denominator"
    (gradient,) = record["gradients"]
    assert gradient["target"] == r"\frac{\partial J}{\partial \theta}"
    assert gradient["shape"] == r"d \times 1"
    assert main(["derive", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("&=") == 5 and r"\begin{aligned}" in out


def test_derive_latex_is_a_document_body_that_compiles(tmp_path, capsys):
    path = tmp_path / "ridge.toml"
    path.write_text(RIDGE, encoding="utf-8")
    assert main(["derive", str(path)]) == 0
    compile_tex(standalone(capsys.readouterr().out), tmp_path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('layout = "sideways"\n[shapes]\nX = "n"', "layout = 'sideways'"),
        ("[shapes]\nX = \"n\"\n[define]\nJ = 'X^T Y'", "unknown symbol Y"),
        ("[shapes]\nX = \"n x d\"\n[define]\nJ = '\\det X'", "needs a square matrix"),
        ('[shapes]\nX = "n"\n[opaque]\nL = ["Z"]', "'Z' is neither in [shapes] nor in [define]"),
        ('[shapes]\nX = "n"\ncolour = 3.5', "[shapes] colour"),
        ('weights = 3\n[shapes]\nX = "n"', "unknown key 'weights'"),
    ],
)
def test_bad_spec_is_one_line_exit_2(spec, message, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(spec, encoding="utf-8")
    assert main(["derive", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_wrt_names_the_known(tmp_path, capsys):
    path = tmp_path / "ridge.toml"
    path.write_text(RIDGE, encoding="utf-8")
    assert main(["derive", str(path), "--wrt", "phi"]) == 2
    assert "theta" in capsys.readouterr().err


def test_markdown_of_a_context_renders_in_katex(tmp_path, capsys):
    from conftest import assert_renders

    path = tmp_path / "ridge.toml"
    path.write_text(RIDGE, encoding="utf-8")
    assert main(["derive", str(path), "--format", "markdown"]) == 0
    assert_renders(capsys.readouterr().out)


def test_a_column_function_gets_its_jacobian(tmp_path, capsys):
    path = tmp_path / "map.toml"
    path.write_text('[shapes]\nA = "n x n"\nx = "n"\n[define]\ny = \'Ax\'\n', encoding="utf-8")
    assert main(["derive", str(path), "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["gradients"]
    assert (record["of"], record["wrt"], record["value"]) == ("y", "x", "A^{T}")


def test_json_names_a_subscripted_variable_by_its_key():
    records = [g.wrt for g in context_gradients(Context.from_toml(RIDGE), "J")]
    assert records == ["X", "theta", "theta_0", "Y", "lambda"]


def test_a_power_is_not_read_as_the_matrix(tmp_path, capsys):
    path = tmp_path / "sq.toml"
    path.write_text('[shapes]\nX = "n x n"\n', encoding="utf-8")
    equation = r"\frac{\partial}{\partial X}\operatorname{tr}(X^{-1}) = -X^{-2}"
    assert main(["verify", str(path), equation]) == 2
    assert "powers are not read" in capsys.readouterr().err


def test_definitions_that_double_at_each_step_are_bounded():
    lines = ["[shapes]", 'x = "n"', "[define]", "a_1 = 'x'"]
    lines += [f"a_{k} = 'a_{{{k - 1}}} + a_{{{k - 1}}}'" for k in range(2, 40)]
    with pytest.raises(ContextError, match="more than 5000 parts"):
        Context.from_toml("\n".join(lines))


def test_of_a_declared_matrix_is_an_error_not_an_empty_display(tmp_path, capsys):
    path = tmp_path / "ridge.toml"
    path.write_text(RIDGE, encoding="utf-8")
    assert main(["derive", str(path), "--of", "X"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--of X: no derivative to print" in err and "(J)" in err


# ------------------------------------------------------------- textbook forms and assumptions

TEXTBOOK = """
[shapes]
X = "n x n"
A = "n x n"
S = "n x n"
x = "n"
mu = "n"
M = "n x d"
w = "d"
y = "n"
t = "n"
z = "n"
[assume]
S = "positive definite"
A = "symmetric"
t = "probability"
[define]
logdet = '\\log\\det X'
logofdet = '\\log(\\det X)'
expsum = '\\sum \\exp(M w)'
logsum = '\\sum \\log(1 + \\exp(M w))'
quad = 'x^T A x'
logistic = '-\\sum\\left(y \\odot \\log\\sigma(Mw) + (1 - y) \\odot \\log(1 - \\sigma(Mw))\\right)'
ce = '-\\sum\\left(t \\odot \\log\\operatorname{softmax}(z)\\right)'
gauss = '-\\frac{1}{2}(x - \\mu)^T S^{-1} (x - \\mu) - \\frac{1}{2}\\log\\det S'
th = '\\sum \\tanh(M w)'
nrm = '\\sqrt{\\|M w - y\\|^2}'
fro = '\\sqrt{\\|M\\|_F^2}'
[functions]
swish = 'z \\sigma(z)'
"""

TEXTBOOK_CASES = [
    ("logdet", "X", r"X^{-T}"),
    ("logofdet", "X", r"X^{-T}"),
    ("expsum", "w", r"M^{T}\,\exp\left(M\,w\right)"),
    ("quad", "x", r"2\,A\,x"),
    ("logistic", "w", r"M^{T}\,\left(\sigma\left(M\,w\right) - y\right)"),
    ("logistic", "M", r"\left(\sigma\left(M\,w\right) - y\right)\,w^{T}"),
    ("ce", "z", r"\operatorname{softmax}\left(z\right) - t"),
    ("gauss", "mu", r"S^{-1}\,\left(x - \mu\right)"),
    ("th", "w", r"M^{T}\,\left(1 - \tanh\left(M\,w\right) \odot \tanh\left(M\,w\right)\right)"),
    ("nrm", "w", r"\frac{1}{\left\|M\,w - y\right\|_2}\,M^{T}\,\left(M\,w - y\right)"),
    ("fro", "M", r"\frac{1}{\left\|M\right\|_F}\,M"),
]


def _derived_against_differences(context: Context, name: str, wrt: str, rng) -> None:
    """The derived gradient equals central differences, at draws that respect [assume]."""
    from matcalc.specs.context import random_environment

    sizes = {
        d: size for d, size in zip(sorted(context.dimensions(), key=str), (4, 3), strict=False)
    }
    exact = concrete(context.expand(context.lookup(name)), sizes)
    symbol = context.symbols[name_key(wrt)]
    env = random_environment((exact,), rng, assumptions=context.assumed())
    env = {k: 0.5 * v if k not in context.assumed() else v for k, v in env.items()}

    def value_at(point):
        if context.assumptions.get(name_key(wrt)) in ("symmetric", "positive definite"):
            point = (point + point.T) / 2
        return float(evaluate(exact, {**env, symbol: point})[0, 0])

    expected = central_difference(value_at, env[symbol])
    derived = concrete(gradient(context, name, wrt), sizes)
    np.testing.assert_allclose(evaluate(derived, env), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "wrt", "expected"), TEXTBOOK_CASES)
def test_textbook_forms(name, wrt, expected, rng):
    context = Context.from_toml(TEXTBOOK)
    assert to_latex(gradient(context, name, wrt)) == expected
    _derived_against_differences(context, name, wrt, rng)


def test_the_rule_fusing_softmax_needs_the_probability_assumption():
    context = Context.from_toml(TEXTBOOK.replace('t = "probability"\n', ""))
    assert to_latex(gradient(context, "ce", "z")) != r"\operatorname{softmax}\left(z\right) - t"


def test_a_symmetric_matrix_is_drawn_symmetric_and_a_probability_on_the_simplex(rng):
    from matcalc.specs.context import random_environment

    context = Context.from_toml(TEXTBOOK)
    sizes = {d: 4 for d in context.dimensions()}
    exprs = tuple(concrete(context.symbols[k], sizes) for k in ("A", "S", "t"))
    env = random_environment(exprs, rng, assumptions=context.assumed())
    a, s, t = (env[context.symbols[k]] for k in ("A", "S", "t"))
    np.testing.assert_allclose(a, a.T)
    assert np.linalg.eigvalsh(s).min() > 0
    assert t.min() >= 0 and abs(t.sum() - 1) < 1e-12


def test_a_nearly_singular_product_is_drawn_again(rng):
    from matcalc.core.expr import Det, add, matmul
    from matcalc.specs.context import _well_conditioned, random_environment

    context = Context.from_toml('[shapes]\nX = "2 x 2"\nY = "2 x 2"\nu = "2"\n')
    x, y, u = (concrete(context.symbols[k], {}) for k in ("X", "Y", "u"))
    rank_one = Det(add(matmul(u, u.T), x, -1 * x))
    assert not _well_conditioned((rank_one,), random_environment((rank_one,), rng))
    difference = Det(add(x, -1 * y))
    draws = [random_environment((difference,), np.random.default_rng(s)) for s in range(200)]
    assert all(np.linalg.cond(d[x] - d[y]) < 1e6 for d in draws)


@pytest.mark.parametrize(
    ("formula", "wrt"),
    [
        ("\\sum \\operatorname{swish}(M w)", "w"),
        ("\\sum \\operatorname{erf}(M w)", "w"),
        ("\\sum \\sqrt{1 + \\exp(M w)}", "M"),
        ("\\sum \\frac{1}{1 + \\exp(M w)}", "w"),
    ],
)
def test_more_functions_against_differences(formula, wrt, rng):
    context = Context.from_toml(TEXTBOOK.replace("[define]\n", f"[define]\nF = '{formula}'\n"))
    _derived_against_differences(context, "F", wrt, rng)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[assume]\nM = "symmetric"', "needs a square matrix"),
        ('[assume]\ns = "probability"', "needs a column or a matrix"),
        ('[assume]\nA = "orthogonal"', "one of symmetric"),
        ('[assume]\nQ = "symmetric"', "not a name of [shapes]"),
        ("[functions]\nexp = 'z'", "[functions] exp"),
    ],
)
def test_bad_assumptions_and_functions(table, message):
    spec = '[shapes]\nA = "n x n"\nM = "n x d"\ns = "scalar"\n' + table
    with pytest.raises(ContextError, match=re.escape(message)):
        Context.from_toml(spec)


LAYER_NAMED = """
[shapes]
"{name}" = "n x m"
"W^{{(1)}}" = "m x d"
x = "d"
y = "n"
[define]
L = '\\|{name} \\tanh(W^{{(1)}} x) - y\\|^2'
"""


@pytest.mark.parametrize("name", ["W^{(2)}", "W^{[2]}", "W^2"])
def test_a_name_with_a_layer_index_is_a_name(name, rng):
    """W^{(2)} declared in [shapes] is one matrix, read in formulas however its index is
    bracketed, and its gradient matches finite differences."""
    context = Context.from_toml(LAYER_NAMED.format(name=name))
    assert {"W^1", "W^2"} <= set(context.symbols)
    _check_against_differences(context, "L", rng)


@pytest.mark.parametrize(
    ("equation", "code"),
    [
        (
            r"\frac{\partial L}{\partial W^{(2)}} = 2 (W^{(2)} \tanh(W^{(1)} x) - y) \tanh(W^{(1)} x)^T",  # noqa: E501
            0,
        ),
        (
            r"\frac{\partial L}{\partial W^{(2)}} = 2 \tanh(W^{(1)} x) (W^{(2)} \tanh(W^{(1)} x) - y)^T",  # noqa: E501
            1,
        ),
        (
            r"\frac{\partial L}{\partial W^{(2)}} = 2 (W^{(2)} \tanh(W^{(1)} x) - y) \tanh(W^{(1)} x)",  # noqa: E501
            1,
        ),
        (r"\frac{\partial L}{\partial W^{(3)}} = 2 (W^{(2)} \tanh(W^{(1)} x) - y)", 2),
    ],
)
def test_verify_reads_a_layer_indexed_name(equation, code, tmp_path, capsys):
    """Right, transposed, shapes that do not fit; W^{(3)} is no declared name (exit 2)."""
    spec = tmp_path / "net.toml"
    spec.write_text(LAYER_NAMED.format(name="W^{(2)}"))
    assert main(["verify", str(spec), equation]) == code, capsys.readouterr()
