"""Where the metric SQL runs: the engine seam.

The metrics write their SQL once, in DuckDB's dialect, and hand it to an engine through
``Context``. An engine does four things: build a named intermediate table from a SELECT, drop it,
make a pandas frame queryable under a name, and run a SELECT into a pandas frame (times as UTC
instants). ``DuckDBEngine`` runs the SQL as written; ``cadence.metrics.spark.SparkEngine`` runs
it through sqlglot and the rewrites of ``cadence.metrics.spark_sql``.

The metrics never ask which engine they have.
"""

from __future__ import annotations

from typing import Protocol

import duckdb
import pandas as pd


class Engine(Protocol):
    name: str

    def create(self, table: str, select: str) -> None:
        """Build ``table`` from ``select``, computed once, visible to later statements."""

    def drop(self, table: str) -> None: ...

    def register(self, name: str, frame: pd.DataFrame) -> None: ...

    def unregister(self, name: str) -> None: ...

    def df(self, select: str) -> pd.DataFrame:
        """The result as pandas, with every instant a UTC-aware timestamp."""


def utc_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Convert every tz-aware column to UTC (the caller's connection may use another zone)."""
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) != "UTC":
            frame[column] = frame[column].dt.tz_convert("UTC")
    return frame


class DuckDBEngine:
    """The default: the SQL as written, on a DuckDB connection (which may be read-only;
    DuckDB allows TEMP tables on a read-only file)."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def create(self, table: str, select: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")

    def drop(self, table: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {table}")

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def df(self, select: str) -> pd.DataFrame:
        return utc_frame(self.con.execute(select).df())


def as_engine(con: "duckdb.DuckDBPyConnection | Engine") -> "Engine":
    """A DuckDB connection becomes a ``DuckDBEngine``; an engine is returned as it is."""
    if isinstance(con, duckdb.DuckDBPyConnection):
        return DuckDBEngine(con)
    return con
