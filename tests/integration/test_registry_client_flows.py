"""The I/O-free parts of the client: challenge parsing, the token flow's decisions,
credential file lookups and the choice between HTTPS and plain HTTP.  (No root or
network needed; they live with the other client tests.)"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hull.errors import InvalidArgument
from hull.registry.auth import Authenticator, Credentials, Unauthorized, parse_challenges
from hull.registry.client.endpoint import endpoint_for
from hull.registry.credentials import DOCKER_HUB_SERVER, CredentialStore, server_key

PULL = ["repository:team/app:pull"]
PUSH = ["repository:team/app:pull,push"]
BEARER = 'Bearer realm="https://auth.example/token",service="registry.example"'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_parse_challenges() -> None:
    [c] = parse_challenges('Bearer realm="https://a/token",service="reg",'
                           'scope="repository:x:pull,push"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://a/token", "service": "reg",
                        "scope": "repository:x:pull,push"}
    both = parse_challenges('Basic realm="hull", Bearer realm="r\\"q", error=insufficient_scope')
    assert [c.scheme for c in both] == ["basic", "bearer"]
    assert both[1].params == {"realm": 'r"q', "error": "insufficient_scope"}
    assert parse_challenges("") == []


def test_basic_flow() -> None:
    auth = Authenticator(Credentials("u", "p"), "reg")
    assert auth.header(PULL) is None  # nothing known before a challenge
    assert auth.unauthorized('Basic realm="x"', PULL, None) is True
    assert auth.header(PULL) == "Basic " + base64.b64encode(b"u:p").decode()
    assert auth.token_request(PULL) is None
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        auth.unauthorized('Basic realm="x"', PULL, auth.header(PULL))
    anonymous = Authenticator(None, "reg")
    with pytest.raises(Unauthorized, match="hull login reg"):
        anonymous.unauthorized('Basic realm="x"', PULL, None)


def test_bearer_token_is_reused_until_expiry_then_renewed() -> None:
    clock = Clock()
    auth = Authenticator(Credentials("u", "p"), "reg", clock=clock)
    auth.unauthorized(BEARER, PUSH, None)
    request = auth.token_request(PUSH)
    assert request is not None and request.method == "GET"
    query = parse_qs(urlsplit(request.url).query)
    assert query == {"service": ["registry.example"], "scope": PUSH, "account": ["u"]}
    assert request.headers["Authorization"].startswith("Basic ")
    auth.accept_token(request, PUSH, 200, json.dumps({"token": "t1", "expires_in": 300}).encode())
    assert auth.header(PUSH) == "Bearer t1"
    assert auth.header(PULL) == "Bearer t1"  # a pull,push token covers pull
    assert auth.token_request(PULL) is None
    clock.now += 296  # within the safety margin of expiry: renew
    assert auth.token_request(PUSH) is not None
    clock.now -= 296
    # a 401 for a token we sent drops it: the next request fetches a fresh one
    assert auth.unauthorized(BEARER, PUSH, "Bearer t1") is True
    assert auth.header(PUSH) is None and auth.token_request(PUSH) is not None


def test_bearer_insufficient_scope_widens_the_next_token_request() -> None:
    auth = Authenticator(None, "reg", clock=Clock())
    auth.unauthorized(BEARER, PULL, None)
    request = auth.token_request(PULL)
    auth.accept_token(request, PULL, 200, b'{"access_token": "a"}')
    auth.unauthorized(BEARER + ',scope="repository:base/lib:pull"', PULL, "Bearer a")
    request = auth.token_request(PULL)
    assert request is not None
    scopes = parse_qs(urlsplit(request.url).query)["scope"]
    assert scopes == ["repository:base/lib:pull", "repository:team/app:pull"]
    assert "Authorization" not in request.headers  # anonymous


def test_identity_token_uses_the_oauth2_refresh_grant() -> None:
    auth = Authenticator(Credentials(identity_token="refresh-me"), "reg")
    auth.unauthorized(BEARER, PULL, None)
    request = auth.token_request(PULL)
    assert request is not None and request.method == "POST"
    form = parse_qs(request.body.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["refresh-me"]
    assert form["scope"] == PULL and form["service"] == ["registry.example"]


def test_token_server_refusal_and_garbage() -> None:
    auth = Authenticator(Credentials("u", "bad"), "reg")
    auth.unauthorized(BEARER, PULL, None)
    request = auth.token_request(PULL)
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        auth.accept_token(request, PULL, 401, b"")
    with pytest.raises(Unauthorized, match="malformed"):
        auth.accept_token(request, PULL, 200, b"<html>")
    with pytest.raises(Unauthorized, match="no token"):
        auth.accept_token(request, PULL, 200, b"{}")


def test_credentials_lookup_order_and_spellings(tmp_path: Path) -> None:
    hull_file, docker_file = tmp_path / "hull.json", tmp_path / "docker.json"
    auth = base64.b64encode(b"dock:er").decode()
    docker_file.write_text(json.dumps({"auths": {
        "https://reg.example:5000/v2/": {"auth": auth},
        DOCKER_HUB_SERVER: {"auth": base64.b64encode(b"hub:user").decode()}}}))
    store = CredentialStore(str(hull_file), str(docker_file))
    assert store.get("reg.example:5000") == Credentials("dock", "er")
    assert store.get("docker.io") == Credentials("hub", "user")
    assert store.get("other.example") is None
    store.store("reg.example:5000", Credentials("mine", "pw"))
    assert store.get("reg.example:5000") == Credentials("mine", "pw")  # hull's file first
    assert store.source_of("reg.example:5000") == str(hull_file)
    assert store.erase("reg.example:5000") is True
    assert store.get("reg.example:5000") == Credentials("dock", "er")
    assert store.erase("reg.example:5000") is False  # Docker's file is never written


def test_bad_config_files_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        CredentialStore(str(bad), str(tmp_path / "none.json")).get("x.example")
    bad.write_text(json.dumps({"auths": {"x.example": {"auth": "!!!"}}}))
    with pytest.raises(InvalidArgument, match="not valid base64"):
        CredentialStore(str(bad), str(tmp_path / "none.json")).get("x.example")


def test_server_keys() -> None:
    assert server_key("docker.io") == DOCKER_HUB_SERVER
    assert server_key("https://index.docker.io/v1/") == DOCKER_HUB_SERVER
    assert server_key("http://Reg.Example:5000/v2/") == "reg.example:5000"


def test_plain_http_only_for_loopback_and_configured_registries() -> None:
    for host in ("localhost:5000", "127.0.0.1:5000", "127.8.9.10", "[::1]:5000"):
        assert endpoint_for(host).scheme == "http", host
    assert endpoint_for("reg.example:5000").scheme == "https"
    assert endpoint_for("reg.example:5000", ["reg.example:5000"]).scheme == "http"
    assert endpoint_for("10.1.2.3:5000", ["10.0.0.0/8"]).scheme == "http"
    assert endpoint_for("11.1.2.3:5000", ["10.0.0.0/8"]).scheme == "https"
    hub = endpoint_for("docker.io")
    assert (hub.scheme, hub.host) == ("https", "registry-1.docker.io")
