"""Saving records: upserts on natural keys, with the sync cursor in the same transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

import duckdb
import pandas as pd

from cadence.records import Batch, Problem
from cadence.text import SECRETS
from cadence.warehouse.connection import rollback

# Natural keys of every table that records are saved to.
KEYS: dict[str, tuple[str, ...]] = {
    "teams": ("team",),
    "sprints": ("sprint_key",),
    "items": ("source", "key"),
    "events": ("source", "event_id"),
    "statuses": ("source", "status_id"),
    "snapshots": ("sprint_key", "key", "seen_at"),
    "raw": ("source", "entity", "entity_id"),
    "data_quality": ("source", "entity", "entity_id", "problem"),
    "sprint_reports": ("sprint_key",),
    "sprint_report_issues": ("sprint_key", "section", "key"),
}


@dataclass(frozen=True)
class Cursor:
    """Where a sync of one source and scope got to; saved with the rows it covers."""

    source: str
    scope: str
    value: str | None
    details: Mapping[str, Any] | None = None


_COLUMNS: dict[str, dict[str, str]] = {}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    # The schema is fixed by the migrations, so the lookup is done once per process.
    if table in _COLUMNS:
        return _COLUMNS[table]
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    _COLUMNS[table] = dict(rows)
    return _COLUMNS[table]


def _cell_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False)


def _frame(rows: list[Mapping[str, Any]], table: str, types: dict[str, str]) -> pd.DataFrame:
    """Rows as a frame DuckDB can cast from: times parsed to UTC, lists and JSON as JSON text."""
    frame = pd.DataFrame.from_records(rows)
    unknown = set(frame.columns) - set(types)
    if unknown:
        raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
    for column in frame.columns:
        dtype = types[column]
        if dtype.startswith("TIMESTAMP"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        elif dtype.endswith("[]") or dtype == "JSON":
            frame[column] = frame[column].map(_cell_json)
        elif dtype == "BOOLEAN" and frame[column].dtype != bool:
            # Records that leave a flag out (NaN once pandas aligns the rows) store NULL, not True.
            frame[column] = frame[column].map(lambda v: v if isinstance(v, bool) else None).astype(object)
        elif dtype == "DATE":
            frame[column] = frame[column].map(lambda v: None if v is None or pd.isna(v) else str(v)[:10])
        if frame[column].dtype == object:
            cells = frame[column]
            redacted = _redacted(cells)
            if redacted is not cells:  # writing back an unchanged column costs a block copy
                frame[column] = redacted
    return frame.drop_duplicates(subset=list(KEYS[table]), keep="last")


def _redacted(cells: pd.Series) -> pd.Series:
    """Text cells (JSON included, as the text stored) with every secret in use redacted, in every
    encoding: a server may echo a token inside an issue field. One scan of the whole column first,
    so a column without a secret costs one substring search per form."""
    if not SECRETS:
        return cells
    # On the bare array: a per-cell isinstance, or Series.dropna, over every column of every page
    # cost ~0.5-0.9 s of a 5,000-issue sync.
    values = cells.to_numpy(dtype=object)
    present = values[pd.notna(values)]
    try:
        text = "\x00".join(present)
    except TypeError:  # text mixed with numbers or lists: scan the text cells only
        text = "\x00".join(c for c in present if isinstance(c, str))
    if not text or not SECRETS.found_in(text):
        return cells
    return cells.map(lambda c: SECRETS.redact(c) if isinstance(c, str) else c)


def _insert_sql(table: str, columns: list[str], types: dict[str, str]) -> list[str]:
    names = ", ".join(f'"{c}"' for c in columns)
    selects = ", ".join(
        f'from_json("{c}", \'["VARCHAR"]\') AS "{c}"' if types[c].endswith("[]") else f'CAST("{c}" AS {types[c]}) AS "{c}"'
        for c in columns
    )
    if table == "data_quality":
        # Keep when a problem was first seen; refresh its detail and last sighting.
        return [f"INSERT INTO data_quality ({names}, first_seen, last_seen) SELECT {selects}, now(), now() "
                "FROM _cadence_batch ON CONFLICT DO UPDATE SET detail = excluded.detail, last_seen = excluded.last_seen"]
    if table == "events":
        # events has no index (see schema.py): replace by natural key with a hash join.
        return ["DELETE FROM events USING _cadence_batch b "
                "WHERE events.source = b.source AND events.event_id = b.event_id",
                f"INSERT INTO events ({names}) SELECT {selects} FROM _cadence_batch"]
    return [f"INSERT OR REPLACE INTO {table} ({names}) SELECT {selects} FROM _cadence_batch"]


def upsert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace ``rows`` into ``table`` by its natural key; return how many were given."""
    rows = list(rows)
    if not rows:
        return 0
    types = _columns(con, table)
    frame = _frame(rows, table, types)
    con.register("_cadence_batch", frame)
    try:
        for sql in _insert_sql(table, list(frame.columns), types):
            con.execute(sql).fetchall()
    finally:
        try:
            con.unregister("_cadence_batch")
        except duckdb.Error:
            pass  # inside an aborted transaction; the caller's error is the one that matters
    return len(frame)


def save_cursor(con: duckdb.DuckDBPyConnection, cursor: Cursor) -> None:
    con.execute(
        "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, now(), ?)",
        [cursor.source, SECRETS.redact(cursor.scope), cursor.value,
         _cell_json(SECRETS.redact_value(dict(cursor.details or {})))],
    ).fetchall()


# A sprint planned to start before this, or to last longer than this, has dates that cannot be
# meant (a 1970 start is an empty date read as 0); it is kept as given and counted.
EARLIEST_SPRINT = datetime(2001, 1, 1, tzinfo=timezone.utc)
LONGEST_SPRINT = timedelta(days=366)


def _instant(value: Any) -> datetime | None:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def sprint_problems(sprints: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Data-quality rows for sprints whose planned dates cannot be right: an end at or before the
    start, a start before 2001, a length over a year. Such a sprint has no cadence bucket (1, 2 or 3 weeks)."""
    found = []
    for sprint in sprints:
        start, end = _instant(sprint.get("planned_start")), _instant(sprint.get("planned_end"))
        if start is None:
            continue
        problem, detail = None, f"planned {start:%Y-%m-%d %H:%M} to {f'{end:%Y-%m-%d %H:%M}' if end else 'no end'} UTC"
        if end is not None and end <= start:
            problem = "sprint_ends_before_start"
        elif start < EARLIEST_SPRINT:
            problem = "implausible_sprint_start"
        elif end is not None and end - start > LONGEST_SPRINT:
            problem = "implausible_sprint_length"
        if problem:
            found.append(Problem(source=str(sprint.get("source")), entity="sprint",
                                 entity_id=str(sprint.get("sprint_id") or sprint.get("sprint_key")), problem=problem,
                                 detail=f"{detail}; kept as given, outside the 1-, 2- and 3-week cadences"))
    return found


def storable(batch: Batch) -> Batch:
    """``batch`` with its sprints' impossible dates counted (secrets are redacted cell by cell, ``_redacted``)."""
    problems = sprint_problems(batch.sprints)
    return replace(batch, problems=batch.problems + problems) if problems else batch


def save(con: duckdb.DuckDBPyConnection, batch: Batch, cursor: Cursor | None = None) -> dict[str, int]:
    """Save a batch and, when given, the cursor that covers it, in one transaction.

    Returns how many rows each table received. A failure rolls everything back, so a killed
    or failed sync resumes from the last cursor with nothing half-written. No cell stored holds a
    secret in use (``_redacted``), and impossible sprint dates are counted (``storable``).
    """
    batch = storable(batch)
    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for table, rows in (
            ("teams", batch.teams),
            ("statuses", batch.statuses),
            ("sprints", batch.sprints),
            ("items", batch.items),
            ("events", batch.events),
            ("snapshots", batch.snapshots),
            ("raw", batch.raw),
            ("data_quality", batch.problems),
        ):
            counts[table] = upsert(con, table, rows)
        if cursor is not None:
            save_cursor(con, cursor)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return counts


def load_cursor(con: duckdb.DuckDBPyConnection, source: str, scope: str) -> str | None:
    row = con.execute(
        "SELECT cursor FROM sync_state WHERE source = ? AND scope = ?", [source, scope]
    ).fetchall()
    return row[0][0] if row else None
