"""An expression context's derivatives printed: LaTeX, Markdown or JSON, with the layout
stated; Hessians and matrix-by-matrix derivatives in their textbook forms."""

from __future__ import annotations

import json

from matcalc.core.shapes import is_column, is_scalar, shape_text
from matcalc.engine import context as derivatives
from matcalc.engine.context import context_gradients, is_matrix_derivative, matrix_derivative
from matcalc.printers.differential import VEC_NOTE, matrix_derivative_lines
from matcalc.printers.latex import to_latex
from matcalc.specs.context import LAYOUT_NOTES, Context, ContextError, name_key

CONTEXT_FORMATS = ("latex", "markdown", "json")


def render_context(
    context: Context,
    fmt: str,
    of: str | None = None,
    wrt: str | None = None,
    hessian: bool = False,
) -> str:
    """The derivatives of an expression context as LaTeX, Markdown or JSON; with ``hessian``
    the Hessians of the scalar functions by columns; for a matrix (or column) by a matrix, the
    differential and the vec/Kronecker and entrywise forms."""
    if fmt not in CONTEXT_FORMATS:
        raise ContextError(
            f"--format {fmt}: an expression context prints as {', '.join(CONTEXT_FORMATS)}"
        )

    if hessian or (of is not None and wrt is not None and is_matrix_derivative(context, of, wrt)):
        return _render_second_kind(context, fmt, of, wrt, hessian)
    gradients = context_gradients(context, of, wrt)
    note = LAYOUT_NOTES[context.layout]
    if fmt == "json":
        records = [
            {
                "of": g.of,
                "wrt": g.wrt,
                "target": to_latex(g.target),
                "shape": shape_text(g.value.shape),
                "value": to_latex(g.value),
            }
            for g in gradients
        ]
        return json.dumps({"layout": context.layout, "note": note, "gradients": records}, indent=2)
    lines = [
        f"{to_latex(g.target)} &= {to_latex(g.value)} && {shape_text(g.value.shape)}"
        for g in gradients
    ]
    body = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    if fmt == "markdown":
        return f"{note}\n\n$$\n{body}\n$$\n"
    return f"% {note}\n\\[\n{body}\n\\]\n"


def _render_second_kind(
    context: Context, fmt: str, of: str | None, wrt: str | None, hessian: bool
) -> str:
    """Hessians (``hessian``) or one matrix-by-matrix derivative, in the context's formats."""

    records: list[dict[str, str]] = []
    lines: list[str] = []
    if hessian:
        note = "Hessian: H_{ij} = d^2 f / dx_i dx_j, from d(grad f) = H dx (symmetric)"
        for g in context_gradients(context, of, wrt):
            variable = context.wrt_symbol(g.wrt)
            if not (is_scalar(context.lookup(g.of).shape) and is_column(variable.shape)):
                continue
            value = derivatives.hessian(context, g.of, g.wrt)
            f, x = to_latex(context.lookup(g.of)), to_latex(variable)
            target = f"\\frac{{\\partial^2 {f}}}{{\\partial {x}\\,\\partial {x}^{{T}}}}"
            records.append(
                {
                    "of": g.of,
                    "wrt": g.wrt,
                    "target": target,
                    "value": to_latex(value),
                    "shape": shape_text(value.shape),
                }
            )
            lines.append(f"{target} &= {to_latex(value)} && {shape_text(value.shape)}")
        if not records:
            raise ContextError("--hessian: no scalar function of a column to take the Hessian of")
    else:
        note = VEC_NOTE
        function, differential = matrix_derivative(context, of, wrt)
        variable = context.wrt_symbol(wrt)
        lines = matrix_derivative_lines(function, context.lookup(of), variable, differential)
        names = ("differential", "vec", "entrywise")
        records = [
            {
                "of": name_key(of),
                "wrt": name_key(wrt),
                **{n: l.split(" &= ")[1] for n, l in zip(names, lines, strict=True)},
            }
        ]
    if fmt == "json":
        return json.dumps(
            {"layout": context.layout, "note": note, "derivatives": records}, indent=2
        )
    body = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    if fmt == "markdown":
        return f"{note}\n\n$$\n{body}\n$$\n"
    return f"% {note}\n\\[\n{body}\n\\]\n"


__all__ = ["CONTEXT_FORMATS", "render_context"]
