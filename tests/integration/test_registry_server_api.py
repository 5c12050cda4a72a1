"""The registry server's HTTP API, endpoint by endpoint, against a real server process."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_registry_server_support import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Client,
    RegistryProcess,
    image_manifest,
    running_registry,
    sha256,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    with running_registry(tmp_path_factory.mktemp("registry") / "root") as srv:
        yield srv


@pytest.fixture
def client(server: RegistryProcess) -> Client:
    return server.client()


def blob_files(server: RegistryProcess) -> set[str]:
    d = server.root / "blobs" / "sha256"
    return {"sha256:" + n for n in os.listdir(d)} if d.exists() else set()


def test_base_endpoint_answers_with_api_version(client: Client) -> None:
    r = client.request("GET", "/v2/")
    assert r.status == 200
    assert r.json() == {}
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_monolithic_upload_then_head_get_and_range(client: Client) -> None:
    data = os.urandom(1000)
    digest = client.push_blob("api/mono", data)
    head = client.request("HEAD", f"/v2/api/mono/blobs/{digest}")
    assert head.status == 200
    assert head.headers["Docker-Content-Digest"] == digest
    assert head.headers["Content-Length"] == "1000"
    assert head.body == b""
    got = client.request("GET", f"/v2/api/mono/blobs/{digest}")
    assert got.status == 200 and got.body == data
    part = client.request("GET", f"/v2/api/mono/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert part.status == 206
    assert part.body == data[10:20]
    assert part.headers["Content-Range"] == "bytes 10-19/1000"


def test_chunked_upload_checks_content_range(client: Client) -> None:
    data = os.urandom(300)
    start = client.request("POST", "/v2/api/chunked/blobs/uploads/")
    assert start.status == 202
    assert start.headers["Range"] == "0-0"
    uuid = start.headers["Docker-Upload-UUID"]
    location = start.headers["Location"]
    assert location.endswith(uuid)

    first = client.request("PATCH", location, data[:100], {"Content-Range": "0-99"})
    assert first.status == 202
    assert first.headers["Range"] == "0-99"

    gap = client.request("PATCH", location, data[150:200], {"Content-Range": "150-199"})
    assert gap.status == 416
    assert gap.error_codes == ["BLOB_UPLOAD_INVALID"]
    assert gap.headers["Range"] == "0-99"

    overlap = client.request("PATCH", location, data[50:100], {"Content-Range": "50-99"})
    assert overlap.status == 416

    status = client.request("GET", location)
    assert status.status == 204
    assert status.headers["Range"] == "0-99"
    assert status.headers["Docker-Upload-UUID"] == uuid

    second = client.request("PATCH", location, data[100:200], {"Content-Range": "100-199"})
    assert second.headers["Range"] == "0-199"
    digest = sha256(data)
    done = client.request("PUT", f"{location}?digest={digest}", data[200:],
                          {"Content-Range": "200-299"})
    assert done.status == 201
    assert done.headers["Location"] == f"/v2/api/chunked/blobs/{digest}"
    assert done.headers["Docker-Content-Digest"] == digest
    assert client.request("GET", f"/v2/api/chunked/blobs/{digest}").body == data
    assert client.request("GET", location).status == 404


def test_streamed_patch_without_content_range(client: Client) -> None:
    data = os.urandom(5000)
    location = client.request("POST", "/v2/api/streamed/blobs/uploads/").headers["Location"]
    assert client.request("PATCH", location, data[:3000]).headers["Range"] == "0-2999"
    assert client.request("PATCH", location, data[3000:]).headers["Range"] == "0-4999"
    digest = sha256(data)
    assert client.request("PUT", f"{location}?digest={digest}", b"").status == 201
    assert client.request("GET", f"/v2/api/streamed/blobs/{digest}").body == data


def test_chunk_length_must_match_content_range(client: Client) -> None:
    location = client.request("POST", "/v2/api/size/blobs/uploads/").headers["Location"]
    r = client.request("PATCH", location, b"12345", {"Content-Range": "0-9"})
    assert r.status == 400
    assert r.error_codes == ["SIZE_INVALID"]
    assert client.request("GET", location).headers["Range"] == "0-0"
    bad = client.request("PATCH", location, b"12345", {"Content-Range": "garbage"})
    assert bad.status == 400 and bad.error_codes == ["BLOB_UPLOAD_INVALID"]


def test_digest_mismatch_stores_nothing(server: RegistryProcess, client: Client) -> None:
    data = b"the real content"
    claimed = sha256(b"something else")
    location = client.request("POST", "/v2/api/mismatch/blobs/uploads/").headers["Location"]
    client.request("PATCH", location, data)
    r = client.request("PUT", f"{location}?digest={claimed}", b"")
    assert r.status == 400
    assert r.error_codes == ["DIGEST_INVALID"]
    assert claimed not in blob_files(server)
    assert sha256(data) not in blob_files(server)
    assert client.request("HEAD", f"/v2/api/mismatch/blobs/{claimed}").status == 404

    mono = client.request("POST", f"/v2/api/mismatch/blobs/uploads/?digest={claimed}", data)
    assert mono.status == 400 and mono.error_codes == ["DIGEST_INVALID"]
    assert sha256(data) not in blob_files(server)
    assert location.rsplit("/", 1)[1] not in os.listdir(server.root / "uploads")


def test_put_without_digest_is_rejected(client: Client) -> None:
    location = client.request("POST", "/v2/api/nodigest/blobs/uploads/").headers["Location"]
    r = client.request("PUT", location, b"abc")
    assert r.status == 400 and r.error_codes == ["DIGEST_INVALID"]


def test_cancel_and_unknown_uploads(client: Client) -> None:
    location = client.request("POST", "/v2/api/cancel/blobs/uploads/").headers["Location"]
    assert client.request("DELETE", location).status == 204
    gone = client.request("GET", location)
    assert gone.status == 404 and gone.error_codes == ["BLOB_UPLOAD_UNKNOWN"]
    bogus = client.request("PATCH", "/v2/api/cancel/blobs/uploads/not-a-uuid", b"x")
    assert bogus.status == 404 and bogus.error_codes == ["BLOB_UPLOAD_UNKNOWN"]
    other = client.request("POST", "/v2/api/owner/blobs/uploads/").headers["Docker-Upload-UUID"]
    stolen = client.request("PATCH", f"/v2/api/thief/blobs/uploads/{other}", b"x")
    assert stolen.status == 404 and stolen.error_codes == ["BLOB_UPLOAD_UNKNOWN"]


def test_blob_errors(client: Client) -> None:
    missing = sha256(b"never pushed")
    r = client.request("GET", f"/v2/api/errors/blobs/{missing}")
    assert r.status == 404
    body = r.json()
    assert body["errors"][0]["code"] == "BLOB_UNKNOWN"
    assert body["errors"][0]["message"]
    assert client.request("GET", "/v2/api/errors/blobs/sha256:abc").error_codes == [
        "DIGEST_INVALID"]
    digest = client.push_blob("api/private", b"only here")
    assert client.request("GET", f"/v2/api/errors/blobs/{digest}").status == 404
    wrong = client.request("PUT", f"/v2/api/errors/blobs/{digest}", b"x")
    assert wrong.status == 405 and wrong.error_codes == ["UNSUPPORTED"]


def test_delete_blob(client: Client) -> None:
    digest = client.push_blob("api/delblob", b"to be deleted")
    assert client.request("DELETE", f"/v2/api/delblob/blobs/{digest}").status == 202
    assert client.request("HEAD", f"/v2/api/delblob/blobs/{digest}").status == 404
    again = client.request("DELETE", f"/v2/api/delblob/blobs/{digest}")
    assert again.status == 404 and again.error_codes == ["BLOB_UNKNOWN"]


def test_cross_repository_mount(client: Client) -> None:
    digest = client.push_blob("api/mount-src", b"shared layer")
    r = client.request("POST", f"/v2/api/mount-dst/blobs/uploads/?mount={digest}"
                               "&from=api/mount-src")
    assert r.status == 201
    assert r.headers["Location"] == f"/v2/api/mount-dst/blobs/{digest}"
    assert client.request("GET", f"/v2/api/mount-dst/blobs/{digest}").body == b"shared layer"
    missing = sha256(b"not anywhere")
    fallback = client.request("POST", f"/v2/api/mount-dst/blobs/uploads/?mount={missing}"
                                      "&from=api/mount-src")
    assert fallback.status == 202
    assert "/blobs/uploads/" in fallback.headers["Location"]


def test_manifest_push_and_fetch_by_tag_and_digest(client: Client) -> None:
    config, layer = b'{"os":"linux"}', b"layer bytes"
    manifest = image_manifest(client.push_blob("api/man", config), len(config),
                              client.push_blob("api/man", layer), len(layer))
    data = json.dumps(manifest, indent=1).encode()
    digest = sha256(data)
    put = client.request("PUT", "/v2/api/man/manifests/v1", data, {"Content-Type": OCI_MANIFEST})
    assert put.status == 201
    assert put.headers["Docker-Content-Digest"] == digest
    assert put.headers["Location"] == f"/v2/api/man/manifests/{digest}"
    for ref in ("v1", digest):
        got = client.request("GET", f"/v2/api/man/manifests/{ref}",
                             headers={"Accept": OCI_MANIFEST})
        assert got.status == 200
        assert got.body == data
        assert got.headers["Content-Type"] == OCI_MANIFEST
        assert got.headers["Docker-Content-Digest"] == digest
        head = client.request("HEAD", f"/v2/api/man/manifests/{ref}")
        assert head.status == 200 and head.headers["Content-Length"] == str(len(data))
    by_digest = client.request("PUT", f"/v2/api/man/manifests/{digest}", data,
                               {"Content-Type": OCI_MANIFEST})
    assert by_digest.status == 201


def test_docker_schema2_and_index_are_stored_as_pushed(client: Client) -> None:
    config, layer = b'{"os":"linux","architecture":"arm64"}', b"docker layer"
    manifest = image_manifest(client.push_blob("api/list", config), len(config),
                              client.push_blob("api/list", layer), len(layer))
    manifest["mediaType"] = DOCKER_MANIFEST
    put = client.push_manifest("api/list", "arm64", manifest, DOCKER_MANIFEST)
    assert put.status == 201
    child = put.headers["Docker-Content-Digest"]
    got = client.request("GET", f"/v2/api/list/manifests/{child}",
                         headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"})
    assert got.headers["Content-Type"] == DOCKER_MANIFEST
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": DOCKER_MANIFEST, "digest": child, "size": len(got.body),
         "platform": {"os": "linux", "architecture": "arm64"}}]}
    assert client.push_manifest("api/list", "multi", index, OCI_INDEX).status == 201
    got = client.request("GET", "/v2/api/list/manifests/multi")
    assert got.headers["Content-Type"] == OCI_INDEX
    assert json.loads(got.body)["manifests"][0]["digest"] == child

    index["manifests"][0]["digest"] = sha256(b"no such manifest")
    bad = client.push_manifest("api/list", "broken", index, OCI_INDEX)
    assert bad.status == 400 and bad.error_codes == ["MANIFEST_BLOB_UNKNOWN"]


def test_accept_header_is_honoured_without_conversion(client: Client) -> None:
    client.push_image("api/accept", "v1")
    only_docker = client.request("GET", "/v2/api/accept/manifests/v1",
                                 headers={"Accept": DOCKER_MANIFEST})
    assert only_docker.status == 404 and only_docker.error_codes == ["MANIFEST_UNKNOWN"]
    anything = client.request("GET", "/v2/api/accept/manifests/v1", headers={"Accept": "*/*"})
    assert anything.status == 200 and anything.headers["Content-Type"] == OCI_MANIFEST


def test_manifest_errors(client: Client) -> None:
    missing = sha256(b"missing layer")
    config = client.push_blob("api/manerr", b"{}")
    manifest = image_manifest(config, 2, missing, 13)
    r = client.push_manifest("api/manerr", "v1", manifest)
    assert r.status == 400
    assert r.error_codes == ["MANIFEST_BLOB_UNKNOWN"]
    assert r.json()["errors"][0]["detail"] == {"digest": missing}
    assert client.request("GET", "/v2/api/manerr/manifests/v1").status == 404

    bad_json = client.request("PUT", "/v2/api/manerr/manifests/v1", b"{not json",
                              {"Content-Type": OCI_MANIFEST})
    assert bad_json.status == 400 and bad_json.error_codes == ["MANIFEST_INVALID"]
    mismatch = client.push_manifest("api/manerr", "v1", image_manifest(config, 2, config, 2),
                                    DOCKER_MANIFEST)
    assert mismatch.error_codes == ["MANIFEST_INVALID"]
    unsupported = client.push_manifest("api/manerr", "v1", {"schemaVersion": 1}, "text/plain")
    assert unsupported.error_codes == ["MANIFEST_INVALID"]
    wrong_size = client.push_manifest("api/manerr", "v1", image_manifest(config, 99, config, 2))
    assert wrong_size.error_codes == ["MANIFEST_INVALID"]

    good = image_manifest(config, 2, config, 2)
    wrong_digest = client.push_manifest("api/manerr", sha256(b"other"), good)
    assert wrong_digest.status == 400 and wrong_digest.error_codes == ["DIGEST_INVALID"]
    bad_tag = client.push_manifest("api/manerr", "-bad-tag", good)
    assert bad_tag.status == 400 and bad_tag.error_codes == ["TAG_INVALID"]
    unknown = client.request("GET", "/v2/api/manerr/manifests/nope")
    assert unknown.status == 404 and unknown.error_codes == ["MANIFEST_UNKNOWN"]


def test_delete_manifest_by_digest_removes_its_tags(client: Client) -> None:
    digest = client.push_image("api/delman", "one", layer=b"delman")
    client.push_manifest("api/delman", "two",
                         json.loads(client.request("GET", "/v2/api/delman/manifests/one").body))
    untag = client.request("DELETE", "/v2/api/delman/manifests/two")
    assert untag.status == 202
    assert client.request("GET", "/v2/api/delman/manifests/one").status == 200
    assert client.request("DELETE", f"/v2/api/delman/manifests/{digest}").status == 202
    for ref in ("one", digest):
        assert client.request("GET", f"/v2/api/delman/manifests/{ref}").status == 404
    assert client.request("GET", "/v2/api/delman/tags/list").json()["tags"] == []
    again = client.request("DELETE", f"/v2/api/delman/manifests/{digest}")
    assert again.status == 404 and again.error_codes == ["MANIFEST_UNKNOWN"]


def test_tag_list_pagination(client: Client) -> None:
    digest = client.push_image("api/tags", "e")
    body = client.request("GET", f"/v2/api/tags/manifests/{digest}").body
    for tag in ("c", "a", "d", "b"):
        client.request("PUT", f"/v2/api/tags/manifests/{tag}", body,
                       {"Content-Type": OCI_MANIFEST})
    assert client.request("GET", "/v2/api/tags/tags/list").json() == {
        "name": "api/tags", "tags": ["a", "b", "c", "d", "e"]}
    seen, path, pages = [], "/v2/api/tags/tags/list?n=2", 0
    while path:
        r = client.request("GET", path)
        assert r.status == 200
        seen += r.json()["tags"]
        pages += 1
        link = r.headers.get("Link")
        path = link[1:link.index(">")] if link else ""
        if link:
            assert link.endswith('rel="next"')
    assert seen == ["a", "b", "c", "d", "e"] and pages == 3
    assert client.request("GET", "/v2/api/tags/tags/list?n=2&last=b").json()["tags"] == ["c", "d"]
    assert client.request("GET", "/v2/api/tags/tags/list?n=0").json()["tags"] == []
    unknown = client.request("GET", "/v2/api/no-such-repo/tags/list")
    assert unknown.status == 404 and unknown.error_codes == ["NAME_UNKNOWN"]


def test_catalog_lists_repositories_with_pagination(client: Client) -> None:
    for name in ("cat/one", "cat/two", "cat/three"):
        client.push_image(name, "latest")
    repos = client.request("GET", "/v2/_catalog").json()["repositories"]
    assert {"cat/one", "cat/two", "cat/three"} <= set(repos)
    assert repos == sorted(repos)
    first = client.request("GET", "/v2/_catalog?n=1&last=cat/one")
    assert first.json()["repositories"] == ["cat/three"]
    assert "last=cat%2Fthree" in first.headers["Link"]


def test_referrers_api(client: Client) -> None:
    subject = client.push_image("api/refs", "latest", layer=b"subject image")
    subject_size = len(client.request("GET", f"/v2/api/refs/manifests/{subject}").body)
    empty_config = client.push_blob("api/refs", b"{}")
    signature = image_manifest(empty_config, 2, client.push_blob("api/refs", b"sig"), 3, {
        "artifactType": "application/vnd.example.signature",
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size},
        "annotations": {"org.example.kind": "signature"},
    })
    put = client.push_manifest("api/refs", sha256(json.dumps(signature).encode()), signature)
    assert put.status == 201
    assert put.headers["OCI-Subject"] == subject
    sbom = image_manifest(empty_config, 2, client.push_blob("api/refs", b"sbom"), 4, {
        "artifactType": "application/vnd.example.sbom",
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size}})
    assert client.push_manifest("api/refs", "sbom", sbom).status == 201

    r = client.request("GET", f"/v2/api/refs/referrers/{subject}")
    assert r.status == 200
    assert r.headers["Content-Type"] == OCI_INDEX
    index = r.json()
    assert index["mediaType"] == OCI_INDEX
    types = {m["artifactType"] for m in index["manifests"]}
    assert types == {"application/vnd.example.signature", "application/vnd.example.sbom"}
    sig = next(m for m in index["manifests"] if m["digest"] == put.headers["Docker-Content-Digest"])
    assert sig["annotations"] == {"org.example.kind": "signature"}

    filtered = client.request(
        "GET", f"/v2/api/refs/referrers/{subject}?artifactType=application/vnd.example.sbom")
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["artifactType"] for m in filtered.json()["manifests"]] == [
        "application/vnd.example.sbom"]
    none = client.request("GET", f"/v2/api/refs/referrers/{sha256(b'nothing')}")
    assert none.status == 200 and none.json()["manifests"] == []
    assert client.request("GET", "/v2/api/refs/referrers/latest").error_codes == ["DIGEST_INVALID"]

    sbom_digest = sha256(json.dumps(sbom).encode())
    client.request("DELETE", f"/v2/api/refs/manifests/{sbom_digest}")
    left = client.request("GET", f"/v2/api/refs/referrers/{subject}").json()["manifests"]
    assert [m["artifactType"] for m in left] == ["application/vnd.example.signature"]


@pytest.mark.parametrize("path", [
    "/v2/../../etc/blobs/uploads/",
    "/v2/api/../../../tmp/manifests/latest",
    "/v2/%2e%2e/%2e%2e/escape/tags/list",
    "/v2/Upper/Case/tags/list",
    "/v2/a//b/tags/list",
    "/v2/-leading/tags/list",
])
def test_invalid_names_are_rejected(server: RegistryProcess, client: Client, path: str) -> None:
    method = "POST" if path.endswith("uploads/") else "GET"
    r = client.request(method, path)
    assert r.status == 400, (path, r.status, r.body)
    assert r.error_codes == ["NAME_INVALID"]
    assert not (server.root.parent / "etc").exists()
    assert not (server.root / "etc").exists()


def test_concurrent_uploads_of_the_same_blob(server: RegistryProcess, client: Client) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = sha256(data)
    results: list[int] = []

    def push() -> None:
        location = client.request("POST", "/v2/api/race/blobs/uploads/").headers["Location"]
        for offset in range(0, len(data), 1 << 20):
            chunk = data[offset:offset + (1 << 20)]
            r = client.request("PATCH", location, chunk,
                               {"Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
            assert r.status == 202, r.body
        results.append(client.request("PUT", f"{location}?digest={digest}", b"").status)

    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 8
    stored = Path(server.root / "blobs" / "sha256" / digest.split(":")[1])
    assert stored.read_bytes() == data
    assert [f for f in os.listdir(server.root / "blobs" / "sha256") if digest[7:] in f] == [
        digest[7:]]
    assert client.request("GET", f"/v2/api/race/blobs/{digest}").body == data


def test_whole_blob_posts_need_no_session_and_race_safely(server: RegistryProcess,
                                                          client: Client) -> None:
    data = os.urandom(300_000)
    digest = sha256(data)
    results: list[int] = []
    uploads, ingest = server.root / "uploads", server.root / "ingest"
    sessions_before = set(os.listdir(uploads)) if uploads.exists() else set()

    def push(repo: str) -> None:
        r = client.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data,
                           {"Content-Type": "application/octet-stream"})
        results.append(r.status)
        assert r.headers["Location"] == f"/v2/{repo}/blobs/{digest}"

    threads = [threading.Thread(target=push, args=(f"api/whole{i % 3}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 6
    for i in range(3):
        assert client.request("GET", f"/v2/api/whole{i}/blobs/{digest}").body == data
    # no session was opened and no temporary file is left
    assert (set(os.listdir(uploads)) if uploads.exists() else set()) <= sessions_before
    assert not ingest.exists() or os.listdir(ingest) == []
