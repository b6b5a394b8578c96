"""Starts and finishes against another tool's published answer, on a real Jira Cloud recording.

The oracle is ActionableAgile's jira-to-analytics: ``sample-jira-issues-csv.csv`` is its output for
``search-expand-changelog.json`` (25 real issues of project UT on actionableagile.atlassian.net,
complete changelogs), the date each issue entered each workflow stage, in the recording's own
offset (-0500/-0400, i.e. America/New_York). ``config-v1.yaml`` maps stages to statuses; the same
mapping is given to cadence as ``[statuses]``. The recording is replayed through the real sync,
over HTTP, from a local Jira.

That tool's rule (fixtures README): a stage keeps its first date, and entering a stage erases the
dates of later stages. So its Done date is our finish (the last entry into done that no reopening
follows), and for an issue that never went back to Backlog its first date after Backlog is our
start; an issue that went straight to Done starts there (PRODUCT.md, "Start"). UT-37, 41, 43, 44,
45 and 47 went back to Backlog, and that tool keeps their later re-entry by design, so their
start is not compared.
"""

from __future__ import annotations

import csv
import json
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

from cadence import metrics
from cadence.config import Config
from cadence.sources.http import RetryPolicy
from cadence.sync.jira import sync_jira
from jira_server import FakeJira, JiraData

STAGES = ["Backlog", "Analysis Active", "Analysis Done", "Dev Active", "Dev Done", "Test", "Done"]
WENT_BACK = {"UT-37", "UT-41", "UT-43", "UT-44", "UT-45", "UT-47"}
# config-v1.yaml's Workflow, as cadence.toml [statuses]: Backlog is new, Done is done, the rest is work.
STATUSES = {"Backlog": "new", "Analysis Active": "in_progress", "Analysis Done": "in_progress",
            "Dev Active": "in_progress", "Dev Done": "in_progress", "Test": "in_progress", "Done": "done"}
LOCAL = ZoneInfo("America/New_York")
AS_OF = pd.Timestamp("2016-06-01T00:00:00+00:00").to_pydatetime()


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    from conftest import SHARED_FIXTURES

    folder = SHARED_FIXTURES / "jira" / "jira-to-analytics"
    if not folder.is_dir():
        pytest.skip(f"third-party recordings not found at {SHARED_FIXTURES}")
    recording = json.loads((folder / "search-expand-changelog.json").read_text())
    expected = {row["ID"]: row for row in csv.DictReader((folder / "sample-jira-issues-csv.csv").open())}
    issues = recording["issues"]
    statuses = list({i["fields"]["status"]["id"]: i["fields"]["status"] for i in issues}.values())
    data = JiraData(issues=issues, statuses=statuses, fields=[], projects={"UT"})
    db = tmp_path_factory.mktemp("j2a") / "cadence.duckdb"
    config = Config(statuses=STATUSES)
    with FakeJira(data) as jira:
        report = sync_jira(db, jira.url, ["UT"], None, [], True, config,
                           env={"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"},
                           policy=RetryPolicy(sleep=lambda s: None))
    assert (report.items, report.errors) == (25, [])
    with duckdb.connect(str(db), read_only=True) as con:
        frame = metrics.issues(con, as_of=AS_OF, config=config)
    return frame.set_index("key"), expected


def _local_date(value) -> str:
    return "" if value is None or value != value else value.tz_convert(LOCAL).date().isoformat()


def test_finish_is_the_done_date_on_all_25(synced):
    ours, expected = synced
    agree = {key for key, row in expected.items() if _local_date(ours.loc[key, "finish"]) == row["Done"]}
    assert sorted(set(expected) - agree) == [] and len(agree) == 25


def test_start_is_the_first_stage_after_backlog_on_the_19_that_never_went_back(synced):
    ours, expected = synced
    compared = {key: row for key, row in expected.items() if key not in WENT_BACK}
    assert len(compared) == 19
    first = {key: min(row[s] for s in STAGES[1:] if row[s]) for key, row in compared.items()}
    mismatched = {key: (_local_date(ours.loc[key, "start"]), day) for key, day in first.items()
                  if _local_date(ours.loc[key, "start"]) != day}
    assert mismatched == {}
