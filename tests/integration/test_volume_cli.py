"""``hull volume`` through the real CLI: create, ls (filters, formats), inspect, rm, prune;
Docker's output and errors; bad input leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import HullEnv

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="volumes need root")


def volume_rows(root: Path) -> list[str]:
    if not (root / "hull.db").exists():
        return []
    conn = sqlite3.connect(root / "hull.db")
    try:
        return [r[0] for r in conn.execute("SELECT name FROM volumes ORDER BY name")]
    finally:
        conn.close()


def volume_dirs(root: Path) -> list[str]:
    base = root / "volumes"
    return sorted(os.listdir(base)) if base.is_dir() else []


def test_create_inspect_ls_rm(hull: HullEnv) -> None:
    assert hull.ok("volume", "create", "app-data") == "app-data\n"
    assert hull.ok("volume", "create", "app-data") == "app-data\n"  # idempotent, like Docker
    assert hull.ok("volume", "create", "--name", "other", "--label", "tier=db",
                   "--label", "flag") == "other\n"
    doc = json.loads(hull.ok("volume", "inspect", "app-data"))
    assert len(doc) == 1
    vol = doc[0]
    assert list(vol) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options",
                         "Scope"]
    assert vol["Mountpoint"] == f"{hull.root}/volumes/app-data/_data"
    assert os.path.isdir(vol["Mountpoint"])
    assert (vol["Driver"], vol["Name"], vol["Scope"], vol["Labels"], vol["Options"]) == \
        ("local", "app-data", "local", {}, {})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", vol["CreatedAt"])
    assert json.loads(hull.ok("volume", "inspect", "other"))[0]["Labels"] == \
        {"tier": "db", "flag": ""}
    assert hull.ok("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "other") == \
        "other local\n"
    assert hull.ok("volume", "ls").splitlines() == [
        "DRIVER    VOLUME NAME", "local     app-data", "local     other"]
    assert hull.ok("volume", "ls", "-q") == "app-data\nother\n"
    assert hull.ok("volume", "ls", "--format", "{{.Name}}:{{.Labels}}") == \
        "app-data:\nother:flag=,tier=db\n"
    rows = [json.loads(line) for line in hull.ok("volume", "ls", "--format", "json").splitlines()]
    assert rows[0]["Name"] == "app-data" and rows[0]["Mountpoint"] == vol["Mountpoint"]
    missing = hull.run("volume", "inspect", "app-data", "nosuch")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)[0]["Name"] == "app-data"
    assert missing.stderr == "Error: No such volume: nosuch\n"
    assert hull.ok("volume", "rm", "app-data") == "app-data\n"
    gone = hull.run("volume", "rm", "app-data")
    assert gone.returncode == 1 and gone.stderr == "Error: get app-data: no such volume\n"
    assert hull.run("volume", "rm", "-f", "app-data").returncode == 0
    assert hull.ok("volume", "ls", "-q") == "other\n"
    assert volume_dirs(hull.root) == ["other"]


def test_names_sort_naturally_and_anonymous_volumes_get_ids(hull: HullEnv) -> None:
    for name in ("v10", "v9", "v1"):
        hull.ok("volume", "create", name)
    anonymous = hull.ok("volume", "create").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", anonymous)
    assert json.loads(hull.ok("volume", "inspect", anonymous))[0]["Labels"] == {
        "com.docker.volume.anonymous": ""}
    assert hull.ok("volume", "ls", "-q").split() == [anonymous, "v1", "v9", "v10"]


def test_filters(hull: HullEnv) -> None:
    hull.ok("volume", "create", "--label", "env=prod", "--label", "team=a", "db-prod")
    hull.ok("volume", "create", "--label", "env=dev", "db-dev")
    hull.ok("volume", "create", "cache")

    def ls(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return hull.ok("volume", "ls", "-q", *args).split()

    assert ls("label=env") == ["db-dev", "db-prod"]
    assert ls("label=env=prod") == ["db-prod"]
    assert ls("label=env=prod", "label=team=b") == []
    assert ls("name=db") == ["db-dev", "db-prod"]
    assert ls("name=^c") == ["cache"]
    assert ls("driver=local") == ["cache", "db-dev", "db-prod"]
    assert ls("dangling=true") == ["cache", "db-dev", "db-prod"]
    assert ls("dangling=false") == []
    bad = hull.run("volume", "ls", "--filter", "dangling=maybe")
    assert bad.returncode == 1 and bad.stderr == "Error: invalid filter 'dangling=[maybe]'\n"
    bad = hull.run("volume", "ls", "--filter", "colour=red")
    assert bad.returncode == 1 and bad.stderr == "Error: invalid filter 'colour'\n"


@pytest.mark.parametrize(("args", "message"), [
    (["a/b"], 'create a/b: "a/b" includes invalid characters for a local volume name, only'
              ' "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host'
              " directory, use absolute path"),
    (["../x"], 'create ../x: "../x" includes invalid characters for a local volume name,'
               ' only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host'
               " directory, use absolute path"),
    (["x"], "create x: volume name is too short, names should be at least two alphanumeric"
            " characters"),
    (["-d", "nfs-plugin", "vol"], 'create vol: error looking up volume plugin nfs-plugin:'
                                  ' plugin "nfs-plugin" not found'),
    (["-o", "colour=red", "vol"], 'create vol: invalid option: "colour"'),
    (["-o", "type=tmpfs", "vol"], 'create vol: missing required option: "device"'),
    (["-o", "o=size=1m", "vol"], 'create vol: missing required option: "device"'),
    (["-o", "size=10m", "vol"], "create vol: quota size requested but no quota support"),
])
def test_bad_volume_create_is_one_line_and_leaves_nothing(hull: HullEnv, args: list[str],
                                                          message: str) -> None:
    r = hull.run("volume", "create", *args)
    assert r.returncode == 1
    assert r.stderr == f"Error: {message}\n"
    assert r.stdout == ""
    assert volume_rows(hull.root) == []
    assert volume_dirs(hull.root) == []


def test_conflicting_name_flag_and_argument(hull: HullEnv) -> None:
    r = hull.run("volume", "create", "--name", "one", "two")
    assert r.returncode == 125
    assert "conflicting options: either specify --name or provide positional arg, not both" \
        in r.stderr
    assert volume_rows(hull.root) == []


def test_prune_removes_anonymous_unless_all(hull: HullEnv) -> None:
    anonymous = hull.ok("volume", "create").strip()
    hull.ok("volume", "create", "named")
    hull.ok("volume", "create", "--label", "keep=yes", "kept")
    hull.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "with-options")
    data = Path(json.loads(hull.ok("volume", "inspect", anonymous))[0]["Mountpoint"])
    (data / "blob").write_bytes(b"x" * 5000)
    out = hull.ok("volume", "prune", "-f")
    assert out == f"Deleted Volumes:\n{anonymous}\n\nTotal reclaimed space: 5kB\n"
    assert hull.ok("volume", "prune", "-f") == "Total reclaimed space: 0B\n"
    conflict = hull.run("volume", "prune", "-a", "-f", "--filter", "all=1")
    assert conflict.returncode == 1
    assert "conflicting options: cannot specify both --all and --filter all=1" in conflict.stderr
    out = hull.ok("volume", "prune", "-a", "-f", "--filter", "label!=keep")
    assert out == "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n"
    # volumes with driver options are never pruned (their data may be a host directory)
    assert hull.ok("volume", "ls", "-q").split() == ["kept", "with-options"]
    no = hull.run("volume", "prune", input="n\n")
    assert "WARNING! This will remove anonymous local volumes not used by at least one" \
           " container." in no.stdout
    assert hull.ok("volume", "ls", "-q").split() == ["kept", "with-options"]
    bad = hull.run("volume", "prune", "-f", "--filter", "until=1h")
    assert bad.returncode == 1 and bad.stderr == "Error: invalid filter 'until'\n"


def test_bind_typed_volume_removal_keeps_the_host_directory(hull: HullEnv,
                                                            tmp_path: Path) -> None:
    host = tmp_path / "host-data"
    host.mkdir()
    (host / "precious").write_text("keep me")
    hull.ok("volume", "create", "-o", "type=none", "-o", f"device={host}", "-o", "o=bind",
            "hostvol")
    assert hull.ok("volume", "rm", "hostvol") == "hostvol\n"
    assert (host / "precious").read_text() == "keep me"
