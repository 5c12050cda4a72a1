"""``hull run`` and ``hull create``: Docker's flags turned into Config and HostConfig."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from hull.cli.context import engine_of
from hull.errors import HullError, InvalidArgument

RUN_SETTINGS = {"allow_interspersed_args": False, "help_option_names": ["--help"]}


def _flag_error(value: str, flag: str, error: Exception) -> InvalidArgument:
    return InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: {error}',
                           exit_code=125)


def _read_env_file(path: str) -> list[str]:
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


def _env_items(items: list[str]) -> list[str]:
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
    env_items: list[str] = []
    for path in opts["env_file"]:
        env_items += _read_env_file(path)
    env_items += list(opts["env"])
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
        "Env": _env_items(env_items),
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


def container_options(fn: Callable) -> Callable:
    """The flags shared by ``run`` and ``create``."""
    options = [
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not"
                     " attached."),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY."),
        click.option("--rm", is_flag=True, help="Automatically remove the container when it"
                     " exits."),
        click.option("--name", default=None, help="Assign a name to the container."),
        click.option("-e", "--env", multiple=True, help="Set environment variables."),
        click.option("--env-file", multiple=True, help="Read in a file of environment"
                     " variables."),
        click.option("-w", "--workdir", default=None, help="Working directory inside the"
                     " container."),
        click.option("-u", "--user", default=None, help="Username or UID (format:"
                     " <name|uid>[:<group|gid>])."),
        click.option("--entrypoint", default=None, help="Overwrite the default ENTRYPOINT of"
                     " the image."),
        click.option("-h", "--hostname", default=None, help="Container host name."),
        click.option("--domainname", default=None, help="Container NIS domain name."),
        click.option("-l", "--label", multiple=True, help="Set meta data on a container."),
        click.option("-m", "--memory", default=None, help="Memory limit."),
        click.option("--cpus", default=None, help="Number of CPUs."),
        click.option("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative"
                     " weight)."),
        click.option("--pids-limit", type=int, default=None, help="Tune container pids limit"
                     " (set -1 for unlimited)."),
        click.option("--read-only", is_flag=True, help="Mount the container's root filesystem"
                     " as read only."),
        click.option("--cap-add", multiple=True, help="Add Linux capabilities."),
        click.option("--cap-drop", multiple=True, help="Drop Linux capabilities."),
        click.option("--privileged", is_flag=True, help="Give extended privileges to this"
                     " container."),
        click.option("--security-opt", multiple=True, help="Security Options."),
        click.option("--ulimit", multiple=True, help="Ulimit options."),
        click.option("--stop-signal", default=None, help="Signal to stop the container."),
        click.option("--stop-timeout", type=int, default=None, help="Timeout (in seconds) to"
                     " stop a container."),
        click.option("--init", is_flag=True, help="Run an init inside the container that"
                     " forwards signals and reaps processes."),
        click.option("--network", "--net", "network", default=None, help="Connect a container"
                     " to a network (bridge, none, host or a network's name)."),
        click.option("--runtime", default=None, help="Runtime to use for this container"
                     " (builtin, runc, crun)."),
        click.option("-p", "--publish", multiple=True, help="Publish a container's port(s) to"
                     " the host."),
        click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to"
                     " random ports."),
        click.option("--expose", multiple=True, help="Expose a port or a range of ports."),
        click.option("--ip", default=None, help="IPv4 address (e.g., 172.30.100.104)."),
        click.option("--network-alias", multiple=True, help="Add network-scoped alias for the"
                     " container."),
        click.option("--link", multiple=True, help="Add link to another container."),
        click.option("--mac-address", default=None, help="Container MAC address (e.g.,"
                     " 92:d0:c6:0a:29:33)."),
        click.option("--dns-option", multiple=True, help="Set DNS options."),
        click.option("--restart", default=None, help="Restart policy to apply when a"
                     " container exits (no, always, unless-stopped, on-failure[:N])."),
        click.option("--log-driver", default=None, help="Logging driver for the container"
                     " (json-file or none)."),
        click.option("--log-opt", multiple=True, help="Log driver options (max-size,"
                     " max-file)."),
        click.option("--health-cmd", default=None, help="Command to run to check health."),
        click.option("--health-interval", default=None, help="Time between running the"
                     " check (ms|s|m|h)."),
        click.option("--health-timeout", default=None, help="Maximum time to allow one check"
                     " to run (ms|s|m|h)."),
        click.option("--health-start-period", default=None, help="Start period for the"
                     " container to initialize before counting retries (ms|s|m|h)."),
        click.option("--health-retries", type=int, default=None, help="Consecutive failures"
                     " needed to report unhealthy."),
        click.option("--no-healthcheck", is_flag=True, help="Disable any container-specified"
                     " HEALTHCHECK."),
        click.option("--dns", multiple=True, help="Set custom DNS servers."),
        click.option("--dns-search", multiple=True, help="Set custom DNS search domains."),
        click.option("--add-host", multiple=True, help="Add a custom host-to-IP mapping"
                     " (host:ip)."),
        click.option("--group-add", multiple=True, help="Add additional groups to join."),
        click.option("--shm-size", default=None, help="Size of /dev/shm."),
        click.option("-v", "--volume", multiple=True, help="Bind mount a volume."),
        click.option("--mount", multiple=True, help="Attach a filesystem mount to the"
                     " container."),
        click.option("--tmpfs", multiple=True, help="Mount a tmpfs directory."),
        click.option("--volumes-from", multiple=True, help="Mount volumes from the specified"
                     " container(s)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _console_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return size.lines, size.columns


@click.command("create", context_settings=RUN_SETTINGS, short_help="Create a new container")
@container_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def create(ctx: click.Context, image: str, command: tuple[str, ...], **opts: Any) -> None:
    """Create a new container."""
    opts["detach"] = True
    with engine_errors():
        config, host_config = build_configs(opts, image, command)
        c = engine_of(ctx).containers.create(config, host_config, opts["name"],
                                             network_endpoint(opts))
    click.echo(c.id)


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Docker's CLI exits 125 when the engine refuses a run or create (not 1)."""
    try:
        yield
    except HullError as error:
        if error.exit_code == 1:
            error.exit_code = 125
        raise


@click.command("run", context_settings=RUN_SETTINGS,
               short_help="Run a command in a new container")
@container_options
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print"
              " container ID.")
@click.option("--sig-proxy", default=True, type=bool, help="Proxy received signals to the"
              " process.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a"
              " container.")
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, image: str, command: tuple[str, ...], detach: bool,
        sig_proxy: bool, detach_keys: str | None, **opts: Any) -> None:
    """Run a command in a new container."""
    from hull.shim.launch import prefork

    if detach_keys:
        from hull.cli.terminal import parse_detach_keys

        parse_detach_keys(detach_keys)
    opts["detach"] = detach
    if opts["tty"] and not detach and opts["interactive"] and not os.isatty(0):
        raise InvalidArgument("the input device is not a TTY", exit_code=1)

    with engine_errors():
        # The shim warms up on the other CPU while this process creates the container.
        pending = prefork(opts["runtime"] or "builtin")
        try:
            config, host_config = build_configs(opts, image, command)
            service = engine_of(ctx).containers
            c = service.create(config, host_config, opts["name"], network_endpoint(opts))
            started = service.start(c.id, attach=not detach, shim=pending,
                                    console_size=_console_size() if opts["tty"] else None)
        finally:
            pending.close()
    if started is None:
        return
    if detach:
        started.sock.close()
        click.echo(c.id)
        return
    from hull.shim.client import stream

    ctx.exit(stream(started.sock, stdin=bool(opts["interactive"]), tty=bool(opts["tty"]),
                    proxy_signals=sig_proxy, reader=started.reader, detach_keys=detach_keys))
