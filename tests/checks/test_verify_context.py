"""verify in expression contexts: Cookbook identities, layout traps, ridge, logistic regression
and CS231n-style d-prefix formulas get their true verdicts (tests/data/context_cases.json)."""

import json

import pytest
from conftest import TESTS

from matcalc.checks.verify import verify
from matcalc.cli import main
from matcalc.errors import MatcalcError
from matcalc.specs.context import Context

DATA = json.loads((TESTS / "data" / "context_cases.json").read_text())
SPECS = DATA["specs"]
CASES = DATA["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_gets_its_true_verdict(case):
    context = Context.from_toml(SPECS[case["spec"]])
    if case["correct"] is None:
        with pytest.raises(MatcalcError):
            verify(context, case["equation"])
        return
    verdict = verify(context, case["equation"])
    assert verdict.correct == case["correct"], verdict.reason
    if not case["correct"]:
        assert set(case["error_class"]) <= set(verdict.error_class), verdict.reason


def test_layout_trap_names_the_other_layout():
    context = Context.from_toml(SPECS["ls-denominator"])
    verdict = verify(context, r"\frac{\partial L}{\partial w} = (Xw - y)^T X")
    assert "numerator-layout form" in verdict.reason
    assert verdict.expected == r"X^{T}\,\left(X\,w - y\right)"
    numerator = Context.from_toml(SPECS["ls-numerator"])
    verdict = verify(numerator, r"\frac{\partial L}{\partial w} = X^T(Xw - y)")
    assert "denominator-layout form" in verdict.reason


def test_symmetric_shortcut_is_explained():
    context = Context.from_toml(SPECS["square"])
    verdict = verify(context, r"\frac{\partial}{\partial x}\left(x^T A x\right) = 2Ax")
    assert "symmetric" in verdict.reason
    assert verdict.expected == r"\left(A + A^{T}\right)\,x"


def test_left_side_must_be_a_derivative():
    context = Context.from_toml(SPECS["square"])
    with pytest.raises(MatcalcError, match="left side must be a derivative"):
        verify(context, r"A = A")


def _spec(tmp_path, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(SPECS[name], encoding="utf-8")
    return str(path)


def test_cli_exit_codes_and_json(tmp_path, capsys):
    spec = _spec(tmp_path, "ls-denominator")
    assert main(["verify", spec, r"\frac{\partial L}{\partial w} = X^T(Xw - y)"]) == 0
    assert main(["verify", spec, r"\frac{\partial L}{\partial w} = (Xw - y)^T X", "--json"]) == 1
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert record["verdict"] == "incorrect" and "layout_mismatch" in record["error_class"]
    assert record["target"] == r"\frac{\partial L}{\partial w}".replace("L", r"\mathcal{L}")
    assert main(["verify", spec, r"\frac{\partial L}{\partial w} = X^T(Xv - y)"]) == 2
    err = capsys.readouterr().err
    assert "unknown symbol v" in err and "^" in err


def test_batch_reads_expression_contexts(tmp_path, capsys):
    lines = [
        json.dumps({"id": c["id"], "spec": SPECS[c["spec"]], "equation": c["equation"]})
        for c in CASES
        if c["id"] in ("cb-70", "cb-71")
    ]
    batch = tmp_path / "cases.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["verify", "--batch", str(batch)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["verdict"] for r in records] == ["correct", "incorrect"]


SYMMETRIC = '[shapes]\nx = "n"\nA = "n x n"\n[assume]\nA = "symmetric"\n[define]\nf = \'x^T A x\'\n'


@pytest.mark.parametrize(
    ("spec", "equation", "correct"),
    [
        (SYMMETRIC, r"\nabla_x f = (A + A^T) x", True),
        (SYMMETRIC, r"\nabla_x f = 2 A x", True),
        (SYMMETRIC, r"\nabla_x f = A x", False),
        (SYMMETRIC.replace('[assume]\nA = "symmetric"\n', ""), r"\nabla_x f = 2 A x", False),
    ],
)
def test_verify_draws_what_the_context_assumes(spec, equation, correct):
    """A declared symmetric A is drawn symmetric: (A + A^T) x is right, as 2 A x is."""
    assert verify(Context.from_toml(spec), equation).correct is correct


def _context(shapes: str, f: str) -> Context:
    lines = ["[shapes]", *(f'{k} = "{v}"' for k, v in (s.split("=") for s in shapes.split(",")))]
    return Context.from_toml("\n".join([*lines, "[define]", f"f = '{f}'"]) + "\n")


SIMILARITY = ("X=n x n,A=n x n", r"\operatorname{tr}(X^{-1} A X)")
DIAGONAL = ("x=n,A=n x n", r"\operatorname{tr}(\operatorname{diag}(x) A)")


@pytest.mark.parametrize(
    ("context", "equation", "correct"),
    [
        # a bare 0 is the zero of the left side's shape (a zero gradient prints 0)
        (SIMILARITY, r"\frac{\partial f}{\partial X} = 0", True),
        (SIMILARITY, r"\frac{\partial f}{\partial A} = 0", False),
        (SIMILARITY, r"\frac{\partial f}{\partial A} = I", True),
        # I in an elementwise product is sized by the square factor beside it
        (
            DIAGONAL,
            r"\frac{\partial f}{\partial x} = \left(A^{T} \odot I\right)\,\mathbf{1}_{n}",
            True,
        ),
        (DIAGONAL, r"\frac{\partial f}{\partial x} = (I \odot A)\,\mathbf{1}_{n}", True),
        (DIAGONAL, r"\frac{\partial f}{\partial x} = A\,\mathbf{1}_{n}", False),
    ],
)
def test_printed_forms_of_zero_and_identity_get_their_true_verdicts(context, equation, correct):
    """Values decide: each right side is compared with the derivative at random draws."""
    verdict = verify(_context(*context), equation)
    assert verdict.correct is correct, verdict.reason
