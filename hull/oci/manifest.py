"""Image manifests and indexes (OCI image spec and Docker schema 2)."""

from __future__ import annotations

import json
from typing import Any

from hull.oci import mediatypes as mt
from hull.oci.descriptor import Descriptor
from hull.record import field, record


class ManifestError(ValueError):
    """A manifest or index document is malformed or of an unsupported kind."""


def _load(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ManifestError(f"manifest is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ManifestError("manifest is not a JSON object")
    return doc


def sniff_media_type(data: bytes, declared: str = "") -> str:
    """The media type of a manifest document, from the declared type or its content."""
    doc = _load(data)
    found = doc.get("mediaType") or declared
    if found:
        return found
    if doc.get("schemaVersion") == 1:
        return mt.DOCKER_MANIFEST_V1
    if "manifests" in doc:
        return mt.OCI_INDEX
    if "config" in doc and "layers" in doc:
        return mt.OCI_MANIFEST
    raise ManifestError("cannot tell what kind of manifest this is")


@record(frozen=True)
class Manifest:
    """A single-platform image manifest: one config and an ordered list of layers."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = mt.OCI_MANIFEST
    annotations: dict[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str = ""

    @classmethod
    def from_bytes(cls, data: bytes, declared: str = "") -> Manifest:
        media_type = sniff_media_type(data, declared)
        if media_type in mt.SCHEMA1:
            raise ManifestError(
                "Docker image manifest schema 1 is not supported: push the image again with a"
                " current client to convert it to schema 2"
            )
        if media_type not in mt.MANIFESTS:
            raise ManifestError(f"not an image manifest: {media_type}")
        doc = _load(data)
        try:
            if doc.get("schemaVersion") != 2:
                raise ManifestError(f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r}")
            subject = doc.get("subject")
            return cls(
                config=Descriptor.from_dict(doc["config"]),
                layers=tuple(Descriptor.from_dict(layer) for layer in doc.get("layers") or ()),
                media_type=media_type,
                annotations=dict(doc.get("annotations") or {}),
                subject=Descriptor.from_dict(subject) if subject else None,
                artifact_type=doc.get("artifactType", ""),
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, ManifestError):
                raise
            raise ManifestError(f"malformed manifest: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        out["config"] = self.config.to_dict()
        out["layers"] = [layer.to_dict() for layer in self.layers]
        if self.subject is not None:
            out["subject"] = self.subject.to_dict()
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        """Canonical bytes: indented like Docker writes manifests, so digests are stable."""
        return json.dumps(self.to_dict(), indent=3).encode()


@record(frozen=True)
class Index:
    """A list of manifests for several platforms (OCI index / Docker manifest list)."""

    manifests: tuple[Descriptor, ...]
    media_type: str = mt.OCI_INDEX
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_bytes(cls, data: bytes, declared: str = "") -> Index:
        media_type = sniff_media_type(data, declared)
        if media_type not in mt.INDEXES:
            raise ManifestError(f"not an image index: {media_type}")
        doc = _load(data)
        try:
            return cls(
                manifests=tuple(Descriptor.from_dict(m) for m in doc.get("manifests") or ()),
                media_type=media_type,
                annotations=dict(doc.get("annotations") or {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ManifestError(f"malformed index: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type}
        out["manifests"] = [m.to_dict() for m in self.manifests]
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), indent=3).encode()
