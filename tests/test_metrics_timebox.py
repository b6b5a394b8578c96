"""Timebox rules and overruns on a hand-worked history (days from Monday 2024-01-01)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from cadence import metrics
from cadence.metrics.timebox import add_working_hours, working_hours_between
from histories import History, at, run


@pytest.fixture
def history(db_path):
    h = History()
    h.sprint("1", 0, 7, 7)
    h.sprint("2", 7, 14)
    # label: 2 days from Tuesday, finished Friday -> 48 h box, 72 h actual.
    h.item("LBL", labels=["Timebox:2d"], due_date=date(2024, 1, 20)).status("LBL", 1, "in_progress")
    h.status("LBL", 4, "done")
    # estimate as working time: 8 h from Friday noon -> Monday noon; unfinished on Wednesday noon.
    h.item("EST", original_estimate_h=8.0)._event("EST", 4.5, "status", to_id="3", to_value="In Progress")
    # estimate against worklogs: 10 h estimated, 6 h + 6 h logged on days 2 and 3.
    h.item("WL", original_estimate_h=10.0).status("WL", 1, "in_progress").worklog("WL", 2, 6).worklog("WL", 3, 6)
    # due date Friday 2024-01-05 -> 24:00 that day (day 5); started day 1, finished day 6.
    h.item("DUE", due_date=date(2024, 1, 5)).status("DUE", 1, "in_progress").status("DUE", 6, "done")
    # a Spike started in sprint 1 and unfinished: its box is sprint 1's planned end (day 7).
    h.item("SPK", type="Spike").status("SPK", 2, "in_progress")
    # a spike finished inside its box: a timebox, not an overrun.
    h.item("OK", type="Story", labels=["SPIKE"]).status("OK", 2, "in_progress").status("OK", 5, "done")
    # no rule applies
    h.item("NONE").status("NONE", 1, "in_progress")
    return h.save(db_path)


def test_overruns_rule_by_rule(history):
    frame = run(history, metrics.overruns, at(9, 12)).set_index("key")
    assert sorted(frame.index) == ["DUE", "EST", "LBL", "SPK", "WL"]
    expected = {  # rule, timebox_end, timebox_h, actual_h, size, sprint
        "LBL": ("label", at(3), 48.0, 72.0, 0.5, "1"),
        "EST": ("estimate_working_time", at(7, 12), 8.0, 24.0, 2.0, "2"),
        "WL": ("estimate_worklog", at(3), 10.0, 12.0, 0.2, "1"),
        "DUE": ("due_date", at(5), 96.0, 120.0, 0.25, "1"),
        "SPK": ("sprint_end", at(7), 120.0, 180.0, 0.5, "1"),
    }
    for key, (rule, end, box_h, actual_h, size, sprint) in expected.items():
        row = frame.loc[key]
        assert (row["rule"], row["timebox_end"], row["sprint_id"]) == (rule, end, sprint), key
        assert row["timebox_h"] == pytest.approx(box_h) and row["actual_h"] == pytest.approx(actual_h), key
        assert row["overrun_size"] == pytest.approx(size), key
    assert not frame.loc["SPK", "finished"] and frame.loc["DUE", "finished"]


def test_overruns_are_counted_in_the_sprint_where_the_timebox_expired(history):
    frame = run(history, metrics.by_sprint, at(9, 12)).set_index("sprint_id")
    # Sprint 1: LBL, WL, DUE, SPK overran; OK finished inside its box (day 7 expiry) -> 4 of 5.
    assert (frame.loc["1", "timebox_overruns"], frame.loc["1", "timeboxes"]) == (4, 5)
    assert frame.loc["1", "overrun_rate"] == 0.8
    assert (frame.loc["2", "timebox_overruns"], frame.loc["2", "timeboxes"]) == (1, 1)


def test_working_time_skips_weekends():
    start = pd.Series(pd.to_datetime(["2024-01-05 12:00", "2024-01-06 10:00", "2024-01-01 00:00"], utc=True))
    work = pd.Series([8.0, 4.0, 40.0])
    ends = add_working_hours(start, work, hours_per_day=8, days_per_week=5)
    # Fri noon + 1 day -> Mon noon; Saturday waits for Monday 00:00 + half a day; Mon + 5 days -> next Mon.
    assert ends.tolist() == list(pd.to_datetime(["2024-01-08 12:00", "2024-01-08 12:00", "2024-01-08 00:00"], utc=True))
    elapsed = working_hours_between(start, pd.Series(pd.to_datetime(
        ["2024-01-10 12:00", "2024-01-07 23:00", "2024-01-08 00:00"], utc=True)), 8, 5)
    assert elapsed.tolist() == [24.0, 0.0, 40.0]
    assert np.isnan(working_hours_between(start.iloc[:1], pd.Series([pd.NaT], dtype="datetime64[ns, UTC]"), 8, 5)[0])
