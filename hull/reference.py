"""Image references in Docker's grammar, normalised the way Docker normalises them.

A reference is ``name[:tag][@digest]`` where ``name`` is ``[domain/]path``.  Users type
short forms (``busybox``, ``team/app:v1``); everything stored and compared inside the
engine is the normalised form (``docker.io/library/busybox:latest``), and everything
shown back to users is the familiar form again.  Keeping both directions in one module
is what keeps ``hull images`` and ``hull tag`` agreeing with each other and with Docker.

The grammar follows distribution/reference::

    reference      := name [ ":" tag ] [ "@" digest ]
    name           := [domain '/'] path-component ['/' path-component]*
    domain         := host [':' port]       host := domain-name | '[' IPv6 ']'
    path-component := [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )*
    tag            := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest         := algorithm ":" hex{32,}
"""

from __future__ import annotations

import re

from hull.errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255
TAG_LENGTH_MAX = 128

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
_PARTIAL_ID_RE = re.compile(r"[a-f0-9]{1,64}")
_TAG_RE = re.compile(_TAG)


class _Patterns:
    """The grammar's big patterns, compiled on first use: compiling them costs about
    2 ms, which commands that never parse a reference should not pay at start-up."""

    compiled = False

    @classmethod
    def load(cls) -> type[_Patterns]:
        if not cls.compiled:
            cls.reference = re.compile(
                rf"((?:{_DOMAIN}/)?{_PATH})(?::({_TAG}))?(?:@({_DIGEST}))?")
            cls.name = re.compile(rf"(?:({_DOMAIN})/)?({_PATH})")
            cls.long_tag = re.compile(
                rf"((?:{_DOMAIN}/)?{_PATH}):([A-Za-z0-9_][A-Za-z0-9_.-]*)(?:@.*)?")
            cls.compiled = True
        return cls

    reference: re.Pattern[str]
    name: re.Pattern[str]
    long_tag: re.Pattern[str]
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_INVALID_FORMAT = "invalid reference format"
_UPPERCASE = "invalid reference format: repository name must be lowercase"


class Reference:
    """A parsed, normalised image reference; immutable and hashable."""

    __slots__ = ("digest", "domain", "path", "tag")

    domain: str
    path: str
    tag: str
    digest: str

    def __init__(self, domain: str, path: str, tag: str = "", digest: str = "") -> None:
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "digest", digest)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Reference is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Reference is immutable")

    @property
    def name(self) -> str:
        """The repository's full name, e.g. ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def familiar_name(self) -> str:
        """The name as Docker shows it: ``busybox``, ``team/app``, ``localhost:5000/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_REPO_PREFIX):
            rest = path[len(OFFICIAL_REPO_PREFIX):]
            if "/" not in rest:
                return rest
        return path

    def familiar(self) -> str:
        """Docker's short form with tag and digest: ``busybox:latest``, ``app@sha256:...``."""
        return self.familiar_name + self._suffix()

    def _suffix(self) -> str:
        out = f":{self.tag}" if self.tag else ""
        return out + f"@{self.digest}" if self.digest else out

    def __str__(self) -> str:
        return self.name + self._suffix()

    def __repr__(self) -> str:
        return f"Reference({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reference):
            return NotImplemented
        return (self.domain, self.path, self.tag, self.digest) == (
            other.domain, other.path, other.tag, other.digest)

    def __hash__(self) -> int:
        return hash((self.domain, self.path, self.tag, self.digest))

    def with_tag(self, tag: str) -> Reference:
        """The same repository (and digest, if any) with ``tag``."""
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReference(f"invalid tag format: {tag!r}")
        return Reference(self.domain, self.path, tag, self.digest)

    def with_digest(self, digest: str) -> Reference:
        """The same repository (and tag, if any) pinned to ``digest``."""
        _validate_digest(digest)
        return Reference(self.domain, self.path, self.tag, digest)

    def without_tag_or_digest(self) -> Reference:
        """Just the repository name."""
        return Reference(self.domain, self.path)


def parse(text: str, default_tag: bool = True) -> Reference:
    """Parse and normalise a reference the way ``docker pull``/``docker run`` read it.

    ``busybox`` becomes ``docker.io/library/busybox`` and, when ``default_tag`` is set and
    the reference has neither tag nor digest, gets the tag ``latest``.  Raises
    InvalidReference with Docker's wording.
    """
    if _IDENTIFIER_RE.fullmatch(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    if text.startswith("sha256:"):
        _reject_bare_digest(text)
    domain, remainder = _split_docker_domain(text)
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        raise InvalidReference(_UPPERCASE)
    full = f"{domain}/{remainder}"
    patterns = _Patterns.load()
    match = patterns.reference.fullmatch(full)
    if match is None:
        raise InvalidReference(_explain_mismatch(text, full))
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest:
        _validate_digest(digest)
    name_match = patterns.name.fullmatch(name)
    assert name_match is not None  # the reference pattern already matched this name
    ref = Reference(name_match.group(1) or "", name_match.group(2), tag, digest)
    if default_tag and not tag and not digest:
        ref = Reference(ref.domain, ref.path, DEFAULT_TAG)
    return ref


def parse_tag_arg(text: str) -> Reference:
    """Parse the target of ``hull tag SRC TARGET`` or ``hull import FILE REPO[:TAG]``.

    A target names a tag to create, so it may not carry a digest; without a tag it gets
    ``latest``.
    """
    ref = parse(text, default_tag=False)
    if ref.digest:
        raise InvalidReference("refusing to create a tag with a digest reference")
    return ref if ref.tag else ref.with_tag(DEFAULT_TAG)


def is_partial_id(text: str) -> bool:
    """True if ``text`` could be a (possibly shortened) hex image or container id."""
    return bool(_PARTIAL_ID_RE.fullmatch(text))


def _split_docker_domain(text: str) -> tuple[str, str]:
    """Split off the registry domain, defaulting to Docker Hub like Docker does.

    The first component is a domain only if it looks like one (has a dot or a port, is
    ``localhost``, or has upper case letters, which paths never have).
    """
    slash = text.find("/")
    first = text[:slash]
    if slash == -1 or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, text
    else:
        domain, remainder = first, text[slash + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def _explain_mismatch(text: str, full: str) -> str:
    """Docker says only 'invalid reference format'; add the reason where it is obvious."""
    if not text:
        return f"{_INVALID_FORMAT}: repository name must have at least one component"
    patterns = _Patterns.load()
    long_tag = patterns.long_tag.fullmatch(full)
    if long_tag and len(long_tag.group(2)) > TAG_LENGTH_MAX:
        return f"{_INVALID_FORMAT}: tag must not be more than {TAG_LENGTH_MAX} characters"
    if patterns.reference.fullmatch(full.lower()):
        return _UPPERCASE
    return _INVALID_FORMAT


def _reject_bare_digest(text: str) -> None:
    """``sha256:...`` is an image id or digest, never a repository name."""
    _validate_digest(text)
    raise InvalidReference(
        f"invalid repository name ({text}), a digest cannot be used as a repository name")


def _validate_digest(digest: str) -> None:
    """Check ``algorithm:hex`` like go-digest's Parse, with its messages."""
    algorithm, sep, encoded = digest.partition(":")
    if not algorithm or not sep or not encoded:
        raise InvalidReference(f"invalid checksum digest format: {digest!r}")
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        raise InvalidReference(f"unsupported digest algorithm: {digest!r}")
    if len(encoded) != expected:
        raise InvalidReference(f"invalid checksum digest length: {digest!r}")
    if encoded.strip("0123456789abcdef"):
        raise InvalidReference(f"invalid checksum digest format: {digest!r}")
