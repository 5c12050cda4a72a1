"""How a build reports what it does: Docker's classic lines, a live view, or nothing.

The executor calls one :class:`Progress`; stages building in parallel call it from
their own threads, so every implementation that writes serialises its output (with the
same lock the RUN step holds while forking, so a forked child never inherits a held lock).
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import TextIO


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class Progress:
    """Silent progress (``-q``); the base of the others."""

    def begin(self, total_steps: int) -> None: ...

    def step(self, stage: str, number: int, total: int, text: str) -> None: ...

    def triggers(self, stage: str, count: int) -> None: ...

    def base(self, stage: str, image_id: str) -> None: ...

    def cached(self, stage: str, state_id: str) -> None: ...

    def running(self, stage: str, container_id: str) -> None: ...

    def output(self, stage: str, data: bytes) -> None: ...

    def done(self, stage: str, state_id: str, container_id: str | None) -> None: ...

    def failed(self, stage: str, message: str) -> None: ...

    def warning(self, text: str) -> None: ...

    def finished(self, image_id: str, tags: list[str]) -> None: ...

    def close(self) -> None: ...


class PlainProgress(Progress):
    """Docker's classic builder output: ``Step 3/7 : RUN npm install`` and friends."""

    def __init__(self, out: TextIO | None = None) -> None:
        from hull.build.locks import FORK_LOCK  # threading: only for reporters that write

        self.out = out or sys.stdout
        self.lock = FORK_LOCK

    def _write(self, text: str) -> None:
        with self.lock:
            self.out.write(text)
            self.out.flush()

    def step(self, stage: str, number: int, total: int, text: str) -> None:
        self._write(f"Step {number}/{total} : {text}\n")

    def triggers(self, stage: str, count: int) -> None:
        self._write(f"# Executing {count} build trigger{'s' if count != 1 else ''}\n")

    def base(self, stage: str, image_id: str) -> None:
        self._write(f" ---> {short(image_id)}\n")

    def cached(self, stage: str, state_id: str) -> None:
        self._write(f" ---> Using cache\n ---> {short(state_id)}\n")

    def running(self, stage: str, container_id: str) -> None:
        self._write(f" ---> Running in {container_id[:12]}\n")

    def output(self, stage: str, data: bytes) -> None:
        with self.lock:
            self.out.flush()
            buffer = getattr(self.out, "buffer", None)
            if buffer is not None:
                buffer.write(data)
                buffer.flush()
            else:
                self.out.write(data.decode(errors="replace"))
                self.out.flush()

    def done(self, stage: str, state_id: str, container_id: str | None) -> None:
        if container_id:
            self._write(f"Removing intermediate container {container_id[:12]}\n")
        self._write(f" ---> {short(state_id)}\n")

    def warning(self, text: str) -> None:
        self._write(f"[Warning] {text}\n")

    def finished(self, image_id: str, tags: list[str]) -> None:
        lines = [f"Successfully built {short(image_id)}"]
        lines += [f"Successfully tagged {tag}" for tag in tags]
        self._write("\n".join(lines) + "\n")


class _Row:
    """One step of the live view."""

    __slots__ = ("ended", "lines", "stage", "started", "status", "text")

    def __init__(self, stage: str, text: str) -> None:
        self.stage = stage
        self.text = text
        self.started = time.monotonic()
        self.ended: float | None = None
        self.status = "running"
        self.lines: list[str] = []


class TtyProgress(Progress):
    """A live view of the steps with their times (and the last output lines of RUNs)."""

    MAX_LINES = 6

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        from hull.build.locks import FORK_LOCK

        self.lock = FORK_LOCK

        self.console = Console(stderr=False, highlight=False)
        self.rows: list[_Row] = []
        self.current: dict[str, _Row] = {}
        self.warnings: list[str] = []
        self.started = time.monotonic()
        self.live = Live(console=self.console, refresh_per_second=8, transient=False,
                         get_renderable=self._render)
        self.live.start()

    def _render(self):  # type: ignore[no-untyped-def]
        from rich.table import Table
        from rich.text import Text

        with self.lock:
            rows = list(self.rows)
            elapsed = time.monotonic() - self.started
        table = Table.grid(padding=(0, 1))
        table.add_column()
        table.add_column(ratio=1)
        table.add_column(justify="right")
        done = sum(1 for r in rows if r.status != "running")
        table.add_row(Text("[+] Building", style="bold"), Text(f"{done}/{len(rows)}"),
                      Text(f"{elapsed:.1f}s"))
        for row in rows:
            seconds = (row.ended or time.monotonic()) - row.started
            style = {"cached": "blue", "done": "green", "error": "red"}.get(row.status,
                                                                            "yellow")
            label = "CACHED" if row.status == "cached" else (
                "ERROR" if row.status == "error" else f"{seconds:.1f}s")
            table.add_row(Text(f"[{row.stage}]", style="dim"), Text(row.text),
                          Text(label, style=style))
            if row.status in ("running", "error"):
                for line in row.lines[-self.MAX_LINES:]:
                    table.add_row("", Text("  " + line, style="dim"), "")
        return table

    def step(self, stage: str, number: int, total: int, text: str) -> None:
        with self.lock:
            previous = self.current.get(stage)
            if previous is not None and previous.status == "running":
                previous.status, previous.ended = "done", time.monotonic()
            row = _Row(stage, f"{number}/{total} {text}")
            self.rows.append(row)
            self.current[stage] = row

    def _finish(self, stage: str, status: str) -> None:
        with self.lock:
            row = self.current.get(stage)
            if row is not None and row.status == "running":
                row.status, row.ended = status, time.monotonic()

    def base(self, stage: str, image_id: str) -> None:
        self._finish(stage, "done")

    def cached(self, stage: str, state_id: str) -> None:
        self._finish(stage, "cached")

    def output(self, stage: str, data: bytes) -> None:
        with self.lock:
            row = self.current.get(stage)
            if row is None:
                return
            text = data.decode(errors="replace").replace("\r", "\n")
            if row.lines and not row.lines[-1].endswith("\n"):
                text = row.lines.pop() + text
            parts = text.splitlines(keepends=True)
            row.lines.extend(parts)
            del row.lines[:-self.MAX_LINES]

    def done(self, stage: str, state_id: str, container_id: str | None) -> None:
        self._finish(stage, "done")

    def failed(self, stage: str, message: str) -> None:
        self._finish(stage, "error")

    def warning(self, text: str) -> None:
        with self.lock:
            self.warnings.append(text)

    def finished(self, image_id: str, tags: list[str]) -> None:
        self.close()
        for text in self.warnings:
            self.console.print(f"[yellow][Warning][/yellow] {text}")
        self.console.print(f"[bold]=>[/bold] writing image {image_id}")
        for tag in tags:
            self.console.print(f"[bold]=>[/bold] naming to {tag}")

    def close(self) -> None:
        if self.live.is_started:
            self.live.stop()


def make_progress(mode: str, quiet: bool, is_tty: bool) -> Progress:
    """``--progress auto|plain|tty`` (and ``-q``) to a reporter."""
    if quiet:
        return Progress()
    if mode == "tty" or (mode == "auto" and is_tty):
        return TtyProgress()
    return PlainProgress()
