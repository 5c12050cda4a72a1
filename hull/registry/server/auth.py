"""HTTP Basic authentication against an htpasswd file of bcrypt entries (``htpasswd -B``).

bcrypt is slow on purpose (tens of milliseconds per check at the usual cost),
and clients send credentials with every request, so a successful check is
remembered by a hash of the exact header value for the life of the process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from hull.errors import InvalidArgument


class Htpasswd:
    """Users and bcrypt hashes read from an htpasswd file."""

    def __init__(self, users: dict[str, bytes]) -> None:
        self.users = users
        self._verified: dict[bytes, str] = {}

    @classmethod
    def load(cls, path: str) -> Htpasswd:
        """Read ``user:$2y$...`` lines; other hash schemes are refused with a clear error."""
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise InvalidArgument(f"cannot read htpasswd file {path}: {e.strerror}")
        users: dict[str, bytes] = {}
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not user:
                raise InvalidArgument(f"{path}:{number}: expected user:hash")
            if not hashed.startswith(("$2y$", "$2b$", "$2a$")):
                raise InvalidArgument(f"{path}:{number}: only bcrypt entries are supported "
                                      "(create them with htpasswd -B)")
            users[user] = hashed.encode()
        return cls(users)

    def cached(self, authorization: str) -> str | None:
        """The user this exact header value was already proven to be, without bcrypt."""
        return self._verified.get(_key(authorization))

    def check(self, authorization: str) -> str | None:
        """The user a ``Basic`` Authorization header proves, or None. Slow: run in a thread."""
        user = self.cached(authorization)
        if user is not None:
            return user
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode()
            user, sep, password = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        hashed = self.users.get(user)
        if not sep or hashed is None or not _bcrypt_matches(password.encode(), hashed):
            return None
        self._verified[_key(authorization)] = user
        return user


def _key(authorization: str) -> bytes:
    return hashlib.sha256(authorization.encode()).digest()


def _bcrypt_matches(password: bytes, hashed: bytes) -> bool:
    import bcrypt

    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:
        return False
