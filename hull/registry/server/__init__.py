"""An OCI Distribution Specification v1.1 registry server.

``hull registry serve`` runs it; ``hull registry gc`` sweeps unreferenced blobs.
Blobs (manifests included) live in a :class:`hull.content.BlobStore`; which
repository holds which blob, manifest or tag is recorded as small link files
written atomically, so concurrent pushes of the same content are safe.
"""
