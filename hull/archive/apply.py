"""Unpack a layer tar into a directory, with whiteouts, safely.

Safety rules (a hostile layer must never touch anything outside ``target``):

- Entry names are cleaned lexically.  Absolute names are taken relative to the
  target, as Docker does (``/etc/passwd`` becomes ``etc/passwd``); a name whose
  ``..`` components climb above the target is refused.
- Parent directories are resolved inside the target (openat2 RESOLVE_IN_ROOT, or
  the equivalent component walk): a symlink in the path, planted by this layer or
  already present, is followed as if the target were ``/``, so ``a -> /`` then
  ``a/etc/passwd`` writes ``target/etc/passwd``.  Symlink loops and paths through
  non-directories are refused.
- The last component is never followed: an existing symlink (or anything else)
  at that name is removed and replaced, and metadata is set on the new object
  through its own fd or with no-follow calls.
- Hardlink targets are cleaned and resolved the same way, so they stay inside.
- overlayfs' private xattrs (``trusted.overlay.*``) in a layer are dropped.

Refusals raise :class:`~hull.errors.CorruptArchive` naming the entry.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from typing import BinaryIO, Literal

from hull.archive import tarformat
from hull.archive.compression import open_layer
from hull.archive.reader import TarReader
from hull.archive.resolve import DirCache, InRootOpener, best_opener
from hull.archive.tarformat import TarEntry
from hull.errors import CorruptArchive, EngineError, HullError, InvalidArgument

WhiteoutFormat = Literal["overlay", "delete"]

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_PRIVATE_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")

_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(parent_fd: int, name: str) -> None:
    """Remove the directory ``name`` below ``parent_fd`` and everything in it, without
    following symlinks.  shutil.rmtree recurses, so a hostile tree deeper than Python's
    recursion limit is finished off iteratively, holding one fd at a time."""
    try:
        shutil.rmtree(name, dir_fd=parent_fd)
        return
    except RecursionError:
        pass
    trail: list[str] = []  # directory names from ``name`` down to the current one
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    try:
        while True:
            subdir = None
            with os.scandir(fd) as listing:
                for item in listing:
                    if item.is_dir(follow_symlinks=False):
                        subdir = item.name
                        break
                    os.unlink(item.name, dir_fd=fd)
            if subdir is not None:
                child = os.open(subdir, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                trail.append(subdir)
                continue
            if not trail:
                break
            # ".." of a real directory we walked into without following links is its parent.
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(trail.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


def clean_path(name: str, entry: str | None = None) -> tuple[str, ...]:
    """The components of a tar name relative to the target; refuse names that climb out."""
    if "\0" in name:
        raise CorruptArchive(f"layer entry {entry or name!r} has a NUL byte in its name")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise CorruptArchive(f"layer entry {entry or name!r} points outside the "
                                     f"target directory")
            parts.pop()
        else:
            parts.append(part)
    return tuple(parts)


def apply_layer(stream: BinaryIO, target: str, whiteouts: WhiteoutFormat) -> int:
    """Extract a layer tar (uncompressed, gzip or zstd) into ``target``; return the number of
    bytes of regular file content written (the layer's unpacked size, as Docker reports it).

    ``whiteouts="overlay"``: ``target`` is an empty overlay upperdir; whiteouts become 0/0
    char devices and opaque directories get ``trusted.overlay.opaque=y``.
    ``whiteouts="delete"``: ``target`` holds the full parent tree; whiteouts delete.
    """
    size, _ = apply_stream(stream, target, whiteouts)
    return size


def apply_layer_and_digest(stream: BinaryIO, target: str,
                           whiteouts: WhiteoutFormat) -> tuple[int, str]:
    """Like :func:`apply_layer`, and also return the layer's diff id (the sha256 of the
    uncompressed tar), computed in the same pass."""
    size, digest = apply_stream(stream, target, whiteouts, hash_diff=True)
    assert digest is not None
    return size, digest


def apply_stream(stream: BinaryIO, target: str, whiteouts: WhiteoutFormat, *,
                 hash_diff: bool = False,
                 opener: InRootOpener | None = None) -> tuple[int, str | None]:
    """The engine behind :func:`apply_layer`: returns (unpacked size, diff id or None).

    ``opener`` picks how parent directories are resolved inside the target (default:
    openat2 when the kernel has it); tests use it to exercise both resolvers.
    """
    if whiteouts not in ("overlay", "delete"):
        raise InvalidArgument(f"unknown whiteout format {whiteouts!r}: use overlay or delete")
    source: BinaryIO = open_layer(stream)
    hasher = None
    if hash_diff:
        from hull.digest import HashingReader

        hasher = HashingReader(source)
        source = hasher  # type: ignore[assignment]
    reader = TarReader(source)
    applier = LayerApplier(target, whiteouts, opener or best_opener())
    try:
        for entry in reader:
            applier.apply(entry, reader)
        applier.finish()
        reader.drain()
    finally:
        applier.close()
    return applier.size, (hasher.digest if hasher is not None else None)


class LayerApplier:
    """Applies one entry at a time to a target directory."""

    def __init__(self, target: str, whiteouts: WhiteoutFormat, opener: InRootOpener) -> None:
        try:
            self.root_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            raise EngineError(f"cannot open layer target {target}: {error.strerror}") from None
        self.whiteouts = whiteouts
        self.dirs = DirCache(self.root_fd, opener)
        self.size = 0
        self._chown = os.geteuid() == 0
        self._dir_times: list[tuple[tuple[str, ...], int]] = []
        # "delete" mode: paths this layer created, and their ancestors, which an opaque
        # marker must leave alone whichever order the tar lists them in.
        self._written: set[tuple[str, ...]] = set()

    def close(self) -> None:
        self.dirs.close()
        os.close(self.root_fd)

    # ------------------------------------------------------------------ dispatch

    def apply(self, entry: TarEntry, reader: TarReader) -> None:
        self.dirs.release()
        try:
            self._apply(entry, reader)
        except HullError:
            raise
        except FileNotFoundError as error:
            raise CorruptArchive(f"cannot apply layer entry {entry.name!r}: "
                                 f"{error.strerror}") from None
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EMFILE,
                               errno.EPERM, errno.EACCES):
                raise EngineError(f"cannot apply layer entry {entry.name!r}: "
                                  f"{error.strerror}") from None
            raise CorruptArchive(f"cannot apply layer entry {entry.name!r}: "
                                 f"{error.strerror}") from None
        except ValueError as error:  # e.g. an embedded NUL in a link target
            raise CorruptArchive(f"cannot apply layer entry {entry.name!r}: {error}") from None

    def _apply(self, entry: TarEntry, reader: TarReader) -> None:
        path = clean_path(entry.name)
        if entry.type not in tarformat.ENTRY_TYPES:
            raise CorruptArchive(f"layer entry {entry.name!r} has unsupported type "
                                 f"{entry.type!r}")
        if any(part.startswith(WHITEOUT_META_PREFIX) for part in path[:-1]):
            return  # aufs bookkeeping (.wh..wh.plnk and friends)
        base = path[-1] if path else ""
        if base.startswith(WHITEOUT_PREFIX):
            if base == WHITEOUT_OPAQUE:
                self._opaque(path[:-1], entry)
            elif not base.startswith(WHITEOUT_META_PREFIX):
                self._whiteout(path[:-1], base[len(WHITEOUT_PREFIX) :], entry)
            return
        if not path:
            self._root(entry)
            return
        parent = self._parent(path, entry)
        kind = entry.type
        if kind == tarformat.REGULAR:
            self._regular(parent, base, entry, reader)
        elif kind == tarformat.DIRECTORY:
            self._directory(parent, base, path, entry)
        elif kind == tarformat.SYMLINK:
            self._symlink(parent, base, entry)
        elif kind == tarformat.HARDLINK:
            self._hardlink(path, entry)
        else:
            self._special(parent, base, entry)
        if self.whiteouts == "delete":
            self._remember(path)

    def finish(self) -> None:
        """Set directory mtimes, last, because creating their contents changed them."""
        done: set[tuple[str, ...]] = set()
        for path, mtime_ns in reversed(self._dir_times):
            if path in done:
                continue
            done.add(path)
            if not path:
                os.utime(self.root_fd, ns=(mtime_ns, mtime_ns))
                continue
            try:
                parent = self.dirs.get(path[:-1], create=False)
                fd = os.open(path[-1], _DIR_FLAGS, dir_fd=parent)
            except OSError:
                continue  # removed, or replaced by a file or symlink dated by its own entry
            try:
                os.utime(fd, ns=(mtime_ns, mtime_ns))
            finally:
                os.close(fd)

    # ------------------------------------------------------------------ helpers

    def _parent(self, path: tuple[str, ...], entry: TarEntry, create: bool = True) -> int:
        try:
            return self.dirs.get(path[:-1], create=create)
        except FileNotFoundError:
            raise
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise CorruptArchive(f"layer entry {entry.name!r}: too many levels of symbolic "
                                     f"links in its parent directory") from None
            if error.errno == errno.ENOTDIR:
                raise CorruptArchive(f"layer entry {entry.name!r}: a parent is not a "
                                     f"directory") from None
            raise

    def _remember(self, path: tuple[str, ...]) -> None:
        while path and path not in self._written:
            self._written.add(path)
            path = path[:-1]

    def _clear_slot(self, parent: int, name: str, keep_dir: bool) -> bool:
        """Make room for a new object at ``name``; return True when an existing directory
        was kept (``keep_dir``)."""
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            remove_tree(parent, name)
            self.dirs.invalidate()
        else:
            os.unlink(name, dir_fd=parent)
            if stat.S_ISLNK(st.st_mode):
                self.dirs.invalidate()
        return False

    def _owner_and_mode(self, fd: int, entry: TarEntry) -> None:
        # chown first: it clears setuid/setgid bits and file capabilities.
        if self._chown:
            os.fchown(fd, entry.uid, entry.gid)
        os.fchmod(fd, entry.mode & 0o7777)

    def _xattrs(self, target: int | str, entry: TarEntry, follow: bool = True) -> None:
        for key in sorted(entry.xattrs):
            if key.startswith(_PRIVATE_XATTR_PREFIXES):
                continue
            try:
                os.setxattr(target, key, entry.xattrs[key], follow_symlinks=follow)
            except OSError as error:
                if error.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
                    continue  # the filesystem or namespace cannot hold it; Docker skips too
                if error.errno == errno.EPERM and not follow:
                    continue  # user.* xattrs are not allowed on symlinks
                if error.errno in (errno.ERANGE, errno.EINVAL):
                    raise CorruptArchive(f"layer entry {entry.name!r} has an invalid xattr "
                                         f"{key!r}") from None
                raise

    # ------------------------------------------------------------------ entry kinds

    def _root(self, entry: TarEntry) -> None:
        if entry.type != tarformat.DIRECTORY:
            raise CorruptArchive(f"layer entry {entry.name!r} names the root but is not a "
                                 f"directory")
        self._owner_and_mode(self.root_fd, entry)
        self._xattrs(self.root_fd, entry)
        self._dir_times.append(((), entry.mtime_ns))

    def _regular(self, parent: int, name: str, entry: TarEntry, reader: TarReader) -> None:
        try:
            fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)
        except FileExistsError:
            self._clear_slot(parent, name, keep_dir=False)
            fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)
        try:
            if entry.size:
                reader.copy_data_to(fd)
            self._owner_and_mode(fd, entry)
            if entry.xattrs:
                self._xattrs(fd, entry)
            os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
        finally:
            os.close(fd)
        self.size += entry.size

    def _directory(self, parent: int, name: str, path: tuple[str, ...],
                   entry: TarEntry) -> None:
        try:
            os.mkdir(name, 0o700, dir_fd=parent)
        except FileExistsError:
            if not self._clear_slot(parent, name, keep_dir=True):
                os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        try:
            self._owner_and_mode(fd, entry)
            if entry.xattrs:
                self._xattrs(fd, entry)
        finally:
            os.close(fd)
        self._dir_times.append((path, entry.mtime_ns))

    def _symlink(self, parent: int, name: str, entry: TarEntry) -> None:
        try:
            os.symlink(entry.linkname, name, dir_fd=parent)
        except FileExistsError:
            self._clear_slot(parent, name, keep_dir=False)
            os.symlink(entry.linkname, name, dir_fd=parent)
        if self._chown:
            os.chown(name, entry.uid, entry.gid, dir_fd=parent, follow_symlinks=False)
        if entry.xattrs:
            self._xattrs(f"/proc/self/fd/{parent}/{name}", entry, follow=False)
        os.utime(name, ns=(entry.mtime_ns, entry.mtime_ns), dir_fd=parent,
                 follow_symlinks=False)

    def _hardlink(self, path: tuple[str, ...], entry: TarEntry) -> None:
        source = clean_path(entry.linkname, entry.name)
        if not source:
            raise CorruptArchive(f"layer entry {entry.name!r} is a hardlink to the root")
        if source == path:
            return  # a link to itself changes nothing
        missing = CorruptArchive(f"layer entry {entry.name!r} links to {entry.linkname!r}, "
                                 f"which does not exist")
        try:
            source_parent = self._parent(source, entry, create=False)
        except FileNotFoundError:
            raise missing from None
        parent = self._parent(path, entry)
        try:
            try:
                os.link(source[-1], path[-1], src_dir_fd=source_parent, dst_dir_fd=parent,
                        follow_symlinks=False)
            except FileExistsError:
                self._clear_slot(parent, path[-1], keep_dir=False)
                os.link(source[-1], path[-1], src_dir_fd=source_parent, dst_dir_fd=parent,
                        follow_symlinks=False)
        except FileNotFoundError:
            raise missing from None
        except PermissionError:
            raise CorruptArchive(f"layer entry {entry.name!r} links to {entry.linkname!r}, "
                                 f"which is a directory") from None

    def _special(self, parent: int, name: str, entry: TarEntry) -> None:
        perm = entry.mode & 0o7777
        if entry.type == tarformat.FIFO:
            def make() -> None:
                os.mkfifo(name, 0o600, dir_fd=parent)
        else:
            kind = stat.S_IFCHR if entry.type == tarformat.CHARDEV else stat.S_IFBLK
            device = os.makedev(entry.devmajor, entry.devminor)

            def make() -> None:
                os.mknod(name, kind | 0o600, device, dir_fd=parent)
        try:
            make()
        except FileExistsError:
            self._clear_slot(parent, name, keep_dir=False)
            make()
        if self._chown:
            os.chown(name, entry.uid, entry.gid, dir_fd=parent, follow_symlinks=False)
        # The node was just made by us, so following the name cannot lead elsewhere.
        os.chmod(name, perm, dir_fd=parent)
        if entry.xattrs:
            self._xattrs(f"/proc/self/fd/{parent}/{name}", entry, follow=False)
        os.utime(name, ns=(entry.mtime_ns, entry.mtime_ns), dir_fd=parent,
                 follow_symlinks=False)

    # ------------------------------------------------------------------ whiteouts

    def _whiteout(self, parent_path: tuple[str, ...], name: str, entry: TarEntry) -> None:
        if name in ("", ".", ".."):
            raise CorruptArchive(f"layer entry {entry.name!r} is an invalid whiteout")
        if self.whiteouts == "overlay":
            parent = self._parent((*parent_path, name), entry)
            self._clear_slot(parent, name, keep_dir=False)
            os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent)
            return
        try:
            parent = self._parent((*parent_path, name), entry, create=False)
        except (FileNotFoundError, CorruptArchive):
            return  # nothing there to delete
        self._clear_slot(parent, name, keep_dir=False)

    def _opaque(self, dir_path: tuple[str, ...], entry: TarEntry) -> None:
        if self.whiteouts == "overlay":
            fd = self._dir_for_opaque(dir_path, entry, create=True)
            os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
            return
        try:
            fd = self._dir_for_opaque(dir_path, entry, create=False)
        except FileNotFoundError:
            return  # a directory the lower layers never had: nothing to hide
        self._remember(dir_path)
        self._clear_lower_contents(fd, dir_path)

    def _dir_for_opaque(self, dir_path: tuple[str, ...], entry: TarEntry, create: bool) -> int:
        try:
            return self.dirs.get(dir_path, create=create)
        except FileNotFoundError:
            raise
        except OSError as error:
            raise CorruptArchive(f"layer entry {entry.name!r}: cannot open its directory: "
                                 f"{error.strerror}") from None

    def _clear_lower_contents(self, dir_fd: int, dir_path: tuple[str, ...]) -> None:
        """Remove everything below ``dir_fd`` that this layer did not write itself."""
        pending = [dir_path]
        while pending:
            path = pending.pop()
            fd = dir_fd if path == dir_path else self.dirs.get(path, create=False)
            for name in os.listdir(fd):
                child = (*path, name)
                if child not in self._written:
                    self._clear_slot(fd, name, keep_dir=False)
                elif stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                    pending.append(child)
