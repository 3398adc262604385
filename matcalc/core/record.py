"""Frozen records: ``@record`` is ``@dataclass(frozen=True)`` at a third of the import cost.

A frozen dataclass compiles six methods, one at a time, when its class is created: about
0.5 ms a class on Python 3.11, and matcalc declares about a hundred, which made up a third of
what ``matcalc derive`` spent beyond importing SymPy.  A record lets ``dataclasses`` collect
the fields, compiles ``__init__``, ``__eq__`` and ``__hash__`` together (the same code a
dataclass writes, so they run as fast), and makes ``__repr__`` and the frozen
``__setattr__``/``__delattr__`` as closures.  Everything else is the dataclass's own:
``fields``, ``replace``, ``is_dataclass``, defaults, ``default_factory``, ``kw_only``,
``init=False``, ``compare=False``, ``repr=False`` and ``__post_init__``.  Methods a class
defines itself are kept, as dataclasses keep them.  To ``dataclasses`` a record is a dataclass
that is not frozen, so a record and a stdlib frozen dataclass cannot inherit from each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, fields
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def record(cls: T | None = None, /, *, eq: bool = True) -> Any:
    """``@record`` or ``@record(eq=False)``: a frozen dataclass; with ``eq=False`` instances
    compare and hash by identity."""

    def make(cls: T) -> T:
        own = vars(cls).keys() & {"__init__", "__repr__", "__eq__", "__hash__"}
        explicit_hash = "__hash__" in own and not (
            cls.__dict__["__hash__"] is None and "__eq__" in own
        )
        cls = dataclass(cls, init=False, repr=False, eq=False)
        every = fields(cls)
        compared = [f.name for f in every if f.compare] if eq and "__eq__" not in own else None
        hashed = None
        if eq and not explicit_hash:
            hashed = [f.name for f in every if (f.compare if f.hash is None else f.hash)]
        methods = _compiled(cls, every, "__init__" not in own, compared, hashed)
        if "__repr__" not in own:
            methods["__repr__"] = _repr([f.name for f in every if f.repr])
        methods["__setattr__"], methods["__delattr__"] = _frozen(cls, {f.name for f in every})
        for name, method in methods.items():
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)
        return cls

    return make if cls is None else make(cls)


def _repr(names: Sequence[str]) -> Callable[[object], str]:
    def __repr__(self: object) -> str:  # noqa: N807 - the method it becomes
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _frozen(cls: type, names: set[str]) -> tuple[Callable[..., None], Callable[..., None]]:
    """``__setattr__`` and ``__delattr__`` that refuse the fields, as a frozen dataclass's do."""

    def __setattr__(self: object, name: str, value: object) -> None:  # noqa: N807
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: object, name: str) -> None:  # noqa: N807
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _compiled(
    cls: type,
    every: Sequence[Field],
    init: bool,
    compared: Sequence[str] | None,
    hashed: Sequence[str] | None,
) -> dict[str, Callable[..., Any]]:
    """``__init__``, ``__eq__`` and ``__hash__`` as a dataclass writes them, compiled together
    from the fields' names (identifiers, never user text)."""
    namespace: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": MISSING}
    source = []
    if init:
        source.append(_init_source(cls, every, namespace))
    if compared is not None:
        source.append(
            "def __eq__(self, other):\n"
            "    if other.__class__ is self.__class__:\n"
            f"        return {_tuple('self', compared)} == {_tuple('other', compared)}\n"
            "    return NotImplemented"
        )
    if hashed is not None:
        source.append(f"def __hash__(self):\n    return hash({_tuple('self', hashed)})")
    if not source:
        return {}
    exec("\n".join(source), namespace)  # noqa: S102 - field names only, as in dataclasses
    names = ("__init__", "__eq__", "__hash__")
    return {name: namespace[name] for name in names if name in namespace}


def _tuple(owner: str, names: Sequence[str]) -> str:
    return "(" + "".join(f"{owner}.{name}," for name in names) + ")"


def _init_source(cls: type, every: Sequence[Field], namespace: dict[str, Any]) -> str:
    def parameter(f: Field) -> str:
        if f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            return f"{f.name}=_default_{f.name}"
        if f.default_factory is not MISSING:
            return f"{f.name}=_MISSING"
        return f.name

    parameters = ["self", *(parameter(f) for f in every if f.init and not f.kw_only)]
    keywords = [parameter(f) for f in every if f.init and f.kw_only]
    if keywords:
        parameters += ["*", *keywords]
    body = []
    for f in every:
        if f.default_factory is not MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            value = f"_factory_{f.name}()"
            if f.init:
                value = f"{value} if {f.name} is _MISSING else {f.name}"
        elif f.init:
            value = f.name
        elif f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            value = f"_default_{f.name}"
        else:
            continue
        body.append(f"    _set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    return f"def __init__({', '.join(parameters)}):\n" + ("\n".join(body) or "    pass")
