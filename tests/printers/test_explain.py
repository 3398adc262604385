"""matcalc explain: identities derived entry by entry, as LaTeX that compiles."""

import numpy as np
import pytest
from conftest import compile_tex

from matcalc.cli import main
from matcalc.core.numeric import evaluate
from matcalc.engine.context import derivative_value
from matcalc.engine.rules import RULES
from matcalc.printers.explain import (
    EXPLANATIONS,
    FORMS,
    NoExplanationError,
    explain,
    explain_expression,
    standalone,
)
from matcalc.reading.parse import parse_expression
from matcalc.specs.context import Context

REQUIRED = (
    "product",
    "linear map",
    "transpose",
    "elementwise function",
    "trace",
    "trace of a product",
    "quadratic form",
    "inverse",
    "determinant",
    "log-determinant",
)


@pytest.mark.parametrize("name", REQUIRED)
def test_required_rules_are_explained(name):
    assert name in EXPLANATIONS


def test_every_explanation_belongs_to_a_rule():
    names = {rule.name for rule in RULES}
    assert set(EXPLANATIONS) <= names


@pytest.mark.parametrize(
    ("name", "result"),
    [
        ("trace of a product", r"\frac{\partial f}{\partial X} &= A^T"),
        ("quadratic form", r"&= (B + B^T)\, x"),
        ("inverse", r"&= -X^{-T} G X^{-T}"),
        ("determinant", r"C = \det(X)\, X^{-T}"),
    ],
)
def test_explanation_ends_with_the_identity(name, result):
    text = explain(name)
    assert text.strip().endswith(r"\end{align*}")
    last = text.strip().splitlines()[-2]
    assert result in last
    assert r"\delta_{ip}\,\delta_{jq}" in text


def test_steps_go_index_notation_one_entry_reassembled():
    text = explain("trace of a product")
    assert text.index("index notation") < text.index("one entry") < text.index("entry $(p, q)$")


def test_rule_without_explanation_is_a_clear_error(capsys):
    with pytest.raises(NoExplanationError, match="no entrywise explanation"):
        explain("like terms")
    assert main(["explain", "no such rule"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no rule named 'no such rule'" in err


def test_a_huge_unknown_name_is_shortened_in_the_error(capsys):
    assert main(["explain", "x" * 100_000]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{'x' * 60}...'" in err and len(err) < 1000


def test_cli_prints_the_steps(capsys):
    assert main(["explain", "trace"]) == 0
    out = capsys.readouterr().out
    assert r"\begin{align*}" in out and r"\delta_{pq}" in out


def test_every_explanation_compiles(tmp_path):
    body = "".join(explain(name) for name in EXPLANATIONS)
    compile_tex(standalone(body), tmp_path)


def test_every_explanation_renders_in_katex():
    from conftest import katex_failures

    blocks = [explain(name).split("\n", 2)[2].strip() for name in EXPLANATIONS]
    assert katex_failures("\n\n".join(f"$$\n{block}\n$$" for block in blocks)) == []


# ------------------------------------------------------------------ an expression and a variable

SHAPES = {
    "u": "3", "v": "4", "w": "3", "M": "3 x 4", "S": "3 x 3", "P": "4 x 3", "Q": "3 x 4",
    "theta": "3", "W_0": "3 x 3",
}  # fmt: skip
EXPRESSIONS = [
    # (expression, by, the rule whose explanation it gets)
    ("u^T w", "w", "linear form"),
    (r"\theta^T u", r"\theta", "linear form"),
    ("u^T M v", "M", "bilinear form"),
    ("v^T M^T u", "M", "bilinear form of a transpose"),
    ("w^T S w", "w", "quadratic form"),
    ("w^T W_0 w", "w", "quadratic form"),
    (r"\operatorname{tr}(P M)", "M", "trace of a product"),
    (r"\operatorname{tr}(Q^T S Q)", "Q", "trace of a quadratic form"),
    (r"\|M\|_F^2", "M", "squared norm"),
    (r"\|w\|^2", "w", "squared norm"),
    (r"\det(S)", "S", "determinant"),
    (r"\log\det(S)", "S", "log-determinant"),
]


def context() -> Context:
    return Context.from_dict({"shapes": SHAPES})


def final_matrix(latex: str) -> str:
    """The right side of the explanation's last line: the reassembled matrix."""
    last = latex.strip().splitlines()[-2]
    rhs = last.split("&=", 1)[1].split("&&", 1)[0]
    return rhs.rsplit("=", 1)[-1].strip()


@pytest.mark.parametrize(("text", "by", "rule"), EXPRESSIONS)
def test_the_reassembled_matrix_is_the_engines_gradient(text, by, rule, rng):
    names = context()
    latex = explain_expression(text, by, names)
    assert f"{rule}, " in latex.splitlines()[0]
    printed = names.resolve(parse_expression(final_matrix(latex)))
    expr = names.resolve(parse_expression(text))
    derived = derivative_value(names, expr, names.lookup(by))
    for _ in range(2):
        env = {
            symbol: rng.standard_normal(tuple(int(d) for d in symbol.shape))
            + (3 * np.eye(3) if symbol.shape == (3, 3) else 0)
            for symbol in names.symbols.values()
        }
        assert np.allclose(evaluate(printed, env), evaluate(derived, env))


def test_the_checks_can_fail(rng):
    """A printed result in the wrong names (S for S^T) differs from the engine's gradient."""
    names = context()
    env = {s: rng.standard_normal(tuple(int(d) for d in s.shape)) for s in names.symbols.values()}
    expr = names.resolve(parse_expression(r"w^T S w"))
    derived = derivative_value(names, expr, names.lookup("w"))
    wrong = names.resolve(parse_expression(r"2 S w"))
    assert not np.allclose(evaluate(wrong, env), evaluate(derived, env))


def test_explanations_speak_the_expressions_names():
    latex = explain_expression(r"\operatorname{tr}(Q^T S Q)", "Q", context())
    assert r"\sum_{i,k,l} Q_{ki} S_{kl} Q_{li}" in latex
    assert r"\text{product rule, $Q$ twice}" in latex
    assert r"Q: 3 \times 4,\ S: 3 \times 3" in latex
    assert "X" not in latex.split("\n", 2)[2] and "B" not in latex.split("\n", 2)[2]
    column = explain_expression(r"\theta^T u", r"\theta", context())
    assert r"\frac{\partial \theta_i}{\partial \theta_p} = \delta_{ip}" in column
    assert r"f &= \sum_i u_i \theta_i" in column


def test_every_form_has_an_explanation():
    assert {form.rule for form in FORMS} <= set(EXPLANATIONS)
    assert {rule for _, _, rule in EXPRESSIONS} | {"trace"} == {form.rule for form in FORMS}


def expression_explanations() -> list[str]:
    names = context()
    cases = [*EXPRESSIONS, (r"\operatorname{tr}(S)", "S", "trace")]
    return [explain_expression(text, by, names) for text, by, _ in cases]


def test_expression_explanations_compile_without_overfull_lines(tmp_path):
    compile_tex(standalone("".join(expression_explanations())), tmp_path)


def test_expression_explanations_render_in_katex():
    from conftest import katex_failures

    blocks = expression_explanations()
    bodies = [block.split("\n", 2)[2].strip() for block in blocks]
    assert katex_failures("\n\n".join(f"$$\n{body}\n$$" for body in bodies)) == []


def test_cli_explains_an_expression_with_shapes_or_a_spec(capsys, tmp_path):
    shapes = ["--shape", "a=n", "--shape", "X=n x m", "--shape", "b=m"]
    assert main(["explain", "a^T X b", "--wrt", "X", *shapes]) == 0
    out = capsys.readouterr().out
    assert r"\frac{\partial f}{\partial X} &= a b^T" in out
    assert r"a: n \times 1,\ X: n \times m,\ b: m \times 1" in out
    spec = tmp_path / "ridge.toml"
    spec.write_text(
        '[shapes]\nX = "n x d"\nA = "n x n"\n[define]\nJ = \'\\operatorname{tr}(X^T A X)\'\n'
    )
    assert main(["explain", "J", "--wrt", "X", "--spec", str(spec), "--standalone"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(r"\documentclass") and r"&= A X + A^T X" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["X b", "--wrt", "X", "--shape", "X=n x n", "--shape", "b=n"],
            "cannot explain",
        ),
        ([r"X^T X", "--wrt", "X", "--shape", "X=n x m"], "explained forms"),
        (["a^T x", "--wrt", "x"], "needs the shapes"),
        (["a^T x", "--wrt", "x", "--shape", "a"], "NAME=SHAPE"),
        (["a^T x", "--wrt", "x", "--shape", "a=n"], "unknown symbol x"),
        (["a^T x", "--wrt", "y", "--shape", "a=n", "--shape", "x=n"], "unknown name 'y'"),
        (["trace", "--shape", "a=n"], "go with an expression and --wrt"),
        (["p^T x", "--wrt", "x", "--shape", "p=n", "--shape", "x=n"], "the name p"),
    ],
)
def test_cli_expression_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("matcalc: error:") and message in err
    assert err.count("\n") == 1 or "^" in err  # a reader error points at the column


# ------------------------------------------------------- any expression, by its differential

BY_DIFFERENTIAL = [
    (r"\operatorname{tr}(P S M)", "S"),
    (r"\|M v - u\|^2", "v"),
    (r"\|M v - u\|^2", "M"),
    (r"u^T S^{-1} w", "S"),
    (r"\sum \tanh(M v)", "M"),
    (r"\log\det(S^T S) + \operatorname{tr}(S)", "S"),
    (r"-\sum\left(u \odot \log\sigma(M v)\right)", "v"),
    (r"u^T M v", "u"),
]


def _read(text: str, names: Context):
    """A printed matrix read back, with I the 3 x 3 identity."""
    import sympy

    from matcalc.reading.resolve import resolve
    from matcalc.specs.context import ContextNamespace

    return resolve(parse_expression(text), ContextNamespace(names, identity=sympy.Integer(3)))


def _entry_of_differential(latex: str, names: Context, by: str):
    """G from the explanation's collected line, read back by the reader."""
    line = next(row for row in latex.splitlines() if r"\quad" in row)
    g = line.split(r"\quad", 1)[1].split("&&", 1)[0].split("=", 1)[1].strip()
    return _read(g, names)


@pytest.mark.parametrize(("text", "by"), BY_DIFFERENTIAL)
def test_any_scalar_is_explained_by_its_differential(text, by, rng):
    """The collected G and the reassembled matrix, read back, equal central differences of f
    entry by entry."""
    from matcalc.core.numeric import central_difference
    from matcalc.printers.explain import explain_by_differential

    names = context()
    expr = names.resolve(parse_expression(text))
    latex = explain_by_differential(expr, names.lookup(by), names)
    assert "the differential" in latex.splitlines()[0]
    variable = names.lookup(by)
    printed = _read(final_matrix(latex), names)
    collected = _entry_of_differential(latex, names, by)
    env = {
        symbol: 0.5 * rng.standard_normal(tuple(int(d) for d in symbol.shape))
        + (3 * np.eye(3) if symbol.shape == (3, 3) else 0)
        for symbol in names.symbols.values()
    }

    def value_at(point):
        return float(evaluate(expr, {**env, variable: point})[0, 0])

    expected = central_difference(value_at, env[variable])
    np.testing.assert_allclose(evaluate(printed, env), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(evaluate(collected, env), expected, rtol=1e-5, atol=1e-7)


def test_differential_explanations_compile_and_render(tmp_path):
    from conftest import katex_failures

    from matcalc.printers.explain import explain_by_differential

    names = context()
    blocks = [
        explain_by_differential(names.resolve(parse_expression(text)), names.lookup(by), names)
        for text, by in BY_DIFFERENTIAL[:4]
    ]
    compile_tex(standalone("".join(blocks)), tmp_path)
    bodies = [block.split("\n", 1)[1].strip() for block in blocks]
    assert katex_failures("\n\n".join(f"$$\n{body}\n$$" for body in bodies)) == []


def test_only_what_index_notation_cannot_write_goes_by_the_differential():
    names = context()
    assert "the differential" in explain_expression(r"u^T S^{-1} w", "S", names).split("\n")[0]
    assert "index notation" in explain_expression(r"\|M v - u\|^2", "v", names).split("\n")[0]


# ------------------------------------------------- any polynomial expression, by its indices

BY_INDICES = [
    (r"\operatorname{tr}(P S M)", "S"),
    (r"\|M v - u\|^2", "v"),
    (r"\|M v - u\|^2", "M"),
    (r"u^T M v", "u"),
    (r"\operatorname{tr}(S) + u^T S S^T u", "S"),
    (r"\operatorname{tr}(S^T S S)", "S"),
    (r"v^T M^T M v + 2 w^T M v", "v"),
    (r"\sum (S \odot S^T)", "S"),
    (r"u^T (S \odot S) w", "S"),
    (r"\|M\|_F^2 - \operatorname{tr}(M^T P^T)", "M"),
    (r"(u^T S w) (w^T S u)", "S"),
]


def _random_values(names: Context, rng):
    return {
        symbol: 0.5 * rng.standard_normal(tuple(int(d) for d in symbol.shape))
        for symbol in names.symbols.values()
    }


@pytest.mark.parametrize(("text", "by"), BY_INDICES)
def test_index_notation_entries_match_central_differences(text, by, rng):
    """f written in index notation has f's value, and each entry of df/dX_pq, summed as
    printed, is the central difference of f by that entry; the reassembled matrix is it."""
    from matcalc.core.numeric import central_difference
    from matcalc.printers.explain import evaluate_terms, index_derivation

    names = context()
    expr = names.resolve(parse_expression(text))
    variable = names.lookup(by)
    terms, derivative, free, sizes = index_derivation(expr, variable)
    sizes = {k: int(v) for k, v in sizes.items()}
    latex = explain_expression(text, by, names)
    assert "index notation" in latex.splitlines()[0]
    printed = _read(final_matrix(latex), names)
    for _ in range(2):
        env = _random_values(names, rng)
        np.testing.assert_allclose(evaluate_terms(terms, env, sizes, ()), evaluate(expr, env)[0, 0])

        def value_at(point, env=env):
            return float(evaluate(expr, {**env, variable: point})[0, 0])

        expected = central_difference(value_at, env[variable])
        entries = evaluate_terms(derivative, env, sizes, free).reshape(expected.shape)
        np.testing.assert_allclose(entries, expected, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(evaluate(printed, env), expected, rtol=1e-5, atol=1e-7)


def test_the_index_check_can_fail(rng):
    """One term of the product rule left out no longer matches the differences."""
    from matcalc.printers.explain import evaluate_terms, index_derivation

    names = context()
    expr = names.resolve(parse_expression(r"\operatorname{tr}(S) + u^T S S^T u"))
    terms, derivative, free, sizes = index_derivation(expr, names.lookup("S"))
    sizes = {k: int(v) for k, v in sizes.items()}
    env = _random_values(names, rng)
    assert len(derivative) == 3
    whole = evaluate_terms(derivative, env, sizes, free)
    assert not np.allclose(evaluate_terms(derivative[:2], env, sizes, free), whole)


def test_index_notation_is_written_as_the_textbook_does():
    latex = explain_expression(r"\operatorname{tr}(P S M)", "S", context())
    assert r"f &= \sum_{i,j,k} P_{ij}\,S_{jk}\,M_{ki}" in latex
    assert r"\frac{\partial f}{\partial S_{pq}} &= \sum_{i} P_{ip}\,M_{qi}" in latex
    trace = explain_expression(r"\operatorname{tr}(S)", "S", context())
    assert r"\frac{\partial f}{\partial S_{pq}} &= \delta_{pq}" in trace or "trace" in trace


def test_index_explanations_compile_and_render(tmp_path):
    from conftest import katex_failures

    names = context()
    blocks = [explain_expression(text, by, names) for text, by in BY_INDICES]
    compile_tex(standalone("".join(blocks)), tmp_path)
    bodies = [block.split("\n", 1)[1].strip() for block in blocks]
    assert katex_failures("\n\n".join(f"$$\n{body}\n$$" for body in bodies)) == []


def _random_polynomial(draw, depth: int):
    """A 3 x 3 expression of X, the constants A, B and I: products, sums, Hadamard products,
    transposes and multiples."""
    import sympy
    from hypothesis import strategies as st

    from matcalc.core.expr import Identity, Transpose, add, hadamard, matmul, scale

    names = context_square()
    leaves = [names.lookup("X"), names.lookup("A"), names.lookup("B"), Identity(sympy.Integer(3))]
    if depth == 0:
        leaf = draw(st.sampled_from(leaves))
        return Transpose(leaf) if draw(st.booleans()) and leaf != leaves[3] else leaf
    left = _random_polynomial(draw, depth - 1)
    right = _random_polynomial(draw, depth - 1)
    combine = draw(st.sampled_from(["matmul", "add", "hadamard", "scale"]))
    if combine == "matmul":
        return matmul(left, right)
    if combine == "add":
        return add(left, right)
    if combine == "hadamard":
        return hadamard(left, right)
    return scale(draw(st.integers(-3, 3).filter(bool)), left)


def context_square() -> Context:
    return Context.from_dict(
        {"shapes": {"X": "3 x 3", "A": "3 x 3", "B": "3 x 3", "a": "3", "b": "3"}}
    )


@pytest.mark.parametrize("outer", ["trace", "sum", "norm", "bilinear"])
def test_index_notation_of_random_polynomials_matches_differences(outer):
    """Hypothesis: any polynomial scalar of X, written in index notation and differentiated
    entry by entry, equals f and its central differences."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from matcalc.core.expr import SquaredNorm, Sum, Trace, matmul, transpose
    from matcalc.core.numeric import central_difference
    from matcalc.printers.explain import evaluate_terms, index_derivation

    names = context_square()
    x, a, b = names.lookup("X"), names.lookup("a"), names.lookup("b")
    wrap = {
        "trace": Trace,
        "sum": Sum,
        "norm": SquaredNorm,
        "bilinear": lambda m: matmul(transpose(a), m, b),
    }[outer]

    @settings(max_examples=15, deadline=None)
    @given(st.data(), st.integers(0, 2**31 - 1))
    def check(data, seed):
        expr = wrap(_random_polynomial(data.draw, 2))
        if x not in set(expr.walk()):
            return
        terms, derivative, free, sizes = index_derivation(expr, x)
        sizes = {k: int(v) for k, v in sizes.items()}
        rng = np.random.default_rng(seed)
        env = {s: 0.5 * rng.standard_normal(tuple(int(d) for d in s.shape))
               for s in names.symbols.values()}  # fmt: skip
        np.testing.assert_allclose(
            evaluate_terms(terms, env, sizes, ()), evaluate(expr, env)[0, 0], atol=1e-9
        )

        def value_at(point):
            return float(evaluate(expr, {**env, x: point})[0, 0])

        expected = central_difference(value_at, env[x])
        entries = evaluate_terms(derivative, env, sizes, free)
        np.testing.assert_allclose(entries, expected, rtol=1e-5, atol=1e-6)

    check()
