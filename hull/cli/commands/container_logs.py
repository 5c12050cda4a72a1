"""``hull logs``: a container's output from its json-file log, stdout and stderr apart."""

from __future__ import annotations

import click

from hull.cli.context import engine_of


def _tail(value: str) -> int | None:
    if value == "all":
        return None
    try:
        count = int(value)
    except ValueError:
        raise click.BadParameter(f'invalid value "{value}" for flag --tail') from None
    return None if count < 0 else count


def _details(c: object) -> bytes:
    """``--details``: the attributes named by the labels=/env= log options, as Docker."""
    config = ((c.host_config.get("LogConfig") or {}).get("Config") or {})  # type: ignore[attr-defined]
    attrs = []
    labels = c.config.get("Labels") or {}  # type: ignore[attr-defined]
    for key in filter(None, str(config.get("labels", "")).split(",")):
        if key in labels:
            attrs.append(f"{key}={labels[key]}")
    env = dict(e.split("=", 1) for e in c.config.get("Env") or [] if "=" in e)  # type: ignore[attr-defined]
    for key in filter(None, str(config.get("env", "")).split(",")):
        if key in env:
            attrs.append(f"{key}={env[key]}")
    return (",".join(sorted(attrs)) + " ").encode()


@click.command("logs", short_help="Fetch the logs of a container")
@click.argument("container")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end.")
@click.option("--since", default=None, help="Show logs since timestamp (e.g."
              " 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes).")
@click.option("--until", default=None, help="Show logs before a timestamp (e.g."
              " 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes).")
@click.option("--details", is_flag=True, help="Show extra details provided to logs.")
@click.pass_context
def logs(ctx: click.Context, container: str, follow: bool, timestamps: bool, tail: str,
         since: str | None, until: str | None, details: bool) -> None:
    """Fetch the logs of a container."""
    import sys

    from hull.cli.humanize import parse_timestamp
    from hull.engine.container_logs import container_logs

    count = _tail(tail)
    since_ts = parse_timestamp(since) if since else None
    until_ts = parse_timestamp(until) if until else None
    service = engine_of(ctx).containers
    prefix = _details(service.get(container)) if details else b""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    try:
        for entry in container_logs(service, container, follow, count, since_ts, until_ts):
            if entry is None:
                out.flush()
                err.flush()
                continue
            line = prefix + entry.data
            if timestamps:
                line = entry.time.encode() + b" " + line
            (err if entry.stream == "stderr" else out).write(line)
    except KeyboardInterrupt:
        ctx.exit(130)
    except BrokenPipeError:
        ctx.exit(0)
    finally:
        try:
            out.flush()
            err.flush()
        except BrokenPipeError:
            pass
