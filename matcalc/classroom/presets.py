"""The playground's preset specs: a small list owned here, the files beside it in presets/."""

from __future__ import annotations

from importlib import resources

from matcalc.core.record import record


@record
class Preset:
    """A spec the page offers: its file in presets/, its title, and a formula to try."""

    name: str
    title: str
    formula: str


PRESETS = (
    Preset(
        "two-layer-sigmoid-squared",
        "Two sigmoid layers, squared loss",
        r"\frac{\partial L}{\partial W^1} = A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T",
    ),
    Preset(
        "three-layer-relu-tanh-softmax",
        "ReLU, tanh, softmax with NLL",
        r"\frac{\partial L}{\partial W^3} = A^2 \left(\frac{\partial L}{\partial Z^3}\right)^T",
    ),
    Preset(
        "logistic-regression",
        "Logistic regression",
        r"\frac{\partial L}{\partial W^1} = A^0 \left(A^1 - y\right)^T",
    ),
    Preset(
        "generic-L-layer",
        "A network of symbolic depth L",
        r"\frac{\partial L}{\partial W^l} = A^{l-1} \left(\frac{\partial L}{\partial Z^l}\right)^T",
    ),
    Preset(
        "ng-two-layer-batch",
        "Ng's notation, a mini-batch",
        r"dW^{[2]} = \frac{1}{m} dZ^{[2]} A^{[1]T}",
    ),
    Preset(
        "goodfellow-three-layer",
        "Goodfellow's Algorithm 6.4",
        r"\nabla_{W^{(1)}} J = \left(\nabla_{a^{(1)}} J\right) h^{(0)T}",
    ),
    Preset(
        "residual",
        "Two residual blocks (forward equations)",
        r"\frac{\partial L}{\partial A_1} = W_2^T \frac{\partial L}{\partial Z_2}"
        r" + \frac{\partial L}{\partial A_2}",
    ),
    Preset(
        "attention",
        "One attention head (forward equations)",
        r"\frac{\partial L}{\partial W_v} = \frac{\partial L}{\partial V} X^T",
    ),
    Preset(
        "batchnorm",
        "Batch normalization (forward equations)",
        r"\frac{\partial L}{\partial \beta} = \frac{\partial L}{\partial Y} \mathbf{1}_K",
    ),
    Preset(
        "ridge-regression",
        "Ridge regression (an expression context)",
        r"\nabla_\theta J = \frac{2}{n} X^T (X\theta + \theta_0 - Y) + 2 \lambda \theta",
    ),
)


def preset_text(name: str) -> str:
    """The TOML text of a preset."""
    return (
        resources.files("matcalc.classroom")
        .joinpath("presets", f"{name}.toml")
        .read_text(encoding="utf-8")
    )


def preset_table() -> list[dict]:
    """Every preset as JSON for the page: name, title, spec text, a formula to try."""
    return [
        {"name": p.name, "title": p.title, "spec": preset_text(p.name), "formula": p.formula}
        for p in PRESETS
    ]
