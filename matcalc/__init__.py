"""matcalc: symbolic matrix-calculus derivations for neural networks.

The public names load on first use, so ``import matcalc`` stays cheap (SymPy and NumPy are
imported only when a network is built).
"""

from importlib import import_module
from typing import TYPE_CHECKING

_PUBLIC = {
    "Derivation": "matcalc.engine.derive",
    "Gradient": "matcalc.engine.derive",
    "derive": "matcalc.engine.derive",
    "MatcalcError": "matcalc.errors",
    "Layer": "matcalc.specs.network",
    "Network": "matcalc.specs.network",
    "SpecError": "matcalc.specs.network",
    "Verdict": "matcalc.checks.verify",
    "verify": "matcalc.checks.verify",
}

__all__ = [
    "Derivation",
    "Gradient",
    "Layer",
    "MatcalcError",
    "Network",
    "SpecError",
    "Verdict",
    "derive",
    "verify",
]

if TYPE_CHECKING:
    from matcalc.checks.verify import Verdict, verify
    from matcalc.engine.derive import Derivation, Gradient, derive
    from matcalc.errors import MatcalcError
    from matcalc.specs.network import Layer, Network, SpecError


def __getattr__(name: str) -> object:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'matcalc' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
