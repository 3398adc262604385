"""The network as the 6.390 notes draw it (Notation 1), as TikZ.

The forward pass runs left to right along straight arrows, x -> Z^1 -> A^1 -> ... -> A^L -> L,
with W^l and W_0^l feeding into Z^l from above.  Back-propagation runs right to left along
curved arrows below, each labelled with the gradient it carries (dL/dA^L, dL/dZ^L, ...), and
from Z^l up to its weights with dL/dW^l, on the side away from the activation's label.  Deep
and symbolic networks show the middle layers as one \\cdots node.
"""

from __future__ import annotations

from matcalc.core.record import record
from matcalc.engine.derive import Derivation
from matcalc.printers.braces import Row
from matcalc.printers.document import A4, Block, Page, Paragraph, Picture
from matcalc.printers.latex import DEFAULT, Notation, function_latex, to_latex
from matcalc.specs.network import Network

SHOWN_LAYERS = 4
"""Networks deeper than this show layers 1, 2 and L, with \\cdots between."""
STEP_CM = 1.75


@record
class Node:
    """One quantity of the forward pass: its TikZ name, its LaTeX, its layer's weights."""

    key: str
    label: str
    weights: str = ""
    activation: str = ""


def shown_layers(network: Network) -> list:
    """The layers the picture draws, None standing for the elided ones."""
    indices = list(network.indices())
    if network.symbolic:
        return [1, None, indices[-1]]
    if len(indices) > SHOWN_LAYERS:
        return [1, 2, None, indices[-1]]
    return indices


def nodes(network: Network, notation: Notation = DEFAULT) -> list[Node]:
    """x, then Z^l and A^l of each shown layer, then the loss."""
    result = [Node("x", "x")]
    for l in shown_layers(network):
        if l is None:
            result.append(Node("dots", r"\cdots"))
            continue
        z = network.pre_activation(l)
        weights = (
            f"{to_latex(network.weight(l), notation)},\\ {to_latex(network.bias(l), notation)}"
        )
        activation = function_latex(network.activation_function(l), notation)
        if network.activation_name(l) == "softmax":
            activation = r"\operatorname{softmax}"
        result.append(Node(f"Z{len(result)}", to_latex(z, notation), weights, activation))
        result.append(Node(f"A{len(result)}", to_latex(network.activation(l), notation)))
    result.append(Node("loss", notation.loss))
    return result


def _gradient(node: Node, notation: Notation) -> str:
    return f"\\partial {notation.loss}/\\partial {node.label}"


def tikz(derivation: Derivation, notation: Notation = DEFAULT, page: Page = A4) -> str:
    """The picture: forward arrows straight and above, backward arrows curved and below."""
    chain = nodes(derivation.network, notation)
    # The nodes at both ends and the first weight gradient's label stick out of the positions.
    step = min(STEP_CM, (page.width_cm - 2.5) / (len(chain) - 1))
    lines = [
        f"\\begin{{tikzpicture}}[x={step:.2f}cm, >=Stealth, "
        "back/.style={->, blue!60!black, bend left=55}, "
        "label/.style={font=\\scriptsize}]"
    ]
    for position, node in enumerate(chain):
        lines.append(f"  \\node ({node.key}) at ({position},0) {{${node.label}$}};")
        if node.weights:
            lines.append(
                f"  \\node[font=\\small] (W{node.key}) at ({position},1.7) {{${node.weights}$}};"
            )
            lines.append(f"  \\draw[->] (W{node.key}) -- ({node.key});")
            gradient = f"\\partial {notation.loss}/\\partial {node.weights.split(',')[0]}"
            # Up the west side: the activation's label sits east of Z^l, above its arrow.
            lines.append(
                f"  \\draw[->, blue!60!black] ({node.key}.north west) to[bend left=40] "
                f"node[label, left, pos=0.7] {{${gradient}$}} (W{node.key}.south west);"
            )
    for left, right in zip(chain, chain[1:], strict=False):
        label = f"node[label, above] {{${left.activation}$}} " if left.activation else ""
        lines.append(f"  \\draw[->] ({left.key}) -- {label}({right.key});")
    for left, right in reversed(list(zip(chain[1:], chain[2:], strict=False))):
        label = (
            "" if left.key == "dots" else f"node[label, below] {{${_gradient(left, notation)}$}} "
        )
        lines.append(f"  \\draw[back] ({right.key}) to {label}({left.key});")
    lines.append("\\end{tikzpicture}")
    return "\n".join(lines)


def fallback_rows(derivation: Derivation, notation: Notation = DEFAULT) -> tuple[Row, ...]:
    """The same picture as display math, for Markdown: the two passes as arrows."""
    chain = nodes(derivation.network, notation)
    forward = chain[0].label
    for left, right in zip(chain, chain[1:], strict=False):
        over = left.activation or (right.weights if right.weights else "")
        forward += f" \\xrightarrow{{{over}}} {right.label}" if over else f" \\to {right.label}"
    backward = notation.loss
    for node in reversed(chain[1:-1]):
        backward += " \\to " + (r"\cdots" if node.key == "dots" else _gradient(node, notation))
    return (
        Row(r"\text{forward}", forward, relation=""),
        Row(r"\text{backward}", backward, relation=""),
    )


def diagram_blocks(
    derivation: Derivation, notation: Notation = DEFAULT, page: Page = A4
) -> list[Block]:
    return [
        Paragraph(
            "The forward pass runs along the straight arrows, left to right; back-propagation "
            "runs back along the curved arrows, each labelled with the gradient it carries."
        ),
        Picture(tikz(derivation, notation, page), fallback_rows(derivation, notation)),
    ]
