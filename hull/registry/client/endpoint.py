"""Which URL a registry host is reached at: HTTPS, or plain HTTP for loopback and
registries configured as insecure."""

from __future__ import annotations

import ipaddress

from hull.record import record

DOCKER_HUB_API = "registry-1.docker.io"
_HUB_NAMES = ("docker.io", "index.docker.io")


@record(frozen=True)
class Endpoint:
    """A registry's API root: ``scheme://host[:port]``."""

    registry: str  # as named in references, e.g. docker.io, localhost:5000
    scheme: str
    host: str  # host[:port] to connect to

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


def _hostname(host: str) -> str:
    """``[::1]:5000`` -> ``::1``; ``localhost:5000`` -> ``localhost``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") > 1:  # a bare IPv6 address
        return host
    return host.rsplit(":", 1)[0] if ":" in host else host


def is_loopback(host: str) -> bool:
    name = _hostname(host).lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_insecure(host: str, insecure: list[str]) -> bool:
    """True when ``host`` is loopback or listed (by host[:port] or CIDR) in ``insecure``."""
    if is_loopback(host):
        return True
    name = _hostname(host)
    for entry in insecure:
        entry = entry.strip().lower()
        for prefix in ("http://", "https://"):
            entry = entry.removeprefix(prefix)
        entry = entry.rstrip("/")
        if entry in (host.lower(), name.lower()):
            return True
        if "/" in entry:
            try:
                network = ipaddress.ip_network(entry, strict=False)
                if ipaddress.ip_address(name) in network:
                    return True
            except ValueError:
                continue
    return False


def endpoint_for(registry: str, insecure: list[str] | None = None) -> Endpoint:
    """The endpoint of the registry named ``registry`` in a reference."""
    if registry in _HUB_NAMES:
        return Endpoint(registry, "https", DOCKER_HUB_API)
    scheme = "http" if is_insecure(registry, insecure or []) else "https"
    return Endpoint(registry, scheme, registry)
