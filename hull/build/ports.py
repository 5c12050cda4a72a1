"""``EXPOSE`` port specs (``80``, ``80/udp``, ``8000-8002``) -> ``port/proto`` keys.

Same rules as Docker's ``nat.ParsePortSpecs`` as used by the builder: ranges expand
to one entry per port, the protocol defaults to ``tcp`` and must be tcp, udp or sctp,
and an ``ip:host:container`` mapping exposes only the container port.
"""

from __future__ import annotations

from collections.abc import Iterable

from hull.errors import InvalidArgument

_PROTOCOLS = ("tcp", "udp", "sctp")


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _split_proto(raw: str) -> tuple[str, str]:
    parts = raw.split("/")
    if not raw or not parts[0]:
        return "", ""
    if len(parts) == 1:
        return "tcp", raw
    if not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def _parse_port(text: str) -> int:
    if not text.isdigit() or not text.isascii() or int(text) > 65535:
        raise ValueError(text)
    return int(text)


def parse_port_range(text: str) -> tuple[int, int]:
    """``"8000-8002"`` -> ``(8000, 8002)``; a single port gives the same start and end."""
    if "-" not in text:
        port = _parse_port(text)
        return port, port
    start_text, end_text = text.split("-", 1)
    start, end = _parse_port(start_text), _parse_port(end_text)
    if end < start:
        raise ValueError(text)
    return start, end


def parse_port_spec(raw: str) -> list[str]:
    """The ``port/proto`` keys one EXPOSE word stands for."""
    _ip, host, container = _split_parts(raw)
    proto, container = _split_proto(container)
    if not container:
        raise InvalidArgument(f"no port specified: {raw}<empty>")
    try:
        start, end = parse_port_range(container)
    except ValueError:
        raise InvalidArgument(f"invalid containerPort: {container}") from None
    if host:
        try:
            host_start, host_end = parse_port_range(host)
        except ValueError:
            raise InvalidArgument(f"invalid hostPort: {host}") from None
        if end - start != host_end - host_start:
            raise InvalidArgument(
                f"invalid ranges specified for container and host Ports: {container} and {host}")
    proto = proto.lower()
    if proto not in _PROTOCOLS:
        raise InvalidArgument(f"invalid proto: {proto}")
    return [f"{port}/{proto}" for port in range(start, end + 1)]


def parse_port_specs(words: Iterable[str]) -> list[str]:
    """All exposed ``port/proto`` keys, de-duplicated, in first-seen order."""
    seen: dict[str, None] = {}
    for word in words:
        for key in parse_port_spec(word):
            seen.setdefault(key, None)
    return list(seen)
