"""Typed, validated Dockerfile instructions built from parser nodes.

Each class holds what the executor needs for one instruction, with its line range,
validated with Docker's rules and error wording (BuildKit's
``frontend/dockerfile/instructions``).  Three properties per instruction matter to
the executor:

* ``EXPANDS`` and :meth:`Instruction.expand`: whether the builder substitutes
  variables in it (``ENV``, ``ARG``, ``LABEL``, ``COPY``/``ADD``, ``WORKDIR``,
  ``USER``, ``VOLUME``, ``STOPSIGNAL``, ``EXPOSE``, ``RUN --mount`` options) or leaves
  the text to the shell at run time (``RUN``/``CMD``/``ENTRYPOINT``, ``SHELL``,
  ``HEALTHCHECK``, ``ONBUILD``, ``MAINTAINER``).  ``FROM`` is expanded with the
  global ARGs by :mod:`hull.build.stages`.
* :meth:`Instruction.history_text`: the ``created_by`` line ``docker history``
  shows, in the classic builder's form (``/bin/sh -c #(nop)  CMD ["npm" "start"]``)
  or BuildKit's (``CMD ["npm" "start"]``, ``RUN /bin/sh -c npm install # buildkit``),
  matching Docker 20.10 and its bundled BuildKit.  ``None`` when that builder writes
  no history entry for the instruction.
* :meth:`Instruction.to_dict`: a JSON view used by the golden tests and ``--debug``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from hull.build import gopath
from hull.build.durations import format_duration, parse_duration
from hull.build.flags import FlagSet
from hull.build.gofmt import go_quote, go_quote_list, go_quote_rune, go_set_map, go_value_list
from hull.build.parser import (
    DockerfileSyntaxError,
    Heredoc,
    Node,
    ParseResult,
    chomp_heredoc_content,
    parse,
    parse_heredoc,
)
from hull.build.ports import parse_port_specs
from hull.build.run_mounts import Mount, MountError, parse_mount
from hull.build.shell_lex import ShellLex
from hull.build.suggest import with_suggestion
from hull.errors import HullError, InvalidArgument
from hull.record import field, fields, record, replace

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any, ClassVar, Literal

    HistoryStyle = Literal["buildkit", "classic"]
DEFAULT_SHELL = ("/bin/sh", "-c")
NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")
_STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_ONBUILD_PREFIX_RE = re.compile(r"^\s*ONBUILD\s*", re.IGNORECASE)


class InstructionError(InvalidArgument):
    """An instruction is well-formed text but not a valid instruction."""


# -- expansion and history context ----------------------------------------------------

class Expander:
    """Substitutes variables the way the builder does at one point of a stage."""

    def __init__(self, env: Mapping[str, str], escape_token: str = "\\") -> None:
        self.env = env
        self.lex = ShellLex(escape_token)

    def word(self, text: str) -> str:
        return self.lex.process_word(text, self.env)

    def words(self, text: str) -> list[str]:
        return self.lex.process_words(text, self.env)


@record
class HistoryContext:
    """Build state a history line depends on.

    ``shell`` is the stage's current SHELL; ``build_args`` the ARGs visible to a RUN
    as ``(name, value)`` in declaration order (BuildKit writes them all, the classic
    builder sorts them); ``workdir`` the WORKDIR before this instruction;
    ``source_hash`` the classic builder's ``file:<hex>``/``dir:<hex>`` content hash of
    COPY/ADD sources.
    """

    shell: tuple[str, ...] = DEFAULT_SHELL
    build_args: tuple[tuple[str, str], ...] = ()
    workdir: str = "/"
    source_hash: str = ""


def _nop(context: HistoryContext, text: str) -> str:
    """The classic builder's metadata-only step: ``/bin/sh -c #(nop)  TEXT``."""
    return " ".join([*context.shell, "#(nop) ", text])


def _nop_single(context: HistoryContext, text: str) -> str:
    """WORKDIR/COPY/ADD used one argument: ``/bin/sh -c #(nop) TEXT``."""
    return " ".join([*context.shell, "#(nop) " + text])


def _json_value(value: Any) -> Any:
    if hasattr(type(value), "__record_fields__"):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name.rstrip("_"): _json_value(getattr(value, f.name))
                for f in fields(value)}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


# -- base --------------------------------------------------------------------------------

@record
class Instruction:
    """Common part: where the instruction is and how it was written."""

    KEYWORD: ClassVar[str] = ""
    EXPANDS: ClassVar[bool] = False

    original: str
    start_line: int
    end_line: int

    def expand(self, expander: Expander) -> Instruction:
        """A copy with variables substituted; the same object when nothing expands."""
        return self

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"instruction": self.KEYWORD.lower()}
        for f in fields(self):
            out[f.name.rstrip("_")] = _json_value(getattr(self, f.name))
        return out


@record
class KeyValue:
    """``key=value`` of ENV/LABEL; ``legacy`` marks the old ``ENV key value`` form."""

    key: str
    value: str
    legacy: bool = False

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@record
class ArgDefinition:
    """One name of an ARG instruction, with its default (``None`` when absent)."""

    key: str
    value: str | None = None

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


# -- instructions -------------------------------------------------------------------------

@record
class FromInstruction(Instruction):
    """``FROM [--platform=p] image [AS name]``; ``stage_name`` is lower-cased."""

    KEYWORD = "FROM"

    base_name: str = ""
    stage_name: str = ""
    platform: str = ""


@record
class _PairsInstruction(Instruction):
    """ENV and LABEL: ``key=value`` pairs, expanded word by word, shown as written."""

    EXPANDS = True

    pairs: list[KeyValue] = field(default_factory=list)

    def expand(self, expander: Expander) -> _PairsInstruction:
        pairs = [KeyValue(expander.word(p.key), expander.word(p.value), p.legacy)
                 for p in self.pairs]
        return replace(self, pairs=pairs)

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        text = " ".join([self.KEYWORD, *(str(p) for p in self.pairs)])
        return _nop(context or HistoryContext(), text) if style == "classic" else text


@record
class EnvInstruction(_PairsInstruction):
    KEYWORD = "ENV"


@record
class LabelInstruction(_PairsInstruction):
    KEYWORD = "LABEL"


@record
class MaintainerInstruction(Instruction):
    KEYWORD = "MAINTAINER"

    maintainer: str = ""

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        text = f"MAINTAINER {self.maintainer}"
        return _nop(context or HistoryContext(), text) if style == "classic" else text


@record
class ArgInstruction(Instruction):
    """``ARG``; effective values come from :class:`hull.build.stages.StageArgs`.

    :meth:`expand` substitutes variables in the defaults, which is what ``docker
    history`` shows (``ARG B=one-two``) even when a ``--build-arg`` overrides the
    value; the value a RUN sees is the one ``StageArgs.declare`` returns.
    """

    KEYWORD = "ARG"
    EXPANDS = True

    def expand(self, expander: Expander) -> ArgInstruction:
        args = [ArgDefinition(expander.word(a.key),
                              None if a.value is None else expander.word(a.value))
                for a in self.args]
        return replace(self, args=args)

    args: list[ArgDefinition] = field(default_factory=list)

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        text = "ARG " + " ".join(str(a) for a in self.args)
        return _nop(context or HistoryContext(), text) if style == "classic" else text


@record
class _CommandLine(Instruction):
    """Shared by RUN/CMD/ENTRYPOINT: exec form or a shell string."""

    command: list[str] = field(default_factory=list)
    prepend_shell: bool = True

    def argv(self, shell: tuple[str, ...] | list[str] = DEFAULT_SHELL) -> list[str]:
        """What runs: exec form as written, shell form as ``SHELL + [text]``."""
        if self.prepend_shell:
            return [*shell, " ".join(self.command)]
        return list(self.command)


@record
class RunInstruction(_CommandLine):
    """``RUN``; ``mounts`` is ``None`` until expansion when an option uses a variable."""

    KEYWORD = "RUN"
    EXPANDS = True

    heredocs: list[Heredoc] = field(default_factory=list)
    mount_specs: list[str] = field(default_factory=list)
    mounts: list[Mount] | None = field(default_factory=list)
    network: str = "default"
    security: str = "sandbox"
    flags_used: list[str] = field(default_factory=list)

    def expand(self, expander: Expander) -> RunInstruction:
        mounts = [parse_mount(spec, expander.word) for spec in self.mount_specs]
        return replace(self, mounts=mounts)

    def script_heredoc(self) -> Heredoc | None:
        """The heredoc to run as an executable file (``RUN <<EOF`` starting with ``#!``)."""
        if (len(self.heredocs) and len(self.command) == 1 and self.prepend_shell
                and parse_heredoc(self.command[0]) is not None
                and self.heredocs[0].chomped_content().startswith("#!")):
            return self.heredocs[0]
        return None

    def argv(self, shell: tuple[str, ...] | list[str] = DEFAULT_SHELL) -> list[str]:
        """The command BuildKit runs, heredocs folded in.

        A lone ``<<EOF`` runs its body with the shell (or, when the body starts with
        ``#!``, runs ``/dev/pipes/EOF``, a file the executor writes from
        :meth:`script_heredoc`); other heredoc lines are handed to the shell with the
        bodies appended, as a shell script would read them.
        """
        if not self.heredocs:
            return super().argv(shell)
        if len(self.command) != 1 or not self.prepend_shell:
            raise InstructionError(
                f"parsing produced an invalid run command: {go_value_list(self.command)}")
        if parse_heredoc(self.command[0]) is not None:
            script = self.script_heredoc()
            if script is not None:
                return [*shell, "/dev/pipes/" + script.name]
            return [*shell, self.heredocs[0].chomped_content()]
        text = self.command[0] + "".join(f"\n{h.content}{h.name}" for h in self.heredocs)
        return [*shell, text]

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        context = context or HistoryContext()
        argv = self.argv(context.shell)
        if style == "classic":
            if context.build_args:
                pairs = sorted(f"{k}={v}" for k, v in context.build_args)
                argv = [f"|{len(pairs)}", *pairs, *argv]
            return " ".join(argv)
        prefix: list[str] = []
        if context.build_args:
            latest: dict[str, str] = {}
            for key, value in context.build_args:
                latest[key] = value
            prefix = [f"|{len(latest)}", *(f"{k}={v}" for k, v in latest.items())]
        return "RUN " + " ".join([*prefix, *argv]) + " # buildkit"


@record
class CmdInstruction(_CommandLine):
    KEYWORD = "CMD"

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        context = context or HistoryContext()
        text = f"CMD {go_quote_list(self.argv(context.shell))}"
        return _nop(context, text) if style == "classic" else text


@record
class EntrypointInstruction(_CommandLine):
    KEYWORD = "ENTRYPOINT"

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        context = context or HistoryContext()
        text = f"ENTRYPOINT {go_quote_list(self.argv(context.shell))}"
        return _nop(context, text) if style == "classic" else text


@record
class ShellInstruction(Instruction):
    KEYWORD = "SHELL"

    shell: list[str] = field(default_factory=list)

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        text = f"SHELL {go_value_list(self.shell)}"
        # The classic builder switches shells before writing this step's history.
        return _nop(HistoryContext(shell=tuple(self.shell)), text) if style == "classic" else text


@record
class ExposeInstruction(Instruction):
    """``EXPOSE``: words as written (sorted, as Docker keeps them); see :meth:`exposed_ports`."""

    KEYWORD = "EXPOSE"
    EXPANDS = True

    ports: list[str] = field(default_factory=list)

    def expand(self, expander: Expander) -> ExposeInstruction:
        ports = [word for port in self.ports for word in expander.words(port)]
        return replace(self, ports=ports)

    def exposed_ports(self) -> list[str]:
        """``port/proto`` keys for the image config (``8000-8002`` expanded)."""
        return parse_port_specs(self.ports)

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        if style == "classic":
            return _nop(context or HistoryContext(), "EXPOSE " + " ".join(self.ports))
        return "EXPOSE " + go_set_map(self.exposed_ports())


@record
class UserInstruction(Instruction):
    KEYWORD = "USER"
    EXPANDS = True

    user: str = ""

    def expand(self, expander: Expander) -> UserInstruction:
        return replace(self, user=expander.word(self.user))

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        text = f"USER {self.user}"
        return _nop(context or HistoryContext(), text) if style == "classic" else text


@record
class WorkdirInstruction(Instruction):
    KEYWORD = "WORKDIR"
    EXPANDS = True

    path: str = ""

    def expand(self, expander: Expander) -> WorkdirInstruction:
        return replace(self, path=expander.word(self.path))

    def resolve(self, current: str = "/") -> str:
        """The new working directory: absolute paths as written, relative ones joined."""
        if self.path.startswith("/"):
            return self.path
        return gopath.join("/", current, self.path)

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        context = context or HistoryContext()
        text = "WORKDIR " + self.resolve(context.workdir)
        return _nop_single(context, text) if style == "classic" else text


@record
class VolumeInstruction(Instruction):
    KEYWORD = "VOLUME"
    EXPANDS = True

    volumes: list[str] = field(default_factory=list)

    def expand(self, expander: Expander) -> VolumeInstruction:
        volumes = [expander.word(v) for v in self.volumes]
        if any(not v for v in volumes):
            raise InstructionError("VOLUME specified can not be an empty string")
        return replace(self, volumes=volumes)

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        text = f"VOLUME {go_value_list(self.volumes)}"
        return _nop(context or HistoryContext(), text) if style == "classic" else text


@record
class StopSignalInstruction(Instruction):
    KEYWORD = "STOPSIGNAL"
    EXPANDS = True

    signal: str = ""

    def expand(self, expander: Expander) -> StopSignalInstruction:
        return replace(self, signal=expander.word(self.signal))

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        text = f"STOPSIGNAL {self.signal}"
        return _nop(context or HistoryContext(), text) if style == "classic" else text


@record
class HealthcheckInstruction(Instruction):
    """``HEALTHCHECK``; ``test`` is ``["NONE"]``, ``["CMD", ...]`` or ``["CMD-SHELL", s]``.

    Durations are nanoseconds (the image config's unit); zero means "inherit".
    """

    KEYWORD = "HEALTHCHECK"

    test: list[str] = field(default_factory=list)
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        # Docker 20.10 formats its HealthConfig struct pointer with %q.
        fields = [go_quote_list(self.test), *(go_quote(format_duration(d)) for d in
                  (self.interval, self.timeout, self.start_period)),
                  go_quote_rune(self.retries)]
        text = "HEALTHCHECK &{" + " ".join(fields) + "}"
        return _nop(context or HistoryContext(), text) if style == "classic" else text


@record
class OnbuildInstruction(Instruction):
    """``ONBUILD``: ``expression`` is stored in the image; ``trigger`` is it parsed."""

    KEYWORD = "ONBUILD"

    expression: str = ""
    trigger: Instruction | None = None

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        if style == "classic":
            return _nop(context or HistoryContext(), "ONBUILD " + self.expression)
        return None


@record
class SourceContent:
    """A COPY/ADD source given inline as a heredoc."""

    path: str
    data: str
    expand: bool


@record
class _Transfer(Instruction):
    """Shared by COPY and ADD."""

    EXPANDS = True

    sources: list[str] = field(default_factory=list)
    contents: list[SourceContent] = field(default_factory=list)
    dest: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    excludes: list[str] = field(default_factory=list)

    def expand_contents(self, env: Mapping[str, str]) -> Any:
        """A copy whose heredoc bodies have variables substituted where allowed.

        Bodies opened with an unquoted marker (``<<EOF``) are expanded with quotes
        left alone; ``<<"EOF"`` bodies are kept verbatim.
        """
        lex = ShellLex("\\", skip_process_quotes=True)
        contents = [replace(c, data=lex.process_word(c.data, env)) if c.expand
                    else c for c in self.contents]
        return replace(self, contents=contents)

    def _expanded(self, expander: Expander, **extra: Any) -> Any:
        return replace(
            self, sources=[expander.word(s) for s in self.sources],
            dest=expander.word(self.dest), chown=expander.word(self.chown),
            chmod=expander.word(self.chmod), **extra)

    def history_text(self, style: HistoryStyle = "buildkit",
                     context: HistoryContext | None = None) -> str | None:
        context = context or HistoryContext()
        if style == "classic":
            chown = f"--chown={self.chown}" if self.chown else ""
            text = f"{self.KEYWORD} {chown}{context.source_hash} in {self.dest} "
            return _nop_single(context, text)
        parts = [self.KEYWORD, *self.sources, *(f"<<{c.path}" for c in self.contents),
                 self.dest]
        return " ".join(parts) + " # buildkit"


@record
class CopyInstruction(_Transfer):
    KEYWORD = "COPY"

    from_: str = ""
    parents: bool = False

    def expand(self, expander: Expander) -> CopyInstruction:
        return self._expanded(expander)


@record
class AddInstruction(_Transfer):
    KEYWORD = "ADD"

    keep_git_dir: bool | None = None
    checksum: str = ""
    unpack: bool | None = None

    def expand(self, expander: Expander) -> AddInstruction:
        return self._expanded(expander, checksum=expander.word(self.checksum))


# -- building instructions from nodes -------------------------------------------------------

def _base(node: Node) -> dict[str, Any]:
    return {"original": node.original.strip(), "start_line": node.start_line,
            "end_line": node.end_line}


def _exactly_one(node: Node) -> str:
    if len(node.args) != 1:
        raise InstructionError(f"{node.instruction.upper()} requires exactly one argument")
    return node.args[0]


def _at_least_one(node: Node) -> None:
    if not node.args:
        raise InstructionError(f"{node.instruction.upper()} requires at least one argument")


def _command(node: Node) -> tuple[list[str], bool]:
    if node.json:
        return list(node.args), False
    return ([" ".join(node.args)] if node.args else []), True


def _key_values(node: Node) -> list[KeyValue]:
    name = node.instruction.upper()
    if not node.args:
        raise InstructionError(f"{name} requires at least one argument")
    if len(node.args) % 3:
        raise InstructionError(f"Bad input to {name}, too many arguments")
    pairs = []
    for i in range(0, len(node.args), 3):
        key, value, sep = node.args[i:i + 3]
        if not key:
            raise InstructionError(f"{name} names can not be blank")
        pairs.append(KeyValue(key, value, legacy=sep == ""))
    return pairs


def _from(node: Node) -> FromInstruction:
    args = node.args
    stage_name = ""
    if len(args) == 3 and args[1].lower() == "as":
        stage_name = args[2].lower()
        if not _STAGE_NAME_RE.match(stage_name):
            raise InstructionError(f"invalid name for build stage: {go_quote(args[2])}, "
                                   "name can't start with a number or contain symbols")
    elif len(args) != 1:
        raise InstructionError("FROM requires either one or three arguments")
    flags = FlagSet(node.flags)
    platform = flags.add_string("platform")
    flags.parse()
    return FromInstruction(**_base(node), base_name=args[0], stage_name=stage_name,
                           platform=platform.value)


def _env(node: Node) -> EnvInstruction:
    FlagSet(node.flags).parse()
    return EnvInstruction(**_base(node), pairs=_key_values(node))


def _label(node: Node) -> LabelInstruction:
    FlagSet(node.flags).parse()
    return LabelInstruction(**_base(node), pairs=_key_values(node))


def _maintainer(node: Node) -> MaintainerInstruction:
    value = _exactly_one(node)
    FlagSet(node.flags).parse()
    return MaintainerInstruction(**_base(node), maintainer=value)


def _arg(node: Node) -> ArgInstruction:
    _at_least_one(node)
    definitions = []
    for word in node.args:
        if "=" in word:
            key, value = word.split("=", 1)
            if not key:
                raise InstructionError("ARG names can not be blank")
            definitions.append(ArgDefinition(key, value))
        else:
            definitions.append(ArgDefinition(word))
    return ArgInstruction(**_base(node), args=definitions)


def _run(node: Node) -> RunInstruction:
    flags = FlagSet(node.flags)
    mount_flag = flags.add_strings("mount")
    network = flags.add_string("network", "default")
    security = flags.add_string("security", "sandbox")
    flags.parse()
    mounts: list[Mount] | None = []
    for spec in mount_flag.values:
        _check_mount_from(spec)
        try:
            mount = parse_mount(spec)
        except MountError:
            if "$" not in spec:
                raise
            mounts = None  # an option uses a variable: resolved by expand()
            continue
        if mounts is not None:
            mounts.append(mount)
    if network.value not in NETWORK_MODES:
        raise InstructionError(f"invalid network mode {go_quote(network.value)}")
    if security.value not in SECURITY_MODES:
        raise InstructionError(f"security {go_quote(security.value)} is not valid")
    command, prepend = _command(node)
    return RunInstruction(**_base(node), command=command, prepend_shell=prepend,
                          heredocs=list(node.heredocs), mount_specs=list(mount_flag.values),
                          mounts=mounts, network=network.value, security=security.value,
                          flags_used=list(flags.used_order))


def _check_mount_from(spec: str) -> None:
    for field_text in spec.split(","):
        key, _, value = field_text.partition("=")
        dollar = value.find("$")
        if key.strip().lower() == "from" and dollar not in (-1, len(value) - 1):
            raise MountError("'from' doesn't support variable expansion, "
                             "define alias stage instead")


def _cmd(node: Node) -> CmdInstruction:
    FlagSet(node.flags).parse()
    command, prepend = _command(node)
    return CmdInstruction(**_base(node), command=command, prepend_shell=prepend)


def _entrypoint(node: Node) -> EntrypointInstruction:
    FlagSet(node.flags).parse()
    command, prepend = _command(node)
    return EntrypointInstruction(**_base(node), command=command, prepend_shell=prepend)


def _shell(node: Node) -> ShellInstruction:
    FlagSet(node.flags).parse()
    if not node.args:
        raise InstructionError("SHELL requires at least one argument")
    if not node.json:
        raise InstructionError("SHELL requires the arguments to be in JSON form")
    return ShellInstruction(**_base(node), shell=list(node.args))


def _expose(node: Node) -> ExposeInstruction:
    _at_least_one(node)
    FlagSet(node.flags).parse()
    return ExposeInstruction(**_base(node), ports=sorted(node.args))


def _user(node: Node) -> UserInstruction:
    value = _exactly_one(node)
    FlagSet(node.flags).parse()
    return UserInstruction(**_base(node), user=value)


def _workdir(node: Node) -> WorkdirInstruction:
    value = _exactly_one(node)
    FlagSet(node.flags).parse()
    return WorkdirInstruction(**_base(node), path=value)


def _volume(node: Node) -> VolumeInstruction:
    _at_least_one(node)
    FlagSet(node.flags).parse()
    volumes = []
    for value in node.args:
        value = value.strip()
        if not value:
            raise InstructionError("VOLUME specified can not be an empty string")
        volumes.append(value)
    return VolumeInstruction(**_base(node), volumes=volumes)


def _stopsignal(node: Node) -> StopSignalInstruction:
    # Docker does not check flags on STOPSIGNAL; neither do we.
    return StopSignalInstruction(**_base(node), signal=_exactly_one(node))


def _interval(flag_name: str, value: str) -> int:
    if not value:
        return 0
    try:
        nanos = parse_duration(value)
    except HullError as e:
        raise InstructionError(str(e)) from None
    if nanos == 0:
        return 0
    if nanos < 1_000_000:
        raise InstructionError(f'Interval "{flag_name}" cannot be less than 1ms')
    return nanos


def _healthcheck(node: Node) -> HealthcheckInstruction:
    _at_least_one(node)
    kind = node.args[0].upper()
    rest = node.args[1:]
    if kind == "NONE":
        if rest:
            raise InstructionError("HEALTHCHECK NONE takes no arguments")
        return HealthcheckInstruction(**_base(node), test=["NONE"])
    flags = FlagSet(node.flags)
    interval = flags.add_string("interval")
    timeout = flags.add_string("timeout")
    start_period = flags.add_string("start-period")
    start_interval = flags.add_string("start-interval")
    retries_flag = flags.add_string("retries")
    flags.parse()
    if kind != "CMD":
        raise InstructionError(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    command = list(rest) if node.json else ([" ".join(rest)] if rest else [])
    if not command:
        raise InstructionError("Missing command after HEALTHCHECK CMD")
    test = ["CMD" if node.json else "CMD-SHELL", *command]
    retries = 0
    if retries_flag.value:
        text = retries_flag.value
        if not re.fullmatch(r"[+-]?[0-9]+", text) or abs(int(text)) >= 1 << 31:
            raise InstructionError(
                f'strconv.ParseInt: parsing {go_quote(text)}: invalid syntax')
        retries = int(text)
        if retries < 0:
            raise InstructionError(f"--retries cannot be negative ({retries})")
    return HealthcheckInstruction(
        **_base(node), test=test,
        interval=_interval("interval", interval.value),
        timeout=_interval("timeout", timeout.value),
        start_period=_interval("start-period", start_period.value),
        start_interval=_interval("start-interval", start_interval.value),
        retries=retries)


def _onbuild(node: Node) -> OnbuildInstruction:
    _at_least_one(node)
    FlagSet(node.flags).parse()
    trigger_keyword = node.args[0].strip().upper()
    if trigger_keyword == "ONBUILD":
        raise InstructionError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger_keyword in ("MAINTAINER", "FROM"):
        raise InstructionError(f"{trigger_keyword} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX_RE.sub("", node.original, count=1)
    if node.heredocs:
        expression += "".join(f"\n{h.content}{h.name}" for h in node.heredocs)
    trigger = None
    if node.sub is not None:
        sub = replace(node.sub, start_line=node.start_line,
                                  end_line=node.end_line, heredocs=list(node.heredocs))
        trigger = build_instruction(sub)
    return OnbuildInstruction(**_base(node), expression=expression, trigger=trigger)


def _sources_and_dest(node: Node) -> tuple[list[str], list[SourceContent], str]:
    name = node.instruction.upper()
    if len(node.args) < 2:
        raise InstructionError(f"{name} requires at least two arguments, but only one was "
                               "provided. Destination could not be determined")
    *sources, dest = node.args
    if parse_heredoc(dest) is not None:
        raise InstructionError(f"{name} cannot accept a heredoc as a destination")
    bodies = {h.name: h for h in node.heredocs}
    paths: list[str] = []
    contents: list[SourceContent] = []
    for source in sources:
        marker = parse_heredoc(source)
        if marker is None:
            paths.append(source)
            continue
        body = bodies.get(marker.name)
        data = body.content if body else ""
        if marker.chomp:
            data = chomp_heredoc_content(data)
        contents.append(SourceContent(path=marker.name, data=data, expand=marker.expand))
    return paths, contents, dest


def _copy(node: Node) -> CopyInstruction:
    if len(node.args) < 2:
        _sources_and_dest(node)
    flags = FlagSet(node.flags)
    chown = flags.add_string("chown")
    from_ = flags.add_string("from")
    chmod = flags.add_string("chmod")
    link = flags.add_bool("link")
    excludes = flags.add_strings("exclude")
    parents = flags.add_bool("parents")
    flags.parse()
    sources, contents, dest = _sources_and_dest(node)
    return CopyInstruction(**_base(node), sources=sources, contents=contents, dest=dest,
                           chown=chown.value, chmod=chmod.value, link=link.is_true,
                           excludes=list(excludes.values), from_=from_.value,
                           parents=parents.is_true)


def _add(node: Node) -> AddInstruction:
    if len(node.args) < 2:
        _sources_and_dest(node)
    flags = FlagSet(node.flags)
    chown = flags.add_string("chown")
    chmod = flags.add_string("chmod")
    link = flags.add_bool("link")
    keep_git_dir = flags.add_bool("keep-git-dir")
    checksum = flags.add_string("checksum")
    unpack = flags.add_bool("unpack")
    excludes = flags.add_strings("exclude")
    flags.parse()
    sources, contents, dest = _sources_and_dest(node)
    return AddInstruction(**_base(node), sources=sources, contents=contents, dest=dest,
                          chown=chown.value, chmod=chmod.value, link=link.is_true,
                          excludes=list(excludes.values),
                          keep_git_dir=keep_git_dir.is_true if keep_git_dir.used else None,
                          checksum=checksum.value,
                          unpack=unpack.is_true if unpack.used else None)


_BUILDERS: dict[str, Callable[[Node], Instruction]] = {
    "add": _add,
    "arg": _arg,
    "cmd": _cmd,
    "copy": _copy,
    "entrypoint": _entrypoint,
    "env": _env,
    "expose": _expose,
    "from": _from,
    "healthcheck": _healthcheck,
    "label": _label,
    "maintainer": _maintainer,
    "onbuild": _onbuild,
    "run": _run,
    "shell": _shell,
    "stopsignal": _stopsignal,
    "user": _user,
    "volume": _volume,
    "workdir": _workdir,
}
INSTRUCTION_NAMES = tuple(sorted(name.upper() for name in _BUILDERS))


def build_instruction(node: Node) -> Instruction:
    """The typed instruction for one node; errors carry the node's first line."""
    builder = _BUILDERS.get(node.instruction)
    try:
        if builder is None:
            raise InstructionError(with_suggestion(f"unknown instruction: {node.keyword}",
                                                   node.keyword, INSTRUCTION_NAMES,
                                                   case_sensitive=False))
        return builder(node)
    except DockerfileSyntaxError:
        raise
    except HullError as e:
        raise DockerfileSyntaxError(str(e), node.start_line, node.end_line) from None


def build_instructions(result: ParseResult, filename: str = "Dockerfile") -> list[Instruction]:
    """Typed instructions for every node of a parsed Dockerfile, in order."""
    try:
        return [build_instruction(node) for node in result.nodes]
    except DockerfileSyntaxError as e:
        raise e.with_filename(filename) from None


def parse_instructions(data: bytes | str, filename: str = "Dockerfile") -> list[Instruction]:
    """Dockerfile text -> typed instructions (parse plus validation)."""
    return build_instructions(parse(data, filename), filename)
