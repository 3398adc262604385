"""The gallery of derivations kept in ``derivations/``: each network's spec, LaTeX and Markdown.

Regenerate every file with one command, from the repository root::

    python3 -m matcalc.printers.gallery            # writes derivations/*.toml, *.tex, *.md
    python3 -m matcalc.printers.gallery --check    # exit 1 if a committed file is stale
    python3 -m matcalc.printers.gallery --commands # the matcalc command that makes each file

The specs are declared here, so the .toml beside each document is what produced it; each
document is exactly what ``matcalc derive`` writes with the entry's flags (see :func:`command`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import field
from pathlib import Path

from matcalc.core.record import record
from matcalc.engine.derive import derive
from matcalc.printers.latex import Notation
from matcalc.printers.render import Layout, render_derivation
from matcalc.specs.conventions import CS231N, GOODFELLOW, NG, NIELSEN, UFLDL
from matcalc.specs.network import Network

DIRECTORY = Path("derivations")


@record
class Entry:
    """One network of the gallery: its file name, spec, title and how it is printed."""

    name: str
    spec: str
    title: str
    notation: Notation = field(default_factory=Notation)
    flags: tuple[str, ...] = ()
    """The notation flags of ``matcalc derive`` that give ``notation`` (besides the defaults)."""
    layout: Layout = field(default_factory=lambda: Layout(steps=True, diagram=True, gradients=True))

    def network(self) -> Network:
        return Network.from_toml(self.spec)


GALLERY: tuple[Entry, ...] = (
    Entry(
        "generic-L-layer",
        "# A network of symbolic depth L: the chain rule of the 6.390 notes in general.\n"
        'depth = "L"\nloss = "squared"\n\n[[layer]]\nactivation = "f"\n',
        "Many neurons per layer: the chain rule in matrix form",
        Notation(ell=True),
        ("--ell",),
    ),
    Entry(
        "two-layer-sigmoid-squared",
        "# Two sigmoid layers, squared loss.\n"
        'input = 2\nloss = "squared"\n\n'
        '[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n'
        '[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
        "A 2-layer sigmoid network with squared loss",
    ),
    Entry(
        "three-layer-relu-tanh-softmax",
        "# ReLU, tanh, then a softmax output with the multiclass negative log-likelihood.\n"
        'loss = "nllm"\n\n'
        '[[layer]]\nactivation = "relu"\n\n'
        '[[layer]]\nactivation = "tanh"\n\n'
        '[[layer]]\nactivation = "softmax"\n',
        "A 3-layer ReLU/tanh network with softmax and NLLM",
    ),
    Entry(
        "logistic-regression",
        "# Logistic regression: one sigmoid unit, negative log-likelihood.\n"
        'input = "d"\nloss = "nll"\n\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
        "Logistic regression: one sigmoid unit with NLL",
    ),
    Entry(
        "ng-two-layer-batch",
        "# Ng's notation (deeplearning.ai): Z = W A + b, m examples as columns, cost J the mean.\n"
        'convention = "ng"\ninput = "n^0"\nloss = "nll"\nbatch = "m"\n\n'
        '[[layer]]\nactivation = "tanh"\n\n'
        '[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
        "A 2-layer network in Ng's notation, over a batch of m examples",
        Notation.of(NG),
    ),
    Entry(
        "goodfellow-three-layer",
        "# Goodfellow, Deep Learning 6.5: Algorithm 6.4 with its running gradient g.\n"
        'convention = "goodfellow"\ninput = "n^0"\nloss = "nllm"\n\n'
        '[[layer]]\nactivation = "relu"\n\n'
        '[[layer]]\nactivation = "tanh"\n\n'
        '[[layer]]\nactivation = "softmax"\n',
        "A 3-layer network as Algorithm 6.4 of Deep Learning backpropagates it",
        Notation.of(GOODFELLOW),
    ),
    Entry(
        "nielsen-three-layer",
        "# Nielsen, Neural Networks and Deep Learning, ch. 2: z^l = w^l a^{l-1} + b^l, the\n"
        "# quadratic cost C = 1/2 |y - a^L|^2, delta^l = dC/dz^l (BP1-BP4).\n"
        'convention = "nielsen"\ninput = 4\n'
        'loss = { name = "quadratic", latex = "\\\\frac{1}{2} (a - y)^2" }\n\n'
        '[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n'
        '[[layer]]\nsize = 5\nactivation = "sigmoid"\n\n'
        '[[layer]]\nsize = 2\nactivation = "sigmoid"\n',
        "A 3-layer sigmoid network in Nielsen's notation, with the quadratic cost",
        Notation.of(NIELSEN),
    ),
    Entry(
        "ufldl-two-layer",
        "# UFLDL, Multi-Layer Neural Network: z^{(l+1)} = W^{(l)} a^{(l)} + b^{(l)}, a^{(1)} = x,\n"
        "# so W^{(l)} maps layer l to l+1 and the output of this network is a^{(3)};\n"
        "# the one-example cost J(W,b;x,y) = 1/2 |h_{W,b}(x) - y|^2.\n"
        'convention = "ufldl"\ninput = 3\n'
        'loss = { name = "halfsquared", latex = "\\\\frac{1}{2} (a - y)^2" }\n\n'
        '[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n'
        '[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
        "The UFLDL tutorial's network: 3 inputs, 3 hidden sigmoid units, 1 output",
        Notation.of(UFLDL),
    ),
    Entry(
        "ufldl-weight-decay",
        "# UFLDL's overall cost over m examples with weight decay:\n"
        "# J(W,b) = (1/m) sum_i J(W,b;x^(i),y^(i)) + (lambda/2) sum_l ||W^(l)||_F^2,\n"
        "# the biases not regularized.\n"
        'convention = "ufldl"\ninput = 3\n'
        'loss = { name = "halfsquared", latex = "\\\\frac{1}{2} (a - y)^2" }\n'
        'batch = "m"\nweight_decay = "lambda"\n\n'
        '[[layer]]\nsize = 3\nactivation = "sigmoid"\n\n'
        '[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
        "The UFLDL network over a batch of m examples, with weight decay",
        Notation.of(UFLDL),
    ),
    Entry(
        "cs231n-two-layer",
        "# CS231n's case study: scores = X W + b with the N examples as the rows of X, a ReLU\n"
        "# hidden layer, softmax and the cross-entropy averaged over the batch.\n"
        'convention = "cs231n"\ninput = "d"\nloss = "nllm"\nbatch = "N"\n\n'
        '[[layer]]\nsize = "h"\nactivation = "relu"\n\n'
        '[[layer]]\nsize = "k"\nactivation = "softmax"\n',
        "CS231n: a ReLU-softmax network, examples as rows",
        Notation.of(CS231N),
    ),
)


DOCUMENT_FORMATS = {"tex": "tex", "md": "markdown"}
"""The documents of an entry: file suffix, --format."""


def command(entry: Entry, suffix: str, directory: Path = DIRECTORY) -> list[str]:
    """The ``matcalc derive`` arguments that write the entry's document ``suffix`` (tex, md)."""
    layout = entry.layout
    args = [str(directory / f"{entry.name}.toml"), "--format", DOCUMENT_FORMATS[suffix]]
    args += ["--steps"] * layout.steps + ["--diagram"] * layout.diagram
    args += [] if layout.gradients else ["--no-gradients"]
    args += [*entry.flags, "--title", entry.title]
    return [*args, "-o", str(directory / f"{entry.name}.{suffix}")]


def files(entry: Entry) -> dict[str, str]:
    """The spec, the LaTeX document and the Markdown of one entry, by file name."""
    derivation = derive(entry.network())
    layout = Layout(entry.layout.steps, entry.layout.diagram, entry.title, entry.layout.gradients)
    result = {f"{entry.name}.toml": entry.spec}
    for suffix, fmt in DOCUMENT_FORMATS.items():
        text = render_derivation(derivation, fmt, notation=entry.notation, layout=layout)
        result[f"{entry.name}.{suffix}"] = text
    return result


def gallery_files() -> dict[str, str]:
    """Every file of the gallery, by name."""
    result: dict[str, str] = {}
    for entry in GALLERY:
        result.update(files(entry))
    return result


def stale(directory: Path = DIRECTORY) -> list[str]:
    """The gallery files missing from ``directory`` or different from what would be written."""
    return [
        name
        for name, text in gallery_files().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    ]


def write(directory: Path = DIRECTORY) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in gallery_files().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m matcalc.printers.gallery", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument(
        "--commands", action="store_true", help="print the matcalc command behind each document"
    )
    parser.add_argument("--directory", type=Path, default=DIRECTORY)
    args = parser.parse_args(argv)
    if args.commands:
        for entry in GALLERY:
            for suffix in DOCUMENT_FORMATS:
                print(shlex.join(["matcalc", "derive", *command(entry, suffix, args.directory)]))
        return 0
    if args.check:
        names = stale(args.directory)
        for name in names:
            print(f"stale: {args.directory / name}", file=sys.stderr)
        return 1 if names else 0
    for path in write(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
