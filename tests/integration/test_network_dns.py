"""Name resolution and isolation on user-defined networks, through the real CLI: the
embedded DNS at 127.0.0.11, aliases, forwarding to upstream resolvers, and what the default
bridge and internal networks do differently."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from tests.integration.test_network_support import (
    NetEnv,
    assert_clean,
    httpd_cmd,
    net_fixture,  # noqa: F401 - the net fixture
    netd_running,
)


def _wait_web(net: NetEnv, network: str, name: str, port: int) -> None:
    net.ok("run", "--rm", "--network", network, "busybox", "sh", "-c",
           f"for i in $(seq 50); do nc -w 1 {name} {port} </dev/null && exit 0; sleep 0.1;"
           " done; exit 1")


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[str]]]:
    """A fake upstream resolver on 127.213.0.53:53 answering every A query with 10.99.0.7."""
    address = "127.213.0.53"
    seen: list[str] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((address, 53))
    except OSError as e:
        sock.close()
        pytest.skip(f"cannot bind a fake resolver on {address}:53: {e}")
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            end = data.index(b"\0", 12) + 5
            labels, pos = [], 12
            while data[pos]:
                labels.append(data[pos + 1:pos + 1 + data[pos]].decode())
                pos += 1 + data[pos]
            seen.append(".".join(labels))
            qtype = struct.unpack_from("!H", data, end - 4)[0]
            answers = b""
            if qtype == 1:
                answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(
                    "10.99.0.7")
            header = struct.pack("!HHHHHH", struct.unpack_from("!H", data)[0], 0x8180, 1,
                                 1 if answers else 0, 0, 0)
            sock.sendto(header + data[12:end] + answers, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield address, seen
    finally:
        stop.set()
        thread.join()
        sock.close()


def test_containers_talk_by_name_and_other_networks_cannot(
        net: NetEnv, upstream: tuple[str, list[str]]) -> None:
    resolver, _ = upstream  # names not found locally go here, never off the host
    net.ok("network", "create", "--subnet", net.subnet(0), "front")
    net.ok("network", "create", "--subnet", net.subnet(1), "other")
    net.ok("run", "-d", "--name", "web", "--network", "front", "--network-alias", "www",
           "busybox", *httpd_cmd("hello-from-web", 8080))
    _wait_web(net, "front", "web", 8080)
    out = net.ok("run", "--rm", "--network", "front", "busybox", "sh", "-c",
                 "wget -qO- http://web:8080/ && wget -qO- http://www:8080/ &&"
                 " wget -qO- http://web.front:8080/ && cat /etc/resolv.conf")
    lines = out.splitlines()
    assert lines[:3] == ["hello-from-web"] * 3
    assert "nameserver 127.0.0.11" in lines
    assert "options ndots:0" in lines
    web_ip = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["Networks"]["front"][
        "IPAddress"]
    assert web_ip.startswith(net.subnet(0).rsplit(".", 1)[0] + ".")
    # another network: no name, and no route to the address either
    proc = net.run("run", "--rm", "--network", "other", "--dns", resolver, "busybox", "sh",
                   "-c", "nslookup -type=a web 127.0.0.11; nc -w 2 " + web_ip +
                   " 8080 </dev/null; echo nc=$?")
    assert "nc=1" in proc.stdout
    assert web_ip not in proc.stdout
    assert "10.99.0.7" in proc.stdout  # the fake upstream's answer, not the container's
    net.ok("rm", "-f", "web")
    assert not netd_running(net)  # the resolver leaves with its last container
    net.ok("network", "rm", "front", "other")
    assert_clean(net)


def test_other_names_are_forwarded_upstream(net: NetEnv, upstream: tuple[str, list[str]]
                                            ) -> None:
    address, seen = upstream
    net.ok("network", "create", "--subnet", net.subnet(2), "fwd")
    out = net.ok("run", "--rm", "--network", "fwd", "--dns", address, "busybox", "nslookup",
                 "-type=a", "example.test", "127.0.0.11")
    assert "10.99.0.7" in out
    assert "example.test" in seen


def test_internal_network_has_no_route_out(net: NetEnv) -> None:
    net.ok("network", "create", "--internal", "--subnet", net.subnet(3), "inside")
    out = net.ok("run", "--rm", "--network", "inside", "busybox", "ip", "route")
    assert "default" not in out
    assert net.subnet(3) in out
    doc = json.loads(net.ok("network", "inspect", "inside"))[0]
    assert doc["Internal"] is True


def test_default_bridge_has_no_names_but_hosts_and_links(net: NetEnv) -> None:
    net.ok("run", "-d", "--name", "db", "busybox", *httpd_cmd("db-here", 5432))
    out = net.ok("run", "--rm", "--link", "db:database", "--add-host", "extra.test:10.1.2.3",
                 "busybox", "sh", "-c", "cat /etc/hosts /etc/resolv.conf;"
                 " wget -qO- http://database:5432/")
    assert "10.1.2.3\textra.test" in out
    assert "nameserver 127.0.0.11" not in out
    db_ip = json.loads(net.ok("inspect", "db"))[0]["NetworkSettings"]["IPAddress"]
    assert f"{db_ip}\tdatabase" in out
    assert out.strip().endswith("db-here")
    proc = net.run("run", "--rm", "busybox", "nslookup", "db", "127.0.0.11")
    assert proc.returncode != 0


def test_ip_and_mac_address(net: NetEnv) -> None:
    net.ok("network", "create", "--subnet", net.subnet(4), "--ip-range",
           net.subnet(4).replace(".0/24", ".128/25"), "fixed")
    ip = net.address(4, 77)
    out = net.ok("run", "--rm", "--network", "fixed", "--ip", ip, "--mac-address",
                 "02:42:aa:bb:cc:dd", "busybox", "ip", "addr", "show", "eth0")
    assert f"inet {ip}/24" in out
    assert "02:42:aa:bb:cc:dd" in out
    out = net.ok("run", "--rm", "--network", "fixed", "busybox", "ip", "addr", "show", "eth0")
    assert f"inet {net.address(4, 128)}/24" in out  # first address of the --ip-range
    proc = net.run("run", "--rm", "--network", "fixed", "--ip", "10.250.0.9", "busybox", "true")
    assert proc.returncode == 125
    assert "not a usable address of subnet" in proc.stderr
    assert net.ok("ps", "-aq") == ""


def test_concurrent_runs_get_distinct_addresses(net: NetEnv) -> None:
    import concurrent.futures

    net.ok("network", "create", "--subnet", net.subnet(5), "busy")

    def start(i: int) -> str:
        return net.ok("run", "-d", "--name", f"c{i}", "--network", "busy", "busybox", "sleep",
                      "60").strip()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(start, range(8)))
    addresses = [json.loads(net.ok("inspect", cid))[0]["NetworkSettings"]["Networks"]["busy"][
        "IPAddress"] for cid in ids]
    assert len(set(addresses)) == 8
    assert all(a.startswith(net.subnet(5).rsplit(".", 1)[0]) for a in addresses)
