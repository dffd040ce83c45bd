"""``@record``: borgconf's value classes, declared as with ``@dataclass``, made
without generating code.

``dataclasses`` writes each class's ``__init__``, ``__repr__`` and ``__eq__``
(and for a frozen class ``__hash__``, ``__setattr__``, ``__delattr__``) as
source text and compiles it when the class is defined: about 0.3 ms a class,
some 12 ms for the 43 classes on the paths of ``validate``, ``plan`` and
``apply``, paid on every start of the CLI (issue 15). ``record`` builds the
same methods from closures over the class's fields instead. What it supports
is what borgconf uses: fields in annotation order, defaults, ``field(
default_factory=..., repr=..., compare=...)``, ``__post_init__``, ``frozen``;
``replace`` as ``dataclasses.replace``. No inheritance between records, no
``order``, no keyword-only fields (a class that needs them stays a dataclass).

tests/unit/test_records.py holds a record and the dataclass of the same
declaration side by side: init, defaults, repr, ==, hash, frozenness and
errors behave alike.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_MISSING: Any = object()


class _Field:
    __slots__ = ("default", "default_factory", "repr", "compare")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | Any, repr: bool, compare: bool) -> None:
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | Any = _MISSING, repr: bool = True, compare: bool = True) -> Any:
    """As ``dataclasses.field`` (``default``, ``default_factory``, ``repr``, ``compare``)."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, repr, compare)


def record(cls: type[T] | None = None, /, *, frozen: bool = False) -> Any:
    """``@record`` or ``@record(frozen=True)``: as ``@dataclass`` of the same form."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)


def _make(cls: type[T], frozen: bool) -> type[T]:
    if any(hasattr(base, "__record_fields__") for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: a record cannot derive from another record")
    names: list[str] = []
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    hidden: set[str] = set()  # repr=False
    ignored: set[str] = set()  # compare=False
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Field):
            if value.default_factory is not _MISSING:
                factories[name] = value.default_factory
            elif value.default is not _MISSING:
                defaults[name] = value.default
            if not value.repr:
                hidden.add(name)
            if not value.compare:
                ignored.add(name)
            if value.default is not _MISSING:
                setattr(cls, name, value.default)
            else:
                delattr(cls, name)
        elif value is not _MISSING:
            if isinstance(value, (list, dict, set)):
                raise ValueError(f"mutable default {type(value)} for field {name} is not allowed: use default_factory")
            defaults[name] = value
        elif defaults or factories:
            raise TypeError(f"non-default argument {name!r} follows default argument")
        names.append(name)

    fields = tuple(names)
    shown = tuple(n for n in fields if n not in hidden)
    compared = tuple(n for n in fields if n not in ignored)
    post_init = getattr(cls, "__post_init__", None)
    qualname = cls.__qualname__
    assign = object.__setattr__ if frozen else setattr
    count = len(fields)

    field_set = frozenset(fields)
    fill = tuple((n, factories.get(n), defaults.get(n, _MISSING)) for n in fields)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs and len(args) == count:  # every field, in order
            for name, value in zip(fields, args):
                assign(self, name, value)
            if post_init is not None:
                self.__post_init__()
            return
        if not args and kwargs.keys() <= field_set:  # by keyword, as borgconf makes them: no check can fail but a missing field
            for name, factory, default in fill:
                if name in kwargs:
                    assign(self, name, kwargs[name])
                elif factory is not None:
                    assign(self, name, factory())
                elif default is not _MISSING:
                    assign(self, name, default)
                else:
                    missing = [n for n, f, d in fill if n not in kwargs and f is None and d is _MISSING]
                    raise TypeError(f"{qualname}.__init__() missing {len(missing)} required argument(s): {', '.join(map(repr, missing))}")
            if post_init is not None:
                self.__post_init__()
            return
        if len(args) > count:
            raise TypeError(f"{qualname}.__init__() takes {count + 1} positional arguments but {len(args) + 1} were given")
        for i, name in enumerate(fields):
            if i < len(args):
                if name in kwargs:
                    raise TypeError(f"{qualname}.__init__() got multiple values for argument {name!r}")
                value = args[i]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif name in factories:
                value = factories[name]()
            elif name in defaults:
                value = defaults[name]
            else:
                missing = [n for n in fields[i:] if n not in kwargs and n not in defaults and n not in factories]
                raise TypeError(f"{qualname}.__init__() missing {len(missing)} required argument(s): {', '.join(map(repr, missing))}")
            assign(self, name, value)
        if kwargs:
            raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument {next(iter(kwargs))!r}")
        if post_init is not None:
            self.__post_init__()

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return all(getattr(self, n) == getattr(other, n) for n in compared)
        return NotImplemented

    cls.__init__ = __init__  # type: ignore[assignment,misc]
    cls.__repr__ = __repr__  # type: ignore[assignment,method-assign]
    cls.__eq__ = __eq__  # type: ignore[assignment,method-assign]
    if frozen:

        def __hash__(self) -> int:
            return hash(tuple(getattr(self, n) for n in compared))

        def __setattr__(self, name: str, value: Any) -> None:
            if type(self) is cls or name in fields:
                raise FrozenInstanceError(f"cannot assign to field {name!r}")
            object.__setattr__(self, name, value)

        def __delattr__(self, name: str) -> None:
            if type(self) is cls or name in fields:
                raise FrozenInstanceError(f"cannot delete field {name!r}")
            object.__delattr__(self, name)

        cls.__hash__ = __hash__  # type: ignore[assignment,method-assign]
        cls.__setattr__ = __setattr__  # type: ignore[assignment,method-assign]
        cls.__delattr__ = __delattr__  # type: ignore[assignment,method-assign]
    else:
        cls.__hash__ = None  # type: ignore[assignment]  # as a dataclass with eq and not frozen
    for method in (__init__, __repr__, __eq__):
        method.__qualname__ = f"{qualname}.{method.__name__}"
        method.__module__ = cls.__module__
    cls.__match_args__ = fields  # type: ignore[attr-defined]
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    return cls


def fields_of(obj: Any) -> tuple[str, ...]:
    """The field names of a record (class or instance), in order."""
    return obj.__record_fields__


def replace(obj: T, **changes: Any) -> T:
    """As ``dataclasses.replace``: a new record with ``changes`` over ``obj``'s fields."""
    names = fields_of(obj)
    for name in changes:
        if name not in names:
            raise TypeError(f"{type(obj).__qualname__}.__init__() got an unexpected keyword argument {name!r}")
    return type(obj)(**{n: changes[n] if n in changes else getattr(obj, n) for n in names})


__all__ = ["record", "field", "replace", "fields_of"]

