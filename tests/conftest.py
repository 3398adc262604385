"""Shared fixtures: random generators and small networks."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matcalc.specs.network import Layer, Network

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(390)


@pytest.fixture
def mit_network() -> Network:
    """The 3-layer network of the public cases: 4 -> 3 tanh -> 5 tanh -> 2 identity, squared."""
    return Network([Layer(3, "tanh"), Layer(5, "tanh"), Layer(2, "identity")], input=4)


def require_tool(name: str) -> str:
    """The path of an external program the test needs (see :func:`missing`)."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed")
    return path


def missing(what: str) -> None:
    """Something a test needs is not on this machine.

    On a developer's machine the test is skipped; in CI (CI=true) it fails, since .ci/run
    installs everything the tests need.
    """
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}; .ci/run should install it")
    pytest.skip(what)


# ------------------------------------------------------------------ random networks and numbers

ACTIVATION_NAMES = ("identity", "sigmoid", "tanh", "relu", "softmax")
OUTPUT_OF_LOSS = {"nll": "sigmoid", "nllm": "softmax"}
RELU_MARGIN = 1e-3
SATURATION_MARGIN = 1e-4  # log(1 - A) keeps ~12 digits, enough for a difference quotient


def random_networks(
    max_depth: int = 6,
    max_size: int = 5,
    conventions: tuple[str, ...] = ("6.390",),
    batches: tuple[int | None, ...] = (None,),
    decays: tuple[float | str | None, ...] = (None,),
):
    """A hypothesis strategy: (network, seed) with depth 1..max_depth and sizes 1..max_size.

    Activations are drawn per layer (softmax anywhere); nll gets a sigmoid output, nllm a
    softmax output; the convention, the batch size and the weight decay are drawn from the
    given ones.
    """
    from hypothesis import strategies as st

    @st.composite
    def draw_network(draw):
        depth = draw(st.integers(1, max_depth))
        loss = draw(st.sampled_from(("squared", "nll", "nllm")))
        activations = draw(
            st.lists(st.sampled_from(ACTIVATION_NAMES), min_size=depth, max_size=depth)
        )
        if loss in OUTPUT_OF_LOSS:
            activations[-1] = OUTPUT_OF_LOSS[loss]
        sizes = draw(st.lists(st.integers(1, max_size), min_size=depth + 1, max_size=depth + 1))
        layers = [
            Layer(size, activation) for size, activation in zip(sizes[1:], activations, strict=True)
        ]
        convention = draw(st.sampled_from(conventions))
        batch = draw(st.sampled_from(batches))
        decay = draw(st.sampled_from(decays))
        network = Network(layers, sizes[0], loss, convention, batch=batch, weight_decay=decay)
        return network, draw(st.integers(0, 2**32 - 1))

    return draw_network()


def away_from_kinks(network: Network, rng: np.random.Generator, tries: int = 200):
    """Random (params, x, y) where finite differences are well conditioned.

    Every ReLU pre-activation is at least RELU_MARGIN from 0, and the outputs of a log loss
    stay at least SATURATION_MARGIN above 0 (and, for nll's log(1 - A), below 1).
    """
    relu_layers = [l for l in network.indices() if network.activation_name(l) == "relu"]
    output = network.activation(network.last)
    for _ in range(tries):
        params = network.random_parameters(rng)
        x, y = network.random_example(rng)
        env = network.forward(params, x, y)
        kinks = all(np.abs(env[network.pre_activation(l)]).min() > RELU_MARGIN for l in relu_layers)
        outputs = env[output]
        saturated = network.loss in OUTPUT_OF_LOSS and outputs.min() < SATURATION_MARGIN
        saturated |= network.loss == "nll" and outputs.max() > 1 - SATURATION_MARGIN
        if kinks and not saturated:
            return params, x, y
    pytest.fail("no random point away from the ReLU kinks and saturated outputs")


def objective_value(network: Network, params, x, y) -> float:
    """What the gradients differentiate: the loss L, or the cost J = L / K over a batch."""
    return float(network.forward(params, x, y)[network.objective()][0, 0])


def finite_difference_gradients(network: Network, params, x, y) -> dict[str, np.ndarray]:
    """Central differences of the forward objective with respect to every parameter."""
    from matcalc.core.numeric import central_difference

    gradients = {}
    for key, value in params.items():

        def loss_at(point, key=key):
            return objective_value(network, {**params, key: point}, x, y)

        gradients[key] = central_difference(loss_at, value)
    return gradients


def assert_gradients_close(actual: dict, expected: dict, scale: float = 1.0) -> None:
    """Entrywise agreement, relative to the size of the numbers involved."""
    assert actual.keys() == expected.keys()
    for key in expected:
        assert actual[key].shape == expected[key].shape, key
        np.testing.assert_allclose(
            actual[key], expected[key], rtol=1e-4, atol=1e-6 * max(1.0, scale), err_msg=key
        )


# ------------------------------------------------------------------ new processes


def run_probe(code: str) -> subprocess.CompletedProcess:
    """``python -c CODE`` on this checkout's package: a probe of what a command imports."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


# ------------------------------------------------------------------ LaTeX documents

OVERFULL_TOLERANCE_PT = 2.0


def compile_tex(tex: str, directory) -> str:
    """pdflatex's log of ``tex`` compiled in ``directory``; fails the test on any error."""
    import re
    import subprocess
    from pathlib import Path

    pdflatex = require_tool("pdflatex")
    source = Path(directory) / "document.tex"
    source.write_text(tex, encoding="utf-8")
    result = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = source.with_suffix(".log").read_text(encoding="latin-1")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert result.returncode == 0 and not errors, errors or result.stdout[-2000:]
    overfull = [
        line
        for line in log.splitlines()
        if (match := re.match(r"Overfull \\hbox \(([\d.]+)pt too wide\)", line))
        and float(match.group(1)) > OVERFULL_TOLERANCE_PT
    ]
    assert not overfull, overfull
    return log


# ------------------------------------------------------------------ Markdown in KaTeX

JS = TESTS / "js"


def formulas(markdown: str) -> list[dict]:
    """The $$ blocks (display) and the $...$ spans in the text (inline) of a Markdown file."""
    displays = re.findall(r"^\$\$\n(.*?)\n\$\$$", markdown, flags=re.S | re.M)
    text = re.sub(r"^\$\$\n.*?\n\$\$$", "", markdown, flags=re.S | re.M)
    inline = re.findall(r"\$([^$\n]+)\$", text)
    return [{"tex": t, "display": True} for t in displays] + [
        {"tex": t, "display": False} for t in inline
    ]


def katex_failures(markdown: str) -> list[dict]:
    node = require_tool("node")
    if not (JS / "node_modules" / "katex").is_dir():
        missing("KaTeX is not installed: run npm install in tests/js")
    result = subprocess.run(
        [node, str(JS / "render_math.js")],
        input=json.dumps(formulas(markdown)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def assert_renders(markdown: str) -> None:
    assert formulas(markdown), "no math found"
    assert katex_failures(markdown) == []
    assert not re.search(r"\\begin\{align\*?\}", markdown) and "tikz" not in markdown


def compile_tex_cleanly(tex: str, directory, files: dict[str, str] | None = None) -> str:
    """:func:`compile_tex`, stricter: no overfull box of any size and no warning in the log.

    ``files`` are written beside the document first (fragments it \\input's).
    """
    for name, text in (files or {}).items():
        (Path(directory) / name).write_text(text, encoding="utf-8")
    log = compile_tex(tex, directory)
    problems = [
        line
        for line in log.splitlines()
        if re.match(r"(Overfull|Underfull) \\[hv]box", line) or re.search(r"Warning", line)
    ]
    assert not problems, problems
    return log


def central(loss, values: dict, key: str, step: float = 1e-6):
    """Central differences of loss(values) by values[key], a float or an array."""
    point = values[key]
    if isinstance(point, float):
        return (loss({**values, key: point + step}) - loss({**values, key: point - step})) / (
            2 * step
        )
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        plus, minus = point.copy(), point.copy()
        plus[index] += step
        minus[index] -= step
        gradient[index] = (loss({**values, key: plus}) - loss({**values, key: minus})) / (2 * step)
    return gradient
