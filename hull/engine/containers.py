"""The container service: create, start, stop, remove and look at containers.

Front ends (CLI now, API later) pass Docker's ``Config`` / ``HostConfig`` documents; this
service turns them into a record, a writable snapshot, a bundle and a running shim.  It
holds no state of its own between calls: the database and the shims are the truth, and
:meth:`ContainerService.reconcile` repairs records whose shim died (crash, kill -9, reboot).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal as signals
import time

from hull.engine.container_files import write_small
from hull.engine.container_model import (
    EXITED,
    PAUSED,
    RUNNING,
    Container,
    fresh_state,
    new_id,
    rfc3339_nano,
    shim_alive,
)
from hull.engine.container_paths import ContainerPaths
from hull.engine.container_store import ContainerStore
from hull.errors import Conflict, EngineError, HullError, InvalidArgument, NotFound
from hull.record import record

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    import socket
    from typing import Any

    from hull.engine import Engine
    from hull.runtime.base import Runtime
    from hull.shim.launch import PendingShim

DEFAULT_STOP_TIMEOUT = 10
RUNTIMES = ("builtin", "runc", "crun")
NETWORK_MODES = ("default", "bridge", "none", "host")
MIN_MEMORY = 6 * 1024 * 1024
EXIT_LOST = 255  # the shim vanished and nothing was left running (Docker's value too)
EXIT_KILLED = 128 + 9


@record
class Started:
    """A container whose shim reported a running process; ``sock`` streams an attached run."""

    container: Container
    pid: int
    sock: socket.socket
    reader: Any = None  # frames already received behind "started" (a fast container's output)


def host_config_defaults() -> dict[str, Any]:
    return {
        "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {"Name": "no",
                                                                       "MaximumRetryCount": 0},
        "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None,
        "CapDrop": None, "CgroupnsMode": "private", "Dns": [], "DnsOptions": [],
        "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private",
        "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
        "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "builtin",
        "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "",
        "BlkioWeight": 0, "CpuPeriod": 0, "CpuQuota": 0, "CpusetCpus": "", "CpusetMems": "",
        "Devices": [], "KernelMemory": 0, "MemoryReservation": 0, "MemorySwap": 0,
        "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None, "Ulimits": None,
        "Init": None, "MaskedPaths": None, "ReadonlyPaths": None,
    }


def config_defaults() -> dict[str, Any]:
    return {
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
        "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
        "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
        "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": {},
    }


def merge_image_config(config: dict[str, Any], image: dict[str, Any]) -> None:
    """Fill the container's Config from the image's, Docker's way (user values win)."""
    env = list(image.get("Env") or [])
    for item in config.get("Env") or []:
        key = item.split("=", 1)[0]
        env = [e for e in env if e.split("=", 1)[0] != key]
        env.append(item)
    config["Env"] = env
    if config.get("Entrypoint") is None:
        config["Entrypoint"] = image.get("Entrypoint")
        if not config.get("Cmd"):
            config["Cmd"] = image.get("Cmd")
    elif config.get("Entrypoint") == [""]:
        config["Entrypoint"] = None
    for key in ("WorkingDir", "User", "StopSignal", "Domainname"):
        if not config.get(key) and image.get(key):
            config[key] = image[key]
    labels = dict(image.get("Labels") or {})
    labels.update(config.get("Labels") or {})
    config["Labels"] = labels
    for key in ("ExposedPorts",):
        if image.get(key) and not config.get(key):
            config[key] = image[key]
    if image.get("Volumes"):  # the image's VOLUMEs and ``-v /path`` ones together, as Docker
        config["Volumes"] = {**image["Volumes"], **(config.get("Volumes") or {})}


class ContainerService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = ContainerStore(engine.db)
        self._reconciled = False

    # ---- lookups -------------------------------------------------------------------------

    def paths(self, container_id: str) -> ContainerPaths:
        return ContainerPaths(self.engine.root, self.engine.run_root, container_id)

    def runtime(self, c: Container) -> Runtime:
        from hull.runtime import get_runtime

        return get_runtime(c.runtime_name, self.paths(c.id).runtime_root)

    def get(self, ref: str) -> Container:
        """A container by id, name or id prefix, after repairing its record if its shim died."""
        self.reconcile()
        return self.store.find(ref)

    def list(self) -> list[Container]:
        self.reconcile()
        return self.store.all()

    def image_of_name(self, name: str) -> str | None:
        """The image id a reference or id names now (cheap: no image store, cached)."""
        cache = self.__dict__.setdefault("_image_names", {})
        if name not in cache:
            cache[name] = self._lookup_image(name)
        return cache[name]

    def _lookup_image(self, name: str) -> str | None:
        db = self.engine.db
        if name.startswith("sha256:"):
            row = db.query_one("SELECT id FROM images WHERE id = ?", (name,))
            return row["id"] if row else None
        normalized = _plain_normalized(name)
        if normalized:
            row = db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (normalized,))
            if row:
                return str(row["image_id"])
        try:
            from hull import reference as refs

            normalized = str(refs.parse(name))
        except HullError:
            normalized = ""
        if normalized:
            row = db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (normalized,))
            if row:
                return str(row["image_id"])
        rows = db.query("SELECT id FROM images WHERE id LIKE ? LIMIT 2", (f"sha256:{name}%",))
        return str(rows[0]["id"]) if len(rows) == 1 else None

    # ---- crash repair --------------------------------------------------------------------

    def reconcile(self) -> None:
        """Containers whose shim is gone are recorded as exited and their resources freed."""
        if self._reconciled:
            return
        self._reconciled = True
        for c in self.store.owned_by_shims():
            if not shim_alive(int(c.hull.get("ShimPid") or 0), int(c.hull.get("ShimStart") or 0)):
                self._recover(c)

    def _recover(self, c: Container) -> None:
        from hull.engine.container_teardown import oom_killed, release

        paths = self.paths(c.id)
        pid = int(c.state.get("Pid") or 0)
        was_alive = pid > 0 and os.path.exists(f"/proc/{pid}")
        oom = oom_killed(c.runtime_name, paths)
        release(c.runtime_name, paths)
        dead_shim = c.hull.get("ShimPid")
        code = EXIT_KILLED if was_alive else EXIT_LOST

        def exited(record: Container) -> None:
            if record.hull.get("ShimPid") != dead_shim:
                return  # another process repaired it, or a new shim owns it
            record.state.update(Status=EXITED, Running=False, Paused=False, Restarting=False,
                                Pid=0,
                                ExitCode=code, OOMKilled=oom, FinishedAt=rfc3339_nano())
            record.hull["ShimPid"] = 0

        try:
            self.store.update(c.id, exited)
        except NotFound:
            return
        if c.host_config.get("AutoRemove"):
            with contextlib.suppress(HullError):
                self._discard(c)

    # ---- create --------------------------------------------------------------------------

    def create(self, config: dict[str, Any], host_config: dict[str, Any],
               name: str | None = None, endpoint: dict[str, Any] | None = None) -> Container:
        """Record a new container and prepare its writable layer (``docker create``).

        ``endpoint``: Docker's EndpointSettings for its network (Aliases, IPAMConfig)."""
        from hull.engine.container_names import VALID_NAME

        cfg = config_defaults()
        cfg.update({k: v for k, v in config.items() if v is not None})
        hc = host_config_defaults()
        hc.update({k: v for k, v in host_config.items() if v is not None})
        self._validate(hc)
        if name is not None:
            name = name.lstrip("/")
            if not VALID_NAME.match(name):
                raise InvalidArgument(f'Invalid container name ({name}), only'
                                      ' [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
        image = self._image(cfg["Image"])
        image_cfg = (self.engine.images.config(image).get("config") or {})
        merge_image_config(cfg, image_cfg)
        from hull.engine.container_health import merge_health

        health = merge_health(cfg.get("Healthcheck"), image_cfg.get("Healthcheck"))
        if health:
            cfg["Healthcheck"] = health
        args = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
        if not args:
            raise InvalidArgument("No command specified", exit_code=125)
        mount_points = self.engine.volumes.plan(cfg, hc)  # bad mounts fail before anything exists
        cid = new_id()
        paths = self.paths(cid)
        now_ns = time.time_ns()
        data: dict[str, Any] = {
            "Created": rfc3339_nano(now_ns), "Path": args[0], "Args": args[1:],
            "State": fresh_state(), "Image": image.id, "ResolvConfPath": "",
            "HostnamePath": "", "HostsPath": "", "LogPath": paths.log, "RestartCount": 0,
            "Driver": self._driver_name(), "Platform": "linux", "MountLabel": "",
            "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None, "HostConfig": hc,
            "Mounts": [], "Config": cfg,
            "NetworkSettings": {"Bridge": "", "SandboxID": "", "HairpinMode": False,
                                "Ports": {}, "SandboxKey": "", "Networks": {
                                    _network_name(hc["NetworkMode"]): {}}},
            "Hull": {"ShimPid": 0, "ShimStart": 0},
        }
        joined = _joined_id(hc["NetworkMode"])
        if joined:
            if config.get("Hostname"):
                raise InvalidArgument("conflicting options: hostname and the network mode")
            other = self.get(joined)
            cfg["Hostname"] = other.config.get("Hostname") or other.id[:12]
            data["NetworkSettings"]["Networks"] = {}
        if not cfg.get("Hostname"):
            cfg["Hostname"] = os.uname().nodename if hc["NetworkMode"] == "host" else cid[:12]
        c = Container(cid, name or "", image.id, now_ns / 1e9, data)
        self._insert(c, named=name is not None)
        try:
            if joined:
                os.makedirs(paths.dir, mode=0o710, exist_ok=True)
                files = {k: other.data.get(k) or "" for k in
                         ("HostnamePath", "HostsPath", "ResolvConfPath")}
            else:
                self.engine.networks.register(cid, hc, cfg, endpoint)
                from hull.engine.container_files import write_files

                files = write_files(paths.dir, cfg["Hostname"], hc["NetworkMode"],
                                    list(hc.get("ExtraHosts") or []), list(hc.get("Dns") or []),
                                    list(hc.get("DnsSearch") or []))
            self.engine.snapshotter.prepare(c.snapshot_key, image.top_chain_id)
            mounts = self.engine.volumes.attach(cid, mount_points, bool(hc.get("AutoRemove")))
            c = self.store.update(cid, lambda rec: rec.data.update(files, Mounts=mounts))
        except BaseException:
            with contextlib.suppress(Exception):
                self._discard(c)
            raise
        return c

    def _insert(self, c: Container, named: bool) -> None:
        from hull.engine.container_names import random_name

        if named:
            self.store.insert(c)
            return
        for attempt in range(10):
            c.name = random_name(attempt)
            try:
                self.store.insert(c)
                return
            except Conflict:
                continue
        raise EngineError("could not find a free random container name")

    def _image(self, ref: str) -> Any:
        if not ref:
            raise InvalidArgument("no image given")
        normalized = _plain_normalized(ref)
        if normalized:  # a common name: found without compiling the reference grammar
            row = self.engine.db.query_one("SELECT image_id FROM image_refs WHERE name = ?",
                                           (normalized,))
            if row:
                return self.engine.images.get(str(row["image_id"]))
        try:
            return self.engine.images.get(ref)
        except NotFound:
            shown = ref
            with contextlib.suppress(HullError):
                from hull import reference as refs

                shown = refs.parse(ref).familiar()
            raise NotFound(f"No such image: {shown}", exit_code=125) from None

    def _validate(self, hc: dict[str, Any]) -> None:
        memory = int(hc.get("Memory") or 0)
        if memory and memory < MIN_MEMORY:
            raise InvalidArgument("Minimum memory limit allowed is 6MB")
        nano = int(hc.get("NanoCpus") or 0)
        ncpu = os.cpu_count() or 1
        if nano < 0 or nano > ncpu * 1_000_000_000:
            raise InvalidArgument(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only"
                                  f" {ncpu} CPUs available")
        if int(hc.get("CpuShares") or 0) < 0:
            raise InvalidArgument("invalid CPU shares: must be a positive number")
        mode = hc.get("NetworkMode") or "default"
        if mode.startswith("container:"):
            hc["NetworkMode"] = mode = self._joined_network_mode(mode, hc)
        elif mode not in NETWORK_MODES:
            self.engine.networks.validate_mode(mode)
        if hc.get("PortBindings") and mode in ("none", "host"):
            raise InvalidArgument("conflicting options: port publishing and the container"
                                  f" type network mode ({mode})")
        from hull.engine.container_logs import log_options
        from hull.engine.container_restart import check_with_auto_remove

        log_options(hc.get("LogConfig"))
        check_with_auto_remove(hc.get("RestartPolicy") or {}, bool(hc.get("AutoRemove")))
        runtime = hc.get("Runtime") or "builtin"
        if runtime not in RUNTIMES:
            raise InvalidArgument(f"unknown runtime {runtime!r} (expected builtin, runc or crun)")
        if runtime != "builtin":
            import shutil

            if shutil.which(runtime) is None:
                raise InvalidArgument(f"unknown or invalid runtime name: {runtime}")
        from hull.engine.container_spec import _rlimits, _security_options

        _security_options(hc.get("SecurityOpt") or [])
        _rlimits(hc.get("Ulimits") or [])
        from hull.oci.runtime_spec import resolve_capabilities

        try:
            resolve_capabilities(hc.get("CapAdd") or [], hc.get("CapDrop") or [])
        except ValueError as e:
            raise InvalidArgument(str(e)) from None

    def _driver_name(self) -> str:
        return "overlay2" if self.engine.snapshotter.name == "overlay" else \
            self.engine.snapshotter.name

    # ---- start ---------------------------------------------------------------------------

    def start(self, ref: str, attach: bool = False,
              console_size: tuple[int, int] | None = None,
              shim: PendingShim | None = None) -> Started | None:
        """Start a created or stopped container; None when it was already running.

        ``shim``: a shim forked ahead of time (``run``); otherwise one is forked here.
        """
        import fcntl

        c = self.get(ref)
        paths = self.paths(c.id)
        os.makedirs(os.path.dirname(paths.lock), mode=0o711, exist_ok=True)
        lock = os.open(paths.lock, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            c = self.store.get(c.id)
            if c.running or shim_alive(int(c.hull.get("ShimPid") or 0),
                                       int(c.hull.get("ShimStart") or 0)):
                return None
            try:
                plan = self._prepare(c, paths, console_size)
            except BaseException:
                from hull.engine.container_teardown import release

                release(c.runtime_name, paths)
                raise
            sock = shim.go(plan, attach) if shim is not None else \
                self._launch(plan, attach, lock)
        finally:
            os.close(lock)
        return self._await_start(c, sock)

    def _launch(self, plan: Any, attach: bool, lock: int) -> socket.socket:
        """Fork the shim with no SQLite connection open in this process.

        SQLite keeps per-process lock and shared-memory bookkeeping in memory; a forked child
        that inherited it and opened its own connection would commit where other processes
        cannot see it.  So the CLI's connection is closed around the fork and reopened.
        """
        from hull.shim.launch import launch

        db = self.engine.db
        db.close()
        try:
            return launch(plan, attach, keep=self.engine, close=(lock,))
        finally:
            db.reopen()  # a connection never crosses a fork

    def _prepare(self, c: Container, paths: ContainerPaths,
                 console_size: tuple[int, int] | None) -> Any:
        from hull.engine.container_netns import create_netns
        from hull.engine.container_spec import build_spec
        from hull.engine.container_user import resolve_user
        from hull.shim.plan import ShimPlan
        from hull.snapshot.mount import mount_all, mounted

        snap = self.engine.snapshotter
        if snap.stat(c.snapshot_key) is None:
            raise EngineError(f"container {c.id} has lost its writable layer; remove it")
        os.makedirs(paths.rootfs, mode=0o711, exist_ok=True)
        if not mounted(paths.rootfs):
            mount_all(snap.mounts(c.snapshot_key), paths.rootfs)
        cfg, hc = c.config, c.host_config
        self._ensure_files(c, paths)
        user = resolve_user(paths.rootfs, cfg.get("User") or "", list(hc.get("GroupAdd") or []))
        netns = None
        mode = hc.get("NetworkMode") or "default"
        if _joined_id(mode):
            netns = self._joined_netns(_joined_id(mode))
        elif mode != "host":
            netns = paths.netns
            create_netns(netns)
            self.engine.networks.attach(c, netns)
        spec = build_spec(c.id, cfg, hc, paths.rootfs, user,
                          {k: c.data[k] for k in ("ResolvConfPath", "HostnamePath", "HostsPath")},
                          netns, paths.cgroups_path, console_size)
        from hull.volume.ocimounts import merge_mounts

        merge_mounts(spec, self.engine.volumes.mount_entries(c.id, paths.rootfs))
        with open(paths.config, "w") as f:
            json.dump(spec, f)
        write_small(paths.name_file, c.name)
        return ShimPlan(container_id=c.id, paths=paths, db_path=self.engine.db.path,
                        snapshotter=snap.name, runtime=c.runtime_name, tty=bool(cfg.get("Tty")),
                        open_stdin=bool(cfg.get("OpenStdin")),
                        stdin_once=bool(cfg.get("StdinOnce")),
                        auto_remove=bool(hc.get("AutoRemove")), **self._monitor_settings(c))

    def _joined_network_mode(self, mode: str, hc: dict[str, Any]) -> str:
        """``container:NAME`` -> ``container:<id>``, refusing flags that need a network of its own."""
        ref = mode.split(":", 1)[1]
        if not ref:
            raise InvalidArgument("invalid network mode: container: needs a container name or id")
        for key, what in (("PortBindings", "port publishing and the container type network mode"),
                          ("Dns", "dns and the network mode"),
                          ("ExtraHosts", "custom host-to-IP mapping and the network mode"),
                          ("Links", "container type network can't be used with links. This would"
                                    " result in undefined behavior")):
            if hc.get(key):
                raise InvalidArgument(f"conflicting options: {what}")
        return f"container:{self.get(ref).id}"

    def _joined_netns(self, other_id: str) -> str | None:
        """The network namespace of a running container whose network this one joins."""
        try:
            other = self.get(other_id)
        except NotFound:
            raise Conflict(f"cannot join network of a non running container: {other_id}") from None
        if not other.state.get("Running"):
            raise Conflict(f"cannot join network of a non running container: {other.id}")
        mode = other.host_config.get("NetworkMode") or "default"
        if mode == "host":
            return None
        if _joined_id(mode):
            return self._joined_netns(_joined_id(mode))
        return self.paths(other.id).netns

    def _monitor_settings(self, c: Container) -> dict[str, Any]:
        """Log, restart and health settings the shim applies (see hull.shim.plan)."""
        from hull.engine.container_health import effective
        from hull.engine.container_logs import log_options

        hc = c.host_config
        driver, max_size, max_file = log_options(hc.get("LogConfig"))
        policy = hc.get("RestartPolicy") or {}
        return {"log_driver": driver, "log_max_size": max_size, "log_max_file": max_file,
                "restart_policy": policy.get("Name") or "no",
                "restart_max": int(policy.get("MaximumRetryCount") or 0),
                "restart_count": 0,  # a start by the user begins a new count (Docker)
                "health": effective(c.config.get("Healthcheck"))}

    def _ensure_files(self, c: Container, paths: ContainerPaths) -> None:
        """The /etc files survive in the root, but recreate them if they went missing."""
        if all(os.path.exists(c.data.get(k) or "") for k in
               ("ResolvConfPath", "HostnamePath", "HostsPath")):
            return
        from hull.engine.container_files import write_files

        hc = c.host_config
        files = write_files(paths.dir, c.config.get("Hostname") or c.id[:12],
                            hc.get("NetworkMode") or "default", list(hc.get("ExtraHosts") or []),
                            list(hc.get("Dns") or []), list(hc.get("DnsSearch") or []))
        c.data.update(files)
        self.store.update(c.id, lambda rec: rec.data.update(files))

    def _await_start(self, c: Container, sock: socket.socket) -> Started:
        from hull.shim import protocol as proto

        reader = proto.FrameReader()
        while True:
            data = sock.recv(65536)
            if not data:
                sock.close()
                raise EngineError(f"the monitor of container {c.short_id} exited during start")
            for kind, payload in reader.feed(data):
                doc = json.loads(payload or b"{}")
                if kind == proto.STARTED:
                    sock.setblocking(True)
                    return Started(self.store.get(c.id), int(doc.get("pid", 0)), sock, reader)
                if kind == proto.ERROR:
                    sock.close()
                    raise HullError(doc.get("message", "start failed"),
                                    int(doc.get("exit_code") or 125))

    # ---- stop / kill / pause -------------------------------------------------------------

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> Container:
        """Stop signal, then SIGKILL after ``timeout`` seconds (Docker's ``stop``)."""
        c = self.get(ref)
        if not c.running:
            return c
        sig = parse_signal(signal or c.config.get("StopSignal") or "SIGTERM")
        self._end_restarts(c)
        if timeout is None:
            stop_timeout = c.config.get("StopTimeout")
            timeout = DEFAULT_STOP_TIMEOUT if stop_timeout is None else int(stop_timeout)
        runtime = self.runtime(c)
        with contextlib.suppress(HullError):
            runtime.kill(c.id, sig)
            if c.state.get("Paused"):
                runtime.resume(c.id)
        if timeout < 0 or not self.wait_exit(c, float(timeout)):
            with contextlib.suppress(HullError):
                runtime.kill(c.id, signals.SIGKILL, all=True)
            with contextlib.suppress(HullError):
                runtime.resume(c.id)
            if not self.wait_exit(c, 30.0):
                raise EngineError(f"container {c.short_id} did not stop after SIGKILL")
        return self.store.get(c.id)

    def _end_restarts(self, c: Container) -> None:
        """A user's stop: the shim must not restart the container (restart policies), and
        ``unless-stopped`` keeps it stopped across ``system restore``."""
        from hull.engine.container_restart import request_stop

        request_stop(self.paths(c.id).attach_socket)
        with contextlib.suppress(NotFound):
            self.store.update(c.id, lambda r: r.hull.update(ManuallyStopped=True))

    def kill(self, ref: str, signal: str = "KILL") -> Container:
        c = self.get(ref)
        sig = parse_signal(signal)
        if not c.running:
            raise Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        if sig in (signals.SIGKILL, parse_signal(c.config.get("StopSignal") or "SIGTERM")):
            self._end_restarts(c)  # a fatal signal disables the restart policy (Docker)
        try:
            self.runtime(c).kill(c.id, sig)
        except Conflict:
            raise Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running"
                           ) from None
        return c

    def restart(self, ref: str, timeout: int | None = None) -> Started | None:
        c = self.stop(ref, timeout)
        return self.start(c.id)

    def pause(self, ref: str) -> None:
        c = self.get(ref)
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        if c.state.get("Paused"):
            raise Conflict(f"Container {c.id} is already paused")
        self.runtime(c).pause(c.id)
        self.store.update(c.id, lambda r: r.state.update(Paused=True, Status=PAUSED))

    def unpause(self, ref: str) -> None:
        c = self.get(ref)
        if not c.state.get("Paused"):
            raise Conflict(f"Container {c.id} is not paused")
        self.runtime(c).resume(c.id)
        self.store.update(c.id, lambda r: r.state.update(Paused=False, Status=RUNNING))

    # ---- waiting -------------------------------------------------------------------------

    def wait_exit(self, c: Container, timeout: float | None) -> bool:
        """Block until the container's shim finished (True) or ``timeout`` passed (False)."""
        import socket

        from hull.shim import protocol as proto

        deadline = None if timeout is None else time.monotonic() + timeout
        paths = self.paths(c.id)
        while True:
            current = self.store.get(c.id)
            if not current.running and not current.hull.get("ShimPid"):
                return True
            if not shim_alive(int(current.hull.get("ShimPid") or 0),
                              int(current.hull.get("ShimStart") or 0)):
                self._recover(current)
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(left if left is None else max(left, 0.001))
                    from hull.shim.sockpath import unix_path

                    with unix_path(paths.attach_socket) as short:
                        s.connect(short)
                    s.sendall(proto.json_frame(proto.REQUEST, {"op": "wait"}))
                    while s.recv(65536):
                        pass
            except TimeoutError:
                return False
            except OSError:
                time.sleep(0.01)

    def wait(self, ref: str) -> int:
        """Wait for the container to stop; its exit code (``docker wait``)."""
        c = self.get(ref)
        self.wait_exit(c, None)
        with contextlib.suppress(NotFound):
            return int(self.store.get(c.id).state.get("ExitCode") or 0)
        return int(c.state.get("ExitCode") or 0)

    # ---- remove / rename -----------------------------------------------------------------

    def remove(self, ref: str, force: bool = False) -> Container:
        c = self.get(ref)
        if c.running:
            if not force:
                what = "paused" if c.state.get("Paused") else \
                    "restarting" if c.state.get("Restarting") else "running"
                action = "Unpause and then stop" if what == "paused" else "Stop"
                raise Conflict(f"You cannot remove a {what} container {c.id}. {action} the"
                               " container before attempting removal or force remove")
            self._end_restarts(c)
            runtime = self.runtime(c)
            with contextlib.suppress(HullError):
                runtime.kill(c.id, signals.SIGKILL, all=True)
            # the shim may have released the cgroup already (a killed container ends fast)
            with contextlib.suppress(HullError, OSError):
                runtime.resume(c.id)
            if not self.wait_exit(c, 30.0):
                raise EngineError(f"container {c.short_id} did not stop after SIGKILL")
            with contextlib.suppress(NotFound):
                c = self.store.get(c.id)
        self._discard(c)
        return c

    def _discard(self, c: Container) -> None:
        from hull.engine.container_teardown import discard, release

        paths = self.paths(c.id)
        if self._may_hold_host_resources(c, paths):
            release(c.runtime_name, paths)
        discard(self.store, paths, self.engine.snapshotter.name)

    @staticmethod
    def _may_hold_host_resources(c: Container, paths: ContainerPaths) -> bool:
        """A cleanly stopped (or never started) container holds nothing on the host: its
        shim released it all.  Only then may ``rm`` skip the (import-heavy) release."""
        return bool(c.running or c.hull.get("ShimPid")) or any(os.path.lexists(p) for p in (
            paths.bundle, paths.netns, os.path.join(paths.runtime_root, c.runtime_name, c.id)))

    def rename(self, ref: str, new_name: str) -> None:
        from hull.engine.container_names import VALID_NAME

        c = self.get(ref)
        new = new_name.lstrip("/")
        if not VALID_NAME.match(new):
            raise InvalidArgument(f"Invalid container name ({new}), only"
                                  " [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        if new == c.name:
            raise InvalidArgument("Renaming a container with the same name as its current name")
        self.store.rename(c.id, new)
        if os.path.isdir(self.paths(c.id).bundle):  # a running container: exec finds it by name
            write_small(self.paths(c.id).name_file, new)

    def prune(self, filters: dict[str, list[str]]) -> tuple[list[str], int]:
        """Remove every stopped container matching ``filters`` (until, label)."""
        from hull.engine.container_query import matches_labels, until_cutoffs

        unknown = set(filters) - {"until", "label", "label!"}
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        cutoffs = until_cutoffs(filters.get("until", []))
        removed: list[str] = []
        reclaimed = 0
        for c in self.list():
            if c.running or c.hull.get("ShimPid"):
                continue
            if any(c.created_at >= cut for cut in cutoffs):
                continue
            if not matches_labels(c, filters.get("label", []), filters.get("label!", [])):
                continue
            reclaimed += self.size(c)[0]
            self._discard(c)
            removed.append(c.id)
        return removed, reclaimed

    # ---- looking inside ------------------------------------------------------------------

    def size(self, c: Container) -> tuple[int, int]:
        """(bytes in the writable layer, bytes of the whole root filesystem)."""
        rw = 0
        with contextlib.suppress(HullError, OSError):
            rw = self.engine.snapshotter.usage(c.snapshot_key)
        image_size = 0
        row = self.engine.db.query_one("SELECT size FROM images WHERE id = ?", (c.image_id,))
        if row:
            image_size = int(row["size"])
        return rw, rw + image_size

    def inspect(self, ref: str, size: bool = False) -> dict[str, Any]:
        c = self.get(ref)
        doc = c.inspect_doc()
        doc["GraphDriver"] = self._graph_driver(c)
        if size:
            doc["SizeRw"], doc["SizeRootFs"] = self.size(c)
        return doc

    def _graph_driver(self, c: Container) -> dict[str, Any]:
        data: dict[str, str] | None = None
        with contextlib.suppress(HullError, OSError):
            for m in self.engine.snapshotter.mounts(c.snapshot_key):
                if m.type == "overlay":
                    opts = dict(o.split("=", 1) for o in m.options if "=" in o)
                    data = {"LowerDir": opts.get("lowerdir", ""),
                            "MergedDir": self.paths(c.id).rootfs,
                            "UpperDir": opts.get("upperdir", ""),
                            "WorkDir": opts.get("workdir", "")}
                else:
                    data = {"MergedDir": self.paths(c.id).rootfs, "UpperDir": m.source}
        return {"Data": data, "Name": self._driver_name()}

    def top(self, ref: str, ps_args: str = "-ef") -> tuple[list[str], list[list[str]]]:
        """Processes of a running container as ``ps`` on the host shows them."""
        import subprocess

        from hull.runtime.cgroups import open_cgroup

        c = self.get(ref)
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        pids = set(open_cgroup(self.paths(c.id).cgroups_path).procs())
        proc = subprocess.run(["ps", *ps_args.split()], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise InvalidArgument(f"Error running ps: {proc.stderr.strip()}")
        lines = proc.stdout.splitlines()
        if not lines:
            return [], []
        titles = lines[0].split()
        if "PID" not in titles:
            raise InvalidArgument(f"Couldn't find PID field in ps output: {lines[0]}")
        at = titles.index("PID")
        rows = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > at and fields[at].isdigit() and int(fields[at]) in pids:
                rows.append(fields)
        return titles, rows

    def logs(self, ref: str) -> list[tuple[str, str, str]]:
        """(stream, text, time) of everything the container wrote, oldest first."""
        from hull.shim.jsonlog import read_log

        c = self.get(ref)
        return read_log(self.paths(c.id).log)


_PLAIN_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/:")


def _plain_normalized(name: str) -> str:
    """The stored (normalized) form of a common image name such as ``busybox``,
    ``user/app:1.0`` or ``registry:5000/app``, by string operations alone; "" when the name
    needs the full grammar.  Looking this up first spares ``ps`` compiling the reference
    grammar's patterns; a miss falls through to the full parse."""
    if not name or "@" in name or not set(name) <= _PLAIN_NAME_CHARS or "//" in name:
        return ""
    repo, _, tag = name.rpartition(":")
    if not repo or "/" in tag:
        repo, tag = name, "latest"
    if not tag or ":" in tag or repo.startswith("/") or repo.endswith("/"):
        return ""
    first, slash, rest = repo.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if first in ("docker.io", "index.docker.io"):
            repo = "docker.io/" + (rest if "/" in rest else "library/" + rest)
    elif ":" in repo:
        return ""
    else:
        repo = "docker.io/" + (repo if slash else "library/" + repo)
    return f"{repo}:{tag}"


def _network_name(mode: str) -> str:
    return "bridge" if mode == "default" else mode


def _joined_id(mode: str) -> str:
    """The container id of a ``container:<id>`` network mode, else ""."""
    return mode.split(":", 1)[1] if mode.startswith("container:") else ""


def parse_signal(text: str | int) -> int:
    """``KILL``, ``SIGKILL``, ``9`` -> 9 (Docker's spelling rules)."""
    value = str(text).strip()
    if value.isdigit():
        number = int(value)
        if 0 < number < 65:
            return number
    else:
        name = value.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        sig = getattr(signals.Signals, name, None) if name in signals.Signals.__members__ \
            else None
        if sig is not None:
            return int(sig)
        if name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX"):
            base = signals.SIGRTMIN if name.startswith("SIGRTMIN") else signals.SIGRTMAX
            offset = name[8:]
            if not offset:
                return int(base)
            if offset[0] in "+-" and offset[1:].isdigit():
                return int(base) + int(offset)
    raise InvalidArgument(f"Invalid signal: {text}")
