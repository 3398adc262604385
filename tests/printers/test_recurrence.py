"""Recurrences over T steps in every format: the recursion over t and the sums over t are
printed, the document compiles, the Markdown renders, the gallery is current, and bad specs
are one clear error with nothing written."""

import json
from pathlib import Path

import pytest
from conftest import assert_renders, compile_tex

from matcalc.cli import main
from matcalc.engine.bptt import bptt
from matcalc.printers.recurrence import render_recurrence
from matcalc.specs.context import spec_from_file

ARCHITECTURES = Path(__file__).resolve().parents[2] / "derivations" / "architectures"
SPECS = sorted(
    p for p in ARCHITECTURES.glob("*.toml") if "\nsteps = " in p.read_text(encoding="utf-8")
)
IDS = [spec.stem for spec in SPECS]
RNN_T = ARCHITECTURES / "rnn-T.toml"


def form(spec: Path = RNN_T):
    return bptt(spec_from_file(spec))


def test_rnn_t_is_in_the_gallery():
    assert RNN_T in SPECS


def test_the_latex_is_the_recursion_and_the_sums_over_t():
    text = render_recurrence(form(), "latex")
    assert r"\frac{\partial L}{\partial H_{T}}}_{h\times 1} &= 2\,V^{\top}" in text
    recursion = text[text.index(r"\frac{\partial L}{\partial H_{t}}}") :]
    assert r"\frac{\partial L}{\partial H_{t+1}}" in recursion.split(r"(t < T)")[0]
    assert r"\frac{\partial L}{\partial W}}_{h\times h} &= \sum_{t=1}^{T}" in text
    assert r"H_{t-1}^{\top}" in text
    assert r"&= \sum_{t=1}^{T} \left\|V\,H_{t} - y_{t}\right\|^2" in text
    assert "Back-propagation through time" in text and "H_{3}" not in text


def test_wrt_prints_one_gradient_after_the_recursion():
    text = render_recurrence(form(), "latex", wrt="U")
    assert r"\partial U}" in text and r"\partial W}" not in text and r"(t < T)" in text


def test_json_lists_the_lines_and_where_they_hold():
    record = json.loads(render_recurrence(form(), "json"))
    assert record["kind"] == "recurrence" and record["steps"] == "T"
    assert [a["holds"] for a in record["assignments"]] == ["t = T", "t < T"]
    assert [g["name"] for g in record["gradients"]] == ["W", "U", "b", "V"]
    weight = record["gradients"][0]
    assert weight["value"].startswith(r"\sum_{t=1}^{T}") and weight["shape"] == r"h \times h"
    assert record["forward"][0]["name"] == "H_{t}"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_format(spec, capsys):
    for fmt in ("latex", "markdown", "tex", "json"):
        assert main(["derive", str(spec), "--format", fmt]) == 0, fmt
        assert capsys.readouterr().out.strip(), fmt
    assert main(["derive", str(spec), "--format", "numpy"]) == 2
    assert "--unroll N" in capsys.readouterr().err
    assert main(["derive", str(spec), "--format", "numpy", "--unroll", "4"]) == 0
    code = capsys.readouterr().out
    assert '"x_4"' in code and "def gradients(values)" in code


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_document_with_steps_and_diagram_compiles(spec, tmp_path):
    compile_tex(render_recurrence(form(spec), "tex", steps=True, diagram=True), tmp_path)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_markdown_renders_in_katex(spec):
    assert_renders(render_recurrence(form(spec), "markdown", steps=True, diagram=True))


BAD = [
    ("H_t = '\\tanh(W H_{t+1} + U x_t + b)'", 'steps = "T"', "refers to a later step"),
    ("H_t = '\\tanh(W H_{t-1} + U x_t + b)'", "steps = 5", "one letter"),
    ("H_t = '\\tanh(W H_{t-1} + U x_t + b)'", 'steps = "T + 1"', "one letter"),
]


@pytest.mark.parametrize(("state", "steps", "message"), BAD)
def test_a_bad_recurrence_is_one_error_and_nothing_written(state, steps, message, tmp_path, capsys):
    text = RNN_T.read_text(encoding="utf-8")
    text = text.replace("H_t = '\\tanh(W H_{t-1} + U x_t + b)'", state)
    text = text.replace('steps = "T"', steps)
    path = tmp_path / "rnn.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.tex"
    assert main(["derive", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("matcalc: error:")
    assert not out.exists()


def test_unroll_is_only_for_a_recurrence(capsys):
    assert main(["derive", str(ARCHITECTURES / "rnn.toml"), "--unroll", "3"]) == 2
    assert "only for a recurrence" in capsys.readouterr().err


def test_unroll_prints_the_graph_at_n_steps(capsys):
    assert main(["derive", str(RNN_T), "--unroll", "2"]) == 0
    out = capsys.readouterr().out
    assert "H_{2}" in out and "H_{3}" not in out and r"\sum" not in out


@pytest.mark.parametrize("count", ["0", "65"])
def test_unroll_is_bounded(count, capsys):
    assert main(["derive", str(RNN_T), "--unroll", count]) == 2
    assert "between 1 and 64" in capsys.readouterr().err
