"""Derivation time of every layer, by depth and width, with integer and symbolic sizes.

    python3 benchmarks/bench_derive.py            # the full table (a few minutes on 2 cores)
    python3 benchmarks/bench_derive.py --quick    # depths up to 100

Each network alternates tanh and ReLU hidden layers with a softmax output and the nllm loss.
A run derives every dL/dW^l and dL/dW_0^l (``derive(network)``: dL/dZ^l, then the simplified
weight and bias gradients of each layer); the table shows the least CPU time of ``--repeat``
runs, each from cold caches.  Separately it times the chain forms of every layer, whose total
size grows with the square of the depth, and the NumPy export.  The growth exponent is the slope of
log(time) against log(depth), fitted by least squares.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matcalc.core import shapes  # noqa: E402
from matcalc.engine.derive import derive  # noqa: E402
from matcalc.printers.chains import chain_forms  # noqa: E402
from matcalc.printers.render import render_derivation  # noqa: E402
from matcalc.specs.network import Layer, Network  # noqa: E402

DEPTHS = (10, 30, 100, 300, 1000)
WIDTHS = (10, 100, 1000)


def network(depth: int, width: int | None) -> Network:
    """depth layers of the given width (None: symbolic sizes m^1, n^l)."""
    hidden = [Layer(width, "tanh" if l % 2 else "relu") for l in range(1, depth)]
    return Network([*hidden, Layer(width, "softmax")], input=width, loss="nllm")


def best_time(task: Callable[[], object], repeat: int) -> float:
    """The least CPU time of ``repeat`` runs, each after clearing the dimension caches.

    CPU time of this process, not wall-clock time, so that other work on a shared machine
    does not count.
    """
    times = []
    for _ in range(repeat):
        shapes.clear_caches()
        start = time.process_time()
        task()
        times.append(time.process_time() - start)
    return min(times)


def growth_exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(seconds) against log(depth)."""
    xs = [math.log(depth) for depth, _ in points]
    ys = [math.log(seconds) for _, seconds in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return covariance / sum((x - mean_x) ** 2 for x in xs)


def size_label(width: int | None) -> str:
    return "symbolic (m^1, n^l)" if width is None else f"{width}"


def derive_table(depths: tuple[int, ...], widths: tuple[int | None, ...], repeat: int) -> None:
    print("| sizes | " + " | ".join(f"L = {d}" for d in depths) + " | growth exponent |")
    print("|---|" + "---:|" * len(depths) + "---:|")
    for width in widths:
        points = [(d, best_time(partial(derive, network(d, width)), repeat)) for d in depths]
        cells = " | ".join(f"{seconds:.3f} s" for _, seconds in points)
        print(f"| {size_label(width)} | {cells} | {growth_exponent(points):.2f} |")


def chain_table(depths: tuple[int, ...], repeat: int) -> None:
    """Every layer's chain form (named and valued) on top of the derivation, and numpy export."""
    print("| depth | derive | + chain forms of every layer | numpy export |")
    print("|---:|---:|---:|---:|")
    chains, exports = [], []
    for depth in depths:
        net = network(depth, None)

        def with_chains(net: Network = net) -> None:
            for gradient in derive(net).gradients():
                chain_forms(gradient)

        derive_time = best_time(partial(derive, net), repeat)
        chain = best_time(with_chains, repeat)
        derivation = derive(net)
        export = best_time(lambda d=derivation: render_derivation(d, "numpy"), repeat)
        chains.append((depth, chain))
        exports.append((depth, export))
        print(f"| {depth} | {derive_time:.3f} s | {chain:.3f} s | {export:.3f} s |")
    print(
        f"\ngrowth exponent: chain forms {growth_exponent(chains):.2f}, "
        f"numpy export {growth_exponent(exports):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="depths up to 100 only")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (the best counts)")
    args = parser.parse_args()
    depths = tuple(d for d in DEPTHS if d <= 100) if args.quick else DEPTHS
    print(f"Python {platform.python_version()}, {platform.machine()}, {platform.system()}\n")
    print("Derivation of every layer (derive(network)), CPU seconds:\n")
    derive_table(depths, (None, *WIDTHS), args.repeat)
    print("\nChain forms and NumPy export, symbolic sizes, CPU seconds:\n")
    chain_table(tuple(d for d in depths if d <= 300), args.repeat)


if __name__ == "__main__":
    main()
