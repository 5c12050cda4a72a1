"""save and load: round trips, and interoperability with skopeo and Docker."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests import dockerd
from tests.conftest import HullEnv


def test_save_rmi_load_round_trip(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    hull.ok("save", "-o", str(archive), "busybox")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert "index.json" in names and "oci-layout" in names
    assert manifest[0]["RepoTags"] == ["busybox:latest"]
    hull.ok("rmi", "busybox")
    assert hull.ok("load", "-i", str(archive)).strip() == "Loaded image: busybox:latest"
    assert hull.ok("inspect", "-f", "{{.Id}}", "busybox").strip() == busybox


def test_save_to_stdout_and_load_from_stdin(hull: HullEnv, busybox: str) -> None:
    hull.ok("tag", "busybox", "second:v2")
    saved = hull.run_bytes("save", "busybox", "second:v2")
    assert saved.returncode == 0, saved.stderr
    hull.ok("rmi", "-f", busybox)
    loaded = hull.run_bytes("load", input=saved.stdout)
    assert loaded.returncode == 0, loaded.stderr
    assert sorted(loaded.stdout.decode().splitlines()) == [
        "Loaded image: busybox:latest", "Loaded image: second:v2"]


def test_save_is_deterministic(hull: HullEnv, busybox: str) -> None:
    one = hull.run_bytes("save", "busybox").stdout
    two = hull.run_bytes("save", "busybox").stdout
    assert one == two and len(one) > 1_000_000


def test_save_unknown_image_creates_no_file(hull: HullEnv, tmp_path: Path) -> None:
    proc = hull.run("save", "-o", str(tmp_path / "x.tar"), "nope")
    assert proc.returncode == 1 and "No such image: nope" in proc.stderr
    assert not (tmp_path / "x.tar").exists()


def test_load_gzipped_archive(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    hull.ok("save", "-o", str(archive), "busybox")
    subprocess.run(["gzip", str(archive)], check=True)
    hull.ok("rmi", "busybox")
    assert "Loaded image: busybox:latest" in hull.ok("load", "-i", f"{archive}.gz")


skopeo = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")


@skopeo
def test_skopeo_reads_what_hull_saves(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    hull.ok("save", "-o", str(archive), "busybox")
    out = subprocess.run(["skopeo", "inspect", "--config", f"docker-archive:{archive}"],
                         capture_output=True, text=True, check=True).stdout
    config = json.loads(out)
    assert config["rootfs"]["diff_ids"] == json.loads(
        hull.ok("inspect", "-f", "{{json .RootFS.Layers}}", "busybox"))
    # skopeo turns it into an OCI archive (rewriting the config in OCI form); hull loads
    # that with the image id skopeo gave it.
    oci = tmp_path / "bb-oci.tar"
    subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{archive}",
                    f"oci-archive:{oci}:docker.io/library/busybox:oci"], check=True)
    hull.ok("rmi", "busybox")
    out = hull.ok("load", "-i", str(oci))
    assert "Loaded image: busybox:oci" in out
    assert hull.ok("inspect", "-f", "{{.Id}}", "busybox:oci").strip() == oci_config_digest(oci)


def oci_config_digest(archive: Path) -> str:
    """The config digest of the single image in an OCI layout tar."""
    with tarfile.open(archive) as tar:
        def read(name: str) -> dict:
            member = next(m for m in tar.getmembers() if m.name.lstrip("./") == name)
            return json.load(tar.extractfile(member))  # type: ignore[arg-type]

        index = read("index.json")
        manifest = read("blobs/sha256/" + index["manifests"][0]["digest"][7:])
        return manifest["config"]["digest"]


@skopeo
def test_hull_loads_oci_layout_written_by_skopeo_with_compression(hull: HullEnv, busybox: str,
                                                                   tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    hull.ok("save", "-o", str(archive), "busybox")
    layout = tmp_path / "layout"
    subprocess.run(["skopeo", "copy", "-q", "--dest-compress", f"docker-archive:{archive}",
                    f"oci:{layout}:bb"], check=True)
    oci_tar = tmp_path / "layout.tar"
    subprocess.run(["tar", "-C", str(layout), "-cf", str(oci_tar), "."], check=True)
    hull.ok("rmi", "busybox")
    out = hull.ok("load", "-i", str(oci_tar))
    image_id = oci_config_digest(oci_tar)
    assert out.strip() == f"Loaded image ID: {image_id}"
    layers = json.loads(hull.ok("inspect", "-f", "{{json .RootFS.Layers}}", image_id))
    assert len(layers) == 1


@pytest.fixture(scope="module")
def docker_env(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if not dockerd.available():
        pytest.skip("Docker (docker.io) is not installed")
    with dockerd.private_dockerd(tmp_path_factory.mktemp("dockerd")) as env:
        yield env


def test_docker_loads_hull_save_and_hull_loads_docker_save(hull: HullEnv, busybox: str,
                                                           tmp_path: Path, docker_env) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "bb.tar"
    hull.ok("tag", "busybox", "hullmade:1")
    hull.ok("save", "-o", str(archive), "hullmade:1")
    out = subprocess.run(["docker", "load", "-i", str(archive)], env=docker_env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Loaded image: hullmade:1" in out.stdout
    docker_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", "hullmade:1"],
                               env=docker_env, capture_output=True, text=True,
                               check=True).stdout.strip()
    assert docker_id == busybox
    # And back: Docker's own archive format loads into hull with the same id.
    back = tmp_path / "docker.tar"
    subprocess.run(["docker", "tag", "hullmade:1", "fromdocker:2"], env=docker_env, check=True)
    subprocess.run(["docker", "save", "-o", str(back), "fromdocker:2"], env=docker_env, check=True)
    hull.ok("rmi", "-f", busybox)
    assert "Loaded image: fromdocker:2" in hull.ok("load", "-i", str(back))
    assert hull.ok("inspect", "-f", "{{.Id}}", "fromdocker:2").strip() == busybox
    subprocess.run(["docker", "rmi", "hullmade:1", "fromdocker:2"], env=docker_env,
                   capture_output=True)
