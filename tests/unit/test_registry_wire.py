"""The registry client's HTTP/1.1 layer against a scripted server on a real loopback socket:
framing (length, chunked, end of connection), interim responses, keep-alive reuse and
retry, truncation, and refusal of malformed input in both directions."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable

import pytest

from hull.registry.client.http import HttpClient, RegistryUnreachable

Reply = Callable[[bytes, bytes], bytes | None]  # (request head, request body) -> raw answer


class ScriptedServer:
    """Answers each request with the next scripted raw reply; a reply marked ``closes`` (or
    every reply, with ``close_after_each``) ends its connection."""

    def __init__(self, replies: list[Reply], close_after_each: bool = False) -> None:
        self.replies = list(replies)
        self.close_after_each = close_after_each
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while self.replies:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn, conn.makefile("rb") as reader:
                while self.replies:
                    head = _read_head(reader)
                    if head is None:
                        break
                    body = _read_body(reader, head)
                    self.requests.append((head, body))
                    answer_fn = self.replies.pop(0)
                    answer = answer_fn(head, body)
                    if answer is None:
                        break
                    conn.sendall(answer)
                    if self.close_after_each or getattr(answer_fn, "closes", False):
                        break

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def _read_head(reader: io.BufferedReader) -> bytes | None:
    lines = []
    while True:
        line = reader.readline()
        if not line:
            return None
        lines.append(line)
        if line == b"\r\n":
            return b"".join(lines)


def _header(head: bytes, name: str) -> str | None:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.lower() == name.lower():
            return value.strip()
    return None


def _read_body(reader: io.BufferedReader, head: bytes) -> bytes:
    if (_header(head, "Transfer-Encoding") or "").lower() == "chunked":
        out = b""
        while True:
            size = int(reader.readline().split(b";")[0], 16)
            if not size:
                reader.readline()
                return out
            out += reader.read(size)
            reader.readline()
    length = int(_header(head, "Content-Length") or 0)
    return reader.read(length) if length else b""


def ok(body: bytes, extra: str = "") -> Reply:
    return lambda head, _: (f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
                            .encode() + (b"" if head.startswith(b"HEAD") else body))


def raw(data: bytes, closes: bool = False) -> Reply:
    def reply(head: bytes, body: bytes) -> bytes:
        return data

    reply.closes = closes  # type: ignore[attr-defined]
    return reply


@pytest.fixture
def client():
    http = HttpClient(timeout=10)
    yield http
    http.close()


def test_length_framed_bodies_share_one_kept_alive_connection(client: HttpClient) -> None:
    server = ScriptedServer([ok(b"first"), ok(b"x" * 300_000), ok(b"")])
    try:
        assert client.request("GET", server.url + "/a").read() == b"first"
        response = client.request("GET", server.url + "/b")
        parts = [response.read(100_000) for _ in range(4)]
        assert [len(p) for p in parts] == [100_000, 100_000, 100_000, 0]
        assert client.request("GET", server.url + "/c").read() == b""
        assert server.connections == 1
        head = server.requests[0][0].decode()
        assert head.startswith("GET /a HTTP/1.1\r\n")
        assert f"Host: 127.0.0.1:{server.port}\r\n" in head
    finally:
        server.close()


def test_chunked_body_with_extensions_and_trailers(client: HttpClient) -> None:
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n")
    server = ScriptedServer([raw(answer), ok(b"again")])
    try:
        response = client.request("GET", server.url + "/chunked")
        assert response.read(3) == b"hel"
        assert response.read() == b"lo world"
        assert client.request("GET", server.url + "/next").read() == b"again"
        assert server.connections == 1  # the trailer was consumed; the connection stayed clean
    finally:
        server.close()


def test_body_delimited_by_the_end_of_the_connection(client: HttpClient) -> None:
    server = ScriptedServer([raw(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", closes=True),
                             ok(b"fresh")])
    try:
        response = client.request("GET", server.url + "/eof")
        assert response.read() == b"until the end"
        assert response.will_close
        assert client.request("GET", server.url + "/again").read() == b"fresh"
        assert server.connections == 2
    finally:
        server.close()


def test_interim_responses_are_skipped(client: HttpClient) -> None:
    server = ScriptedServer([raw(b"HTTP/1.1 100 Continue\r\n\r\n"
                                 b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
                                 b"Location: /v2/x\r\n\r\nok")])
    try:
        response = client.request("PUT", server.url + "/put", body=b"data")
        assert response.status == 201
        assert response.header("location") == "/v2/x"
        assert response.read() == b"ok"
        assert server.requests[0][1] == b"data"
    finally:
        server.close()


def test_head_reads_no_body_and_keeps_the_connection(client: HttpClient) -> None:
    server = ScriptedServer([ok(b"0123456789"), ok(b"body")])
    try:
        response = client.request("HEAD", server.url + "/blob")
        assert response.status == 200 and response.header("Content-Length") == "10"
        assert response.read() == b""
        assert client.request("GET", server.url + "/blob").read() == b"body"
        assert server.connections == 1
    finally:
        server.close()


def test_truncated_body_hands_over_what_came_then_fails(client: HttpClient) -> None:
    server = ScriptedServer([raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
                                 closes=True)])
    try:
        response = client.request("GET", server.url + "/cut")
        assert response.read(50) == b"only this"
        with pytest.raises(RegistryUnreachable, match="connection broken"):
            response.read(50)
    finally:
        server.close()


@pytest.mark.parametrize("answer", [
    b"SPDY/3 200 OK\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
])
def test_malformed_responses_are_one_line_errors(client: HttpClient, answer: bytes) -> None:
    server = ScriptedServer([raw(answer, closes=True)])
    try:
        with pytest.raises(RegistryUnreachable) as caught:
            client.request("GET", server.url + "/bad").read()
        assert "\n" not in str(caught.value)
    finally:
        server.close()


def test_malformed_chunk_size_is_an_error(client: HttpClient) -> None:
    server = ScriptedServer([raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"zz\r\nhello\r\n0\r\n\r\n", closes=True)])
    try:
        with pytest.raises(RegistryUnreachable, match="chunk size"):
            client.request("GET", server.url + "/chunks").read()
    finally:
        server.close()


def test_request_splitting_is_refused(client: HttpClient) -> None:
    with pytest.raises(RegistryUnreachable, match="invalid header"):
        client.request("GET", "http://127.0.0.1:9/x", {"X-Bad": "a\r\nInjected: yes"})
    with pytest.raises(RegistryUnreachable, match="invalid character"):
        client.request("GET", "http://127.0.0.1:9/x y")


def test_a_kept_alive_connection_closed_by_the_server_is_retried(client: HttpClient) -> None:
    server = ScriptedServer([ok(b"one"), ok(b"two")], close_after_each=True)
    try:
        assert client.request("GET", server.url + "/1").read() == b"one"
        assert client.request("GET", server.url + "/2").read() == b"two"
        assert server.connections == 2
    finally:
        server.close()


def test_stream_body_without_length_is_sent_chunked(client: HttpClient) -> None:
    server = ScriptedServer([lambda head, body: b"HTTP/1.1 201 Created\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body])
    try:
        payload = bytes(range(256)) * 5000
        response = client.request("PATCH", server.url + "/upload", body=io.BytesIO(payload))
        assert response.read() == payload
        assert _header(server.requests[0][0], "Transfer-Encoding") == "chunked"
    finally:
        server.close()


def test_redirect_to_another_host_drops_the_authorization(client: HttpClient) -> None:
    storage = ScriptedServer([ok(b"blob bytes")])
    registry = ScriptedServer([raw(f"HTTP/1.1 307 Temporary Redirect\r\nContent-Length: 0\r\n"
                                   f"Location: http://localhost:{storage.port}/b\r\n\r\n"
                                   .encode())])
    try:
        response = client.request("GET", registry.url + "/v2/x/blobs/sha256:1",
                                  {"Authorization": "Bearer secret"})
        assert response.read() == b"blob bytes"
        assert _header(registry.requests[0][0], "Authorization") == "Bearer secret"
        assert _header(storage.requests[0][0], "Authorization") is None
    finally:
        storage.close()
        registry.close()


def test_connection_refused_is_one_line(client: HttpClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RegistryUnreachable, match="connection refused"):
        client.request("GET", f"http://127.0.0.1:{port}/v2/")


def test_https_verifies_the_server_and_keeps_the_connection(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import ssl
    import subprocess
    from http.server import BaseHTTPRequestHandler, HTTPServer

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True,
                   capture_output=True)
    connections: list[object] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            connections.append(self.request)
            super().setup()

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = b"tls " * 50_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://localhost:{server.server_address[1]}/v2/"
    try:
        untrusting = HttpClient(timeout=10)
        with pytest.raises(RegistryUnreachable, match="TLS failed: .*certificate verify failed"):
            untrusting.request("GET", url)
        trusting = HttpClient(timeout=10, ssl_context=ssl.create_default_context(cafile=cert))
        try:
            for _ in range(2):
                response = trusting.request("GET", url)
                assert response.status == 200 and response.read() == b"tls " * 50_000
        finally:
            trusting.close()
        assert len(connections) == 1  # both requests went over one kept-alive connection
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
