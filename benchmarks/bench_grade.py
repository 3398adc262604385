"""``matcalc grade`` on a synthetic class: 300 students x 5 questions by default.

    python3 benchmarks/bench_grade.py                 # 300 students, 5 questions
    python3 benchmarks/bench_grade.py --students 1000
    python3 benchmarks/bench_grade.py --unique        # no two students write the same text

Each question offers a handful of answers that students give (the right formula written two
ways, a whole equation, a missing transpose, a factor in the wrong order, a missing factor 2,
a formula that does not parse, an empty answer); each student picks one per question at random,
with the right formula the most common, so the class has many repeats, as a real class has.
With ``--unique`` every formula gets a different trail of LaTeX spaces (the student's number in
binary, ``\\,`` for 0 and ``\\;`` for 1), so no two answers are the same text and nothing is
shared: the worst case for the grader's cache.  The time is the wall-clock of reading,
checking every distinct formula on the machine's cores, and writing every output file, from
cold caches (a fresh process).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TWO_LAYER = (ROOT / "matcalc/classroom/presets/two-layer-sigmoid-squared.toml").name
THREE_LAYER = (ROOT / "matcalc/classroom/presets/three-layer-relu-tanh-softmax.toml").name

D = r"\frac{\partial L}{\partial %s}"
QUESTIONS = [
    (
        "w2",
        TWO_LAYER,
        D % "W^2",
        [
            r"A^1 \left(\frac{\partial L}{\partial Z^2}\right)^T",
            r"A^{1} (\frac{\partial L}{\partial Z^{2}})^{T}",
            D % "W^2" + r" = A^1 \left(\frac{\partial L}{\partial Z^2}\right)^T",
            r"\frac{\partial L}{\partial Z^2} (A^1)^T",
            r"A^1 \left(\frac{\partial L}{\partial Z^2}\right",
            "",
        ],
    ),
    (
        "w1",
        TWO_LAYER,
        D % "W^1",
        [
            r"A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T",
            r"A^0 \frac{\partial L}{\partial Z^1}",
            r"(A^0)^T \frac{\partial L}{\partial Z^1}",
            D % "W^2" + r" = A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T",
        ],
    ),
    (
        "z1",
        TWO_LAYER,
        D % "Z^1",
        [
            r"A^1 \odot (1 - A^1) \odot \left(W^2 \frac{\partial L}{\partial Z^2}\right)",
            r"A^1 \odot (1 - A^1) \odot \left((W^2)^T \frac{\partial L}{\partial Z^2}\right)",
            r"(1 - A^1) \odot \left(W^2 \frac{\partial L}{\partial Z^2}\right)",
        ],
    ),
    (
        "w3",
        THREE_LAYER,
        D % "W^3",
        [
            r"A^2 \left(A^3 - y\right)^T",
            r"A^2 \left(\frac{\partial L}{\partial Z^3}\right)^T",
            r"\left(A^3 - y\right) (A^2)^T",
            r"A^2 \left(y - A^3\right)^T",
        ],
    ),
    (
        "b3",
        THREE_LAYER,
        D % "W_0^3",
        [
            r"A^3 - y",
            r"y - A^3",
            r"2 (A^3 - y)",
            r"A^3 -",
        ],
    ),
]
WEIGHTS = (5, 2, 2, 1, 1, 1)


def spaces(number: int) -> str:
    """A distinct run of LaTeX spaces for each number: its binary digits as \\, and \\;."""
    return " " + " ".join("\\;" if bit == "1" else "\\," for bit in f"{number:b}")


def write_class(
    directory: Path, students: int, seed: int, unique: bool = False
) -> tuple[Path, Path]:
    """An assignment and a CSV of answers for ``students`` students."""
    presets = ROOT / "matcalc/classroom/presets"
    lines = ['title = "Backprop, synthetic"', ""]
    for qid, spec, target, _ in QUESTIONS:
        spec_path = directory / spec
        spec_path.write_text((presets / spec).read_text(encoding="utf-8"), encoding="utf-8")
        lines += ["[[question]]", f'id = "{qid}"', f'spec = "{spec}"',
                  f"target = '{target}'", "points = 2",
                  "partial = { missing_transpose = 0.5 }", ""]  # fmt: skip
    assignment = directory / "assignment.toml"
    assignment.write_text("\n".join(lines), encoding="utf-8")
    rng = random.Random(seed)
    answers = directory / "answers.csv"
    with answers.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "question", "formula"])
        for s in range(students):
            for qid, _, _, choices in QUESTIONS:
                formula = rng.choices(choices, WEIGHTS[: len(choices)])[0]
                if unique and formula:
                    formula += spaces(s + 1)
                writer.writerow([f"student{s:04d}", qid, formula])
    return assignment, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unique", action="store_true", help="no two answers alike")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        assignment, answers = write_class(directory, args.students, args.seed, args.unique)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "matcalc", "grade", str(assignment), str(answers),
             "-o", str(directory / "out")],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(done.stderr)
        print(done.stderr.strip())
        print(f"{args.students} students x {len(QUESTIONS)} questions on {os.cpu_count()} cores: "
              f"{seconds:.1f} s wall-clock, process start included")  # fmt: skip
        print((directory / "out" / "summary.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
