"""``RUN --mount=type=cache,target=/root/.cache`` options, parsed and checked.

The rules and messages follow BuildKit's ``instructions/commands_runmount.go``: the
value is one CSV record of ``key=value`` fields (``ro``/``rw``/``required`` may stand
alone), ``type`` defaults to ``bind``, bind and secret mounts are read-only unless
``rw`` is given, ``mode``/``uid``/``gid`` only apply to cache, secret and ssh mounts.
Defaults that need build context (a cache ``id`` defaulting to the target, a secret's
default target) are left for the executor.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hull.build.shell_lex import go_quote
from hull.build.suggest import with_suggestion
from hull.errors import InvalidArgument
from hull.record import record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
_ALL_KEYS = ("type", "from", "source", "target", "readonly", "id", "sharing", "required",
             "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw",
             "readwrite", "env")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_RAM_RE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_RAM_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


class MountError(InvalidArgument):
    """A ``--mount`` value is malformed."""


@record
class Mount:
    """One ``RUN --mount``; ``None`` means "not given" where the default needs context."""

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    id: str = ""
    sharing: str = ""
    read_only: bool = True
    required: bool = False
    size: int = 0
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    env: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "target": self.target, "source": self.source,
                "from": self.from_, "id": self.id, "sharing": self.sharing,
                "read_only": self.read_only, "required": self.required, "size": self.size,
                "mode": self.mode, "uid": self.uid, "gid": self.gid, "env": self.env}


def _parse_bool(key: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise MountError(f"invalid value for {key}: {value}")


def _parse_uint(key: str, value: str, base: int, message: str) -> int:
    digits = "01234567" if base == 8 else "0123456789"
    if not value or any(c not in digits for c in value):
        raise MountError(message)
    number = int(value, base)
    if number >= 1 << 32:
        raise MountError(message)
    return number


def ram_in_bytes(text: str) -> int:
    """``units.RAMInBytes``: ``64m``, ``1.5GiB``, ``1024`` (binary multiples)."""
    match = _RAM_RE.match(text)
    if not match:
        raise MountError(f"invalid size: '{text}'")
    number = float(match.group(1)) if match.group(1).count(".") <= 1 else None
    if number is None:
        raise MountError(f"invalid size: '{text}'")
    unit = (match.group(2) or "").lower()
    return int(number * _RAM_UNITS.get(unit, 1))


def _fields(value: str) -> list[str]:
    import csv

    try:
        rows = list(csv.reader([value], strict=True))
    except csv.Error as e:
        raise MountError(f"failed to parse csv mounts: {e}") from None
    return rows[0] if rows else []


def parse_mount(value: str, expand: Callable[[str], str] | None = None) -> Mount:
    """Parse one ``--mount`` value; ``expand`` substitutes variables in option values."""
    mount = Mount()
    ro_auto = True
    for field_text in _fields(value):
        key, has_value, val = field_text.partition("=")
        key = key.lower()
        if not has_value:
            if key in ("readonly", "ro"):
                mount.read_only, ro_auto = True, False
            elif key in ("readwrite", "rw"):
                mount.read_only, ro_auto = False, False
            elif key == "required":
                if mount.type not in ("secret", "ssh"):
                    raise MountError(f"unexpected key '{key}' for mount type '{mount.type}'")
                mount.required = True
            else:
                raise MountError(f"invalid field '{field_text}' must be a key=value pair")
            continue
        if key == "from" and expand is None:
            dollar = val.find("$")
            if dollar != -1 and dollar != len(val) - 1:
                raise MountError(f"'{key}' doesn't support variable expansion, "
                                 "define alias stage instead")
        if expand is not None:
            val = expand(val)
        _apply(mount, key, val, field_text)
        if key in ("readonly", "ro", "readwrite", "rw"):
            ro_auto = False
    _check(mount, ro_auto)
    return mount


def _apply(mount: Mount, key: str, val: str, field_text: str) -> None:
    if key == "type":
        kind = val.lower()
        if kind not in MOUNT_TYPES:
            raise MountError(with_suggestion(f"unsupported mount type {go_quote(val)}", val,
                                             MOUNT_TYPES))
        mount.type = kind
    elif key == "from":
        mount.from_ = val
    elif key in ("source", "src"):
        mount.source = val
    elif key in ("target", "dst", "destination"):
        mount.target = val
    elif key in ("readonly", "ro"):
        mount.read_only = _parse_bool(key, val)
    elif key in ("readwrite", "rw"):
        mount.read_only = not _parse_bool(key, val)
    elif key == "required":
        if mount.type not in ("secret", "ssh"):
            raise MountError(f"unexpected key '{key}' for mount type '{mount.type}'")
        mount.required = _parse_bool(key, val)
    elif key == "size":
        if mount.type != "tmpfs":
            raise MountError(f"unexpected key '{key}' for mount type '{mount.type}'")
        try:
            mount.size = ram_in_bytes(val)
        except MountError:
            raise MountError(f"invalid value for {key}: {val}") from None
    elif key == "id":
        mount.id = val
    elif key == "sharing":
        sharing = val.lower()
        if sharing not in SHARING_MODES:
            raise MountError(with_suggestion(f"unsupported sharing value {go_quote(val)}", val,
                                             SHARING_MODES))
        mount.sharing = sharing
    elif key == "mode":
        mount.mode = _parse_uint(key, val, 8, f"invalid value {val} for mode")
    elif key == "uid":
        mount.uid = _parse_uint(key, val, 10, f"invalid value {val} for uid")
    elif key == "gid":
        mount.gid = _parse_uint(key, val, 10, f"invalid value {val} for gid")
    elif key == "env":
        mount.env = val
    else:
        raise MountError(with_suggestion(f"unexpected key '{key}' in '{field_text}'", key,
                                         _ALL_KEYS))


def _check(mount: Mount, ro_auto: bool) -> None:
    if mount.type not in ("secret", "ssh", "cache"):
        for name in ("mode", "uid", "gid"):
            if getattr(mount, name) is not None:
                raise MountError(f'{name} not allowed for "{mount.type}" type mounts')
    if ro_auto:
        mount.read_only = mount.type not in ("cache", "tmpfs")
    if mount.type == "secret":
        if mount.from_:
            raise MountError("secret mount should not have a from")
        if mount.sharing:
            raise MountError("secret mount should not define sharing")
        if not (mount.source or mount.target or mount.id):
            raise MountError("invalid secret mount. one of source, target required")
        if mount.source and mount.id:
            raise MountError("both source and id can't be set")
    if mount.sharing and mount.type != "cache":
        raise MountError(f"invalid cache sharing set for {mount.type} mount")
