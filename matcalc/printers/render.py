"""Output formats of a derivation: one function per format, chosen by name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from matcalc.engine.derive import Derivation, Gradient
from matcalc.errors import MatcalcError
from matcalc.printers.diagram import diagram_blocks
from matcalc.printers.document import (
    Block,
    Equations,
    Heading,
    Paragraph,
    convention_sentences,
    derivation_blocks,
    latex_body,
    markdown_document,
    network_sentence,
    tex_document,
    tex_text,
)
from matcalc.printers.latex import (
    DEFAULT,
    Notation,
    convention_derivation_latex,
    shape_latex,
    to_latex,
)
from matcalc.printers.steps import steps, steps_blocks


@dataclass(frozen=True)
class Layout:
    """What a document shows besides the gradients: the steps backwards, the diagram."""

    steps: bool = False
    diagram: bool = False
    title: str = ""
    gradients: bool | None = None
    """The layer-by-layer gradients; by default shown unless the steps are."""
    title_tex: bool = False
    """The title is raw TeX (unsafe: it can run any TeX command); by default it is text."""

    @property
    def sections(self) -> bool:
        """Whether the document has more than one part, each under its own heading."""
        return sum((self.steps, self.diagram, self.show_gradients)) > 1

    @property
    def show_gradients(self) -> bool:
        return not self.steps if self.gradients is None else self.gradients


def render_derivation(
    derivation: Derivation,
    fmt: str,
    wrt: str | None = None,
    notation: Notation | None = None,
    layout: Layout = Layout(),  # noqa: B008 - immutable
) -> str:
    """The derivation in the named format, all gradients or only ``wrt``.

    Without a ``notation``, the network's convention's own (6.390's is the default).
    """
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise MatcalcError(f"--format {fmt}: one of {', '.join(FORMATS)}")
    if notation is None:
        notation = Notation.of(derivation.network.declaration)
    if fmt in LAYOUT_FORMATS:
        return renderer(derivation, _selected(derivation, wrt), notation, layout)
    return renderer(derivation, _selected(derivation, wrt), notation)


def _selected(derivation: Derivation, wrt: str | None) -> list[Gradient]:
    if wrt is None:
        return list(derivation.gradients())
    try:
        return [derivation.gradient(wrt)]
    except KeyError as error:
        raise MatcalcError(f"--wrt {wrt}: {error.args[0]}") from None


def comment(derivation: Derivation, notation: Notation) -> str:
    """The convention and the notation, for the first lines of LaTeX output."""
    return f"{derivation.convention}\n{notation.describe()}"


def document_blocks(
    derivation: Derivation,
    gradients: list[Gradient],
    notation: Notation,
    layout: Layout,
    convention: bool = True,
) -> list[Block]:
    """The blocks of a document: the network, the convention, then diagram, steps, gradients."""
    blocks: list[Block] = [Paragraph(network_sentence(derivation, notation))]
    if convention:
        blocks.append(Paragraph(convention_sentences(derivation, notation)))
    if layout.diagram:
        if layout.sections:
            blocks.append(Heading("The network, forward and backward", 2))
        blocks += diagram_blocks(derivation, notation)
    if layout.show_gradients:
        if layout.sections:
            blocks.append(Heading("The gradients, layer by layer", 2))
        if lecture_notes_layout(derivation, notation):
            blocks += derivation_blocks(derivation, notation, gradients)
        else:
            blocks.append(Equations(convention_derivation_latex(derivation, notation)))
    if layout.steps:
        if layout.sections:
            blocks.append(Heading("Step by step, back from the loss", 2))
        blocks += steps_blocks(steps(derivation), notation)
    return blocks


def lecture_notes_layout(derivation: Derivation, notation: Notation) -> bool:
    """Whether the gradients print as the 6.390 notes' braced chains (one example, dL/dX).

    Otherwise they print in the convention's own layout: Ng's dW, Goodfellow's nabla_W J,
    a batch's backprop form.
    """
    return notation.gradients == "fraction" and derivation.network.batch is None


def markdown_text(text: str) -> str:
    """``text`` on one line as Markdown text: the marks that start emphasis, code, links,
    HTML, entities, tables or $ math backslash-escaped (CommonMark), so none starts."""
    words = "".join(c for c in text if c.isprintable() or c.isspace()).split()
    return re.sub(r"[\\`*_{}\[\]<>#!|$~&^]", lambda m: "\\" + m.group(), " ".join(words))


def title(derivation: Derivation, layout: Layout, fmt: str = "tex") -> str:
    """--title on one line as text: every TeX special (or, in Markdown, every ASCII
    Markdown mark) escaped; with ``layout.title_tex``, raw TeX on one line."""
    if layout.title:
        if layout.title_tex:
            return " ".join(layout.title.split())
        if fmt == "markdown":
            return markdown_text(layout.title)
        text = tex_text(layout.title, breakable=True)
        # a long word broken anywhere leaves no glue to stretch: set the heading ragged right
        return r"\raggedright " + text if r"\allowbreak" in text else text
    net = derivation.network
    depth = "$L$" if net.symbolic else str(len(net.layers))
    return f"Gradients of a {depth}-layer network"


def _latex(
    derivation: Derivation, gradients: list[Gradient], notation: Notation, layout: Layout
) -> str:
    if not (lecture_notes_layout(derivation, notation) or layout.steps or layout.diagram):
        body = convention_derivation_latex(derivation, notation)
        return f"% {derivation.convention}\n\\[\n{body}\n\\]"
    blocks = document_blocks(derivation, gradients, notation, layout, convention=False)
    return latex_body(blocks, comment(derivation, notation))


def _tex(
    derivation: Derivation, gradients: list[Gradient], notation: Notation, layout: Layout
) -> str:
    blocks = document_blocks(derivation, gradients, notation, layout)
    return tex_document(blocks, title(derivation, layout), comment(derivation, notation))


def _markdown(
    derivation: Derivation, gradients: list[Gradient], notation: Notation, layout: Layout
) -> str:
    blocks = document_blocks(derivation, gradients, notation, layout)
    heading = title(derivation, layout, "markdown")
    return markdown_document(blocks, heading, comment(derivation, notation))


def gradient_record(gradient: Gradient, notation: Notation = DEFAULT) -> dict:
    dz, dz_value = gradient.recursion
    return {
        "name": gradient.key,
        "layer": str(gradient.layer),
        "target": to_latex(gradient.target, notation),
        "shape": shape_latex(gradient.shape, notation),
        "chain": {
            "named": to_latex(gradient.chain_names, notation),
            "value": to_latex(gradient.chain, notation),
        },
        "simplified": to_latex(gradient.simplified, notation),
        "recursion": {"lhs": to_latex(dz, notation), "rhs": to_latex(dz_value, notation)},
    }


def _json(derivation: Derivation, gradients: list[Gradient], notation: Notation) -> str:
    network = derivation.network
    record = {
        "convention": derivation.convention,
        "convention_name": network.convention,
        "batch": None if network.batch_size is None else str(network.batch_size),
        "loss": network.loss,
        "gradients": [gradient_record(g, notation) for g in gradients],
    }
    return json.dumps(record, indent=2)


def _numpy(derivation: Derivation, gradients: list[Gradient], notation: Notation) -> str:
    from matcalc.printers.numpy_code import network_code

    return network_code(derivation, [g.key for g in gradients])


RENDERERS: dict[str, Callable[..., str]] = {
    "latex": _latex,
    "tex": _tex,
    "markdown": _markdown,
    "json": _json,
    "numpy": _numpy,
}
"""Each renderer takes (derivation, gradients, notation); those of LAYOUT_FORMATS also a Layout."""
LAYOUT_FORMATS = ("latex", "tex", "markdown")
BINARY_FORMATS = ("pdf",)
"""Formats written to a file by the CLI from another format's text (pdf from tex)."""
FORMATS = (*RENDERERS, *BINARY_FORMATS)
