"""Where the registry keeps things, and the only code that touches those files.

Layout under the root::

    blobs/sha256/<hex>                            every blob, manifests included (BlobStore)
    uploads/<uuid>/                               upload sessions (see uploads.py)
    repositories/<name>/_layers/<hex>             the repository holds this blob (empty file)
    repositories/<name>/_manifests/revisions/<hex>  a manifest of the repository (JSON: type, size)
    repositories/<name>/_manifests/tags/<tag>     the digest a tag points to
    repositories/<name>/_referrers/<subject-hex>/<hex>  descriptor of a manifest with that subject

Repository path components start with ``[a-z0-9]``, so the ``_`` directories
never collide with a nested repository.  Files with content are written to a
temporary name in the same directory, fsynced and renamed, so a reader sees the
old or the new version and concurrent writers of the same link cannot corrupt it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from hull.content import BlobStore
from hull.registry.server.manifests import ManifestInfo
from hull.registry.server.routing import DIGEST_RE, TAG_RE


@dataclass(frozen=True)
class ManifestRecord:
    """A manifest revision of a repository, as recorded when it was pushed."""

    digest: str
    media_type: str
    size: int
    subject: str = ""


class RegistryStorage:
    """Blobs, manifests, tags and referrers of every repository under ``root``."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.blobs = BlobStore(self.root)
        self.repos_dir = os.path.join(self.root, "repositories")
        self.uploads_dir = os.path.join(self.root, "uploads")

    # -- repositories -------------------------------------------------------------------------

    def repo_dir(self, name: str) -> str:
        """Directory of repository ``name`` (already validated by the router)."""
        return os.path.join(self.repos_dir, *name.split("/"))

    def repo_exists(self, name: str) -> bool:
        d = self.repo_dir(name)
        return os.path.isdir(os.path.join(d, "_layers")) or os.path.isdir(
            os.path.join(d, "_manifests"))

    def repositories(self) -> list[str]:
        """Every repository name, sorted."""
        found: list[str] = []
        for dirpath, dirnames, _ in os.walk(self.repos_dir):
            if "_layers" in dirnames or "_manifests" in dirnames:
                found.append(os.path.relpath(dirpath, self.repos_dir).replace(os.sep, "/"))
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(found)

    # -- blobs --------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> str:
        return self.blobs.path(digest)

    def link_blob(self, name: str, digest: str) -> None:
        """Record that ``name`` holds blob ``digest`` (the blob must already be stored)."""
        d = os.path.join(self.repo_dir(name), "_layers")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, _hex(digest)), "a"):
            pass

    def unlink_blob(self, name: str, digest: str) -> bool:
        try:
            os.unlink(os.path.join(self.repo_dir(name), "_layers", _hex(digest)))
            return True
        except FileNotFoundError:
            return False

    def has_blob(self, name: str, digest: str) -> bool:
        """True when ``name`` holds ``digest`` (as layer, config or manifest) and it exists."""
        d = self.repo_dir(name)
        linked = os.path.exists(os.path.join(d, "_layers", _hex(digest))) or os.path.exists(
            os.path.join(d, "_manifests", "revisions", _hex(digest)))
        return linked and self.blobs.has(digest)

    def linked_blobs(self, name: str) -> list[str]:
        """Digests of the blobs linked into ``name``."""
        return _digests_in(os.path.join(self.repo_dir(name), "_layers"))

    # -- manifests ----------------------------------------------------------------------------

    def put_manifest(self, name: str, data: bytes, info: ManifestInfo, tag: str = "") -> str:
        """Store manifest bytes, record the revision (and referrer and tag); return its digest."""
        desc = self.blobs.put_bytes(data, media_type=info.media_type)
        record = {"mediaType": info.media_type, "size": desc.size}
        if info.subject:
            record["subject"] = info.subject
        revisions = os.path.join(self.repo_dir(name), "_manifests", "revisions")
        _write_atomic(os.path.join(revisions, _hex(desc.digest)), json.dumps(record).encode())
        if info.subject:
            referrer: dict[str, Any] = {"mediaType": info.media_type, "digest": desc.digest,
                                        "size": desc.size}
            if info.artifact_type:
                referrer["artifactType"] = info.artifact_type
            if info.annotations:
                referrer["annotations"] = info.annotations
            path = os.path.join(self.repo_dir(name), "_referrers", _hex(info.subject),
                                _hex(desc.digest))
            _write_atomic(path, json.dumps(referrer).encode())
        if tag:
            self.set_tag(name, tag, desc.digest)
        return desc.digest

    def manifest(self, name: str, digest: str) -> ManifestRecord | None:
        """The revision record of ``digest`` in ``name``, or None if the repository lacks it."""
        path = os.path.join(self.repo_dir(name), "_manifests", "revisions", _hex(digest))
        try:
            with open(path, "rb") as f:
                record = json.loads(f.read())
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not self.blobs.has(digest):
            return None
        return ManifestRecord(digest, record["mediaType"], record["size"],
                              record.get("subject", ""))

    def manifest_digests(self, name: str) -> list[str]:
        return _digests_in(os.path.join(self.repo_dir(name), "_manifests", "revisions"))

    def read_manifest(self, digest: str) -> bytes:
        return self.blobs.read(digest)

    def delete_manifest(self, name: str, digest: str) -> bool:
        """Remove a revision, every tag pointing at it and its referrer entry."""
        record = self.manifest(name, digest)
        path = os.path.join(self.repo_dir(name), "_manifests", "revisions", _hex(digest))
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        for tag, target in self.tag_map(name).items():
            if target == digest:
                self.delete_tag(name, tag)
        if record is not None and record.subject:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.repo_dir(name), "_referrers", _hex(record.subject),
                                       _hex(digest)))
        return True

    # -- tags ---------------------------------------------------------------------------------

    def _tags_dir(self, name: str) -> str:
        return os.path.join(self.repo_dir(name), "_manifests", "tags")

    def set_tag(self, name: str, tag: str, digest: str) -> None:
        _write_atomic(os.path.join(self._tags_dir(name), tag), digest.encode())

    def tag(self, name: str, tag: str) -> str | None:
        try:
            with open(os.path.join(self._tags_dir(name), tag)) as f:
                value = f.read().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return value if DIGEST_RE.fullmatch(value) else None

    def delete_tag(self, name: str, tag: str) -> bool:
        try:
            os.unlink(os.path.join(self._tags_dir(name), tag))
            return True
        except FileNotFoundError:
            return False

    def tags(self, name: str) -> list[str]:
        """Tags of ``name`` in lexical order."""
        try:
            names = os.listdir(self._tags_dir(name))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(n for n in names if TAG_RE.fullmatch(n))

    def tag_map(self, name: str) -> dict[str, str]:
        """Every tag of ``name`` and the digest it points to."""
        out: dict[str, str] = {}
        for t in self.tags(name):
            target = self.tag(name, t)
            if target:
                out[t] = target
        return out

    # -- referrers ----------------------------------------------------------------------------

    def referrers(self, name: str, subject: str) -> list[dict[str, Any]]:
        """Descriptors of the manifests in ``name`` whose subject is ``subject``."""
        d = os.path.join(self.repo_dir(name), "_referrers", _hex(subject))
        out: list[dict[str, Any]] = []
        for digest in _digests_in(d):
            if self.manifest(name, digest) is None:
                continue
            with (contextlib.suppress(FileNotFoundError, ValueError),
                  open(os.path.join(d, _hex(digest)), "rb") as f):
                out.append(json.loads(f.read()))
        return out

    # -- housekeeping -------------------------------------------------------------------------

    def remove_repository_if_empty(self, name: str) -> None:
        """Drop a repository that holds nothing any more (used by garbage collection)."""
        d = self.repo_dir(name)
        if self.manifest_digests(name) or self.linked_blobs(name):
            return
        for sub in ("_layers", "_manifests", "_referrers"):
            shutil.rmtree(os.path.join(d, sub), ignore_errors=True)


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1]


def _digests_in(directory: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted("sha256:" + n for n in names if len(n) == 64 and not n.startswith("."))


def _write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers never see a partial file."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        tmp = ""
    finally:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
