"""Apply a runtime-spec ``process.capabilities`` object to the current process.

Order matters and follows the kernel's rules: the bounding set is dropped first (needs
CAP_SETPCAP, which we still hold), then the user is switched with KEEPCAPS so permitted
survives setuid, then effective/permitted/inheritable are set with capset, and finally the
ambient set is raised (each ambient cap must already be permitted and inheritable).
"""

from __future__ import annotations

import os

from hull.oci.runtime_spec import ALL_CAPABILITIES
from hull.runtime import syscalls

_CAP_NUMBERS = {name: i for i, name in enumerate(ALL_CAPABILITIES)}


def last_cap() -> int:
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(ALL_CAPABILITIES) - 1


def mask(names: list[str] | None, last: int) -> int:
    """Names -> bit mask; names this kernel (or hull) does not know are ignored, as runc does."""
    bits = 0
    for name in names or ():
        num = _CAP_NUMBERS.get(name)
        if num is not None and num <= last:
            bits |= 1 << num
    return bits


class CapabilityPlan:
    """Capability masks computed before the user switch, applied in two steps around it."""

    def __init__(self, caps: dict | None, last: int) -> None:
        caps = caps or {}
        self.last = last
        self.bounding = mask(caps.get("bounding"), last)
        self.effective = mask(caps.get("effective"), last)
        self.permitted = mask(caps.get("permitted"), last)
        self.inheritable = mask(caps.get("inheritable"), last)
        self.ambient = mask(caps.get("ambient"), last)

    def drop_bounding(self) -> None:
        for num in range(self.last + 1):
            if not self.bounding & (1 << num):
                syscalls.prctl(syscalls.PR_CAPBSET_DROP, num)

    def apply(self) -> None:
        syscalls.capset(self.effective, self.permitted, self.inheritable)
        for num in range(self.last + 1):
            if self.ambient & (1 << num):
                syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_RAISE, num)


def switch_user(uid: int, gid: int, groups: list[int]) -> None:
    """setgroups/setgid/setuid while keeping permitted capabilities for the later capset."""
    syscalls.prctl(syscalls.PR_SET_KEEPCAPS, 1)
    os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    syscalls.prctl(syscalls.PR_SET_KEEPCAPS, 0)
