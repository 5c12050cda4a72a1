"""``hull build`` as a user drives it: contexts, flags, stages, mounts, files and errors."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import HullEnv
from tests.integration.build_fixtures.helpers import (
    image_files,
    image_output,
    inspect,
    layer_blobs,
    mounts_below,
    snapshot_keys,
    steps,
    write_context,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="builds need root")


def _tar_of(directory: Path, gzip: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gzip else "w") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return buf.getvalue()


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip()


# ---- contexts and Dockerfiles --------------------------------------------------------------

def test_context_from_a_tar_file_and_from_stdin(hull: HullEnv, busybox: str,
                                                tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nCOPY hello.txt /\n", "hello.txt": "from tar\n"})
    archive = tmp_path / "ctx.tar.gz"
    archive.write_bytes(_tar_of(ctx, gzip=True))
    hull.ok("build", "-q", "-t", "fromfile", str(archive))
    assert image_files(hull, "fromfile")["hello.txt"] == b"from tar\n"
    out = hull.run_bytes("build", "-q", "-t", "fromstdin", "-", input=_tar_of(ctx))
    assert out.returncode == 0, out.stderr
    assert image_files(hull, "fromstdin")["hello.txt"] == b"from tar\n"


def test_dockerfile_on_stdin_with_and_without_context(hull: HullEnv, busybox: str,
                                                      tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"data.txt": "ctx data\n"})
    hull.ok("build", "-q", "-t", "a", "-f", "-", str(ctx),
            input="FROM busybox\nCOPY data.txt /\n")
    assert image_files(hull, "a")["data.txt"] == b"ctx data\n"
    hull.ok("build", "-q", "-t", "b", "-", input="FROM busybox\nRUN echo no-context > /n\n")
    assert image_output(hull, "b", ["cat", "/n"]) == "no-context\n"
    err = _error(hull.run("build", "-t", "c", "-", input="FROM busybox\nCOPY x /x\n"))
    assert "needs a build context" in err


def test_dockerfile_outside_the_context_and_its_own_dockerignore(
        hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"keep.txt": "k", "skip.txt": "s",
                                           ".dockerignore": "keep.txt\n"})
    dockerfile = write_context(tmp_path / "df", {
        "app.Dockerfile": "FROM busybox\nCOPY . /ctx/\n"}) / "app.Dockerfile"
    hull.ok("build", "-q", "-t", "d", "-f", str(dockerfile), str(ctx))
    files = image_files(hull, "d")
    assert "ctx/keep.txt" not in files and "ctx/skip.txt" in files  # the context's rules
    local = ctx / "local.Dockerfile"
    local.write_text("FROM busybox\nCOPY . /ctx/\n")
    (ctx / "local.Dockerfile.dockerignore").write_text("skip.txt\n")
    hull.ok("build", "-q", "-t", "e", "-f", str(local), str(ctx))
    files = image_files(hull, "e")
    assert "ctx/keep.txt" in files and "ctx/skip.txt" not in files  # the Dockerfile's own


def test_quiet_iidfile_and_several_tags(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nLABEL v=1\n"})
    iid = tmp_path / "iid"
    out = hull.ok("build", "-q", "--iidfile", str(iid), "-t", "one:a", "-t", "two", str(ctx))
    image_id = out.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    assert iid.read_text() == image_id
    assert sorted(inspect(hull, image_id)["RepoTags"]) == ["one:a", "two:latest"]
    plain = hull.ok("build", "--progress", "plain", "-t", "one:a", str(ctx))
    assert f"Successfully built {image_id[7:19]}" in plain
    assert "Successfully tagged one:a" in plain


def test_tty_progress_shows_steps_and_cache(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo hi > /hi\n"})
    hull.ok("build", "-q", str(ctx))
    out = hull.ok("build", "--progress", "tty", "-t", "t", str(ctx))
    assert "RUN echo hi > /hi" in out and "CACHED" in out
    assert "naming to t:latest" in out


# ---- stages ----------------------------------------------------------------------------------

MULTI = """\
FROM busybox AS a
RUN sleep 1; cut -d' ' -f1 /proc/uptime > /a-end; echo a > /a
FROM busybox AS b
RUN cut -d' ' -f1 /proc/uptime > /b-start; sleep 1; echo b > /b
FROM busybox AS broken
RUN exit 1
FROM busybox
COPY --from=a /a /a-end /
COPY --from=b /b /b-start /
COPY --from=0 /a /zero
"""


def test_only_needed_stages_build_and_independent_ones_in_parallel(
        hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": MULTI})
    out = hull.ok("build", "--progress", "plain", "-t", "m", str(ctx))
    assert "RUN exit 1" not in out  # the unused stage is not built
    files = image_files(hull, "m")
    assert files["a"] == b"a\n" and files["b"] == b"b\n" and files["zero"] == b"a\n"
    a_end = float(files["a-end"] or 0)
    b_start = float(files["b-start"] or 0)
    assert b_start < a_end, "stages a and b did not overlap"
    out = hull.ok("build", "--progress", "plain", "--target", "b", "-t", "onlyb", str(ctx))
    assert [text for text, _ in steps(out)] == [
        "FROM busybox AS b", "RUN cut -d' ' -f1 /proc/uptime > /b-start; sleep 1; echo b > /b"]
    err = _error(hull.run("build", "--target", "broken", str(ctx)))
    assert "Dockerfile:6" in err and "returned a non-zero code: 1" in err
    err = _error(hull.run("build", "--target", "nope", str(ctx)))
    assert "target stage" in err and "nope" in err


def test_copy_from_an_image_and_onbuild_base(hull: HullEnv, busybox: str,
                                            tmp_path: Path) -> None:
    base = write_context(tmp_path / "base", {
        "Dockerfile": "FROM busybox\nONBUILD COPY marker /marker\nONBUILD RUN echo ran > /ran\n"})
    hull.ok("build", "-q", "-t", "mybase", str(base))
    child = write_context(tmp_path / "child", {
        "Dockerfile": "FROM mybase\nCOPY --from=busybox:latest /bin/busybox /copied-busybox\n",
        "marker": "m\n"})
    out = hull.ok("build", "--progress", "plain", "-t", "child", str(child))
    assert "# Executing 2 build triggers" in out
    files = image_files(hull, "child")
    assert files["marker"] == b"m\n" and files["ran"] == b"ran\n"
    assert files["copied-busybox"] == Path("/bin/busybox").read_bytes()
    assert inspect(hull, "child")["Config"]["OnBuild"] is None


# ---- COPY and ADD ------------------------------------------------------------------------------

def test_copy_rules_ownership_modes_and_add_archives(hull: HullEnv, busybox: str,
                                                     tmp_path: Path) -> None:
    inner = write_context(tmp_path / "inner", {"pkg/a.txt": "A", "pkg/sub/b.txt": "B"})
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\n"
                      "COPY dir /copied/\n"
                      "COPY dir/one.txt /renamed.txt\n"
                      "COPY *.md /docs/\n"
                      "COPY --chown=www-data:www-data --chmod=0600 dir/one.txt /owned\n"
                      "COPY --chown=33 dir/one.txt /owned-by-uid\n"
                      "ADD bundle.tar.gz /unpacked/\n"
                      "ADD plain.txt /added.txt\n"
                      "WORKDIR /rel\n"
                      "COPY dir/one.txt sub/\n",
        "dir/one.txt": "1", "dir/nested/two.txt": "2", "x.md": "x", "y.md": "y",
        "plain.txt": "p"})
    (ctx / "bundle.tar.gz").write_bytes(_tar_of(inner, gzip=True))
    hull.ok("build", "-q", "-t", "c", str(ctx))
    files = image_files(hull, "c")
    assert files["copied/one.txt"] == b"1" and files["copied/nested/two.txt"] == b"2"
    assert "copied/dir" not in files
    assert files["renamed.txt"] == b"1"
    assert files["docs/x.md"] == b"x" and files["docs/y.md"] == b"y"
    assert files["unpacked/pkg/sub/b.txt"] == b"B"
    assert files["added.txt"] == b"p"
    assert files["rel/sub/one.txt"] == b"1"
    listing = image_output(hull, "c", ["ls", "-ln", "/owned", "/owned-by-uid", "/renamed.txt"])
    modes = {line.split()[-1]: line.split()[:4] for line in listing.splitlines()}
    assert modes["/owned"][0] == "-rw-------" and modes["/owned"][2:4] == ["33", "33"]
    assert modes["/owned-by-uid"][2:4] == ["33", "33"]
    assert modes["/renamed.txt"][2:4] == ["0", "0"]


@pytest.mark.parametrize("dockerfile, files, expected", [
    ("FROM busybox\nCOPY missing.txt /\n", {}, "Dockerfile:2"),
    ("FROM busybox\nCOPY secret.txt /\n", {".dockerignore": "secret.txt", "secret.txt": "s"},
     "excluded by .dockerignore"),
    ("FROM busybox\nCOPY a.txt b.txt /dest\n", {"a.txt": "a", "b.txt": "b"},
     "must be a directory and end with a /"),
    ("FROM busybox\nADD https://example.com/x.tgz /x\n", {}, "no network access"),
    ("FROM busybox\nFOO bar\n", {}, "Dockerfile:2: unknown instruction: FOO"),
    ("FROM busybox\nSHELL /bin/bash -c\n", {}, "Dockerfile:2: SHELL requires the arguments "
     "to be in JSON form"),
    ("FROM nosuchimage:1\n", {}, "nosuchimage"),
    ("FROM busybox\nUSER nobody-here\nRUN true\n", {}, "unable to find user nobody-here"),
    ("FROM busybox\nRUN no-such-command\n", {}, "returned a non-zero code: 127"),
])
def test_errors_name_the_line_and_leave_nothing(hull: HullEnv, busybox: str, tmp_path: Path,
                                                dockerfile: str, files: dict[str, str],
                                                expected: str) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": dockerfile, **files})
    images_before = hull.ok("images", "-q", "-a")
    err = _error(hull.run("build", "--progress", "plain", "-t", "bad", str(ctx)))
    assert expected in err
    assert hull.ok("images", "-q", "-a") == images_before
    assert mounts_below(hull.root) == [] and snapshot_keys(hull) == []


# ---- RUN -------------------------------------------------------------------------------------

def test_secret_is_readable_in_run_and_never_in_the_image(hull: HullEnv, busybox: str,
                                                          tmp_path: Path) -> None:
    secret = tmp_path / "token.txt"
    secret.write_text("s3cr3t-value")
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\n"
                      "RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /len\n"
                      "RUN --mount=type=secret,id=token,target=/etc/tok,required "
                      "md5sum /etc/tok | cut -c1-32 > /sum\n"})
    hull.ok("build", "-q", "-t", "s", "--secret", f"id=token,src={secret}", str(ctx))
    files = image_files(hull, "s")
    assert files["len"] == b"12\n"
    import hashlib

    assert files["sum"] == hashlib.md5(b"s3cr3t-value").hexdigest().encode() + b"\n"
    assert not any(name.startswith(("run/secrets", "etc/tok")) for name in files)
    assert all(b"s3cr3t-value" not in blob for blob in layer_blobs(hull, "s"))
    (ctx / "Dockerfile").write_text("FROM busybox\n"
                                    "RUN --mount=type=secret,id=token,required true\n")
    err = _error(hull.run("build", str(ctx)))
    assert "Dockerfile:2" in err and "secret token not found" in err


def test_network_modes_and_run_environment(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\n"
                      "RUN --network=none cat /proc/net/dev | tail -n +3 | wc -l > /none-links\n"
                      "RUN --network=host cat /proc/net/dev | tail -n +3 | wc -l > /host-links\n"
                      "ARG BUILT_BY=hull\n"
                      "RUN echo $BUILT_BY:$HOME:$(id -u):$(pwd) > /env\n"
                      "USER www-data\n"
                      "RUN id -un > /tmp/who\n"})
    hull.ok("build", "-q", "-t", "n", str(ctx))
    files = image_files(hull, "n")
    assert files["none-links"] == b"1\n"  # only lo
    assert int(files["host-links"] or 0) > 1  # the host's interfaces, not only lo
    assert files["env"] == b"hull:/root:0:/\n"
    assert files["tmp/who"] == b"www-data\n"
    assert "BUILT_BY=hull" not in " ".join(inspect(hull, "n")["Config"]["Env"] or [])


def test_run_that_changes_nothing_adds_no_layer(hull: HullEnv, busybox: str,
                                                tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN true\n"
                                                         "RUN --mount=type=tmpfs,target=/scratch "
                                                         "echo x > /scratch/f\n"})
    hull.ok("build", "-q", "-t", "e", str(ctx))
    image = inspect(hull, "e")
    assert len(image["RootFS"]["Layers"]) == len(inspect(hull, "busybox")["RootFS"]["Layers"])
    rows = hull.ok("history", "--format", "{{.Size}}", "e").split()
    assert rows[:2] == ["0B", "0B"]


def test_bind_mounts_from_the_context_and_a_stage(hull: HullEnv, busybox: str,
                                                  tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox AS tools\nRUN echo tool > /tool.txt\n"
                      "FROM busybox\n"
                      "RUN --mount=type=bind,source=src,target=/src cat /src/in.txt > /from-ctx\n"
                      "RUN --mount=type=bind,from=tools,source=/tool.txt,target=/t/tool.txt "
                      "cat /t/tool.txt > /from-stage\n"
                      "RUN --mount=type=bind,source=src,target=/w,rw "
                      "echo scribble > /w/in.txt && cat /w/in.txt > /scribbled\n",
        "src/in.txt": "context file\n"})
    hull.ok("build", "-q", "-t", "bind", str(ctx))
    files = image_files(hull, "bind")
    assert files["from-ctx"] == b"context file\n" and files["from-stage"] == b"tool\n"
    assert files["scribbled"] == b"scribble\n"
    assert (ctx / "src" / "in.txt").read_text() == "context file\n"  # rw writes are discarded
    assert not any(name.startswith(("src", "w/", "t/")) for name in files)


def test_insecure_steps_are_refused_and_prune_asks_first(hull: HullEnv, busybox: str,
                                                         tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nRUN --security=insecure true\n"})
    err = _error(hull.run("build", str(ctx)))
    assert "Dockerfile:2" in err and "--security=insecure is not allowed" in err
    proc = hull.run("builder", "prune", input="n\n")
    assert proc.returncode == 0 and "Total reclaimed space" not in proc.stdout


def test_copy_never_follows_an_image_symlink_out_of_the_root(hull: HullEnv, busybox: str,
                                                             tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": f"FROM busybox\nRUN mkdir /app && ln -s {outside} /app/lib "
                      f"&& ln -s {outside}/f /app/file\n"
                      "COPY tree /app/\nCOPY f /app/file\n",
        "tree/lib/x.txt": "x", "f": "f"})
    hull.ok("build", "-q", "-t", "safe", str(ctx))
    assert list(outside.iterdir()) == []
    files = image_files(hull, "safe")
    assert files["app/lib/x.txt"] == b"x" and files["app/file"] == b"f"


def test_a_failing_stage_stops_the_stages_building_beside_it(hull: HullEnv, busybox: str,
                                                             tmp_path: Path) -> None:
    import time

    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox AS slow\nRUN sleep 30\n"
                      "FROM busybox AS bad\nRUN sleep 0.5; exit 7\n"
                      "FROM busybox\nCOPY --from=slow /bin/sh /a\nCOPY --from=bad /bin/sh /b\n"})
    started = time.monotonic()
    err = _error(hull.run("build", "--progress", "plain", str(ctx)))
    assert time.monotonic() - started < 20
    assert "Dockerfile:4" in err and "returned a non-zero code: 7" in err
    assert mounts_below(hull.root) == [] and snapshot_keys(hull) == []
    runtime_dir = hull.run_root / "build" / "runtime" / "builtin"
    assert not runtime_dir.exists() or os.listdir(runtime_dir) == []
