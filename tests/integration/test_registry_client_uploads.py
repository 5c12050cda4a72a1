"""How the client uploads blobs: small ones whole in the POST that opens the upload where the
registry takes that (hull's server), POST then PUT where it does not (distribution 2.8),
with the same image arriving either way."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import HullEnv
from tests.integration.test_registry_client_support import Proxy, layers_image
from tests.integration.test_registry_server_support import Distribution, RegistryProcess


def fresh_env(hull: HullEnv) -> HullEnv:
    return HullEnv(root=hull.root.parent / "fresh-root", run_root=hull.run_root.parent / "fr")


def _uploads(proxy: Proxy) -> list[tuple[str, str, bool]]:
    """(method, path, carries ?digest=) of every request to an upload endpoint."""
    out = []
    for seen in proxy.seen:
        parts = urlsplit(seen.path)
        if "/blobs/uploads" in parts.path:
            out.append((seen.method, parts.path, "digest" in parse_qs(parts.query)))
    return out


def test_small_blobs_go_whole_in_one_post_to_hulls_registry(
        hull: HullEnv, tmp_path: Path, registry: RegistryProcess) -> None:
    with Proxy(registry.address) as proxy:
        ref = f"{proxy.address}/team/small:v1"
        hull.ok("load", "-i", str(layers_image(tmp_path, 8, ref)))
        image_id = hull.ok("images", "-q", "--no-trunc", ref).strip()
        out = hull.ok("push", ref)
        assert out.count(": Pushed") == 8
        uploads = _uploads(proxy)
        # 8 layers and the config: one POST ?digest= each, no session, no PUT
        assert uploads == [("POST", "/v2/team/small/blobs/uploads/", True)] * 9
        fresh = fresh_env(hull)
        fresh.ok("pull", ref)
        assert fresh.ok("images", "-q", "--no-trunc").strip() == image_id


def test_registry_that_wants_post_then_put_is_learned(hull: HullEnv, tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    dist = Distribution(tmp_path / "dist")
    try:
        with Proxy(dist.address) as proxy:
            ref = f"{proxy.address}/team/small:v1"
            hull.ok("load", "-i", str(layers_image(tmp_path, 12, ref)))
            image_id = hull.ok("images", "-q", "--no-trunc", ref).strip()
            hull.ok("push", ref)
            # (distribution's Location names itself, so the PUTs bypass the proxy)
            posts = [digest for method, _, digest in _uploads(proxy) if method == "POST"]
            assert len(posts) == 13  # 12 layers and the config
            # at most one whole-blob offer per concurrent upload before a 202 taught it
            assert 1 <= posts.count(True) <= 6 and posts[-1] is False
            fresh = fresh_env(hull)
            fresh.ok("pull", ref)
            assert fresh.ok("images", "-q", "--no-trunc").strip() == image_id
    finally:
        dist.stop()
