"""``--change`` instructions (``hull import``, ``hull commit``): Dockerfile lines applied to a config."""

from __future__ import annotations

import json
import posixpath
import shlex
from typing import Any

from hull.errors import InvalidArgument

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER",
             "VOLUME", "WORKDIR")


def _json_or_shell(rest: str) -> list[str]:
    text = rest.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", text]


def _pairs(rest: str, what: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(rest, posix=True)
    except ValueError as e:
        raise InvalidArgument(f"{what}: {e}") from None
    if not words:
        raise InvalidArgument(f"{what} requires at least one argument")
    if "=" not in words[0]:
        # legacy form: NAME VALUE...
        if len(words) < 2:
            raise InvalidArgument(f"{what} names can not be blank" if not words[0]
                                  else f"{what} must have two arguments")
        value = rest.strip()[len(rest.strip().split(None, 1)[0]):].strip()
        return [(words[0], value)]
    out = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{what}: syntax error - can't find = in {word!r}."
                                  " Must be of the form: name=value")
        out.append((key, value))
    return out


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Apply each ``--change`` line to ``config`` (the image's runtime config) in order."""
    for line in changes:
        text = line.strip()
        if not text:
            continue
        word, _, rest = text.partition(" ")
        kind = word.upper()
        rest = rest.strip()
        if kind not in SUPPORTED:
            raise InvalidArgument(f"{word} is not a valid change command")
        if kind == "CMD":
            config["Cmd"] = _json_or_shell(rest)
        elif kind == "ENTRYPOINT":
            config["Entrypoint"] = _json_or_shell(rest)
        elif kind == "ENV":
            env = list(config.get("Env") or [])
            for key, value in _pairs(rest, "ENV"):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]
            config["Env"] = env
        elif kind == "LABEL":
            labels = dict(config.get("Labels") or {})
            labels.update(dict(_pairs(rest, "LABEL")))
            config["Labels"] = labels
        elif kind == "EXPOSE":
            ports = dict(config.get("ExposedPorts") or {})
            for port in rest.split():
                number, _, proto = port.partition("/")
                if not number.replace("-", "").isdigit():
                    raise InvalidArgument(f"invalid port {port!r} in EXPOSE")
                ports[f"{number}/{(proto or 'tcp').lower()}"] = {}
            config["ExposedPorts"] = ports
        elif kind == "VOLUME":
            vols = dict(config.get("Volumes") or {})
            for v in (_json_or_shell(rest) if rest.startswith("[") else rest.split()):
                vols[v] = {}
            config["Volumes"] = vols
        elif kind == "WORKDIR":
            if not rest:
                raise InvalidArgument("WORKDIR requires exactly one argument")
            config["WorkingDir"] = posixpath.normpath(
                posixpath.join(config.get("WorkingDir") or "/", rest))
        elif kind == "USER":
            if not rest:
                raise InvalidArgument("USER requires exactly one argument")
            config["User"] = rest
        elif kind == "STOPSIGNAL":
            config["StopSignal"] = rest
        elif kind == "ONBUILD":
            config["OnBuild"] = [*list(config.get("OnBuild") or []), rest]
    return config
