"""The client against real peers: Debian's distribution 2.8 (also with htpasswd auth),
skopeo on both sides of hull's registry, and ``docker pull``/``docker run`` of what hull
pushed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import dockerd
from tests.conftest import HullEnv
from tests.integration.test_registry_client_support import layers_image
from tests.integration.test_registry_server_support import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Distribution,
    RegistryProcess,
    make_oci_layout,
    skopeo,
    write_htpasswd,
)


def fresh_env(hull: HullEnv) -> HullEnv:
    return HullEnv(root=hull.root.parent / "fresh-root", run_root=hull.run_root.parent / "fr")


def pushed_digest(output: str) -> str:
    return output.strip().splitlines()[-1].split()[2]


def test_distribution_push_and_pull_back_same_digests(hull: HullEnv, busybox: str,
                                                      tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    dist = Distribution(tmp_path / "dist")
    try:
        ref = f"{dist.address}/library/app:v1"
        hull.ok("load", "-i", str(layers_image(tmp_path, 4, ref)))
        digest = pushed_digest(hull.ok("push", ref))
        reply = dist.client().request("GET", "/v2/library/app/manifests/v1",
                                      headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"})
        assert reply.status == 200 and reply.headers["Docker-Content-Digest"] == digest
        image_id = hull.ok("images", "-q", "--no-trunc", ref).strip()

        fresh = fresh_env(hull)
        out = fresh.ok("pull", ref)
        assert f"Digest: {digest}" in out
        assert fresh.ok("images", "-q", "--no-trunc").strip() == image_id
        again = hull.ok("push", ref)
        assert again.count("Layer already exists") == 4 and pushed_digest(again) == digest

        bb = f"{dist.address}/bb:latest"
        hull.ok("tag", "busybox", bb)
        hull.ok("push", bb)
        assert fresh.ok("pull", "-q", bb).strip() == bb
        assert busybox in fresh.ok("images", "-q", "--no-trunc")
    finally:
        dist.stop()


def test_distribution_with_htpasswd_and_login(hull: HullEnv, busybox: str, tmp_path: Path
                                              ) -> None:
    (tmp_path / "dist").mkdir()
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"bob": "pa55word"})
    dist = Distribution(tmp_path / "dist", htpasswd=htpasswd)
    try:
        ref = f"{dist.address}/secure/bb:v1"
        hull.ok("tag", "busybox", ref)
        assert hull.run("push", ref).returncode != 0
        wrong = hull.run("login", "-u", "bob", "-p", "nope", dist.address)
        assert wrong.returncode != 0 and "incorrect username or password" in wrong.stderr
        good = hull.run("login", "-u", "bob", "--password-stdin", dist.address,
                        input="pa55word")
        assert good.returncode == 0 and "Login Succeeded" in good.stdout, good.stderr
        digest = pushed_digest(hull.ok("push", ref))
        hull.ok("rmi", ref, "busybox")
        assert f"Digest: {digest}" in hull.ok("pull", ref)
        assert hull.ok("images", "-q", "--no-trunc").split() == [busybox]
    finally:
        dist.stop()


def test_skopeo_reads_what_hull_pushed(hull: HullEnv, busybox: str,
                                       registry: RegistryProcess) -> None:
    ref = f"{registry.address}/team/bb:v1"
    hull.ok("tag", "busybox", ref)
    digest = pushed_digest(hull.ok("push", ref))
    proc = skopeo("inspect", "--tls-verify=false", f"docker://{ref}")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["Digest"] == digest
    assert len(info["Layers"]) == 1
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}").stdout)
    assert raw["config"]["digest"] == busybox


def test_hull_pulls_what_skopeo_pushed(hull: HullEnv, busybox_tar: Path, tmp_path: Path,
                                       registry: RegistryProcess) -> None:
    layout = make_oci_layout(busybox_tar, tmp_path / "layout")
    ref = f"{registry.address}/from-skopeo:v1"
    proc = skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:latest",
                  f"docker://{ref}")
    assert proc.returncode == 0, proc.stderr
    out = hull.ok("pull", ref)
    assert f"Digest: {layout.manifest_digest}" in out
    assert hull.ok("images", "-q", "--no-trunc").strip() == layout.config_digest


@pytest.mark.skipif(not dockerd.available(), reason="Docker (docker.io) is not installed")
def test_docker_pulls_and_runs_what_hull_pushed(hull: HullEnv, busybox: str,
                                                registry: RegistryProcess) -> None:
    import shutil
    import tempfile

    ref = f"{registry.address}/team/busybox:v1"
    hull.ok("tag", "busybox", ref)
    digest = pushed_digest(hull.ok("push", ref))
    base = Path(tempfile.mkdtemp(prefix="hull-dockerd-", dir="/tmp"))
    try:
        with dockerd.private_dockerd(base / "d") as env:
            pulled = subprocess.run(["docker", "pull", ref], env=env, capture_output=True,
                                    text=True, timeout=180)
            assert pulled.returncode == 0, pulled.stderr
            assert f"Digest: {digest}" in pulled.stdout
            ran = subprocess.run(["docker", "run", "--rm", "--network", "none", ref,
                                  "echo", "hello from hull"], env=env, capture_output=True,
                                 text=True, timeout=180)
            assert ran.returncode == 0, ran.stderr
            assert ran.stdout.strip() == "hello from hull"
    finally:
        shutil.rmtree(base, ignore_errors=True)
