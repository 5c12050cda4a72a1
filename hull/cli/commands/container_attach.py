"""``hull attach``: the user's terminal (or pipes) connected to a running container."""

from __future__ import annotations

import click

from hull.cli.context import engine_of


@click.command("attach", short_help="Attach local standard input, output, and error streams"
               " to a running container")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--sig-proxy", type=bool, default=True, help="Proxy all received signals to the"
              " process.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a"
              " container.")
@click.argument("container")
@click.pass_context
def attach(ctx: click.Context, container: str, no_stdin: bool, sig_proxy: bool,
           detach_keys: str | None) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    import os

    from hull.cli.terminal import parse_detach_keys
    from hull.engine.container_attach import attach as attach_to
    from hull.errors import InvalidArgument
    from hull.shim.client import stream

    if detach_keys:
        parse_detach_keys(detach_keys)
    c, sock = attach_to(engine_of(ctx).containers, container, stdin=not no_stdin)
    stdin = not no_stdin and bool(c.config.get("OpenStdin"))
    tty = bool(c.config.get("Tty"))
    if stdin and tty and not os.isatty(0):
        sock.close()
        raise InvalidArgument("the input device is not a TTY", exit_code=1)
    ctx.exit(stream(sock, stdin=stdin, tty=tty, proxy_signals=sig_proxy,
                    detach_keys=detach_keys))
