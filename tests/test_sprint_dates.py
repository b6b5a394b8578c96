"""Issue 16, item 10: a sprint that ends before it starts, or starts in 1970, is counted as a
data-quality row and falls outside the 1-, 2- and 3-week cadences (PRODUCT.md: ``cadence_weeks``
is empty for sprints of any other length). Expected lengths are worked out by hand."""

from __future__ import annotations

from datetime import datetime, timezone

import cadence
from cadence.config import Config
from cadence.records import Batch
from cadence.sources.http import RetryPolicy
from cadence.sync.jira import sync_jira
from jira_payloads import synthetic
from jira_server import FakeJira


def _sprint(sprint_id: str, start: str, end: str) -> dict:
    return {"sprint_key": f"x:{sprint_id}", "source": "x", "sprint_id": sprint_id, "team": "T", "name": sprint_id,
            "state": "closed", "planned_start": start, "planned_end": end, "completed_at": end}


def test_impossible_sprint_dates_are_data_quality_rows_outside_the_cadences(db_path):
    wh = cadence.open(db_path, read_only=False, config=Config())
    wh.save(Batch(teams=[{"team": "T", "source": "x", "scope": None, "synthetic": False}], sprints=[
        _sprint("good", "2024-03-04T09:00:00Z", "2024-03-18T09:00:00Z"),      # 14 days: 2 weeks
        _sprint("backwards", "2024-03-18T09:00:00Z", "2024-03-04T09:00:00Z"),  # -14 days
        _sprint("epoch", "1970-01-01T00:00:00Z", "2024-02-26T00:00:00Z"),      # 19,779 days
    ]))
    problems = wh.problems()
    assert sorted(zip(problems["entity_id"], problems["problem"])) == [
        ("backwards", "sprint_ends_before_start"), ("epoch", "implausible_sprint_start")]
    sprints = cadence.open(db_path, config=Config()).metrics(by="sprint", as_of=datetime(2025, 1, 1, tzinfo=timezone.utc))
    weeks = dict(zip(sprints["sprint_id"], sprints["cadence_weeks"]))
    assert weeks["good"] == 2
    assert str(weeks["backwards"]) in ("<NA>", "nan", "None") and str(weeks["epoch"]) in ("<NA>", "nan", "None")
    lengths = dict(zip(sprints["sprint_id"], sprints["length_days"]))
    assert (lengths["backwards"], lengths["epoch"]) == (-14, 19_779)  # kept as given


def test_a_board_sprint_that_ends_before_it_starts_is_counted_by_the_jira_sync(db_path):
    data = synthetic(3, histories=3, seed=1)
    data.sprints[1][0].update(startDate="2024-01-15T00:00:00.000+0000", endDate="2024-01-01T00:00:00.000+0000")
    env = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"}
    with FakeJira(data) as jira:
        report = sync_jira(db_path, jira.url, ["BEN"], None, [], False, Config(), env=env,
                           policy=RetryPolicy(attempts=1, sleep=lambda s: None))
    assert report.errors == []
    problems = cadence.open(db_path).problems()
    assert list(problems.loc[problems["problem"] == "sprint_ends_before_start", "entity_id"]) == ["100"]
