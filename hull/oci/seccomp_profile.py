"""Docker's default seccomp profile, as data, resolved into runtime-spec ``linux.seccomp``.

Docker does not ship one fixed filter: some rules apply only when the container holds a
capability (``mount`` needs CAP_SYS_ADMIN, ``reboot`` needs CAP_SYS_BOOT, ...), some only on
certain architectures or kernels.  :func:`default_seccomp` evaluates those conditions for one
container the way Docker does at ``docker run`` time, so that ``--cap-add SYS_ADMIN`` also opens
the syscalls that capability is for.  Pure data and functions: no I/O.
"""

from __future__ import annotations

from hull.record import record

ERRNO_EPERM = 1
ERRNO_ENOSYS = 38
CLONE_NAMESPACE_FLAGS = 2114060288  # CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP

# Syscalls every container may make, whatever its capabilities.
ALWAYS_ALLOWED: tuple[str, ...] = tuple("""
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl
fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64
fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu
getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname
getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter
io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek
lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore
mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify
mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2
pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead
readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile
sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64
statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime
utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
""".split())


@record(frozen=True)
class Rule:
    """One conditional rule of the profile.

    ``caps``: applies only when the container holds all of them; ``not_caps``: only when it
    holds none of them; ``arches`` / ``not_arches``: Go architecture names (amd64, arm64, ...);
    ``min_kernel``: (major, minor) the host kernel must reach.
    """

    names: tuple[str, ...]
    action: str = "SCMP_ACT_ALLOW"
    args: tuple[tuple[int, int, str], ...] = ()  # (index, value, op)
    errno_ret: int | None = None
    caps: tuple[str, ...] = ()
    not_caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    not_arches: tuple[str, ...] = ()
    min_kernel: tuple[int, int] | None = None


def _personality(value: int) -> Rule:
    return Rule(("personality",), args=((0, value, "SCMP_CMP_EQ"),))


RULES: tuple[Rule, ...] = (
    Rule(ALWAYS_ALLOWED),
    Rule(("process_vm_readv", "process_vm_writev", "ptrace"), min_kernel=(4, 8)),
    Rule(("socket",), args=((0, 40, "SCMP_CMP_NE"),)),  # no AF_VSOCK
    _personality(0x0),
    _personality(0x8),
    _personality(0x20000),
    _personality(0x20008),
    _personality(0xFFFFFFFF),
    Rule(("sync_file_range2", "swapcontext"), arches=("ppc64le",)),
    Rule(("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
          "cacheflush", "set_tls"), arches=("arm", "arm64")),
    Rule(("arch_prctl",), arches=("amd64", "x32")),
    Rule(("modify_ldt",), arches=("amd64", "x32", "x86")),
    Rule(("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
         arches=("s390", "s390x")),
    Rule(("riscv_flush_icache",), arches=("riscv64",)),
    Rule(("open_by_handle_at",), caps=("CAP_DAC_READ_SEARCH",)),
    Rule(("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
          "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
          "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
          "syslog", "umount", "umount2", "unshare"), caps=("CAP_SYS_ADMIN",)),
    # Without CAP_SYS_ADMIN, clone may not create namespaces.
    Rule(("clone",), args=((0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"),),
         not_caps=("CAP_SYS_ADMIN",), not_arches=("s390", "s390x")),
    Rule(("clone",), args=((1, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"),),
         not_caps=("CAP_SYS_ADMIN",), arches=("s390", "s390x")),
    # clone3's flags live in memory seccomp cannot read: make libc fall back to clone.
    Rule(("clone3",), action="SCMP_ACT_ERRNO", errno_ret=ERRNO_ENOSYS,
         not_caps=("CAP_SYS_ADMIN",)),
    Rule(("reboot",), caps=("CAP_SYS_BOOT",)),
    Rule(("chroot",), caps=("CAP_SYS_CHROOT",)),
    Rule(("delete_module", "init_module", "finit_module"), caps=("CAP_SYS_MODULE",)),
    Rule(("acct",), caps=("CAP_SYS_PACCT",)),
    Rule(("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
          "ptrace"), caps=("CAP_SYS_PTRACE",)),
    Rule(("iopl", "ioperm"), caps=("CAP_SYS_RAWIO",)),
    Rule(("settimeofday", "stime", "clock_settime", "clock_settime64"), caps=("CAP_SYS_TIME",)),
    Rule(("vhangup",), caps=("CAP_SYS_TTY_CONFIG",)),
    Rule(("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
         caps=("CAP_SYS_NICE",)),
    Rule(("syslog",), caps=("CAP_SYSLOG",)),
    Rule(("bpf",), caps=("CAP_BPF",)),
    Rule(("perf_event_open",), caps=("CAP_PERFMON",)),
)

# Native architecture (Go's name) -> the seccomp architectures a process on it may use.
ARCH_MAP: dict[str, tuple[str, ...]] = {
    "amd64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "arm64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
    "mips64": ("SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"),
    "mips64le": ("SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"),
    "s390x": ("SCMP_ARCH_S390X", "SCMP_ARCH_S390"),
    "riscv64": ("SCMP_ARCH_RISCV64",),
}

# uname -m -> Go's architecture name, so callers can pass either.
MACHINE_TO_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "x86",
                     "i386": "x86", "ppc64le": "ppc64le", "s390x": "s390x",
                     "riscv64": "riscv64", "mips64": "mips64"}


@record
class _Conditions:
    caps: frozenset[str]
    arch: str
    kernel: tuple[int, int] | None

    def admit(self, rule: Rule) -> bool:
        if rule.caps and not all(c in self.caps for c in rule.caps):
            return False
        if rule.not_caps and any(c in self.caps for c in rule.not_caps):
            return False
        if rule.arches and self.arch not in rule.arches:
            return False
        if rule.not_arches and self.arch in rule.not_arches:
            return False
        return not (rule.min_kernel and self.kernel is not None
                    and self.kernel < rule.min_kernel)


def default_seccomp(capabilities: list[str] | tuple[str, ...] | frozenset[str],
                    arch: str = "amd64", kernel: tuple[int, int] | None = None) -> dict:
    """Docker's default profile for a container holding ``capabilities`` (bounding set).

    ``arch`` is Go's name (``amd64``) or ``uname -m`` (``x86_64``); ``kernel`` is the host's
    (major, minor), or None to assume a current kernel.  Returns the runtime-spec
    ``linux.seccomp`` object.
    """
    goarch = MACHINE_TO_GOARCH.get(arch, arch)
    cond = _Conditions(frozenset(capabilities), goarch, kernel)
    syscalls: list[dict] = []
    for rule in RULES:
        if not cond.admit(rule):
            continue
        entry: dict = {"names": list(rule.names), "action": rule.action}
        if rule.errno_ret is not None:
            entry["errnoRet"] = rule.errno_ret
        if rule.args:
            entry["args"] = [{"index": i, "value": v, "valueTwo": 0, "op": op}
                             for i, v, op in rule.args]
        syscalls.append(entry)
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": ERRNO_EPERM,
        "architectures": list(ARCH_MAP.get(goarch, ())),
        "syscalls": syscalls,
    }
