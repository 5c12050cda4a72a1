"""The build cache: what reuses a step, what invalidates it, and what survives a failure.

Every test builds real images from a locally made busybox in its own engine root and
reads the classic ``--progress plain`` lines (``---> Using cache``) as a user would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import HullEnv
from tests.integration.build_fixtures.helpers import (
    image_files,
    image_output,
    inspect,
    mounts_below,
    snapshot_keys,
    steps,
    write_context,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="builds need root")

APP = {
    "Dockerfile": "FROM busybox\n"
                  "WORKDIR /app\n"
                  "COPY package.json ./\n"
                  "RUN wc -c package.json > /size.txt\n"
                  "COPY . .\n"
                  "EXPOSE 3000\n"
                  'CMD ["cat", "/app/server.js"]\n',
    "package.json": '{"name": "app"}\n',
    "server.js": "console.log('v1')\n",
}


def _build(hull: HullEnv, context: Path, *args: str) -> tuple[str, list[tuple[str, bool]]]:
    out = hull.ok("build", "--progress", "plain", *args, str(context))
    return out, steps(out)


def test_second_build_is_all_cache_hits_with_the_same_image(hull: HullEnv, busybox: str,
                                                            tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    _build(hull, ctx, "-t", "app:1")
    first = inspect(hull, "app:1")["Id"]
    out, second = _build(hull, ctx, "-t", "app:1")
    assert [cached for _, cached in second[1:]] == [True] * 6, out
    assert inspect(hull, "app:1")["Id"] == first
    assert f"Successfully built {first[7:19]}" in out


def test_editing_a_file_rebuilds_from_the_first_step_that_reads_it(
        hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    _build(hull, ctx, "-t", "app:1")
    (ctx / "server.js").write_text("console.log('v2')\n")
    out, result = _build(hull, ctx, "-t", "app:1")
    assert [text for text, cached in result if cached] == [
        "WORKDIR /app", "COPY package.json ./", "RUN wc -c package.json > /size.txt"], out
    assert image_output(hull, "app:1") == "console.log('v2')\n"
    (ctx / "package.json").write_text('{"name": "app", "version": "2"}\n')
    out, result = _build(hull, ctx, "-t", "app:1")
    assert [text for text, cached in result if cached] == ["WORKDIR /app"], out


def test_cache_keys_on_content_not_times(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    _build(hull, ctx, "-t", "app:1")
    later = time.time() + 100
    for name in APP:
        os.utime(ctx / name, (later, later))
    out, result = _build(hull, ctx, "-t", "app:1")
    assert all(cached for _, cached in result[1:]), out


def test_an_ignored_file_does_not_invalidate_copy(hull: HullEnv, busybox: str,
                                                 tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {**APP, ".dockerignore": "*.log\n", "debug.log": "1"})
    _build(hull, ctx, "-t", "app:1")
    (ctx / "debug.log").write_text("2")
    out, result = _build(hull, ctx, "-t", "app:1")
    assert all(cached for _, cached in result[1:]), out
    assert "app/debug.log" not in image_files(hull, "app:1")


def test_no_cache_rebuilds_everything_and_prune_empties_the_cache(
        hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    _build(hull, ctx, "-t", "app:1")
    out, result = _build(hull, ctx, "--no-cache", "-t", "app:1")
    assert not any(cached for _, cached in result), out
    # --no-cache refreshed the entries: a normal build now hits them
    out, result = _build(hull, ctx, "-t", "app:1")
    assert all(cached for _, cached in result[1:]), out
    pruned = hull.ok("builder", "prune", "-f")
    assert "Total reclaimed space:" in pruned
    out, result = _build(hull, ctx, "-t", "app:2")
    assert not any(cached for _, cached in result), out


def test_build_args_are_part_of_the_key(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nARG FLAVOUR=plain\nRUN echo $FLAVOUR > /flavour\n"})
    _build(hull, ctx, "-t", "a")
    out, result = _build(hull, ctx, "-t", "b", "--build-arg", "FLAVOUR=spicy")
    assert result[2] == ("RUN echo $FLAVOUR > /flavour", False), out
    assert image_output(hull, "b", ["cat", "/flavour"]) == "spicy\n"
    out, result = _build(hull, ctx, "-t", "a")
    assert all(cached for _, cached in result[1:]), out
    assert image_output(hull, "a", ["cat", "/flavour"]) == "plain\n"


def test_failed_build_leaves_nothing_behind_and_keeps_succeeded_steps(
        hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nRUN echo one > /one\n"
                      "RUN echo about to fail; echo details >&2; exit 3\nCMD [\"true\"]\n"})
    images_before = hull.ok("images", "-q", "-a")
    proc = hull.run("build", "--progress", "plain", "-t", "broken", str(ctx))
    assert proc.returncode == 1
    assert "Dockerfile:3" in proc.stderr
    assert "returned a non-zero code: 3" in proc.stderr
    assert "details" in proc.stderr  # the command's last output lines
    assert "Traceback" not in proc.stderr
    assert hull.ok("images", "-q", "-a") == images_before
    assert hull.run("image", "inspect", "broken").returncode != 0
    assert hull.ok("ps", "-a", "-q") == ""
    assert mounts_below(hull.root) == [] and mounts_below(hull.run_root) == []
    assert snapshot_keys(hull) == []
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo one > /one\nRUN echo fixed\n")
    out, result = _build(hull, ctx, "-t", "fixed")
    assert result[1] == ("RUN echo one > /one", True), out
    assert result[2] == ("RUN echo fixed", False), out


def test_cache_mount_persists_across_builds_and_stays_out_of_the_image(
        hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nARG N\n"
                      "RUN --mount=type=cache,target=/cache "
                      "echo run-$N >> /cache/log && cat /cache/log > /seen\n"})
    _build(hull, ctx, "-t", "c1", "--build-arg", "N=1")
    _build(hull, ctx, "-t", "c2", "--build-arg", "N=2")
    assert image_output(hull, "c2", ["cat", "/seen"]) == "run-1\nrun-2\n"
    assert "cache/log" not in image_files(hull, "c2")
    hull.ok("builder", "prune", "-f")
    _build(hull, ctx, "-t", "c3", "--build-arg", "N=3")
    assert image_output(hull, "c3", ["cat", "/seen"]) == "run-3\n"


def test_removing_the_image_makes_its_steps_miss_cleanly(hull: HullEnv, busybox: str,
                                                         tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    _build(hull, ctx, "-t", "app:1")
    hull.ok("rmi", "app:1")
    out, result = _build(hull, ctx, "-t", "app:1")
    assert image_output(hull, "app:1") == "console.log('v1')\n", out


def test_unchanged_rebuild_notices_every_kind_of_input_change(hull: HullEnv, busybox: str,
                                                              tmp_path: Path,
                                                              busybox_tar: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    _build(hull, ctx, "-t", "app:1")
    out, result = _build(hull, ctx, "-t", "app:1")  # nothing changed at all
    assert all(cached for _, cached in result[1:]), out
    (ctx / ".dockerignore").write_text("server.js\n")  # a new ignore file hides a file
    out, result = _build(hull, ctx, "-t", "app:1")
    assert [text for text, cached in result if not cached] == [
        "FROM busybox", "COPY . .", "EXPOSE 3000", 'CMD ["cat", "/app/server.js"]'], out
    assert "app/server.js" not in image_files(hull, "app:1")
    (ctx / "extra.txt").write_text("new file\n")  # a new file in a copied directory
    out, result = _build(hull, ctx, "-t", "app:1")
    assert ("COPY . .", False) in result, out
    assert image_files(hull, "app:1")["app/extra.txt"] == b"new file\n"
    hull.ok("import", "-c", "ENV REBASED=1", str(busybox_tar), "busybox:latest")  # new base
    out, result = _build(hull, ctx, "-t", "app:1")
    assert not any(cached for _, cached in result), out
    assert "REBASED=1" in inspect(hull, "app:1")["Config"]["Env"]
    out, result = _build(hull, ctx, "-t", "app:2")  # another tag: same image, all cached
    assert all(cached for _, cached in result[1:]), out
    assert inspect(hull, "app:2")["Id"] == inspect(hull, "app:1")["Id"]


def _start_build_and_wait_for_run(hull: HullEnv, ctx: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "hull", "build", "--progress", "plain",
                             str(ctx)], env=hull.env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Running in" in line:
            time.sleep(0.3)  # the command is running now
            return proc
    raise AssertionError("the build never reached its RUN step")


def _build_containers(hull: HullEnv) -> list[str]:
    directory = hull.run_root / "build" / "runtime" / "builtin"
    return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_an_interrupted_build_leaves_no_container_or_snapshot(hull: HullEnv, busybox: str,
                                                              tmp_path: Path, how: str) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN sleep 60\n"})
    proc = _start_build_and_wait_for_run(hull, ctx)
    assert len(_build_containers(hull)) == 1
    proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert hull.ok("images", "-q") == hull.ok("images", "-q", "busybox")  # no half image
    if how == "sigkill":  # nothing could clean up: the next build does
        hull.ok("build", "-q", str(write_context(tmp_path / "next", {
            "Dockerfile": "FROM busybox\nRUN true\n"})))
    assert _build_containers(hull) == []
    assert snapshot_keys(hull) == []
    assert mounts_below(hull.root) == []


def test_an_unchanged_rebuild_moves_its_tag_back_and_loads_only_the_record(
        hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    _build(hull, ctx, "-t", "app:1")
    built = inspect(hull, "app:1")["Id"]
    hull.ok("tag", "busybox", "app:1")  # the tag now names another image
    assert hull.ok("build", "-q", "-t", "app:1", str(ctx)).strip() == built
    assert inspect(hull, "app:1")["Id"] == built
    # answered from the build record: none of the builder, click or the heavier stdlib
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "hull", "build", "-q",
                           "-t", "app:1", str(ctx)], env=hull.env(), capture_output=True,
                          text=True, check=True)
    assert proc.stdout.strip() == built
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:")}
    assert "hull.build.records" in loaded
    heavy = {"click", "rich", "typing", "re", "json", "dataclasses", "hull.build.executor",
             "hull.build.parser", "hull.image.store"}
    assert not heavy & loaded, sorted(heavy & loaded)


def test_a_file_rewritten_with_its_old_size_and_times_is_noticed(hull: HullEnv, busybox: str,
                                                                 tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", APP)
    time.sleep(1.1)  # old enough for the builder to remember the files' digests
    _build(hull, ctx, "-t", "app:1")
    server = ctx / "server.js"
    before = server.stat()
    server.write_text("console.log('v2')\n")  # same length as v1
    os.utime(server, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert server.stat().st_size == before.st_size
    out, result = _build(hull, ctx, "-t", "app:1")
    assert ("COPY . .", False) in result, out
    assert image_output(hull, "app:1") == "console.log('v2')\n"
