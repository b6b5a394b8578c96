"""A tiny builder for hand-written histories, saved into a real DuckDB warehouse file.

Days count from Monday 2024-01-01 00:00 UTC: ``at(3, 12)`` is Thursday noon.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from cadence.config import Config
from cadence.records import Batch
from cadence.warehouse.connection import connect
from cadence.warehouse.write import save

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
STATUS_IDS = {"new": ("1", "To Do"), "in_progress": ("3", "In Progress"), "done": ("10", "Done")}


def at(day: float, hour: float = 0) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


class History:
    def __init__(self, source: str = "jira", prefix: str = "e") -> None:
        self.source = source
        self.prefix = prefix
        self.batch = Batch()
        self._n = 0
        self.batch.statuses = [
            {"source": source, "status_id": i, "name": n, "category": c} for c, (i, n) in STATUS_IDS.items()
        ]

    def _event(self, key: str, day: float, kind: str, **cols: Any) -> "History":
        self._n += 1
        cols.setdefault("actor", "someone")
        cols.setdefault("actor_kind", "human")
        self.batch.events.append({"source": self.source, "event_id": f"{self.prefix}{self._n:06d}", "key": key,
                                  "occurred_at": at(day), "kind": kind, **cols})
        return self

    def sprint(self, sprint_id: str, start: float, end: float, completed: float | None = None,
               team: str = "T", name: str | None = None, state: str | None = None) -> str:
        sprint_key = f"{self.source}:{sprint_id}"
        if state is None:
            state = "closed" if completed is not None else "active"
        self.batch.sprints.append({
            "sprint_key": sprint_key, "source": self.source, "sprint_id": sprint_id, "team": team,
            "name": name or f"Sprint {sprint_id}", "state": state, "planned_start": at(start),
            "planned_end": at(end), "actual_start": at(start) if state != "future" else None,
            "completed_at": at(completed) if completed is not None else None,
        })
        return sprint_key

    def item(self, key: str, created: float = 0, team: str = "T", **fields: Any) -> "History":
        row = {"source": self.source, "key": key, "team": team, "type": "Story", "summary": f"summary {key}",
               "url": f"https://example.test/{key}", "created": at(created), "labels": [], "assignees": [],
               # always present: write.py turns a missing DATE into NaN, which DuckDB cannot cast
               "due_date": None}
        row.update(fields)
        self.batch.items.append(row)
        return self

    def status(self, key: str, day: float, category: str, status_id: str | None = None,
               name: str | None = None, **cols: Any) -> "History":
        default_id, default_name = STATUS_IDS.get(category, (None, None))
        return self._event(key, day, "status", to_id=status_id or default_id, to_value=name or default_name,
                           **cols)

    def add(self, key: str, sprint_key: str, day: float) -> "History":
        return self._event(key, day, "sprint_added", to_id=sprint_key)

    def remove(self, key: str, sprint_key: str, day: float) -> "History":
        return self._event(key, day, "sprint_removed", from_id=sprint_key)

    def assign(self, key: str, day: float, to: str | None = None, frm: str | None = None) -> "History":
        return self._event(key, day, "assignee", to_value=to, from_value=frm)

    def comment(self, key: str, day: float, text: str = "looks good", actor: str = "reviewer",
                actor_kind: str = "human") -> "History":
        return self._event(key, day, "comment", text=text, actor=actor, actor_kind=actor_kind)

    def review(self, key: str, day: float, actor: str = "reviewer", actor_kind: str = "human") -> "History":
        return self._event(key, day, "review", text="", to_value="APPROVED", actor=actor, actor_kind=actor_kind)

    def points(self, key: str, day: float, to: float, frm: float | None = None) -> "History":
        return self._event(key, day, "estimate", field="story_points", to_value=str(to),
                           from_value=None if frm is None else str(frm))

    def worklog(self, key: str, day: float, hours: float) -> "History":
        return self._event(key, day, "worklog", to_value=str(hours))

    def save(self, path: Path) -> Path:
        with connect(path, read_only=False) as con:
            save(con, self.batch)
        return path


def run(path: Path, fn: Callable[..., pd.DataFrame], as_of: datetime, config: Config | None = None,
        **kw: Any) -> pd.DataFrame:
    """Call a metric on a read-only connection to ``path``."""
    with connect(path, read_only=True) as con:
        return fn(con, as_of=as_of, config=config or Config(), **kw)
