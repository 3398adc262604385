"""Formulas quoted from textbooks and course notes: every verdict right, mistakes named.

The table (tests/data/textbook_formulas.json) is labelled by finite differences in each
source's convention by tests/data/collect_labels.py, which uses neither matcalc's reader nor
its engine.
"""

import importlib.util
import json
import sys

import pytest
from conftest import TESTS

from matcalc.checks.verify import verify
from matcalc.specs.context import spec_from_toml

TABLE = json.loads((TESTS / "data" / "textbook_formulas.json").read_text())
FORMULAS = TABLE["formulas"]


def _verdict(formula):
    """The verdict as `matcalc verify` gives it: a network, a graph spec or a context."""
    return verify(spec_from_toml(TABLE["specs"][formula["spec"]]), formula["equation"])


@pytest.fixture(scope="module")
def verdicts():
    return {formula["id"]: _verdict(formula) for formula in FORMULAS}


def test_the_collection_is_large_and_sourced():
    assert len(FORMULAS) >= 90
    sources = " ".join(f["source"] for f in FORMULAS)
    for name in ("Nielsen", "6.390", "UFLDL", "CS224n", "CS229", "CS231n", "Dive into Deep",
                 "Goodfellow", "Bishop", "Parr", "Matrix Cookbook"):  # fmt: skip
        assert name in sources, name
    assert len({f["id"] for f in FORMULAS}) == len(FORMULAS)
    assert all(f["source"].strip() for f in FORMULAS)
    assert sum(not f["correct"] for f in FORMULAS) >= 10


@pytest.mark.parametrize("formula", FORMULAS, ids=[f["id"] for f in FORMULAS])
def test_every_formula_gets_its_label(formula, verdicts):
    verdict = verdicts[formula["id"]]
    assert verdict.correct == formula["correct"], verdict.reason


def test_the_diagnosis_names_the_mistake_of_nine_in_ten_wrong_formulas(verdicts):
    wrong = [f for f in FORMULAS if not f["correct"]]
    named = [
        f["id"]
        for f in wrong
        if verdicts[f["id"]].diagnosis
        and set(f["error_class"]) <= set(verdicts[f["id"]].error_class)
    ]
    assert len(named) >= 0.9 * len(wrong), sorted({f["id"] for f in wrong} - set(named))


def test_the_labels_are_reproduced_by_finite_differences():
    spec = importlib.util.spec_from_file_location(
        "collect_labels", TESTS / "data" / "collect_labels.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["collect_labels"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["collect_labels"]
    labels = module.labels()
    assert labels == {f["id"]: f["correct"] for f in FORMULAS}
