"""Progress reporting: the library calls a ``Progress`` and the CLI decides how it looks.

On a terminal the CLI shows a rich progress bar; otherwise (cron, CI, a pipe) plain log lines.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Protocol

log = logging.getLogger("cadence.progress")


class Progress(Protocol):
    def __call__(self, label: str, done: int, total: int | None = None) -> None:
        """``done`` units of ``label`` are finished, out of ``total`` when known."""


def silent(label: str, done: int, total: int | None = None) -> None:
    """A Progress that shows nothing; the library default."""


class LogProgress:
    """Plain log lines, at most one every ``every_s`` seconds per label."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}

    def __call__(self, label: str, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last.get(label, 0.0) < self.every_s:
            return
        self._last[label] = now
        log.info("%s: %d%s", label, done, f"/{total}" if total else "")


class RichProgress:
    """A rich progress bar per label, for terminals."""

    def __init__(self) -> None:
        from rich.progress import Progress as Bar

        self._bar = Bar(transient=True)
        self._tasks: dict[str, int] = {}
        self._bar.start()

    def __call__(self, label: str, done: int, total: int | None = None) -> None:
        if label not in self._tasks:
            self._tasks[label] = self._bar.add_task(label, total=total)
        self._bar.update(self._tasks[label], completed=done, total=total)

    def close(self) -> None:
        self._bar.stop()


def for_terminal() -> LogProgress | RichProgress:
    return RichProgress() if sys.stderr.isatty() else LogProgress()
