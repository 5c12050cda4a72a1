"""Copying files between a container and the host (``hull cp``), with Docker's rules.

Every copy is a tar stream from a source to a destination directory, so ``-`` (a tar on
stdin or stdout) is the same code path as a file or a directory:

- a file copied to a missing path is saved under that name (its parent must exist); to an
  existing file it overwrites it; to a directory it goes inside under its own name;
- a directory copied to a missing path becomes that directory; to an existing directory
  it goes inside, unless the source ends in ``/.``, whose *contents* are copied instead;
  a directory never overwrites a file;
- a destination ending in ``/`` must be a directory.

Paths inside the container are resolved as if its root were ``/``: absolute symlinks
restart at the root and ``..`` stops there (:mod:`hull.archive.resolve`), so no link in
the container reaches a host file, whichever way the copy goes.  The last component is
followed only with ``-L`` (and then in the root too).  A running container is frozen
while its files are read or written, so its processes cannot swap a checked directory
for a symlink underneath the copy.  Stopped containers are copied from and into their
writable snapshot, mounted for the length of the command.

Without ``-a`` the files take the owner of the side they land on: root in the container,
the calling user on the host; with ``-a`` they keep the source's owner.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from hull.errors import Conflict, InvalidArgument, NotFound
from hull.record import record

if TYPE_CHECKING:
    from hull.engine import Engine

_MAX_LINKS = 40
Owner = tuple[int, int] | None


@record(frozen=True)
class Source:
    """A resolved source: ``path`` to read on the host, its lstat, the name it is copied
    under, and whether only a directory's contents are wanted (``dir/.``)."""

    path: str
    st: os.stat_result
    name: str
    contents_only: bool


# ---- container side ---------------------------------------------------------------------

class ContainerRoot:
    """A mounted container root filesystem, with paths resolved inside it.

    ``binds`` are single files mounted over the root's, ``mounts`` the container's volumes
    and bind mounts (Docker's MountPoint records): a path below a mount's destination is
    looked up in the mount's source, resolved inside that directory.  Paths are matched to
    mounts after symlinks are followed, so a link into a read-only mount is read-only too.
    """

    def __init__(self, root: str, ref: str, binds: dict[str, str] | None = None,
                 mounts: list[dict] | None = None) -> None:
        from hull.archive.resolve import best_opener

        self.ref = ref
        self.binds = dict(binds or {})
        self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._open_dir = best_opener()
        self._fds: list[int] = []
        self._read_only_files: set[str] = set()
        self._mounts: list[tuple[tuple[str, ...], int, bool]] = []
        for m in mounts or []:
            source, dest = m.get("Source") or "", m.get("Destination") or ""
            rw = bool(m.get("RW", True))
            if not source or not dest:
                continue  # tmpfs: nothing on the host to copy from or to
            if os.path.isfile(source):
                self.binds[dest] = source
                if not rw:
                    self._read_only_files.add(source)
            elif os.path.isdir(source):
                fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                self._fds.append(fd)
                self._mounts.append((_components(dest), fd, rw))
        self._mounts.sort(key=lambda item: len(item[0]), reverse=True)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        os.close(self.root_fd)

    def missing(self, path: str) -> NotFound:
        return NotFound(f"No such container:path: {self.ref}:{path}")

    def _anchor(self, parts: tuple[str, ...]) -> tuple[int, tuple[str, ...], bool]:
        """The directory fd a path starts from, the rest of the path, and whether it is
        writable: the deepest mount holding the path, else the root."""
        for dest, fd, rw in self._mounts:
            if parts[:len(dest)] == dest:
                return fd, parts[len(dest):], rw
        return self.root_fd, parts, True

    def _dir_fd(self, base: int, parts: tuple[str, ...], shown: str) -> int:
        try:
            fd = self._open_dir(base, parts)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                raise self.missing(shown) from None
            raise
        self._fds.append(fd)
        return fd

    def locate(self, path: str, follow: bool) -> tuple[str, os.stat_result | None]:
        """The host path of ``path`` in the container and its lstat (None: missing; the
        parent directory must exist).  Parent components are resolved in the root."""
        host, st, _ = self.locate_rw(path, follow)
        return host, st

    def locate_rw(self, path: str, follow: bool) -> tuple[str, os.stat_result | None, bool]:
        """:meth:`locate`, and whether the place is writable (not in a read-only mount)."""
        parts = _components(path)
        for _ in range(_MAX_LINKS):
            if parts:
                parts = (*self._canonical(parts[:-1], path), parts[-1])
            bound = self.binds.get("/" + "/".join(parts))
            if bound is not None and os.path.isfile(bound):
                return bound, os.lstat(bound), bound not in self._read_only_files
            base, rest, rw = self._anchor(parts)
            if not rest:
                return f"/proc/self/fd/{self._dir_fd(base, (), path)}", os.fstat(base), rw
            parent = self._dir_fd(base, rest[:-1], path)
            name = rest[-1]
            try:
                st = os.lstat(name, dir_fd=parent)
            except FileNotFoundError:
                return f"/proc/self/fd/{parent}/{name}", None, rw
            if not (follow and stat.S_ISLNK(st.st_mode)):
                return f"/proc/self/fd/{parent}/{name}", st, rw
            target = os.readlink(name, dir_fd=parent)
            parts = _components(target if target.startswith("/")
                                else "/".join((*parts[:-1], target)))
        raise InvalidArgument(f"too many levels of symbolic links: {self.ref}:{path}")

    def _canonical(self, parts: tuple[str, ...], shown: str) -> tuple[str, ...]:
        """The directory ``parts`` with every symlink followed the container's way (absolute
        targets restart at its root, ``..`` stops there), crossing into mounts as the
        container would.  Raises "No such container:path" for a missing or non-directory."""
        resolved: list[str] = []
        pending = list(reversed(parts))
        links = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = (*resolved, part)
            base, rest, _ = self._anchor(candidate)
            if rest:
                parent = self._dir_fd(base, rest[:-1], shown)
                try:
                    st = os.lstat(rest[-1], dir_fd=parent)
                except FileNotFoundError:
                    raise self.missing(shown) from None
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > _MAX_LINKS:
                        raise InvalidArgument(f"too many levels of symbolic links: "
                                              f"{self.ref}:{shown}")
                    target = os.readlink(rest[-1], dir_fd=parent)
                    if target.startswith("/"):
                        resolved = []
                    pending.extend(reversed(target.split("/")))
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    raise self.missing(shown)
            resolved.append(part)
        return tuple(resolved)

    def directory(self, path: str) -> str:
        """The host path of an existing, writable directory ``path`` (followed in the root)."""
        host, st, rw = self.locate_rw(path, follow=True)
        if st is None:
            raise self.missing(path)
        if not rw:
            raise Conflict("mounted volume is marked read-only")
        if not stat.S_ISDIR(st.st_mode):
            raise InvalidArgument(f'destination "{self.ref}:{path}" must be a directory')
        return self.pin(host)

    def pin(self, host: str) -> str:
        """A located ``/proc/self/fd/N/name`` directory as a path of its own fd, so that
        nothing resolves ``name`` again (and no symlink put there meanwhile is followed)."""
        if host.count("/") == 4:  # /proc/self/fd/N: already an fd of its own
            return host
        fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        self._fds.append(fd)
        return f"/proc/self/fd/{fd}"


def _components(path: str) -> tuple[str, ...]:
    """Lexically clean ``path`` as seen from ``/`` (``..`` stops at the root)."""
    clean = posixpath.normpath("/" + path)
    return tuple(p for p in clean.split("/") if p)


@contextlib.contextmanager
def container_root(engine: Engine, ref: str, with_binds: bool = False
                   ) -> Iterator[ContainerRoot]:
    """The container's root filesystem, mounted and (when running) frozen, for the block.

    ``with_binds``: its own /etc/hosts, /etc/hostname and /etc/resolv.conf (files bind-mounted
    over the image's) are read from where they really are, as the container sees them."""
    from hull.engine.container_rootfs import frozen, mounted_rootfs

    c = engine.containers.get(ref)
    binds = {}
    if with_binds:
        binds = {"/etc/hosts": c.data.get("HostsPath") or "",
                 "/etc/hostname": c.data.get("HostnamePath") or "",
                 "/etc/resolv.conf": c.data.get("ResolvConfPath") or ""}
    with mounted_rootfs(engine, c) as root, frozen(engine, c, pause=True):
        opened = ContainerRoot(root, ref, {k: v for k, v in binds.items() if v},
                               list(c.data.get("Mounts") or []))
        try:
            yield opened
        finally:
            opened.close()


# ---- tar streams -----------------------------------------------------------------------

def _owned(st: os.stat_result, owner: Owner) -> os.stat_result:
    """``st`` with another owner (the tar writer takes owners from the stat)."""
    if owner is None:
        return st
    fields = list(st[:10])
    fields[4], fields[5] = owner
    extra = {name: getattr(st, name) for name in
             ("st_atime", "st_mtime", "st_ctime", "st_atime_ns", "st_mtime_ns", "st_ctime_ns",
              "st_blksize", "st_blocks", "st_rdev")}
    return os.stat_result(fields, extra)


def write_source(source: Source, out: BinaryIO, top: str, owner: Owner) -> None:
    """A tar of ``source`` whose entries are named below ``top`` ('' : the contents)."""
    from hull.archive.walk import iter_tree, join
    from hull.archive.writer import TarWriter

    writer = TarWriter(out)
    is_dir = stat.S_ISDIR(source.st.st_mode)
    if top:
        writer.add_path(top, source.path, _owned(source.st, owner))
    if is_dir:
        for rel, path, st in iter_tree(source.path):
            writer.add_path(join(top, rel), path, _owned(st, owner))
    writer.close()


def extract(stream: BinaryIO, directory: str) -> None:
    """Unpack a tar into ``directory``, every path resolved inside it."""
    from hull.archive.apply import apply_stream

    apply_stream(stream, directory, "delete")


def _piped(produce: Callable[[BinaryIO], None], consume: Callable[[BinaryIO], None]) -> None:
    """Run ``produce`` (writing a tar) in a thread feeding ``consume`` through a pipe."""
    import threading

    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with open(write_fd, "wb") as sink:
                produce(sink)
        except BrokenPipeError:
            pass  # the consumer stopped early and says why
        except BaseException as e:
            failure.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        with open(read_fd, "rb") as source:
            consume(source)
            source.read()  # let the producer finish
    finally:
        thread.join()
    if failure:
        raise failure[0]


# ---- placing a source at a destination --------------------------------------------------

@record(frozen=True)
class Placement:
    """Where the tar goes: the directory to unpack into and the top name of its entries."""

    directory: str
    top: str


def place(source: Source, dest: str, dest_st: os.stat_result | None, dest_parent_ok: bool,
          shown_dest: str) -> Placement:
    """Docker's rules for putting ``source`` at ``dest`` (a host path on either side)."""
    src_is_dir = stat.S_ISDIR(source.st.st_mode)
    if dest_st is not None and stat.S_ISDIR(dest_st.st_mode):
        return Placement(dest, "" if source.contents_only else source.name)
    if dest_st is not None:
        if src_is_dir:
            raise InvalidArgument(f'cannot overwrite non-directory "{shown_dest}" with '
                                  f'directory "{source.name}"')
        if shown_dest.endswith("/"):
            raise InvalidArgument(f'destination "{shown_dest}" must be a directory')
        return Placement(os.path.dirname(dest), os.path.basename(dest))
    if shown_dest.endswith("/") and not src_is_dir:
        raise NotFound(f'destination directory "{shown_dest}" does not exist')
    if not dest_parent_ok:
        raise NotFound(f'destination directory of "{shown_dest}" does not exist')
    return Placement(os.path.dirname(dest), os.path.basename(dest))


def _source_name(path: str) -> str:
    name = posixpath.basename(posixpath.normpath("/" + path))
    return name or "/"


def _contents_only(path: str) -> bool:
    return path == "." or path.endswith("/.")


# ---- the two directions -----------------------------------------------------------------

def copy_from_container(engine: Engine, ref: str, src: str, dest: str, *,
                        archive: bool = False, follow: bool = False,
                        stdout: BinaryIO | None = None) -> None:
    """``hull cp CTR:SRC DEST`` (``dest == '-'``: a tar on ``stdout``)."""
    if not src:
        raise InvalidArgument("source path in the container is empty")
    with container_root(engine, ref, with_binds=True) as root:
        host, st = root.locate(src, follow)
        if st is None:
            raise root.missing(src)
        source = Source(host, st, _source_name(src), _contents_only(src))
        if dest == "-":
            assert stdout is not None
            top = "" if source.name == "/" else source.name
            write_source(source, stdout, top, None)
            return
        dest_abs = os.path.abspath(dest)
        try:
            dest_st: os.stat_result | None = os.stat(dest_abs)
        except FileNotFoundError:
            dest_st = None
        parent_ok = os.path.isdir(os.path.dirname(dest_abs))
        if dest_st is None and not parent_ok:
            raise NotFound(f"lstat {os.path.dirname(dest_abs)}: no such file or directory")
        where = place(source, dest_abs, dest_st, parent_ok, dest)
        owner = None if archive else (os.getuid(), os.getgid())
        _piped(lambda out: write_source(source, out, where.top, owner),
               lambda stream: extract(stream, where.directory))


def copy_into_container(engine: Engine, ref: str, src: str, dest: str, *,
                        archive: bool = False, follow: bool = False,
                        stdin: BinaryIO | None = None) -> None:
    """``hull cp SRC CTR:DEST`` (``src == '-'``: a tar read from ``stdin``)."""
    if not dest:
        raise InvalidArgument("destination path in the container is empty")
    source = None
    if src != "-":
        path = os.path.abspath(src)
        try:
            st = os.stat(path) if follow else os.lstat(path)
        except FileNotFoundError:
            raise NotFound(f"lstat {path}: no such file or directory") from None
        if follow:
            path = os.path.realpath(path)
        source = Source(path, st, _source_name(path), _contents_only(src))
    with container_root(engine, ref) as root:
        if source is None:
            assert stdin is not None
            extract(stdin, root.directory(dest))
            return
        host, dest_st, writable = root.locate_rw(dest, follow=True)
        if not writable:
            raise Conflict("mounted volume is marked read-only")
        if dest_st is not None and stat.S_ISLNK(dest_st.st_mode):
            raise Conflict(f'destination "{ref}:{dest}" is a broken symbolic link')
        where = place(source, host, dest_st, True, dest)
        where = Placement(root.pin(where.directory), where.top)
        owner = None if archive else (0, 0)
        _piped(lambda out: write_source(source, out, where.top, owner),
               lambda stream: extract(stream, where.directory))

