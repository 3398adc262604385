"""The generator of :mod:`matcalc.reading._latex_lalr`, the LALR parser of the LaTeX grammar.

    python3 -m matcalc.reading.generate_parser

The grammar is ``_GRAMMAR`` in :mod:`matcalc.reading.parse`; run the command again after
changing it.  The module is lark's standalone parser (``python -m lark.tools.standalone``) with
the parse tables built in: reading a formula then imports neither lark nor its grammar loader.
Generating it needs lark, a development dependency (the ``test`` extra); the module does not.
"""

from __future__ import annotations

import ast
import hashlib
import io
from collections import deque
from pathlib import Path

MODULE = Path(__file__).with_name("_latex_lalr.py")
PARSE = Path(__file__).with_name("parse.py")
COMMAND = "python3 -m matcalc.reading.generate_parser"

# lark tries the optional regex package at import; the tables use no regular expressions (the
# tokenizer is parse.tokenize), so the module does without it.
_OPTIONAL_REGEX = """try:
    import regex
    _has_regex = True
except ImportError:
    _has_regex = False
"""
_NO_REGEX = "_has_regex = False\n"


def grammar() -> str:
    """``_GRAMMAR`` of parse.py, read from its source: importing parse needs the module that
    this writes, which may be missing or stale."""
    for node in ast.parse(PARSE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "_GRAMMAR" for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise RuntimeError(f"{PARSE} assigns no _GRAMMAR")


def grammar_digest(text: str) -> str:
    """The SHA-256 of a grammar's text, as the generated module records it."""
    return hashlib.sha256(text.encode()).hexdigest()


def generate() -> str:
    """The text of the module: a header, then lark's standalone parser of the grammar."""
    from lark import Lark, __version__
    from lark.tools.standalone import gen_standalone

    # "basic" stands in for the tokenizer, a class that cannot be written into the module;
    # parse._parser puts parse._LatexLexer in its place when it loads the tables.
    source = grammar()
    parser = Lark(source, parser="lalr", lexer="basic", propagate_positions=False)
    lalr = parser.parser.parser
    lalr._parse_table = _canonical(lalr._parse_table)
    out = io.StringIO()
    gen_standalone(parser, out=out)
    body = out.getvalue()
    if body.count(_OPTIONAL_REGEX) != 1:
        raise RuntimeError(f"lark {__version__}: the optional import of regex was not found")
    body = body.replace(_OPTIONAL_REGEX, _NO_REGEX)
    header = (
        "# Generated from _GRAMMAR in matcalc/reading/parse.py; do not edit.  After changing\n"
        f"# the grammar, regenerate it with `{COMMAND}`.\n"
        f"# lark {__version__}'s standalone parser (its license below), without the optional\n"
        "# import of regex.\n"
        f'GRAMMAR_SHA256 = "{grammar_digest(source)}"\n'
    )
    return header + body


def _canonical(table):  # lark's parse table
    """The parse table with its states numbered in the order a breadth-first walk from the
    start states meets them (shifts in the order of their symbols), so that every run writes
    the same module; lark numbers them in the order of a set."""
    from lark.parsers.lalr_analysis import Shift

    number: dict[int, int] = {}
    queue = deque(table.start_states[name] for name in sorted(table.start_states))
    while queue:
        state = queue.popleft()
        if state in number:
            continue
        number[state] = len(number)
        queue.extend(
            target for _, (action, target) in sorted(table.states[state].items()) if action is Shift
        )
    if len(number) != len(table.states):
        raise RuntimeError("a state of the parse table is not reached from a start state")
    states = {
        number[state]: {
            symbol: (action, number[arg] if action is Shift else arg)
            for symbol, (action, arg) in sorted(actions.items())
        }
        for state, actions in sorted(table.states.items(), key=lambda item: number[item[0]])
    }
    start = {name: number[state] for name, state in table.start_states.items()}
    end = {name: number[state] for name, state in table.end_states.items()}
    return type(table)(states, start, end)


def main() -> None:
    """Write the module next to this file."""
    MODULE.write_text(generate(), encoding="utf-8")
    print(f"wrote {MODULE}")


if __name__ == "__main__":
    main()
