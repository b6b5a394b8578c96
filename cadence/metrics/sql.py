"""Small helpers for building the metric SQL: literals, and one evaluation context per call.

The metrics build their intermediate results as ``_cad_*`` tables through the context's engine
(TEMP tables on DuckDB, checkpointed views on Spark; see engine.py) so that each stage is
computed once per call; ``Context`` drops them again when the call ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable

import pandas as pd

from cadence.config import Config
from cadence.metrics.engine import Engine, as_engine


def lit(value: str | None) -> str:
    """A SQL string literal (or NULL)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def lower_list(values: Iterable[str]) -> str:
    """A SQL list literal of the lower-cased values: ``['spike', 'eda']``."""
    return "[" + ", ".join(lit(v.lower()) for v in values) + "]::VARCHAR[]"


def ts(value: datetime) -> str:
    """A TIMESTAMPTZ literal for an aware datetime."""
    return f"TIMESTAMPTZ {lit(pd.Timestamp(value).tz_convert('UTC').isoformat())}"


def hours(later: str, earlier: str) -> str:
    """SQL for ``later - earlier`` in hours (a DOUBLE)."""
    return f"((epoch({later}) - epoch({earlier})) / 3600.0)"


class Context:
    """One metric evaluation: an engine (or a DuckDB connection), the as-of time and the configuration.

    Stages (functions that create a ``_cad_<name>`` temp table) run at most once per context.
    """

    def __init__(self, con: Any, as_of: datetime, config: Config) -> None:
        stamp = pd.Timestamp(as_of)
        if stamp.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        self.engine: Engine = as_engine(con)
        self.as_of = stamp.tz_convert("UTC").to_pydatetime()
        self.config = config
        self.as_of_sql = ts(self.as_of)
        self._built: list[str] = []
        self._registered: list[str] = []

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        for name in reversed(self._built):
            self.engine.drop(f"_cad_{name}")
        for name in self._registered:
            self.engine.unregister(name)

    def ensure(self, name: str, build: Callable[["Context"], str]) -> str:
        """Create temp table ``_cad_<name>`` from the SELECT that ``build`` returns, once."""
        table = f"_cad_{name}"
        if name not in self._built:
            self.engine.create(table, build(self))
            self._built.append(name)
        return table

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make ``frame`` queryable as ``name`` until the context ends."""
        self.engine.register(name, frame)
        self._registered.append(name)

    def df(self, sql: str) -> pd.DataFrame:
        return self.engine.df(sql)
