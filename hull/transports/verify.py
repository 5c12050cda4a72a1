"""A reader that refuses to end unless the bytes match the expected digest and size."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from hull.errors import DigestMismatch


class VerifyingReader:
    """Pass bytes through; at end of stream, raise DigestMismatch if they were not the expected ones.

    Consumers write what they read to temporary places and make it visible only
    after reading to the end, so a mismatch never leaves content under a wrong name.
    """

    def __init__(self, stream: BinaryIO, digest: str, size: int | None, what: str = "blob") -> None:
        self._stream = stream
        self._digest = digest
        self._size = size if size is not None and size >= 0 else None
        self._hash = hashlib.sha256()
        self._seen = 0
        self._what = what
        self._done = False

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if data:
            self._hash.update(data)
            self._seen += len(data)
            if self._size is not None and self._seen > self._size:
                raise DigestMismatch(f"{self._what} {self._digest[:19]} is larger than its"
                                     f" declared size {self._size}")
            return data
        if not self._done:
            self._done = True
            actual = "sha256:" + self._hash.hexdigest()
            if self._size is not None and self._seen != self._size:
                raise DigestMismatch(f"{self._what} {self._digest[:19]} is truncated: got"
                                     f" {self._seen} of {self._size} bytes")
            if actual != self._digest:
                raise DigestMismatch(f"{self._what} digest mismatch: expected {self._digest},"
                                     f" got {actual}")
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
