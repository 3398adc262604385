"""An expression context's derivatives printed: LaTeX, Markdown or JSON, with the layout
stated; Hessians and matrix-by-matrix derivatives in their textbook forms."""

from __future__ import annotations

import json

from matcalc.core.shapes import is_column, is_scalar, shape_text
from matcalc.engine import context as derivatives
from matcalc.engine.context import (
    GAUSS_NEWTON_ASKS,
    context_gradients,
    is_matrix_derivative,
    matrix_derivative,
)
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
    hvp: str | None = None,
    gauss_newton: bool = False,
) -> str:
    """The derivatives of an expression context as LaTeX, Markdown or JSON; with ``hessian``
    the Hessians of the scalar functions by columns, with ``hvp`` (a column v) the products
    H v, with ``gauss_newton`` the Gauss-Newton matrices J^T H_l J; for a matrix (or column)
    by a matrix, the differential and the vec/Kronecker and entrywise forms."""
    if fmt not in CONTEXT_FORMATS:
        raise ContextError(
            f"--format {fmt}: an expression context prints as {', '.join(CONTEXT_FORMATS)}"
        )
    if sum((hessian, hvp is not None, gauss_newton)) > 1:
        raise ContextError("--hessian, --hvp and --gauss-newton: ask for one at a time")
    if hvp is not None or gauss_newton:
        return _render_curvature(context, fmt, of, wrt, hvp)

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
            value = derivatives.with_names(context, value, (context.lookup(g.of), variable))
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
    return _document(context, note, records, lines, fmt)


GAUSS_NEWTON_NOTE = (
    "Gauss-Newton: f = l(z) for an output z of x; G = J^T H_l J with J = dz/dx^T, the "
    "Hessian of f without the second derivatives of z (equal to it where z is linear in x)"
)
HVP_NOTE = "Hessian-vector product: H v = d(grad f)[v], the gradient's differential at dx = v"


def _curvature_pairs(context: Context, of: str | None, wrt: str | None) -> list[tuple[str, str]]:
    pairs = []
    for g in context_gradients(context, of, wrt):
        if is_scalar(context.lookup(g.of).shape) and is_column(context.wrt_symbol(g.wrt).shape):
            pairs.append((g.of, g.wrt))
    return pairs


def _render_curvature(
    context: Context, fmt: str, of: str | None, wrt: str | None, hvp: str | None
) -> str:
    """H v for the column ``hvp``, or (without it) the Gauss-Newton matrices, of each scalar
    function by each column it depends on."""
    what = f"--hvp {hvp}" if hvp is not None else "--gauss-newton"
    pairs = _curvature_pairs(context, of, wrt)
    if hvp is not None and wrt is None:  # by every column that v is a direction of
        vector = context.lookup(hvp)
        pairs = [
            (f, x)
            for f, x in pairs
            if context.wrt_symbol(x) != vector and context.wrt_symbol(x).shape == vector.shape
        ]
    if not pairs:
        if wrt is not None and not is_column(context.wrt_symbol(wrt).shape):
            shape = shape_text(context.wrt_symbol(wrt).shape)
            raise ContextError(f"{what}: formed by a column; {wrt} is {shape}")
        raise ContextError(f"{what}: no scalar function of a column to take it of")
    records: list[dict[str, str]] = []
    lines: list[str] = []
    for f_key, x_key in pairs:
        function, variable = context.lookup(f_key), context.wrt_symbol(x_key)
        if hvp is None and wrt is None and not derivatives.has_output(context, f_key, x_key):
            continue
        f, x = to_latex(function), to_latex(variable)
        hessian_text = f"\\frac{{\\partial^2 {f}}}{{\\partial {x}\\,\\partial {x}^{{T}}}}"
        if hvp is not None:
            value = derivatives.hessian_vector_product(context, f_key, x_key, hvp)
            value = derivatives.with_names(context, value, (function, variable))
            target = f"{hessian_text}\\,{to_latex(context.lookup(hvp))}"
            records.append(
                {"of": f_key, "wrt": x_key, "vector": name_key(hvp), "target": target,
                 "value": to_latex(value), "shape": shape_text(value.shape)}
            )  # fmt: skip
            lines.append(f"{target} &= {to_latex(value)} && {shape_text(value.shape)}")
            continue
        gn = derivatives.gauss_newton(context, f_key, x_key)
        keep = (function, variable)

        def named(expr, keep=keep):
            return to_latex(derivatives.with_names(context, expr, keep))

        z = to_latex(gn.output) if gn.named else f"\\left({to_latex(gn.output)}\\right)"
        record = {
            "of": f_key,
            "wrt": x_key,
            "output": to_latex(gn.output),
            "jacobian": named(gn.jacobian),
            "curvature": named(gn.curvature),
            "value": named(gn.value),
            "shape": shape_text(gn.value.shape),
        }
        records.append(record)
        if gn.named:
            definition = next(
                context.definitions[k] for k, s in context.names.items() if s == gn.output
            )
            lines.append(f"{z} &= {named(definition, (*keep, gn.output))}")
        jacobian_shape = shape_text(gn.jacobian.shape)
        curvature_shape = shape_text(gn.curvature.shape)
        lines += [
            f"J = \\frac{{\\partial {z}}}{{\\partial {x}^{{T}}}} &= {record['jacobian']}"
            f" && {jacobian_shape}",
            f"H_{{\\ell}} = \\frac{{\\partial^2 {f}}}{{\\partial {z}\\,\\partial {z}^{{T}}}} "
            f"&= {record['curvature']} && {curvature_shape}",
            f"{hessian_text} \\approx J^{{T}} H_{{\\ell}} J &= {record['value']}"
            f" && {record['shape']}",
        ]
    if not records:
        raise ContextError(f"{what}: {GAUSS_NEWTON_ASKS}")
    note = HVP_NOTE if hvp is not None else GAUSS_NEWTON_NOTE
    return _document(context, note, records, lines, fmt)


def _document(context: Context, note: str, records: list[dict], lines: list[str], fmt: str) -> str:
    """The records as JSON, or the lines as one aligned block of Markdown or LaTeX under the
    note."""
    if fmt == "json":
        return json.dumps(
            {"layout": context.layout, "note": note, "derivatives": records}, indent=2
        )
    body = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    if fmt == "markdown":
        return f"{note}\n\n$$\n{body}\n$$\n"
    return f"% {note}\n\\[\n{body}\n\\]\n"


__all__ = ["CONTEXT_FORMATS", "render_context"]
