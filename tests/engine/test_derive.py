"""Every derived gradient, in both forms, against central finite differences of the loss."""

from collections import Counter
from dataclasses import fields

import numpy as np
import pytest
import sympy
from conftest import (
    ACTIVATION_NAMES,
    assert_gradients_close,
    away_from_kinks,
    finite_difference_gradients,
    random_networks,
)
from hypothesis import given, settings

from matcalc import Derivation, Gradient, Network
from matcalc.core.expr import Cdots, Expr
from matcalc.core.numeric import evaluate
from matcalc.core.shapes import DEPTH, INPUT_SIZE, LAYER, LAYER_SIZE, canonical, dims_equal
from matcalc.engine.derive import derive
from matcalc.printers.chains import chain_forms
from matcalc.specs.network import Layer

PROPERTY = settings(max_examples=40, deadline=None)


def simplified_gradients(derivation: Derivation, params, x, y) -> dict[str, np.ndarray]:
    """dL/dW^l and dL/dW_0^l from the simplified (backprop) form."""
    return derivation.numeric_gradients(params, x, y)


def chain_gradients(derivation: Derivation, params, x, y) -> dict[str, np.ndarray]:
    """dL/dW^l and dL/dW_0^l from the Jacobian chain, each factor evaluated as written."""
    env = derivation.network.forward(params, x, y)
    return {g.key: evaluate(chain_forms(g)[1], env) for g in derivation.gradients()}


@given(random_networks())
@PROPERTY
def test_both_forms_match_finite_differences(case):
    network, seed = case
    params, x, y = away_from_kinks(network, np.random.default_rng(seed))
    derivation = derive(network)
    expected = finite_difference_gradients(network, params, x, y)
    scale = abs(network.loss_value(params, x, y))
    assert_gradients_close(simplified_gradients(derivation, params, x, y), expected, scale)
    assert_gradients_close(chain_gradients(derivation, params, x, y), expected, scale)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("loss", ["squared", "nll", "nllm"])
def test_every_activation_with_every_loss(activation, loss, rng):
    output = {"squared": "tanh", "nll": "sigmoid", "nllm": "softmax"}[loss]
    network = Network([Layer(3, activation), Layer(4, activation), Layer(2, output)], 3, loss)
    params, x, y = away_from_kinks(network, rng)
    derivation = derive(network)
    expected = finite_difference_gradients(network, params, x, y)
    assert_gradients_close(simplified_gradients(derivation, params, x, y), expected)
    assert_gradients_close(chain_gradients(derivation, params, x, y), expected)


def test_a_wrong_gradient_is_caught(mit_network, rng):
    """The check itself can fail: a gradient 1% off does not pass."""
    params, x, y = away_from_kinks(mit_network, rng)
    derived = simplified_gradients(derive(mit_network), params, x, y)
    derived["W^2"] = derived["W^2"] * 1.01
    with pytest.raises(AssertionError):
        assert_gradients_close(derived, finite_difference_gradients(mit_network, params, x, y))


# ------------------------------------------------------------------------- symbolic sizes


def signature(node: object, sizes: dict) -> object:
    """A node's full structure, shapes included, with symbolic sizes replaced by ``sizes``.

    Two expressions with equal signatures are the same formula over the same shapes; symbols'
    shapes take part here, although they do not take part in ``==``.
    """
    if isinstance(node, Expr):
        parts = tuple(signature(getattr(node, f.name), sizes) for f in fields(node))
        return (type(node).__name__, signature(node.shape, sizes), parts)
    if isinstance(node, tuple):
        return tuple(signature(item, sizes) for item in node)
    if isinstance(node, sympy.Basic):
        return canonical(node).subs(sizes)
    return node


def size_values(sizes: list[int]) -> dict:
    """n^0 = m^1 = sizes[0], n^l = sizes[l]: the defaults of a symbolic-size network."""
    return {LAYER_SIZE[l]: size for l, size in enumerate(sizes)}


def gradient_signature(gradient: Gradient, sizes: dict) -> object:
    return signature(
        (
            gradient.target,
            *chain_forms(gradient),
            gradient.simplified,
            *gradient.recursion,
        ),
        sizes,
    )


def assert_shapes_consistent(gradient: Gradient) -> None:
    """Every node has a shape (built nodes fit); both forms have the parameter's shape."""
    parameter = gradient.target.den.shape
    for form in (*chain_forms(gradient), gradient.simplified):
        for node in form.walk():
            assert len(node.shape) == 2
        assert all(dims_equal(a, b) for a, b in zip(form.shape, parameter, strict=True))
    dz, dz_value = gradient.recursion
    assert all(dims_equal(a, b) for a, b in zip(dz_value.shape, dz.shape, strict=True))


@given(random_networks(max_depth=4))
@settings(max_examples=25, deadline=None)
def test_symbolic_sizes_derive_the_concrete_formulas(case):
    """The symbolic-size derivation, sizes substituted, is the concrete derivation.

    Structurally (same formula over the same shapes) where every size is at least 2; at
    size 1 the concrete engine rightly drops transposes of 1 x 1 factors, so there the two
    are compared by their numbers.
    """
    concrete, seed = case
    generic = Network(
        [Layer(None, layer.activation) for layer in concrete.layers], loss=concrete.loss
    )
    assert generic.sizes[0] == INPUT_SIZE[1]
    sizes = size_values([int(s) for s in concrete.sizes])
    symbolic_gradients = list(derive(generic).gradients())
    concrete_gradients = list(derive(concrete).gradients())
    assert [g.key for g in symbolic_gradients] == [g.key for g in concrete_gradients]
    params, x, y = away_from_kinks(concrete, np.random.default_rng(seed))
    env = derive(concrete).backward(concrete.forward(params, x, y))
    for symbolic, numbers in zip(symbolic_gradients, concrete_gradients, strict=True):
        assert_shapes_consistent(symbolic)
        if min(sizes.values()) >= 2:
            assert gradient_signature(symbolic, sizes) == gradient_signature(numbers, {})
        for form, expected in (
            (chain_forms(symbolic)[1], chain_forms(numbers)[1]),
            (symbolic.simplified, numbers.simplified),
        ):
            np.testing.assert_allclose(
                evaluate(substituted(form, sizes), env), evaluate(expected, env), rtol=1e-9
            )


def test_signature_sees_shapes():
    """The signature check can fail: one size different, one signature different."""
    generic = Network([Layer(None, "tanh"), Layer(None, "identity")])
    at_sizes = [generic.at_sizes([3, 4, 2]), generic.at_sizes([3, 5, 2])]
    sizes = size_values([3, 4, 2])
    generic_gradient = derive(generic).gradient("W^2")
    assert gradient_signature(generic_gradient, sizes) == gradient_signature(
        derive(at_sizes[0]).gradient("W^2"), {}
    )
    assert gradient_signature(generic_gradient, sizes) != gradient_signature(
        derive(at_sizes[1]).gradient("W^2"), {}
    )


def test_symbolic_sizes_evaluate_at_concrete_sizes(rng):
    """A symbolic-size network, at sizes, is checked against numbers like any other."""
    network = Network([Layer(None, "relu"), Layer(None, "softmax")], loss="nllm")
    concrete = network.at_sizes([4, 3, 3])
    params, x, y = away_from_kinks(concrete, rng)
    expected = finite_difference_gradients(concrete, params, x, y)
    assert_gradients_close(simplified_gradients(derive(concrete), params, x, y), expected)


# -------------------------------------------------------------------------- symbolic depth


@pytest.mark.parametrize(
    ("activation", "loss"),
    [("f", "squared"), ("f", "nll"), ("g", "nllm"), ("tanh", "squared"), ("sigmoid", "nll")],
)
def test_symbolic_depth_derives_general_and_output_layer(activation, loss):
    network = Network([Layer(None, activation)], loss=loss, depth="L")
    derivation = derive(network)
    assert [g.key for g in derivation.gradients()] == ["W^l", "W_0^l", "W^L", "W_0^L"]
    for gradient in derivation.gradients():
        assert_shapes_consistent(gradient)
    general = derivation.gradient("W^l")
    assert any(isinstance(node, Cdots) for node in chain_forms(general)[1].walk())
    assert general.shape == (INPUT_SIZE[LAYER], LAYER_SIZE[LAYER])
    assert derivation.gradient("W_0^L").shape[0] == LAYER_SIZE[DEPTH]


@pytest.mark.parametrize(
    ("activation", "loss"),
    [("tanh", "squared"), ("sigmoid", "nll"), ("relu", "squared"), ("identity", "squared")],
)
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_general_layer_is_every_concrete_layer(activation, loss, depth):
    """The symbolic-depth formulas at l = k and L = depth are the concrete network's layer k.

    Compared on the simplified form and dL/dZ's recursion; the chain differs by design
    (the general chain elides the middle layers with \\cdots).
    """
    output = "sigmoid" if loss == "nll" else activation
    general = derive(Network([Layer(None, activation)], loss=loss, depth="L"))
    concrete = derive(
        Network([Layer(None, activation)] * (depth - 1) + [Layer(None, output)], loss=loss)
    )

    def tidy(gradient, l):
        at = {LAYER: l, DEPTH: depth}
        parts = (gradient.target, gradient.simplified, *gradient.recursion)
        return signature(tuple(substituted(p, at) for p in parts), {})

    for k in range(1, depth):
        for name in ("W^{}", "W_0^{}"):
            assert tidy(general.gradient(name.format("l")), k) == tidy(
                concrete.gradient(name.format(k)), k
            )
    for name in ("W^{}", "W_0^{}"):
        assert tidy(general.gradient(name.format("L")), depth) == tidy(
            concrete.gradient(name.format(depth)), depth
        )


def substituted(node: object, values: dict) -> object:
    """``node`` rebuilt with symbols of sizes or layer indices (n^l, l, L) given values."""
    if isinstance(node, Expr):
        rebuilt = {f.name: substituted(getattr(node, f.name), values) for f in fields(node)}
        return type(node)(**rebuilt)
    if isinstance(node, tuple):
        return tuple(substituted(item, values) for item in node)
    if isinstance(node, sympy.Basic):
        return canonical(node).subs(values)
    return node


# ------------------------------------------------------------------------------- cost


def derivation_work(monkeypatch, depth: int) -> int:
    """Rule lookups and rewrite passes made while deriving every layer of a depth-deep net."""
    import matcalc.engine.pullback
    import matcalc.engine.simplify

    calls = Counter()
    for module, name in (
        (matcalc.engine.pullback, "pullback_rule"),
        (matcalc.engine.pullback, "jacobian_rule"),
        (matcalc.engine.simplify, "_rewrite_once"),
    ):
        original = getattr(module, name)

        def counted(*args, original=original, name=name, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    layers = [Layer(None, "tanh")] * (depth - 1) + [Layer(None, "softmax")]
    derive(Network(layers, loss="nllm"))
    monkeypatch.undo()
    return sum(calls.values())


def is_affine(values: list[int]) -> bool:
    """Work at depths d, 2d, 4d grows by equal amounts per layer: a + b * depth."""
    small, medium, large = values
    return large - medium == 2 * (medium - small)


def test_derivation_work_is_linear_in_depth(monkeypatch):
    """Backprop shares dL/dZ^l: each added layer costs the same fixed amount of rule work."""
    work = [derivation_work(monkeypatch, depth) for depth in (8, 16, 32)]
    assert is_affine(work) and work[0] > 0


def test_the_linearity_check_sees_quadratic_work():
    """Every chain form together is quadratic (a factor per layer above l): not affine."""
    sizes = []
    for depth in (8, 16, 32):
        derivation = derive(Network([Layer(None, "tanh")] * depth))
        sizes.append(sum(len(list(chain_forms(g)[1].walk())) for g in derivation.gradients()))
    assert not is_affine(sizes)
