"""A container's changes as a new image (``hull commit``).

The changes (the same list ``hull diff`` shows) are written as one uncompressed layer tar
into the content store, deletions as whiteouts.  The container keeps its own writable
snapshot: the new layer is unpacked from that blob into a snapshot of its own, so the
container can go on running, be committed again, or be removed, independently of the
image.  No change at all adds no layer, only a history entry marked ``empty_layer`` (as
Docker does).  A running container is frozen while its changes are read, unless the
caller says otherwise.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hull.engine import Engine
    from hull.engine.container_diff import WritableLayer
    from hull.image.model import ImageRecord, LayerRecord

# Config keys an image carries over from the container that is committed.
IMAGE_CONFIG_KEYS = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes",
                     "WorkingDir", "Labels", "StopSignal", "OnBuild", "Healthcheck", "Shell")


def commit_container(engine: Engine, ref: str, reference: str | None = None, *,
                     author: str = "", message: str = "", changes: list[str] = (),  # type: ignore[assignment]
                     pause: bool = True) -> ImageRecord:
    """Make an image of the container ``ref``: its image's layers plus its changes."""
    from hull import reference as refs
    from hull.engine.container_diff import layer_changes, writable_layer
    from hull.engine.container_model import rfc3339_nano
    from hull.engine.container_rootfs import frozen
    from hull.image.changes import apply_changes
    from hull.oci.image import ImageConfig

    tags = [str(refs.parse_tag_arg(reference))] if reference else []
    c = engine.containers.get(ref)
    base = engine.images.get(c.image_id)
    config = ImageConfig.from_bytes(engine.images.store.config_bytes(base)).clone()
    runtime_config = _runtime_config(config.config, c.config)
    apply_changes(runtime_config, list(changes))
    config.doc["config"] = runtime_config
    engine.images.store.cleanup()
    with frozen(engine, c, pause):
        layer = writable_layer(engine, c)
        found = layer_changes(layer)
        new_layer = _write_layer(engine, layer, found, base.top_chain_id) if found else None
    now = rfc3339_nano()
    history = list(config.doc.get("history") or [])
    entry: dict[str, Any] = {"created": now,
                             "created_by": " ".join(c.config.get("Cmd") or [])}
    if author:
        entry["author"] = author
    if message:
        entry["comment"] = message
    if new_layer is None:
        entry["empty_layer"] = True
    history.append(entry)
    config.doc["history"] = history
    config.doc["created"] = now
    config.doc["container"] = c.id
    config.doc["container_config"] = copy.deepcopy(c.config)
    if author:
        config.doc["author"] = author
    else:
        config.doc.pop("author", None)
    layers = list(base.layers) + ([new_layer] if new_layer is not None else [])
    image, _ = engine.images.store.create_image(config, layers, tags, parent=base.id)
    return image


def _runtime_config(image_config: dict[str, Any], container_config: dict[str, Any]
                    ) -> dict[str, Any]:
    """The image's runtime config with the container's values for the keys images carry."""
    out = copy.deepcopy(image_config)
    for key in IMAGE_CONFIG_KEYS:
        value = container_config.get(key)
        if value is None or value == "":
            out.pop(key, None)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _write_layer(engine: Engine, layer: WritableLayer, found: list[tuple[str, str]],
                 parent_chain: str | None) -> LayerRecord:
    """Write the changes as a layer blob, unpack it as a new layer; its record."""
    from hull.image.model import LayerRecord
    from hull.oci import mediatypes as mt

    content = engine.content
    writer = content.writer()
    size = 0
    try:
        size = _write_changes(layer, found, writer)  # type: ignore[arg-type]
        descriptor = writer.commit(mt.OCI_LAYER)
    except BaseException:
        writer.abort()
        raise
    with open(content.path(descriptor.digest), "rb") as blob:
        chain_id = engine.images.store.unpack_layer(blob, descriptor.digest, parent_chain)
    return LayerRecord(chain_id=chain_id, diff_id=descriptor.digest, size=size,
                       blob_digest=descriptor.digest, blob_media_type=mt.OCI_LAYER,
                       blob_size=descriptor.size)


def _write_changes(layer: WritableLayer, found: list[tuple[str, str]], out: Any) -> int:
    """The layer tar of ``found``; returns the bytes of regular file content in it."""
    import os
    import stat

    from hull.archive.apply import WHITEOUT_PREFIX
    from hull.archive.writer import TarWriter

    writer = TarWriter(out)
    size = 0
    for kind, name in found:
        rel = name.lstrip("/")
        if kind == "D":
            parent, _, base = rel.rpartition("/")
            writer.add_whiteout(f"{parent}/{WHITEOUT_PREFIX}{base}" if parent
                                else WHITEOUT_PREFIX + base)
            continue
        path = layer.path(name)
        st = os.lstat(path)
        writer.add_path(rel, path, st)
        if stat.S_ISREG(st.st_mode):
            size += st.st_size
    writer.close()
    return size

