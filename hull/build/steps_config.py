"""Steps that change only the image config: ENV, LABEL, ARG, CMD, USER, EXPOSE and the rest.

Each handler substitutes variables where Docker does, then records a step whose change
is a function of the parent config; the executor's cache makes a rebuild reuse the very
same config (timestamps included).
"""

from __future__ import annotations

from hull.build.instructions import (
    ArgInstruction,
    CmdInstruction,
    EntrypointInstruction,
    EnvInstruction,
    ExposeInstruction,
    HealthcheckInstruction,
    LabelInstruction,
    MaintainerInstruction,
    OnbuildInstruction,
    ShellInstruction,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
)

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from hull.build.executor import StageBuilder
    from hull.build.state import ImageState


def env(b: StageBuilder, instruction: EnvInstruction) -> None:
    expanded = instruction.expand(b.expander())

    def change(state: ImageState) -> None:
        for pair in expanded.pairs:
            state.set_env(pair.key, pair.value)

    b.metadata_step(expanded, change)


def label(b: StageBuilder, instruction: LabelInstruction) -> None:
    expanded = instruction.expand(b.expander())

    def change(state: ImageState) -> None:
        labels = dict(state.config.get("Labels") or {})
        for pair in expanded.pairs:
            labels[pair.key] = pair.value
        state.config["Labels"] = labels

    b.metadata_step(expanded, change)


def maintainer(b: StageBuilder, instruction: MaintainerInstruction) -> None:
    def change(state: ImageState) -> None:
        state.doc["author"] = instruction.maintainer

    b.metadata_step(instruction, change)


def arg(b: StageBuilder, instruction: ArgInstruction) -> None:
    expanded = instruction.expand(b.expander())
    b.args.declare(instruction, b.expansion_env)
    with b.builder._lock:
        b.builder.declared_args |= {d.key for d in instruction.args}
    b.metadata_step(expanded, lambda state: None)


def expose(b: StageBuilder, instruction: ExposeInstruction) -> None:
    expanded = instruction.expand(b.expander())
    ports = expanded.exposed_ports()

    def change(state: ImageState) -> None:
        exposed = dict(state.config.get("ExposedPorts") or {})
        for port in ports:
            exposed[port] = {}
        state.config["ExposedPorts"] = exposed

    b.metadata_step(expanded, change)


def user(b: StageBuilder, instruction: UserInstruction) -> None:
    expanded = instruction.expand(b.expander())

    def change(state: ImageState) -> None:
        state.config["User"] = expanded.user

    b.metadata_step(expanded, change)


def volume(b: StageBuilder, instruction: VolumeInstruction) -> None:
    expanded = instruction.expand(b.expander())

    def change(state: ImageState) -> None:
        volumes = dict(state.config.get("Volumes") or {})
        for volume in expanded.volumes:
            volumes[volume] = {}
        state.config["Volumes"] = volumes

    b.metadata_step(expanded, change)


def stopsignal(b: StageBuilder, instruction: StopSignalInstruction) -> None:
    expanded = instruction.expand(b.expander())

    def change(state: ImageState) -> None:
        state.config["StopSignal"] = expanded.signal

    b.metadata_step(expanded, change)


def healthcheck(b: StageBuilder, instruction: HealthcheckInstruction) -> None:
    def change(state: ImageState) -> None:
        check: dict[str, Any] = {"Test": list(instruction.test)}
        for key, value in (("Interval", instruction.interval),
                           ("Timeout", instruction.timeout),
                           ("StartPeriod", instruction.start_period),
                           ("StartInterval", instruction.start_interval),
                           ("Retries", instruction.retries)):
            if value:
                check[key] = value
        state.config["Healthcheck"] = check

    b.metadata_step(instruction, change)


def shell(b: StageBuilder, instruction: ShellInstruction) -> None:
    def change(state: ImageState) -> None:
        state.config["Shell"] = list(instruction.shell)

    b.metadata_step(instruction, change)


def cmd(b: StageBuilder, instruction: CmdInstruction) -> None:
    argv = instruction.argv(b.state.shell)
    b.cmd_set = True

    def change(state: ImageState) -> None:
        state.config["Cmd"] = argv

    b.metadata_step(instruction, change, {"argv": argv})


def entrypoint(b: StageBuilder, instruction: EntrypointInstruction) -> None:
    argv = instruction.argv(b.state.shell)
    clear_cmd = not b.cmd_set

    def change(state: ImageState) -> None:
        state.config["Entrypoint"] = argv
        if clear_cmd:
            state.config["Cmd"] = None

    b.metadata_step(instruction, change, {"argv": argv, "clear_cmd": clear_cmd})


def onbuild(b: StageBuilder, instruction: OnbuildInstruction) -> None:
    def change(state: ImageState) -> None:
        state.config["OnBuild"] = [*(state.config.get("OnBuild") or []),
                                   instruction.expression]

    b.metadata_step(instruction, change, {"expression": instruction.expression})
