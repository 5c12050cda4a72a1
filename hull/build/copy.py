"""COPY and ADD: put files from a source tree into a step's root filesystem.

Docker's rules:

* a relative destination is relative to WORKDIR; a destination ending in ``/`` is a
  directory; several sources (or a wildcard) need such a destination;
* a directory source copies its *contents*; a file source lands on the destination path,
  or inside it when it is a directory (existing, or written with a trailing ``/``);
* missing parent directories are created (0755);
* files from the context get owner 0:0, files from a stage or image keep theirs, and
  ``--chown`` overrides both (a user without a group uses the uid as gid); ``--chmod``
  sets the permission bits of everything copied; modification times are kept;
* ADD unpacks a local tar archive (plain, gzip, bzip2, xz or zstd) into the destination,
  keeping the archive's owners; ADD of a URL is refused (builds have no network here).

Paths in the root filesystem are resolved with every symlink kept inside it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from hull.build import gopath
from hull.build.context import Source, walk_source
from hull.build.dockerignore import DockerIgnore
from hull.errors import InvalidArgument, NotFound
from hull.record import record

DIR_MODE = 0o755


class CopyError(InvalidArgument):
    """A COPY/ADD cannot be carried out as written."""


@record(frozen=True)
class Ownership:
    """Owner for copied files: ``None`` keeps the source's owner."""

    uid: int | None = None
    gid: int | None = None


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://", "git@", "git://"))


def in_root(rootfs: str, path: str) -> str:
    from hull.build.paths import in_tree

    return in_tree(rootfs, path)


def resolve_chown(rootfs: str, spec: str) -> Ownership:
    """``--chown=user[:group]`` with names looked up in the image's passwd/group files."""
    if not spec:
        return Ownership(0, 0)
    user, _, group = spec.partition(":")
    uid = _lookup(rootfs, "/etc/passwd", user, spec)
    gid = uid if not group else _lookup(rootfs, "/etc/group", group, spec)
    return Ownership(uid, gid)


def _lookup(rootfs: str, db: str, name: str, spec: str) -> int:
    if name.isdigit():
        return int(name)
    try:
        with open(in_root(rootfs, db), encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
                    return int(fields[2])
    except OSError:
        pass
    kind = "user" if db.endswith("passwd") else "group"
    raise CopyError(f"unable to convert uid/gid chown string to host mapping: can't find "
                    f"{'uid' if kind == 'user' else 'gid'} for {kind} {name} (in {spec})")


def parse_chmod(text: str) -> int | None:
    if not text:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise CopyError(f"invalid chmod parameter {text!r}: it must be an octal number "
                        "such as 0755") from None
    if mode > 0o7777:
        raise CopyError(f"invalid chmod parameter {text!r}: out of range")
    return mode


def destination(dest: str, workdir: str) -> tuple[str, bool]:
    """The absolute destination and whether it must be a directory (trailing slash)."""
    as_dir = dest.endswith("/") or dest.endswith("/.") or dest in (".", "")
    path = dest if dest.startswith("/") else gopath.join(workdir or "/", dest)
    return gopath.clean(path), as_dir


def make_dirs(rootfs: str, path: str, owner: Ownership) -> str:
    """Create ``path`` and missing parents inside ``rootfs``; return the host path."""
    current = "/"
    for part in [p for p in path.split("/") if p]:
        current = gopath.join(current, part)
        host = in_root(rootfs, current)
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            os.mkdir(host, DIR_MODE)
            os.chmod(host, DIR_MODE)
            _own(host, owner, is_link=False, default=(0, 0))
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise CopyError(f"cannot copy to {path}: {current} exists and is not a directory")
    return in_root(rootfs, path)


def _own(path: str, owner: Ownership, is_link: bool, default: tuple[int, int]) -> None:
    uid = default[0] if owner.uid is None else owner.uid
    gid = default[1] if owner.gid is None else owner.gid
    os.chown(path, uid, gid, follow_symlinks=not is_link)


class Copier:
    """Copies sources into one root filesystem with one set of COPY options."""

    def __init__(self, rootfs: str, owner: Ownership, mode: int | None,
                 ignore: DockerIgnore | None) -> None:
        self.rootfs = rootfs
        self.owner = owner
        self.mode = mode
        self.ignore = ignore

    def copy(self, sources: list[Source], dest: str, dest_is_dir: bool) -> None:
        if len(sources) > 1 and not dest_is_dir:
            raise CopyError("When using COPY with more than one source file, the destination "
                            "must be a directory and end with a /")
        for source in sources:
            if source.is_dir:
                target = make_dirs(self.rootfs, dest, self.owner)
                self._copy_tree(source, target)
            else:
                self._copy_file_source(source, dest, dest_is_dir)

    def _copy_file_source(self, source: Source, dest: str, dest_is_dir: bool) -> None:
        host_dest = in_root(self.rootfs, dest)
        if dest_is_dir or os.path.isdir(host_dest):
            parent = make_dirs(self.rootfs, dest, self.owner)
            target = os.path.join(parent, os.path.basename(source.rel or source.path))
        else:
            parent_path = gopath.clean(dest.rsplit("/", 1)[0] or "/")
            parent = make_dirs(self.rootfs, parent_path, self.owner)
            target = os.path.join(parent, os.path.basename(dest))
        st = os.stat(source.path)  # the named source itself is followed
        self._place(source.path, target, st, follow=True)

    def _copy_tree(self, source: Source, target: str) -> None:
        dirs: list[tuple[str, os.stat_result]] = []
        for rel, path, st in walk_source(source, self.ignore):
            dest = os.path.join(target, rel)
            self._place(path, dest, st, follow=False)
            if stat.S_ISDIR(st.st_mode):
                dirs.append((dest, st))
        for dest, st in reversed(dirs):  # directory times last: writing inside moves them
            os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    def _place(self, src: str, dest: str, st: os.stat_result, follow: bool) -> None:
        """Put one entry at ``dest``, whose parent is a real directory made by this copy.

        Whatever is in the way is replaced, a symlink included (never followed: an image's
        absolute symlink would point outside the root filesystem), so the children of a
        directory entry are always written below a real directory.
        """
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            if os.path.islink(dest) or (os.path.lexists(dest) and not os.path.isdir(dest)):
                os.unlink(dest)
            if not os.path.lexists(dest):
                os.mkdir(dest, DIR_MODE)
            self._set_meta(dest, st, is_link=False)
            return
        if os.path.lexists(dest):
            if os.path.isdir(dest) and not os.path.islink(dest):
                import shutil

                shutil.rmtree(dest)
            else:
                os.unlink(dest)
        if stat.S_ISLNK(mode) and not follow:
            os.symlink(os.readlink(src), dest)
            self._set_meta(dest, st, is_link=True)
        elif stat.S_ISREG(mode):
            _copy_content(src, dest)
            self._set_meta(dest, st, is_link=False)
        elif stat.S_ISFIFO(mode):
            os.mkfifo(dest, 0o600)
            self._set_meta(dest, st, is_link=False)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            os.mknod(dest, mode, st.st_rdev)
            self._set_meta(dest, st, is_link=False)
        # sockets are skipped, as in layers

    def _set_meta(self, path: str, st: os.stat_result, is_link: bool) -> None:
        _own(path, self.owner, is_link, default=(st.st_uid, st.st_gid))
        if not is_link:
            os.chmod(path, stat.S_IMODE(st.st_mode) if self.mode is None else self.mode)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        else:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    def write_file(self, dest: str, dest_is_dir: bool, name: str, data: bytes) -> None:
        """A heredoc source (``COPY <<EOF /path``): a new 0644 file."""
        if dest_is_dir:
            parent = make_dirs(self.rootfs, dest, self.owner)
            target = os.path.join(parent, name)
        else:
            parent = make_dirs(self.rootfs, gopath.clean(dest.rsplit("/", 1)[0] or "/"),
                               self.owner)
            target = os.path.join(parent, os.path.basename(dest))
        if os.path.islink(target) or (os.path.lexists(target) and not os.path.isdir(target)):
            os.unlink(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(target, 0o644 if self.mode is None else self.mode)
        _own(target, self.owner, is_link=False, default=(0, 0))


def _copy_content(src: str, dest: str) -> None:
    with open(src, "rb") as fin:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fout:
            _copy_bytes(fin.fileno(), fout.fileno(), os.fstat(fin.fileno()).st_size)


def _copy_bytes(fin: int, fout: int, size: int) -> None:
    """Copy ``size`` bytes in the kernel where it can: copy_file_range (which may share
    blocks) on one filesystem, sendfile across filesystems (a context on the host, the step's
    overlay), and read/write when neither works."""
    offset = 0
    for send in (lambda done: os.copy_file_range(fin, fout, size - done),
                 lambda done: os.sendfile(fout, fin, done, size - done)):
        try:
            while offset < size:
                sent = send(offset)
                if sent == 0:
                    return
                offset += sent
            return
        except OSError:
            pass
    os.lseek(fin, offset, os.SEEK_SET)
    os.lseek(fout, offset, os.SEEK_SET)
    while chunk := os.read(fin, 1 << 20):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fout, view):]


def is_archive(path: str) -> bool:
    """Whether ADD should unpack ``path``: a tar, maybe compressed (by its first bytes)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" or (
            head[:4] == b"\x28\xb5\x2f\xfd"):
        return _compressed_tar(path)
    return len(head) == 512 and head[257:262] == b"ustar"


def _compressed_tar(path: str) -> bool:
    import tarfile

    try:
        with tarfile.open(path, "r:*") as tar:
            tar.next()
        return True
    except (tarfile.TarError, OSError, EOFError):
        return False


def extract_archive(rootfs: str, archive: str, dest: str) -> None:
    """ADD of a local archive: unpack it into the directory ``dest`` (owners as archived)."""
    from hull.archive.apply import apply_layer

    target = make_dirs(rootfs, dest, Ownership(0, 0))
    with open(archive, "rb") as raw:
        apply_layer(_decompressed(raw, archive), target, "delete")


def _decompressed(raw, path: str):  # type: ignore[no-untyped-def]
    head = raw.read(6)
    raw.seek(0)
    if head[:3] == b"BZh":
        import bz2

        return bz2.BZ2File(raw)
    if head[:6] == b"\xfd7zXZ\x00":
        import lzma

        return lzma.LZMAFile(raw)
    from hull.archive.compression import open_layer

    return open_layer(raw)


def sources_or_error(found: list[Source], pattern: str) -> list[Source]:
    if found:
        return found
    from hull.build.context import has_wildcards

    if has_wildcards(pattern):
        raise NotFound(f"no source files were specified (nothing matches {pattern})")
    raise NotFound(f"file not found in build context or excluded by .dockerignore: stat "
                   f"{pattern}: file does not exist")


def iter_unique(items: list[Source]) -> Iterator[Source]:
    seen: set[str] = set()
    for item in items:
        if item.path not in seen:
            seen.add(item.path)
            yield item
