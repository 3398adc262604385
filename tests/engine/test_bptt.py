"""Recurrences over T steps: the unrolled gradients against central differences of an
independent NumPy forward pass at several T and random sizes, and the printed recursion,
run at a T it was not read at, against the same differences."""

import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcalc.core import numeric
from matcalc.core.expr import Add
from matcalc.engine.backprop import backprop
from matcalc.engine.bptt import at_step, bptt
from matcalc.errors import MatcalcError
from matcalc.printers.graph import render_graph
from matcalc.specs.context import concrete, spec_from_file, spec_from_toml
from matcalc.specs.recurrence import Recurrence

ARCHITECTURES = Path(__file__).resolve().parents[2] / "derivations" / "architectures"
RNN_T = ARCHITECTURES / "rnn-T.toml"

LAST_ONLY = r"""
parameters = ["W", "U", "V"]
steps = "T"
[shapes]
S_0 = "h"
x_t = "d"
y = "k"
W = "h x h"
U = "h x d"
V = "k x h"
[define]
Z_t = 'W S_{t-1} + U x_t'
S_t = '\sigma(Z_t)'
L = '\|V S_T - y\|^2'
"""


def rnn_forward(v: dict, steps: int) -> float:
    h, total = v["H_0"], 0.0
    for t in range(1, steps + 1):
        h = np.tanh(v["W"] @ h + v["U"] @ v[f"x_{t}"] + v["b"])
        total += np.sum((v["V"] @ h - v[f"y_{t}"]) ** 2)
    return total


def last_only_forward(v: dict, steps: int) -> float:
    s = v["S_0"]
    for t in range(1, steps + 1):
        s = 1 / (1 + np.exp(-(v["W"] @ s + v["U"] @ v[f"x_{t}"])))
    return np.sum((v["V"] @ s - v["y"]) ** 2)


LEARNED_STATE = RNN_T.read_text(encoding="utf-8").replace('["W", "U", "b", "V"]', '["W", "H_0"]')

CASES = {
    "rnn-T": (RNN_T.read_text(encoding="utf-8"), rnn_forward),
    "learned-state": (LEARNED_STATE, rnn_forward),
    "last-only": (LAST_ONLY, last_only_forward),
}


def random_values(recurrence: Recurrence, steps: int, rng) -> dict:
    graph = recurrence.unroll(steps)
    dims = {d for s in graph.context.symbols.values() for d in s.shape if not d.is_number}
    sizes = {d: int(rng.integers(1, 4)) for d in sorted(dims, key=str)}
    values = {}
    for key, symbol in graph.context.symbols.items():
        rows, cols = (int(d.subs(sizes)) for d in symbol.shape)
        values[key] = rng.standard_normal((rows, cols))
    return values, sizes


def central(loss, values: dict, key: str, step: float = 1e-6):
    gradient = np.zeros_like(values[key])
    for index in np.ndindex(gradient.shape):
        plus, minus = values[key].copy(), values[key].copy()
        plus[index] += step
        minus[index] -= step
        gradient[index] = (loss({**values, key: plus}) - loss({**values, key: minus})) / (2 * step)
    return gradient


def exported(recurrence: Recurrence, steps: int):
    module = types.ModuleType("exported")
    code = render_graph(backprop(recurrence.unroll(steps)), "numpy")
    exec(compile(code, "exported", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=5, deadline=None)
@given(steps=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_unrolled_gradients_match_an_independent_forward_pass(name, steps, seed):
    text, forward = CASES[name]
    recurrence = spec_from_toml(text)
    values, _ = random_values(recurrence, steps, np.random.default_rng(seed))
    module = exported(recurrence, steps)
    loss = lambda v: forward(v, steps)  # noqa: E731
    assert module.loss(values) == pytest.approx(loss(values), rel=1e-9)
    gradients = module.gradients(values)
    for key in recurrence.unroll(steps).parameter_keys:
        np.testing.assert_allclose(
            gradients[key], central(loss, values, key), rtol=1e-5, atol=1e-6, err_msg=key
        )


def run_recursion(form, values: dict, sizes: dict, steps: int) -> dict:
    """The printed lines run at ``steps`` steps: dL/dH_T, then dL/dH_t for t = T-1 .. 1,
    then each parameter's sum over t."""
    graph = form.recurrence.unroll(steps)
    env = {graph.context.symbols[k]: v for k, v in values.items()}
    for quantity in graph.quantities:
        env[quantity] = numeric.evaluate(concrete(graph.definitions[quantity], sizes), env)

    def value(expr, t: int):
        return numeric.evaluate(concrete(at_step(expr, form.bases, t, steps), sizes), env)

    for line in form.last:
        env[at_step(line.target, form.bases, steps, steps)] = value(line.value, steps)
    for t in range(steps - 1, 0, -1):
        for line in form.general:
            env[at_step(line.target, form.bases, t, steps)] = value(line.value, t)
    gradients = {}
    for name, _, line in form.parameters:
        total = 0.0
        if line.term is not None:
            total = sum(value(line.term, t) for t in range(1, steps + 1))
        if line.rest is not None:
            total = total + value(line.rest, steps)
        gradients[name] = total
    return gradients


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("steps", [1, 2, 9])
def test_the_printed_recursion_run_at_another_length_is_the_gradient(name, steps):
    text, forward = CASES[name]
    recurrence = spec_from_toml(text)
    form = bptt(recurrence)
    values, sizes = random_values(recurrence, steps, np.random.default_rng(steps))
    gradients = run_recursion(form, values, sizes, steps)
    for key, gradient in gradients.items():
        expected = central(lambda v: forward(v, steps), values, key)
        np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-6, err_msg=key)


def test_the_rnn_recursion_is_the_lecture_form():
    form = bptt(spec_from_file(RNN_T))
    assert [str(a.of.sub) for a in form.last] == ["T"]
    assert [str(a.of.sub) for a in form.general] == ["t"]
    assert isinstance(form.general[0].value, Add)  # from step t+1, plus the loss at t
    subs = {s.sub for s in form.general[0].value.walk() if getattr(s, "sub", None)}
    assert subs == {"t", "t+1"}
    assert all(line.term is not None and line.rest is None for _, _, line in form.parameters)


def test_a_loss_at_the_last_step_only_has_no_sum_for_its_readout():
    form = bptt(spec_from_toml(LAST_ONLY))
    readout = dict((name, line) for name, _, line in form.parameters)["V"]
    assert readout.term is None and readout.rest is not None
    assert {a.of.name for a in form.general} == {"S", "Z"}


def test_a_learned_initial_state_is_reached_from_the_first_step():
    form = bptt(spec_from_toml(LEARNED_STATE))
    state = dict((name, line) for name, _, line in form.parameters)["H_0"]
    assert state.term is None
    assert {s.sub for s in state.rest.walk() if getattr(s, "name", "") == "H"} == {"1"}


def test_unrolling_writes_the_steps_out():
    data = spec_from_file(RNN_T).unroll_dict(2)
    assert data["define"]["H_1"] == r"\tanh(W H_{0} + U x_{1} + b)"
    assert set(data["shapes"]) >= {"H_0", "x_1", "x_2", "y_1", "y_2"}
    assert "steps" not in data


BAD = [
    ('steps = "T"\n', "H_t = '\\tanh(W H_{t+1} + U x_t + b)'", "later step"),
    ('steps = "T"\n', "H_t = '\\tanh(W H_{t-2} + U x_t + b)'", "t-1"),
    ("steps = 3\n", "H_t = '\\tanh(W H_{t-1} + U x_t + b)'", "one letter"),
    (
        'steps = "T"\n',
        "H_t = '\\tanh(W H_{t-1} + U x_t + b)'\nG = '\\|U x_t\\|^2'",
        "outside a sum",
    ),
    ('steps = "T"\n', "H = '\\tanh(W H_0 + b)'", "no per-step quantity"),
    (
        'steps = "T"\n',
        "H_t = '\\tanh(W H_{t-1} + U x_t + b)'\nG = '\\|U x_t\\|^2 + \\sum_{t=1}^{T} \\|H_t\\|^2'",
        "outside the sum",
    ),
]


def bad_spec(steps: str, state: str) -> str:
    return (
        'parameters = ["W", "U", "b", "V"]\n'
        + steps
        + '[shapes]\nH_0 = "h"\nx_t = "d"\ny_t = "k"\nW = "h x h"\nU = "h x d"\nb = "h"\n'
        + 'V = "k x h"\n[define]\n'
        + state
        + "\nL = '\\sum_{t=1}^{T} \\|V H_t - y_t\\|^2'\n"
    )


@pytest.mark.parametrize(("steps", "state", "message"), BAD)
def test_bad_recurrences_are_one_clear_error(steps, state, message):
    with pytest.raises(MatcalcError, match=message):
        spec_from_toml(bad_spec(steps, state))


def test_a_missing_initial_state_names_it():
    text = RNN_T.read_text(encoding="utf-8").replace('H_0 = "h"\n', "")
    with pytest.raises(MatcalcError, match="H_0"):
        spec_from_toml(text)
