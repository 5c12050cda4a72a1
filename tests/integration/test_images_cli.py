"""Image commands as a user runs them: import, images, history, inspect, tag, rmi, prune."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import HullEnv


def test_import_then_images_lists_it(hull: HullEnv, busybox_tar: Path) -> None:
    image_id = hull.ok("import", str(busybox_tar), "busybox:latest").strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id)
    lines = hull.ok("images").splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = lines[1].split()
    assert row[:3] == ["busybox", "latest", image_id[7:19]]
    assert "second" in lines[1] or "Less than a second ago" in lines[1]
    assert re.search(r"\d(\.\d+)?MB$", lines[1]), lines[1]


def test_import_from_stdin_with_changes_and_message(hull: HullEnv, busybox_tar: Path) -> None:
    data = busybox_tar.read_bytes()
    proc = hull.run_bytes("import", "-c", 'CMD ["/bin/sh", "-c", "echo hi"]', "-c", "ENV A=1 B=two",
                          "-c", "WORKDIR /srv", "-c", "EXPOSE 80/tcp 53/udp", "-c", "USER nobody",
                          "-c", "LABEL team=core", "-m", "made by a test", "-", "test/bb:v1",
                          input=data)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(hull.ok("image", "inspect", "test/bb:v1"))[0]
    cfg = doc["Config"]
    assert cfg["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert cfg["Env"] == ["A=1", "B=two"]
    assert cfg["WorkingDir"] == "/srv"
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["User"] == "nobody"
    assert cfg["Labels"] == {"team": "core"}
    assert doc["RepoTags"] == ["test/bb:v1"]
    assert doc["Comment"] == "made by a test"
    assert doc["Os"] == "linux" and doc["Architecture"] == "amd64"
    assert len(doc["RootFS"]["Layers"]) == 1
    assert doc["Id"] == proc.stdout.decode().strip()


def test_import_rejects_unknown_change(hull: HullEnv, busybox_tar: Path) -> None:
    proc = hull.run("import", "-c", "RUN echo hi", str(busybox_tar), "x")
    assert proc.returncode != 0
    assert "RUN is not a valid change command" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert hull.ok("images", "-q") == ""


def test_history_shows_import_comment(hull: HullEnv, busybox: str) -> None:
    lines = hull.ok("history", "busybox").splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(busybox[7:19])
    assert "Imported from" in lines[1]
    raw = hull.ok("history", "-H=false", "--format", "{{.Size}}", "busybox").split()
    assert int(raw[0]) > 1_000_000
    assert hull.ok("history", "-q", "--no-trunc", "busybox").split() == [busybox]


def test_inspect_format_and_missing(hull: HullEnv, busybox: str) -> None:
    assert hull.ok("inspect", "--format", "{{.Id}}", "busybox") .strip() == busybox
    assert hull.ok("image", "inspect", "-f", "{{json .RepoTags}}", busybox[7:15]).strip() == (
        '["busybox:latest"]')
    proc = hull.run("image", "inspect", "busybox", "nope")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)[0]["Id"] == busybox
    assert "No such image: nope" in proc.stderr


def test_tag_and_rmi_untag_versus_delete(hull: HullEnv, busybox: str) -> None:
    hull.ok("tag", "busybox", "localhost:5000/team/bb:v1")
    hull.ok("tag", busybox[7:19], "bb2")
    assert sorted(json.loads(hull.ok("inspect", "-f", "{{json .RepoTags}}", "busybox"))) == [
        "bb2:latest", "busybox:latest", "localhost:5000/team/bb:v1"]
    # By id with several tags: refused without -f.
    proc = hull.run("rmi", busybox[7:19])
    assert proc.returncode == 1
    assert "referenced in multiple repositories" in proc.stderr
    # By tag: untag only.
    assert hull.ok("rmi", "bb2").splitlines() == ["Untagged: bb2:latest"]
    assert hull.ok("rmi", "localhost:5000/team/bb:v1").splitlines() == [
        "Untagged: localhost:5000/team/bb:v1"]
    out = hull.ok("rmi", "busybox").splitlines()
    assert out[0] == "Untagged: busybox:latest"
    assert f"Deleted: {busybox}" in out
    assert hull.ok("images", "-q") == ""
    info = hull.ok("info", "--format", "{{.Images}} {{.Layers}}").split()
    assert info == ["0", "0"]


def test_rmi_unknown_and_several_at_once(hull: HullEnv, busybox: str) -> None:
    hull.ok("tag", "busybox", "other:1")
    proc = hull.run("rmi", "missing:tag", "other:1")
    assert proc.returncode == 1
    assert "No such image: missing:tag" in proc.stderr
    assert "Untagged: other:1" in proc.stdout


def test_rmi_refuses_image_used_by_a_container(hull: HullEnv, busybox: str) -> None:
    import sqlite3
    import time

    # A container record as the container service writes it (created, not running).
    db = sqlite3.connect(hull.root / "hull.db")
    db.execute("INSERT INTO containers (id, name, image_id, created_at, data) VALUES (?,?,?,?,?)",
               ("c0ffee" * 10 + "abcd", "user", busybox, time.time(), "{}"))
    db.commit()
    db.close()
    proc = hull.run("rmi", busybox[7:19])
    assert proc.returncode == 1
    assert "being used by stopped container c0ffeec0ffee" in proc.stderr
    proc = hull.run("rmi", "busybox")
    assert proc.returncode == 1
    assert "container c0ffeec0ffee is using its referenced image" in proc.stderr
    # -f untags only: the image stays for its container.
    assert hull.ok("rmi", "-f", "busybox").splitlines() == ["Untagged: busybox:latest"]
    assert hull.ok("images", "-q", "--no-trunc").split() == [busybox]


def test_invalid_references_are_refused(hull: HullEnv, busybox: str) -> None:
    for bad, why in (("Busybox", "must be lowercase"), ("bb:bad tag!", "invalid reference format"),
                     ("bb:" + "t" * 129, "invalid reference format")):
        proc = hull.run("tag", "busybox", bad)
        assert proc.returncode != 0, bad
        assert why in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert hull.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split() == ["busybox:latest"]


def test_images_filters_quiet_and_formats(hull: HullEnv, busybox_tar: Path) -> None:
    first = hull.ok("import", "-c", "LABEL tier=base", str(busybox_tar), "first:1").strip()
    second = hull.ok("import", "-m", "again", "-c", "LABEL tier=app", str(busybox_tar),
                     "second:2").strip()
    assert first != second
    hull.ok("tag", "second:2", "second:latest")
    ids = hull.ok("images", "-q").split()
    assert ids == [second[7:19], second[7:19], first[7:19]]
    assert hull.ok("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                   "reference=first").split() == ["first:1"]
    assert hull.ok("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                   "reference=sec*:lat*").split() == ["second:latest"]
    assert hull.ok("images", "-q", "--filter", "label=tier=app").split() == [second[7:19]] * 2
    assert hull.ok("images", "-q", "--filter", "before=second:2").split() == [first[7:19]]
    assert hull.ok("images", "-q", "--filter", "since=first:1").split() == [second[7:19]] * 2
    assert hull.ok("images", "-q", "--filter", "dangling=true") == ""
    assert hull.ok("images", "--format", "{{.Tag}}", "second").split() == ["2", "latest"]
    out = hull.ok("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "--no-trunc")
    assert f"first:1 {first}" in out.splitlines()
    table = hull.ok("images", "--format", "table {{.Repository}}\t{{.Tag}}").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG"]
    lines = [json.loads(line) for line in hull.ok("images", "--format", "json").splitlines()]
    assert {d["Repository"] for d in lines} == {"first", "second"}
    assert "DIGEST" in hull.ok("images", "--digests").splitlines()[0]
    proc = hull.run("images", "--filter", "bogus=1")
    assert proc.returncode != 0 and "invalid filter" in proc.stderr


def test_untagged_image_is_dangling_and_pruned(hull: HullEnv, busybox_tar: Path) -> None:
    old = hull.ok("import", str(busybox_tar), "app:1").strip()
    new = hull.ok("import", "-m", "new build", str(busybox_tar), "app:1").strip()
    assert old != new
    rows = hull.ok("images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}").splitlines()
    assert f"<none> <none> {old[7:19]}" in rows
    assert hull.ok("images", "-q", "-f", "dangling=true").split() == [old[7:19]]
    out = hull.ok("image", "prune", "-f")
    assert f"deleted: {old}" in out
    assert "Total reclaimed space:" in out
    assert hull.ok("images", "-q", "--no-trunc").split() == [new]
    assert "Total reclaimed space: 0B" in hull.ok("image", "prune", "-f")
    out = hull.ok("image", "prune", "-a", "-f")
    assert "untagged: app:1" in out and f"deleted: {new}" in out
    assert hull.ok("images", "-q") == ""


def test_layers_are_shared_between_images(hull: HullEnv, busybox_tar: Path) -> None:
    hull.ok("import", str(busybox_tar), "a:1")
    hull.ok("import", "-m", "other config", str(busybox_tar), "b:1")
    assert hull.ok("info", "--format", "{{.Images}} {{.Layers}}").split() == ["2", "1"]
    hull.ok("rmi", "a:1")
    assert hull.ok("info", "--format", "{{.Images}} {{.Layers}}").split() == ["1", "1"]
    hull.ok("rmi", "b:1")
    assert hull.ok("info", "--format", "{{.Images}} {{.Layers}}").split() == ["0", "0"]
