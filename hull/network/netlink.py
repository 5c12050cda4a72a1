"""Links over rtnetlink with pyroute2: bridges, veth pairs, addresses and routes.

``import pyroute2`` executes a package ``__init__`` that loads every pyroute2 feature
(about 180 ms); container start-up only needs the rtnetlink socket.  :func:`_iproute`
therefore registers a placeholder package whose submodules load on demand and which runs the
real ``__init__`` only if someone asks it for a top-level name, so other users of the package
in the same process see no difference.

Work inside a container's namespace is done by entering it with ``setns`` on the calling
thread just long enough to open a netlink socket there: sockets stay in the namespace they
were created in, so no helper process is needed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from collections.abc import Iterator
from typing import Any

from hull.errors import EngineError

CLONE_NEWNET = 0x40000000


def _lean_package() -> None:
    if "pyroute2" in sys.modules:
        return
    import importlib
    import importlib.util

    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError("pyroute2 is not installed: container networking needs it")
    package = types.ModuleType("pyroute2")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = "pyroute2"

    def full_package(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if importlib.util.find_spec("pyroute2." + name) is not None:
            return importlib.import_module("pyroute2." + name)  # a submodule, not a name
        del package.__dict__["__getattr__"]
        assert spec.origin is not None
        with open(spec.origin) as f:
            exec(compile(f.read(), spec.origin, "exec"), package.__dict__)
        return getattr(package, name)

    package.__getattr__ = full_package  # type: ignore[method-assign]
    sys.modules["pyroute2"] = package


def _iproute() -> Any:
    _lean_package()
    from pyroute2.iproute.linux import IPRoute

    return IPRoute()


def _netlink_error() -> type[Exception]:
    from pyroute2.netlink.exceptions import NetlinkError

    return NetlinkError


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


class Links:
    """One rtnetlink socket in the host namespace (or the namespace given)."""

    def __init__(self, netns_path: str | None = None) -> None:
        if netns_path is None:
            self.ipr = _iproute()
        else:
            _lean_package()
            with entered(netns_path):
                self.ipr = _iproute()

    def __enter__(self) -> Links:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ipr.close()

    # ---- lookups -------------------------------------------------------------------------

    def index(self, name: str) -> int | None:
        found = self.ipr.link_lookup(ifname=name)
        return found[0] if found else None

    def names(self) -> list[str]:
        return [link.get_attr("IFLA_IFNAME") for link in self.ipr.get_links()]

    def addresses(self, name: str) -> list[str]:
        idx = self.index(name)
        if idx is None:
            return []
        return [f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
                for a in self.ipr.get_addr(family=2, index=idx)]

    # ---- changes -------------------------------------------------------------------------

    def ensure_bridge(self, name: str, address: str, prefixlen: int) -> bool:
        """Create the bridge with ``address`` and bring it up; False if it already was there."""
        created = False
        idx = self.index(name)
        if idx is None:
            self._call("create bridge " + name, self.ipr.link, "add", ifname=name,
                       kind="bridge")
            idx = self.index(name)
            created = True
        if f"{address}/{prefixlen}" not in self.addresses(name):
            self._call(f"address {address} on {name}", self.ipr.addr, "add", index=idx,
                       address=address, prefixlen=prefixlen)
        self._call("bring up " + name, self.ipr.link, "set", index=idx, state="up")
        return created

    def delete(self, name: str) -> None:
        """Remove a link (both ends of a veth pair); a missing link is fine."""
        idx = self.index(name)
        if idx is None:
            return
        with contextlib.suppress(_netlink_error()):
            self.ipr.link("del", index=idx)

    def add_veth(self, host_name: str, bridge: str, netns_path: str, peer_name: str) -> None:
        """A veth pair: ``host_name`` enslaved to ``bridge`` and up, ``peer_name`` moved into
        the namespace at ``netns_path`` in the same request."""
        bridge_idx = self.index(bridge)
        if bridge_idx is None:
            raise EngineError(f"bridge {bridge} does not exist")
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._call(f"create veth {host_name}", self.ipr.link, "add", ifname=host_name,
                       kind="veth", peer={"ifname": peer_name, "net_ns_fd": fd})
        finally:
            os.close(fd)
        idx = self.index(host_name)
        self._call(f"attach {host_name} to {bridge}", self.ipr.link, "set", index=idx,
                   master=bridge_idx, state="up")

    def configure(self, name: str, address: str, prefixlen: int, mac: str,
                  gateway: str | None) -> None:
        """Inside a container: MAC, address, up, and the default route if ``gateway``."""
        idx = self.index(name)
        if idx is None:
            raise EngineError(f"interface {name} is missing in the container")
        self._call(f"MAC address of {name}", self.ipr.link, "set", index=idx, address=mac)
        self._call(f"address {address} on {name}", self.ipr.addr, "add", index=idx,
                   address=address, prefixlen=prefixlen)
        self._call(f"bring up {name}", self.ipr.link, "set", index=idx, state="up")
        if gateway:
            self._call(f"default route via {gateway}", self.ipr.route, "replace",
                       dst="0.0.0.0/0", gateway=gateway, oif=idx)

    def has_default_route(self) -> bool:
        return any(r["dst_len"] == 0 for r in self.ipr.get_routes(family=2, table=254))

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _netlink_error() as e:
            raise EngineError(f"network setup failed: {what}: {e.args[-1] if e.args else e}"
                              ) from None


RTM_DELLINK = 17
NLM_F_REQUEST_ACK = 0x1 | 0x4
IFLA_IFNAME = 3
ENODEV = 19


def delete_links(names: list[str]) -> None:
    """Delete links by name with one RTM_DELLINK each (a missing link is fine).

    Stopping a container only needs this, and it runs in the container's monitor: a raw
    rtnetlink socket and a few bytes of ``struct`` spare that process pyroute2's import
    time and memory."""
    import socket
    import struct

    if not names:
        return
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as s:
        s.bind((0, 0))
        for seq, name in enumerate(names, 1):
            data = name.encode() + b"\0"
            attr = struct.pack("=HH", 4 + len(data), IFLA_IFNAME) + data
            attr += b"\0" * (-len(attr) % 4)
            body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0) + attr
            s.send(struct.pack("=IHHII", 16 + len(body), RTM_DELLINK, NLM_F_REQUEST_ACK, seq,
                               0) + body)
            reply = s.recv(65536)
            error = struct.unpack_from("=i", reply, 16)[0] if len(reply) >= 20 else 0
            if error and -error != ENODEV:
                raise EngineError(f"cannot delete link {name}: {os.strerror(-error)}")


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
