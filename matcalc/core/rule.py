"""A rule of matcalc's table: one identity, what it says, where it comes from, how to apply it.

The table itself is :mod:`matcalc.engine.rules`; the losses, which specs need to state a
network's objective, are declared beside their data in :mod:`matcalc.core.losses`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from matcalc.core.expr import Expr
from matcalc.core.record import record
from matcalc.errors import MatcalcError

COOKBOOK = "Matrix Cookbook"
NOTES = "MIT 6.390 notes, Neural Networks"


class Kind(Enum):
    PULLBACK = "pullback"
    JACOBIAN = "jacobian"
    REWRITE = "rewrite"
    LOSS = "loss"
    FUSED = "fused"
    IDENTITY = "identity"


@record
class Rule:
    """One identity: what it says, where it comes from, and how to apply it."""

    name: str
    kind: Kind
    statement: str
    source: str
    apply: Callable[..., Any]
    example: Callable[[], Any]
    node: type | None = None
    activation: str | None = None
    loss: str | None = None
    applies: Callable[[Expr], bool] | None = None
    position: int | None = None


class NoRuleError(MatcalcError):
    """The engine met an expression that no rule in the table covers."""


__all__ = ["COOKBOOK", "NOTES", "Kind", "NoRuleError", "Rule"]
