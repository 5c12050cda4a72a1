"""Check a pushed manifest and say what it refers to; no I/O.

The server stores manifests byte for byte (their digest is the digest of those
bytes), so this module only reads them: which media type they are, which blobs
and child manifests must already be in the repository, and which ``subject``
they attach to for the referrers API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hull.oci import mediatypes as mt
from hull.registry.server.errors import RegistryError
from hull.registry.server.routing import DIGEST_RE

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
IMAGE_MANIFESTS = (mt.OCI_MANIFEST, mt.DOCKER_MANIFEST)
INDEXES = (mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST)
ACCEPTED = IMAGE_MANIFESTS + INDEXES
GENERIC_TYPES = ("", "application/json", "application/octet-stream")


@dataclass
class ManifestInfo:
    """What the server needs to know about a manifest to store and index it."""

    media_type: str
    blobs: list[dict[str, Any]] = field(default_factory=list)
    manifests: list[dict[str, Any]] = field(default_factory=list)
    subject: str = ""
    artifact_type: str = ""
    annotations: dict[str, str] = field(default_factory=dict)


def parse_manifest(data: bytes, content_type: str) -> ManifestInfo:
    """Validate ``data`` pushed as ``content_type``; raise MANIFEST_INVALID if it is unusable."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise _invalid(f"manifest is not valid JSON: {e}")
    if not isinstance(doc, dict):
        raise _invalid("manifest must be a JSON object")
    media_type = _media_type(doc, content_type)
    if doc.get("schemaVersion") != 2 or isinstance(doc.get("schemaVersion"), bool):
        raise _invalid("manifest schemaVersion must be 2")
    info = ManifestInfo(media_type=media_type)
    if media_type in IMAGE_MANIFESTS:
        config = doc.get("config")
        if not isinstance(config, dict):
            raise _invalid("image manifest has no config descriptor")
        layers = doc.get("layers", [])
        if not isinstance(layers, list):
            raise _invalid("manifest layers must be a list")
        info.blobs.append(_descriptor(config, "config"))
        for i, layer in enumerate(layers):
            d = _descriptor(layer, f"layers[{i}]")
            if not d.get("urls"):  # foreign layers live elsewhere
                info.blobs.append(d)
        info.artifact_type = _string(doc, "artifactType") or config.get("mediaType", "")
    else:
        manifests = doc.get("manifests")
        if not isinstance(manifests, list):
            raise _invalid("index has no manifests list")
        info.manifests = [_descriptor(m, f"manifests[{i}]") for i, m in enumerate(manifests)]
        info.artifact_type = _string(doc, "artifactType")
    if media_type in (mt.OCI_MANIFEST, mt.OCI_INDEX) and doc.get("subject") is not None:
        info.subject = _descriptor(doc["subject"], "subject")["digest"]
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise _invalid("annotations must map strings to strings")
    info.annotations = annotations
    return info


def _media_type(doc: dict[str, Any], content_type: str) -> str:
    """The manifest's type: the Content-Type it was pushed with, which must agree with the body."""
    declared = content_type.split(";", 1)[0].strip().lower()
    in_body = _string(doc, "mediaType")
    if declared in GENERIC_TYPES:
        declared = in_body or (mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST)
    if declared not in ACCEPTED:
        raise _invalid(f"unsupported manifest media type {declared!r}")
    if in_body and in_body != declared:
        raise _invalid(f"manifest mediaType {in_body!r} does not match Content-Type {declared!r}")
    return declared


def _descriptor(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} is not a descriptor")
    digest, size = value.get("digest"), value.get("size")
    if not isinstance(value.get("mediaType", ""), str):
        raise _invalid(f"{where}.mediaType must be a string")
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        raise _invalid(f"{where}.digest {digest!r} is not a sha256 digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}.size must be a non-negative integer")
    return value


def _string(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str):
        raise _invalid(f"{key} must be a string")
    return value


def _invalid(message: str) -> RegistryError:
    return RegistryError("MANIFEST_INVALID", message)
