"""The draws of the one pipeline for graph specs and contexts (matcalc/checks/expression.py):
every matrix that is inverted, or whose determinant or log-determinant is taken, is well
conditioned at every size set and draw, for products of non-square matrices too."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcalc.checks.expression import (
    MAX_CONDITION,
    MIN_EIGENVALUE,
    draw_symbols,
    draw_well_defined,
    inverted,
    size_sets,
)
from matcalc.checks.verify import verify
from matcalc.core.numeric import evaluate
from matcalc.errors import MatcalcError
from matcalc.specs.context import Context, concrete, spec_from_toml

# (shapes, a function that inverts or takes a determinant of a product)
INVERTING = [
    ({"X": "n x p", "A": "n x n"}, r"\log\det(X^T A X)"),
    ({"X": "n x p", "A": "n x n"}, r"\det(X^T A X)"),
    ({"X": "p x n", "A": "n x n"}, r"\log\det(X A X^T)"),
    ({"X": "n x p"}, r"\operatorname{tr}((X^T X)^{-1})"),
    ({"X": "n x p", "B": "p x n"}, r"\operatorname{tr}((B X)^{-1})"),
    ({"X": "n x p", "B": "p x n", "A": "n x n"}, r"\log\det(B A X)"),
    ({"X": "n x p", "a": "p"}, r"a^T (X^T X)^{-1} a"),
]


def _function(shapes: dict, latex: str) -> tuple[Context, object]:
    table = "\n".join(f'{k} = "{v}"' for k, v in shapes.items())
    context = Context.from_toml(f"[shapes]\n{table}\n[define]\nf = '{latex}'\n")
    return context, context.expand(context.lookup("f"))


@pytest.mark.parametrize(("shapes", "latex"), INVERTING)
def test_sizes_let_every_inverted_product_have_full_rank(shapes, latex):
    context, f = _function(shapes, latex)
    sets = size_sets(list(context.dimensions()), (f,), tuple(context.symbols.values()))
    assert len(sets) == 2
    for sizes in sets:
        assert len(set(sizes.values())) == len(sizes)  # distinct: a transpose cannot hide
        named = {str(d): size for d, size in sizes.items()}
        assert named["n"] >= named["p"]  # each product is p x p through a size n


@settings(max_examples=25, deadline=None)
@given(case=st.sampled_from(INVERTING), seed=st.integers(0, 2**32 - 1))
def test_every_inverted_matrix_is_well_conditioned_in_every_draw(case, seed):
    context, f = _function(*case)
    rng = np.random.default_rng(seed)
    for sizes in size_sets(list(context.dimensions()), (f,), tuple(context.symbols.values())):
        exact = concrete(f, sizes)
        env = draw_well_defined((exact,), rng)
        for arg in inverted(exact):
            value = evaluate(arg, env)
            assert np.linalg.cond(value) < MAX_CONDITION
            assert "log" not in case[1] or np.linalg.det(value) > 0
        assert np.isfinite(evaluate(exact, env)).all()


def test_a_square_matrix_is_drawn_unsymmetric_with_a_positive_definite_symmetric_part():
    context, f = _function({"X": "n x p", "A": "n x n"}, r"\log\det(X^T A X)")
    sizes = {d: {"n": 6, "p": 3}[str(d)] for d in context.dimensions()}
    exact = concrete(f, sizes)
    for seed in range(20):
        env = draw_symbols((exact,), np.random.default_rng(seed))
        a = next(value for node, value in env.items() if value.shape == (6, 6))
        assert not np.allclose(a, a.T)
        assert np.linalg.eigvalsh((a + a.T) / 2).min() >= MIN_EIGENVALUE - 1e-9


@pytest.mark.parametrize(
    ("equation", "correct", "classes"),
    [
        (r"\frac{\partial f}{\partial X} = A X (X^T A X)^{-1} + A^T X (X^T A^T X)^{-1}", True, ()),
        (r"\frac{\partial f}{\partial X} = 2 A X (X^T A X)^{-1}", False, ("unjustified_symmetry",)),
        (r"\frac{\partial f}{\partial X} = A X (X^T A X)^{-1}", False, ()),
    ],
)
def test_log_det_of_a_quadratic_form_in_a_non_square_matrix_is_checked(equation, correct, classes):
    """The Cookbook's eq. 53 at X of n x p: verify draws n >= p, so X^T A X is invertible."""
    context, _ = _function({"X": "n x p", "A": "n x n"}, r"\log\det(X^T A X)")
    verdict = verify(context, equation)
    assert verdict.correct is correct, verdict.reason
    assert set(classes) <= set(verdict.error_class)


LMS = (
    '[shapes]\ntheta = "d"\nx = "d"\ny = "scalar"\n'
    "[define]\nJ = '\\frac{1}{2} (\\theta^T x - y)^2'\n"
)
SOFTMAX = (
    '[shapes]\no = "q"\ny = "q"\n[assume]\ny = "one-hot"\n[define]\n'
    "l = '-\\sum y \\odot \\log \\operatorname{softmax}(o)'\n"
)
BILINEAR = '[shapes]\na = "n"\nb = "m"\nX = "n x m"\n'
TIMED = '[shapes]\nh_t = "n"\nu = "n"\n[define]\ns = \'u^T h_t\'\n'


@pytest.mark.parametrize(
    ("spec", "equation", "correct", "classes"),
    [
        (LMS, r"\frac{\partial J}{\partial \theta_j} = (\theta^T x - y) x_j", True, set()),
        (LMS, r"\frac{\partial}{\partial \theta_j} J(\theta) = (\theta^T x - y) x_j", True, set()),
        (LMS, r"\nabla_{\theta_j} J = x_j (\theta^T x - y)", True, set()),
        (
            LMS,
            r"\frac{\partial J}{\partial \theta_j} = (y - \theta^T x) x_j",
            False,
            {"wrong_sign"},
        ),
        (
            LMS,
            r"\frac{\partial J}{\partial \theta_j} = (\theta^T x - y) x",
            False,
            {"shape_mismatch"},
        ),
        (LMS, r"\frac{\partial J}{\partial \theta_j} = \theta^T x x_j", False, set()),
        (SOFTMAX, r"\partial_{o_j} l = \mathrm{softmax}(\mathbf{o})_j - y_j", True, set()),
        (
            SOFTMAX,
            r"\frac{\partial l}{\partial o_j} = \frac{\exp(o_j)}{\sum_{k} \exp(o_k)} - y_j",
            True,
            set(),
        ),
        (
            SOFTMAX,
            r"\frac{\partial l}{\partial o_j} = y_j - \mathrm{softmax}(o)_j",
            False,
            {"wrong_sign"},
        ),
        (BILINEAR, r"\frac{\partial a^T X b}{\partial X_{ij}} = a_i b_j", True, set()),
        (BILINEAR, r"\frac{\partial a^T X b}{\partial X_{ij}} = b_j a_i", True, set()),
        (
            BILINEAR,
            r"\frac{\partial a^T X b}{\partial X_{ij}} = a_j b_i",
            False,
            {"missing_transpose"},
        ),
        # a name the context declares with its subscript is that name, not an entry
        (TIMED, r"\frac{\partial s}{\partial h_t} = u", True, set()),
    ],
)
def test_an_entrywise_formula_of_a_context_is_checked_entry_by_entry(
    spec, equation, correct, classes
):
    verdict = verify(spec_from_toml(spec), equation)
    assert verdict.correct == correct, verdict.reason
    assert classes <= {str(c) for c in verdict.error_class}, verdict.reason


@pytest.mark.parametrize(
    ("equation", "message", "column"),
    [
        (r"\frac{\partial J}{\partial \theta_j} = (\theta^T x - y) x_k", "the index k", 58),
        (r"\frac{\partial J}{\partial \theta_{jk}} = x_j", "a single index", 35),
    ],
)
def test_an_unreadable_entrywise_formula_of_a_context_is_one_clear_error(equation, message, column):
    with pytest.raises(MatcalcError) as error:
        verify(spec_from_toml(LMS), equation)
    assert message in str(error.value)
    if column is not None:
        assert str(error.value).splitlines()[-1].index("^") - 2 == column
