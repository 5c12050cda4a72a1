"""The image service: every image command's logic, independent of any front end."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import os
from collections.abc import Iterator

from hull.errors import Conflict, CorruptArchive, HullError, InvalidArgument, NotFound
from hull.image.model import ImageRecord
from hull.record import record

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from typing import Any, BinaryIO

    from hull.engine import Engine
    from hull.image.store import ImageStore


@record
class RemoveResult:
    """What ``rmi`` / ``image prune`` did, in Docker's words ("Untagged", "Deleted")."""

    actions: list[tuple[str, str]]
    reclaimed: int = 0


class ImageService:
    """Import, list, inspect, tag, remove, prune, save and load images."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def store(self) -> ImageStore:
        store = self.__dict__.get("_store")
        if store is None:
            from hull.image.store import ImageStore

            engine = self.engine
            store = ImageStore(engine.db, engine.content, lambda: engine.snapshotter)
            self.__dict__["_store"] = store
        return store

    # ---- lookups --------------------------------------------------------------------------

    def get(self, name: str) -> ImageRecord:
        return self.store.resolve(name)

    def list(self) -> list[ImageRecord]:
        return self.store.list()

    def containers_using(self, image_id: str) -> list[tuple[str, str, bool]]:
        """(id, name, running) of the containers created from an image."""
        self.engine.containers.reconcile()  # a crashed container is not "running"
        rows = self.engine.db.query(
            "SELECT id, name, data FROM containers WHERE image_id = ? ORDER BY created_at",
            (image_id,))
        import json

        out = []
        for r in rows:
            try:
                running = bool(json.loads(r["data"]).get("State", {}).get("Running"))
            except ValueError:
                running = False
            out.append((r["id"], r["name"], running))
        return out

    def config(self, image: ImageRecord) -> dict[str, Any]:
        import json

        return json.loads(self.store.config_bytes(image))

    def inspect(self, name: str) -> dict[str, Any]:
        """Docker's ImageInspect document for an image."""
        from hull import reference as refs

        image = self.get(name)
        cfg = self.config(image)
        config = cfg.get("config") or {}
        runtime_config = {
            "Hostname": "", "Domainname": "", "User": config.get("User", ""),
            "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
            "Tty": False, "OpenStdin": False, "StdinOnce": False,
            "Env": config.get("Env"), "Cmd": config.get("Cmd"), "Image": "",
            "Volumes": config.get("Volumes"), "WorkingDir": config.get("WorkingDir", ""),
            "Entrypoint": config.get("Entrypoint"), "OnBuild": config.get("OnBuild"),
            "Labels": config.get("Labels"),
        }
        for key in ("ExposedPorts", "StopSignal", "Healthcheck", "Shell", "ArgsEscaped"):
            if key in config:
                runtime_config[key] = config[key]
        row = self.engine.db.query_one("SELECT parent FROM images WHERE id = ?", (image.id,))
        last_tag = self.engine.db.query_one(
            "SELECT MAX(created_at) AS t FROM image_refs WHERE image_id = ?", (image.id,))["t"]
        doc: dict[str, Any] = {
            "Id": image.id,
            "RepoTags": [refs.parse(t).familiar() for t in image.tags],
            "RepoDigests": [refs.parse(d, default_tag=False).familiar() for d in image.digests],
            "Parent": row["parent"] if row else "",
            "Comment": cfg.get("comment", "") or _last_comment(cfg),
            "Created": image.created,
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": runtime_config,
            "Architecture": cfg.get("architecture", ""),
            "Os": cfg.get("os", ""),
            "Size": image.size,
            "GraphDriver": self._graph_driver(image),
            "RootFS": {"Type": "layers",
                       "Layers": list((cfg.get("rootfs") or {}).get("diff_ids") or [])},
            "Metadata": {"LastTagTime": _rfc3339(last_tag) if last_tag else
                         "0001-01-01T00:00:00Z"},
        }
        if cfg.get("variant"):
            doc["Variant"] = cfg["variant"]
        if cfg.get("container"):  # an image committed from a container
            doc["Container"] = cfg["container"]
            doc["ContainerConfig"] = cfg.get("container_config")
        return doc

    def _graph_driver(self, image: ImageRecord) -> dict[str, Any]:
        snap = self.engine.snapshotter
        data: dict[str, str] = {}
        if image.layers:
            top = image.layers[-1].chain_id
            with contextlib.suppress(Exception):
                data["UpperDir"] = snap.writable_dir(top)
        return {"Data": data or None, "Name": "overlay2" if snap.name == "overlay" else snap.name}

    def history(self, name: str) -> list[dict[str, Any]]:
        """History rows, newest first, each with the size of the layer it made."""
        image = self.get(name)
        cfg = self.config(image)
        entries = cfg.get("history") or []
        layer_sizes = [layer.size for layer in image.layers]
        if not entries:  # an image without history: one row per layer
            entries = [{"created": image.created} for _ in layer_sizes] or [
                {"created": image.created, "empty_layer": True}]
        rows: list[dict[str, Any]] = []
        layer_index = 0
        for entry in entries:
            empty = bool(entry.get("empty_layer"))
            size = 0
            if not empty and layer_index < len(layer_sizes):
                size = layer_sizes[layer_index]
                layer_index += 1
            rows.append({"Id": "<missing>", "Created": entry.get("created", ""),
                         "CreatedBy": entry.get("created_by", ""), "Size": size,
                         "Comment": entry.get("comment", ""), "Tags": None})
        rows.reverse()
        rows[0]["Id"] = image.id
        return rows

    # ---- import / load / save ------------------------------------------------------------

    def import_tarball(self, source: str | BinaryIO, reference: str | None, changes: list[str],
                       message: str, platform: str | None = None) -> ImageRecord:
        """Make a one-layer image from a root filesystem tarball (``hull import``)."""
        from hull import reference as refs
        from hull.image.changes import apply_changes
        from hull.oci.descriptor import Platform
        from hull.transports.copy import copy_image, host_platform
        from hull.transports.local import LocalDestination
        from hull.transports.tarball import TarballSource

        names = [str(refs.parse_tag_arg(reference))] if reference else []
        config = apply_changes({}, changes)
        self.store.cleanup()
        try:
            plat = Platform.parse(platform) if platform else host_platform()
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
        with self._spooled(source) as path:
            src_name = "-"
            comment = message or f"Imported from {src_name}"  # Docker sends files as "-"
            src = TarballSource(path, config, plat, comment)
            dest = LocalDestination(self.store)
            copy_image(src, dest, names=names)
        assert dest.image is not None
        return dest.image

    def load(self, source: str | BinaryIO) -> list[tuple[str, str]]:
        """Load every image of a docker-archive or OCI-layout tar; return ("name"|"id", value)."""
        from hull import reference as refs
        from hull.transports.copy import copy_image
        from hull.transports.docker_archive import is_docker_archive, read_docker_archive
        from hull.transports.local import LocalDestination
        from hull.transports.oci_layout import is_oci_layout, read_oci_layout
        from hull.transports.tree import DirTree, FileTree, TarTree

        loaded: list[tuple[str, str]] = []
        self.store.cleanup()
        with self._spooled(source, decompress=True) as path:
            tree: FileTree = DirTree(path) if os.path.isdir(path) else TarTree(path)
            try:
                if is_docker_archive(tree):
                    sources = list(read_docker_archive(tree))
                elif is_oci_layout(tree):
                    sources = list(read_oci_layout(tree))
                else:
                    raise CorruptArchive("not an image archive: it has neither manifest.json"
                                         " (docker save) nor index.json and oci-layout (OCI)")
                if not sources:
                    raise CorruptArchive("the archive contains no images")
                for src in sources:
                    try:
                        names = [str(refs.parse(n)) for n in src.names()]
                    except HullError as e:
                        raise CorruptArchive(f"the archive names an invalid reference: {e}") from None
                    dest = LocalDestination(self.store)
                    result = copy_image(src, dest, names=names)
                    if names:
                        loaded += [("name", refs.parse(n).familiar()) for n in names]
                    else:
                        loaded.append(("id", result.image_id))
            finally:
                tree.close()
        return loaded

    def save(self, names: list[str], out: BinaryIO) -> None:
        """Write images (with the references they were named by) as a docker-archive."""
        from hull import reference as refs
        from hull.transports.copy import copy_image
        from hull.transports.docker_archive import DockerArchiveDestination, DockerArchiveWriter
        from hull.transports.local import LocalSource

        if not names:
            raise InvalidArgument("save needs at least one image")
        order: list[str] = []
        tags: dict[str, list[str]] = {}
        for name in names:
            image = self.get(name)
            if image.id not in tags:
                order.append(image.id)
                tags[image.id] = []
            named = self._as_reference(name, image)
            if named and named not in tags[image.id]:
                tags[image.id].append(named)
        writer = DockerArchiveWriter(out)
        for image_id in order:
            image = self.store.get(image_id)
            familiar = [refs.parse(t).familiar() for t in tags[image_id]]
            dest = DockerArchiveDestination(writer, oci_names=tags[image_id])
            copy_image(LocalSource(self.store, image), dest, names=familiar)
        writer.close()

    def _as_reference(self, name: str, image: ImageRecord) -> str | None:
        """The normalised tag ``name`` refers to, or None when it was an id."""
        from hull import reference as refs

        try:
            ref = refs.parse(name)
        except HullError:
            return None
        return str(ref) if str(ref) in image.tags else None

    @contextlib.contextmanager
    def _spooled(self, source: str | BinaryIO, decompress: bool = False) -> Iterator[str]:
        """A seekable, uncompressed file (or directory) path for ``source``."""
        if isinstance(source, str) and source != "-":
            if not os.path.exists(source):
                raise NotFound(f"open {source}: no such file or directory")
            if os.path.isdir(source) or not decompress or not _compressed(source):
                yield source
                return
            stream: BinaryIO = open(source, "rb")
        else:
            import sys

            stream = source if not isinstance(source, str) else sys.stdin.buffer
        import tempfile

        ingest = os.path.join(self.engine.root, "ingest")
        os.makedirs(ingest, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=ingest, prefix=f"spool-{os.getpid()}-")
        try:
            with os.fdopen(fd, "wb") as out:
                reader = stream
                if decompress:
                    head = _peek(stream)
                    reader = _decompressor(head, stream)
                while chunk := reader.read(1 << 20):
                    out.write(chunk)
            yield tmp
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(source, str) and source != "-":
                stream.close()

    # ---- references and removal ----------------------------------------------------------

    def tag(self, source: str, target: str) -> None:
        from hull import reference as refs

        image = self.get(source)
        self.store.tag(image.id, str(refs.parse_tag_arg(target)))

    def remove(self, name: str, force: bool = False, prune: bool = True) -> RemoveResult:
        """``rmi`` of one name with Docker's rules for tags, ids and images in use."""
        from hull import reference as refs

        image = self.get(name)
        actions: list[tuple[str, str]] = []
        by_ref = self._as_reference(name, image)
        if by_ref is None:
            with contextlib.suppress(HullError):
                ref = refs.parse(name, default_tag=False)
                if ref.digest and str(ref) in image.digests:
                    by_ref = str(ref)
        users = self.containers_using(image.id)
        all_refs = list(image.tags) + list(image.digests)
        if by_ref is not None and (len(image.tags) > 1 or by_ref not in image.tags):
            # Other tags remain: only this reference goes.
            self.store.untag(by_ref)
            return RemoveResult([("Untagged", refs.parse(by_ref, default_tag=False).familiar())])
        if by_ref is None and len(image.tags) > 1 and not force:
            raise Conflict(f"conflict: unable to delete {image.short_id} (must be forced) - image"
                           " is referenced in multiple repositories")
        if users:
            cid, cname, running = users[0]
            if by_ref is not None and not force:
                raise Conflict(f'conflict: unable to remove repository reference "{name}" (must'
                               f" force) - container {cid[:12]} is using its referenced image"
                               f" {image.short_id}")
            if by_ref is None and (running or not force):
                state = "running" if running else "stopped"
                hint = "cannot be forced" if running else "must be forced"
                raise Conflict(f"conflict: unable to delete {image.short_id} ({hint}) - image is"
                               f" being used by {state} container {cid[:12]}")
            # forced: untag only, the image stays for its containers
            for r in all_refs:
                self.store.untag(r)
                actions.append(("Untagged", refs.parse(r, default_tag=False).familiar()))
            return RemoveResult(actions)
        for r in all_refs:
            actions.append(("Untagged", refs.parse(r, default_tag=False).familiar()))
        size = image.size
        removed_layers = self.store.delete(image.id)
        actions.append(("Deleted", image.id))
        actions += [("Deleted", c) for c in removed_layers]
        return RemoveResult(actions, reclaimed=size)

    def prune(self, all_images: bool, filters: dict[str, list[str]]) -> RemoveResult:
        """Remove dangling (or, with ``all_images``, every unused) image."""
        from hull.cli.humanize import parse_timestamp

        until = filters.get("until", [])
        labels = filters.get("label", [])
        unknown = set(filters) - {"until", "label", "dangling"}
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        dangling_only = not all_images
        if "dangling" in filters:
            dangling_only = filters["dangling"][-1].lower() in ("true", "1")
        result = RemoveResult([])
        import time

        now = time.time()
        for image in self.list():
            if dangling_only and image.tags:
                continue
            if self.containers_using(image.id):
                continue
            if until and not all(_created_ts(image) < parse_timestamp(u, now) for u in until):
                continue
            if labels and not _labels_match(self.config(image).get("config", {}).get("Labels")
                                            or {}, labels):
                continue
            res = self.remove(image.id, force=True)
            result.actions += [(k.lower(), v) for k, v in res.actions]
            result.reclaimed += res.reclaimed
        return result

    # ---- `images` ------------------------------------------------------------------------

    def rows(self, filters: dict[str, list[str]], show_all: bool,
             ) -> list[tuple[ImageRecord, str, str]]:
        """One (image, repository-or-"<none>", tag-or-"<none>") per tag, as ``images`` lists them."""
        from hull import reference as refs

        images = self.filter(self.list(), filters, show_all)
        patterns = filters.get("reference", [])
        out: list[tuple[ImageRecord, str, str]] = []
        for image in images:
            tagged = [refs.parse(t) for t in image.tags]
            if patterns:
                tagged = [r for r in tagged if reference_matches(r.familiar(), patterns)]
                if not tagged:
                    continue
            if not tagged:
                repo = "<none>"
                if image.digests:
                    repo = refs.parse(image.digests[0], default_tag=False).familiar_name
                out.append((image, repo, "<none>"))
            for r in sorted(tagged, key=lambda r: r.familiar()):
                out.append((image, r.familiar_name, r.tag))
        return out

    # ---- filters for `images` ------------------------------------------------------------

    def filter(self, images: list[ImageRecord], filters: dict[str, list[str]],
               show_all: bool) -> list[ImageRecord]:
        unknown = set(filters) - {"dangling", "reference", "label", "before", "since", "until"}
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        out = images
        for value in filters.get("dangling", []):
            v = value.lower()
            if v not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid filter 'dangling={value}'")
            want = v in ("true", "1")
            out = [i for i in out if (not i.tags) == want]
        for key in ("before", "since"):
            for value in filters.get(key, []):
                pivot = _created_ts(self.get(value))
                out = [i for i in out
                       if (_created_ts(i) < pivot if key == "before" else _created_ts(i) > pivot)]
        if filters.get("label"):
            out = [i for i in out if _labels_match(
                (self.config(i).get("config") or {}).get("Labels") or {}, filters["label"])]
        return out


def _last_comment(cfg: dict[str, Any]) -> str:
    history = cfg.get("history") or []
    return (history[-1].get("comment", "") if history else "") or ""


def _rfc3339(ts: float) -> str:
    import time

    secs = int(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{int((ts - secs) * 1e9):09d}Z"


def reference_matches(familiar: str, patterns: list[str]) -> bool:
    """Docker's ``reference=`` filter: a glob on the familiar name, with or without the tag."""
    name = familiar.rsplit(":", 1)[0] if ":" in familiar.rsplit("/", 1)[-1] else familiar
    return any(fnmatch.fnmatchcase(familiar, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def _labels_match(labels: dict[str, str], wanted: list[str]) -> bool:
    for w in wanted:
        key, sep, value = w.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _created_ts(image: ImageRecord) -> float:
    from hull.cli.humanize import parse_timestamp

    try:
        return parse_timestamp(image.created, 0.0) if image.created else image.added_at
    except (ValueError, HullError):
        return image.added_at


def _compressed(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(6)
    return _kind(head) != ""


def _kind(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return ""


class _Peeked(io.RawIOBase):
    """A stream with some bytes already read from it put back in front."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def _peek(stream: BinaryIO) -> bytes:
    return stream.read(6)


def _decompressor(head: bytes, stream: BinaryIO) -> Any:
    kind = _kind(head)
    raw = io.BufferedReader(_Peeked(head, stream), 1 << 20)
    if kind == "gzip":
        from isal import igzip

        return igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[arg-type]
    if kind == "bzip2":
        import bz2

        return bz2.BZ2File(raw)  # type: ignore[arg-type]
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(raw)  # type: ignore[arg-type]
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw)
    return raw
