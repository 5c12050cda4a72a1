"""Layer compression: sniff gzip / zstd / plain by magic bytes, decompress as a stream.

gzip goes through isal (several times faster than zlib), zstd through zstandard.
Readers work on non-seekable streams, and decoder failures (bad data, a stream cut
short) surface as :class:`~hull.errors.CorruptArchive`, never as library errors.
The compression libraries are imported on first use so that importing this module
stays cheap.
"""

from __future__ import annotations

import io
from typing import BinaryIO, Literal

from hull.errors import CorruptArchive, InvalidArgument

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 20
_ZSTD_INPUT_STEP = 1 << 17

Compression = Literal["gzip", "zstd", "none"]


class _PrefixedReader(io.RawIOBase):
    """Re-attaches the bytes read for sniffing in front of the rest of the stream."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._prefix:
            head, self._prefix = self._prefix, b""
            if size is None or size < 0:
                return head + self._stream.read()
            if size <= len(head):
                head, self._prefix = head[:size], head[size:]
                return head
            return head + self._stream.read(size - len(head))
        return self._stream.read(size if size is not None else -1)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        view = memoryview(buffer).cast("B")
        if self._prefix or not hasattr(self._stream, "readinto"):
            data = self.read(len(view))
            view[: len(data)] = data
            return len(data)
        return self._stream.readinto(view) or 0


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes unless the stream ends first (pipes may return short reads)."""
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def detect(head: bytes) -> Compression:
    """The compression named by a stream's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class _GzipReader(io.RawIOBase):
    """isal's gzip reader with its failures turned into CorruptArchive."""

    def __init__(self, source: BinaryIO) -> None:
        from isal import igzip

        self._gzip = igzip.IGzipFile(fileobj=source, mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        from isal import isal_zlib

        try:
            return self._gzip.readinto(buffer)
        except (EOFError, isal_zlib.error) as error:
            raise CorruptArchive(f"corrupt gzip layer: {error}") from None
        except OSError as error:
            if type(error).__name__ == "BadGzipFile":
                raise CorruptArchive(f"corrupt gzip layer: {error}") from None
            raise


class _ZstdReader(io.RawIOBase):
    """zstd frames decoded one after another; a frame cut short is an error.

    zstandard's own stream reader treats a truncated frame as a clean end, which
    would let a cut-off layer pass unnoticed, so frames are driven by hand here.
    """

    def __init__(self, source: BinaryIO) -> None:
        import zstandard

        self._zstd = zstandard
        self._decompressor = zstandard.ZstdDecompressor()
        self._source = source
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False
        self._pending = b""
        self._offset = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        view = memoryview(buffer).cast("B")
        while self._offset == len(self._pending) and not self._eof:
            self._pending = self._decode_more()
            self._offset = 0
        count = min(len(view), len(self._pending) - self._offset)
        view[:count] = memoryview(self._pending)[self._offset : self._offset + count]
        self._offset += count
        return count

    def _decode_more(self) -> bytes:
        # Small input steps bound how much output one step can produce.
        data = self._source.read(_ZSTD_INPUT_STEP)
        if not data:
            if self._in_frame:
                raise CorruptArchive("corrupt zstd layer: stream ends inside a frame")
            self._eof = True
            return b""
        out = []
        try:
            while data:
                self._in_frame = True
                out.append(self._frame.decompress(data))
                if not self._frame.eof:
                    break
                data = self._frame.unused_data
                self._frame = self._decompressor.decompressobj()
                self._in_frame = False
        except self._zstd.ZstdError as error:
            raise CorruptArchive(f"corrupt zstd layer: {error}") from None
        return b"".join(out)


def open_layer(stream: BinaryIO) -> BinaryIO:
    """Sniff gzip (1f 8b) / zstd (28 b5 2f fd) / plain by magic bytes; return a decompressing
    reader.  Works on non-seekable streams (pipes)."""
    head = _read_up_to(stream, 4)
    source = _PrefixedReader(head, stream)
    kind = detect(head)
    if kind == "gzip":
        return io.BufferedReader(_GzipReader(source), CHUNK)  # type: ignore[return-value]
    if kind == "zstd":
        return io.BufferedReader(_ZstdReader(source), CHUNK)  # type: ignore[return-value]
    return source  # type: ignore[return-value]


class CompressingWriter:
    """A write-only stream that compresses into ``sink``; :meth:`finish` ends the stream.

    The compressor is always fed whole blocks of exactly CHUNK bytes: isal's output
    depends on how its input is split, and the same tar must give the same compressed
    digest whether it comes from a file, a pipe or a tar writer.  Output carries no
    name and mtime 0; zstd frames carry a checksum so that damage is detected.
    """

    def __init__(self, sink: BinaryIO, compression: Literal["gzip", "zstd"],
                 level: int | None = None) -> None:
        self._sink = sink
        self._pending = bytearray()
        if compression == "gzip":
            from isal import isal_zlib

            level = 1 if level is None else level
            if not isal_zlib.ISAL_BEST_SPEED <= level <= isal_zlib.ISAL_BEST_COMPRESSION:
                raise InvalidArgument(f"gzip level must be between {isal_zlib.ISAL_BEST_SPEED} "
                                      f"and {isal_zlib.ISAL_BEST_COMPRESSION}, not {level}")
            self._compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED,
                                                     16 + isal_zlib.MAX_WBITS)
        elif compression == "zstd":
            import zstandard

            level = 3 if level is None else level
            if not 1 <= level <= 22:
                raise InvalidArgument(f"zstd level must be between 1 and 22, not {level}")
            self._compressor = zstandard.ZstdCompressor(
                level=level, write_checksum=True).compressobj()
        else:
            raise InvalidArgument(f"unknown compression {compression!r}: use gzip or zstd")

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        if self._pending:
            take = min(CHUNK - len(self._pending), size)
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) < CHUNK:
                return size
            self._emit(self._pending)
            self._pending = bytearray()
        while len(view) >= CHUNK:
            self._emit(view[:CHUNK])
            view = view[CHUNK:]
        self._pending += view
        return size

    def _emit(self, block: bytes | bytearray | memoryview) -> None:
        out = self._compressor.compress(block)
        if out:
            self._sink.write(out)

    def finish(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = bytearray()
        self._sink.write(self._compressor.flush())


def _compress_stream(src: BinaryIO, dst: BinaryIO, compression: Literal["gzip", "zstd"],
                     level: int) -> None:
    writer = CompressingWriter(dst, compression, level)
    while chunk := src.read(CHUNK):
        writer.write(chunk)
    writer.finish()


def gzip_compress_stream(src: BinaryIO, dst: BinaryIO, level: int = 1) -> None:
    """Gzip ``src`` into ``dst`` with isal (levels 0-3).  Deterministic: the same bytes in
    give the same bytes out, so a layer always gets the same compressed digest."""
    _compress_stream(src, dst, "gzip", level)


def zstd_compress_stream(src: BinaryIO, dst: BinaryIO, level: int = 3) -> None:
    """Compress ``src`` into ``dst`` as one zstd frame with a content checksum (so damage is
    detected on reading); deterministic for a given level."""
    _compress_stream(src, dst, "zstd", level)
