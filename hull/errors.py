"""Errors that reach the user as one line and a Docker-compatible exit code.

Everything the engine raises on purpose derives from :class:`HullError`; the CLI
prints ``str(error)`` and exits with ``error.exit_code``.  Anything else is a bug
and is reported as such (with a traceback only under ``--debug``).
"""

from __future__ import annotations


class HullError(Exception):
    """An error with a message meant for the user."""

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class NotFound(HullError):
    """An object (image, container, layer, blob, ...) does not exist."""


class Conflict(HullError):
    """The request conflicts with the current state (name in use, image in use)."""


class InvalidArgument(HullError):
    """A value given by the user is malformed."""


class InvalidReference(InvalidArgument):
    """An image reference does not follow Docker's grammar."""


class DigestMismatch(HullError):
    """Content does not hash to the digest it was announced with."""


class CorruptArchive(HullError):
    """A tarball, layer or manifest could not be read."""


class EngineError(HullError):
    """The engine failed for a reason unrelated to the user's input."""

    exit_code = 125
