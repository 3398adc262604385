"""A record behaves as ``@dataclass(frozen=True)`` does: each case declares one class body,
made once by each, and every observable is compared."""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError, dataclass, field

import pytest

from matcalc.core.record import record


def _plain(ns: dict) -> None:
    ns["__annotations__"] = {"a": "int", "b": "str"}


def _defaults(ns: dict) -> None:
    ns["__annotations__"] = {"a": "int", "b": "int", "c": "tuple"}
    ns["b"] = 2
    ns["c"] = field(default=())


def _factory_and_hidden(ns: dict) -> None:
    ns["__annotations__"] = {"a": "int", "tags": "list", "memo": "dict", "note": "str"}
    ns["tags"] = field(default_factory=list)
    ns["memo"] = field(init=False, repr=False, compare=False, default_factory=dict)
    ns["note"] = field(default="", compare=False)


def _keyword_only(ns: dict) -> None:
    ns["__annotations__"] = {"start": "int", "a": "int"}
    ns["start"] = field(default=-1, kw_only=True, compare=False)


def _post_init(ns: dict) -> None:
    ns["__annotations__"] = {"a": "int"}

    def __post_init__(self: object) -> None:  # noqa: N807
        if self.a < 0:  # type: ignore[attr-defined]
            raise ValueError("negative")
        object.__setattr__(self, "doubled", 2 * self.a)  # type: ignore[attr-defined]

    ns["__post_init__"] = __post_init__


def _own_repr_and_eq(ns: dict) -> None:
    ns["__annotations__"] = {"a": "int", "b": "int"}
    ns["__repr__"] = lambda self: f"<{self.a}>"
    ns["__eq__"] = lambda self, other: isinstance(other, type(self)) and self.a == other.a
    ns["__hash__"] = lambda self: hash(self.a)


def _no_fields(ns: dict) -> None:
    ns["__annotations__"] = {}


CASES = {
    "plain": (_plain, [(1, "x"), (1, "x"), (2, "x")], {}),
    "defaults": (_defaults, [(1,), (1, 2, ()), (1, 3)], {}),
    "factory, init=False, compare=False": (_factory_and_hidden, [(1,), (1, [2]), (1, [], "n")], {}),
    "keyword-only": (_keyword_only, [(1,), (1,), (2,)], {"start": 5}),
    "post_init": (_post_init, [(1,), (1,), (3,)], {}),
    "own repr, eq and hash": (_own_repr_and_eq, [(1, 2), (1, 3), (2, 2)], {}),
    "no fields": (_no_fields, [(), ()], {}),
}


def _both(declare) -> tuple[type, type]:
    made = []
    for decorate in (dataclass(frozen=True), record):
        namespace: dict = {"__module__": __name__, "__qualname__": "Case"}
        declare(namespace)
        made.append(decorate(type("Case", (), namespace)))
    return made[0], made[1]


def _hash(instance: object) -> int | str:
    try:
        return hash(instance)
    except TypeError as error:  # a list among the hashed fields
        return str(error)


def _observe(cls: type, arguments: list[tuple], keywords: dict) -> dict:
    instances = [cls(*args) for args in arguments] + [cls(*arguments[0], **keywords)]
    first = instances[0]
    seen = {
        "repr": [repr(i) for i in instances],
        "equal": [[a == b for b in instances] for a in instances],
        "hashes": [_hash(i) for i in instances],
        "fields": [(f.name, f.init, f.repr, f.compare, f.kw_only) for f in dataclasses.fields(cls)],
        "is dataclass": dataclasses.is_dataclass(first),
        "replace": repr(dataclasses.replace(first)),
        "other class": first == object(),
        "state": [vars(i) for i in instances],
    }
    for action in (lambda: setattr(first, "a", 9), lambda: delattr(first, "a")):
        try:
            action()
            seen.setdefault("mutations", []).append("allowed")
        except FrozenInstanceError as error:
            seen.setdefault("mutations", []).append(str(error))
        except AttributeError as error:  # the class has no field a
            seen.setdefault("mutations", []).append(type(error).__name__)
    return seen


@pytest.mark.parametrize("case", CASES)
def test_a_record_behaves_as_a_frozen_dataclass(case: str) -> None:
    declare, arguments, keywords = CASES[case]
    frozen, fast = _both(declare)
    assert _observe(fast, arguments, keywords) == _observe(frozen, arguments, keywords)


def test_factories_make_a_new_value_for_each_instance() -> None:
    _, fast = _both(_factory_and_hidden)
    first, second = fast(1), fast(1)
    assert first.tags is not second.tags and first.memo is not second.memo


def test_arguments_are_checked_as_a_dataclass_checks_them() -> None:
    frozen, fast = _both(_plain)
    for cls in (frozen, fast):
        with pytest.raises(TypeError):
            cls(1)
        with pytest.raises(TypeError):
            cls(1, "x", 3)
    _, post = _both(_post_init)
    with pytest.raises(ValueError, match="negative"):
        post(-1)


def test_subclasses_add_fields_and_keep_their_own_equality() -> None:
    @record
    class Base:
        a: int

    @record
    class Child(Base):
        b: int = 0

    assert Child(1, 2) == Child(1, 2) and Child(1, 2) != Child(1, 3)
    assert Child(1) != Base(1)
    assert repr(Child(1)).endswith(".<locals>.Child(a=1, b=0)")
    with pytest.raises(FrozenInstanceError):
        Child(1).b = 2


def test_without_equality_instances_are_themselves_only() -> None:
    @record(eq=False)
    class Node:
        a: int

    first, second = Node(1), Node(1)
    assert first != second and first == first
    assert len({first, second}) == 2
