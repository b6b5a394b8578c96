"""Jira's Sprint Report rules, each on a hand-worked history rendered as Jira would serve it.

The rules are those a second, independent rebuild of Jira's report states (and PRODUCT.md's
"Sprint report"): a change at or before the sprint's start is committed scope; an issue created
after the start is added; an issue added, removed and added again is added once and not removed;
committed points are read at the start, an added issue's points when it was added, completed points
at completion. Every expected number below was worked out by hand from the history above it.
Payloads come from render_jira (Jira's documented changelog shape: no creation values).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

import render_jira as rj
from cadence import metrics
from cadence.config import Config
from cadence.normalize import jira as normalize
from cadence.normalize.jira_fields import discover_fields
from cadence.warehouse.connection import connect
from cadence.warehouse.write import save

T0 = datetime(2024, 3, 4, 10, tzinfo=timezone.utc)  # sprint 1 starts Monday 10:00 UTC
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)
SPRINT = rj.TrueSprint(1, T0, T0 + 14 * DAY, T0 + 14 * DAY + 3 * MINUTE, "Sprint 1")
EMPTY = rj.TrueSprint(2, T0 + 15 * DAY, T0 + 29 * DAY, T0 + 29 * DAY, "Sprint 2")
AS_OF = T0 + 40 * DAY


def initial(status="10000", sprints=(), assignee=None, points=None, labels=()):
    return {"status": status, "sprints": frozenset(sprints), "assignee": assignee, "points": points,
            "labels": frozenset(labels)}


def report(db_path, issues: list[rj.TrueIssue], sprints=(SPRINT, EMPTY)) -> pd.DataFrame:
    by_id = {s.id: s for s in sprints}
    site = normalize.Site(base_url="https://ml.atlassian.net", fields=discover_fields(rj.fields()),
                          categories={i: rj.CATEGORY[c] for i, (_, c) in rj.STATUSES.items()}, boards={"7": "ML"})
    now = datetime.now(timezone.utc)
    batch = normalize.page([rj.render_issue(i, n, by_id, 7, cloud=True) for n, i in enumerate(issues)], site, now)
    batch.sprints = [normalize.sprint(rj.agile_sprint(s, 7), site) for s in sprints]
    batch.statuses = normalize.statuses(rj.statuses(), Config())
    with connect(db_path, read_only=False) as con:
        save(con, batch)
    with connect(db_path, read_only=True) as con:
        return metrics.by_sprint(con, as_of=AS_OF, config=Config()).set_index("sprint_id")


def counts(frame, sprint="1"):
    return tuple(int(frame.loc[sprint, c]) for c in ("committed", "added", "removed", "completed", "carried_over"))


def test_a_change_at_the_start_is_committed_and_one_a_minute_later_is_added(db_path):
    at_start = rj.TrueIssue("ML-1", T0 - 3 * DAY, initial(), [rj.Change(T0, "sprints", frozenset({1}))])
    later = rj.TrueIssue("ML-2", T0 - 3 * DAY, initial(), [rj.Change(T0 + MINUTE, "sprints", frozenset({1}))])
    frame = report(db_path, [at_start, later])
    assert counts(frame) == (1, 1, 0, 0, 2)  # both unfinished at completion: carried over


def test_created_inside_the_sprint_is_added_and_created_in_it_before_the_start_is_committed(db_path):
    # Neither has a Sprint history: Jira's changelog never records the sprint an issue was created in.
    before = rj.TrueIssue("ML-1", T0 - 2 * DAY, initial(sprints=[1]))
    inside = rj.TrueIssue("ML-2", T0 + 2 * DAY, initial(sprints=[1]),
                          [rj.Change(T0 + 3 * DAY, "status", "3"), rj.Change(T0 + 5 * DAY, "status", "10001")])
    frame = report(db_path, [before, inside])
    assert counts(frame) == (1, 1, 0, 1, 1)


def test_added_removed_and_added_again_is_added_once_and_not_removed(db_path):
    issue = rj.TrueIssue("ML-1", T0 - DAY, initial(), [
        rj.Change(T0 + DAY, "sprints", frozenset({1})), rj.Change(T0 + 2 * DAY, "sprints", frozenset()),
        rj.Change(T0 + 4 * DAY, "sprints", frozenset({1})), rj.Change(T0 + 6 * DAY, "status", "10001")])
    frame = report(db_path, [issue])
    assert counts(frame) == (0, 1, 0, 1, 0)


def test_points_are_read_at_the_start_at_entry_and_at_completion(db_path):
    # A: 3 points at the start, re-estimated to 5 mid-sprint, done -> committed 3, completed 5.
    a = rj.TrueIssue("ML-1", T0 - 5 * DAY, initial(sprints=[1], points=3.0), [
        rj.Change(T0 + 4 * DAY, "points", 5.0), rj.Change(T0 + 8 * DAY, "status", "10001")])
    # B: created inside the sprint with 2 points, re-estimated to 8 -> added 2, carried over 8.
    b = rj.TrueIssue("ML-2", T0 + 2 * DAY, initial(sprints=[1], points=2.0), [rj.Change(T0 + 9 * DAY, "points", 8.0)])
    frame = report(db_path, [a, b]).loc["1"]
    assert (frame["committed_points"], frame["added_points"], frame["completed_points"],
            frame["carried_over_points"]) == (3.0, 2.0, 5.0, 8.0)


def test_a_first_estimate_from_empty_is_empty_before_it_and_a_cleared_one_is_empty_after(db_path):
    # C: no estimate at the start; 5 points set on day 2 (from empty) -> committed 0 points, not 5.
    c = rj.TrueIssue("ML-1", T0 - DAY, initial(sprints=[1]), [rj.Change(T0 + 2 * DAY, "points", 5.0)])
    # D: 3 points at the start, cleared on day 5, done -> committed 3, completed 0 (no fallback to 3).
    d = rj.TrueIssue("ML-2", T0 - DAY, initial(sprints=[1], points=3.0), [
        rj.Change(T0 + 5 * DAY, "points", None), rj.Change(T0 + 6 * DAY, "status", "10001")])
    frame = report(db_path, [c, d]).loc["1"]
    assert (frame["committed_points"], frame["completed_points"], frame["carried_over_points"]) == (3.0, 0.0, 5.0)


def test_a_sum_over_no_items_is_zero_where_the_estimate_field_is_known(db_path):
    issue = rj.TrueIssue("ML-1", T0 - DAY, initial(sprints=[1], points=1.0))
    frame = report(db_path, [issue]).loc["2"]  # sprint 2 holds nothing
    assert [frame[f"{c}_points"] for c in ("committed", "added", "removed", "completed", "carried_over")] == [0.0] * 5


def test_assignee_at_creation_decides_whose_comment_is_feedback(db_path):
    """ann was assigned at creation (no changelog item says so), so her own comment is no feedback."""
    from cadence.metrics import feedback

    issue = rj.TrueIssue("ML-1", T0 - DAY, initial(status="3", sprints=[1], assignee="ann"))
    by_id = {s.id: s for s in (SPRINT, EMPTY)}
    payload = rj.render_issue(issue, 0, by_id, 7, cloud=True)
    payload["fields"]["comment"] = {"total": 2, "comments": [
        {"id": "1", "author": rj._user("ann", True), "created": rj.jira_time(T0 + DAY), "body": "my own note"},
        {"id": "2", "author": rj._user("bo", True), "created": rj.jira_time(T0 + 2 * DAY), "body": "review: ok"}]}
    site = normalize.Site(base_url="https://ml.atlassian.net", fields=discover_fields(rj.fields()),
                          categories={i: rj.CATEGORY[c] for i, (_, c) in rj.STATUSES.items()}, boards={"7": "ML"})
    batch = normalize.page([payload], site, datetime.now(timezone.utc))
    batch.sprints = [normalize.sprint(rj.agile_sprint(s, 7), site) for s in (SPRINT, EMPTY)]
    with connect(db_path, read_only=False) as con:
        save(con, batch)
    with connect(db_path, read_only=True) as con:
        row = feedback(con, as_of=AS_OF, config=Config()).set_index("key").loc["ML-1"]
    # Started at creation (created In Progress); bo's comment a day later than ann's is the first feedback.
    assert row["start"] == T0 - DAY and row["observed_at"] == T0 + 2 * DAY and row["observed_kind"] == "comment"


def test_moved_to_in_progress_and_done_in_the_same_second_is_completed(db_path):
    # Two histories with one timestamp (a quick drag across the board, or an automation rule): the later
    # history (Done) is the status at completion, so the issue is completed and not carried over.
    t = T0 + 2 * DAY
    quick = rj.TrueIssue("ML-1", T0 - 3 * DAY, initial(sprints={1}),
                         [rj.Change(t, "status", "3"), rj.Change(t, "status", "10001")])
    frame = report(db_path, [quick])
    assert counts(frame) == (1, 0, 0, 1, 0)
