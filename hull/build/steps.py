"""Which handler runs each kind of instruction (loaded on the first step of a build)."""

from __future__ import annotations

from collections.abc import Callable

from hull.build import instructions as ins
from hull.build import steps_config as config
from hull.build import steps_files as files

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from hull.build.executor import StageBuilder

HANDLERS: dict[type, Callable[[StageBuilder, Any], None]] = {
    ins.EnvInstruction: config.env,
    ins.LabelInstruction: config.label,
    ins.MaintainerInstruction: config.maintainer,
    ins.ArgInstruction: config.arg,
    ins.ExposeInstruction: config.expose,
    ins.UserInstruction: config.user,
    ins.VolumeInstruction: config.volume,
    ins.StopSignalInstruction: config.stopsignal,
    ins.HealthcheckInstruction: config.healthcheck,
    ins.ShellInstruction: config.shell,
    ins.CmdInstruction: config.cmd,
    ins.EntrypointInstruction: config.entrypoint,
    ins.OnbuildInstruction: config.onbuild,
    ins.WorkdirInstruction: files.workdir,
    ins.RunInstruction: files.run,
    ins.CopyInstruction: files.copy,
    ins.AddInstruction: files.copy,
}
