"""Derivation time of graph specs (networks given by their forward equations), by size.

    python3 benchmarks/bench_graph.py

A stack of B residual blocks (Z_b = W_b A_{b-1} + b_b, A_b = A_{b-1} + tanh(Z_b)) has 2B + 1
named quantities.  For each size the table shows the least CPU time of three runs of reading
the spec, of backprop over it (``backprop``: every quantity's and every parameter's gradient),
and of printing its LaTeX and NumPy source; then the growth exponent (the slope of log(time)
against log(quantities), fitted by least squares) and the ratios between sizes, all measured
in the same run.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matcalc.engine.backprop import backprop  # noqa: E402
from matcalc.printers.graph import render_graph  # noqa: E402
from matcalc.specs.context import spec_from_toml  # noqa: E402

BLOCKS = (5, 25, 50, 250, 500)


def residual_blocks(count: int) -> str:
    shapes = "".join(f'W_{b} = "d x d"\nb_{b} = "d"\n' for b in range(1, count + 1))
    define = "".join(
        f"Z_{b} = 'W_{{{b}}} A_{{{b - 1}}} + b_{{{b}}}'\n"
        f"A_{b} = 'A_{{{b - 1}}} + \\tanh(Z_{{{b}}})'\n"
        for b in range(1, count + 1)
    ).replace("A_{0}", "x")
    parameters = [f"W_{b}" for b in range(1, count + 1)]
    return (
        f"parameters = {json.dumps(parameters)}\n"
        f'[shapes]\nx = "d"\ny = "d"\n{shapes}[define]\n{define}'
        f"L = '\\|A_{{{count}}} - y\\|^2'\n"
    )


def best(task, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        task()
        times.append(time.process_time() - start)
    return min(times)


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def main() -> None:
    print(f"# graph specs: {platform.python_version()}, {platform.machine()}")
    print("| quantities | read spec (s) | backprop (s) | LaTeX (s) | NumPy source (s) |")
    print("|---:|---:|---:|---:|---:|")
    sizes, totals = [], []
    for count in BLOCKS:
        text = residual_blocks(count)
        graph = spec_from_toml(text)
        derivation = backprop(graph)
        read = best(lambda text=text: spec_from_toml(text))
        derive = best(lambda graph=graph: backprop(graph))
        latex = best(lambda d=derivation: render_graph(d, "latex"))
        numpy = best(lambda d=derivation: render_graph(d, "numpy"))
        quantities = len(graph.quantities)
        sizes.append(quantities)
        totals.append(read + derive)
        print(f"| {quantities} | {read:.4f} | {derive:.4f} | {latex:.4f} | {numpy:.4f} |")
    print(f"\ngrowth exponent of read + backprop: {slope(sizes, totals):.2f}")
    for k in range(1, len(sizes)):
        (a, ta), (b, tb) = (sizes[k - 1], totals[k - 1]), (sizes[k], totals[k])
        print(f"{b} / {a} quantities: time ratio {tb / ta:.2f} for a size ratio {b / a:.1f}")


if __name__ == "__main__":
    main()
