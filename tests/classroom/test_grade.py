"""``matcalc grade``: gradebook, feedback, Gradescope's results.json, partial credit, summary."""

import csv
import json

import pytest
from classroom_data import TWO_LAYER, D

from matcalc.classroom import grade as grading
from matcalc.classroom.grade import (
    GradeError,
    grade,
    grade_class,
    read_answers,
    read_assignment,
    split_equation,
)
from matcalc.cli import main

ASSIGNMENT = f"""
title = "Backprop quiz"

[[question]]
id = "w1"
spec = "net.toml"
target = '{D % "W^1"}'
points = 4
partial = {{ missing_transpose = 0.5, wrong_target = 0.25 }}

[[question]]
id = "b2"
title = "The last bias"
spec = '''
{TWO_LAYER}
'''
target = '{D % "W_0^2"}'
points = 2
"""

RIGHT_W1 = r"A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T"
NO_TRANSPOSE_W1 = r"A^0 \frac{\partial L}{\partial Z^1}"
RIGHT_B2 = r"\frac{\partial L}{\partial Z^2}"
ANSWERS = [
    ("ada", "w1", RIGHT_W1),
    ("ada", "b2", RIGHT_B2),
    ("bob", "w1", D % "W^1" + " = " + RIGHT_W1),  # a whole equation
    ("bob", "b2", r"\frac{\partial L}{\partial Z^2}^T"),  # a transpose too many: 1 x 1, right
    ("cy", "w1", NO_TRANSPOSE_W1),  # missing transpose: half credit
    ("cy", "b2", r"\frac{\partial L}{\partial Z^2} ("),  # does not parse
    ("dee", "w1", D % "W^2" + " = " + RIGHT_W1),  # the wrong target: a quarter
    ("eve", "w1", r"A^0    \left( \frac{\partial L}{\partial Z^1} \right)^T"),  # spaces
    ("eve", "b2", r"2 \frac{\partial L}{\partial Z^2}"),
]
EXPECTED_GRADEBOOK = [
    ["student", "w1", "b2", "total"],
    ["ada", "4", "2", "6"],
    ["bob", "4", "2", "6"],
    ["cy", "2", "0", "2"],
    ["dee", "1", "0", "1"],
    ["eve", "4", "0", "4"],
]


def write_class(directory, answers=ANSWERS, fmt="csv"):
    (directory / "net.toml").write_text(TWO_LAYER, encoding="utf-8")
    assignment = directory / "quiz.toml"
    assignment.write_text(ASSIGNMENT, encoding="utf-8")
    if fmt == "csv":
        path = directory / "answers.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "question", "formula"])
            writer.writerows(answers)
    else:
        path = directory / "answers.jsonl"
        path.write_text(
            "".join(
                json.dumps({"student": s, "question": q, "formula": f}) + "\n"
                for s, q, f in answers
            ),
            encoding="utf-8",
        )
    return assignment, path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    directory = tmp_path_factory.mktemp("class")
    assignment, answers = write_class(directory)
    grade(assignment, answers, directory / "out", workers=1)
    return directory / "out"


def test_the_gradebook_has_a_row_per_student_a_column_per_question_and_a_total(graded):
    rows = list(csv.reader((graded / "gradebook.csv").open(encoding="utf-8")))
    assert rows == EXPECTED_GRADEBOOK


def test_answers_as_json_lines_grade_the_same(tmp_path, graded):
    assignment, answers = write_class(tmp_path, fmt="jsonl")
    grade(assignment, answers, tmp_path / "out", workers=1)
    assert (tmp_path / "out" / "gradebook.csv").read_text() == (
        graded / "gradebook.csv"
    ).read_text()


def test_many_workers_grade_as_one_does(tmp_path, graded):
    assignment, answers = write_class(tmp_path)
    grade(assignment, answers, tmp_path / "out", workers=2)
    for name in ("gradebook.csv", "summary.csv", "results.json"):
        assert (tmp_path / "out" / name).read_text() == (graded / name).read_text(), name


# ---------------------------------------------------------------- Gradescope's results.json

# https://gradescope-autograders.readthedocs.io/en/latest/specs/ (the "Output format" section)
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
OUTPUT_FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_FIELDS = {
    "score": (int, float),
    "execution_time": (int, float),
    "output": str,
    "output_format": str,
    "test_output_format": str,
    "test_name_format": str,
    "visibility": str,
    "stdout_visibility": str,
    "extra_data": dict,
    "tests": list,
    "leaderboard": list,
}
TEST_FIELDS = {
    "score": (int, float),
    "max_score": (int, float),
    "status": str,
    "name": str,
    "name_format": str,
    "number": str,
    "output": str,
    "output_format": str,
    "tags": list,
    "visibility": str,
    "extra_data": dict,
}


def assert_gradescope_results(results: dict) -> None:
    """The documented fields of results.json, with their types and values."""
    assert set(results) <= set(TOP_FIELDS), set(results) - set(TOP_FIELDS)
    for key, kind in TOP_FIELDS.items():
        if key in results:
            assert isinstance(results[key], kind), key
    assert "score" in results or all("score" in test for test in results["tests"])
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITIES
    assert results.get("output_format", "text") in OUTPUT_FORMATS
    for test in results["tests"]:
        assert set(test) <= set(TEST_FIELDS), set(test) - set(TEST_FIELDS)
        for key, kind in TEST_FIELDS.items():
            if key in test:
                assert isinstance(test[key], kind) and not isinstance(test[key], bool), key
        assert test.get("status", "passed") in {"passed", "failed"}
        assert test.get("visibility", "visible") in VISIBILITIES
        assert test.get("output_format", "text") in OUTPUT_FORMATS
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == pytest.approx(sum(test["score"] for test in results["tests"]))


def test_each_students_results_json_is_gradescopes_format(graded):
    for name, total in [("ada", 6), ("cy", 2), ("dee", 1)]:
        results = json.loads((graded / "results" / f"{name}.json").read_text())
        assert_gradescope_results(results)
        assert results["score"] == total
        assert [test["name"] for test in results["tests"]] == ["w1", "The last bias"]
    cy = json.loads((graded / "results" / "cy.json").read_text())
    assert [t["status"] for t in cy["tests"]] == ["failed", "failed"]
    assert "missing transpose" in cy["tests"][0]["output"]
    assert r"\left(\frac{\partial L}{\partial Z^{1}}\right)^{T}" in cy["tests"][0]["output"]


def test_the_class_results_json_is_gradescopes_format_too(graded):
    results = json.loads((graded / "results.json").read_text())
    assert_gradescope_results(results)
    assert results["score"] == 6 + 6 + 2 + 1 + 4
    assert len(results["tests"]) == 5 * 2


def test_one_student_gets_their_own_results_json(tmp_path):
    assignment, answers = write_class(tmp_path, answers=ANSWERS[4:6])
    grade(assignment, answers, tmp_path / "out", workers=1)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert_gradescope_results(results)
    assert results["score"] == 2
    assert [test["max_score"] for test in results["tests"]] == [4, 2]
    assert not (tmp_path / "out" / "results").exists()


# ------------------------------------------------------------------------------ feedback


def test_feedback_says_the_verdict_why_and_the_correct_formula(graded):
    text = (graded / "feedback" / "cy.md").read_text()
    assert "Score: 2 / 6" in text
    assert "## w1 (2 / 4)" in text
    assert "Verdict: **incorrect**" in text
    assert r"missing transpose on \frac{\partial L}{\partial Z^1}" in text
    assert (
        r"$$\frac{\partial L}{\partial W^{1}} = A^{0}\,\left(\frac{\partial L}"
        r"{\partial Z^{1}}\right)^{T}$$" in text
    )
    assert "Your answer:\n\n```latex\nA^0 \\frac{\\partial L}{\\partial Z^1}\n```" in text
    assert "## The last bias (0 / 2)" in text
    assert "unbalanced" in text
    dee = (graded / "feedback" / "dee.md").read_text()
    assert r"the left side names \frac{\partial L}{\partial W^{2}}" in dee
    assert "Verdict: **missing**" in dee  # dee did not answer b2


def test_a_students_text_cannot_break_out_of_its_code_block(tmp_path):
    sneaky = "x ```` $$ <script>alert(1)</script>"
    assignment, answers = write_class(tmp_path, answers=[("mal", "w1", sneaky)])
    grade(assignment, answers, tmp_path / "out", workers=1)
    text = (tmp_path / "out" / "feedback" / "mal.md").read_text()
    assert f"`````latex\n{sneaky}\n`````" in text


def test_missing_answers_score_zero(graded):
    results = json.loads((graded / "results" / "dee.json").read_text())
    assert results["tests"][1]["score"] == 0
    assert results["tests"][1]["output"].startswith("missing")


# ------------------------------------------------------------------------------ summary


def test_the_summary_counts_the_class_by_diagnosis(graded):
    rows = list(csv.DictReader((graded / "summary.csv").open(encoding="utf-8")))
    counts = {(row["question"], row["diagnosis"]): int(row["count"]) for row in rows}
    assert counts == {
        ("w1", "correct"): 3,
        ("w1", r"missing transpose on \frac{\partial L}{\partial Z^1}"): 1,
        ("w1", "wrong_target"): 1,
        ("b2", "correct"): 2,
        ("b2", "unreadable formula"): 1,
        ("b2", "no answer"): 1,
        ("b2", "the factor 2 should not be there"): 1,
    }
    for question in ("w1", "b2"):
        assert sum(n for (q, _), n in counts.items() if q == question) == 5
    first = [row for row in rows if row["question"] == "w1"][0]
    assert (first["diagnosis"], first["count"], first["share"]) == ("correct", "3", "0.600")
    markdown = (graded / "summary.md").read_text()
    assert "| correct | 3 | 60% |" in markdown


# ------------------------------------------------------------------------------ reading


@pytest.mark.parametrize(
    ("formula", "sides"),
    [
        ("A^0 B", (None, "A^0 B")),
        ("x = A", ("x ", " A")),
        (r"\sum_{i=1}^{m} a", (None, r"\sum_{i=1}^{m} a")),
        (r"d = \sum_{i=1}^{m} a", ("d ", r" \sum_{i=1}^{m} a")),
    ],
)
def test_a_whole_equation_is_split_at_its_last_top_level_equals(formula, sides):
    assert split_equation(formula) == sides


ASSIGNMENT_ERRORS = [
    ("", "no questions"),
    ("[[question]]\nid = 'a'\nspec = 'net.toml'\ntarget = 'x'\ncolour = 1", "unknown key"),
    ("[[question]]\nid = 'a'\nspec = 'none.toml'\ntarget = 'x'", "no such file"),
    ("[[question]]\nid = 'a'\nspec = 'net.toml'\ntarget = 'x = y'", "without '='"),
    ("[[question]]\nid = 'a'\nspec = 'net.toml'\ntarget = 'x'\npoints = -1", "points"),
    ("[[question]]\nid = 'a'\nspec = 'net.toml'\ntarget = 'x'\npartial = {a = 2}", "partial"),
    ("[[question]]\nid = 'a'\nspec = 'net.toml'\ntarget = 'x'\n" * 2, "used twice"),
    ("question = 3", "no questions"),
    ("[[question", "not valid"),
]


@pytest.mark.parametrize(("text", "message"), ASSIGNMENT_ERRORS)
def test_a_bad_assignment_is_one_clear_error(tmp_path, text, message):
    (tmp_path / "net.toml").write_text(TWO_LAYER)
    (tmp_path / "a.toml").write_text(text)
    with pytest.raises(GradeError, match=message):
        read_assignment(tmp_path / "a.toml")


def test_an_assignment_in_json(tmp_path):
    (tmp_path / "a.json").write_text(
        json.dumps({"questions": [{"id": "q", "spec": TWO_LAYER, "target": D % "W^2"}]})
    )
    title, questions = read_assignment(tmp_path / "a.json")
    assert (questions[0].id, questions[0].points, questions[0].spec) == ("q", 1.0, TWO_LAYER)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,question,formula\n", "no student"),
        ('{"student": "a", "question": "w1"}\n', "'formula' is missing"),
        ("{not json\n", "line 1 is not JSON"),
    ],
)
def test_bad_answers_are_one_clear_error(tmp_path, text, message):
    path = tmp_path / "answers.txt"
    path.write_text(text)
    with pytest.raises(GradeError, match=message):
        read_answers(path)


def test_an_answer_to_an_unknown_question_is_an_error(tmp_path):
    assignment, answers = write_class(tmp_path, answers=[("ada", "q9", "x")])
    with pytest.raises(GradeError, match="'q9' is not in the assignment"):
        grade_class(assignment, answers, workers=1)


def test_the_command_writes_the_folder_and_reports(tmp_path, capsys):
    assignment, answers = write_class(tmp_path)
    out = tmp_path / "graded"
    code = main(["grade", str(assignment), str(answers), "-o", str(out)])
    assert code == 0
    assert "graded 5 students x 2 questions" in capsys.readouterr().err
    names = sorted(p.name for p in (out / "feedback").iterdir())
    assert names == ["ada.md", "bob.md", "cy.md", "dee.md", "eve.md"]
    assert list(csv.reader((out / "gradebook.csv").open())) == EXPECTED_GRADEBOOK


def test_the_command_reports_bad_input_in_one_line(tmp_path, capsys):
    code = main(["grade", str(tmp_path / "none.toml"), str(tmp_path / "x.csv"), "-o", "out"])
    assert code == 2
    assert capsys.readouterr().err.strip().endswith("none.toml: no such file")


def test_student_ids_become_safe_distinct_file_names():
    names = grading._file_names(["../etc/passwd", "a b", "a_b", "ok"])
    assert names == {"../etc/passwd": "_etc_passwd", "a b": "a_b", "a_b": "a_b-2", "ok": "ok"}
