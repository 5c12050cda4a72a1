"""Registry credentials in a file compatible with Docker's ``~/.docker/config.json``.

hull's own file is ``$HULL_CONFIG`` or ``~/.hull/config.json``; when it has no
entry for a registry, Docker's file (``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``) is read too, so a ``docker login`` is honoured.
``hull login`` and ``hull logout`` write only hull's file.

The format is Docker's: ``auths`` maps a server to ``{"auth": base64(user:password)}``
(or ``identitytoken``); ``credsStore`` names a helper for every server and
``credHelpers`` one per server, run as ``docker-credential-<name> get|store|erase``
with the server URL or a JSON document on stdin.  hull's file may also list
``insecure-registries`` (host[:port] or CIDR) that are spoken to over plain HTTP.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from typing import Any

from hull.errors import EngineError, InvalidArgument
from hull.record import record
from hull.registry.auth import Credentials

DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io")
_TOKEN_USERNAME = "<token>"


def hull_config_path() -> str:
    """hull's config file: ``$HULL_CONFIG`` or ``~/.hull/config.json``."""
    return os.environ.get("HULL_CONFIG") or os.path.join(
        os.path.expanduser("~"), ".hull", "config.json")


def docker_config_path() -> str:
    """Docker's config file: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def server_key(registry: str) -> str:
    """The key a registry's credentials are stored under (Docker Hub has a legacy URL)."""
    host = normalize_server(registry)
    return DOCKER_HUB_SERVER if host in _HUB_NAMES else host


def normalize_server(server: str) -> str:
    """``https://host:5000/v2/`` -> ``host:5000``: the host part of what users type."""
    text = server.strip()
    if not text:
        raise InvalidArgument("registry server name is empty")
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    host = text.split("/", 1)[0].lower()
    if not host:
        raise InvalidArgument(f"invalid registry server {server!r}")
    return host


@record
class ConfigFile:
    """One config.json: its path and parsed content (empty if it does not exist)."""

    path: str
    doc: dict[str, Any]

    @classmethod
    def load(cls, path: str) -> ConfigFile:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return cls(path, {})
        except OSError as e:
            raise EngineError(f"cannot read {path}: {e.strerror}") from None
        if not raw.strip():
            return cls(path, {})
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise InvalidArgument(f"{path} is not valid JSON: {e}") from None
        if not isinstance(doc, dict):
            raise InvalidArgument(f"{path} is not a JSON object")
        return cls(path, doc)

    def save(self) -> None:
        """Write atomically with mode 0600: the file may hold passwords."""
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = f"{self.path}.tmp-{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.doc, f, indent="\t")
                f.write("\n")
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    @property
    def auths(self) -> dict[str, Any]:
        auths = self.doc.get("auths")
        return auths if isinstance(auths, dict) else {}

    def helper_for(self, key: str) -> str:
        helpers = self.doc.get("credHelpers")
        if isinstance(helpers, dict) and isinstance(helpers.get(key), str):
            return helpers[key]
        store = self.doc.get("credsStore")
        return store if isinstance(store, str) else ""

    def find_auth_key(self, key: str) -> str | None:
        """The ``auths`` key for ``key``, also under the URL spellings Docker accepts."""
        auths = self.auths
        if key in auths:
            return key
        for candidate in auths:
            with contextlib.suppress(InvalidArgument):
                if server_key(candidate) == key:
                    return candidate
        return None


class CredentialStore:
    """Looks up, stores and erases registry credentials."""

    def __init__(self, path: str | None = None, docker_path: str | None = None) -> None:
        self.path = path or hull_config_path()
        self.docker_path = docker_path or docker_config_path()

    def config(self) -> ConfigFile:
        return ConfigFile.load(self.path)

    def get(self, registry: str) -> Credentials | None:
        """Credentials for ``registry`` from hull's file, else from Docker's."""
        key = server_key(registry)
        for path in (self.path, self.docker_path):
            creds = _lookup(ConfigFile.load(path), key)
            if creds is not None:
                return creds
        return None

    def source_of(self, registry: str) -> str:
        """Which file (or helper) holds credentials for ``registry`` ('' if none)."""
        key = server_key(registry)
        for path in (self.path, self.docker_path):
            config = ConfigFile.load(path)
            if _lookup(config, key) is not None:
                helper = config.helper_for(key)
                return f"docker-credential-{helper}" if helper else path
        return ""

    def store(self, registry: str, creds: Credentials) -> str:
        """Save credentials in hull's file (or its helper); return where they went."""
        key = server_key(registry)
        config = self.config()
        helper = config.helper_for(key)
        auths = dict(config.auths)
        if helper:
            username = creds.username if not creds.identity_token else _TOKEN_USERNAME
            secret = creds.identity_token or creds.password
            run_helper(helper, "store", json.dumps(
                {"ServerURL": key, "Username": username, "Secret": secret}).encode())
            auths[key] = {}
            where = f"docker-credential-{helper}"
        else:
            entry: dict[str, str] = {}
            if creds.identity_token:
                entry["identitytoken"] = creds.identity_token
            if creds.username or creds.password:
                raw = f"{creds.username}:{creds.password}".encode()
                entry["auth"] = base64.b64encode(raw).decode()
            auths[key] = entry
            where = self.path
        config.doc["auths"] = auths
        config.save()
        return where

    def erase(self, registry: str) -> bool:
        """Remove credentials for ``registry`` from hull's file; False if there were none."""
        key = server_key(registry)
        config = self.config()
        found = config.find_auth_key(key)
        helper = config.helper_for(key)
        erased = False
        if helper:
            erased = run_helper(helper, "erase", key.encode(), missing_ok=True) is not None
        if found is not None:
            auths = dict(config.auths)
            del auths[found]
            config.doc["auths"] = auths
            config.save()
            erased = True
        return erased

    def insecure_registries(self) -> list[str]:
        values = self.config().doc.get("insecure-registries") or []
        return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _lookup(config: ConfigFile, key: str) -> Credentials | None:
    helper = config.helper_for(key)
    if helper:
        out = run_helper(helper, "get", key.encode(), missing_ok=True)
        if out is None:
            return None
        try:
            doc = json.loads(out)
            username, secret = str(doc.get("Username", "")), str(doc.get("Secret", ""))
        except (ValueError, AttributeError):
            raise EngineError(f"docker-credential-{helper} get printed malformed JSON") from None
        if username == _TOKEN_USERNAME:
            return Credentials(identity_token=secret)
        return Credentials(username=username, password=secret)
    found = config.find_auth_key(key)
    if found is None:
        return None
    entry = config.auths[found]
    if not isinstance(entry, dict):
        return None
    username, password = str(entry.get("username", "")), str(entry.get("password", ""))
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidArgument(f"{config.path}: the auth entry for {found} is not valid "
                                  "base64") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise InvalidArgument(f"{config.path}: the auth entry for {found} is not "
                                  "user:password")
    creds = Credentials(username=username, password=password,
                        identity_token=str(entry.get("identitytoken", "")),
                        registry_token=str(entry.get("registrytoken", "")))
    if not (creds.username or creds.password or creds.identity_token or creds.registry_token):
        return None
    return creds


def run_helper(name: str, action: str, stdin: bytes, missing_ok: bool = False) -> bytes | None:
    """Run ``docker-credential-NAME ACTION``; None when it reports no such credentials."""
    import shutil
    import subprocess

    program = f"docker-credential-{name}"
    if shutil.which(program) is None:
        raise EngineError(f"credential helper {program} is not on PATH")
    try:
        proc = subprocess.run([program, action], input=stdin, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise EngineError(f"{program} {action} did not answer within 60 s") from None
    if proc.returncode != 0:
        message = (proc.stdout or proc.stderr).decode(errors="replace").strip()
        if missing_ok and "credentials not found" in message.lower():
            return None
        first = message.splitlines()[0] if message else f"exit status {proc.returncode}"
        raise EngineError(f"{program} {action}: {first}")
    return proc.stdout
