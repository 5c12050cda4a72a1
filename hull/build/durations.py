"""Go ``time.Duration`` text: parsing ``--interval=1m30s`` and printing like Go.

HEALTHCHECK durations are stored in nanoseconds (the image config's unit) and shown
in ``docker history`` with Go's formatting, so both directions must match Go.
"""

from __future__ import annotations

import re

from hull.errors import InvalidArgument

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")
_MAX = (1 << 63) - 1


def parse_duration(text: str) -> int:
    """Nanoseconds in a Go duration string (``300ms``, ``-1.5h``, ``2h45m``)."""
    original = text
    error = InvalidArgument(f'time: invalid duration "{original}"')
    sign = 1
    if text[:1] in ("-", "+"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise error
    total = 0.0
    exact = 0
    while text:
        match = _PART.match(text)
        if not match or not match.group(1) or match.group(1) == ".":
            raise error
        number, unit = match.group(1), match.group(2)
        if not unit:
            raise InvalidArgument(f'time: missing unit in duration "{original}"')
        if unit not in _UNITS:
            raise InvalidArgument(f'time: unknown unit "{unit}" in duration "{original}"')
        whole, _, frac = number.partition(".")
        scale = _UNITS[unit]
        exact += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale / (10 ** len(frac))
        text = text[match.end():]
    nanos = exact + int(total)
    if nanos > _MAX:
        raise error
    return sign * nanos


def _format_fraction(value: int, precision: int) -> tuple[str, int]:
    """Go's fmtFrac: drop trailing zeros of the fractional digits."""
    digits = []
    printed = False
    for _ in range(precision):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        value //= 10
    text = ("." + "".join(reversed(digits))) if printed else ""
    return text, value


def format_duration(nanos: int) -> str:
    """``time.Duration.String()``: ``1h2m3.5s``, ``1.5ms``, ``0s``."""
    if nanos == 0:
        return "0s"
    negative = nanos < 0
    u = -nanos if negative else nanos
    if u < 1_000_000_000:
        if u < 1_000:
            text = f"{u}ns"
        elif u < 1_000_000:
            frac, whole = _format_fraction(u, 3)
            text = f"{whole}{frac}\u00b5s"
        else:
            frac, whole = _format_fraction(u, 6)
            text = f"{whole}{frac}ms"
    else:
        frac, secs = _format_fraction(u, 9)
        text = f"{secs % 60}{frac}s"
        minutes = secs // 60
        if minutes > 0:
            text = f"{minutes % 60}m" + text
            hours = minutes // 60
            if hours > 0:
                text = f"{hours}h" + text
    return "-" + text if negative else text
