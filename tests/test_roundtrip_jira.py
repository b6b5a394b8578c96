"""Round trip: draw a true Jira history, serve it as Jira would, sync it over HTTP, and compare.

The truth comes from ``render_jira.Truth`` functions, written from PRODUCT.md's definitions; the
rendering follows Atlassian's documentation and the recordings (see render_jira.py), and the local
Jira truncates inline changelogs as the real one does (Cloud: the 40 newest, newest first; Server:
100). Nothing here reads cadence's normaliser to decide what is right.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import render_jira as rj
from cadence import metrics
from cadence.config import Config
from cadence.sources.http import RetryPolicy
from cadence.sync.jira import sync_jira
from cadence.warehouse.connection import connect
from jira_server import FakeJira, JiraData

T0 = datetime(2024, 1, 1, 9, tzinfo=timezone.utc)  # a Monday
H = timedelta(hours=1)
SPRINTS = [  # closed a little late, then the next one starts: as teams really close sprints
    rj.TrueSprint(1, T0, T0 + 14 * 24 * H, T0 + (14 * 24 + 2) * H, "ML Sprint 1"),
    rj.TrueSprint(2, T0 + (14 * 24 + 3) * H, T0 + 28 * 24 * H, T0 + (28 * 24 + 1) * H, "ML Sprint 2, the long one"),
    rj.TrueSprint(3, T0 + (28 * 24 + 2) * H, T0 + 42 * 24 * H, None, "ML Sprint 3"),
]
BY_ID = {s.id: s for s in SPRINTS}
AS_OF = T0 + 36 * 24 * H
BOARD = 7
ENV = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"}
COUNTS = ["committed", "added", "removed", "completed", "carried_over"]
POINTS = [f"{c}_points" for c in COUNTS]


def _closed_by(t: datetime) -> frozenset[int]:
    return frozenset(s.id for s in SPRINTS if s.complete and s.complete <= t)


@st.composite
def sprint_sets(draw, t: datetime, before: frozenset[int]) -> frozenset[int]:
    """A Sprint field value Jira could hold after a change at ``t``: closed sprints stay."""
    open_ids = [s.id for s in SPRINTS if not (s.complete and s.complete <= t)]
    chosen = draw(st.frozensets(st.sampled_from(open_ids), max_size=2)) if open_ids else frozenset()
    return (before & _closed_by(t)) | chosen


@st.composite
def issues(draw, number: int) -> rj.TrueIssue:
    hours = draw(st.integers(-5 * 24, 34 * 24))
    created = T0 + hours * H
    open_at_creation = [s.id for s in SPRINTS if not (s.complete and s.complete <= created)]
    initial = {
        "status": draw(st.sampled_from(["10000", "10000", "3", "10001"])),
        "sprints": draw(st.frozensets(st.sampled_from(open_at_creation), max_size=1)) if open_at_creation else frozenset(),
        "assignee": draw(st.sampled_from([None, "ann", "bo"])),
        "points": draw(st.sampled_from([None, 1.0, 3.0, 5.0])),
        "labels": draw(st.frozensets(st.sampled_from(["ml", "eda", "infra"]), max_size=2)),
    }
    issue = rj.TrueIssue(f"ML-{number}", created, initial)
    last = (AS_OF - created) // H
    times = draw(st.lists(st.integers(1, max(1, last)), max_size=6, unique=True)) if last >= 1 else []
    for offset in sorted(times):
        at = created + offset * H
        name = draw(st.sampled_from(rj.TRACKED))
        before = issue.value_at(name, at)
        if name == "status":
            value = draw(st.sampled_from([s for s in rj.STATUSES if s != before]))
        elif name == "sprints":
            value = draw(sprint_sets(at, before))
        elif name == "assignee":
            value = draw(st.sampled_from([p for p in (None, "ann", "bo", "cy") if p != before]))
        elif name == "points":
            value = draw(st.sampled_from([v for v in (None, 2.0, 3.0, 8.0) if v != before]))
        else:
            value = draw(st.frozensets(st.sampled_from(["ml", "eda", "infra"]), max_size=2))
        if value != before:
            issue.changes.append(rj.Change(at, name, value, draw(st.sampled_from(list(rj.PEOPLE))),
                                           draw(st.sampled_from([-5, -4, 0, 1, 9]))))
    _carry_over(issue, draw)
    fillers = draw(st.sampled_from([0, 0, 0, 45, 120]))  # past Cloud's 40 and Server's 100 inline
    used = {c.at for c in issue.changes}
    free = [t for t in (created + timedelta(minutes=m + 1) for m in range(fillers * 2)) if t not in used]
    issue.changes += [rj.Change(t, "filler", None) for t in free[:fillers]]
    return issue


def _carry_over(issue: rj.TrueIssue, draw) -> None:
    """When a sprint closes with the issue unfinished, Jira may carry it over into the next one:
    the Sprint field grows (``"1"`` -> ``"1, 2"``) at the completion instant."""
    for sprint, following in zip(SPRINTS, SPRINTS[1:]):
        t = sprint.complete
        if not t or t <= issue.created or any(c.at == t for c in issue.changes):
            continue
        before = issue.value_at("sprints", t)
        not_done = rj.CATEGORY[rj.STATUSES[issue.value_at("status", t)][1]] != "done"
        if sprint.id in before and not_done and following.id not in before and draw(st.booleans()):
            issue.changes.append(rj.Change(t, "sprints", before | {following.id}, "ann"))


histories = st.integers(1, 5).flatmap(lambda n: st.tuples(*[issues(i + 1) for i in range(n)]))


def site(true_issues: list[rj.TrueIssue], cloud: bool) -> JiraData:
    return JiraData(
        issues=[rj.render_issue(i, n, BY_ID, BOARD, cloud) for n, i in enumerate(true_issues)],
        fields=rj.fields(), statuses=rj.statuses(),
        boards=[{"id": BOARD, "name": "ML board", "type": "scrum", "location": {"projectKey": "ML"}}],
        sprints={BOARD: [rj.agile_sprint(s, BOARD) for s in SPRINTS]},
        configurations={BOARD: {"id": BOARD, "estimation": {"type": "field", "field": {"fieldId": rj.POINTS_FIELD}}}},
        projects={"ML"},
    )


def rebuild(true_issues: list[rj.TrueIssue], cloud: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = site(true_issues, cloud)
    with tempfile.TemporaryDirectory() as tmp, FakeJira(data, deployment="Cloud" if cloud else "Server",
                                                        pat=None if cloud else "pat-t0ken") as jira:
        db = Path(tmp) / "cadence.duckdb"
        env = ENV if cloud else {"JIRA_PAT": "pat-t0ken"}
        report = sync_jira(db, jira.url, ["ML"], None, [], True, Config(), env=env,
                           policy=RetryPolicy(sleep=lambda s: None))
        assert report.errors == []
        with connect(db, read_only=True) as con:
            return (metrics.by_sprint(con, as_of=AS_OF, config=Config()),
                    metrics.issues(con, as_of=AS_OF, config=Config()))


def check(true_issues: tuple[rj.TrueIssue, ...], cloud: bool) -> None:
    true_issues = list(true_issues)
    report, items = rebuild(true_issues, cloud)
    report = report.set_index("sprint_id")
    for sprint in SPRINTS:
        truth = rj.sprint_report(true_issues, sprint, AS_OF)
        ours = report.loc[str(sprint.id)]
        assert {c: int(ours[c]) for c in COUNTS} == {c: truth[c] for c in COUNTS}, sprint.id
        assert {c: float(ours[c]) for c in POINTS} == {c: truth[c] for c in POINTS}, sprint.id
    items = items.set_index("key")
    for issue in true_issues:
        start, finish = rj.start_and_finish(issue, AS_OF)
        row = items.loc[issue.key]
        assert (None if pd.isna(row["start"]) else row["start"].to_pydatetime()) == start, issue.key
        assert (None if pd.isna(row["finish"]) else row["finish"].to_pydatetime()) == finish, issue.key


ROUND_TRIP = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))


@ROUND_TRIP
@given(histories)
def test_cloud_round_trip_rebuilds_the_true_sprint_report_and_starts(true_issues):
    check(true_issues, cloud=True)


@ROUND_TRIP
@given(histories)
def test_server_round_trip_rebuilds_the_true_sprint_report_and_starts(true_issues):
    check(true_issues, cloud=False)
