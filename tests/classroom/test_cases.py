"""One case in, one record out (matcalc/classroom/cases.py): no path, bounded, cached."""

import builtins
import io

import pytest
from classroom_data import RIGHT_W1, TWO_LAYER, WRONG_W1

from matcalc.classroom import cases
from matcalc.classroom.cases import CaseError, case_record, normalized, notation_of
from matcalc.errors import MatcalcError
from matcalc.specs.context import spec_from_toml


@pytest.mark.parametrize(
    ("diagnosis", "markdown", "expected"),
    [
        (None, "anything", None),
        ("a factor 2 is missing", "values differ; a factor 2 is missing", "a factor 2 is missing"),
        (
            r"missing transpose on \frac{a}{b}",
            r"shapes differ; missing transpose on $\frac{a}{b}$ (checked on an instance)",
            r"missing transpose on $\frac{a}{b}$",
        ),
        ("not in the sentence", "something else", "not in the sentence"),
    ],
)
def test_the_diagnosis_in_markdown_is_cut_from_the_reason(diagnosis, markdown, expected):
    assert cases._diagnosis_markdown(diagnosis, markdown) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a  b", "a b"), ("\\theta\tX\n", "\\theta X"), ("  x ", "x"), ("\\thetaX", "\\thetaX")],
)
def test_white_space_is_normalized_without_joining_words(text, expected):
    assert normalized(text) == expected


def test_spaced_formulas_share_one_check_and_keep_their_own_equation():
    spaced = RIGHT_W1.replace(" = ", "   =   ")
    first = case_record({"spec": TWO_LAYER, "equation": RIGHT_W1})
    second = case_record({"spec": TWO_LAYER, "equation": spaced})
    assert second["equation"] == spaced
    assert {**first, "equation": spaced} == second


def test_a_case_never_opens_a_file(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a file was opened")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    with pytest.raises(MatcalcError, match="not valid TOML"):
        case_record({"spec": "derivations/two-layer-sigmoid-squared.toml", "equation": WRONG_W1})


@pytest.mark.parametrize(
    ("options", "field", "value"),
    [
        ({"layer_index": "bracket"}, "layer_style", "bracket"),
        ({"transpose": "top"}, "transpose", r"\top"),
        ({"loss_name": "J"}, "loss", "J"),
        ({"ell": True}, "ell", True),
        ({"shapes": False}, "shapes", False),
        ({"sizes": "d"}, "sizes", "d"),
        ({"activation_derivative": "prime"}, "derivative", "prime"),
    ],
)
def test_notation_options_are_the_clis(options, field, value):
    assert getattr(notation_of(options, spec_from_toml(TWO_LAYER)), field) == value


@pytest.mark.parametrize(
    "options", [{"ell": "yes"}, {"layer_index": "curly"}, {"loss_name": 3}, {"font": "x"}, [1]]
)
def test_bad_notation_options_are_errors(options):
    with pytest.raises(CaseError):
        notation_of(options, spec_from_toml(TWO_LAYER))
