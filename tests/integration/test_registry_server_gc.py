"""``hull registry gc``: mark and sweep over a registry filled through the real server."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.integration.test_registry_server_support import (
    OCI_INDEX,
    OCI_MANIFEST,
    REPO,
    Client,
    image_manifest,
    running_registry,
    sha256,
)


@dataclass
class Filled:
    """Digests of what ``_fill`` pushed."""

    kept_image: str
    kept_blobs: list[str]
    deleted_image: str
    deleted_blobs: list[str]
    orphan: str
    untagged: str
    untagged_layer: str
    index_child: str
    index_child_layer: str
    signature: str
    signature_layer: str


def _push(c: Client, ref: str, layer: bytes, extra: dict | None = None) -> tuple[str, list[str]]:
    config = json.dumps({"os": "linux", "layer": layer.decode()}).encode()
    blobs = [c.push_blob("gc/app", config), c.push_blob("gc/app", layer)]
    r = c.push_manifest("gc/app", ref, image_manifest(blobs[0], len(config), blobs[1], len(layer),
                                                      extra))
    assert r.status == 201, r.body
    return r.headers["Docker-Content-Digest"], blobs


def _fill(c: Client) -> Filled:
    kept, kept_blobs = _push(c, "v1", b"kept layer")
    deleted, deleted_blobs = _push(c, "v2", b"deleted layer")
    assert c.request("DELETE", f"/v2/gc/app/manifests/{deleted}").status == 202
    orphan = c.push_blob("gc/app", b"pushed but never referenced")
    body = json.dumps(image_manifest(*_blob_pair(c, b"untagged layer"))).encode()
    untagged = sha256(body)
    c.request("PUT", f"/v2/gc/app/manifests/{untagged}", body, {"Content-Type": OCI_MANIFEST})
    child_body = json.dumps(image_manifest(*_blob_pair(c, b"child layer"))).encode()
    child = sha256(child_body)
    c.request("PUT", f"/v2/gc/app/manifests/{child}", child_body, {"Content-Type": OCI_MANIFEST})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": len(child_body)}]}
    assert c.push_manifest("gc/app", "multi", index, OCI_INDEX).status == 201
    kept_size = len(c.request("GET", f"/v2/gc/app/manifests/{kept}").body)
    sig_body = json.dumps(image_manifest(*_blob_pair(c, b"signature layer"), {
        "artifactType": "application/vnd.example.sig",
        "subject": {"mediaType": OCI_MANIFEST, "digest": kept, "size": kept_size}})).encode()
    signature = sha256(sig_body)
    c.request("PUT", f"/v2/gc/app/manifests/{signature}", sig_body,
              {"Content-Type": OCI_MANIFEST})
    return Filled(kept, kept_blobs, deleted, deleted_blobs, orphan, untagged,
                  sha256(b"untagged layer"), child, sha256(b"child layer"), signature,
                  sha256(b"signature layer"))


def _blob_pair(c: Client, layer: bytes) -> tuple[str, int, str, int]:
    config = b'{"os":"linux"}'
    return c.push_blob("gc/app", config), len(config), c.push_blob("gc/app", layer), len(layer)


def _gc(root: Path, *args: str) -> list[str]:
    r = subprocess.run([sys.executable, "-m", "hull", "registry", "gc", "--root", str(root),
                        *args], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def _stored(root: Path) -> set[str]:
    return {"sha256:" + p.name for p in (root / "blobs" / "sha256").iterdir()}


def test_gc_sweeps_unreferenced_blobs(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with running_registry(root) as srv:
        filled = _fill(srv.client())
    garbage = {filled.deleted_image, filled.orphan, *filled.deleted_blobs}
    garbage_bytes = sum((root / "blobs" / "sha256" / d[7:]).stat().st_size for d in garbage)
    before = _stored(root)
    assert garbage <= before

    dry = _gc(root, "--dry-run")
    assert _stored(root) == before
    assert {line.split()[3] for line in dry if line.startswith("would remove blob")} == garbage
    assert dry[-1] == f"{len(garbage)} blobs would be removed, {garbage_bytes} bytes would be freed"

    out = _gc(root)
    assert {line.split()[2] for line in out if line.startswith("removed blob")} == garbage
    assert out[-1] == f"{len(garbage)} blobs removed, {garbage_bytes} bytes freed"
    assert _stored(root) == before - garbage
    assert _gc(root)[-1] == "0 blobs removed, 0 bytes freed"

    with running_registry(root) as srv:
        c = srv.client()
        assert c.request("GET", "/v2/gc/app/manifests/v1").status == 200
        for digest in filled.kept_blobs:
            assert c.request("GET", f"/v2/gc/app/blobs/{digest}").status == 200
        for ref in (filled.untagged, filled.index_child, filled.signature, "multi"):
            assert c.request("HEAD", f"/v2/gc/app/manifests/{ref}").status == 200
        for digest in garbage:
            assert c.request("HEAD", f"/v2/gc/app/blobs/{digest}").status == 404
        assert not (root / "repositories/gc/app/_layers" / filled.orphan[7:]).exists()


def test_gc_delete_untagged_keeps_index_children_and_referrers(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with running_registry(root) as srv:
        filled = _fill(srv.client())
    out = _gc(root, "--delete-untagged")
    assert [line for line in out if "manifest" in line] == [
        f"removed manifest gc/app@{filled.untagged}"]
    stored = _stored(root)
    assert filled.untagged not in stored and filled.untagged_layer not in stored
    for digest in (filled.kept_image, filled.index_child, filled.index_child_layer,
                   filled.signature, filled.signature_layer):
        assert digest in stored
    with running_registry(root) as srv:
        c = srv.client()
        assert c.request("GET", f"/v2/gc/app/manifests/{filled.untagged}").status == 404
        refs = c.request("GET", f"/v2/gc/app/referrers/{filled.kept_image}").json()["manifests"]
        assert [m["digest"] for m in refs] == [filled.signature]


def test_gc_removes_idle_upload_sessions(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with running_registry(root) as srv:
        c = srv.client()
        stale = c.request("POST", "/v2/gc/up/blobs/uploads/").headers["Docker-Upload-UUID"]
        c.request("PATCH", f"/v2/gc/up/blobs/uploads/{stale}", b"half")
    assert _gc(root, "--upload-max-age", "1")[:-1] == []
    assert _gc(root, "--dry-run", "--upload-max-age", "0")[0] == f"would remove upload {stale}"
    assert (root / "uploads" / stale).exists()
    assert _gc(root, "--upload-max-age", "0")[0] == f"removed upload {stale}"
    assert not (root / "uploads" / stale).exists()
    with running_registry(root) as srv:
        gone = srv.client().request("GET", f"/v2/gc/up/blobs/uploads/{stale}")
        assert gone.status == 404
