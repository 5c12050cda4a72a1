"""JSON the way Go's encoding/json writes it, for the ``json`` template function.

Compact, no spaces; floats in Go's shortest form (``1``, ``1.5``, ``1e+21``); control
characters, U+2028 and U+2029 escaped like Go. Docker's ``json`` function turns off
HTML escaping, so ``<``, ``>`` and ``&`` stay as they are unless ``escape_html`` is set
(what plain ``json.Marshal`` does). Dict keys keep their order: dicts here stand for
Go structs, whose fields marshal in declaration order.
"""

from __future__ import annotations

import re

from hull.template.gofmt import MISSING, format_float_json

_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\u2028\u2029\ud800-\udfff]')
_NEEDS_ESCAPE_HTML = re.compile(r'[\x00-\x1f"\\<>&\u2028\u2029\ud800-\udfff]')
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
          "\f": "\\f"}


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    short = _SHORT.get(ch)
    if short:
        return short
    if "\ud800" <= ch <= "\udfff":
        return "\ufffd"
    return f"\\u{ord(ch):04x}"


def encode_string(text: str, escape_html: bool = False) -> str:
    pattern = _NEEDS_ESCAPE_HTML if escape_html else _NEEDS_ESCAPE
    return '"' + pattern.sub(_escape_char, text) + '"'


def to_jsonable(value: object) -> object:
    """Plain data for an object: its ``__json__()``, record or dataclass fields, or public
    attributes."""
    hook = getattr(value, "__json__", None)
    if callable(hook):
        return hook()
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return {name: getattr(value, name) for name in fields}
    specs = getattr(type(value), "__record_fields__", None)  # hull.record
    if specs is not None:
        return {spec.name: getattr(value, spec.name) for spec in specs}
    attrs = getattr(value, "__dict__", None)
    if attrs is not None:
        return {k: v for k, v in attrs.items() if not k.startswith("_")}
    return str(value)


def dumps(value: object, escape_html: bool = False) -> str:
    """Encode ``value`` as compact JSON; ValueError for NaN or infinity, like Go."""
    out: list[str] = []
    _encode(value, out, escape_html, 0)
    return "".join(out)


def _encode(value: object, out: list[str], escape_html: bool, depth: int) -> None:
    if depth > 200:
        raise ValueError("json: unsupported value: encountered a cycle")
    if value is None or value is MISSING:
        out.append("null")
    elif isinstance(value, str):
        out.append(encode_string(value, escape_html))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_float_json(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(encode_string(key if isinstance(key, str) else _key(key), escape_html))
            out.append(":")
            _encode(item, out, escape_html, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, escape_html, depth + 1)
        out.append("]")
    elif isinstance(value, bytes | bytearray):
        import base64

        out.append('"' + base64.b64encode(value).decode() + '"')
    else:
        _encode(to_jsonable(value), out, escape_html, depth + 1)


def _key(key: object) -> str:
    if isinstance(key, bool) or key is None:
        raise ValueError(f"json: unsupported map key {key!r}")
    return str(key)
