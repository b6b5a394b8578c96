"""Opening the DuckDB file: locks, migrations and version checks.

DuckDB lets one process write a file, and a read-only process holds a shared lock that keeps
writers out. So cadence never holds a connection longer than one unit of work: readers open
per call and writers per batch, and both wait a bounded time for the other to finish. A user
who still meets a lock gets a message that says what to do, never a DuckDB traceback.

The same holds for a damaged file (corrupt or truncated: one line naming it, and cadence stops
before writing to it, so not even a checkpoint touches it), a read-only folder, and a full disk
(``DiskFull``; what was committed before stays intact and a sync reports it as partial).
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from cadence.errors import DiskFull, WarehouseDamaged, WarehouseError
from cadence.warehouse.schema import MIGRATIONS, SCHEMA_VERSION, Migration

log = logging.getLogger(__name__)

DEFAULT_DB = "cadence.duckdb"
# DuckDB's own default is 80% of the machine's memory, most of it a cache of the file's pages. At 1M
# items and 30M events the metrics held 4.8 GB that way; capped at 1 GB they peak at 1.4 GB and take
# 28 s instead of 24 s (DuckDB evicts pages and spills its joins and sorts instead; benchmarks/metrics_scale.py).
DEFAULT_MEMORY_LIMIT = "1GB"
_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", re.IGNORECASE)


def default_db_path() -> Path:
    """``$CADENCE_DB``, else ``./cadence.duckdb``."""
    return Path(os.environ.get("CADENCE_DB") or DEFAULT_DB)


def memory_limit() -> str | None:
    """DuckDB's memory cap for cadence's connections: ``$CADENCE_MEMORY_LIMIT`` (``8GB``, ``500MB``),
    else 1 GB; ``default`` leaves DuckDB's own (80% of the machine's memory).

    The cap is DuckDB's per database file, so a notebook's own connection to the same file in the
    same process shares it."""
    value = os.environ.get("CADENCE_MEMORY_LIMIT", "").strip() or DEFAULT_MEMORY_LIMIT
    if value.lower() == "default":
        return None
    if not _MEMORY_SIZE.fullmatch(value):
        raise WarehouseError(f"CADENCE_MEMORY_LIMIT={value!r} is not a memory size (for example 2GB or 500MB)")
    return value


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


def _lock_message(path: Path, exc: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (
        f"{path} is in use by {holder} (a sync or an open notebook); "
        "wait for it to finish, or close the other connection, then try again"
    )


def _write_wanted(path: Path) -> Path:
    return Path(f"{path}.write-wanted")


def _writer_waiting(path: Path) -> bool:
    """True while a writer is queued for the file; a marker a killed writer left goes stale in 2 s."""
    try:
        return time.time() - _write_wanted(path).stat().st_mtime < 2.0
    except FileNotFoundError:
        return False


# What DuckDB and the OS say, by what it means for the user.
_DAMAGED = ("corrupt database file", "not a valid duckdb database file", "could not read enough bytes",
            "checksum", "serialization error", "failed to deserialize", "invalid block")
_FULL = ("no space left on device", "file too large", "disk quota exceeded")
_READ_ONLY = ("read-only file system", "permission denied", "operation not permitted")
_FULL_ERRNO = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_READ_ONLY_ERRNO = {errno.EROFS, errno.EACCES, errno.EPERM}


def translate(path: Path, exc: BaseException) -> WarehouseError | None:
    """The one-line error a DuckDB or OS failure on ``path`` means for the user; None when it is none of these."""
    text = str(exc).lower()
    first = " ".join(str(exc).split())[:200]
    code = getattr(exc, "errno", None)
    if any(p in text for p in _FULL) or code in _FULL_ERRNO:
        return DiskFull(f"disk full: cannot write {path} ({first})")
    if any(p in text for p in _READ_ONLY) or code in _READ_ONLY_ERRNO:
        return WarehouseError(f"cannot write {path} or beside it ({first}): the folder is read-only; "
                              "point --db (or $CADENCE_DB) at a writable folder")
    if isinstance(exc, duckdb.Error) and any(p in text for p in _DAMAGED):
        return WarehouseDamaged(
            f"{path} is damaged ({first}); cadence has not written to it. Restore it from a backup, or move it "
            f"(and {path.name}.wal if there is one) aside and run `cadence sync ... --full` to build a new one"
        )
    return None


@contextmanager
def failures_named(path: Path, os_errors: bool = True) -> Iterator[None]:
    """Turn DuckDB (and, with ``os_errors``, OS) failures on ``path`` into the one-line errors of ``translate``."""
    try:
        yield
    except (duckdb.Error, OSError) as exc:
        if isinstance(exc, OSError) and not os_errors:
            raise
        error = translate(Path(path), exc)
        if error is None:
            raise
        raise error from None


def abandon(con: duckdb.DuckDBPyConnection) -> None:
    """Close without the checkpoint DuckDB makes on close: a damaged file is never written to."""
    try:
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
    except duckdb.Error:
        pass  # the database is already invalidated: it writes nothing more either


def _raw_connect(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    # Readers reopen within milliseconds, so a writer backing off could wait for ever behind a
    # notebook polling in a loop. A queued writer leaves a marker, and readers let it go first.
    deadline = time.monotonic() + wait_s
    delay = 0.05
    marker = _write_wanted(path)
    try:
        while True:
            if read_only and _writer_waiting(path) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            try:
                return duckdb.connect(str(path), read_only=read_only)
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    error = translate(path, exc)
                    raise (error or WarehouseError(f"cannot open {path}: {' '.join(str(exc).split())[:300]}")) from None
                if time.monotonic() >= deadline:
                    raise WarehouseError(_lock_message(path, exc)) from None
                if not read_only:
                    _touch(marker)
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    finally:
        if not read_only:
            _remove(marker)


# The write-wanted marker only speeds up a queued writer: where it cannot be written (a read-only
# folder) it is skipped, so that its cleanup never hides the real error.
def _touch(marker: Path) -> None:
    try:
        marker.touch()
    except OSError as exc:
        log.debug("cannot leave %s: %s", marker, exc)


def _remove(marker: Path) -> None:
    try:
        marker.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("cannot remove %s: %s", marker, exc)


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back what is open. A failed COMMIT (a full disk) has already ended the transaction, and
    its error, not "cannot rollback - no transaction is active", is the one to report."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error as exc:
        log.debug("rollback: %s", exc)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]


def migrate(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration newer than the file, each in its own transaction; return their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)"
    )
    current = schema_version(con)
    applied = []
    for migration in sorted(migrations or MIGRATIONS, key=lambda m: m.version):
        if migration.version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration.apply(con)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now())",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            rollback(con)
            raise
        log.info("applied migration %s %s", migration.version, migration.name)
        applied.append(migration.name)
    return applied


def _check_version(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        raise WarehouseError(
            f"{path} was written by a newer cadence (schema {version}, this one knows {SCHEMA_VERSION}); "
            "upgrade cadence to read it"
        )
    if read_only and version < SCHEMA_VERSION:
        raise WarehouseError(
            f"{path} has schema {version} and this cadence needs {SCHEMA_VERSION}; "
            "run any write command once (for example `cadence import` or `cadence sync`) to upgrade it"
        )


@contextmanager
def connect(
    path: str | os.PathLike, read_only: bool = True, wait_s: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse, migrated when writable, closed on exit.

    Waits up to ``wait_s`` seconds (default 10 to read, 120 to write) for another process's lock.
    """
    path = Path(path)
    limit = memory_limit()
    if read_only and not path.exists():
        raise WarehouseError(
            f"no warehouse at {path}; run `cadence demo`, `cadence import` or `cadence sync` first"
        )
    if not read_only:
        with failures_named(path):
            path.parent.mkdir(parents=True, exist_ok=True)
    con = _raw_connect(path, read_only, wait_s if wait_s is not None else (10.0 if read_only else 120.0))
    failed = False
    try:
        with failures_named(path, os_errors=False):
            try:
                con.execute("SET TimeZone = 'UTC'")
                if limit is not None:
                    con.execute(f"SET memory_limit = '{limit}'")  # checked against _MEMORY_SIZE: no quote in it
                _check_version(con, path, read_only)
                if not read_only:
                    migrate(con)
                yield con
            except BaseException as exc:
                failed = True
                if isinstance(exc, WarehouseDamaged) or isinstance(translate(path, exc), WarehouseDamaged):
                    abandon(con)
                raise
    finally:
        _close(con, path, failed)


def _close(con: duckdb.DuckDBPyConnection, path: Path, failed: bool) -> None:
    """Close, checkpointing the WAL into the file; a failure to do so matters only if nothing failed before."""
    try:
        con.close()
    except duckdb.Error as exc:
        if not failed:
            raise translate(path, exc) or exc from None
        log.debug("closing %s after a failure: %s", path, exc)
