"""Documents: headings, paragraphs, aligned displays and pictures, printed as LaTeX or Markdown.

A document is a list of blocks built from derivation data (:func:`derivation_blocks`); the
printers turn blocks into text and know nothing about networks:

* :func:`latex_body` - the body to paste into notes (``align*`` displays, TikZ pictures);
* :func:`tex_document` - a standalone document for pdflatex (amsmath, amssymb, geometry, TikZ);
* :func:`markdown_document` - ``$$`` blocks with ``aligned`` for MathJax and KaTeX, no TikZ.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

import sympy

from matcalc.core.expr import Symbol
from matcalc.core.record import record
from matcalc.core.shapes import LAYER, ONE
from matcalc.engine.derive import Derivation, Gradient
from matcalc.errors import MatcalcError
from matcalc.printers.braces import (
    Row,
    bias_rows,
    chain_rows,
    fitted,
    text_latex,
    weight_rows,
    without_identity_prime,
)
from matcalc.printers.chains import chains_of
from matcalc.printers.latex import (
    DEFAULT,
    Notation,
    dim_latex,
    function_latex,
    layer_index,
    plain_index,
    to_latex,
)

if TYPE_CHECKING:
    from matcalc.specs.network import Network


@record
class Page:
    """The text width a document is set to: long chains and notes break to fit it.

    ``geometry`` is the paper of a standalone document (the ``geometry`` package's options;
    empty: the class's own); ``font_pt`` its font size.
    """

    name: str
    width_pt: float
    font_pt: int
    geometry: str
    description: str

    @property
    def row_width(self) -> float:
        """The right side of a display row, in the units of ``visual_width`` (about 1 em)."""
        return self.width_pt / self.font_pt

    @property
    def note_width(self) -> int:
        """Characters of a note row in footnote size: the width less the left column."""
        return int(95 * (self.row_width - 8) / (44 - 8))

    @property
    def width_cm(self) -> float:
        return self.width_pt / 28.45


PAGES = {
    page.name: page
    for page in (
        Page("a4", 483.7, 11, "a4paper,margin=2cm", "A4, 2 cm margins, 11 pt"),
        Page("letter", 500.7, 11, "letterpaper,margin=2cm", "US letter, 2 cm margins, 11 pt"),
        Page("article", 345.0, 10, "", "the text width of a default article (10 pt)"),
        Page(
            "beamer",
            307.3,
            11,
            "paperwidth=128mm,paperheight=96mm,hmargin=1cm,vmargin=5mm",
            "a beamer frame (128 mm by 96 mm slides, 1 cm margins at the sides)",
        ),
    )
}
A4 = PAGES["a4"]
ARTICLE = PAGES["article"]
FRAGMENT_PAGE = ARTICLE
"""What a fragment (``--format latex``) fits by default: ``\\input`` into a default article."""


@record
class Heading:
    text: str
    level: int = 2


@record
class Paragraph:
    """Text with inline math between $ signs."""

    text: str


@record
class Display:
    """Aligned equations; ``notes`` shows each row's note (the identity used) beneath it."""

    rows: tuple[Row, ...]
    notes: bool = False


@record
class Equations:
    """Display math given whole, such as an ``aligned`` environment."""

    latex: str


@record
class Picture:
    """A TikZ picture, and the same content as display math for where TikZ does not run."""

    tikz: str
    fallback: tuple[Row, ...] = field(default=())


Block = Heading | Paragraph | Display | Equations | Picture


# ---------------------------------------------------------------------------- the content


def network_sentence(derivation: Derivation, notation: Notation = DEFAULT) -> str:
    """What the network is, in words with inline math."""
    net = derivation.network
    if net.symbolic:
        return (
            f"A network of $L$ layers; layer ${plain_index(net.indices()[0], notation)}$ applies "
            f"the activation ${_activation(derivation, net.indices()[0], notation)}$; "
            f"loss: {_loss_words(net.loss)}.{decay_sentence(net, notation)}"
        )
    runs: list[list] = []
    for l in net.indices():
        words = f"${dim_latex(net.size(l), notation)}$ {_units(net.size(l))}, " + (
            _activation_words(derivation, l, notation)
        )
        if runs and runs[-1][2] == words:
            runs[-1][1] = l
        else:
            runs.append([l, l, words])
    layers = "; ".join(
        f"layer {first}: {words}" if first == last else f"layers {first} to {last}: {words}"
        for first, last, words in runs
    )
    return (
        f"A network of {len(net.layers)} layer{'s' if len(net.layers) > 1 else ''} with "
        f"input $x = {to_latex(net.activation(0), notation)}$ of size "
        f"${dim_latex(net.size(0), notation)}$; {layers}; loss: {_loss_words(net.loss)}."
        f"{decay_sentence(net, notation)}"
    )


def decay_sentence(net: Network, notation: Notation = DEFAULT) -> str:
    """The regularized objective of a weight decay, as a sentence (empty without one)."""
    if net.decay is None:
        return ""
    weight = to_latex(Symbol(net.declaration.names.weight, (ONE, ONE), LAYER), notation)
    loss = to_latex(net.loss_symbol(), notation)
    mean = "" if net.batch_size is None else f"\\frac{{1}}{{{dim_latex(net.columns, notation)}}} "
    decay = sympy.latex(net.decay / 2)
    layer = plain_index(LAYER, notation)
    return (
        f" The objective is regularized by weight decay: $J = {mean}{loss} + {decay} "
        f"\\sum_{{{layer}}} \\|{weight}\\|_F^2$, so each weight gradient gains "
        f"${sympy.latex(net.decay)}\\, {weight}$; the biases are not regularized."
    )


def a_or_an(word: str) -> str:
    """The indefinite article before a number or a math letter as read aloud: an 8-layer,
    an 11-layer, a 3-layer, an $L$-layer."""
    spoken = word.lstrip("$")
    vowel = spoken[:1] in ("8",) or spoken.startswith(("11", "18")) and not spoken[2:3].isdigit()
    # A letter in math is read by its name: an $L$-layer ("ell"), a $K$-layer ("kay").
    vowel = vowel or (word.startswith("$") and spoken[:1].lower() in "aefhilmnorsx")
    return f"{'an' if vowel else 'a'} {word}"


def _units(size: object) -> str:
    return "unit" if size == 1 else "units"


def _activation_words(derivation: Derivation, l: object, notation: Notation) -> str:
    name = derivation.network.activation_name(l)
    return _ACTIVATION_WORDS.get(name) or f"${_activation(derivation, l, notation)}$"


def _loss_words(loss: str) -> str:
    return _LOSS_WORDS.get(loss) or f"{text_latex(loss)} (user-defined)"


def _activation(derivation: Derivation, l: object, notation: Notation) -> str:
    return function_latex(derivation.network.activation_function(l), notation)


_LOSS_WORDS = {
    "squared": r"squared error $\|A^L - y\|^2$",
    "nll": "negative log-likelihood (binary cross-entropy)",
    "nllm": "multiclass negative log-likelihood (cross-entropy)",
}
_ACTIVATION_WORDS = {
    "identity": "identity (linear)",
    "sigmoid": r"sigmoid $\sigma$",
    "tanh": r"$\tanh$",
    "relu": "ReLU",
    "softmax": "softmax",
}


def convention_sentences(derivation: Derivation, notation: Notation = DEFAULT) -> str:
    """The convention and the notation, as sentences."""
    declaration = derivation.network.declaration
    if declaration.name != "6.390":
        equations = ", ".join(f"${e}$" for e in declaration.equations)
        return (
            f"Convention: {declaration.title}, {equations}; {declaration.layout} layout. "
            f"{notation.describe()}"
        )
    l = layer_index(LAYER, notation)
    before = layer_index(LAYER - 1, notation)
    return (
        f"Convention: MIT 6.390, $Z^{{{l}}} = (W^{{{l}}})^{{{notation.transpose}}} "
        f"A^{{{before}}} + W_0^{{{l}}}$, $A^{{{l}}} = f^{{{l}}}(Z^{{{l}}})$, "
        "denominator layout ($\\partial \\mathcal{L}/\\partial X$ has the shape of $X$; "
        "$(\\partial Y/\\partial X)_{ij} = \\partial Y_j/\\partial X_i$), so chains multiply "
        f"right to left toward the loss. {notation.describe()}"
    )


def layers_backwards(derivation: Derivation, gradients: list[Gradient] | None = None) -> list:
    """The layers to print, from the output back to the input (the order of backprop)."""
    wanted = None if gradients is None else {g.layer for g in gradients}
    return [l for l in reversed(derivation.network.indices()) if wanted is None or l in wanted]


def derivation_blocks(
    derivation: Derivation,
    notation: Notation = DEFAULT,
    gradients: list[Gradient] | None = None,
) -> list[Block]:
    """Every selected gradient, layer by layer from the output back: braces, shapes, values."""
    blocks: list[Block] = []
    chosen = None if gradients is None else {g.target for g in gradients}
    for l in layers_backwards(derivation, gradients):
        layer = chains_of(derivation).layer(l)
        rows: list[Row] = []
        if chosen is None or layer.dw in chosen:
            rows += weight_rows(derivation, l, notation)
        if chosen is None or layer.dw0 in chosen:
            rows += bias_rows(layer, notation)
        rows += chain_rows(derivation, l, notation)
        backprop = without_identity_prime(layer.dz_form(notation.derivative))
        rows.append(Row("", to_latex(backprop, notation)))
        blocks.append(Heading(f"Layer ${plain_index(l, notation)}$", 3))
        blocks.append(Display(tuple(rows)))
    return blocks


# ---------------------------------------------------------------------------- printers


def _note_lines(note: str, width: int) -> list[str]:
    """A note cut at spaces into pieces of at most ``width`` characters."""
    lines: list[str] = []
    current = ""
    for word in note.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


def display_lines(display: Display, page: Page = A4) -> list[str]:
    """The rows of an aligned environment (without the environment), fitted to the page."""
    lines = []
    for row in (piece for whole in display.rows for piece in fitted(whole, page.row_width)):
        if row.relation:
            lines.append(f"{row.lhs} &{row.relation} {row.rhs}")
        else:
            lines.append(f"{row.lhs} &\\qquad {row.rhs}")
        if display.notes and row.note:
            lines.extend(
                f"&\\qquad \\text{{\\footnotesize {text_latex(piece)}}}"
                for piece in _note_lines(row.note, page.note_width)
            )
    return lines


def _aligned(display: Display, environment: str, page: Page = A4) -> str:
    body = " \\\\\n".join(display_lines(display, page))
    return f"\\begin{{{environment}}}\n{body}\n\\end{{{environment}}}"


def latex_body(blocks: list[Block], comment: str = "", page: Page = FRAGMENT_PAGE) -> str:
    """LaTeX to paste into notes (needs amsmath, amssymb and, for pictures, TikZ)."""
    parts = ["\n".join(f"% {line}" for line in comment.splitlines())] if comment else []
    for block in blocks:
        match block:
            case Heading(text=text, level=level):
                command = {1: "section*", 2: "subsection*"}.get(level, "subsubsection*")
                parts.append(f"\\{command}{{{text}}}")
            case Paragraph(text=text):
                parts.append(text)
            case Display():
                parts.append(_aligned(block, "align*", page))
            case Equations(latex=latex):
                parts.append(f"\\[\n{latex}\n\\]")
            case Picture(tikz=tikz):
                parts.append(f"\\begin{{center}}\n{tikz}\n\\end{{center}}")
    return "\n\n".join(parts) + "\n"


TEX_PREAMBLE = r"""\usepackage{amsmath,amssymb}
\usepackage{tikz}
\usetikzlibrary{arrows.meta}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
"""


def tex_preamble(page: Page = A4) -> str:
    """The document class, the paper of ``page`` and the packages a derivation uses."""
    paper = f"\\usepackage[{page.geometry}]{{geometry}}\n" if page.geometry else ""
    return f"\\documentclass[{page.font_pt}pt]{{article}}\n{paper}{TEX_PREAMBLE}"


def tex_document(blocks: list[Block], title: str, comment: str = "", page: Page = A4) -> str:
    """A standalone document that compiles with pdflatex."""
    header = "".join(f"% {line}\n" for line in comment.splitlines())
    return (
        f"{header}{tex_preamble(page)}\\begin{{document}}\n\n\\section*{{{title}}}\n\n"
        f"{latex_body(blocks, page=page)}\n\\end{{document}}\n"
    )


def markdown_document(blocks: list[Block], title: str, comment: str = "", page: Page = A4) -> str:
    """Markdown whose math renders in MathJax and KaTeX: $$ blocks with aligned, no TikZ."""
    parts = ["\n".join(f"<!-- {line} -->" for line in comment.splitlines())] if comment else []
    parts.append(f"# {title}")
    for block in blocks:
        match block:
            case Heading(text=text, level=level):
                parts.append(f"{'#' * level} {text}")
            case Paragraph(text=text):
                parts.append(text)
            case Display():
                parts.append(f"$$\n{_aligned(block, 'aligned', page)}\n$$")
            case Equations(latex=latex):
                parts.append(f"$$\n{latex}\n$$")
            case Picture(fallback=fallback):
                if fallback:
                    parts.append(f"$$\n{_aligned(Display(fallback), 'aligned', page)}\n$$")
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------- pdf

PDFLATEX_TIMEOUT = 120
"""Seconds pdflatex may run before the document is given up as a clear error."""

_TEX_TEXT = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def tex_text(text: str, breakable: bool = False) -> str:
    """``text`` typeset as itself by pdflatex: every TeX special becomes a character, so no
    command, group, math or catcode change in it runs; whitespace (newlines too) becomes one
    space and control characters are dropped.  ``breakable`` lets pdflatex break a long word
    every BREAK_EVERY characters, so a title without spaces still fits the page."""
    words = "".join(c for c in text if c.isprintable() or c.isspace()).split()
    if not breakable:
        return " ".join("".join(_TEX_TEXT.get(c, c) for c in word) for word in words)
    return " ".join(
        r"\allowbreak{}".join(
            "".join(_TEX_TEXT.get(c, c) for c in word[i : i + BREAK_EVERY])
            for i in range(0, len(word), BREAK_EVERY)
        )
        for word in words
    )


BREAK_EVERY = 20


def pdflatex_command(pdflatex: str, directory: str, source: str) -> list[str]:
    """pdflatex confined to ``directory``: no shell escape, no prompt, output kept there."""
    return [
        pdflatex,
        "-no-shell-escape",
        "-interaction=nonstopmode",
        "-halt-on-error",
        f"-output-directory={directory}",
        source,
    ]


def pdflatex_environment(directory: str) -> dict[str, str]:
    """kpathsea's paranoid mode: TeX may read and write only below ``directory`` (and read
    its own installed files), never dot files, parent directories or other absolute paths."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXMF", "TEXINPUTS"))}
    env.update(openin_any="p", openout_any="p", TEXMFOUTPUT=directory, shell_escape="f")
    return env


def compile_pdf(tex: str, output: Path, timeout: float = PDFLATEX_TIMEOUT) -> Path:
    """Run pdflatex on ``tex`` in a fresh temporary directory and write the PDF to ``output``."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise MatcalcError(
            "--format pdf needs pdflatex, which is not installed "
            "(Debian: apt-get install texlive-latex-base texlive-latex-recommended "
            "texlive-pictures); --format tex writes the source instead"
        )
    with tempfile.TemporaryDirectory(prefix="matcalc-") as directory:
        source = Path(directory) / "derivation.tex"
        source.write_text(tex, encoding="utf-8")
        try:
            result = subprocess.run(
                pdflatex_command(pdflatex, directory, source.name),
                cwd=directory,
                env=pdflatex_environment(directory),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise MatcalcError(
                f"pdflatex took longer than {timeout:g} s and was stopped; "
                "--format tex writes the source instead"
            ) from None
        pdf = source.with_suffix(".pdf")
        if result.returncode != 0 or not pdf.exists():
            errors = [line for line in result.stdout.splitlines() if line.startswith("!")]
            raise MatcalcError(f"pdflatex failed: {errors[0] if errors else 'see its log'}")
        try:
            shutil.copyfile(pdf, output)
        except OSError as error:
            raise MatcalcError(f"{output}: cannot be written ({error.strerror})") from None
    return output
