"""Helpers for the registry client tests: multi-layer test images, a fault-injecting
proxy in front of a registry, a Bearer token server, and a credential helper.  (No tests.)"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import os
import secrets
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    """An uncompressed layer tar holding ``files`` (and their parent directories)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for name, data in sorted(files.items()):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def docker_archive(path: Path, layers: list[bytes], tags: list[str],
                   config_extra: dict | None = None) -> str:
    """Write a classic ``docker save`` archive of one image; return its image id."""
    diff_ids = [sha256(layer) for layer in layers]
    config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
              "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created_by": f"layer {i}"} for i in range(len(layers))]}
    config.update(config_extra or {})
    config_bytes = json.dumps(config).encode()
    config_name = sha256(config_bytes)[7:] + ".json"
    with tarfile.open(path, "w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add(config_name, config_bytes)
        names = []
        for layer in layers:
            name = f"{sha256(layer)[7:]}/layer.tar"
            add(name, layer)
            names.append(name)
        add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": tags,
                                          "Layers": names}]).encode())
    return sha256(config_bytes)


def layers_image(tmp: Path, count: int, tag: str, size: int = 2048, seed: str = "") -> Path:
    """A docker-archive of an image with ``count`` small distinct layers."""
    layers = [layer_tar({f"data/layer{i}.bin": (seed + f"layer {i} ").encode() * (size // 8)})
              for i in range(count)]
    path = tmp / f"layers-{count}-{secrets.token_hex(3)}.tar"
    docker_archive(path, layers, [tag])
    return path


# ---- a proxy that breaks things on purpose --------------------------------------------


@dataclass
class Fault:
    """What the proxy does to matching responses."""

    match: Callable[[str, str], bool]  # (method, path) -> applies?
    truncate_after: int | None = None  # send this many body bytes, then drop the connection
    corrupt: bool = False  # flip one byte of the body
    body: bytes | None = None  # replace the body
    content_type: str | None = None
    times: int = -1  # how many responses it applies to (-1: all)

    def use(self) -> bool:
        if self.times == 0:
            return False
        if self.times > 0:
            self.times -= 1
        return True


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        owner.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
        reply = owner.gate(self) if owner.gate else None
        if reply is not None:
            status, reply_headers, reply_body = reply
            if self.command == "HEAD":
                self._send(status, reply_headers, b"", length=len(reply_body))
            else:
                self._send(status, reply_headers, reply_body)
            return
        conn = http.client.HTTPConnection(owner.upstream, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out_headers = [(k, v) for k, v in resp.getheaders()
                           if k.lower() not in ("transfer-encoding", "connection",
                                                "content-length")]
            status = resp.status
        finally:
            conn.close()
        fault = next((f for f in owner.faults if f.match(self.command, self.path)), None)
        if fault is not None and status < 300 and fault.use():
            if fault.body is not None:
                data = fault.body
            if fault.content_type is not None:
                out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-type"]
                out_headers.append(("Content-Type", fault.content_type))
            if fault.corrupt and data:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            if fault.truncate_after is not None:
                self.send_response(status)
                for k, v in out_headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data[:fault.truncate_after])
                self.wfile.flush()
                self.close_connection = True
                return
        self._send(status, out_headers, data if self.command != "HEAD" else b"",
                   length=len(data))

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes,
              length: int | None = None) -> None:
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: Proxy


class Proxy:
    """A reverse proxy on 127.0.0.1 in front of ``upstream`` (host:port), with faults.

    ``gate`` may answer a request itself (e.g. an authentication check) by returning
    (status, headers, body).
    """

    def __init__(self, upstream: str,
                 gate: Callable[[BaseHTTPRequestHandler], tuple[int, list, bytes] | None]
                 | None = None) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.gate = gate
        self.server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def blob_get(digest: str = "") -> Callable[[str, str], bool]:
    """Matches GET of a blob (of ``digest`` if given)."""
    return lambda method, path: method == "GET" and "/blobs/sha256:" in path and (
        not digest or path.split("?", 1)[0].endswith(digest))


def manifest_get() -> Callable[[str, str], bool]:
    return lambda method, path: method == "GET" and "/manifests/" in path


# ---- a Bearer token server gating a registry --------------------------------------------


@dataclass
class TokenServer:
    """Issues Bearer tokens for ``users`` and checks them in front of a registry.

    Tokens live ``lifetime`` seconds and may be used ``max_uses`` times (then the
    gate answers 401 as if they had expired), so clients must refresh them.
    """

    users: dict[str, str]
    lifetime: int = 300
    max_uses: int = 1000
    service: str = "hull-test-registry"
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    tokens: dict[str, dict] = field(default_factory=dict)
    proxy: Proxy | None = None

    def start(self, upstream: str) -> Proxy:
        self.proxy = Proxy(upstream, gate=self._gate)
        return self.proxy

    @property
    def realm(self) -> str:
        assert self.proxy is not None
        return f"http://127.0.0.1:{self.proxy.port}/token"

    def _gate(self, handler: BaseHTTPRequestHandler) -> tuple[int, list, bytes] | None:
        parts = urlsplit(handler.path)
        if parts.path == "/token":
            return self._issue(handler, parse_qs(parts.query))
        scope = _scope_of(handler.command, parts.path)
        auth = handler.headers.get("Authorization", "")
        token = self.tokens.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
        if token is not None and time.monotonic() < token["expires"] and token["uses"] > 0 and (
                not scope or _covers(token["scopes"], scope)):
            token["uses"] -= 1
            return None
        challenge = f'Bearer realm="{self.realm}",service="{self.service}"'
        if scope:
            challenge += f',scope="{scope}"'
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                       "message": "authentication required"}]}).encode()
        return 401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")], body

    def _issue(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]
               ) -> tuple[int, list, bytes]:
        self.token_requests.append(query)
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return 401, [("Content-Type", "application/json")], b'{"details":"bad creds"}'
        elif self.users:
            return 401, [("Content-Type", "application/json")], b'{"details":"no creds"}'
        if query.get("service", [""])[0] != self.service:
            return 400, [], b"wrong service"
        value = secrets.token_hex(16)
        self.tokens[value] = {"scopes": query.get("scope", []), "uses": self.max_uses,
                              "expires": time.monotonic() + self.lifetime}
        body = json.dumps({"token": value, "expires_in": self.lifetime}).encode()
        return 200, [("Content-Type", "application/json")], body


def _scope_of(method: str, path: str) -> str:
    if not path.startswith("/v2/") or path in ("/v2/", "/v2"):
        return ""
    rest = path[len("/v2/"):]
    for marker in ("/blobs/", "/manifests/", "/tags/"):
        if marker in rest:
            name = rest.split(marker, 1)[0]
            action = "pull" if method in ("GET", "HEAD") else "push"
            return f"repository:{name}:{action}"
    return ""


def _covers(granted: list[str], wanted: str) -> bool:
    resource, _, action = wanted.rpartition(":")
    for scope in granted:
        g_resource, _, g_actions = scope.rpartition(":")
        if g_resource == resource and action in g_actions.split(","):
            return True
    return False


# ---- a credential helper ------------------------------------------------------------------

HELPER = """#!/usr/bin/env python3
import json, os, sys
store = os.environ["HULLTEST_HELPER_STORE"]
data = json.load(open(store)) if os.path.exists(store) else {}
action = sys.argv[1]
if action == "get":
    url = sys.stdin.read().strip()
    if url not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    json.dump({"ServerURL": url, **data[url]}, sys.stdout)
elif action == "store":
    doc = json.load(sys.stdin)
    data[doc["ServerURL"]] = {"Username": doc["Username"], "Secret": doc["Secret"]}
    json.dump(data, open(store, "w"))
elif action == "erase":
    url = sys.stdin.read().strip()
    if url not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    del data[url]
    json.dump(data, open(store, "w"))
"""


def install_helper(bin_dir: Path, name: str = "hulltest") -> Path:
    """``docker-credential-<name>`` keeping credentials in $HULLTEST_HELPER_STORE."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(HELPER)
    path.chmod(0o755)
    return path


def basic_auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def env_with(hull_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = dict(hull_env)
    env.update(extra)
    return env


def blobs_in(root: Path) -> set[str]:
    d = root / "blobs" / "sha256"
    return set(os.listdir(d)) if d.exists() else set()
