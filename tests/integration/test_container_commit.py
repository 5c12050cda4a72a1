"""``hull commit`` and ``hull diff``: a container's changes as A/C/D lines and as a new image
that runs and shows them."""

from __future__ import annotations

import json

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

CHANGES = "echo hi > /tmp/new; rm /bin/ls; mkdir -p /opt/a/b; echo extra >> /etc/passwd"


def test_diff_lists_changes_like_docker(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "c1", "busybox", "sh", "-c", CHANGES)
    assert ctr.ok("diff", "c1").splitlines() == [
        "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "A /opt", "A /opt/a",
        "A /opt/a/b", "C /tmp", "A /tmp/new"]


def test_diff_of_a_running_container_and_of_an_unchanged_one(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "web", "busybox", "sh", "-c", "touch /made; sleep 60")
    ctr.wait_for(lambda: "A /made" in ctr.ok("diff", "web"), what="the change to show")
    ctr.ok("create", "--name", "idle", "busybox", "true")
    assert ctr.ok("diff", "idle") == ""


def test_commit_makes_an_image_that_runs_and_shows_the_change(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "c1", "busybox", "sh", "-c", CHANGES)
    image_id = ctr.ok("commit", "-a", "Ann <ann@example.com>", "-m", "my change",
                      "-c", "ENV FOO=bar", "-c", 'CMD ["cat", "/tmp/new"]', "c1",
                      "mine:v1").strip()
    assert image_id.startswith("sha256:")
    assert ctr.ok("run", "--rm", "mine:v1") == "hi\n"
    out = ctr.run("run", "--rm", "mine:v1", "sh", "-c",
                  "ls /bin/ls; echo $FOO; ls -d /opt/a/b; tail -1 /etc/passwd")
    assert "No such file" in out.stderr
    assert out.stdout == "bar\n/opt/a/b\nextra\n"
    info = json.loads(ctr.ok("image", "inspect", "mine:v1"))[0]
    base = json.loads(ctr.ok("image", "inspect", "busybox"))[0]
    assert info["Author"] == "Ann <ann@example.com>"
    assert "FOO=bar" in info["Config"]["Env"]
    assert info["Config"]["Cmd"] == ["cat", "/tmp/new"]
    assert info["Parent"] == base["Id"]
    assert len(info["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    assert info["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    history = ctr.ok("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}",
                     "mine:v1").splitlines()
    assert history[0] == f"sh -c {CHANGES}|my change"
    # the container keeps its own writable layer and state
    assert "A /tmp/new" in ctr.ok("diff", "c1")
    ctr.ok("rm", "c1")
    assert ctr.ok("run", "--rm", "mine:v1") == "hi\n"


def test_committing_twice_gives_two_images(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "c1", "busybox", "sh", "-c", "echo x >> /f")
    first = ctr.ok("commit", "c1", "snap:1").strip()
    ctr.ok("start", "-a", "c1")
    second = ctr.ok("commit", "c1", "snap:2").strip()
    assert first != second
    assert ctr.ok("run", "--rm", "snap:1", "cat", "/f") == "x\n"
    assert ctr.ok("run", "--rm", "snap:2", "cat", "/f") == "x\nx\n"
    ids = ctr.ok("images", "-q", "--no-trunc", "snap").split()
    assert sorted(ids) == sorted([first, second])


def test_commit_pauses_a_running_container_and_resumes_it(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "web", "busybox", "sleep", "60")
    ctr.ok("commit", "web", "paused:1")
    state = ctr.state("web")
    assert state["Running"] and not state["Paused"]
    ctr.ok("pause", "web")
    ctr.ok("commit", "--pause=false", "web", "paused:2")
    assert ctr.state("web")["Paused"]  # a paused container stays paused
    ctr.ok("unpause", "web")


def test_commit_of_an_unchanged_container_adds_no_layer(ctr: Ctr) -> None:
    ctr.ok("create", "--name", "idle", "busybox", "true")
    ctr.ok("commit", "idle", "same:1")
    info = json.loads(ctr.ok("image", "inspect", "same:1"))[0]
    base = json.loads(ctr.ok("image", "inspect", "busybox"))[0]
    assert info["RootFS"]["Layers"] == base["RootFS"]["Layers"]
    assert info["Id"] != base["Id"]


def test_commit_keeps_deleted_directories_deleted(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "c1", "busybox", "sh", "-c",
           "mkdir -p /d/sub && touch /d/sub/f")
    ctr.ok("commit", "c1", "step:1")
    ctr.ok("run", "--name", "c2", "step:1", "sh", "-c", "rm -r /d/sub")
    assert ctr.ok("diff", "c2").splitlines() == ["C /d", "D /d/sub"]
    ctr.ok("commit", "c2", "step:2")
    assert ctr.ok("run", "--rm", "step:2", "ls", "-A", "/d") == ""


@pytest.mark.parametrize("args, message", [
    (["commit", "nope"], "No such container: nope"),
    (["commit", "c1", "Bad:Ref"], "invalid reference format"),
    (["commit", "c1", "repo@sha256:" + "a" * 64], "digest"),
    (["commit", "-c", "BOGUS x", "c1"], "BOGUS is not a valid change command"),
    (["diff", "nope"], "No such container: nope"),
])
def test_bad_input_gives_one_line_errors(ctr: Ctr, args: list[str], message: str) -> None:
    ctr.ok("create", "--name", "c1", "busybox", "true")
    out = ctr.run(*args)
    assert out.returncode == 1
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert ctr.ok("images", "-q").split() == [ctr.ok("images", "-q", "busybox").strip()]


def test_committed_image_inspect_names_its_container(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "src", "--network", "none", "busybox", "touch", "/made")
    cid = ctr.ok("inspect", "-f", "{{.Id}}", "src").strip()
    ctr.ok("commit", "src", "made:1")
    assert ctr.ok("image", "inspect", "-f", "{{.Container}}", "made:1").strip() == cid
    ctr.ok("rm", "src")
