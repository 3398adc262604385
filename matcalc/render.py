"""Output formats of a derivation: one function per format, chosen by name."""

from __future__ import annotations

import json
from collections.abc import Callable

from matcalc.derive import Derivation, Gradient
from matcalc.errors import MatcalcError
from matcalc.latex import (
    DEFAULT,
    Notation,
    convention_derivation_latex,
    shape_latex,
    to_latex,
)

FORMATS = ("latex", "json", "numpy")


def render_derivation(
    derivation: Derivation, fmt: str, wrt: str | None = None, notation: Notation | None = None
) -> str:
    """The derivation in the named format, all gradients or only ``wrt``.

    Without a ``notation``, the network's convention's own (6.390's is the default).
    """
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise MatcalcError(f"--format {fmt}: one of {', '.join(RENDERERS)}")
    if notation is None:
        notation = Notation.of(derivation.network.declaration)
    return renderer(derivation, _selected(derivation, wrt), notation)


def _selected(derivation: Derivation, wrt: str | None) -> list[Gradient]:
    if wrt is None:
        return list(derivation.gradients())
    try:
        return [derivation.gradient(wrt)]
    except KeyError as error:
        raise MatcalcError(f"--wrt {wrt}: {error.args[0]}") from None


def _latex(derivation: Derivation, gradients: list[Gradient], notation: Notation) -> str:
    return f"% {derivation.convention}\n" + convention_derivation_latex(derivation, notation)


def gradient_record(gradient: Gradient, notation: Notation = DEFAULT) -> dict:
    dz, dz_value = gradient.recursion
    return {
        "name": gradient.key,
        "layer": str(gradient.layer),
        "target": to_latex(gradient.target, notation),
        "shape": shape_latex(gradient.shape, notation),
        "chain": {
            "named": to_latex(gradient.chain_names, notation),
            "value": to_latex(gradient.chain, notation),
        },
        "simplified": to_latex(gradient.simplified, notation),
        "recursion": {"lhs": to_latex(dz, notation), "rhs": to_latex(dz_value, notation)},
    }


def _json(derivation: Derivation, gradients: list[Gradient], notation: Notation) -> str:
    network = derivation.network
    record = {
        "convention": derivation.convention,
        "convention_name": network.convention,
        "batch": None if network.batch_size is None else str(network.batch_size),
        "loss": network.loss,
        "gradients": [gradient_record(g, notation) for g in gradients],
    }
    return json.dumps(record, indent=2)


def _numpy(derivation: Derivation, gradients: list[Gradient], notation: Notation) -> str:
    from matcalc.numpy_code import network_code

    return network_code(derivation, [g.key for g in gradients])


RENDERERS: dict[str, Callable[[Derivation, list[Gradient], Notation], str]] = {
    "latex": _latex,
    "json": _json,
    "numpy": _numpy,
}
