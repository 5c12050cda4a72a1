"""Resolve ``-u`` / the image's ``User`` against the image's own /etc/passwd and /etc/group.

The files are read from the container's mounted rootfs with every symlink resolved inside
it, so an image cannot make hull read the host's files.  Rules follow Docker (runc's
``user.GetExecUser``): a name must exist; a numeric uid need not; the primary group comes
from passwd unless ``user:group`` names one; supplementary groups are the groups that list
the user.
"""

from __future__ import annotations

import os

from hull.errors import HullError
from hull.record import record


class UserNotFound(HullError):
    """The user or group named by ``-u`` does not exist in the image (Docker exits 125)."""

    exit_code = 125


@record(frozen=True)
class ExecUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    home: str


def _read_db(rootfs: str, path: str) -> list[list[str]]:
    """Colon-separated entries of ``path`` inside ``rootfs`` (missing file: no entries)."""
    from hull.runtime.rootfs import secure_join

    real = secure_join(rootfs, path)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        with os.fdopen(fd, "rb") as f:
            import stat

            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return []
            text = f.read(4 << 20).decode(errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def resolve_user(rootfs: str, spec: str, extra_groups: list[str] | None = None) -> ExecUser:
    """``spec`` is ``""``, ``name``, ``uid``, ``name:group``, ``uid:gid`` (Docker's forms)."""
    user_part, _, group_part = (spec or "").partition(":")
    passwd = _read_db(rootfs, "/etc/passwd")
    uid, gid, home, name = 0, 0, "/", "root"
    if user_part:
        entry = next((e for e in passwd if len(e) >= 4 and
                      (e[0] == user_part or (user_part.isdigit() and e[2] == user_part))), None)
        if entry is None:
            if not user_part.isdigit():
                raise UserNotFound(f"unable to find user {user_part}: no matching entries in"
                                   " passwd file")
            uid, gid, home, name = int(user_part), 0, "/", ""
        else:
            uid = _int(entry[2]) or 0
            gid = _int(entry[3]) or 0
            home = entry[5] if len(entry) > 5 and entry[5] else "/"
            name = entry[0]
    else:
        entry = next((e for e in passwd if len(e) >= 4 and e[2] == "0"), None)
        if entry is not None:
            home = entry[5] if len(entry) > 5 and entry[5] else "/"
    groups = _read_db(rootfs, "/etc/group")
    if group_part:
        match = next((g for g in groups if len(g) >= 3 and
                      (g[0] == group_part or (group_part.isdigit() and g[2] == group_part))),
                     None)
        if match is None:
            if not group_part.isdigit():
                raise UserNotFound(f"unable to find group {group_part}: no matching entries in"
                                   " group file")
            gid = int(group_part)
        else:
            gid = _int(match[2]) or 0
    extra: list[int] = []
    if name:
        for g in groups:
            if len(g) >= 4 and name in g[3].split(",") and (_int(g[2]) is not None):
                gid_value = int(g[2])
                if gid_value != gid and gid_value not in extra:
                    extra.append(gid_value)
    for wanted in extra_groups or ():
        match = next((g for g in groups if len(g) >= 3 and g[0] == wanted), None)
        if match is not None and _int(match[2]) is not None:
            extra.append(int(match[2]))
        elif wanted.isdigit():
            extra.append(int(wanted))
        else:
            raise UserNotFound(f"unable to find group {wanted}: no matching entries in group file")
    return ExecUser(uid, gid, tuple(extra), home)
