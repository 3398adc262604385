"""verify's work does not grow with the declared sizes; singular and non-finite values are
clear verdicts or errors, never a traceback or a NumPy warning."""

import time
import tracemalloc
import warnings

import pytest

from matcalc.checks.verify import SMALL_SIZE, Check, verify
from matcalc.errors import MatcalcError
from matcalc.reading.parse import parse_latex
from matcalc.specs.context import Context
from matcalc.specs.network import Layer, Network

GENERAL = r"\frac{\partial L}{\partial W^l} = A^{l-1}\left(\frac{\partial L}{\partial Z^l}\right)^T"
WRONG = r"\frac{\partial L}{\partial W^l} = A^{l-1}\frac{\partial L}{\partial Z^l}"
BIG = 10**6


@pytest.mark.parametrize(
    ("network", "sizes"),
    [
        (Network([Layer(BIG, "tanh"), Layer(BIG - 1, "identity")], input=BIG), None),
        (Network([Layer(20_000, "relu"), Layer(1, "sigmoid")], 3, "nll"), None),
        (Network([Layer(BIG, "tanh")], input=2, batch=BIG), None),
        (Network([Layer(3, "tanh"), Layer(2, "identity")], input=4), (4, 3, 2)),
    ],
)
def test_values_are_checked_at_small_sizes(network, sizes):
    check = Check(network, network, parse_latex(GENERAL))
    assert all(max(s) <= 2 * (check.last + 2) for s in check.size_sets)
    assert sizes is None or check.size_sets[0] == sizes
    assert check.batch is None or check.batch <= SMALL_SIZE


@pytest.mark.parametrize(("equation", "verdict"), [(GENERAL, "correct"), (WRONG, "incorrect")])
def test_verify_at_the_largest_declared_size_is_fast_and_small(equation, verdict):
    network = Network([Layer(BIG, "tanh"), Layer(BIG - 1, "identity")], input=BIG, batch=BIG)
    tracemalloc.start()
    started = time.process_time()
    try:
        result = verify(network, equation)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.verdict == verdict
    assert time.process_time() - started < 20
    assert peak < 200 * 2**20


DET = Context.from_dict({"shapes": {"X": "n x n"}, "define": {"f": r"\det(X)"}})


@pytest.mark.parametrize(
    ("context", "equation", "verdict", "reason"),
    [
        (DET, r"\frac{\partial f}{\partial X} = \det(X) X^{-T}", "correct", "agree"),
        (DET, r"\frac{\partial f}{\partial X} = \det(0 X) X^{-T}", "incorrect", "factor 0 should"),
        (DET, r"\frac{\partial f}{\partial X} = \det(X) (0 X)^{-T}", "incorrect", "not finite"),
        (DET, r"\frac{\partial f}{\partial X} = \det(X) (X - X)^{-1}", "incorrect", "not finite"),
    ],
)
def test_singular_matrices_in_a_context_are_verdicts(context, equation, verdict, reason):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = verify(context, equation)
    assert result.verdict == verdict and reason in result.reason


def test_a_derivative_singular_everywhere_is_a_clear_error():
    context = Context.from_dict({"shapes": {"X": "n x n"}})
    with pytest.raises(MatcalcError, match="not finite"):
        verify(context, r"\frac{\partial}{\partial X} \det(0 X) = 0 X^{-T}")


def test_a_network_formula_with_infinities_warns_nothing():
    network = Network([Layer(3, "relu"), Layer(1, "sigmoid")], 2, "nll")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        equation = (
            r"\frac{\partial L}{\partial W^l} = \log(0 A^{l-1}) (\frac{\partial L}{\partial Z^l})^T"
        )
        result = verify(network, equation)
    assert result.verdict == "incorrect"
