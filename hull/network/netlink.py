"""Links over rtnetlink: bridges, veth pairs, addresses and routes.

The few requests a container start needs (create a veth pair with one end moved into the
container's namespace, enslave and bring up the host end, give the inner end its MAC,
address and default route) are encoded here with :mod:`struct` and sent on a raw
``NETLINK_ROUTE`` socket.  A general netlink library costs about 90 ms to import, more than
the whole rest of the network setup; these messages cost microseconds to build.

Work inside a container's namespace is done by entering it with ``setns`` on the calling
thread just long enough to open a netlink socket there: sockets stay in the namespace they
were created in, so no helper process is needed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Iterator

from hull.errors import EngineError

CLONE_NEWNET = 0x40000000

# message types
NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_GETROUTE = 26

# header flags
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_REQUEST_ACK = NLM_F_REQUEST | NLM_F_ACK

# attributes
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_BROADCAST = 4
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_TABLE = 15

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RTN_UNICAST = 1
ENODEV = 19

_HEADER = struct.Struct("=IHHII")        # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")       # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")        # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")     # rtmsg: family, dst_len, src_len, tos, table,
#                                          protocol, scope, type, flags
_ATTR = struct.Struct("=HH")


class NetlinkError(OSError):
    """The kernel refused a request (``errno`` is set)."""


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    data = _ATTR.pack(_ATTR.size + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def _name(name: str) -> bytes:
    return name.encode() + b"\0"


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def _ipv4(text: str) -> bytes:
    return socket.inet_aton(text)


def parse_attrs(data: bytes, offset: int) -> dict[int, bytes]:
    """rtattrs from ``offset`` to the end of ``data``, by type (nested flag dropped)."""
    out: dict[int, bytes] = {}
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        out[kind & 0x3FFF] = data[offset + _ATTR.size:offset + length]
        offset += (length + 3) & ~3
    return out


class Socket:
    """A netlink socket (rtnetlink unless told) in the namespace the calling thread is in when it is made."""

    def __init__(self, protocol: int = socket.NETLINK_ROUTE) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self.seq += 1
        self.sock.send(_HEADER.pack(_HEADER.size + len(body), kind, flags, self.seq, 0) + body)
        return self.seq

    def request(self, kind: int, body: bytes, flags: int = 0) -> None:
        """Send one change and wait for its acknowledgement; NetlinkError if refused."""
        seq = self._send(kind, NLM_F_REQUEST_ACK | flags, body)
        for _ in self._replies(seq):
            pass

    def fetch(self, kind: int, body: bytes, dump: bool = False) -> list[tuple[int, bytes]]:
        """A query: the (type, message without header) replies."""
        seq = self._send(kind, NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK), body)
        return list(self._replies(seq))

    def _replies(self, seq: int) -> Iterator[tuple[int, bytes]]:
        while True:
            data = self.sock.recv(1 << 17)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind, _flags, got, _pid = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    return
                message = data[offset + _HEADER.size:offset + length]
                offset += (length + 3) & ~3
                if got != seq:
                    continue
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    error = struct.unpack_from("=i", message)[0]
                    if error:
                        raise NetlinkError(-error, os.strerror(-error))
                    return
                yield kind, message


@contextlib.contextmanager
def entered(netns_path: str) -> Iterator[None]:
    """Run the body with this thread in the network namespace pinned at ``netns_path``."""
    from hull.runtime import syscalls as sc

    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        os.close(own)
        raise EngineError(f"network namespace {netns_path} is gone: {e.strerror}") from None
    try:
        sc.setns(target, CLONE_NEWNET)
        try:
            yield
        finally:
            sc.setns(own, CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(own)


def _link(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


class Links:
    """One rtnetlink socket in the host namespace (or the namespace given)."""

    def __init__(self, netns_path: str | None = None) -> None:
        if netns_path is None:
            self.nl = Socket()
        else:
            with entered(netns_path):
                self.nl = Socket()

    def __enter__(self) -> Links:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.nl.close()

    # ---- lookups -------------------------------------------------------------------------

    def index(self, name: str) -> int | None:
        try:
            replies = self.nl.fetch(RTM_GETLINK, _link() + attr(IFLA_IFNAME, _name(name)))
        except NetlinkError as e:
            if e.errno == ENODEV:
                return None
            raise EngineError(f"cannot look up link {name}: {e.strerror}") from None
        for kind, message in replies:
            if kind == RTM_NEWLINK:
                return int(_IFINFO.unpack_from(message)[2])
        return None

    def names(self) -> list[str]:
        out = []
        for kind, message in self.nl.fetch(RTM_GETLINK, _link(), dump=True):
            if kind == RTM_NEWLINK:
                raw = parse_attrs(message, _IFINFO.size).get(IFLA_IFNAME, b"")
                out.append(raw.rstrip(b"\0").decode())
        return out

    def addresses(self, name: str) -> list[str]:
        idx = self.index(name)
        if idx is None:
            return []
        out = []
        body = _IFADDR.pack(socket.AF_INET, 0, 0, 0, 0)
        for _kind, message in self.nl.fetch(RTM_GETADDR, body, dump=True):
            _family, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(message)
            if index != idx:
                continue
            attrs = parse_attrs(message, _IFADDR.size)
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw:
                out.append(f"{socket.inet_ntoa(raw)}/{prefixlen}")
        return out

    def has_default_route(self) -> bool:
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
        for _kind, message in self.nl.fetch(RTM_GETROUTE, body, dump=True):
            dst_len, table = message[1], message[4]
            extra = parse_attrs(message, _RTMSG.size).get(RTA_TABLE)
            if extra:
                table = struct.unpack("=I", extra[:4])[0]
            if dst_len == 0 and table == RT_TABLE_MAIN:
                return True
        return False

    # ---- changes -------------------------------------------------------------------------

    def ensure_bridge(self, name: str, address: str, prefixlen: int) -> bool:
        """Create the bridge with ``address`` and bring it up; False if it already was there."""
        created = False
        idx = self.index(name)
        if idx is None:
            info = attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"bridge"))
            self._call("create bridge " + name, RTM_NEWLINK,
                       _link() + attr(IFLA_IFNAME, _name(name)) + info,
                       NLM_F_CREATE | NLM_F_EXCL)
            idx = self.index(name)
            if idx is None:
                raise EngineError(f"network setup failed: bridge {name} vanished")
            created = True
        if f"{address}/{prefixlen}" not in self.addresses(name):
            self._add_address(idx, name, address, prefixlen)
        self._call("bring up " + name, RTM_NEWLINK, _link(idx, IFF_UP, IFF_UP))
        return created

    def delete(self, name: str) -> None:
        """Remove a link (both ends of a veth pair); a missing link is fine."""
        with contextlib.suppress(NetlinkError):
            self.nl.request(RTM_DELLINK, _link() + attr(IFLA_IFNAME, _name(name)))

    def add_veth(self, host_name: str, bridge: str, netns_path: str, peer_name: str,
                 peer_mac: str | None = None) -> None:
        """A veth pair: ``host_name`` enslaved to ``bridge`` and up, ``peer_name`` (with
        ``peer_mac`` if given) moved into the namespace at ``netns_path``, all in one
        request."""
        bridge_idx = self.index(bridge)
        if bridge_idx is None:
            raise EngineError(f"bridge {bridge} does not exist")
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            peer = _link() + attr(IFLA_IFNAME, _name(peer_name)) + \
                attr(IFLA_NET_NS_FD, struct.pack("=I", fd))
            if peer_mac:
                peer += attr(IFLA_ADDRESS, _mac(peer_mac))
            info = attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"veth") +
                        attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer)))
            body = _link(0, IFF_UP, IFF_UP) + attr(IFLA_IFNAME, _name(host_name)) + \
                attr(IFLA_MASTER, struct.pack("=I", bridge_idx)) + info
            self._call(f"create veth {host_name}", RTM_NEWLINK, body,
                       NLM_F_CREATE | NLM_F_EXCL)
        finally:
            os.close(fd)

    def configure(self, name: str, address: str, prefixlen: int, mac: str | None,
                  gateway: str | None) -> None:
        """Inside a container: MAC (unless None: already set), address, up, and the default
        route if ``gateway``."""
        idx = self.index(name)
        if idx is None:
            raise EngineError(f"interface {name} is missing in the container")
        if mac:
            self._call(f"MAC address of {name}", RTM_NEWLINK,
                       _link(idx) + attr(IFLA_ADDRESS, _mac(mac)))
        self._add_address(idx, name, address, prefixlen)
        self._call(f"bring up {name}", RTM_NEWLINK, _link(idx, IFF_UP, IFF_UP))
        if gateway:
            body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0,
                               RTN_UNICAST, 0)
            body += attr(RTA_GATEWAY, _ipv4(gateway)) + attr(RTA_OIF, struct.pack("=I", idx))
            self._call(f"default route via {gateway}", RTM_NEWROUTE, body,
                       NLM_F_CREATE | NLM_F_REPLACE)

    def _add_address(self, idx: int, name: str, address: str, prefixlen: int) -> None:
        raw = _ipv4(address)
        body = _IFADDR.pack(socket.AF_INET, prefixlen, 0, 0, idx) + \
            attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)
        if prefixlen < 31:
            host_bits = (1 << (32 - prefixlen)) - 1
            body += attr(IFA_BROADCAST, struct.pack("!I", struct.unpack("!I", raw)[0] |
                                                     host_bits))
        self._call(f"address {address} on {name}", RTM_NEWADDR, body,
                   NLM_F_CREATE | NLM_F_EXCL)

    def _call(self, what: str, kind: int, body: bytes, flags: int = 0) -> None:
        try:
            self.nl.request(kind, body, flags)
        except NetlinkError as e:
            raise EngineError(f"network setup failed: {what}: {e.strerror}") from None


def delete_links(names: list[str]) -> None:
    """Delete links by name with one RTM_DELLINK each (a missing link is fine)."""
    if not names:
        return
    nl = Socket()
    try:
        for name in names:
            try:
                nl.request(RTM_DELLINK, _link() + attr(IFLA_IFNAME, _name(name)))
            except NetlinkError as e:
                if e.errno != ENODEV:
                    raise EngineError(f"cannot delete link {name}: {e.strerror}") from None
    finally:
        nl.close()


def set_links_down(names: list[str]) -> None:
    """Switch links off by name (a missing link is fine): no traffic passes them any more,
    at a fraction of the cost of deleting them."""
    if not names:
        return
    nl = Socket()
    try:
        for name in names:
            try:
                nl.request(RTM_NEWLINK, _link(0, 0, IFF_UP) + attr(IFLA_IFNAME, _name(name)))
            except NetlinkError as e:
                if e.errno != ENODEV:
                    raise EngineError(f"cannot switch off link {name}: {e.strerror}") from None
    finally:
        nl.close()


def set_sysctl(path: str, value: str) -> None:
    """Write a /proc/sys value if it differs (writes are cheap; reading first avoids
    needless ones on read-only hosts)."""
    full = os.path.join("/proc/sys", path)
    try:
        with open(full) as f:
            if f.read().strip() == value:
                return
        with open(full, "w") as f:
            f.write(value)
    except OSError as e:
        raise EngineError(f"cannot set {path} to {value}: {e.strerror}") from None
