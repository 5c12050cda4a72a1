"""Sizes, durations and timestamps for people, written and read the way Docker does.

Output matches docker/go-units (``HumanSize``, ``BytesSize``, ``HumanDuration``) so that
``hull images`` and ``hull ps`` columns read like Docker's; input parsing matches the
Docker CLI's flags (``--memory 512m``, ``--since 10m``, ``-t 10``).
"""

from __future__ import annotations

import re
import time

from hull.errors import InvalidArgument

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?")
_SIZE_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def _scaled(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 3) -> str:
    """Decimal size with ``precision`` significant digits: ``"1.23kB"``, ``"5.57MB"``.

    Docker shows image and container sizes with 3 digits (go-units'
    HumanSizeWithPrecision(size, 3)); go-units' plain HumanSize uses 4.
    """
    value, unit = _scaled(float(size), 1000.0, _DECIMAL_UNITS)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    """Binary size with 4 significant digits: ``"1.5MiB"`` (memory limits, stats)."""
    value, unit = _scaled(float(size), 1024.0, _BINARY_UNITS)
    return f"{value:.4g}{unit}"


def human_duration(seconds: float) -> str:
    """An approximate duration like go-units' HumanDuration: ``"About an hour"``."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def since(when: float | str, now: float | None = None) -> str:
    """``"5 minutes ago"`` for a Unix time or an RFC 3339 timestamp."""
    ts = when if isinstance(when, int | float) else parse_rfc3339(when)
    current = time.time() if now is None else now
    return human_duration(current - ts) + " ago"


def parse_size(text: str, binary: bool = True) -> int:
    """Bytes in ``"12m"``, ``"1.5g"``, ``"512KiB"``, ``"100"`` (b, k, m, g, t, p).

    Binary multiples by default, as Docker reads ``--memory`` and ``--shm-size``
    (go-units' RAMInBytes); ``binary=False`` gives decimal ones (FromHumanSize).
    """
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise InvalidArgument(f"invalid size: '{text}'")
    value = float(match.group(1))
    unit = (match.group(2) or "").lower()
    if unit:
        value *= (1024 if binary else 1000) ** _SIZE_POWERS[unit]
    return int(value)


_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
    "s": 1.0, "m": 60.0, "h": 3600.0,
}
_DURATION_PART_RE = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration such as ``"10m"``, ``"1h30m"``, ``"1.5s"``, ``"-2h"``.

    Errors use Go's time.ParseDuration wording.
    """
    rest = text
    sign = 1.0
    if rest[:1] in ("-", "+"):
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise InvalidArgument(f'time: invalid duration "{text}"')
    total = 0.0
    while rest:
        match = _DURATION_PART_RE.match(rest)
        assert match is not None  # every group is optional
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise InvalidArgument(f'time: invalid duration "{text}"')
        if not unit:
            raise InvalidArgument(f'time: missing unit in duration "{text}"')
        if unit not in _DURATION_UNITS:
            # a unit runs until the next digit or dot, like Go's parser
            raise InvalidArgument(f'time: unknown unit "{unit}" in duration "{text}"')
        number = float(f"{whole or '0'}.{frac or '0'}")
        total += number * _DURATION_UNITS[unit]
        rest = rest[match.end():]
    return sign * total


_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?"
    r"([Zz]|[+-]\d{2}:\d{2})?"
)
_UNIX_RE = re.compile(r"(\d+)(?:\.(\d{1,9}))?")


def parse_rfc3339(text: str, local_offset: float | None = None) -> float:
    """Unix time of an RFC 3339 timestamp, or of a shortened one Docker accepts.

    Accepted: ``2024-01-02``, ``2024-01-02T15``, ``2024-01-02T15:04``,
    ``2024-01-02T15:04:05[.nnn]``, each with an optional ``Z`` or ``+07:00`` zone; without a
    zone the time is local (``local_offset`` seconds east of UTC, default: this host's).
    """
    match = _RFC3339_RE.fullmatch(text)
    if match is None:
        raise InvalidArgument(f'cannot parse "{text}" as an RFC 3339 timestamp')
    year, month, day, hour, minute, second, frac, zone = match.groups()
    import calendar

    try:
        fields = (int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                  int(second or 0))
        if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= calendar.monthrange(
                fields[0], fields[1])[1] and fields[3] < 24 and fields[4] < 60
                and fields[5] < 60):
            raise ValueError
    except ValueError:
        raise InvalidArgument(f'parsing time "{text}": value out of range')
    seconds = calendar.timegm((*fields, 0, 0, 0)) + (float("0." + frac) if frac else 0.0)
    if zone is None:
        offset = _local_offset(seconds) if local_offset is None else local_offset
    elif zone in ("Z", "z"):
        offset = 0.0
    else:
        hours, minutes = zone[1:].split(":")
        offset = (int(hours) * 3600 + int(minutes) * 60) * (-1 if zone[0] == "-" else 1)
    return seconds - offset


def _local_offset(utc_seconds: float) -> float:
    """Seconds east of UTC of this host's zone around ``utc_seconds``."""
    return float(time.localtime(utc_seconds).tm_gmtoff)


def parse_timestamp(text: str, now: float | None = None) -> float:
    """Unix time for ``--since``/``--until``: a duration back from ``now`` (``10m``),
    an RFC 3339 timestamp (full or shortened), or Unix seconds (``1700000000.5``).

    Like Docker's GetTimestamp: durations first (except ``"0"``), then timestamps.
    """
    current = time.time() if now is None else now
    if text != "0":
        try:
            return current - parse_duration(text)
        except InvalidArgument:
            pass
    if "-" in text[1:] or "T" in text:
        return parse_rfc3339(text)
    match = _UNIX_RE.fullmatch(text)
    if match is None:
        raise InvalidArgument(f'failed to parse value as time or duration: "{text}"')
    return int(match.group(1)) + (float("0." + match.group(2)) if match.group(2) else 0.0)


def format_rfc3339(ts: float, nanos: bool = False) -> str:
    """``2024-01-02T15:04:05Z`` (UTC), optionally with up to 9 fractional digits like Go."""
    whole = int(ts // 1)
    out = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    if nanos:
        frac = f"{ts - whole:.9f}"[2:].rstrip("0")
        if frac:
            out += "." + frac
    return out + "Z"
