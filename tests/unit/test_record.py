"""hull.record behaves like dataclasses for everything the code base declares with it."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from hull.record import asdict, field, fields, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list = field(default_factory=list)
    KIND: ClassVar[str] = "point"

    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


@record(frozen=True)
class Key:
    name: str
    version: int = 1


@record
class Outer:
    inner: Point
    keys: list = field(default_factory=list)


@dataclasses.dataclass
class PointDC:
    x: int
    y: int = 0
    tags: list = dataclasses.field(default_factory=list)


def test_init_defaults_and_fresh_factories() -> None:
    a, b = Point(1), Point(x=1)
    assert (a.x, a.y, a.tags) == (1, 0, [])
    a.tags.append("t")
    assert b.tags == [] and a.tags is not b.tags
    assert Point(1, 2, ["z"]).tags == ["z"]
    assert Point.KIND == "point" and [f.name for f in fields(Point)] == ["x", "y", "tags"]
    assert Point(3, -4).norm() == 7


def test_repr_and_eq_match_dataclasses() -> None:
    assert repr(Point(1, 2)).replace("Point", "PointDC") == repr(PointDC(1, 2))
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert Point(1) != PointDC(1)


@pytest.mark.parametrize("call, message", [
    (lambda: Point(), "missing required argument: 'x'"),
    (lambda: Point(1, 2, [], 4), "takes 3 positional arguments but 4 were given"),
    (lambda: Point(1, x=2), "multiple values for argument 'x'"),
    (lambda: Point(1, z=2), "unexpected keyword argument 'z'"),
])
def test_bad_arguments_are_type_errors(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=message):
        call()


def test_frozen_records_are_immutable_and_hashable() -> None:
    key = Key("a")
    with pytest.raises(AttributeError):
        key.name = "b"  # type: ignore[misc]
    assert {Key("a"), Key("a", 1), Key("a", 2)} == {Key("a"), Key("a", 2)}
    with pytest.raises(TypeError):
        hash(Point(1))  # mutable records compare by value, so they are unhashable


def test_asdict_and_replace() -> None:
    outer = Outer(Point(1, 2, ["t"]), [Key("k")])
    assert asdict(outer) == {"inner": {"x": 1, "y": 2, "tags": ["t"]},
                             "keys": [{"name": "k", "version": 1}]}
    changed = replace(Key("a"), version=3)
    assert changed == Key("a", 3) and Key("a").version == 1


def test_a_record_may_extend_another() -> None:
    @record
    class Point3(Point):
        z: int = 0

    p = Point3(1, 2, [], 3)
    assert (p.x, p.y, p.z) == (1, 2, 3) and [f.name for f in fields(p)] == ["x", "y", "tags", "z"]
