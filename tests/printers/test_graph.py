"""Graph specs in every format: the documents compile, the Markdown renders, the gallery is
current, and bad specs are one clear error with nothing written."""

import json
from pathlib import Path

import pytest
from conftest import assert_renders, compile_tex, compile_tex_cleanly

from matcalc.cli import main
from matcalc.engine.backprop import backprop
from matcalc.printers.graph import render_graph
from matcalc.specs.context import spec_from_file

ARCHITECTURES = Path(__file__).resolve().parents[2] / "derivations" / "architectures"
SPECS = sorted(  # recurrences over T steps: tests/printers/test_recurrence.py
    p for p in ARCHITECTURES.glob("*.toml") if "\nsteps = " not in p.read_text(encoding="utf-8")
)
IDS = [spec.stem for spec in SPECS]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_format_of_every_architecture(spec, capsys):
    for fmt in ("latex", "markdown", "tex", "json", "numpy"):
        assert main(["derive", str(spec), "--format", fmt]) == 0, fmt
        assert capsys.readouterr().out.strip(), fmt


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_json_lists_every_assignment_with_its_shape(spec):
    graph = spec_from_file(spec)
    record = json.loads(render_graph(backprop(graph), "json"))
    assert [g["name"] for g in record["gradients"]] == list(graph.parameter_keys)
    assert all(a["shape"] and a["value"] and a["rules"] for a in record["assignments"])
    assert record["loss"] == graph.loss_key and record["layout"] == "denominator"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_document_with_steps_and_diagram_compiles(spec, tmp_path):
    tex = render_graph(backprop(spec_from_file(spec)), "tex", steps=True, diagram=True)
    compile_tex(tex, tmp_path)


ARTICLE = (
    "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\usepackage{tikz}\n"
    "\\usetikzlibrary{arrows.meta}\n\\allowdisplaybreaks\n\\begin{document}\n"
    "\\input{fragment}\n\\end{document}\n"
)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_fragment_fits_a_default_article(spec, tmp_path):
    fragment = render_graph(backprop(spec_from_file(spec)), "latex", steps=True, diagram=True)
    compile_tex_cleanly(ARTICLE, tmp_path, {"fragment.tex": fragment})


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_markdown_renders_in_katex(spec):
    assert_renders(render_graph(backprop(spec_from_file(spec)), "markdown", diagram=True))


EVERY_SPEC = sorted(ARCHITECTURES.glob("*.toml"))  # the recurrences over T steps too


@pytest.mark.parametrize("spec", EVERY_SPEC, ids=[spec.stem for spec in EVERY_SPEC])
@pytest.mark.parametrize("fmt", ["tex", "md"])
def test_the_gallery_is_what_the_cli_prints(spec, fmt, tmp_path):
    out = tmp_path / f"out.{fmt}"
    kind = "tex" if fmt == "tex" else "markdown"
    argv = ["derive", str(spec), "--format", kind, "--steps", "--diagram", "-o", str(out)]
    assert main(argv) == 0
    committed = spec.with_suffix(f".{fmt}").read_text(encoding="utf-8")
    assert committed == out.read_text(encoding="utf-8"), (
        f"{spec.with_suffix('.' + fmt).name} is stale: matcalc derive {spec.name} "
        f"--format {kind} --steps --diagram -o {spec.stem}.{fmt}"
    )


def test_steps_cite_the_rules():
    text = render_graph(
        backprop(spec_from_file(ARCHITECTURES / "conv1d.toml")), "latex", steps=True
    )
    assert "6.390 notes, Convolutional" in text and r"\operatorname{conv}" in text


BAD = [
    ('parameters = ["Q"]\n[shapes]\nx = "d"\n[define]\nL = \'\\|x\\|^2\'\n', "not declared"),
    ('parameters = ["W"]\n[shapes]\nW = "d x d"\n[define]\nL = \'\\|W z\\|^2\'\n', "unknown"),
    ('parameters = ["W"]\n[shapes]\nW = "d x k"\nx = "d"\n[define]\nL = \'W x\'\n', "product"),
    ('parameters = ["W"]\n[shapes]\nW = "d x d"\n[define]\nA = \'W\'\n', "no scalar"),
    (
        'parameters = ["W"]\nloss = "A"\n[shapes]\nW = "d x d"\n[define]\nA = \'W\'\n',
        "the loss is a scalar",
    ),
    (
        "parameters = [\"A\"]\n[shapes]\nW = \"d x d\"\n[define]\nA = 'W'\nL = '\\|A\\|^2'\n",
        "defined",
    ),
    ('parameters = "W"\n[shapes]\nW = "d"\n[define]\nL = \'\\|W\\|^2\'\n', "a list of names"),
    ('parameters = ["W"]\n[shapes]\nW = "d"\n[define]\nL = \'\\|W\\|^2 + L\'\n', "unknown"),
]


@pytest.mark.parametrize(("spec", "message"), BAD)
def test_a_bad_graph_spec_is_one_error_and_nothing_written(spec, message, tmp_path, capsys):
    path = tmp_path / "graph.toml"
    path.write_text(spec, encoding="utf-8")
    out = tmp_path / "out.tex"
    assert main(["derive", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("matcalc: error:")
    assert not out.exists()


def test_verify_reads_the_gradients_of_named_quantities(capsys):
    spec = str(ARCHITECTURES / "residual.toml")
    right = (
        r"\frac{\partial L}{\partial A_1} = W_2^T \frac{\partial L}{\partial Z_2}"
        r" + \frac{\partial L}{\partial A_2}"
    )
    assert main(["verify", spec, right]) == 0
    wrong = r"\frac{\partial L}{\partial A_1} = W_2^T \frac{\partial L}{\partial Z_2}"
    assert main(["verify", spec, wrong]) == 1
    capsys.readouterr()


def test_shapes_and_the_transpose_sign_follow_the_flags(capsys):
    spec = str(ARCHITECTURES / "residual.toml")
    assert main(["derive", spec, "--no-shapes", "--transpose", "top"]) == 0
    text = capsys.readouterr().out
    assert r"A_{1}^{\top}" in text and r"\underbrace" not in text
    assert main(["derive", spec]) == 0
    text = capsys.readouterr().out
    assert r"A_{1}^{T}" in text and r"\underbrace" in text


QUANTITY_L_LOSS_J = (
    'parameters = ["W"]\nloss = "J"\n[shapes]\nx = "d"\ny = "k"\nW = "k x d"\n'
    "[define]\nL = 'W x'\nJ = '\\|L - y\\|^2'\n"
)


def test_a_quantity_named_l_beside_a_loss_j_keeps_its_name(tmp_path, capsys):
    path = tmp_path / "graph.toml"
    path.write_text(QUANTITY_L_LOSS_J, encoding="utf-8")
    assert main(["derive", str(path)]) == 0
    text = capsys.readouterr().out
    assert r"\underbrace{L}_{k\times 1} &= W\,x" in text
    assert r"\frac{\partial J}{\partial J}" not in text
    assert main(["derive", str(path), "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    lines = [f"{a['target']} = {a['value']}" for a in record["assignments"]]
    assert lines == [
        r"\frac{\partial J}{\partial L} = 2\,\left(L - y\right)",
        r"\frac{\partial J}{\partial W} = \frac{\partial J}{\partial L}\,x^{T}",
    ]
    for line in lines:  # what derive prints reads back as correct
        assert main(["verify", str(path), line]) == 0, line
    capsys.readouterr()
