"""Mark and sweep: remove blobs that no manifest of any repository references.

Mark starts from every manifest revision (or, with ``delete_untagged``, only
from what tags lead to, plus manifests whose ``subject`` is kept, such as
signatures) and follows index entries, configs and layers.  Sweep deletes every
unmarked blob and the repository links that pointed to it.  Pushes that are in
progress hold blobs no manifest references yet, so run this while the registry
is idle or in read-only mode, as with distribution's garbage collector.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field

from hull.registry.server.routing import DIGEST_RE
from hull.registry.server.storage import RegistryStorage
from hull.registry.server.uploads import Uploads


@dataclass
class GcReport:
    """What was (or, in a dry run, would be) removed."""

    manifests: list[tuple[str, str]] = field(default_factory=list)
    blobs: list[tuple[str, int]] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)

    @property
    def freed(self) -> int:
        return sum(size for _, size in self.blobs)


def collect(root: str, dry_run: bool = False, delete_untagged: bool = False,
            upload_max_age: float | None = None) -> GcReport:
    """Garbage-collect the registry stored under ``root``.

    ``upload_max_age`` (seconds): also drop upload sessions idle for longer than that.
    """
    storage = RegistryStorage(root)
    report = GcReport()
    if upload_max_age is not None:
        uploads = Uploads(storage)
        report.uploads = (uploads.stale(upload_max_age) if dry_run
                          else uploads.purge(upload_max_age))
    marked: set[str] = set()
    for name in storage.repositories():
        kept = _reachable_manifests(storage, name, delete_untagged)
        for digest in storage.manifest_digests(name):
            if digest not in kept:
                report.manifests.append((name, digest))
                if not dry_run:
                    storage.delete_manifest(name, digest)
        for digest in kept:
            marked.add(digest)
            marked.update(_blobs_of(storage, digest))
    for digest in sorted(storage.blobs.walk()):
        if digest in marked:
            continue
        with contextlib.suppress(FileNotFoundError):
            report.blobs.append((digest, os.stat(storage.blob_path(digest)).st_size))
            if not dry_run:
                storage.blobs.delete(digest)
    if not dry_run:
        for name in storage.repositories():
            for digest in storage.linked_blobs(name):
                if not storage.blobs.has(digest):
                    storage.unlink_blob(name, digest)
            storage.remove_repository_if_empty(name)
    return report


def _reachable_manifests(storage: RegistryStorage, name: str, delete_untagged: bool) -> set[str]:
    """Manifests of ``name`` to keep: all of them, or those tags (and subjects) lead to."""
    present = set(storage.manifest_digests(name))
    if not delete_untagged:
        roots = set(present)
    else:
        roots = {d for d in storage.tag_map(name).values() if d in present}
    kept: set[str] = set()
    while True:
        _follow_indexes(storage, roots, present, kept)
        attached = set()
        for digest in present - kept:
            record = storage.manifest(name, digest)
            if record is not None and record.subject in kept:
                attached.add(digest)
        if not attached:
            return kept
        roots = attached


def _follow_indexes(storage: RegistryStorage, roots: set[str], present: set[str],
                    kept: set[str]) -> None:
    todo = list(roots)
    while todo:
        digest = todo.pop()
        if digest in kept:
            continue
        kept.add(digest)
        for child in _children(storage, digest):
            if child in present and child not in kept:
                todo.append(child)


def _load(storage: RegistryStorage, digest: str) -> dict:
    try:
        doc = json.loads(storage.read_manifest(digest))
    except (OSError, ValueError, LookupError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _descriptor_digests(items: object) -> list[str]:
    if not isinstance(items, list):
        return []
    return [d["digest"] for d in items
            if isinstance(d, dict) and isinstance(d.get("digest"), str)
            and DIGEST_RE.fullmatch(d["digest"])]


def _children(storage: RegistryStorage, digest: str) -> list[str]:
    """Manifests an index lists."""
    return _descriptor_digests(_load(storage, digest).get("manifests"))


def _blobs_of(storage: RegistryStorage, digest: str) -> list[str]:
    """Config and layers of an image manifest."""
    doc = _load(storage, digest)
    return _descriptor_digests([doc.get("config")]) + _descriptor_digests(doc.get("layers"))
