"""@record behaves as @dataclass for the declarations borgconf uses (borgconf/records.py):
each case declares the same class twice, once per decorator, and compares them."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from borgconf.records import field, fields_of, record, replace


def twins(frozen: bool = False):
    def declare(deco, fld):
        class Thing:
            """doc"""

            name: str
            kind: str = "parameter"
            tags: list = fld(default_factory=list)
            secret: str | None = fld(default=None, repr=False, compare=False)
            count: int = 0

            def label(self) -> str:
                return f"{self.kind}:{self.name}"

        return deco(frozen=frozen)(Thing) if frozen else deco(Thing)

    return declare(record, field), declare(dataclasses.dataclass, dataclasses.field)


CALLS = [
    ((), {"name": "hz"}),
    (("hz",), {}),
    (("hz", "user", ["a"], "pw", 3), {}),
    (("hz",), {"count": 2, "secret": "s"}),
    # by keyword only (how borgconf makes most records: __init__'s fast path), in any order
    ((), {"name": "hz", "kind": "user", "tags": ["a"], "secret": "pw", "count": 3}),
    ((), {"count": 1, "name": "hz"}),
]
BAD = [
    ((), {}), (("a", "b", [], None, 1, "extra"), {}), (("hz",), {"name": "x"}), (("hz",), {"nope": 1}),
    ((), {"kind": "x"}), ((), {"name": "x", "nope": 1}), ((), {"kind": "x", "nope": 1}),
]


@pytest.mark.parametrize("frozen", [False, True])
def test_a_record_is_made_and_compared_as_the_dataclass(frozen):
    R, D = twins(frozen)
    assert fields_of(R) == tuple(f.name for f in dataclasses.fields(D)) == R.__match_args__ == D.__match_args__
    for args, kw in CALLS:
        r, d = R(*args, **kw), D(*args, **kw)
        assert repr(r).replace("Thing", "X") == repr(d).replace("Thing", "X")
        assert [getattr(r, n) for n in fields_of(R)] == [getattr(d, n) for n in fields_of(R)]
        assert list(vars(r)) == list(vars(d))  # the fields set in their order, whatever the call's
        assert r == R(*args, **kw) and r != R("other") and (r == d) is False
        assert r.label() == d.label()
    for args, kw in CALLS:  # a compare=False field (secret) left to its default: equal whatever it is set to
        if "secret" not in kw and len(args) < 4:
            assert R(*args, **{**kw, "secret": "different"}) == R(*args, **kw)
    for args, kw in BAD:
        with pytest.raises(TypeError):
            D(*args, **kw)
        with pytest.raises(TypeError):
            R(*args, **kw)
    with pytest.raises(TypeError, match="missing 1 required argument.*'name'"):
        R(kind="x")
    a, b = R("x"), R("x")
    assert a.tags is not b.tags  # a fresh list each
    assert R(name="x").tags is not R(name="x").tags
    if frozen:
        assert hash(R("x", tags=(), secret="1")) == hash(R("x", tags=(), secret="2"))  # compare=False is out of the hash too
        assert hash(R("x", tags=())) == hash(D("x", tags=()))  # the same tuple of fields
        for obj in (R("x"), D("x")):  # a list field: unhashable, as the dataclass
            with pytest.raises(TypeError):
                hash(obj)
        for obj in (R("x"), D("x")):
            with pytest.raises(dataclasses.FrozenInstanceError):
                obj.name = "y"
            with pytest.raises(dataclasses.FrozenInstanceError):
                del obj.name
            with pytest.raises(dataclasses.FrozenInstanceError):
                obj.other = 1
    else:
        assert R.__hash__ is None and D.__hash__ is None
        r = R("x")
        r.name, r.other = "y", 1
        assert r.name == "y"


def test_post_init_runs_after_the_fields_are_set():
    @record
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert Checked(1).value == Checked(value=1).value == 1
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)
    with pytest.raises(ValueError, match="negative"):  # by keyword too (__init__'s other fast path)
        Checked(value=-1)


def test_declaration_errors_are_the_dataclass_ones():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @record
        class Order:
            a: int = 1
            b: int

    with pytest.raises(ValueError, match="mutable default"):

        @record
        class Shared:
            items: list = []  # noqa: RUF012

    with pytest.raises(ValueError):
        field(default=1, default_factory=list)


def test_replace_is_dataclasses_replace():
    R, D = twins(frozen=True)
    r = R("hz", count=2)
    again = replace(r, kind="user")
    assert (again.name, again.kind, again.count) == ("hz", "user", 2) and r.kind == "parameter"
    assert dataclasses.replace(D("hz", count=2), kind="user").kind == "user"
    with pytest.raises(TypeError):
        replace(r, nope=1)


def test_borgconf_declares_its_value_classes_as_records():
    """No @dataclass left in borgconf: dataclasses compiles generated source per class
    at import, which every CLI start paid (issue 15)."""
    root = pathlib.Path(__file__).resolve().parents[2] / "borgconf"
    users = [str(p.relative_to(root)) for p in root.rglob("*.py") if p.name != "records.py" and "@dataclass" in p.read_text()]
    assert users == []
