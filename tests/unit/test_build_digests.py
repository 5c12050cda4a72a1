"""The builder's memo of context file digests: it answers only for files that cannot have
changed, and never for a file that changed in the same clock tick it was read."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from hull.build.digests import DigestMemo


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_an_unchanged_file_is_answered_from_the_memo_and_a_changed_one_is_read(
        tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    old, gone = ctx / "old.txt", ctx / "gone.txt"
    old.write_bytes(b"first")
    gone.write_bytes(b"will be deleted")
    time.sleep(1.1)  # older than the racy window
    fresh = ctx / "fresh.txt"
    fresh.write_bytes(b"just written")

    first = DigestMemo.for_context(str(tmp_path / "root"), str(ctx), "Dockerfile")
    stats = {p: os.stat(p) for p in (old, gone, fresh)}
    for path in stats:
        assert first.digest(str(path), stats[path]) == _sha(path.read_bytes())
    first.save()

    second = DigestMemo.for_context(str(tmp_path / "root"), str(ctx), "Dockerfile")
    content = gone.read_bytes()
    gone.unlink()  # the memo answers for the old identity without opening the file
    assert second.digest(str(gone), stats[gone]) == _sha(content)
    fresh.unlink()  # read less than a second after it was written: not remembered
    with pytest.raises(FileNotFoundError):
        second.digest(str(fresh), stats[fresh])

    before = os.stat(old)
    old.write_bytes(b"other")  # same size, same mtime: only ctime shows the change
    os.utime(old, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert second.digest(str(old), os.stat(old)) == _sha(b"other")


def test_another_context_or_dockerfile_has_its_own_memo(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    one = DigestMemo.for_context(root, str(tmp_path / "a"), "Dockerfile")
    assert one.memo_path != DigestMemo.for_context(root, str(tmp_path / "b"), "Dockerfile").memo_path
    assert one.memo_path != DigestMemo.for_context(root, str(tmp_path / "a"), "Other").memo_path
    assert DigestMemo.for_context(root, None, "Dockerfile").memo_path is None


def test_a_damaged_memo_is_an_empty_one(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_bytes(b"data")
    memo = DigestMemo.for_context(str(tmp_path / "root"), str(ctx), "Dockerfile")
    assert memo.memo_path is not None
    os.makedirs(os.path.dirname(memo.memo_path))
    Path(memo.memo_path).write_bytes(b"\x00not marshal")
    reread = DigestMemo.for_context(str(tmp_path / "root"), str(ctx), "Dockerfile")
    assert reread.digest(str(ctx / "f"), os.stat(ctx / "f")) == _sha(b"data")
