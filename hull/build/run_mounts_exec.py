"""``RUN --mount``: turn parsed mounts into runtime-spec mounts for one step.

* ``cache``: a directory under ``<root>/build/cache-mounts`` named after the mount's id
  (its target by default) that outlives builds and restarts; ``sharing=locked`` holds
  an exclusive lock for the step, ``shared`` and ``private`` share the directory;
* ``bind``: a path of the context (``.`` by default) or of a stage or image
  (``from=``); read-only unless ``rw``, and then writes go to a throw-away copy;
* ``tmpfs``: a fresh tmpfs (``size=`` honoured);
* ``secret``: the ``--secret`` with that id, as a read-only file at
  ``/run/secrets/<id>`` (or ``target=``); it exists only while the step runs and never
  reaches a layer.  A missing secret is an error only with ``required``.
* ``ssh`` is not available (no agent forwarding); ``required`` makes that an error.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from hull.build import gopath
from hull.build.run_mounts import Mount
from hull.errors import InvalidArgument, NotFound

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from hull.build.executor import StageBuilder


def cache_dir(root: str, mount_id: str) -> str:
    """Where the cache mount ``mount_id`` keeps its files."""
    name = hashlib.sha256(mount_id.encode()).hexdigest()[:32]
    return os.path.join(root, name)


@contextlib.contextmanager
def prepare_mounts(b: StageBuilder, mounts: list[Mount]) -> Iterator[list[dict]]:
    """Spec mounts for ``mounts``; views, copies and locks last until the step ends."""
    with contextlib.ExitStack() as stack:
        out: list[dict] = []
        for mount in mounts:
            target = gopath.clean(mount.target) if mount.target else ""
            if mount.type == "cache":
                out.append(_cache(b, mount, target, stack))
            elif mount.type == "bind":
                out.append(_bind(b, mount, target, stack))
            elif mount.type == "tmpfs":
                if not target:
                    raise InvalidArgument("tmpfs mount needs a target")
                options = ["nosuid", "nodev"] + ([f"size={mount.size}"] if mount.size else [])
                out.append({"destination": target, "type": "tmpfs", "source": "tmpfs",
                            "options": options})
            elif mount.type == "secret":
                secret = _secret(b, mount, target, stack)
                if secret is not None:
                    out.append(secret)
            elif mount.type == "ssh" and mount.required:
                raise InvalidArgument("ssh mounts are not available in this builder")
        yield out


def _cache(b: StageBuilder, mount: Mount, target: str, stack: contextlib.ExitStack) -> dict:
    if not target:
        raise InvalidArgument("cache mount needs a target")
    if mount.from_:
        raise InvalidArgument("cache mounts seeded from a stage (from=) are not supported")
    directory = cache_dir(b.builder.cache_mounts, mount.id or target)
    if not os.path.isdir(directory):
        os.makedirs(os.path.dirname(directory), exist_ok=True)
        staging = tempfile.mkdtemp(dir=os.path.dirname(directory), prefix="new-")
        os.chmod(staging, 0o755 if mount.mode is None else mount.mode)
        os.chown(staging, mount.uid or 0, mount.gid or 0)
        try:
            os.rename(staging, directory)
        except OSError:  # another build made it first
            os.rmdir(staging)
    if mount.sharing == "locked":
        fd = os.open(directory + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        stack.callback(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return {"destination": target, "type": "bind", "source": directory,
            "options": ["rbind", "ro" if mount.read_only else "rw"]}


def _bind(b: StageBuilder, mount: Mount, target: str, stack: contextlib.ExitStack) -> dict:
    from hull.build.snapshots import mounted_view
    from hull.build.steps_files import from_source
    from hull.runtime.rootfs import secure_join

    if not target:
        raise InvalidArgument("bind mount needs a target")
    if mount.from_:
        chain, _ = from_source(b, mount.from_)
        root = stack.enter_context(mounted_view(b.images.snapshotter, chain,
                                                b.builder.scratch))
    else:
        root = b.builder.context.require_root("RUN --mount=type=bind")
        b.builder.watch.usable = False  # a RUN may read any context file: keep no record
    source = secure_join(root, mount.source or "/")
    if not os.path.exists(source):
        raise NotFound(f"bind mount source {mount.source or '/'!r} does not exist")
    if not mount.read_only:
        copy_root = tempfile.mkdtemp(prefix="bind-", dir=b.builder.scratch)
        stack.callback(shutil.rmtree, copy_root, True)
        copy = os.path.join(copy_root, "data")
        if os.path.isdir(source):
            shutil.copytree(source, copy, symlinks=True)
        else:
            shutil.copy2(source, copy)
        source = copy
    return {"destination": target, "type": "bind", "source": source,
            "options": ["rbind", "ro" if mount.read_only else "rw"]}


def _secret(b: StageBuilder, mount: Mount, target: str,
            stack: contextlib.ExitStack) -> dict | None:
    secret_id = mount.id or os.path.basename(target)
    if not secret_id:
        raise InvalidArgument("secret mount needs an id or a target")
    data = b.builder.options.secrets.get(secret_id)
    if data is None:
        if mount.required:
            raise NotFound(f"secret {secret_id} not found (give it with --secret "
                           f"id={secret_id},src=FILE)")
        return None
    directory = tempfile.mkdtemp(prefix="secret-", dir=b.builder.scratch)
    stack.callback(shutil.rmtree, directory, True)
    path = os.path.join(directory, "secret")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o400 if mount.mode is None else mount.mode)
    os.chown(path, mount.uid or 0, mount.gid or 0)
    return {"destination": target or f"/run/secrets/{secret_id}", "type": "bind",
            "source": path, "options": ["rbind", "ro"]}
