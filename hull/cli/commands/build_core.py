"""``hull build``'s flags and its work, shared by the click command and a click-free path.

A fully cached rebuild is answered from the build record in a few milliseconds, so the
command's own start-up is most of its time; importing click (with typing and inspect)
would cost more than everything else together.  :func:`fast_build` parses an ordinary
command line with the flag table below and runs the build; anything it does not know
(``--help``, an unknown flag, a bad ``--progress`` value, ``--``) is left to the click
command in :mod:`hull.cli.commands.build`, so every usage error comes from one place.
"""

from __future__ import annotations

import os
import sys

from hull.cli.fastparse import FLAG, MULTI, VALUE, Option, parse

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from hull.engine import Engine

PROGRESS_MODES = ("auto", "plain", "tty")

# Flags click shows in --help; --progress (a choice) and the hidden --rm/--force-rm are
# declared on the click command itself and parsed here through EXTRA_OPTIONS.  Intermediate
# containers are always removed (Docker's default), so --rm and --force-rm are accepted and
# change nothing.
BUILD_OPTIONS = (
    Option(("-t", "--tag"), "tags", MULTI, "Name and optionally a tag (name:tag)."),
    Option(("-f", "--file"), "dockerfile", VALUE,
           "Name of the Dockerfile (default: CONTEXT/Dockerfile; - reads stdin)."),
    Option(("--build-arg",), "build_args", MULTI, "Set build-time variables."),
    Option(("--target",), "target", VALUE, "Set the target build stage to build."),
    Option(("--label",), "labels", MULTI, "Set metadata for an image."),
    Option(("--no-cache",), "no_cache", FLAG, "Do not use cache when building the image."),
    Option(("--network",), "network", VALUE,
           "Networking mode for RUN instructions (default, host, none)."),
    Option(("--iidfile",), "iidfile", VALUE, "Write the image ID to the file."),
    Option(("--secret",), "secrets", MULTI,
           "Secret to expose to the build: id=mysecret[,src=/local/secret]."),
    Option(("--platform",), "platform", VALUE, "Target platform (os/arch[/variant])."),
    Option(("-q", "--quiet"), "quiet", FLAG,
           "Suppress the build output and print the image ID on success."),
)
EXTRA_OPTIONS = (
    Option(("--progress",), "progress", VALUE, "Type of progress output."),
    Option(("--rm",), "_rm", FLAG, ""),
    Option(("--force-rm",), "_force_rm", FLAG, ""),
)
_ALL_OPTIONS = BUILD_OPTIONS + EXTRA_OPTIONS


def parse_args(args: list[str]) -> tuple[dict[str, Any], str | None] | None:
    """(options, context) as the click command would get them, or None for click.

    Like click, options may follow the context (``hull build . -t app``).
    """
    if "--" in args:
        return None
    merged: dict[str, Any] = {}
    positionals: list[str] = []
    rest = args
    while True:
        parsed = parse(rest, _ALL_OPTIONS)
        if parsed is None:
            return None
        values, rest = parsed
        for opt in _ALL_OPTIONS:
            value = values[opt.dest]
            if opt.kind == MULTI:
                merged[opt.dest] = (*merged.get(opt.dest, ()), *value)
            elif value != opt.default() or opt.dest not in merged:
                merged[opt.dest] = value
        if not rest:
            break
        positionals.append(rest[0])
        rest = rest[1:]
    progress = "auto" if merged["progress"] is None else merged["progress"]
    if len(positionals) > 1 or progress not in PROGRESS_MODES:
        return None
    merged["progress"] = progress
    if merged["network"] is None:
        merged["network"] = "default"
    return merged, (positionals[0] if positionals else None)


def fast_build(args: list[str]) -> int | None:
    """``hull build ARGS`` without click: the exit code, or None to use the click command."""
    parsed = parse_args(args)
    if parsed is None:
        return None
    from hull.engine import Engine

    engine = Engine()
    try:
        run_build(engine, parsed[0], parsed[1])
    finally:
        engine.close()
    return 0


def run_build(engine: Engine, opts: dict[str, Any], context: str | None) -> None:
    """Build as ``opts`` (the flag table's keywords) say; print the id with ``-q``."""
    from hull.build.progress import make_progress
    from hull.engine.builds import BuildRequest

    request = BuildRequest(
        context=context, dockerfile=opts["dockerfile"], stdin=sys.stdin.buffer,
        tags=list(opts["tags"]),
        build_args=key_values(opts["build_args"], "--build-arg", from_env=True),
        target=opts["target"],
        labels=key_values(opts["labels"], "--label", from_env=False),
        no_cache=bool(opts["no_cache"]), network=opts["network"],
        secrets=list(opts["secrets"]), platform=opts["platform"],
        isolate_mounts=True)
    _exit_on_sigterm()
    quiet = bool(opts["quiet"])
    reporter = make_progress(opts["progress"], quiet, sys.stdout.isatty())
    result = engine.builds.build(request, reporter)
    iidfile = opts["iidfile"]
    if iidfile:
        with open(iidfile, "w") as f:
            f.write(result.image_id)
    if quiet:
        print(result.image_id, flush=True)


def key_values(values: tuple[str, ...], flag: str, from_env: bool) -> dict[str, str]:
    """``K=V`` flags; a bare ``K`` takes the environment's value (Docker), if any."""
    from hull.errors import InvalidArgument

    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {flag} {item!r}: expected KEY=VALUE")
        if sep:
            out[key] = value
        elif from_env:
            if key in os.environ:
                out[key] = os.environ[key]
        else:
            out[key] = ""
    return out


def _exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the running step's container and snapshot go.

    ``_signal`` is the built-in module :mod:`signal` wraps; the wrapper only adds enum
    conversions, and importing enum would cost a fully cached rebuild 1.5 ms.
    """
    import _signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    _signal.signal(_signal.SIGTERM, stop)
