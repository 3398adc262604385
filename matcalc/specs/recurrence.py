r"""Recurrences over a symbolic number of steps: a graph spec with ``steps = "T"``.

Names with the subscript ``_t`` are per step; a definition may use the step before,
``_{t-1}``; the state before the first step is declared in [shapes] (``H_0``); the loss may
be a sum over the steps, ``\sum_{t=1}^{T}`` followed by the per-step term (the rest of the
definition)::

    parameters = ["W", "U", "b", "V"]
    steps = "T"
    [shapes]
    H_0 = "h"
    x_t = "d"
    y_t = "k"
    W = "h x h"
    U = "h x d"
    b = "h"
    V = "k x h"
    [define]
    H_t = '\tanh(W H_{t-1} + U x_t + b)'
    L = '\sum_{t=1}^{T} \|V H_t - y_t\|^2'

:meth:`Recurrence.unroll` writes the spec out at a number of steps n (H_1, ..., H_n), an
ordinary graph spec (:class:`~matcalc.specs.graph.Graph`); the same text at T = n.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from matcalc.core.record import record
from matcalc.errors import MatcalcError
from matcalc.specs.graph import Graph, GraphError

STEPS_KEY = "steps"
MAX_STEPS = 64
"""The most steps a recurrence is unrolled at."""

_STEP_NAME = re.compile(r"^[A-Za-z]$")
_PER_STEP_KEY = re.compile(r"^(?P<base>.+?)_(?:t|\{t\})$")
# a subscript t, t-1, t+1, ...: _t, _{t}, _{t-1}, _{t+1}
_STEP_SUB = re.compile(r"_(?:t(?![A-Za-z0-9])|\{\s*t\s*(?:(?P<sign>[-+])\s*(?P<off>\d+)\s*)?\})")
_SUM = re.compile(r"\\sum_\{?\s*t\s*=\s*1\s*\}?\^\{?\s*(?P<top>[A-Za-z])\s*\}?")


@record
class Recurrence:
    """A graph spec over ``steps`` steps, written once for a generic step t."""

    data: Mapping[str, Any]
    steps: str
    per_step: tuple[str, ...]
    """The bases of the per-step names (x, y, H for x_t, y_t, H_t)."""
    recurrent: tuple[str, ...]
    """The bases of the per-step quantities of [define] (H for H_t)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recurrence:
        steps = data[STEPS_KEY]
        if not isinstance(steps, str) or not _STEP_NAME.match(steps.strip()) or steps == "t":
            raise GraphError(
                f'steps = {steps!r}: the name of the number of steps, one letter such as "T"'
            )
        steps = steps.strip()
        shapes = data.get("shapes", {})
        define = data.get("define", {})
        if not isinstance(shapes, Mapping) or not isinstance(define, Mapping):
            raise GraphError("[shapes] and [define] are tables")
        declared = [m["base"] for k in shapes if (m := _PER_STEP_KEY.match(str(k)))]
        defined = [m["base"] for k in define if (m := _PER_STEP_KEY.match(str(k)))]
        if not defined:
            raise GraphError(
                f"steps = {steps!r}: [define] has no per-step quantity; name one with the "
                "subscript t, e.g. H_t = '\\tanh(W H_{t-1} + U x_t + b)'"
            )
        per_step = tuple(declared + defined)
        for key, text in define.items():
            if not isinstance(text, str):
                continue
            for match in _STEP_SUB.finditer(text):
                sign, off = match["sign"], match["off"]
                if sign == "+" and off != "0":
                    raise GraphError(
                        f"[define] {key}: {match[0]} refers to a later step; a recurrence uses "
                        "only the step t and the step before, t-1"
                    )
                if sign == "-" and off != "1":
                    raise GraphError(
                        f"[define] {key}: {match[0]}; a recurrence uses only the step t and "
                        "the step before, t-1"
                    )
            for match in _SUM.finditer(text):
                if match["top"] != steps:
                    raise GraphError(
                        f"[define] {key}: the sum runs to {match['top']}; the steps are {steps}"
                    )
            if _STEP_SUB.search(text) and not _PER_STEP_KEY.match(key) and not _SUM.search(text):
                raise GraphError(
                    f"[define] {key}: uses the step t outside a sum; name it {key}_t, or sum "
                    f"it over the steps with \\sum_{{t=1}}^{{{steps}}}"
                )
        recurrence = cls(data, steps, per_step, tuple(defined))
        recurrence.unroll(3)  # every other error of the spec, at a concrete length
        return recurrence

    def at(self, text: str, step: int, count: int) -> str:
        """A definition's text at step ``step`` of ``count``: _t -> _3, _{t-1} -> _2, _T -> _5."""

        def sub(match: re.Match[str]) -> str:
            offset = int(match["off"] or 0) * (-1 if match["sign"] == "-" else 1)
            return f"_{{{step + offset}}}"

        text = _STEP_SUB.sub(sub, text)
        return re.sub(
            rf"_(?:{self.steps}(?![A-Za-z0-9])|\{{\s*{self.steps}\s*\}})", f"_{{{count}}}", text
        )

    def expand(self, text: str, count: int) -> str:
        r"""\sum_{t=1}^{T} S -> S_1 + ... + S_n, the summand being the rest of the text."""
        match = _SUM.search(text)
        if match is None:
            return self.at(text, 0, count) if _STEP_SUB.search(text) is None else text
        head, summand = text[: match.start()], text[match.end() :]
        if _STEP_SUB.search(head):
            raise GraphError(
                f"{head.strip()}: the step t outside the sum \\sum_{{t=1}}^{{{self.steps}}}"
            )
        if not summand.strip():
            raise GraphError(f"\\sum_{{t=1}}^{{{self.steps}}} with nothing after it")
        terms = [f"({self.at(summand, k, count)})" for k in range(1, count + 1)]
        return self.at(head, 0, count) + " + ".join(terms)

    def unroll_dict(self, count: int) -> dict[str, Any]:
        """The graph spec written out at ``count`` steps."""
        if not 1 <= count <= MAX_STEPS:
            raise GraphError(f"{count} steps: between 1 and {MAX_STEPS}")
        data = {k: v for k, v in self.data.items() if k != STEPS_KEY}
        shapes: dict[str, Any] = {}
        for key, shape in self.data.get("shapes", {}).items():
            match = _PER_STEP_KEY.match(str(key))
            if match is None:
                shapes[key] = shape
            else:
                shapes.update({f"{match['base']}_{k}": shape for k in range(1, count + 1)})
        # the quantities of no step before the first per-step one, then step by step, then
        # the rest (the loss)
        head: dict[str, Any] = {}
        per_step: dict[str, str] = {}
        tail: dict[str, Any] = {}
        for key, text in self.data.get("define", {}).items():
            match = _PER_STEP_KEY.match(str(key))
            if match is not None and isinstance(text, str):
                per_step[match["base"]] = text
            else:
                written = self.expand(text, count) if isinstance(text, str) else text
                (tail if per_step else head)[key] = written
        define = dict(head)
        for k in range(1, count + 1):
            for base, text in per_step.items():
                define[f"{base}_{k}"] = self.at(text, k, count)
        define.update(tail)
        data["shapes"], data["define"] = shapes, define
        return data

    def unroll(self, count: int) -> Graph:
        """The graph spec at ``count`` steps, as a graph."""
        try:
            return Graph.from_dict(self.unroll_dict(count))
        except GraphError:
            raise
        except MatcalcError as error:  # an error of the context, at a concrete length
            raise GraphError(f"unrolled at {self.steps} = {count}: {error}") from None


def is_recurrence_spec(data: Mapping[str, Any]) -> bool:
    """A graph spec (parameters, no layers) with ``steps``."""
    return "layer" not in data and STEPS_KEY in data


def mentions_step(text: str) -> bool:
    """Whether LaTeX text has a subscript t, t-1 or t+1."""
    return _STEP_SUB.search(text) is not None


__all__ = ["MAX_STEPS", "STEPS_KEY", "Recurrence", "is_recurrence_spec", "mentions_step"]
