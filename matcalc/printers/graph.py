"""Graph specs in every format: backprop over named quantities as lecture notes print it.

The derivation (:class:`~matcalc.engine.backprop.GraphDerivation`) is a list of assignments,
dL/dQ = (its value), from the loss back, then every parameter's gradient.  Printed:

* ``latex`` / ``markdown`` / ``tex``: the forward equations, then the assignments with the
  shape of each, a long sum broken one term a line; ``--steps`` cites the rules of each
  line; ``--diagram`` draws the graph (forward arrows, backward arrows, a branch for every
  skip connection and shared weight);
* ``json``: the assignments and the gradients, each with its shape;
* ``numpy``: ``loss(values)`` and ``gradients(values)`` (:mod:`matcalc.printers.numpy_code`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from matcalc.core.expr import Add, Expr, Symbol
from matcalc.engine.backprop import Assignment, GraphDerivation
from matcalc.errors import MatcalcError
from matcalc.printers.braces import Row, shaped
from matcalc.printers.document import (
    Block,
    Display,
    Heading,
    Paragraph,
    Picture,
    latex_body,
    markdown_document,
    tex_document,
)
from matcalc.printers.latex import Notation, shape_latex, to_latex
from matcalc.printers.steps import rules_note

if TYPE_CHECKING:
    from matcalc.specs.graph import Graph

GRAPH_FORMATS = ("latex", "markdown", "tex", "json", "numpy", "pdf")
DIAGRAM_WIDTH_CM = 10.0
"""The distance from the first quantity to the last: the diagram fits a default article."""
AS_WRITTEN = Notation(l_is_loss=False)
BREAK_AT = 110
"""Characters of LaTeX source beyond which a sum is broken one term a line."""


def graph_notation(derivation: GraphDerivation) -> Notation:
    """Names as the spec writes them: a quantity L is L whatever the loss is named."""
    return names_notation(derivation.graph)


def names_notation(graph: Graph) -> Notation:
    """The notation of a graph spec: every symbol as its name, the loss as its own."""
    return Notation(loss=to_latex(graph.loss, AS_WRITTEN), l_is_loss=False)


def selected(derivation: GraphDerivation, wrt: str | None) -> tuple[Assignment, ...]:
    """Every assignment, or those one parameter's gradient needs, ending with it."""
    if wrt is None:
        return derivation.assignments
    try:
        return derivation.needed_for(derivation.gradient(wrt))
    except KeyError as error:
        raise MatcalcError(f"--wrt {wrt}: {error.args[0]}") from None


# ---------------------------------------------------------------------------- rows


def _terms(value: Expr, notation: Notation) -> list[str]:
    text = to_latex(value, notation)
    if not isinstance(value, Add) or len(text) <= BREAK_AT:
        return [text]
    terms = [to_latex(value.terms[0], notation)]
    for term in value.terms[1:]:
        printed = to_latex(Add((value.terms[0], term)), notation)
        head = to_latex(value.terms[0], notation)
        terms.append(printed[len(head) :].strip())  # "+ X" or "- X", signed as printed
    return terms


def assignment_rows(assignment: Assignment, notation: Notation, notes: bool = False) -> list[Row]:
    """dL/dQ = value, the target with its shape; a long sum one term a row."""
    lhs = shaped(to_latex(assignment.target, notation), assignment.shape, notation)
    terms = _terms(assignment.value, notation)
    note = rules_note(assignment.rules) if notes else ""
    rows = [Row(lhs, terms[0], note=note if len(terms) == 1 else "")]
    rows += [Row("", f"\\quad {t}", relation="") for t in terms[1:-1]]
    if len(terms) > 1:
        rows.append(Row("", f"\\quad {terms[-1]}", relation="", note=note))
    return rows


def forward_rows(derivation: GraphDerivation, notation: Notation) -> list[Row]:
    graph = derivation.graph
    return [
        Row(
            shaped(to_latex(q, notation), q.shape, notation),
            to_latex(graph.definitions[q], notation),
        )
        for q in graph.quantities
    ]


def sentence(derivation: GraphDerivation, notation: Notation) -> str:
    graph = derivation.graph
    declared = ", ".join(
        f"${to_latex(s, notation)}$ (${shape_latex(s.shape, notation)}$)" for s in graph.data
    )
    parameters = ", ".join(
        f"${to_latex(s, notation)}$ (${shape_latex(s.shape, notation)}$)" for s in graph.parameters
    )
    return (
        f"A network given by its forward equations: data {declared or 'none'}; "
        f"parameters {parameters}; the loss is ${to_latex(graph.loss, notation)}$. "
        f"Layout: {graph.context.layout} (a gradient has the shape of its variable). "
        "Each gradient below is written in terms of the gradients of the quantities that use "
        "it, from the loss back."
    )


# ---------------------------------------------------------------------------- diagram


def tikz(derivation: GraphDerivation, notation: Notation) -> str:
    """Quantities left to right in the order they are defined; parameters and data above,
    with an arrow into each definition that uses them (several for a shared weight);
    forward arrows between quantities (bent over a skip), dashed backward arrows below."""
    graph = derivation.graph
    quantities = graph.quantities
    column = {q: i for i, q in enumerate(quantities)}
    step = min(2.1, DIAGRAM_WIDTH_CM / max(len(quantities) - 1, 1))
    lines = [
        rf"\begin{{tikzpicture}}[>=Stealth, x={step:.2f}cm, y=1.5cm,"
        r" q/.style={draw, rounded corners, minimum width=1.1cm, minimum height=0.7cm},"
        r" p/.style={draw, dashed, minimum width=0.9cm, minimum height=0.6cm}]"
    ]
    for q, i in column.items():
        lines.append(f"\\node[q] (q{i}) at ({i},0) {{${to_latex(q, notation)}$}};")
    placed: dict[Symbol, int] = {}
    width = max(len(quantities) - 1, 1)
    for row, symbols in ((1.4, graph.parameters), (2.6, graph.data)):
        used = [s for s in symbols if graph.users.get(s)]
        for k, symbol in enumerate(used):
            placed[symbol] = len(placed)
            x = width * k / max(len(used) - 1, 1) if len(used) > 1 else 0
            lines.append(
                f"\\node[p] (s{placed[symbol]}) at ({x:.2f},{row}) "
                f"{{${to_latex(symbol, notation)}$}};"
            )
            for user in graph.users[symbol]:
                lines.append(f"\\draw[->, gray] (s{placed[symbol]}) -- (q{column[user]});")
    for q, i in column.items():
        for user in graph.users.get(q, ()):
            j = column[user]
            bend = "" if j == i + 1 else ", bend left=35"
            lines.append(f"\\draw[->{bend}] (q{i}) to (q{j});")
            if q in graph.trainable:
                back = "" if j == i + 1 else ", bend left=35"
                lines.append(
                    f"\\draw[->, dashed, gray{back}] (q{j}.south) to ([yshift=-2pt]q{i}.south);"
                )
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def diagram_blocks(derivation: GraphDerivation, notation: Notation) -> list[Block]:
    graph = derivation.graph
    fallback = tuple(
        Row(
            to_latex(q, notation),
            ", ".join(to_latex(u, notation) for u in graph.users.get(q, ())) or r"\text{--}",
            relation=r"\rightarrow",
        )
        for q in (*graph.parameters, *graph.quantities)
    )
    return [
        Paragraph(
            "The graph: each quantity feeds the quantities that use it (solid arrows, "
            "forward); gradients flow back along the dashed arrows."
        ),
        Picture(tikz(derivation, notation), fallback),
    ]


# ---------------------------------------------------------------------------- documents


def graph_blocks(
    derivation: GraphDerivation,
    notation: Notation,
    assignments: tuple[Assignment, ...],
    steps: bool = False,
    diagram: bool = False,
) -> list[Block]:
    blocks: list[Block] = [Paragraph(sentence(derivation, notation))]
    if diagram:
        blocks.append(Heading("The graph, forward and backward", 2))
        blocks += diagram_blocks(derivation, notation)
    blocks.append(Heading("Forward", 2))
    blocks.append(Display(tuple(forward_rows(derivation, notation))))
    blocks.append(Heading("Backward, from the loss", 2))
    rows: list[Row] = []
    for assignment in assignments:
        rows += assignment_rows(assignment, notation, notes=steps)
    blocks.append(Display(tuple(rows), notes=steps))
    return blocks


def graph_record(derivation: GraphDerivation, assignments: tuple[Assignment, ...]) -> dict:
    notation = graph_notation(derivation)
    graph = derivation.graph

    def record(assignment: Assignment) -> dict:
        return {
            "target": to_latex(assignment.target, notation),
            "shape": shape_latex(assignment.shape, notation),
            "value": to_latex(assignment.value, notation),
            "rules": [rule.name for rule in assignment.rules],
        }

    names = {a.target: key for key, a in derivation.iter_gradients()}
    return {
        "kind": "graph",
        "layout": graph.context.layout,
        "note": derivation.note,
        "loss": graph.loss_key,
        "parameters": list(graph.parameter_keys),
        "assignments": [record(a) for a in assignments],
        "gradients": [
            {"name": names[a.target], **record(a)} for a in assignments if a.target in names
        ],
    }


def render_graph(
    derivation: GraphDerivation,
    fmt: str,
    wrt: str | None = None,
    steps: bool = False,
    diagram: bool = False,
    title: str = "",
    notation: Notation | None = None,
) -> str:
    """The derivation of a graph spec in the named format; ``notation`` (the spec's own names
    by default) may set the transpose sign and whether shapes are shown."""
    if fmt not in GRAPH_FORMATS or fmt == "pdf":
        raise MatcalcError(f"--format {fmt}: one of {', '.join(GRAPH_FORMATS)}")
    assignments = selected(derivation, wrt)
    if fmt == "json":
        return json.dumps(graph_record(derivation, assignments), indent=2)
    if fmt == "numpy":
        from matcalc.printers.numpy_code import graph_code

        keys = (
            None if wrt is None else [k for k, a in derivation.iter_gradients() if a in assignments]
        )
        return graph_code(derivation, keys)
    notation = notation or graph_notation(derivation)
    blocks = graph_blocks(derivation, notation, assignments, steps, diagram)
    return document(blocks, fmt, derivation.note, title, "Back-propagation over named quantities")


def document(blocks: list[Block], fmt: str, comment: str, title: str, default: str) -> str:
    """The blocks as a tex document, Markdown, or a LaTeX fragment; a user's title escaped."""
    from matcalc.printers.render import user_title

    heading = user_title(title, "markdown" if fmt == "markdown" else "tex") if title else default
    if fmt == "tex":
        return tex_document(blocks, heading, comment)
    if fmt == "markdown":
        return markdown_document(blocks, heading, comment)
    return latex_body(blocks, comment)


__all__ = ["GRAPH_FORMATS", "document", "graph_blocks", "graph_record", "render_graph", "tikz"]
