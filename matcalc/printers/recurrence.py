r"""Recurrences over T steps in every format: back-propagation through time as a recursion.

Printed as the 6.390 notes write BPTT (Recurrent Neural Networks, "Back-propagation through
time"): the forward equations at a step t, the loss as a sum over the steps, then

    dL/dH_T = ...,   dL/dH_t = ... (in terms of dL/dH_{t+1}, for t < T),
    dL/dW = \sum_{t=1}^{T} (the term of step t),

where dL/dH_t is the gradient of the whole loss by H_t, through every later step.  ``numpy``
needs a number of steps (``--unroll N``: the unrolled graph in any format).
"""

from __future__ import annotations

import json
from dataclasses import replace

from matcalc.core.expr import Add, Expr
from matcalc.engine.backprop import backprop
from matcalc.engine.bptt import BPTT, StepSum
from matcalc.errors import MatcalcError
from matcalc.printers.braces import Row, shaped
from matcalc.printers.document import (
    Block,
    Display,
    Heading,
    Paragraph,
)
from matcalc.printers.graph import (
    GRAPH_FORMATS,
    assignment_rows,
    diagram_blocks,
    document,
    graph_notation,
)
from matcalc.printers.latex import Notation, shape_latex, to_latex
from matcalc.printers.steps import rules_note
from matcalc.specs.context import name_key

DIAGRAM_STEPS = 3
"""The steps the diagram is drawn unrolled over."""

SOURCE = '6.390 notes, Recurrent Neural Networks, "Back-propagation through time"'


def recurrence_notation(bptt: BPTT) -> Notation:
    """Names as the spec writes them; a transpose is X^\\top when the steps are named T, so
    that W^\\top and H_T do not read alike."""
    notation = graph_notation(bptt.unrolled)
    return replace(notation, transpose=r"\top") if bptt.recurrence.steps == "T" else notation


def _sum_latex(line: StepSum, steps: str, notation: Notation) -> str:
    parts = []
    if line.term is not None:
        term = to_latex(line.term, notation)
        if isinstance(line.term, Add):
            term = f"\\left({term}\\right)"
        parts.append(f"\\sum_{{t=1}}^{{{steps}}} {term}")
    if line.rest is not None:
        parts.append(to_latex(line.rest, notation))
    return " + ".join(parts)


def _relabel_steps(text: str, steps: str) -> str:
    """The generic subscripts T, T-1 as the spec names the number of steps."""
    if steps == "T":
        return text
    return text.replace("_{T}", f"_{{{steps}}}").replace("_{T-1}", f"_{{{steps}-1}}")


def _sentence(bptt: BPTT, notation: Notation) -> str:
    graph = bptt.unrolled.graph
    steps = bptt.recurrence.steps

    def listed(symbols) -> str:
        return ", ".join(
            f"${to_latex(s, notation)}$ (${shape_latex(s.shape, notation)}$)" for s in symbols
        )

    state = to_latex(bptt.forward[0][0], notation) if bptt.forward else "H_{t}"
    return (
        f"A recurrence over ${steps}$ steps given by its forward equations at a step $t$ "
        f"(data at every step, the state before the first step declared); parameters "
        f"{listed(graph.parameters)}, shared by every step; the loss is "
        f"${to_latex(graph.loss, notation)}$. Layout: {graph.context.layout} (a gradient has "
        f"the shape of its variable). Back-propagation through time ({SOURCE}): "
        f"$\\partial {to_latex(graph.loss, notation)} / \\partial {state}$ is the gradient of the "
        f"whole loss by the quantity at step $t$, through every later step; it is computed "
        f"from the last step ${steps}$ back, each step from the step after it, and each "
        f"shared parameter's gradient is a sum over the steps."
        + (" A transpose is written $X^\\top$." if notation.transpose == r"\top" else "")
    )


def forward_rows(bptt: BPTT, notation: Notation) -> list[Row]:
    steps = bptt.recurrence.steps
    rows = [
        Row(shaped(to_latex(q, notation), q.shape, notation), to_latex(e, notation))
        for q, e in bptt.forward
    ]
    loss, line = bptt.loss
    rows.append(
        Row(
            shaped(to_latex(loss, notation), loss.shape, notation),
            _sum_latex(line, steps, notation),
        )
    )
    return [
        replace(r, lhs=_relabel_steps(r.lhs, steps), rhs=_relabel_steps(r.rhs, steps)) for r in rows
    ]


def backward_rows(bptt: BPTT, notation: Notation, wrt: str | None, notes: bool) -> list[Row]:
    steps = bptt.recurrence.steps
    rows: list[Row] = []
    for assignment in bptt.last:
        rows += assignment_rows(assignment, notation, notes)
    for assignment in bptt.general:
        lines = assignment_rows(assignment, notation, notes)
        lines[-1] = replace(lines[-1], rhs=f"{lines[-1].rhs} \\qquad (t < {steps})")
        rows += lines
    names = [name for name, _, _ in bptt.parameters]
    wrt = None if wrt is None else name_key(wrt)
    if wrt is not None and wrt not in names:
        raise MatcalcError(
            f"--wrt {wrt}: no parameter {wrt!r}; the parameters are {', '.join(names)}"
        )
    for (name, target, line), (_, assignment) in zip(
        bptt.parameters, bptt.unrolled.iter_gradients(), strict=True
    ):
        if wrt is not None and name != wrt:
            continue
        note = rules_note(assignment.rules) if notes else ""
        lhs = shaped(to_latex(target, notation), target.shape, notation)
        rows.append(Row(lhs, _sum_latex(line, steps, notation), note=note))
    return [
        replace(r, lhs=_relabel_steps(r.lhs, steps), rhs=_relabel_steps(r.rhs, steps)) for r in rows
    ]


def recurrence_blocks(
    bptt: BPTT, notation: Notation, wrt: str | None, steps: bool, diagram: bool
) -> list[Block]:
    blocks: list[Block] = [Paragraph(_sentence(bptt, notation))]
    if diagram:
        blocks.append(Heading(f"The graph, unrolled over {DIAGRAM_STEPS} steps", 2))
        small = backprop(bptt.recurrence.unroll(DIAGRAM_STEPS))
        blocks += diagram_blocks(small, notation)
    blocks.append(Heading(f"Forward, at a step t = 1, ..., {bptt.recurrence.steps}", 2))
    blocks.append(Display(tuple(forward_rows(bptt, notation))))
    blocks.append(Heading("Backward through time, from the last step", 2))
    blocks.append(Display(tuple(backward_rows(bptt, notation, wrt, steps)), notes=steps))
    return blocks


def recurrence_record(bptt: BPTT, wrt: str | None = None) -> dict:
    notation = recurrence_notation(bptt)
    graph = bptt.unrolled.graph
    steps = bptt.recurrence.steps

    def text(expr: Expr) -> str:
        return _relabel_steps(to_latex(expr, notation), steps)

    def record(assignment, holds: str) -> dict:
        return {
            "target": text(assignment.target),
            "shape": shape_latex(assignment.shape, notation),
            "value": text(assignment.value),
            "holds": holds,
            "rules": [rule.name for rule in assignment.rules],
        }

    gradients = []
    for (name, target, line), (_, assignment) in zip(
        bptt.parameters, bptt.unrolled.iter_gradients(), strict=True
    ):
        if wrt is None or name_key(wrt) == name:
            gradients.append(
                {
                    "name": name,
                    "target": text(target),
                    "shape": shape_latex(target.shape, notation),
                    "value": _relabel_steps(_sum_latex(line, steps, notation), steps),
                    "term": None if line.term is None else text(line.term),
                    "rules": [rule.name for rule in assignment.rules],
                }
            )
    return {
        "kind": "recurrence",
        "steps": steps,
        "layout": graph.context.layout,
        "note": recurrence_note(bptt),
        "loss": graph.loss_key,
        "parameters": list(graph.parameter_keys),
        "forward": [{"name": text(q), "value": text(e)} for q, e in bptt.forward],
        "assignments": [record(a, f"t = {steps}") for a in bptt.last]
        + [record(a, f"t < {steps}") for a in bptt.general],
        "gradients": gradients,
    }


def recurrence_note(bptt: BPTT) -> str:
    return (
        f"back-propagation through time over {bptt.recurrence.steps} steps, read off the spec "
        f"unrolled; {bptt.unrolled.note.split('; ', 1)[1]}"
    )


def render_recurrence(
    bptt: BPTT,
    fmt: str,
    wrt: str | None = None,
    steps: bool = False,
    diagram: bool = False,
    title: str = "",
) -> str:
    """The recursion of a recurrence over T steps in the named format."""
    if fmt not in GRAPH_FORMATS or fmt == "pdf":
        raise MatcalcError(f"--format {fmt}: one of {', '.join(GRAPH_FORMATS)}")
    if fmt == "numpy":
        raise MatcalcError(
            f"--format numpy: a recurrence over {bptt.recurrence.steps} steps needs a number of "
            "steps for code; add --unroll N (e.g. --unroll 5)"
        )
    if fmt == "json":
        return json.dumps(recurrence_record(bptt, wrt), indent=2)
    notation = recurrence_notation(bptt)
    blocks = recurrence_blocks(bptt, notation, wrt, steps, diagram)
    return document(blocks, fmt, recurrence_note(bptt), title, "Back-propagation through time")


__all__ = ["recurrence_blocks", "recurrence_record", "render_recurrence"]
