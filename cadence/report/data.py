"""Everything a report or a deck shows, fetched from the warehouse once."""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import pandas as pd

from cadence.config import Config
from cadence.metrics import compare as _compare
from cadence.metrics.verdict import verdict as build_verdict
from cadence.report.safe import neutralise, neutralise_frame
from cadence.api import Warehouse, _utc

log = logging.getLogger(__name__)

# Sprints whose membership no source recorded: no sprint events and no snapshots. Their counts
# are zero because nothing is known, not because nothing happened.
_WITHOUT_HISTORY = """
SELECT s.team, s.sprint_key, s.sprint_id, s.name AS sprint_name, s.state, s.source
FROM sprints s
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.kind IN ('sprint_added', 'sprint_removed')
                  AND s.sprint_key IN (e.to_id, e.from_id))
  AND NOT EXISTS (SELECT 1 FROM snapshots n WHERE n.sprint_key = s.sprint_key)
ORDER BY s.team, s.planned_start
"""

_PEOPLE = """
SELECT DISTINCT actor AS person FROM events WHERE actor IS NOT NULL
UNION SELECT DISTINCT unnest(assignees) FROM items
UNION SELECT DISTINCT from_value FROM events WHERE kind = 'assignee' AND from_value IS NOT NULL
UNION SELECT DISTINCT to_value FROM events WHERE kind = 'assignee' AND to_value IS NOT NULL
"""


@dataclass
class ReportData:
    """The frames behind a report or a deck, all computed as of one instant."""

    as_of: datetime
    teams: pd.DataFrame
    sprints: pd.DataFrame
    by_sprint: pd.DataFrame
    issues: pd.DataFrame
    compare: pd.DataFrame
    switches: pd.DataFrame
    feedback: pd.DataFrame
    feedback_summary: pd.DataFrame
    feedback_curves: pd.DataFrame
    overruns: pd.DataFrame
    learnings: pd.DataFrame
    sync_status: pd.DataFrame
    problems: pd.DataFrame
    runs: pd.DataFrame
    without_history: pd.DataFrame
    people: list[str]
    reconciliation: pd.DataFrame = field(default_factory=pd.DataFrame)  # wh.reconciliation_keys()
    verdict: pd.DataFrame = field(default_factory=pd.DataFrame)
    timebox_problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    config: Config = field(default_factory=Config)
    what_if: pd.DataFrame | None = None  # every team on 1-, 2- and 3-week grids (metrics.what_if_all)
    what_if_backtest: pd.DataFrame | None = None

    @property
    def synthetic(self) -> bool:
        return "synthetic" in self.teams and bool(self.teams["synthetic"].fillna(False).astype(bool).any())

    @property
    def trend_window(self) -> int:
        """How many sprints before the latest the report's arrows and the deck's scorecard compare with."""
        return self.config.trend_window


def neutralised(data: ReportData) -> ReportData:
    """``data`` with bidirectional overrides and control characters removed from every text cell.

    People's names are kept in both forms, so that the scrubber still finds a name that carried one.
    """
    frames = {f.name: neutralise_frame(getattr(data, f.name)) for f in dataclasses.fields(data)
              if isinstance(getattr(data, f.name), pd.DataFrame)}
    people = list(dict.fromkeys([*data.people, *(neutralise(p) for p in data.people)]))
    return dataclasses.replace(data, people=people, **frames)


def _curves(wh: Warehouse, as_of: datetime) -> pd.DataFrame:
    return wh.feedback_curves(as_of=as_of, by="cadence")


def _fingerprint(wh: Warehouse, when: datetime, n_boot: int) -> tuple:
    """What decides the frames: the file's contents (main file and write-ahead log), as-of and config."""
    stats = []
    for path in (wh.path, wh.path.with_name(wh.path.name + ".wal")):
        stat = path.stat() if path.exists() else None
        stats.append((stat.st_mtime_ns, stat.st_size) if stat else None)
    return (str(wh.path.resolve()), *stats, when, n_boot, repr(wh.config))


# The last collection, so that `cadence demo` or the nightly job, which render a report and
# several decks as of the same instant, compute the metrics once.
_last: dict[tuple, ReportData] = {}


def collect(wh: Warehouse, as_of: datetime | None = None, n_boot: int = 2000, workers: int = 3) -> ReportData:
    """Fetch every frame once, as of ``as_of`` (now when None); reuse the last result for the same file state."""
    when = _utc(as_of)
    key = _fingerprint(wh, when, n_boot)
    if key not in _last:
        _last.clear()
        _last[key] = _collect(wh, when, n_boot, workers)
    return _last[key]


def _collect(wh: Warehouse, when: datetime, n_boot: int, workers: int) -> ReportData:
    """Run every metric as of ``when``.

    The metrics run on separate read-only connections in a few threads; DuckDB releases the GIL,
    so a large warehouse is collected faster than one metric after another.
    """
    log.info("collecting report data as of %s", when.isoformat())
    jobs: dict[str, Callable[[], pd.DataFrame]] = {
        "feedback_summary": lambda: wh.feedback_summary(as_of=when, by="cadence"),
        "by_sprint": lambda: wh.metrics(by="sprint", as_of=when),
        "issues": lambda: wh.issues(as_of=when),
        "feedback": lambda: wh.feedback(as_of=when),
        "feedback_curves": lambda: _curves(wh, when),
        "overruns": lambda: wh.overruns(as_of=when),
        "timebox_problems": lambda: wh.timebox_problems(as_of=when),
        "learnings": lambda: wh.learnings(as_of=when),
        "sprints": lambda: wh.sprints(as_of=when),
        "reconciliation": lambda: wh.reconciliation_keys(as_of=when),
        "teams": wh.teams,
        "sync_status": wh.sync_status,
        "problems": wh.problems,
        "runs": wh.runs,
        "without_history": lambda: wh.query(_WITHOUT_HISTORY),
        "what_if": lambda: wh.what_if_all(as_of=when),
        "what_if_backtest": lambda: wh.what_if_backtest(as_of=when),
        "people": lambda: wh.query(_PEOPLE),
    }
    # A writable warehouse migrates on every connect; keep those connections one at a time.
    with ThreadPoolExecutor(max_workers=max(1, workers) if wh.read_only else 1) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        frames = {name: future.result() for name, future in futures.items()}
    people = [p for p in frames.pop("people")["person"].tolist() if isinstance(p, str)]
    # The comparisons are pure functions of the sprint table: computed here from the one
    # by_sprint frame rather than by three more passes over the warehouse.
    per_sprint = frames["by_sprint"]
    frames["compare"] = _compare.compare(per_sprint, n_boot=n_boot)
    frames["switches"] = _compare.switches(per_sprint, n_boot=n_boot)
    frames["verdict"] = build_verdict(
        frames["compare"], _compare.differences(per_sprint, n_boot=n_boot), frames["switches"]
    )
    return ReportData(as_of=when, people=people, config=wh.config, **frames)
