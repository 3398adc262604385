"""The notebook in docs/ runs, and its results render the lecture view: a derivation with its
braces and shapes, a gradient with each factor's shape, verdicts that say what they are."""

import os

import pytest
from conftest import ROOT, assert_renders, missing

from matcalc import Layer, Network, verify
from matcalc.engine.derive import derive

NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
RIGHT = r"\frac{\partial L}{\partial W^1} = A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T"
WRONG = r"\frac{\partial L}{\partial W^1} = \frac{\partial L}{\partial Z^1} (A^0)^T"


@pytest.fixture(scope="module")
def executed():
    """The notebook's code cells, run top to bottom in a fresh kernel, as Jupyter would."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        missing("nbclient is not installed (pip install -e '.[test]')")
    try:
        import ipykernel  # noqa: F401
    except ImportError:
        missing("ipykernel is not installed (pip install -e '.[test]')")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT)  # the kernel imports this checkout's matcalc
    try:
        NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": ROOT}}
        ).execute()
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def result(cell) -> dict:
    (output,) = [out for out in cell.outputs if out.output_type == "execute_result"]
    return output["data"]


def test_the_notebook_runs_without_errors(executed):
    assert all(out.output_type != "error" for cell in executed for out in cell.outputs)
    assert len(executed) == 5


def test_a_derivation_shows_the_braced_chains_with_shapes(executed):
    data = result(executed[0])
    markdown = data["text/markdown"]
    assert r"\overbrace{\underbrace{\frac{\partial Z^{1}}{\partial W^{1}}}_{4\times 1}}" in markdown
    assert r"^{\text{Weight link}}" in markdown and r"^{\text{Layer } 1}" in markdown
    assert r"\underbrace{A^{0}}_{4\times 1}" in markdown
    assert data["text/plain"] == "<Derivation of 2 layers: W^1, W_0^1, W^2, W_0^2>"
    assert_renders(markdown)


def test_a_gradient_shows_each_factor_with_its_shape(executed):
    data = result(executed[1])
    markdown = data["text/markdown"]
    assert (
        r"\frac{\partial \mathcal{L}}{\partial W^{1}} &= "
        r"\underbrace{\frac{\partial Z^{1}}{\partial W^{1}}}_{4\times 1}\," in markdown
    )
    assert (
        r" &= \underbrace{A^{0}}_{4\times 1}\,"
        r"\underbrace{\left(\frac{\partial \mathcal{L}}{\partial Z^{1}}\right)^{T}}_{1\times 3}"
        in markdown
    )
    assert r"\text{where } \frac{\partial \mathcal{L}}{\partial Z^{1}} &= " in markdown
    assert data["text/plain"].startswith("<Gradient W^1 (4 x 3) = A^{0}")
    assert_renders(markdown)


def test_verdicts_render_and_say_what_they_are(executed):
    right, wrong = result(executed[2]), result(executed[3])
    assert right["text/markdown"].startswith("✅ **correct**")
    assert wrong["text/markdown"].startswith("❌ **incorrect**")
    assert r"\text{incorrect}" in wrong["text/latex"]
    assert r"A^{0}\,\left(\frac{\partial L}{\partial Z^{1}}\right)^{T}" in wrong["text/markdown"]
    assert right["text/plain"] == r"<Verdict correct: \frac{\partial L}{\partial W^{1}}>"
    assert wrong["text/plain"].startswith(r"<Verdict incorrect: \frac{\partial L}{\partial W^{1}}")
    assert_renders(wrong["text/markdown"])
    assert result(executed[4])["text/plain"] == "(True, False)"


# ------------------------------------------------------------------ the same, without Jupyter


@pytest.fixture(scope="module")
def net():
    return Network([Layer(3, "tanh"), Layer(2, "identity")], input=4, loss="squared")


@pytest.mark.parametrize(("equation", "truth"), [(RIGHT, True), (WRONG, False)])
def test_a_verdict_is_true_exactly_when_correct(net, equation, truth):
    verdict = verify(net, equation)
    assert bool(verdict) is truth is verdict.correct
    assert ("correct" if truth else "incorrect") in repr(verdict)


def test_every_gradient_of_a_derivation_renders_in_katex(net):
    derivation = derive(net)
    for gradient in derivation.gradients():
        assert gradient.key in repr(gradient)
        assert_renders(gradient._repr_markdown_())
