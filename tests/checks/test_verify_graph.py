"""verify on graph specs: backprop lines over named quantities, right and wrong."""

import re
from pathlib import Path

import pytest

from matcalc.checks.verify_graph import verify_graph
from matcalc.errors import MatcalcError
from matcalc.specs.context import spec_from_file

ARCHITECTURES = Path(__file__).resolve().parents[2] / "derivations" / "architectures"
D = r"\frac{\partial L}{\partial %s}"


def eq(text: str) -> str:
    r"""dL/dX written out as \frac{\partial L}{\partial X}."""
    return re.sub(r"dL/d([^\s)]+)", lambda m: D % m.group(1), text)


CASES = [
    ("residual", r"dL/dA_1 = W_2^T dL/dZ_2 + dL/dA_2", True, ()),
    ("residual", r"dL/dA_1 = W_2^T dL/dZ_2", False, ()),
    ("residual", r"dL/dZ_1 = (1 - \tanh(Z_1) \odot \tanh(Z_1)) \odot dL/dA_1", True, ()),
    ("residual", r"dL/dW_1 = x (dL/dZ_1 )^T", False, ("missing_transpose", "layout_mismatch")),
    ("residual", r"dL/dW_2 = dL/dZ_2 A_1^T", True, ()),
    ("rnn", r"dL/dV = (V H_1 - y_1) H_1^T + (V H_2 - y_2) H_2^T + (V H_3 - y_3) H_3^T",
     False, ("wrong_scale",)),
    ("rnn", r"dL/dH_3 = 2 V^T (V H_3 - y_3)", True, ()),
    ("conv1d", r"dL/dw = \operatorname{conv}(x, dL/dZ )", True, ()),
    ("conv1d", r"dL/db = \sum dL/dZ", True, ()),
    ("batchnorm", r"dL/d\beta = dL/dY \mathbf{1}_K", True, ()),
    ("batchnorm", r"dL/d\gamma = (dL/dY \odot N) \mathbf{1}_K", True, ()),
    ("attention", r"dL/dW_v = dL/dV X^T", True, ()),
    ("attention", r"dL/dW_q = X dL/dQ", False,
     ("shape_mismatch", "swapped_order", "missing_transpose")),
    ("weight-decay", r"dL/dW_1 = (A_1 \odot (1 - A_1) \odot dL/dA_1 ) x^T", False, ()),
    ("autoencoder", r"dL/dc = 2 (R - x)", True, ()),
]  # fmt: skip


@pytest.mark.parametrize(("name", "equation", "correct", "classes"), CASES)
def test_backprop_lines(name, equation, correct, classes):
    verdict = verify_graph(spec_from_file(ARCHITECTURES / f"{name}.toml"), eq(equation))
    assert verdict.correct == correct, verdict.reason
    assert verdict.error_class == classes
    assert verdict.expected and "\\frac{\\partial L}" in verdict.target


@pytest.mark.parametrize(
    "equation",
    [r"\frac{\partial L}{\partial x} = x", r"\frac{\partial O}{\partial V} = A_2", "L = O"],
)
def test_targets_backprop_does_not_compute_are_an_error(equation):
    with pytest.raises(MatcalcError):
        verify_graph(spec_from_file(ARCHITECTURES / "residual.toml"), equation)
