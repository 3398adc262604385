"""matcalc explain: identities derived entry by entry, as LaTeX that compiles."""

import pytest
from conftest import require_tool

from matcalc.cli import main
from matcalc.engine.rules import RULES
from matcalc.printers.document import compile_pdf
from matcalc.printers.explain import EXPLANATIONS, NoExplanationError, explain, standalone

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


def test_cli_prints_the_steps(capsys):
    assert main(["explain", "trace"]) == 0
    out = capsys.readouterr().out
    assert r"\begin{align*}" in out and r"\delta_{pq}" in out


def test_every_explanation_compiles(tmp_path):
    require_tool("pdflatex")
    body = "".join(explain(name) for name in EXPLANATIONS)
    compile_pdf(standalone(body), tmp_path / "explain.pdf")


def test_every_explanation_renders_in_katex():
    from test_markdown import katex_failures

    blocks = [explain(name).split("\n", 2)[2].strip() for name in EXPLANATIONS]
    assert katex_failures("\n\n".join(f"$$\n{block}\n$$" for block in blocks)) == []
