"""What a build step's layer holds and the size ``hull history`` and ``inspect`` report for it."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tests.conftest import HullEnv
from tests.integration.build_fixtures.helpers import inspect, layer_blobs, write_context

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="builds need root")


def _content_bytes(blob: bytes) -> int:
    """Bytes of regular file content in a layer tar (hardlink entries carry none)."""
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        return sum(m.size for m in tar.getmembers() if m.isreg())


def test_a_step_layer_size_counts_each_file_once(hull: HullEnv, busybox: str,
                                                 tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\n"
                      "COPY old.txt /data/old.txt\n"
                      "RUN head -c 3000 /dev/zero > /data/a && ln /data/a /data/b"
                      " && mkdir -p /data/sub && head -c 1000 /dev/zero > /data/sub/c"
                      " && ln -s a /data/link && mkfifo /data/fifo && rm /data/old.txt\n",
        "old.txt": "x" * 500,
    })
    hull.ok("build", "-q", "-t", "sizes", str(ctx))
    blobs = layer_blobs(hull, "sizes")
    run_layer = blobs[-1]
    with tarfile.open(fileobj=io.BytesIO(run_layer)) as tar:
        names = {m.name.rstrip("/"): m for m in tar.getmembers()}
    assert names["data/b"].islnk() or names["data/a"].islnk()  # one copy of the content
    assert "data/.wh.old.txt" in names
    assert _content_bytes(run_layer) == 4000

    history = hull.ok("history", "--format", "{{.Size}}", "sizes").split()
    assert history[0] == "4kB"  # the RUN, newest first; the COPY's 500 bytes below it
    assert history[1] == "500B"
    base_size = inspect(hull, "busybox")["Size"]
    assert inspect(hull, "sizes")["Size"] == base_size + 500 + 4000
