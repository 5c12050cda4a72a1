"""``hull network`` commands through the real CLI: create/ls/inspect/rm/prune with Docker's
flags and output, connect/disconnect on running containers, and bad input."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_network_support import (
    NetEnv,
    assert_clean,
    httpd_cmd,
    net_fixture,  # noqa: F401 - the net fixture
    own_links,
)


def test_create_ls_inspect_rm(net: NetEnv) -> None:
    nid = net.ok("network", "create", "--subnet", net.subnet(0), "--gateway",
                 net.address(0, 254), "--label", "team=a", "alpha").strip()
    assert len(nid) == 64
    net.ok("network", "create", "-d", "bridge", "--internal", "beta")
    table = net.ok("network", "ls").splitlines()
    assert table[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    names = [line.split()[1] for line in table[1:]]
    assert names == ["alpha", "beta", "bridge", "host", "none"]
    assert net.ok("network", "ls", "-q", "--filter", "label=team=a").split() == [nid[:12]]
    assert net.ok("network", "ls", "--filter", "type=custom", "--format",
                  "{{.Name}} {{.Internal}}").splitlines() == ["alpha false", "beta true"]
    doc = json.loads(net.ok("network", "inspect", "alpha"))[0]
    assert doc["Id"] == nid
    assert doc["Driver"] == "bridge"
    assert doc["IPAM"]["Config"] == [{"Subnet": net.subnet(0), "Gateway": net.address(0, 254)}]
    assert doc["Labels"] == {"team": "a"}
    assert net.ok("network", "inspect", "-f", "{{.Name}} {{.Internal}}", "beta").strip() == \
        "beta true"
    beta = json.loads(net.ok("network", "inspect", "beta"))[0]
    assert beta["IPAM"]["Config"][0]["Subnet"].startswith("10.213.")  # from the test's pool
    assert net.ok("network", "rm", "alpha", nid[:0] + "beta").split() == ["alpha", "beta"]
    assert [line.split()[1] for line in net.ok("network", "ls").splitlines()[1:]] == \
        ["bridge", "host", "none"]


def test_rm_refused_while_in_use_and_prune(net: NetEnv) -> None:
    net.ok("network", "create", "--subnet", net.subnet(1), "used")
    net.ok("network", "create", "--subnet", net.subnet(2), "unused")
    net.ok("create", "--name", "holder", "--network", "used", "busybox", "true")
    proc = net.run("network", "rm", "used")
    assert proc.returncode == 1
    assert "has active endpoints (containers: holder)" in proc.stderr
    proc = net.run("network", "rm", "bridge")
    assert proc.stderr.strip() == "Error: bridge is a pre-defined network and cannot be removed"
    out = net.ok("network", "prune", "-f")
    assert out.splitlines() == ["Deleted Networks:", "unused", ""]
    net.ok("rm", "holder")
    net.ok("network", "rm", "used")
    assert_clean(net)


def _inside(net: NetEnv, name: str, script: str) -> str:
    """Run a shell script in a running container's namespaces (``exec`` stand-in)."""
    import subprocess

    pid = json.loads(net.ok("inspect", name))[0]["State"]["Pid"]
    return subprocess.run(["nsenter", "-t", str(pid), "-m", "-n", "-u", "-i", "-p", "--",
                           "/bin/sh", "-c", script], capture_output=True, text=True,
                          timeout=60).stdout


def test_connect_and_disconnect_a_running_container(net: NetEnv) -> None:
    net.ok("network", "create", "--subnet", net.subnet(3), "one")
    net.ok("network", "create", "--subnet", net.subnet(4), "two")
    net.ok("run", "-d", "--name", "api", "--network", "two", "busybox",
           *httpd_cmd("api-on-two", 8080))
    net.ok("run", "-d", "--name", "client", "--network", "one", "busybox", "sleep", "300")
    probe = "wget -qO- http://api:8080/ 2>&1; ip -o -4 addr"
    assert "api-on-two" not in _inside(net, "client", probe)
    net.ok("network", "connect", "--alias", "cli", "--ip", net.address(4, 50), "two", "client")
    out = _inside(net, "client", probe)
    assert "api-on-two" in out
    assert f"eth1    inet {net.address(4, 50)}/24" in out
    networks = json.loads(net.ok("inspect", "client"))[0]["NetworkSettings"]["Networks"]
    assert sorted(networks) == ["one", "two"]
    assert networks["two"]["IPAddress"] == net.address(4, 50)
    assert networks["two"]["Aliases"] == ["cli"]
    # the api container resolves the alias of the newly connected one
    assert net.address(4, 50) in _inside(net, "api", "nslookup -type=a cli 127.0.0.11")
    net.ok("network", "disconnect", "two", "client")
    out = _inside(net, "client", probe)
    assert "api-on-two" not in out and net.address(4, 50) not in out
    proc = net.run("network", "disconnect", "two", "client")
    assert proc.returncode == 1 and "is not connected to network two" in proc.stderr
    net.ok("rm", "-f", "api", "client")
    net.ok("network", "rm", "one", "two")
    assert not own_links(net)


@pytest.mark.parametrize("args, message", [
    (["--subnet", "10.213.300.0/24", "bad1"], "invalid subnet '10.213.300.0/24'"),
    (["--subnet", "10.213.7.1/24", "bad2"], "host bits are set"),
    (["--subnet", "10.213.7.0/24", "--gateway", "10.9.9.9", "bad3"],
     "gateway 10.9.9.9 is not a usable address of subnet 10.213.7.0/24"),
    (["--subnet", "10.213.7.0/24", "--ip-range", "10.213.8.0/25", "bad4"],
     "ip-range 10.213.8.0/25 is not inside subnet 10.213.7.0/24"),
    (["--gateway", "10.213.7.1", "bad5"], "a gateway or ip-range needs --subnet"),
    (["-d", "overlay", "bad6"], 'plugin "overlay" not found'),
    (["bad/name"], "invalid network name"),
])
def test_bad_create_input(net: NetEnv, args: list[str], message: str) -> None:
    proc = net.run("network", "create", *args)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "bad" not in net.ok("network", "ls", "--format", "{{.Name}}")


def test_overlap_unknown_network_and_duplicate(net: NetEnv) -> None:
    net.ok("network", "create", "--subnet", net.subnet(5), "first")
    proc = net.run("network", "create", "--subnet", net.subnet(5).replace(".0/24", ".128/25"),
                   "second")
    assert proc.returncode != 0 and "Pool overlaps with other one" in proc.stderr
    proc = net.run("network", "create", "first")
    assert "network with name first already exists" in proc.stderr
    proc = net.run("run", "--rm", "--network", "nosuchnet", "busybox", "true")
    assert proc.returncode == 125
    assert proc.stderr.strip() == "Error: network nosuchnet not found"
    proc = net.run("network", "inspect", "nosuchnet")
    assert proc.returncode == 1 and "No such network: nosuchnet" in proc.stderr
    assert net.ok("ps", "-aq") == ""
