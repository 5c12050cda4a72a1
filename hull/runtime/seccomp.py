"""Compile a runtime-spec ``linux.seccomp`` profile with libseccomp (pyseccomp).

pyseccomp costs a noticeable import (ctypes.util, typing, libseccomp), so the runtime imports
this module only when a container actually has a profile, and before pivot_root (the module
and libseccomp must be loadable from the host's filesystem).  Compilation happens before the container
is started; :meth:`Filter.load` is the last thing before execve.
"""

from __future__ import annotations

import errno

import pyseccomp as sc

from hull.errors import EngineError

_OPS = {"SCMP_CMP_NE": "NE", "SCMP_CMP_LT": "LT", "SCMP_CMP_LE": "LE", "SCMP_CMP_EQ": "EQ",
        "SCMP_CMP_GE": "GE", "SCMP_CMP_GT": "GT", "SCMP_CMP_MASKED_EQ": "MASKED_EQ"}
_ARCHES = {"SCMP_ARCH_X86": "X86", "SCMP_ARCH_X86_64": "X86_64", "SCMP_ARCH_X32": "X32",
           "SCMP_ARCH_ARM": "ARM", "SCMP_ARCH_AARCH64": "AARCH64", "SCMP_ARCH_MIPS": "MIPS",
           "SCMP_ARCH_MIPS64": "MIPS64", "SCMP_ARCH_MIPS64N32": "MIPS64N32",
           "SCMP_ARCH_MIPSEL": "MIPSEL", "SCMP_ARCH_MIPSEL64": "MIPSEL64",
           "SCMP_ARCH_MIPSEL64N32": "MIPSEL64N32", "SCMP_ARCH_PPC": "PPC",
           "SCMP_ARCH_PPC64": "PPC64", "SCMP_ARCH_PPC64LE": "PPC64LE",
           "SCMP_ARCH_S390": "S390", "SCMP_ARCH_S390X": "S390X",
           "SCMP_ARCH_RISCV64": "RISCV64"}


def _action(name: str, errno_ret: int | None) -> int:
    simple = {"SCMP_ACT_KILL": sc.KILL_THREAD, "SCMP_ACT_KILL_THREAD": sc.KILL_THREAD,
              "SCMP_ACT_KILL_PROCESS": sc.KILL_PROCESS, "SCMP_ACT_TRAP": sc.TRAP,
              "SCMP_ACT_ALLOW": sc.ALLOW, "SCMP_ACT_LOG": sc.LOG}
    if name in simple:
        return simple[name]
    if name == "SCMP_ACT_ERRNO":
        return sc.ERRNO(errno.EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_TRACE":
        return sc.TRACE(errno.EPERM if errno_ret is None else errno_ret)
    raise EngineError(f"seccomp: unsupported action {name}")


class Filter:
    """A compiled filter, ready to load into the calling process."""

    def __init__(self, profile: dict) -> None:
        default = _action(profile.get("defaultAction", "SCMP_ACT_ALLOW"),
                          profile.get("defaultErrnoRet"))
        self._filter = f = sc.SyscallFilter(default)
        # Loading must not switch on no_new_privs behind the spec's back.
        f.set_attr(sc.Attr.CTL_NNP, 0)
        native = sc.system_arch()
        for arch in profile.get("architectures") or ():
            value = getattr(sc.Arch, _ARCHES.get(arch, ""), None)
            if value is None:
                raise EngineError(f"seccomp: unknown architecture {arch}")
            if value != native and not f.exist_arch(value):
                f.add_arch(value)
        for rule in profile.get("syscalls") or ():
            action = _action(rule.get("action", ""), rule.get("errnoRet"))
            if action == default:
                continue
            args = []
            for a in rule.get("args") or ():
                op = getattr(sc, _OPS.get(a.get("op", ""), ""), None)
                if op is None:
                    raise EngineError(f"seccomp: unknown operator {a.get('op')}")
                args.append(sc.Arg(a["index"], op, a.get("value", 0), a.get("valueTwo", 0)))
            for name in rule.get("names") or ():
                try:
                    f.add_rule(action, name, *args)
                except (OSError, ValueError, RuntimeError):
                    continue  # a syscall this libseccomp/arch does not know: nothing to filter

    def load(self) -> None:
        self._filter.load()
