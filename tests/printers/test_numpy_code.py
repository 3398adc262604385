"""The exported NumPy module against finite differences of the forward loss."""

import ast
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from conftest import (
    ROOT,
    assert_gradients_close,
    away_from_kinks,
    finite_difference_gradients,
    objective_value,
    random_networks,
)
from hypothesis import given, settings

from matcalc.cli import main
from matcalc.core.expr import Apply, Fill, Function, Symbol, add, hadamard, matmul, scale, transpose
from matcalc.core.numeric import evaluate
from matcalc.core.shapes import dim
from matcalc.engine.derive import derive
from matcalc.printers.numpy_code import NumpyCodeError, expr_code, function_helper, network_code
from matcalc.printers.render import render_derivation
from matcalc.specs.examples import EXAMPLE_SPEC
from matcalc.specs.network import Layer, Network


def load(source: str) -> dict:
    """Run generated source (our own output, in tests only) in a fresh namespace."""
    namespace: dict = {}
    exec(compile(source, "<matcalc numpy>", "exec"), namespace)  # noqa: S102
    return namespace


def exported(network: Network) -> dict:
    return load(render_derivation(derive(network), "numpy"))


@given(random_networks(conventions=("6.390", "ng", "goodfellow", "cs231n"), batches=(None, 1, 3)))
@settings(max_examples=40, deadline=None)
def test_exported_gradients_match_finite_differences(case):
    network, seed = case
    params, x, y = away_from_kinks(network, np.random.default_rng(seed))
    module = exported(network)
    objective = objective_value(network, params, x, y)
    assert module["loss"](params, x, y) == pytest.approx(objective, rel=1e-9, abs=1e-12)
    expected = finite_difference_gradients(network, params, x, y)
    assert_gradients_close(module["gradients"](params, x, y), expected, abs(objective))


@given(
    random_networks(
        max_depth=4,
        conventions=("6.390", "ng", "goodfellow", "nielsen", "ufldl", "cs231n"),
        batches=(None, 3),
        decays=(0.25, 3, "lambda"),
    )
)
@settings(max_examples=30, deadline=None)
def test_a_weight_decay_is_in_the_exported_cost_and_its_gradients(case):
    """J = L (/K) + (lambda/2) sum ||W^l||_F^2: the module's loss is it and its gradients are
    J's; a symbolic lambda is read from params["lambda"], and no gradient is returned for it."""
    network, seed = case
    module = exported(network)
    symbolic = network.decay_name is not None
    if symbolic:  # the module reads lambda; the numbers take it at 0.7
        network = replace(network, weight_decay=0.7)
    params, x, y = away_from_kinks(network, np.random.default_rng(seed))
    given_params = {**params, "lambda": 0.7} if symbolic else params
    objective = objective_value(network, params, x, y)
    penalty = (
        float(network.decay)
        / 2
        * sum(
            np.sum(params[network.parameter_key(network.weight(l))] ** 2) for l in network.indices()
        )
    )
    unregularized = network.loss_value(params, x, y) * float(network.cost_scale)
    assert objective == pytest.approx(unregularized + penalty, rel=1e-12)
    assert module["loss"](given_params, x, y) == pytest.approx(objective, rel=1e-9, abs=1e-12)
    expected = finite_difference_gradients(network, params, x, y)
    assert_gradients_close(module["gradients"](given_params, x, y), expected, abs(objective))


@pytest.mark.parametrize("convention", ["6.390", "ng", "goodfellow", "cs231n"])
def test_symbolic_sizes_and_batch_read_from_the_arrays(convention, rng):
    """One module for sizes m^1, n^l and a batch K serves every concrete choice of them."""
    layers = [Layer(None, "tanh"), Layer(None, "softmax")]
    module = exported(Network(layers, loss="nllm", convention=convention, batch="K"))
    for sizes, batch in (([4, 3, 2], 5), ([2, 6, 3], 1)):
        concrete = Network(layers, loss="nllm", convention=convention).at_sizes(sizes, batch)
        params, x, y = away_from_kinks(concrete, rng)
        objective = objective_value(concrete, params, x, y)
        assert module["loss"](params, x, y) == pytest.approx(objective)
        expected = finite_difference_gradients(concrete, params, x, y)
        assert_gradients_close(module["gradients"](params, x, y), expected)


@pytest.mark.parametrize("sizes", [[4, 3, 5, 1], [2, 6, 1, 1]])
def test_builtin_example_at_any_sizes(sizes, capsys, rng):
    """The built-in example has symbolic sizes; its code reads them from the arrays."""
    assert main(["derive", "--format", "numpy"]) == 0
    module = load(capsys.readouterr().out)
    concrete = Network.from_toml(EXAMPLE_SPEC).at_sizes(sizes)
    params, x, y = away_from_kinks(concrete, rng)
    expected = finite_difference_gradients(concrete, params, x, y)
    assert module["loss"](params, x, y) == pytest.approx(concrete.loss_value(params, x, y))
    assert_gradients_close(module["gradients"](params, x, y), expected)


def test_source_imports_only_numpy():
    network = Network([Layer(3, "softmax"), Layer(2, "sigmoid")], input=2, loss="nll")
    tree = ast.parse(render_derivation(derive(network), "numpy"))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert [alias.name for node in imports for alias in node.names] == ["numpy"]
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"loss", "gradients"} <= defined


def test_source_runs_in_a_fresh_interpreter(tmp_path, rng):
    network = Network([Layer(3, "tanh"), Layer(2, "softmax")], input=4, loss="nllm")
    (tmp_path / "grads.py").write_text(render_derivation(derive(network), "numpy"))
    params = network.random_parameters(rng)
    x, y = network.random_example(rng)
    np.savez(tmp_path / "data.npz", x=x, y=y, **{k.replace("^", "@"): v for k, v in params.items()})
    script = (
        "import numpy, grads\n"
        "data = numpy.load('data.npz')\n"
        "params = {k.replace('@', '^'): data[k] for k in data.files if k not in ('x', 'y')}\n"
        "print(repr(grads.loss(params, data['x'], data['y'])))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert float(out.stdout) == pytest.approx(network.loss_value(params, x, y))


def test_wrt_limits_the_keys(capsys):
    assert main(["derive", "--format", "numpy", "--wrt", "W^2"]) == 0
    module = load(capsys.readouterr().out)
    network = Network([Layer(3, "relu"), Layer(5, "tanh"), Layer(1, "sigmoid")], 4, "nll")
    params, x, y = away_from_kinks(network, np.random.default_rng(2))
    assert list(module["gradients"](params, x, y)) == ["W^2"]


def test_symbolic_depth_has_no_numpy_code(tmp_path, capsys):
    spec = tmp_path / "general.toml"
    spec.write_text('depth = "L"\n[[layer]]\nactivation = "f"\n')
    assert main(["derive", str(spec), "--format", "numpy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "symbolic depth" in err
    with pytest.raises(NumpyCodeError):
        network_code(derive(Network([Layer(None, "f")], depth="L")))


def _matrix(name, rows, cols, index=None):
    return Symbol(name, (dim(rows), dim(cols)), index)


A = _matrix("A", 3, 1, 2)
W = _matrix("W", 3, 2, 3)
G = _matrix("G", 2, 1)
SIGMOID = Function("sigmoid")


@pytest.mark.parametrize(
    ("expr", "code"),
    [
        (matmul(W, G), "W_3 @ G"),
        (transpose(matmul(W, G)), "(W_3 @ G).T"),
        (hadamard(A, add(Fill(dim(1), A.shape), scale(-1, A))), "A_2 * (1.0 - A_2)"),
        (hadamard(A, matmul(W, G)), "A_2 * (W_3 @ G)"),
        (scale(2, add(A, scale(-1, A))), "2.0 * (A_2 - A_2)"),
        (matmul(scale(-1, W), G), "-(W_3 @ G)"),
        (Apply(SIGMOID, A), "_fn_sigmoid(A_2)"),
        (Fill(dim(1), (dim(3), dim(2))), "numpy.full((3, 2), 1.0)"),
    ],
)
def test_expression_code(expr, code):
    assert expr_code(expr) == code


@pytest.mark.parametrize(
    "expr", [Apply(SIGMOID, A), hadamard(A, add(Fill(dim(1), A.shape), scale(-1, A)))]
)
def test_expression_code_computes_the_expression(expr, rng):
    value = rng.standard_normal((3, 1))
    namespace = load("import numpy\n" + function_helper(SIGMOID)[1])
    namespace["A_2"] = value
    assert np.allclose(eval(expr_code(expr), namespace), evaluate(expr, {A: value}))  # noqa: S307


GALLERY = sorted((ROOT / "derivations").glob("*.toml"))


@pytest.mark.parametrize("spec", GALLERY, ids=[path.stem for path in GALLERY])
def test_gallery_exports_match_finite_differences(spec, capsys, rng):
    network = Network.from_file(spec)
    if network.symbolic:
        assert main(["derive", str(spec), "--format", "numpy"]) == 2
        return
    assert main(["derive", str(spec), "--format", "numpy"]) == 0
    module = load(capsys.readouterr().out)
    sizes = [int(s) if s.is_Integer else 3 for s in network.sizes]
    batch = None if network.batch_size is None or network.batch_size.is_Integer else 4
    concrete = network.at_sizes(sizes, batch)
    params, x, y = away_from_kinks(concrete, rng)
    expected = finite_difference_gradients(concrete, params, x, y)
    given_params = dict(params)
    if network.decay_name is not None:  # a symbolic weight decay, at the instance's value
        given_params[network.decay_name] = float(concrete.decay)
    assert_gradients_close(module["gradients"](given_params, x, y), expected)
