"""OCI and Docker manifest models against golden documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hull.oci import mediatypes as mt
from hull.oci.descriptor import Platform
from hull.oci.image import ImageConfig
from hull.oci.manifest import Index, Manifest, ManifestError, sniff_media_type

GOLDEN = Path(__file__).parent / "golden" / "manifests"


@pytest.mark.parametrize("name,media_type", [
    ("docker-schema2.json", mt.DOCKER_MANIFEST),
    ("oci-manifest.json", mt.OCI_MANIFEST),
])
def test_manifests_parse_and_round_trip(name: str, media_type: str) -> None:
    data = (GOLDEN / name).read_bytes()
    manifest = Manifest.from_bytes(data)
    assert manifest.media_type == media_type
    assert manifest.config.size > 0 and len(manifest.layers) == 2
    assert manifest.layers[0].media_type in mt.LAYERS
    assert json.loads(manifest.to_bytes()) == json.loads(data)


@pytest.mark.parametrize("name,media_type", [
    ("docker-manifest-list.json", mt.DOCKER_MANIFEST_LIST),
    ("oci-index.json", mt.OCI_INDEX),
])
def test_indexes_parse_with_platforms(name: str, media_type: str) -> None:
    index = Index.from_bytes((GOLDEN / name).read_bytes())
    assert index.media_type == media_type
    platforms = [str(m.platform) for m in index.manifests]
    assert platforms == ["linux/amd64", "linux/arm64/v8"]


def test_schema1_is_refused_with_advice() -> None:
    data = (GOLDEN / "docker-schema1.json").read_bytes()
    assert sniff_media_type(data) == mt.DOCKER_MANIFEST_V1
    with pytest.raises(ManifestError, match="schema 1 is not supported"):
        Manifest.from_bytes(data)


def test_oci_manifest_without_media_type_is_sniffed() -> None:
    doc = json.loads((GOLDEN / "oci-manifest.json").read_bytes())
    del doc["mediaType"]
    assert Manifest.from_bytes(json.dumps(doc).encode()).media_type == mt.OCI_MANIFEST


@pytest.mark.parametrize("bad", [b"[]", b"{not json", b'{"schemaVersion": 2, "config": {}}'])
def test_malformed_manifests(bad: bytes) -> None:
    with pytest.raises(ManifestError):
        Manifest.from_bytes(bad, mt.OCI_MANIFEST)


def test_image_config_keeps_unknown_fields_and_history() -> None:
    data = (GOLDEN / "docker-config.json").read_bytes()
    config = ImageConfig.from_bytes(data)
    assert config.diff_ids[0].startswith("sha256:")
    assert [h.empty_layer for h in config.history] == [False, True]
    assert config.config["Cmd"] == ["sh"]
    assert json.loads(config.to_bytes()) == json.loads(data)


def test_platform_parsing() -> None:
    assert str(Platform.parse("linux/arm64/v8")) == "linux/arm64/v8"
    assert Platform.parse("amd64").os == "linux"
    with pytest.raises(ValueError):
        Platform.parse("linux//")
