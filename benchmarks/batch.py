"""verify --batch on a large hostile file: every line a record, in order; time by --jobs.

    python3 benchmarks/batch.py                   # 10,000 lines, --jobs 1 and every core
    python3 benchmarks/batch.py --lines 2000 --jobs 2

The file mixes correct and incorrect cases (a few distinct specs, as a class's submissions
repeat), a case whose verify crashes inside matcalc (a singular draw: \\det(0 X)), invalid
UTF-8, raw U+2028 and NEL inside JSON strings, form feeds, blank lines and lines that are not
JSON.  The run checks that each non-blank physical line got exactly one record, in order, with
its id, and prints the wall time and peak memory of the batch process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GENERAL = r"\frac{\partial L}{\partial W^l} = A^{l-1}\left(\frac{\partial L}{\partial Z^l}\right)^T"
WRONG = r"\frac{\partial L}{\partial W^l} = A^{l-1}\frac{\partial L}{\partial Z^l}"
SPECS = [
    f'input = {n}\nloss = "squared"\n[[layer]]\nsize = {n + 1}\nactivation = "{a}"\n'
    '[[layer]]\nsize = 2\nactivation = "identity"\n'
    for n, a in ((3, "tanh"), (4, "relu"), (2, "sigmoid"))
]
CONTEXT = '[shapes]\nX = "n x n"\n'


def line(number: int) -> tuple[bytes, bool]:
    """Physical line ``number`` and whether it should get a record."""
    spec = SPECS[number % len(SPECS)]
    kind = number % 10
    ident = f"case-{number}"
    if kind == 0:
        return json.dumps({"id": ident, "spec": spec, "equation": WRONG}).encode(), True
    if kind == 1:
        return b'{"id": "x", "spec": "\xff", "equation": "A"}', True
    if kind == 2:
        text = json.dumps({"id": ident + "\u2028\x85", "spec": spec, "equation": GENERAL})
        return text.replace("\\u2028", "\u2028").replace("\\u0085", "\x85").encode(), True
    if kind == 3:
        equation = r"\frac{\partial f}{\partial X} = \det(0 X) X^{-T}"
        return json.dumps({"id": ident, "spec": CONTEXT, "equation": equation}).encode(), True
    if kind == 4:
        return b"not json \x0c", True
    if kind == 5 and number % 20 == 5:
        return b"   ", False
    return json.dumps({"id": ident, "spec": spec, "equation": GENERAL}).encode(), True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, action="append", help="default: 1 and every core")
    args = parser.parse_args()
    jobs_list = args.jobs or [1, os.cpu_count() or 1]
    lines = [line(n) for n in range(1, args.lines + 1)]
    expected = [n for n, (_, recorded) in enumerate(lines, start=1) if recorded]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "batch.jsonl"
        path.write_bytes(b"\n".join(raw for raw, _ in lines) + b"\n")
        print(f"{args.lines} lines, {len(expected)} non-blank, {path.stat().st_size:,} bytes")
        for jobs in jobs_list:
            command = [sys.executable, "-m", "matcalc", "verify", "--batch", str(path)]
            started = time.perf_counter()
            result = subprocess.run(
                [*command, "--jobs", str(jobs)],
                capture_output=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            seconds = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            records = [json.loads(text) for text in result.stdout.splitlines()]
            numbers = [r["line"] for r in records]
            ok = numbers == expected and b"Traceback" not in result.stderr
            verdicts = {
                v: sum(r["verdict"] == v for r in records)
                for v in ("correct", "incorrect", "error")
            }
            print(
                f"--jobs {jobs}: exit {result.returncode}, {len(records)} records "
                f"({verdicts}), in order: {ok}, {seconds:.1f} s, "
                f"{len(records) / seconds:.0f} lines/s, peak RSS {peak:.0f} MiB"
            )
            if not ok:
                sys.exit(f"records out of order or missing; stderr: {result.stderr[-500:]!r}")


if __name__ == "__main__":
    main()
