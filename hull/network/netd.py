"""The resolver process of one engine root: embedded DNS for every container on a
user-defined network, and the sockets that hold published host ports.

One small asyncio process serves all containers, so no container needs a process of its own.
For each container it opens a UDP and a TCP socket on 127.0.0.11 *inside the container's
network namespace* (entering it with ``setns`` just to create them) and installs a DNAT rule
there sending 127.0.0.11:53 to them.  Names come from the database: a container sees the
names and aliases of the containers sharing one of its user-defined networks; other names
are forwarded to its ``--dns`` servers or the host's resolvers.

Published ports are DNATed by the kernel; this process only keeps each host port bound (and
listening), so no other program can take it while the container runs, and a port already
used on the host is reported to the starting container.

The process starts on demand (:mod:`hull.network.netd_client`), re-reads the database when
asked to ``sync``, and leaves as soon as it has nothing to serve.
Usage: ``python -m hull.network.netd ROOT RUN_ROOT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import struct
import sys
from typing import Any

from hull.network import dnswire
from hull.network.netd_client import directory, socket_path
from hull.record import field, record

FORWARD_TIMEOUT = 2.0


@record
class Names:
    """Who can resolve whom: built from the database when it changed."""

    networks_of: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # cid->(nid,name)
    by_network: dict[str, dict[str, list[str]]] = field(default_factory=dict)   # nid->name->ips
    ptr: dict[tuple[str, str], str] = field(default_factory=dict)              # (nid, ip)->name
    upstreams: dict[str, list[str]] = field(default_factory=dict)
    external: dict[str, bool] = field(default_factory=dict)


def load_names(db: Any) -> Names:
    names = Names()
    rows = db.query(
        "SELECT e.container_id, e.network_id, e.address, e.config, c.name AS cname,"
        " n.name AS nname, n.internal, n.data AS ndata,"
        " json_extract(c.data, '$.HostConfig.Dns') AS dns FROM endpoints e"
        " JOIN containers c ON c.id = e.container_id JOIN networks n ON n.id = e.network_id"
        " WHERE e.address IS NOT NULL AND n.driver = 'bridge'")
    for r in rows:
        cid, nid = r["container_id"], r["network_id"]
        if not r["internal"]:
            names.external[cid] = True
        names.external.setdefault(cid, False)
        names.upstreams[cid] = list(json.loads(r["dns"] or "null") or [])
        if json.loads(r["ndata"] or "{}").get("Predefined"):
            continue
        names.networks_of.setdefault(cid, []).append((nid, r["nname"].lower()))
        config = json.loads(r["config"] or "{}")
        table = names.by_network.setdefault(nid, {})
        for name in [r["cname"], *(config.get("Aliases") or []), cid[:12]]:
            table.setdefault(name.lower(), []).append(r["address"])
        names.ptr[(nid, r["address"])] = f"{r['cname']}.{r['nname']}"
    return names


def host_nameservers() -> list[str]:
    servers = []
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 1 and fields[0] == "nameserver":
                    servers.append(fields[1])
    except OSError:
        pass
    return servers


class Resolver:
    """Local answers for one container, else forwarding."""

    def __init__(self, daemon: Daemon, container_id: str) -> None:
        self.daemon = daemon
        self.cid = container_id

    def local(self, q: dnswire.Question) -> bytes | None:
        names = self.daemon.names()
        nets = names.networks_of.get(self.cid, [])
        if q.qclass != dnswire.CLASS_IN:
            return None
        if q.qtype == dnswire.PTR and q.name.endswith(".in-addr.arpa"):
            ip = ".".join(reversed(q.name[:-len(".in-addr.arpa")].split(".")))
            for nid, _ in nets:
                if (nid, ip) in names.ptr:
                    return dnswire.answer(q, ptr=names.ptr[(nid, ip)])
            return None
        if q.qtype not in (dnswire.A, dnswire.AAAA):
            return None
        found: list[str] = []
        for nid, netname in nets:
            table = names.by_network.get(nid, {})
            if q.name in table:
                found = table[q.name]
                break
            if q.name.endswith("." + netname) and q.name[:-len(netname) - 1] in table:
                found = table[q.name[:-len(netname) - 1]]
                break
        if not found:
            return None
        if q.qtype == dnswire.AAAA:
            return dnswire.answer(q)
        return dnswire.answer(q, addresses=[socket.inet_aton(a) for a in found])

    def upstreams(self) -> list[str] | None:
        names = self.daemon.names()
        if not names.external.get(self.cid, False):
            return None
        return names.upstreams.get(self.cid) or host_nameservers()

    async def resolve(self, packet: bytes, tcp: bool) -> bytes | None:
        q = dnswire.parse_query(packet)
        if q is None:
            return None
        local = self.local(q)
        if local is not None:
            return local
        servers = self.upstreams()
        if servers:
            reply = await (_forward_tcp(packet, servers) if tcp else
                           _forward_udp(packet, servers))
            if reply is not None:
                return reply
        return dnswire.answer(q, rcode=dnswire.SERVFAIL)


async def _forward_udp(packet: bytes, servers: list[str]) -> bytes | None:
    loop = asyncio.get_running_loop()
    for server in servers:
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            try:
                await loop.sock_connect(s, (server, 53))
                await loop.sock_sendall(s, packet)
                return await asyncio.wait_for(loop.sock_recv(s, 65535), FORWARD_TIMEOUT)
            except (TimeoutError, OSError):
                continue
    return None


async def _forward_tcp(packet: bytes, servers: list[str]) -> bytes | None:
    for server in servers:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(server, 53),
                                                    FORWARD_TIMEOUT)
        except (TimeoutError, OSError):
            continue
        try:
            writer.write(struct.pack("!H", len(packet)) + packet)
            size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2),
                                                              FORWARD_TIMEOUT))[0]
            return await asyncio.wait_for(reader.readexactly(size), FORWARD_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            continue
        finally:
            writer.close()
    return None


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Future] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        task = asyncio.ensure_future(self._reply(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _reply(self, data: bytes, addr: Any) -> None:
        reply = await self.resolver.resolve(data, tcp=False)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


@record
class ContainerDns:
    udp: asyncio.DatagramTransport
    tcp: asyncio.base_events.Server

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


class Daemon:
    def __init__(self, root: str, run_root: str) -> None:
        from hull.state.db import Database

        self.root = root
        self.run_root = run_root
        self.db = Database(os.path.join(root, "hull.db"))
        self.dns: dict[str, ContainerDns] = {}
        self.holders: dict[tuple[str, str, int], tuple[str, socket.socket]] = {}
        self._names = Names()
        self._names_version = -1
        self.stopping = asyncio.Event()

    def names(self) -> Names:
        version = self.db.query_one("PRAGMA data_version")[0]
        if version != self._names_version:
            self._names = load_names(self.db)
            self._names_version = version
        return self._names

    # ---- sync ----------------------------------------------------------------------------

    async def sync(self) -> dict[str, str]:
        self._names_version = -1
        errors: dict[str, str] = {}
        wanted_dns = {r["container_id"] for r in self.db.query(
            "SELECT DISTINCT e.container_id FROM endpoints e JOIN networks n ON"
            " n.id = e.network_id WHERE e.address IS NOT NULL AND n.driver = 'bridge' AND"
            " json_extract(n.data, '$.Predefined') IS NOT 1")}
        for cid in list(self.dns):
            if cid not in wanted_dns:
                self.dns.pop(cid).close()
        for cid in wanted_dns - set(self.dns):
            try:
                self.dns[cid] = await self._open_dns(cid)
            except OSError as e:
                errors[cid] = f"embedded DNS: {e.strerror or e}"
            except Exception as e:
                errors[cid] = f"embedded DNS: {e}"
        wanted_ports = {(r["proto"], r["host_ip"], r["host_port"]): r["container_id"]
                        for r in self.db.query("SELECT * FROM port_bindings")}
        for key in list(self.holders):
            if key not in wanted_ports or wanted_ports[key] != self.holders[key][0]:
                self._unhold(key)
        for key, cid in wanted_ports.items():
            if key in self.holders:
                continue
            try:
                self.holders[key] = (cid, self._hold(*key))
            except OSError:
                proto, ip, port = key
                errors[cid] = (f"driver failed programming external connectivity on endpoint:"
                               f" Bind for {ip}:{port} failed: port is already allocated")
        return errors

    async def _open_dns(self, cid: str) -> ContainerDns:
        from hull.network import nftables
        from hull.network.netlink import entered
        from hull.network.rules import dns_redirect

        netns = os.path.join(self.run_root, "netns", cid)
        loop = asyncio.get_running_loop()
        with entered(netns):
            udp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                udp_sock.bind(("127.0.0.11", 0))
                tcp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp_sock.bind(("127.0.0.11", 0))
                tcp_sock.listen(64)
                nftables.run(dns_redirect(udp_sock.getsockname()[1],
                                          tcp_sock.getsockname()[1]))
            except BaseException:
                udp_sock.close()
                tcp_sock.close()
                raise
        resolver = Resolver(self, cid)
        udp, _ = await loop.create_datagram_endpoint(lambda: _UdpServer(resolver),
                                                     sock=udp_sock)

        async def serve_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    size = struct.unpack("!H", await reader.readexactly(2))[0]
                    reply = await resolver.resolve(await reader.readexactly(size), tcp=True)
                    if reply is None:
                        break
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
            except (asyncio.IncompleteReadError, OSError):
                pass
            finally:
                writer.close()

        tcp = await asyncio.start_server(serve_tcp, sock=tcp_sock)
        return ContainerDns(udp, tcp)

    def _hold(self, proto: str, ip: str, port: int) -> socket.socket:
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, port))
            if kind == socket.SOCK_STREAM:
                s.listen(8)
            s.setblocking(False)
        except BaseException:
            s.close()
            raise
        asyncio.get_running_loop().add_reader(s.fileno(), _drain, s)
        return s

    def _unhold(self, key: tuple[str, str, int]) -> None:
        _, s = self.holders.pop(key)
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(s.fileno())
        s.close()

    def idle(self) -> bool:
        return not self.dns and not self.holders

    # ---- control socket ------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request: dict[str, Any] = {}
        try:
            line = await reader.readline()
            request = json.loads(line or b"{}")
            reply: dict[str, Any] = {"ok": True}
            if request.get("op") == "sync":
                reply["errors"] = await self.sync()
            elif request.get("op") == "status":
                reply.update(containers=sorted(self.dns), ports=len(self.holders),
                             rss_kb=_rss_kb())
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (OSError, ValueError):
            pass
        finally:
            writer.close()
        if request.get("op") == "sync" and self.idle():
            self.try_stop()

    def try_stop(self) -> None:
        """Leave when idle, unless a client is just starting a new process (lock held)."""
        lock = os.open(os.path.join(directory(self.run_root), "netd.lock"),
                       os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            return
        self._lock = lock  # held until the process exits
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path(self.run_root))
        self.stopping.set()


def _drain(s: socket.socket) -> None:
    """Nothing should arrive (the kernel DNATs it away); refuse whatever does."""
    try:
        if s.type == socket.SOCK_STREAM:
            conn, _ = s.accept()
            conn.close()
        else:
            s.recv(65535)
    except OSError:
        pass


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def serve(root: str, run_root: str) -> None:
    daemon = Daemon(root, run_root)
    path = socket_path(run_root)
    os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    if len(path.encode()) < 100:
        server = await asyncio.start_unix_server(daemon.handle, path=path)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
        sock.bind(f"/proc/self/fd/{fd}/{os.path.basename(path)}")
        os.close(fd)
        server = await asyncio.start_unix_server(daemon.handle, sock=sock)
    pid_file = os.path.join(directory(run_root), "netd.pid")
    with open(pid_file, "w") as f:
        f.write(f"{os.getpid()}\n")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.stopping.set)
    async with server:
        await daemon.stopping.wait()
    for cid in list(daemon.dns):
        daemon.dns.pop(cid).close()
    for key in list(daemon.holders):
        daemon._unhold(key)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pid_file)


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    asyncio.run(serve(argv[0], argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
