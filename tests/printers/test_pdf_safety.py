"""Nothing typed into a title reaches TeX as a command; pdflatex is confined to its directory."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import compile_tex, require_tool

from matcalc.cli import main
from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.printers import document
from matcalc.printers.document import compile_pdf, pdflatex_command, tex_text
from matcalc.printers.render import Layout, markdown_text, render_derivation
from matcalc.specs.network import Layer, Network

NET = Network([Layer(2, "tanh"), Layer(1, "identity")], input=2)
CATCODE_ATTACK = r"\begingroup\catcode95=12 \catcode35=12 \input{/etc/passwd}\endgroup"
HOSTILE_TITLES = [
    CATCODE_ATTACK,
    r"\end{document}",
    r"\input{/etc/passwd}",
    r"\immediate\write18{touch /tmp/matcalc-pwned}",
    r"\catcode`\^^5c=12 ^^5cinput{/etc/passwd}",
    "Gradients of W_0^2 & 100%",
    "a\nb\r\nc\u2028d\x0ce\x00f",
    r"}{\def\x{",
    "$ unbalanced math ~ < > | #1",
]


def pdf_text(pdf: Path) -> str:
    pdftotext = require_tool("pdftotext")
    return subprocess.run(
        [pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    ("text", "tex"),
    [
        ("W_0^2 & 100%", r"W\_0\textasciicircum{}2 \& 100\%"),
        (r"\end{document}", r"\textbackslash{}end\{document\}"),
        ("$x$ #1 ~", r"\$x\$ \#1 \textasciitilde{}"),
        ("two\nlines\u2028and\ttabs", "two lines and tabs"),
        ("bell\x07 null\x00", "bell null"),
    ],
)
def test_tex_text_escapes_every_special(text, tex):
    assert tex_text(text) == tex


@pytest.mark.parametrize("text", HOSTILE_TITLES)
def test_escaped_title_has_no_tex_special_left(text):
    escaped = tex_text(text, breakable=True)
    stripped = escaped.replace(r"\allowbreak{}", "")
    for command in (r"\textbackslash{}", r"\textasciicircum{}", r"\textasciitilde{}"):
        stripped = stripped.replace(command, "")
    for command in (r"\textless{}", r"\textgreater{}", r"\textbar{}"):
        stripped = stripped.replace(command, "")
    for special in "{}$&#%_":
        stripped = stripped.replace("\\" + special, "")
    assert not set(stripped) & set("\\{}$&#^_%~\n"), escaped


def test_long_words_of_a_title_may_break():
    pieces = ["x" * 20, "x" * 20, "x" * 5]
    assert tex_text("x" * 19, breakable=True) == "x" * 19
    assert tex_text("x" * 45, breakable=True) == r"\allowbreak{}".join(pieces)


def test_markdown_title_escapes_its_marks():
    assert markdown_text("*a* [b](c) <i>$x$</i> \\ & x_1\n2") == (
        r"\*a\* \[b\](c) \<i\>\$x\$\</i\> \\ \& x\_1 2"
    )


@pytest.mark.parametrize("text", HOSTILE_TITLES)
def test_hostile_title_compiles_to_its_own_text(text, tmp_path):
    tex = render_derivation(derive(NET), "tex", layout=Layout(title=text))
    assert tex.count(r"\end{document}") == 1
    compile_tex(tex, tmp_path)


def test_catcode_attack_does_not_put_passwd_into_the_pdf(tmp_path, capsys):
    output = tmp_path / "attack.pdf"
    argv = ["derive", "--format", "pdf", "--title", CATCODE_ATTACK, "-o", str(output)]
    assert main(argv) == 0
    text = pdf_text(output)
    assert "root:" not in text and "/bin/" not in text
    assert "catcode95=12" in text and r"\input{/etc/passwd}" in text.replace("\n", "")


def test_end_document_title_keeps_the_whole_pdf(tmp_path):
    output = tmp_path / "end.pdf"
    assert main(["derive", "--format", "pdf", "--title", r"\end{document}", "-o", str(output)]) == 0
    text = pdf_text(output)
    assert r"\end{document}" in text and "Convention" in text and "W" in text


def test_title_with_specials_compiles_into_the_pdf(tmp_path):
    output = tmp_path / "specials.pdf"
    argv = ["derive", "--format", "pdf", "--title", "Gradients of W_0^2 & 100%", "-o", str(output)]
    assert main(argv) == 0
    # OT1 draws _ as a rule and ^ as a modifier circumflex, which pdftotext reads as " " and "ˆ"
    assert "Gradients of W 0ˆ2 & 100%" in pdf_text(output)


def test_raw_title_tex_is_opt_in(capsys):
    assert main(["derive", "--format", "tex", "--title", "$W^l$", "--title-tex"]) == 0
    assert r"\section*{$W^l$}" in capsys.readouterr().out
    assert main(["derive", "--format", "tex", "--title", "$W^l$"]) == 0
    assert r"\section*{\$W\textasciicircum{}l\$}" in capsys.readouterr().out


def test_raw_tex_still_cannot_read_outside_its_directory(tmp_path):
    """Even with --title-tex, kpathsea's paranoid mode refuses absolute paths."""
    secret = tmp_path / "secret.tex"
    secret.write_text("TOPSECRETWORD\n")
    output = tmp_path / "raw.pdf"
    argv = ["derive", "--format", "pdf", "--title-tex", "-o", str(output)]
    argv += ["--title", rf"\input{{{secret}}}"]
    require_tool("pdflatex")
    assert main(argv) == 2  # pdflatex stops: the file cannot be opened
    assert not output.exists() or "TOPSECRETWORD" not in pdf_text(output)


def test_raw_tex_cannot_write_outside_its_directory(tmp_path):
    target = tmp_path / "written.tex"
    title = rf"\newwrite\f\immediate\openout\f={target}\immediate\write\f{{x}}\immediate\closeout\f"
    require_tool("pdflatex")
    output = str(tmp_path / "w.pdf")
    main(["derive", "--format", "pdf", "--title-tex", "--title", title, "-o", output])
    assert not target.exists()


def test_pdflatex_runs_without_shell_escape_in_its_own_directory(tmp_path):
    command = pdflatex_command("pdflatex", str(tmp_path), "derivation.tex")
    assert "-no-shell-escape" in command and "-interaction=nonstopmode" in command
    assert f"-output-directory={tmp_path}" in command
    env = document.pdflatex_environment(str(tmp_path))
    assert (env["openin_any"], env["openout_any"], env["TEXMFOUTPUT"]) == ("p", "p", str(tmp_path))


def test_pdflatex_timeout_is_a_clear_error(tmp_path):
    require_tool("pdflatex")
    tex = "\\documentclass{article}\\begin{document}\\def\\loop{\\relax\\loop}\\loop\\end{document}"
    with pytest.raises(MatcalcError, match=r"pdflatex took longer than 1 s"):
        compile_pdf(tex, tmp_path / "loop.pdf", timeout=1)


def test_title_flag_in_help_says_raw_tex_is_unsafe():
    result = subprocess.run(
        [sys.executable, "-m", "matcalc", "derive", "--help"], capture_output=True, text=True
    )
    assert "UNSAFE" in result.stdout and "--title-tex" in result.stdout
