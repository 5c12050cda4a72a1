"""Helpers for the registry server tests: a real server process, a raw HTTP client,
OCI layouts built from the local busybox tar, and htpasswd files.  (No tests here.)"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

REPO = Path(__file__).resolve().parents[2]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def error_codes(self) -> list[str]:
        return [e["code"] for e in self.json()["errors"]]


@dataclass
class Client:
    """A tiny HTTP client that sends paths exactly as given (no normalisation)."""

    port: int
    auth: tuple[str, str] | None = None
    default_headers: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            hdrs = dict(self.default_headers)
            if self.auth:
                token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
                hdrs["Authorization"] = f"Basic {token}"
            hdrs.update(headers or {})
            if body is not None and "Content-Length" not in hdrs:
                hdrs["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def push_blob(self, name: str, data: bytes) -> str:
        """Monolithic upload; returns the digest."""
        digest = sha256(data)
        r = self.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data,
                         {"Content-Type": "application/octet-stream"})
        if r.status == 202:  # a registry without monolithic POST (distribution 2.8)
            location = r.headers["Location"]
            sep = "&" if "?" in location else "?"
            r = self.request("PUT", f"{location}{sep}digest={digest}", data,
                             {"Content-Type": "application/octet-stream"})
        assert r.status == 201, (r.status, r.body)
        return digest

    def push_manifest(self, name: str, ref: str, manifest: dict,
                      media_type: str = OCI_MANIFEST) -> Reply:
        data = json.dumps(manifest).encode()
        return self.request("PUT", f"/v2/{name}/manifests/{ref}", data,
                            {"Content-Type": media_type})

    def push_image(self, name: str, tag: str, layer: bytes = b"layer",
                   config: bytes = b'{"architecture":"amd64","os":"linux"}',
                   extra: dict | None = None) -> str:
        """Push a one-layer image; returns the manifest digest."""
        manifest = image_manifest(self.push_blob(name, config), len(config),
                                  self.push_blob(name, layer), len(layer), extra)
        r = self.push_manifest(name, tag, manifest)
        assert r.status == 201, (r.status, r.body)
        return r.headers["Docker-Content-Digest"]


def image_manifest(config_digest: str, config_size: int, layer_digest: str, layer_size: int,
                   extra: dict | None = None) -> dict:
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": layer_size}],
    }
    manifest.update(extra or {})
    return manifest


class RegistryProcess:
    """``python -m hull registry serve`` as a child process on a free local port."""

    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.port = free_port()
        self.log = root.parent / f"registry-{self.port}.log"
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hull", "registry", "serve",
             "--addr", f"127.0.0.1:{self.port}", "--root", str(root), *args],
            stdout=subprocess.PIPE, stderr=self._log_file, cwd=REPO)
        self.banner = _read_line(self.proc, timeout=20)
        if not self.banner.startswith("Listening on"):
            self.stop()
            raise AssertionError(f"registry did not start: {self.banner!r}\n{self.log_text()}")

    def client(self, auth: tuple[str, str] | None = None) -> Client:
        return Client(self.port, auth)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log_file.close()
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        return ""
    return proc.stdout.readline().decode().strip()


@contextlib.contextmanager
def running_registry(root: Path, *args: str) -> Iterator[RegistryProcess]:
    server = RegistryProcess(root, *args)
    try:
        yield server
    finally:
        server.stop()


class Distribution:
    """Debian's ``docker-registry`` (distribution 2.8) on a free local port."""

    def __init__(self, workdir: Path, htpasswd: Path | None = None) -> None:
        if shutil.which("docker-registry") is None:
            import pytest

            pytest.skip("docker-registry (distribution 2.8) is not installed")
        self.port = free_port()
        auth = ""
        if htpasswd:
            auth = f"auth:\n  htpasswd:\n    realm: hull\n    path: {htpasswd}\n"
        config = workdir / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n{auth}")
        self._log = open(workdir / "distribution.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        self.stop()
        raise AssertionError("docker-registry did not start")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, auth: tuple[str, str] | None = None) -> Client:
        return Client(self.port, auth)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    """An ``htpasswd -B`` style file ($2y$ bcrypt entries)."""
    lines = []
    for user, password in users.items():
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
        lines.append(f"{user}:{hashed.replace('$2b$', '$2y$', 1)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Layout:
    """An OCI image layout on disk and the digests it holds."""

    path: Path
    manifest_digest: str
    config_digest: str
    layer_digest: str

    def blob(self, digest: str) -> bytes:
        return (self.path / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def make_oci_layout(busybox_tar: Path, out: Path, tag: str = "latest") -> Layout:
    """Build an OCI layout of a one-layer busybox image (gzip layer, config with diff_ids)."""
    tar = busybox_tar.read_bytes()
    layer = gzip.compress(tar, compresslevel=6, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
        "history": [{"created_by": "make_busybox_tar.py"}],
    }, sort_keys=True).encode()
    manifest = json.dumps(image_manifest(sha256(config), len(config), sha256(layer), len(layer)),
                          sort_keys=True).encode()
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for data in (layer, config, manifest):
        (blobs / sha256(data).split(":", 1)[1]).write_bytes(data)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (out / "index.json").write_text(json.dumps(index))
    (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return Layout(out, sha256(manifest), sha256(config), sha256(layer))


def skopeo(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    if shutil.which("skopeo") is None:
        import pytest

        pytest.skip("skopeo is not installed")
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)
