"""Everything a report or a deck shows, fetched from the warehouse once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from cadence.warehouse.api import Warehouse, _utc

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

    @property
    def synthetic(self) -> bool:
        return "synthetic" in self.teams and bool(self.teams["synthetic"].fillna(False).astype(bool).any())


def _curves(wh: Warehouse, as_of: datetime) -> pd.DataFrame:
    # Warehouse has no feedback_curves method yet; the metric itself exists (docs/frames.md).
    method = getattr(wh, "feedback_curves", None)
    if method is not None:
        return method(as_of=as_of)
    return wh._metric("feedback_curves", as_of, by="cadence")


def collect(wh: Warehouse, as_of: datetime | None = None, n_boot: int = 2000) -> ReportData:
    """Fetch every frame once, as of ``as_of`` (now when None)."""
    when = _utc(as_of)
    log.info("collecting report data as of %s", when.isoformat())
    return ReportData(
        as_of=when,
        teams=wh.teams(),
        sprints=wh.sprints(as_of=when),
        by_sprint=wh.metrics(by="sprint", as_of=when),
        issues=wh.issues(as_of=when),
        compare=wh.compare_cadences(as_of=when, n_boot=n_boot),
        switches=wh.switches(as_of=when, n_boot=n_boot),
        feedback=wh.feedback(as_of=when),
        feedback_summary=wh.feedback_summary(as_of=when, by="cadence"),
        feedback_curves=_curves(wh, when),
        overruns=wh.overruns(as_of=when),
        learnings=wh.learnings(as_of=when),
        sync_status=wh.sync_status(),
        problems=wh.problems(),
        runs=wh.runs(),
        without_history=wh.query(_WITHOUT_HISTORY),
        people=[p for p in wh.query(_PEOPLE)["person"].tolist() if isinstance(p, str)],
    )
