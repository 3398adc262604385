import json

import pytest
from conftest import compile_tex, require_tool

from matcalc.cli import main


def test_derive_builtin_example_prints_every_gradient(capsys):
    assert main(["derive"]) == 0
    out = capsys.readouterr().out
    for l in (1, 2, 3):
        assert f"\\partial W^{{{l}}}" in out and f"\\partial W_{{0}}^{{{l}}}" in out


def test_derive_json_one_parameter(capsys):
    assert main(["derive", "--format", "json", "--wrt", "W^2"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [g["name"] for g in record["gradients"]] == ["W^2"]


def test_missing_spec_file_is_exit_2_with_one_line(capsys, tmp_path):
    assert main(["derive", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


# ------------------------------------------------------------------ lecture-notes output

NOTATION_FLAGS = [
    (["--layer-index", "paren"], r"\partial W^{(2)}"),
    (["--layer-index", "bracket"], r"\partial W^{[2]}"),
    (["--ell", "--wrt", "W^2"], r"\text{Layer } 3"),
    (["--transpose", "top"], r"^{\top}"),
    (["--loss-name", "J"], r"\frac{\partial J}{\partial W^{2}}"),
    (["--loss-name", "loss"], r"\frac{\partial \text{loss}}{\partial W^{2}}"),
    (["--loss-name", "L"], r"\frac{\partial L}{\partial W^{2}}"),
    (["--sizes", "d"], r"_{d_{1}\times d_{2}}"),
    (["--activation-derivative", "prime"], r"\tanh'\left(Z^{2}\right) \odot"),
    (
        ["--activation-derivative", "diag"],
        r"\operatorname{diag}\left(\tanh'\left(Z^{2}\right)\right)\,W^{3}",
    ),
    (["--activation-derivative", "closed"], r"\left(1 - A^{2} \odot A^{2}\right) \odot"),
]


@pytest.mark.parametrize(("flags", "expected"), NOTATION_FLAGS)
def test_notation_flags_change_the_latex(flags, expected, capsys):
    assert main(["derive", *flags]) == 0
    out = capsys.readouterr().out
    assert expected in out
    assert out.startswith("% ") and "% Notation:" in out


def test_no_shapes_flag_drops_the_underbraces(capsys):
    assert main(["derive"]) == 0
    assert r"\underbrace" in capsys.readouterr().out
    assert main(["derive", "--no-shapes"]) == 0
    out = capsys.readouterr().out
    assert r"\underbrace" not in out and r"\overbrace" in out


def test_steps_start_from_the_loss_and_end_with_the_first_weight(capsys):
    assert main(["derive", "--steps", "--no-gradients"]) == 0
    out = capsys.readouterr().out
    assert "Step 1: Start from the loss" in out and out.count(r"\begin{align*}") == 3
    assert r"\overbrace" not in out.split("Step 1")[0]
    last = out.rsplit(r"\begin{align*}", 1)[1]
    assert r"\partial W^{1}" in last and "weight link" in last


def test_steps_come_after_the_layer_by_layer_gradients(capsys):
    assert main(["derive", "--steps", "--diagram", "--format", "tex"]) == 0
    out = capsys.readouterr().out
    braced, steps = out.split("Step by step, back from the loss")
    assert r"^{\text{Weight link}}" in braced and r"\begin{tikzpicture}" in braced
    assert "Step 1: Start from the loss" in steps


def test_steps_end_at_the_wrt_parameter(capsys):
    assert main(["derive", "--steps", "--wrt", "W^2"]) == 0
    out = capsys.readouterr().out
    assert "the gradient for $W^{2}$" in out and "$W^{1}$" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-gradients"], "leaves nothing to print"),
        (["--page", "a5"], "invalid choice"),
    ],
)
def test_document_flags_reject_what_cannot_be_printed(args, message, capsys):
    assert main(["derive", *args]) == 2
    assert message in capsys.readouterr().err


def test_diagram_flag_draws_tikz(capsys):
    assert main(["derive", "--diagram"]) == 0
    assert r"\begin{tikzpicture}" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["tex", "markdown"])
def test_document_formats(fmt, capsys):
    assert main(["derive", "--format", fmt, "--steps", "--diagram"]) == 0
    out = capsys.readouterr().out
    if fmt == "tex":
        assert out.count(r"\begin{document}") == 1 and r"\usepackage{tikz}" in out
    else:
        assert "$$\n\\begin{aligned}" in out and "tikz" not in out and "align*" not in out


def test_pdf_needs_pdflatex_or_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert main(["derive", "--format", "pdf"]) == 2
    assert "needs pdflatex" in capsys.readouterr().err


def test_pdf_default_name_is_the_specs(tmp_path, monkeypatch):
    require_tool("pdflatex")
    spec = tmp_path / "tiny.toml"
    spec.write_text('input = 2\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["derive", str(spec), "--format", "pdf"]) == 0
    assert (tmp_path / "tiny.pdf").read_bytes().startswith(b"%PDF")


def test_unknown_notation_choice_is_exit_2(capsys):
    assert main(["derive", "--layer-index", "curly"]) == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["bogus"], "(see 'matcalc --help')"),
        (["derive", "--bogus"], "(see 'matcalc derive --help')"),
        (["derive", "--format", "xml"], "(see 'matcalc derive --help')"),
        (["rules", "--kind"], "(see 'matcalc rules --help')"),
    ],
)
def test_usage_errors_name_the_right_help(argv, hint, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith(hint), err


def test_a_title_with_latex_specials_compiles(capsys, tmp_path):
    assert main(["derive", "--format", "tex", "--title", "Week 5 & 6: 50% of #1,\n $W^l$"]) == 0
    tex = capsys.readouterr().out
    assert r"\section*{Week 5 \& 6: 50\% of \#1, \$W\textasciicircum{}l\$}" in tex
    compile_tex(tex, tmp_path)


def test_title_flag_names_the_document(capsys):
    assert main(["derive", "--format", "markdown", "--title", "Backprop, week 5"]) == 0
    assert "# Backprop, week 5\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["derive", "--wrt", "x" * 50_000],
        ["derive", "x" * 50_000 + ".toml"],
        ["explain", "a", "--wrt", "a", "--shape", "a=" + "x" * 50_000],
    ],
    ids=["wrt", "spec path", "shape"],
)
def test_an_error_quoting_a_huge_input_stays_short(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) <= 520
    assert err.rstrip().endswith("...") or "x" * 100 not in err


def test_of_with_a_network_is_an_error_not_ignored(capsys):
    assert main(["derive", "--of", "J"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--of J" in err and "expression context" in err


def test_output_onto_the_spec_itself_is_refused(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text('[[layer]]\nsize = 2\nactivation = "tanh"\n', encoding="utf-8")
    before = spec.read_text(encoding="utf-8")
    assert main(["derive", str(spec), "-o", str(spec)]) == 2
    assert "the spec itself" in capsys.readouterr().err
    assert spec.read_text(encoding="utf-8") == before


@pytest.mark.parametrize("fmt", ["tex", "pdf"])
def test_an_expression_context_prints_as_a_document(fmt, tmp_path):
    if fmt == "pdf":
        require_tool("pdflatex")
    spec = tmp_path / "ridge.toml"
    spec.write_text(
        '[shapes]\nX = "n x d"\ntheta = "d"\nY = "n"\n[define]\nJ = \'\\|X\\theta - Y\\|^2\'\n',
        encoding="utf-8",
    )
    output = tmp_path / f"ridge.{fmt}"
    assert main(["derive", str(spec), "--format", fmt, "-o", str(output)]) == 0
    data = output.read_bytes()
    assert data.startswith(b"%PDF") if fmt == "pdf" else b"\\documentclass" in data
