"""Record classes declared like dataclasses, at a fraction of the start-up cost.

``import dataclasses`` pulls in :mod:`inspect` (and with it ast, dis and tokenize), and every
``@dataclass`` compiles generated source for its methods: together about 15 ms of a
``hull run`` that should take well under 100.  :func:`record` reads the same class body
(annotated fields, defaults, :func:`field` with ``default_factory``) and gives the class one
shared ``__init__``, ``__repr__`` and ``__eq__`` (plus ``__hash__`` and immutability with
``frozen=True``) without compiling anything.  Type checkers see :mod:`dataclasses` itself.

Not supported, because nothing here needs them: ordering,
``InitVar``, keyword-only fields and ``__post_init__``.
"""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    from dataclasses import asdict, field, fields, replace
    from dataclasses import dataclass as record
else:
    _MISSING = object()

    class FrozenInstanceError(AttributeError):
        """Assignment to a field of a frozen record."""

    class _Field:
        __slots__ = ("default", "factory", "name")

        def __init__(self, default: object = _MISSING, factory: object = _MISSING) -> None:
            self.name = ""
            self.default = default
            self.factory = factory

    def field(*, default: object = _MISSING, default_factory: object = _MISSING) -> object:
        """A field's default, or the zero-argument callable that makes a fresh one."""
        return _Field(default, default_factory)

    def record(cls: type | None = None, *, frozen: bool = False, slots: bool = False):
        """Class decorator: ``@record`` or ``@record(frozen=True)``.  ``slots`` is accepted
        for dataclass compatibility; instances keep a ``__dict__``."""

        def wrap(cls: type) -> type:
            return _make_record(cls, frozen)

        return wrap if cls is None else wrap(cls)

    def _make_record(cls: type, frozen: bool) -> type:
        inherited: dict[str, _Field] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update((s.name, s) for s in getattr(base, "__record_fields__", ()))
        specs: list[_Field] = []
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, _MISSING)
            spec = value if isinstance(value, _Field) else _Field(default=value)
            spec.name = name
            if isinstance(value, _Field):
                if spec.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
            inherited.pop(name, None)
            specs.append(spec)
        cls.__record_fields__ = (*inherited.values(), *specs)
        cls.__init__ = _init
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = _repr
        if "__eq__" not in cls.__dict__:
            cls.__eq__ = _eq
        if frozen:
            cls.__setattr__ = _frozen_setattr
            cls.__delattr__ = _frozen_delattr
            if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
                cls.__hash__ = _hash
        elif "__hash__" not in cls.__dict__:
            cls.__hash__ = None  # mutable and compared by value: unhashable, like a dataclass
        return cls

    def _init(self, *args: object, **kwargs: object) -> None:
        specs = type(self).__record_fields__
        name = type(self).__name__
        if len(args) > len(specs):
            raise TypeError(f"{name}() takes {len(specs)} positional arguments but {len(args)}"
                            " were given")
        put = object.__setattr__
        for i, spec in enumerate(specs):
            if i < len(args):
                if spec.name in kwargs:
                    raise TypeError(f"{name}() got multiple values for argument {spec.name!r}")
                value = args[i]
            elif spec.name in kwargs:
                value = kwargs.pop(spec.name)
            elif spec.factory is not _MISSING:
                value = spec.factory()
            elif spec.default is not _MISSING:
                value = spec.default
            else:
                raise TypeError(f"{name}() missing required argument: {spec.name!r}")
            put(self, spec.name, value)
        if kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}")

    def _values(obj: object) -> tuple[object, ...]:
        return tuple(getattr(obj, s.name) for s in type(obj).__record_fields__)

    def _repr(self: object) -> str:
        inner = ", ".join(f"{s.name}={getattr(self, s.name)!r}"
                          for s in type(self).__record_fields__)
        return f"{type(self).__qualname__}({inner})"

    def _eq(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _values(self) == _values(other)

    def _hash(self: object) -> int:
        return hash(_values(self))

    def _frozen_setattr(self: object, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def _frozen_delattr(self: object, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def fields(obj: object) -> tuple[_Field, ...]:
        """The fields of a record class or instance (each has ``.name``)."""
        return (obj if isinstance(obj, type) else type(obj)).__record_fields__

    def asdict(obj: object) -> dict[str, object]:
        """Field name -> value, recursing into records, lists, tuples and dicts."""
        return {s.name: _plain(getattr(obj, s.name)) for s in type(obj).__record_fields__}

    def _plain(value: object) -> object:
        if hasattr(type(value), "__record_fields__"):
            return asdict(value)
        if isinstance(value, list | tuple):
            return type(value)(_plain(v) for v in value)
        if isinstance(value, dict):
            return {k: _plain(v) for k, v in value.items()}
        return value

    def replace(obj: object, **changes: object) -> object:
        """A copy of ``obj`` with ``changes`` applied (the record is built anew)."""
        values = {s.name: getattr(obj, s.name) for s in type(obj).__record_fields__}
        values.update(changes)
        return type(obj)(**values)

__all__ = ["asdict", "field", "fields", "record", "replace"]
