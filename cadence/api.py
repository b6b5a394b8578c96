"""The public face: ``cadence.open()`` over a warehouse file, ``cadence.open_spark()`` over Spark tables.

It sits above both the warehouse (which only stores) and the metrics (which only compute, on
whichever engine they are handed): ``Metrics`` holds the metric methods once, and each of
``Warehouse`` and ``SparkMetrics`` says where they run.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from cadence.config import Config, load_config
from cadence.errors import WarehouseError
from cadence.records import Batch
from cadence.warehouse.connection import connect, default_db_path
from cadence.warehouse.write import Cursor, save



def _utc(as_of: datetime | str | None) -> datetime:
    if as_of is None:
        return datetime.now(timezone.utc)
    stamp = pd.Timestamp(as_of)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


class Metrics:
    """The metric methods, whatever the engine: a subclass says where ``_metric`` runs."""

    config: Config

    def _metric(self, name: str, as_of: datetime | str | None, **kwargs: Any) -> pd.DataFrame:
        raise NotImplementedError

    def sprints(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """One row per sprint, with its length and cadence bucket."""
        return self._metric("sprints", as_of)

    def issues(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """One row per item, with start, finish, cycle time and carry count."""
        return self._metric("issues", as_of)

    def metrics(self, by: str = "sprint", as_of: datetime | str | None = None) -> pd.DataFrame:
        """The table of ``cadence metrics --by sprint|week|cadence``."""
        if by not in ("sprint", "week", "cadence"):
            raise ValueError(f"by must be sprint, week or cadence, not {by!r}")
        if by == "cadence":
            return self.compare_cadences(as_of=as_of)
        return self._metric(f"by_{by}", as_of)

    def feedback(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """One row per started item: observed, review and headline feedback latency (censored)."""
        return self._metric("feedback", as_of)

    def feedback_summary(self, as_of: datetime | str | None = None, by: str = "cadence") -> pd.DataFrame:
        """Kaplan-Meier median and 85th percentile latency, with intervals, per group and kind."""
        return self._metric("feedback_summary", as_of, by=by)

    def feedback_curves(self, as_of: datetime | str | None = None, by: str = "cadence") -> pd.DataFrame:
        """The Kaplan-Meier step curves of feedback latency, per group and kind, with intervals."""
        return self._metric("feedback_curves", as_of, by=by)

    def overruns(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """Every item whose timebox ran over, with the rule that gave its timebox."""
        return self._metric("overruns", as_of)

    def timebox_problems(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """Timeboxes that end at or before their item's start (a due date before the work began)."""
        return self._metric("timebox_problems", as_of)

    def learnings(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """Every learning, with its text, item, link, sprint and ISO week."""
        return self._metric("learnings", as_of)

    def compare_cadences(
        self, as_of: datetime | str | None = None, seed: int = 0, n_boot: int = 2000
    ) -> pd.DataFrame:
        """Per metric and cadence: estimate, ci_low, ci_high, n_sprints, n_teams, warning."""
        return self._metric("compare_cadences", as_of, seed=seed, n_boot=n_boot)

    def switches(
        self, as_of: datetime | str | None = None, seed: int = 0, n_boot: int = 2000
    ) -> pd.DataFrame:
        """Before/after comparison for each team that switched cadence."""
        return self._metric("switches", as_of, seed=seed, n_boot=n_boot)

    def reconciliation(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """Our sprint report against Jira's own Sprint Report, per closed sprint and count."""
        return self._metric("reconciliation", as_of)

    def reconciliation_keys(self, as_of: datetime | str | None = None) -> pd.DataFrame:
        """Each key only we or only Jira count, with its likely cause and link."""
        return self._metric("reconciliation_keys", as_of)

    def cadence_differences(
        self, as_of: datetime | str | None = None, seed: int = 0, n_boot: int = 2000
    ) -> pd.DataFrame:
        """Per metric and pair of cadences: the difference, its 95% interval and effect size."""
        return self._metric("cadence_differences", as_of, seed=seed, n_boot=n_boot)

    def verdict(self, as_of: datetime | str | None = None, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
        """The four questions answered: answer, evidence (clear | suggestive | can't tell), numbers, trade-off."""
        return self._metric("verdict", as_of, seed=seed, n_boot=n_boot)

    def what_if(
        self, team: str, weeks: int, as_of: datetime | str | None = None, seed: int = 0,
        phase: int | str | datetime | None = None, n_sim: int = 1000,
    ) -> pd.DataFrame:
        """The team's calendar-driven figures on a ``weeks``-week grid: metric, actual, predicted,
        ci_low, ci_high, mechanism, assumption, ... (throughput, scope added and say/do not modelled)."""
        return self._metric("what_if", as_of, team=team, weeks=weeks, seed=seed, phase=phase, n_sim=n_sim)

    def what_if_all(self, as_of: datetime | str | None = None, seed: int = 0, n_sim: int = 1000) -> pd.DataFrame:
        """``what_if`` for every team on 1-, 2- and 3-week grids."""
        return self._metric("what_if_all", as_of, seed=seed, n_sim=n_sim)

    def what_if_backtest(self, as_of: datetime | str | None = None, seed: int = 0, n_sim: int = 1000) -> pd.DataFrame:
        """For each team that switched cadence: its after period predicted from its before period, and the truth."""
        return self._metric("what_if_backtest", as_of, seed=seed, n_sim=n_sim)


class Warehouse(Metrics):
    """One warehouse file. Each call opens the file for just that call (see connection.py),
    so a notebook that keeps a ``Warehouse`` never blocks the nightly sync."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        read_only: bool = True,
        config: Config | None = None,
        lock_wait_s: float | None = None,
    ) -> None:
        self.lock_wait_s = lock_wait_s
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        self.config = config if config is not None else load_config()
        with self.connect():
            pass  # fail now, with a clear message, rather than at the first query

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"<cadence.Warehouse {self.path} ({mode})>"

    @contextmanager
    def connect(self, wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        wait_s = wait_s if wait_s is not None else self.lock_wait_s
        with connect(self.path, read_only=self.read_only, wait_s=wait_s) as con:
            yield con

    # -- writing -------------------------------------------------------------------------
    def save(self, batch: Batch, cursor: Cursor | None = None) -> dict[str, int]:
        """Save a batch (and the cursor covering it) in one transaction."""
        if self.read_only:
            raise WarehouseError(f"{self.path} was opened read-only; use cadence.open(path, read_only=False)")
        with self.connect() as con:
            return save(con, batch, cursor)

    # -- plain tables --------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run any SQL against the warehouse and return a DataFrame."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def events(self) -> pd.DataFrame:
        """One row per event, in time order."""
        return self.query("SELECT * FROM events ORDER BY source, key, occurred_at, event_id")

    def teams(self) -> pd.DataFrame:
        return self.query("SELECT * FROM teams ORDER BY team")

    def problems(self) -> pd.DataFrame:
        """Data-quality problems found while syncing or importing."""
        return self.query("SELECT * FROM data_quality ORDER BY source, entity, entity_id, problem")

    def sync_status(self) -> pd.DataFrame:
        """The cursor and last successful sync of each source and scope."""
        return self.query("SELECT * FROM sync_state ORDER BY source, scope")

    def runs(self) -> pd.DataFrame:
        return self.query("SELECT * FROM runs ORDER BY started_at")

    def _metric(self, name: str, as_of: datetime | str | None, **kwargs: Any) -> pd.DataFrame:
        from cadence import metrics

        with self.connect() as con:
            return getattr(metrics, name)(con, as_of=_utc(as_of), config=self.config, **kwargs)

    def export(self, out: str | os.PathLike, include_raw: bool = False) -> dict[str, Any]:
        """Write the warehouse as Parquet under ``out`` (see cadence/warehouse/export.py); the manifest."""
        from cadence.warehouse.export import export

        with self.connect() as con:
            return export(con, Path(out), include_raw=include_raw)


def open_warehouse(
    path: str | os.PathLike | None = None,
    read_only: bool = True,
    config: Config | str | Path | None = None,
    lock_wait_s: float | None = None,
) -> Warehouse:
    """Open a warehouse file (``$CADENCE_DB`` or ``./cadence.duckdb`` by default), read-only by default."""
    if config is not None and not isinstance(config, Config):
        config = load_config(config)
    return Warehouse(path, read_only=read_only, config=config, lock_wait_s=lock_wait_s)


class SparkMetrics(Metrics):
    """The metrics on a SparkSession, over the warehouse's tables as Spark knows them.

    ``tables`` maps each table name the metrics read (``events``, ``items``, ``sprints``, ...;
    see ``cadence.metrics.spark.METRIC_TABLES``) to a Spark DataFrame or a catalog table name;
    ``data`` is a ``cadence export`` folder instead. The answers equal DuckDB's (see
    tests/test_spark_engine.py); the session's time zone is set to UTC.
    """

    def __init__(self, spark: Any, tables: dict[str, Any] | None = None, data: str | os.PathLike | None = None,
                 config: Config | None = None) -> None:
        from cadence.metrics.spark import SparkEngine, tables_from_export

        if (tables is None) == (data is None):
            raise ValueError("give open_spark either tables= or data= (a cadence export folder)")
        self.config = config if config is not None else load_config()
        self.engine = SparkEngine(spark, tables if tables is not None else tables_from_export(spark, data))

    def __repr__(self) -> str:
        return "<cadence.SparkMetrics>"

    def _metric(self, name: str, as_of: datetime | str | None, **kwargs: Any) -> pd.DataFrame:
        from cadence import metrics

        return getattr(metrics, name)(self.engine, as_of=_utc(as_of), config=self.config, **kwargs)


def open_spark(
    spark: Any, tables: dict[str, Any] | None = None, data: str | os.PathLike | None = None,
    config: Config | str | Path | None = None,
) -> SparkMetrics:
    """The metrics on Spark: over ``tables`` (name -> DataFrame or catalog table) or a ``cadence export`` folder."""
    if config is not None and not isinstance(config, Config):
        config = load_config(config)
    return SparkMetrics(spark, tables=tables, data=data, config=config)
