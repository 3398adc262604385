"""``matcalc grade ASSIGNMENT ANSWERS -o DIR``: a class's gradient formulas, graded.

The assignment (TOML or JSON) lists questions: ``id``, ``spec`` (TOML text, or a path relative
to the assignment file), ``target`` (the left side, such as ``\\frac{\\partial L}{\\partial
W^2}``), ``points``, and optionally ``partial``: a fraction of the points for an incorrect
answer by error class (``missing_transpose = 0.5``) or by the diagnosis's exact words.  The
answers (CSV with a header, or JSON lines) have ``student``, ``question``, ``formula``: the right
side only, or a whole equation whose left side must name the question's target.

DIR gets ``gradebook.csv``, ``feedback/<student>.md``, Gradescope's ``results.json`` (and one
per student in ``results/`` when there are several), and ``summary.csv`` / ``summary.md``, the
class's mistakes per question counted by diagnosis.  Every distinct (spec, formula) pair is
checked once, on worker processes.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import os
import re
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from matcalc.classroom.cases import MAX_FORMULA, checked, normalized
from matcalc.core.record import record
from matcalc.errors import MatcalcError
from matcalc.specs.source import MAX_SPEC_BYTES, read_spec_file

MAX_QUESTIONS = 200
MAX_ANSWERS = 200_000
MAX_ANSWERS_BYTES = 100_000_000
MAX_ASSIGNMENT_BYTES = 2_000_000
UNREADABLE = "unreadable formula"
WRONG_TARGET = "wrong_target"
NO_ANSWER = "no answer"


class GradeError(MatcalcError):
    """An assignment or answers file that cannot be graded."""


@record
class Question:
    """One question: the spec text, the target's LaTeX, the points, partial credit."""

    id: str
    spec: str
    target: str
    points: float
    partial: Mapping[str, float] = field(default_factory=dict)
    title: str = ""


@record
class Answer:
    student: str
    question: str
    formula: str


@record
class Result:
    """A student's answer to a question, graded."""

    question: Question
    formula: str | None
    score: float
    verdict: str
    """correct, incorrect, error (the formula cannot be read) or missing."""
    reason: str
    diagnosis: str
    """The label the summary counts: the diagnosis, an error's reason, or the verdict."""
    expected: str = ""
    target: str = ""
    error_class: tuple[str, ...] = ()


# ------------------------------------------------------------------------------ reading


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise GradeError(f"{where}: a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GradeError(f"{where}: a non-empty string")
    return value


def is_spec_text(spec: str) -> bool:
    """TOML text rather than a file name: it has a line break or an assignment."""
    return "\n" in spec or "=" in spec or "[" in spec


def _read_text(path: Path, limit: int) -> str:
    from matcalc.specs.source import read_spec_file

    return read_spec_file(path, GradeError, limit)


def read_assignment(path: str | Path) -> tuple[str, list[Question]]:
    """The assignment's title and questions; a spec path is read relative to the file."""
    source = Path(path)
    text = _read_text(source, MAX_ASSIGNMENT_BYTES)
    try:
        data = json.loads(text) if source.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise GradeError(
            f"{path}: not valid {source.suffix.lstrip('.') or 'TOML'}: {error}"
        ) from None
    if not isinstance(data, dict):
        raise GradeError(f"{path}: an assignment is a table with a list of questions")
    entries = data.get("question", data.get("questions"))
    if not isinstance(entries, list) or not entries:
        raise GradeError(f'{path}: no questions ([[question]] tables or a "questions" list)')
    if len(entries) > MAX_QUESTIONS:
        raise GradeError(f"{path}: {len(entries)} questions; at most {MAX_QUESTIONS}")
    questions, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: question {number}"
        if not isinstance(entry, dict):
            raise GradeError(f"{where}: a table with id, spec, target, points")
        known = {"id", "spec", "target", "points", "partial", "title"}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise GradeError(
                f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        qid = _text(entry.get("id"), f"{where}: id")
        if qid in seen:
            raise GradeError(f"{where}: id {qid!r} is used twice")
        seen.add(qid)
        spec = _text(entry.get("spec"), f"{where}: spec")
        if not is_spec_text(spec):
            spec_path = Path(spec) if Path(spec).is_absolute() else source.parent / spec
            spec = read_spec_file(spec_path, GradeError)
        elif len(spec) > MAX_SPEC_BYTES:
            raise GradeError(f"{where}: spec has {len(spec)} characters; at most {MAX_SPEC_BYTES}")
        target = _text(entry.get("target"), f"{where}: target")
        if "=" in target:
            raise GradeError(f"{where}: target is the left side only, without '='")
        points = _number(entry.get("points", 1), f"{where}: points", 0, 10**6)
        partial = entry.get("partial", {})
        if not isinstance(partial, dict):
            raise GradeError(
                f"{where}: partial is a table of error class (or diagnosis) = fraction"
            )
        credit = {
            str(key): _number(value, f"{where}: partial {key}", 0, 1)
            for key, value in partial.items()
        }
        title = entry.get("title", "")
        questions.append(Question(qid, spec, target, points, credit, str(title)))
    return str(data.get("title", "")), questions


def read_answers(path: str | Path) -> list[Answer]:
    """The class's answers from CSV (header: student, question, formula) or JSON lines."""
    source = Path(path)
    text = _read_text(source, MAX_ANSWERS_BYTES)
    json_lines = source.suffix.lower() in (".jsonl", ".json", ".ndjson") or text.lstrip()[:1] == "{"
    rows = _json_rows(text, path) if json_lines else _csv_rows(text, path)
    answers = []
    for where, row in rows:
        values = []
        for key in ("student", "question", "formula"):
            value = row.get(key)
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise GradeError(f"{path}: {where}: {key!r} is missing or not text")
            values.append(str(value).strip() if key != "formula" else str(value))
        if not values[0]:
            raise GradeError(f"{path}: {where}: the student is empty")
        answers.append(Answer(*values))
        if len(answers) > MAX_ANSWERS:
            raise GradeError(f"{path}: more than {MAX_ANSWERS} answers")
    return answers


def _json_rows(text: str, path: str | Path) -> Iterable[tuple[str, dict]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise GradeError(f"{path}: line {number} is not JSON") from None
        if not isinstance(row, dict):
            raise GradeError(f"{path}: line {number}: an object {{student, question, formula}}")
        yield f"line {number}", row


def _csv_rows(text: str, path: str | Path) -> Iterable[tuple[str, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [key for key in ("student", "question", "formula") if key not in fields]
    if missing:
        raise GradeError(
            f"{path}: the CSV header needs student, question, formula (no {missing[0]})"
        )
    reader.fieldnames = fields
    for row in reader:
        yield f"line {reader.line_num}", row


# ------------------------------------------------------------------------------ grading


def split_equation(formula: str) -> tuple[str | None, str]:
    """(left side or None, right side): the last '=' outside braces splits a whole equation."""
    depth, cut = 0, None
    for i, char in enumerate(formula):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "=" and depth == 0:
            cut = i
    if cut is None:
        return None, formula
    return formula[:cut], formula[cut + 1 :]


def _check(pair: tuple[str, str]) -> dict:
    """The verdict record of one (spec, equation), or {"verdict": "error", "error": ...}."""
    spec, equation = pair
    try:
        return checked(spec, equation)
    except MatcalcError as error:
        reason = getattr(error, "reason", None) or str(error).split("\n")[0]
        return {"verdict": "error", "error": str(error), "reason": reason}
    except RecursionError:
        return {"verdict": "error", "error": "nested too deeply", "reason": "nested too deeply"}


def _pairs(question: Question, formula: str) -> list[tuple[str, str]]:
    """The equations to check for one answer: target = rhs, and the student's own if any."""
    lhs, rhs = split_equation(normalized(formula))
    pairs = [(question.spec, f"{question.target} = {rhs.strip()}")]
    if lhs is not None:
        pairs.append((question.spec, f"{lhs.strip()} = {rhs.strip()}"))
    return pairs


def credit(question: Question, record: dict) -> float:
    """The fraction of the points for an incorrect answer: the best partial credit that applies."""
    labels = [*record.get("error_class", []), record.get("diagnosis") or ""]
    return max((question.partial.get(label, 0.0) for label in labels), default=0.0)


def grade_answer(question: Question, formula: str | None, records: Mapping) -> Result:
    """One answer from the verdict records of its equations."""
    if formula is None:
        return Result(question, None, 0.0, "missing", "no answer was submitted", NO_ANSWER)
    if not formula.strip():
        return Result(question, formula, 0.0, "missing", "the answer is empty", NO_ANSWER)
    if len(formula) > MAX_FORMULA:
        reason = f"the formula has {len(formula)} characters; at most {MAX_FORMULA}"
        return Result(question, formula, 0.0, "error", reason, UNREADABLE)
    pairs = _pairs(question, formula)
    record = records[pairs[0]]
    if record["verdict"] == "error":
        return Result(question, formula, 0.0, "error", record["reason"], UNREADABLE)
    expected, target = record["expected"], record["target"]
    if len(pairs) > 1:
        own = records[pairs[1]]
        if own["verdict"] == "error" or own["target"] != target:
            named = f" names {own['target']}," if own["verdict"] != "error" else " is not"
            reason = f"the left side{named} not the question's target {target}"
            return Result(question, formula, question.points * question.partial.get(
                WRONG_TARGET, 0.0), "incorrect", reason, WRONG_TARGET, expected, target,
                (WRONG_TARGET,))  # fmt: skip
    if record["verdict"] == "correct":
        return Result(question, formula, question.points, "correct", record["reason"], "correct",
                      expected, target)  # fmt: skip
    label = record.get("diagnosis") or (record.get("error_class") or ["values differ"])[0]
    return Result(
        question,
        formula,
        question.points * credit(question, record),
        "incorrect",
        record["reason"],
        label,
        expected,
        target,
        tuple(record.get("error_class", ())),
    )


def check_all(pairs: list[tuple[str, str]], workers: int) -> dict:
    """Verdict records of distinct (spec, equation) pairs, on ``workers`` processes."""
    distinct = list(dict.fromkeys(pairs))
    if workers <= 1 or len(distinct) < 8:
        return {pair: _check(pair) for pair in distinct}
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["matcalc.classroom.cases"])
    # pairs of one spec together, so a worker reads and derives each spec once
    distinct.sort()
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        chunk = max(1, len(distinct) // (workers * 4))
        return dict(zip(distinct, pool.map(_check, distinct, chunksize=chunk), strict=True))


@record
class Gradebook:
    title: str
    questions: list[Question]
    students: list[str]
    results: dict[str, dict[str, Result]]
    distinct: int
    seconds: float


def grade_class(
    assignment: str | Path, answers_path: str | Path, workers: int | None = None
) -> Gradebook:
    """Every student's result on every question (an unanswered one is a missing result)."""
    start = time.perf_counter()
    title, questions = read_assignment(assignment)
    answers = read_answers(answers_path)
    by_id = {q.id: q for q in questions}
    formulas: dict[str, dict[str, str]] = {}
    for answer in answers:
        if answer.question not in by_id:
            known = ", ".join(by_id)
            raise GradeError(f"{answers_path}: question {answer.question!r} is not in the "
                             f"assignment (its questions: {known})")  # fmt: skip
        formulas.setdefault(answer.student, {})[answer.question] = answer.formula  # the last wins
    pairs = [
        pair
        for student_formulas in formulas.values()
        for qid, formula in student_formulas.items()
        if formula.strip() and len(formula) <= MAX_FORMULA
        for pair in _pairs(by_id[qid], formula)
    ]
    records = check_all(pairs, workers if workers is not None else os.cpu_count() or 1)
    results = {
        student: {q.id: grade_answer(q, formulas[student].get(q.id), records) for q in questions}
        for student in formulas
    }
    students = sorted(formulas)
    return Gradebook(title, questions, students, results, len(set(pairs)),
                     time.perf_counter() - start)  # fmt: skip


# ------------------------------------------------------------------------------ writing


def _points(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def safe_name(student: str) -> str:
    """A file name for a student id: letters, digits, '.', '-', '_' kept, the rest '_'."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", student).strip(".") or "student"
    return name[:100]


def _file_names(students: list[str]) -> dict[str, str]:
    names, used = {}, set()
    for student in students:
        name, n = safe_name(student), 1
        while name.lower() in used:
            n += 1
            name = f"{safe_name(student)}-{n}"
        used.add(name.lower())
        names[student] = name
    return names


def gradebook_csv(book: Gradebook) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *(q.id for q in book.questions), "total"])
    for student in book.students:
        row = book.results[student]
        scores = [row[q.id].score for q in book.questions]
        writer.writerow([student, *map(_points, scores), _points(sum(scores))])
    return out.getvalue()


def _math(tex: str) -> str:
    return f"$${tex}$$"


def _code(text: str) -> list[str]:
    """A student's text as a fenced code block: shown as typed, never read as Markdown or math."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}latex", text, fence]


def feedback_markdown(book: Gradebook, student: str) -> str:
    """A student's feedback: per question the verdict, why, and the correct formula."""
    row = book.results[student]
    total = sum(r.score for r in row.values())
    possible = sum(q.points for q in book.questions)
    lines = [f"# {book.title or 'Feedback'}: {student}", "",
             f"Score: {_points(total)} / {_points(possible)}", ""]  # fmt: skip
    for q in book.questions:
        result = row[q.id]
        lines += [f"## {q.title or q.id} ({_points(result.score)} / {_points(q.points)})", ""]
        lines += [f"Verdict: **{result.verdict}**", ""]
        if result.formula is not None and result.formula.strip():
            lines += ["Your answer:", "", *_code(result.formula.strip()), ""]
        lines += [f"Why: {result.reason}", ""]
        if result.verdict != "correct" and result.expected:
            lines += ["The correct formula:", "", _math(f"{result.target} = {result.expected}"), ""]
    return "\n".join(lines)


def test_output(result: Result) -> str:
    text = f"{result.verdict}: {result.reason}"
    if result.verdict != "correct" and result.expected:
        text += f"\n\nThe correct formula: $${result.target} = {result.expected}$$"
    return text


def gradescope_results(book: Gradebook, students: list[str]) -> dict:
    """Gradescope's results.json: a score, an output, and one test per question (and student)."""
    tests, score = [], 0.0
    for student in students:
        for q in book.questions:
            result = book.results[student][q.id]
            name = q.title or q.id
            tests.append({
                "name": name if len(students) == 1 else f"{student}: {name}",
                "score": round(result.score, 4),
                "max_score": q.points,
                "status": "passed" if result.verdict == "correct" else "failed",
                "output": test_output(result),
                "output_format": "md",
                "visibility": "visible",
            })  # fmt: skip
            score += result.score
    if len(students) == 1:
        output = f"{_points(score)} of {_points(sum(q.points for q in book.questions))} points"
    else:
        output = f"{len(students)} students graded; each student's file is in results/"
    return {
        "score": round(score, 4),
        "output": output,
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def summary_rows(book: Gradebook) -> list[tuple[str, str, int, float]]:
    """(question, diagnosis, count, share of the class), the most common first per question."""
    rows = []
    for q in book.questions:
        counts = Counter(book.results[s][q.id].diagnosis for s in book.students)
        for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            rows.append((q.id, label, count, count / max(1, len(book.students))))
    return rows


def summary_csv(book: Gradebook) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["question", "diagnosis", "count", "share"])
    for qid, label, count, share in summary_rows(book):
        writer.writerow([qid, label, count, f"{share:.3f}"])
    return out.getvalue()


def summary_markdown(book: Gradebook) -> str:
    lines = [f"# {book.title or 'Assignment'}: the class's answers", "",
             f"{len(book.students)} students, {len(book.questions)} questions.", ""]  # fmt: skip
    rows = summary_rows(book)
    for q in book.questions:
        lines += [
            f"## {q.title or q.id}",
            "",
            "| diagnosis | students | share |",
            "|---|---:|---:|",
        ]
        for qid, label, count, share in rows:
            if qid == q.id:
                shown = label.replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {shown} | {count} | {share:.0%} |")
        lines.append("")
    return "\n".join(lines)


def write_outputs(book: Gradebook, directory: str | Path) -> None:
    out = Path(directory)
    try:
        (out / "feedback").mkdir(parents=True, exist_ok=True)
        (out / "gradebook.csv").write_text(gradebook_csv(book), encoding="utf-8")
        names = _file_names(book.students)
        for student in book.students:
            text = feedback_markdown(book, student)
            (out / "feedback" / f"{names[student]}.md").write_text(text, encoding="utf-8")
        results = gradescope_results(book, book.students)
        (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        if len(book.students) > 1:
            (out / "results").mkdir(exist_ok=True)
            for student in book.students:
                one = json.dumps(gradescope_results(book, [student]), indent=2)
                (out / "results" / f"{names[student]}.json").write_text(one, encoding="utf-8")
        (out / "summary.csv").write_text(summary_csv(book), encoding="utf-8")
        (out / "summary.md").write_text(summary_markdown(book), encoding="utf-8")
    except OSError as error:
        raise GradeError(f"{directory}: cannot be written ({error.strerror})") from None


def grade(assignment: str | Path, answers: str | Path, directory: str | Path,
          workers: int | None = None) -> str:  # fmt: skip
    """Grade the class and write DIR; a one-line report of what was done."""
    book = grade_class(assignment, answers, workers)
    write_outputs(book, directory)
    return (
        f"graded {len(book.students)} students x {len(book.questions)} questions "
        f"({book.distinct} distinct formulas checked) in {book.seconds:.1f} s; wrote {directory}"
    )


__all__ = [
    "Answer",
    "GradeError",
    "Gradebook",
    "Question",
    "Result",
    "credit",
    "grade",
    "grade_answer",
    "grade_class",
    "gradescope_results",
    "read_answers",
    "read_assignment",
    "split_equation",
    "summary_rows",
    "write_outputs",
]
