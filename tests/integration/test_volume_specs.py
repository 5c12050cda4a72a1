"""Mount requests as users type them: ``-v``, ``--mount``, ``--tmpfs``, ``--volumes-from``
parsed and checked with Docker's error texts, merged in Docker's precedence, and written as
runtime-spec mounts.  ``--mount`` errors are compared with the installed docker CLI too."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hull.volume import specs
from hull.volume.flags import (
    FlagValueError,
    parse_mount_flag,
    read_csv_record,
    split_tmpfs_flags,
    split_volume_flags,
)
from hull.volume.mountpoint import MountPoint
from hull.volume.ocimounts import merge_mounts, oci_mount
from hull.volume.plan import plan_mounts
from hull.volume.specs import MountError


def test_named_volume_bind_and_modes() -> None:
    v = specs.parse_bind("app-data:/app/data")
    assert (v.type, v.name, v.destination, v.rw, v.copy_data, v.named, v.mode) == \
        ("volume", "app-data", "/app/data", True, True, True, "z")
    ro = specs.parse_bind("app-data:/app/data:ro")
    assert not ro.rw and ro.mode == "ro"
    nocopy = specs.parse_bind("cache:/cache:nocopy,rw")
    assert not nocopy.copy_data and nocopy.rw
    bind = specs.parse_bind("/srv/www:/usr/share/www:ro,rshared")
    assert (bind.type, bind.source, bind.rw, bind.propagation, bind.create_source) == \
        ("bind", "/srv/www", False, "rshared", True)
    default = specs.parse_bind("/srv/www/:/www/")
    assert (default.source, default.destination, default.propagation) == \
        ("/srv/www", "/www", "rprivate")
    assert specs.parse_bind("/a:/b:Z").mode == "Z"


@pytest.mark.parametrize(("raw", "message"), [
    ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
    (":/x", "invalid volume specification: ':/x'"),
    ("/x:ro", "invalid volume specification: '/x:ro'"),
    ("vol:/x:bogus", "invalid mode: bogus"),
    ("vol:/x:ro,rw", "invalid mode: ro,rw"),
    ("vol:relative", "invalid volume specification: 'vol:relative': invalid mount config for"
                     " type \"volume\": invalid mount path: 'relative' mount path must be"
                     " absolute"),
    ("vol:/", "invalid volume specification: 'vol:/': invalid mount config for type"
              " \"volume\": invalid specification: destination can't be '/'"),
    ("/host:/x:nocopy", "invalid volume specification: '/host:/x:nocopy': invalid mount"
                        " config for type \"bind\": field VolumeOptions must not be specified"),
    ("vol:/x:rshared", "invalid volume specification: 'vol:/x:rshared': invalid mount config"
                       " for type \"volume\": field BindOptions must not be specified"),
])
def test_malformed_volume_flags_give_dockers_errors(raw: str, message: str) -> None:
    with pytest.raises(MountError) as e:
        specs.parse_bind(raw)
    assert str(e.value) == message
    assert e.value.exit_code == 125


def test_cli_splits_volume_flags_like_docker(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    binds, volumes = split_volume_flags(["/data", "name:/x", "./here:/y:ro", ".:/z"])
    assert volumes == {"/data": {}}
    assert binds == ["name:/x", f"{tmp_path}/here:/y:ro", f"{tmp_path}:/z"]
    assert split_tmpfs_flags(["/run:size=64m,mode=1777", "/tmp"]) == {
        "/run": "size=64m,mode=1777", "/tmp": ""}


def test_mount_flag_documents() -> None:
    assert parse_mount_flag("type=bind,source=/a,target=/b,readonly,"
                            "bind-propagation=rslave") == {
        "Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": True,
        "BindOptions": {"Propagation": "rslave"}}
    volume = parse_mount_flag("src=data,dst=/d,volume-nocopy,volume-opt=type=tmpfs,"
                              "volume-opt=device=tmpfs,volume-label=a=b")
    assert volume["Type"] == "volume" and volume["Source"] == "data"
    assert volume["VolumeOptions"] == {"NoCopy": True, "Labels": {"a": "b"},
                                       "DriverConfig": {"Options": {"type": "tmpfs",
                                                                    "device": "tmpfs"}}}
    tmpfs = parse_mount_flag("type=tmpfs,destination=/run,tmpfs-size=64m,tmpfs-mode=1777")
    assert tmpfs["TmpfsOptions"] == {"SizeBytes": 64 << 20, "Mode": 0o1777}
    assert specs.parse_mount(tmpfs).tmpfs_data == "mode=1777,size=64m"
    assert parse_mount_flag('"src=a,b",dst=/x')["Source"] == "a,b"
    assert parse_mount_flag("type=volume,target=/x,ro=false").get("ReadOnly") is False


MOUNT_FLAG_ERRORS = [
    ("foo", "invalid field 'foo' must be a key=value pair"),
    ("type=bind", "target is required"),
    ("type=,target=/x", "type is required"),
    ("type=tmpfs,target=/x,tmpfs-size=abc", "invalid value for tmpfs-size: abc"),
    ("type=tmpfs,target=/x,tmpfs-mode=9", "invalid value for tmpfs-mode: 9"),
    ("target=/x,bind-propagation=rshared",
     "cannot mix 'bind-*' options with mount type 'volume'"),
    ("type=bind,src=/a,target=/x,volume-nocopy",
     "cannot mix 'volume-*' options with mount type 'bind'"),
    ("type=volume,target=/x,tmpfs-size=1m",
     "cannot mix 'tmpfs-*' options with mount type 'volume'"),
    ("type=volume,target=/x,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
    ("target=/x,ro=maybe", "invalid value for ro: maybe"),
    ("target=/x,volume-nocopy=maybe", "invalid value for volume-nocopy: maybe"),
    ('src="a,b",dst=/x', 'parse error on line 1, column 5: bare " in non-quoted-field'),
    ('dst=/x,"a', 'parse error on line 1, column 10: extraneous or missing " in'
                  ' quoted-field'),
    ('"a"b,dst=/x', 'parse error on line 1, column 3: extraneous or missing " in'
                    ' quoted-field'),
    ("", "EOF"),
]


@pytest.mark.parametrize(("value", "message"), MOUNT_FLAG_ERRORS)
def test_malformed_mount_flags_give_dockers_errors(value: str, message: str) -> None:
    with pytest.raises(FlagValueError) as e:
        parse_mount_flag(value)
    assert str(e.value) == message


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
@pytest.mark.parametrize(("value", "message"), MOUNT_FLAG_ERRORS)
def test_mount_flag_errors_match_the_docker_cli(value: str, message: str) -> None:
    proc = subprocess.run(["docker", "run", "--mount", value, "busybox", "true"],
                          capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin",
                               "DOCKER_HOST": "unix:///nonexistent.sock"})
    first = proc.stderr.splitlines()[0]
    assert first.endswith(f'for "--mount" flag: {message}')


def test_csv_reader_is_gos() -> None:
    assert read_csv_record("a,b,,c") == ["a", "b", "", "c"]
    assert read_csv_record('"x ""y""",z') == ['x "y"', "z"]
    assert read_csv_record("a,") == ["a", ""]


@pytest.mark.parametrize(("doc", "message"), [
    ({"Type": "bind", "Target": "/x"},
     'invalid mount config for type "bind": field Source must not be empty'),
    ({"Type": "bind", "Source": "rel", "Target": "/x"},
     "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be"
     " absolute"),
    ({"Type": "bind", "Source": "/no/such/dir/anywhere", "Target": "/x"},
     'invalid mount config for type "bind": bind source path does not exist:'
     ' /no/such/dir/anywhere'),
    ({"Type": "bind", "Source": "/tmp", "Target": "/x",
      "BindOptions": {"Propagation": "sideways"}},
     'invalid mount config for type "bind": invalid propagation mode: sideways'),
    ({"Type": "tmpfs", "Source": "/a", "Target": "/x"},
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Type": "npipe", "Target": "/x"}, 'invalid mount config for type "npipe": mount type'
                                        ' unknown'),
    ({"Type": "volume", "Target": ""},
     'invalid mount config for type "volume": field Target must not be empty'),
    ({"Type": "volume", "Target": "/"},
     "invalid mount config for type \"volume\": invalid specification: destination can't"
     " be '/'"),
])
def test_engine_checks_mount_documents(doc: dict, message: str) -> None:
    with pytest.raises(MountError) as e:
        specs.parse_mount(doc)
    assert str(e.value) == message


def test_tmpfs_and_volumes_from_specs() -> None:
    assert specs.parse_tmpfs("/run", "size=64m,mode=1777").tmpfs_data == "size=64m,mode=1777"
    for dest, message in (("run", "invalid mount path: 'run' mount path must be absolute"),
                          ("/", "invalid specification: destination can't be '/'")):
        with pytest.raises(MountError, match=message):
            specs.parse_tmpfs(dest, "")
    with pytest.raises(MountError, match="mode must be octal"):
        specs.parse_tmpfs("/run", "mode=rwx")
    assert specs.parse_volumes_from("data") == ("data", "rw")
    assert specs.parse_volumes_from("data:ro") == ("data", "ro")
    for bad, message in (("", "volumes-from specification cannot be an empty string"),
                         ("data:nocopy", "invalid mode: nocopy"),
                         ("data:rshared", "invalid mode: rshared"),
                         ("data:xx", "invalid mode: xx")):
        with pytest.raises(MountError) as e:
            specs.parse_volumes_from(bad)
        assert str(e.value) == message


def test_precedence_and_duplicates() -> None:
    other = [MountPoint(type="volume", destination="/data", name="shared", driver="local",
                        copy_data=True, named=True),
             MountPoint(type="volume", destination="/logs", name="logs", driver="local")]
    points = plan_mounts(
        {"Volumes": {"/cache": {}, "/data": {}, "/run": {}}},
        {"VolumesFrom": ["src:ro"], "Binds": ["/host/logs:/logs"], "Tmpfs": {"/run": ""}},
        lambda ref: other if ref == "src" else [])
    by_dest = {mp.destination: mp for mp in points}
    assert by_dest["/data"].name == "shared" and not by_dest["/data"].rw
    assert not by_dest["/data"].copy_data  # volumes-from never copies up
    assert by_dest["/logs"].type == "bind"  # -v replaces the inherited one
    assert by_dest["/run"].type == "tmpfs"  # --tmpfs wins over an image VOLUME
    assert by_dest["/cache"].type == "volume" and by_dest["/cache"].name == ""
    assert by_dest["/cache"].copy_data and not by_dest["/cache"].named
    with pytest.raises(MountError, match="^Duplicate mount point: /x$"):
        plan_mounts({}, {"Binds": ["a1:/x", "/b:/x"]}, lambda ref: [])
    with pytest.raises(MountError, match="^Duplicate mount point: /x$"):
        plan_mounts({}, {"Binds": ["a1:/x"], "Mounts": [{"Type": "volume", "Target": "/x"}]},
                    lambda ref: [])
    with pytest.raises(MountError, match="^Duplicate mount point: /run$"):
        plan_mounts({}, {"Binds": ["a1:/run"], "Tmpfs": {"/run": ""}}, lambda ref: [])


def test_runtime_spec_entries_and_merge() -> None:
    ro_volume = MountPoint(type="volume", destination="/data", name="v", rw=False)
    assert oci_mount(ro_volume, "/root/volumes/v/_data") == {
        "destination": "/data", "type": "bind", "source": "/root/volumes/v/_data",
        "options": ["rbind", "ro", "rprivate"]}
    tmpfs = oci_mount(specs.parse_tmpfs("/run", "size=64m,exec"), "tmpfs")
    assert tmpfs["type"] == "tmpfs"
    assert tmpfs["options"] == ["noexec", "nosuid", "nodev", "rprivate", "size=64m", "exec"]
    spec = {"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": []},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []},
        {"destination": "/etc/hosts", "type": "bind", "source": "/h", "options": ["rbind"]},
    ], "linux": {}}
    user = [
        {"destination": "/etc/app/conf", "type": "bind", "source": "/c", "options": ["rbind"]},
        {"destination": "/etc", "type": "bind", "source": "/e", "options": ["rbind"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "tmpfs", "options": []},
        {"destination": "/mnt", "type": "bind", "source": "/m",
         "options": ["rbind", "rshared"]},
    ]
    merge_mounts(spec, user)
    order = [(m["destination"], m["source"]) for m in spec["mounts"]]
    assert order == [("/proc", "proc"), ("/etc", "/e"), ("/mnt", "/m"), ("/dev/shm", "tmpfs"),
                     ("/etc/app/conf", "/c"), ("/etc/hosts", "/h")]
    assert spec["linux"]["rootfsPropagation"] == "rshared"
