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


def _column(name: str, rows: int = 3) -> Symbol:
    return Symbol(name, (sympy.Integer(rows), ONE))


def test_a_definition_table_names_a_definition_as_a_scan_of_its_entries_would():
    from matcalc.core.expr import Apply, DefinitionTable, Function

    z, x = _column("Z"), _column("X")
    tanh_z = Apply(Function("tanh"), z)
    entries = {
        _column("A"): tanh_z,
        _column("B"): Apply(Function("sigmoid"), z),
        _column("C"): tanh_z,  # a second name for the same definition: the first one counts
        _column("D"): matmul(transpose(_column("W")), x),
    }
    table = DefinitionTable(entries)
    probes = [*entries.values(), Apply(Function("tanh"), x), x]
    for probe in probes:
        scanned = next((s for s, d in entries.items() if d == probe), None)
        assert table.name_of(probe) == scanned
    assert table.name_of(Apply(Function("tanh"), z)) == _column("A")
    assert dict(table) == entries and table == entries and len(table) == 4
    with pytest.raises(TypeError):
        table[_column("E")] = x  # type: ignore[index]
