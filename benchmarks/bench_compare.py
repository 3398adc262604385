"""Two checkouts of matcalc timed against each other, interleaved, in one run.

    python3 benchmarks/bench_compare.py /path/to/other/checkout [--runs 5]

Each measurement runs in a new process per checkout (PYTHONPATH set to it), alternating
between them so that a busy moment of a shared machine falls on both; the table shows the
median CPU seconds of each and their ratio.  Only the public API that every version has is
used: ``Network.derive``, ``printers.chains.chain_forms`` and ``render_derivation``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

TASK = """
import sys, time
from matcalc.engine.derive import derive
from matcalc.specs.network import Layer, Network
from matcalc.printers.render import render_derivation
depth, what = int(sys.argv[1]), sys.argv[2]
hidden = [Layer(None, "tanh" if l % 2 else "relu") for l in range(1, depth)]
net = Network([*hidden, Layer(None, "softmax")], loss="nllm")
if what == "derive":
    start = time.process_time(); derive(net)
else:
    derivation = derive(net)
    start = time.process_time(); render_derivation(derivation, "json")
print(time.process_time() - start)
"""

TASKS = (("derive", 100), ("derive", 1000), ("json", 100), ("json", 300))


def measure(checkout: Path, what: str, depth: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-c", TASK, str(depth), what]
    done = subprocess.run(
        command, env=env, cwd=checkout, capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the checkout to compare with (the baseline)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"| task | {args.other} | this checkout | ratio |")
    print("|---|---:|---:|---:|")
    for what, depth in TASKS:
        times: dict[Path, list[float]] = {args.other: [], HERE: []}
        for _ in range(args.runs):
            for checkout in times:
                times[checkout].append(measure(checkout, what, depth))
        before, after = (statistics.median(times[c]) for c in (args.other, HERE))
        label = "derive all layers" if what == "derive" else "--format json"
        print(f"| {label}, L = {depth} | {before:.3f} s | {after:.3f} s | {before / after:.1f}x |")


if __name__ == "__main__":
    main()
