"""The speed targets of issue 11, measured in one run, with the peers as ratios.

    python3 benchmarks/bench_targets.py            # every measurement (a few minutes)
    python3 benchmarks/bench_targets.py --quick    # smaller depths, fewer repeats

In-process numbers are the least CPU time of ``--repeat`` runs, each from cold dimension
caches (as in bench_derive.py).  Commands run in new processes are wall-clock medians over
``--runs`` runs, interleaved so that a busy moment of a shared machine falls on all of them.
Every ratio compares numbers measured in this same run.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import sympy  # noqa: E402
from bench_derive import growth_exponent, network  # noqa: E402

from matcalc.core import shapes  # noqa: E402
from matcalc.engine.derive import derive  # noqa: E402
from matcalc.printers.chains import chain_forms  # noqa: E402
from matcalc.printers.latex import latex_printer, to_latex  # noqa: E402
from matcalc.printers.render import render_derivation, shared_json  # noqa: E402

VERIFY_SPEC = ROOT / "derivations" / "generic-L-layer.toml"
VERIFY_EQUATION = (
    r"\frac{\partial L}{\partial W^l} = A^{l-1}\left(\frac{\partial L}{\partial Z^l}\right)^T"
)


def cold(task: Callable[[], object], repeat: int) -> float:
    """Least CPU seconds of ``repeat`` runs from cold dimension caches."""
    times = []
    for _ in range(repeat):
        shapes.clear_caches()
        start = time.process_time()
        task()
        times.append(time.process_time() - start)
    return min(times)


def row(what: str, seconds: float, target: float | None = None, extra: str = "") -> None:
    verdict = "" if target is None else ("met" if seconds < target else "NOT met")
    goal = "" if target is None else f"< {target:g} s"
    print(f"| {what} | {seconds:.3f} s | {goal} | {verdict} | {extra} |")


# ------------------------------------------------------------------------------ derivation


def derive_rows(depths: tuple[int, ...], repeat: int) -> dict[int, float]:
    times = {}
    for depth in depths:
        times[depth] = cold(lambda d=depth: derive(network(d, None)), repeat)
    return times


# ---------------------------------------------------------------------------- chain output


def every_chain_latex(depth: int) -> Callable[[], int]:
    derivation = derive(network(depth, None))

    def task() -> int:
        printer = latex_printer()
        size = 0
        for gradient in derivation.gradients():
            for form in chain_forms(gradient):
                size += len(to_latex(form, printer=printer))
                printer.forget(form)
        return size

    return task


# ------------------------------------------------------------------------------------ peers


def sympy_matrix_diff() -> tuple[float, str]:
    """SymPy's matrix calculus on a 2-layer network: the loss differentiated by W^1."""
    n0, n1, n2 = 3, 4, 2
    x = sympy.MatrixSymbol("x", n0, 1)
    y = sympy.MatrixSymbol("y", n2, 1)
    w1 = sympy.MatrixSymbol("W1", n0, n1)
    w2 = sympy.MatrixSymbol("W2", n1, n2)
    start = time.process_time()
    try:
        a1 = (w1.T * x).applyfunc(sympy.tanh)
        residual = w2.T * a1 - y
        loss = (residual.T * residual)[0, 0]
        gradient = sympy.diff(loss, w1)
        if isinstance(gradient, sympy.ZeroMatrix):
            outcome = "wrong: returns the zero matrix"
        else:
            outcome = f"returns {type(gradient).__name__}"
    except Exception as error:  # noqa: BLE001 - the failure is the result
        outcome = f"fails: {type(error).__name__}: {str(error)[:80]}"
    return time.process_time() - start, outcome


def numpy_backprop(depth: int, width: int = 10, repeat: int = 5) -> float:
    """Numbers, not formulas: one forward and backward pass of the same network in NumPy."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(depth)]
    biases = [np.zeros((width, 1)) for _ in range(depth)]
    x = rng.standard_normal((width, 1))
    y = np.eye(width)[:, [0]]

    def run() -> None:
        activations, pres = [x], []
        for l in range(depth):
            z = weights[l].T @ activations[-1] + biases[l]
            pres.append(z)
            if l == depth - 1:
                e = np.exp(z - z.max())
                activations.append(e / e.sum())
            elif l % 2:
                activations.append(np.tanh(z))
            else:
                activations.append(np.maximum(z, 0))
        dz = activations[-1] - y
        for l in range(depth - 1, -1, -1):
            _dw, _db = activations[l] @ dz.T, dz
            if l:
                upstream = weights[l] @ dz
                a = activations[l]
                dz = upstream * (1 - a * a) if (l - 1) % 2 else upstream * (pres[l - 1] > 0)

    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


# ------------------------------------------------------------------------------ graph specs


def graph_rows(blocks: tuple[int, ...], repeat: int) -> dict[int, float]:
    """Read + backprop of a stack of residual blocks (bench_graph.py), by named quantities."""
    from bench_graph import residual_blocks

    from matcalc.engine.backprop import backprop
    from matcalc.specs.context import spec_from_toml

    times = {}
    for count in blocks:
        text = residual_blocks(count)
        quantities = len(spec_from_toml(text).quantities)
        times[quantities] = cold(lambda text=text: backprop(spec_from_toml(text)), repeat)
    return times


# ------------------------------------------------------------------- where derive spends it


def derive_split(depth: int, repeat: int) -> tuple[float, dict[str, float]]:
    """CPU seconds of derive(network) and of its top-level engine calls, by the line of
    engine/backprop.py that makes them (simplify and pullback, each counted once at its
    outermost call)."""
    import matcalc.engine.backprop as engine

    spent: dict[str, float] = {}
    inside = [0]
    originals = {name: getattr(engine, name) for name in ("simplify", "pullback")}

    def timed(name: str, function: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            if inside[0]:
                return function(*args, **kwargs)
            caller = sys._getframe(1)
            key = f"{name} ({caller.f_code.co_name}, line {caller.f_lineno})"
            inside[0] += 1
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[key] = spent.get(key, 0.0) + time.process_time() - start
                inside[0] -= 1

        return call

    best: tuple[float, dict[str, float]] | None = None
    try:
        for name, function in originals.items():
            setattr(engine, name, timed(name, function))
        for _ in range(repeat):
            spent.clear()
            shapes.clear_caches()
            start = time.process_time()
            derive(network(depth, None))
            total = time.process_time() - start
            if best is None or total < best[0]:
                best = (total, dict(spent))
    finally:
        for name, function in originals.items():
            setattr(engine, name, function)
    assert best is not None
    return best


# ---------------------------------------------------------------------------- new processes


def wall_medians(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    # As installed: bytecode cached (a machine may set PYTHONDONTWRITEBYTECODE, which makes
    # every start compile matcalc's sources but not SymPy's, installed with theirs), and one
    # unmeasured run of each command first, which writes it.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for command in commands.values():
        subprocess.run(command, env=env, capture_output=True, check=False, cwd=ROOT)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=False, cwd=ROOT)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller depths, fewer repeats")
    parser.add_argument("--repeat", type=int, default=3, help="in-process runs (the best counts)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (median)")
    args = parser.parse_args()
    repeat, runs = (1, 3) if args.quick else (args.repeat, args.runs)
    depths = (10, 30, 100, 300) if args.quick else (10, 30, 100, 300, 1000)
    deep, chain_depth = (300, 100) if args.quick else (1000, 300)
    print(f"Python {platform.python_version()}, SymPy {sympy.__version__}, NumPy {np.__version__}")
    print(f"{platform.machine()}, {os.cpu_count()} cores\n")

    print("| measurement | time | target | | notes |")
    print("|---|---:|---|---|---|")
    derive_times = derive_rows(depths, repeat)
    for depth, seconds in derive_times.items():
        target = {100: 0.025, 1000: 0.25}.get(depth)
        row(f"derive all layers, L = {depth} (symbolic sizes)", seconds, target)
    exponent = growth_exponent(list(derive_times.items()))
    gc.disable()
    try:  # a measurement only: how much of derive the garbage collector takes
        without_gc = cold(lambda: derive(network(deep, None)), repeat)
    finally:
        gc.enable()
    row(f"derive all layers, L = {deep}, garbage collector off", without_gc, None, "measured only")
    print(f"| growth exponent of derive, L = {depths[0]}..{depths[-1]} | {exponent:.2f} | | | |")

    derivation = derive(network(deep, None))
    out: list[str] = []
    seconds = cold(lambda: out.append(shared_json(derivation)), 1)
    size = len(out[-1].encode()) / 1e6
    row(f"JSON, shared chains, L = {deep}", seconds, 3.0, f"{size:.1f} MB of output")
    derivation = derive(network(chain_depth, None))
    seconds = cold(lambda: out.append(render_derivation(derivation, "json")), 1)
    size = len(out[-1].encode()) / 1e6
    row(f"JSON, full chains, L = {chain_depth}", seconds, None, f"{size:.1f} MB of output")
    out.clear()
    seconds = cold(every_chain_latex(chain_depth), 1)
    row(f"LaTeX of every chain, L = {chain_depth}", seconds, 3.0)

    graphs = graph_rows((50, 250, 500) if not args.quick else (50, 250), repeat)
    for quantities, seconds in graphs.items():
        target = 1.0 if quantities > 1000 else None
        row(f"graph spec, {quantities} named quantities (read + backprop)", seconds, target)
    exponent = growth_exponent(list(graphs.items()))
    print(f"| growth exponent of graph specs | {exponent:.2f} | linear | | |")

    sympy_seconds, outcome = sympy_matrix_diff()
    row("SymPy matrix diff, 2 layers", sympy_seconds, None, outcome)
    two_layers = cold(lambda: derive(network(2, None)), repeat)
    row("matcalc, derive all layers, L = 2", two_layers, None)
    print(f"| SymPy matrix diff / matcalc at 2 layers | {sympy_seconds / two_layers:.0f}x | | | |")
    floor = numpy_backprop(deep)
    row(f"NumPy backprop (numbers), L = {deep}, width 10", floor, None)
    ratio = derive_times.get(deep, float("nan")) / floor
    print(f"| derive / NumPy backprop at L = {deep} | {ratio:.0f}x | | | |")

    total, spent = derive_split(deep, repeat)
    print(f"\n| derive, L = {deep}: top-level engine calls | CPU s | share |")
    print("|---|---:|---:|")
    for key, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"| {key} | {seconds:.3f} | {seconds / total:.0%} |")
    rest = total - sum(spent.values())
    print(f"| the rest (network symbols, factors, records, gc) | {rest:.3f} | {rest / total:.0%} |")

    python = sys.executable
    commands = {
        "import sympy": [python, "-c", "import sympy"],
        "matcalc --help": [python, "-m", "matcalc", "--help"],
        "matcalc derive": [python, "-m", "matcalc", "derive"],
        "matcalc verify": [python, "-m", "matcalc", "verify", str(VERIFY_SPEC), VERIFY_EQUATION],
    }
    walls = wall_medians(commands, runs)
    base = walls["import sympy"]
    print("\n| new process (wall-clock median) | time | / import sympy | target |")
    print("|---|---:|---:|---:|")
    targets = {"matcalc --help": 0.3, "matcalc derive": 1.3, "matcalc verify": 1.5}
    for name, seconds in walls.items():
        goal = f"<= {targets[name]}x" if name in targets else ""
        print(f"| `{name}` | {seconds:.3f} s | {seconds / base:.2f}x | {goal} |")


if __name__ == "__main__":
    main()
