"""The registry service: pull, push, login and logout, independent of any front end.

Every transfer is one :func:`hull.transports.copy.copy_image` between the local
store and a registry repository; this service only resolves names, credentials
and endpoints, and records what a registry called the image (RepoDigests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hull.errors import InvalidArgument, InvalidReference, NotFound
from hull.record import record

if TYPE_CHECKING:
    from hull.engine import Engine
    from hull.image.store import ImageStore
    from hull.oci.descriptor import Platform
    from hull.reference import Reference
    from hull.registry.client.distribution import Repository
    from hull.registry.client.session import RegistrySession
    from hull.registry.credentials import CredentialStore
    from hull.transports.copy import CopyObserver


@record
class PullResult:
    """What a pull did: the image, the digest the registry named it by, and whether
    the reference already pointed at it."""

    reference: Reference
    image_id: str
    digest: str
    up_to_date: bool


@record
class PushResult:
    """What a push did: the manifest digest and size the registry now has under the tag."""

    reference: Reference
    digest: str
    size: int


@record
class LoginResult:
    server: str  # the key credentials are stored under
    stored_in: str  # a file path or a credential helper


class RegistryService:
    """Moves images between the local store and registries."""

    def __init__(self, engine: Engine, credentials: CredentialStore | None = None) -> None:
        self.engine = engine
        self._credentials = credentials
        self._sessions: dict[str, RegistrySession] = {}

    @property
    def store(self) -> ImageStore:
        return self.engine.images.store

    @property
    def credentials(self) -> CredentialStore:
        if self._credentials is None:
            from hull.registry.credentials import CredentialStore

            self._credentials = CredentialStore()
        return self._credentials

    # ---- sessions -------------------------------------------------------------------

    def session(self, registry: str) -> RegistrySession:
        """One authenticated session per registry for the life of the service."""
        session = self._sessions.get(registry)
        if session is None:
            from hull.registry.client.endpoint import endpoint_for
            from hull.registry.client.session import RegistrySession

            endpoint = endpoint_for(registry, self.credentials.insecure_registries())
            session = RegistrySession(endpoint, self.credentials.get(registry))
            self._sessions[registry] = session
        return session

    def repository(self, ref: Reference, push: bool = False) -> Repository:
        from hull.registry.client.distribution import Repository

        return Repository(self.session(ref.domain), ref.path, push=push)

    def close(self) -> None:
        for session in self._sessions.values():
            session.http.close()
        self._sessions.clear()

    # ---- pull -----------------------------------------------------------------------

    def pull_references(self, name: str, all_tags: bool) -> list[Reference]:
        """The references ``hull pull NAME`` fetches (every tag with ``all_tags``)."""
        from hull import reference as refs

        ref = refs.parse(name, default_tag=not all_tags)
        if not all_tags:
            return [ref]
        if ref.tag or ref.digest:
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        tags = self.repository(ref).list_tags()
        if not tags:
            raise NotFound(f"{ref.familiar_name}: the repository has no tags")
        return [ref.with_tag(t) for t in sorted(tags)]

    def pull(self, ref: Reference, platform: Platform | None = None,
             observer: CopyObserver | None = None) -> PullResult:
        """Pull one image by tag or digest into the local store."""
        from hull.transports.copy import copy_image
        from hull.transports.local import LocalDestination
        from hull.transports.registry import RegistrySource

        src = RegistrySource(self.repository(ref), ref.digest or ref.tag)
        digest = src.digest
        names = [] if ref.digest else [str(ref)]
        before = self._image_named(names[0] if names else f"{ref.name}@{digest}")
        self.store.cleanup()
        dest = LocalDestination(self.store, repo_digests=[f"{ref.name}@{digest}"],
                                background_reads=True)
        result = copy_image(src, dest, names=names, platform=platform, observer=observer)
        return PullResult(ref, result.image_id, digest, before == result.image_id)

    # ---- push -----------------------------------------------------------------------

    def push_references(self, name: str, all_tags: bool) -> list[Reference]:
        """The references ``hull push NAME`` sends (every local tag with ``all_tags``)."""
        from hull import reference as refs

        ref = refs.parse(name, default_tag=not all_tags)
        if ref.digest:
            raise InvalidReference("cannot push a digest reference")
        if not all_tags:
            return [ref]
        if ref.tag:
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        found = sorted({r for image in self.store.list() for r in map(refs.parse, image.tags)
                        if r.name == ref.name}, key=lambda r: r.tag)
        if not found:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
        return found

    def push(self, ref: Reference, observer: CopyObserver | None = None) -> PushResult:
        """Push the local image tagged ``ref``; record the pushed digest as a RepoDigest."""
        from hull import reference as refs
        from hull.transports.copy import copy_image
        from hull.transports.local import LocalSource
        from hull.transports.registry import RegistryDestination

        image_id = self._image_named(str(ref))
        if image_id is None:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
        image = self.store.get(image_id)
        sources = []
        for name in (*image.tags, *image.digests):
            other = refs.parse(name, default_tag=False)
            if other.domain == ref.domain and other.path != ref.path and other.path not in sources:
                sources.append(other.path)
        dest = RegistryDestination(self.repository(ref, push=True), ref.tag, sources)
        copy_image(LocalSource(self.store, image, compress_layers=True), dest,
                   names=[str(ref)], observer=observer)
        self.store.add_repo_digest(image.id, f"{ref.name}@{dest.pushed_digest}")
        return PushResult(ref, dest.pushed_digest, dest.pushed_size)

    def _image_named(self, name: str) -> str | None:
        """The image a stored reference (tag or repo digest) points at, exactly."""
        row = self.engine.db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (name,))
        return row["image_id"] if row else None

    # ---- login / logout -------------------------------------------------------------

    def login(self, server: str, username: str, password: str) -> LoginResult:
        """Check the credentials against the registry, then store them."""
        from hull.registry.auth import Credentials
        from hull.registry.client.endpoint import endpoint_for
        from hull.registry.client.session import RegistrySession
        from hull.registry.credentials import normalize_server, server_key

        host = normalize_server(server)
        registry = "docker.io" if server_key(host) != host else host
        creds = Credentials(username=username, password=password)
        session = RegistrySession(endpoint_for(registry, self.credentials.insecure_registries()),
                                  creds)
        try:
            session.login()
        finally:
            session.http.close()
        where = self.credentials.store(host, creds)
        return LoginResult(server_key(host), where)

    def logout(self, server: str) -> tuple[str, bool]:
        """Forget credentials for ``server``; (key, whether there were any)."""
        from hull.registry.credentials import server_key

        return server_key(server), self.credentials.erase(server)
