"""The nftables rules of one engine root, written as one script from the current state.

The whole table is replaced in one transaction on every change (``table`` + ``delete
table`` + the new table), so the rules always equal what the database says, a crash between
two changes cannot leave stale rules, and an empty state removes the table entirely.

What the table does:
- ``nat_pre`` / ``nat_out``: traffic to a local address (from other hosts and containers,
  or from the host itself, loopback included) on a published port is DNATed to the
  container.  Loopback works in the kernel because each bridge has ``route_localnet``.
- ``nat_post``: outbound masquerade for every non-internal network; and masquerade of
  DNATed traffic that leaves on the bridge it came from (hairpin) or from loopback, so
  replies come back through the host.
- ``raw_pre``: packets for 127.0.0.0/8 arriving from a container are dropped, so
  ``route_localnet`` never exposes the host's loopback services to containers.
- ``forward``: containers on different networks cannot reach each other (except through a
  published port); internal networks reach nothing outside their bridge.
"""

from __future__ import annotations

import os

from hull.config import DEFAULT_ROOT
from hull.record import record


@record(frozen=True)
class BridgeState:
    bridge: str
    subnet: str
    internal: bool


@record(frozen=True)
class PortForward:
    proto: str              # "tcp" or "udp" (sctp is not supported)
    host_ip: str            # "0.0.0.0" = every local address
    host_port: int
    container_ip: str
    container_port: int


def table_name(root: str) -> str:
    """``hull`` for the default root; other roots (tests, second instances) get their own."""
    if os.path.abspath(root) == DEFAULT_ROOT:
        return "hull"
    import hashlib

    return "hull_" + hashlib.sha256(os.path.abspath(root).encode()).hexdigest()[:8]


def _q(name: str) -> str:
    return '"' + name + '"'


def ruleset(table: str, bridges: list[BridgeState], ports: list[PortForward]) -> str:
    """The script that makes ``table`` match the state (or removes it when there is none)."""
    lines = [f"table ip {table} {{}}", f"delete table ip {table}"]
    if not bridges:
        return "\n".join(lines) + "\n"
    names = ", ".join(_q(b.bridge) for b in bridges)
    body = [
        "set bridges { type ifname; elements = { " + names + " } }",
        "chain raw_pre { type filter hook prerouting priority raw; policy accept;",
        "  iifname @bridges ip daddr 127.0.0.0/8 drop", "}",
        "chain nat_pre { type nat hook prerouting priority dstnat; policy accept;",
        "  fib daddr type local jump published", "}",
        "chain nat_out { type nat hook output priority -100; policy accept;",
        "  fib daddr type local jump published", "}",
        "chain published {",
    ]
    for p in sorted(ports, key=lambda p: (p.host_ip == "0.0.0.0", p.host_port, p.proto)):
        match = "" if p.host_ip == "0.0.0.0" else f"ip daddr {p.host_ip} "
        body.append(f"  {match}{p.proto} dport {p.host_port}"
                    f" dnat to {p.container_ip}:{p.container_port}")
    body.append("}")
    body.append("chain nat_post { type nat hook postrouting priority srcnat; policy accept;")
    for b in bridges:
        if not b.internal:
            body.append(f"  ip saddr {b.subnet} oifname != {_q(b.bridge)} masquerade")
        body.append(f"  oifname {_q(b.bridge)} ct status dnat"
                    f" ip saddr {{ 127.0.0.0/8, {b.subnet} }} masquerade")
    body.append("}")
    body.append("chain forward { type filter hook forward priority filter; policy accept;")
    for b in bridges:
        br = _q(b.bridge)
        if b.internal:
            body.append(f"  iifname {br} oifname != {br} drop")
            body.append(f"  oifname {br} iifname != {br} drop")
        else:
            body.append(f"  iifname {br} oifname @bridges oifname != {br}"
                        " ct status & dnat == 0 drop")
    body.append("}")
    lines.append(f"table ip {table} {{")
    lines += ["  " + line for line in body]
    lines.append("}")
    return "\n".join(lines) + "\n"


DNS_TABLE = "hull_dns"


def dns_redirect(udp_port: int, tcp_port: int) -> str:
    """Inside a container: 127.0.0.11:53 goes to the resolver's sockets on other ports, so
    the container keeps port 53 free for its own use (as Docker arranges it)."""
    return "\n".join([
        f"table ip {DNS_TABLE} {{}}", f"delete table ip {DNS_TABLE}",
        f"table ip {DNS_TABLE} {{",
        "  chain out { type nat hook output priority -100; policy accept;",
        f"    ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:{udp_port}",
        f"    ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:{tcp_port}",
        "  }", "}", ""])
