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


@pytest.fixture
def edges(db_path):
    """Hand-worked edge cases (days from Monday 2024-01-01; sprint 1 is days 0-7)."""
    h = History()
    h.sprint("1", 0, 7, 7)
    # label 8 h, started day 1 00:00, done 8.5 h later: 0.5 h over, within the 1-hour floor.
    h.item("L8", labels=["timebox:8h"]).status("L8", 1, "in_progress").status("L8", 1 + 8.5 / 24, "done")
    # label 48 h, done 52 h later: 4 h over, within 10% (4.8 h).
    h.item("L48", labels=["timebox:2d"]).status("L48", 1, "in_progress").status("L48", 1 + 52 / 24, "done")
    # label 48 h, done 53 h later: 5 h over, beyond 4.8 h -> an overrun of 5/48.
    h.item("L53", labels=["timebox:2d"]).status("L53", 1, "in_progress").status("L53", 1 + 53 / 24, "done")
    # due Wednesday 2024-01-03 (24:00 = day 3), started day 5: before the start, no timebox; a Spike, so its sprint's
    # end (day 7) is its timebox instead; finished day 6 -> inside it.
    h.item("DUEB", type="Spike", due_date=date(2024, 1, 3)).status("DUEB", 5, "in_progress").status("DUEB", 6, "done")
    # due Saturday 2024-01-06 (24:00 = day 6), started exactly day 6 00:00: no timebox, and no other rule.
    h.item("DUEAT", due_date=date(2024, 1, 6)).status("DUEAT", 6, "in_progress")
    return h.save(db_path)


def test_overruns_within_the_tolerance_do_not_count(edges):
    frame = run(edges, metrics.overruns, at(9)).set_index("key")
    assert list(frame.index) == ["L53"]
    assert frame.loc["L53", "overrun_size"] == pytest.approx(5 / 48)
    assert frame.loc["L53", "tolerance_h"] == pytest.approx(4.8)
    sprint = run(edges, metrics.by_sprint, at(9)).set_index("sprint_id").loc["1"]
    # L8, L48, L53 and DUEB (sprint end) are timeboxes with a known outcome; DUEAT has none.
    assert (sprint["timebox_overruns"], sprint["timeboxes"], sprint["overrun_rate"]) == (1, 4, 0.25)


def test_tolerance_is_configurable(edges):
    """With no tolerance at all, L8 (0.5 h over), L48 (4 h over) and L53 count."""
    from cadence.config import Config

    strict = Config(timebox_tolerance=0.0, timebox_min_tolerance_h=0.0)
    frame = run(edges, metrics.overruns, at(9), config=strict)
    assert list(frame["key"]) == ["L53", "L48", "L8"]  # sorted by size: 5/48, 4/48, 0.5/8
    assert frame["overrun_size"].tolist() == pytest.approx([5 / 48, 4 / 48, 0.5 / 8])


def test_a_due_date_before_the_start_is_a_data_problem_not_a_timebox(edges):
    problems = run(edges, metrics.timebox_problems, at(9)).set_index("key")
    assert sorted(problems.index) == ["DUEAT", "DUEB"]
    assert set(problems["problem"]) == {"due before start"}
    assert problems.loc["DUEB", "before_start_h"] == pytest.approx(48.0)  # day 3 24:00 -> day 5
    assert problems.loc["DUEAT", "before_start_h"] == pytest.approx(0.0)
    assert problems.loc["DUEB", "rule_used"] == "sprint_end" and problems.loc["DUEAT", "rule_used"] is None
    assert "DUEB" not in set(run(edges, metrics.overruns, at(9))["key"])
