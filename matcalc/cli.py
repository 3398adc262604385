"""The ``matcalc`` command.

Exit codes: 0 success (for verify: correct), 1 verify found the formula incorrect, 2 bad
input, 130 interrupted (Ctrl-C).  Every error a user can cause is one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from matcalc.engine.derive import Derivation, derive
from matcalc.errors import MatcalcError
from matcalc.printers.catalog import CATALOG_FORMATS, render_catalog
from matcalc.printers.document import compile_pdf
from matcalc.printers.explain import explain, explain_expression, standalone
from matcalc.printers.latex import DERIVATIVE_STYLES, LAYER_STYLES, SIZE_STYLES, Notation
from matcalc.printers.render import FORMATS, Layout, render_derivation
from matcalc.specs.context import Context, render_context, spec_from_file
from matcalc.specs.examples import EXAMPLE_SPEC
from matcalc.specs.network import Network

EXIT_OK = 0
EXIT_INCORRECT = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT): 128 + 2, as a shell reports it; no traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise MatcalcError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="matcalc", description="Matrix-calculus derivations for neural networks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    derive_cmd = commands.add_parser("derive", help="derive every dL/dW^l and dL/dW_0^l")
    derive_cmd.add_argument(
        "spec", nargs="?", help="network spec (TOML); default: built-in example"
    )
    derive_cmd.add_argument("--format", choices=FORMATS, default="latex")
    derive_cmd.add_argument(
        "--wrt",
        help='only this parameter, e.g. "W^2" or "W_0^1"; in an expression context, "theta"',
    )
    derive_cmd.add_argument(
        "--of", help="in an expression context: the defined function to differentiate (e.g. J)"
    )
    derive_cmd.add_argument("-o", "--output", help="write to this file instead of stdout")
    add_document_options(derive_cmd)
    add_notation_options(derive_cmd)

    rules_cmd = commands.add_parser("rules", help="print the rule catalog")
    rules_cmd.add_argument("--format", choices=CATALOG_FORMATS, default="text")
    rules_cmd.add_argument("--kind", help="only rules of this kind (pullback, identity, ...)")
    rules_cmd.add_argument("-o", "--output", help="write to this file instead of stdout")

    explain_cmd = commands.add_parser(
        "explain", help="derive a rule entry by entry (index notation), as LaTeX"
    )
    explain_cmd.add_argument(
        "rule",
        metavar="RULE_OR_EXPRESSION",
        help="a rule name from 'matcalc rules', e.g. \"trace\"; with --wrt, an expression "
        "in LaTeX, e.g. 'a^T X b'",
    )
    explain_cmd.add_argument("--wrt", help="the variable to differentiate the expression by")
    explain_cmd.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=SHAPE",
        help='the shape of a name in the expression: X="n x m", a=n (a column), s=scalar',
    )
    explain_cmd.add_argument(
        "--spec", help="an expression context (TOML with [shapes]) instead of --shape"
    )
    explain_cmd.add_argument("--standalone", action="store_true", help="a complete LaTeX document")
    explain_cmd.add_argument("-o", "--output", help="write to this file instead of stdout")

    verify_cmd = commands.add_parser(
        "verify", help="check a hand-written gradient formula (exit 0 correct, 1 incorrect)"
    )
    verify_cmd.add_argument("spec", nargs="?", help="network spec or expression context (TOML)")
    verify_cmd.add_argument("equation", nargs="?", help="LaTeX: \\frac{\\partial L}{...} = ...")
    verify_cmd.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify_cmd.add_argument(
        "--batch", metavar="FILE", help="JSON lines, one {spec, equation} case per line"
    )
    verify_cmd.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="with --batch: check lines in N processes, output in order (default: every core)",
    )
    return parser


LOSS_NAME_CHOICES = {"mathcal": r"\mathcal{L}", "L": "L", "loss": r"\text{loss}", "J": "J"}
TRANSPOSE_CHOICES = {"T": "T", "top": r"\top"}


def add_document_options(command: argparse.ArgumentParser) -> None:
    group = command.add_argument_group("document")
    group.add_argument(
        "--steps", action="store_true", help="the derivation step by step, back from the loss"
    )
    group.add_argument(
        "--diagram", action="store_true", help="the network's forward and backward pass (TikZ)"
    )
    group.add_argument(
        "--title", help="the document's title (tex, markdown, pdf), set as plain text"
    )
    group.add_argument(
        "--title-tex",
        action="store_true",
        help="UNSAFE: typeset --title as raw TeX (its commands run in pdflatex); "
        "only for a title you wrote yourself",
    )


def add_notation_options(command: argparse.ArgumentParser) -> None:
    """The notation of a course: see docs/latex.md for which course writes what."""
    group = command.add_argument_group("notation (default: MIT 6.390)")
    group.add_argument(
        "--layer-index",
        choices=LAYER_STYLES,
        help="W^{l} (plain), W^{(l)} (paren) or W^{[l]} (bracket)",
    )
    group.add_argument("--ell", action="store_true", help="write the layer index as \\ell")
    group.add_argument("--transpose", choices=TRANSPOSE_CHOICES, help="X^T (T) or X^\\top (top)")
    group.add_argument(
        "--loss-name",
        choices=LOSS_NAME_CHOICES,
        help="\\mathcal{L} (mathcal), L, \\text{loss} (loss) or J",
    )
    group.add_argument(
        "--sizes", choices=SIZE_STYLES, help="m^l and n^l (mn), d_l (d) or n^l only (n)"
    )
    group.add_argument(
        "--activation-derivative",
        choices=DERIVATIVE_STYLES,
        help="f' in closed form (closed), as f'(Z) (prime) or as diag(f'(Z)) (diag)",
    )
    group.add_argument(
        "--no-shapes", action="store_true", help="no shape under each factor of a chain"
    )


def notation_from(args: argparse.Namespace, network: Network) -> Notation:
    """The convention's own notation, with the notation flags given on the command line."""
    changes: dict[str, object] = {}
    if args.layer_index:
        changes["layer_style"] = args.layer_index
    if args.ell:
        changes["ell"] = True
    if args.transpose:
        changes["transpose"] = TRANSPOSE_CHOICES[args.transpose]
    if args.loss_name:
        changes["loss"] = LOSS_NAME_CHOICES[args.loss_name]
    if args.sizes:
        changes["sizes"] = args.sizes
    if args.activation_derivative:
        changes["derivative"] = args.activation_derivative
    if args.no_shapes:
        changes["shapes"] = False
    return Notation.of(network.declaration).with_(**changes)


def load_spec(spec: str | None) -> Network | Context:
    """A network, or an expression context (a spec without layers)."""
    if spec is None:
        return Network.from_toml(EXAMPLE_SPEC)
    return spec_from_file(spec)


def run_derive(args: argparse.Namespace) -> int:
    subject = load_spec(args.spec)
    if args.output and args.spec and Path(args.output).resolve() == Path(args.spec).resolve():
        raise MatcalcError(f"-o {args.output}: that is the spec itself; write to another file")
    if isinstance(subject, Context):
        _emit(render_context(subject, args.format, args.of, args.wrt), args.output)
        return EXIT_OK
    network = subject
    if args.of is not None:
        raise MatcalcError(
            f"--of {args.of}: a network's loss is its only function; --of is for an expression "
            "context (--wrt picks a parameter)"
        )
    derivation: Derivation = derive(network)
    layout = Layout(
        steps=args.steps, diagram=args.diagram, title=args.title or "", title_tex=args.title_tex
    )
    notation = notation_from(args, network)
    if args.format == "pdf":
        tex = render_derivation(derivation, "tex", args.wrt, notation, layout)
        output = Path(args.output or (Path(args.spec).stem if args.spec else "derivation"))
        output = output if args.output else output.with_suffix(".pdf")
        compile_pdf(tex, output)
        print(f"wrote {output}", file=sys.stderr)
        return EXIT_OK
    text = render_derivation(derivation, args.format, args.wrt, notation, layout)
    _emit(text, args.output)
    return EXIT_OK


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise MatcalcError(f"{output}: cannot be written ({error.strerror})") from None


def run_rules(args: argparse.Namespace) -> int:
    _emit(render_catalog(args.format, args.kind), args.output)
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    if args.wrt is None:
        if args.shape or args.spec:
            raise MatcalcError("explain: --shape and --spec go with an expression and --wrt")
        text = explain(args.rule)
    else:
        text = explain_expression(args.rule, args.wrt, explain_context(args.shape, args.spec))
    _emit(standalone(text) if args.standalone else text, args.output)
    return EXIT_OK


def explain_context(shapes: Sequence[str], spec: str | None) -> Context:
    """The names of an expression to explain: from --shape NAME=SHAPE, or from a spec file."""
    if spec is not None:
        if shapes:
            raise MatcalcError("explain: give the shapes with --shape or with --spec, not both")
        context = spec_from_file(spec)
        if not isinstance(context, Context):
            raise MatcalcError(f"{spec}: a network; explain needs an expression context")
        return context
    if not shapes:
        raise MatcalcError('explain --wrt needs the shapes: --shape X="n x m" ... or --spec FILE')
    table = {}
    for option in shapes:
        name, equals, shape = option.partition("=")
        if not equals or not name.strip():
            raise MatcalcError(f'--shape {option}: write NAME=SHAPE, e.g. X="n x m" or a=n')
        table[name.strip()] = shape.strip()
    return Context.from_dict({"shapes": table})


def run_verify(args: argparse.Namespace) -> int:
    from matcalc.checks.verify import verify, verify_batch
    from matcalc.checks.verify_context import verify_in_context

    if args.batch is not None:
        if args.spec is not None or args.equation is not None:
            raise MatcalcError("verify --batch FILE takes no SPEC or EQUATION")
        progress = sys.stderr if sys.stderr.isatty() else None
        return verify_batch(args.batch, sys.stdout, args.jobs, progress)
    if args.jobs is not None:
        raise MatcalcError("verify --jobs goes with --batch FILE")
    if args.spec is None or args.equation is None:
        raise MatcalcError("verify needs a SPEC and an EQUATION (or --batch FILE)")
    subject = load_spec(args.spec)
    if isinstance(subject, Context):
        verdict = verify_in_context(subject, args.equation)
    else:
        verdict = verify(subject, args.equation)
    _emit(verdict.to_json() if args.json else verdict.summary(), None)
    return EXIT_OK if verdict.correct else EXIT_INCORRECT


COMMANDS = {
    "derive": run_derive,
    "rules": run_rules,
    "explain": run_explain,
    "verify": run_verify,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args, unknown = build_parser().parse_known_args(argv)
        if unknown:
            raise MatcalcError(
                f"unrecognized arguments: {' '.join(unknown)} (see 'matcalc {args.command} --help')"
            )
        return COMMANDS[args.command](args)
    except MatcalcError as error:
        print(f"matcalc: error: {shortened(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of stdout went away (| head): stop quietly, without flushing into it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INCORRECT


MAX_ERROR_LINE = 500


def shortened(message: str) -> str:
    """Each line of an error cut to MAX_ERROR_LINE characters: a message may quote what the
    user gave (a --wrt, a path, a name), which can be 100 KB."""
    return "\n".join(
        line if len(line) <= MAX_ERROR_LINE else line[: MAX_ERROR_LINE - 3] + "..."
        for line in message.split("\n")
    )


if __name__ == "__main__":
    sys.exit(main())
