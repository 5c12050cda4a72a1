"""Mounting and unmounting snapshot mounts with mount(2)/umount2(2) directly.

Calling the syscalls through ctypes instead of spawning ``mount`` saves a
process start per container, which matters for ``run``'s speed budget.

Overlay's mount data is limited to one page (4096 bytes), which a deep layer
stack with absolute paths exceeds.  :func:`mount_all` then rewrites the
overlay directories relative to their common parent and mounts from a helper
thread that has its own working directory (``unshare(CLONE_FS)``), so the
process's cwd is never touched and no fork is needed.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Sequence

from hull.errors import EngineError
from hull.snapshot.base import Mount

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000

MNT_DETACH = 0x2
CLONE_FS = 0x200

#: Largest mount data the kernel accepts: one page including the trailing NUL.
MAX_MOUNT_DATA = 4095

# option -> (flags to set, flags to clear)
_FLAG_OPTIONS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0),
    "rw": (0, MS_RDONLY),
    "bind": (MS_BIND, 0),
    "rbind": (MS_BIND | MS_REC, 0),
    "nosuid": (MS_NOSUID, 0),
    "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0),
    "dev": (0, MS_NODEV),
    "noexec": (MS_NOEXEC, 0),
    "exec": (0, MS_NOEXEC),
    "sync": (MS_SYNCHRONOUS, 0),
    "async": (0, MS_SYNCHRONOUS),
    "noatime": (MS_NOATIME, 0),
    "nodiratime": (MS_NODIRATIME, 0),
    "relatime": (MS_RELATIME, 0),
    "strictatime": (MS_STRICTATIME, 0),
    "defaults": (0, 0),
}

_OVERLAY_DIR_OPTIONS = ("lowerdir", "upperdir", "workdir")

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    """libc, loaded on first use so importing this module stays cheap."""
    global _libc
    if _libc is None:
        # The interpreter's own symbols include libc; this avoids ctypes.util's
        # library search, which alone costs several milliseconds of imports.
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                              ctypes.c_ulong, ctypes.c_char_p]
        lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.unshare.argtypes = [ctypes.c_int]
        _libc = lib
    return _libc


def _encode(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def _sys_mount(source: str | None, target: str, fstype: str | None, flags: int,
               data: str | None) -> None:
    """mount(2); raises OSError with the errno on failure."""
    if _lib().mount(_encode(source), _encode(target), _encode(fstype), flags, _encode(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def parse_options(options: Sequence[str]) -> tuple[int, list[str]]:
    """Split mount options into mount(2) flags and the filesystem's data options."""
    flags = 0
    data: list[str] = []
    for option in options:
        if option in _FLAG_OPTIONS:
            set_flags, clear_flags = _FLAG_OPTIONS[option]
            flags = (flags | set_flags) & ~clear_flags
        else:
            data.append(option)
    return flags, data


def mount_all(mounts: list[Mount], target: str) -> None:
    """Mount every record on ``target`` in order; on failure undo the ones already made.

    Raises :class:`EngineError` naming the mount and the errno's text.
    """
    target = os.path.abspath(target)
    done = 0
    try:
        for mount in mounts:
            _mount_one(mount, target)
            done += 1
    except BaseException:
        for _ in range(done):
            try:
                _umount(target, MNT_DETACH)
            except OSError:
                break
        raise


def _mount_one(mount: Mount, target: str) -> None:
    flags, data = parse_options(mount.options)
    try:
        if flags & MS_BIND or mount.type == "bind":
            _bind(mount.source, target, flags, data)
        elif mount.type == "overlay":
            _overlay(mount.source, target, flags, data)
        else:
            _sys_mount(mount.source, target, mount.type, flags, ",".join(data) or None)
    except OSError as e:
        raise EngineError(f"cannot mount {mount.type} {mount.source!r} on {target}: "
                          f"{e.strerror}{_hint(mount, e)}") from None


def _hint(mount: Mount, error: OSError) -> str:
    if mount.type == "overlay" and error.errno == 22:  # EINVAL: the kernel logs the reason
        return " (the kernel log, dmesg, says why)"
    return ""


def _bind(source: str, target: str, flags: int, data: list[str]) -> None:
    """A bind mount; read-only and the other per-mount flags need a second, remount call."""
    _sys_mount(source, target, None, MS_BIND | (flags & MS_REC), None)
    extra = flags & ~(MS_BIND | MS_REC)
    if extra:
        try:
            _sys_mount(None, target, None, MS_REMOUNT | MS_BIND | extra, None)
        except OSError:
            _umount(target, MNT_DETACH)
            raise


def _overlay(source: str, target: str, flags: int, data: list[str]) -> None:
    text = ",".join(data)
    if len(text.encode()) <= MAX_MOUNT_DATA:
        _sys_mount(source, target, "overlay", flags, text)
        return
    base, relative = compact_overlay_options(data)
    text = ",".join(relative)
    if len(text.encode()) > MAX_MOUNT_DATA:
        raise OSError(7, "overlay mount options are longer than a page even with relative "
                         f"paths ({len(text)} bytes); too many layers")  # E2BIG
    _in_directory(base, lambda: _sys_mount(source, target, "overlay", flags, text))


def compact_overlay_options(data: list[str]) -> tuple[str, list[str]]:
    """Rewrite overlay's directory options relative to their deepest common directory.

    Returns that directory and the rewritten options; other options pass unchanged.
    """
    dirs: list[str] = []
    for option in data:
        name, _, value = option.partition("=")
        if name in _OVERLAY_DIR_OPTIONS:
            dirs.extend(value.split(":") if name == "lowerdir" else [value])
    if not dirs:
        return "/", list(data)
    base = os.path.commonpath([os.path.abspath(d) for d in dirs])
    out: list[str] = []
    for option in data:
        name, _, value = option.partition("=")
        if name == "lowerdir":
            value = ":".join(os.path.relpath(d, base) for d in value.split(":"))
            out.append(f"{name}={value}")
        elif name in _OVERLAY_DIR_OPTIONS:
            out.append(f"{name}={os.path.relpath(value, base)}")
        else:
            out.append(option)
    return base, out


def _in_directory(directory: str, action: Callable[[], None]) -> None:
    """Run ``action`` in a thread whose working directory is ``directory``.

    The thread unshares its filesystem context first, so chdir there does not
    move the cwd of the rest of the process.
    """
    failure: list[BaseException] = []

    def body() -> None:
        try:
            if _lib().unshare(CLONE_FS) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"unshare(CLONE_FS): {os.strerror(err)}")
            os.chdir(directory)
            action()
        except BaseException as e:
            failure.append(e)

    import threading

    worker = threading.Thread(target=body, name="hull-mount")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def _umount(target: str, flags: int) -> None:
    if _lib().umount2(os.fsencode(target), flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def unmount(target: str, detach: bool = False) -> None:
    """Unmount the top mount on ``target`` (lazily with ``detach``).

    Raises :class:`EngineError` when nothing is mounted there or it is busy.
    """
    target = os.path.abspath(target)
    try:
        _umount(target, MNT_DETACH if detach else 0)
    except OSError as e:
        if e.errno == 22 and not mounted(target):  # EINVAL
            raise EngineError(f"cannot unmount {target}: not a mount point") from None
        raise EngineError(f"cannot unmount {target}: {e.strerror}") from None


def unmount_all(target: str, detach: bool = False) -> None:
    """Unmount every mount stacked on ``target``; nothing mounted is not an error."""
    target = os.path.abspath(target)
    while mounted(target):
        unmount(target, detach)


def mounted(path: str) -> bool:
    """Whether ``path`` is a mount point in this mount namespace."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            if _unescape(line.split(b" ", 5)[4]) == path:
                return True
    return False


def _unescape(field: bytes) -> str:
    r"""mountinfo escapes space, tab, newline and backslash as \ooo octal."""
    if b"\\" in field:
        out = bytearray()
        i = 0
        while i < len(field):
            if field[i] == 0x5C and i + 4 <= len(field) and field[i + 1:i + 4].isdigit():
                out.append(int(field[i + 1:i + 4], 8))
                i += 4
            else:
                out.append(field[i])
                i += 1
        field = bytes(out)
    return os.fsdecode(field)
