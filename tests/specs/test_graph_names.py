"""Graph specs with unusual but legal names: each one derives with gradients that match
central differences and LaTeX that reads back as the quantities it names, or is refused with
one clear message."""

import json
import types

import numpy as np
import pytest
import sympy
from conftest import central
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc.cli import main
from matcalc.core import numeric
from matcalc.engine.backprop import backprop
from matcalc.printers.graph import render_graph
from matcalc.reading.parse import parse_expression
from matcalc.specs.context import concrete, name_key, spec_from_toml
from matcalc.specs.graph import Graph

ROLES = {  # role: (the name in [shapes] or [define], how a formula writes it)
    "x": ("x", "x"),
    "y": ("y", "y"),
    "W": ("W", "W"),
    "b": ("b", "b"),
    "Z": ("Z", "Z"),
    "A": ("A", "A"),
    "L": ("L", "L"),
}


def network(**names: tuple[str, str]) -> str:
    """A layer and a squared loss, x -> Z = W x + b -> A = tanh(Z) -> L = ||A - y||^2, with
    some of its names replaced; the loss is named outright."""
    n = {**ROLES, **names}
    key = {role: json.dumps(written) for role, (written, _) in n.items()}
    tex = {role: latex for role, (_, latex) in n.items()}
    return (
        f"parameters = [{key['W']}, {key['b']}]\nloss = {key['L']}\n"
        f'[shapes]\n{key["x"]} = "d"\n{key["y"]} = "k"\n{key["W"]} = "k x d"\n{key["b"]} = "k"\n'
        f"[define]\n{key['Z']} = '{tex['W']} {tex['x']} + {tex['b']}'\n"
        f"{key['A']} = '\\tanh({tex['Z']})'\n"
        f"{key['L']} = '\\|{tex['A']} - {tex['y']}\\|^2'\n"
    )


def check_gradients(graph: Graph, seed: int = 0) -> None:
    """Every gradient backprop derives, and every one the NumPy export computes, against
    central differences of the loss with every definition written out."""
    rng = np.random.default_rng(seed)
    dims = {d for s in graph.context.symbols.values() for e in s.shape for d in e.free_symbols}
    sizes = {d: int(rng.integers(2, 4)) for d in dims}
    symbols = {key: concrete(s, sizes) for key, s in graph.context.symbols.items()}
    values = {
        key: 0.5 * rng.standard_normal((int(s.shape[0]), int(s.shape[1])))
        for key, s in symbols.items()
    }
    loss_expr = concrete(graph.context.expand(graph.loss), sizes)

    def loss(point: dict) -> float:
        return float(numeric.evaluate(loss_expr, {symbols[k]: v for k, v in point.items()})[0, 0])

    derivation = backprop(graph)
    env = {symbols[k]: v for k, v in values.items()}
    for quantity in graph.quantities:
        env[concrete(quantity, sizes)] = numeric.evaluate(
            concrete(graph.definitions[quantity], sizes), env
        )
    for assignment in derivation.assignments:
        env[concrete(assignment.target, sizes)] = numeric.evaluate(
            concrete(assignment.value, sizes), env
        )
    module = types.ModuleType("exported")
    exec(compile(render_graph(derivation, "numpy"), "exported", "exec"), module.__dict__)
    assert module.loss(values) == pytest.approx(loss(values), rel=1e-9)
    exported = module.gradients(values)
    assert list(exported) == list(graph.parameter_keys)
    for key, assignment in derivation.iter_gradients():
        expected = central(loss, values, key)
        got = env[concrete(assignment.target, sizes)]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(exported[key], expected, rtol=1e-5, atol=1e-6, err_msg=key)


def check_names(graph: Graph, record: dict) -> None:
    """Each declared and defined name prints as LaTeX that reads back as that name, no two
    alike; each assignment's target is the gradient of the loss by its quantity."""
    from matcalc.printers.graph import names_notation
    from matcalc.printers.latex import to_latex

    notation = names_notation(graph)
    printed = {}
    for symbol in (*graph.context.symbols.values(), *graph.quantities):
        text = to_latex(symbol, notation)
        assert text not in printed, f"{graph.key_of(symbol)} and {printed.get(text)} print {text}"
        printed[text] = graph.key_of(symbol)
        assert graph.context.resolve(parse_expression(text), text) == symbol, text
    loss = to_latex(graph.loss, notation)
    targets = [a["target"] for a in record["assignments"]]
    assert len(set(targets)) == len(targets), targets
    assert all(t.startswith(f"\\frac{{\\partial {loss}}}{{\\partial ") for t in targets), targets


def derive_and_read_back(spec: str, tmp_path, capsys) -> tuple[int, str]:
    """derive --format json, then verify of every line it prints: the exit code and stderr
    of derive, every line checked where it succeeds."""
    path = tmp_path / "graph.toml"
    path.write_text(spec, encoding="utf-8")
    code = main(["derive", str(path), "--format", "json"])
    out, err = capsys.readouterr()
    if code != 0:
        return code, err
    record = json.loads(out)
    assert main(["derive", str(path)]) == 0
    capsys.readouterr()
    graph = spec_from_toml(spec)
    check_names(graph, record)
    check_gradients(graph)
    for assignment in record["assignments"]:
        line = f"{assignment['target']} = {assignment['value']}"
        verdict = main(["verify", str(path), line, "--json"])
        out, err = capsys.readouterr()
        assert verdict == 0, (line, out, err)
    return code, err


G = {name: (name, f"\\{name}") for name in ("alpha", "theta", "sigma", "lambda", "mu", "pi")}
NAMES = [  # (id, names of roles, a part of the refusal or None for a derivation)
    ("quantity L, loss J", {"Z": ("L", "L"), "L": ("J", "J")}, None),
    ("quantity J, loss L", {"A": ("J", "J")}, None),
    ("loss J", {"L": ("J", "J")}, None),
    ("loss named loss", {"L": ("loss", r"\text{loss}")}, None),
    ("loss ell", {"L": ("ell", r"\ell")}, None),
    ("loss E", {"L": ("E", "E")}, None),
    ("loss L_1", {"L": ("L_1", "L_1")}, None),
    ("loss L_1, quantity L_2", {"L": ("L_1", "L_1"), "A": ("L_2", "L_2")}, None),
    ("loss J_ridge", {"L": ("J_ridge", r"J_{\text{ridge}}")}, None),
    ("parameter L", {"W": ("L", "L"), "L": ("J", "J")}, None),
    ("data L", {"x": ("L", "L"), "L": ("J", "J")}, None),
    ("quantities W and b", {"Z": ("W", "W"), "A": ("b", "b"), "W": ("V", "V"), "b": ("c", "c")},
     None),
    ("parameter Z, quantity W", {"W": ("Z", "Z"), "Z": ("W", "W")}, None),
    ("data X, target Y", {"x": ("X", "X"), "y": ("Y", "Y")}, None),
    ("parameter T", {"W": ("T", "T")}, None),
    ("quantity T", {"Z": ("T", "T")}, None),
    ("data I", {"x": ("I", "I")}, None),
    ("parameter I", {"W": ("I", "I")}, None),
    ("quantity e", {"Z": ("e", "e")}, None),
    ("quantity l", {"Z": ("l", "l")}, None),
    ("quantities l and L", {"Z": ("l", "l"), "A": ("L", "L"), "L": ("J", "J")}, None),
    ("subscripts 0 and 9", {"W": ("W_0", "W_0"), "b": ("W_9", "W_9")}, None),
    ("subscript 10", {"W": ("W_10", "W_{10}"), "b": ("b_10", "b_{10}")}, None),
    ("greek alpha theta", {"W": G["theta"], "b": G["alpha"]}, None),
    ("quantity sigma", {"Z": G["sigma"]}, "as a function"),
    ("quantity lambda, mu", {"Z": G["lambda"], "A": G["mu"]}, None),
    ("data pi", {"x": G["pi"]}, None),
    ("h_t", {"A": ("h_t", "h_t"), "Z": ("a_t", "a_t")}, None),
    ("W_{hh}", {"W": ("W_{hh}", "W_{hh}"), "b": ("b_h", "b_h")}, None),
    ("W_hh written plain", {"W": ("W_hh", r"W_{hh}")}, None),
    ("z^{(2)}", {"Z": ("z^{(2)}", "z^{(2)}"), "A": ("a^{(2)}", "a^{(2)}")}, None),
    ("W^{[1]}", {"W": ("W^{[1]}", "W^{[1]}"), "b": ("b^{[1]}", "b^{[1]}")}, None),
    ("W^1 and W_1", {"W": ("W^1", "W^{1}"), "b": ("W_1", "W_1")}, None),
    ("quantity f", {"Z": ("f", "f")}, None),
    ("quantity h", {"A": ("h", "h")}, None),
    ("quantity g", {"Z": ("g", "g")}, None),
    ("data d, a size", {"x": ("d", "d")}, None),
    ("quantity k, a size", {"A": ("k", "k")}, None),
    ("quantity t", {"Z": ("t", "t")}, None),
    ("quantity n", {"Z": ("n", "n")}, None),
    ("long names", {"W": ("weights", r"\text{weights}"), "Z": ("hidden", r"\text{hidden}")},
     None),
    ("case w and W", {"W": ("w", "w"), "Z": ("W", "W")}, None),
    ("case x and X", {"Z": ("X", "X")}, None),
    ("case a and A", {"Z": ("a", "a")}, None),
    ("case theta and Theta", {"W": G["theta"], "Z": ("Theta", r"\Theta")}, None),
    ("quantity dW beside W", {"Z": ("dW", r"\text{dW}")}, None),
    ("quantity dW written dW", {"Z": ("dW", "dW")}, "product of the letters d W"),
    ("theta written plainly", {"W": ("theta", "theta")}, "write \\theta"),
    ("W^2 beside W_2", {"W": ("W^2", "W^{2}"), "b": ("W_2", "W_2")}, None),
    ("parameter numpy", {"W": ("numpy", r"\text{numpy}")}, None),
    ("quantity delta", {"Z": ("delta", r"\delta")}, None),
    ("quantity sigma_1", {"Z": ("sigma_1", r"\sigma_1")}, "as a function"),
    ("quantity Sigma", {"Z": ("Sigma", r"\Sigma")}, None),
    ("quantity phi", {"A": ("phi", r"\phi")}, None),
    ("quantity ell", {"Z": ("ell", r"\ell")}, None),
    ("epsilon and varepsilon", {"Z": ("epsilon", r"\epsilon"), "A": ("varepsilon", r"\varepsilon")},
     None),
    ("loss l", {"L": ("l", "l")}, None),
    ("data T", {"x": ("T", "T")}, None),
    ("quantity log", {"Z": ("log", r"\text{log}")}, "as a function"),
    ("quantity tanh", {"Z": ("tanh", r"\text{tanh}")}, "as a function"),
    ("quantity tr", {"Z": ("tr", r"\text{tr}")}, "as a function"),
    ("parameter max", {"W": ("max", r"\text{max}")}, "as a function"),
    ("quantity softmax", {"A": ("softmax", r"\text{softmax}")}, "as a function"),
    ("loss mathcal L", {"L": (r"\mathcal{L}", r"\mathcal{L}")}, None),
    ("loss text loss", {"L": (r"\text{loss}", r"\text{loss}")}, None),
    ("data hat y", {"y": (r"\hat{y}", r"\hat{y}")}, None),
    ("data bold x", {"x": (r"\mathbf{x}", r"\mathbf{x}")}, None),
    ("thirty letters", {"Z": ("a" * 30, r"\text{%s}" % ("a" * 30))}, None),
    ("x_in and x_{out}", {"x": ("x_in", r"x_{\text{in}}"), "A": ("x_{out}", r"x_{out}")}, None),
]  # fmt: skip


@pytest.mark.parametrize(("names", "refusal"), [c[1:] for c in NAMES], ids=[c[0] for c in NAMES])
def test_unusual_names_derive_correctly_or_are_refused(names, refusal, tmp_path, capsys):
    code, err = derive_and_read_back(network(**names), tmp_path, capsys)
    if refusal is None:
        assert code == 0, err
    else:
        assert code == 2 and refusal in err, err
        assert err.startswith("matcalc: error:") and "Traceback" not in err
        assert err.count("\n") <= 3, err


def test_the_template_is_the_plain_network():
    graph = spec_from_toml(network())
    assert graph.parameter_keys == ("W", "b") and graph.loss_key == "L"
    assert [graph.key_of(q) for q in graph.quantities] == ["Z", "A", "L"]
    assert sympy.Symbol("d", integer=True, positive=True) in graph.context.dimensions()


POOL = [
    ("L", "L"), ("J", "J"), ("E", "E"), ("A", "A"), ("Z", "Z"), ("W", "W"), ("b", "b"),
    ("X", "X"), ("Y", "Y"), ("x", "x"), ("y", "y"), ("l", "l"), ("T", "T"), ("I", "I"),
    ("e", "e"), ("w", "w"), ("a", "a"), ("f", "f"), ("h", "h"), ("d", "d"), ("k", "k"),
    ("W_0", "W_0"), ("W_1", "W_1"), ("W^1", "W^{1}"), ("W_10", "W_{10}"), ("h_t", "h_t"),
    ("W_{hh}", "W_{hh}"), ("z^{(2)}", "z^{(2)}"), ("theta", r"\theta"), ("Theta", r"\Theta"),
    ("alpha", r"\alpha"), ("ell", r"\ell"), ("sigma", r"\sigma"), ("loss", r"\text{loss}"),
    ("hidden", r"\text{hidden}"), (r"\hat{y}", r"\hat{y}"), ("dW", r"\text{dW}"),
]  # fmt: skip
REFUSALS = ("as a function", "already declared", "the same name as")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=st.lists(st.sampled_from(POOL), min_size=len(ROLES), max_size=len(ROLES)))
def test_any_names_derive_correctly_or_are_refused(drawn, tmp_path, capsys):
    names = dict(zip(ROLES, drawn, strict=True))
    keys = [name_key(written) for written, _ in drawn]
    if len(set(keys)) < len(keys):
        return  # the same name twice: a TOML error or "already declared", tested above
    code, err = derive_and_read_back(network(**names), tmp_path, capsys)
    assert code == 0 or any(r in err for r in REFUSALS), err
    assert "Traceback" not in err
