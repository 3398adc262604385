"""Crashes found by fuzzing, each now a clear MatcalcError (or a right answer)."""

import pytest

from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.specs.context import spec_from_toml

LAYER = '[[layer]]\nsize = 1\nactivation = "identity"\n'


@pytest.mark.parametrize("value", ["[]", "{}", "[1, 2]"])
def test_a_list_or_table_as_convention_is_a_clear_error(value):
    with pytest.raises(MatcalcError):
        spec_from_toml(f"convention = {value}\ninput = 2\n{LAYER}")


@pytest.mark.parametrize("value", ["[]", "[1]"])
def test_a_list_as_loss_is_a_clear_error(value):
    with pytest.raises(MatcalcError):
        spec_from_toml(f"loss = {value}\ninput = 2\n{LAYER}")


@pytest.mark.parametrize(
    "latex", [r"\\sqrt{(a-y)^2 + 1}", r"((a-y)^2+1)^{1/2}", r"\\sqrt{1+(a - y)^2}"]
)
def test_a_custom_loss_with_a_root_derives_or_is_a_clear_error(latex):
    spec = f'input = 2\nloss = {{ name = "root", latex = "{latex}" }}\n{LAYER}'
    try:
        network = spec_from_toml(spec)
        derive(network).gradients()
    except MatcalcError:
        pass


def test_a_derivative_by_the_depth_is_a_clear_error():
    from matcalc.checks.verify import verify
    from matcalc.specs.network import Layer, Network

    network = Network([Layer(3, "relu"), Layer(2, "tanh"), Layer(1, "sigmoid")], 2, "nll")
    equation = (
        r"\frac{\partial \mathcal{L}_{\text{nll}}}{\partial L} = A^{L-1}\left(A^L - y\right)^T"
    )
    with pytest.raises(MatcalcError):
        verify(network, equation)
