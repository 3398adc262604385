"""The LaTeX reader: real-world spellings, what each superscript means, clean errors."""

import time

import pytest
import sympy
from conftest import run_probe
from hypothesis import given, settings
from hypothesis import strategies as st

from matcalc.checks.verify import verify
from matcalc.core.shapes import DEPTH, LAYER
from matcalc.errors import MatcalcError
from matcalc.reading.parse import (
    MAX_CHAIN,
    MAX_DEPTH,
    MAX_LENGTH,
    Cdots,
    DerivativeOf,
    Elementwise,
    Group,
    Inverse,
    Nabla,
    Name,
    Neg,
    Norm,
    ParseError,
    Primed,
    Product,
    Scripted,
    Transposed,
    parse_expression,
    parse_latex,
    walk,
)
from matcalc.reading.resolve import node_text
from matcalc.specs.network import Layer, Network

l, L = LAYER, DEPTH


def scripted(node):
    while isinstance(node, Group):
        node = node.inner
    assert isinstance(node, Scripted), node
    return node


@pytest.mark.parametrize(
    ("text", "index", "style"),
    [
        ("W^l", l, "plain"),
        ("W^{l}", l, "plain"),
        ("W^{l+1}", l + 1, "plain"),
        ("W^{(l)}", l, "paren"),
        ("W^{[l]}", l, "bracket"),
        ("W^{[l-1]}", l - 1, "bracket"),
        ("A^{L-1}", L - 1, "plain"),
        ("A^{L - 1}", L - 1, "plain"),
        (r"W^\ell", l, "plain"),
        (r"W^{\ell+1}", l + 1, "plain"),
        (r"W^{(\ell)}", l, "paren"),
        ("W^2", 2, "plain"),
        ("W^{12}", 12, "plain"),
        (r"\mathbf{W}^{l}", l, "plain"),
        (r"\boldsymbol{W}^{[l]}", l, "bracket"),
        ("w^l", l, "plain"),
    ],
)
def test_every_other_superscript_is_a_layer_index(text, index, style):
    node = scripted(parse_expression(text))
    assert node.index.expr == index and node.index.style == style


@pytest.mark.parametrize(
    ("text", "spelling"),
    [
        ("W^T", "T"),
        ("W^{T}", "T"),
        (r"W^\top", r"\top"),
        (r"W^{\top}", r"\top"),
        (r"W^\intercal", r"\top"),
        (r"W^{\mathsf{T}}", "T"),
        (r"W^\mathrm{T}", "T"),
        (r"\left(W^l\right)^T", "T"),
        (r"(W^{l})^{\top}", r"\top"),
        ("{W^l}^T", "T"),
    ],
)
def test_transpose_spellings(text, spelling):
    node = parse_expression(text)
    assert isinstance(node, Transposed) and node.spelling == spelling


def test_index_and_transpose_in_one_superscript():
    node = parse_expression("W^{[2]T}")
    assert isinstance(node, Transposed) and scripted(node.arg).index.expr == 2


@pytest.mark.parametrize(("text", "index"), [("w^{l+1 T}", l + 1), (r"W^{L-1 \top}", L - 1)])
def test_a_transpose_after_a_layer_index_sum(text, index):
    node = parse_expression(text)
    assert isinstance(node, Transposed) and scripted(node.arg).index.expr == index


@pytest.mark.parametrize(
    ("text", "by"), [(r"\partial_{\mathbf{w}} L", "w"), (r"\partial_b l", "b")]
)
def test_partial_with_a_subscript_is_a_gradient(text, by):
    node = parse_expression(text)
    assert isinstance(node, Product) and isinstance(node.factors[0], Nabla)
    assert node_text(node.factors[0].wrt) == by


@pytest.mark.parametrize(
    ("text", "arg"),
    [
        (r"\mathbb{1}[Z^1 > 0]", "Z^1"),
        (r"\mathbb{1}\{z \geq 0\}", "z"),
        (r"1\{z > 0\}", "z"),
        ("[z > 0]", "z"),
        (r"\mathbb{1}(z \gt 0)", "z"),
        (r"\mathbb{1}[0 < z]", "z"),
    ],
)
def test_an_indicator_of_a_comparison_is_a_step(text, arg):
    node = parse_expression(text)
    assert isinstance(node, Group) and node.delim == "condition"
    step, argument = node.inner.factors
    assert step == Name("step") and text[argument.inner.start : argument.inner.end] == arg


def test_an_indicator_below_is_the_step_of_the_negation():
    node = parse_expression(r"\mathbb{1}[z < 0]")
    assert node.inner.factors[1].inner == Neg(Name("z"))


def test_inverse_and_squared_norm_are_not_indices():
    assert isinstance(parse_expression("X^{-1}"), Inverse)
    norm = parse_expression(r"\|A^L - y\|^2")
    assert isinstance(norm, Norm) and norm.squared
    assert parse_expression(r"\left\| v \right\|^{2}").squared


def test_subscript_and_index_in_either_order():
    for text in ("W_0^l", "W^l_0", "W_{0}^{l}", "W^{(l)}_0"):
        node = scripted(parse_expression(text))
        assert node.sub == Name("0") or node.sub.value == 0
        assert node.index.expr == l


@pytest.mark.parametrize(
    "text",
    [
        r"\frac{\partial L}{\partial W^l}",
        r"\frac{\partial \mathcal{L}}{\partial W^{(l)}}",
        r"\frac{\partial \text{loss}}{\partial \mathbf{W}^{[l]}}",
        r"\frac{\partial J}{\partial W^l}",
        r"\frac{\partial \mathcal{L}_{\text{nll}}}{\partial W^L}",
        r"\dfrac{\partial L}{\partial W^l}",
        r"\frac{dL}{dW^l}",
        r"\partial L / \partial W^l",
        r"\nabla_{W^l} L",
    ],
)
def test_derivative_spellings(text):
    node = parse_expression(text)
    assert isinstance(node, DerivativeOf | Product)
    derivative = node if isinstance(node, DerivativeOf) else None
    if derivative is not None:
        assert scripted(derivative.den).index.expr in (l, L)


@pytest.mark.parametrize(
    ("text", "order"),
    [("f'(Z)", 1), ("{f^l}'(Z^l)", 1), (r"\sigma'(Z)", 1), ("f''(Z)", 2), (r"f^{l\prime}(Z^l)", 1)],
)
def test_primes_mark_derivatives(text, order):
    product = parse_expression(text)
    assert isinstance(product, Product)
    assert isinstance(product.factors[0], Primed) and product.factors[0].order == order


@pytest.mark.parametrize(
    "text",
    [
        r"A \cdot B",
        r"A \times B",
        "A B",
        r"A\,B",
        r"A\!B",
        r"A \; B",
        r"A \quad B",
    ],
)
def test_products(text):
    node = parse_expression(text)
    assert isinstance(node, Product) and len(node.factors) == 2


@pytest.mark.parametrize("text", [r"A \odot B", r"A \circ B", "A * B"])
def test_elementwise_products(text):
    assert isinstance(parse_expression(text), Elementwise)


def test_elementwise_binds_looser_than_juxtaposition():
    node = parse_expression(r"f'(Z^l) \odot W^{l+1} \frac{\partial L}{\partial Z^{l+1}}")
    assert isinstance(node, Elementwise) and isinstance(node.factors[1], Product)


@pytest.mark.parametrize(
    "text",
    [
        r"\left( A \right)",
        r"\Big( A \Big)",
        r"\bigl( A \bigr)",
        r"\left[ A \right]",
        r"\left. A \right.",
        r"\displaystyle A",
        "$A$",
        "$$A$$",
        r"\[A\]",
    ],
)
def test_sizing_and_delimiters_are_read_through(text):
    names = [n for n in walk(parse_expression(text)) if isinstance(n, Name)]
    assert [n.text for n in names] == ["A"]


def test_overbrace_annotations_are_dropped():
    node = parse_expression(
        r"\overbrace{\frac{\partial L}{\partial Z^\ell}}^{\text{Weight link}} \cdot "
        r"\underbrace{A}_{\text{input}}"
    )
    assert isinstance(node, Product) and not any(
        isinstance(n, Name) and n.text in ("Weight link", "input") for n in walk(node)
    )


def test_seed_chain_with_cdots():
    text = (
        r"\frac{\partial \mathcal{L}}{\partial Z^\ell} = \overbrace{\left( \frac{\partial "
        r"A^\ell}{\partial Z^\ell} \right)}^{\text{Layer } \ell} \cdot \left( \cdots \right) "
        r"\cdot \overbrace{\left( \frac{\partial Z^{L-1}}{\partial A^{L-2}} \cdot \frac{\partial "
        r"A^{L-1}}{\partial Z^{L-1}} \right)}^{\text{Layer } L-1} \cdot \overbrace{\left( "
        r"\frac{\partial Z^L}{\partial A^{L-1}} \cdot \frac{\partial A^L}{\partial Z^L} "
        r"\right)}^{\text{Layer } L} \cdot \overbrace{\left( \frac{\partial \mathcal{L}}"
        r"{\partial A^L} \right)}^{\text{Loss unit}}"
    )
    equation = parse_latex(text)
    assert len(equation.sides) == 2
    assert any(isinstance(n, Cdots) for n in walk(equation.sides[1]))


def test_numbers_and_fractions():
    node = parse_expression(r"\frac{1}{K} X")
    assert isinstance(node, Product)
    assert parse_expression(r"\frac12").num.value == 1


def test_positions_point_into_the_source():
    text = r"A^{l-1}\left(\frac{\partial L}{\partial Z^l}\right)^T"
    node = parse_expression(text)
    first = node.factors[0]
    assert text[first.start : first.end] == "A^{l-1}"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        (r"\frac{\partial L}{\partial W} = \foo A", r"unknown command \foo", 32),
        ("A^{l", "never closed", 2),
        ("A}", "closes nothing", 1),
        ("(A]", "closed by", 2),
        ("= A", "the left side is empty", 0),
        ("A =", "the right side is empty", 3),
        ("A = = B", "a side of the equation is empty", 4),
        ("A = \\left( \\right)", "unexpected", 11),
        ("", "empty", 0),
        ("   ", "empty", 0),
        ("A + ", "ends too early", 3),
        ("W^{}", "unexpected '}'", 3),
        ("A ^ ^ B", "unexpected '^'", 4),
        ("A @ B", "unexpected character '@'", 2),
        ("A = B > 0", "unexpected '>'", 6),  # a comparison only inside [...] or \{...\}
        (r"\partial A", "outside a derivative", 0),
        ("|A", "never closed", 0),
        (r"\text{a$b}", "letters, digits and spaces", 5),
        ("W^{x^2}", "layer index", 3),
        ("A \\", "backslash", 2),
    ],
)
def test_errors_show_a_caret_under_the_column(text, message, column):
    with pytest.raises(ParseError) as error:
        parse_latex(text)
    assert message in str(error.value)
    assert error.value.position == column
    lines = str(error.value).splitlines()
    assert lines[-1].strip() == "^"


def test_too_long_and_too_deep_fail_quickly():
    with pytest.raises(ParseError, match="at most"):
        parse_latex("A" * (MAX_LENGTH + 1))
    with pytest.raises(ParseError, match="nested"):
        parse_latex("(" * (MAX_DEPTH + 1) + "A" + ")" * (MAX_DEPTH + 1))
    parse_latex("(" * (MAX_DEPTH - 1) + "A" + ")" * (MAX_DEPTH - 1))


@pytest.mark.parametrize(
    "rhs",
    ["x" * 1900, "+".join(["x"] * 900), "A^0" + "'" * 1900, "A" + "_1" * 900, "A" + "^T" * 900],
    ids=["juxtaposed letters", "sum", "primes", "subscripts", "transposes"],
)
def test_long_chains_are_a_parse_error_not_a_recursion_error(rhs):
    with pytest.raises(ParseError, match=f"more than {MAX_CHAIN}"):
        parse_latex(r"\frac{\partial L}{\partial W^1} = " + rhs)


@pytest.mark.parametrize("transpose", ["ᵀ", "^⊤", r"^\top", "^T"])
def test_unicode_transposes_read_as_transposes(transpose):
    (side,) = parse_latex(f"A{transpose}").sides
    assert isinstance(side, Transposed) and side.arg.text == "A"


@pytest.mark.parametrize(
    "equation",
    [
        r"\frac{\partial L}{\partial W^1} = \frac{\partial L}{\partial W^{1}}",
        r"\frac{\partial L}{\partial W^l} = 2 \frac{\partial L}{\partial W^l} A^{l-1}",
        r"\frac{\partial J}{\partial \theta} = X^T X \frac{\partial J}{\partial \theta}",
    ],
)
def test_a_right_side_using_the_derivative_it_defines_is_refused(equation):
    with pytest.raises(ParseError, match="uses the derivative the left side defines"):
        parse_latex(equation)


def test_parse_errors_are_matcalc_errors():
    assert issubclass(ParseError, MatcalcError)


def test_index_symbols_are_sympy():
    node = scripted(parse_expression("A^{l-1}"))
    assert node.index.expr == sympy.Symbol("l", integer=True) - 1


# ------------------------------------------------------------------------------ fuzzing

FRAGMENTS = [
    "W", "A", "Z", "L", "x", "y", "g", "f", "l", "T", "0", "1", "2", "^", "_", "'", "+", "-",
    "=", "/", "*", "(", ")", "[", "]", "{", "}", "\\|", "|", " ", "\\frac", "\\partial",
    "\\cdot", "\\odot", "\\times", "\\top", "\\left(", "\\right)", "\\left.", "\\Big(", "\\,",
    "\\!", "\\cdots", "\\sigma", "\\tanh", "\\operatorname{diag}", "\\operatorname{softmax}",
    "\\mathcal{L}", "\\text{loss}", "\\mathbf{W}", "\\ell", "\\nabla", "\\sum", "\\overbrace",
    "\\foo", "\\", "$", "^{-1}", "^{(l)}", "^{[l]}", "{l+1}", "\\prime", "\\hat{y}", "é", "\n",
]  # fmt: skip

latex_text = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
    st.text(max_size=60),
)


@settings(max_examples=300, deadline=None)
@given(text=latex_text)
def test_fuzz_only_clean_errors(text):
    start = time.monotonic()
    try:
        parse_latex(text)
    except MatcalcError as error:
        assert str(error)
    assert time.monotonic() - start < 1.0


FUZZ_NETWORK = Network([Layer(3, "tanh"), Layer(2, "identity")], input=4)


@settings(max_examples=60, deadline=None)
@given(text=latex_text)
def test_fuzz_verify_only_clean_errors(text):
    equation = r"\frac{\partial L}{\partial W^l} = " + text
    try:
        verify(FUZZ_NETWORK, equation)
    except MatcalcError as error:
        assert str(error)


TABLE_FORMULAS = (
    r"\frac{\partial L}{\partial W^l} = A^{l-1}\left(\frac{\partial L}{\partial Z^l}\right)^T",
    r"\sigma(W^T x + b) \odot (1 - \sigma(W^T x + b))",
    r"\| X \theta - y \|^2",
    r"g \leftarrow \nabla_{a^{(k)}} J = \sum_{i=1}^{m} dZ^{[l](i)} |x|^{-2}",
)


@pytest.mark.parametrize("formula", TABLE_FORMULAS)
def test_the_generated_tables_read_as_tables_built_from_the_grammar(formula):
    lark = pytest.importorskip("lark")

    from matcalc.reading import parse

    class Tokens(lark.lexer.Lexer):
        def __init__(self, lexer_conf: object) -> None:
            pass

        def lex(self, data: str):
            return parse.tokenize(data)

    built = lark.Lark(parse._GRAMMAR, parser="lalr", lexer=Tokens, propagate_positions=False)
    assert parse_tree(parse._parser().parse(formula)) == parse_tree(built.parse(formula))


def parse_tree(tree) -> tuple:
    """A parse tree as nested tuples: rule names, and tokens with their types and offsets."""
    if not hasattr(tree, "children"):
        return (tree.type, str(tree), tree.start_pos, tree.end_pos)
    return (tree.data, *(parse_tree(child) for child in tree.children))


def test_reading_a_formula_imports_neither_lark_nor_regex():
    probe = (
        "import sys\n"
        "from matcalc.reading.parse import parse_latex\n"
        "parse_latex(r'\\frac{\\partial L}{\\partial W^l} = A^{l-1} W^T')\n"
        "print(sorted({'lark', 'regex'} & set(sys.modules)))\n"
    )
    done = run_probe(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
