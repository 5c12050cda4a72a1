"""The Dockerfile executor: stages, steps, the cache, and the final image.

:class:`Builder` runs the stages the target needs, in waves from
:meth:`BuildDefinition.build_order`; the stages of one wave build in parallel threads,
each with its own engine (database connections are per thread).  :class:`StageBuilder`
walks one stage: every instruction is a step that turns the stage's
:class:`~hull.build.state.ImageState` into the next one; the handlers live in
:mod:`hull.build.steps_config` (config-only steps) and :mod:`hull.build.steps_files`
(steps that change files).

Every step goes through the cache (:mod:`hull.build.cache`), metadata-only ones too, so
a fully cached build reproduces the same configs and so the same image id.  A step's key
is its parent's config digest plus the step after variable substitution; COPY and ADD
add the content hash of the context files they read, so editing one file rebuilds from
the first step that reads it.

Conventions, and where they follow one Docker builder or the other:

* history lines are BuildKit's (``RUN /bin/sh -c npm install # buildkit``,
  ``CMD ["npm" "start"]``); metadata-only steps are ``empty_layer`` entries;
* a step that changes no file adds no layer (BuildKit; the classic builder would add an
  empty one); WORKDIR makes its directory when missing, which is then a (0 B) layer;
* ``FROM scratch`` starts with BuildKit's default ``PATH``; ENTRYPOINT clears a CMD
  inherited from the base image; ONBUILD triggers of the base run right after FROM
  and are not inherited;
* output with ``--progress plain`` is the classic builder's (``Step 3/7 : ...``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from hull.build.cache import BuildCache, step_key
from hull.build.digests import DigestMemo
from hull.build.instructions import Expander, HistoryContext, Instruction
from hull.build.records import BuildResult, FileWatch
from hull.build.state import ImageState
from hull.errors import HullError, InvalidArgument, NotFound
from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from hull.build.context import BuildContext
    from hull.build.progress import Progress
    from hull.build.stages import BuildDefinition, Stage
    from hull.engine import Engine
    from hull.image.store import ImageStore

_DROPPED_BASE_KEYS = ("container", "container_config", "docker_version", "id", "parent")


class BuildError(HullError):
    """A build step failed; the message names the Dockerfile line."""


class BuildCancelled(BuildError):
    """A stage stopped because another one failed."""


@record
class BuildOptions:
    """``hull build`` flags that shape the result."""

    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    network: str = "default"
    secrets: dict[str, bytes] = field(default_factory=dict)
    platform: str | None = None


@record
class _Counters:
    steps: int = 0
    cached: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, cached: bool) -> None:
        with self.lock:
            self.steps += 1
            self.cached += int(cached)


def _remove_scratch(path: str) -> None:
    """The build's scratch directory: normally empty by now (steps remove their mount
    points), so one rmdir does; whatever a failure left goes with shutil."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def image_store(engine: Engine) -> ImageStore:
    """The engine's image store; its snapshotter opens only when a step needs a filesystem
    (a fully cached build never does)."""
    from hull.image.store import ImageStore

    return ImageStore(engine.db, engine.content, lambda: engine.snapshotter)


class Builder:
    """One build: a parsed Dockerfile, a context, options and a progress reporter."""

    def __init__(self, engine: Engine, definition: BuildDefinition, context: BuildContext,
                 dockerfile_name: str, options: BuildOptions, progress: Progress) -> None:
        self.engine = engine
        self.definition = definition
        self.context = context
        self.dockerfile_name = dockerfile_name
        self.options = options
        self.progress = progress
        self.results: dict[int, ImageState] = {}
        self.counters = _Counters()
        self.scratch = os.path.join(engine.root, "build", "tmp", f"{os.getpid()}-"
                                    f"{os.urandom(4).hex()}")
        self.runtime_root = os.path.join(engine.run_root, "build", "runtime")
        self.cache_mounts = os.path.join(engine.root, "build", "cache-mounts")
        self.declared_args: set[str] = set()
        self._lock = threading.Lock()
        self._filesystems_ready = False
        self.cancelled = threading.Event()
        self.hits: list[str] = []
        self.watch = FileWatch()  # context files read, for the build record
        self.digests = DigestMemo.for_context(  # a context unpacked from a tar has none
            engine.root, None if context.temporary else context.root, dockerfile_name)
        self.bases: list[tuple[str, str]] = []  # images used: (reference or "", id)

    # ---- the whole build ---------------------------------------------------------------

    def run(self) -> BuildResult:
        from hull import reference

        tags = [str(reference.parse_tag_arg(t)) for t in self.options.tags]
        target = self.definition.target(self.options.target)
        waves = self.definition.build_order(self.options.target)
        needed = sorted((s for wave in waves for s in wave), key=lambda s: s.index)
        total = sum(1 + len(s.instructions) for s in needed)
        first: dict[int, int] = {}
        number = 1
        for stage in needed:
            first[stage.index] = number
            number += 1 + len(stage.instructions)
        self.progress.begin(total)
        try:
            for wave in waves:
                if len(wave) == 1:
                    stage = wave[0]
                    self.results[stage.index] = StageBuilder(
                        self, self.engine, stage, first[stage.index], total).build()
                else:
                    self._parallel(wave, first, total)
            final = self.results[target.index]
            if self.options.labels:
                final = final.clone()
                labels = dict(final.config.get("Labels") or {})
                labels.update(self.options.labels)
                final.config["Labels"] = labels
            self._warn_unused_args()
            image = self._create_image(final, tags)
            BuildCache(self.engine.db, image_store(self.engine), self.engine.content).touch(
                self.hits)
            self.digests.save()
        finally:
            _remove_scratch(self.scratch)
        familiar = [reference.parse(t).familiar() for t in tags]
        self.progress.finished(image, familiar)
        return BuildResult(image, familiar, self.counters.steps, self.counters.cached)

    def _parallel(self, wave: list[Stage], first: dict[int, int], total: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from hull.engine import Engine

        def build_one(stage: Stage) -> tuple[int, ImageState]:
            engine = Engine(self.engine.settings)
            try:
                return stage.index, StageBuilder(self, engine, stage, first[stage.index],
                                                 total).build()
            except BaseException:
                self.cancel()  # the other stages stop too
                raise
            finally:
                engine.close()

        with ThreadPoolExecutor(max_workers=min(len(wave), 4),
                                thread_name_prefix="hull-stage") as pool:
            futures = [pool.submit(build_one, stage) for stage in wave]
            errors: list[BaseException] = []
            for future in futures:
                try:
                    index, state = future.result()
                    self.results[index] = state
                except BaseException as e:
                    self.cancel()
                    errors.append(e)
            if errors:  # report the failure itself, not the stages it stopped
                raise next((e for e in errors if not isinstance(e, BuildCancelled)), errors[0])

    def cancel(self) -> None:
        """Stop every stage: no new step starts, and running RUN commands are killed."""
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        from hull.build.run_step import kill_own

        kill_own(self.runtime_root)

    def _create_image(self, state: ImageState, tags: list[str]) -> str:
        from hull.oci.image import ImageConfig

        store = image_store(self.engine)
        image_id = state.digest
        if store.resolve_id(image_id) == image_id:  # a fully cached build: only tag it
            for tag in tags:
                store.tag(image_id, tag)
            return image_id
        image, _ = store.create_image(ImageConfig(state.doc), list(state.layers), tags)
        return image.id

    def _warn_unused_args(self) -> None:
        from hull.build.stages import PLATFORM_ARGS, PROXY_ARGS

        known = self.declared_args | set(PROXY_ARGS) | set(PLATFORM_ARGS)
        known |= {d.key for m in self.definition.meta_args for d in m.args}
        unused = sorted(set(self.options.build_args) - known)
        if unused:
            self.progress.warning(f"One or more build-args {unused} were not consumed")

    def note_image(self, name: str, image: Any) -> None:
        """Remember an image the build used, by the reference that named it."""
        from hull import reference

        try:
            normalised = str(reference.parse(name))
        except HullError:
            normalised = ""
        with self._lock:
            self.bases.append((normalised if normalised in image.tags else "", image.id))

    def note_hit(self, key: str) -> None:
        with self._lock:
            self.hits.append(key)

    def prepare_filesystems(self, engine: Engine) -> None:
        """Before the first step that needs a snapshot: clear what killed builds left.

        ``engine`` is the calling thread's own (database connections are per thread).
        """
        with self._lock:
            if self._filesystems_ready:
                return
            from hull.build import run_step, snapshots

            run_step.remove_stale(self.runtime_root)
            snapshots.remove_stale(engine.snapshotter, engine.db)
            self._filesystems_ready = True

    def stage_result(self, index: int) -> ImageState:
        return self.results[index]


class StageBuilder:
    """Runs the instructions of one stage, step by step."""

    def __init__(self, build: Builder, engine: Engine, stage: Stage, first_number: int,
                 total: int) -> None:
        from hull.build.stages import StageArgs

        self.builder = build
        self.engine = engine
        self.stage = stage
        self.number = first_number
        self.total = total
        self.name = stage.display_name
        self.progress = build.progress
        self.images = image_store(engine)
        self.cache = BuildCache(engine.db, self.images, engine.content)
        definition = build.definition
        self.args = StageArgs(definition.global_args, definition.build_args,
                              definition.escape_token)
        self.state = ImageState({})
        self.cmd_set = False
        self.new_entries: list[tuple[str, str, ImageState]] = []  # written once, at the end

    # ---- driving -----------------------------------------------------------------------

    def build(self) -> ImageState:
        origin = self.stage.from_instruction
        self.progress.step(self.name, self.number, self.total, origin.original)
        self.number += 1
        try:
            self.state, shown = self._base_state()
        except HullError as e:
            raise self._error(origin, str(e)) from None
        self.progress.base(self.name, shown)
        try:
            triggers = list(self.state.config.get("OnBuild") or [])
            if triggers:
                self.state.config["OnBuild"] = None
                self._run_triggers(triggers)
            for instruction in self.stage.instructions:
                self.progress.step(self.name, self.number, self.total, instruction.original)
                self.number += 1
                self.dispatch(instruction)
        finally:  # the steps that succeeded stay cached, whatever happened after them
            self.cache.put_many(self.new_entries)
        return self.state

    def _base_state(self) -> tuple[ImageState, str]:
        from hull.build.stages import SCRATCH, Platform

        stage = self.stage
        if stage.base_stage is not None:
            base = self.builder.stage_result(stage.base_stage).clone()
            return base, base.digest
        if stage.base_name == SCRATCH:
            wanted = stage.platform or self.builder.options.platform
            platform = Platform.parse(wanted) if wanted else Platform.host()
            state = ImageState.scratch(platform.os, platform.architecture, platform.variant)
            return state, state.digest
        try:
            image = self.images.resolve(stage.base_name)
        except NotFound:
            raise NotFound(f"base image {stage.base_name!r} is not present locally (builds "
                           "use local images: import, load or pull it first)") from None
        self.builder.note_image(stage.base_name, image)
        state = ImageState.from_image(self.images.config_bytes(image), list(image.layers))
        for key in _DROPPED_BASE_KEYS:
            state.doc.pop(key, None)
        return state, image.id

    def _run_triggers(self, triggers: list[str]) -> None:
        from hull.build.instructions import parse_instructions

        self.progress.triggers(self.name, len(triggers))
        for expression in triggers:
            try:
                instructions = parse_instructions(expression, "ONBUILD")
            except HullError as e:
                raise self._error(self.stage.from_instruction,
                                  f"invalid ONBUILD trigger {expression!r}: {e}") from None
            for instruction in instructions:
                self.dispatch(instruction)

    def dispatch(self, instruction: Instruction) -> None:
        from hull.build.steps import HANDLERS

        if self.builder.cancelled.is_set():
            raise BuildCancelled("build cancelled: another stage failed")
        try:
            handler = HANDLERS.get(type(instruction))
            if handler is None:
                raise InvalidArgument(f"{instruction.KEYWORD} is not allowed here")
            handler(self, instruction)
        except BuildError:
            self.progress.failed(self.name, "")
            raise
        except HullError as e:
            self.progress.failed(self.name, str(e))
            raise self._error(instruction, str(e)) from None

    def _error(self, instruction: Instruction, message: str) -> BuildError:
        return BuildError(f"{self.builder.dockerfile_name}:{instruction.start_line}: "
                          f"{instruction.original.splitlines()[0] if instruction.original else ''}"
                          f": {message}")

    # ---- helpers ---------------------------------------------------------------------

    @property
    def expansion_env(self) -> dict[str, str]:
        env = dict(self.args.values)
        env.update(self.state.env)
        return env

    def expander(self) -> Expander:
        return Expander(self.expansion_env, self.builder.definition.escape_token)

    def history_context(self, source_hash: str = "") -> HistoryContext:
        return HistoryContext(shell=self.state.shell,
                              build_args=tuple(self.args.run_build_args()),
                              workdir=self.state.workdir, source_hash=source_hash)

    def step(self, description: dict[str, Any],
             make: Callable[[ImageState], tuple[ImageState, str | None]]) -> None:
        """Reuse the cached result of a step, or run ``make`` on a copy of the parent."""
        parent = self.state
        parent_digest = parent.digest
        key = step_key(parent_digest, description)
        if not self.builder.options.no_cache:
            hit = self.cache.get(key)
            if hit is not None:
                self.builder.note_hit(key)
                self.state = hit
                self.builder.counters.add(True)
                self.progress.cached(self.name, hit.digest)
                return
        new, container = make(parent.clone())
        self.new_entries.append((key, parent_digest, new))
        self.state = new
        self.builder.counters.add(False)
        self.progress.done(self.name, new.digest, container)

    def metadata_step(self, expanded: Instruction, change: Callable[[ImageState], None],
                      extra: dict[str, Any] | None = None) -> None:
        history = expanded.history_text("buildkit", self.history_context())

        def make(state: ImageState) -> tuple[ImageState, str | None]:
            change(state)
            if history is not None:
                state.add_history(history, empty_layer=True)
            return state, None

        description = {"op": expanded.KEYWORD, "history": history, **describe(expanded),
                       **(extra or {})}
        self.step(description, make)

    def filesystem_step(self, state: ImageState, history: str | None,
                        work: Callable[[str], None]) -> ImageState:
        """Run ``work`` on the mounted root filesystem of a new snapshot over ``state``."""
        from hull.build.snapshots import StepFilesystem

        self.builder.prepare_filesystems(self.engine)
        fs = StepFilesystem(self.images, self.engine.content, state.top_chain,
                            self.builder.scratch)
        try:
            work(fs.open())
            layer = fs.commit()
        except BaseException:
            fs.discard()
            raise
        if layer is not None:
            state.layers.append(layer)
        if history is not None:
            state.add_history(history, empty_layer=layer is None)
        return state


_KEY_SKIP = ("original", "start_line", "end_line")


def describe(instruction: Instruction) -> dict[str, Any]:
    """An instruction's fields for a cache key (not where in the file it is written)."""
    return {k: v for k, v in instruction.to_dict().items() if k not in _KEY_SKIP}
