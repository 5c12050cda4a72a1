"""Attaching containers to networks and detaching them: addresses, links, rules, ports.

The database says what should exist; this module makes the host match it.  All changes for
one engine root are serialised by one lock file (they take a few milliseconds), addresses and
ports are allocated inside database transactions (so concurrent ``run``s never share one),
and the nftables table is always rewritten as a whole from the database.

The default bridge (``bridge`` network) stays once made, like Docker's ``docker0``, and so
does the nftables table with it: creating and deleting a bridge and rewriting the table for
every short-lived container would cost more than the rest of its start and stop together.
A user-defined network's bridge exists only while some container is attached to it: the
first attach creates it, the last detach removes it.  :func:`remove_host_networking` takes
everything of a root off the host (tests, uninstalling).  When a container's process ends,
its veth pairs are switched off on the host side and left to the kernel, which deletes them
with the container's namespace (see :meth:`Plumbing.detach`); ``network disconnect`` and
failed starts delete them explicitly.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hull.errors import Conflict, EngineError, HullError, InvalidArgument
from hull.network import addresses as ipam
from hull.network.model import Network
from hull.record import record

if TYPE_CHECKING:
    from hull.state.db import Database


@record
class Endpoint:
    network: Network
    container_id: str
    config: dict[str, Any]
    address: str | None
    mac: str
    veth: str
    ifname: str
    endpoint_id: str
    position: int


def veth_name(container_id: str, network_id: str) -> str:
    """A stable host-side name, so a crashed attach can always be cleaned up by name."""
    import hashlib

    return "hv" + hashlib.sha256((container_id + network_id).encode()).hexdigest()[:11]


class Plumbing:
    """Host networking of one engine root (database + run root)."""

    def __init__(self, db: Database, root: str, run_root: str) -> None:
        self.db = db
        self.root = root
        self.run_root = run_root

    # ---- locking and reading -------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        directory = os.path.join(self.run_root, "network")
        os.makedirs(directory, mode=0o711, exist_ok=True)
        fd = os.open(os.path.join(directory, "lock"), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def endpoints(self, container_id: str) -> list[Endpoint]:
        rows = self.db.query(
            "SELECT e.*, n.id AS nid, n.name AS nname, n.driver, n.created, n.subnet,"
            " n.gateway, n.ip_range, n.internal, n.bridge, n.data FROM endpoints e"
            " JOIN networks n ON n.id = e.network_id WHERE e.container_id = ?"
            " ORDER BY e.position, n.name", (container_id,))
        return [_endpoint(r) for r in rows]

    def netns_path(self, container_id: str) -> str:
        return os.path.join(self.run_root, "netns", container_id)

    # ---- attach --------------------------------------------------------------------------

    def attach(self, container_id: str, netns: str, only: str | None = None) -> None:
        """Give the container (whose namespace is pinned at ``netns``) its addresses, links,
        routes and published ports.  ``only`` limits it to one network (``connect``).  On
        failure everything this call did is undone before the error is raised."""
        with self.locked():
            try:
                self._attach(container_id, netns, only)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._detach(container_id, only)
                raise

    def _attach(self, container_id: str, netns: str, only: str | None) -> None:
        from hull.network.netlink import Links

        with self.db.transaction():
            eps = [e for e in self.endpoints(container_id)
                   if e.network.is_bridge and (only is None or e.network.id == only)]
            taken_ifnames = {e.ifname for e in self.endpoints(container_id) if e.address}
            for ep in eps:
                if ep.address:
                    continue
                self._allocate(ep, taken_ifnames)
            if only is None:
                self._allocate_ports(container_id, eps)
        eps = [e for e in self.endpoints(container_id)
               if e.network.is_bridge and (only is None or e.network.id == only)]
        if not eps:
            return
        with Links() as host:
            for ep in eps:
                if host.ensure_bridge(ep.network.bridge, ep.network.gateway,
                                      _prefix(ep.network)):
                    _bridge_sysctls(ep.network)
            for ep in eps:
                host.delete(ep.veth)
                host.add_veth(ep.veth, ep.network.bridge, netns, ep.ifname, ep.mac)
        with Links(netns) as inner:
            has_route = inner.has_default_route()
            for ep in eps:
                gateway = None
                if not ep.network.internal and not has_route:
                    gateway, has_route = ep.network.gateway, True
                inner.configure(ep.ifname, str(ep.address), _prefix(ep.network), None,
                                gateway)
        self.apply_rules()
        self.record(container_id, netns)

    def _allocate(self, ep: Endpoint, taken_ifnames: set[str]) -> None:
        net = ep.network
        subnet = ipam.parse_subnet(net.subnet)
        reserved = {ipam.Addr(r["address"]) for r in self.db.query(
            "SELECT address FROM endpoints WHERE network_id = ? AND address IS NOT NULL",
            (net.id,))}
        reserved.add(ipam.Addr(net.gateway))
        wanted = (ep.config.get("IPAMConfig") or {}).get("IPv4Address") or ""
        if wanted:
            addr = ipam.parse_address(wanted)
            ipam.check_inside(addr, subnet, "requested address")
            if addr in reserved:
                raise Conflict(f"Address already in use: {addr} on network {net.name}")
        else:
            found = ipam.free_address(subnet, ipam.parse_subnet(net.ip_range)
                                      if net.ip_range else None, reserved)
            if found is None:
                raise Conflict(f"no available IPv4 addresses on network {net.name}")
            addr = found
        mac = ep.config.get("MacAddress") or ipam.mac_for(addr)
        index = 0
        while f"eth{index}" in taken_ifnames:
            index += 1
        ifname = f"eth{index}"
        taken_ifnames.add(ifname)
        ep.address, ep.mac, ep.ifname = str(addr), mac, ifname
        ep.veth = veth_name(ep.container_id, net.id)
        ep.endpoint_id = os.urandom(32).hex()
        try:
            self.db.execute(
                "UPDATE endpoints SET address = ?, mac = ?, veth = ?, ifname = ?,"
                " endpoint_id = ? WHERE network_id = ? AND container_id = ?",
                (ep.address, mac, ep.veth, ifname, ep.endpoint_id, net.id, ep.container_id))
        except sqlite3.IntegrityError:
            raise Conflict(f"Address already in use: {addr} on network {net.name}") from None

    def _allocate_ports(self, container_id: str, eps: list[Endpoint]) -> None:
        row = self.db.query_one("SELECT data FROM containers WHERE id = ?", (container_id,))
        if row is None:
            return
        data = json.loads(row["data"])
        host_config = data.get("HostConfig") or {}
        if not (host_config.get("PortBindings") or host_config.get("PublishAllPorts")):
            return
        from hull.network import ports as portmod

        wanted = portmod.wanted_bindings(host_config, data.get("Config") or {})
        if not wanted:
            return
        target = next((e for e in eps if not e.network.internal and e.address), None)
        if target is None:
            raise InvalidArgument("published ports need a container network that is not"
                                  " internal")
        self.db.execute("DELETE FROM port_bindings WHERE container_id = ?", (container_id,))
        for w in wanted:
            chosen = None
            for port in portmod.candidates(w):
                if self._port_taken(w.proto, w.host_ip, port):
                    continue
                if not portmod.bindable(w.proto, w.host_ip, port):
                    continue
                chosen = port
                break
            if chosen is None:
                if w.first:
                    raise portmod.already_allocated(w.host_ip, w.first, w.proto)
                raise Conflict("no free host port for a published port")
            self.db.execute(
                "INSERT INTO port_bindings (container_id, proto, host_ip, host_port,"
                " container_port, container_ip) VALUES (?, ?, ?, ?, ?, ?)",
                (container_id, w.proto, w.host_ip, chosen, w.container_port, target.address))

    def _port_taken(self, proto: str, host_ip: str, port: int) -> bool:
        if host_ip == "0.0.0.0":
            row = self.db.query_one("SELECT 1 FROM port_bindings WHERE proto = ? AND"
                                    " host_port = ?", (proto, port))
        else:
            row = self.db.query_one("SELECT 1 FROM port_bindings WHERE proto = ? AND"
                                    " host_port = ? AND host_ip IN (?, '0.0.0.0')",
                                    (proto, port, host_ip))
        return row is not None

    # ---- detach --------------------------------------------------------------------------

    def detach(self, container_id: str, only: str | None = None,
               namespace_ending: bool = False) -> None:
        """Free what :meth:`attach` took; safe to call twice or for a never-attached one.

        ``namespace_ending``: the container's network namespace is about to go (its process
        ended).  Its veth pairs are then only switched off on the host side, which cuts them
        off the bridge at once and costs well under a millisecond; deleting a pair waits
        20-40 ms for the kernel, and the kernel deletes both ends by itself when the
        namespace goes.  (A restart deletes a leftover pair of the same name first.)
        """
        with self.locked():
            self._detach(container_id, only, namespace_ending)

    def _detach(self, container_id: str, only: str | None,
                namespace_ending: bool = False) -> None:
        eps = [e for e in self.endpoints(container_id) if only is None or e.network.id == only]
        with self.db.transaction():
            for ep in eps:
                self.db.execute(
                    "UPDATE endpoints SET address = NULL, veth = '', ifname = '',"
                    " endpoint_id = '' WHERE network_id = ? AND container_id = ?",
                    (ep.network.id, container_id))
            if only is None:
                self.db.execute("DELETE FROM port_bindings WHERE container_id = ?",
                                (container_id,))
        from hull.network.netlink import delete_links, set_links_down

        veths = [ep.veth or veth_name(container_id, ep.network.id) for ep in eps
                 if ep.network.is_bridge]
        veths = [name for name in veths if os.path.exists(f"/sys/class/net/{name}")]
        doomed = [] if namespace_ending else veths
        if namespace_ending:
            set_links_down(veths)
        for net in {ep.network.id: ep.network for ep in eps if ep.network.is_bridge}.values():
            if net.user_defined and not self._attached_count(net.id):
                doomed.append(net.bridge)
        delete_links([name for name in doomed if os.path.exists(f"/sys/class/net/{name}")])
        self.apply_rules()
        self.record(container_id, None if only is None else self.netns_path(container_id))

    # ---- the container record ------------------------------------------------------------

    def record(self, container_id: str, netns: str | None) -> None:
        """Write the container's NetworkSettings (Docker's inspect shape) from the tables."""
        from hull.engine.container_store import ContainerStore
        from hull.errors import NotFound

        eps = self.endpoints(container_id)
        bindings = self.db.query("SELECT * FROM port_bindings WHERE container_id = ?",
                                 (container_id,))

        def change(c: Any) -> None:
            c.data["NetworkSettings"] = network_settings(
                c.data.get("NetworkSettings") or {}, c.config, eps, bindings, netns)

        with contextlib.suppress(NotFound):
            ContainerStore(self.db).update(container_id, change)

    def _attached_count(self, network_id: str) -> int:
        row = self.db.query_one("SELECT COUNT(*) AS n FROM endpoints WHERE network_id = ? AND"
                                " address IS NOT NULL", (network_id,))
        return int(row["n"]) if row else 0

    def remove_bridge(self, net: Network) -> None:
        """For ``network rm``: the bridge normally went with its last container already."""
        if not net.bridge:
            return
        from hull.network.netlink import delete_links

        with self.locked():
            if os.path.exists(f"/sys/class/net/{net.bridge}"):
                delete_links([net.bridge])
            self.apply_rules(without=net.id)

    def remove_all(self) -> None:
        """Take every bridge and the nftables table of this root off the host."""
        from hull.network import nftables
        from hull.network.netlink import delete_links
        from hull.network.rules import ruleset, table_name

        with self.locked():
            bridges = [r["bridge"] for r in self.db.query(
                "SELECT bridge FROM networks WHERE driver = 'bridge' AND bridge != ''")]
            delete_links([b for b in bridges if os.path.exists(f"/sys/class/net/{b}")])
            table = table_name(self.root)
            if nftables.table_exists("ip", table):
                with contextlib.suppress(EngineError):
                    nftables.run(ruleset(table, [], []))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.run_root, "network", "rules.nft"))

    # ---- rules ---------------------------------------------------------------------------

    def apply_rules(self, without: str = "") -> None:
        """Rewrite this root's nftables table for the bridges that exist and the published
        ports (removed when there are none).  The last applied script is kept under the run
        root, so a change that changes nothing costs no nftables call."""
        from hull.network import nftables
        from hull.network.rules import BridgeState, PortForward, ruleset, table_name

        bridges = [BridgeState(r["bridge"], r["subnet"], bool(r["internal"])) for r in
                   self.db.query("SELECT bridge, subnet, internal FROM networks WHERE"
                                 " driver = 'bridge' AND id != ? ORDER BY bridge", (without,))
                   if os.path.exists(f"/sys/class/net/{r['bridge']}")]
        forwards = [PortForward(r["proto"], r["host_ip"], r["host_port"], r["container_ip"],
                                r["container_port"])
                    for r in self.db.query("SELECT * FROM port_bindings")]
        table = table_name(self.root)
        script = ruleset(table, bridges, forwards)
        applied = os.path.join(self.run_root, "network", "rules.nft")
        try:
            with open(applied) as f:
                if f.read() == script and (not bridges or nftables.table_exists("ip", table)):
                    return
        except OSError:
            pass
        nftables.run(script)
        with open(applied + ".tmp", "w") as f:
            f.write(script)
        os.replace(applied + ".tmp", applied)


def endpoint_settings(ep: Endpoint) -> dict[str, Any]:
    attached = bool(ep.address)
    return {
        "IPAMConfig": ep.config.get("IPAMConfig") or None,
        "Links": ep.config.get("Links") or None,
        "Aliases": ep.config.get("Aliases") or None,
        "NetworkID": ep.network.id,
        "EndpointID": ep.endpoint_id if attached else "",
        "Gateway": ep.network.gateway if attached and ep.network.is_bridge else "",
        "IPAddress": ep.address or "",
        "IPPrefixLen": _prefix(ep.network) if attached else 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": ep.mac if attached else "",
        "DriverOpts": None,
    }


def network_settings(old: dict[str, Any], config: dict[str, Any], eps: list[Endpoint],
                     bindings: list[Any], netns: str | None) -> dict[str, Any]:
    """Docker's NetworkSettings: per-network endpoint settings, the default bridge's
    address at the top level, and Ports (every exposed port while running)."""
    doc = dict(old)
    networks = {ep.network.name: endpoint_settings(ep) for ep in eps}
    for name, value in (old.get("Networks") or {}).items():
        if name in ("host", "none") and not networks:
            networks[name] = value
    doc["Networks"] = networks
    top = next((ep for ep in eps if ep.network.predefined and ep.network.is_bridge
                and ep.address), None)
    doc.update({"Bridge": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
                "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": None,
                "SecondaryIPv6Addresses": None, "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0, "IPv6Gateway": ""})
    settings = endpoint_settings(top) if top else {}
    for key in ("EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress"):
        doc[key] = settings.get(key, 0 if key == "IPPrefixLen" else "")
    running = netns is not None and any(ep.address for ep in eps)
    ports: dict[str, Any] = {}
    if running:
        for key in (config.get("ExposedPorts") or {}):
            ports[key if "/" in key else key + "/tcp"] = None
        for b in sorted(bindings, key=lambda b: (b["container_port"], b["proto"],
                                                 b["host_port"])):
            key = f"{b['container_port']}/{b['proto']}"
            ports.setdefault(key, None)
            ports[key] = (ports[key] or []) + [{"HostIp": b["host_ip"],
                                                "HostPort": str(b["host_port"])}]
    doc["Ports"] = ports
    doc["SandboxKey"] = netns or ""
    doc["SandboxID"] = (os.path.basename(netns) if netns else "")
    return doc


def _prefix(net: Network) -> int:
    return ipam.parse_subnet(net.subnet).prefixlen


def _bridge_sysctls(net: Network) -> None:
    """Forwarding for outbound traffic; route_localnet so published ports answer on
    loopback through DNAT (the raw_pre rule keeps containers away from 127/8)."""
    from hull.network.netlink import set_sysctl

    if not net.internal:
        set_sysctl("net/ipv4/ip_forward", "1")
    with contextlib.suppress(EngineError):
        set_sysctl(f"net/ipv4/conf/{net.bridge}/route_localnet", "1")


def _endpoint(r: Any) -> Endpoint:
    net = Network(r["nid"], r["nname"], r["driver"], r["created"], r["subnet"], r["gateway"],
                  r["ip_range"], bool(r["internal"]), r["bridge"], json.loads(r["data"] or "{}"))
    return Endpoint(net, r["container_id"], json.loads(r["config"] or "{}"), r["address"],
                    r["mac"], r["veth"], r["ifname"], r["endpoint_id"], r["position"])


def release(root: str, run_root: str, container_id: str) -> None:
    """Detach a container whose process ended (called by the shim and by crash repair)."""
    from hull.state.db import Database

    path = os.path.join(root, "hull.db")
    if not os.path.exists(path):
        return
    db = Database(path)
    try:
        plumbing = Plumbing(db, root, run_root)
        if plumbing.endpoints(container_id) or db.query_one(
                "SELECT 1 FROM port_bindings WHERE container_id = ?", (container_id,)):
            plumbing.detach(container_id, namespace_ending=True)
            from hull.network import netd_client

            netd_client.notify(run_root)
    except HullError:
        pass
    finally:
        db.close()


def remove_host_networking(root: str, run_root: str) -> None:
    """Remove what a root's networks keep on the host between containers (its bridges and
    nftables table), e.g. when a test's root or an installation goes away.  Containers
    should be stopped first: their veth pairs are not touched."""
    from hull.state.db import Database

    path = os.path.join(root, "hull.db")
    if not os.path.exists(path):
        return
    db = Database(path)
    try:
        Plumbing(db, root, run_root).remove_all()
    finally:
        db.close()
