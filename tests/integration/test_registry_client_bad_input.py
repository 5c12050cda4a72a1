"""Bad input on the client side: one-line errors, non-zero exits, nothing corrupt stored;
and a broken transfer that resumes with a Range request."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import HullEnv
from tests.integration.test_registry_client_support import (
    Fault,
    Proxy,
    blob_get,
    blobs_in,
    docker_archive,
    layer_tar,
    manifest_get,
)
from tests.integration.test_registry_server_support import RegistryProcess, running_registry


@pytest.fixture
def pushed(hull: HullEnv, tmp_path: Path, registry: RegistryProcess) -> str:
    """A three-layer image pushed to the registry as ``app:v1``; returns the repository."""
    ref = f"{registry.address}/app:v1"
    path = tmp_path / "app.tar"
    docker_archive(path, [layer_tar({f"f{i}": os.urandom(200_000)}) for i in range(3)], [ref])
    hull.ok("load", "-i", str(path))
    hull.ok("push", ref)
    return "app:v1"


def fresh_env(hull: HullEnv) -> HullEnv:
    return HullEnv(root=hull.root.parent / "fresh-root", run_root=hull.run_root.parent / "fr")


def one_line_error(proc) -> str:  # type: ignore[no-untyped-def]
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def assert_nothing_stored(env: HullEnv) -> None:
    assert env.ok("images", "-a", "-q") == ""
    assert blobs_in(env.root) == set()


def test_unknown_tag_and_repository(hull: HullEnv, registry: RegistryProcess, pushed: str
                                    ) -> None:
    fresh = fresh_env(hull)
    line = one_line_error(fresh.run("pull", f"{registry.address}/app:nope"))
    assert line == (f"Error: manifest for {registry.address}/app:nope not found: "
                    "manifest unknown: manifest unknown")
    line = one_line_error(fresh.run("pull", f"{registry.address}/no/such/repo"))
    assert "not found" in line and "unknown" in line
    assert_nothing_stored(fresh)


def test_names_with_dot_dot_are_refused_before_any_request(hull: HullEnv,
                                                           registry: RegistryProcess) -> None:
    for command in ("pull", "push"):
        line = one_line_error(hull.run(command, f"{registry.address}/a/../etc"))
        assert "invalid reference format" in line
    assert "/a/../" not in registry.log_text()


def test_unreachable_registry(hull: HullEnv) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_line_error(hull.run("pull", f"127.0.0.1:{port}/x:v1"))
    assert "connection refused" in line


def test_blob_with_wrong_digest_is_not_stored(hull: HullEnv, registry: RegistryProcess,
                                              pushed: str) -> None:
    with Proxy(registry.address) as proxy:
        proxy.faults.append(Fault(blob_get(), corrupt=True))
        fresh = fresh_env(hull)
        line = one_line_error(fresh.run("pull", f"{proxy.address}/{pushed}"))
        assert "digest mismatch" in line
        assert_nothing_stored(fresh)


def test_truncated_download_fails_cleanly(hull: HullEnv, registry: RegistryProcess,
                                          pushed: str) -> None:
    with Proxy(registry.address) as proxy:
        proxy.faults.append(Fault(blob_get(), truncate_after=1000))
        fresh = fresh_env(hull)
        line = one_line_error(fresh.run("pull", f"{proxy.address}/{pushed}"))
        assert "failed at" in line and "retries" in line
        assert_nothing_stored(fresh)
        ranges = [s.headers.get("Range") for s in proxy.seen if s.method == "GET"]
        assert "bytes=1000-" in ranges  # it did try to resume


def test_interrupted_download_resumes_with_range(hull: HullEnv, registry: RegistryProcess,
                                                 pushed: str) -> None:
    with Proxy(registry.address) as proxy:
        proxy.faults.append(Fault(blob_get(), truncate_after=50_000, times=2))
        fresh = fresh_env(hull)
        out = fresh.ok("pull", f"{proxy.address}/{pushed}")
        assert out.count("Pull complete") == 3
        ranges = [s.headers.get("Range") for s in proxy.seen if s.method == "GET"]
        resumed = [r for r in ranges if r]
        assert resumed and all(r == "bytes=50000-" for r in resumed)
        assert fresh.ok("images", "-q", "--no-trunc") == hull.ok("images", "-q", "--no-trunc")


def test_malformed_and_schema1_manifests(hull: HullEnv, registry: RegistryProcess,
                                         pushed: str) -> None:
    fresh = fresh_env(hull)
    with Proxy(registry.address) as proxy:
        proxy.faults.append(Fault(manifest_get(), body=b'{"schemaVersion": 2, "layers": 7',
                                  times=1))
        line = one_line_error(fresh.run("pull", f"{proxy.address}/{pushed}"))
        assert "digest mismatch" in line  # the tag's digest header no longer matches
    with Proxy(registry.address) as proxy:
        garbage = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
        proxy.faults.append(Fault(manifest_get(), body=garbage))
        pulled = fresh.run("pull", f"{proxy.address}/{pushed.split(':')[0]}@"
                           f"sha256:{'0' * 64}")
        line = one_line_error(pulled)
        assert "mismatch" in line or "not found" in line
    with Proxy(registry.address) as proxy:
        schema1 = json.dumps({"schemaVersion": 1, "name": "app", "tag": "v1",
                              "fsLayers": [], "history": []}).encode()
        proxy.faults.append(Fault(manifest_get(), body=schema1, content_type=(
            "application/vnd.docker.distribution.manifest.v1+prettyjws")))
        line = one_line_error(fresh.run("pull", f"{proxy.address}/{pushed}"))
        assert "schema 1 is not supported" in line
    assert_nothing_stored(fresh)


def test_manifest_without_digest_header_is_still_checked(hull: HullEnv,
                                                         registry: RegistryProcess,
                                                         pushed: str) -> None:
    """A registry that serves a broken manifest (no digest to compare) fails to parse."""
    fresh = fresh_env(hull)

    class NoDigestProxy(Proxy):
        pass

    with NoDigestProxy(registry.address) as proxy:
        proxy.faults.append(Fault(manifest_get(), body=b"[1, 2, 3]"))
        original = proxy.server.RequestHandlerClass.send_header

        def send_header(self, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
            if key.lower() != "docker-content-digest":
                original(self, key, value)

        proxy.server.RequestHandlerClass.send_header = send_header  # type: ignore[method-assign]
        try:
            line = one_line_error(fresh.run("pull", f"{proxy.address}/{pushed}"))
        finally:
            proxy.server.RequestHandlerClass.send_header = original  # type: ignore[method-assign]
        assert "manifest" in line and ("JSON object" in line or "malformed" in line)
    assert_nothing_stored(fresh)


def test_push_to_a_read_only_registry_fails_in_one_line(hull: HullEnv, busybox: str,
                                                        tmp_path: Path) -> None:
    with running_registry(tmp_path / "ro", "--read-only") as ro:
        ref = f"{ro.address}/bb:v1"
        hull.ok("tag", "busybox", ref)
        line = one_line_error(hull.run("push", ref))
        assert "unsupported" in line.lower() or "read" in line.lower()
        digests = hull.ok("image", "inspect", "-f", "{{json .RepoDigests}}", ref)
        assert digests.strip() == "[]"
