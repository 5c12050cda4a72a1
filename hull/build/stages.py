"""Build stages, ARG scoping and the stage dependency graph.

A Dockerfile is split at each ``FROM`` into stages.  ARGs before the first ``FROM``
are *global*: usable in ``FROM`` lines (image, ``--platform``) and inherited by a
stage only when it re-declares them with ``ARG NAME``.  Besides the user's ARGs the
builder predefines the platform ARGs (``TARGETPLATFORM``, ``BUILDARCH``...), which
are global, and the proxy ARGs (``HTTP_PROXY``...), which RUN sees without any
declaration when they are given with ``--build-arg``.

Stages depend on earlier stages through ``FROM <stage>``, ``COPY --from=<name|index>``
and ``RUN --mount=from=<stage>``; any other reference is an image.  The executor
asks for :meth:`BuildDefinition.stages_needed` (only what the target needs) and
:meth:`BuildDefinition.build_order` (groups of stages that can be built in parallel).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from hull.build.instructions import (
    ArgDefinition,
    ArgInstruction,
    CopyInstruction,
    FromInstruction,
    Instruction,
    RunInstruction,
    build_instructions,
)
from hull.build.parser import DockerfileSyntaxError, parse
from hull.build.shell_lex import ShellLex, go_quote
from hull.build.suggest import with_suggestion
from hull.errors import HullError, InvalidArgument, NotFound
from hull.record import field, record

SCRATCH = "scratch"
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
              "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
PLATFORM_ARGS = ("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM",
                 "TARGETOS", "TARGETARCH", "TARGETVARIANT")
_MACHINE_ARCH = {"x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", ""),
                 "arm64": ("arm64", ""), "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
                 "i386": ("386", ""), "i686": ("386", ""), "ppc64le": ("ppc64le", ""),
                 "s390x": ("s390x", ""), "riscv64": ("riscv64", "")}


class StageError(InvalidArgument):
    """Stages reference each other in a way Docker refuses."""


@record(frozen=True)
class Platform:
    """An OCI platform as ``os/arch[/variant]``."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    @classmethod
    def host(cls) -> Platform:
        machine = os.uname().machine  # what platform.machine() reads, without its import
        arch, variant = _MACHINE_ARCH.get(machine, (machine, ""))
        return cls("linux", arch, variant)

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().lower().split("/")
        if len(parts) == 1 and parts[0]:
            return cls("linux", parts[0]) if parts[0] != "linux" else cls.host()
        if 2 <= len(parts) <= 3 and all(parts):
            return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")
        raise InvalidArgument(f"invalid platform {go_quote(text)}: expected os/arch[/variant]")

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


def platform_args(target: Platform, build: Platform) -> dict[str, str]:
    """The automatic platform ARGs for a build on ``build`` producing ``target``."""
    return {
        "BUILDPLATFORM": str(build), "BUILDOS": build.os, "BUILDARCH": build.architecture,
        "BUILDVARIANT": build.variant,
        "TARGETPLATFORM": str(target), "TARGETOS": target.os,
        "TARGETARCH": target.architecture, "TARGETVARIANT": target.variant,
    }


@record
class Stage:
    """The instructions from one ``FROM`` up to the next.

    ``base_name`` and ``platform`` are the FROM values after global-ARG expansion;
    ``base_stage`` is the index of the stage it builds on, if it builds on one.
    """

    index: int
    name: str
    from_instruction: FromInstruction
    instructions: list[Instruction] = field(default_factory=list)
    base_name: str = ""
    platform: str = ""
    base_stage: int | None = None

    @property
    def display_name(self) -> str:
        return self.name or f"stage-{self.index}"

    @property
    def is_scratch(self) -> bool:
        return self.base_stage is None and self.base_name == SCRATCH


def split_stages(instructions: list[Instruction]) -> tuple[list[Stage], list[ArgInstruction]]:
    """Stages in file order and the global ARG instructions before the first FROM."""
    stages: list[Stage] = []
    meta_args: list[ArgInstruction] = []
    for instruction in instructions:
        if isinstance(instruction, FromInstruction):
            stages.append(Stage(len(stages), instruction.stage_name, instruction))
        elif not stages and isinstance(instruction, ArgInstruction):
            meta_args.append(instruction)
        elif not stages:
            raise DockerfileSyntaxError("no build stage in current context",
                                        instruction.start_line, instruction.end_line)
        else:
            stages[-1].instructions.append(instruction)
    if not stages:
        raise InvalidArgument("dockerfile contains no stages to build")
    return stages, meta_args


def resolve_global_args(meta_args: list[ArgInstruction], build_args: Mapping[str, str],
                        predefined: Mapping[str, str], escape_token: str = "\\"
                        ) -> dict[str, str]:
    """Values of the ARGs usable in FROM lines, in Docker's order of precedence.

    Predefined platform ARGs come first (a ``--build-arg`` may override them), then
    each global ARG takes its ``--build-arg`` value or its default expanded with the
    ARGs before it; an ARG with neither stays unset.
    """
    values = {key: build_args.get(key, value) for key, value in predefined.items()}
    lex = ShellLex(escape_token)
    for instruction in meta_args:
        for definition in instruction.args:
            if definition.key in build_args:
                values[definition.key] = build_args[definition.key]
            elif definition.value is not None:
                try:
                    values[definition.key] = lex.process_word(definition.value, values)
                except HullError as e:
                    raise DockerfileSyntaxError(str(e), instruction.start_line,
                                                instruction.end_line) from None
    return values


class StageArgs:
    """The ARGs one stage has declared so far and their values.

    ``declare`` follows Docker: a ``--build-arg`` wins, else the default (expanded with
    the stage's environment at that point), else the global value of the same name;
    an ARG with none of these is declared but unset.
    """

    def __init__(self, global_args: Mapping[str, str], build_args: Mapping[str, str],
                 escape_token: str = "\\") -> None:
        self.global_args = global_args
        self.build_args = build_args
        self.lex = ShellLex(escape_token)
        self.declared: list[ArgDefinition] = []

    def declare(self, instruction: ArgInstruction, env: Mapping[str, str]
                ) -> list[ArgDefinition]:
        """Declare the ARG's names; ``env`` is the stage's environment (ENV + ARGs)."""
        resolved: list[ArgDefinition] = []
        scope = dict(env)
        for definition in instruction.args:
            key = definition.key
            value: str | None
            if key in self.build_args:
                value = self.build_args[key]
            elif definition.value is not None:
                value = self.lex.process_word(definition.value, scope)
            else:
                value = self.global_args.get(key)
            result = ArgDefinition(key, value)
            if value is not None:
                scope[key] = value
            self.declared.append(result)
            resolved.append(result)
        return resolved

    @property
    def values(self) -> dict[str, str]:
        """Declared ARGs that have a value (later declarations win)."""
        return {d.key: d.value for d in self.declared if d.value is not None}

    def run_build_args(self) -> list[tuple[str, str]]:
        """ARGs a RUN sees as ``(name, value)``: declared ones, then given proxy ARGs."""
        out = [(d.key, d.value or "") for d in self.declared]
        names = {d.key for d in self.declared}
        out += [(k, self.build_args[k]) for k in PROXY_ARGS
                if k in self.build_args and k not in names]
        return out


@record
class BuildDefinition:
    """A parsed Dockerfile resolved for one build: stages, ARGs and dependencies."""

    stages: list[Stage]
    meta_args: list[ArgInstruction]
    global_args: dict[str, str]
    escape_token: str
    build_args: dict[str, str]
    stage_deps: dict[int, set[int]] = field(default_factory=dict)
    image_deps: dict[int, set[str]] = field(default_factory=dict)

    def find_stage(self, name: str) -> Stage | None:
        lowered = name.lower()
        for stage in self.stages:
            if stage.name and stage.name == lowered:
                return stage
        return None

    def target(self, name: str | None = None) -> Stage:
        """The stage ``--target`` names (case-insensitive), or the last one."""
        if not name:
            return self.stages[-1]
        stage = self.find_stage(name)
        if stage is None:
            names = [s.name for s in self.stages if s.name]
            raise NotFound(with_suggestion(f"target stage {go_quote(name)} could not be found",
                                           name, names))
        return stage

    def stages_needed(self, target: str | None = None) -> list[Stage]:
        """The target and every stage it needs, transitively, in file order."""
        needed: set[int] = set()
        pending = [self.target(target).index]
        while pending:
            index = pending.pop()
            if index in needed:
                continue
            needed.add(index)
            pending.extend(self.stage_deps.get(index, ()))
        return [s for s in self.stages if s.index in needed]

    def build_order(self, target: str | None = None) -> list[list[Stage]]:
        """Needed stages grouped in waves: each wave depends only on earlier waves."""
        needed = self.stages_needed(target)
        level = _levels(self.stage_deps, [s.index for s in needed])
        waves: dict[int, list[Stage]] = {}
        for stage in needed:
            waves.setdefault(level[stage.index], []).append(stage)
        return [waves[i] for i in sorted(waves)]


def _levels(deps: Mapping[int, set[int]], roots: list[int]) -> dict[int, int]:
    """Longest dependency chain below each stage (iterative: chains can be long).

    Raises :class:`StageError` on a cycle, naming the stage where it closes.
    """
    level: dict[int, int] = {}
    visiting: set[int] = set()
    for root in roots:
        if root in level:
            continue
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            index, children_done = stack.pop()
            if children_done:
                visiting.discard(index)
                level[index] = 1 + max((level[d] for d in deps.get(index, ())), default=-1)
                continue
            if index in level:
                continue
            if index in visiting:
                raise StageError(f"circular dependency detected on stage: {index}")
            visiting.add(index)
            stack.append((index, True))
            for dep in deps.get(index, ()):
                if dep in visiting:
                    raise StageError(f"circular dependency detected on stage: {dep}")
                if dep not in level:
                    stack.append((dep, False))
    return level


def _mount_from(spec: str) -> str:
    """The ``from=`` option of a raw ``--mount`` value, if any."""
    import csv

    try:
        fields = next(csv.reader([spec]))
    except (csv.Error, StopIteration):
        return ""
    for text in fields:
        key, _, value = text.partition("=")
        if key.lower() == "from":
            return value
    return ""


def _references(instruction: Instruction) -> list[tuple[str, bool]]:
    """Stage-or-image references an instruction makes: ``(text, index_allowed)``."""
    if isinstance(instruction, CopyInstruction) and instruction.from_:
        return [(instruction.from_, True)]
    if isinstance(instruction, RunInstruction):
        if instruction.mounts is not None:
            return [(m.from_, False) for m in instruction.mounts if m.from_]
        return [(f, False) for spec in instruction.mount_specs if (f := _mount_from(spec))]
    return []


def _resolve_reference(definition: BuildDefinition, stage: Stage, instruction: Instruction,
                       text: str, index_allowed: bool) -> None:
    lex = ShellLex(definition.escape_token)
    if index_allowed and lex.process_word(text, {}) != text:
        raise DockerfileSyntaxError(
            "variable expansion is not supported for --from, define a new stage with FROM "
            "using ARG from global scope as a workaround",
            instruction.start_line, instruction.end_line)
    if index_allowed and text.isdigit():
        index = int(text)
        if index >= len(definition.stages):
            raise DockerfileSyntaxError(f"invalid stage index {index}",
                                        instruction.start_line, instruction.end_line)
        if index >= stage.index:
            raise DockerfileSyntaxError(
                f"invalid from flag value {index}: refers to current or future build stage",
                instruction.start_line, instruction.end_line)
        definition.stage_deps[stage.index].add(index)
        return
    other = definition.find_stage(text)
    if other is None:
        if text != SCRATCH:
            definition.image_deps[stage.index].add(text)
        return
    if other.index == stage.index:
        raise StageError(f"circular dependency detected on stage: {stage.display_name}")
    definition.stage_deps[stage.index].add(other.index)


def _check_cycles(definition: BuildDefinition) -> None:
    try:
        _levels(definition.stage_deps, [s.index for s in definition.stages])
    except StageError as e:
        index = int(str(e).rsplit(" ", 1)[1])
        name = definition.stages[index].display_name
        raise StageError(f"circular dependency detected on stage: {name}") from None


def resolve_stages(instructions: list[Instruction], build_args: Mapping[str, str] | None = None,
                   target_platform: Platform | None = None,
                   build_platform: Platform | None = None,
                   escape_token: str = "\\") -> BuildDefinition:
    """Split into stages, resolve global ARGs and FROM lines, and find dependencies."""
    build_args = dict(build_args or {})
    build = build_platform or Platform.host()
    target = target_platform or build
    stages, meta_args = split_stages(instructions)
    global_args = resolve_global_args(meta_args, build_args, platform_args(target, build),
                                      escape_token)
    definition = BuildDefinition(stages, meta_args, global_args, escape_token, build_args)
    lex = ShellLex(escape_token)
    seen: dict[str, Stage] = {}
    for stage in stages:
        origin = stage.from_instruction
        line, end = origin.start_line, origin.end_line
        if stage.name and stage.name in seen:
            raise DockerfileSyntaxError(f"duplicate stage name {go_quote(stage.name)}",
                                        line, end)
        try:
            stage.base_name = lex.process_word(origin.base_name, global_args)
            stage.platform = (lex.process_word(origin.platform, global_args)
                              if origin.platform else "")
        except HullError as e:
            raise DockerfileSyntaxError(str(e), line, end) from None
        if not stage.base_name:
            raise DockerfileSyntaxError(
                f"base name ({origin.base_name}) should not be blank", line, end)
        if origin.platform and not stage.platform:
            raise DockerfileSyntaxError(
                f"empty platform value from expression {origin.platform}", line, end)
        definition.stage_deps[stage.index] = set()
        definition.image_deps[stage.index] = set()
        base = seen.get(stage.base_name.lower())
        if base is not None:
            stage.base_stage = base.index
            definition.stage_deps[stage.index].add(base.index)
        elif stage.base_name != SCRATCH:
            definition.image_deps[stage.index].add(stage.base_name)
        if stage.name:
            seen[stage.name] = stage
    for stage in stages:
        for instruction in stage.instructions:
            for text, index_allowed in _references(instruction):
                _resolve_reference(definition, stage, instruction, text, index_allowed)
    _check_cycles(definition)
    return definition


def load_dockerfile(data: bytes | str, filename: str = "Dockerfile",
                    build_args: Mapping[str, str] | None = None,
                    target_platform: Platform | None = None,
                    build_platform: Platform | None = None) -> BuildDefinition:
    """Dockerfile text -> a resolved :class:`BuildDefinition` (the executor's input)."""
    result = parse(data, filename)
    instructions = build_instructions(result, filename)
    try:
        return resolve_stages(instructions, build_args, target_platform, build_platform,
                              result.escape_token)
    except DockerfileSyntaxError as e:
        raise e.with_filename(filename) from None
