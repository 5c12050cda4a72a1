"""One-pass layer blobs: diff id, compressed digest and size agree with the bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path

import pytest
import zstandard

from hull.archive import apply_layer_and_digest, write_tree
from hull.archive.compression import gzip_compress_stream
from hull.archive.layerblob import write_layer_blob
from hull.errors import InvalidArgument


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "d").mkdir(parents=True)
    (root / "d" / "big").write_bytes(os.urandom(3 << 20))
    for i in range(200):
        (root / "d" / f"small{i}").write_bytes(b"s" * i)
    return root


def plain_tar(root: Path) -> bytes:
    out = io.BytesIO()
    write_tree(str(root), out)
    return out.getvalue()


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_hashes_and_sizes_match_the_bytes(tree: Path, compression: str) -> None:
    out = io.BytesIO()
    blob = write_layer_blob(lambda s: write_tree(str(tree), s), out, compression)  # type: ignore[arg-type]
    data = out.getvalue()
    tar = plain_tar(tree)
    assert blob.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert blob.size == len(data)
    assert blob.diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert blob.uncompressed_size == len(tar)
    unpacked = {"gzip": gzip.decompress,
                "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
                "none": lambda b: b}[compression](data)
    assert unpacked == tar


def test_gzip_blob_equals_compressing_the_tar_afterwards(tree: Path) -> None:
    out = io.BytesIO()
    write_layer_blob(lambda s: write_tree(str(tree), s), out, "gzip")
    again = io.BytesIO()
    gzip_compress_stream(io.BytesIO(plain_tar(tree)), again)
    assert out.getvalue() == again.getvalue()


def test_blob_applies_back_with_the_same_diff_id(tree: Path, tmp_path: Path) -> None:
    out = io.BytesIO()
    blob = write_layer_blob(lambda s: write_tree(str(tree), s), out, "gzip")
    target = tmp_path / "target"
    target.mkdir()
    size, diff_id = apply_layer_and_digest(io.BytesIO(out.getvalue()), str(target), "delete")
    assert diff_id == blob.diff_id
    assert size == (3 << 20) + sum(range(200))


def test_bad_options_are_refused(tree: Path) -> None:
    with pytest.raises(InvalidArgument):
        write_layer_blob(lambda s: None, io.BytesIO(), "lz4")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        write_layer_blob(lambda s: None, io.BytesIO(), "gzip", level=9)
