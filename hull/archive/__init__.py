"""Layer tars: apply them to directories and make them from directories.

- :mod:`~hull.archive.compression`: gzip / zstd / plain sniffing and streaming codecs.
- :mod:`~hull.archive.apply`: safe extraction with overlay or deleting whiteouts.
- :mod:`~hull.archive.diff`: overlay upperdir or tree comparison -> canonical layer tar,
  ``docker diff``-style change lists, whole-tree export.
- :mod:`~hull.archive.layerblob`: a layer blob in one pass, with diff id, digest and size.
- :mod:`~hull.archive.tarformat`, :mod:`~hull.archive.reader`,
  :mod:`~hull.archive.writer`: the tar format itself.

The public functions are importable from here; submodules load on first use, so
importing :mod:`hull.archive` costs nothing at CLI start-up.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "open_layer": "compression",
    "gzip_compress_stream": "compression",
    "zstd_compress_stream": "compression",
    "apply_layer": "apply",
    "apply_layer_and_digest": "apply",
    "write_overlay_diff": "diff",
    "write_tree_diff": "diff",
    "write_tree": "diff",
    "changes": "diff",
    "write_layer_blob": "layerblob",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hull.archive' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hull.archive.{module}"), name)
