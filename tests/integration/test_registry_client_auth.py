"""login / logout and authenticated pull and push: Basic (htpasswd on hull's server),
the Bearer token flow (a token server written for the tests), Docker's config file and
credential helpers."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HullEnv
from tests.integration.test_registry_client_support import (
    TokenServer,
    install_helper,
    layers_image,
)
from tests.integration.test_registry_server_support import (
    RegistryProcess,
    running_registry,
    write_htpasswd,
)

USERS = {"alice": "s3cret-pw"}


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[RegistryProcess]:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", USERS)
    with running_registry(tmp_path / "registry", "--htpasswd", str(htpasswd)) as server:
        yield server


@pytest.fixture
def open_registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    with running_registry(tmp_path / "open-registry") as server:
        yield server


def test_basic_auth_login_push_pull_logout(hull: HullEnv, busybox: str,
                                           secured: RegistryProcess, private_config: Path
                                           ) -> None:
    ref = f"{secured.address}/private/bb:v1"
    hull.ok("tag", "busybox", ref)
    anonymous = hull.run("push", ref)
    assert anonymous.returncode != 0
    assert f"hull login {secured.address}" in anonymous.stderr
    assert len(anonymous.stderr.strip().splitlines()) == 1

    wrong = hull.run("login", "-u", "alice", "-p", "nope", secured.address)
    assert wrong.returncode != 0
    assert "incorrect username or password" in wrong.stderr
    assert not private_config.exists()  # nothing stored for a failed login

    good = hull.run("login", "-u", "alice", "--password-stdin", secured.address,
                    input=USERS["alice"] + "\n")
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "Login Succeeded"
    doc = json.loads(private_config.read_text())
    entry = doc["auths"][secured.address]
    assert base64.b64decode(entry["auth"]).decode() == f"alice:{USERS['alice']}"
    assert oct(private_config.stat().st_mode & 0o777) == "0o600"

    assert hull.run("push", ref).returncode == 0
    hull.ok("rmi", ref, "busybox")
    assert hull.ok("pull", "-q", ref).strip() == ref
    assert hull.ok("images", "-q", "--no-trunc").split() == [busybox]

    assert hull.ok("logout", secured.address).strip() == (
        f"Removing login credentials for {secured.address}")
    assert secured.address not in json.loads(private_config.read_text())["auths"]
    assert hull.ok("logout", secured.address).strip() == f"Not logged in to {secured.address}"
    assert hull.run("pull", ref).returncode != 0


def test_login_needs_a_terminal_or_flags(hull: HullEnv, secured: RegistryProcess) -> None:
    proc = hull.run("login", secured.address, input="")
    assert proc.returncode != 0
    assert "non TTY" in proc.stderr
    proc = hull.run("login", "--password-stdin", secured.address, input="x")
    assert proc.returncode != 0 and "--username" in proc.stderr


def test_docker_config_is_read_when_hull_has_no_entry(hull: HullEnv, busybox: str,
                                                      secured: RegistryProcess,
                                                      tmp_path: Path) -> None:
    docker_dir = tmp_path / "docker-config"
    docker_dir.mkdir()
    token = base64.b64encode(f"alice:{USERS['alice']}".encode()).decode()
    (docker_dir / "config.json").write_text(json.dumps(
        {"auths": {f"http://{secured.address}": {"auth": token}}}))
    ref = f"{secured.address}/from-docker:v1"
    hull.ok("tag", "busybox", ref)
    assert hull.run("push", ref).returncode == 0


def test_credential_helper_stores_gets_and_erases(hull: HullEnv, busybox: str,
                                                  secured: RegistryProcess, tmp_path: Path,
                                                  private_config: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    install_helper(bin_dir)
    store = tmp_path / "helper-store.json"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("HULLTEST_HELPER_STORE", str(store))
    private_config.write_text(json.dumps({"credHelpers": {secured.address: "hulltest"}}))

    out = hull.run("login", "-u", "alice", "-p", USERS["alice"], secured.address)
    assert out.returncode == 0, out.stderr
    assert "unencrypted" not in out.stderr
    assert json.loads(store.read_text())[secured.address] == {
        "Username": "alice", "Secret": USERS["alice"]}
    assert json.loads(private_config.read_text())["auths"][secured.address] == {}

    ref = f"{secured.address}/helper:v1"
    hull.ok("tag", "busybox", ref)
    assert hull.run("push", ref).returncode == 0

    hull.ok("logout", secured.address)
    assert secured.address not in json.loads(store.read_text())
    assert hull.run("push", ref).returncode != 0


def test_bearer_token_flow_reuses_and_refreshes_tokens(hull: HullEnv, tmp_path: Path,
                                                       open_registry: RegistryProcess) -> None:
    tokens = TokenServer(users=USERS, max_uses=4)
    with tokens.start(open_registry.address) as gate:
        ref = f"{gate.address}/team/app:v1"
        hull.ok("load", "-i", str(layers_image(tmp_path, 4, ref)))
        denied = hull.run("push", ref)
        assert denied.returncode != 0
        assert "incorrect username or password" in denied.stderr or (
            "unauthorized" in denied.stderr)
        wrong = hull.run("login", "-u", "alice", "-p", "wrong", gate.address)
        assert wrong.returncode != 0 and "incorrect username or password" in wrong.stderr
        hull.ok("login", "-u", "alice", "-p", USERS["alice"], gate.address)

        tokens.token_requests.clear()
        push = hull.run("push", ref)
        assert push.returncode == 0, push.stderr
        requests = len(tokens.token_requests)
        # tokens are reused across requests, and renewed when the gate stops honouring them
        registry_requests = [s for s in gate.seen if s.path.startswith("/v2/")]
        assert 1 < requests < len(registry_requests) / 2
        scopes = {s for q in tokens.token_requests for s in q.get("scope", [])}
        assert "repository:team/app:pull,push" in scopes
        assert all(q.get("account") == ["alice"] for q in tokens.token_requests)

        fresh = HullEnv(root=hull.root.parent / "fresh-root", run_root=hull.run_root)
        pulled = fresh.run("pull", ref)
        assert pulled.returncode == 0, pulled.stderr
        assert fresh.ok("images", "-q", "--no-trunc") == hull.ok("images", "-q", "--no-trunc")


def test_anonymous_bearer_tokens(hull: HullEnv, busybox: str,
                                 open_registry: RegistryProcess) -> None:
    """A registry that hands out tokens to anyone (like Docker Hub for public images)."""
    tokens = TokenServer(users={})
    with tokens.start(open_registry.address) as gate:
        ref = f"{gate.address}/public/bb:v1"
        hull.ok("tag", "busybox", ref)
        assert hull.run("push", ref).returncode == 0
        assert tokens.token_requests and "account" not in tokens.token_requests[0]
