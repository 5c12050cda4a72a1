"""Seeding a new volume with what the image has at the mount point (Docker's copy-up)."""

from __future__ import annotations

import os
import stat
import subprocess

from hull.errors import EngineError


def seed_volume(rootfs: str, destination: str, volume_dir: str) -> bool:
    """Copy the image's directory at ``destination`` into an empty volume.

    Owners, modes, times, xattrs, hardlinks, device nodes and symlinks are kept; the
    volume's own directory takes the owner and mode of the image's directory.  Nothing
    happens when the volume already holds something or the image has no directory there.
    The path is resolved inside ``rootfs``, so a symlink in the image cannot point the
    copy at the host.  Returns whether anything was copied.
    """
    from hull.runtime.rootfs import secure_join

    source = secure_join(rootfs, destination)
    try:
        st = os.lstat(source)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    with os.scandir(volume_dir) as entries:
        if any(True for _ in entries):
            return False
    with os.scandir(source) as entries:
        has_content = any(True for _ in entries)
    if has_content:
        proc = subprocess.run(["cp", "-a", "--reflink=auto", "--no-target-directory",
                               source + "/.", volume_dir], capture_output=True, text=True)
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["unknown error"])[0]
            raise EngineError(f"failed to populate volume: {first}")
    os.chown(volume_dir, st.st_uid, st.st_gid)
    os.chmod(volume_dir, stat.S_IMODE(st.st_mode))
    return has_content
