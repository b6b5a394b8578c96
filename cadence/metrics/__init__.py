"""The metrics: SQL run in DuckDB, handed out as pandas DataFrames (columns in docs/frames.md).

Every function is ``fn(con, *, as_of, config, **kw) -> DataFrame``. ``as_of`` is an aware
datetime and is never read from the clock here. The connection may be read-only; intermediate
results live in ``_cad_*`` temp tables that are dropped before the function returns.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from cadence.config import Config
from cadence.metrics import compare, feedback as _feedback, km, learnings as _learnings
from cadence.metrics import reconcile, sprint_report, timebox, timing, verdict as _verdict, weekly, whatif as _whatif
from cadence.metrics.sql import Context

__all__ = [
    "sprints", "issues", "by_sprint", "by_week", "feedback", "feedback_summary", "feedback_curves",
    "overruns", "timebox_problems", "learnings", "compare_cadences", "cadence_differences", "switches", "verdict",
    "reconciliation", "reconciliation_keys", "what_if", "what_if_all", "what_if_backtest",
]

Con = duckdb.DuckDBPyConnection


def sprints(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """One row per sprint: dates, length, cadence bucket, length mismatch, late close."""
    with Context(con, as_of, config) as ctx:
        return sprint_report.sprints(ctx)


def issues(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """One row per item: start, finish, cycle time, carry count."""
    with Context(con, as_of, config) as ctx:
        return timing.issues(ctx)


def by_sprint(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """The sprint report, one row per sprint (PRODUCT.md's columns first, in order)."""
    with Context(con, as_of, config) as ctx:
        return sprint_report.by_sprint(ctx)


def by_week(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """Per team and ISO week: completed, started, added, learnings, feedback events."""
    with Context(con, as_of, config) as ctx:
        return weekly.by_week(ctx)


def feedback(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """One row per started item: observed, review and headline latency, censored at as_of."""
    with Context(con, as_of, config) as ctx:
        return _feedback.feedback(ctx)


def feedback_summary(con: Con, *, as_of: datetime, config: Config, by: str = "cadence") -> pd.DataFrame:
    """Kaplan-Meier median and p85 latency with 95% intervals, per group (and ``all``) and kind."""
    return km.summary(feedback(con, as_of=as_of, config=config), _check_by(by))


def feedback_curves(con: Con, *, as_of: datetime, config: Config, by: str = "cadence") -> pd.DataFrame:
    """Kaplan-Meier survival curves of feedback latency with 95% bands."""
    return km.curves(feedback(con, as_of=as_of, config=config), _check_by(by))


def overruns(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """Every item whose timebox ran over, with the rule that gave the timebox."""
    with Context(con, as_of, config) as ctx:
        return timebox.overruns(ctx)


def timebox_problems(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """Timeboxes that cannot be one (a due date at or before the start): data-quality rows."""
    with Context(con, as_of, config) as ctx:
        return timebox.timebox_problems(ctx)


def learnings(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """Every learning with its text, item, link, sprint and ISO week."""
    with Context(con, as_of, config) as ctx:
        return _learnings.learnings(ctx)


def compare_cadences(
    con: Con, *, as_of: datetime, config: Config, seed: int = 0, n_boot: int = 2000
) -> pd.DataFrame:
    """Per metric and cadence: estimate with a 95% bootstrap interval, sample sizes, warnings."""
    return compare.compare(by_sprint(con, as_of=as_of, config=config), seed=seed, n_boot=n_boot)


def switches(con: Con, *, as_of: datetime, config: Config, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Before/after comparison, per metric, for each team that switched cadence."""
    return compare.switches(by_sprint(con, as_of=as_of, config=config), seed=seed, n_boot=n_boot)


def reconciliation(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """Our sprint report against Jira's own, per closed sprint and count, with the keys on one side only."""
    with Context(con, as_of, config) as ctx:
        return reconcile.reconciliation(ctx)


def reconciliation_keys(con: Con, *, as_of: datetime, config: Config) -> pd.DataFrame:
    """Every key that only we or only Jira count, per sprint and count, with its likely cause and link."""
    with Context(con, as_of, config) as ctx:
        return reconcile.reconciliation_keys(ctx)


def cadence_differences(
    con: Con, *, as_of: datetime, config: Config, seed: int = 0, n_boot: int = 2000
) -> pd.DataFrame:
    """Per metric and pair of cadences: the difference with a 95% two-stage bootstrap interval."""
    return compare.differences(by_sprint(con, as_of=as_of, config=config), seed=seed, n_boot=n_boot)


def verdict_from(per_sprint: pd.DataFrame, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """The verdict from a ``by_sprint`` frame already at hand (what the report does)."""
    return _verdict.verdict(
        compare.compare(per_sprint, seed=seed, n_boot=n_boot),
        compare.differences(per_sprint, seed=seed, n_boot=n_boot),
        compare.switches(per_sprint, seed=seed, n_boot=n_boot),
    )


def verdict(con: Con, *, as_of: datetime, config: Config, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """One row per question of PRODUCT.md: the answer, its number and interval, the evidence word, the trade-off."""
    return verdict_from(by_sprint(con, as_of=as_of, config=config), seed=seed, n_boot=n_boot)


def what_if(
    con: Con, *, as_of: datetime, config: Config, team: str, weeks: int, seed: int = 0,
    phase: _whatif.Phase = None, n_sim: int = 1000,
) -> pd.DataFrame:
    """The team's calendar-driven figures re-timed onto a ``weeks``-week grid, beside the actual ones."""
    with Context(con, as_of, config) as ctx:
        return _whatif.what_if(ctx, team, weeks, seed=seed, phase=phase, n_sim=n_sim)


def what_if_all(con: Con, *, as_of: datetime, config: Config, seed: int = 0, n_sim: int = 1000) -> pd.DataFrame:
    """``what_if`` for every team and every 1-, 2- and 3-week grid."""
    with Context(con, as_of, config) as ctx:
        return _whatif.what_if_all(ctx, seed=seed, n_sim=n_sim)


def what_if_backtest(con: Con, *, as_of: datetime, config: Config, seed: int = 0, n_sim: int = 1000) -> pd.DataFrame:
    """For each team that switched cadence: its after period predicted from its before period, and the truth."""
    with Context(con, as_of, config) as ctx:
        return _whatif.backtest(ctx, seed=seed, n_sim=n_sim)


def _check_by(by: str) -> str:
    if by not in ("cadence", "team", "sprint"):
        raise ValueError(f"by must be cadence, team or sprint, not {by!r}")
    return by
