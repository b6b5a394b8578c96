"""Learnings: kinds, markers, dropped resolutions, and the per-sprint figures."""

from __future__ import annotations

import pandas as pd

from cadence import metrics
from cadence.config import Config
from histories import History, at, run

COMMENT = "Some context\n- **Finding:** batch size 64 is best\r\ntil: warmup matters\nnot a Learning: line\nResult:   "


def build(h: History) -> History:
    s1 = h.sprint("1", 0, 14, 14)
    # L1: a Spike with marker lines in a comment counts its two lines, not itself.
    h.item("L1", type="Spike").add("L1", s1, -1).status("L1", 1, "in_progress").comment("L1", 2, COMMENT)
    h.status("L1", 4, "done")
    h.item("L2", type="research").status("L2", 1, "in_progress").status("L2", 3, "done")  # type, any case
    h.item("L3", type="Spike", resolution="Won't Do").status("L3", 1, "in_progress").status("L3", 5, "done")
    h.item("L4", labels=["EDA"]).status("L4", 8, "in_progress").status("L4", 9, "done")  # label
    h.item("L5", created=1, description="Intro\nDecision: use duckdb")  # unfinished: created time
    h.item("L6", type="Spike").status("L6", 1, "in_progress")  # unfinished spike: nothing yet
    return h


def test_learning_marker_in_a_comment_and_the_kind_rules(db_path):
    frame = run(build(History()).save(db_path), metrics.learnings, at(20))
    got = list(frame[["key", "kind", "marker", "text", "occurred_at"]].itertuples(index=False, name=None))
    assert got == [
        ("L5", "marker", "Decision", "use duckdb", at(1)),
        ("L1", "marker", "Finding", "batch size 64 is best", at(2)),
        ("L1", "marker", "TIL", "warmup matters", at(2)),
        ("L2", "item", None, "summary L2", at(3)),
        ("L4", "item", None, "summary L4", at(9)),
    ]
    assert set(frame["sprint_id"]) == {"1"} and frame["url"].iloc[1] == "https://example.test/L1"
    assert frame["iso_week"].tolist() == ["2024-W01", "2024-W01", "2024-W01", "2024-W01", "2024-W02"]


def test_learnings_per_sprint(db_path):
    frame = run(build(History()).save(db_path), metrics.by_sprint, at(20)).iloc[0]
    # 5 learnings in a 2-week sprint, in both of its weeks.
    assert (frame["learnings"], frame["learnings_per_week"], frame["weeks_with_learning"]) == (5, 2.5, 1.0)


def test_weeks_with_learning_counts_each_week(db_path):
    h = History()
    h.sprint("1", 0, 21, 22)  # 3 weeks, closed a day late: still 3 windows
    h.item("A", type="Spike").status("A", 1, "in_progress").status("A", 2, "done")
    h.item("B", type="Spike").status("B", 1, "in_progress").status("B", 21.5, "done")  # late: last window
    frame = run(h.save(db_path), metrics.by_sprint, at(30)).iloc[0]
    assert frame["learnings"] == 2 and frame["weeks_with_learning"] == 2 / 3


def test_markers_and_kinds_are_configurable(db_path):
    h = History()
    h.item("C").status("C", 1, "in_progress").comment("C", 2, "Insight: caching helps\nLearning: not counted")
    h.item("D", type="Spike").status("D", 1, "in_progress").status("D", 2, "done")
    config = Config(learning_markers=("Insight",), learning_types=("Bug",), learning_labels=())
    frame = run(h.save(db_path), metrics.learnings, at(9), config)
    assert frame[["key", "marker", "text"]].values.tolist() == [["C", "Insight", "caching helps"]]


def test_by_week_counts(db_path):
    frame = run(build(History()).save(db_path), metrics.by_week, at(20))
    assert frame["iso_week"].tolist() == ["2024-W01", "2024-W02"]
    assert frame["week_start"].tolist() == [at(0), at(7)]
    assert frame["learnings"].tolist() == [4, 1] and frame["has_learning"].tolist() == [True, True]
    # finished: L1 (4), L2 (3), L3 (5) in week 1; L4 (9) in week 2. Started: L1, L2, L3, L6 / L4.
    assert frame["completed"].tolist() == [3, 1] and frame["started"].tolist() == [4, 1]
    assert isinstance(frame["week_start"].dtype, pd.DatetimeTZDtype)


def test_by_week_fills_quiet_weeks_with_zeros(db_path):
    h = History()
    h.item("A").status("A", 1, "in_progress").status("A", 2, "done")
    h.item("B").status("B", 22, "in_progress").status("B", 23, "done")
    frame = run(h.save(db_path), metrics.by_week, at(30))
    assert frame["iso_week"].tolist() == ["2024-W01", "2024-W02", "2024-W03", "2024-W04"]
    assert frame["completed"].tolist() == [1, 0, 0, 1] and frame["started"].tolist() == [1, 0, 0, 1]
    assert not frame["has_learning"].any()
