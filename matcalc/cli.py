"""The ``matcalc`` command.

Exit codes: 0 success (for verify: correct), 1 verify found the formula incorrect, 2 bad
input, 130 interrupted (Ctrl-C).  Every error a user can cause is one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcalc.errors import MatcalcError

# Each subcommand imports what it uses inside its own functions, so that `matcalc --help`,
# `--version` and one subcommand's options load neither SymPy nor NumPy nor the others' code.
if TYPE_CHECKING:
    from matcalc.printers.latex import Notation
    from matcalc.printers.render import Layout
    from matcalc.specs.context import Context
    from matcalc.specs.graph import Graph
    from matcalc.specs.network import Network
    from matcalc.specs.recurrence import Recurrence

EXIT_OK = 0
EXIT_INCORRECT = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT): 128 + 2, as a shell reports it; no traceback."""


STDIO = "-"
"""A SPEC or --batch FILE of '-' is read from standard input; -o - writes to standard output."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise MatcalcError(f"{message} (see '{self.prog} --help')")


class _CommandParser(_Parser):
    """A subcommand's parser: options may stand anywhere among the positionals
    (`verify net.toml --json 'EQ'`)."""

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def version() -> str:
    import matcalc

    return str(matcalc.__version__)


class _VersionAction(argparse.Action):
    """`--version`, whose number is looked up (in the package metadata) only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, the options of that subcommand alone are built (the
    others are listed by name), which keeps `matcalc --help` from importing them."""
    parser = _Parser(prog="matcalc", description="Matrix-calculus derivations for neural networks.")
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser)
    for name, (summary, add_options) in SUBCOMMANDS.items():
        command = commands.add_parser(name, help=summary)
        if only is None or only == name:
            add_options(command)
    return parser


def add_derive_options(derive_cmd: argparse.ArgumentParser) -> None:
    from matcalc.printers.render import FORMATS

    derive_cmd.add_argument(
        "spec", nargs="?", help="network spec (TOML; - reads stdin); default: built-in example"
    )
    derive_cmd.add_argument("--format", choices=FORMATS, default="latex")
    derive_cmd.add_argument(
        "--wrt",
        help='only this parameter, e.g. "W^2" or "W_0^1"; in an expression context, "theta"',
    )
    derive_cmd.add_argument(
        "--of", help="in an expression context: the defined function to differentiate (e.g. J)"
    )
    derive_cmd.add_argument(
        "--hessian",
        action="store_true",
        help="in an expression context: the Hessians of the scalar functions by columns",
    )
    derive_cmd.add_argument(
        "--hvp",
        metavar="V",
        help="in an expression context: Hessian-vector products H v for the declared column V",
    )
    derive_cmd.add_argument(
        "--gauss-newton",
        action="store_true",
        help="in an expression context: the Gauss-Newton matrices J^T H_l J of the losses",
    )
    derive_cmd.add_argument("-o", "--output", help="write to this file instead of stdout")
    derive_cmd.add_argument(
        "--unroll",
        type=int,
        metavar="N",
        help='a recurrence spec (steps = "T") written out at N steps, as a graph spec',
    )
    add_document_options(derive_cmd)
    add_notation_options(derive_cmd)


def add_rules_options(rules_cmd: argparse.ArgumentParser) -> None:
    from matcalc.printers.catalog import CATALOG_FORMATS

    rules_cmd.add_argument("--format", choices=CATALOG_FORMATS, default="text")
    rules_cmd.add_argument("--kind", help="only rules of this kind (pullback, identity, ...)")
    rules_cmd.add_argument("-o", "--output", help="write to this file instead of stdout")


def add_explain_options(explain_cmd: argparse.ArgumentParser) -> None:
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


def add_verify_options(verify_cmd: argparse.ArgumentParser) -> None:
    verify_cmd.add_argument(
        "spec", nargs="?", help="network spec or expression context (TOML; - reads stdin)"
    )
    verify_cmd.add_argument("equation", nargs="?", help="LaTeX: \\frac{\\partial L}{...} = ...")
    verify_cmd.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify_cmd.add_argument(
        "--batch",
        metavar="FILE",
        help="JSON lines, one {spec, equation} case per line (- reads stdin)",
    )
    verify_cmd.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="with --batch: check lines in N processes, output in order (default: every core)",
    )


def add_serve_options(serve_cmd: argparse.ArgumentParser) -> None:
    serve_cmd.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)"
    )
    serve_cmd.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve_cmd.add_argument("--no-browser", action="store_true", help="do not open a browser")
    serve_cmd.add_argument(
        "--allow-pdf", action="store_true", help="offer PDF downloads (runs pdflatex per request)"
    )


def add_grade_options(grade_cmd: argparse.ArgumentParser) -> None:
    grade_cmd.add_argument(
        "assignment", help="the questions (TOML or JSON): id, spec, target, points"
    )
    grade_cmd.add_argument("answers", help="CSV or JSON lines: student, question, formula")
    grade_cmd.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write")


LOSS_NAME_CHOICES = {"mathcal": r"\mathcal{L}", "L": "L", "loss": r"\text{loss}", "J": "J"}
TRANSPOSE_CHOICES = {"T": "T", "top": r"\top"}


def add_document_options(command: argparse.ArgumentParser) -> None:
    from matcalc.printers.document import PAGES

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
    group.add_argument(
        "--no-gradients",
        action="store_true",
        help="leave out the layer-by-layer gradients (braced chains); with --steps or --diagram",
    )
    group.add_argument(
        "--page",
        choices=PAGES,
        help="the text width to fit: a4 (documents' default), letter, article (a default "
        "article's, the latex format's default) or beamer (a frame)",
    )


def add_notation_options(command: argparse.ArgumentParser) -> None:
    """The notation of a course: see docs/latex.md for which course writes what."""
    from matcalc.printers.latex import DERIVATIVE_STYLES, LAYER_STYLES, SIZE_STYLES

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
    from matcalc.printers.latex import Notation

    changes: dict[str, object] = {}
    if args.layer_index:
        changes["layer_style"] = args.layer_index
    if args.ell:
        changes["ell"] = True
    if args.transpose:
        changes["transpose"] = TRANSPOSE_CHOICES[args.transpose]
    if args.loss_name:
        changes["loss"] = LOSS_NAME_CHOICES[args.loss_name]
        cost = network.cost_symbol()
        if changes["loss"] == cost.name and cost in (network.objective(), network.carried_symbol()):
            raise MatcalcError(
                f"--loss-name {args.loss_name}: {cost.name} is this network's cost (the mean of "
                "the losses over its batch, as its gradients say); name the loss otherwise"
            )
    if args.sizes:
        changes["sizes"] = args.sizes
    if args.activation_derivative:
        changes["derivative"] = args.activation_derivative
    if args.no_shapes:
        changes["shapes"] = False
    return Notation.of(network.declaration).with_(**changes)


def load_spec(spec: str | None) -> Network | Context | Graph:
    """A network, a graph spec, or an expression context (a spec without layers); '-' is
    standard input."""
    if spec is None:
        from matcalc.specs.examples import EXAMPLE_SPEC
        from matcalc.specs.network import Network

        return Network.from_toml(EXAMPLE_SPEC)
    from matcalc.specs.context import spec_from_file, spec_from_toml

    if spec == STDIO:
        return spec_from_toml(read_stdin(), "the spec on stdin")
    return spec_from_file(spec)


def read_stdin() -> str:
    """Standard input as text, at most MAX_SPEC_BYTES characters."""
    from matcalc.specs.source import MAX_SPEC_BYTES

    try:
        text = sys.stdin.read(MAX_SPEC_BYTES + 1) if sys.stdin is not None else ""
    except (OSError, UnicodeDecodeError) as error:
        raise MatcalcError(f"stdin cannot be read ({error})") from None
    if len(text) > MAX_SPEC_BYTES:
        raise MatcalcError(f"the spec on stdin is longer than {MAX_SPEC_BYTES} characters")
    return text.removeprefix("\ufeff")


def run_derive(args: argparse.Namespace) -> int:
    from matcalc.engine.derive import Derivation, derive
    from matcalc.printers.render import Layout, render_context_document, render_derivation
    from matcalc.specs.network import Network

    subject = load_spec(args.spec)
    if (
        args.output not in (None, STDIO)
        and args.spec not in (None, STDIO)
        and Path(args.output).resolve() == Path(args.spec).resolve()
    ):
        raise MatcalcError(f"-o {args.output}: that is the spec itself; write to another file")
    # The other kinds of spec come through the LaTeX reader, which a network does not import.
    is_network = isinstance(subject, Network)
    if args.hessian or args.hvp is not None or args.gauss_newton:
        from matcalc.specs.context import Context

        if not isinstance(subject, Context):
            asked = "--hessian" if args.hessian else "--hvp" if args.hvp else "--gauss-newton"
            raise MatcalcError(f"{asked}: only for an expression context (a spec with [shapes])")
    if not is_network:
        from matcalc.specs.context import Context
        from matcalc.specs.graph import Graph
        from matcalc.specs.recurrence import Recurrence

        if isinstance(subject, Recurrence):
            return run_derive_recurrence(subject, args)
    if args.unroll is not None:
        raise MatcalcError('--unroll N: only for a recurrence spec (one with steps = "T")')
    if not is_network and isinstance(subject, Graph):
        return run_derive_graph(subject, args)
    if not is_network and isinstance(subject, Context):
        layout = Layout(title=args.title or "", page=args.page or "", title_tex=args.title_tex)
        text = render_context_document(
            subject,
            args.format,
            args.of,
            args.wrt,
            layout,
            args.hessian,
            args.hvp,
            args.gauss_newton,
        )
        if args.format == "pdf":
            return write_pdf(text, args)
        _emit(text, args.output)
        return EXIT_OK
    network = subject
    if args.of is not None:
        raise MatcalcError(
            f"--of {args.of}: a network's loss is its only function; --of is for an expression "
            "context (--wrt picks a parameter)"
        )
    derivation: Derivation = derive(network)
    layout = layout_from(args)
    notation = notation_from(args, network)
    if args.format == "pdf":
        return write_pdf(render_derivation(derivation, "tex", args.wrt, notation, layout), args)
    text = render_derivation(derivation, args.format, args.wrt, notation, layout)
    _emit(text, args.output)
    return EXIT_OK


def run_derive_graph(graph: Graph, args: argparse.Namespace) -> int:
    """derive for a network given by its forward equations."""
    from matcalc.engine.backprop import backprop
    from matcalc.printers.graph import graph_notation, render_graph

    if args.of is not None:
        raise MatcalcError(
            f"--of {args.of}: a graph spec's loss is its only function (--wrt picks a parameter)"
        )
    derivation = backprop(graph)
    fmt = "tex" if args.format == "pdf" else args.format
    notation = graph_notation(derivation).with_(shapes=not args.no_shapes)
    if args.transpose:
        notation = notation.with_(transpose=TRANSPOSE_CHOICES[args.transpose])
    text = render_graph(
        derivation, fmt, args.wrt, args.steps, args.diagram, args.title or "", notation
    )
    if args.format == "pdf":
        return write_pdf(text, args)
    _emit(text, args.output)
    return EXIT_OK


def write_pdf(tex: str, args: argparse.Namespace) -> int:
    """--format pdf: to -o FILE, to standard output (-o -), or beside the spec's name."""
    from matcalc.printers.document import compile_pdf

    if args.output == STDIO:
        return write_pdf_to_stdout(tex, compile_pdf)
    spec_stem = Path(args.spec).stem if args.spec not in (None, STDIO) else None
    output = Path(args.output or spec_stem or "derivation")
    output = output if args.output else output.with_suffix(".pdf")
    compile_pdf(tex, output)
    print(f"wrote {output}", file=sys.stderr)
    return EXIT_OK


def write_pdf_to_stdout(tex: str, compile_pdf: Callable[[str, Path], object]) -> int:
    """-o - with --format pdf: the PDF's bytes on standard output."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="matcalc-") as directory:
        pdf = Path(directory) / "derivation.pdf"
        compile_pdf(tex, pdf)
        sys.stdout.flush()
        sys.stdout.buffer.write(pdf.read_bytes())
        sys.stdout.buffer.flush()
    return EXIT_OK


def run_derive_recurrence(recurrence: Recurrence, args: argparse.Namespace) -> int:
    """derive for a recurrence over T steps: the recursion over t, or (--unroll N) the graph
    written out at N steps."""
    from matcalc.engine.bptt import bptt
    from matcalc.printers.recurrence import render_recurrence

    if args.unroll is not None:
        return run_derive_graph(recurrence.unroll(args.unroll), args)
    if args.of is not None:
        raise MatcalcError(f"--of {args.of}: a recurrence's loss is its only function")
    fmt = "tex" if args.format == "pdf" else args.format
    text = render_recurrence(
        bptt(recurrence), fmt, args.wrt, args.steps, args.diagram, args.title or ""
    )
    if args.format == "pdf":
        return write_pdf(text, args)
    _emit(text, args.output)
    return EXIT_OK


def layout_from(args: argparse.Namespace) -> Layout:
    """What a document shows (--steps, --diagram, --no-gradients) and the page it fits."""
    if args.no_gradients and not (args.steps or args.diagram):
        raise MatcalcError("--no-gradients leaves nothing to print; add --steps or --diagram")
    from matcalc.printers.render import Layout

    return Layout(
        steps=args.steps,
        diagram=args.diagram,
        title=args.title or "",
        gradients=not args.no_gradients,
        page=args.page or "",
        title_tex=args.title_tex,
    )


def _emit(text: str, output: str | None) -> None:
    if output is None or output == STDIO:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise MatcalcError(f"{output}: cannot be written ({error.strerror})") from None


def run_rules(args: argparse.Namespace) -> int:
    from matcalc.printers.catalog import render_catalog

    _emit(render_catalog(args.format, args.kind), args.output)
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    from matcalc.printers.explain import explain, explain_expression, standalone

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
    from matcalc.specs.context import Context

    if spec is not None:
        if shapes:
            raise MatcalcError("explain: give the shapes with --shape or with --spec, not both")
        context = load_spec(spec)
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

    if args.batch is not None:
        if args.spec is not None or args.equation is not None:
            raise MatcalcError("verify --batch FILE takes no SPEC or EQUATION")
        progress = sys.stderr if sys.stderr.isatty() else None
        return verify_batch(args.batch, sys.stdout, args.jobs, progress)
    if args.jobs is not None:
        raise MatcalcError("verify --jobs goes with --batch FILE")
    if args.spec is None or args.equation is None:
        raise MatcalcError("verify needs a SPEC and an EQUATION (or --batch FILE)")
    verdict = verify(load_spec(args.spec), args.equation)
    _emit(verdict.to_json() if args.json else verdict.summary(), None)
    return EXIT_OK if verdict.correct else EXIT_INCORRECT


def run_serve(args: argparse.Namespace) -> int:
    from matcalc.classroom.server import serve

    if not 0 <= args.port <= 65535:
        raise MatcalcError(f"--port {args.port}: a port is between 0 and 65535")
    serve(args.host, args.port, browser=not args.no_browser, allow_pdf=args.allow_pdf)
    return EXIT_OK


def run_grade(args: argparse.Namespace) -> int:
    from matcalc.classroom.grade import grade

    report = grade(args.assignment, args.answers, args.output)
    print(report, file=sys.stderr)
    return EXIT_OK


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "derive": ("derive every dL/dW^l and dL/dW_0^l", add_derive_options),
    "rules": ("print the rule catalog", add_rules_options),
    "explain": (
        "derive a rule entry by entry (index notation), as LaTeX",
        add_explain_options,
    ),
    "verify": (
        "check a hand-written gradient formula (exit 0 correct, 1 incorrect)",
        add_verify_options,
    ),
    "serve": (
        "the web playground on this machine: derive and check formulas in a page",
        add_serve_options,
    ),
    "grade": (
        "grade a class's answers: gradebook, feedback, Gradescope results.json",
        add_grade_options,
    ),
}
"""Each subcommand: its one-line summary and the function that adds its options."""

COMMANDS = {
    "derive": run_derive,
    "rules": run_rules,
    "explain": run_explain,
    "verify": run_verify,
    "serve": run_serve,
    "grade": run_grade,
}


def named_command(argv: Sequence[str]) -> str | None:
    """The subcommand an argument list names: the first argument that is not an option (the
    top level has no option that takes a value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, unknown = build_parser(only=named_command(argv) or "").parse_known_args(argv)
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


def command() -> None:
    """The ``matcalc`` command (and ``python -m matcalc``): :func:`main` on ``sys.argv``, then
    exit with its code.

    Every object is first moved to the collector's permanent generation (``gc.freeze``): the
    interpreter's shutdown then frees them by reference counting without walking SymPy's and
    NumPy's heaps in its last collections, which took 0.1-0.2 s of every command's wall time.
    Handlers registered with ``atexit``, buffered output and open files are finished as usual.
    """
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)


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
