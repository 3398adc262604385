"""matcalc: symbolic matrix-calculus derivations for neural networks.

The public names load on first use, so ``import matcalc`` stays cheap (SymPy and NumPy are
imported only when a network is built).
"""

from importlib import import_module
from typing import TYPE_CHECKING

DISTRIBUTION = "matcalc-nn"
"""The name on PyPI (``pip install matcalc-nn``); the import package is ``matcalc``."""

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
    "__version__",
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


def _version() -> str:
    """The installed distribution's version; in a source tree that is not installed, the one
    pyproject.toml declares."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    import tomllib
    from pathlib import Path

    try:
        with (Path(__file__).resolve().parent.parent / "pyproject.toml").open("rb") as handle:
            project = tomllib.load(handle)["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0+unknown"
    return str(project["version"]) if project.get("name") == DISTRIBUTION else "0+unknown"


def __getattr__(name: str) -> object:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'matcalc' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC) | {"__version__"})
