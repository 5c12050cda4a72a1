"""The walkthroughs' Node.js Dockerfiles, built with stand-in base images.

``node:18-alpine`` and ``node:18`` are made from busybox plus the host's Node.js and npm
(see build_fixtures/node_base.py); the apps need no downloads.  The single-stage app's
container must answer HTTP; its second build must be all cache hits, and editing a
source file must rebuild only from ``COPY . .``.  Containers run with ``hull run -p``.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import HullEnv
from tests.integration.build_fixtures import node_base
from tests.integration.build_fixtures.helpers import (
    image_output,
    inspect,
    run_image,
    steps,
)

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="builds need root"),
              pytest.mark.skipif(node_base.unavailable() is not None,
                                 reason=node_base.unavailable() or "")]

FIXTURES = Path(__file__).parent / "build_fixtures"


@pytest.fixture(scope="module")
def node_tar(busybox_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("node") / "node.tar"
    node_base.write_node_rootfs(busybox_tar, out)
    return out


@pytest.fixture
def node_images(hull: HullEnv, node_tar: Path) -> None:
    hull.ok(*node_base.import_args(node_tar, "node:18-alpine"))
    hull.ok(*node_base.import_args(node_tar, "node:18", workdir="/app"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _serve_and_get(hull: HullEnv, image: str) -> str:
    """``hull run -d -p PORT:3000 IMAGE`` (its CMD is npm start); fetch / on the published
    port, as the walkthrough does."""
    port = _free_port()
    container = hull.ok("run", "-d", "-p", f"{port}:3000", image).strip()
    try:
        return _get(f"http://127.0.0.1:{port}/")
    finally:
        hull.run("rm", "-f", container)


def test_node_app_builds_serves_and_rebuilds_from_cache(hull: HullEnv, node_images: None,
                                                        tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "node-app", app)
    out = hull.ok("build", "--progress", "plain", "-t", "my-node-app:v1.0", str(app))
    assert [text for text, _ in steps(out)] == [
        "FROM node:18-alpine", "WORKDIR /app", "COPY package*.json ./", "RUN npm install",
        "COPY . .", "EXPOSE 3000", 'CMD ["npm", "start"]']
    assert "Step 4/7 : RUN npm install" in out
    assert "Successfully tagged my-node-app:v1.0" in out

    history = hull.ok("history", "--format", "{{.CreatedBy}}\t{{.Size}}", "my-node-app:v1.0")
    rows = [line.split("\t") for line in history.splitlines()]
    assert rows[0] == ['CMD ["npm" "start"]', "0B"]
    assert rows[1][0].startswith("EXPOSE") and rows[1][1] == "0B"
    assert rows[2][0].startswith("COPY . .") and rows[2][1] != "0B"
    assert rows[3][0].startswith("RUN /bin/sh -c npm install")
    assert rows[4][0].startswith("COPY package*.json ./") and rows[4][1] != "0B"
    assert rows[5] == ["WORKDIR /app", "0B"]

    config = inspect(hull, "my-node-app:v1.0")["Config"]
    assert config["Cmd"] == ["npm", "start"]
    assert config["WorkingDir"] == "/app"
    assert config["ExposedPorts"] == {"3000/tcp": {}}

    assert _serve_and_get(hull, "my-node-app:v1.0") == "hello hull from v1\n"

    image_id = inspect(hull, "my-node-app:v1.0")["Id"]
    out = hull.ok("build", "--progress", "plain", "-t", "my-node-app:v1.0", str(app))
    assert all(cached for _, cached in steps(out)[1:]), out
    assert inspect(hull, "my-node-app:v1.0")["Id"] == image_id

    server = app / "server.js"
    server.write_text(server.read_text().replace('"v1"', '"v2"'))
    out = hull.ok("build", "--progress", "plain", "-t", "my-node-app:v1.1", str(app))
    assert [cached for _, cached in steps(out)[1:]] == [True, True, True, False, False,
                                                        False], out
    assert _serve_and_get(hull, "my-node-app:v1.1") == "hello hull from v2\n"


def test_multi_stage_walkthrough_copies_node_modules_from_the_builder(
        hull: HullEnv, node_images: None, tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "multistage-app", app)
    out = hull.ok("build", "--progress", "plain", "-t", "my-app:1.2.3", str(app))
    assert "COPY --from=builder /app/node_modules ./node_modules" in out
    image = inspect(hull, "my-app:1.2.3")
    assert image["Config"]["Cmd"] == ["npm", "start"]
    listing = image_output(hull, "my-app:1.2.3", ["ls", "/node_modules/greet"])
    assert listing.split() == ["index.js", "package.json"]
    assert _serve_and_get(hull, "my-app:1.2.3") == "hello hull from v1\n"
    # the builder stage is not part of the result: no npm cache logs, no package-lock in /app
    assert run_image(hull, "my-app:1.2.3", ["ls", "/app"])[0] != 0
