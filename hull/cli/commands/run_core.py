"""``hull run`` and ``hull create`` without click: flags to Config and HostConfig, then the run.

:func:`fast_run` answers an ordinary ``hull run ...`` or ``hull create ...`` straight from the
entry point (see :mod:`hull.cli.fastparse`); the click commands in
:mod:`hull.cli.commands.container_run` call the same functions for everything else.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from hull.errors import HullError, InvalidArgument

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any


def _flag_error(value: str, flag: str, error: Exception) -> InvalidArgument:
    return InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: {error}',
                           exit_code=125)


def read_env_file(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower() if e.strerror else e}",
                              exit_code=125) from None
    out = []
    for line in lines:
        text = line.lstrip()
        if not text or text.startswith("#"):
            continue
        out.append(text)
    return out


def env_items(items: list[str]) -> list[str]:
    """``KEY=VALUE`` as given; a bare ``KEY`` takes this process's value if it has one."""
    out = []
    for item in items:
        key, sep, _ = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable: {item}", exit_code=125)
        if sep:
            out.append(item)
        elif key in os.environ:
            out.append(f"{key}={os.environ[key]}")
    return out


def _labels(items: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for item in items:
        key, _, value = item.partition("=")
        labels[key] = value
    return labels


def _size(value: str | None, flag: str) -> int:
    if not value:
        return 0
    from hull.cli.humanize import parse_size

    try:
        return parse_size(value)
    except InvalidArgument as e:
        raise _flag_error(value, flag, e) from None


def _cpus(value: str | None) -> int:
    if not value:
        return 0
    try:
        cpus = float(value)
    except ValueError:
        raise _flag_error(value, "--cpus", ValueError("invalid syntax")) from None
    return int(round(cpus * 1_000_000_000))


def build_configs(opts: dict[str, Any], image: str, command: tuple[str, ...]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Config and HostConfig documents for the flags of ``run``/``create``."""
    from hull.engine.container_restart import check_with_auto_remove, parse_restart_policy
    from hull.engine.container_spec import parse_ulimit

    restart = parse_restart_policy(opts["restart"])
    check_with_auto_remove(restart, bool(opts["rm"]))
    env_lines: list[str] = []
    for path in opts["env_file"]:
        env_lines += read_env_file(path)
    env_lines += list(opts["env"])
    entrypoint = None
    if opts["entrypoint"] is not None:
        entrypoint = [opts["entrypoint"]] if opts["entrypoint"] else [""]
    stdin = bool(opts["interactive"])
    config: dict[str, Any] = {
        "Hostname": opts["hostname"] or "",
        "Domainname": opts["domainname"] or "",
        "User": opts["user"] or "",
        "AttachStdin": stdin and not opts.get("detach"),
        "AttachStdout": not opts.get("detach"),
        "AttachStderr": not opts.get("detach"),
        "Tty": bool(opts["tty"]),
        "OpenStdin": stdin,
        "StdinOnce": stdin and not opts.get("detach"),
        "Env": env_items(env_lines),
        "Cmd": list(command) or None,
        "Image": image,
        "WorkingDir": opts["workdir"] or "",
        "Entrypoint": entrypoint,
        "Labels": _labels(opts["label"]),
    }
    from hull.engine.container_health import health_flags

    health = health_flags(opts["health_cmd"], opts["health_interval"], opts["health_timeout"],
                          opts["health_start_period"], opts["health_retries"],
                          bool(opts["no_healthcheck"]))
    if health is not None:
        config["Healthcheck"] = health
    if opts["stop_signal"]:
        config["StopSignal"] = opts["stop_signal"]
    if opts["stop_timeout"] is not None:
        config["StopTimeout"] = opts["stop_timeout"]
    if opts["workdir"] and not opts["workdir"].startswith("/"):
        raise InvalidArgument(f"the working directory '{opts['workdir']}' is invalid, it needs"
                              " to be an absolute path", exit_code=125)
    ulimits = []
    for u in opts["ulimit"]:
        try:
            ulimits.append(parse_ulimit(u))
        except InvalidArgument as e:
            raise _flag_error(u, "--ulimit", e) from None
    pids = opts["pids_limit"]
    host_config: dict[str, Any] = {
        "AutoRemove": bool(opts["rm"]),
        "NetworkMode": opts["network"] or "default",
        "Privileged": bool(opts["privileged"]),
        "ReadonlyRootfs": bool(opts["read_only"]),
        "CapAdd": list(opts["cap_add"]) or None,
        "CapDrop": list(opts["cap_drop"]) or None,
        "SecurityOpt": list(opts["security_opt"]) or None,
        "Ulimits": ulimits or None,
        "Memory": _size(opts["memory"], "-m, --memory"),
        "NanoCpus": _cpus(opts["cpus"]),
        "CpuShares": opts["cpu_shares"] or 0,
        "PidsLimit": pids if pids else None,
        "Init": True if opts["init"] else None,
        "Runtime": opts["runtime"] or "builtin",
        "Dns": list(opts["dns"]),
        "DnsSearch": list(opts["dns_search"]),
        "ExtraHosts": list(opts["add_host"]) or None,
        "GroupAdd": list(opts["group_add"]) or None,
        "RestartPolicy": restart,
        "LogConfig": _log_config(opts["log_driver"], opts["log_opt"]),
    }
    if opts["shm_size"]:
        host_config["ShmSize"] = _size(opts["shm_size"], "--shm-size")
    from hull.volume.flags import mount_flags_into

    mount_flags_into(opts, config, host_config)
    _network_flags(opts, config, host_config)
    return config, host_config


def _log_config(driver: str | None, items: tuple[str, ...]) -> dict[str, Any]:
    from hull.engine.container_logs import log_options

    config = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid key value pair format in log-opt: {item}",
                                  exit_code=125)
        config[key] = value
    doc = {"Type": driver or "json-file", "Config": config}
    log_options(doc)
    return doc


def _network_flags(opts: dict[str, Any], config: dict[str, Any],
                   host_config: dict[str, Any]) -> None:
    """-p/-P/--expose, --link, --mac-address and --dns-option into Config/HostConfig."""
    if opts["publish"] or opts["expose"]:
        from hull.network.ports import parse_publish

        try:
            exposed, bindings = parse_publish(list(opts["publish"]))
            for item in opts["expose"]:
                exposed.update(parse_publish([item.split(":")[-1]])[0])
        except InvalidArgument as e:
            raise InvalidArgument(str(e), exit_code=125) from None
        config["ExposedPorts"] = exposed
        host_config["PortBindings"] = bindings
    host_config["PublishAllPorts"] = bool(opts["publish_all"])
    host_config["Links"] = list(opts["link"]) or None
    host_config["DnsOptions"] = list(opts["dns_option"])
    if opts["mac_address"]:
        config["MacAddress"] = opts["mac_address"]


def network_endpoint(opts: dict[str, Any]) -> dict[str, Any] | None:
    """--network-alias and --ip as Docker's EndpointSettings."""
    endpoint: dict[str, Any] = {}
    if opts["network_alias"]:
        endpoint["Aliases"] = list(opts["network_alias"])
    if opts["ip"]:
        endpoint["IPAMConfig"] = {"IPv4Address": opts["ip"]}
    return endpoint or None


def _console_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return size.lines, size.columns


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Docker's CLI exits 125 when the engine refuses a run or create (not 1)."""
    try:
        yield
    except HullError as error:
        if error.exit_code == 1:
            error.exit_code = 125
        raise


def create_container(engine: Callable[[], Any], image: str, command: tuple[str, ...] | list[str],
                     opts: dict[str, Any]) -> str:
    """``hull create``: the new container's id."""
    opts["detach"] = True
    with engine_errors():
        config, host_config = build_configs(opts, image, tuple(command))
        c = engine().containers.create(config, host_config, opts["name"], network_endpoint(opts))
    return c.id


def run_container(engine: Callable[[], Any], image: str, command: tuple[str, ...] | list[str],
                  opts: dict[str, Any]) -> int:
    """``hull run``: the container's exit code when attached, else 0 after printing its id."""
    from hull.runtime.cgroups import stop_warm_up, warm_up_migration

    # The kernel's first cgroup move costs a grace period; pay it while the container is
    # being created, and keep moves cheap until its init has joined its cgroup.
    warm_up_migration(keep=2.0)
    from hull.shim.launch import prefork

    detach = bool(opts["detach"])
    if opts["detach_keys"]:
        from hull.cli.terminal import parse_detach_keys

        parse_detach_keys(opts["detach_keys"])
    if opts["tty"] and not detach and opts["interactive"] and not os.isatty(0):
        raise InvalidArgument("the input device is not a TTY", exit_code=1)

    with engine_errors():
        # The shim warms up on the other CPU while this process creates the container.
        pending = prefork(opts["runtime"] or "builtin")
        try:
            config, host_config = build_configs(opts, image, tuple(command))
            service = engine().containers
            c = service.create(config, host_config, opts["name"], network_endpoint(opts))
            started = service.start(c.id, attach=not detach, shim=pending,
                                    console_size=_console_size() if opts["tty"] else None)
        finally:
            pending.close()
            stop_warm_up()
    if started is None:
        return 0
    if detach:
        started.sock.close()
        print(c.id, flush=True)
        return 0
    from hull.shim.client import stream

    return stream(started.sock, stdin=bool(opts["interactive"]), tty=bool(opts["tty"]),
                  proxy_signals=bool(opts["sig_proxy"]), reader=started.reader,
                  detach_keys=opts["detach_keys"])


def fast_run(args: list[str]) -> int | None:
    """``hull run ARGS`` without click: the exit code, or None to use click."""
    return _fast("run", args)


def fast_create(args: list[str]) -> int | None:
    """``hull create ARGS`` without click: the exit code, or None to use click."""
    return _fast("create", args)


def _fast(name: str, args: list[str]) -> int | None:
    from hull.cli import fastparse
    from hull.cli.run_options import CONTAINER_OPTIONS, RUN_OPTIONS

    parsed = fastparse.parse(args, RUN_OPTIONS if name == "run" else CONTAINER_OPTIONS)
    if parsed is None or not parsed[1]:
        return None
    opts, positionals = parsed
    engine = None

    def make_engine():  # type: ignore[no-untyped-def]
        nonlocal engine
        if engine is None:
            from hull.engine import Engine

            engine = Engine()
        return engine

    try:
        if name == "create":
            print(create_container(make_engine, positionals[0], positionals[1:], opts))
            return 0
        return run_container(make_engine, positionals[0], positionals[1:], opts)
    finally:
        if engine is not None:
            engine.close()
