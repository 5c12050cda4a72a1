"""Turning a container's mount requests into mount points, with Docker's error texts.

These are the engine-side checks (moby's Linux mount parser): ``-v`` strings as they
arrive in ``HostConfig.Binds``, ``--mount`` documents in ``HostConfig.Mounts``, ``--tmpfs``
destinations in ``HostConfig.Tmpfs`` and ``--volumes-from`` specs.  Pure functions: the only
thing they look at on the host is whether a ``--mount`` bind source exists.
"""

from __future__ import annotations

import os
import posixpath
import re

from hull.errors import InvalidArgument
from hull.volume.mountpoint import BIND, DEFAULT_PROPAGATION, TMPFS, VOLUME, MountPoint
from hull.volume.names import LOCAL_DRIVER

RW_MODES = ("rw", "ro")
LABEL_MODES = ("z", "Z")
PROPAGATION_MODES = ("private", "rprivate", "slave", "rslave", "shared", "rshared")
COPY_MODES = ("nocopy",)
CONSISTENCY_MODES = ("consistent", "cached", "delegated")
VALID_TMPFS_OPTIONS = ("exec", "noexec")
_RAM_SIZE = re.compile(r"(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?")
_RAM_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


class MountError(InvalidArgument):
    """A mount request Docker would refuse; the message is Docker's."""

    exit_code = 125


def invalid_spec(raw: str) -> str:
    return f"invalid volume specification: '{raw}'"


def _mode_classes(mode: str) -> list[str] | None:
    """The class of each comma-separated mode word; None if a word is unknown."""
    classes = []
    for word in mode.split(","):
        if word in RW_MODES:
            classes.append("rw")
        elif word in LABEL_MODES:
            classes.append("label")
        elif word in PROPAGATION_MODES:
            classes.append("propagation")
        elif word in COPY_MODES:
            classes.append("copy")
        elif word in CONSISTENCY_MODES:
            classes.append("consistency")
        else:
            return None
    return classes


def valid_mode(mode: str) -> bool:
    """Docker's linuxValidMountMode: known words, at most one of each kind."""
    if mode == "":
        return True
    classes = _mode_classes(mode)
    return classes is not None and len(classes) == len(set(classes))


def read_write(mode: str) -> bool:
    return valid_mode(mode) and "ro" not in mode.split(",")


def _propagation_in(mode: str) -> str:
    for word in mode.split(","):
        if word in PROPAGATION_MODES:
            return word
    return ""


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: ``64m`` -> 67108864 (binary multiples); ValueError if malformed."""
    match = _RAM_SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid size: '{text}'")
    number = float(match.group(1)) if match.group(1).count(".") <= 1 else None
    if number is None:
        raise ValueError(f"invalid size: '{text}'")
    power = _RAM_POWERS.get((match.group(2) or "").lower(), 0)
    return int(number * (1024 ** power))


# ---- -v / HostConfig.Binds -------------------------------------------------------------


def parse_bind(raw: str) -> MountPoint:
    """One ``-v`` value with a source (``name:/dst[:mode]``, ``/src:/dst[:mode]``)."""
    parts = raw.split(":", 3)
    if parts[0] == "":
        raise MountError(invalid_spec(raw))
    mode = ""
    if len(parts) == 1:
        source, target = "", parts[0]
    elif len(parts) == 2:
        if valid_mode(parts[1]):
            raise MountError(invalid_spec(raw))  # /dst:ro names no volume
        source, target = parts
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise MountError(invalid_spec(raw))
    if not valid_mode(mode):
        raise MountError(f"invalid mode: {mode}")
    kind = BIND if posixpath.isabs(source) else VOLUME
    spec: dict = {"Type": kind, "Source": source, "Target": target,
                  "ReadOnly": not read_write(mode)}
    words = mode.split(",") if mode else []
    if "nocopy" in words:
        spec["VolumeOptions"] = {"NoCopy": True}
    propagation = _propagation_in(mode)
    if propagation:
        spec["BindOptions"] = {"Propagation": propagation}
    try:
        mp = parse_mount(spec, check_source=False)
    except MountError as e:
        raise MountError(f"{invalid_spec(raw)}: {e}") from None
    mp.mode = mode
    if kind == BIND:
        mp.create_source = True
    elif mp.mode == "":
        mp.mode = "z"  # Docker marks local named volumes shareable
    return mp


def anonymous(destination: str) -> MountPoint:
    """A ``-v /path`` or image ``VOLUME`` mount: a new anonymous local volume."""
    return MountPoint(type=VOLUME, destination=clean(destination), driver=LOCAL_DRIVER,
                      copy_data=True)


def clean(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).replace("//", "/")


# ---- --mount / HostConfig.Mounts -------------------------------------------------------


def _config_error(kind: str, message: str) -> MountError:
    return MountError(f'invalid mount config for type "{kind}": {message}')


def _check_target(kind: str, target: str) -> None:
    if not target:
        raise _config_error(kind, "field Target must not be empty")
    if clean(target) == "/":
        raise _config_error(kind, "invalid specification: destination can't be '/'")
    if not posixpath.isabs(target.replace("\\", "/")):
        raise _config_error(kind, f"invalid mount path: '{target}' mount path must be absolute")


def parse_mount(spec: dict, check_source: bool = True) -> MountPoint:
    """Validate one ``HostConfig.Mounts`` document (Docker's mount.Mount) into a mount point."""
    kind = str(spec.get("Type") or "")
    for field, owner in (("BindOptions", BIND), ("VolumeOptions", VOLUME),
                         ("TmpfsOptions", TMPFS)):
        if spec.get(field) is not None and kind != owner:
            raise _config_error(kind, f"field {field} must not be specified")
    target = str(spec.get("Target") or "")
    _check_target(kind, target)
    source = str(spec.get("Source") or "")
    read_only = bool(spec.get("ReadOnly"))
    mp = MountPoint(type=kind, destination=clean(target), rw=not read_only)
    if kind == BIND:
        _bind_mount(spec, source, check_source, mp)
    elif kind == VOLUME:
        _volume_mount(spec, source, mp)
    elif kind == TMPFS:
        if source:
            raise _config_error(kind, "field Source must not be specified")
        try:
            mp.tmpfs_data = tmpfs_data(spec.get("TmpfsOptions") or {}, read_only)
        except ValueError as e:
            raise _config_error(kind, str(e)) from None
    else:
        raise _config_error(kind, "mount type unknown")
    return mp


def _bind_mount(spec: dict, source: str, check_source: bool, mp: MountPoint) -> None:
    if not source:
        raise _config_error(BIND, "field Source must not be empty")
    options = spec.get("BindOptions") or {}
    propagation = str(options.get("Propagation") or "")
    if propagation and propagation not in PROPAGATION_MODES:
        raise _config_error(BIND, f"invalid propagation mode: {propagation}")
    if not posixpath.isabs(source):
        raise _config_error(BIND, f"invalid mount path: '{source}' mount path must be absolute")
    create = bool(options.get("CreateMountpoint"))
    if check_source and not create and not os.path.lexists(source):
        raise _config_error(BIND, f"bind source path does not exist: {source}")
    mp.source = clean(source)
    mp.propagation = propagation or DEFAULT_PROPAGATION
    mp.non_recursive = bool(options.get("NonRecursive"))
    mp.create_source = create


def _volume_mount(spec: dict, source: str, mp: MountPoint) -> None:
    options = spec.get("VolumeOptions") or {}
    if options.get("Subpath"):
        if not source:
            raise _config_error(VOLUME, "must not set Subpath when using anonymous volumes")
        raise MountError("volume subpaths are not supported")
    mp.name = source
    mp.named = bool(source)
    mp.copy_data = not options.get("NoCopy")
    driver = options.get("DriverConfig") or {}
    mp.driver = str(driver.get("Name") or LOCAL_DRIVER)
    mp.volume_options = dict(driver["Options"]) if driver.get("Options") else None
    mp.volume_labels = dict(options["Labels"]) if options.get("Labels") else None
    mp.mode = "z"


def tmpfs_data(options: dict, read_only: bool = False) -> str:
    """Docker's ConvertTmpfsOptions: ``ro``, ``mode=1777``, ``size=64m``, exec/noexec."""
    out = ["ro"] if read_only else []
    mode = int(options.get("Mode") or 0)
    if mode:
        out.append(f"mode={mode:o}")
    size = int(options.get("SizeBytes") or 0)
    if size:
        suffix = ""
        for letter, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % divisor == 0:
                size, suffix = size // divisor, letter
                break
        out.append(f"size={size}{suffix}")
    for option in options.get("Options") or []:
        if not 1 <= len(option) <= 2:
            raise ValueError("invalid option array length")
        if option[0] not in VALID_TMPFS_OPTIONS:
            raise ValueError(f"invalid option: {option[0]}")
        out.append("=".join(option))
    return ",".join(out)


# ---- --tmpfs / HostConfig.Tmpfs --------------------------------------------------------


def parse_tmpfs(destination: str, options: str) -> MountPoint:
    """One ``HostConfig.Tmpfs`` entry (``--tmpfs /run:size=64m,mode=1777``)."""
    if clean(destination) == "/":
        raise MountError("invalid specification: destination can't be '/'")
    if not posixpath.isabs(destination):
        raise MountError(f"invalid mount path: '{destination}' mount path must be absolute")
    for option in (o for o in options.split(",") if o):
        key, _, value = option.partition("=")
        if key == "size" and value and not re.fullmatch(r"\d+[kKmMgG%]?", value):
            raise MountError(f"invalid tmpfs option {option!r}: bad size")
        if key == "mode" and not re.fullmatch(r"[0-7]{1,4}", value):
            raise MountError(f"invalid tmpfs option {option!r}: mode must be octal")
    return MountPoint(type=TMPFS, destination=clean(destination), tmpfs_data=options,
                      listed=False)


# ---- --volumes-from --------------------------------------------------------------------


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """``CONTAINER[:ro|rw]`` -> (container, mode)."""
    if spec == "":
        raise MountError("volumes-from specification cannot be an empty string")
    container, _, mode = spec.partition(":")
    if mode == "":
        return container, "rw"
    if not valid_mode(mode) or _propagation_in(mode) or "nocopy" in mode.split(","):
        raise MountError(f"invalid mode: {mode}")
    return container, mode
