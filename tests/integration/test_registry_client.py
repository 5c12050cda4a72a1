"""hull pull / push against hull's own registry server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import HullEnv
from tests.integration.test_registry_client_support import (
    docker_archive,
    layer_tar,
    layers_image,
    sha256,
)
from tests.integration.test_registry_server_support import (
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    RegistryProcess,
)


def other_root(hull: HullEnv, name: str) -> HullEnv:
    return HullEnv(root=hull.root.parent / f"{name}-root", run_root=hull.run_root.parent / name)


def test_push_then_pull_into_a_fresh_store(hull: HullEnv, busybox: str,
                                           registry: RegistryProcess) -> None:
    ref = f"{registry.address}/team/busybox:v1"
    hull.ok("tag", "busybox", ref)
    out = hull.ok("push", ref)
    lines = out.splitlines()
    assert lines[0] == f"The push refers to repository [{registry.address}/team/busybox]"
    assert any(line.endswith(": Pushed") for line in lines)
    last = lines[-1].split()
    assert last[0] == "v1:" and last[1] == "digest:" and last[3] == "size:"
    pushed = last[2]
    # the registry has the manifest under the tag, with a gzip layer (pushed compressed)
    reply = registry.client().request("GET", "/v2/team/busybox/manifests/v1",
                                      headers={"Accept": OCI_MANIFEST})
    assert reply.status == 200
    assert reply.headers["Docker-Content-Digest"] == pushed
    assert reply.json()["layers"][0]["mediaType"].endswith("gzip")
    # the push recorded the digest as a RepoDigest
    digests = json.loads(hull.ok("image", "inspect", "-f", "{{json .RepoDigests}}", ref))
    assert f"{registry.address}/team/busybox@{pushed}" in digests

    fresh = other_root(hull, "fresh")
    out = fresh.ok("pull", ref)
    lines = out.splitlines()
    assert lines[0] == "v1: Pulling from team/busybox"
    assert any(line.endswith(": Pull complete") for line in lines)
    assert f"Digest: {pushed}" in lines
    assert f"Status: Downloaded newer image for {ref}" in lines
    assert lines[-1] == ref
    assert fresh.ok("images", "-q", "--no-trunc").split() == [busybox]
    table = fresh.ok("images", "--digests")
    assert pushed in table and f"{registry.address}/team/busybox" in table
    # the image is complete: its files can be read back out of a save
    assert fresh.run_bytes("save", ref).returncode == 0

    again = fresh.ok("pull", ref)
    assert f"Status: Image is up to date for {ref}" in again
    assert "Already exists" in again


def test_multi_layer_push_pull_parallel_and_idempotent(hull: HullEnv, tmp_path: Path,
                                                       registry: RegistryProcess) -> None:
    ref = f"{registry.address}/many:v1"
    hull.ok("load", "-i", str(layers_image(tmp_path, 6, ref)))
    image_id = hull.ok("images", "-q", "--no-trunc").strip()
    first = hull.ok("push", ref)
    assert first.count(": Pushed") == 6
    second = hull.ok("push", ref)
    assert second.count(": Layer already exists") == 6
    # uncompressed local layers are compressed once, the same way: same digest each time
    assert first.splitlines()[-1] == second.splitlines()[-1]
    # several uploads were in flight at once (visible as overlapping requests in the log)
    fresh = other_root(hull, "fresh")
    out = fresh.ok("pull", ref)
    assert out.count(": Pull complete") == 6
    assert fresh.ok("images", "-q", "--no-trunc").strip() == image_id
    history = fresh.ok("history", "--format", "{{.CreatedBy}}", ref).split("\n")
    assert "layer 5" in history[0]


def test_push_mounts_blobs_from_another_repository(hull: HullEnv, tmp_path: Path,
                                                    registry: RegistryProcess) -> None:
    first = f"{registry.address}/base/app:v1"
    hull.ok("load", "-i", str(layers_image(tmp_path, 2, first)))
    hull.ok("push", first)
    fresh = other_root(hull, "fresh")
    fresh.ok("pull", first)
    second = f"{registry.address}/other/app:v1"
    fresh.ok("tag", first, second)
    out = fresh.ok("push", second)
    assert out.count("Mounted from base/app") == 2, out
    log = registry.log_text()
    assert "mount=sha256" in log and "from=base/app" in log


def test_pull_by_digest_and_quiet(hull: HullEnv, busybox: str, registry: RegistryProcess
                                  ) -> None:
    ref = f"{registry.address}/bb:latest"
    hull.ok("tag", "busybox", ref)
    digest = hull.ok("push", ref).splitlines()[-1].split()[2]
    fresh = other_root(hull, "fresh")
    by_digest = f"{registry.address}/bb@{digest}"
    assert fresh.ok("pull", "-q", by_digest).strip() == by_digest
    assert fresh.ok("images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").strip() == (
        f"{registry.address}/bb <none> {digest}")
    assert fresh.ok("image", "pull", "-q", ref).strip() == ref
    assert fresh.ok("images", "-q", "--no-trunc").split() == [busybox]


def test_pull_and_push_all_tags(hull: HullEnv, tmp_path: Path, registry: RegistryProcess
                                ) -> None:
    repo = f"{registry.address}/tags"
    hull.ok("load", "-i", str(layers_image(tmp_path, 1, f"{repo}:a")))
    hull.ok("load", "-i", str(layers_image(tmp_path, 2, f"{repo}:b", seed="b")))
    out = hull.ok("push", "-a", repo)
    assert "a: digest:" in out and "b: digest:" in out
    fresh = other_root(hull, "fresh")
    out = fresh.ok("pull", "-a", repo)
    assert out.splitlines()[-1] == repo
    tags = fresh.ok("images", "--format", "{{.Tag}}").split()
    assert sorted(tags) == ["a", "b"]
    bad = fresh.run("pull", "-a", f"{repo}:a")
    assert bad.returncode != 0 and "can't be used with --all-tags" in bad.stderr


def _push_platform_image(registry: RegistryProcess, name: str, arch: str) -> tuple[str, int]:
    client = registry.client()
    tar = layer_tar({f"etc/{arch}": arch.encode()})
    import gzip

    layer = gzip.compress(tar, mtime=0)
    config = json.dumps({"architecture": arch, "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": client.push_blob(name, config),
                           "size": len(config)},
                "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": client.push_blob(name, layer),
                            "size": len(layer)}]}
    data = json.dumps(manifest).encode()
    reply = client.push_manifest(name, sha256(data), manifest)
    assert reply.status == 201, reply.body
    return sha256(data), len(data)


def test_pull_from_an_index_chooses_the_platform(hull: HullEnv, registry: RegistryProcess
                                                 ) -> None:
    entries = []
    for arch in ("amd64", "arm64"):
        digest, size = _push_platform_image(registry, "multi", arch)
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                        "platform": {"os": "linux", "architecture": arch}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    reply = registry.client().push_manifest("multi", "latest", index, OCI_INDEX)
    assert reply.status == 201, reply.body
    index_digest = reply.headers["Docker-Content-Digest"]

    ref = f"{registry.address}/multi:latest"
    out = hull.ok("pull", "--platform", "linux/arm64", ref)
    assert f"Digest: {index_digest}" in out  # the digest of what the tag names: the index
    assert hull.ok("image", "inspect", "-f", "{{.Architecture}}", ref).strip() == "arm64"
    digests = hull.ok("image", "inspect", "-f", "{{json .RepoDigests}}", ref)
    assert f"{registry.address}/multi@{index_digest}" in digests
    hull.ok("pull", "--platform", "linux/amd64", ref)
    assert hull.ok("image", "inspect", "-f", "{{.Architecture}}", ref).strip() == "amd64"
    missing = hull.run("pull", "--platform", "linux/s390x", ref)
    assert missing.returncode != 0
    assert "no matching manifest for linux/s390x" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_docker_schema2_manifest_pulls(hull: HullEnv, tmp_path: Path,
                                       registry: RegistryProcess) -> None:
    """A Docker schema 2 manifest (what `docker push` writes) pulls like an OCI one."""
    client = registry.client()
    tar = layer_tar({"hello.txt": b"hello\n"})
    import gzip

    layer = gzip.compress(tar, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "digest": client.push_blob("d2", config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "digest": client.push_blob("d2", layer), "size": len(layer)}]}
    assert client.push_manifest("d2", "v1", manifest, DOCKER_MANIFEST).status == 201
    hull.ok("pull", f"{registry.address}/d2:v1")
    assert hull.ok("images", "-q", "--no-trunc").strip() == sha256(config)


def test_push_of_a_missing_image_or_digest_reference(hull: HullEnv, registry: RegistryProcess
                                                     ) -> None:
    missing = hull.run("push", f"{registry.address}/nothing:v1")
    assert missing.returncode != 0
    assert "An image does not exist locally with the tag" in missing.stderr
    digest = hull.run("push", f"{registry.address}/x@sha256:{'a' * 64}")
    assert digest.returncode != 0 and "digest" in digest.stderr


def test_tty_progress_bars(hull: HullEnv, tmp_path: Path, registry: RegistryProcess) -> None:
    """On a terminal, pull draws a bar per layer and ends with the same summary lines."""
    import os
    import sys

    import pexpect

    ref = f"{registry.address}/bars:v1"
    path = tmp_path / "bars.tar"
    docker_archive(path, [layer_tar({f"f{i}": os.urandom(300_000)}) for i in range(3)], [ref])
    hull.ok("load", "-i", str(path))
    hull.ok("push", ref)
    fresh = other_root(hull, "fresh")
    child = pexpect.spawn(sys.executable, ["-m", "hull", "pull", ref], env=fresh.env(),
                          timeout=60, dimensions=(40, 120))
    child.expect(pexpect.EOF)
    child.close()
    text = child.before.decode(errors="replace")
    assert child.exitstatus == 0, text
    assert "Pull complete" in text and "Status: Downloaded newer image" in text
    assert "\x1b[" in text  # drawn with terminal control sequences


def test_removing_a_pushed_image_removes_its_gzip_copies(hull: HullEnv, busybox: str,
                                                         registry: RegistryProcess) -> None:
    import os

    ref = f"{registry.address}/team/gone:v1"
    hull.ok("tag", "busybox", ref)
    blobs = hull.root / "blobs" / "sha256"
    before = set(os.listdir(blobs))
    hull.ok("push", ref)
    made = set(os.listdir(blobs)) - before
    assert made, "pushing an uncompressed layer stores its gzip copy"
    hull.ok("rmi", "-f", busybox)
    assert os.listdir(blobs) == []
    assert os.listdir(hull.root / "layer-gzip") == []
