"""Helpers for build tests: write contexts, run ``hull build``, look inside built images."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path
from typing import Any

STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def write_context(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``root`` with ``files`` (relative path -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def steps(output: str) -> list[tuple[str, bool]]:
    """(instruction text, used cache) for every ``Step N/M`` of classic plain output."""
    out: list[tuple[str, bool]] = []
    for line in output.splitlines():
        match = STEP_RE.match(line)
        if match:
            out.append((match.group(3), False))
        elif line.strip() == "---> Using cache" and out:
            out[-1] = (out[-1][0], True)
    return out


def inspect(hull: Any, ref: str) -> dict[str, Any]:
    return json.loads(hull.ok("image", "inspect", ref))[0]


def image_files(hull: Any, ref: str) -> dict[str, bytes | None]:
    """The flattened files of an image (path -> content; None for non-regular files),
    read from ``hull save`` so every layer is looked at as an image user would."""
    data = hull.run_bytes("save", ref).stdout
    files: dict[str, bytes | None] = {}
    layers: list[bytes] = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        for layer in manifest[0]["Layers"]:
            layers.append(archive.extractfile(layer).read())  # type: ignore[union-attr]
    for blob in layers:
        with tarfile.open(fileobj=io.BytesIO(blob)) as layer_tar:
            for member in layer_tar.getmembers():
                name = member.name.rstrip("/")
                base = name.rsplit("/", 1)[-1]
                if base.startswith(".wh."):
                    parent = name.rsplit("/", 1)[0] if "/" in name else ""
                    gone = f"{parent}/{base[4:]}" if parent else base[4:]
                    for key in [k for k in files if k == gone or k.startswith(gone + "/")]:
                        del files[key]
                    continue
                content = layer_tar.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
                files[name] = content
    return files


def layer_blobs(hull: Any, ref: str) -> list[bytes]:
    """The raw layer tars of an image, bottom first."""
    data = hull.run_bytes("save", ref).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        return [archive.extractfile(layer).read()  # type: ignore[union-attr]
                for layer in manifest[0]["Layers"]]


def mounts_below(path: Path) -> list[str]:
    prefix = str(path) + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


def snapshot_keys(hull: Any) -> list[str]:
    """Active snapshot keys in the test's root (a finished build leaves none)."""
    import sqlite3

    conn = sqlite3.connect(str(hull.root / "hull.db"))
    try:
        return [r[0] for r in conn.execute("SELECT key FROM snapshots WHERE kind != 'committed'")]
    finally:
        conn.close()


def run_cmd(args: list[str]) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _image_process(hull: Any, ref: str, command: list[str] | None,
                   entrypoint: list[str] | None, env: list[str]
                   ) -> tuple[Any, Any, list[str], list[str], str, str]:
    from hull.config import Settings
    from hull.engine import Engine

    engine = Engine(Settings(root=str(hull.root), run_root=str(hull.run_root)))
    image = engine.images.get(ref)
    config = engine.images.config(image).get("config") or {}
    entry = list(config.get("Entrypoint") or []) if entrypoint is None else entrypoint
    cmd = list(config.get("Cmd") or []) if command is None else command
    if command is not None and entrypoint is None and not config.get("Entrypoint"):
        entry = []
    full_env = list(config.get("Env") or []) + list(env)
    return (engine, image, entry + cmd, full_env, config.get("WorkingDir") or "/",
            config.get("User") or "")


def run_image(hull: Any, ref: str, command: list[str] | None = None,
              entrypoint: list[str] | None = None, env: list[str] = (),  # type: ignore[assignment]
              network: str = "none") -> tuple[int, str]:
    """Run a built image's command (or ``command``) through the OCI runtime, as a container
    would, on a throw-away snapshot; return (exit code, combined output)."""
    from hull.build.run_step import RunRequest, run_command
    from hull.build.snapshots import StepFilesystem

    engine, image, argv, full_env, cwd, user = _image_process(hull, ref, command, entrypoint,
                                                              env)
    output = bytearray()
    scratch = str(hull.root / "test-run")
    fs = StepFilesystem(engine.images.store, engine.content, image.top_chain_id, scratch)
    try:
        rootfs = fs.open()
        outcome = run_command(rootfs, RunRequest(argv=argv, env=full_env, cwd=cwd, user=user,
                                                 network=network),
                              scratch, str(hull.run_root / "test-runtime"),
                              "test-" + os.urandom(8).hex(), output.extend)
    finally:
        fs.discard()
        engine.close()
    return outcome.exit_code, output.decode(errors="replace")


def image_output(hull: Any, ref: str, command: list[str] | None = None,
                 entrypoint: list[str] | None = None) -> str:
    code, out = run_image(hull, ref, command, entrypoint)
    if code != 0:
        raise AssertionError(f"{ref} {command} exited {code}: {out}")
    return out
