"""Execute OCI bundles: hull's builtin runtime and adapters for runc and crun.

Imports only hull.oci, hull.errors and the standard library (plus ctypes and, lazily,
pyseccomp); it knows nothing about images or the engine.
"""

from hull.runtime.base import Runtime, Stdio, get_runtime

__all__ = ["Runtime", "Stdio", "get_runtime"]
