"""Read matrix formulas written in LaTeX into a syntax tree that keeps source positions.

The reader is a grammar of our own (a LaTeX-aware tokenizer feeding an LALR parser generated
with lark into :mod:`matcalc.reading._latex_lalr`); user text is never evaluated.  It reads
formulas as people type them in lecture notes:

* products by juxtaposition, ``\\cdot`` or ``\\times``; ``\\odot``, ``\\circ`` and ``*`` for the
  elementwise product; ``+``, ``-``; ``\\frac`` and ``/``;
* superscripts ``^T``, ``^{T}``, ``^\\top``, ``^\\intercal``, ``^\\mathsf{T}`` as transposes,
  ``^{-1}`` as an inverse, ``^{-T}`` as the transposed inverse, ``^2`` on a norm ``\\|v\\|^2``
  (also ``\\|X\\|_F^2``, ``\\|v\\|_2^2``) as a square, ``'`` and ``^\\prime`` as
  derivatives, and every other superscript as a layer index (``W^l``, ``W^{l+1}``,
  ``W^{(l)}``, ``W^{[l]}``, ``A^{L-1}``), never a power;
* ``\\frac{\\partial X}{\\partial Y}`` (or ``\\partial X / \\partial Y``, ``\\nabla_Y X``) as a
  derivative; ``\\cdots`` inside a chain;
* ``\\sum_{i=1}^{m}`` over the examples of a batch, and ``dZ^{[l](i)}`` (a bracketed layer
  index followed by ``(i)``) as the column of example i;
* spacing and sizing commands (``\\left``, ``\\right``, ``\\Big``, ``\\,``, ``\\!`` ...) and font
  commands (``\\mathbf``, ``\\boldsymbol``, ``\\mathcal`` ...) are read through.

What the names mean (W^l, \\sigma, \\operatorname{diag}) is decided later, by
:mod:`matcalc.reading.resolve`, against a namespace such as a network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import field, replace
from fractions import Fraction
from functools import cache

import sympy

from matcalc.core.record import record
from matcalc.core.shapes import DEPTH, LAYER
from matcalc.errors import MatcalcError
from matcalc.reading._latex_lalr import (
    DATA,
    MEMO,
    Lark,
    LarkError,
    Lexer,
    Token,
    Transformer,
    Tree,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
    v_args,
)

MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_TEXT = 40
MAX_CHAIN = 200  # terms, factors and scripts in a row: each is a level of the syntax tree


class ParseError(MatcalcError):
    """LaTeX that cannot be read; the message shows the text with a caret under the column."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.reason = message
        self.text = text
        self.position = position
        super().__init__(f"{message}\n{caret(text, position)}")


def caret(text: str, position: int, width: int = 70) -> str:
    """Two lines: the text (a window of it around ``position``) and a caret under the column."""
    flat = text.replace("\n", " ").replace("\t", " ")
    position = max(0, min(position, len(flat)))
    start = max(0, position - width // 2)
    end = min(len(flat), start + width)
    start = max(0, end - width)
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(flat) else ""
    line = f"  {prefix}{flat[start:end]}{suffix}"
    return f"{line}\n  {' ' * (len(prefix) + position - start)}^"


# ------------------------------------------------------------------------------ syntax tree


@record
class Node:
    """A piece of the formula; ``start``/``end`` are offsets into the source text."""

    start: int = field(default=-1, kw_only=True, compare=False)
    end: int = field(default=-1, kw_only=True, compare=False)


@record
class Name(Node):
    """A name: a letter (W), a Greek letter or command (sigma, ell), a text or operator name
    (loss, softmax, diag).  ``mark`` is an accent such as "hat"."""

    text: str
    mark: str | None = None


@record
class Number(Node):
    value: Fraction


@record
class Index:
    """A layer index: ``expr`` in the symbols l and L, written plain, (l) or [l], with \\ell?"""

    expr: sympy.Expr
    style: str = "plain"
    ell: bool = False


@record
class Scripted(Node):
    """A base with a subscript (W_0, L_{nll}) and/or a layer index (W^l)."""

    base: Node
    sub: Node | None = None
    index: Index | None = None


@record
class Transposed(Node):
    arg: Node
    spelling: str = "T"


@record
class Inverse(Node):
    arg: Node


@record
class Primed(Node):
    """f', f'': a derivative of a scalar function."""

    arg: Node
    order: int = 1


@record
class Group(Node):
    """Parentheses, brackets or braces around a formula."""

    inner: Node
    delim: str = "("


@record
class Frac(Node):
    """\\frac{num}{den} or num / den of things that are not derivatives."""

    num: Node
    den: Node


@record
class DerivativeOf(Node):
    """dnum/dden; ``num`` is None for the operator form \\frac{\\partial}{\\partial X}."""

    num: Node | None
    den: Node


@record
class Cdots(Node):
    """The factors left out of a chain."""


@record
class Partial(Node):
    """A bare \\partial (only meaningful inside a derivative)."""


@record
class Norm(Node):
    """\\|x\\|, \\|X\\|_F, \\|x\\|_2 (the root of the sum of squares); ``squared`` for ^2."""

    arg: Node
    squared: bool = False


@record
class Abs(Node):
    """|x|: the absolute value of a scalar, the determinant of a square matrix."""

    arg: Node


@record
class Power(Node):
    """A number power of a scalar: (1 - a)^2, \\|v\\|^3."""

    arg: Node
    exponent: Fraction


@record
class Arguments(Node):
    """(x, y; W): the arguments of a function, as in J(W, b; x, y)."""

    items: tuple[Node, ...]


@record
class SumOf(Node):
    """\\sum followed by what it sums; \\sum_{i=1}^{m} sums over the examples i."""

    sub: Node | None = None
    upper: Node | None = None


@record
class Bound(Node):
    """i = 1 in the subscript of \\sum_{i=1}^{m}: the variable and where it starts."""

    variable: str
    low: Node


@record
class ExampleOf(Node):
    """dZ^{[l](i)}: the column of one example i of a quantity (Ng's per-example index)."""

    arg: Node
    variable: str


@record
class Nabla(Node):
    """\\nabla_X: the gradient operator by X."""

    wrt: Node | None = None


@record
class Product(Node):
    """Factors multiplied by juxtaposition, \\cdot or \\times, left to right.

    ``ops`` gives, for each factor after the first, the operator written before it ("" for
    juxtaposition, "cdot", "times"); empty when every factor is juxtaposed.
    """

    factors: tuple[Node, ...]
    ops: tuple[str, ...] = field(default=(), compare=False)


@record
class Elementwise(Node):
    """Factors multiplied entrywise (\\odot, \\circ, *)."""

    factors: tuple[Node, ...]


@record
class Neg(Node):
    arg: Node


@record
class Sum(Node):
    """Terms added; a subtracted term is a :class:`Neg`."""

    terms: tuple[Node, ...]


@record
class Equation(Node):
    """``sides[0] = sides[1] (= sides[2] ...)``; ``text`` is the source."""

    sides: tuple[Node, ...]
    text: str = field(default="", compare=False)


# ------------------------------------------------------------------------------ tokenizer

_SKIPPED = {
    # sizing and spacing
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
    "biggr", "Biggl", "Biggr", "middle", "displaystyle", "textstyle", "scriptstyle", "quad",
    "qquad", "limits", "nolimits", "enspace", "thinspace", "medspace", "thickspace", "negthinspace",
    "mathopen", "mathclose", "mathord",
}  # fmt: skip
_DELIMITED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
              "biggl", "biggr", "Biggl", "Biggr", "middle"}  # fmt: skip
# Font commands are read through: \mathbf{W} is W, \boldsymbol{\sigma} is \sigma.
_FONTS = {
    "mathbf", "boldsymbol", "bm", "mathit", "mathcal", "mathbb", "mathscr", "mathfrak",
    "mathnormal", "mathsf", "pmb", "vec", "bf", "it", "cal", "rm",
}  # fmt: skip
# Their argument is a name in upright letters: \operatorname{softmax}, \text{loss}.
_WORDS = {"operatorname", "mathrm", "text", "textrm", "textit", "textbf", "textsf", "texttt",
          "mbox", "mathtt", "operatorname*"}  # fmt: skip
_ACCENTS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "bar": "bar", "overline": "bar"}
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "varsigma",
    "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
    "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "ell",
}  # fmt: skip
_FUNCTIONS = {
    "tanh", "sinh", "cosh", "sin", "cos", "tan", "log", "ln", "exp", "max", "min", "det", "tr",
    "Tr", "sgn", "arg", "sqrt",
}  # fmt: skip
_COMMANDS = {
    "frac": "FRAC", "dfrac": "FRAC", "tfrac": "FRAC", "cfrac": "FRAC",
    "partial": "PARTIAL",
    "cdot": "DOT", "times": "DOT", "otimes": "DOT",
    "leftarrow": "ARROW", "gets": "ARROW", "coloneqq": "ARROW",
    "odot": "HADAMARD", "circ": "HADAMARD", "ast": "HADAMARD", "star": "HADAMARD",
    "bullet": "HADAMARD",  # UFLDL's elementwise product
    "cdots": "CDOTS", "dots": "CDOTS", "ldots": "CDOTS", "dotsb": "CDOTS", "dotsm": "CDOTS",
    "dotsc": "CDOTS",
    "top": "TOP", "intercal": "TOP",
    "prime": "PRIME",
    "nabla": "NABLA",
    "sum": "SUMOP",
    "gt": "COMPARE", "geq": "COMPARE", "ge": "COMPARE", "geqslant": "COMPARE",
    "lt": "COMPARE", "leq": "COMPARE", "le": "COMPARE", "leqslant": "COMPARE",
    "overbrace": "OVERBRACE", "underbrace": "OVERBRACE",
    "Vert": "NORM", "|": "NORM", "lVert": "NORM", "rVert": "NORM",
}  # fmt: skip
_CHARS = {
    "(": "LPAR", ")": "RPAR", "[": "LBRACK", "]": "RBRACK", "{": "LBRACE", "}": "RBRACE",
    "^": "SUP", "_": "SUB", "'": "PRIME", "+": "PLUS", "-": "MINUS", "=": "EQ", "/": "SLASH",
    "*": "HADAMARD", ">": "COMPARE", "<": "COMPARE",
}  # fmt: skip
_UNICODE = {
    "−": "-",
    "·": r"\cdot ",
    "⊙": r"\odot ",
    "∂": r"\partial ",
    "ᵀ": "^T",
    "⊤": r"\top ",
    "×": r"\times ",
}
_CLOSERS = {"LPAR": "RPAR", "LBRACK": "RBRACK", "LBRACE": "RBRACE", "NORM": "NORM", "ABS": "ABS"}
_SHOWN = {"LPAR": "(", "LBRACK": "[", "LBRACE": "{", "NORM": "\\|", "ABS": "|"}
# \mathbf{1}, \mathbb{1}, \boldsymbol{1}, \vec{1}: the vector of ones (a plain 1 is a number)
_ONES = re.compile(r"\s*(?:\{\s*1\s*\}|1)")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_COMMAND = re.compile(r"\\([A-Za-z]+\*?|.)", re.DOTALL)
_SPACE = re.compile(r"\s+")
_WORD_CONTENT = re.compile(rf"[A-Za-z0-9 \-]{{1,{MAX_TEXT}}}")


def tokenize(text: str) -> Iterator[Token]:
    """LaTeX tokens with their offsets; spacing and sizing commands are dropped here."""
    return _Tokenizer(text).tokens()


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.stack: list[tuple[str, int]] = []
        self.pending_start: int | None = None  # start of a dropped prefix such as \left
        self.single_digits = 0  # after ^ _ or \frac a digit stands alone: W^12 is W^{1}2
        self.out: list[Token] = []

    def error(self, message: str, position: int) -> ParseError:
        return ParseError(message, self.text, position)

    def emit(self, kind: str, value: str, start: int, end: int) -> None:
        if self.pending_start is not None:
            start, self.pending_start = self.pending_start, None
        if kind in ("SUP", "SUB"):
            self.single_digits = 1
        elif kind == "FRAC":
            self.single_digits = 2
        elif kind != "LBRACE" and self.single_digits:
            self.single_digits -= 1
        elif kind == "LBRACE":
            self.single_digits = 0
        self._balance(kind, start)
        token = Token(kind, value, start_pos=start, end_pos=end, line=1, column=start + 1)
        self.out.append(token)

    def _balance(self, kind: str, start: int) -> None:
        if kind in ("NORM", "ABS"):
            return
        if kind in _CLOSERS:
            self.stack.append((kind, start))
            if len(self.stack) > MAX_DEPTH:
                raise self.error(f"the formula is nested more than {MAX_DEPTH} deep", start)
        elif kind in ("RPAR", "RBRACK", "RBRACE"):
            if not self.stack:
                raise self.error(f"unbalanced: {self.text[start]!r} closes nothing", start)
            opener, where = self.stack.pop()
            if _CLOSERS[opener] != kind:
                raise self.error(
                    f"unbalanced: {_SHOWN[opener]!r} at column {where + 1} is closed by "
                    f"{self.text[start]!r}",
                    start,
                )

    def norm(self, start: int, end: int) -> None:
        """\\| opens a norm unless one is open at this depth."""
        if self.stack and self.stack[-1][0] == "NORM":
            self.stack.pop()
            self.emit("NORM_CLOSE", "\\|", start, end)
        else:
            self.stack.append(("NORM", start))
            if len(self.stack) > MAX_DEPTH:
                raise self.error(f"the formula is nested more than {MAX_DEPTH} deep", start)
            self.emit("NORM_OPEN", "\\|", start, end)

    def bars(self, start: int, end: int) -> None:
        """| opens an absolute value (or determinant) unless one is open at this depth."""
        if self.stack and self.stack[-1][0] == "ABS":
            self.stack.pop()
            self.emit("ABS_CLOSE", "|", start, end)
        else:
            self.stack.append(("ABS", start))
            if len(self.stack) > MAX_DEPTH:
                raise self.error(f"the formula is nested more than {MAX_DEPTH} deep", start)
            self.emit("ABS_OPEN", "|", start, end)

    def tokens(self) -> Iterator[Token]:
        text = self.text
        while self.pos < len(text):
            space = _SPACE.match(text, self.pos)
            if space:
                self.pos = space.end()
                continue
            start = self.pos
            char = text[start]
            if char == "\\":
                self.command(start)
            elif char.isascii() and char.isalpha():
                self.pos += 1
                self.emit("LETTER", char, start, self.pos)
            elif char in "0123456789":
                match = _NUMBER.match(text, start)
                assert match is not None
                value = match.group()
                if self.single_digits:
                    value = value[0]
                self.pos = start + len(value)
                self.emit("NUMBER", value, start, self.pos)
            elif char in _CHARS:
                self.pos += 1
                self.emit(_CHARS[char], char, start, self.pos)
            elif char in "&":
                self.pos += 1
            elif char in ".,;" and not text[start + 1 :].strip():
                self.pos += 1  # a sentence's final punctuation
            elif char in ",;":
                self.pos += 1
                self.emit("COMMA", char, start, self.pos)
            elif char == "|":
                self.pos += 1
                self.bars(start, self.pos)
            else:
                raise self.error(f"unexpected character {char!r}", start)
            yield from self.out
            self.out.clear()
        if self.pending_start is not None:
            raise self.error("the formula ends after a sizing command", self.pending_start)
        if self.stack:
            opener, where = self.stack[-1]
            raise self.error(f"unbalanced: {_SHOWN[opener]!r} is never closed", where)

    def command(self, start: int) -> None:
        text = self.text
        match = _COMMAND.match(text, start)
        if match is None:
            raise self.error("a backslash ends the formula", start)
        name = match.group(1)
        self.pos = match.end()
        if name in (",", "!", ";", ":", " ", ">", "\n"):
            return
        if name in ("{", "}"):
            self.emit("LPAR" if name == "{" else "RPAR", name, start, self.pos)
            return
        if name == "|":
            self.norm(start, self.pos)
            return
        if name in _SKIPPED:
            if self.pending_start is None:
                self.pending_start = start
            if name in _DELIMITED:
                self._delimiter()
            return
        if name in _FONTS and name not in ("it", "rm", "cal"):
            ones = _ONES.match(text, self.pos)
            if ones is not None:
                self.pos = ones.end()
                self.emit("NAME", "ones:1", start, self.pos)
                return
        if name in _FONTS:
            if self.pending_start is None:
                self.pending_start = start
            return
        if name in _WORDS or name in _ACCENTS:
            self.word(name, start)
            return
        kind = _COMMANDS.get(name)
        if kind == "NORM":
            self.norm(start, self.pos)
        elif kind is not None:
            self.emit(kind, name, start, self.pos)
        elif name in _GREEK or name in _FUNCTIONS:
            self.emit("NAME", name, start, self.pos)
        else:
            raise self.error(f"unknown command \\{name}", start)

    def _delimiter(self) -> None:
        """After \\left, \\right, \\Big: a '.' means no delimiter."""
        space = _SPACE.match(self.text, self.pos)
        if space:
            self.pos = space.end()
        if self.text.startswith(".", self.pos):
            self.pos += 1
            self.pending_start = None

    def word(self, command: str, start: int) -> None:
        """\\operatorname{softmax}, \\text{loss}, \\mathrm{T}, \\hat{y}: one name."""
        text = self.text
        space = _SPACE.match(text, self.pos)
        if space:
            self.pos = space.end()
        if not text.startswith("{", self.pos):
            if command in _ACCENTS and self.pos < len(text) and text[self.pos].isalpha():
                self.pos += 1
                self.emit("NAME", f"{_ACCENTS[command]}:{text[self.pos - 1]}", start, self.pos)
                return
            raise self.error(f"\\{command} needs a braced argument, like \\{command}{{x}}", start)
        close = text.find("}", self.pos)
        content = text[self.pos + 1 : close] if close >= 0 else ""
        if close < 0:
            raise self.error(f"unbalanced: the '{{' of \\{command} is never closed", self.pos)
        if command in _ACCENTS:
            inner = content.strip().removeprefix("\\mathbf").strip("{} ")
            if not (len(inner) == 1 and inner.isalpha()):
                raise self.error(
                    f"\\{command} is read over a single letter, like \\hat{{y}}", start
                )
            self.pos = close + 1
            self.emit("NAME", f"{_ACCENTS[command]}:{inner}", start, self.pos)
            return
        word = content.strip()
        if not _WORD_CONTENT.fullmatch(word):
            raise self.error(
                f"\\{command}{{...}} holds a name of letters, digits and spaces "
                f"(at most {MAX_TEXT})",
                self.pos,
            )
        self.pos = close + 1
        if command.startswith("math") and command != "mathrm" and len(word) > 1:
            raise self.error(f"\\{command}{{{word}}}: one letter expected", start)
        if len(word) == 1 and word.isalpha() and not command.startswith("text"):
            self.emit("LETTER", word, start, self.pos)
        elif word.isdigit():
            self.emit("NUMBER", word, start, self.pos)
        else:
            self.emit("NAME", word, start, self.pos)


class _LatexLexer(Lexer):
    def __init__(self, lexer_conf: object) -> None:
        pass

    def lex(self, data: str) -> Iterator[Token]:  # type: ignore[override]
        return tokenize(data)


_GRAMMAR = r"""
start: side (EQ side)*
    | side ARROW side (EQ side)* -> assignment

?side: sum
?sum: hterm
    | MINUS hterm              -> neg
    | sum PLUS hterm           -> add
    | sum MINUS hterm          -> sub
?hterm: product
    | hterm HADAMARD product   -> elementwise
?product: postfix
    | product postfix          -> juxt
    | product DOT postfix      -> dot
    | product SLASH postfix    -> slash
?postfix: primary
    | postfix SUP script       -> sup
    | postfix SUB script       -> subscript
    | postfix PRIME            -> prime
script: LBRACE side RBRACE     -> braced
    | LBRACE side EQ side RBRACE -> braced_bound
    | LETTER                   -> bare
    | NUMBER                   -> bare
    | NAME                     -> bare
    | TOP                      -> bare
    | PRIME                    -> bare
    | LBRACE PRIME+ RBRACE     -> braced_primes
primary: LETTER                -> name
    | NAME                     -> name
    | NUMBER                   -> number
    | LPAR side RPAR           -> paren
    | LPAR side (COMMA side)+ RPAR -> arguments
    | ABS_OPEN side ABS_CLOSE  -> abs
    | LBRACK side RBRACK       -> bracket
    | LBRACK side COMPARE side RBRACK -> condition
    | LPAR side COMPARE side RPAR -> condition
    | LBRACE side RBRACE       -> brace
    | FRAC farg farg           -> frac
    | PARTIAL                  -> partial
    | CDOTS                    -> cdots
    | NORM_OPEN side NORM_CLOSE -> norm
    | TOP                      -> top
    | OVERBRACE LBRACE side RBRACE -> overbrace
    | NABLA                    -> nabla
    | SUMOP                    -> sumop
farg: LBRACE side RBRACE       -> braced
    | LETTER                   -> bare
    | NUMBER                   -> bare
    | NAME                     -> bare

%declare LETTER NAME NUMBER FRAC PARTIAL DOT SLASH HADAMARD CDOTS TOP PRIME SUP SUB PLUS MINUS
%declare EQ LPAR RPAR LBRACK RBRACK LBRACE RBRACE NORM_OPEN NORM_CLOSE NABLA SUMOP OVERBRACE
%declare COMMA ABS_OPEN ABS_CLOSE ARROW COMPARE
"""


@cache
def _parser() -> Lark:
    """The LALR parser, loaded on first use from the tables generated ahead of time into
    :mod:`matcalc.reading._latex_lalr` (``python3 -m matcalc.reading.generate_parser``), with
    the LaTeX tokenizer as its lexer.

    The tables were generated with lark's "basic" lexer standing in for the tokenizer (a class
    cannot be written into the module, and ``Lark_StandAlone`` takes no ``lexer``); the
    tokenizer replaces it here.
    """
    conf = DATA["parser"]["lexer_conf"]
    data = {
        **DATA,
        "options": {**DATA["options"], "lexer": _LatexLexer},
        "parser": {**DATA["parser"], "lexer_conf": {**conf, "lexer_type": _LatexLexer}},
    }
    return Lark._load_from_dict(data, MEMO)


_TOKEN_NAMES = {
    "LETTER": "a letter", "NAME": "a name", "NUMBER": "a number", "FRAC": "\\frac",
    "PARTIAL": "\\partial", "DOT": "\\cdot", "SLASH": "/", "HADAMARD": "\\odot",
    "CDOTS": "\\cdots", "TOP": "^T", "PRIME": "'", "SUP": "^", "SUB": "_", "PLUS": "+",
    "MINUS": "-", "EQ": "=", "LPAR": "(", "RPAR": ")", "LBRACK": "[", "RBRACK": "]",
    "LBRACE": "{", "RBRACE": "}", "NORM_OPEN": "\\|", "NORM_CLOSE": "\\|", "NABLA": "\\nabla",
    "SUMOP": "\\sum", "OVERBRACE": "\\overbrace", "$END": "the end", "COMMA": ",",
    "ABS_OPEN": "|", "ABS_CLOSE": "|", "ARROW": "\\leftarrow",
}  # fmt: skip


# ------------------------------------------------------------------------------ tree building


@record
class _Script:
    """What a superscript or subscript holds, before it is attached to its base."""

    node: Node | None
    token: Token | None
    start: int
    end: int


def _span(first: object, last: object) -> dict[str, int]:
    return {"start": _start(first), "end": _end(last)}


def _start(item: object) -> int:
    if isinstance(item, Token):
        return item.start_pos
    return item.start  # type: ignore[attr-defined]


def _end(item: object) -> int:
    if isinstance(item, Token):
        return item.end_pos
    return item.end  # type: ignore[attr-defined]


@v_args(inline=True)
class _Build(Transformer):
    """Parse tree -> syntax nodes; superscripts are told apart here (transpose, index, ...)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def error(self, message: str, position: int) -> ParseError:
        return ParseError(message, self.text, position)

    def start(self, *items: object) -> Equation:
        sides = tuple(item for item in items if isinstance(item, Node))
        return Equation(sides, text=self.text, start=0, end=len(self.text))

    def assignment(self, name: Node, arrow: Token, *items: object) -> Equation:
        """g \\leftarrow \\nabla_{a^{(k)}} J = ... (Goodfellow's Algorithm 6.4): the update's
        target g is the running gradient; what is checked is the equation on the right."""
        return self.start(*items)

    def neg(self, minus: Token, arg: Node) -> Node:
        return Neg(arg, **_span(minus, arg))

    def add(self, left: Node, plus: Token, right: Node) -> Node:
        terms = left.terms if isinstance(left, Sum) else (left,)
        return Sum((*terms, right), **_span(left, right))

    def sub(self, left: Node, minus: Token, right: Node) -> Node:
        terms = left.terms if isinstance(left, Sum) else (left,)
        return Sum((*terms, Neg(right, **_span(minus, right))), **_span(left, right))

    def elementwise(self, left: Node, op: Token, right: Node) -> Node:
        summed = _summed_product(left)
        if summed is not None:  # \sum Y \odot \log P: the sum is over the whole product
            before, summand = summed
            inner = self.elementwise(summand, op, right)
            return Product((*before, inner), ops=_ops(left)[: len(before)], **_span(left, right))
        factors = left.factors if isinstance(left, Elementwise) else (left,)
        return Elementwise((*factors, right), **_span(left, right))

    def juxt(self, left: Node, right: Node) -> Node:
        product = self._juxt(left, right)
        if (
            isinstance(left, Product)
            and left.ops
            and isinstance(product, Product)
            and product.factors[: len(left.factors)] == left.factors
        ):
            return replace(product, ops=_ops(left) + ("",))
        return product

    def _juxt(self, left: Node, right: Node) -> Node:
        factors = left.factors if isinstance(left, Product) else (left,)
        last = factors[-1]
        if _is_indicator(last) and isinstance(right, Group) and right.delim == "condition":
            widened = replace(right, start=last.start)  # \mathbb{1}[z > 0]: the indicator
            if len(factors) == 1:
                return widened
            return Product((*factors[:-1], widened), **_span(left, right))
        if isinstance(last, Frac) and isinstance(last.den, Partial):  # \partial L / \partial W
            den = Product((last.den, right), **_span(last.den, right))
            completed = self._quotient(last.num, den, _span(last, right))
            factors = factors[:-1]
            if not factors:
                return completed
            return Product((*factors, completed), **_span(left, right))
        return Product((*factors, right), **_span(left, right))

    def dot(self, left: Node, op: Token, right: Node) -> Node:
        product = self.juxt(left, right)
        marked = (op.value == "cdot" and not isinstance(right, Cdots)) or op.value in (
            "times",
            "otimes",
        )
        if marked and isinstance(product, Product) and product.factors[-1] is right:
            ops = _ops(left) + ("times" if op.value == "otimes" else op.value,)
            return replace(product, ops=ops)
        return product

    def slash(self, left: Node, op: Token, right: Node) -> Node:
        if isinstance(right, Partial):  # completed by the next factor, see juxt
            return Frac(left, right, **_span(left, right))
        return self._quotient(left, right, _span(left, right))

    def frac(self, token: Token, num: _Script, den: _Script) -> Node:
        assert num.node is not None and den.node is not None
        return self._quotient(num.node, den.node, {"start": token.start_pos, "end": den.end})

    def _quotient(self, num: Node, den: Node, span: dict[str, int]) -> Node:
        """\\frac{\\partial X}{\\partial Y} and \\frac{dX}{dY} are derivatives; others divide."""
        num_rest, num_d = _strip_differential(num)
        den_rest, den_d = _strip_differential(den)
        if num_d and den_d and den_rest is not None:
            return DerivativeOf(num_rest, den_rest, **span)
        for part in (num, den):
            if any(isinstance(n, Partial) for n in _walk(part)):
                raise self.error(
                    "a derivative is written \\frac{\\partial X}{\\partial Y}", span["start"]
                )
        return Frac(num, den, **span)

    def braced(self, lbrace: Token, inner: Node, rbrace: Token) -> _Script:
        return _Script(inner, None, lbrace.start_pos, rbrace.end_pos)

    def braced_bound(
        self, lbrace: Token, variable: Node, eq: Token, low: Node, rbrace: Token
    ) -> _Script:
        """{i=1}, the subscript of \\sum_{i=1}^{m}."""
        if not (isinstance(variable, Name) and len(variable.text) == 1):
            raise self.error("a sum's subscript is a letter and its start, like i=1", eq.start_pos)
        bound = Bound(variable.text, low, start=lbrace.start_pos, end=rbrace.end_pos)
        return _Script(bound, None, lbrace.start_pos, rbrace.end_pos)

    def braced_primes(self, lbrace: Token, *tokens: Token) -> _Script:
        """f^{'} (also f^{\\prime}, f^{''}): a derivative written as a superscript."""
        primes = tokens[:-1]
        if len(primes) > 1:
            raise self.error("one prime in a superscript: f^{'}", primes[1].start_pos)
        return _Script(None, primes[0], lbrace.start_pos, tokens[-1].end_pos)

    def bare(self, token: Token) -> _Script:
        node = self.name(token) if token.type in ("LETTER", "NAME") else None
        if token.type == "NUMBER":
            node = self.number(token)
        return _Script(node, token, token.start_pos, token.end_pos)

    def name(self, token: Token) -> Node:
        if ":" in token.value:
            mark, letter = token.value.split(":")
            return Name(letter, mark, start=token.start_pos, end=token.end_pos)
        return Name(str(token.value), start=token.start_pos, end=token.end_pos)

    def number(self, token: Token) -> Node:
        return Number(Fraction(str(token.value)), start=token.start_pos, end=token.end_pos)

    def paren(self, left: Token, inner: Node, right: Token) -> Node:
        return Group(inner, "(", **_span(left, right))

    def bracket(self, left: Token, inner: Node, right: Token) -> Node:
        return Group(inner, "[", **_span(left, right))

    def condition(self, left: Token, lhs: Node, op: Token, rhs: Node, right: Token) -> Node:
        """[z > 0], \\mathbb{1}\\{z > 0\\}: the indicator of a comparison, entrywise, read as
        step(z - 0) (step(0 - z) for <); a Group marked "condition"."""
        if op.value in _BELOW:
            lhs, rhs = rhs, lhs
        if isinstance(rhs, Number) and rhs.value == 0:
            arg = lhs
        elif isinstance(lhs, Number) and lhs.value == 0:
            arg = Neg(rhs, start=rhs.start, end=rhs.end)
        else:
            arg = Sum((lhs, Neg(rhs, start=rhs.start, end=rhs.end)), **_span(lhs, rhs))
        span = _span(left, right)
        step = Name("step", start=left.start_pos, end=left.start_pos + 1)
        applied = Product((step, Group(arg, "(", **span)), **span)
        return Group(applied, "condition", **span)

    def brace(self, left: Token, inner: Node, right: Token) -> Node:
        return Group(inner, "{", **_span(left, right))

    def norm(self, left: Token, inner: Node, right: Token) -> Node:
        return Norm(inner, **_span(left, right))

    def abs(self, left: Token, inner: Node, right: Token) -> Node:
        return Abs(inner, **_span(left, right))

    def arguments(self, left: Token, *items: object) -> Node:
        nodes = tuple(item for item in items if isinstance(item, Node))
        return Arguments(nodes, **_span(left, items[-1]))

    def overbrace(self, token: Token, left: Token, inner: Node, right: Token) -> Node:
        # the annotation that follows (^{\text{...}} or _{...}) is dropped by sup/subscript
        return Group(inner, "overbrace", **_span(token, right))

    def partial(self, token: Token) -> Node:
        return Partial(start=token.start_pos, end=token.end_pos)

    def cdots(self, token: Token) -> Node:
        return Cdots(start=token.start_pos, end=token.end_pos)

    def top(self, token: Token) -> Node:
        return _TopMark(start=token.start_pos, end=token.end_pos)

    def nabla(self, token: Token) -> Node:
        return Nabla(None, start=token.start_pos, end=token.end_pos)

    def sumop(self, token: Token) -> Node:
        return SumOf(None, start=token.start_pos, end=token.end_pos)

    def prime(self, base: Node, token: Token) -> Node:
        if isinstance(base, Primed):
            return Primed(base.arg, base.order + 1, **_span(base, token))
        return Primed(base, **_span(base, token))

    def subscript(self, base: Node, token: Token, script: _Script) -> Node:
        span = {"start": base.start, "end": script.end}
        if isinstance(base, Group) and base.delim == "overbrace":
            return base
        if script.node is None:
            raise self.error("a subscript needs a name or number", script.start)
        if isinstance(base, Nabla | Partial):  # \nabla_X, and d2l's \partial_X: by X
            return Nabla(script.node, **span)
        if isinstance(base, Norm) and _names_a_norm(script.node):  # \|X\|_F, \|x\|_2
            return Norm(base.arg, base.squared, **span)
        if isinstance(base, SumOf):
            return SumOf(script.node, base.upper, **span)
        if isinstance(base, Scripted):
            if base.sub is not None:
                raise self.error("a second subscript", token.start_pos)
            return Scripted(base.base, script.node, base.index, **span)
        return Scripted(base, script.node, None, **span)

    def sup(self, base: Node, token: Token, script: _Script) -> Node:
        span = {"start": base.start, "end": script.end}
        if isinstance(base, Group) and base.delim == "overbrace":
            return base
        node = script.node
        while isinstance(node, Group) and node.delim == "{":
            node = node.inner
        tok = script.token
        if (tok is not None and tok.type == "TOP") or _is_transpose_mark(node):
            return Transposed(base, self._transpose_spelling(script), **span)
        if isinstance(node, Product) and all(_is_transpose_mark(f) for f in node.factors):
            return Transposed(base, self._transpose_spelling(script), **span)
        if tok is not None and tok.type == "PRIME":
            return self.prime(base, Token("PRIME", "'", start_pos=script.start, end_pos=script.end))
        if isinstance(base, Primed) and isinstance(base.arg, Name):  # g'^{[l]}(Z^{[l]})
            return Primed(self.sup(base.arg, token, script), base.order, **span)
        if isinstance(base, Norm) and not base.squared:
            if isinstance(node, Number) and node.value == 2:
                return Norm(base.arg, True, **span)
            if isinstance(node, Number):
                return Power(base, node.value, **span)
            raise self.error("a norm's power is a number: \\|x\\|^2, \\|x\\|^3", script.start)
        if _takes_power(base) or _is_entry(base):
            if isinstance(node, Number):  # (1 - a)^2, z_j^2: a power of a scalar
                return Power(base, node.value, **span)
            if isinstance(node, Neg) and isinstance(node.arg, Number) and node.arg.value != 1:
                return Power(base, -node.arg.value, **span)
        if isinstance(node, Neg) and isinstance(node.arg, Number) and node.arg.value == 1:
            return Inverse(base, **span)
        if isinstance(node, Neg) and _is_transpose_mark(node.arg):  # X^{-T}
            return Transposed(Inverse(base, **span), self._transpose_spelling(script), **span)
        if node is None:
            raise self.error(
                "a superscript is a layer index such as l, l+1, (l) or [l]", tok.start_pos
            )
        if isinstance(base, SumOf) and base.upper is None:  # \sum_{i=1}^{m}
            return SumOf(base.sub, node, **span)
        # trailing marks after the index: W^{[l]T}, g^{[1]\prime}
        trailing: list[Node] = []
        while isinstance(node, Product) and (
            _is_transpose_mark(node.factors[-1]) or isinstance(node.factors[-1], _PrimeMark)
        ):
            trailing.insert(0, node.factors[-1])
            rest = node.factors[:-1]
            node = (
                rest[0] if len(rest) == 1 else Product(rest, start=rest[0].start, end=rest[-1].end)
            )
        if isinstance(node, Sum) and _ends_in_transpose(node.terms[-1]):  # w^{l+1 T}, W^{L-1 T}
            last = node.terms[-1]
            negated = isinstance(last, Neg)
            last = last.arg if negated else last
            trailing.insert(0, last.factors[-1])
            rest = last.factors[:-1]
            term = (
                rest[0] if len(rest) == 1 else Product(rest, start=rest[0].start, end=rest[-1].end)
            )
            term = Neg(term, start=node.terms[-1].start, end=term.end) if negated else term
            node = Sum((*node.terms[:-1], term), start=node.start, end=term.end)
        if isinstance(node, Primed):  # W^{l\prime}
            trailing.insert(0, _PrimeMark(start=node.end - 1, end=node.end))
            node = node.arg
        if isinstance(node, Transposed):  # A^{[l-1]^T}: a transpose inside the superscript
            trailing.insert(0, _TopMark(start=node.end - 1, end=node.end))
            node = node.arg

        example = _example_index(node)
        if example is not None:  # dZ^{[l](i)}: layer l, example i
            node = node.factors[0]
        index = self._index(node, script)
        if isinstance(base, Scripted):
            if base.index is not None:
                raise self.error("a second layer index", token.start_pos)
            result: Node = Scripted(base.base, base.sub, index, **span)
        else:
            result = Scripted(base, None, index, **span)
        if example is not None:
            result = ExampleOf(result, example, **span)
        for mark in trailing:
            if isinstance(mark, _PrimeMark):
                result = self.prime(
                    result, Token("PRIME", "'", start_pos=mark.start, end_pos=mark.end)
                )
            else:
                result = Transposed(result, "T", **span)
        return result

    def _transpose_spelling(self, script: _Script) -> str:
        raw = self.text[script.start : script.end]
        return "\\top" if "top" in raw or "intercal" in raw else "T"

    def _index(self, node: Node, script: _Script) -> Index:
        """A layer index from a superscript: 2, l, l+1, L-1, (l), [l], \\ell."""
        style = "plain"
        if isinstance(node, Group) and node.delim in ("(", "["):
            style = "paren" if node.delim == "(" else "bracket"
            node = node.inner
        while isinstance(node, Group) and node.delim == "{":
            node = node.inner
        ell = "\\ell" in self.text[script.start : script.end]
        return Index(self._index_expr(node, script.start), style, ell)

    def _index_expr(self, node: Node, where: int) -> sympy.Expr:
        match node:
            case Number(value=value) if value.denominator == 1:
                return sympy.Integer(value.numerator)
            case Name(text="ell" | "l"):
                return LAYER
            case Name(text="L"):
                return DEPTH
            case Name(text=text) if len(text) == 1 and text.isalpha() and text != "T":
                return sympy.Symbol(text, integer=True)
            case Neg(arg=arg):
                return -self._index_expr(arg, where)
            case Sum(terms=terms):
                return sympy.Add(*(self._index_expr(t, where) for t in terms))
            case Group(inner=inner, delim="{"):
                return self._index_expr(inner, where)
        raise self.error(
            "a superscript is a transpose (T, \\top), an inverse (-1) or a layer index such as "
            "l, l+1, L-1, (l) or [l]",
            node.start if node.start >= 0 else where,
        )


_BELOW = ("<", "lt", "leq", "le", "leqslant")


def _is_indicator(node: Node) -> bool:
    """\\mathbb{1} or a 1 written before a condition: \\mathbb{1}[z > 0], 1\\{z > 0\\}."""
    return (isinstance(node, Name) and node.mark == "ones") or (
        isinstance(node, Number) and node.value == 1
    )


def _ends_in_transpose(term: Node) -> bool:
    """Whether a term of a layer index ends in a transpose mark: the ``1 T`` of l+1 T."""
    term = term.arg if isinstance(term, Neg) else term
    return (
        isinstance(term, Product)
        and len(term.factors) > 1
        and _is_transpose_mark(term.factors[-1])
        and not any(_is_transpose_mark(f) for f in term.factors[:-1])
    )


def _takes_power(base: Node) -> bool:
    """A number superscript on (...), |x| or a power is a power, not a layer index."""
    return isinstance(base, Abs | Power) or (isinstance(base, Group) and base.delim == "(")


def _summed_product(node: Node) -> tuple[tuple[Node, ...], Node] | None:
    """(the factors up to a \\sum, what the sum is written over) where a product holds a
    \\sum with factors after it: ``\\frac{1}{m} \\sum_i Y``; None otherwise."""
    if not isinstance(node, Product):
        return None
    where = next((i for i, f in enumerate(node.factors) if isinstance(f, SumOf)), None)
    if where is None or where == len(node.factors) - 1:
        return None
    rest = node.factors[where + 1 :]
    ops = _ops(node)[where + 1 :]
    summand = (
        rest[0]
        if len(rest) == 1
        else Product(rest, ops=ops if any(ops) else (), start=rest[0].start, end=rest[-1].end)
    )
    return node.factors[: where + 1], summand


def _is_entry(base: Node) -> bool:
    """z_j, x_i: one entry (a unit letter as the subscript, no layer index), so that z_j^2 is
    its square (Bishop's (1 - z_j^2)) where W_0^2 and W^2 stay layer indices."""
    if not (isinstance(base, Scripted) and base.index is None):
        return False
    sub = base.sub
    while isinstance(sub, Group) and sub.delim == "{":
        sub = sub.inner
    return isinstance(sub, Name) and sub.mark is None and sub.text in "ijkpqrst"


def _ops(node: Node) -> tuple[str, ...]:
    """The operators before the factors of a product after the first ("" for juxtaposition)."""
    if not isinstance(node, Product):
        return ()
    return node.ops or ("",) * (len(node.factors) - 1)


def _example_index(node: Node) -> str | None:
    """The i of [l](i): a bracketed layer index followed by a parenthesized example letter."""
    if not (isinstance(node, Product) and len(node.factors) == 2):
        return None
    layer, example = node.factors
    plain = isinstance(layer, Number) or (isinstance(layer, Name) and len(layer.text) == 1)
    if not (plain or (isinstance(layer, Group) and layer.delim in ("[", "("))):
        return None  # [l](i) (Ng), and l(i), 3(i), (l)(i) in the other index styles
    if isinstance(example, Group) and example.delim == "(":
        inner = example.inner
        if isinstance(inner, Name) and len(inner.text) == 1 and inner.text not in "lL":
            return inner.text
    return None


@record
class _PrimeMark(Node):
    pass


@record
class _TopMark(Node):
    """\\top or \\intercal, which only means something in a superscript."""


def _names_a_norm(node: Node) -> bool:
    """F (Frobenius) or 2 (Euclidean) under a norm: both are the root of the sum of squares."""
    return (isinstance(node, Name) and node.text == "F") or (
        isinstance(node, Number) and node.value == 2
    )


def _is_transpose_mark(node: Node | None) -> bool:
    return isinstance(node, _TopMark) or (
        isinstance(node, Name) and node.text == "T" and node.mark is None
    )


def _strip_differential(node: Node) -> tuple[Node | None, bool]:
    """(what follows the \\partial or d, whether there was one) for a derivative's parts."""
    if isinstance(node, Partial):
        return None, True
    if isinstance(node, Product) and isinstance(node.factors[0], Partial):
        rest = node.factors[1:]
        if not rest:
            return None, True
        inner = rest[0] if len(rest) == 1 else Product(rest, start=rest[0].start, end=rest[-1].end)
        return inner, True
    if isinstance(node, Product) and _is_d(node.factors[0]) and len(node.factors) >= 2:
        rest = node.factors[1:]
        inner = rest[0] if len(rest) == 1 else Product(rest, start=rest[0].start, end=rest[-1].end)
        return inner, True
    return node, False


def _is_d(node: Node) -> bool:
    return isinstance(node, Name) and node.text == "d" and node.mark is None


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for value in vars(node).values():
        if isinstance(value, Node):
            yield from _walk(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield from _walk(item)


def walk(node: Node) -> Iterator[Node]:
    """Every node of a syntax tree, parents first."""
    return _walk(node)


def parse_latex(text: str) -> Equation:
    """The syntax tree of a formula or an equation ``lhs = rhs``; :class:`ParseError` if unread."""
    if not isinstance(text, str):
        raise MatcalcError("a formula is a string of LaTeX")
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"the formula is {len(text)} characters; at most {MAX_LENGTH}", text[:80], 80
        )
    for old, new in _UNICODE.items():
        text = text.replace(old, new)
    text = _strip_math_delimiters(text)
    text = _blank_brace_labels(text)
    text = _CONDITION.sub(lambda m: " " * len(m.group()), text)
    if not text.strip():
        raise ParseError("the formula is empty", text, 0)
    try:
        tree = _parser().parse(text)
    except ParseError:
        raise
    except UnexpectedToken as error:
        token = error.token
        if token.type == "$END" and text.rstrip().endswith("="):
            raise ParseError("the right side is empty", text, len(text.rstrip())) from None
        if token.type == "$END":
            raise ParseError(_ends_early(error), text, len(text.rstrip())) from None
        if token.type == "EQ" and not text[: token.start_pos].strip():
            raise ParseError("the left side is empty", text, token.start_pos) from None
        if token.type == "EQ" and text[: token.start_pos].rstrip().endswith("="):
            raise ParseError("a side of the equation is empty", text, token.start_pos) from None
        shown = text[token.start_pos : token.end_pos] or token.value
        raise ParseError(f"unexpected {shown!r}{_expected(error)}", text, token.start_pos) from None
    except UnexpectedEOF as error:
        raise ParseError(_ends_early(error), text, len(text.rstrip())) from None
    except UnexpectedCharacters as error:
        raise ParseError("unexpected character", text, error.pos_in_stream) from None
    except LarkError as error:  # pragma: no cover - any other parser failure is still clean
        raise ParseError(f"cannot read the formula ({type(error).__name__})", text, 0) from None
    _check_chain_length(tree, text)
    try:
        equation = _Build(text).transform(tree)
    except ParseError:
        raise
    except LarkError as error:
        original = getattr(error, "orig_exc", None)
        if isinstance(original, ParseError):
            raise original from None
        raise ParseError("cannot read the formula", text, 0) from None
    _check_sides(equation, text)
    return equation


def _check_chain_length(tree: Tree, text: str) -> None:
    """Reject a syntax tree deeper than MAX_CHAIN (``x x x ...``, ``A^T^T...``), which every
    recursive walk after parsing would otherwise exceed Python's recursion limit on."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CHAIN:
            raise ParseError(
                f"the formula chains more than {MAX_CHAIN} terms, factors or scripts",
                text,
                _first_position(node),
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _first_position(node: Tree | Token) -> int:
    while isinstance(node, Tree) and node.children:
        node = node.children[0]
    return node.start_pos if isinstance(node, Token) and node.start_pos is not None else 0


def parse_expression(text: str) -> Node:
    """The syntax tree of one formula without '='."""
    equation = parse_latex(text)
    if len(equation.sides) != 1:
        raise ParseError("expected a formula without '='", text, equation.sides[1].start - 1)
    return equation.sides[0]


def _check_sides(equation: Equation, text: str) -> None:
    for node in walk(equation):
        if isinstance(node, _TopMark):
            raise ParseError(
                "a transpose mark belongs in a superscript, like W^\\top", text, node.start
            )
        if isinstance(node, Partial):
            raise ParseError(
                "\\partial outside a derivative; write \\frac{\\partial X}{\\partial Y}",
                text,
                node.start,
            )
    lhs = equation.sides[0]
    if isinstance(lhs, DerivativeOf) and lhs.num is not None:
        for side in equation.sides[1:]:
            for node in walk(side):
                if node == lhs:  # positions are not compared
                    raise ParseError(
                        "the right side uses the derivative the left side defines; write it "
                        "in other quantities",
                        text,
                        node.start,
                    )


def _ends_early(error: LarkError) -> str:
    return "the formula ends too early" + _expected(error)


def _expected(error: LarkError) -> str:
    expected = sorted({_TOKEN_NAMES.get(name, name) for name in getattr(error, "expected", ())})
    if not expected or len(expected) > 6:
        return ""
    return f"; expected {', '.join(expected)}"


# a condition after the formula, as matcalc prints it: \qquad (t < T), \quad (l < L)
_CONDITION = re.compile(
    r"\\q?quad\s*\((?:[^()]*?(?:<|>|\\[lg]eq?\b|\\[lg]e\b)[^()]*)\)\s*[.,]?\s*$"
)
_BRACES = re.compile(r"\\(?:underbrace|overbrace)(?![A-Za-z])")


def _closing(text: str, start: int) -> int:
    """The index just past the group that opens at ``start`` ('{'), or -1 if it never closes."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "\\":
            continue
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _blank_brace_labels(text: str) -> str:
    """\\underbrace{X}_{label}, \\overbrace{X}^{label}: the labels (shapes such as
    c \\times n - k + 1, or words) are annotations, blanked so that columns stay put."""
    out = text
    for match in _BRACES.finditer(text):
        at = match.end()
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text) or text[at] != "{":
            continue
        at = _closing(text, at)
        while at > 0:
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text) or text[at] not in "_^":
                break
            label = at + 1
            while label < len(text) and text[label].isspace():
                label += 1
            end = _closing(text, label) if label < len(text) and text[label] == "{" else label + 1
            if end <= 0 or end > len(text):
                break
            out = out[:at] + " " * (end - at) + out[end:]
            at = end
    return out


_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)"))


def _strip_math_delimiters(text: str) -> str:
    stripped = text.strip()
    for left, right in _DELIMITERS:
        if (
            stripped.startswith(left)
            and stripped.endswith(right)
            and len(stripped) >= 2 * len(left)
        ):
            inner = stripped[len(left) : len(stripped) - len(right)]
            pad = len(text) - len(text.lstrip()) + len(left)
            return " " * pad + inner
    return text


__all__ = [
    "Abs",
    "Arguments",
    "Bound",
    "Cdots",
    "DerivativeOf",
    "Elementwise",
    "Equation",
    "ExampleOf",
    "Frac",
    "Group",
    "Index",
    "Inverse",
    "MAX_CHAIN",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Nabla",
    "Name",
    "Neg",
    "Node",
    "Norm",
    "Number",
    "ParseError",
    "Partial",
    "Power",
    "Primed",
    "Product",
    "Scripted",
    "Sum",
    "SumOf",
    "Transposed",
    "caret",
    "parse_expression",
    "parse_latex",
    "tokenize",
    "walk",
]
