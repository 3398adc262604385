"""verify --batch of a class's formulas over many specs: wall time by --jobs, in one run.

    python3 benchmarks/bench_batch.py                # 1,000 lines, --jobs 1 and 2
    python3 benchmarks/bench_batch.py --lines 5000

The lines cycle through the hand-written formulas of tests/data (the public cases and the
textbook collection: 69 formulas over their specs, right and wrong), so a spec repeats as a
class's submissions do.  Each spec is parsed and derived once per process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def cases() -> list[dict]:
    public = json.loads((DATA / "public_cases.json").read_text(encoding="utf-8"))["cases"]
    textbook = json.loads((DATA / "textbook_formulas.json").read_text(encoding="utf-8"))
    specs = textbook["specs"]
    found = [{"spec": c["spec"], "equation": c["equation"]} for c in public]
    for case in textbook["formulas"]:
        spec = specs.get(case["spec"], case["spec"]) if isinstance(specs, dict) else case["spec"]
        found.append({"spec": spec, "equation": case["equation"]})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument(
        "--unique",
        action="store_true",
        help="no two lines alike (each equation gets its own spacing)",
    )
    args = parser.parse_args()
    pool = cases()
    distinct = len({c["spec"] for c in pool})
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "class.jsonl"
        lines = []
        for i in range(args.lines):
            case = dict(pool[i % len(pool)])
            if args.unique:  # the same formula, written with other spacing: checked afresh
                case["equation"] += "\\," * (i // len(pool))
            lines.append(json.dumps({"id": i, **case}))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        alike = "no two alike" if args.unique else f"{len(pool)} distinct formulas"
        print(f"{args.lines} lines over {distinct} distinct specs ({alike})")
        for jobs in (1, 2):
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "matcalc", "verify", "--batch", str(path), "--jobs",
                 str(jobs)],
                capture_output=True, text=True, cwd=ROOT, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - start
            records = [json.loads(r) for r in result.stdout.splitlines()]
            verdicts = {
                v: sum(r["verdict"] == v for r in records)
                for v in ("correct", "incorrect", "error")
            }
            print(f"--jobs {jobs}: {len(records)} records {verdicts}, {wall:.1f} s")


if __name__ == "__main__":
    main()
