"""Fuzzing: random and mutated formulas, random specs and batch files.

Whatever the input, only MatcalcError escapes the Python API, the CLI exits 0, 1 or 2 with no
traceback, and each input finishes within SECONDS.  The default run is small (a few seconds);
``-m fuzz_long`` (or ``python3 benchmarks/fuzz.py``) runs LONG_EXAMPLES inputs of each kind
(MATCALC_FUZZ_EXAMPLES overrides it).
"""

import contextlib
import io
import json
import os
import time

import pytest
from conftest import TESTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc.checks.verify import verify, verify_batch
from matcalc.cli import main
from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.specs.context import Context, spec_from_toml
from matcalc.specs.network import Layer, Network

SECONDS = 10.0
"""Time one input may take (generous: CI machines are slow and the suite runs in parallel)."""
LONG_EXAMPLES = int(os.environ.get("MATCALC_FUZZ_EXAMPLES", "100000"))
QUICK = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
LONG = settings(QUICK, max_examples=LONG_EXAMPLES)

CASES = json.loads((TESTS / "data" / "public_cases.json").read_text())["cases"]
REAL = [case["equation"] for case in CASES] + [
    r"\nabla_\theta J = \frac{2}{n} X^T(X\theta - Y)",
    r"\frac{\partial}{\partial X}\operatorname{tr}(AX) = A^T",
    r"\frac{\partial f}{\partial X} = \det(X) X^{-T}",
]
TOKENS = [
    "\\frac", "\\partial", "{", "}", "^", "_", "(", ")", "\\left(", "\\right)", "T", "\\top",
    "W", "W_0", "Z", "A", "L", "l", "l-1", "l+1", "=", "+", "-", "\\cdot", "\\odot", "\\circ",
    "\\sigma", "\\tanh", "'", "\\operatorname{diag}", "\\text{loss}", "\\mathcal{L}", "X",
    "\\theta", "\\nabla", "\\det", "\\log", "\\|", "\\sum", "^{-1}", "0", "1", "2", " ",
    "\\\\", "&", "\\begin{pmatrix}", "\\end{pmatrix}", "\\mathbf", "\u2028", "\x00", "é",
]  # fmt: skip
NETWORK = Network([Layer(3, "relu"), Layer(2, "tanh"), Layer(1, "sigmoid")], 2, "nll")
CONTEXT = Context.from_dict(
    {
        "shapes": {"X": "n x n", "A": "n x n", "theta": "n", "Y": "n"},
        "define": {"f": r"\det(X)", "J": r"\|X\theta - Y\|^2"},
    }
)


def within_time(function, *args):
    """function(*args); fails the test if it raises anything but MatcalcError or is slow."""
    started = time.monotonic()
    with contextlib.suppress(MatcalcError):
        function(*args)
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS, f"{elapsed:.1f} s for {args!r:.300}"


@st.composite
def mutated(draw) -> str:
    """A real formula with a few random edits: deletions, insertions, swaps, duplications."""
    text = draw(st.sampled_from(REAL))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        edit = draw(st.sampled_from(["delete", "insert", "duplicate", "swap"]))
        if edit == "delete":
            text = text[:i] + text[j:]
        elif edit == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif edit == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif j - i >= 2:
            text = text[:i] + text[j - 1] + text[i + 1 : j - 1] + text[i] + text[j:]
    return text


formulas = st.one_of(
    mutated(),
    st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
    st.text(max_size=60),
)

scalars = st.one_of(
    st.integers(-3, 10**7),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["L", "m^1", "n^2", "K", "6.390", "ng", "goodfellow", "squared", "nll"]),
    st.sampled_from(["nllm", "tanh", "relu", "softmax", "sigmoid", "identity", "h", "0"]),
)
custom = st.fixed_dictionaries(
    {"name": st.sampled_from(["swish", "f", "g2", "forward", "x y"]), "latex": formulas}
)
layer = st.dictionaries(
    st.sampled_from(["size", "activation", "other"]),
    st.one_of(scalars, custom, st.lists(scalars, max_size=2)),
    max_size=3,
)
# convention and loss are strings or tables here: a list is a known crash (test_regressions.py)
network_spec = st.fixed_dictionaries(
    {"layer": st.lists(layer, min_size=0, max_size=4)},
    optional={
        "input": scalars,
        "loss": st.one_of(scalars, custom),
        "convention": scalars,
        "batch": scalars,
        "depth": scalars,
    },
)
shape = st.one_of(st.sampled_from(["n x n", "n", "scalar", "n x m", "3 x 2", "x"]), scalars)
context_spec = st.fixed_dictionaries(
    {
        "shapes": st.dictionaries(st.sampled_from(["X", "A", "theta", "b"]), shape, max_size=3),
    },
    optional={
        "define": st.dictionaries(st.sampled_from(["f", "J", "S"]), formulas, max_size=2),
        "layout": st.sampled_from(["denominator", "numerator", "mixed", "other"]),
    },
)


def toml(data: dict) -> str:
    """TOML text of a spec dict (strings JSON-quoted, which TOML basic strings accept)."""

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == float("inf") else repr(v))
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"

    lines = [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    for key, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{key}]")
            lines += [f"{json.dumps(k)} = {value(v)}" for k, v in table.items()]
    for item in data.get("layer", []):
        lines.append("[[layer]]")
        lines += [f"{k} = {value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def check_formula(text: str) -> None:
    within_time(verify, NETWORK, text)
    within_time(verify, CONTEXT, text)


def check_spec(data: dict) -> None:
    text = toml(data)

    def derive_and_verify():
        subject = spec_from_toml(text)
        if isinstance(subject, Network):
            derive(subject)
            verify(subject, REAL[0])

    within_time(derive_and_verify)


def check_cli(argv: list[str]) -> None:
    err = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    assert code in (0, 1, 2), (code, argv)
    assert "Traceback" not in err.getvalue()
    assert time.monotonic() - started < SECONDS


batch_line = st.one_of(
    st.builds(lambda s, e: json.dumps({"spec": s, "equation": e}), st.just(toml({})), formulas),
    st.builds(
        lambda e, i: json.dumps({"spec": CASES[0]["spec"], "equation": e, "id": i}),
        formulas,
        st.one_of(st.integers(), st.text(max_size=5), st.none()),
    ),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").decode("latin-1")),
    st.sampled_from(["", " ", "{}", "[]", "null", '{"spec": 1}', "\u2028", "\x85\x0c"]),
)


def check_batch(lines: list[str], tmp_path) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(line.encode("utf-8", "surrogateescape") for line in lines))
    out = io.StringIO()
    verify_batch(str(path), out, jobs=1)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = [n for n, line in enumerate(lines, 1) if line.encode().strip()]
    assert [r["line"] for r in records] == expected


# ---------------------------------------------------------------------------- quick profile


@QUICK
@given(formulas)
def test_formulas_give_verdicts_or_matcalc_errors(text):
    check_formula(text)


@settings(QUICK, max_examples=200)
@given(st.one_of(network_spec, context_spec))
def test_specs_give_networks_or_matcalc_errors(data):
    check_spec(data)


@settings(QUICK, max_examples=40)
@given(formulas, st.sampled_from(["derive", "verify", "explain"]))
def test_the_cli_exits_0_1_or_2_without_a_traceback(text, command):
    argv = {
        "derive": ["derive", "--wrt", text],
        "verify": ["verify", "--batch", "/nonexistent", text],
        "explain": ["explain", text, "--wrt", "X", "--shape", "X=n x n"],
    }[command]
    check_cli(argv)


@settings(QUICK, max_examples=15)
@given(st.lists(batch_line, min_size=1, max_size=6))
def test_batch_files_get_one_record_per_line(tmp_path_factory, lines):
    check_batch(lines, tmp_path_factory.mktemp("batch"))


# ----------------------------------------------------------------------------- long profile


@pytest.mark.fuzz_long
@LONG
@given(formulas)
def test_long_formulas(text):
    check_formula(text)


@pytest.mark.fuzz_long
@settings(LONG, max_examples=max(1, LONG_EXAMPLES // 5))
@given(st.one_of(network_spec, context_spec))
def test_long_specs(data):
    check_spec(data)


@pytest.mark.fuzz_long
@settings(LONG, max_examples=max(1, LONG_EXAMPLES // 100))
@given(st.lists(batch_line, min_size=1, max_size=20))
def test_long_batches(tmp_path_factory, lines):
    check_batch(lines, tmp_path_factory.mktemp("batch"))
