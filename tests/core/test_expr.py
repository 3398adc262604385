import pytest
import sympy

from matcalc.core.expr import ShapeError, Symbol, matmul, transpose
from matcalc.core.shapes import INPUT_SIZE, LAYER, LAYER_SIZE, ONE


def test_product_that_does_not_fit_names_both_factors_and_shapes():
    w = Symbol("W", (INPUT_SIZE[LAYER], LAYER_SIZE[LAYER]), LAYER)
    a = Symbol("A", (INPUT_SIZE[LAYER], ONE), LAYER - 1)
    with pytest.raises(ShapeError) as error:
        matmul(w, a)
    message = str(error.value)
    assert "W^{l}" in message and "A^{l-1}" in message
    assert "m^{l} \\times n^{l}" in message and "m^{l} \\times 1" in message


def test_input_size_of_a_layer_is_the_size_of_the_previous_one():
    w = Symbol("W", (INPUT_SIZE[LAYER + 1], LAYER_SIZE[LAYER + 1]), LAYER + 1)
    a = Symbol("A", (LAYER_SIZE[LAYER], ONE), LAYER)
    assert matmul(transpose(w), a).shape == (LAYER_SIZE[LAYER + 1], ONE)


def test_double_transpose_is_the_matrix():
    x = Symbol("X", (sympy.Integer(2), sympy.Integer(3)))
    assert transpose(transpose(x)) == x
