"""Output formats of a derivation: one function per format, chosen by name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from matcalc.core.record import record
from matcalc.engine.derive import Derivation, Gradient
from matcalc.errors import MatcalcError
from matcalc.printers.braces import text_latex
from matcalc.printers.chains import chain_forms
from matcalc.printers.diagram import diagram_blocks
from matcalc.printers.document import (
    A4,
    FRAGMENT_PAGE,
    PAGES,
    Block,
    Equations,
    Heading,
    Page,
    Paragraph,
    a_or_an,
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
    _Printer,
    convention_derivation_latex,
    latex_printer,
    shape_latex,
    to_latex,
)
from matcalc.printers.steps import steps, steps_blocks

# Expression contexts read their specs through the LaTeX reader: their modules load only when a
# context is printed, so that printing a network does not import the reader and its parser.
if TYPE_CHECKING:
    from matcalc.specs.context import Context


@record
class Layout:
    """What a document shows besides the gradients: the steps backwards, the diagram."""

    steps: bool = False
    diagram: bool = False
    title: str = ""
    gradients: bool = True
    """The layer-by-layer gradients (the braced chains); the steps come in addition to them."""
    page: str = ""
    """The name of the page in PAGES the document fits; by default A4 for documents and a
    default article's text width for fragments."""

    title_tex: bool = False
    """The title is raw TeX (unsafe: it can run any TeX command); by default it is text."""

    def page_for(self, fmt: str) -> Page:
        if not self.page:
            return FRAGMENT_PAGE if fmt == "latex" else A4
        if self.page not in PAGES:
            raise MatcalcError(f"--page {self.page}: one of {', '.join(PAGES)}")
        return PAGES[self.page]

    @property
    def sections(self) -> bool:
        """Whether the document has more than one part, each under its own heading."""
        return sum((self.steps, self.diagram, self.show_gradients)) > 1

    @property
    def show_gradients(self) -> bool:
        return self.gradients


def render_derivation(
    derivation: Derivation,
    fmt: str,
    wrt: str | None = None,
    notation: Notation | None = None,
    layout: Layout = Layout(),  # noqa: B008 - immutable
    shared_chains: bool = False,
) -> str:
    """The derivation in the named format, all gradients or only ``wrt``.

    Without a ``notation``, the network's convention's own (6.390's is the default).
    ``shared_chains`` writes the JSON's chain forms by reference (see :func:`shared_chains`).
    """
    if shared_chains and fmt != "json":
        raise MatcalcError(f"shared chain forms are a JSON option, not one of --format {fmt}")
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise MatcalcError(f"--format {fmt}: one of {', '.join(FORMATS)}")
    if notation is None:
        notation = Notation.of(derivation.network.declaration)
    if fmt in LAYOUT_FORMATS:
        return renderer(derivation, _selected(derivation, wrt), notation, layout)
    if shared_chains:
        return _json(derivation, _selected(derivation, wrt), notation, shared=True)
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
    page: Page = A4,
) -> list[Block]:
    """The blocks of a document: the network, the convention, then diagram, steps, gradients."""
    blocks: list[Block] = [Paragraph(network_sentence(derivation, notation))]
    if convention:
        blocks.append(Paragraph(convention_sentences(derivation, notation)))
    if layout.diagram:
        if layout.sections:
            blocks.append(Heading("The network, forward and backward", 2))
        blocks += diagram_blocks(derivation, notation, page)
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
        until = gradients[0].target if len(gradients) == 1 else None
        blocks += steps_blocks(steps(derivation, until, notation), notation)
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


def user_title(text: str, fmt: str = "tex", raw: bool = False) -> str:
    """A title a user gave, on one line as text: every TeX special (or, in Markdown, every
    ASCII Markdown mark) escaped; ``raw`` (--title-tex), raw TeX on one line."""
    if raw:
        return " ".join(text.split())
    if fmt == "markdown":
        return markdown_text(text)
    escaped = tex_text(text, breakable=True)
    # a long word broken anywhere leaves no glue to stretch: set the heading ragged right
    return r"\raggedright " + escaped if r"\allowbreak" in escaped else escaped


def title(derivation: Derivation, layout: Layout, fmt: str = "tex") -> str:
    """--title on one line as text: every TeX special (or, in Markdown, every ASCII
    Markdown mark) escaped; with ``layout.title_tex``, raw TeX on one line."""
    if layout.title:
        return user_title(layout.title, fmt, layout.title_tex)
    net = derivation.network
    depth = "$L$" if net.symbolic else str(len(net.layers))
    return f"Gradients of {a_or_an(depth + '-layer')} network"


def _latex(
    derivation: Derivation, gradients: list[Gradient], notation: Notation, layout: Layout
) -> str:
    if not (lecture_notes_layout(derivation, notation) or layout.steps or layout.diagram):
        body = convention_derivation_latex(derivation, notation)
        return f"% {derivation.convention}\n\\[\n{body}\n\\]"
    page = layout.page_for("latex")
    blocks = document_blocks(derivation, gradients, notation, layout, False, page)
    return latex_body(blocks, comment(derivation, notation), page)


def _tex(
    derivation: Derivation, gradients: list[Gradient], notation: Notation, layout: Layout
) -> str:
    page = layout.page_for("tex")
    blocks = document_blocks(derivation, gradients, notation, layout, page=page)
    return tex_document(blocks, title(derivation, layout), comment(derivation, notation), page)


def _markdown(
    derivation: Derivation, gradients: list[Gradient], notation: Notation, layout: Layout
) -> str:
    page = layout.page_for("markdown")
    blocks = document_blocks(derivation, gradients, notation, layout, page=page)
    text = comment(derivation, notation)
    return markdown_document(blocks, title(derivation, layout, "markdown"), text, page)


def gradient_record(
    gradient: Gradient,
    notation: Notation = DEFAULT,
    printer: _Printer | None = None,
    chain: dict | None = None,
) -> dict:
    """The JSON record of one gradient; ``chain`` replaces its full chain forms when given."""
    printer = printer or latex_printer(notation)
    dz, dz_value = gradient.recursion
    if chain is None:
        named, value = chain_forms(gradient)
        chain = {
            "named": to_latex(named, notation, printer),
            "value": to_latex(value, notation, printer),
        }
        printer.forget(named)
        printer.forget(value)
    return {
        "name": gradient.key,
        "layer": str(gradient.layer),
        "target": to_latex(gradient.target, notation, printer),
        "shape": shape_latex(gradient.shape, notation),
        "chain": chain,
        "simplified": to_latex(gradient.simplified, notation, printer),
        "recursion": {
            "lhs": to_latex(dz, notation, printer),
            "rhs": to_latex(dz_value, notation, printer),
        },
    }


CHAIN_FORMS = ("named", "value")


def shared_chains(
    gradients: list[Gradient], notation: Notation, printer: _Printer
) -> dict[str, dict]:
    """Each gradient's chain forms, written where they can as head + another's chain + tail.

    dL/dW_0^l's chain ends in dL/dW_0^{l+1}'s, and dL/dW^l's holds dL/dW_0^l's: a form that
    contains the chain of another gradient of ``gradients`` is {"head", "shared", "tail"},
    meaning head + (the chain of the gradient named "shared", its first "skip" characters left
    out where "skip" is given) + tail, exactly; the others are
    strings, as in the full record.  A form refers only to a shorter one, so references
    never run in a circle.  Printed from the output layer down, so that only the chains of
    two layers are held as text at a time.
    """
    by_layer: dict[object, list[Gradient]] = {}
    for gradient in gradients:
        by_layer.setdefault(gradient.layer, []).append(gradient)
    layers = list(by_layer)
    if all(isinstance(l, int) for l in layers):
        layers.sort(reverse=True)
    chains: dict[str, dict] = {}
    previous: dict[str, tuple[str, str]] = {}
    for l in layers:
        current: dict[str, tuple[str, str]] = {}
        for gradient in by_layer[l]:
            named, value = chain_forms(gradient)
            current[gradient.key] = (
                to_latex(named, notation, printer),
                to_latex(value, notation, printer),
            )
            printer.forget(named)
            printer.forget(value)
        for key, full in current.items():
            chains[key] = {
                form: _share(
                    full[position],
                    {
                        other: texts[position]
                        for other, texts in (*previous.items(), *current.items())
                        if len(texts[position]) < len(full[position])
                    },
                )
                for position, form in enumerate(CHAIN_FORMS)
            }
        previous = current
    return chains


_LEADING_COEFFICIENT = re.compile(r"-?(?:\\frac\{\d+\}\{\d+\}|\d+\\,)?")


def _share(text: str, others: dict[str, str]) -> str | dict:
    """``text`` as head + one of ``others`` + tail (the longest found), or itself.

    A chain whose factors carry a coefficient prints it in front (2 A B C, -A B C): the chain
    below then appears without its coefficient, {"skip": the coefficient's length}.
    """
    best: tuple[int, str, int] | None = None
    for key, other in others.items():
        coefficient = _LEADING_COEFFICIENT.match(other).end()
        for skip in (0, coefficient) if coefficient else (0,):
            found = len(other) - skip
            if found > 64 and (best is None or found > best[0]) and other[skip:] in text:
                best = (found, key, skip)
    if best is None:
        return text
    found, key, skip = best
    start = text.rindex(others[key][skip:])
    record = {"head": text[:start], "shared": key, "tail": text[start + found :]}
    if skip:
        record["skip"] = skip
    return record


def expand_chains(records: list[dict]) -> list[dict]:
    """The records of a shared-chain JSON with every chain form written out in full."""
    by_name = {r["name"]: r for r in records}
    full: dict[tuple[str, str], str] = {}

    def text(name: str, form: str) -> str:
        pending = [name]
        while pending:  # iteratively: a chain can refer down a thousand layers
            current = pending[-1]
            value = by_name[current]["chain"][form]
            if isinstance(value, str):
                full[(current, form)] = value
                pending.pop()
            elif (value["shared"], form) in full:
                shared = full[(value["shared"], form)][value.get("skip", 0) :]
                full[(current, form)] = value["head"] + shared + value["tail"]
                pending.pop()
            else:
                pending.append(value["shared"])
        return full[(name, form)]

    return [{**r, "chain": {form: text(r["name"], form) for form in CHAIN_FORMS}} for r in records]


def _json(
    derivation: Derivation,
    gradients: list[Gradient],
    notation: Notation,
    shared: bool = False,
) -> str:
    """The JSON document; ``shared`` writes chains that share a suffix by reference."""
    network = derivation.network
    printer = latex_printer(notation)
    chains = shared_chains(gradients, notation, printer) if shared else {}
    record = {
        "convention": derivation.convention,
        "convention_name": network.convention,
        "batch": None if network.batch_size is None else str(network.batch_size),
        "loss": network.loss,
    }
    if network.decay is not None:  # only then, so that other outputs stay as they were
        record["weight_decay"] = str(network.decay)
    record["gradients"] = [
        gradient_record(g, notation, printer, chains.get(g.key)) for g in gradients
    ]
    if shared:
        record["chains"] = "shared"
    return json.dumps(record, indent=2)


def shared_json(derivation: Derivation, wrt: str | None = None) -> str:
    """JSON with shared chain forms (see :func:`shared_chains`); :func:`expand_chains` turns
    its records back into the full ones that ``--format json`` prints."""
    return render_derivation(derivation, "json", wrt, shared_chains=True)


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


# ---------------------------------------------------------------------------- expression contexts

CONTEXT_DOCUMENT_FORMATS = ("tex", "pdf")
"""What an expression context prints as besides its own formats (latex, markdown, json)."""


def render_context_document(
    context: Context,
    fmt: str,
    of: str | None = None,
    wrt: str | None = None,
    layout: Layout = Layout(),  # noqa: B008 - immutable
    hessian: bool = False,
    hvp: str | None = None,
    gauss_newton: bool = False,
) -> str:
    """An expression context's derivatives in the named format; ``tex`` is a standalone
    document (as for a network), the others are the context's own output."""
    from matcalc.core.shapes import shape_text
    from matcalc.engine.context import context_gradients
    from matcalc.printers.context import render_context
    from matcalc.specs.context import LAYOUT_NOTES

    if fmt not in ("tex", "pdf"):
        return render_context(context, fmt, of, wrt, hessian, hvp, gauss_newton)
    if hessian or hvp is not None or gauss_newton:
        asked = "--hessian" if hessian else "--hvp" if hvp is not None else "--gauss-newton"
        raise MatcalcError(f"{asked} with --format {fmt}: print it as latex, markdown or json")
    gradients = context_gradients(context, of, wrt)
    lines = [
        f"{to_latex(g.target)} &= {to_latex(g.value)} && {shape_text(g.value.shape)}"
        for g in gradients
    ]
    note = LAYOUT_NOTES[context.layout]
    blocks: list[Block] = [
        Paragraph(text_latex(note[:1].upper() + note[1:]) + "."),
        Equations("\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"),
    ]
    names = ", ".join(dict.fromkeys(g.of for g in gradients))
    # title() escapes a --title; the default names the functions differentiated.
    heading = title(None, layout) if layout.title else f"Derivatives of ${names}$"  # type: ignore[arg-type]
    return tex_document(blocks, heading, note, layout.page_for("tex"))
