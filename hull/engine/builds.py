"""The build service: ``hull build`` and ``hull builder prune``, independent of any front end."""

from __future__ import annotations

import contextlib
import os

from hull.errors import InvalidArgument, NotFound
from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import BinaryIO

    from hull.build.progress import Progress
    from hull.build.records import BuildResult
    from hull.engine import Engine

NETWORK_MODES = ("default", "host", "none")
CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18


@record
class BuildRequest:
    """Everything ``hull build`` was asked for, in engine terms."""

    context: str | None
    dockerfile: str | None = None
    stdin: BinaryIO | None = None
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    network: str = "default"
    secrets: list[str] = field(default_factory=list)  # "id=...,src=..." specs
    platform: str | None = None
    isolate_mounts: bool = False  # enter a private mount namespace before the first mount

    def record_fields(self) -> dict[str, object]:
        """What, besides the Dockerfile and the context's files, decides the result."""
        return {"tags": self.tags, "build_args": self.build_args, "target": self.target,
                "labels": self.labels, "network": self.network,
                "secrets": sorted(self.secrets), "platform": self.platform}


@record
class PruneResult:
    entries: int
    reclaimed: int


def parse_secret(spec: str) -> tuple[str, bytes]:
    """``--secret id=ID[,src=FILE|,env=VAR][,type=file|env]`` -> (id, content)."""
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid secret {spec!r}: expected key=value fields")
        fields[key.strip().lower()] = value
    secret_id = fields.get("id", "")
    if not secret_id:
        raise InvalidArgument(f"invalid secret {spec!r}: an id is required")
    source = fields.get("src") or fields.get("source") or ""
    env = fields.get("env", "")
    if fields.get("type") == "env" and not env:
        env = source or secret_id
        source = ""
    if not source and not env:
        if secret_id in os.environ:
            env = secret_id
        else:
            source = secret_id
    if env:
        if env not in os.environ:
            raise NotFound(f"secret {secret_id}: environment variable {env} is not set")
        return secret_id, os.environ[env].encode()
    try:
        with open(source, "rb") as f:
            return secret_id, f.read()
    except OSError as e:
        raise NotFound(f"secret {secret_id}: cannot read {source}: {e.strerror}") from None


def isolate_mounts() -> bool:
    """Put this process in a private mount namespace, so a killed build leaves no mounts.

    Must run while the process has one thread; returns whether it worked.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return False
    return libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0


class BuildService:
    """Builds images from Dockerfiles and manages the build cache."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def scratch_root(self) -> str:
        return os.path.join(self.engine.root, "build", "tmp")

    @property
    def cache_mounts_root(self) -> str:
        return os.path.join(self.engine.root, "build", "cache-mounts")

    def build(self, request: BuildRequest, progress: Progress) -> BuildResult:
        """Build the image ``request`` describes, reporting to ``progress``."""
        if request.network not in NETWORK_MODES:
            raise InvalidArgument(f"network mode {request.network!r} is not supported for "
                                  f"builds (use one of {', '.join(NETWORK_MODES)})")
        record_key = self._record_key(request)
        try:
            if record_key is not None and not request.no_cache:
                result = self._replay(record_key, progress)
                if result is not None:
                    return result
            if request.isolate_mounts:
                isolate_mounts()  # mounts made by the build vanish with it, whatever happens
            return self._build(request, progress, record_key)
        finally:
            progress.close()

    def _build(self, request: BuildRequest, progress: Progress,
               record_key: str | None) -> BuildResult:
        import sys

        from hull.build.context import load_build
        from hull.build.executor import Builder, BuildOptions
        from hull.build.records import RecordingProgress
        from hull.build.stages import Platform, load_dockerfile

        secrets = dict(parse_secret(s) for s in request.secrets)
        platform = Platform.parse(request.platform) if request.platform else None
        self._remove_stale_scratch()
        loaded = load_build(request.context, request.dockerfile,
                            request.stdin or sys.stdin.buffer, self.scratch_root)
        recording = RecordingProgress(progress)
        try:
            definition = load_dockerfile(loaded.dockerfile, loaded.dockerfile_name,
                                         request.build_args, target_platform=platform)
            options = BuildOptions(tags=list(request.tags), build_args=dict(request.build_args),
                                   target=request.target, labels=dict(request.labels),
                                   no_cache=request.no_cache, network=request.network,
                                   secrets=secrets, platform=request.platform)
            builder = Builder(self.engine, definition, loaded.context, loaded.dockerfile_name,
                              options, recording)  # type: ignore[arg-type]
            result = builder.run()
        finally:
            loaded.context.close()
        if record_key is not None:
            self._keep_record(record_key, request, builder, result, recording.events)
        return result

    # ---- build records -----------------------------------------------------------------

    def _record_key(self, request: BuildRequest) -> str | None:
        """The record key of a build from a context directory and a Dockerfile file."""
        from hull.build import records

        if (not request.context or request.context == "-" or request.dockerfile == "-"
                or not os.path.isdir(request.context)):
            return None
        path = records.dockerfile_path(request.context, request.dockerfile)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                text = f.read()
        except OSError:
            return None
        return records.request_key(request.context, path, text, request.record_fields())

    def _replay(self, key: str, progress: Progress) -> BuildResult | None:
        from hull.build import records

        record = records.lookup(self.engine.db, key)
        if record is None:
            return None
        stale = records.stale_tags(self.engine.db, record)
        if stale:  # the image store (and its imports) only when a tag must move
            from hull.image.store import ImageStore

            store = ImageStore(self.engine.db, self.engine.content,
                               lambda: self.engine.snapshotter)
            for tag in stale:
                store.tag(record.image_id, tag)
        records.replay(record, progress)
        progress.finished(record.image_id, record.familiar)
        steps = sum(1 for e in record.events if e[0] in ("cached", "done"))
        return records.BuildResult(record.image_id, record.familiar, steps, steps)

    def _keep_record(self, key: str, request: BuildRequest, builder: object,
                     result: BuildResult, events: list) -> None:
        from hull import reference
        from hull.build import records

        watch = builder.watch  # type: ignore[attr-defined]
        if not watch.usable:
            return
        context = os.path.abspath(request.context or ".")
        dockerfile = records.dockerfile_path(context, request.dockerfile) or ""
        for path in (context, os.path.join(context, ".dockerignore"), dockerfile,
                     dockerfile + ".dockerignore", os.path.dirname(dockerfile)):
            watch.saw_path(path)
        if not watch.unchanged():  # a file changed while it was read: the result may mix
            return
        record = records.Record(
            image_id=result.image_id, files=watch.paths,
            bases=builder.bases,  # type: ignore[attr-defined]
            tags=[str(reference.parse_tag_arg(t)) for t in request.tags],
            familiar=result.tags, events=events)
        records.save(self.engine.db, key, record)

    def _remove_stale_scratch(self) -> None:
        """Scratch directories of builds whose process is gone."""
        import shutil

        from hull.pids import pid_alive

        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.scratch_root):
                pid = name.split("-", 1)[0]
                if pid.isdigit() and not pid_alive(int(pid)):
                    shutil.rmtree(os.path.join(self.scratch_root, name), ignore_errors=True)

    def prune(self) -> PruneResult:
        """Empty the build cache: entries, the layers only it kept, and cache mounts."""
        from hull.build.cache import BuildCache

        store = self.engine.images.store
        cache = BuildCache(self.engine.db, store, self.engine.content)
        import shutil

        from hull.build.digests import forget_all as forget_digests
        from hull.build.records import forget_all

        forget_all(self.engine.db)
        forget_digests(self.engine.root)
        count, chains, blobs = cache.prune()
        sizes = {r["chain_id"]: int(r["size"]) for r in self.engine.db.query(
            "SELECT chain_id, size FROM layers")}
        blob_sizes = {}
        for digest in blobs:
            with contextlib.suppress(NotFound):
                blob_sizes[digest] = self.engine.content.size(digest)
        removed = store.release_layers(set(chains))
        store.release_blobs(set(blobs))
        reclaimed = sum(sizes.get(c, 0) for c in removed)
        reclaimed += sum(size for d, size in blob_sizes.items()
                         if not self.engine.content.has(d))
        if os.path.isdir(self.cache_mounts_root):
            from hull.snapshot.fsutil import tree_usage

            reclaimed += tree_usage(self.cache_mounts_root)
            shutil.rmtree(self.cache_mounts_root, ignore_errors=True)
        return PruneResult(count, reclaimed)
