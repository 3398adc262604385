# ruff: noqa: E501 - tables of formulas as people type them
"""Diagnoses name the mistake, in one taxonomy shared by networks and expression contexts."""

import json

import pytest
from conftest import TESTS

from matcalc.checks.verify import ErrorClass, verify
from matcalc.specs.context import spec_from_file, spec_from_toml
from matcalc.specs.network import Network


def network(convention: str, batch: str | None = None) -> Network:
    text = f'convention = "{convention}"\ninput = 4\nloss = "squared"\n'
    if batch:
        text += f'batch = "{batch}"\n'
    for size, activation in zip((3, 5, 2), ("sigmoid", "tanh", "sigmoid"), strict=True):
        text += f'[[layer]]\nsize = {size}\nactivation = "{activation}"\n'
    return Network.from_toml(text)


ARCHITECTURES = TESTS.parent / "derivations" / "architectures"
LEAST_SQUARES = '[shapes]\nX = "n x d"\nw = "d"\ny = "n"\n[define]\nL = \'\\|X w - y\\|^2\'\n'
NUMERATOR = 'layout = "numerator"\n' + LEAST_SQUARES
BIAS = (
    '[shapes]\nW = "k x d"\nX = "d x m"\nb = "k"\nY = "k x m"\n'
    "[define]\nL = '\\|W X + b \\mathbf{1}_m^T - Y\\|_F^2'\n"
)
GATE = '[shapes]\nx = "n"\nw = "n"\n[define]\nf = \'x^T (w \\odot w)\'\n'
CROSS_ENTROPY = (  # Nielsen's ch. 3: sigmoid outputs and the cross-entropy, delta^L = a^L - y
    'convention = "nielsen"\ninput = 4\nloss = "nll"\n[[layer]]\nsize = 3\nactivation = "sigmoid"\n'
    '[[layer]]\nsize = 2\nactivation = "sigmoid"\n'
)


def subject(kind: str, *what: str | None):
    """A spec of each kind: ("network", convention, batch), ("graph", architecture),
    ("recurrence", architecture), ("context", TOML)."""
    if kind == "network":
        return network(*what)
    if kind in ("graph", "recurrence"):
        return spec_from_file(ARCHITECTURES / f"{what[0]}.toml")
    return spec_from_toml(what[0])


def dl(name: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {name}}}"


N = ("network", "6.390", None)
NG = ("network", "ng", "m")
RESIDUAL = ("graph", "residual")
BATCHNORM = ("graph", "batchnorm")
LS = ("context", LEAST_SQUARES)
RNN = ("recurrence", "rnn-T")
STEP = r"(1 - H_{t+1} \odot H_{t+1}) \odot \frac{\partial L}{\partial H_{t+1}}"

# (subject, equation, classes the diagnosis must name, words the diagnosis must say)
MISTAKES = [
    # an elementwise product written as a matrix product
    (
        N,
        rf"{dl('Z^l')} = (W^{{l+1}} {dl('Z^{l+1}')}) f'(Z^l)",
        {"elementwise_as_matrix_product"},
        "elementwise",
    ),
    (
        RESIDUAL,
        rf"{dl('Z_1')} = (1 - \tanh(Z_1) \odot \tanh(Z_1)) {dl('A_1')}",
        {"elementwise_as_matrix_product"},
        "elementwise",
    ),
    (("context", GATE), r"\nabla_w f = 2 x w", {"elementwise_as_matrix_product"}, "elementwise"),
    # an applied derivative that the loss cancels, as a factor of an elementwise product
    (
        ("context", CROSS_ENTROPY),
        r"\delta^L = (a^L - y) \odot \sigma'(z^L)",
        {"extra_factor"},
        "should not be there",
    ),
    (
        ("context", CROSS_ENTROPY),
        r"\delta^L = \sigma'(z^L) \circ (a^L - y)",
        {"extra_factor"},
        "should not be there",
    ),
    # a matrix product written as an elementwise product
    (
        N,
        rf"{dl('W^l')} = A^{{l-1}} \odot ({dl('Z^l')})^T",
        {"matrix_product_as_elementwise"},
        "matrix product",
    ),
    (
        RESIDUAL,
        rf"{dl('W_2')} = {dl('Z_2')} \odot A_1^T",
        {"matrix_product_as_elementwise"},
        "matrix product",
    ),
    (
        LS,
        rf"{dl('w')} = 2 X^T \odot (X w - y)",
        {"matrix_product_as_elementwise"},
        "matrix product",
    ),
    # a bias's gradient without its sum over the batch
    (NG, r"db^{[l]} = \frac{1}{m} dZ^{[l]}", {"missing_batch_sum"}, "sum over the examples"),
    (NG, r"db^{[l]} = dZ^{[l]}", {"missing_batch_sum", "missing_batch_mean"}, "1/m"),
    (BATCHNORM, rf"{dl(chr(92) + 'beta')} = {dl('Y')}", {"missing_batch_sum"}, r"\mathbf{1}_K"),
    (
        ("context", BIAS),
        r"\nabla_b L = 2 (W X + b \mathbf{1}_m^T - Y)",
        {"missing_batch_sum"},
        r"\mathbf{1}_m",
    ),
    # a recurrence's line, through its unrolled graphs
    (
        RNN,
        rf"{dl('H_t')} = W ({STEP}) + 2 V^T (V H_t - y_t)",
        {"missing_transpose"},
        "missing transpose on",
    ),
    (RNN, rf"{dl('H_T')} = V^T (V H_T - y_T)", {"wrong_scale"}, "a factor 2 is missing"),
    # a transpose too many
    (
        N,
        rf"{dl('Z^l')} = f'(Z^l) \odot ((W^{{l+1}})^T {dl('Z^{l+1}')})",
        {"extra_transpose"},
        "extra transpose",
    ),
    (RESIDUAL, rf"{dl('W_2')} = ({dl('Z_2')})^T A_1^T", {"extra_transpose"}, "extra transpose"),
    (LS, rf"{dl('w')} = 2 X^T (X w - y)^T", {"extra_transpose"}, "extra transpose on"),
    # two mistakes at once, both named
    (
        N,
        rf"{dl('W^l')} = 2 A^{{l-1}} {dl('Z^{l}')}",
        {"missing_transpose", "wrong_scale"},
        "two mistakes",
    ),
    (N, rf"{dl('W^l')} = -A^{{l}} ({dl('Z^l')})^T", {"wrong_layer", "wrong_sign"}, "two mistakes"),
    (
        RESIDUAL,
        rf"{dl('W_2')} = - A_1 ({dl('Z_2')})^T",
        {"missing_transpose", "wrong_sign"},
        "two mistakes",
    ),
    (LS, rf"{dl('w')} = -2 (X w - y)^T X", {"layout_mismatch", "wrong_sign"}, "two mistakes"),
    # the transpose of the right formula: right in the other layout, which is named
    (
        N,
        rf"{dl('Z^l')} = ((W^{{l+1}} {dl('Z^{l+1}')}) \odot f'(Z^l))^T",
        {"layout_mismatch"},
        "right in numerator layout",
    ),
    (
        N,
        rf"{dl('Z^l')} = ({dl('Z^{l+1}')})^T (W^{{l+1}})^T \operatorname{{diag}}(f'(Z^l))",
        {"layout_mismatch"},
        "right in numerator layout",
    ),
    (
        RESIDUAL,
        rf"{dl('A_1')} = ({dl('Z_2')})^T W_2 + ({dl('A_2')})^T",
        {"layout_mismatch"},
        "right in numerator layout",
    ),
    (
        RESIDUAL,
        rf"{dl('A_1')} = (W_2^T {dl('Z_2')} + {dl('A_2')})^T",
        {"layout_mismatch", "extra_transpose"},
        "right in numerator layout",
    ),
    (LS, rf"{dl('w')} = 2 (X w - y)^T X", {"layout_mismatch"}, "right in numerator layout"),
    (
        ("context", NUMERATOR),
        rf"{dl('w')} = 2 X^T (X w - y)",
        {"layout_mismatch"},
        "right in denominator layout",
    ),
]


def _ids(table):
    return [f"{case[0][0]}-{number}" for number, case in enumerate(table)]


@pytest.mark.parametrize(("spec", "equation", "classes", "says"), MISTAKES, ids=_ids(MISTAKES))
def test_the_diagnosis_names_the_mistake(spec, equation, classes, says):
    verdict = verify(subject(*spec), equation)
    assert not verdict.correct
    assert classes <= set(verdict.error_class), (verdict.error_class, verdict.reason)
    assert verdict.diagnosis and says in verdict.diagnosis, verdict.diagnosis
    assert verdict.expected != verdict.target


def test_two_mistakes_are_both_named():
    verdict = verify(
        network("6.390"),
        r"\frac{\partial L}{\partial W^l} = -A^{l} (\frac{\partial L}{\partial Z^l})^T",
    )
    assert verdict.diagnosis.startswith("two mistakes")
    assert "A^{l-1}" in verdict.diagnosis and "sign" in verdict.diagnosis


@pytest.mark.parametrize(
    ("spec", "equation", "expected"),
    [
        (N, r"\frac{\partial Z^3}{\partial A^1} = W^3", r"W^{2}\,\operatorname{diag}"),
        (N, r"\frac{\partial L}{\partial A^0} = W^1", r"W^{1}\,\frac{\partial L}{\partial Z^{1}}"),
        (
            N,
            r"\frac{\partial L}{\partial W^2} = W^2",
            r"A^{1}\,\left(\frac{\partial L}{\partial Z^{2}}\right)^{T}",
        ),
        (N, r"\frac{\partial Z^1}{\partial A^2} = W^2", "0"),
        (
            N,
            r"\frac{\partial L}{\partial A^l} = W^l",
            r"W^{l+1}\,\frac{\partial L}{\partial Z^{l+1}}",
        ),
        (N, r"\frac{\partial Z^l}{\partial A^{l-2}} = W^l", r"W^{l-1}\,\operatorname{diag}"),
        (RESIDUAL, rf"{dl('A_1')} = x", r"W_{2}^{T}\,\frac{\partial L}{\partial Z_{2}}"),
        (LS, rf"{dl('w')} = w", r"2\,X^{T}\,\left(X\,w - y\right)"),
    ],
)
def test_the_expected_field_is_a_formula_not_the_targets_name(spec, equation, expected):
    verdict = verify(subject(*spec), equation)
    assert not verdict.correct
    assert verdict.expected.startswith(expected), verdict.expected
    assert verdict.target not in verdict.expected


def _all_verdicts():
    public = json.loads((TESTS / "data" / "public_cases.json").read_text())["cases"]
    for case in public:
        yield verify(spec_from_toml(case["spec"]), case["equation"])
    contexts = json.loads((TESTS / "data" / "context_cases.json").read_text())
    for case in contexts["cases"]:
        if isinstance(case["correct"], bool):  # the others are cases of bad input
            yield verify(spec_from_toml(contexts["specs"][case["spec"]]), case["equation"])


def test_every_error_class_is_one_of_the_taxonomy():
    names = {member.value for member in ErrorClass}
    seen = set()
    for verdict in _all_verdicts():
        for name in verdict.error_class:
            assert name in names
            seen.add(name)
        assert json.loads(verdict.to_json())["error_class"] == list(verdict.error_class)
    assert {"wrong_scale", "wrong_sign", "shape_mismatch"} <= seen


def test_off_by_a_constant_in_a_context_is_wrong_scale():
    contexts = json.loads((TESTS / "data" / "context_cases.json").read_text())
    ridge = spec_from_toml(contexts["specs"]["ridge"])
    verdict = verify(
        ridge,
        r"\nabla_\theta J_{\text{ridge}} = \frac{1}{n} X^T (X\theta + \theta_0 - Y) + \lambda\theta",
    )
    assert verdict.error_class == ("wrong_scale",)
    assert "wrong_factor" not in verdict.error_class


def test_every_error_class_has_a_description():
    for member in ErrorClass:
        assert member.description and member.value == str(member)


def test_every_error_class_is_documented_with_its_meaning():
    """docs/latex-input.md lists every class of the taxonomy, one row each."""
    text = (TESTS.parent / "docs" / "latex-input.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.strip().startswith("| `")]
    for member in ErrorClass:
        assert any(f"`{member.value}`" in row.split("|")[1] for row in rows), member.value
