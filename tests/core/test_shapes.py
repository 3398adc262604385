"""Dimension equality decided structurally agrees with SymPy's answer (expand the difference)."""

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from matcalc.core.shapes import (
    DEPTH,
    INPUT_SIZE,
    LAYER,
    LAYER_SIZE,
    dim,
    dims_equal,
    index_text,
    structural_key,
)

m, n, l, L = INPUT_SIZE, LAYER_SIZE, LAYER, DEPTH
h, k = dim("h"), dim("k")


def sympy_equal(a, b) -> bool:
    """SymPy's answer: m^j rewritten n^{j-1}, then the difference expanded to 0."""

    def canonical(d):
        return sympy.sympify(d).replace(
            lambda e: isinstance(e, sympy.Indexed) and e.base == m,
            lambda e: n[e.indices[0] - 1],
        )

    return sympy.expand(canonical(a) - canonical(b)) == 0


CASES = [
    (3, sympy.Integer(3), True),
    (3, 4, False),
    (sympy.Integer(1), 1, True),
    (h, h, True),
    (h, k, False),
    (h, 1, False),
    (h, sympy.Symbol("h"), False),  # a size symbol is a positive integer, a plain h is not
    (n[2], m[3], True),
    (n[2], m[2], False),
    (m[1], n[0], True),
    (m[l], n[l - 1], True),
    (m[l + 1], n[l], True),
    (m[L], n[L - 1], True),
    (m[l], m[l], True),
    (m[l], m[l + 1], False),
    (n[l], n[l + 1], False),
    (n[l], n[L], False),
    (n[3], n[l], False),
    (n[1], 1, False),
    (n[l], h, False),
    (m[2 * l], n[2 * l - 1], True),  # not structural: SymPy decides
    (2 * h, h + h, True),
    (h + 1, h, False),
    (n[l] + 1, m[l + 1] + 1, True),
]


@pytest.mark.parametrize(("a", "b", "equal"), CASES)
def test_dims_equal_matches_sympy(a, b, equal):
    assert sympy_equal(a, b) is equal
    assert dims_equal(a, b) is equal
    assert dims_equal(b, a) is equal


@pytest.mark.parametrize(
    ("d", "structural"),
    [(3, True), (h, True), (n[l - 1], True), (m[4], True), (n[2 * l], False), (h + 1, False)],
)
def test_which_dimensions_are_decided_structurally(d, structural):
    assert (structural_key(d) is not None) is structural


indices = st.one_of(
    st.integers(0, 3).map(sympy.Integer),
    st.tuples(st.sampled_from([l, L]), st.integers(-2, 2)).map(lambda p: p[0] + p[1]),
    st.sampled_from([2 * l, 2 * l - 1]),
)
atoms = st.one_of(
    st.integers(1, 4).map(sympy.Integer),
    st.sampled_from([h, k]),
    st.tuples(st.sampled_from([m, n]), indices).map(lambda p: p[0][p[1]]),
)
dimensions = st.one_of(
    atoms,
    st.tuples(atoms, atoms).map(lambda p: p[0] + p[1]),
    atoms.map(lambda a: 2 * a),
)


@settings(max_examples=300, deadline=None)
@given(dimensions, dimensions)
def test_random_dimensions_agree_with_sympy(a, b):
    assert dims_equal(a, b) is sympy_equal(a, b)


@settings(max_examples=100, deadline=None)
@given(atoms)
def test_a_dimension_equals_its_other_spelling(a):
    """m^{j} and n^{j-1} are one size: each spelling equals the other."""
    if isinstance(a, sympy.Indexed):
        other = n[a.indices[0] - 1] if a.base == m else m[a.indices[0] + 1]
        assert dims_equal(a, other) and sympy_equal(a, other)


@pytest.mark.parametrize(
    ("index", "text"),
    [
        (3, "3"),
        (sympy.Integer(0), "0"),
        (l, "l"),
        (L, "L"),
        (l + 1, "l+1"),
        (L - 1, "L-1"),
        (l - 12, "l-12"),
        (2 * l, "2*l"),
        (2 * l + 1, "2*l+1"),
    ],
)
def test_index_text_writes_an_index_as_people_do(index, text):
    assert index_text(index) == text
