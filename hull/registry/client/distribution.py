"""The distribution API for one repository: manifests, blobs, uploads, mounts and tags."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import quote, urljoin, urlsplit

from hull import digest as dg
from hull.errors import CorruptArchive, DigestMismatch
from hull.oci import mediatypes as mt
from hull.oci.descriptor import Descriptor
from hull.registry.auth import repository_scope
from hull.registry.client.http import RegistryUnreachable, Response
from hull.registry.client.session import (
    RegistryError,
    RegistryNotFound,
    RegistrySession,
    error_from,
)

MANIFEST_ACCEPT = ", ".join((mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST, mt.OCI_MANIFEST,
                             mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_V1_SIGNED,
                             mt.DOCKER_MANIFEST_V1))
MAX_MANIFEST_SIZE = 4 << 20
BLOB_RETRIES = 5
#: Blobs up to this size are offered whole in the POST that opens an upload.  A registry
#: that ignores the body drains it (Go's server drains up to 256 KiB and keeps the
#: connection), so little is wasted on registries that want POST then PUT.
MONOLITHIC_MAX = 256 * 1024
RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 4.0)


class Repository:
    """One repository (``team/app``) of a registry."""

    def __init__(self, session: RegistrySession, name: str, push: bool = False) -> None:
        self.session = session
        self.name = name
        actions = ("pull", "push") if push else ("pull",)
        self.scopes = [repository_scope(name, *actions)]

    @property
    def registry(self) -> str:
        return self.session.endpoint.registry

    def _path(self, kind: str, ref: str = "") -> str:
        return f"/v2/{self.name}/{kind}/{quote(ref, safe=':')}" if ref else f"/v2/{self.name}/{kind}/"

    def _request(self, method: str, path: str, scopes: list[str] | None = None,
                 **kw: object) -> Response:
        return self.session.request(method, path, scopes or self.scopes, **kw)  # type: ignore[arg-type]

    # ---- manifests ------------------------------------------------------------------

    def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest by tag or digest, digest verified."""
        response = self._request("GET", self._path("manifests", reference),
                                 headers={"Accept": MANIFEST_ACCEPT})
        if response.status != 200:
            error = error_from(response, "")
            if isinstance(error, RegistryNotFound):
                error.args = (f"manifest for {self._what(reference)} not found: {error}",)
            else:
                error.args = (f"{self._what(reference)}: {error}",)
            raise error
        length = response.header("Content-Length")
        if length.isdigit() and int(length) > MAX_MANIFEST_SIZE:
            response.close()
            raise CorruptArchive(f"{self._what(reference)}: manifest is larger than "
                                 f"{MAX_MANIFEST_SIZE} bytes")
        try:
            data = response.read(MAX_MANIFEST_SIZE + 1)
            if response.read(1):
                raise CorruptArchive(f"{self._what(reference)}: manifest is too large")
        finally:
            response.close()
        media_type = response.header("Content-Type").split(";", 1)[0].strip()
        if media_type in mt.SCHEMA1:
            raise CorruptArchive(f"{self._what(reference)}: Docker image manifest schema 1 is "
                                 "not supported: push the image again with a current client to "
                                 "convert it to schema 2")
        actual = dg.of_bytes(data)
        expected = reference if reference.startswith("sha256:") else response.header(
            "Docker-Content-Digest")
        if expected and expected.startswith("sha256:") and expected != actual:
            raise DigestMismatch(f"{self._what(reference)}: manifest digest mismatch: expected "
                                 f"{expected}, got {actual}")
        return data, media_type, actual

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        """Upload a manifest under a tag (or its digest); return its digest."""
        response = self._request("PUT", self._path("manifests", reference),
                                 headers={"Content-Type": media_type}, body=data)
        if response.status not in (200, 201, 202):
            raise error_from(response, f"push {self._what(reference)}")
        response.read()
        actual = dg.of_bytes(data)
        reported = response.header("Docker-Content-Digest")
        if reported and reported != actual:
            raise DigestMismatch(f"the registry stored manifest {reported}, not {actual}")
        return actual

    def list_tags(self) -> list[str]:
        """Every tag of the repository (following ``Link`` pagination)."""
        tags: list[str] = []
        path = f"/v2/{self.name}/tags/list"
        for _ in range(10000):
            response = self._request("GET", path)
            if response.status != 200:
                raise error_from(response, f"list tags of {self.registry}/{self.name}")
            try:
                doc = json.loads(response.read(16 << 20))
                tags += [str(t) for t in doc.get("tags") or []]
            except (ValueError, AttributeError) as e:
                raise CorruptArchive(f"malformed tag list from {self.registry}: {e}") from None
            link = response.header("Link")
            if not link or 'rel="next"' not in link:
                return tags
            target = link.split(";", 1)[0].strip().strip("<>")
            path = urljoin(self.session.url(path), target)
        return tags

    # ---- blobs ----------------------------------------------------------------------

    def blob_size(self, digest: str, scopes: list[str] | None = None) -> int | None:
        """The size of a blob the repository holds, or None if it does not have it."""
        response = self._request("HEAD", self._path("blobs", digest), scopes)
        if response.status == 200:
            length = response.header("Content-Length")
            return int(length) if length.isdigit() else -1
        if response.status == 404:
            return None
        raise error_from(response, f"check blob {digest[:19]}")

    def open_blob(self, desc: Descriptor, on_retry: Callable[[int], None] | None = None
                  ) -> BlobReader:
        """A stream of the blob that resumes with Range requests if the transfer breaks."""
        return BlobReader(self, desc, on_retry)

    def _get_blob(self, digest: str, offset: int) -> Response:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self._request("GET", self._path("blobs", digest), headers=headers)
        if response.status in (200, 206):
            return response
        raise error_from(response, f"fetch blob {digest[:19]}")

    def mount_blob(self, digest: str, source: str) -> bool:
        """Ask the registry to link ``digest`` from repository ``source``; True if it did."""
        scopes = [*self.scopes, repository_scope(source, "pull")]
        path = f"/v2/{self.name}/blobs/uploads/?mount={quote(digest)}&from={quote(source)}"
        response = self._request("POST", path, scopes)
        response.read()
        if response.status == 201:
            return True
        if response.status == 202:  # not mounted: a session was opened instead; cancel it
            location = response.header("Location")
            if location:
                try:
                    self._request("DELETE", self._absolute(location)).read()
                except (RegistryError, RegistryUnreachable):
                    pass
            return False
        if response.status in (401, 403, 404):
            return False
        raise error_from(response, f"mount blob {digest[:19]}")

    def upload_blob(self, desc: Descriptor, open_stream: Callable[[], BinaryIO]) -> None:
        """Upload a blob.

        A small blob goes whole in the POST that opens the session (``?digest=``, one round
        trip); a registry that does not take it that way answers 202 with a session, which
        the blob then goes to with PUT, and the session remembers not to try again.  Larger
        blobs open a session first and send it whole with ``PUT ?digest=``.
        """
        session = self.session
        if 0 <= desc.size <= MONOLITHIC_MAX and session.monolithic_uploads is not False:
            path = f"{self._path('blobs/uploads')}?digest={quote(desc.digest)}"
            response = self._request("POST", path, headers={
                "Content-Type": "application/octet-stream", "Content-Length": str(desc.size)},
                body=open_stream)
            if response.status == 201:
                response.read()
                session.monolithic_uploads = True
                return
            if response.status != 202:
                if session.monolithic_uploads is None and response.status in (400, 405, 415):
                    response.close()  # refused outright: use the two-step upload from now on
                    session.monolithic_uploads = False
                    self.upload_blob(desc, open_stream)
                    return
                raise error_from(response, f"upload blob {desc.digest[:19]}")
            session.monolithic_uploads = False
        else:
            response = self._request("POST", self._path("blobs/uploads"))
            if response.status != 202:
                raise error_from(response, f"start upload of {desc.digest[:19]}")
        response.read()
        location = response.header("Location")
        if not location:
            raise RegistryError(f"{self.registry}: the upload session has no Location")
        url = self._absolute(location)
        sep = "&" if urlsplit(url).query else "?"
        url = f"{url}{sep}digest={quote(desc.digest)}"
        response = self._request("PUT", url, headers={
            "Content-Type": "application/octet-stream", "Content-Length": str(desc.size)},
            body=open_stream)
        if response.status not in (201, 204):
            raise error_from(response, f"upload blob {desc.digest[:19]}")
        response.read()

    # ---- helpers --------------------------------------------------------------------

    def _absolute(self, location: str) -> str:
        return urljoin(self.session.endpoint.base_url + "/", location)

    def _what(self, reference: str) -> str:
        sep = "@" if reference.startswith("sha256:") else ":"
        return f"{self.registry}/{self.name}{sep}{reference}"


class BlobReader:
    """Reads one blob; a connection that breaks is resumed with ``Range: bytes=N-``.

    It never checks the content: the copy wraps it in a verifying reader, which
    also catches a server that sends too much.
    """

    def __init__(self, repo: Repository, desc: Descriptor,
                 on_retry: Callable[[int], None] | None = None) -> None:
        self.repo = repo
        self.desc = desc
        self.offset = 0
        self.retries = 0
        self._response: Response | None = None
        self._on_retry = on_retry
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        n = n if n > 0 else 1 << 20
        while not self._eof:
            if self._response is None:
                self._response = self._open()
            try:
                data = self._response.read(n)
            except (OSError, RegistryUnreachable) as e:
                self._response = None
                self._retry(f"connection broke: {e}")
                continue
            if data:
                self.offset += len(data)
                return data
            self._response = None
            if self.desc.size < 0 or self.offset >= self.desc.size:
                self._eof = True
                return b""
            self._retry("the transfer ended early")
        return b""

    def _open(self) -> Response:
        try:
            response = self.repo._get_blob(self.desc.digest, self.offset)
        except RegistryUnreachable as e:
            self._retry(str(e))
            return self._open()
        if self.offset and response.status == 200:  # Range ignored: skip what we have
            skip = self.offset
            while skip:
                chunk = response.read(min(skip, 1 << 20))
                if not chunk:
                    break
                skip -= len(chunk)
        return response

    def _retry(self, why: str) -> None:
        if self.retries >= BLOB_RETRIES:
            raise CorruptArchive(f"download of blob {self.desc.digest[:19]} failed at "
                                 f"{self.offset} of {self.desc.size} bytes after "
                                 f"{self.retries} retries: {why}")
        time.sleep(RETRY_DELAYS[min(self.retries, len(RETRY_DELAYS) - 1)])
        self.retries += 1
        if self._on_retry:
            self._on_retry(self.offset)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
