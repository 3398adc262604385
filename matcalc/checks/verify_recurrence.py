r"""verify for a recurrence over T steps: a backprop-through-time line written with t, t+1, T.

The equation is checked on the spec unrolled at several numbers of steps n: a line whose left
side is at a step t (``\frac{\partial L}{\partial H_t} = ...``, in terms of step t+1) at every
step t < n; a line at the last step (``H_T``) or of a parameter at n alone; a sum
``\sum_{t=1}^{T} ...`` on the right is written out.  Each instance is a graph-spec verdict
of the one pipeline (:class:`~matcalc.checks.expression.GraphStrategy`, the unrolled graph's
values drawn once per number of steps); the first one wrong is the verdict.
"""

from __future__ import annotations

import re
from dataclasses import replace

from matcalc.checks.expression import GraphStrategy, GraphValues, verify_expression
from matcalc.checks.verify import Verdict, VerifyError
from matcalc.specs.recurrence import Recurrence, mentions_step

CHECKED_AT = (2, 3, 5)
"""The numbers of steps a line is checked at."""


def verify_recurrence(recurrence: Recurrence, equation: str) -> Verdict:
    """Whether ``equation`` holds for the recurrence at every number of steps checked."""
    lhs, equals, rhs = equation.partition("=")
    if not equals:
        raise VerifyError(
            "an equation is expected: the gradient on the left, the formula on the right, "
            "like \\frac{\\partial L}{\\partial H_t} = ..."
        )
    at_t = mentions_step(lhs)
    if at_t and re.search(r"\\sum", rhs):
        raise VerifyError("a line at a step t has no sum over t; a parameter's gradient has")
    first: Verdict | None = None
    for count in CHECKED_AT:
        steps = range(1, count) if at_t else (count,)
        graph = recurrence.unroll(count)
        values = GraphValues(graph)  # drawn once for every step t at this count
        for step in steps:
            instance = (
                f"{recurrence.at(lhs, step, count)}={recurrence.expand(rhs, count)}"
                if not at_t
                else f"{recurrence.at(lhs, step, count)}={recurrence.at(rhs, step, count)}"
            )
            verdict = verify_expression(GraphStrategy(graph, values), instance)
            where = f"{recurrence.steps} = {count}" + (f", t = {step}" if at_t else "")
            if not verdict.correct:
                return replace(verdict, reason=f"at {where}: {verdict.reason}", equation=equation)
            first = first or verdict
    assert first is not None
    checked = ", ".join(str(c) for c in CHECKED_AT)
    scope = f"at every step t < {recurrence.steps}, " if at_t else ""
    return replace(
        first,
        reason=f"{first.reason} ({scope}unrolled at {recurrence.steps} = {checked})",
        equation=equation,
    )


__all__ = ["CHECKED_AT", "verify_recurrence"]
