"""``hull cp``: files and directories both ways with Docker's rules, tar streams, owners,
``-L``, stopped and running containers, and one test per way a symlink in the container
could try to reach the host."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups


def _made(ctr: Ctr, script: str, name: str = "c1") -> None:
    """A stopped container whose filesystem ``script`` changed."""
    ctr.ok("run", "--name", name, "busybox", "sh", "-c", script)


def _cat(ctr: Ctr, name: str, path: str, tmp: Path) -> bytes:
    out = tmp / "cat-out"
    if out.exists():
        out.unlink()
    ctr.ok("cp", f"{name}:{path}", str(out))
    return out.read_bytes()


# ---- Docker's placement rules --------------------------------------------------------

def test_file_out_to_a_dir_to_a_new_name_and_over_a_file(ctr: Ctr, tmp_path: Path) -> None:
    _made(ctr, "echo hello > /greeting")
    ctr.ok("cp", "c1:/greeting", str(tmp_path))
    assert (tmp_path / "greeting").read_text() == "hello\n"
    ctr.ok("cp", "c1:/greeting", str(tmp_path / "renamed"))
    assert (tmp_path / "renamed").read_text() == "hello\n"
    (tmp_path / "old").write_text("old contents that are longer\n")
    ctr.ok("cp", "c1:/greeting", str(tmp_path / "old"))
    assert (tmp_path / "old").read_text() == "hello\n"


def test_directory_out_and_its_contents_with_slash_dot(ctr: Ctr, tmp_path: Path) -> None:
    _made(ctr, "mkdir -p /d/sub && echo 1 > /d/one && echo 2 > /d/sub/two")
    ctr.ok("cp", "c1:/d", str(tmp_path / "new"))  # missing dest: becomes the directory
    assert (tmp_path / "new" / "sub" / "two").read_text() == "2\n"
    (tmp_path / "existing").mkdir()
    ctr.ok("cp", "c1:/d", str(tmp_path / "existing"))  # existing dir: goes inside
    assert (tmp_path / "existing" / "d" / "one").read_text() == "1\n"
    (tmp_path / "contents").mkdir()
    ctr.ok("cp", "c1:/d/.", str(tmp_path / "contents"))  # /. : the contents
    assert sorted(os.listdir(tmp_path / "contents")) == ["one", "sub"]


def test_directory_over_a_file_and_file_to_a_missing_dir_slash_fail(ctr: Ctr,
                                                                    tmp_path: Path) -> None:
    _made(ctr, "mkdir /d && echo x > /f")
    (tmp_path / "file").write_text("keep\n")
    out = ctr.run("cp", "c1:/d", str(tmp_path / "file"))
    assert out.returncode == 1 and "cannot overwrite non-directory" in out.stderr
    assert (tmp_path / "file").read_text() == "keep\n"
    out = ctr.run("cp", "c1:/f", str(tmp_path / "nodir") + "/")
    assert out.returncode == 1 and "does not exist" in out.stderr
    assert not (tmp_path / "nodir").exists()


def test_into_a_stopped_container_then_it_sees_the_files(ctr: Ctr, tmp_path: Path) -> None:
    ctr.ok("create", "--name", "c1", "busybox", "sh", "-c",
           "cat /in.txt /tmp/in.txt /newdir/sub/f /tmp/newdir/sub/f /etc/x/f")
    (tmp_path / "in.txt").write_text("file\n")
    (tmp_path / "newdir" / "sub").mkdir(parents=True)
    (tmp_path / "newdir" / "sub" / "f").write_text("deep\n")
    ctr.ok("cp", str(tmp_path / "in.txt"), "c1:/")
    ctr.ok("cp", str(tmp_path / "in.txt"), "c1:/tmp/in.txt")
    ctr.ok("cp", str(tmp_path / "newdir"), "c1:/newdir")
    ctr.ok("cp", str(tmp_path / "newdir"), "c1:/tmp")
    ctr.ok("cp", str(tmp_path / "newdir" / "sub") + "/.", "c1:/etc/x")
    assert ctr.ok("start", "-a", "c1") == "file\nfile\ndeep\ndeep\ndeep\n"


def test_into_and_out_of_a_running_container(ctr: Ctr, tmp_path: Path) -> None:
    ctr.ok("run", "-d", "--name", "web", "busybox", "sh", "-c",
           "echo ready > /ready; while [ ! -e /go ]; do sleep 0.1; done; cat /go; sleep 60")
    ctr.wait_for(lambda: "A /ready" in ctr.ok("diff", "web"), what="the container")
    assert _cat(ctr, "web", "/ready", tmp_path) == b"ready\n"
    (tmp_path / "go").write_text("went in\n")
    ctr.ok("cp", str(tmp_path / "go"), "web:/go")
    ctr.wait_for(lambda: "went in" in ctr.ok("logs", "web"), what="the container to read it")
    state = ctr.state("web")
    assert state["Running"] and not state["Paused"]


def test_tar_streams_on_stdin_and_stdout(ctr: Ctr) -> None:
    _made(ctr, "mkdir /d && echo a > /d/a")
    proc = ctr.run_bytes("cp", "c1:/d", "-")
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        assert sorted(m.name.rstrip("/") for m in tar.getmembers()) == ["d", "d/a"]
        assert tar.extractfile("d/a").read() == b"a\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("streamed/file")
        info.size, info.uid, info.gid = 3, 7, 8
        tar.addfile(info, io.BytesIO(b"xyz"))
    proc = ctr.run_bytes("cp", "-", "c1:/d", input=buf.getvalue())
    assert proc.returncode == 0, proc.stderr
    ctr.ok("commit", "c1", "streamed:1")
    out = ctr.ok("run", "--rm", "streamed:1", "stat", "-c", "%u:%g %s", "/d/streamed/file")
    assert out == "7:8 3\n"
    proc = ctr.run_bytes("cp", "-", "c1:/d/a", input=buf.getvalue())
    assert proc.returncode == 1 and b"must be a directory" in proc.stderr


def test_owners_without_and_with_archive_mode(ctr: Ctr, tmp_path: Path) -> None:
    _made(ctr, "echo o > /owned && chown 1000:2000 /owned")
    ctr.ok("cp", "c1:/owned", str(tmp_path / "plain"))
    ctr.ok("cp", "-a", "c1:/owned", str(tmp_path / "kept"))
    assert (os.stat(tmp_path / "plain").st_uid, os.stat(tmp_path / "plain").st_gid) == (0, 0)
    assert (os.stat(tmp_path / "kept").st_uid, os.stat(tmp_path / "kept").st_gid) == (1000, 2000)
    host = tmp_path / "hostfile"
    host.write_text("h\n")
    os.chown(host, 3000, 4000)
    ctr.ok("cp", str(host), "c1:/in-plain")
    ctr.ok("cp", "-a", str(host), "c1:/in-kept")
    ctr.ok("commit", "c1", "owners:1")
    out = ctr.ok("run", "--rm", "owners:1", "stat", "-c", "%u:%g", "/in-plain", "/in-kept")
    assert out == "0:0\n3000:4000\n"


def test_follow_link_copies_the_target(ctr: Ctr, tmp_path: Path) -> None:
    _made(ctr, "echo target > /target && ln -s /target /lnk")
    ctr.ok("cp", "c1:/lnk", str(tmp_path / "as-link"))
    assert os.readlink(tmp_path / "as-link") == "/target"
    ctr.ok("cp", "-L", "c1:/lnk", str(tmp_path / "followed"))
    assert not os.path.islink(tmp_path / "followed")
    assert (tmp_path / "followed").read_text() == "target\n"
    (tmp_path / "real").write_text("real\n")
    os.symlink(tmp_path / "real", tmp_path / "hostlink")
    ctr.ok("cp", "-L", str(tmp_path / "hostlink"), "c1:/from-host")
    assert _cat(ctr, "c1", "/from-host", tmp_path) == b"real\n"


# ---- symlinks never reach the host ---------------------------------------------------

@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A host directory with a file no container may read or replace."""
    d = tmp_path / "host-secret"
    d.mkdir()
    (d / "secret").write_text("host only\n")
    return d


def _climb(target: Path) -> str:
    return "../" * 20 + str(target).lstrip("/")


def test_escape_reading_through_a_relative_parent_link(ctr: Ctr, tmp_path: Path,
                                                       secret: Path) -> None:
    _made(ctr, f"ln -s {_climb(secret)} /up")
    out = ctr.run("cp", "c1:/up/secret", str(tmp_path / "got"))
    assert out.returncode == 1 and "No such container:path: c1:/up/secret" in out.stderr
    assert not (tmp_path / "got").exists()


def test_escape_reading_through_an_absolute_parent_link(ctr: Ctr, tmp_path: Path,
                                                        secret: Path) -> None:
    _made(ctr, f"ln -s {secret} /abs")
    out = ctr.run("cp", "c1:/abs/secret", str(tmp_path / "got"))
    assert out.returncode == 1 and not (tmp_path / "got").exists()


def test_escape_reading_a_followed_final_link(ctr: Ctr, tmp_path: Path, secret: Path) -> None:
    _made(ctr, f"ln -s {secret / 'secret'} /final && mkdir -p {secret} && "
               f"echo container > {secret / 'secret'}")
    ctr.ok("cp", "-L", "c1:/final", str(tmp_path / "got"))
    assert (tmp_path / "got").read_text() == "container\n"  # the container's file


def test_escape_reading_dot_dot_above_the_root(ctr: Ctr, tmp_path: Path,
                                               secret: Path) -> None:
    _made(ctr, "true")
    out = ctr.run("cp", f"c1:/{_climb(secret / 'secret')}", str(tmp_path / "got"))
    assert out.returncode == 1 and not (tmp_path / "got").exists()


def test_escape_writing_through_a_parent_link(ctr: Ctr, tmp_path: Path, secret: Path) -> None:
    _made(ctr, f"ln -s {secret} /abs && ln -s {_climb(secret)} /rel && mkdir -p {secret}")
    (tmp_path / "pwned").write_text("pwned\n")
    ctr.ok("cp", str(tmp_path / "pwned"), "c1:/abs/")
    ctr.ok("cp", str(tmp_path / "pwned"), "c1:/rel/pwned2")
    assert sorted(os.listdir(secret)) == ["secret"]
    assert _cat(ctr, "c1", f"{secret}/pwned", tmp_path) == b"pwned\n"
    assert _cat(ctr, "c1", f"{secret}/pwned2", tmp_path) == b"pwned\n"


def test_escape_writing_over_a_final_link(ctr: Ctr, tmp_path: Path, secret: Path) -> None:
    _made(ctr, f"ln -s {secret / 'secret'} /victim")
    (tmp_path / "pwned").write_text("pwned\n")
    out = ctr.run("cp", str(tmp_path / "pwned"), "c1:/victim")
    assert out.returncode == 1  # the link's target is missing in the container
    assert (secret / "secret").read_text() == "host only\n"


def test_escape_writing_with_a_tar_that_plants_a_link(ctr: Ctr, secret: Path) -> None:
    _made(ctr, "true")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        link = tarfile.TarInfo("evil")
        link.type, link.linkname = tarfile.SYMTYPE, str(secret)
        tar.addfile(link)
        info = tarfile.TarInfo("evil/pwned")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"x\n"))
        info = tarfile.TarInfo("../../../../../../" + str(secret).lstrip("/") + "/pwned2")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"x\n"))
    ctr.run_bytes("cp", "-", "c1:/tmp", input=buf.getvalue())
    assert sorted(os.listdir(secret)) == ["secret"]


def test_escape_reading_a_directory_holding_links(ctr: Ctr, tmp_path: Path,
                                                  secret: Path) -> None:
    _made(ctr, f"mkdir /d && ln -s {secret} /d/out && ln -s {_climb(secret)} /d/rel")
    ctr.ok("cp", "c1:/d", str(tmp_path / "copy"))
    assert os.readlink(tmp_path / "copy" / "out") == str(secret)  # copied as links
    assert sorted(os.listdir(tmp_path / "copy")) == ["out", "rel"]
    assert (secret / "secret").read_text() == "host only\n"


# ---- bad input -----------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["nope:/etc/passwd", "OUT"], "No such container: nope"),
    (["IN", "nope:/tmp"], "No such container: nope"),
    (["c1:/no/such/file", "OUT"], "No such container:path: c1:/no/such/file"),
    (["c1:/etc/passwd", "MISSING/x"], "no such file or directory"),
    (["IN", "c1:/no/such/dir/"], "No such container:path: c1:/no/such/dir/"),
    (["MISSING", "c1:/tmp"], "no such file or directory"),
    (["c1:/etc", "c1:/tmp"], "copying between containers is not supported"),
    (["IN", "OUT"], "must specify at least one container source"),
])
def test_bad_input_gives_one_line_errors(ctr: Ctr, tmp_path: Path, args: list[str],
                                         message: str) -> None:
    ctr.ok("create", "--name", "c1", "busybox", "true")
    (tmp_path / "in").write_text("x\n")
    names = {"IN": str(tmp_path / "in"), "OUT": str(tmp_path / "out"),
             "MISSING": str(tmp_path / "missing")}
    args = [names.get(a, a).replace("MISSING", str(tmp_path / "missing")) for a in args]
    out = ctr.run("cp", *args)
    assert out.returncode == 1, out.stderr
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_containers_own_etc_files_are_copied_out(ctr: Ctr, tmp_path: Path) -> None:
    ctr.ok("create", "--name", "c1", "--hostname", "inside", "--add-host", "db:10.1.2.3",
           "busybox", "true")
    assert _cat(ctr, "c1", "/etc/hostname", tmp_path) == b"inside\n"
    assert b"10.1.2.3\tdb" in _cat(ctr, "c1", "/etc/hosts", tmp_path)


def test_volumes_and_binds_are_copied_through_their_source(ctr: Ctr, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "from-host").write_text("bound\n")
    ctr.ok("run", "-d", "--name", "web", "--network", "none", "-v", "/data",
           "-v", f"{shared}:/bound:ro", "busybox", "sh", "-c",
           "echo vol > /data/inside; ln -s /bound /lnk; "
           "while [ ! -e /data/go ]; do sleep 0.1; done; cat /data/go; sleep 60")
    ctr.wait_for(lambda: ctr.run("cp", "web:/data/inside", str(tmp_path / "v")).returncode == 0,
                 what="the volume file")
    assert (tmp_path / "v").read_text() == "vol\n"
    assert _cat(ctr, "web", "/bound/from-host", tmp_path) == b"bound\n"
    (tmp_path / "go").write_text("into the volume\n")
    ctr.ok("cp", str(tmp_path / "go"), "web:/data/go")
    ctr.wait_for(lambda: "into the volume" in ctr.ok("logs", "web"), what="the container")
    for dest in ("web:/bound/new", "web:/lnk/new", "web:/bound"):
        out = ctr.run("cp", str(tmp_path / "go"), dest)
        assert out.returncode == 1 and "read-only" in out.stderr, (dest, out.stderr)
    assert sorted(os.listdir(shared)) == ["from-host"]
