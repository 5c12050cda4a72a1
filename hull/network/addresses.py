"""IPv4 subnets and addresses: parsing user input, and picking a subnet no route uses.

A new network must not shadow anything the host can already reach, so its subnet is taken
from a pool (Docker's defaults unless ``HULL_ADDRESS_POOL`` says otherwise) skipping every
prefix that overlaps a route in the host's main table, Docker's own ``172.17.0.0/16`` and
every network this engine already has.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Iterable, Iterator

from hull.errors import Conflict, InvalidArgument

Net = ipaddress.IPv4Network
Addr = ipaddress.IPv4Address

DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
#: (base, prefix length of each subnet carved from it): Docker's default address pools.
DEFAULT_POOLS: tuple[tuple[str, int], ...] = (("172.16.0.0/12", 16), ("192.168.0.0/16", 20))
POOL_ENV = "HULL_ADDRESS_POOL"


def parse_subnet(text: str) -> Net:
    """``10.1.0.0/24`` -> network; host bits set or IPv6 give one-line errors."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text!r}: not an IPv4 CIDR (like 10.1.0.0/24)"
                              ) from None
    if not isinstance(net, Net):
        raise InvalidArgument(f"invalid subnet {text}: only IPv4 networks are supported")
    if str(net) != text.strip() and "/" in text:
        raise InvalidArgument(f"invalid subnet {text}: host bits are set (did you mean {net}?)")
    if net.prefixlen > 30:
        raise InvalidArgument(f"invalid subnet {text}: a /{net.prefixlen} has no room for"
                              " containers (use /30 or larger)")
    return net


def parse_address(text: str, what: str = "address") -> Addr:
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvalidArgument(f"invalid {what} {text!r}: not an IPv4 address") from None
    if not isinstance(addr, Addr):
        raise InvalidArgument(f"invalid {what} {text}: only IPv4 is supported")
    return addr


def parse_pools(text: str) -> list[tuple[Net, int]]:
    """Docker's ``base=10.213.0.0/16,size=24`` (several separated by spaces or ';')."""
    pools = []
    for item in text.replace(";", " ").split():
        fields = dict(f.split("=", 1) for f in item.split(",") if "=" in f)
        if "base" not in fields:
            raise InvalidArgument(f"invalid address pool {item!r}: expected base=CIDR,size=N")
        base = parse_subnet(fields["base"])
        try:
            size = int(fields.get("size", base.prefixlen))
        except ValueError:
            raise InvalidArgument(f"invalid address pool {item!r}: size is not a number"
                                  ) from None
        if not base.prefixlen <= size <= 30:
            raise InvalidArgument(f"invalid address pool {item!r}: size must be between"
                                  f" {base.prefixlen} and 30")
        pools.append((base, size))
    return pools


def configured_pools() -> list[tuple[Net, int]]:
    text = os.environ.get(POOL_ENV, "").strip()
    if text:
        return parse_pools(text)
    return [(ipaddress.IPv4Network(b), size) for b, size in DEFAULT_POOLS]


def host_routes(path: str = "/proc/net/route") -> list[Net]:
    """Destinations of the host's IPv4 main routing table, default route excluded."""
    routes = []
    try:
        with open(path) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if len(fields) < 8:
                    continue
                dest = socket.inet_ntoa(struct.pack("<I", int(fields[1], 16)))
                mask = socket.inet_ntoa(struct.pack("<I", int(fields[7], 16)))
                net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
                if net.prefixlen:
                    routes.append(net)
    except OSError:
        pass
    return routes


def overlapping(subnet: Net, taken: Iterable[Net]) -> Net | None:
    for other in taken:
        if subnet.overlaps(other):
            return other
    return None


def candidates(pools: list[tuple[Net, int]]) -> Iterator[Net]:
    for base, size in pools:
        yield from base.subnets(new_prefix=size)


def pick_subnet(in_use: Iterable[Net], pools: list[tuple[Net, int]] | None = None) -> Net:
    """The first pool subnet overlapping no host route, no network in ``in_use`` and not
    Docker's default bridge."""
    taken = [*host_routes(), *in_use, DOCKER_BRIDGE]
    for subnet in candidates(pools if pools is not None else configured_pools()):
        if overlapping(subnet, taken) is None:
            return subnet
    raise Conflict("could not find an available, non-overlapping IPv4 address pool among the"
                   " defaults to assign to the network")


def gateway_of(subnet: Net) -> Addr:
    return subnet.network_address + 1


def check_inside(addr: Addr, subnet: Net, what: str) -> None:
    if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"{what} {addr} is not a usable address of subnet {subnet}")


def free_address(subnet: Net, ip_range: Net | None, reserved: set[Addr]) -> Addr | None:
    """The lowest usable address of ``ip_range`` (or the subnet) not in ``reserved``."""
    pool = ip_range or subnet
    first = int(pool.network_address)
    last = int(pool.broadcast_address)
    for value in range(first, last + 1):
        addr = Addr(value)
        if addr in (subnet.network_address, subnet.broadcast_address) or addr in reserved:
            continue
        return addr
    return None


def mac_for(addr: Addr) -> str:
    """Docker's MAC scheme: 02:42 followed by the IPv4 address bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)


def parse_mac(text: str) -> str:
    parts = text.strip().lower().split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p)
                                  for p in parts):
        raise InvalidArgument(f"{text} is not a valid mac address")
    if int(parts[0], 16) & 1:
        raise InvalidArgument(f"{text} is a multicast mac address")
    return ":".join(parts)
