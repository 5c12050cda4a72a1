"""Published ports: Docker's ``-p`` grammar, and choosing host ports.

``-p`` forms: ``80``, ``8080:80``, ``127.0.0.1:8080:80``, ``127.0.0.1::80``, ``8080:80/udp``,
``8000-8002:80-82``, ``8000-8010:80`` (first free of the range).  They become Docker's
``ExposedPorts`` and ``PortBindings`` documents; host ports are chosen when the container
starts, and released when it stops.
"""

from __future__ import annotations

import random
import socket
from typing import Any

from hull.errors import InvalidArgument
from hull.record import record

PROTOCOLS = ("tcp", "udp")


def _port_range(text: str, what: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    try:
        first = int(start)
        last = int(end) if sep else first
    except ValueError:
        raise InvalidArgument(f"Invalid {what}: {text}") from None
    if not (0 < first <= 65535 and 0 < last <= 65535) or last < first:
        raise InvalidArgument(f"Invalid {what}: {text}")
    return first, last


def _split_spec(spec: str) -> tuple[str, str, str, str]:
    """(ip, host part, container part, proto)."""
    body, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"Invalid proto: {proto}")
    ip = ""
    if body.startswith("["):
        raise InvalidArgument(f"Invalid ip address: {body.split(']')[0][1:]}: IPv6 publishing"
                              " is not supported")
    parts = body.split(":")
    if len(parts) == 1:
        host, container = "", parts[0]
    elif len(parts) == 2:
        host, container = parts
    elif len(parts) == 3:
        ip, host, container = parts
    else:
        raise InvalidArgument(f"Invalid hostPort: {spec}")
    if ip:
        import ipaddress

        try:
            if not isinstance(ipaddress.ip_address(ip), ipaddress.IPv4Address):
                raise ValueError
        except ValueError:
            raise InvalidArgument(f"Invalid ip address: {ip}") from None
    if not container:
        raise InvalidArgument(f"No port specified: {spec}<empty>")
    return ip, host, container, proto


def parse_publish(specs: list[str]) -> tuple[dict[str, dict], dict[str, list[dict[str, str]]]]:
    """``-p`` values -> (ExposedPorts, PortBindings) as Docker stores them."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        ip, host, container, proto = _split_spec(spec.strip())
        c_first, c_last = _port_range(container, "containerPort")
        count = c_last - c_first + 1
        host_ports: list[str] = [""] * count
        if host:
            h_first, h_last = _port_range(host, "hostPort")
            if h_last - h_first + 1 == count:
                host_ports = [str(p) for p in range(h_first, h_last + 1)]
            elif count == 1:
                host_ports = [f"{h_first}-{h_last}"]
            else:
                raise InvalidArgument("Invalid ranges specified for container and host Ports:"
                                      f" {container} and {host}")
        for offset in range(count):
            key = f"{c_first + offset}/{proto}"
            exposed[key] = {}
            entry = {"HostIp": ip, "HostPort": host_ports[offset]}
            if entry not in bindings.setdefault(key, []):
                bindings[key].append(entry)
    return exposed, bindings


def port_key(key: str) -> tuple[int, str]:
    """``80/tcp`` -> (80, "tcp"); Docker's default protocol is tcp."""
    port, _, proto = key.partition("/")
    try:
        number = int(port)
    except ValueError:
        raise InvalidArgument(f"Invalid containerPort: {port}") from None
    proto = proto or "tcp"
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"Invalid proto: {proto}")
    return number, proto


@record(frozen=True)
class Wanted:
    """One binding to make at start: host port 0 means any free port."""

    proto: str
    host_ip: str
    first: int
    last: int
    container_port: int


def wanted_bindings(host_config: dict[str, Any], config: dict[str, Any]) -> list[Wanted]:
    """The bindings a container asks for, ``-P`` included (every exposed port, any host
    port)."""
    out: list[Wanted] = []
    bindings = dict(host_config.get("PortBindings") or {})
    if host_config.get("PublishAllPorts"):
        for key in (config.get("ExposedPorts") or {}):
            bindings.setdefault(key, [{"HostIp": "", "HostPort": ""}])
    for key, entries in bindings.items():
        number, proto = port_key(key)
        for entry in entries or [{"HostIp": "", "HostPort": ""}]:
            text = (entry.get("HostPort") or "").strip()
            first, last = _port_range(text, "hostPort") if text else (0, 0)
            out.append(Wanted(proto, entry.get("HostIp") or "0.0.0.0", first, last, number))
    return out


def ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(v) for v in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def bindable(proto: str, host_ip: str, port: int) -> bool:
    """Whether nothing on the host holds ``port`` (checked by binding it for a moment)."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host_ip, port))
        except OSError:
            return False
    return True


def candidates(w: Wanted) -> list[int]:
    if w.first:
        return list(range(w.first, w.last + 1))
    low, high = ephemeral_range()
    ports = list(range(low, high + 1))
    start = random.randrange(len(ports))
    return ports[start:] + ports[:start]


def already_allocated(host_ip: str, port: int, proto: str) -> InvalidArgument:
    shown = host_ip or "0.0.0.0"
    err = InvalidArgument(f"driver failed programming external connectivity on endpoint:"
                          f" Bind for {shown}:{port} failed: port is already allocated")
    err.exit_code = 125
    return err


