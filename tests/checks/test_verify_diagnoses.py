# ruff: noqa: E501 - tables of formulas as people type them
"""Diagnoses name the mistake, in one taxonomy shared by networks and expression contexts."""

import json

import pytest
from conftest import TESTS

from matcalc.checks.verify import ErrorClass, verify
from matcalc.specs.context import spec_from_toml
from matcalc.specs.network import Network


def network(convention: str, batch: str | None = None) -> Network:
    text = f'convention = "{convention}"\ninput = 4\nloss = "squared"\n'
    if batch:
        text += f'batch = "{batch}"\n'
    for size, activation in zip((3, 5, 2), ("sigmoid", "tanh", "sigmoid"), strict=True):
        text += f'[[layer]]\nsize = {size}\nactivation = "{activation}"\n'
    return Network.from_toml(text)


# (convention, batch, equation, classes the diagnosis must name)
MISTAKES = [
    (
        "6.390",
        None,
        r"\frac{\partial L}{\partial Z^l} = (W^{l+1} \frac{\partial L}{\partial Z^{l+1}}) f'(Z^l)",
        {"elementwise_as_matrix_product"},
    ),
    (
        "6.390",
        None,
        r"\frac{\partial L}{\partial W^l} = A^{l-1} \odot (\frac{\partial L}{\partial Z^l})^T",
        {"matrix_product_as_elementwise"},
    ),
    ("ng", "m", r"db^{[l]} = \frac{1}{m} dZ^{[l]}", {"missing_batch_sum"}),
    ("ng", "m", r"db^{[l]} = dZ^{[l]}", {"missing_batch_sum", "missing_batch_mean"}),
    (
        "6.390",
        None,
        r"\frac{\partial L}{\partial Z^l} = f'(Z^l) \odot ((W^{l+1})^T \frac{\partial L}{\partial Z^{l+1}})",
        {"extra_transpose"},
    ),
    (
        "6.390",
        None,
        r"\frac{\partial L}{\partial W^l} = 2 A^{l-1} \frac{\partial L}{\partial Z^{l}}",
        {"missing_transpose", "wrong_scale"},
    ),
    (
        "6.390",
        None,
        r"\frac{\partial L}{\partial W^l} = -A^{l} (\frac{\partial L}{\partial Z^l})^T",
        {"wrong_layer", "wrong_sign"},
    ),
    (
        "6.390",
        None,
        r"\frac{\partial L}{\partial Z^l} = ((W^{l+1} \frac{\partial L}{\partial Z^{l+1}}) \odot f'(Z^l))^T",
        {"layout_mismatch"},
    ),
    (
        "6.390",
        None,
        r"\frac{\partial L}{\partial Z^l} = (\frac{\partial L}{\partial Z^{l+1}})^T (W^{l+1})^T \operatorname{diag}(f'(Z^l))",
        {"layout_mismatch"},
    ),
]


@pytest.mark.parametrize(("convention", "batch", "equation", "classes"), MISTAKES)
def test_the_diagnosis_names_the_mistake(convention, batch, equation, classes):
    verdict = verify(network(convention, batch), equation)
    assert not verdict.correct
    assert classes <= set(verdict.error_class), (verdict.error_class, verdict.reason)
    assert verdict.diagnosis


def test_two_mistakes_are_both_named():
    verdict = verify(
        network("6.390"),
        r"\frac{\partial L}{\partial W^l} = -A^{l} (\frac{\partial L}{\partial Z^l})^T",
    )
    assert verdict.diagnosis.startswith("two mistakes")
    assert "A^{l-1}" in verdict.diagnosis and "sign" in verdict.diagnosis


@pytest.mark.parametrize(
    "equation",
    [
        r"\frac{\partial Z^3}{\partial A^1} = W^3",
        r"\frac{\partial L}{\partial A^0} = W^1",
        r"\frac{\partial L}{\partial W^2} = W^2",
    ],
)
def test_the_expected_field_is_a_formula_not_the_targets_name(equation):
    verdict = verify(network("6.390"), equation)
    assert not verdict.correct
    assert verdict.expected != verdict.target
    assert "\\partial" not in verdict.expected.split("\\,")[0] or "W" in verdict.expected


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
