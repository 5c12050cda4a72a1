"""Pulling layers of several MiB, which are downloaded, verified, decompressed, hashed and
unpacked by overlapping threads: the files arrive whole, and every kind of bad content is
still a one-line error with nothing stored."""

from __future__ import annotations

import gzip
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
)
from tests.integration.test_registry_server_support import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    RegistryProcess,
    sha256,
)

BIG = 5 * 1024 * 1024 + 12345  # several unpacking chunks, not a multiple of one


def one_line_error(proc) -> str:  # type: ignore[no-untyped-def]
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def push_raw_image(registry: RegistryProcess, name: str, layer: bytes, diff_id: str,
                   media_type: str = OCI_LAYER_GZIP) -> None:
    """An image whose only layer is ``layer`` and whose config claims ``diff_id``."""
    client = registry.client()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": client.push_blob(name, config),
                           "size": len(config)},
                "layers": [{"mediaType": media_type, "digest": client.push_blob(name, layer),
                            "size": len(layer)}]}
    assert client.push_manifest(name, "v1", manifest).status == 201


def test_big_layers_push_and_pull_whole(hull: HullEnv, tmp_path: Path,
                                        registry: RegistryProcess) -> None:
    data = os.urandom(BIG)
    text = b"compressible line\n" * (BIG // 18)
    tar = layer_tar({"big/random.bin": data, "big/text.txt": text})
    path = tmp_path / "img.tar"
    ref = f"{registry.address}/team/big:v1"
    image_id = docker_archive(path, [tar], [ref])
    hull.ok("load", "-i", str(path))
    hull.ok("push", ref)
    fresh = HullEnv(root=tmp_path / "fresh-root", run_root=tmp_path / "fresh-run")
    out = fresh.ok("pull", ref)
    assert "Pull complete" in out
    assert fresh.ok("images", "-q", "--no-trunc").strip() == image_id
    # the unpacked files are the ones pushed
    container = fresh.ok("create", ref, "true").strip()
    try:
        for name, content in (("random.bin", data), ("text.txt", text)):
            fresh.ok("cp", f"{container}:/big/{name}", str(tmp_path / name))
            assert (tmp_path / name).read_bytes() == content
    finally:
        fresh.ok("rm", container)


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_big_zstd_and_plain_layers_pull_whole(hull: HullEnv, tmp_path: Path,
                                              registry: RegistryProcess, compression: str) -> None:
    data = os.urandom(BIG)
    tar = layer_tar({"big/random.bin": data})
    if compression == "zstd":
        import zstandard

        blob = zstandard.ZstdCompressor(level=1).compress(tar)
        media_type = "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        blob, media_type = tar, "application/vnd.oci.image.layer.v1.tar"
    push_raw_image(registry, f"raw-{compression}", blob, sha256(tar), media_type)
    ref = f"{registry.address}/raw-{compression}:v1"
    hull.ok("pull", ref)
    container = hull.ok("create", ref, "true").strip()
    try:
        hull.ok("cp", f"{container}:/big/random.bin", str(tmp_path / "random.bin"))
        assert (tmp_path / "random.bin").read_bytes() == data
    finally:
        hull.ok("rm", container)


def test_big_layer_with_a_wrong_diff_id_is_not_stored(hull: HullEnv, tmp_path: Path,
                                                      registry: RegistryProcess) -> None:
    tar = layer_tar({"f": os.urandom(BIG)})
    push_raw_image(registry, "liar", gzip.compress(tar, compresslevel=1, mtime=0),
                   sha256(tar + b"x"))
    line = one_line_error(hull.run("pull", f"{registry.address}/liar:v1"))
    assert "does not match diff id" in line
    assert hull.ok("images", "-a", "-q") == "" and blobs_in(hull.root) == set()


def test_big_truncated_gzip_is_a_corrupt_layer(hull: HullEnv, tmp_path: Path,
                                               registry: RegistryProcess) -> None:
    tar = layer_tar({"f": os.urandom(BIG)})
    cut = gzip.compress(tar, compresslevel=1, mtime=0)[: BIG // 2]
    push_raw_image(registry, "cut", cut, sha256(tar))
    line = one_line_error(hull.run("pull", f"{registry.address}/cut:v1"))
    assert "truncated or corrupt" in line or "corrupt gzip" in line
    assert hull.ok("images", "-a", "-q") == "" and blobs_in(hull.root) == set()


def test_big_blob_corrupted_in_transit_is_not_stored(hull: HullEnv, tmp_path: Path,
                                                     registry: RegistryProcess) -> None:
    tar = layer_tar({"f": os.urandom(BIG)})
    push_raw_image(registry, "bent", gzip.compress(tar, compresslevel=1, mtime=0), sha256(tar))
    with Proxy(registry.address) as proxy:
        proxy.faults.append(Fault(blob_get(), corrupt=True))
        line = one_line_error(hull.run("pull", f"{proxy.address}/bent:v1"))
    assert "digest mismatch" in line
    assert hull.ok("images", "-a", "-q") == "" and blobs_in(hull.root) == set()
