"""--network container:NAME: a container joins another's network namespace."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import HullEnv


def test_joined_container_shares_network_and_hostname(hull: HullEnv, busybox: str,
                                                      tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("served by web\n")
    hull.ok("run", "-d", "--name", "web", "--network", "none", "--hostname", "webhost",
            "-v", f"{www}:/www:ro", "busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www")
    try:
        out = ""
        for _ in range(50):
            proc = hull.run("run", "--rm", "--network", "container:web", "busybox", "sh", "-c",
                            "hostname; wget -q -O - http://127.0.0.1:8080/index.html")
            out = proc.stdout
            if proc.returncode == 0:
                break
            time.sleep(0.1)
        assert out.splitlines() == ["webhost", "served by web"]
        web_id = hull.ok("inspect", "-f", "{{.Id}}", "web").strip()
        hull.ok("create", "--name", "joiner", "--network", "container:web", "busybox", "true")
        assert hull.ok("inspect", "-f", "{{.HostConfig.NetworkMode}}", "joiner").strip() == (
            f"container:{web_id}")
        hull.ok("stop", "-t", "0", "web")
        proc = hull.run("start", "joiner")
        assert proc.returncode != 0
        assert f"cannot join network of a non running container: {web_id}" in proc.stderr
    finally:
        hull.run("rm", "-f", "web", "joiner")


def test_joined_network_mode_refuses_conflicting_flags(hull: HullEnv, busybox: str) -> None:
    hull.ok("create", "--name", "base", "--network", "none", "busybox", "true")
    for flags, message in (
            (["-p", "8080:80"], "port publishing and the container type network mode"),
            (["--hostname", "x"], "hostname and the network mode"),
            (["--add-host", "a:10.213.0.9"], "custom host-to-IP mapping and the network mode"),
            (["--dns", "10.213.0.53"], "dns and the network mode")):
        proc = hull.run("run", "--rm", "--network", "container:base", *flags, "busybox", "true")
        assert proc.returncode == 125, flags
        assert f"conflicting options: {message}" in proc.stderr
    proc = hull.run("run", "--rm", "--network", "container:missing", "busybox", "true")
    assert proc.returncode == 125 and "No such container: missing" in proc.stderr
    hull.ok("rm", "base")
