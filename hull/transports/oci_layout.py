"""OCI image layout (``oci-layout``, ``index.json``, ``blobs/``), as a directory or a tar."""

from __future__ import annotations

import json
from typing import BinaryIO

from hull import digest as dg
from hull.errors import CorruptArchive, InvalidReference
from hull.oci import mediatypes as mt
from hull.oci.descriptor import Descriptor
from hull.oci.manifest import Index, ManifestError
from hull.transports.base import ImageSource
from hull.transports.tree import FileTree

NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


def is_oci_layout(tree: FileTree) -> bool:
    return tree.exists("oci-layout") and tree.exists("index.json")


def blob_path(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256":
        raise CorruptArchive(f"unsupported digest algorithm in {digest}")
    return f"blobs/sha256/{dg.hex_of(digest) if hexpart else ''}"


class OCILayoutImage(ImageSource):
    """One entry of an OCI layout's index.json."""

    def __init__(self, tree: FileTree, desc: Descriptor) -> None:
        self.tree = tree
        self.desc = desc

    def manifest(self, digest: str | None = None) -> tuple[bytes, str]:
        if digest is None:
            data = self.tree.read(blob_path(self.desc.digest))
            if dg.of_bytes(data) != self.desc.digest:
                raise CorruptArchive(f"manifest {self.desc.digest} does not match its digest")
            return data, self.desc.media_type
        return self.tree.read(blob_path(digest)), ""

    def open_blob(self, desc: Descriptor) -> BinaryIO:
        return self.tree.open(blob_path(desc.digest))

    def names(self) -> list[str]:
        from hull import reference

        ann = self.desc.annotations
        # ref.name is often a bare tag ("latest"), which names no repository.
        ref_name = ann.get(REF_ANNOTATION, "")
        if ":" not in ref_name and "/" not in ref_name:
            ref_name = ""
        for candidate in (ann.get(NAME_ANNOTATION, ""), ref_name):
            if not candidate:
                continue
            try:
                ref = reference.parse(candidate)
            except InvalidReference:
                continue
            if ref.digest:
                continue
            return [str(ref)]
        return []


def read_oci_layout(tree: FileTree) -> list[OCILayoutImage]:
    try:
        layout = json.loads(tree.read("oci-layout"))
        if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
            raise CorruptArchive("oci-layout has no imageLayoutVersion")
        index = Index.from_bytes(tree.read("index.json"), mt.OCI_INDEX)
    except (ValueError, ManifestError) as e:
        raise CorruptArchive(f"not a valid OCI image layout: {e}") from None
    return [OCILayoutImage(tree, d) for d in index.manifests
            if d.media_type in mt.MANIFESTS + mt.INDEXES or not d.media_type]
