"""What matcalc prints, verify reads back as correct: every gradient and every dL/dZ^l line of
random networks in every convention (with and without a batch) and notation, every line of
--steps, every backprop line of the architectures' graph specs and recurrences, every context
gradient (derive --wrt) and the result of explain."""

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
from conftest import random_networks
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matcalc.checks.verify import verify
from matcalc.cli import LOSS_NAME_CHOICES, TRANSPOSE_CHOICES, main
from matcalc.engine.backprop import backprop
from matcalc.engine.derive import derive
from matcalc.printers.graph import graph_notation
from matcalc.printers.latex import (
    DERIVATIVE_STYLES,
    LAYER_STYLES,
    SIZE_STYLES,
    Notation,
    to_latex,
)
from matcalc.specs.context import spec_from_file
from matcalc.specs.graph import Graph
from matcalc.specs.network import Network

ARCHITECTURES = Path(__file__).resolve().parents[2] / "derivations" / "architectures"
GRAPHS = [p for p in sorted(ARCHITECTURES.glob("*.toml")) if "\nsteps = " not in p.read_text()]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    case=random_networks(
        max_depth=3,
        max_size=3,
        conventions=("6.390", "ng", "goodfellow", "nielsen", "ufldl", "cs231n"),
        batches=(None, 3),
    )
)
def test_every_printed_gradient_reads_back_as_correct(case):
    """A softmax layer over a batch included: its column sums print as 1_3 1_3^T (a layer's
    size, not the batch's), which the reader sizes by the matrix beside them."""
    network, _ = case
    derivation = derive(network)
    notation = Notation.of(network.declaration)
    lines = [(g.target, g.simplified) for g in derivation.gradients()]
    lines += [(layer.dz, layer.dz_value) for layer in derivation.layers.values()]
    for target, value in lines:
        equation = f"{to_latex(target, notation)} = {to_latex(value, notation)}"
        verdict = verify(network, equation)
        assert verdict.correct, (equation, verdict.reason)


@pytest.mark.parametrize("path", GRAPHS, ids=[p.stem for p in GRAPHS])
def test_every_printed_backprop_line_reads_back_as_correct(path):
    graph = spec_from_file(path)
    assert isinstance(graph, Graph)
    derivation = backprop(graph)
    notation = graph_notation(derivation)
    for assignment in derivation.assignments:
        equation = (
            f"{to_latex(assignment.target, notation)} = {to_latex(assignment.value, notation)}"
        )
        verdict = verify(graph, equation)
        assert verdict.correct, (equation, verdict.reason)


# ------------------------------------------------------------------ every printed line, any output


_BLOCK = re.compile(r"\\begin\{(align\*?|aligned)\}(.*?)\\end\{\1\}", re.S)
_ROW_END = re.compile(r"\\\\\s*(?:\n|$)")
_ANNOTATION = "\\text{\\footnotesize"
_CONTINUED = "&\\qquad"


def printed(argv: list[str]) -> str:
    """What `matcalc ARGV` prints (exit 0)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0, argv
    return out.getvalue()


def printed_equations(text: str) -> list[str]:
    """`lhs = rhs` for every row of every align block: a row `&= ...` continues the last left
    side, `&\\qquad ...` the last right side; && columns (shapes) and the justifications of
    steps (\\text{\\footnotesize by ...}) are not part of the formula."""
    found: list[tuple[str, str]] = []
    for _, body in _BLOCK.findall(text):
        lhs = None
        for row in (r.split("&&")[0].strip() for r in _ROW_END.split(body)):
            if row.startswith(_CONTINUED) and found:
                found[-1] = (found[-1][0], found[-1][1] + " " + row[len(_CONTINUED) :])
                continue
            parts = row.split("&=")
            if len(parts) < 2:
                continue
            lhs = parts[0].strip() or lhs
            found += [(lhs, part.strip()) for part in parts[1:]]
    equations = []
    for lhs, rhs in found:
        at = rhs.find(_ANNOTATION)
        if at >= 0:
            rhs = rhs[:at].rstrip().removesuffix("\\qquad").removesuffix("\\quad")
        equations.append(f"{lhs} = {rhs}")
    return equations


def is_gradient_line(equation: str) -> bool:
    """A derivative on the left (not a forward definition such as Z = W x + b)."""
    lhs = equation.split(" = ")[0]
    return "\\partial" in lhs or "\\nabla" in lhs or re.match(r"d[A-Za-z\\]", lhs) is not None


def verdict_of(subject, equation: str):
    """verify as the CLI dispatches it: one verifier for every kind of spec."""
    return verify(subject, equation)


def assert_reads_back(subject, text: str, at_least: int = 1) -> None:
    lines = [e for e in printed_equations(text) if is_gradient_line(e)]
    assert len(lines) >= at_least, text
    for equation in lines:
        verdict = verdict_of(subject, equation)
        assert verdict.correct, (equation, verdict.reason)


def network_toml(network: Network) -> str:
    head = [
        f'convention = "{network.convention}"',
        f"input = {network.input}",
        f'loss = "{network.loss}"',
    ]
    if network.batch is not None:
        head.append(f"batch = {network.batch}")
    layers = [
        f'[[layer]]\nsize = {layer.size}\nactivation = "{layer.activation}"'
        for layer in network.layers
    ]
    return "\n".join(head) + "\n\n" + "\n\n".join(layers) + "\n"


NOTATION_FLAGS = (
    *(("--layer-index", style) for style in LAYER_STYLES),
    ("--ell",),
    *(("--transpose", choice) for choice in TRANSPOSE_CHOICES),
    *(("--loss-name", choice) for choice in LOSS_NAME_CHOICES),
    *(("--sizes", style) for style in SIZE_STYLES),
    *(("--activation-derivative", style) for style in DERIVATIVE_STYLES),
    ("--no-shapes",),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    case=random_networks(
        max_depth=3,
        max_size=3,
        conventions=("6.390", "ng", "goodfellow", "nielsen", "ufldl", "cs231n", "bishop"),
        batches=(None, 3),
    ),
    flags=st.lists(st.sampled_from(NOTATION_FLAGS), max_size=4, unique_by=lambda f: f[0]),
    steps=st.booleans(),
)
def test_every_printed_line_reads_back_in_any_notation_with_or_without_steps(case, flags, steps):
    """derive's LaTeX with any notation options (--layer-index, --ell, --transpose,
    --loss-name, --sizes, --activation-derivative, --no-shapes), and every line of --steps."""
    network, _ = case
    cost = network.cost_symbol()
    named_as_cost = ("--loss-name", cost.name) in flags
    # The loss named like a cost its gradients refer to is refused (test_cli_conventions).
    assume(not named_as_cost or cost not in (network.objective(), network.carried_symbol()))
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "net.toml"
        spec.write_text(network_toml(network))
        argv = ["derive", str(spec), *(part for flag in flags for part in flag)]
        text = printed([*argv, "--steps"] if steps else argv)
    assert_reads_back(network, text)


ALL_SPECS = sorted(ARCHITECTURES.glob("*.toml"))


@pytest.mark.parametrize("flags", [(), ("--transpose", "top", "--no-shapes")], ids=["", "top"])
@pytest.mark.parametrize("path", ALL_SPECS, ids=[p.stem for p in ALL_SPECS])
def test_every_printed_line_of_a_graph_spec_or_recurrence_reads_back(path, flags):
    """The document derive prints for an architecture (graph specs and recurrences)."""
    assert_reads_back(spec_from_file(path), printed(["derive", str(path), *flags]))


PROBLEMS = json.loads((Path(__file__).parents[1] / "data" / "cookbook_problems.json").read_text())[
    "problems"
]


def context_toml(problem: dict) -> str:
    lines = ["[shapes]", *(f'{k} = "{v}"' for k, v in problem["shapes"].items())]
    if problem["assume"]:
        lines += ["[assume]", *(f'{k} = "{v}"' for k, v in problem["assume"].items())]
    return "\n".join([*lines, "[define]", f"f = '{problem['f']}'"]) + "\n"


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p["name"] for p in PROBLEMS])
def test_a_context_gradient_and_its_explanation_read_back(problem, tmp_path):
    """derive --wrt on an expression context, and the result explain derives entry by entry
    (its last row: the index rows in between write Kronecker deltas and named cofactors)."""
    spec = tmp_path / "context.toml"
    spec.write_text(context_toml(problem))
    context = spec_from_file(spec)
    assert_reads_back(context, printed(["derive", str(spec), "--wrt", problem["wrt"]]))
    try:
        text = printed(["explain", problem["f"], "--wrt", problem["wrt"], "--spec", str(spec)])
    except AssertionError:  # not one of the forms explain derives entry by entry
        return
    lhs, *sides = printed_equations(text)[-1].split(" = ")
    verdict = verdict_of(context, f"{lhs} = {sides[-1]}")
    assert verdict.correct, (lhs, sides, verdict.reason)
