"""``pull``, ``push``, ``login`` and ``logout``: images to and from registries.

Output follows Docker's: one progress bar per layer on a terminal (rich), plain
status lines otherwise (``a1b2c3d4e5f6: Pull complete``), and with ``-q`` only the
reference.  The flags of ``pull`` and ``push`` are described once (``PULL_OPTIONS``,
``PUSH_OPTIONS``) for click and for :func:`fast_pull` / :func:`fast_push`, which answer
an ordinary command line without importing click (see :mod:`hull.cli.fastparse`); the
click commands are made on first use.
"""

from __future__ import annotations

import sys
import threading

from hull.cli.fastparse import FLAG, VALUE, Option

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    import click

    from hull.engine.registry import RegistryService
    from hull.oci.descriptor import Descriptor
    from hull.oci.manifest import Manifest

PULL_OPTIONS = (
    Option(("-a", "--all-tags"), "all_tags", FLAG,
           "Download all tagged images in the repository."),
    Option(("--platform",), "platform", VALUE, "Set platform if server is multi-platform capable."),
    Option(("-q", "--quiet"), "quiet", FLAG, "Suppress verbose output."),
)
PUSH_OPTIONS = (
    Option(("-a", "--all-tags"), "all_tags", FLAG, "Push all tagged images in the repository."),
    Option(("-q", "--quiet"), "quiet", FLAG, "Suppress verbose output."),
)


def _echo(text: str) -> None:
    print(text, flush=True)

_PULL_WORDS = {"exists": "Already exists", "transferring": "Downloading",
               "transferred": "Download complete", "applying": "Extracting",
               "applied": "Pull complete", "waiting": "Pulling fs layer"}
_PUSH_WORDS = {"exists": "Layer already exists", "transferring": "Pushing",
               "transferred": "Pushed", "applying": "Pushed", "applied": "Pushed",
               "waiting": "Preparing"}


class LayerReport:
    """Turns copy events into Docker-like lines or bars; safe to call from threads."""

    def __init__(self, pushing: bool, tty: bool) -> None:
        self.pushing = pushing
        self.words = _PUSH_WORDS if pushing else _PULL_WORDS
        self.tty = tty
        self._lock = threading.Lock()
        self._ids: dict[str, str] = {}
        self._state: dict[str, str] = {}
        self._tasks: dict[str, object] = {}
        self._progress = None

    # ---- CopyObserver ---------------------------------------------------------------

    def image(self, manifest: Manifest, diff_ids: list[str]) -> None:
        pairs = list(zip(manifest.layers, diff_ids, strict=True))
        if self.pushing:
            pairs.reverse()  # Docker lists the top layer first when pushing
        with self._lock:
            for desc, diff_id in pairs:
                digest = diff_id if self.pushing else desc.digest
                if desc.digest in self._ids:
                    continue
                self._ids[desc.digest] = digest.split(":", 1)[-1][:12]
            if self.tty:
                self._start_bars(pairs)
        for desc, _ in pairs:
            self.layer(desc, "waiting")

    def layer(self, desc: Descriptor, event: str, detail: str = "") -> None:
        with self._lock:
            state = self._state.get(desc.digest, "")
            if state in ("exists", "applied") or (state == event and not detail):
                return
            if event == "waiting" and state:
                return
            if self.pushing and event in ("applying", "applied") and state in (
                    "transferred", "exists"):
                return
            if event == "applying" and state != "transferred":
                return  # streamed: downloading and extracting happen together
            lines = []
            if event == "applied" and not self.pushing and state != "applying":
                lines.append(self.words["transferred"])
            if event == "transferred" and not self.pushing:
                lines.append("Verifying Checksum")
            lines.append(detail or self.words[event])
            self._state[desc.digest] = event
            short = self._ids.get(desc.digest, desc.digest.split(":", 1)[-1][:12])
            if self.tty and self._progress is not None:
                self._update_bar(desc, lines[-1], event)
            elif not self.tty:
                for word in lines:
                    if event == "transferring":
                        continue
                    _echo(f"{short}: {word}")

    def layer_bytes(self, desc: Descriptor, done: int) -> None:
        if self._progress is not None:
            task = self._tasks.get(desc.digest)
            if task is not None:
                self._progress.update(task, completed=done)  # type: ignore[attr-defined]

    # ---- terminal bars --------------------------------------------------------------

    def _start_bars(self, pairs: list) -> None:  # type: ignore[type-arg]
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("{task.description:<32}"),
                                  BarColumn(bar_width=40), DownloadColumn(),
                                  transient=False, refresh_per_second=8)
        for desc, _ in pairs:
            if desc.digest in self._tasks:
                continue
            short = self._ids[desc.digest]
            self._tasks[desc.digest] = self._progress.add_task(
                f"{short}: {self.words['waiting']}", total=desc.size)
        self._progress.start()

    def _update_bar(self, desc: Descriptor, word: str, event: str) -> None:
        task = self._tasks.get(desc.digest)
        if task is None or self._progress is None:
            return
        short = self._ids.get(desc.digest, "")
        done = event in ("exists", "transferred", "applied")
        self._progress.update(task, description=f"{short}: {word}",  # type: ignore[arg-type]
                              **({"completed": desc.size} if done else {}))

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _no_tag_given(name: str) -> bool:
    last = name.rsplit("/", 1)[-1]
    return ":" not in last and "@" not in last


def _is_tty() -> bool:
    return sys.stdout.isatty()


def pull_images(service: RegistryService, name: str, all_tags: bool, platform: str | None,
                quiet: bool) -> None:
    """``hull pull``: Docker's lines (or bars on a terminal) for each image pulled."""
    from hull.errors import InvalidArgument
    from hull.oci.descriptor import Platform

    wanted = None
    if platform:
        try:
            wanted = Platform.parse(platform)
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
    refs = service.pull_references(name, all_tags)
    tty = _is_tty()
    if not quiet and not all_tags and _no_tag_given(name):
        _echo("Using default tag: latest")
    for ref in refs:
        if not quiet:
            what = ref.digest or ref.tag
            _echo(f"{what}: Pulling from {ref.path}")
        report = None if quiet else LayerReport(pushing=False, tty=tty)
        try:
            result = service.pull(ref, wanted, report)  # type: ignore[arg-type]
        finally:
            if report is not None:
                report.stop()
        if not quiet:
            _echo(f"Digest: {result.digest}")
            status = ("Image is up to date for" if result.up_to_date
                      else "Downloaded newer image for")
            _echo(f"Status: {status} {ref.familiar()}")
    if all_tags:
        _echo(refs[0].name if refs else name)
    else:
        _echo(str(refs[0]))


def push_images(service: RegistryService, name: str, all_tags: bool, quiet: bool) -> None:
    """``hull push``: Docker's lines (or bars on a terminal) for each image pushed."""
    refs = service.push_references(name, all_tags)
    tty = _is_tty()
    if not quiet:
        _echo(f"The push refers to repository [{refs[0].name}]")
    for ref in refs:
        report = None if quiet else LayerReport(pushing=True, tty=tty)
        try:
            result = service.push(ref, report)  # type: ignore[arg-type]
        finally:
            if report is not None:
                report.stop()
        if not quiet:
            _echo(f"{ref.tag}: digest: {result.digest} size: {result.size}")
    if quiet:
        _echo(refs[0].name if all_tags else str(refs[0]))


def fast_pull(args: list[str]) -> int | None:
    """``hull pull ARGS`` without click (see :mod:`hull.cli.fastparse`): the exit code, or
    None when the command line needs click (help, unusual flags)."""
    parsed = _parse(args, PULL_OPTIONS)
    if parsed is None:
        return None
    opts, name = parsed
    return _with_engine(lambda service: pull_images(service, name, bool(opts["all_tags"]),
                                                    opts["platform"], bool(opts["quiet"])))


def fast_push(args: list[str]) -> int | None:
    """``hull push ARGS`` without click: the exit code, or None when click is needed."""
    parsed = _parse(args, PUSH_OPTIONS)
    if parsed is None:
        return None
    opts, name = parsed
    return _with_engine(lambda service: push_images(service, name, bool(opts["all_tags"]),
                                                    bool(opts["quiet"])))


def _parse(args: list[str], options: tuple[Option, ...]
           ) -> tuple[dict[str, object], str] | None:
    from hull.cli import fastparse

    parsed = fastparse.parse(args, options)
    if parsed is None or len(parsed[1]) != 1:
        return None
    return parsed[0], parsed[1][0]


def _with_engine(work) -> int:  # type: ignore[no-untyped-def]
    from hull.engine import Engine

    engine = Engine()
    try:
        work(engine.registry)
    finally:
        engine.close()
    return 0


def _click_commands() -> dict[str, click.Command]:
    """The click commands (built on first use: the fast paths above need no click)."""
    import click

    from hull.cli.context import engine_of
    from hull.cli.fastparse import click_options

    @click.command("pull", short_help="Pull an image or a repository from a registry")
    @click_options(PULL_OPTIONS)
    @click.argument("name", metavar="NAME[:TAG|@DIGEST]")
    @click.pass_context
    def pull(ctx: click.Context, name: str, all_tags: bool, platform: str | None,
             quiet: bool) -> None:
        """Pull an image or a repository from a registry."""
        pull_images(engine_of(ctx).registry, name, all_tags, platform, quiet)

    @click.command("push", short_help="Push an image or a repository to a registry")
    @click_options(PUSH_OPTIONS)
    @click.argument("name", metavar="NAME[:TAG]")
    @click.pass_context
    def push(ctx: click.Context, name: str, all_tags: bool, quiet: bool) -> None:
        """Push an image or a repository to a registry."""
        push_images(engine_of(ctx).registry, name, all_tags, quiet)

    @click.command("login", short_help="Log in to a registry")
    @click.argument("server", required=False)
    @click.option("-u", "--username", default="", help="Username.")
    @click.option("-p", "--password", default="", help="Password.")
    @click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
    @click.pass_context
    def login(ctx: click.Context, server: str | None, username: str, password: str,
              password_stdin: bool) -> None:
        """Log in to a registry (Docker Hub if no server is given)."""
        from hull.errors import InvalidArgument

        if password and password_stdin:
            raise InvalidArgument("--password and --password-stdin are mutually exclusive")
        if password_stdin:
            if not username:
                raise InvalidArgument("Must provide --username with --password-stdin")
            password = sys.stdin.read().rstrip("\r\n")
        elif password:
            click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
                       err=True)
        if not username or not password:
            if not sys.stdin.isatty():
                raise InvalidArgument("Cannot perform an interactive login from a non TTY device")
            if not username:
                username = click.prompt("Username", default="", show_default=False).strip()
            if not password:
                password = click.prompt("Password", hide_input=True, default="",
                                        show_default=False)
            if not username or not password:
                raise InvalidArgument("Username and password are required")
        result = engine_of(ctx).registry.login(server or "docker.io", username, password)
        if not result.stored_in.startswith("docker-credential-"):
            click.echo(f"WARNING! Your password will be stored unencrypted in {result.stored_in}.",
                       err=True)
        click.echo("Login Succeeded")


    @click.command("logout", short_help="Log out from a registry")
    @click.argument("server", required=False)
    @click.pass_context
    def logout(ctx: click.Context, server: str | None) -> None:
        """Log out from a registry (Docker Hub if no server is given)."""
        key, erased = engine_of(ctx).registry.logout(server or "docker.io")
        if erased:
            click.echo(f"Removing login credentials for {key}")
        else:
            click.echo(f"Not logged in to {key}")

    return {"pull": pull, "push": push, "login": login, "logout": logout}


def __getattr__(name: str) -> object:
    """``pull``, ``push``, ``login`` and ``logout`` are click commands, made on first use."""
    if name in ("pull", "push", "login", "logout"):
        commands = _click_commands()
        globals().update(commands)
        return commands[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
