"""Content digests (``sha256:<hex>``): parsing, validation and streaming hashing."""

from __future__ import annotations

import re

from hull.errors import InvalidArgument

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import BinaryIO

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_ANY_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
CHUNK = 1 << 20


def validate(digest: str) -> str:
    """Return ``digest`` if it is a well-formed sha256 digest, else raise InvalidArgument."""
    if not _DIGEST_RE.match(digest):
        if _ANY_DIGEST_RE.match(digest):
            algo = digest.split(":", 1)[0]
            raise InvalidArgument(f"unsupported digest algorithm {algo!r}: only sha256 is supported")
        raise InvalidArgument(f"invalid digest {digest!r}: expected sha256:<64 hex characters>")
    return digest


def is_digest(value: str) -> bool:
    """True when ``value`` is a well-formed sha256 digest."""
    return bool(_DIGEST_RE.match(value))


def hex_of(digest: str) -> str:
    """The hex part of a digest (used for file names)."""
    return validate(digest).split(":", 1)[1]


def of_bytes(data: bytes) -> str:
    """The sha256 digest of ``data``."""
    import hashlib  # OpenSSL takes milliseconds to load; most commands never hash

    return "sha256:" + hashlib.sha256(data).hexdigest()


def of_stream(stream: BinaryIO) -> tuple[str, int]:
    """Hash a stream to its end; return (digest, size)."""
    import hashlib

    h = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return "sha256:" + h.hexdigest(), size


def of_file(path: str) -> tuple[str, int]:
    """Hash a file; return (digest, size)."""
    with open(path, "rb") as f:
        return of_stream(f)


def chain_ids(diff_ids: list[str]) -> list[str]:
    """Chain ids of a layer stack, as the OCI image spec defines them.

    ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
    Two images that share a bottom part of their stack share these ids, which
    is what lets unpacked layers be shared.
    """
    out: list[str] = []
    for diff_id in diff_ids:
        out.append(diff_id if not out else of_bytes(f"{out[-1]} {diff_id}".encode()))
    return out


class HashingReader:
    """Wraps a readable stream and hashes what passes through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        import hashlib

        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._hash.update(data)
        self.size += len(data)
        return data

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """Read (and hash) whatever is left in the stream."""
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()
