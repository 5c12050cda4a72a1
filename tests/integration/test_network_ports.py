"""Published ports through the real CLI: Docker's -p forms, the kernel DNAT path on loopback,
on a host address and from other containers, release on stop, and conflicts."""

from __future__ import annotations

import json
import socket

import pytest

from tests.integration.test_network_support import (
    NetEnv,
    assert_clean,
    http_get,
    httpd_cmd,
    net_fixture,  # noqa: F401 - the net fixture
    nft_tables,
    own_links,
    wait_http,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gateway(env: NetEnv, network: str = "bridge") -> str:
    doc = json.loads(env.ok("network", "inspect", network))[0]
    return doc["IPAM"]["Config"][0]["Gateway"]


def test_four_containers_answer_on_their_own_ports(net: NetEnv) -> None:
    base = 3000
    for i in range(4):
        net.ok("run", "-d", "--name", f"app{i}", "-p", f"{base + i}:8080", "busybox",
               *httpd_cmd(f"app{i}", 8080))
    gateway = _gateway(net)
    for i in range(4):
        assert wait_http(f"http://127.0.0.1:{base + i}/").strip() == f"app{i}"
        assert http_get(f"http://{gateway}:{base + i}/").strip() == f"app{i}"
    ps = net.ok("ps", "--format", "{{.Names}} {{.Ports}}")
    for i in range(4):
        assert f"app{i} 0.0.0.0:{base + i}->8080/tcp" in ps
    assert net.ok("port", "app2").strip() == f"8080/tcp -> 0.0.0.0:{base + 2}"
    assert net.ok("port", "app3", "8080").strip() == f"0.0.0.0:{base + 3}"
    # another container reaches a published port through the host's address (hairpin)
    out = net.ok("run", "--rm", "busybox", "wget", "-qO-", f"http://{gateway}:{base + 1}/")
    assert out.strip() == "app1"
    net.ok("rm", "-f", "app0", "app1", "app2", "app3")
    with pytest.raises(OSError):
        http_get(f"http://127.0.0.1:{base}/", timeout=1)
    assert_clean(net)  # the last container took its veth and port rules along


def test_port_released_on_stop_and_taken_again_on_start(net: NetEnv) -> None:
    port = _free_port()
    net.ok("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", "busybox",
           *httpd_cmd("again", 80))
    assert wait_http(f"http://127.0.0.1:{port}/").strip() == "again"
    net.ok("stop", "-t", "1", "web")
    with socket.socket() as s:  # nothing holds the port any more
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    assert json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["Ports"] == {}
    net.ok("start", "web")
    assert wait_http(f"http://127.0.0.1:{port}/").strip() == "again"
    ports = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["Ports"]
    assert ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}


def test_port_already_allocated_leaves_nothing_behind(net: NetEnv) -> None:
    port = _free_port()
    net.ok("run", "-d", "--name", "first", "-p", f"{port}:80", "busybox",
           *httpd_cmd("first", 80))
    before = own_links(net)
    with net.db() as conn:
        rows_before = conn.execute("SELECT COUNT(*) FROM endpoints WHERE address IS NOT NULL"
                                   ).fetchone()[0]
    proc = net.run("run", "-d", "--name", "second", "-p", f"{port}:80", "busybox", "sleep", "9")
    assert proc.returncode == 125
    assert proc.stderr.strip() == (f"Error: driver failed programming external connectivity on"
                                   f" endpoint: Bind for 0.0.0.0:{port} failed: port is"
                                   " already allocated")
    assert json.loads(net.ok("inspect", "second"))[0]["State"]["Running"] is False
    assert own_links(net) == before
    with net.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM endpoints WHERE address IS NOT NULL"
                            ).fetchone()[0] == rows_before
        assert conn.execute("SELECT COUNT(*) FROM port_bindings").fetchone()[0] == 1
    # a port a host program holds is refused the same way
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen(1)
        taken = holder.getsockname()[1]
        proc = net.run("run", "-d", "-p", f"{taken}:80", "busybox", "sleep", "9")
        assert proc.returncode == 125
        assert f"Bind for 0.0.0.0:{taken} failed: port is already allocated" in proc.stderr
    assert wait_http(f"http://127.0.0.1:{port}/").strip() == "first"


def test_ranges_random_ports_and_publish_all(net: NetEnv) -> None:
    low = _free_port()
    while True:  # three consecutive free ports
        try:
            socks = [socket.create_server(("0.0.0.0", low + i)) for i in range(3)]
        except OSError:
            low = _free_port()
            continue
        for s in socks:
            s.close()
        break
    net.ok("run", "-d", "--name", "ranged", "-p", f"{low}-{low + 2}:80-82", "busybox", "sh",
           "-c", "for p in 80 81 82; do mkdir -p /w$p; echo port$p > /w$p/index.html;"
                 " httpd -p $p -h /w$p; done; exec sleep 300")
    for i in range(3):
        assert wait_http(f"http://127.0.0.1:{low + i}/").strip() == f"port{80 + i}"
    ps = net.ok("ps", "--format", "{{.Ports}}", "--filter", "name=ranged").strip()
    assert ps == f"0.0.0.0:{low}-{low + 2}->80-82/tcp"
    net.ok("run", "-d", "--name", "anyport", "-p", "8080", "--expose", "9090", "-P", "busybox",
           *httpd_cmd("random", 8080))
    mapping = net.ok("port", "anyport", "8080").strip()
    host_port = int(mapping.rsplit(":", 1)[1])
    assert wait_http(f"http://127.0.0.1:{host_port}/").strip() == "random"
    assert "9090/tcp -> 0.0.0.0:" in net.ok("port", "anyport")


def test_udp_port(net: NetEnv) -> None:
    """busybox has no UDP server, so a Python echo server runs in the container's network
    namespace (from inspect's SandboxKey); the datagram crosses the published port's DNAT."""
    import subprocess
    import sys

    port = _free_port()
    net.ok("run", "-d", "--name", "udp", "-p", f"127.0.0.1:{port}:5353/udp", "busybox",
           "sleep", "300")
    sandbox = json.loads(net.ok("inspect", "udp"))[0]["NetworkSettings"]["SandboxKey"]
    server = subprocess.Popen(
        ["nsenter", f"--net={sandbox}", sys.executable, "-c",
         "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
         "s.bind(('0.0.0.0',5353))\nprint('ready',flush=True)\n"
         "d,a=s.recvfrom(100)\ns.sendto(b'pong:'+d,a)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(b"ping", ("127.0.0.1", port))
            assert s.recv(100) == b"pong:ping"
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("spec, message", [
    ("abc:80", "Invalid hostPort: abc"),
    ("80/sctp", "Invalid proto: sctp"),
    ("1.2.3:80:80", "Invalid ip address: 1.2.3"),
    ("8000-8003:80-82", "Invalid ranges specified for container and host Ports: 80-82 and"
                        " 8000-8003"),
    ("99999", "Invalid containerPort: 99999"),
])
def test_malformed_publish(net: NetEnv, spec: str, message: str) -> None:
    proc = net.run("run", "--rm", "-p", spec, "busybox", "true")
    assert proc.returncode == 125
    assert proc.stderr.strip() == f"Error: {message}"
    assert net.ok("ps", "-aq") == ""


def test_publish_with_host_network_refused(net: NetEnv) -> None:
    proc = net.run("run", "--rm", "--network", "host", "-p", "80:80", "busybox", "true")
    assert proc.returncode == 125
    assert "port publishing and the container type network mode (host)" in proc.stderr


def test_rm_leaves_nothing_behind(net: NetEnv) -> None:
    net.ok("run", "-d", "--name", "xx", "-p", f"{_free_port()}:80", "busybox", "sleep", "60")
    assert own_links(net)
    assert net.table in nft_tables()
    net.ok("rm", "-f", "xx")
    assert_clean(net)
    with net.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM port_bindings").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM endpoints").fetchone()[0] == 0
