"""The derivation step by step, backwards from the loss, as the 6.390 notes narrate it.

:func:`steps` turns a :class:`~matcalc.engine.derive.Derivation` into :class:`Step` records,
built from the network and the engine's assignments (:mod:`matcalc.printers.chains`): start
from the loss (layer L), then one layer per step down to layer 1, each line naming the identity
it used.  :func:`steps_blocks` prints
them; the two know nothing of each other's details.
"""

from __future__ import annotations

from dataclasses import replace

import sympy

from matcalc.core.expr import (
    Apply,
    Cdots,
    Derivative,
    Expr,
    Fill,
    Function,
    Identity,
    MatMul,
    Symbol,
    Transpose,
    matmul,
)
from matcalc.core.record import record
from matcalc.core.rule import Rule
from matcalc.core.shapes import LAYER
from matcalc.engine.derive import Derivation
from matcalc.engine.rules import Kind, rule_named
from matcalc.printers.braces import (
    CHAIN_RULE,
    Row,
    broken,
    group_latex,
    operand_latex,
    rules_note,
    shaped,
    shaped_expr,
    without_identity_prime,
)
from matcalc.printers.chains import ChainGroup, LayerChain, chains_of
from matcalc.printers.document import Block, Display, Heading, Paragraph
from matcalc.printers.latex import DEFAULT, Notation, plain_index, to_latex

WEIGHT_CHAIN = (
    "by the chain rule with the weight link added separately, order reversed and transposed "
    "(MIT 6.390 notes, 'How the chain rule changes in matrix form')"
)


@record
class Line:
    """One line of a derivation: ``lhs`` = ``rhs`` by ``rules`` (``lhs`` None continues).

    ``shapes`` says whether the printer shows each factor of ``rhs`` with its shape; ``note``
    names a step that is no identity of the table (the chain rule itself).
    """

    lhs: Expr | None
    rhs: Expr
    rules: tuple[Rule, ...] = ()
    shapes: bool = True
    note: str = ""


@record
class Step:
    """One step of a derivation backwards from the loss: a title, then its lines.

    ``chain`` is, where the step shows it, the whole chain of ``chain_of`` (dL/dZ^l) with its
    layers.
    """

    title: str
    layer: int | sympy.Expr | None
    lines: tuple[Line, ...]
    chain: tuple[ChainGroup, ...] = ()
    chain_of: Expr | None = None


def steps(
    derivation: Derivation, until: Derivative | None = None, notation: Notation = DEFAULT
) -> list[Step]:
    """From the loss back to layer 1: one step per layer, ending with dL/dW^1.

    With ``until`` (a gradient such as dL/dW^2 of a network of fixed depth), the steps end at
    that gradient's layer, and the last step says that it is what we are after.
    """
    net = derivation.network
    chains = chains_of(derivation)
    layers = list(reversed(net.indices()))
    if until is not None and not net.symbolic:
        chosen = [l for l in layers if until in (derivation.layers[l].dw, derivation.layers[l].dw0)]
        layers = layers[: layers.index(chosen[0]) + 1] if chosen else layers
    else:
        until = None if net.symbolic else derivation.layers[layers[-1]].dw
    result = []
    for number, l in enumerate(layers):
        layer = chains.layer(l)
        last = until is not None and number == len(layers) - 1
        target = to_latex(until.den, notation) if last else None
        title = _title(number, l, net.symbolic, target)
        result.append(Step(title, l, _lines(derivation, layer)))
    if net.symbolic:
        general = chains.layer(LAYER)
        unrolled = Step(
            "Unroll the recursion: the general chain for layer $l$",
            LAYER,
            (),
            chains.groups(LAYER),
            general.dz,
        )
        first = Step(
            "Finally, layer 1, whose input is $A^0 = x$",
            1,
            tuple(_at_layer_one(line) for line in _weight_lines(general)),
        )
        result += [unrolled, first]
    return result


def _title(number: int, l: object, symbolic: bool, target: str | None = None) -> str:
    """The heading of a step; ``target`` (LaTeX) on the step that ends the derivation."""
    if number == 0:
        end = "" if target is None else f": what we are after, the gradient for ${target}$"
        return f"Start from the loss{end}"
    if symbolic:
        return "Jump to a general layer $l$, given the layer after it"
    if target is not None:
        return f"Finally, layer {l}: what we are after, the gradient for ${target}$"
    if number == 1:
        return f"Take another step: layer {l}"
    return f"Layer {l}"


def _lines(derivation: Derivation, layer: LayerChain) -> tuple[Line, ...]:
    net = derivation.network
    if net.batch is not None or not net.declaration.weight_is_transposed or net.decay is not None:
        return (
            Line(layer.dz, layer.dz_value, layer.dz_rules, shapes=False),
            Line(layer.dw, layer.dw_value, layer.weight_link.rules, shapes=False),
            Line(layer.dw0, layer.dw0_value, shapes=False),
        )
    return (*_dz_lines(layer), *_weight_lines(layer))


def _dz_lines(layer: LayerChain) -> tuple[Line, ...]:
    """dL/dZ^l = dA^l/dZ^l · (dZ^{l+1}/dA^l · dL/dZ^{l+1} or dL/dA^L), named, valued, simplified."""
    activation = layer.activation
    lines = []
    if layer.loss is not None:
        lines.append(Line(layer.loss.name, layer.loss.value, layer.loss.rules))
        factors = (activation, layer.loss)
        upstream: tuple[Derivative, ...] = ()
    else:
        factors = (activation, layer.link)
        upstream = (Derivative(layer.dz.num, layer.link.name.num),)
    rules = tuple(dict.fromkeys(r for f in factors for r in f.rules))
    names = MatMul((*(f.name for f in factors), *upstream))
    # A product node, not the matmul builder, so a factor's sign stays in the factor.
    values = MatMul((*(without_identity_prime(f.value_with_prime) for f in factors), *upstream))
    lines.append(Line(layer.dz, names, note=CHAIN_RULE))
    lines.append(Line(None, values, rules))
    lines.append(Line(None, layer.dz_value, layer.dz_rules, shapes=False))
    return tuple(lines)


def _weight_lines(layer: LayerChain) -> tuple[Line, ...]:
    link = layer.weight_link
    return (
        Line(layer.dw, matmul(link.name, Transpose(layer.dz)), note=WEIGHT_CHAIN),
        Line(None, layer.dw_value, link.rules),
        Line(layer.dw0, layer.dw0_value, (rule_named("sum", Kind.JACOBIAN),), shapes=False),
    )


def _at_layer_one(line: Line) -> Line:
    lhs = None if line.lhs is None else at_layer(line.lhs, 1)
    return Line(lhs, at_layer(line.rhs, 1), line.rules, line.shapes, line.note)


def at_layer(expr: Expr, value: int) -> Expr:
    """The expression of the general layer l at l = value: A^{l-1} -> A^0, m^l -> m^1."""

    def index(i: object) -> object:
        return None if i is None else sympy.sympify(i).subs(LAYER, value)

    def shape(s: tuple) -> tuple:
        return tuple(sympy.sympify(d).subs(LAYER, value) for d in s)

    match expr:
        case Symbol(name=name, shape_=s, index=i, sub=sub):
            return Symbol(name, shape(s), index(i), sub)
        case Derivative(num=num, den=den, shape_=s):
            return Derivative(at_layer(num, value), at_layer(den, value), s and shape(s))
        case Apply(fn=Function(index=i) as fn, arg=arg):
            return Apply(replace(fn, index=index(i)), at_layer(arg, value))
        case Cdots(shape_=s):
            return Cdots(shape(s))
        case Fill(value=v, shape_=s):
            return Fill(v, shape(s))
        case Identity(size=n):
            return Identity(shape((n,))[0])
    if not expr.children:
        return expr
    return expr.rebuild(tuple(at_layer(child, value) for child in expr.children))


# ---------------------------------------------------------------------------- printing


def line_rows(line: Line, notation: Notation = DEFAULT) -> list[Row]:
    """One line: the lhs and each factor of the rhs with its shape, the identity as a note."""
    note = line.note or rules_note(line.rules)
    shapes = line.shapes and notation.shapes
    lhs = "" if line.lhs is None else to_latex(line.lhs, notation)
    if shapes and line.lhs is not None:
        lhs = shaped_expr(line.lhs, notation)
    if not shapes:
        return [Row(lhs, to_latex(line.rhs, notation), note=note)]
    factors = line.rhs.factors if isinstance(line.rhs, MatMul) else (line.rhs,)
    parts = [shaped(operand_latex(f, notation), f.shape, notation) for f in factors]
    return broken(lhs, parts, note=note)


def steps_blocks(records: list[Step], notation: Notation = DEFAULT) -> list[Block]:
    """Each step as a heading and an aligned display with the identities named."""
    blocks: list[Block] = [
        Paragraph(
            "We go backwards from the loss. Each line names the identity it uses and where it "
            "comes from; the shape under each factor shows that the product fits."
        )
    ]
    for number, step in enumerate(records, start=1):
        title = step.title.replace("$l$", f"${plain_index(LAYER, notation)}$")
        blocks.append(Heading(f"Step {number}: {title}", 3))
        rows: list[Row] = []
        for line in step.lines:
            rows += line_rows(line, notation)
        if step.chain_of is not None:
            parts = [group_latex(g, notation) for g in step.chain]
            rows += broken(to_latex(step.chain_of, notation), parts, note=CHAIN_RULE)
        blocks.append(Display(tuple(rows), notes=True))
    return blocks
