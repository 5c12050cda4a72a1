"""docker-archive: the tarballs of ``docker save`` / ``docker load``.

Reading accepts both the classic layout (``<id>.json``, ``<id>/layer.tar``)
and Docker 25's (``blobs/sha256/...`` plus an OCI index).  Writing produces
Docker 25's layout: ``manifest.json`` for Docker and skopeo, and ``index.json``
with ``oci-layout`` so OCI tools read the same file.  Layers are written
uncompressed, as Docker does.
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import BinaryIO

from hull import digest as dg
from hull.errors import CorruptArchive
from hull.oci import mediatypes as mt
from hull.oci.descriptor import Descriptor
from hull.oci.manifest import Index, Manifest
from hull.transports.base import ImageDestination, ImageSource
from hull.transports.tree import FileTree

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def is_docker_archive(tree: FileTree) -> bool:
    return tree.exists("manifest.json")


class DockerArchiveImage(ImageSource):
    """One entry of an archive's manifest.json."""

    def __init__(self, tree: FileTree, entry: dict) -> None:
        self.tree = tree
        try:
            self.config_path: str = entry["Config"]
            self.layer_paths: list[str] = list(entry.get("Layers") or [])
            self.repo_tags: list[str] = list(entry.get("RepoTags") or [])
        except (KeyError, TypeError) as e:
            raise CorruptArchive(f"malformed manifest.json entry: {e}") from None
        self._paths: dict[str, str] = {}
        self._manifest: bytes | None = None

    def _build_manifest(self) -> bytes:
        config = self.tree.read(self.config_path)
        config_digest = dg.of_bytes(config)
        self._paths[config_digest] = self.config_path
        try:
            diff_ids = json.loads(config)["rootfs"]["diff_ids"]
        except (ValueError, KeyError, TypeError):
            raise CorruptArchive(f"{self.config_path}: not a valid image config") from None
        if len(diff_ids) != len(self.layer_paths):
            raise CorruptArchive(f"manifest.json lists {len(self.layer_paths)} layers but the"
                                 f" config has {len(diff_ids)}")
        layers = []
        for path, diff_id in zip(self.layer_paths, diff_ids, strict=True):
            with self.tree.open(path) as f:
                magic = f.read(4)
            size = self.tree.size(path)
            if magic.startswith(GZIP_MAGIC) or magic == ZSTD_MAGIC:
                with self.tree.open(path) as f:
                    digest, size = dg.of_stream(f)
                media = mt.DOCKER_LAYER_GZIP if magic.startswith(GZIP_MAGIC) else mt.OCI_LAYER_ZSTD
            else:
                digest, media = diff_id, mt.DOCKER_LAYER
            self._paths[digest] = path
            layers.append(Descriptor(media_type=media, digest=digest, size=size))
        manifest = Manifest(
            config=Descriptor(media_type=mt.DOCKER_CONFIG, digest=config_digest, size=len(config)),
            layers=tuple(layers), media_type=mt.DOCKER_MANIFEST)
        return manifest.to_bytes()

    def manifest(self, digest: str | None = None) -> tuple[bytes, str]:
        if self._manifest is None:
            self._manifest = self._build_manifest()
        return self._manifest, mt.DOCKER_MANIFEST

    def open_blob(self, desc: Descriptor) -> BinaryIO:
        path = self._paths.get(desc.digest)
        if path is None:
            raise CorruptArchive(f"the archive has no blob {desc.digest}")
        return self.tree.open(path)

    def names(self) -> list[str]:
        return self.repo_tags

    def layer_diff_size(self, desc: Descriptor) -> int | None:
        return desc.size if desc.media_type == mt.DOCKER_LAYER else None


def read_docker_archive(tree: FileTree) -> list[DockerArchiveImage]:
    try:
        entries = json.loads(tree.read("manifest.json"))
    except ValueError as e:
        raise CorruptArchive(f"manifest.json is not valid JSON: {e}") from None
    if not isinstance(entries, list):
        raise CorruptArchive("manifest.json is not a list")
    return [DockerArchiveImage(tree, e) for e in entries]


class DockerArchiveWriter:
    """Writes several images into one docker-archive tar stream (``hull save``)."""

    def __init__(self, out: BinaryIO) -> None:
        self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
        self._written: set[str] = set()
        self._layer_sizes: dict[str, int] = {}
        self._entries: list[dict] = []
        self._index: list[Descriptor] = []

    def _add(self, name: str, stream: BinaryIO, size: int) -> None:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        info.mtime = 0
        self._tar.addfile(info, stream)

    def add_blob_bytes(self, data: bytes) -> str:
        digest = dg.of_bytes(data)
        if digest not in self._written:
            self._add(f"blobs/sha256/{dg.hex_of(digest)}", io.BytesIO(data), len(data))
            self._written.add(digest)
        return digest

    def add_layer(self, diff_id: str, stream: BinaryIO, size: int) -> None:
        if diff_id not in self._written:
            self._add(f"blobs/sha256/{dg.hex_of(diff_id)}", stream, size)
            self._written.add(diff_id)
            self._layer_sizes[diff_id] = size

    def layer_size(self, diff_id: str) -> int:
        return self._layer_sizes[diff_id]

    def has(self, digest: str) -> bool:
        return digest in self._written

    def finish_image(self, config: bytes, diff_ids: list[str], tar_sizes: list[int],
                     names: list[str], oci_names: list[str]) -> None:
        config_digest = self.add_blob_bytes(config)
        manifest = Manifest(
            config=Descriptor(mt.OCI_CONFIG, config_digest, len(config)),
            layers=tuple(Descriptor(mt.OCI_LAYER, d, s)
                         for d, s in zip(diff_ids, tar_sizes, strict=True)),
            media_type=mt.OCI_MANIFEST)
        manifest_bytes = manifest.to_bytes()
        manifest_digest = self.add_blob_bytes(manifest_bytes)
        self._entries.append({
            "Config": f"blobs/sha256/{dg.hex_of(config_digest)}",
            "RepoTags": names or None,
            "Layers": [f"blobs/sha256/{dg.hex_of(d)}" for d in diff_ids],
        })
        for name in oci_names or [""]:
            annotations = {}
            if name:
                annotations = {"io.containerd.image.name": name,
                               "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
            self._index.append(Descriptor(mt.OCI_MANIFEST, manifest_digest, len(manifest_bytes),
                                          annotations=annotations))

    def close(self) -> None:
        def add_json(name: str, doc: object) -> None:
            data = json.dumps(doc, separators=(",", ":")).encode()
            self._add(name, io.BytesIO(data), len(data))

        add_json("oci-layout", {"imageLayoutVersion": "1.0.0"})
        index = Index(manifests=tuple(self._index), media_type=mt.OCI_INDEX)
        data = index.to_bytes()
        self._add("index.json", io.BytesIO(data), len(data))
        add_json("manifest.json", self._entries)
        self._tar.close()


class DockerArchiveDestination(ImageDestination):
    """One image going into a :class:`DockerArchiveWriter`."""

    def __init__(self, writer: DockerArchiveWriter, oci_names: list[str]) -> None:
        self.writer = writer
        self.oci_names = oci_names
        self._config = b""
        self._diff_ids: list[str] = []
        self._sizes: list[int] = []

    def has_blob(self, desc: Descriptor) -> bool:
        return self.writer.has(desc.digest)

    def put_config(self, data: bytes, desc: Descriptor) -> None:
        self._config = data

    def put_layer(self, open_stream, desc, diff_id, index, diff_size):  # type: ignore[no-untyped-def]
        from hull.archive.compression import open_layer

        if not self.writer.has(diff_id):
            with open_stream() as raw:
                plain = open_layer(raw)
                if diff_size is None:
                    import tempfile

                    with tempfile.TemporaryFile() as spool:
                        while chunk := plain.read(1 << 20):
                            spool.write(chunk)
                        size = spool.tell()
                        spool.seek(0)
                        self.writer.add_layer(diff_id, spool, size)
                else:
                    self.writer.add_layer(diff_id, plain, diff_size)
                while raw.read(1 << 20):  # let the verifying reader see the end
                    pass
        self._diff_ids.append(diff_id)
        self._sizes.append(self.writer.layer_size(diff_id))
        return desc

    def put_manifest(self, data: bytes, media_type: str, names: list[str]) -> None:
        self.writer.finish_image(self._config, self._diff_ids, self._sizes, names, self.oci_names)
