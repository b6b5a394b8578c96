"""Errors that reach the user as one line on stderr, with the exit code PRODUCT.md gives."""

from __future__ import annotations


class CadenceError(Exception):
    """A failure the user must act on (exit 1). The message is one line and holds no secret."""

    exit_code = 1


class ConfigError(CadenceError):
    """A configuration file is wrong: the message names the file, the key and what was expected."""


class WarehouseError(CadenceError):
    """The DuckDB file cannot be opened as asked (locked, too new, missing)."""


class SourceError(CadenceError):
    """A source refused or could not be reached (authentication, unknown project, host down)."""


class PartialSync(CadenceError):
    """Some of a sync failed; what was saved is kept and the next run resumes (exit 2)."""

    exit_code = 2


class WarehouseDamaged(WarehouseError):
    """The DuckDB file is corrupt or truncated. cadence stops before writing to it."""


class DiskFull(WarehouseError):
    """The disk (or the file size limit) ran out while saving. What was committed before is intact."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. ``saved`` says what a sync had saved by then.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` in the library (or in
    click) swallows it; the CLI prints one line and exits with 128 + the signal number.

    ``pending`` is the signal that arrived in this run. A library that was running our Python code
    when it came (DuckDB scanning an Arrow stream or a frame) wraps the Interrupted in an error of its
    own, so once a signal has arrived, whatever failure follows is that interruption.
    """

    pending: "Interrupted | None" = None

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum, self.name = signum, name
        self.saved: str | None = None

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @classmethod
    def raise_pending(cls, exc: BaseException) -> None:
        """Raise the interruption that ``exc`` stands for, if a signal arrived; else return."""
        if cls.pending is not None and exc is not cls.pending:
            raise cls.pending from exc
