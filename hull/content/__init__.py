"""Content-addressed blob storage."""

from hull.content.store import BlobStore

__all__ = ["BlobStore"]
