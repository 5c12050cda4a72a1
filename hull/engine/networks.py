"""The network service: Docker's networks (``network create/ls/inspect/rm/prune/connect/
disconnect``) and the container hooks that give containers their networking.

Networks and endpoints are rows in the database; :mod:`hull.network.plumbing` makes the host
match them when containers start and stop, and the resolver process
(:mod:`hull.network.netd`) serves names and holds published ports.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3

from hull.errors import Conflict, HullError, InvalidArgument, NotFound
from hull.network.model import Network

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from typing import Any

    from hull.engine import Engine
    from hull.engine.container_model import Container
    from hull.network import addresses as ipam
    from hull.network.plumbing import Plumbing

VALID_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
BRIDGE_ENV = "HULL_BRIDGE"


def default_bridge_name(root: str) -> str:
    """``hull0`` for the default root; other roots get their own so they never share one."""
    from hull.config import DEFAULT_ROOT

    name = os.environ.get(BRIDGE_ENV, "").strip()
    if name:
        return name
    if os.path.abspath(root) == DEFAULT_ROOT:
        return "hull0"
    import hashlib

    return "hull" + hashlib.sha256(os.path.abspath(root).encode()).hexdigest()[:8]


def _now() -> str:
    from hull.engine.container_model import rfc3339_nano

    return rfc3339_nano()


class NetworkService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = engine.db

    @property
    def plumbing(self) -> Plumbing:
        from hull.network.plumbing import Plumbing

        return Plumbing(self.db, self.engine.root, self.engine.run_root)

    # ---- predefined networks -------------------------------------------------------------

    def _ensure_predefined(self) -> None:
        if self.db.query_one("SELECT 1 FROM networks WHERE name = 'bridge'"):
            return
        from hull.network import addresses as ipam

        with self.db.transaction():
            if self.db.query_one("SELECT 1 FROM networks WHERE name = 'bridge'"):
                return
            subnet = ipam.pick_subnet(self._subnets())
            now = _now()
            for name, driver in (("bridge", "bridge"), ("host", "host"), ("none", "null")):
                values: dict[str, Any] = {"id": os.urandom(32).hex(), "name": name,
                                          "driver": driver, "created": now}
                if name == "bridge":
                    values.update(subnet=str(subnet), gateway=str(ipam.gateway_of(subnet)),
                                  bridge=default_bridge_name(self.engine.root))
                self._insert(values, {"Predefined": True})

    def _insert(self, values: dict[str, Any], data: dict[str, Any]) -> None:
        values = {"subnet": "", "gateway": "", "ip_range": "", "internal": 0, "bridge": "",
                  **values, "data": json.dumps(data)}
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        try:
            self.db.execute(f"INSERT INTO networks ({cols}) VALUES ({marks})",
                            tuple(values.values()))
        except sqlite3.IntegrityError:
            raise Conflict(f"network with name {values['name']} already exists") from None

    def _subnets(self) -> list[ipam.Net]:
        from hull.network import addresses as ipam

        return [ipam.parse_subnet(r["subnet"]) for r in
                self.db.query("SELECT subnet FROM networks WHERE subnet != ''")]

    # ---- lookups -------------------------------------------------------------------------

    def get(self, ref: str) -> Network:
        """By full id, name, then unique id prefix (Docker's order)."""
        self._ensure_predefined()
        text = ref.strip()
        row = self.db.query_one("SELECT * FROM networks WHERE id = ?", (text,)) or \
            self.db.query_one("SELECT * FROM networks WHERE name = ?", (text,))
        if row is None and text and all(c in "0123456789abcdef" for c in text):
            rows = self.db.query("SELECT * FROM networks WHERE id LIKE ? LIMIT 2",
                                 (text + "%",))
            if len(rows) > 1:
                raise Conflict(f"network {text} is ambiguous ({len(rows)} matches found"
                               " based on ID prefix)")
            row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"network {ref} not found")
        return Network.from_row(row)

    def all(self) -> list[Network]:
        self._ensure_predefined()
        return [Network.from_row(r) for r in self.db.query("SELECT * FROM networks")]

    def containers_of(self, net: Network) -> list[tuple[str, str]]:
        """(container id, name) of every container referencing the network."""
        return [(r["id"], r["name"]) for r in self.db.query(
            "SELECT c.id, c.name FROM endpoints e JOIN containers c ON c.id = e.container_id"
            " WHERE e.network_id = ? ORDER BY c.name", (net.id,))] + self._mode_users(net)

    def _mode_users(self, net: Network) -> list[tuple[str, str]]:
        if net.driver == "bridge":
            return []
        mode = "host" if net.driver == "host" else "none"
        return [(r["id"], r["name"]) for r in self.db.query(
            "SELECT id, name FROM containers WHERE"
            " json_extract(data, '$.HostConfig.NetworkMode') = ?", (mode,))]

    def inspect(self, ref: str) -> dict[str, Any]:
        from hull.network import addresses as ipam

        net = self.get(ref)
        containers = {}
        for r in self.db.query(
                "SELECT e.*, c.name FROM endpoints e JOIN containers c ON c.id = e.container_id"
                " WHERE e.network_id = ? AND e.address IS NOT NULL", (net.id,)):
            prefix = ipam.parse_subnet(net.subnet).prefixlen
            containers[r["container_id"]] = {
                "Name": r["name"], "EndpointID": r["endpoint_id"], "MacAddress": r["mac"],
                "IPv4Address": f"{r['address']}/{prefix}", "IPv6Address": ""}
        return net.resource(containers)

    def list(self, filters: dict[str, list[str]]) -> list[Network]:
        unknown = set(filters) - {"driver", "id", "label", "name", "scope", "type", "dangling"}
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        out = []
        for net in sorted(self.all(), key=lambda n: n.name):
            if not self._matches(net, filters):
                continue
            out.append(net)
        return out

    def _matches(self, net: Network, filters: dict[str, list[str]]) -> bool:
        checks = {
            "driver": lambda v: net.driver == v,
            "id": lambda v: net.id.startswith(v),
            "name": lambda v: v in net.name,
            "scope": lambda v: v == "local",
            "type": lambda v: _type_filter(v) == ("builtin" if net.predefined else "custom"),
            "dangling": lambda v: _bool_filter(v) == (not net.predefined and
                                                      not self.containers_of(net)),
        }
        for key, values in filters.items():
            if key == "label":
                if not all(_label_matches(net.labels, v) for v in values):
                    return False
                continue
            if not any(checks[key](v) for v in values):
                return False
        return True

    # ---- create / remove -----------------------------------------------------------------

    def create(self, name: str, driver: str = "bridge", subnet: str | None = None,
               gateway: str | None = None, ip_range: str | None = None, internal: bool = False,
               labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None) -> Network:
        """``docker network create``: a bridge network (the bridge itself appears when the
        first container attaches)."""
        from hull.network import addresses as ipam

        self._ensure_predefined()
        if not VALID_NAME.match(name):
            raise InvalidArgument(f"invalid network name {name!r}: only [a-zA-Z0-9]"
                                  "[a-zA-Z0-9_.-] are allowed")
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        if (gateway or ip_range) and not subnet:
            raise InvalidArgument("a gateway or ip-range needs --subnet")
        options = dict(options or {})
        with self.db.transaction():
            if self.db.query_one("SELECT 1 FROM networks WHERE name = ?", (name,)):
                raise Conflict(f"network with name {name} already exists")
            if subnet:
                net = ipam.parse_subnet(subnet)
                clash = ipam.overlapping(net, self._subnets())
                if clash is not None:
                    raise Conflict(f"Pool overlaps with other one on this address space:"
                                   f" {net} overlaps {clash}")
            else:
                net = ipam.pick_subnet(self._subnets())
            gw = ipam.parse_address(gateway, "gateway") if gateway else ipam.gateway_of(net)
            ipam.check_inside(gw, net, "gateway")
            rng = ""
            if ip_range:
                r = ipam.parse_subnet(ip_range)
                if not r.subnet_of(net):
                    raise InvalidArgument(f"ip-range {r} is not inside subnet {net}")
                rng = str(r)
            nid = os.urandom(32).hex()
            bridge = options.get("com.docker.network.bridge.name") or "hl-" + nid[:12]
            if len(bridge) > 15:
                raise InvalidArgument(f"bridge name {bridge} is longer than 15 characters")
            if self.db.query_one("SELECT 1 FROM networks WHERE bridge = ?", (bridge,)):
                raise Conflict(f"bridge name {bridge} is used by another network")
            self._insert({"id": nid, "name": name, "driver": driver, "created": _now(),
                          "subnet": str(net), "gateway": str(gw), "ip_range": rng,
                          "internal": int(internal), "bridge": bridge},
                         {"Labels": labels or {}, "Options": options})
        return self.get(nid)

    def remove(self, ref: str) -> Network:
        net = self.get(ref)
        if net.predefined:
            raise Conflict(f"{net.name} is a pre-defined network and cannot be removed")
        users = self.containers_of(net)
        if users:
            names = ", ".join(name for _, name in users)
            raise Conflict(f"error while removing network: network {net.name} id {net.id}"
                           f" has active endpoints (containers: {names})")
        self.plumbing.remove_bridge(net)
        with self.db.transaction():
            self.db.execute("DELETE FROM networks WHERE id = ?", (net.id,))
        return net

    def prune(self, filters: dict[str, list[str]]) -> list[str]:
        from hull.engine.container_model import parse_time
        from hull.engine.container_query import until_cutoffs

        unknown = set(filters) - {"until", "label", "label!"}
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        cutoffs = until_cutoffs(filters.get("until", []))
        removed = []
        for net in sorted(self.all(), key=lambda n: n.name):
            if net.predefined or self.containers_of(net):
                continue
            if any(parse_time(net.created) >= cut for cut in cutoffs):
                continue
            if not all(_label_matches(net.labels, v) for v in filters.get("label", [])):
                continue
            if any(_label_matches(net.labels, v) for v in filters.get("label!", [])):
                continue
            try:
                self.remove(net.id)
            except HullError:
                continue
            removed.append(net.name)
        return removed

    # ---- containers: create time ---------------------------------------------------------

    def validate_mode(self, mode: str) -> None:
        """NetworkMode of a new container: default, bridge, none, host, container:NAME or a
        network's name or id."""
        if mode in ("default", "bridge", "none", "host"):
            return
        if mode.startswith("container:"):
            raise InvalidArgument("--network container:NAME is not supported yet")
        self.get(mode)

    def register(self, container_id: str, host_config: dict[str, Any],
                 config: dict[str, Any], endpoint: dict[str, Any] | None = None) -> None:
        """Record the container's endpoint on its network (``endpoint``: Docker's
        EndpointSettings: Aliases, IPAMConfig.IPv4Address, MacAddress)."""
        from hull.engine.container_store import ContainerStore

        mode = host_config.get("NetworkMode") or "default"
        endpoint = dict(endpoint or {})
        mac = config.get("MacAddress") or endpoint.get("MacAddress") or ""
        if mac:
            from hull.network import addresses as ipam

            endpoint["MacAddress"] = ipam.parse_mac(mac)
        if mode in ("none", "host"):
            if endpoint.get("Aliases") or (endpoint.get("IPAMConfig") or {}).get("IPv4Address"):
                raise InvalidArgument("network-scoped aliases and --ip need a user-defined"
                                      " network")
            net = self.get(mode)
            ContainerStore(self.db).update(container_id, lambda c: c.data[
                "NetworkSettings"].update(Networks={mode: {"NetworkID": net.id}}))
            return
        net = self.get("bridge" if mode == "default" else mode)
        self._check_endpoint(net, endpoint)
        links = list(host_config.get("Links") or [])
        if links and not net.predefined:
            raise InvalidArgument("--link is only supported on the default bridge network;"
                                  " containers on user-defined networks resolve each other"
                                  " by name")
        if links:
            endpoint["Links"] = links
        with self.db.transaction():
            self.db.execute("INSERT INTO endpoints (network_id, container_id, config,"
                            " position) VALUES (?, ?, ?, 0)",
                            (net.id, container_id, json.dumps(endpoint)))
            self.plumbing.record(container_id, None)

    def _check_endpoint(self, net: Network, endpoint: dict[str, Any]) -> None:
        from hull.network import addresses as ipam

        ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address") or ""
        if endpoint.get("Aliases") and net.predefined:
            raise InvalidArgument("network-scoped alias is supported only for containers in"
                                  " user defined networks")
        if ip:
            if net.predefined:
                raise InvalidArgument("user specified IP address is supported on user defined"
                                      " networks only")
            ipam.check_inside(ipam.parse_address(ip), ipam.parse_subnet(net.subnet),
                              "requested address")

    # ---- containers: start / stop --------------------------------------------------------

    def attach(self, c: Container, netns: str) -> None:
        """Plug a starting container into its networks; on error nothing is left behind."""
        if not self.db.query_one("SELECT 1 FROM endpoints WHERE container_id = ?", (c.id,)):
            return  # none, host or a joined network: nothing to plug in (nor to import)
        plumbing = self.plumbing
        plumbing.attach(c.id, netns)
        try:
            self._serve(c.id)
            self._write_files(c.id)
        except BaseException:
            plumbing.detach(c.id)
            self._notify()
            raise

    def detach(self, container_id: str) -> None:
        self.plumbing.detach(container_id)
        self._notify()

    def _needs_resolver(self, container_id: str) -> bool:
        if self.db.query_one("SELECT 1 FROM port_bindings WHERE container_id = ?",
                             (container_id,)):
            return True
        return any(ep.network.user_defined and ep.address
                   for ep in self.plumbing.endpoints(container_id))

    def _serve(self, container_id: str) -> None:
        """Ask the resolver process for this container's DNS sockets and port holders."""
        from hull.network import netd_client

        if not self._needs_resolver(container_id):
            return
        errors = netd_client.sync(self.engine.root, self.engine.run_root, spawn=True)
        message = errors.get(container_id)
        if message:
            raise InvalidArgument(message, exit_code=125)

    def _notify(self) -> None:
        from hull.network import netd_client

        netd_client.sync(self.engine.root, self.engine.run_root, spawn=False)

    def _write_files(self, container_id: str) -> None:
        from hull.engine.container_files import hosts_content
        from hull.network import etcfiles

        c = self.engine.containers.store.get(container_id)
        eps = [e for e in self.plumbing.endpoints(container_id) if e.address]
        hc = c.host_config
        hostname = c.config.get("Hostname") or c.id[:12]
        base = hosts_content(hostname, hc.get("NetworkMode") or "default",
                             list(hc.get("ExtraHosts") or []))
        links = self._links(eps)
        etcfiles.write(c.data.get("HostsPath") or "",
                       etcfiles.hosts_text(base, hostname, [str(e.address) for e in eps], links))
        if any(e.network.user_defined for e in eps):
            try:
                with open("/etc/resolv.conf") as f:
                    host = f.read()
            except OSError:
                host = ""
            etcfiles.write(c.data.get("ResolvConfPath") or "", etcfiles.embedded_resolv(
                host, list(hc.get("DnsSearch") or []), list(hc.get("DnsOptions") or [])))

    def _links(self, eps: list[Any]) -> list[tuple[str, str, str, str]]:
        out = []
        for ep in eps:
            for link in ep.config.get("Links") or []:
                target, _, alias = link.partition(":")
                try:
                    other = self.engine.containers.store.find(target.lstrip("/"))
                except NotFound:
                    raise NotFound(f"could not get container for {target}") from None
                row = self.db.query_one("SELECT address FROM endpoints WHERE container_id = ?"
                                        " AND network_id = ? AND address IS NOT NULL",
                                        (other.id, ep.network.id))
                if row is None:
                    raise Conflict(f"Cannot link to a non running container: /{other.name} AS"
                                   f" /{alias or other.name}")
                out.append((row["address"], alias.split("/")[-1] or other.name, other.id[:12],
                            other.name))
        return out

    # ---- connect / disconnect ------------------------------------------------------------

    def connect(self, network_ref: str, container_ref: str, aliases: list[str] | None = None,
                ip: str | None = None) -> None:
        net = self.get(network_ref)
        c = self.engine.containers.get(container_ref)
        mode = c.host_config.get("NetworkMode") or "default"
        if not net.is_bridge or mode in ("host", "none"):
            raise Conflict("container sharing network namespace with host or none cannot be"
                           " connected to any other network")
        endpoint: dict[str, Any] = {}
        if aliases:
            endpoint["Aliases"] = list(aliases)
        if ip:
            endpoint["IPAMConfig"] = {"IPv4Address": ip}
        self._check_endpoint(net, endpoint)
        with self.db.transaction():
            if self.db.query_one("SELECT 1 FROM endpoints WHERE network_id = ? AND"
                                 " container_id = ?", (net.id, c.id)):
                raise Conflict(f"endpoint with name {c.name} already exists in network"
                               f" {net.name}")
            row = self.db.query_one("SELECT MAX(position) AS p FROM endpoints WHERE"
                                    " container_id = ?", (c.id,))
            position = (row["p"] if row and row["p"] is not None else -1) + 1
            self.db.execute("INSERT INTO endpoints (network_id, container_id, config,"
                            " position) VALUES (?, ?, ?, ?)",
                            (net.id, c.id, json.dumps(endpoint), position))
        netns = self.plumbing.netns_path(c.id)
        if not (c.running and os.path.exists(netns)):
            self.plumbing.record(c.id, None)
            return
        try:
            self.plumbing.attach(c.id, netns, only=net.id)
            self._serve(c.id)
            self._write_files(c.id)
        except BaseException:
            self.plumbing.detach(c.id, only=net.id)
            with self.db.transaction():
                self.db.execute("DELETE FROM endpoints WHERE network_id = ? AND"
                                " container_id = ?", (net.id, c.id))
            self.plumbing.record(c.id, netns)
            raise

    def disconnect(self, network_ref: str, container_ref: str, force: bool = False) -> None:
        net = self.get(network_ref)
        c = self.engine.containers.get(container_ref)
        if not self.db.query_one("SELECT 1 FROM endpoints WHERE network_id = ? AND"
                                 " container_id = ?", (net.id, c.id)):
            raise Conflict(f"container {c.id} is not connected to network {net.name}")
        netns = self.plumbing.netns_path(c.id)
        running = c.running and os.path.exists(netns)
        if running:
            self.plumbing.detach(c.id, only=net.id)
        with self.db.transaction():
            self.db.execute("DELETE FROM endpoints WHERE network_id = ? AND container_id = ?",
                            (net.id, c.id))
        self.plumbing.record(c.id, netns if running else None)
        if running:
            self._notify()
            self._write_files(c.id)

    def remove_host_networking(self) -> None:
        """Take this root's bridges and nftables table off the host.  The default bridge
        stays between containers (like docker0); this is for removing a root or an
        installation, with its containers stopped."""
        self.plumbing.remove_all()

    # ---- ports ---------------------------------------------------------------------------

    def ports(self, container_id: str) -> list[tuple[str, str, int, int]]:
        """(proto, host ip, host port, container port) of a running container."""
        return [(r["proto"], r["host_ip"], r["host_port"], r["container_port"])
                for r in self.db.query("SELECT * FROM port_bindings WHERE container_id = ?"
                                       " ORDER BY container_port, proto, host_port",
                                       (container_id,))]


def _label_matches(labels: dict[str, str], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _type_filter(value: str) -> str:
    if value not in ("custom", "builtin"):
        raise InvalidArgument(f"invalid filter: 'type'='{value}'")
    return value


def _bool_filter(value: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise InvalidArgument(f"invalid filter 'dangling={value}'")
