# ruff: noqa: E501 - tables of formulas as people type them
"""Entrywise (index) formulas, checked entry by entry against the matrix gradient."""

import pytest

from matcalc.checks.verify import is_entrywise, verify
from matcalc.errors import MatcalcError
from matcalc.reading.parse import parse_latex
from matcalc.specs.network import Network


def network(convention: str, activations=("sigmoid", "tanh", "sigmoid")) -> Network:
    text = f'convention = "{convention}"\ninput = 4\nloss = "squared"\n'
    for size, activation in zip((3, 5, 2), activations, strict=True):
        text += f'[[layer]]\nsize = {size}\nactivation = "{activation}"\n'
    return Network.from_toml(text)


@pytest.mark.parametrize(
    ("convention", "equation", "correct"),
    [
        ("nielsen", r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j", True),
        ("nielsen", r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_j \delta^l_k", False),
        ("nielsen", r"\frac{\partial C}{\partial b^l_j} = \delta^l_j", True),
        (
            "nielsen",
            r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j)",
            False,
        ),  # tanh is not sigma here
        ("nielsen", r"\delta^L_j = \frac{\partial C}{\partial a^L_j} f'(z^L_j)", True),
        ("nielsen", r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k f'(z^l_j)", True),
        ("nielsen", r"\delta^l_j = \sum_k w^{l+1}_{jk} \delta^{l+1}_k f'(z^l_j)", False),
        ("nielsen", r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k f'(z^l_k)", False),
        (
            "6.390",
            r"\frac{\partial L}{\partial W^l_{ij}} = A^{l-1}_i \frac{\partial L}{\partial Z^l_j}",
            True,
        ),
        (
            "6.390",
            r"\frac{\partial L}{\partial W^l_{ij}} = A^{l-1}_j \frac{\partial L}{\partial Z^l_i}",
            False,
        ),
        (
            "6.390",
            r"\frac{\partial L}{\partial Z^l_j} = f'(Z^l_j) \sum_k W^{l+1}_{jk} \frac{\partial L}{\partial Z^{l+1}_k}",
            True,
        ),
    ],
)
def test_entrywise_formulas_are_checked_entry_by_entry(convention, equation, correct):
    activations = (
        ("sigmoid", "sigmoid", "tanh") if "sigma" in equation else ("sigmoid", "tanh", "sigmoid")
    )
    verdict = verify(network(convention, activations), equation)
    assert verdict.correct == correct, verdict.reason
    assert "entry" in verdict.reason


def test_swapped_indices_are_diagnosed():
    verdict = verify(
        network("nielsen"), r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_j \delta^l_k"
    )
    assert "swapped" in verdict.diagnosis
    assert "missing_transpose" in verdict.error_class


def test_the_expected_field_is_the_matrix_formula():
    verdict = verify(
        network("nielsen"), r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_j \delta^l_k"
    )
    assert "A^{l-1}" in verdict.expected and "^{T}" in verdict.expected


def test_a_free_index_is_a_clean_error():
    with pytest.raises(MatcalcError, match="neither on the left side nor summed"):
        verify(network("nielsen"), r"\delta^l_j = w^{l+1}_{kj} \delta^{l+1}_k")


@pytest.mark.parametrize(
    ("equation", "entrywise"),
    [
        (r"\delta^l_j = 1", True),
        (r"W_0^l = 1", False),
        (r"\frac{\partial L}{\partial W^l} = A", False),
    ],
)
def test_what_is_entrywise(equation, entrywise):
    assert is_entrywise(parse_latex(equation)) == entrywise
