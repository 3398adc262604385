"""One request of the playground or one answer of the grader, as plain data in and out.

Everything here takes spec *text* (TOML), never a path: the page and the HTTP API cannot make
matcalc read a file.  A case is the JSON object of one ``verify --batch`` line,
``{"spec": TOML text, "equation": LaTeX, "id": optional}``, and its record is the one
``verify --json`` prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from matcalc.errors import MatcalcError
from matcalc.printers.latex import DERIVATIVE_STYLES, LAYER_STYLES, SIZE_STYLES, Notation
from matcalc.reading.parse import ParseError
from matcalc.specs.context import Context, spec_from_toml
from matcalc.specs.network import Network

MAX_SPEC = 100_000
"""Characters of spec text in one request (the spec reader's own bound)."""
MAX_FORMULA = 4_000
"""Characters of one formula: a gradient formula of a course fits in a few hundred."""
MAX_NAME = 200
"""Characters of a short field: an id, a --wrt, a title."""

DERIVE_FORMATS = ("latex", "tex", "markdown", "json", "numpy")
CONTEXT_DERIVE_FORMATS = ("latex", "markdown", "json")
GRAPH_DERIVE_FORMATS = ("latex", "tex", "markdown", "json", "numpy")
LOSS_NAMES = {"mathcal": r"\mathcal{L}", "L": "L", "loss": r"\text{loss}", "J": "J"}
TRANSPOSES = {"T": "T", "top": r"\top"}


class CaseError(MatcalcError):
    """A request that is not a case: a missing field, a wrong type, text too long."""


def text_field(data: Mapping[str, Any], key: str, limit: int, required: bool = True) -> str | None:
    """``data[key]`` as a string of at most ``limit`` characters."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        kind = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise CaseError(f'"{key}" is {kind}')
    if len(value) > limit:
        raise CaseError(f'"{key}" has {len(value)} characters; at most {limit}')
    return value


def read_spec(text: str) -> Network | Context:
    """A network or an expression context from TOML text (never a path)."""
    return _spec(text)


@lru_cache(maxsize=64)
def _spec(text: str) -> Network | Context:
    return spec_from_toml(text)


def normalized(formula: str) -> str:
    """The formula with runs of white space as one space: the same LaTeX to the reader."""
    return re.sub(r"\s+", " ", formula).strip()


def case_record(case: Mapping[str, Any], markdown: bool = False) -> dict:
    """One case ``{"spec": TOML text, "equation": LaTeX, "id": optional}`` -> its verdict record.

    With ``markdown``, two more keys for a page: ``reason_markdown`` and ``diagnosis_markdown``,
    the same sentences with their LaTeX between dollar signs.
    """
    if not isinstance(case, Mapping):
        raise CaseError('a case is a JSON object {"spec": ..., "equation": ...}')
    spec = text_field(case, "spec", MAX_SPEC)
    equation = text_field(case, "equation", MAX_FORMULA)
    record = dict(checked(spec, normalized(equation), markdown))
    record["equation"] = equation
    if "id" in case:
        record = {"id": case["id"], **record}
    return record


@lru_cache(maxsize=4096)
def _checked(spec: str, equation: str, markdown: bool) -> str:
    from matcalc.checks.verify import verdict_of

    verdict = verdict_of(read_spec(spec), equation)
    record = verdict.to_dict()
    if markdown:
        reason_md = verdict.reason_markdown or verdict.reason
        record["reason_markdown"] = reason_md
        record["diagnosis_markdown"] = _diagnosis_markdown(verdict.diagnosis, reason_md)
    return json.dumps(record)


def checked(spec: str, equation: str, markdown: bool = False) -> dict:
    """The verdict record of ``equation`` on the spec text, computed once per distinct pair."""
    return json.loads(_checked(spec, equation, markdown))


def _diagnosis_markdown(diagnosis: str | None, reason_markdown: str) -> str | None:
    """The diagnosis as it stands, math in dollars, at the end of the Markdown reason."""
    if not diagnosis:
        return None
    for start in range(len(reason_markdown)):
        taken, i = 0, start
        while i < len(reason_markdown) and taken < len(diagnosis):
            if reason_markdown[i] == "$":
                i += 1
                continue
            if reason_markdown[i] != diagnosis[taken]:
                break
            taken, i = taken + 1, i + 1
        if taken == len(diagnosis):
            piece = reason_markdown[start:i]
            return piece + "$" if piece.count("$") % 2 else piece
    return diagnosis


def error_record(error: MatcalcError, equation: str | None = None) -> dict:
    """The JSON of a 400: the one-line message; for a formula that cannot be read, where."""
    record: dict[str, Any] = {"error": str(error)}
    if isinstance(error, ParseError):
        record["reason"] = error.reason
        record["position"] = error.position
        record["in_equation"] = equation is not None and error.text == equation
    return record


def notation_of(options: Mapping[str, Any] | None, network: Network) -> Notation:
    """The convention's notation with the page's options (the CLI's notation flags)."""
    notation = Notation.of(network.declaration)
    if not options:
        return notation
    if not isinstance(options, Mapping):
        raise CaseError('"notation" is an object such as {"layer_index": "bracket"}')
    choices: dict[str, tuple[str, Any]] = {
        "layer_index": ("layer_style", {k: k for k in LAYER_STYLES}),
        "transpose": ("transpose", TRANSPOSES),
        "loss_name": ("loss", LOSS_NAMES),
        "sizes": ("sizes", {k: k for k in SIZE_STYLES}),
        "activation_derivative": ("derivative", {k: k for k in DERIVATIVE_STYLES}),
    }
    changes: dict[str, object] = {}
    for key, value in options.items():
        if key in ("ell", "shapes"):
            if not isinstance(value, bool):
                raise CaseError(f'notation "{key}" is true or false')
            changes[key] = value
        elif key in choices:
            field, table = choices[key]
            if value is None or value == "":
                continue
            if not isinstance(value, str) or value not in table:
                raise CaseError(f'notation "{key}": one of {", ".join(table)}')
            changes[field] = table[value]
        else:
            known = ", ".join([*choices, "ell", "shapes"])
            raise CaseError(f'unknown notation option "{key}"; known: {known}')
    return notation.with_(**changes)


def derive_output(request: Mapping[str, Any]) -> str:
    """``{"spec": TOML text, "format": ..., "wrt": optional, ...}`` -> the derivation's text.

    Optional keys: ``of`` (an expression context's function), ``notation`` (an object of the
    CLI's notation options), ``steps``, ``diagram`` (booleans) and ``title``.
    """
    from matcalc.printers.context import render_context
    from matcalc.printers.render import Layout, render_derivation

    if not isinstance(request, Mapping):
        raise CaseError('a derive request is a JSON object {"spec": ..., "format": ...}')
    spec = text_field(request, "spec", MAX_SPEC)
    fmt = text_field(request, "format", MAX_NAME, required=False) or "latex"
    wrt = text_field(request, "wrt", MAX_NAME, required=False) or None
    of = text_field(request, "of", MAX_NAME, required=False) or None
    title = text_field(request, "title", MAX_NAME, required=False) or ""
    flags = {}
    for key in ("steps", "diagram"):
        value = request.get(key, False)
        if not isinstance(value, bool):
            raise CaseError(f'"{key}" is true or false')
        flags[key] = value
    subject = read_spec(spec)
    from matcalc.specs.graph import Graph
    from matcalc.specs.recurrence import Recurrence

    if isinstance(subject, Graph | Recurrence):
        if fmt not in GRAPH_DERIVE_FORMATS:
            raise CaseError(f'"format" {fmt!r}: one of {", ".join(GRAPH_DERIVE_FORMATS)}')
        return _graph_output(subject, fmt, wrt, flags["steps"], flags["diagram"], title)
    if isinstance(subject, Context):
        if fmt not in CONTEXT_DERIVE_FORMATS:
            raise CaseError(
                f'"format" {fmt!r}: an expression context prints as '
                f"{', '.join(CONTEXT_DERIVE_FORMATS)}"
            )
        return render_context(subject, fmt, of, wrt)
    if fmt not in DERIVE_FORMATS:
        raise CaseError(f'"format" {fmt!r}: one of {", ".join(DERIVE_FORMATS)}')
    if of is not None:
        raise CaseError('"of" is for an expression context; a network\'s loss is its function')
    notation = notation_of(request.get("notation"), subject)
    layout = Layout(steps=flags["steps"], diagram=flags["diagram"], title=title)
    return render_derivation(_derivation(spec), fmt, wrt, notation, layout)


def _graph_output(subject, fmt: str, wrt, steps: bool, diagram: bool, title: str) -> str:  # noqa: ANN001
    """A graph spec (or a recurrence over T steps) in one of its formats."""
    from matcalc.specs.recurrence import Recurrence

    if isinstance(subject, Recurrence):
        from matcalc.engine.bptt import bptt
        from matcalc.printers.recurrence import render_recurrence

        return render_recurrence(bptt(subject), fmt, wrt, steps, diagram, title)
    from matcalc.engine.backprop import backprop
    from matcalc.printers.graph import render_graph

    return render_graph(backprop(subject), fmt, wrt, steps, diagram, title)


@lru_cache(maxsize=32)
def _derivation(spec: str):
    from matcalc.engine.derive import derive

    return derive(read_spec(spec))


__all__ = [
    "MAX_FORMULA",
    "MAX_SPEC",
    "CaseError",
    "case_record",
    "checked",
    "derive_output",
    "error_record",
    "normalized",
    "notation_of",
    "read_spec",
]
