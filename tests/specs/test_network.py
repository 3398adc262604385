"""Network specs: what a good spec builds, and one clear line for every bad one."""

import subprocess
import sys

import numpy as np
import pytest

from matcalc.cli import main
from matcalc.core.numeric import evaluate
from matcalc.core.shapes import DEPTH, INPUT_SIZE, LAYER, LAYER_SIZE
from matcalc.specs.network import Layer, Network, SpecError

# name, spec, fragments the message must contain (the key, the value, what is allowed)
BAD_SPECS = [
    (
        "unknown activation",
        '[[layer]]\nactivation = "swish"\n',
        ["activation", "'swish'", "identity, sigmoid, tanh, relu, softmax"],
    ),
    ("activation not a name", "[[layer]]\nactivation = 3\n", ["activation", "3", "sigmoid"]),
    (
        "unknown loss",
        'loss = "hinge"\n[[layer]]\nsize = 3\n',
        ["loss", "'hinge'", "squared, nll, nllm"],
    ),
    ("zero size", "[[layer]]\nsize = 0\n", ["layer 1 size", "0", "between 1 and"]),
    ("negative input", "input = -2\n[[layer]]\nsize = 3\n", ["input", "-2", "between 1 and"]),
    ("size too large", "[[layer]]\nsize = 10000000\n", ["size", "10000000", "between 1 and"]),
    ("fractional size", "[[layer]]\nsize = 2.5\n", ["size", "2.5", "positive integer or a symbol"]),
    (
        "size not a symbol",
        '[[layer]]\nsize = "3 apples"\n',
        ["size", "'3 apples'", "positive integer or a symbol"],
    ),
    ("empty size", '[[layer]]\nsize = ""\n', ["size", "''", "positive integer or a symbol"]),
    ("boolean size", "[[layer]]\nsize = true\n", ["size", "True", "positive integer or a symbol"]),
    ("table size", "[[layer]]\nsize = {a = 1}\n", ["size", "'a'", "positive integer or a symbol"]),
    (
        "nllm without softmax",
        'loss = "nllm"\n[[layer]]\nactivation = "sigmoid"\n',
        ["loss = 'nllm'", "softmax", "'sigmoid'"],
    ),
    (
        "nll without sigmoid",
        'loss = "nll"\n[[layer]]\nactivation = "softmax"\n',
        ["loss = 'nll'", "sigmoid", "'softmax'"],
    ),
    ("no layers", 'loss = "squared"\n', ["[[layer]]", "at least one"]),
    ("empty layer list", "layer = []\n", ["[[layer]]", "at least one"]),
    ("layer not a list", "layer = 3\n", ["layer = 3", "[[layer]]"]),
    ("layer not a table", "layer = [1, 2]\n", ["layer 1 = 1", "table"]),
    ("broken TOML", "[[layer]\nsize = 3\n", ["not valid TOML", "line 1"]),
    (
        "custom activation unreadable",
        '[[layer]]\nsize = 2\nactivation = { name = "myact", latex = "z!" }\n',
        ["layer 1", "factorial"],
    ),
    ("5000 layers", "[[layer]]\nsize = 3\n" * 5000, ["5000 [[layer]] tables", "at most 1000"]),
    ("TOML nested 5000 deep", "a = " + "[" * 5000 + "]" * 5000 + "\n", ["nested too deeply"]),
    (
        "unknown key",
        'color = "red"\n[[layer]]\nsize = 3\n',
        ["'color'", "convention, input, loss, layer, depth"],
    ),
    (
        "unknown layer key",
        "[[layer]]\nsize = 3\nwidth = 4\n",
        ["layer 1", "'width'", "size and activation"],
    ),
    (
        "unknown convention",
        'convention = "xyz"\n[[layer]]\nsize = 3\n',
        ["convention", "'xyz'", "6.390"],
    ),
    ("symbolic depth not L", 'depth = "M"\n[[layer]]\nactivation = "f"\n', ["depth", "'M'", '"L"']),
    (
        "generic activation without depth",
        '[[layer]]\nactivation = "f"\n',
        ["activation", "'f'", "identity"],
    ),
]


def write(tmp_path, text: str) -> str:
    path = tmp_path / "net.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def assert_one_line(err: str, fragments: list[str]) -> None:
    assert err.startswith("matcalc: error: ") and err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


@pytest.mark.parametrize(
    ("spec", "fragments"), [case[1:] for case in BAD_SPECS], ids=[case[0] for case in BAD_SPECS]
)
def test_bad_spec_is_one_line_and_exit_2(spec, fragments, tmp_path, capsys):
    path = write(tmp_path, spec)
    assert main(["derive", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line(captured.err, [path, *fragments])


def test_missing_file_names_it(tmp_path, capsys):
    missing = str(tmp_path / "nowhere.toml")
    assert main(["derive", missing]) == 2
    assert_one_line(capsys.readouterr().err, [missing, "no such file"])


def test_unreadable_file_names_it(tmp_path, capsys):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00")
    assert main(["derive", str(path)]) == 2
    assert_one_line(capsys.readouterr().err, [str(path), "cannot be read"])


@pytest.mark.parametrize(
    "spec",
    [
        '[[layer]]\nsize = 3\nactivation = "tanh"\n',
        '[shapes]\nX = "n x n"\n[define]\nf = "\\\\operatorname{tr}(X)"\n',
    ],
    ids=["network", "expression context"],
)
def test_a_file_starting_with_a_byte_order_mark_is_read(spec, tmp_path, capsys):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + spec.encode())
    assert main(["derive", str(path)]) == 0, capsys.readouterr().err


def test_bad_spec_from_the_command_line_has_no_traceback(tmp_path):
    path = write(tmp_path, '[[layer]]\nactivation = "swish"\n')
    result = subprocess.run(
        [sys.executable, "-m", "matcalc", "derive", path], capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line(result.stderr, ["activation = 'swish'", "known are"])


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (([Layer(0, "tanh")],), "layer 1 size = 0"),
        (([Layer(3, "swish")],), "'swish'"),
        (([],), "[[layer]]"),
        (([Layer(3, "tanh")], 2, "nllm"), "softmax"),
    ],
)
def test_python_api_raises_spec_error(arguments, fragment):
    with pytest.raises(SpecError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        Network(*arguments)


def test_omitted_sizes_default_to_m1_and_nl():
    network = Network.from_toml('[[layer]]\nactivation = "tanh"\n[[layer]]\n')
    assert network.sizes == (INPUT_SIZE[1], LAYER_SIZE[1], LAYER_SIZE[2])
    assert network.weight(2).shape == (INPUT_SIZE[2], LAYER_SIZE[2])


@pytest.mark.parametrize(
    ("size", "expected"),
    [(3, "3"), ("h", "h"), ("m^1", "m[1]"), ("n_2", "n[2]"), ("d_{3}", "d[3]")],
)
def test_size_spellings(size, expected):
    network = Network([Layer(size, "identity")], input=2)
    assert str(network.sizes[1]) == expected


def test_a_spec_uses_only_its_own_definitions():
    """Definitions are known process-wide (verify --batch reads many specs in one process):
    a spec that names a function another spec defined is still told it is unknown."""
    Network.from_toml('[[layer]]\nactivation = { name = "swish", latex = "z \\\\sigma(z)" }\n')
    with pytest.raises(SpecError, match="'swish'"):
        Network.from_toml('[[layer]]\nactivation = "swish"\n')


# ------------------------------------------------------------------ the forward equations

EQUATION_NETWORKS = [
    Network([Layer(3, "tanh"), Layer(4, "relu"), Layer(2, "softmax")], input=2, loss="nllm"),
    Network([Layer(3, "sigmoid"), Layer(1, "sigmoid")], input=2, loss="nll", batch=4),
    Network([Layer(3, "tanh"), Layer(2, "identity")], input=3, convention="ng", batch=3),
]


@pytest.mark.parametrize("network", EQUATION_NETWORKS, ids=lambda n: n.convention)
def test_a_network_is_the_graph_of_its_forward_equations(network, rng):
    """Z^l and A^l for every layer, then the loss; evaluated in order, the definitions give
    the network's own forward pass, and A^l is the quantity whose gradient is inlined."""
    equations = network.equations()
    layers = network.indices()
    expected = [q for l in layers for q in (network.pre_activation(l), network.activation(l))]
    assert equations.quantities == (*expected, network.loss_symbol())
    assert equations.inlined == {network.activation(l) for l in layers}
    assert equations.given == frozenset() and equations.parameters == network.parameters()
    params = network.random_parameters(rng)
    x, y = network.random_example(rng)
    forward = network.forward(params, x, y)
    env = {s: forward[s] for s in (network.activation(0), network.target(), *network.parameters())}
    for quantity in equations.quantities:
        env[quantity] = evaluate(equations.definitions[quantity], env)
        np.testing.assert_allclose(env[quantity], forward[quantity], rtol=1e-12)


def test_a_network_of_symbolic_depth_is_the_general_layer_the_next_and_the_output():
    network = Network([Layer(None, "f")], depth="L")
    equations = network.equations()
    z, a = network.pre_activation, network.activation
    following = z(LAYER + 1)
    loss = network.loss_symbol()
    assert equations.quantities == (z(LAYER), a(LAYER), following, z(DEPTH), a(DEPTH), loss)
    assert equations.given == {following}
    assert equations.users[a(LAYER)] == (following,)
    assert equations.trainable == {z(LAYER), a(LAYER), following, z(DEPTH), a(DEPTH), loss}
