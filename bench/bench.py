#!/usr/bin/env python3
"""hull's benchmarks, with ratios against Docker (and skopeo) where installed.

Usage: .venv/bin/python bench/bench.py [--quick] [--no-docker]

Measures CLI start-up (`hull --version`, `hull images` with 200 images) and
image throughput (import, save, load of an image with a 100 MB layer). Docker
runs as a private daemon on its own socket and data root, started and stopped
here. These are measurements, not tests: nothing fails on a slow number.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

HULL = [str(REPO / ".venv" / "bin" / "hull")]


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run(cmd: list[str], env: dict[str, str] | None = None, **kw: object) -> None:
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]


def make_layer_tar(path: Path, size: int) -> None:
    """A tar with one file of ``size`` incompressible bytes."""
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("data.bin")
        info.size = size
        tar.addfile(info, io.BytesIO(os.urandom(size)))


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, hull: float, unit: str, other: dict[str, float] | None = None,
            higher_is_better: bool = False) -> None:
        fmt = (lambda v: f"{v * 1000:.1f} ms") if unit == "s" else (lambda v: f"{v:.0f} {unit}")
        others = []
        for name, value in (other or {}).items():
            ratio = (hull / value) if higher_is_better else (value / hull)
            others.append(f"{name} {fmt(value)} (hull {ratio:.2f}x)")
        self.rows.append((what, fmt(hull), "; ".join(others), ""))
        print(f"{what:<40} hull {fmt(hull):>12}   {'; '.join(others)}", flush=True)


def bench_startup(report: Report, env: dict[str, str], quick: bool, images: int) -> None:
    repeat = 5 if quick else 15
    report.add("hull --version", timed(lambda: run([*HULL, "--version"], env), repeat), "s")
    report.add(f"hull images ({images} images)", timed(lambda: run([*HULL, "images"], env), repeat),
               "s")


def populate_images(env: dict[str, str], base: Path, count: int) -> None:
    tiny = base / "tiny.tar"
    with tarfile.open(tiny, "w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    for i in range(count):
        run([*HULL, "import", "-m", f"image {i}", str(tiny), f"bench/img{i}:v1"], env)


def bench_images(report: Report, env: dict[str, str], base: Path, docker_env: dict | None,
                 quick: bool) -> None:
    size = (20 if quick else 100) << 20
    layer = base / "layer.tar"
    make_layer_tar(layer, size)
    mb = size / 1e6
    t_import = timed(lambda: run([*HULL, "import", str(layer), "big:1"], env))
    others = {}
    if docker_env:
        others["docker"] = mb / timed(lambda: run(["docker", "import", str(layer), "big:1"],
                                                  docker_env))
    report.add(f"import {mb:.0f} MB layer", mb / t_import, "MB/s", others, higher_is_better=True)

    archive = base / "big-save.tar"
    t_save = timed(lambda: run([*HULL, "save", "-o", str(archive), "big:1"], env))
    others = {}
    if docker_env:
        others["docker"] = mb / timed(lambda: run(["docker", "save", "-o", str(base / "d.tar"),
                                                   "big:1"], docker_env))
    if shutil.which("skopeo"):
        oci = base / "skopeo-oci"
        others["skopeo (archive->oci dir)"] = mb / timed(
            lambda: run(["skopeo", "copy", "-q", f"docker-archive:{archive}", f"oci:{oci}:x"]))
    report.add(f"save {mb:.0f} MB image", mb / t_save, "MB/s", others, higher_is_better=True)

    run([*HULL, "rmi", "big:1"], env)
    t_load = timed(lambda: run([*HULL, "load", "-i", str(archive)], env))
    others = {}
    if docker_env:
        run(["docker", "rmi", "big:1"], docker_env)
        others["docker"] = mb / timed(lambda: run(["docker", "load", "-i", str(archive)],
                                                  docker_env))
    report.add(f"load {mb:.0f} MB image", mb / t_load, "MB/s", others, higher_is_better=True)


def bench_containers(report: Report, env: dict[str, str], base: Path, docker_env: dict | None,
                     quick: bool) -> None:
    """run --rm, run -d + stop, ps -a with 100 containers, and the shim's memory."""
    busybox = base / "busybox.tar"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_busybox_tar.py"), str(busybox)],
                   check=True, stdout=subprocess.DEVNULL)
    run([*HULL, "import", str(busybox), "busybox:latest"], env)
    if docker_env:
        run(["docker", "import", str(busybox), "busybox:latest"], docker_env)
    repeat = 5 if quick else 15
    net = ["--network", "none"]  # the private dockerd has no bridge

    def both(what: str, hull_cmds: list[list[str]], docker_cmds: list[list[str]],
             times: int = repeat) -> None:
        t_hull = timed(lambda: [run(c, env) for c in hull_cmds], times)
        others = {}
        if docker_env:
            others["docker"] = timed(lambda: [run(c, docker_env) for c in docker_cmds], times)
        report.add(what, t_hull, "s", others)

    # Both without a bridge network, like for like (hull's default would add a veth pair).
    both("run --rm busybox true", [[*HULL, "run", "--rm", *net, "busybox", "true"]],
         [["docker", "run", "--rm", *net, "busybox", "true"]])
    both("run -d + stop (--init sleep)",
         [[*HULL, "run", "-d", *net, "--init", "--name", "b1", "busybox", "sleep", "300"],
          [*HULL, "stop", "b1"], [*HULL, "rm", "b1"]],
         [["docker", "run", "-d", *net, "--init", "--name", "b1", "busybox", "sleep", "300"],
          ["docker", "stop", "b1"], ["docker", "rm", "b1"]], times=3 if quick else 5)

    count = 100
    for i in range(count):
        run([*HULL, "create", *net, "--name", f"c{i}", "busybox", "true"], env)
        if docker_env:
            run(["docker", "create", *net, "--name", f"c{i}", "busybox", "true"], docker_env)
    both(f"ps -a ({count} containers)", [[*HULL, "ps", "-a"]], [["docker", "ps", "-a"]])

    def shim_rss_kb(cli: list[str], e: dict[str, str]) -> int:
        run([*cli, "run", "-d", *net, "--name", "rss", "busybox", "sleep", "300"], e)
        time.sleep(1.0)  # hull's shim slims down after its first 0.2 s
        pid = subprocess.run([*cli, "inspect", "-f", "{{.State.Pid}}", "rss"], env=e,
                             capture_output=True, text=True, check=True).stdout.strip()
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
        shim = int(raw[raw.rindex(b")") + 2:].split()[1])
        with open(f"/proc/{shim}/status") as f:
            rss = int(next(x for x in f if x.startswith("VmRSS:")).split()[1])
        run([*cli, "rm", "-f", "rss"], e)
        return rss

    others = {"docker": float(shim_rss_kb(["docker"], docker_env))} if docker_env else {}
    report.add("shim RSS per container", float(shim_rss_kb(HULL, env)), "KB", others)


def bench_registry(report: Report, env: dict[str, str], base: Path, docker_env: dict | None,
                   quick: bool) -> None:
    """Push and pull through a local registry: hull vs Docker vs skopeo (each against a
    fresh hull registry), and hull's client against hull's server vs distribution 2.8.

    Every number is the median of five rounds (each against a fresh registry and a fresh
    pull target), the tools taking turns in an order that rotates from round to round;
    dirty pages are written out before each timed step, so no step pays for the writeback
    of the one before."""
    from registry_server import distribution_registry, hull_registry

    rounds = 1 if quick else 5
    work = base / "registry-bench"
    work.mkdir()
    size = (20 if quick else 100) << 20
    big = work / "big.tar"
    make_layer_tar(big, size)
    run([*HULL, "import", str(big), "regbench/big:1"], env)
    small = work / "small.tar"
    _small_layers_archive(small, 20, "regbench/small:1")
    run([*HULL, "load", "-i", str(small)], env)
    images = {f"{size >> 20} MB layer": ("regbench/big:1", size / 1e6),
              "20 small layers": ("regbench/small:1", 20 * 16384 / 1e6)}
    if docker_env:
        for name, _ in images.values():
            archive = work / "for-docker.tar"
            run([*HULL, "save", "-o", str(archive), name], env)
            run(["docker", "load", "-i", str(archive)], docker_env)
    serial = iter(range(1_000_000))
    # Deleting hundreds of MB between timed steps would make the next step's fsyncs wait
    # for the discards (the disk is mounted with online discard): rounds leave their files
    # until every tool is done with an image.
    leftovers: list[Path] = []

    def settled(fn: Callable[[], object]) -> float:
        os.sync()
        return timed(fn)

    def hull_round(registry: Callable[[Path], object], name: str) -> tuple[float, float]:
        n = next(serial)
        (work / f"r{n}").mkdir()
        with registry(work / f"r{n}") as addr:  # type: ignore[attr-defined]
            target = f"{addr}/{name}"
            run([*HULL, "tag", name, target], env)
            push = settled(lambda: run([*HULL, "push", target], env))
            pull_env = dict(env, HULL_ROOT=str(work / f"pull-root-{n}"))
            pull = settled(lambda: run([*HULL, "pull", target], pull_env))
            run([*HULL, "rmi", target], env)
        leftovers.extend((work / f"pull-root-{n}", work / f"r{n}"))
        return push, pull

    def docker_round(name: str) -> tuple[float, float]:
        n = next(serial)
        with hull_registry(work / f"r{n}") as addr:
            target = f"{addr}/{name}"
            run(["docker", "tag", name, target], docker_env)
            push = settled(lambda: run(["docker", "push", target], docker_env))
            run(["docker", "rmi", target], docker_env)
            run(["docker", "rmi", name], docker_env)
            pull = settled(lambda: run(["docker", "pull", target], docker_env))
            run(["docker", "tag", target, name], docker_env)
            run(["docker", "rmi", target], docker_env)
        leftovers.append(work / f"r{n}")
        return push, pull

    def skopeo_round(name: str, archive: Path) -> tuple[float, float]:
        n = next(serial)
        with hull_registry(work / f"r{n}") as addr:
            target = f"docker://{addr}/{name}"
            flags = ["--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                     "--dest-tls-verify=false"]
            push = settled(lambda: run(["skopeo", *flags, f"docker-archive:{archive}", target]))
            pull = settled(lambda: run(["skopeo", *flags, target,
                                        f"oci:{work / f'oci-{n}'}:x"]))
        leftovers.extend((work / f"r{n}", work / f"oci-{n}"))
        return push, pull

    def median_pair(samples: list[tuple[float, float]]) -> tuple[float, float]:
        return (statistics.median(p for p, _ in samples),
                statistics.median(q for _, q in samples))

    for label, (name, mb) in images.items():
        # MB/s for the big layer; seconds for many small ones (round trips dominate)
        big_image = mb > 1

        def rate(seconds: float, mb: float = mb, big_image: bool = big_image) -> float:
            return mb / seconds if big_image else seconds

        unit, better = ("MB/s", True) if big_image else ("s", False)
        archive = work / "for-skopeo.tar"
        run([*HULL, "save", "-o", str(archive), name], env)
        steps: dict[str, Callable[[], tuple[float, float]]] = {
            "hull": lambda name=name: hull_round(hull_registry, name)}
        if shutil.which("docker-registry"):
            steps["distribution"] = lambda name=name: hull_round(distribution_registry, name)
        if docker_env:
            steps["docker"] = lambda name=name: docker_round(name)
        if shutil.which("skopeo"):
            steps["skopeo"] = lambda name=name, archive=archive: skopeo_round(name, archive)
        samples: dict[str, list[tuple[float, float]]] = {key: [] for key in
                                                         ("hull", "docker", "skopeo",
                                                          "distribution")}
        # hull's client against both servers back to back (the pair compared), in turns;
        # each round starts with a different group, so none always follows the same one
        groups = [[k for k in ("hull", "distribution") if k in steps]]
        groups += [[k] for k in ("docker", "skopeo") if k in steps]
        for i in range(rounds):
            for group in groups[i % len(groups):] + groups[:i % len(groups)]:
                for key in (group if i % 2 == 0 else group[::-1]):
                    samples[key].append(steps[key]())
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
        leftovers.clear()
        push, pull = median_pair(samples["hull"])
        pushes: dict[str, float] = {}
        pulls: dict[str, float] = {}
        if samples["docker"]:
            d_push, d_pull = median_pair(samples["docker"])
            pushes["docker"], pulls["docker"] = rate(d_push), rate(d_pull)
        if samples["skopeo"]:
            s_push, s_pull = median_pair(samples["skopeo"])
            pushes["skopeo"], pulls["skopeo (to oci dir)"] = rate(s_push), rate(s_pull)
        report.add(f"push {label} (hull registry)", rate(push), unit, pushes,
                   higher_is_better=better)
        report.add(f"pull {label} (hull registry)", rate(pull), unit, pulls,
                   higher_is_better=better)
        if samples["distribution"]:
            dist_push, dist_pull = median_pair(samples["distribution"])
            report.add(f"hull push {label}: hull server", rate(push), unit,
                       {"distribution 2.8": rate(dist_push)}, higher_is_better=better)
            report.add(f"hull pull {label}: hull server", rate(pull), unit,
                       {"distribution 2.8": rate(dist_pull)}, higher_is_better=better)


def _small_layers_archive(path: Path, count: int, tag: str) -> None:
    """A docker-archive of one image with ``count`` layers of 16 KiB of random bytes."""
    import hashlib
    import json

    layers = []
    for i in range(count):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(f"layer{i}.bin")
            info.size = 16384
            tar.addfile(info, io.BytesIO(os.urandom(16384)))
        layers.append(buf.getvalue())
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    with tarfile.open(path, "w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("config.json", config)
        for i, layer in enumerate(layers):
            add(f"{i}/layer.tar", layer)
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": [tag],
                                          "Layers": [f"{i}/layer.tar" for i in range(count)]}
                                         ]).encode())


def bench_build(report: Report, env: dict[str, str], base: Path, docker_env: dict | None,
                quick: bool) -> None:
    """Builds of a small app: cold (no cache), fully cached, and after a one-file change,
    against ``docker build`` with the classic builder and with BuildKit.

    Each number is a median; the builders take turns run by run, so a burst of load on
    the machine hits them alike, and dirty pages are written out before each timed build
    (an overlay unmount syncs its upper filesystem, so a build would otherwise pay for
    whatever the machine wrote before it)."""
    busybox = base / "build-busybox.tar"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_busybox_tar.py"), str(busybox)],
                   check=True, stdout=subprocess.DEVNULL)
    run([*HULL, "import", str(busybox), "busybox:latest"], env)
    if docker_env:
        run(["docker", "import", str(busybox), "busybox:latest"], docker_env)
    app = base / "build-app"
    (app / "src").mkdir(parents=True)
    (app / "Dockerfile").write_text(
        "FROM busybox:latest\nWORKDIR /app\nCOPY package.json ./\n"
        "RUN wc -c package.json > /deps.txt\nCOPY . .\nEXPOSE 3000\n"
        'CMD ["cat", "/app/server.js"]\n')
    (app / "package.json").write_text('{"name": "bench-app", "version": "1.0.0"}\n')
    (app / ".dockerignore").write_text("node_modules\n")
    for i in range(30):
        (app / "src" / f"module{i}.js").write_text(f"module.exports = {i};\n" * 40)
    server = app / "server.js"
    server.write_text("console.log('v0')\n")
    repeat = 5 if quick else 15
    builders = {"hull": ([*HULL, "build", "-q", "-t", "bench-app", str(app)], env)}
    # Debian's docker.io CLI (20.10) drives BuildKit itself; newer CLIs need buildx for it.
    cli = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
    if docker_env:
        for name, flag in (("docker classic", "0"), ("docker buildkit", "1")):
            builders[name] = ([cli, "build", "-q", "--network", "none", "-t", "bench-app",
                               str(app)], dict(docker_env, DOCKER_BUILDKIT=flag))
    change = iter(range(1_000_000))

    def cold(cmd: list[str], e: dict[str, str]) -> None:
        run([*cmd[:2], "--no-cache", *cmd[2:]], e)

    def one_file_change(cmd: list[str], e: dict[str, str]) -> None:
        server.write_text(f"console.log('v{next(change)}')\n")
        run(cmd, e)

    def turns(step: Callable[[list[str], dict[str, str]], None], rounds: int
              ) -> dict[str, float]:
        samples: dict[str, list[float]] = {name: [] for name in builders}
        for _ in range(rounds):
            for name, (cmd, e) in builders.items():
                os.sync()
                samples[name].append(timed(lambda cmd=cmd, e=e: step(cmd, e)))
        return {name: statistics.median(values) for name, values in samples.items()}

    results = {"cold": turns(cold, 3 if quick else 7)}
    for cmd, e in builders.values():
        run(cmd, e)
    results["cached"] = turns(run, repeat)
    results["change"] = turns(one_file_change, repeat)
    for what, label in (("cold", "build: cold (--no-cache)"), ("cached", "build: fully cached"),
                        ("change", "build: one-file change")):
        others = {k: v for k, v in results[what].items() if k != "hull"}
        report.add(label, results[what]["hull"], "s", others)


# ---- networking: published ports and container-to-container -------------------------------

NET_BENCH_SUBNET = "10.213.250"  # a test-only range; the bench bridge for Docker is .251


def _http_get(port: int, path: str) -> bytes:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


def _wait_port(port: int) -> None:
    deadline = time.time() + 20
    while True:
        try:
            _http_get(port, "/")
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _published(cli: list[str], e: dict[str, str], quick: bool, extra: list[str]
               ) -> dict[str, float]:
    """Small requests, one large transfer through a published port on loopback, and a large
    transfer between two containers on a user network, with one engine's CLI."""
    port = _free_port()
    big_mb = 16 if quick else 64
    serve = ("mkdir -p /www && echo ok > /www/index.html && dd if=/dev/zero of=/www/big bs=1M"
             f" count={big_mb} 2>/dev/null && exec httpd -f -p 8080 -h /www")
    run([*cli, "network", "create", *extra, "benchnet"], e)
    try:
        run([*cli, "run", "-d", "--name", "benchweb", "--network", "benchnet", "-p",
             f"127.0.0.1:{port}:8080", "busybox", "sh", "-c", serve], e)
        _wait_port(port)
        while len(_http_get(port, "/big")) < big_mb << 20:
            time.sleep(0.1)
        count = 200 if quick else 1000
        t0 = time.perf_counter()
        for _ in range(count):
            _http_get(port, "/")
        small = time.perf_counter() - t0
        big = min(timed(lambda: _http_get(port, "/big")) for _ in range(3))
        proc = subprocess.run([*cli, "run", "--rm", "--network", "benchnet", "busybox", "sh",
                               "-c", "time wget -qO /dev/null http://benchweb:8080/big"],
                              env=e, capture_output=True, text=True, check=True)
        real = next(line for line in proc.stderr.splitlines() if line.startswith("real"))
        minutes, seconds = real.split()[1:3]  # busybox: "real\t0m 0.12s"
        c2c = 60 * float(minutes.rstrip("m")) + float(seconds.rstrip("s"))
        return {"req/s": count / small, "latency": small / count, "MB/s": big_mb / big,
                "c2c MB/s": big_mb / c2c}
    finally:
        subprocess.run([*cli, "rm", "-f", "benchweb"], env=e, capture_output=True)
        subprocess.run([*cli, "network", "rm", "benchnet"], env=e, capture_output=True)


def _docker_with_bridge(base: Path):  # type: ignore[no-untyped-def]
    """A second private dockerd whose default bridge is one made here (so it never touches
    docker0) and with iptables off: published ports then go through docker-proxy, which is
    also what Docker uses for loopback traffic by default.  Everything is removed after."""
    import contextlib
    import signal

    from hull.network.netlink import Links, delete_links

    @contextlib.contextmanager
    def ctx():  # type: ignore[no-untyped-def]
        bridge = "hlbenchd0"
        with Links() as links:
            links.ensure_bridge(bridge, "10.213.251.1", 24)
        base.mkdir(parents=True, exist_ok=True)
        sock = base / "docker.sock"
        log = open(base / "dockerd.log", "wb")
        proc = subprocess.Popen(
            ["dockerd", "--host", f"unix://{sock}", "--data-root", str(base / "data"),
             "--exec-root", str(base / "exec"), "--pidfile", str(base / "dockerd.pid"),
             "--bridge", bridge, "--iptables=false", "--ip6tables=false", "--ip-masq=false",
             "--default-address-pool", "base=10.213.252.0/22,size=24",
             "--storage-driver", "overlay2", "--containerd-namespace", f"hullnet{os.getpid()}",
             "--containerd-plugins-namespace", f"hullnetp{os.getpid()}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        e = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
        try:
            deadline = time.time() + 60
            while subprocess.run(["docker", "version"], env=e,
                                 capture_output=True).returncode != 0:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the bench dockerd did not start")
                time.sleep(0.2)
            yield e
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
            with open("/proc/self/mountinfo") as f:
                mounts = [line.split()[4] for line in f]
            for m in sorted((m for m in mounts if m.startswith(str(base))), key=len,
                            reverse=True):
                subprocess.run(["umount", "-l", m], check=False)
            shutil.rmtree(base, ignore_errors=True)
            delete_links([bridge])

    return ctx()


def bench_network(report: Report, env: dict[str, str], base: Path, with_docker: bool,
                  quick: bool) -> None:
    """Published-port throughput and latency, and container-to-container transfer."""
    busybox = base / "busybox-net.tar"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_busybox_tar.py"), str(busybox)],
                   check=True, stdout=subprocess.DEVNULL)
    run([*HULL, "import", str(busybox), "busybox:latest"], env)
    hull = _published(HULL, env, quick, ["--subnet", f"{NET_BENCH_SUBNET}.0/24"])
    docker: dict[str, float] = {}
    if with_docker:
        try:
            with _docker_with_bridge(base / "docker-net") as docker_env:
                run(["docker", "import", str(busybox), "busybox:latest"], docker_env)
                docker = _published(["docker"], docker_env, quick,
                                    ["--subnet", "10.213.253.0/24"])
        except (RuntimeError, subprocess.CalledProcessError) as e:
            print(f"docker network comparison skipped: {e}", flush=True)

    def other(key: str) -> dict[str, float]:
        return {"docker": docker[key]} if key in docker else {}

    report.add("published port: small HTTP requests", hull["req/s"], "req/s", other("req/s"),
               higher_is_better=True)
    report.add("published port: request latency", hull["latency"], "s", other("latency"))
    report.add("published port: large transfer", hull["MB/s"], "MB/s", other("MB/s"),
               higher_is_better=True)
    report.add("container to container (user network)", hull["c2c MB/s"], "MB/s",
               other("c2c MB/s"), higher_is_better=True)


def bench_default_network(report: Report, env: dict[str, str], base: Path, with_docker: bool,
                          quick: bool) -> None:
    """``run --rm busybox true`` on each engine's default bridge network (veth pair, address,
    NAT rules), against a private dockerd with its own bridge and iptables."""
    busybox = base / "busybox-bridge.tar"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_busybox_tar.py"), str(busybox)],
                   check=True, stdout=subprocess.DEVNULL)
    run([*HULL, "import", str(busybox), "busybox:latest"], env)
    repeat = 5 if quick else 15
    cmd = ["run", "--rm", "busybox", "true"]
    run([*HULL, *cmd], env)  # the first run makes the bridge; later ones reuse it, as Docker's
    hull = timed(lambda: run([*HULL, *cmd], env), repeat)
    others: dict[str, float] = {}
    if with_docker:
        from tests import dockerd

        try:
            with dockerd.private_dockerd(base / "docker-bridge", bridge=True) as docker_env:
                run(["docker", "import", str(busybox), "busybox:latest"], docker_env)
                run(["docker", *cmd], docker_env)
                others["docker"] = timed(lambda: run(["docker", *cmd], docker_env), repeat)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            print(f"docker default-network comparison skipped: {e}", flush=True)
    report.add("run --rm busybox true (default network)", hull, "s", others)


def remove_bench_networking(env: dict[str, str]) -> None:
    """The bench root's default bridge and nftables table stay between containers; they go
    with the root."""
    from hull.network.plumbing import remove_host_networking

    remove_host_networking(env["HULL_ROOT"], env["HULL_RUN_ROOT"])


def bench_exec_and_logs(report: Report, env: dict[str, str], base: Path,
                        docker_env: dict | None, quick: bool) -> None:
    """``exec CTR true`` latency, and ``logs -f`` following a container that writes ~50 MB of
    100-byte lines as fast as it can (bytes over the wall time from start to the last line).
    Needs the busybox image that bench_containers imported."""
    net = ["--network", "none"]
    engines = [("hull", HULL, env)] + ([("docker", ["docker"], docker_env)] if docker_env else [])
    exec_times: dict[str, float] = {}
    follow_rates: dict[str, float] = {}
    lines = 100_000 if quick else 500_000
    script = (f"i=0; while [ $i -lt {lines // 5000} ]; do yes {'x' * 99} | head -n 5000;"
              " i=$((i+1)); done")
    for name, cli, e in engines:
        assert e is not None
        run([*cli, "run", "-d", *net, "--name", "ex", "busybox", "sleep", "300"], e)
        run([*cli, "exec", "ex", "true"], e)  # warm
        exec_times[name] = timed(lambda cli=cli, e=e: run([*cli, "exec", "ex", "true"], e),
                                 10 if quick else 30)
        run([*cli, "rm", "-f", "ex"], e)
        started = time.perf_counter()
        run([*cli, "run", "-d", *net, "--name", "writer", "busybox", "sh", "-c", script], e)
        follower = subprocess.run([*cli, "logs", "-f", "writer"], env=e, check=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        got = follower.stdout.count(b"\n")
        if got != lines:
            print(f"{name}: logs -f gave {got} of {lines} lines", file=sys.stderr)
        follow_rates[name] = len(follower.stdout) / elapsed / 1e6
        run([*cli, "rm", "-f", "writer"], e)
    report.add("exec CTR true", exec_times["hull"], "s",
               {k: v for k, v in exec_times.items() if k != "hull"})
    report.add("logs -f of a fast writer", follow_rates["hull"], "MB/s",
               {k: v for k, v in follow_rates.items() if k != "hull"}, higher_is_better=True)


def main() -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "hull")], check=False,
                   stdout=subprocess.DEVNULL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--no-docker", action="store_true", help="skip Docker comparisons")
    parser.add_argument("--only", default="", help="comma-separated sections to run: images,"
                        " containers, exec_and_logs, registry, build, network (default: all)")
    args = parser.parse_args()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="hull-bench-") as tmp:
        base = Path(tmp)
        env = dict(os.environ, HULL_ROOT=str(base / "root"), HULL_RUN_ROOT=str(base / "run"))
        count = 20 if args.quick else 200
        populate_images(env, base, count)
        bench_startup(report, env, args.quick, count)
        from tests import dockerd

        sections = [bench_images, bench_containers, bench_exec_and_logs, bench_registry,
                    bench_build]
        wanted = set(args.only.split(",")) if args.only else None
        if wanted is not None:
            sections = [s for s in sections if s.__name__.removeprefix("bench_") in wanted]
            if "exec_and_logs" in wanted and bench_containers not in sections:
                sections.insert(0, bench_containers)  # it imports the busybox image
        with contextlib.ExitStack() as stack:
            docker_env = None
            if not args.no_docker and dockerd.available():
                docker_env = stack.enter_context(dockerd.private_dockerd(base / "docker"))
            for section in sections:
                section(report, env, base, docker_env, args.quick)
        if wanted is not None and "network" not in wanted:
            return
        try:
            bench_default_network(report, env, base,
                                  not args.no_docker and dockerd.available(), args.quick)
            bench_network(report, env, base, not args.no_docker and dockerd.available(),
                          args.quick)
        finally:
            remove_bench_networking(env)


if __name__ == "__main__":
    main()
