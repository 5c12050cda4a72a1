"""The content store: verified writes, atomic renames, crash leftovers."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from hull import digest as dg
from hull.content.store import BlobStore
from hull.errors import DigestMismatch, NotFound


def test_put_stores_under_its_digest(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path))
    desc = store.put(io.BytesIO(b"hello"), "text/plain")
    assert desc.digest == dg.of_bytes(b"hello") and desc.size == 5
    assert store.read(desc.digest) == b"hello"
    assert Path(store.path(desc.digest)).parent == tmp_path / "blobs" / "sha256"
    assert list(store.walk()) == [desc.digest]


def test_put_refuses_wrong_digest_and_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path))
    wrong = dg.of_bytes(b"something else")
    with pytest.raises(DigestMismatch):
        store.put(io.BytesIO(b"hello"), expected=wrong)
    assert not store.has(wrong)
    assert list(store.walk()) == []
    assert os.listdir(tmp_path / "ingest") == []


def test_put_refuses_wrong_size(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path))
    with pytest.raises(DigestMismatch):
        store.put(io.BytesIO(b"hello"), expected=dg.of_bytes(b"hello"), expected_size=4)
    assert list(store.walk()) == []


def test_writer_commit_and_abort(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path))
    w = store.writer()
    w.write(b"abc")
    desc = w.commit("x")
    assert store.read(desc.digest) == b"abc"
    w = store.writer()
    w.write(b"def")
    w.abort()
    assert list(store.walk()) == [desc.digest]
    assert os.listdir(tmp_path / "ingest") == []


def test_missing_blob_is_not_found(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path))
    with pytest.raises(NotFound):
        store.open(dg.of_bytes(b"nope"))


def test_clean_ingest_keeps_live_writers(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path))
    live = store.writer()
    live.write(b"in progress")
    dead = tmp_path / "ingest" / "blob-999999999-xyz"
    dead.write_bytes(b"left by a killed process")
    assert store.clean_ingest() == 1
    assert not dead.exists()
    live.commit()


def test_chain_ids_follow_the_oci_definition() -> None:
    a, b = dg.of_bytes(b"a"), dg.of_bytes(b"b")
    assert dg.chain_ids([a]) == [a]
    assert dg.chain_ids([a, b]) == [a, dg.of_bytes(f"{a} {b}".encode())]


def test_digest_validation_messages() -> None:
    from hull.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="expected sha256"):
        dg.validate("sha256:short")
    with pytest.raises(InvalidArgument, match="unsupported digest algorithm"):
        dg.validate("sha512:" + "a" * 128)
