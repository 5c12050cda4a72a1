"""Build the container's filesystem view inside its new mount namespace.

Called in the container's init process after unshare(CLONE_NEWNS): stop mount events leaking
to the host, bind the rootfs onto itself, perform ``mounts`` in order, populate /dev,
pivot_root into the rootfs, and finally apply sysctls, masked and read-only paths and a
read-only root.  Every destination is resolved inside the rootfs, so a symlink in an image
cannot redirect a mount onto the host.
"""

from __future__ import annotations

import errno
import os
import stat

from hull.errors import EngineError
from hull.runtime import mountopts
from hull.runtime import syscalls as sc
from hull.runtime.cgroups import Cgroup, CgroupV1

DEFAULT_DEVICES = (  # path, major, minor: the devices every container gets (runtime-spec)
    ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
    ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
)
DEFAULT_DEVICE_RULES = [  # and may use, whatever the spec's device cgroup says
    {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
    for _, major, minor in DEFAULT_DEVICES
] + [
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},  # console
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},  # ptmx
    {"allow": True, "type": "c", "major": 136, "minor": None, "access": "rwm"},  # pts
    {"allow": True, "type": "c", "major": None, "minor": None, "access": "m"},
    {"allow": True, "type": "b", "major": None, "minor": None, "access": "m"},
]
_DEV_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
_ST_FLAGS = ((os.ST_RDONLY, sc.MS_RDONLY), (os.ST_NOSUID, sc.MS_NOSUID),
             (os.ST_NODEV, sc.MS_NODEV), (os.ST_NOEXEC, sc.MS_NOEXEC),
             (os.ST_NOATIME, sc.MS_NOATIME), (os.ST_NODIRATIME, sc.MS_NODIRATIME),
             (os.ST_RELATIME, sc.MS_RELATIME))


def secure_join(root: str, unsafe: str) -> str:
    """``root/unsafe`` with every symlink resolved as if ``root`` were /; never escapes root."""
    parts = [p for p in unsafe.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            resolved.append(part)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > 255:
                raise EngineError(f"too many symlinks resolving {unsafe!r} in the rootfs")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


def _mount_flags_of(path: str) -> int:
    """The MS_* flags a mount currently has, so a remount keeps them."""
    st = os.statvfs(path)
    return sum(ms for st_flag, ms in _ST_FLAGS if st.f_flag & st_flag)


def _make_target(dest: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(dest, exist_ok=True)
        return
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if not os.path.lexists(dest):
        os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o755))


def _remount_bind(dest: str, flags: int, rec: bool = False) -> None:
    extra = flags & mountopts.BIND_REMOUNT_FLAGS
    keep = _mount_flags_of(dest) & (sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    sc.mount(None, dest, None,
             sc.MS_BIND | sc.MS_REMOUNT | extra | keep | (sc.MS_REC if rec else 0))


def _bind(source: str, dest: str, opts: mountopts.MountOptions) -> None:
    sc.mount(source, dest, None, opts.flags & (sc.MS_BIND | sc.MS_REC) | sc.MS_BIND)
    if opts.flags & mountopts.BIND_REMOUNT_FLAGS:
        _remount_bind(dest, opts.flags)


def _mount_cgroup(dest: str, opts: mountopts.MountOptions, cgroup: Cgroup | None) -> None:
    """/sys/fs/cgroup showing only the container's own cgroup directories."""
    if cgroup is None:
        return
    if not isinstance(cgroup, CgroupV1):
        sc.mount(cgroup.dirs()[0], dest, None, sc.MS_BIND)
        if opts.flags & sc.MS_RDONLY:
            _remount_bind(dest, opts.flags | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
        return
    base = opts.flags & ~sc.MS_RDONLY & ~sc.MS_BIND & ~sc.MS_REC
    sc.mount("tmpfs", dest, "tmpfs", base, "mode=755")
    by_mount: dict[str, list[str]] = {}
    for controller, mountpoint in cgroup.mounts.items():
        by_mount.setdefault(mountpoint, []).append(controller)
    for mountpoint, controllers in sorted(by_mount.items()):
        name = os.path.basename(mountpoint)
        target = os.path.join(dest, name)
        os.mkdir(target)
        src = cgroup.by_controller[controllers[0]]
        sc.mount(src, target, None, sc.MS_BIND)
        _remount_bind(target, opts.flags | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
        for c in controllers:
            if c != name:
                os.symlink(name, os.path.join(dest, c))
    if opts.flags & sc.MS_RDONLY:
        sc.mount(None, dest, None, sc.MS_REMOUNT | sc.MS_RDONLY | base)


def mount_entry(rootfs: str, bundle: str, m: dict, cgroup: Cgroup | None) -> None:
    """Perform one runtime-spec ``mounts`` entry below ``rootfs``."""
    dest_rel = m.get("destination") or ""
    if not dest_rel.startswith("/"):
        raise EngineError(f"mount destination {dest_rel!r} must be absolute")
    dest = secure_join(rootfs, dest_rel)
    kind = m.get("type") or ""
    opts = mountopts.parse(m.get("options"))
    source = m.get("source") or kind
    if kind == "bind" or opts.is_bind:
        if not source.startswith("/"):
            source = os.path.join(bundle, source)
        try:
            is_dir = os.path.isdir(source)
            os.stat(source)
        except OSError as e:
            raise EngineError(f"bind mount source {source}: {e.strerror}") from None
        _make_target(dest, is_dir)
        _bind(source, dest, opts)
    else:
        _make_target(dest, True)
        if kind == "cgroup":
            _mount_cgroup(dest, opts, cgroup)
        elif kind == "sysfs":
            _mount_or_bind(dest, "sysfs", opts, "/sys")
        elif kind == "mqueue":
            _mount_or_bind(dest, "mqueue", opts, "/dev/mqueue")
        else:
            sc.mount(source, dest, kind, opts.flags, opts.data_string)
    for prop in opts.propagation:
        sc.mount(None, dest, None, prop)


def _mount_or_bind(dest: str, kind: str, opts: mountopts.MountOptions, host: str) -> None:
    """sysfs/mqueue need their own net/ipc namespace; without one, show the host's (as runc)."""
    try:
        sc.mount(kind, dest, kind, opts.flags, opts.data_string)
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EBUSY):
            raise
        sc.mount(host, dest, None, sc.MS_BIND | sc.MS_REC)
        _remount_bind(dest, opts.flags, rec=True)


def _make_device(rootfs: str, path: str, kind: str, major: int, minor: int, mode: int,
                 uid: int, gid: int) -> None:
    dest = secure_join(rootfs, path)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.lexists(dest):
        os.unlink(dest)
    try:
        os.mknod(dest, (mode & 0o7777) | _DEV_TYPES[kind], os.makedev(major, minor))
        os.chmod(dest, mode & 0o7777)
        os.chown(dest, uid, gid)
    except PermissionError:
        _make_target(dest, False)  # no CAP_MKNOD here: show the host's node instead
        sc.mount(path, dest, None, sc.MS_BIND)


def populate_dev(rootfs: str, devices: list[dict]) -> None:
    """Device nodes, /dev/fd & friends, and /dev/ptmx -> pts/ptmx."""
    given = {d.get("path") for d in devices}
    for path, major, minor in DEFAULT_DEVICES:
        if path not in given:
            _make_device(rootfs, path, "c", major, minor, 0o666, 0, 0)
    for d in devices:
        _make_device(rootfs, d["path"], d.get("type", "c"), d.get("major", 0),
                     d.get("minor", 0), d.get("fileMode", 0o666), d.get("uid", 0),
                     d.get("gid", 0))
    dev = secure_join(rootfs, "/dev")
    links = [("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"),
             ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr")]
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "core"))
    for target, name in links:
        if not os.path.lexists(os.path.join(dev, name)):
            os.symlink(target, os.path.join(dev, name))
    ptmx = os.path.join(dev, "ptmx")
    if os.path.lexists(ptmx):
        os.unlink(ptmx)
    os.symlink("pts/ptmx", ptmx)


def prepare(spec: dict, bundle: str, cgroup: Cgroup | None) -> str:
    """Everything before pivot_root; returns the rootfs path."""
    root = spec.get("root") or {}
    rootfs = root.get("path") or "rootfs"
    if not rootfs.startswith("/"):
        rootfs = os.path.join(bundle, rootfs)
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        raise EngineError(f"rootfs {rootfs} does not exist")
    linux = spec.get("linux") or {}
    propagation = mountopts.PROPAGATION.get(linux.get("rootfsPropagation") or "",
                                            sc.MS_SLAVE | sc.MS_REC)
    sc.mount(None, "/", None, propagation | sc.MS_REC)
    sc.mount(rootfs, rootfs, None, sc.MS_BIND | sc.MS_REC)
    dev_is_tmpfs = False
    for m in spec.get("mounts") or ():
        mount_entry(rootfs, bundle, m, cgroup)
        if m.get("destination") == "/dev" and m.get("type") != "bind":
            dev_is_tmpfs = True
    if dev_is_tmpfs:
        populate_dev(rootfs, linux.get("devices") or [])
    return rootfs


def pivot(rootfs: str) -> None:
    """Make ``rootfs`` the root and drop every view of the host's filesystem."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        sc.pivot_root(".", ".")
        os.fchdir(old)  # the old root is now stacked on top of the new one
        sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
        sc.umount2(".", sc.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def apply_sysctl(sysctl: dict[str, str]) -> None:
    for key, value in sysctl.items():
        path = "/proc/sys/" + key.replace(".", "/")
        if ".." in key.split("."):
            raise EngineError(f"invalid sysctl {key!r}")
        try:
            with open(path, "w") as f:
                f.write(str(value))
        except OSError as e:
            raise EngineError(f"sysctl {key}={value}: {e.strerror}") from None


def readonly_path(path: str) -> None:
    try:
        sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
    except FileNotFoundError:
        return
    _remount_bind(path, sc.MS_RDONLY, rec=True)


def mask_path(path: str) -> None:
    try:
        is_dir = os.path.isdir(path)
        if is_dir:
            sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY)
        else:
            sc.mount("/dev/null", path, None, sc.MS_BIND)
    except FileNotFoundError:
        return


def finish(spec: dict) -> None:
    """After pivot_root: sysctls, read-only and masked paths, read-only root."""
    linux = spec.get("linux") or {}
    if linux.get("sysctl"):
        apply_sysctl(linux["sysctl"])
    for path in linux.get("readonlyPaths") or ():
        readonly_path(path)
    for path in linux.get("maskedPaths") or ():
        mask_path(path)
    if (spec.get("root") or {}).get("readonly"):
        _remount_bind("/", sc.MS_RDONLY)
