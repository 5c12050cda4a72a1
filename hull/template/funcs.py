"""Template functions: Go's builtins and the ones Docker's CLI adds.

Each function is described by a :class:`Func` so the executor can check argument
counts and types before calling, with Go's messages ("wrong number of args for join:
want 2 got 1", "expected string; found 5").
"""

from __future__ import annotations

from collections.abc import Callable

from hull.template.gofmt import MISSING, format_value, go_type, sprint, sprintf, sprintln


class Func:
    """A callable plus what Go's reflection would know about it."""

    __slots__ = ("builtin", "fn", "max_args", "min_args", "params")

    def __init__(self, fn: Callable[..., object], params: tuple[str, ...] | None = None,
                 variadic: bool = False, builtin: bool = False) -> None:
        self.fn = fn
        self.params = params
        self.builtin = builtin
        if params is None:
            self.min_args: int | None = None
            self.max_args: int | None = None
        elif variadic:
            self.min_args, self.max_args = len(params) - 1, None
        else:
            self.min_args = self.max_args = len(params)

    def param_type(self, index: int) -> str | None:
        """Go type of parameter ``index`` ("string", "int", "[]string"), None for any."""
        if not self.params:
            return None
        wanted = self.params[min(index, len(self.params) - 1)]
        return None if wanted == "any" else wanted


class FuncError(Exception):
    """A function failed; reported as ``error calling NAME: MESSAGE``."""


# ---------------------------------------------------------------------------------------
# Go builtins

def _not(value: object) -> bool:
    from hull.template.exec import truth

    return not truth(value)


def _len(value: object) -> int:
    if value is None:
        raise FuncError("len of nil pointer")
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | tuple | dict | bytes | bytearray | set | frozenset):
        return len(value)
    if hasattr(value, "__len__") and not isinstance(value, int | float | bool):
        return len(value)  # type: ignore[arg-type]
    raise FuncError(f"len of type {go_type(value)}")


def _index_arg(index: object, cap: int) -> int:
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise FuncError(f"cannot index slice/array with type {go_type(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {index}")
    return index


def _index(item: object, *indexes: object) -> object:
    if item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if item is None or item is MISSING:
            raise FuncError("index of nil pointer")
        if isinstance(item, list | tuple | str | bytes):
            sequence = item.encode() if isinstance(item, str) else item
            position = _index_arg(index, len(sequence))
            if position >= len(sequence):
                kind = "string" if isinstance(item, str) else "slice"
                raise FuncError(f"reflect: {kind} index out of range")
            item = sequence[position]
        elif isinstance(item, dict):
            if isinstance(index, bool | int | float) and item and all(
                    isinstance(k, str) for k in item):
                raise FuncError(f"value has type {go_type(index)}; should be string")
            item = item.get(index, MISSING)
        elif hasattr(item, "keys") and hasattr(item, "__getitem__"):
            try:
                item = item[index]  # type: ignore[index]
            except KeyError:
                item = MISSING
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: object, *indexes: object) -> object:
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data = item.encode()
    elif isinstance(item, list | tuple):
        data = item  # type: ignore[assignment]
    else:
        raise FuncError(f"can't slice item of type {go_type(item)}")
    bounds = [0, len(data), len(data)]
    for i, index in enumerate(indexes):
        bounds[i] = _index_arg(index, len(data))
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if len(indexes) == 3 and bounds[1] > bounds[2]:
        raise FuncError(f"invalid slice index: {bounds[1]} > {bounds[2]}")
    part = data[bounds[0]:bounds[1]]
    return part.decode("utf-8", errors="replace") if isinstance(item, str) else part


_INT, _FLOAT, _STRING, _BOOL, _OTHER, _NIL = range(6)


def _kind(value: object) -> int:
    if value is None or value is MISSING:
        return _NIL
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return _FLOAT
    if isinstance(value, str):
        return _STRING
    return _OTHER


def _eq(first: object, *others: object) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    k1 = _kind(first)
    for other in others:
        k2 = _kind(other)
        if k1 != k2:
            if k1 != _NIL and k2 != _NIL:
                raise FuncError("incompatible types for comparison")
            continue
        if k1 == _OTHER and (isinstance(first, list | dict) or isinstance(other, list | dict)):
            raise FuncError(f"non-comparable type {format_value(other)}: {go_type(other)}")
        if k1 == _NIL or first == other:
            return True
    return False


def _ne(first: object, second: object) -> bool:
    return not _eq(first, second)


def _lt(first: object, second: object) -> bool:
    k1, k2 = _kind(first), _kind(second)
    if k1 in (_OTHER, _NIL) or k2 in (_OTHER, _NIL):
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 == _BOOL:
        raise FuncError("invalid type for comparison")
    return first < second  # type: ignore[operator]


def _le(first: object, second: object) -> bool:
    return _lt(first, second) or _eq(first, second)


def _gt(first: object, second: object) -> bool:
    return not _le(first, second)


def _ge(first: object, second: object) -> bool:
    return not _lt(first, second)


def _eval_args(args: tuple[object, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(list(args))


_HTML_ESCAPES = {"\0": "\ufffd", '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;",
                 ">": "&gt;"}


def _html(*args: object) -> str:
    return "".join(_HTML_ESCAPES.get(c, c) for c in _eval_args(args))


def _js_char(c: str) -> str:
    if c in "\\'\"":
        return "\\" + c
    if c in "<>&=" or ord(c) < 0x20 or not c.isprintable():
        return f"\\u{ord(c):04X}"
    return c


def _js(*args: object) -> str:
    return "".join(_js_char(c) for c in _eval_args(args))


_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _urlquery(*args: object) -> str:
    out = []
    for byte in _eval_args(args).encode():
        ch = chr(byte)
        if ch in _URL_SAFE:
            out.append(ch)
        elif ch == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _call(fn: object, *args: object) -> object:
    if fn is None:
        raise FuncError("call of nil")
    if not callable(fn):
        raise FuncError(f"non-function {format_value(fn)} of type {go_type(fn)}")
    return fn(*args)


def _printf(fmt: str, *args: object) -> str:
    return sprintf(fmt, list(args))


def _print(*args: object) -> str:
    return sprint(list(args))


def _println(*args: object) -> str:
    return sprintln(list(args))


def _and(*args: object) -> object:  # evaluated lazily by the executor
    raise AssertionError("and is evaluated by the executor")


# ---------------------------------------------------------------------------------------
# Docker's functions (docker/cli templates.basicFunctions)

def _json(value: object) -> str:
    from hull.template.gojson import dumps

    try:
        return dumps(value)
    except ValueError:
        return ""


def _split(text: str, sep: str) -> list[str]:
    if sep == "":
        return list(text)
    return text.split(sep)


def _join(items: list, sep: str) -> str:
    return sep.join(v if isinstance(v, str) else sprint([v]) for v in items)


def _title(text: str) -> str:
    """strings.Title: upper-case the first letter of each word, leave the rest alone."""
    out = []
    previous = " "
    for ch in text:
        separator = not (previous.isalnum() or previous == "_") if previous.isascii() else (
            previous.isspace())
        out.append(ch.upper() if separator else ch)
        previous = ch
    return "".join(out)


def _pad(text: str, prefix: int, suffix: int) -> str:
    if text == "":
        return text
    return " " * prefix + text + " " * suffix


def _truncate(text: str, length: int) -> str:
    data = text.encode()
    if len(data) < length:
        return text
    return data[:max(length, 0)].decode("utf-8", errors="ignore")


def _lower(text: str) -> str:
    """strings.ToLower: rune by rune, so no character turns into two."""
    if text.isascii():
        return text.lower()
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _upper(text: str) -> str:
    """strings.ToUpper: rune by rune, so "ß" stays "ß" rather than becoming "SS"."""
    if text.isascii():
        return text.upper()
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


BUILTINS: dict[str, Func] = {
    "and": Func(_and, ("any", "any"), variadic=True, builtin=True),
    "or": Func(_and, ("any", "any"), variadic=True, builtin=True),
    "not": Func(_not, ("any",), builtin=True),
    "len": Func(_len, ("any",), builtin=True),
    "index": Func(_index, ("any", "any"), variadic=True, builtin=True),
    "slice": Func(_slice, ("any", "any"), variadic=True, builtin=True),
    "eq": Func(_eq, ("any", "any"), variadic=True, builtin=True),
    "ne": Func(_ne, ("any", "any"), builtin=True),
    "lt": Func(_lt, ("any", "any"), builtin=True),
    "le": Func(_le, ("any", "any"), builtin=True),
    "gt": Func(_gt, ("any", "any"), builtin=True),
    "ge": Func(_ge, ("any", "any"), builtin=True),
    "print": Func(_print, ("any",), variadic=True, builtin=True),
    "printf": Func(_printf, ("string", "any"), variadic=True, builtin=True),
    "println": Func(_println, ("any",), variadic=True, builtin=True),
    "html": Func(_html, ("any",), variadic=True, builtin=True),
    "js": Func(_js, ("any",), variadic=True, builtin=True),
    "urlquery": Func(_urlquery, ("any",), variadic=True, builtin=True),
    "call": Func(_call, ("any", "any"), variadic=True, builtin=True),
}

DOCKER_FUNCS: dict[str, Func] = {
    "json": Func(_json, ("any",)),
    "split": Func(_split, ("string", "string")),
    "join": Func(_join, ("[]string", "string")),
    "title": Func(_title, ("string",)),
    "lower": Func(_lower, ("string",)),
    "upper": Func(_upper, ("string",)),
    "pad": Func(_pad, ("string", "int", "int")),
    "truncate": Func(_truncate, ("string", "int")),
}

DEFAULT_FUNCS: dict[str, Func] = {**BUILTINS, **DOCKER_FUNCS}


def make_funcs(extra: dict[str, Callable[..., object]] | None) -> dict[str, Func]:
    """The function table for a template: builtins, Docker's, then the caller's."""
    if not extra:
        return DEFAULT_FUNCS
    table = dict(DEFAULT_FUNCS)
    for name, fn in extra.items():
        table[name] = fn if isinstance(fn, Func) else Func(fn)
    return table


