"""Measure layer apply / diff throughput: ``python -m hull.archive.benchmark [WORKDIR]``.

Two shapes of layer, the two ends of what images contain: one 100 MB file, and
10,000 small files (4 KiB each) in 100 directories.  For each: apply (plain and
gzip), write_tree_diff against an empty parent, write_overlay_diff of the
unpacked tree, and the same extraction with GNU tar for comparison.  Prints MB/s of
uncompressed tar.  A benchmark, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from hull.archive.apply import apply_layer
from hull.archive.compression import gzip_compress_stream
from hull.archive.diff import write_overlay_diff, write_tree, write_tree_diff


class _Null(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def,override]
        return len(data)


def _make_big(root: str) -> None:
    block = os.urandom(1 << 20)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for i in range(100):
            f.write(block[i:] + block[:i])  # incompressible, not one repeated block


def _make_small(root: str) -> None:
    payload = os.urandom(4096)
    for d in range(100):
        sub = os.path.join(root, f"dir{d:03}")
        os.mkdir(sub)
        for n in range(100):
            with open(os.path.join(sub, f"file{n:03}"), "wb") as f:
                f.write(payload)


def _timed(action: Callable[[], object], setup: Callable[[], object] = lambda: None,
           repeat: int = 3) -> float:
    """Best of ``repeat`` runs; ``setup`` runs before each, outside the clock."""
    best = float("inf")
    for _ in range(repeat):
        setup()
        os.sync()
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def _bench(name: str, make: Callable[[str], None], work: str) -> None:
    src = os.path.join(work, f"{name}-src")
    os.mkdir(src)
    make(src)
    empty = os.path.join(work, "empty")
    os.makedirs(empty, exist_ok=True)
    buf = io.BytesIO()
    write_tree(src, buf)
    tar = buf.getvalue()
    gz = io.BytesIO()
    gzip_compress_stream(io.BytesIO(tar), gz)
    gz_bytes = gz.getvalue()
    mb = len(tar) / 1e6
    tar_path = os.path.join(work, f"{name}.tar")
    with open(tar_path, "wb") as f:
        f.write(tar)

    target = os.path.join(work, f"{name}-target")

    def fresh_target() -> None:
        shutil.rmtree(target, ignore_errors=True)
        os.mkdir(target)

    def apply_plain() -> None:
        apply_layer(io.BytesIO(tar), target, "delete")

    def apply_gzip() -> None:
        apply_layer(io.BytesIO(gz_bytes), target, "overlay")

    def gnu_tar() -> None:
        subprocess.run(["tar", "-xf", tar_path, "-C", target], check=True)

    results = {
        "apply (plain)": _timed(apply_plain, fresh_target),
        "apply (gzip)": _timed(apply_gzip, fresh_target),
        "GNU tar -x (plain)": _timed(gnu_tar, fresh_target),
        "write_tree_diff": _timed(lambda: write_tree_diff(empty, src, _Null())),  # type: ignore[arg-type]
        "write_overlay_diff": _timed(lambda: write_overlay_diff(src, _Null())),  # type: ignore[arg-type]
        "gzip_compress_stream": _timed(lambda: gzip_compress_stream(io.BytesIO(tar), _Null())),  # type: ignore[arg-type]
    }
    print(f"{name}: {mb:.1f} MB tar, {len(gz_bytes) / 1e6:.1f} MB gzip")
    for label, seconds in results.items():
        print(f"  {label:<22} {seconds * 1000:8.1f} ms  {mb / seconds:8.0f} MB/s")


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else None
    work = tempfile.mkdtemp(prefix="hull-archive-bench-", dir=base)
    try:
        _bench("one 100 MB file", _make_big, work)
        _bench("10,000 small files", _make_small, work)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
