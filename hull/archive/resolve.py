"""Open directories *inside* a root directory, whatever symlinks the tree holds.

A layer may plant symlinks (``a -> /``, ``b -> ../../..``) and then name paths
through them.  Paths are resolved the way a process chrooted into the root would
see them: absolute symlinks restart at the root and ``..`` stops at the root, so
no resolution ever leaves it.  The kernel does this with ``openat2(2)`` and
``RESOLVE_IN_ROOT`` (Linux 5.6+); elsewhere the same rules are applied one
component at a time with ``O_NOFOLLOW`` opens.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from typing import Protocol

_SYS_OPENAT2 = 437  # the same number on every architecture (added after the syscall table merge)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_IN_ROOT = 0x10
_MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


_syscall = None


def _openat2(dir_fd: int, path: bytes, flags: int, resolve: int) -> int:
    global _syscall
    if _syscall is None:
        libc = ctypes.CDLL(None, use_errno=True)
        _syscall = libc.syscall
        _syscall.restype = ctypes.c_long
    how = _OpenHow(flags, 0, resolve)
    while True:
        fd = _syscall(_SYS_OPENAT2, ctypes.c_int(dir_fd), ctypes.c_char_p(path),
                      ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        # EAGAIN: a concurrent rename made the kernel give up on a ".." check; try again.
        if err not in (errno.EINTR, errno.EAGAIN):
            raise OSError(err, os.strerror(err), os.fsdecode(path))


def openat2_available() -> bool:
    """True when the kernel (and any seccomp filter) lets us use openat2."""
    try:
        fd = _openat2(-100, b"/", _DIR_FLAGS, _RESOLVE_IN_ROOT)  # AT_FDCWD
    except OSError:
        return False
    os.close(fd)
    return True


class InRootOpener(Protocol):
    """Opens ``path`` (components, no ``..`` left) as a directory below ``root_fd``."""

    def __call__(self, root_fd: int, path: tuple[str, ...]) -> int: ...


def open_dir_openat2(root_fd: int, path: tuple[str, ...]) -> int:
    """Let the kernel resolve ``path`` as if ``root_fd`` were ``/``."""
    if not path:
        return os.dup(root_fd)
    return _openat2(root_fd, os.fsencode("/".join(path)), _DIR_FLAGS,
                    _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS)


def open_dir_walking(root_fd: int, path: tuple[str, ...]) -> int:
    """Resolve ``path`` one component at a time, expanding symlinks by hand inside the root.

    Mirrors RESOLVE_IN_ROOT: an absolute link target restarts at the root, ``..``
    never climbs above it, and more than 40 links is ELOOP.
    """
    stack = [os.dup(root_fd)]  # directory fds from the root down to the current one
    pending = list(reversed(path))  # components still to resolve, next one last
    links = 0
    try:
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            try:
                mode = os.fstat(fd).st_mode
            except BaseException:
                os.close(fd)
                raise
            if stat.S_ISLNK(mode):
                os.close(fd)
                links += 1
                if links > _MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), "/".join(path))
                target = os.readlink(part, dir_fd=stack[-1])
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                pending.extend(reversed(target.split("/")))
            elif stat.S_ISDIR(mode):
                os.close(fd)
                stack.append(os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=stack[-1]))
            else:
                os.close(fd)
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), "/".join(path))
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)


def best_opener() -> InRootOpener:
    """openat2 where the kernel has it, the component walk elsewhere."""
    return open_dir_openat2 if openat2_available() else open_dir_walking


class DirCache:
    """Directory fds below a root, opened safely and reused across consecutive entries.

    Callers must :meth:`invalidate` whenever they remove or replace a directory or a
    symlink, because that can change where a cached path resolves.  Invalidated fds
    stay open (a caller may still hold one) until :meth:`release` is called at a point
    where nobody does, e.g. between two tar entries.
    """

    _LIMIT = 512

    def __init__(self, root_fd: int, opener: InRootOpener) -> None:
        self.root_fd = root_fd
        self._open = opener
        self._fds: dict[tuple[str, ...], int] = {}
        self._retired: list[int] = []

    def get(self, path: tuple[str, ...], create: bool) -> int:
        """An fd for the directory ``path``; with ``create``, make missing ones (mode 0755).

        Raises FileNotFoundError, NotADirectoryError or OSError(ELOOP) as the kernel does.
        """
        fd = self._fds.get(path)
        if fd is not None:
            return fd
        try:
            return self._remember(path, self._open(self.root_fd, path))
        except FileNotFoundError:
            if not create or not path:
                raise
        # Walk down from the root creating what is missing; iteratively, since a hostile
        # layer may nest thousands of levels deep.  Only the final fd is cached.
        parent, owned = self.root_fd, False
        try:
            for depth in range(1, len(path) + 1):
                prefix = path[:depth]
                fd, fd_owned = self._fds.get(prefix), False
                if fd is None:
                    fd, fd_owned = self._open_or_make_child(parent, prefix), True
                if owned:
                    os.close(parent)
                parent, owned = fd, fd_owned
        except BaseException:
            if owned:
                os.close(parent)
            raise
        return self._remember(path, parent) if owned else parent

    def _open_or_make_child(self, parent: int, prefix: tuple[str, ...]) -> int:
        """Open ``prefix``, whose parent directory is the already resolved ``parent``, making
        it (mode 0755, Docker's mode for implied parents, whatever the umask) when missing.
        A plain directory is opened relative to its parent, which keeps deep paths linear;
        anything else (a symlink) goes through the in-root resolver from the root."""
        name = prefix[-1]
        try:
            return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent)
        except FileNotFoundError:
            pass
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink, or not a directory
                return self._open(self.root_fd, prefix)
            raise
        os.mkdir(name, 0o755, dir_fd=parent)
        fd = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent)
        os.fchmod(fd, 0o755)
        return fd

    def _remember(self, path: tuple[str, ...], fd: int) -> int:
        if len(self._fds) >= self._LIMIT:
            self.invalidate()
        self._fds[path] = fd
        return fd

    def invalidate(self) -> None:
        """Forget every cached path (the fds stay valid until :meth:`release`)."""
        self._retired.extend(self._fds.values())
        self._fds.clear()

    def release(self) -> None:
        """Close the fds of forgotten paths."""
        for fd in self._retired:
            os.close(fd)
        self._retired.clear()

    def close(self) -> None:
        self.invalidate()
        self.release()
