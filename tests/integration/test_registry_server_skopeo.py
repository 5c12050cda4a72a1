"""A real client against the registry: skopeo pushes, inspects and pulls a busybox image."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_registry_server_support import (
    Layout,
    RegistryProcess,
    make_oci_layout,
    running_registry,
    skopeo,
    write_htpasswd,
)


@pytest.fixture
def layout(busybox_tar: Path, tmp_path: Path) -> Layout:
    return make_oci_layout(busybox_tar, tmp_path / "layout")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RegistryProcess]:
    with running_registry(tmp_path / "root") as srv:
        yield srv


def _copy(src: str, dest: str, *extra: str) -> None:
    r = skopeo("--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
               *extra, src, dest)
    assert r.returncode == 0, r.stderr


def test_skopeo_push_inspect_and_pull(server: RegistryProcess, layout: Layout,
                                      tmp_path: Path) -> None:
    ref = f"docker://{server.address}/test/busybox:latest"
    _copy(f"oci:{layout.path}:latest", ref)

    inspect = skopeo("--insecure-policy", "inspect", "--tls-verify=false", ref)
    assert inspect.returncode == 0, inspect.stderr
    info = json.loads(inspect.stdout)
    assert info["Digest"] == layout.manifest_digest
    assert info["Layers"] == [layout.layer_digest]
    assert info["RepoTags"] == ["latest"]
    raw = skopeo("--insecure-policy", "inspect", "--raw", "--tls-verify=false", ref)
    assert raw.stdout.encode() == layout.blob(layout.manifest_digest)

    out = tmp_path / "pulled"
    _copy(ref, f"oci:{out}:latest")
    pulled = Layout(out, layout.manifest_digest, layout.config_digest, layout.layer_digest)
    for digest in (layout.manifest_digest, layout.config_digest, layout.layer_digest):
        assert pulled.blob(digest) == layout.blob(digest)
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["digest"] == layout.manifest_digest


def test_skopeo_second_push_to_another_repo_mounts_blobs(server: RegistryProcess, layout: Layout,
                                                         tmp_path: Path) -> None:
    _copy(f"oci:{layout.path}:latest", f"docker://{server.address}/one/busybox:v1")
    _copy(f"docker://{server.address}/one/busybox:v1", f"docker://{server.address}/two/busybox:v1")
    mounted = [line for line in server.log_text().splitlines()
               if '"POST /v2/two/busybox/blobs/uploads/?' in line
               and f"mount={layout.layer_digest.replace(':', '%3A')}" in line]
    assert len(mounted) == 1 and '" 201 ' in mounted[0], mounted
    inspect = skopeo("--insecure-policy", "inspect", "--tls-verify=false",
                     f"docker://{server.address}/two/busybox:v1")
    assert json.loads(inspect.stdout)["Digest"] == layout.manifest_digest
    blobs = list((server.root / "blobs" / "sha256").iterdir())
    assert len(blobs) == 3


def test_skopeo_with_credentials(layout: Layout, tmp_path: Path) -> None:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": "s3cret", "bob": "hunter2"})
    with running_registry(tmp_path / "root", "--htpasswd", str(htpasswd)) as srv:
        ref = f"docker://{srv.address}/secure/busybox:latest"
        denied = skopeo("--insecure-policy", "copy", "--dest-tls-verify=false",
                        f"oci:{layout.path}:latest", ref)
        assert denied.returncode != 0
        wrong = skopeo("--insecure-policy", "copy", "--dest-tls-verify=false",
                       "--dest-creds", "alice:wrong", f"oci:{layout.path}:latest", ref)
        assert wrong.returncode != 0
        assert "401" in wrong.stderr or "unauthorized" in wrong.stderr.lower()
        _copy(f"oci:{layout.path}:latest", ref, "--dest-creds", "alice:s3cret")
        inspect = skopeo("--insecure-policy", "inspect", "--tls-verify=false",
                         "--creds", "bob:hunter2", ref)
        assert inspect.returncode == 0, inspect.stderr
        assert json.loads(inspect.stdout)["Digest"] == layout.manifest_digest
        anonymous = skopeo("--insecure-policy", "inspect", "--tls-verify=false", ref)
        assert anonymous.returncode != 0
