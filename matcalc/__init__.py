"""matcalc: symbolic matrix-calculus derivations for neural networks."""

from matcalc.derive import Derivation, Gradient, derive
from matcalc.errors import MatcalcError
from matcalc.network import Layer, Network, SpecError

__all__ = ["Derivation", "Gradient", "Layer", "MatcalcError", "Network", "SpecError", "derive"]
