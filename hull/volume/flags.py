"""The client side of mount flags: what ``run``/``create`` send to the engine.

As in Docker's CLI, ``--mount`` is parsed here into a mount document (errors are flag
errors), ``-v`` values with a source become ``HostConfig.Binds`` and bare paths become
``Config.Volumes``, and ``--tmpfs DEST[:OPTIONS]`` becomes ``HostConfig.Tmpfs``.  The
engine then validates everything again (:mod:`hull.volume.specs`).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any


class FlagValueError(ValueError):
    """A flag value the CLI refuses before asking the engine (Docker's wording)."""


def read_csv_record(text: str) -> list[str]:
    """One record of Go's encoding/csv (comma separated, ``"`` quoting), with its errors."""
    if text == "":
        raise FlagValueError("EOF")
    fields: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            value, i = _quoted(text, i)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            quote = text.find('"', i, end)
            if quote >= 0:
                raise FlagValueError(f'parse error on line 1, column {quote + 1}: bare " in'
                                     " non-quoted-field")
            value, i = text[i:end], end
        fields.append(value)
        if i >= n:
            return fields
        i += 1  # the comma


def _quoted(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i, n = start + 1, len(text)
    while True:
        quote = text.find('"', i)
        if quote < 0:
            raise FlagValueError(f"parse error on line 1, column {n + 1}: extraneous or"
                                 ' missing " in quoted-field')
        out.append(text[i:quote])
        after = quote + 1
        if after < n and text[after] == '"':
            out.append('"')
            i = after + 1
        elif after >= n or text[after] == ",":
            return "".join(out), after
        else:
            raise FlagValueError(f"parse error on line 1, column {after}: extraneous or"
                                 ' missing " in quoted-field')


def _go_bool(value: str) -> bool:
    lowered = value
    if lowered in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if lowered in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(value)


def parse_mount_flag(value: str) -> dict[str, Any]:
    """``--mount type=bind,src=/a,dst=/b,ro`` -> Docker's mount document."""
    from hull.volume.specs import ram_in_bytes

    fields = read_csv_record(value)
    mount: dict[str, Any] = {"Type": "volume"}

    def section(name: str) -> dict[str, Any]:
        return mount.setdefault(name, {})

    def volume_options() -> dict[str, Any]:
        opts = section("VolumeOptions")
        opts.setdefault("Labels", {})
        opts.setdefault("DriverConfig", {})
        return opts

    for field in fields:
        key, has_value, val = field.partition("=")
        key = key.lower()
        if not has_value:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
            elif key == "volume-nocopy":
                volume_options()["NoCopy"] = True
            elif key == "bind-nonrecursive":
                section("BindOptions")["NonRecursive"] = True
            else:
                raise FlagValueError(f"invalid field '{field}' must be a key=value pair")
            continue
        try:
            _set_field(mount, key, val, field, section, volume_options, ram_in_bytes)
        except ValueError as e:
            if isinstance(e, FlagValueError):
                raise
            raise FlagValueError(f"invalid value for {key}: {val}") from None
    kind = mount["Type"]
    if not kind:
        raise FlagValueError("type is required")
    if not mount.get("Target"):
        raise FlagValueError("target is required")
    for name, prefix, owner in (("VolumeOptions", "volume", "volume"),
                                ("BindOptions", "bind", "bind"),
                                ("TmpfsOptions", "tmpfs", "tmpfs")):
        if name in mount and kind != owner:
            raise FlagValueError(f"cannot mix '{prefix}-*' options with mount type '{kind}'")
    return mount


def _set_field(mount: dict[str, Any], key: str, val: str, field: str, section: Any,
               volume_options: Any, ram_in_bytes: Any) -> None:
    if key == "type":
        mount["Type"] = val.lower()
    elif key in ("source", "src"):
        mount["Source"] = val
        if not val.startswith("/") and val.startswith("."):
            mount["Source"] = os.path.abspath(val)
    elif key in ("target", "dst", "destination"):
        mount["Target"] = val
    elif key in ("readonly", "ro"):
        mount["ReadOnly"] = _go_bool(val)
    elif key == "consistency":
        mount["Consistency"] = val.lower()
    elif key == "bind-propagation":
        section("BindOptions")["Propagation"] = val.lower()
    elif key == "bind-nonrecursive":
        section("BindOptions")["NonRecursive"] = _go_bool(val)
    elif key == "bind-recursive":
        if val not in ("enabled", "disabled", "writable", "readonly"):
            raise FlagValueError(f'invalid value for {key}: {val} (must be "enabled",'
                                 ' "disabled", "writable", or "readonly")')
        if val == "disabled":
            section("BindOptions")["NonRecursive"] = True
        elif val != "enabled":
            section("BindOptions")
    elif key == "volume-subpath":
        volume_options()["Subpath"] = val
    elif key == "volume-nocopy":
        try:
            volume_options()["NoCopy"] = _go_bool(val)
        except ValueError:
            raise FlagValueError(f"invalid value for volume-nocopy: {val}") from None
    elif key == "volume-label":
        label, _, label_value = val.partition("=")
        if label:
            volume_options()["Labels"][label] = label_value
    elif key == "volume-driver":
        volume_options()["DriverConfig"]["Name"] = val
    elif key == "volume-opt":
        name, _, opt_value = val.partition("=")
        options = volume_options()["DriverConfig"].setdefault("Options", {})
        if name:
            options[name] = opt_value
    elif key == "tmpfs-size":
        section("TmpfsOptions")["SizeBytes"] = ram_in_bytes(val)
    elif key == "tmpfs-mode":
        if not val.isdigit():
            raise ValueError(val)
        section("TmpfsOptions")["Mode"] = int(val, 8)
    else:
        raise FlagValueError(f"unexpected key '{key}' in '{field}'")


def split_volume_flags(values: list[str]) -> tuple[list[str], dict[str, dict]]:
    """``-v`` values -> (HostConfig.Binds, Config.Volumes), as Docker's CLI splits them.

    A value naming a source (``SRC:DST[:MODE]``) is a bind; a relative host path written
    ``./x`` or ``.`` is made absolute first.  A bare ``/path`` asks for an anonymous volume.
    """
    binds: list[str] = []
    volumes: dict[str, dict] = {}
    for value in values:
        if ":" not in value:
            volumes[value] = {}
            continue
        host, _, rest = value.partition(":")
        if host == "." or host.startswith("./"):
            host = os.path.abspath(host)
        binds.append(f"{host}:{rest}")
    return binds, volumes


def split_tmpfs_flags(values: list[str]) -> dict[str, str]:
    """``--tmpfs /run:size=64m`` values -> HostConfig.Tmpfs {destination: options}."""
    out: dict[str, str] = {}
    for value in values:
        destination, _, options = value.partition(":")
        out[destination] = options
    return out


def mount_flags_into(opts: dict[str, Any], config: dict[str, Any],
                     host_config: dict[str, Any]) -> None:
    """``-v``, ``--mount``, ``--tmpfs`` and ``--volumes-from`` of ``run``/``create`` into the
    container's Config and HostConfig; a malformed ``--mount`` is a flag error."""
    from hull.errors import InvalidArgument

    binds, volumes = split_volume_flags(list(opts.get("volume") or ()))
    mounts = []
    for value in opts.get("mount") or ():
        try:
            mounts.append(parse_mount_flag(value))
        except FlagValueError as e:
            raise InvalidArgument(f'invalid argument "{value}" for "--mount" flag: {e}',
                                  exit_code=125) from None
    if volumes:
        config["Volumes"] = volumes
    host_config["Binds"] = binds or None
    host_config["Mounts"] = mounts or None
    host_config["Tmpfs"] = split_tmpfs_flags(list(opts.get("tmpfs") or ())) or None
    host_config["VolumesFrom"] = list(opts.get("volumes_from") or ()) or None
