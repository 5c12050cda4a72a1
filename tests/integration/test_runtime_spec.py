"""config.json defaults (Docker's) and Docker's seccomp profile as resolved per container."""

from __future__ import annotations

import pytest

from hull.oci.runtime_spec import (
    ALL_CAPABILITIES,
    DEFAULT_CAPABILITIES,
    MASKED_PATHS,
    READONLY_PATHS,
    default_spec,
    resolve_capabilities,
)
from hull.oci.seccomp_profile import default_seccomp


def _allowed(profile: dict) -> set[str]:
    return {n for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW"
            and not rule.get("args") for n in rule["names"]}


def test_default_spec_has_dockers_defaults() -> None:
    spec = default_spec(["sh"], hostname="h")
    proc = spec["process"]
    assert proc["args"] == ["sh"] and proc["cwd"] == "/" and proc["noNewPrivileges"] is False
    assert proc["user"] == {"uid": 0, "gid": 0}
    assert proc["env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    for name in ("bounding", "effective", "permitted", "inheritable"):
        assert proc["capabilities"][name] == list(DEFAULT_CAPABILITIES)
    assert proc["capabilities"]["ambient"] == []
    assert "rlimits" not in proc
    linux = spec["linux"]
    assert sorted(n["type"] for n in linux["namespaces"]) == \
        ["cgroup", "ipc", "mount", "network", "pid", "uts"]
    assert [m["destination"] for m in spec["mounts"]] == \
        ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    assert linux["maskedPaths"] == list(MASKED_PATHS)
    assert "/proc/kcore" in MASKED_PATHS and "/sys/firmware" in MASKED_PATHS
    assert linux["readonlyPaths"] == list(READONLY_PATHS)
    assert linux["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    assert {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"} in \
        linux["resources"]["devices"]
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert spec["hostname"] == "h" and spec["root"] == {"path": "rootfs", "readonly": False}


def test_default_spec_options() -> None:
    spec = default_spec(["x"], namespaces={"pid": None, "network": "/run/netns/n1",
                                           "mount": None},
                        readonly_rootfs=True, no_new_privileges=True, seccomp=False,
                        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
                        resources={"memory": {"limit": 1 << 20}, "devices": [
                            {"allow": True, "type": "c", "major": 10, "minor": 200,
                             "access": "rwm"}]})
    assert {"type": "network", "path": "/run/netns/n1"} in spec["linux"]["namespaces"]
    assert spec["root"]["readonly"] and spec["process"]["noNewPrivileges"]
    assert "seccomp" not in spec["linux"]
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert spec["linux"]["resources"]["memory"] == {"limit": 1 << 20}
    assert spec["linux"]["resources"]["devices"][-1]["minor"] == 200
    with pytest.raises(ValueError):
        default_spec([])


def test_cap_add_and_drop_arithmetic() -> None:
    assert "CAP_NET_ADMIN" in resolve_capabilities(add=["net_admin"])
    assert "CAP_CHOWN" not in resolve_capabilities(drop=["CHOWN"])
    assert resolve_capabilities(add=["ALL"]) == list(ALL_CAPABILITIES)
    assert resolve_capabilities(drop=["ALL"], add=["KILL"]) == ["CAP_KILL"]
    with pytest.raises(ValueError, match="unknown capability"):
        resolve_capabilities(add=["NOT_A_CAP"])


def test_seccomp_follows_capabilities() -> None:
    default = default_seccomp(DEFAULT_CAPABILITIES)
    allowed = _allowed(default)
    assert {"read", "write", "execve", "chroot", "arch_prctl"} <= allowed
    assert not {"mount", "unshare", "reboot", "bpf"} & allowed
    assert "ptrace" in allowed  # Docker allows it on kernels >= 4.8
    # without CAP_SYS_ADMIN, clone may not create namespaces and clone3 reports ENOSYS
    clone = [r for r in default["syscalls"] if r["names"] == ["clone"]]
    assert clone[0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"
    assert any(r["names"] == ["clone3"] and r.get("errnoRet") == 38 for r in default["syscalls"])
    admin = default_seccomp([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])
    assert {"mount", "unshare", "setns", "clone", "clone3", "ptrace"} <= _allowed(admin)
    assert not any(r["names"] == ["clone3"] and r["action"] == "SCMP_ACT_ERRNO"
                   for r in admin["syscalls"])
    assert default["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert default_seccomp([], arch="aarch64")["architectures"] == \
        ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert "ptrace" not in _allowed(default_seccomp([], kernel=(4, 4)))
