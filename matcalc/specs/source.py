"""Spec text: read from a file or given as a string, bounded in size, parsed as TOML.

Errors are raised as the caller's error class, so each kind of spec keeps its own; a file's
errors name the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from matcalc.errors import MatcalcError

MAX_SPEC_BYTES = 100_000


def read_spec_file(path: str | Path, error: type[MatcalcError], limit: int = MAX_SPEC_BYTES) -> str:
    """The text of a spec file (or another input file), at most ``limit`` bytes, UTF-8 (a
    leading BOM is dropped)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as problem:
        raise error(f"{path}: cannot be read ({problem.strerror})") from None
    if len(raw) > limit:
        raise error(f"{path}: larger than {limit} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise error(f"{path}: cannot be read ({problem})") from None


def parse_spec(text: str, error: type[MatcalcError], where: str = "the spec") -> dict[str, Any]:
    """The TOML tables of a spec; arrays or tables nested too deeply are an error too."""
    if len(text) > MAX_SPEC_BYTES:
        raise error(f"{where} is {len(text)} characters; at most {MAX_SPEC_BYTES}")
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise error(f"{where} is not valid TOML: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{where} is not valid TOML: {problem}") from None
