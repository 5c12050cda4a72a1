"""Go ``fmt`` renderings that Docker writes into image history.

``docker history`` shows strings built with Go's ``%q`` and ``%v`` verbs (``CMD
["npm" "start"]``, ``VOLUME [/data]``, ``EXPOSE map[80/tcp:{}]``); reproducing them
byte for byte keeps images built here indistinguishable from Docker's.
"""

from __future__ import annotations

from collections.abc import Iterable

from hull.build.shell_lex import go_quote

__all__ = ["go_quote", "go_quote_list", "go_quote_rune", "go_set_map", "go_value_list"]


def go_quote_list(items: Iterable[str]) -> str:
    """``fmt.Sprintf("%q", []string{...})``: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(item) for item in items) + "]"


def go_value_list(items: Iterable[str]) -> str:
    """``fmt.Sprintf("%v", []string{...})``: ``[a b]``."""
    return "[" + " ".join(items) + "]"


def go_set_map(keys: Iterable[str]) -> str:
    """``%v`` of a ``map[string]struct{}``: keys sorted, ``map[a:{} b:{}]``."""
    return "map[" + " ".join(f"{key}:{{}}" for key in sorted(keys)) + "]"


def go_quote_rune(value: int) -> str:
    """``%q`` of an integer: a quoted character literal (``'\\x03'``, ``'A'``)."""
    if value < 0 or value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return "'\\ufffd'"
    ch = chr(value)
    if ch == "'":
        return "'\\''"
    if ch == "\\":
        return "'\\\\'"
    if ch.isprintable():
        return f"'{ch}'"
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v"}
    if ch in escapes:
        return f"'{escapes[ch]}'"
    if value < 0x80:
        return f"'\\x{value:02x}'"
    if value < 0x10000:
        return f"'\\u{value:04x}'"
    return f"'\\U{value:08x}'"
