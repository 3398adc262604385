# ruff: noqa: E501 - tables of formulas as people type them
"""verify: the public cases get their true verdicts, wrong ones a diagnosis that fits."""

import json

import numpy as np
import pytest
from conftest import TESTS
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from matcalc.checks.verify import MARGIN, Check, verify, with_layer_letter
from matcalc.cli import main
from matcalc.core.expr import (
    Add,
    Apply,
    Derivative,
    Diag,
    Fill,
    Hadamard,
    Identity,
    MatMul,
    Symbol,
    substitute,
)
from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.printers.chains import chain_forms
from matcalc.printers.latex import to_latex
from matcalc.reading.parse import parse_latex
from matcalc.specs.context import spec_from_toml
from matcalc.specs.network import Layer, Network

CASES = json.loads((TESTS / "data" / "public_cases.json").read_text())["cases"]

# Cases of another kind (other conventions, expression contexts) belong to issue 5.  Switch
# them on here once matcalc reads those conventions.
CONVENTION_CASES_PENDING = pytest.mark.skip(reason="issue 5: conventions")
CONVENTION_CASES_READ = {"ng-03"}


def _case_params():
    for case in CASES:
        pending = (
            case.get("kind") == "conventions"
            and case["id"] not in CONVENTION_CASES_READ
            and "[shapes]" not in case["spec"]
        )
        marks = [CONVENTION_CASES_PENDING] if pending else []
        yield pytest.param(case, id=case["id"], marks=marks)


def _verify_case(case):
    return verify(spec_from_toml(case["spec"]), case["equation"])


@pytest.mark.parametrize("case", list(_case_params()))
def test_public_case_gets_its_true_verdict_and_diagnosis(case):
    verdict = _verify_case(case)
    assert verdict.correct == case["correct"], verdict.reason
    if not case["correct"]:
        expected = set(case["error_class"])
        assert expected <= set(verdict.error_class), (verdict.error_class, verdict.reason)
        assert verdict.diagnosis


NOTATION_2 = CASES[[c["id"] for c in CASES].index("mit-03")]


def test_seed_notation_2_is_incorrect_with_the_shape_reason():
    verdict = verify(Network.from_toml(NOTATION_2["spec"]), NOTATION_2["equation"])
    assert verdict.verdict == "incorrect"
    assert r"n^{l} \times n^{l}" in verdict.reason
    assert r"m^{l} \times n^{l}" in verdict.reason
    assert "should be A^{l-1}" in verdict.diagnosis
    assert verdict.expected == r"A^{l-1}\,\left(\frac{\partial L}{\partial Z^{l}}\right)^{T}"


def test_wrong_argument_names_the_argument(mit_network):
    case = CASES[[c["id"] for c in CASES].index("mit-21")]
    verdict = verify(Network.from_toml(case["spec"]), case["equation"])
    assert "Z^1 should be A^{1}" in verdict.diagnosis


def test_general_formula_says_which_layers_were_checked(mit_network):
    recursion = (
        r"\frac{\partial L}{\partial Z^l} = {f^l}'(Z^l) \odot "
        r"\left(W^{l+1} \frac{\partial L}{\partial Z^{l+1}}\right)"
    )
    assert verify(mit_network, recursion).layers == ("1", "2")
    weight = r"\frac{\partial L}{\partial W^l} = A^{l-1} (\frac{\partial L}{\partial Z^l})^T"
    assert verify(mit_network, weight).layers == ("1", "2", "3")


@pytest.mark.parametrize(
    ("equation", "correct"),
    [
        (
            r"\frac{\partial L}{\partial W^{(l)}} = A^{(l-1)}\left(\frac{\partial L}{\partial Z^{(l)}}\right)^\top",
            True,
        ),
        (
            r"\frac{\partial J}{\partial W^{[l]}} = A^{[l-1]} \frac{\partial J}{\partial Z^{[l]}}^T",
            True,
        ),
        (r"\frac{\partial L}{\partial w^l} = a^{l-1} (\frac{\partial L}{\partial z^l})^T", True),
        (r"\frac{\partial L}{\partial W^1} = x (\frac{\partial L}{\partial Z^1})^T", True),
        (r"\frac{\partial L}{\partial A^L} = 2(A^L - y)", True),
        (r"\frac{\partial L}{\partial A^L} = 2(g - y)", True),
        (r"\frac{\partial L}{\partial Z^L} = 2(A^L - y)", True),
        (r"\frac{\partial L}{\partial A^{l}} = W^{l+1} \frac{\partial L}{\partial Z^{l+1}}", True),
        (r"\frac{\partial A^l}{\partial Z^l} = \operatorname{diag}(1 - A^l \odot A^l)", False),
        (r"\frac{\partial Z^{l+1}}{\partial A^l} = W^{l+1}", True),
        (
            r"\frac{\partial L}{\partial Z^2} = \operatorname{diag}(\tanh'(Z^2)) W^3 \frac{\partial L}{\partial Z^3}",
            True,
        ),
        (
            r"\frac{\partial L}{\partial Z^2} = (1 - A^2 \odot A^2) \odot W^3 \frac{\partial L}{\partial Z^3}",
            True,
        ),
        (r"\frac{\partial L}{\partial Z^2} = W^3 \frac{\partial L}{\partial Z^3}", False),
        (
            r"\frac{\partial L}{\partial W^l} = A^{l-1} (\frac{\partial L}{\partial Z^l})^T = \frac{\partial Z^l}{\partial W^l} (\frac{\partial L}{\partial Z^l})^T",
            True,
        ),
        (r"\nabla_{W^2} L = A^1 (\frac{\partial L}{\partial Z^2})^T", True),
    ],
)
def test_spellings_and_targets(mit_network, equation, correct):
    assert verify(mit_network, equation).correct == correct


def _ng(batch):
    return Network(
        [Layer(3, "tanh"), Layer(4, "relu"), Layer(1, "sigmoid")], 4, "nll", "ng", batch=batch
    )


def _goodfellow(batch):
    layers = [Layer(3, "tanh"), Layer(4, "relu"), Layer(2, "sigmoid")]
    return Network(layers, 3, "nll", "goodfellow", batch=batch)


@pytest.mark.parametrize(
    ("network", "equation", "says", "error_class"),
    [
        (
            None,
            r"\frac{\partial L}{\partial Z^l} = {f^l}'(Z^l) \odot \left((W^{l+1})^T \frac{\partial L}{\partial Z^{l+1}}\right)",
            "extra transpose on",
            "extra_transpose",
        ),
        (
            None,
            r"\frac{\partial L}{\partial Z^l} = {f^l}'(Z^l) \odot \left(W^{l} \frac{\partial L}{\partial Z^{l+1}}\right)",
            "W^{l+1}",
            "wrong_layer",
        ),
        (
            None,
            r"\frac{\partial L}{\partial W^l} = -A^{l-1} (\frac{\partial L}{\partial Z^l})^T",
            "sign",
            "wrong_sign",
        ),
        (
            None,
            r"\frac{\partial L}{\partial W^l} = 2 A^{l-1} (\frac{\partial L}{\partial Z^l})^T",
            "should not be there",
            "wrong_scale",
        ),
        (
            None,
            r"\frac{\partial L}{\partial Z^l} = W^{l+1} \frac{\partial L}{\partial Z^{l+1}}",
            r"{f^{l}}'\left(Z^{l}\right) is missing",
            "missing_factor",
        ),
        (
            _ng(6),
            r"dZ^{[l]} = W^{[l+1]T}dZ^{[l+1]}",
            r"g^{[l]\prime}\left(Z^{[l]}\right) is missing",
            "missing_factor",
        ),
        (
            _ng(6),
            r"dZ^{[l]} = W^{[l+1]T}dZ^{[l+1]} * g^{[l]\prime}(A^{[l]})",
            "A^{[l]} should be Z^{[l]}",
            "wrong_factor",
        ),
        (
            _ng(None),
            r"dW^{[l]} = dA^{[l]} A^{[l-1]T}",
            "dA^{[l]} should be dZ^{[l]}",
            "wrong_factor",
        ),
        (
            _ng(6),
            r"dW^{[l]} = \frac{1}{m} A^{[l-1]} dZ^{[l]T}",
            "the ng convention is Z^{[l]} = W^{[l]} A^{[l-1]} + b^{[l]}",
            "convention_mismatch",
        ),
        (
            _ng(6),
            r"dW^{[l]} = \frac{1}{m} A^{[l-1]T} dZ^{[l]}",
            "dZ^{[l]} are in the wrong order",
            "swapped_order",
        ),
        (
            _goodfellow(None),
            r"\nabla_{a^{(k)}} J = g \odot f'(h^{(k)})",
            "h^{(k)} should be a^{(k)}",
            "wrong_factor",
        ),
        (
            _goodfellow(None),
            r"\nabla_{a^{(k)}} J = W^{(k+1)\top} \nabla_{a^{(k+1)}} J",
            r"f^{(k)\prime}\left(a^{(k)}\right) is missing",
            "missing_factor",
        ),
        (
            _goodfellow("m"),
            r"\nabla_{W^{(k)}} J = g a^{(k-1)\top}",
            r"a^{(k-1)\top} should be h^{(k-1)}",
            "wrong_factor",
        ),
        (
            _goodfellow(None),
            r"\nabla_{W^{(k)}} J = \nabla_{h^{(k)}} J h^{(k-1)\top}",
            r"should be \nabla_{a^{(k)}} J",
            "wrong_factor",
        ),
    ],
)
def test_diagnosis_names_the_edit_in_the_conventions_own_names(
    mit_network, network, equation, says, error_class
):
    verdict = verify(network or mit_network, equation)
    assert not verdict.correct
    assert verdict.diagnosis and says in verdict.diagnosis, verdict.reason
    assert error_class in verdict.error_class


@pytest.mark.parametrize(
    ("equation", "message"),
    [
        (r"\frac{\partial L}{\partial W^l}", "equation"),
        (r"A^l = A^l", "left side"),
        (r"\frac{\partial L}{\partial W^7} = A^6", "no layer"),
        (r"\frac{\partial L}{\partial W^l} = B^{l}", "unknown symbol B"),
        (r"\frac{\partial L}{\partial W^k} = A^{k-1}", "layer index k"),
    ],
)
def test_bad_equations_are_clean_errors(mit_network, equation, message):
    with pytest.raises(MatcalcError, match=message):
        verify(mit_network, equation)


def test_verdict_renders_in_a_notebook(mit_network):
    verdict = verify(mit_network, NOTATION_2["equation"])
    assert verdict._repr_latex_().startswith("$$")
    assert "incorrect" in verdict._repr_markdown_()


@pytest.mark.parametrize(
    ("network", "equation"),
    [
        (None, NOTATION_2["equation"]),
        (None, CASES[0]["equation"]),
        (
            None,
            r"\frac{\partial J}{\partial W^{[\ell]}} = A^{[\ell-1]} \frac{\partial J}{\partial Z^{[\ell]}}",
        ),
        (
            None,
            r"\frac{\partial L}{\partial Z^{1}} = \operatorname{diag}(Z^1) W^2 \frac{\partial L}{\partial Z^2}",
        ),
        (None, r"\frac{\partial L}{\partial Z^l} = W^{l+1} \frac{\partial L}{\partial Z^{l+1}}"),
        (
            None,
            r"\frac{\partial L}{\partial W^l} = \frac{\partial L}{\partial Z^l} \left(A^{l-1}\right)^T",
        ),
        (_ng(6), r"dW^{[l]} = \frac{1}{m} A^{[l-1]} dZ^{[l]T}"),
        (_ng(6), r"dW^{[2]} = dZ^{[2]} A^{[1]T}"),
        (_goodfellow(None), r"\nabla_{a^{(k)}} J = W^{(k+1)\top} \nabla_{a^{(k+1)}} J"),
    ],
)
def test_verdict_markdown_renders_in_katex(mit_network, network, equation):
    from conftest import formulas, katex_failures

    verdict = verify(network or mit_network, equation)
    markdown = verdict._repr_markdown_()
    assert "$$" in markdown and katex_failures(markdown) == []
    reason = markdown.split("\n\n")[1]
    assert formulas(reason), reason
    assert verdict.reason == reason.replace("$", "")
    assert "$" not in verdict.to_json() and "\x02" not in verdict.to_json()


@pytest.mark.parametrize(
    ("equation", "checked"),
    [
        (r"\frac{\partial L}{\partial W^2} = A^1 (\frac{\partial L}{\partial Z^2})^T", "layer 2"),
        (
            r"\frac{\partial L}{\partial W^L} = A^{L-1} (\frac{\partial L}{\partial Z^L})^T",
            "layer L = 3",
        ),
        (
            r"\frac{\partial L}{\partial W^l} = A^{l-1} (\frac{\partial L}{\partial Z^l})^T",
            "layers 1, 2, 3",
        ),
    ],
)
def test_the_verdict_says_which_layer_was_checked(mit_network, equation, checked):
    verdict = verify(mit_network, equation)
    assert verdict.reason.endswith(f"in value at {checked}")
    assert f"checked at {checked}\n" in verdict.summary() + "\n"
    assert f"({checked})" in verdict._repr_markdown_()


# ------------------------------------------------------------------------------ CLI


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(CASES[0]["spec"])
    return path


def test_cli_exit_codes_and_json(spec_file, capsys):
    assert main(["verify", str(spec_file), CASES[0]["equation"]]) == 0
    assert main(["verify", str(spec_file), NOTATION_2["equation"], "--json"]) == 1
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert record["verdict"] == "incorrect"
    assert {"verdict", "target", "reason", "expected"} <= set(record)


@pytest.mark.parametrize(
    "equation",
    [
        r"\frac{\partial L}{\partial W^l} = \foo",
        "{",
        r"\frac{\partial L}{\partial W^9} = A^8",
        "",
        r"\frac{\partial L}{\partial W^l} = " + "A^l" * 1000,
        r"\frac{\partial L}{\partial W^l} = " + "(" * 100 + "A" + ")" * 100,
        r"\frac{\partial L}{\partial B^l} = A^l",
    ],
)
def test_cli_bad_input_is_exit_2_without_traceback(spec_file, capsys, equation):
    assert main(["verify", str(spec_file), equation]) == 2
    err = capsys.readouterr().err
    assert err.startswith("matcalc: error:") and "Traceback" not in err


def test_cli_batch(tmp_path, spec_file, capsys):
    lines = [
        json.dumps({"spec": str(spec_file), "equation": CASES[0]["equation"]}),
        json.dumps({"spec": CASES[0]["spec"], "equation": NOTATION_2["equation"], "id": "x"}),
        "not json",
        json.dumps({"spec": "missing.toml", "equation": "A"}),
        json.dumps({"spec": str(spec_file), "equation": r"\frac{"}),
        "[" * 5000 + "]" * 5000,
    ]
    batch = tmp_path / "cases.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    assert main(["verify", "--batch", str(batch)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    verdicts = [r["verdict"] for r in records]
    assert verdicts == ["correct", "incorrect", "error", "error", "error", "error"]
    assert "nested too deeply" in records[5]["error"]
    assert records[1]["id"] == "x"


# ------------------------------------------------------------------------------ properties

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")


@st.composite
def networks(draw):
    """A small random 6.390 network: depth 1-3, sizes 1-4, any loss with its output layer."""
    depth = draw(st.integers(1, 3))
    activations = [draw(st.sampled_from(ACTIVATIONS)) for _ in range(depth)]
    loss = draw(st.sampled_from(("squared", "nll", "nllm")))
    sizes = [draw(st.integers(1, 4)) for _ in range(depth + 1)]
    if loss == "nll":
        activations[-1], sizes[-1] = "sigmoid", 1
    if loss == "nllm":
        activations[-1], sizes[-1] = "softmax", max(sizes[-1], 2)
    layers = tuple(Layer(s, a) for s, a in zip(sizes[1:], activations, strict=True))
    return Network(layers, sizes[0], loss)


def derived_equations(network):
    """Every formula matcalc derives for the network, as 'target = formula' LaTeX."""
    equations = []
    for gradient in derive(network).gradients():
        target = to_latex(gradient.target)
        for form in (*chain_forms(gradient), gradient.simplified):
            equations.append((gradient.target, form, f"{target} = {to_latex(form)}"))
        dz, value = gradient.recursion
        equations.append((dz, value, f"{to_latex(dz)} = {to_latex(value)}"))
    return equations


@settings(max_examples=25, deadline=None)
@given(network=networks(), data=st.data())
def test_derived_formulas_read_back_verify_as_correct(network, data):
    _, _, equation = data.draw(st.sampled_from(derived_equations(network)))
    verdict = verify(network, equation)
    assert verdict.correct, (equation, verdict.reason)


_PLACEHOLDER = "EDITED"


def _edits(form):
    """(description, edited LaTeX of the node, node) for edits that must change the value."""
    for node in form.walk():
        if isinstance(node, Symbol | Derivative) and not _trivially_symmetric(node):
            yield "transpose", f"\\left({to_latex(node)}\\right)^T", node
        if isinstance(node, MatMul) and not any(_commutes(f) for f in node.factors):
            swapped = r"\,".join(f"\\left({to_latex(f)}\\right)" for f in reversed(node.factors))
            yield "swap", swapped, node
        if isinstance(node, MatMul):
            for position, factor in enumerate(node.factors):
                if isinstance(factor, Diag) and _is_activation_derivative(factor.arg):
                    rest = node.factors[:position] + node.factors[position + 1 :]
                    kept = r"\,".join(f"\\left({to_latex(f)}\\right)" for f in rest)
                    yield "drop f'", kept, node
        if isinstance(node, Hadamard) and _is_activation_derivative(node.factors[0]):
            kept = r" \odot ".join(f"\\left({to_latex(f)}\\right)" for f in node.factors[1:])
            yield "drop f'", kept, node


def _commutes(node):
    """Scalars and multiples of the identity: diag(1) prints without its size."""
    constant_diagonal = isinstance(node, Diag) and isinstance(node.arg, Fill)
    return node.shape == (1, 1) or isinstance(node, Identity) or constant_diagonal


def _trivially_symmetric(node):
    """Nodes whose transpose is themselves at every size: scalars, diagonals, dA/dZ."""
    if node.shape == (1, 1) or isinstance(node, Diag | Identity | Fill):
        return True
    if isinstance(node, Derivative) and node.shape[0] == node.shape[1]:
        return True
    return isinstance(node, Add)


def _is_activation_derivative(node):
    """f'(Z) in any of its printed forms, other than the identity's (which is 1)."""
    if isinstance(node, Fill):
        return False
    if isinstance(node, Apply):
        return node.fn.order >= 1 and node.fn.name != "identity" or node.fn.name == "step"
    return any(isinstance(n, Symbol) and n.name in ("A", "Z") for n in node.walk())


@settings(max_examples=30, deadline=None)
@given(network=networks(), data=st.data())
def test_one_edit_of_a_derived_formula_verifies_as_incorrect(network, data):
    candidates = [
        (target, form, edit)
        for target, form, _ in derived_equations(network)
        for edit in _edits(form)
    ]
    assume(candidates)
    target, form, (kind, edited, node) = data.draw(st.sampled_from(candidates))
    placeholder = Symbol(_PLACEHOLDER, node.shape)
    text = to_latex(substitute(form, {node: placeholder})).replace(_PLACEHOLDER, edited, 1)
    text = text.replace(_PLACEHOLDER, to_latex(node))
    equation = f"{to_latex(target)} = {text}"
    verdict = verify(network, equation)
    assert not verdict.correct, (kind, equation)


# A dropped f' of a ReLU is invisible in a draw where the unit is positive, and blocked where a
# later unit of size 1 is negative: every unit must be seen on both sides, with a gradient
# reaching it.
DROPPED_STEP = {
    "6.390": (
        r"\frac{\partial L}{\partial Z^1} = {f^1}'(Z^1) \odot W^2 \frac{\partial L}{\partial Z^2}",
        r"\frac{\partial L}{\partial Z^1} = W^2 \frac{\partial L}{\partial Z^2}",
    ),
    "ng": (r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]}'(Z^{[1]})", r"dZ^{[1]} = W^{[2]T} dZ^{[2]}"),
    "goodfellow": (
        r"\nabla_{a^{(1)}} J = f'(a^{(1)}) \odot W^{(2)\top} \nabla_{a^{(2)}} J",
        r"\nabla_{a^{(1)}} J = W^{(2)\top} \nabla_{a^{(2)}} J",
    ),
}


@pytest.mark.parametrize("batch", [None, 2, "K"])
@pytest.mark.parametrize("depth", [2, 4])
@pytest.mark.parametrize("convention", list(DROPPED_STEP))
def test_a_dropped_relu_step_is_caught_in_units_of_size_1(convention, depth, batch):
    network = Network(
        tuple(Layer(1, "relu") for _ in range(depth)), 3, "squared", convention, batch=batch
    )
    right, dropped = DROPPED_STEP[convention]
    assert verify(network, right).correct
    verdict = verify(network, dropped)
    assert not verdict.correct and "missing_factor" in verdict.error_class, verdict.reason


def test_a_dropped_relu_step_is_caught_before_a_wider_layer():
    network = Network((Layer(1, "relu"), Layer(2, "identity")), 3, "squared")
    verdict = verify(network, DROPPED_STEP["6.390"][1])
    assert not verdict.correct and "missing_factor" in verdict.error_class


def test_every_relu_unit_is_seen_on_both_sides_with_a_gradient_behind_it():
    """In every convention and batch, each unit's pre-activation is positive in one draw and,
    away from 0, negative in another where every other layer is positive."""
    layers = (Layer(1, "relu"), Layer(3, "relu"), Layer(1, "relu"), Layer(2, "identity"))
    for convention, batch in [("6.390", None), ("ng", 3), ("goodfellow", "m")]:
        network = Network(layers, 2, "squared", convention, batch=batch)
        equation = with_layer_letter(parse_latex(DROPPED_STEP[convention][0]), "l")
        for net, _, envs in Check(network, network, equation).environments:
            z = [[env[net.pre_activation(l)] for l in net.indices()] for env in envs]
            assert all(np.abs(v).min() >= MARGIN for draw in z for v in draw)
            for l, size in enumerate(int(net.size(k)) for k in net.indices()):
                for unit in range(size):
                    assert any((draw[l][unit] > 0).all() for draw in z)
                    assert any(
                        (draw[l][unit] < 0).all()
                        and all((v > 0).all() for k, v in enumerate(draw) if k != l)
                        for draw in z
                    )


# ------------------------------------------------------------------------------ notation

SEED_CHAIN = (
    r"\frac{\partial \mathcal{L}}{\partial Z^\ell} = \overbrace{\left( \frac{\partial A^\ell}"
    r"{\partial Z^\ell} \right)}^{\text{Layer } \ell} \cdot \left( \cdots \right) \cdot "
    r"\overbrace{\left( \frac{\partial Z^{L-1}}{\partial A^{L-2}} \cdot \frac{\partial A^{L-1}}"
    r"{\partial Z^{L-1}} \right)}^{\text{Layer } L-1} \cdot \overbrace{\left( \frac{\partial Z^L}"
    r"{\partial A^{L-1}} \cdot \frac{\partial A^L}{\partial Z^L} \right)}^{\text{Layer } L} \cdot "
    r"\overbrace{\left( \frac{\partial \mathcal{L}}{\partial A^L} \right)}^{\text{Loss unit}}"
)
DEEP = Network(
    tuple(
        Layer(s, a)
        for s, a in [(3, "tanh"), (5, "sigmoid"), (4, "relu"), (6, "tanh"), (2, "identity")]
    ),
    4,
)
SYMBOLIC_DEPTH = Network.from_toml('depth = "L"\n[[layer]]\nactivation = "f"\n')


@pytest.mark.parametrize("network", [DEEP, SYMBOLIC_DEPTH], ids=["depth 5", "depth L"])
def test_the_seed_chain_with_cdots_is_expanded_and_correct(network):
    verdict = verify(network, SEED_CHAIN)
    assert verdict.correct, verdict.reason
    assert verdict.layers[0] == "1" and len(verdict.layers) == network_depth(network) - 2


def network_depth(network):
    return 4 if network.symbolic else len(network.layers)


@pytest.mark.parametrize("network", [DEEP, SYMBOLIC_DEPTH], ids=["depth 5", "depth L"])
def test_a_broken_seed_chain_is_incorrect(network):
    broken = SEED_CHAIN.replace(
        r"\frac{\partial A^\ell}{\partial Z^\ell}",
        r"\frac{\partial A^\ell}{\partial Z^\ell} \cdot 2",
    )
    assert not verify(network, broken).correct


@pytest.mark.parametrize(
    ("equation", "expected"),
    [
        (
            r"\frac{\partial L}{\partial W^{(l)}} = \frac{\partial L}{\partial Z^{(l)}} (A^{(l-1)})^\top",
            r"A^{(l-1)}\,\left(\frac{\partial L}{\partial Z^{(l)}}\right)^{\top}",
        ),
        (
            r"\frac{\partial J}{\partial W^{[\ell]}} = 0",
            r"A^{[\ell-1]}\,\left(\frac{\partial J}{\partial Z^{[\ell]}}\right)^{T}",
        ),
        (
            r"\frac{\partial \text{loss}}{\partial Z^{l}} = 0",
            r"{f^{l}}'\left(Z^{l}\right) \odot \left(W^{l+1}\,\frac{\partial \text{loss}}{\partial Z^{l+1}}\right)",
        ),
        (
            r"\frac{\partial \mathcal{L}_{\text{sq}}}{\partial W^{L}} = 0",
            r"A^{L-1}\,\left(\frac{\partial \mathcal{L}_{\text{sq}}}{\partial Z^{L}}\right)^{T}",
        ),
    ],
)
def test_the_correct_formula_is_shown_in_the_users_notation(mit_network, equation, expected):
    assert verify(mit_network, equation).expected == expected


def test_expected_formula_comes_with_the_recursion_it_refers_to():
    case = CASES[[c["id"] for c in CASES].index("mit-15")]
    verdict = verify(Network.from_toml(case["spec"]), case["equation"].replace("^T", ""))
    assert verdict.where == r"\frac{\partial \mathcal{L}_{\text{nll}}}{\partial Z^{L}} = A^{L} - y"
    assert verdict.layers == ("L = 2",)


def test_shapes_in_reasons_are_written_like_the_target(mit_network):
    verdict = verify(
        mit_network,
        r"\frac{\partial L}{\partial W^L} = \frac{\partial L}{\partial Z^L} (A^{L-1})^T",
    )
    assert r"n^{L} \times m^{L}" in verdict.reason and r"m^{L} \times n^{L}" in verdict.reason


BINARY = Network((Layer(3, "sigmoid"), Layer(4, "relu"), Layer(1, "sigmoid")), 2, "nll")


@pytest.mark.parametrize(
    ("equation", "correct"),
    [
        (r"\frac{\partial L}{\partial A^L} = -\frac{y}{A^L} + \frac{1-y}{1-A^L}", True),
        (r"\frac{\partial L}{\partial A^L} = \frac{A^L - y}{A^L \odot (1 - A^L)}", True),
        (r"\frac{\partial L}{\partial Z^L} = \hat{y} - y", True),
        (r"\frac{\partial L}{\partial Z^L} = g - y", True),
        (
            r"\frac{\partial L}{\partial Z^1} = \sigma'(Z^1) \odot \left(W^2 \frac{\partial L}{\partial Z^2}\right)",
            True,
        ),
        (
            r"\frac{\partial L}{\partial Z^1} = \mathrm{diag}\left(\sigma(Z^1) \odot (1 - \sigma(Z^1))\right) W^2 \frac{\partial L}{\partial Z^2}",
            True,
        ),
        (
            r"\frac{\partial L}{\partial Z^2} = \operatorname{ReLU}'(Z^2) \odot W^3 \frac{\partial L}{\partial Z^3}",
            True,
        ),
        (r"\frac{\partial L}{\partial Z^2} = \operatorname{step}(Z^2) \odot W^3 (A^3 - y)", True),
        (r"\frac{\partial L}{\partial W_0^2} = \operatorname{step}(Z^2) \odot W^3 (A^3 - y)", True),
        (r"\frac{\partial L}{\partial W^3} = (A^3 - y) A^2", True),
        (r"\frac{\partial L}{\partial W^3} = A^2 (A^3 - y)", True),
        (
            r"\frac{\partial L}{\partial W^{1}} = x \left(\frac{\partial L}{\partial Z^{1}}\right)^{\!\top}",
            True,
        ),
        (
            r"\dfrac{\partial \mathcal{L}}{\partial \mathbf{W}^{[2]}} = \mathbf{A}^{[1]} \, \Big( \dfrac{\partial \mathcal{L}}{\partial \mathbf{Z}^{[2]}} \Big)^{\mathsf{T}}",
            True,
        ),
        (
            r"\frac{\partial L}{\partial Z^1} = \sigma'(Z^1) \odot \left((W^2)^T \frac{\partial L}{\partial Z^2}\right)",
            False,
        ),
    ],
)
def test_real_world_spellings_with_a_single_sigmoid_output(equation, correct):
    assert verify(BINARY, equation).correct == correct


@pytest.mark.parametrize(
    ("batch", "sizes", "drawn"),
    [("m", (4, 3, 1), 5), ("K", (4, 3, 5, 2), 6), ("m", (2, 5), 3), (4, (4, 3), 4)],
)
def test_a_drawn_batch_is_no_layers_size(batch, sizes, drawn):
    """A symbolic batch is drawn at the least size from 3 that no layer has (a declared small
    one is kept), so no quantity of the batch is square where the formula's is not."""
    layers = "".join(f'[[layer]]\nsize = {n}\nactivation = "tanh"\n' for n in sizes[1:])
    batch_line = f'batch = "{batch}"' if isinstance(batch, str) else f"batch = {batch}"
    net = Network.from_toml(f'convention = "ng"\ninput = {sizes[0]}\n{batch_line}\n{layers}')
    check = Check(net, net, parse_latex("dZ^{[1]} = dA^{[1]}"))
    assert {n.batch_size for n, _, _ in check.environments} == {drawn}


def test_a_power_of_a_batch_that_is_not_square_is_entrywise_at_every_size():
    net = Network.from_toml(
        'convention = "ng"\ninput = 4\nloss = "nll"\nbatch = "m"\n[[layer]]\nsize = 3\n'
        'activation = "tanh"\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n'
    )
    assert verify(net, r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - (A^{[1]})^2)").correct
