"""Server options and lifecycle: Basic auth, pull-only users, read-only mode, restarts,
clean shutdown and one-line errors for bad options."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.test_registry_server_support import (
    REPO,
    RegistryProcess,
    running_registry,
    sha256,
    write_htpasswd,
)


def test_basic_auth_challenge_and_credentials(tmp_path: Path) -> None:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    with running_registry(tmp_path / "root", "--htpasswd", str(htpasswd),
                          "--realm", "test-realm") as srv:
        anonymous = srv.client().request("GET", "/v2/")
        assert anonymous.status == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="test-realm"'
        assert anonymous.error_codes == ["UNAUTHORIZED"]
        wrong = srv.client(("alice", "nope")).request("GET", "/v2/")
        assert wrong.status == 401
        unknown_user = srv.client(("mallory", "s3cret")).request("GET", "/v2/_catalog")
        assert unknown_user.status == 401
        alice = srv.client(("alice", "s3cret"))
        assert alice.request("GET", "/v2/").status == 200
        digest = alice.push_blob("auth/repo", b"private")
        assert srv.client().request("GET", f"/v2/auth/repo/blobs/{digest}").status == 401
        assert alice.request("GET", f"/v2/auth/repo/blobs/{digest}").body == b"private"
        assert ' alice "PUT' in srv.log_text() or ' alice "POST' in srv.log_text()


def test_pull_only_user_is_denied_writes(tmp_path: Path) -> None:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"admin": "a", "reader": "r"})
    with running_registry(tmp_path / "root", "--htpasswd", str(htpasswd),
                          "--pull-only", "reader") as srv:
        admin_digest = srv.client(("admin", "a")).push_image("shared/app", "v1")
        reader = srv.client(("reader", "r"))
        assert reader.request("GET", "/v2/shared/app/manifests/v1").status == 200
        denied = reader.request("POST", "/v2/shared/app/blobs/uploads/")
        assert denied.status == 403 and denied.error_codes == ["DENIED"]
        gone = reader.request("DELETE", f"/v2/shared/app/manifests/{admin_digest}")
        assert gone.status == 403
        assert reader.request("GET", "/v2/shared/app/manifests/v1").status == 200


def test_read_only_mode_serves_but_refuses_writes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with running_registry(root) as srv:
        digest = srv.client().push_image("ro/app", "v1", layer=b"read only layer")
        location = srv.client().request("POST", "/v2/ro/app/blobs/uploads/").headers["Location"]
    with running_registry(root, "--read-only") as srv:
        c = srv.client()
        assert c.request("GET", "/v2/ro/app/manifests/v1").status == 200
        assert c.request("GET", "/v2/ro/app/tags/list").json()["tags"] == ["v1"]
        attempts = [
            c.request("POST", "/v2/ro/app/blobs/uploads/"),
            c.request("PATCH", location, b"x"),
            c.request("PUT", f"{location}?digest={sha256(b'x')}", b"x"),
            c.request("DELETE", location),
            c.request("PUT", "/v2/ro/app/manifests/v2", b"{}"),
            c.request("DELETE", f"/v2/ro/app/manifests/{digest}"),
        ]
        assert [(r.status, r.error_codes) for r in attempts] == [(405, ["UNSUPPORTED"])] * 6
        assert c.request("GET", f"/v2/ro/app/manifests/{digest}").status == 200


def test_upload_survives_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "root"
    data = os.urandom(200_000)
    with running_registry(root) as srv:
        location = srv.client().request("POST", "/v2/resume/app/blobs/uploads/").headers["Location"]
        srv.client().request("PATCH", location, data[:100_000], {"Content-Range": "0-99999"})
    with running_registry(root) as srv:
        c = srv.client()
        assert c.request("GET", location).headers["Range"] == "0-99999"
        c.request("PATCH", location, data[100_000:], {"Content-Range": "100000-199999"})
        assert c.request("PUT", f"{location}?digest={sha256(data)}", b"").status == 201
        assert c.request("GET", f"/v2/resume/app/blobs/{sha256(data)}").body == data


def test_sigterm_stops_cleanly_and_logs_requests(tmp_path: Path) -> None:
    srv = RegistryProcess(tmp_path / "root")
    assert srv.banner == f"Listening on http://127.0.0.1:{srv.port}"
    srv.client().request("GET", "/v2/_catalog")
    assert srv.stop() == 0
    lines = [line for line in srv.log_text().splitlines() if "_catalog" in line]
    assert len(lines) == 1 and '"GET /v2/_catalog" 200' in lines[0]
    assert "Traceback" not in srv.log_text()


def _hull(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hull", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=30)


def test_bad_options_give_one_line_errors(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    bad_addr = _hull("registry", "serve", "--addr", "localhost", "--root", root)
    assert bad_addr.returncode != 0
    assert bad_addr.stderr.strip().splitlines() == [
        "Error: invalid address 'localhost': expected HOST:PORT"]
    missing = _hull("registry", "serve", "--addr", "127.0.0.1:0", "--root", root,
                    "--htpasswd", str(tmp_path / "missing"))
    assert missing.returncode != 0
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "cannot read htpasswd file" in missing.stderr
    plain = tmp_path / "plain"
    plain.write_text("alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n")
    unsupported = _hull("registry", "serve", "--root", root, "--htpasswd", str(plain))
    assert unsupported.returncode != 0 and "only bcrypt entries" in unsupported.stderr
    with running_registry(tmp_path / "busy") as srv:
        taken = _hull("registry", "serve", "--addr", srv.address, "--root", root)
        assert taken.returncode != 0
        assert taken.stderr.strip().splitlines() == [
            f"Error: cannot listen on {srv.address}: address already in use"]


def test_killed_mid_upload_leaves_no_blob_and_a_resumable_session(tmp_path: Path) -> None:
    root = tmp_path / "root"
    data = os.urandom(4 * 1024 * 1024)
    digest = sha256(data)
    srv = RegistryProcess(root)
    try:
        location = srv.client().request("POST", "/v2/crash/app/blobs/uploads/").headers["Location"]
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\n"
                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:1_000_000])
            time.sleep(0.5)
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
    finally:
        srv.stop()
    assert not (root / "blobs" / "sha256" / digest[7:]).exists()
    with running_registry(root) as srv:
        c = srv.client()
        status = c.request("GET", location)
        assert status.status == 204
        range_end = int(status.headers["Range"].split("-")[1])
        have = range_end + 1 if range_end else 0  # "0-0" is what an empty upload reports
        assert have <= 1_000_000
        c.request("PATCH", location, data[have:], {"Content-Range": f"{have}-{len(data) - 1}"})
        assert c.request("PUT", f"{location}?digest={digest}", b"").status == 201
        assert c.request("GET", f"/v2/crash/app/blobs/{digest}").body == data
