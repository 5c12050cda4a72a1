#!/usr/bin/env python3
"""Push and pull with skopeo against hull's registry server and Debian's distribution 2.8.

Two images, made locally: one 100 MB layer of random bytes, and 20 small (16 KiB)
layers (gzip with stored blocks, so skopeo sends them as they are).  Each registry
runs on 127.0.0.1 with a fresh root per measurement, so nothing is already there and
skopeo's blob cache cannot turn uploads into mounts.  Prints seconds and MB/s for
each push and pull, best of ``--repeat`` runs.
Usage: bench/registry_server.py [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _gzip(data: bytes) -> bytes:
    """Real gzip (stored blocks, so it is quick), so skopeo copies layers without recompressing."""
    return gzip.compress(data, compresslevel=0, mtime=0)


def make_layout(out: Path, layers: list[bytes]) -> int:
    """An OCI layout holding one image with ``layers``; returns the bytes of all its blobs."""
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [_sha(layer) for layer in layers]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _sha(layer), "size": len(layer)} for layer in layers],
    }).encode()
    for data in (*layers, config, manifest):
        (blobs / _sha(data)[7:]).write_bytes(data)
    (out / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _sha(manifest),
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))
    (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return sum(len(d) for d in (*layers, config, manifest))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
            return
        time.sleep(0.02)
    raise SystemExit(f"registry on port {port} did not start")


@contextlib.contextmanager
def hull_registry(work: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hull", "registry", "serve", "--addr",
                             f"127.0.0.1:{port}", "--root", str(work / "hull-root")],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


@contextlib.contextmanager
def distribution_registry(work: Path) -> Iterator[str]:
    port = _free_port()
    config = work / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {work / 'dist-root'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()


def _skopeo(src: str, dest: str) -> float:
    start = time.perf_counter()
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                    "--dest-tls-verify=false", src, dest], check=True)
    return time.perf_counter() - start


Registry = Callable[[Path], contextlib.AbstractContextManager[str]]


def measure(registry: Registry, layout: Path, repeat: int) -> tuple[float, float]:
    """Best push and pull seconds over ``repeat`` runs, each against a fresh registry root."""
    pushes, pulls = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="hull-bench-") as tmp:
            work = Path(tmp)
            with registry(work) as addr:
                ref = f"docker://{addr}/bench/image:latest"
                pushes.append(_skopeo(f"oci:{layout}:latest", ref))
                pulls.append(_skopeo(ref, f"oci:{work / 'pulled'}:latest"))
    return min(pushes), min(pulls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("skopeo"):
        raise SystemExit("skopeo is not installed")
    registries: dict[str, Registry] = {"hull": hull_registry}
    if shutil.which("docker-registry"):
        registries["distribution 2.8"] = distribution_registry
    with tempfile.TemporaryDirectory(prefix="hull-bench-images-") as tmp:
        images = {
            "1 x 100 MB": (Path(tmp) / "big", [_gzip(os.urandom(100 * MB))]),
            "20 x 16 KiB": (Path(tmp) / "small", [_gzip(os.urandom(16 * 1024))
                                                  for _ in range(20)]),
        }
        print(f"{'image':<13} {'registry':<17} {'push s':>8} {'push MB/s':>10} "
              f"{'pull s':>8} {'pull MB/s':>10}")
        for label, (path, layers) in images.items():
            size = make_layout(path, layers)
            for name, registry in registries.items():
                push, pull = measure(registry, path, args.repeat)
                print(f"{label:<13} {name:<17} {push:8.3f} {size / MB / push:10.1f} "
                      f"{pull:8.3f} {size / MB / pull:10.1f}", flush=True)


if __name__ == "__main__":
    main()
