"""``cadence export``: the warehouse as Parquet files with a schema manifest.

The layout, for Spark, Trino, BI tools or anyone else:

- ``events/source=<source>/month=<YYYY-MM>/*.parquet``: events partitioned by source and the UTC
  month they happened in. The two are Hive-style folder names, not columns in the files, which
  is how Spark, Trino, DuckDB (``hive_partitioning``) and pyarrow read them back as columns.
  Events are nearly all of the rows, so a reader can prune them by month.
- ``<table>.parquet`` for every other table, whole.
- ``manifest.json``: the schema version, and each table's columns, types and row count.

Times stay instants (Parquet ``TIMESTAMP`` with ``isAdjustedToUTC``); nothing is cut to a date.
``raw`` payloads are left out unless asked for: they are large and may hold personal data.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from cadence.errors import CadenceError
from cadence.warehouse.connection import schema_version

TABLES = ("teams", "sprints", "items", "events", "statuses", "snapshots", "sprint_reports", "sprint_report_issues",
          "sync_state", "data_quality", "runs")
MANIFEST = "manifest.json"


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, str]]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()
    return [{"name": name, "type": kind} for name, kind in rows]


def export(con: duckdb.DuckDBPyConnection, out: Path, include_raw: bool = False) -> dict[str, Any]:
    """Write every table under ``out`` (which must be empty or absent) and return the manifest."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise CadenceError(f"{out} is not empty; export into a new folder (nothing was written)")
    tables = TABLES + (("raw",) if include_raw else ())
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    manifest: dict[str, Any] = {
        "format": "cadence-export", "schema_version": schema_version(con),
        "exported_at": datetime.now(timezone.utc).isoformat(), "tables": {},
    }
    for table in tables:
        if table == "events":
            target = staging / "events"
            con.execute(f"""
                COPY (SELECT *, strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m') AS month FROM events)
                TO {_quoted(target)} (FORMAT PARQUET, PARTITION_BY (source, month))
            """)
            where = "events/source=*/month=*/*.parquet"
        else:
            con.execute(f"COPY {table} TO {_quoted(staging / (table + '.parquet'))} (FORMAT PARQUET)")
            where = f"{table}.parquet"
        count = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        manifest["tables"][table] = {"path": where, "rows": count, "columns": _columns(con, table)}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    # Only a complete export takes the folder's name, so a failed one never looks whole.
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return manifest
