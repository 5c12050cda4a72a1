"""Seccomp for containers: compile a runtime-spec ``linux.seccomp`` profile once, load it fast.

libseccomp (through pyseccomp) turns a profile into a BPF program, but importing pyseccomp and
generating the program for Docker's profile costs tens of milliseconds per container.  So the
program is compiled once per distinct profile and cached as raw BPF under
``<state_root>/seccomp/<crc32>.bpf``, next to the exact profile text it was made from (a
cache hit compares that text, so a checksum collision only costs a recompile; no hashlib,
whose import alone costs milliseconds).  Containers then load the cached bytes with one
prctl(PR_SET_SECCOMP) call.  Loading is the last thing before execve.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import zlib

from hull.errors import EngineError
from hull.runtime import syscalls

CACHE_MAGIC = b"hull-seccomp-bpf-1\n"
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

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


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Program:
    """A BPF seccomp program (8-byte ``struct sock_filter`` instructions), ready to load."""

    def __init__(self, code: bytes) -> None:
        if not code or len(code) % 8:
            raise EngineError("seccomp: invalid BPF program")
        self.code = code
        # Allocated now, in the parent, so loading in the child is a single system call.
        self._buffer = ctypes.create_string_buffer(code, len(code))
        self._prog = _SockFprog(len(code) // 8, ctypes.addressof(self._buffer))

    def load(self) -> None:
        syscalls.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(self._prog))


def _action(sc, name: str, errno_ret: int | None) -> int:  # type: ignore[no-untyped-def]
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


def compile_profile(profile: dict) -> bytes:
    """Compile ``profile`` with libseccomp and return the BPF program's bytes."""
    import tempfile

    import pyseccomp as sc

    default = _action(sc, profile.get("defaultAction", "SCMP_ACT_ALLOW"),
                      profile.get("defaultErrnoRet"))
    f = sc.SyscallFilter(default)
    native = sc.system_arch()
    for arch in profile.get("architectures") or ():
        value = getattr(sc.Arch, _ARCHES.get(arch, ""), None)
        if value is None:
            raise EngineError(f"seccomp: unknown architecture {arch}")
        if value != native and not f.exist_arch(value):
            f.add_arch(value)
    for rule in profile.get("syscalls") or ():
        action = _action(sc, rule.get("action", ""), rule.get("errnoRet"))
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
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


def program_for(profile: dict, cache_dir: str) -> Program:
    """The BPF program for ``profile``, compiled on first use and cached in ``cache_dir``."""
    text = (os.uname().machine + "\n" + json.dumps(profile, sort_keys=True)).encode()
    path = os.path.join(cache_dir, f"{zlib.crc32(text):08x}-{len(text)}.bpf")
    header = CACHE_MAGIC + len(text).to_bytes(8, "little") + text
    try:
        with open(path, "rb") as f:
            cached = f.read()
        if cached.startswith(header):
            return Program(cached[len(header):])
    except FileNotFoundError:
        pass
    code = compile_profile(profile)
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(header + code)
    os.rename(tmp, path)
    return Program(code)
