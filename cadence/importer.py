"""``cadence import``: load the neutral format (docs/neutral-format.md) into the warehouse.

A file is read in batches of Arrow rows (``import_lines``) and DuckDB parses, checks and upserts each
batch with set-based SQL (``import_sql``): no Python loop touches a row, and memory stays flat however
large the file is. Two stages overlap: a background thread reads and parses the next batch on a
cursor of its own while this connection stores the current one. Each batch commits on its own: an
interrupted import keeps what it loaded and re-running it changes nothing (upserts on natural keys).
A bad row is rejected with its file, line and field, recorded as a data-quality problem, and the rest
still load. Text that holds a secret in use in this process (``SECRETS``) is redacted before it is stored.
"""

from __future__ import annotations

import logging
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from cadence.errors import CadenceError
from cadence.import_lines import LINE_NO, ahead, jsonl_batches, parquet_batches
from cadence.import_sql import KINDS, SPECS, check_sql, duplicates_sql, quote, rows_sql
from cadence.progress import Progress, silent
from cadence.text import SECRETS
from cadence.warehouse.connection import connect, rollback

log = logging.getLogger(__name__)

# About 280,000 lines of events. Each commit has a fixed cost, so smaller batches are slower
# (16 MB ones took half as long again); larger ones hold more memory (benchmarks/import_scale.py).
CHUNK_BYTES = 64 * 1024 * 1024
PARQUET_ROWS = 250_000
FILE_KINDS = {f"{kind}s": kind for kind in KINDS} | {"statuses": "status"}
REDACT = "_cadence_redact"


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    loaded: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in KINDS})
    rejected: list[str] = field(default_factory=list)  # "file:line: field: reason", the first 1,000
    rejected_count: int = 0

    def summary(self) -> str:
        plural = {kind: table for kind, (table, _) in SPECS.items()}
        counts = ", ".join(f"{n} {plural[kind]}" for kind, n in self.loaded.items() if n)
        return f"loaded {counts or 'nothing'} from {len(self.files)} file(s); {self.rejected_count} row(s) rejected"


def _redact(cells: pa.Array) -> pa.Array:
    """A text column with every secret in use redacted; one scan of the whole column when none is in it.

    Registered only while ``SECRETS`` holds one (a notebook that also synced), so a plain
    ``cadence import`` never pays for it."""
    text = "\x00".join(c for c in cells.drop_null().to_pylist())
    if not SECRETS.found_in(text):
        return cells
    return pa.array([SECRETS.redact(c) for c in cells.to_pylist()], pa.string())


@dataclass
class _Checked:
    """One batch: its lines, the first pass over them (``check_sql``) as Arrow, and whether a key of
    the file's own kind repeats in it."""

    lines: pa.Table
    checked: pa.Table
    repeated: bool


def _checked(cursor: duckdb.DuckDBPyConnection, batches: Iterator[pa.Table], lines: str,
             default_kind: str | None) -> Iterator[_Checked]:
    """The first pass over each batch, on its own ``cursor`` so that it runs while the batch before is stored."""
    kind = default_kind or "event"
    sql = check_sql(kind, lines, default_kind, first=True)
    try:
        for batch in batches:
            cursor.register("_batch", batch)
            checked = cursor.sql(sql).to_arrow_table()
            cursor.unregister("_batch")
            cursor.register("_checked", checked)
            repeated = cursor.execute(duplicates_sql(kind, "_checked")).fetchall()[0][0] > 0
            cursor.unregister("_checked")
            yield _Checked(batch, checked, repeated)
    finally:
        cursor.close()


def _upsert(con: duckdb.DuckDBPyConnection, kind: str, checked: str, repeated: bool | None = None) -> int:
    """Upsert the good rows of ``kind`` in the relation ``checked``; return how many rows were stored."""
    table, _ = SPECS[kind]
    # The window that keeps a key's last line costs a sort: it runs only when a batch repeats a key.
    if repeated is None:
        repeated = con.execute(duplicates_sql(kind, checked)).fetchall()[0][0] > 0
    columns, rows = rows_sql(kind, checked, repeated, REDACT if SECRETS else None)
    names = ", ".join(columns)
    if kind != "event":
        return con.execute(f"INSERT OR REPLACE INTO {table} ({names}) {rows}").fetchall()[0][0]
    # events has no index (see schema.py): replace by natural key with a hash join instead. The join
    # reads only the two key columns of ``rows`` (DuckDB prunes the rest).
    con.execute(f"DELETE FROM events USING ({rows}) n WHERE events.source = n.source AND events.event_id = n.event_id")
    return con.execute(f"INSERT INTO events ({names}) {rows}").fetchall()[0][0]


def _store_batch(con: duckdb.DuckDBPyConnection, batch: _Checked, lines: str, default_kind: str | None,
                 file_name: str, report: ImportReport) -> None:
    """Upsert the good rows of one checked batch and record its bad ones, in one transaction; the
    report counts them once it commits."""
    kind = default_kind or "event"
    loaded = dict.fromkeys(KINDS, 0)
    con.register("_batch", batch.lines)
    con.register("_checked", batch.checked)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _errors AS SELECT line_no, error FROM _checked WHERE error IS NOT NULL")
        loaded[kind] = _upsert(con, kind, "_checked", batch.repeated)
        # The first pass parsed for the file's own kind (events in events.jsonl); each other kind
        # found in the batch gets a pass over its own lines only.
        others = {k for (k,) in con.execute(
            f"SELECT DISTINCT record FROM _checked WHERE error IS NULL AND record <> {quote(kind)}").fetchall()}
        for other in (k for k in KINDS if k in others):
            own = (f"(SELECT l.line_no, l.line FROM {lines} l SEMI JOIN _checked c "
                   f"ON l.line_no = c.line_no AND c.record = {quote(other)} AND c.error IS NULL)")
            con.execute(f"CREATE OR REPLACE TEMP TABLE _other AS {check_sql(other, own, default_kind, first=False)}")
            con.execute("INSERT INTO _errors SELECT line_no, error FROM _other WHERE error IS NOT NULL")
            loaded[other] = _upsert(con, other, "_other")
        count, named = _record_rejections(con, file_name, room=max(0, 1000 - len(report.rejected)))
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    finally:
        con.unregister("_checked")
        con.unregister("_batch")
    for k, n in loaded.items():
        report.loaded[k] += n
    report.rejected_count += count
    report.rejected += named


def _record_rejections(con: duckdb.DuckDBPyConnection, file_name: str, room: int) -> tuple[int, list[str]]:
    """Record the rows in ``_errors`` as data-quality problems; return how many, and the first ``room``
    as "file:line: field: reason"."""
    count = con.execute("SELECT count(*) FROM _errors").fetchall()[0][0]
    if not count:
        return 0, []
    first = con.execute("SELECT line_no, error FROM _errors ORDER BY line_no LIMIT ?", [room]).fetchall()
    con.execute(
        """INSERT INTO data_quality (source, entity, entity_id, problem, detail, first_seen, last_seen)
           SELECT 'import', 'line', ? || ':' || line_no, 'invalid_row', error, now(), now()
           FROM _errors
           ON CONFLICT DO UPDATE SET detail = excluded.detail, last_seen = excluded.last_seen""",
        [file_name],
    ).fetchall()
    return count, [f"{file_name}:{line}: {error}" for line, error in first]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".parquet") and p.is_file())
        order = {kind: i for i, kind in enumerate(("teams", "statuses", "sprints", "items", "events"))}
        return sorted(found, key=lambda p: (order.get(p.stem, 99), p.name))
    if not path.exists():
        raise CadenceError(f"{path}: no such file or folder")
    if path.suffix not in (".jsonl", ".parquet", ".json"):
        raise CadenceError(f"{path}: expected a .jsonl or .parquet file, or a folder of them")
    return [path]


def _import_file(con: duckdb.DuckDBPyConnection, file: Path, report: ImportReport, progress: Progress) -> None:
    default_kind = FILE_KINDS.get(file.stem)
    if file.suffix == ".parquet":
        batches = parquet_batches(file, PARQUET_ROWS)
        # A Parquet row is checked as the JSON object it would be in a .jsonl file (its row number
        # rides along as one more field, which the checks ignore like any unknown field).
        lines = f"(SELECT {LINE_NO} AS line_no, to_json(t)::VARCHAR AS line FROM _batch t)"
    else:
        batches, lines = jsonl_batches(file, CHUNK_BYTES), "_batch"
    done = 0
    # closing(): a failed batch stops the reading thread (and its cursor) before the connection closes.
    with closing(ahead(_checked(con.cursor(), batches, lines, default_kind), file)) as checked:
        for batch in checked:
            _store_batch(con, batch, lines, default_kind, file.name, report)
            done += batch.lines.num_rows
            progress(f"import {file.name}", done)


def import_path(db_path: str | Path, path: str | Path, progress: Progress = silent) -> ImportReport:
    """Import a neutral-format file or folder into the warehouse at ``db_path``."""
    report = ImportReport()
    files = _files(Path(path))
    if not files:
        raise CadenceError(f"{path}: no .jsonl or .parquet files in this folder")
    with connect(db_path, read_only=False) as con:
        # Rows are keyed by their natural key and line number, never by the order they were stored in;
        # without that order DuckDB writes a batch with every thread.
        # (The setting is the database's: put back for any other connection of this process to it.)
        con.execute("SET preserve_insertion_order = false")
        if SECRETS:
            con.create_function(REDACT, _redact, ["VARCHAR"], "VARCHAR", type="arrow")
        try:
            for file in files:
                report.files.append(str(file))
                _import_file(con, file, report, progress)
        finally:
            with suppress(duckdb.Error):  # a broken connection's own error is the one to report
                con.execute("RESET preserve_insertion_order")
    log.info("%s", report.summary())
    return report
