"""Derivation time of the Matrix Cookbook / matrixcalculus.org battery in expression contexts.

    python3 benchmarks/bench_expressions.py

For each problem of tests/data/cookbook_problems.json: the context is built (its formula read),
the gradient derived and simplified with the context's rules, and printed; then the Hessians of
three scalar functions and three matrix-by-matrix derivatives.  Printed: the CPU time of the
first run (SymPy's caches cold) and the least of ``--repeat`` more.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcalc.engine.context import gradient, hessian, matrix_derivative  # noqa: E402
from matcalc.printers.latex import to_latex  # noqa: E402
from matcalc.specs.context import Context  # noqa: E402

PROBLEMS = json.loads((ROOT / "tests" / "data" / "cookbook_problems.json").read_text("utf-8"))[
    "problems"
]
SPEC = {
    "shapes": {"A": "m x n", "X": "n x p", "B": "p x q", "W": "h x d", "x": "d", "M": "n x d",
               "w": "d", "y": "n", "lambda": "scalar", "Y": "n x n"},
    "define": {
        "F": "AXB", "H": "\\tanh(Wx)", "G": "Y^{-1}", "q": "w^T M^T M w",
        "ridge": "\\|M w - y\\|^2 + \\lambda \\|w\\|^2",
        "logistic": "-\\sum\\left(y \\odot \\log\\sigma(Mw) + (1 - y) \\odot "
        "\\log(1 - \\sigma(Mw))\\right)",
    },
}  # fmt: skip


def first_and_best(task: Callable[[], object], repeat: int) -> tuple[float, float]:
    """CPU seconds of the first run (cold SymPy caches) and the least of ``repeat`` more."""
    times = []
    for _ in range(repeat + 1):
        start = time.process_time()
        task()
        times.append(time.process_time() - start)
    return times[0], min(times[1:])


def battery() -> None:
    for problem in PROBLEMS:
        context = Context.from_dict(
            {
                "shapes": problem["shapes"],
                "assume": problem["assume"],
                "define": {"f": problem["f"]},
            }
        )
        to_latex(gradient(context, "f", problem["wrt"]))


def second_kind() -> None:
    context = Context.from_dict(SPEC)
    for of in ("q", "ridge", "logistic"):
        to_latex(hessian(context, of, "w"))
    for of, wrt in (("F", "X"), ("H", "W"), ("G", "Y")):
        matrix_derivative(context, of, wrt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    count = len(PROBLEMS)
    first, best = first_and_best(battery, args.repeat)
    print(f"battery of {count} problems: first run {first:.2f} s, then {best:.2f} s")
    first, best = first_and_best(second_kind, args.repeat)
    print(f"3 Hessians, 3 matrix-by-matrix derivatives: first run {first:.2f} s, then {best:.2f} s")


if __name__ == "__main__":
    main()
