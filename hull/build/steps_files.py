"""Steps that change files: WORKDIR, RUN, COPY and ADD.

Each runs on a fresh snapshot of its parent (see :mod:`hull.build.snapshots`) inside
the executor's cache: its key is computed before anything runs, from the expanded
instruction and, for COPY/ADD from the context, the content hash of the files it reads.
"""

from __future__ import annotations

from hull.build import copy as copying
from hull.build.context import Source, content_hash, find_sources
from hull.build.executor import BuildCancelled, BuildError
from hull.build.instructions import (
    AddInstruction,
    CopyInstruction,
    Instruction,
    RunInstruction,
    WorkdirInstruction,
)
from hull.errors import InvalidArgument, NotFound

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from hull.build.executor import StageBuilder
    from hull.build.records import FileWatch
    from hull.build.state import ImageState

ERROR_TAIL_LINES = 10


def workdir(b: StageBuilder, instruction: WorkdirInstruction) -> None:
    expanded = instruction.expand(b.expander())
    path = expanded.resolve(b.state.workdir)
    history = expanded.history_text("buildkit", b.history_context())

    def make(state: ImageState) -> tuple[ImageState, str | None]:
        state.config["WorkingDir"] = path
        if path == "/":
            state.add_history(history or "", empty_layer=True)
            return state, None

        def work(rootfs: str) -> None:
            copying.make_dirs(rootfs, path, copying.Ownership(0, 0))

        return b.filesystem_step(state, history, work), None

    b.step({"op": "WORKDIR", "path": path}, make)


def run(b: StageBuilder, instruction: RunInstruction) -> None:
    expanded = instruction.expand(b.expander())
    if expanded.security == "insecure":
        raise InvalidArgument("RUN --security=insecure is not allowed: this builder grants no "
                              "extra privileges to build steps")
    shell = b.state.shell
    argv = expanded.argv(shell)
    build_args = b.args.run_build_args()
    network = expanded.network if expanded.network != "default" else b.builder.options.network
    script = expanded.script_heredoc()
    files = {script.name: script.chomped_content().encode()} if script else {}
    mounts = list(expanded.mounts or [])
    history = expanded.history_text("buildkit", b.history_context())
    description = {"op": "RUN", "argv": argv, "args": build_args, "network": network,
                   "security": expanded.security, "mounts": [m.to_dict() for m in mounts],
                   "files": {k: v.decode() for k, v in files.items()}}

    def make(state: ImageState) -> tuple[ImageState, str | None]:
        from hull.build.run_step import RunRequest, new_container_id, run_command
        from hull.runtime.cgroups import stop_warm_up, warm_up_migration

        warm_up_migration(keep=2.0)  # the kernel's cgroup-move wait overlaps the snapshot work
        container_id = new_container_id()
        env = list(state.config.get("Env") or [])
        names = {e.partition("=")[0] for e in env}
        env += [f"{k}={v}" for k, v in build_args if k not in names]
        b.progress.running(b.name, container_id)

        def work(rootfs: str) -> None:
            from hull.build.run_mounts_exec import prepare_mounts

            with prepare_mounts(b, mounts) as spec_mounts:
                request = RunRequest(argv=argv, env=env, cwd=state.workdir, user=state.user,
                                     network=network, mounts=spec_mounts, files=files,
                                     insecure=expanded.security == "insecure")
                try:
                    outcome = run_command(rootfs, request, b.builder.scratch,
                                          b.builder.runtime_root, container_id,
                                          lambda data: b.progress.output(b.name, data))
                finally:
                    stop_warm_up()
            if outcome.exit_code != 0:
                if b.builder.cancelled.is_set():
                    raise BuildCancelled("build cancelled: another stage failed")
                raise _run_failure(b, instruction, argv, outcome.exit_code, outcome.tail)

        return b.filesystem_step(state, history, work), container_id

    b.step(description, make)


def _run_failure(b: StageBuilder, instruction: Instruction, argv: list[str], code: int,
                 tail: bytes) -> BuildError:
    lines = tail.decode(errors="replace").rstrip("\n").splitlines()[-ERROR_TAIL_LINES:]
    message = (f"{b.builder.dockerfile_name}:{instruction.start_line}: the command "
               f"'{' '.join(argv)}' returned a non-zero code: {code}")
    if lines:
        message += "\n" + "\n".join("  " + line for line in lines)
    b.progress.failed(b.name, message)
    return BuildError(message)


def copy(b: StageBuilder, instruction: CopyInstruction | AddInstruction) -> None:
    env = b.expansion_env
    expanded = instruction.expand(b.expander()).expand_contents(env)
    is_add = isinstance(expanded, AddInstruction)
    keyword = expanded.KEYWORD
    if getattr(expanded, "parents", False):
        raise InvalidArgument("COPY --parents is not supported")
    for source in expanded.sources:
        if copying.is_url(source):
            if not is_add:
                raise InvalidArgument(f"source can't be a URL for COPY: {source}")
            raise InvalidArgument(f"ADD from a URL is not supported: builds here have no "
                                  f"network access ({source})")
    dest, dest_is_dir = copying.destination(expanded.dest, b.state.workdir)
    mode = copying.parse_chmod(expanded.chmod)
    from_ = getattr(expanded, "from_", "")
    description: dict[str, Any] = {
        "op": keyword, "sources": expanded.sources, "dest": dest, "dir": dest_is_dir,
        "chown": expanded.chown, "chmod": expanded.chmod, "link": expanded.link,
        "excludes": expanded.excludes,
        "contents": [[c.path, c.data] for c in expanded.contents],
        "unpack": getattr(expanded, "unpack", None)}
    ignore = _ignore_for(b, expanded.excludes) if not from_ else None
    source_hash = ""
    if from_:
        source_chain, source_id = from_source(b, from_)
        description["from"] = source_id
    else:
        source_chain = None
        if expanded.sources:
            root = b.builder.context.require_root(keyword)
            found = _find_all(root, expanded.sources, ignore, b.builder.watch)
            source_hash = content_hash(found, ignore, b.builder.watch, b.builder.digests)
            description["hash"] = source_hash
    history = expanded.history_text("buildkit", b.history_context(source_hash))

    def make(state: ImageState) -> tuple[ImageState, str | None]:
        from hull.build.snapshots import mounted_view

        def work(rootfs: str) -> None:
            owner = copying.resolve_chown(rootfs, expanded.chown) if expanded.chown else (
                copying.Ownership() if from_ else copying.Ownership(0, 0))
            if from_:
                with mounted_view(b.images.snapshotter, source_chain,
                                  b.builder.scratch) as root:
                    found = _find_all(root, expanded.sources, None)
                    _copy_into(rootfs, found, expanded, dest, dest_is_dir, owner, mode, None,
                               is_add=False)
            else:
                found = (_find_all(b.builder.context.require_root(keyword), expanded.sources,
                                   ignore) if expanded.sources else [])
                _copy_into(rootfs, found, expanded, dest, dest_is_dir, owner, mode, ignore,
                           is_add)

        return b.filesystem_step(state, history, work), None

    b.step(description, make)


def _copy_into(rootfs: str, found: list[Source], instruction: CopyInstruction | AddInstruction,
               dest: str, dest_is_dir: bool, owner: copying.Ownership, mode: int | None,
               ignore: Any, is_add: bool) -> None:
    copier = copying.Copier(rootfs, owner, mode, ignore)
    count = len(found) + len(instruction.contents)
    if count > 1 and not dest_is_dir:
        raise copying.CopyError(f"When using {instruction.KEYWORD} with more than one source "
                                "file, the destination must be a directory and end with a /")
    plain: list[Source] = []
    unpack = getattr(instruction, "unpack", None)
    for source in found:
        if is_add and not source.is_dir and unpack is not False and copying.is_archive(
                source.path):
            copying.extract_archive(rootfs, source.path, dest)
        else:
            plain.append(source)
    copier.copy(plain, dest, dest_is_dir or count > 1)
    for content in instruction.contents:
        copier.write_file(dest, dest_is_dir, content.path, content.data.encode())


def _find_all(root: str, patterns: list[str], ignore: Any,
              watch: FileWatch | None = None) -> list[Source]:
    found: list[Source] = []
    for pattern in patterns:
        found += copying.sources_or_error(find_sources(root, pattern, ignore, watch), pattern)
    return list(copying.iter_unique(found))


def _ignore_for(b: StageBuilder, excludes: list[str]) -> Any:
    ignore = b.builder.context.ignore
    if not excludes:
        return ignore
    from hull.build.dockerignore import DockerIgnore

    return DockerIgnore([*ignore.patterns, *excludes])


def from_source(b: StageBuilder, name: str) -> tuple[str | None, str]:
    """The layer chain and config digest (or image id) a ``--from`` names."""
    definition = b.builder.definition
    if name.isdigit():
        state = b.builder.stage_result(int(name))
        return state.top_chain, state.digest
    stage = definition.find_stage(name)
    if stage is not None:
        state = b.builder.stage_result(stage.index)
        return state.top_chain, state.digest
    try:
        image = b.images.resolve(name)
    except NotFound:
        raise NotFound(f"--from: image {name!r} is not present locally and is not a build "
                       "stage") from None
    b.builder.note_image(name, image)
    return image.top_chain_id, image.id
