"""Dockerfiles to images.

The front end is pure (no containers, no layers), so the executor, linter-like checks and
the tests all read a Dockerfile the same way: :mod:`~hull.build.parser`,
:mod:`~hull.build.shell_lex`, :mod:`~hull.build.instructions`, :mod:`~hull.build.stages`,
:mod:`~hull.build.dockerignore`.

The executor turns a :class:`~hull.build.stages.BuildDefinition` into an image:
:mod:`~hull.build.executor` (stages and steps), :mod:`~hull.build.steps_config` and
:mod:`~hull.build.steps_files` (one handler per instruction), :mod:`~hull.build.cache`
(step results in SQLite), :mod:`~hull.build.records` (unchanged rebuilds answered from
file stats), :mod:`~hull.build.context` (the context and content hashes),
:mod:`~hull.build.copy` (COPY/ADD), :mod:`~hull.build.run_step` and
:mod:`~hull.build.run_mounts_exec` (RUN through the OCI runtime),
:mod:`~hull.build.snapshots` (a snapshot per step, layers) and
:mod:`~hull.build.progress` (output).  Modules are imported on demand; this package
imports nothing at start-up.
"""
