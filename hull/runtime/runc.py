"""runc and crun as hull runtimes: the same Runtime API, carried out by their CLIs.

Both binaries share runc's command line.  Each keeps its state below
``<state_root>/<name>``.  Their own error messages are read back from a JSON log file and
mapped like Docker does (``executable file not found`` / ``no such file`` -> 127,
``permission denied`` -> 126).  Resource queries read the container's cgroup files directly,
the same way for every runtime.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from hull.errors import Conflict, EngineError, HullError, NotFound
from hull.runtime.base import STOPPED, Runtime, Stdio, check_id
from hull.runtime.cgroups import Cgroup, open_cgroup

EXIT_NOT_FOUND = 127
EXIT_CANNOT_INVOKE = 126


def _exit_code_for(message: str) -> int | None:
    lowered = message.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        return EXIT_NOT_FOUND
    if "permission denied" in lowered:
        return EXIT_CANNOT_INVOKE
    return None


class CliRuntime(Runtime):
    """Drives ``runc`` or ``crun`` (``name``) through its command line."""

    def __init__(self, name: str, state_root: str, binary: str | None = None) -> None:
        self.name = name
        self.binary = binary or shutil.which(name) or name
        self.root = os.path.join(state_root, name)
        self.log_dir = os.path.join(state_root, f"{name}-log")

    # -- running the CLI ----------------------------------------------------------------

    def _run(self, *args: str, container_id: str, stdio: Stdio | None = None,
             check_exists: bool = True) -> subprocess.CompletedProcess[bytes]:
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        os.makedirs(self.log_dir, mode=0o700, exist_ok=True)
        log = os.path.join(self.log_dir, f"{check_id(container_id)}.log")
        cmd = [self.binary, "--root", self.root, "--log", log, "--log-format", "json", *args]
        if stdio is None:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  check=False)
        else:
            # The container inherits these fds, so runc's own stderr goes to a file instead.
            with tempfile.TemporaryFile() as err:
                proc = subprocess.run(cmd, stdin=stdio.stdin, stdout=stdio.stdout,
                                      stderr=err if stdio.stderr is None else stdio.stderr,
                                      check=False)
                err.seek(0)
                proc.stderr = err.read()
        if proc.returncode != 0:
            message = self._last_error(log) or (proc.stderr or b"").decode(errors="replace")
            message = message.strip().splitlines()[-1] if message.strip() else "failed"
            self._raise(message, container_id, check_exists)
        return proc

    @staticmethod
    def _last_error(log: str) -> str:
        try:
            with open(log, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return ""
        for raw in reversed(lines):
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if entry.get("level") in ("error", "fatal"):
                return str(entry.get("msg", ""))
        return ""

    def _raise(self, message: str, container_id: str, check_exists: bool) -> None:
        lowered = message.lower()
        if check_exists and ("does not exist" in lowered or ("not found" in lowered
                             and "container" in lowered and "executable" not in lowered)):
            raise NotFound(f"container {container_id} does not exist")
        code = _exit_code_for(message)
        if code is not None:
            raise HullError(f"{self.name}: {message}", code)
        if "already exists" in lowered:
            raise Conflict(f"container {container_id} already exists")
        if "not running" in lowered or "not paused" in lowered or "not stopped" in lowered \
                or "cannot delete" in lowered or "is not in created state" in lowered:
            raise Conflict(f"{self.name}: {message}")
        raise EngineError(f"{self.name}: {message}")

    def _clear_log(self, container_id: str) -> None:
        try:
            os.unlink(os.path.join(self.log_dir, f"{container_id}.log"))
        except FileNotFoundError:
            pass

    @staticmethod
    def _read_pid(path: str) -> int:
        with open(path) as f:
            return int(f.read().strip())

    # -- lifecycle ----------------------------------------------------------------------

    def create(self, container_id: str, bundle: str, stdio: Stdio,
               console_socket: str | None = None) -> int:
        bundle = os.path.abspath(bundle)
        self._clear_log(container_id)
        with tempfile.TemporaryDirectory(prefix="hull-pid-") as tmp:
            pid_file = os.path.join(tmp, "pid")
            args = ["create", "--bundle", bundle, "--pid-file", pid_file]
            if console_socket:
                args += ["--console-socket", console_socket]
            self._run(*args, container_id, container_id=container_id, stdio=stdio,
                      check_exists=False)
            return self._read_pid(pid_file)

    def start(self, container_id: str) -> None:
        self._run("start", container_id, container_id=container_id)

    def state(self, container_id: str) -> dict:
        proc = self._run("state", container_id, container_id=container_id)
        data = json.loads(proc.stdout)
        if data.get("status") == STOPPED:
            data["pid"] = 0
        return data

    def kill(self, container_id: str, signal: int, all: bool = False) -> None:
        args = ["kill", *(["--all"] if all else []), container_id, str(signal)]
        self._run(*args, container_id=container_id)

    def pause(self, container_id: str) -> None:
        self._run("pause", container_id, container_id=container_id)

    def resume(self, container_id: str) -> None:
        self._run("resume", container_id, container_id=container_id)

    def exec(self, container_id: str, process: dict, stdio: Stdio,
             console_socket: str | None = None) -> int:
        with tempfile.TemporaryDirectory(prefix="hull-exec-") as tmp:
            process_file = os.path.join(tmp, "process.json")
            with open(process_file, "w") as f:
                json.dump(process, f)
            pid_file = os.path.join(tmp, "pid")
            args = ["exec", "--detach", "--pid-file", pid_file, "--process", process_file]
            if console_socket:
                args += ["--console-socket", console_socket]
            self._run(*args, container_id, container_id=container_id, stdio=stdio)
            return self._read_pid(pid_file)

    def delete(self, container_id: str, force: bool = False) -> None:
        args = ["delete", *(["--force"] if force else []), container_id]
        self._run(*args, container_id=container_id)
        self._clear_log(container_id)

    # -- cgroup queries -----------------------------------------------------------------

    def _cgroup(self, container_id: str) -> Cgroup:
        bundle = self.state(container_id)["bundle"]
        try:
            with open(os.path.join(bundle, "config.json")) as f:
                spec = json.load(f)
        except (OSError, ValueError) as e:
            raise EngineError(f"cannot read {bundle}/config.json: {e}") from None
        path = (spec.get("linux") or {}).get("cgroupsPath") or container_id
        return open_cgroup(path)

    def oom_killed(self, container_id: str) -> bool:
        return self._cgroup(container_id).oom_kills() > 0

    def stats(self, container_id: str) -> dict:
        return self._cgroup(container_id).stats()
