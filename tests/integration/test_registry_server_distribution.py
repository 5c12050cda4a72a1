"""The same requests against hull's registry and Debian's distribution 2.8 give the same
status codes and error codes where both implement the behaviour.

Known, deliberate differences (not compared here): hull answers NAME_INVALID (400) for
names outside the grammar where distribution's router says 404 or redirects ``..``;
hull deletes tags (spec 1.1), distribution 2.8 refuses; hull rejects descriptors whose
size disagrees with the stored blob; ``n=0`` lists no tags (spec 1.1) where 2.8 lists
all; hull serves the referrers API, which 2.8 does not have; 2.8 accepts a chunk whose
Content-Range does not continue the upload (202) where the spec (and hull) say 416.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.test_registry_server_support import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Client,
    Distribution,
    Reply,
    image_manifest,
    running_registry,
    sha256,
    write_htpasswd,
)

Outcome = tuple[int, list[str] | None, dict[str, str | None]]


def _outcome(r: Reply, *headers: str) -> Outcome:
    codes = r.error_codes if r.body.startswith(b'{"errors"') else None
    return r.status, codes, {h: r.headers.get(h) for h in headers}


def _scenario(c: Client) -> dict[str, Outcome]:
    """A push with mistakes along the way; records what the registry answered to each step."""
    out: dict[str, Outcome] = {}
    missing = sha256(b"missing")
    out["base"] = _outcome(c.request("GET", "/v2/"), "Docker-Distribution-API-Version")
    out["blob unknown"] = _outcome(c.request("GET", f"/v2/cmp/app/blobs/{missing}"))
    out["blob bad digest"] = _outcome(c.request("GET", "/v2/cmp/app/blobs/sha256:abc"))
    out["manifest unknown"] = _outcome(c.request("GET", "/v2/cmp/app/manifests/latest"))
    out["tags of unknown repo"] = _outcome(c.request("GET", "/v2/cmp/none/tags/list"))

    start = c.request("POST", "/v2/cmp/app/blobs/uploads/")
    out["upload start"] = _outcome(start, "Range")
    first = c.request("PATCH", start.headers["Location"], b"hello",
                      {"Content-Range": "0-4", "Content-Type": "application/octet-stream"})
    out["first chunk"] = _outcome(first, "Range")
    location = first.headers["Location"]
    sep = "&" if "?" in location else "?"
    out["digest mismatch"] = _outcome(c.request("PUT", f"{location}{sep}digest={missing}", b""))

    config = c.push_blob("cmp/app", b"{}")
    out["manifest with missing blob"] = _outcome(
        c.push_manifest("cmp/app", "v1", image_manifest(config, 2, missing, 7)))
    out["manifest not json"] = _outcome(c.request("PUT", "/v2/cmp/app/manifests/v1", b"{x",
                                                  {"Content-Type": OCI_MANIFEST}))
    good = image_manifest(config, 2, config, 2)
    out["manifest wrong digest"] = _outcome(c.push_manifest("cmp/app", missing, good))
    out["manifest pushed"] = _outcome(c.push_manifest("cmp/app", "v1", good),
                                      "Docker-Content-Digest")
    out["oci manifest, docker-only accept"] = _outcome(
        c.request("GET", "/v2/cmp/app/manifests/v1", headers={"Accept": DOCKER_MANIFEST}))
    out["manifest fetched"] = _outcome(
        c.request("GET", "/v2/cmp/app/manifests/v1", headers={"Accept": OCI_MANIFEST}),
        "Content-Type", "Docker-Content-Digest")
    out["tags"] = _outcome(c.request("GET", "/v2/cmp/app/tags/list"))
    out["mount missing blob"] = _outcome(c.request(
        "POST", f"/v2/cmp/other/blobs/uploads/?mount={missing}&from=cmp/app"), "Range")
    out["mount"] = _outcome(c.request(
        "POST", f"/v2/cmp/other/blobs/uploads/?mount={config}&from=cmp/app"),
        "Docker-Content-Digest")
    out["delete blob"] = _outcome(c.request("DELETE", f"/v2/cmp/app/blobs/{config}"))
    out["deleted blob"] = _outcome(c.request("HEAD", f"/v2/cmp/app/blobs/{config}"))
    return out


def _compare(tmp_path: Path, scenario: Callable[[Client], dict[str, Outcome]],
             htpasswd: Path | None = None, auth: tuple[str, str] | None = None) -> None:
    (tmp_path / "dist").mkdir()
    dist = Distribution(tmp_path / "dist", htpasswd)
    try:
        expected = scenario(dist.client(auth))
    finally:
        dist.stop()
    args = ("--htpasswd", str(htpasswd)) if htpasswd else ()
    with running_registry(tmp_path / "root", *args) as srv:
        actual = scenario(srv.client(auth))
    mismatches = {k: (expected[k], actual[k]) for k in expected if expected[k] != actual[k]}
    assert not mismatches, mismatches


def test_same_answers_as_distribution(tmp_path: Path) -> None:
    _compare(tmp_path, _scenario)


@pytest.mark.parametrize("credentials", [None, ("alice", "wrong"), ("alice", "s3cret")])
def test_same_auth_answers_as_distribution(tmp_path: Path,
                                           credentials: tuple[str, str] | None) -> None:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})

    def probe(c: Client) -> dict[str, Outcome]:
        return {"base": _outcome(c.request("GET", "/v2/"), "WWW-Authenticate"),
                "catalog": _outcome(c.request("GET", "/v2/_catalog"), "WWW-Authenticate")}

    _compare(tmp_path, probe, htpasswd, credentials)
