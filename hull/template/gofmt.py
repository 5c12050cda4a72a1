"""Go's fmt for Python values: how templates print values, and ``printf``'s verbs.

Users copy format strings from Docker's documentation, so values must print as Go
prints them: ``<nil>``, ``[a b]``, ``map[k:v]``, ``1.5e+08``, ``%!d(string=x)``.
Python values stand in for Go's: None is nil, list/tuple a slice, dict a map,
int an int, float a float64.
"""

from __future__ import annotations

import math


class _Missing:
    """Go's invalid value: what a missing map key evaluates to; prints ``<no value>``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


def go_type(value: object) -> str:
    """The Go type name a value would have, for messages like ``%!d(string=x)``."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        # Docker's data is typed: a list of strings is most likely a []string
        if value and all(isinstance(v, str) for v in value):
            return "[]string"
        return "[]interface {}"
    if isinstance(value, dict):
        if value and all(isinstance(v, str) for v in value.values()):
            return "map[string]string"
        return "map[string]interface {}"
    if isinstance(value, bytes | bytearray):
        return "[]uint8"
    return type(value).__name__


def sort_keys(mapping: dict) -> list:
    """Map keys in Go's printing order: sorted (by type, then value, when types are mixed)."""
    try:
        return sorted(mapping)
    except TypeError:
        return sorted(mapping, key=lambda k: (type(k).__name__, str(k)))


# ---------------------------------------------------------------------------------------
# floats

def shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(value) and where the decimal point goes.

    ``123.5`` -> ("1235", 3); ``0.001`` -> ("1", -2); ``0.0`` -> ("", 0).
    """
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    raw = whole + frac
    digits = raw.lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0) - (len(raw) - len(digits))
    digits = digits.rstrip("0")
    return (digits, point) if digits else ("", 0)


def _exp_suffix(exponent: int, upper: bool) -> str:
    return ("E" if upper else "e") + ("-" if exponent < 0 else "+") + f"{abs(exponent):02d}"


def _fixed(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _special_float(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def format_float_v(value: float, upper: bool = False) -> str:
    """Go's ``%v`` (and precision-less ``%g``) of a float64: the shortest digits that
    round-trip, in exponent form when the decimal exponent is < -4 or >= 6 (Go uses
    precision 6 for that decision): ``123456``, ``1.234567e+06``, ``1e-05``."""
    special = _special_float(value)
    if special:
        return special
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = shortest_digits(value)
    if not digits:
        return sign + "0"
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return sign + mantissa + _exp_suffix(exponent, upper)
    return sign + _fixed(digits, point)


def format_float_json(value: float) -> str:
    """encoding/json's float64: plain decimal unless tiny (< 1e-6) or huge (>= 1e21)."""
    special = _special_float(value)
    if special:
        raise ValueError(f"json: unsupported value: {special}")
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = shortest_digits(value)
    if not digits:
        return sign + "0"
    magnitude = abs(value)
    if magnitude < 1e-6 or magnitude >= 1e21:
        exponent = point - 1
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent)}"
    return sign + _fixed(digits, point)


# ---------------------------------------------------------------------------------------
# %v

def format_value(value: object) -> str:
    """Go's ``fmt.Sprint`` of one value (the ``%v`` verb)."""
    if value is None:
        return "<nil>"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_v(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(
            f"{format_value(k)}:{format_value(value[k])}" for k in sort_keys(value)) + "]"
    if value is MISSING:
        return "<no value>"
    if isinstance(value, bytes | bytearray):
        return "[" + " ".join(str(b) for b in value) + "]"
    return str(value)


def sprint(args: list) -> str:
    """Go's ``fmt.Sprint``: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(format_value(None if arg is MISSING else arg))
    return "".join(out)


def sprintln(args: list) -> str:
    """Go's ``fmt.Sprintln``: spaces between all operands and a newline."""
    return " ".join(format_value(None if a is MISSING else a) for a in args) + "\n"


# ---------------------------------------------------------------------------------------
# quoting

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\"}


def quote(text: str, ascii_only: bool = False, quote_char: str = '"') -> str:
    """Go's strconv.Quote (``%q``): printable characters kept, others escaped."""
    out = [quote_char]
    for ch in text:
        if ch == quote_char:
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() and (ord(ch) < 0x80 or not ascii_only):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append(quote_char)
    return "".join(out)


def _quote_backquote(text: str) -> str | None:
    if "`" in text or any(not c.isprintable() and c != "\t" for c in text):
        return None
    return f"`{text}`"


# ---------------------------------------------------------------------------------------
# printf

class _Spec:
    """One parsed ``%[flags][width][.precision]verb``."""

    __slots__ = ("minus", "plus", "precision", "sharp", "space", "verb", "width", "zero")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width: int | None = None
        self.precision: int | None = None
        self.verb = "v"


def _bad(spec: _Spec, value: object) -> str:
    if value is None or value is MISSING:
        return f"%!{spec.verb}(<nil>)"
    return f"%!{spec.verb}({go_type(value)}={format_value(value)})"


def _pad(text: str, spec: _Spec, numeric: bool = False) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero:
        if numeric and text[:1] in "+- ":
            return text[0] + "0" * fill + text[1:]
        return "0" * fill + text
    return " " * fill + text


def _sign(negative: bool, spec: _Spec) -> str:
    if negative:
        return "-"
    return "+" if spec.plus else (" " if spec.space else "")


def _format_int(value: int, spec: _Spec) -> str:
    verb = spec.verb
    if verb == "c":
        return _pad(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        return _pad(quote(chr(value), spec.plus, "'") if 0 <= value <= 0x10FFFF else "'\ufffd'",
                    spec)
    if verb == "U":
        text = f"U+{value:04X}"
        if spec.sharp and 0 <= value <= 0x10FFFF and chr(value).isprintable():
            text += f" '{chr(value)}'"
        return _pad(text, spec)
    base_digits = {"d": "d", "v": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}
    if verb not in base_digits:
        return _bad(spec, value)
    digits = format(abs(value), base_digits[verb])
    if spec.precision is not None:
        digits = digits.rjust(spec.precision, "0") if spec.precision else digits.lstrip("0")
    prefix = ""
    if verb == "O":
        prefix = "0o"
    elif spec.sharp:
        prefix = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb, "")
        if verb == "o" and digits.startswith("0"):
            prefix = ""
    text = _sign(value < 0, spec) + prefix + digits
    return _pad(text, spec, numeric=spec.precision is None)


def _format_float(value: float, spec: _Spec) -> str:
    verb = spec.verb
    if verb not in "vfFeEgG":
        return _bad(spec, value)
    special = _special_float(value)
    if special:
        text = special
        if special != "NaN" and not spec.plus and value > 0:
            text = "Inf"
        elif special == "NaN" and spec.plus:
            text = "+NaN"
        saved_zero, spec.zero = spec.zero, False
        out = _pad(text, spec)
        spec.zero = saved_zero
        return out
    negative = math.copysign(1.0, value) < 0
    magnitude = abs(value)
    if verb in "vgG" and spec.precision is None:
        text = format_float_v(magnitude, upper=verb == "G")
    else:
        py_verb = {"v": "g", "F": "f"}.get(verb, verb)
        precision = 6 if spec.precision is None else spec.precision
        text = format(magnitude, f"{'#' if spec.sharp else ''}.{precision}{py_verb}")
        if py_verb in "gG" and "e" in text.lower():
            mantissa, _, exponent = text.partition("e" if py_verb == "g" else "E")
            text = mantissa + _exp_suffix(int(exponent), py_verb == "G")
    return _pad(_sign(negative, spec) + text, spec, numeric=True)


def _format_str(value: str, spec: _Spec) -> str:
    verb = spec.verb
    if spec.precision is not None and verb in "svq":
        value = value[:spec.precision]
    if verb in "sv":
        return _pad(value, spec)
    if verb == "q":
        text = _quote_backquote(value) if spec.sharp else None
        return _pad(text or quote(value, spec.plus), spec)
    if verb in "xX":
        data = value.encode()
        if spec.precision is not None:
            data = data[:spec.precision]
        hexed = [format(b, "02x" if verb == "x" else "02X") for b in data]
        prefix = ("0x" if verb == "x" else "0X") if spec.sharp else ""
        if spec.space:
            return _pad(" ".join(prefix + h for h in hexed), spec)
        return _pad(prefix + "".join(hexed), spec)
    return _bad(spec, value)


def format_one(value: object, spec: _Spec) -> str:
    """Format one printf operand with one verb, Go style."""
    if value is MISSING:
        value = None
    verb = spec.verb
    if verb == "T":
        return _pad(go_type(value) if value is not None else "<nil>", spec)
    if value is None:
        return _pad("<nil>", spec) if verb == "v" else _bad(spec, value)
    if isinstance(value, bool):
        if verb in "vt":
            return _pad("true" if value else "false", spec)
        return _bad(spec, value)
    if isinstance(value, int):
        return _format_int(value, spec)
    if isinstance(value, float):
        return _format_float(value, spec)
    if isinstance(value, str):
        if verb == "v" and spec.sharp:
            return _pad(quote(value), spec)
        return _format_str(value, spec)
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_one(v, spec) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(
            f"{format_one(k, spec)}:{format_one(value[k], spec)}" for k in sort_keys(value)) + "]"
    if verb in "sv":
        return _format_str(str(value), spec)
    return _bad(spec, value)


def _parse_number(fmt: str, i: int) -> tuple[int | None, int]:
    start = i
    while i < len(fmt) and fmt[i].isdigit():
        i += 1
    return (int(fmt[start:i]) if i > start else None), i


def _arg_number(fmt: str, i: int, count: int) -> tuple[int | None, int, bool]:
    """An explicit ``[n]`` argument index at ``i``: (0-based index or None, new i, ok)."""
    if i >= len(fmt) or fmt[i] != "[":
        return None, i, True
    close = fmt.find("]", i)
    if close < 0 or not fmt[i + 1:close].isdigit():
        return None, (close + 1 if close > 0 else len(fmt)), False
    number = int(fmt[i + 1:close])
    return number - 1, close + 1, 1 <= number <= count


def sprintf(fmt: str, args: list) -> str:
    """Go's ``fmt.Sprintf`` over Python values, including its in-band error notes."""
    out: list[str] = []
    arg_index = 0
    reordered = False
    i = 0
    n = len(fmt)
    while i < n:
        pct = fmt.find("%", i)
        if pct < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:pct])
        i = pct + 1
        spec = _Spec()
        while i < n and fmt[i] in "+-# 0":
            ch = fmt[i]
            spec.plus |= ch == "+"
            spec.minus |= ch == "-"
            spec.sharp |= ch == "#"
            spec.space |= ch == " "
            spec.zero |= ch == "0"
            i += 1
        good_index = True
        explicit, i, ok = _arg_number(fmt, i, len(args))
        if explicit is not None or not ok:
            reordered = True
            good_index &= ok
            arg_index = explicit if explicit is not None else arg_index
        if i < n and fmt[i] == "*":
            i += 1
            if arg_index < len(args) and isinstance(args[arg_index], int):
                spec.width = args[arg_index]
                if spec.width < 0:
                    spec.minus, spec.width = True, -spec.width
            else:
                out.append("%!(BADWIDTH)")
            arg_index += 1
        else:
            spec.width, i = _parse_number(fmt, i)
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if arg_index < len(args) and isinstance(args[arg_index], int):
                    spec.precision = max(args[arg_index], 0)
                else:
                    out.append("%!(BADPREC)")
                arg_index += 1
            else:
                precision, i = _parse_number(fmt, i)
                spec.precision = precision or 0
        explicit, i, ok = _arg_number(fmt, i, len(args))
        if explicit is not None or not ok:
            reordered = True
            good_index &= ok
            arg_index = explicit if explicit is not None else arg_index
        if spec.minus:
            spec.zero = False
        if i >= n:
            out.append("%!(NOVERB)")
            break
        spec.verb = fmt[i]
        i += 1
        if spec.verb == "%":
            out.append("%")
            continue
        if not good_index:
            out.append(f"%!{spec.verb}(BADINDEX)")
            continue
        if arg_index >= len(args):
            out.append(f"%!{spec.verb}(MISSING)")
            continue
        out.append(format_one(args[arg_index], spec))
        arg_index += 1
    if not reordered and arg_index < len(args):
        extra = ", ".join(
            "<nil>" if a is None or a is MISSING else f"{go_type(a)}={format_value(a)}"
            for a in args[arg_index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
