"""Compression sniffing and streaming codecs, including broken and non-seekable input."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
from pathlib import Path

import pytest
import zstandard

from hull.archive import gzip_compress_stream, open_layer, zstd_compress_stream
from hull.errors import CorruptArchive, InvalidArgument

PAYLOAD = os.urandom(200_000) + bytes(3 << 20) + b"tail"


def read_all(stream) -> bytes:  # type: ignore[no-untyped-def]
    chunks = []
    while chunk := stream.read(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def gz(data: bytes) -> bytes:
    out = io.BytesIO()
    gzip_compress_stream(io.BytesIO(data), out)
    return out.getvalue()


def zst(data: bytes) -> bytes:
    out = io.BytesIO()
    zstd_compress_stream(io.BytesIO(data), out)
    return out.getvalue()


@pytest.mark.parametrize("encode", [lambda d: d, gz, zst, gzip.compress,
                                    zstandard.ZstdCompressor().compress],
                         ids=["plain", "isal-gzip", "zstd", "stdlib-gzip", "zstd-oneshot"])
def test_open_layer_sniffs_and_decompresses(encode) -> None:  # type: ignore[no-untyped-def]
    assert read_all(open_layer(io.BytesIO(encode(PAYLOAD)))) == PAYLOAD


def test_tiny_and_empty_streams() -> None:
    assert read_all(open_layer(io.BytesIO(b""))) == b""
    assert read_all(open_layer(io.BytesIO(b"\x1f"))) == b"\x1f"
    assert read_all(open_layer(io.BytesIO(gz(b"")))) == b""


def test_concatenated_members_and_frames() -> None:
    assert read_all(open_layer(io.BytesIO(gz(b"one") + gz(b"two")))) == b"onetwo"
    assert read_all(open_layer(io.BytesIO(zst(b"one") + zst(b"two")))) == b"onetwo"


def test_works_on_a_pipe_from_a_real_gzip(tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.write_bytes(PAYLOAD)
    proc = subprocess.Popen(["gzip", "-c", str(src)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        assert read_all(open_layer(proc.stdout)) == PAYLOAD
    finally:
        proc.stdout.close()
        proc.wait()


@pytest.mark.parametrize("encode", [gz, zst], ids=["gzip", "zstd"])
def test_truncated_compressed_stream_is_corrupt(encode) -> None:  # type: ignore[no-untyped-def]
    data = encode(PAYLOAD)
    with pytest.raises(CorruptArchive, match="corrupt (gzip|zstd) layer"):
        read_all(open_layer(io.BytesIO(data[: len(data) // 2])))


@pytest.mark.parametrize("encode", [gz, zst], ids=["gzip", "zstd"])
def test_damaged_compressed_stream_is_corrupt(encode) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(encode(os.urandom(100_000)))
    for i in range(40, 60):
        data[i] ^= 0xFF
    with pytest.raises(CorruptArchive):
        read_all(open_layer(io.BytesIO(bytes(data))))


def test_gzip_output_is_deterministic_and_standard(tmp_path: Path) -> None:
    first, second = gz(PAYLOAD), gz(PAYLOAD)
    assert first == second
    assert gzip.decompress(first) == PAYLOAD
    named = tmp_path / "named.gz"
    with open(named, "wb") as f:  # a file with a name must not leak it into the header
        gzip_compress_stream(io.BytesIO(PAYLOAD), f)
    assert named.read_bytes() == first
    assert first[4:8] == b"\0\0\0\0"  # mtime 0


def test_compression_levels_are_checked() -> None:
    with pytest.raises(InvalidArgument):
        gzip_compress_stream(io.BytesIO(b""), io.BytesIO(), level=9)
    with pytest.raises(InvalidArgument):
        zstd_compress_stream(io.BytesIO(b""), io.BytesIO(), level=0)


def test_importing_the_package_loads_no_codec() -> None:
    import sys

    code = ("import sys, hull.archive; "
            "print(sorted(m for m in ('isal', 'zstandard', 'ctypes', 'hull.archive.apply') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


class _Dribble(io.RawIOBase):
    """Returns data in small, uneven pieces, like a pipe under load."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._step = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        self._step = self._step % 7 + 1
        count = min(len(buffer), self._step * 9973, len(self._data))
        buffer[:count] = self._data[:count]
        self._data = self._data[count:]
        return count


@pytest.mark.parametrize("compress", [gzip_compress_stream, zstd_compress_stream],
                         ids=["gzip", "zstd"])
def test_output_does_not_depend_on_how_input_arrives(compress) -> None:  # type: ignore[no-untyped-def]
    whole, dribbled = io.BytesIO(), io.BytesIO()
    compress(io.BytesIO(PAYLOAD), whole)
    compress(_Dribble(PAYLOAD), dribbled)
    assert whole.getvalue() == dribbled.getvalue()
