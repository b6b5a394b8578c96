"""The pure GitHub normalisers, fed with real event shapes and small hand-built histories."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.config import Config
from cadence.normalize import github as gh
from cadence.normalize import github_sprints as gs

UTC = timezone.utc
REPO = "valeriocos/test-issues-update"


def _issue(timeline: list[dict], **fields) -> dict:
    node = {"__typename": "Issue", "id": "I_1", "number": 1, "title": "t", "body": "", "url": "u",
            "createdAt": "2020-04-07T10:35:56Z", "updatedAt": "2020-04-12T07:51:05Z", "closedAt": None,
            "state": "OPEN", "stateReason": None, "author": {"__typename": "User", "login": "valeriocos"},
            "assignees": {"nodes": []}, "labels": {"nodes": []}, "milestone": None,
            "projectItems": {"nodes": []}, "closedByPullRequestsReferences": {"nodes": []},
            "timelineItems": {"pageInfo": {"hasNextPage": False}, "nodes": timeline}}
    node.update(fields)
    return node


def _elk_events(shared_fixtures) -> list[dict]:
    """The real GraphQL timeline items recorded by grimoirelab-elk, as GraphQL nodes (eventType -> __typename)."""
    records = json.loads((shared_fixtures / "github" / "timeline-items.elk.json").read_text())
    events = []
    for record in records:
        data = {k: v for k, v in record["data"].items() if k not in ("issue", "pull_request", "eventType")}
        events.append({"__typename": record["data"]["eventType"], **data})
    return events


def test_real_graphql_timeline_items_become_events(shared_fixtures):
    events = _elk_events(shared_fixtures)
    issue_events = [e for e in events if "pull/" not in e.get("url", "") and e["__typename"] != "PullRequestReview"]
    batch = gh.normalize_items([_issue(issue_events)], REPO, "T", Config(), "2024-01-01T00:00:00Z")
    kinds = sorted((e["kind"], e["occurred_at"]) for e in batch.events)
    # By hand from the recording: LabeledEvent 04-07 11:21:12, UnlabeledEvent 04-09 11:21:32,
    # ClosedEvent 04-12 07:51:05 (issue #1, closed by PR #3); project and cross-reference events are not events.
    assert kinds == [
        ("label_added", "2020-04-07T11:21:12Z"),
        ("label_removed", "2020-04-09T11:21:32Z"),
        ("status", "2020-04-12T07:51:05Z"),
    ]
    label = next(e for e in batch.events if e["kind"] == "label_added")
    assert (label["to_value"], label["actor"], label["actor_kind"]) == ("bug", "valeriocos", "human")
    status = next(e for e in batch.events if e["kind"] == "status")
    assert (status["from_id"], status["to_id"], status["from_category"], status["to_category"]) == ("open", "closed", "new", "done")


def test_real_review_shape_becomes_a_review_event(shared_fixtures):
    review = next(e for e in _elk_events(shared_fixtures) if e["__typename"] == "PullRequestReview")
    pr = _issue([review], __typename="PullRequest", merged=True, mergedAt="2021-08-06T10:34:31Z", state="MERGED",
                closedAt="2021-08-06T10:34:32Z", createdAt="2021-08-03T10:52:58Z")
    batch = gh.normalize_items([pr], "zhquan/test-merged-event", "T", Config(), "2024-01-01T00:00:00Z")
    reviews = [e for e in batch.events if e["kind"] == "review"]
    assert [(e["to_value"], e["text"], e["actor"], e["occurred_at"]) for e in reviews] == [
        ("APPROVED", "LGTM", "zhquan", "2021-08-06T10:33:30Z")]
    item = batch.items[0]
    assert (item["type"], item["status_category"], item["resolution"], item["resolved"]) == (
        "pull_request", "done", "merged", "2021-08-06T10:34:32Z")
    opened = [e for e in batch.events if e["kind"] == "status"]
    assert [(e["occurred_at"], e["to_category"]) for e in opened] == [("2021-08-03T10:52:58Z", "in_progress")]


def _pygithub_timeline(shared_fixtures) -> list[dict]:
    """PyGithub's recorded REST timeline of PyGithub#28, as GraphQL nodes (REST event names -> types)."""
    lines = (shared_fixtures / "github" / "pygithub" / "Issue.testGetTimeline.txt").read_text().split("\n")
    body = next(json.loads(lines[i + 9]) for i in range(0, len(lines), 11) if "/timeline" in lines[i + 4])
    types = {"assigned": "AssignedEvent", "closed": "ClosedEvent", "commented": "IssueComment", "labeled": "LabeledEvent",
             "locked": "LockedEvent", "unlocked": "UnlockedEvent", "subscribed": "SubscribedEvent", "cross-referenced": "CrossReferencedEvent"}
    nodes = []
    for e in body:
        who = e.get("actor") or e.get("user")
        node = {"__typename": types[e["event"]], "id": e.get("node_id") or f"x{len(nodes)}", "createdAt": e["created_at"],
                "actor": {"__typename": who["type"], "login": who["login"]} if who else None}
        if e["event"] == "commented":
            node["author"], node["body"] = node.pop("actor"), e["body"]
        if "assignee" in e:
            node["assignee"] = {"__typename": "User", "login": e["assignee"]["login"]}
        if "label" in e:
            node["label"] = {"name": e["label"]["name"]}
        nodes.append(node)
    return nodes


def test_real_rest_timeline_shapes_with_a_deleted_user(shared_fixtures):
    timeline = _pygithub_timeline(shared_fixtures)
    batch = gh.normalize_items([_issue(timeline, number=28)], "PyGithub/PyGithub", "T", Config(), "2024-01-01T00:00:00Z")
    counts = {}
    for e in batch.events:
        counts[e["kind"]] = counts.get(e["kind"], 0) + 1
    # By hand: 3 assigned, 1 closed, 3 commented, 1 labeled; subscribed, locked, unlocked, cross-referenced are not events.
    assert counts == {"assignee": 3, "status": 1, "comment": 3, "label_added": 1}
    assigned = [e for e in batch.events if e["kind"] == "assignee"]
    assert {(e["actor"], e["actor_kind"]) for e in assigned} == {(None, "unknown")}  # the recorded actor is "ghost"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ({"__typename": "Bot", "login": "dependabot"}, ("dependabot", "bot")),
        ({"__typename": "User", "login": "renovate[bot]"}, ("renovate[bot]", "bot")),
        ({"__typename": "User", "login": "ghost"}, (None, "unknown")),
        (None, (None, "unknown")),
        ({"__typename": "User", "login": "ada"}, ("ada", "human")),
    ],
)
def test_actor_kinds(actor, expected):
    assert gh.actor_of(actor) == expected


@pytest.mark.parametrize(
    ("fields", "config", "expected"),
    [
        ({}, Config(), ("open", "new")),
        ({"labels": {"nodes": [{"name": "WIP"}]}}, Config(), ("open", "in_progress")),
        ({"assignees": {"nodes": [{"login": "ada"}]}}, Config(), ("open", "new")),
        ({"assignees": {"nodes": [{"login": "ada"}]}, "closedByPullRequestsReferences": {"nodes": [{"number": 3, "state": "OPEN"}]}},
         Config(), ("open", "in_progress")),
        ({"projectItems": {"nodes": [{"status": {"name": "In Review", "optionId": "o2"}}]}}, Config(), ("In Review", "in_progress")),
        ({"projectItems": {"nodes": [{"status": {"name": "Todo", "optionId": "o1"}}]}}, Config(), ("Todo", "new")),
        ({"projectItems": {"nodes": [{"status": {"name": "Todo", "optionId": "o1"}}]}}, Config(statuses={"Todo": "in_progress"}),
         ("Todo", "in_progress")),
        ({"state": "CLOSED", "stateReason": "COMPLETED"}, Config(), ("closed", "done")),
    ],
)
def test_status_categories(fields, config, expected):
    status, _, category = gh.status_of(_issue([], **fields), config)
    assert (status, category) == expected


def test_not_planned_is_done_and_dropped():
    node = _issue([], state="CLOSED", stateReason="NOT_PLANNED", closedAt="2020-05-01T00:00:00Z")
    item = gh.normalize_items([node], REPO, "T", Config(), "x").items[0]
    assert (item["status_category"], item["resolution"], item["resolved"]) == ("done", "not_planned", "2020-05-01T00:00:00Z")


@pytest.mark.parametrize(("unlabeled", "reopened_to"), [(False, "in_progress"), (True, "new")])
def test_in_progress_label_gives_a_start_and_a_reopen_reads_the_label_again(unlabeled, reopened_to):
    """Hand-worked: wip on at 01-02 starts it; closed 01-03; reopened 01-04 it is in progress only if
    the label is still on (removed at 01-02 12:00 in the second case, which leaves it started)."""
    timeline = [
        {"__typename": "LabeledEvent", "id": "L1", "createdAt": "2024-01-02T00:00:00Z", "actor": None, "label": {"name": "wip"}},
        {"__typename": "ClosedEvent", "id": "C1", "createdAt": "2024-01-03T00:00:00Z", "actor": None, "stateReason": "COMPLETED"},
        {"__typename": "ReopenedEvent", "id": "R1", "createdAt": "2024-01-04T00:00:00Z", "actor": None},
    ]
    if unlabeled:
        timeline.insert(1, {"__typename": "UnlabeledEvent", "id": "U1", "createdAt": "2024-01-02T12:00:00Z",
                            "actor": None, "label": {"name": "wip"}})
    events = gh.normalize_items([_issue(timeline)], REPO, "T", Config(), "x").events
    status = [(e["occurred_at"], e["field"], e["from_category"], e["to_category"]) for e in events if e["kind"] == "status"]
    assert status == [("2024-01-02T00:00:00Z", "label", "new", "in_progress"),
                      ("2024-01-03T00:00:00Z", "state", "in_progress", "done"),
                      ("2024-01-04T00:00:00Z", "state", "done", reopened_to)]


def test_milestone_events_map_titles_to_sprints_and_unknown_titles_are_reported():
    timeline = [
        {"__typename": "MilestonedEvent", "id": "M1", "createdAt": "2024-01-02T00:00:00Z", "actor": None, "milestoneTitle": "S1"},
        {"__typename": "DemilestonedEvent", "id": "M2", "createdAt": "2024-01-05T00:00:00Z", "actor": None, "milestoneTitle": "S1"},
        {"__typename": "MilestonedEvent", "id": "M3", "createdAt": "2024-01-05T00:00:01Z", "actor": None, "milestoneTitle": "Old name"},
    ]
    batch = gh.normalize_items([_issue(timeline)], "acme/m", "T", Config(), "x", milestones={"S1": 4})
    assert [(e["kind"], e.get("to_id"), e.get("from_id")) for e in batch.events] == [
        ("sprint_added", "github:acme/m:4", None), ("sprint_removed", None, "github:acme/m:4")]
    assert [p["problem"] for p in batch.problems] == ["unknown_milestone"]
    # Without milestone sprints (a project gives them), milestone events are not membership.
    assert gh.normalize_items([_issue(timeline)], "acme/m", "T", Config(), "x").events == []


def test_malformed_node_is_kept_raw_and_reported():
    good = _issue([])
    bad = {"__typename": "Issue", "id": "I_bad", "number": 2}  # no state, no createdAt
    batch = gh.normalize_items([bad, good], REPO, "T", Config(), "x")
    assert [i["key"] for i in batch.items] == [f"{REPO}#1"]
    assert [r["entity_id"] for r in batch.raw] == [f"{REPO}#2", f"{REPO}#1"]
    assert [(p["entity_id"], p["problem"]) for p in batch.problems] == [(f"{REPO}#2", "malformed")]


def test_milestone_sprints_start_at_the_previous_due_date():
    now = datetime(2024, 3, 1, tzinfo=UTC)
    milestones = [
        {"number": 2, "title": "S2", "createdAt": "2024-01-01T09:00:00Z", "dueOn": "2024-01-22T08:00:00Z",
         "state": "CLOSED", "closedAt": "2024-01-23T10:00:00Z"},
        {"number": 1, "title": "S1", "createdAt": "2024-01-01T09:00:00Z", "dueOn": "2024-01-08T08:00:00Z",
         "state": "CLOSED", "closedAt": "2024-01-08T09:00:00Z"},
        {"number": 3, "title": "S3", "createdAt": "2024-02-01T09:00:00Z", "dueOn": "2024-03-18T08:00:00Z",
         "state": "OPEN", "closedAt": None},
    ]
    rows = gs.milestone_sprints(milestones, "acme/m", "T", now)
    got = [(s["sprint_id"], s["planned_start"], s["planned_end"], s["state"], s["completed_at"]) for s in rows]
    assert got == [
        ("1", "2024-01-01T09:00:00Z", "2024-01-08T08:00:00Z", "closed", "2024-01-08T09:00:00Z"),  # own creation
        ("2", "2024-01-08T08:00:00Z", "2024-01-22T08:00:00Z", "closed", "2024-01-23T10:00:00Z"),  # 2 weeks
        ("3", "2024-01-22T08:00:00Z", "2024-03-18T08:00:00Z", "active", None),
    ]
    assert rows[1]["sprint_key"] == "github:acme/m:2"


def test_iteration_sprints_and_their_states():
    project = {"fields": {"nodes": [{"__typename": "ProjectV2IterationField", "name": "Sprint", "configuration": {
        "iterations": [{"id": "it3", "title": "S3", "startDate": "2024-03-11", "duration": 7},
                       {"id": "it4", "title": "S4", "startDate": "2024-03-18", "duration": 7}],
        "completedIterations": [{"id": "it2", "title": "S2", "startDate": "2024-02-26", "duration": 14}]}}]}}
    field = gs.iteration_fields(project)[0]
    rows = gs.iteration_sprints(project, field, "project:acme/1", "T", datetime(2024, 3, 12, tzinfo=UTC))
    got = {s["sprint_id"]: (s["state"], s["planned_start"], s["planned_end"], s["completed_at"]) for s in rows}
    assert got == {
        "it3": ("active", "2024-03-11T00:00:00+00:00", "2024-03-18T00:00:00+00:00", None),
        "it4": ("future", "2024-03-18T00:00:00+00:00", "2024-03-25T00:00:00+00:00", None),
        "it2": ("closed", "2024-02-26T00:00:00+00:00", "2024-03-11T00:00:00+00:00", "2024-03-11T00:00:00+00:00"),
    }


def test_iteration_membership_from_current_values_then_from_snapshots():
    start = datetime(2024, 3, 11, tzinfo=UTC)
    starts = {"github:it3": start, "github:it4": datetime(2024, 3, 18, tzinfo=UTC)}
    first_sync = datetime(2024, 3, 13, 2, tzinfo=UTC)
    first = gs.iteration_membership({"a#1": "github:it3", "a#2": "github:it4"}, None, None, starts, first_sync)
    assert sorted((e["key"], e["kind"], e["occurred_at"]) for e in first.events) == [
        ("a#1", "sprint_added", start.isoformat()),        # started already: dated at its start
        ("a#2", "sprint_added", first_sync.isoformat()),   # future iteration: seen now
    ]
    assert {(s["key"], s["sprint_key"], s["seen_at"]) for s in first.snapshots} == {
        ("a#1", "github:it3", first_sync.isoformat()), ("a#2", "github:it4", first_sync.isoformat())}
    again = gs.iteration_membership({"a#1": "github:it3", "a#2": "github:it4"}, None, None, starts, first_sync)
    assert [e["event_id"] for e in again.events] == [e["event_id"] for e in first.events]  # a rerun writes the same rows

    second_sync = datetime(2024, 3, 14, 2, tzinfo=UTC)
    previous = {"a#1": "github:it3", "a#2": "github:it4"}
    second = gs.iteration_membership({"a#1": "github:it4"}, previous, first_sync, starts, second_sync)
    assert sorted((e["key"], e["kind"], e.get("to_id") or e.get("from_id"), e["occurred_at"]) for e in second.events) == [
        ("a#1", "sprint_added", "github:it4", second_sync.isoformat()),
        ("a#1", "sprint_removed", "github:it3", second_sync.isoformat()),
        ("a#2", "sprint_removed", "github:it4", second_sync.isoformat()),
    ]
    assert {e["actor_kind"] for e in second.events} == {"unknown"} and {e["field"] for e in second.events} == {"snapshot"}


def test_no_snapshot_history_names_sprints_that_started_before_the_first_snapshot():
    sprints = [{"sprint_key": "github:old", "planned_start": "2024-03-04T00:00:00+00:00"},
               {"sprint_key": "github:new", "planned_start": "2024-03-18T00:00:00+00:00"}]
    problems = gs.no_snapshot_history(sprints, datetime(2024, 3, 13, tzinfo=UTC))
    assert [(p["entity_id"], p["problem"]) for p in problems] == [("github:old", "no_snapshot_history")]


def test_project_status_changes_between_syncs_become_status_events():
    def item(number, status, updated):
        return {"content": {"number": number, "repository": {"nameWithOwner": "acme/m"}}, "updatedAt": updated,
                "status": {"name": status, "optionId": f"opt-{status}"} if status else None}

    now = datetime(2024, 3, 14, tzinfo=UTC)
    items = [item(1, "In Review", "2024-03-13T10:00:00Z"), item(2, "Todo", "2024-03-12T00:00:00Z"),
             item(3, None, "2024-03-12T00:00:00Z"), item(4, "Shipped", "2024-03-20T00:00:00Z")]
    previous = {"acme/m#1": ("Todo", "e1"), "acme/m#2": ("Todo", "e2")}
    events = gs.project_status_events(items, previous, {"opt-In Review": "in_progress"}, now)
    got = [(e["key"], e["occurred_at"], e["from_value"], e["to_value"], e["from_category"], e["to_category"]) for e in events]
    assert got == [
        ("acme/m#1", "2024-03-13T10:00:00+00:00", "Todo", "In Review", "new", "in_progress"),
        ("acme/m#4", now.isoformat(), None, "Shipped", None, "done"),  # an update after now is clamped to now
    ]
    assert events[0]["event_id"] == gs.project_status_events(items, previous, {}, now)[0]["event_id"]


@pytest.mark.parametrize(("name", "option", "statuses", "expected"), [
    ("Todo", None, {}, "new"), ("In Review", None, {}, "in_progress"), ("Done", None, {}, "done"),
    ("QA", "opt9", {"opt9": "done"}, "done"), ("QA", "opt9", {"QA": "new"}, "new"),
])
def test_project_status_category(name, option, statuses, expected):
    assert gs.project_status_category(name, option, statuses) == expected

SPRINTS = ["github:a", "github:b", "github:c"]
memberships = st.dictionaries(st.sampled_from(["k#1", "k#2", "k#3", "k#4"]), st.sampled_from(SPRINTS), max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(memberships, min_size=1, max_size=6))
def test_replaying_snapshot_events_rebuilds_each_observed_membership(observations):
    """Invariant: after each sync, the membership events written so far put every item exactly where it was seen."""
    starts = {s: datetime(2024, 1, 1, tzinfo=UTC) for s in SPRINTS}
    previous, baseline, events = None, None, {}
    for n, observed in enumerate(observations):
        now = datetime(2024, 2, 1 + n, tzinfo=UTC)
        for event in gs.iteration_membership(observed, previous, baseline, starts, now).events:
            events[event["event_id"]] = event
        member: dict[str, set[str]] = {}
        for e in sorted(events.values(), key=lambda e: (e["occurred_at"], e["kind"] == "sprint_added")):
            if e["kind"] == "sprint_added":
                member.setdefault(e["key"], set()).add(e["to_id"])
            else:
                member.get(e["key"], set()).discard(e["from_id"])
        assert {k: v for k, v in member.items() if v} == {k: {s} for k, s in observed.items()}
        previous, baseline = dict(observed), now


def test_pseudonymize_hashes_every_login_but_keeps_bots_and_ghosts_apart():
    timeline = [
        {"__typename": "AssignedEvent", "id": "A1", "createdAt": "2024-01-02T00:00:00Z",
         "actor": {"__typename": "User", "login": "valeriocos"}, "assignee": {"__typename": "User", "login": "zhquan"}},
        {"__typename": "IssueComment", "id": "C1", "createdAt": "2024-01-03T00:00:00Z",
         "author": {"__typename": "Bot", "login": "dependabot"}, "body": "cc @zhquan"},
        {"__typename": "IssueComment", "id": "C2", "createdAt": "2024-01-03T00:00:00Z",
         "author": {"__typename": "User", "login": "ghost"}, "body": "old"},
    ]
    node = _issue(timeline, assignees={"nodes": [{"login": "zhquan"}]})
    batch = gh.normalize_items([node], "acme/m", "T", Config(pseudonymize=True), "x")
    stored = json.dumps([batch.items, batch.events, [r["payload"] for r in batch.raw]])
    for login in ("valeriocos", "dependabot", '"zhquan"', '"ghost"'):  # as JSON values, not inside the comment
        assert login not in stored
    assert batch.items[0]["assignees"][0].startswith("p:")
    assert [(e["actor"] or "-")[:2] + "/" + e["actor_kind"] for e in batch.events] == ["p:/human", "p:/bot", "-/unknown"]
    assert "cc @zhquan" in stored  # free text is kept, as for Jira


def test_a_timeline_entry_without_a_time_is_reported_and_the_rest_kept():
    timeline = [{"__typename": "LabeledEvent", "id": "L1", "createdAt": None, "actor": None, "label": {"name": "x"}},
                {"__typename": "UnlabeledEvent", "id": "L2", "createdAt": "2024-01-02T00:00:00Z", "actor": None,
                 "label": {"name": "x"}}]
    batch = gh.normalize_items([_issue(timeline)], REPO, "T", Config(), "x")
    assert [e["event_id"] for e in batch.events] == ["L2"]
    assert [(p["problem"], p["detail"]) for p in batch.problems] == [("malformed_event", "LabeledEvent without id or createdAt")]


# -- when work started: one hand-worked case per signal -------------------------------------------------
# Event shapes follow the recorded CrossReferencedEvent/ClosedEvent of timeline-items.elk.json and the
# schema's ConnectedEvent/DisconnectedEvent and ProjectV2ItemFieldSingleSelectValue; every expected
# start below was worked out by hand from PRODUCT.md's "Start" and the rules in cadence/normalize/github.py.
def _t(day: int, hour: int = 0, second: int = 0) -> str:
    return f"2024-01-{day:02d}T{hour:02d}:00:{second:02d}Z"


def _pr(number: int, created: str, state: str = "OPEN", merged: str | None = None, closed: str | None = None) -> dict:
    return {"__typename": "PullRequest", "id": f"PR_{number}", "number": number, "createdAt": created,
            "state": state, "mergedAt": merged, "closedAt": closed or merged}


def _ev(typename: str, at: str, n: int, **fields) -> dict:
    return {"__typename": typename, "id": f"{typename}{n}", "createdAt": at,
            "actor": {"__typename": "User", "login": "lead"}, **fields}


def _assigned(at: str, login: str = "ada", n: int = 1, removed: bool = False) -> dict:
    return _ev("UnassignedEvent" if removed else "AssignedEvent", at, n, assignee={"__typename": "User", "login": login})


def _start(node: dict, config: Config = Config()) -> tuple | None:
    """(occurred_at, field, actor) of the first status event into in progress or done, and the category now."""
    batch = gh.normalize_items([node], REPO, "T", config, "x")
    first = next(((e["occurred_at"], e["field"], e["actor"]) for e in batch.events
                  if e["kind"] == "status" and e["to_category"] in ("in_progress", "done")), None)
    return first, batch.items[0]["status_category"]


def _issue_at(timeline: list[dict], closed_by: list[dict] = (), **fields) -> dict:
    return _issue(timeline, createdAt=_t(1), closedByPullRequestsReferences={"nodes": list(closed_by)}, **fields)


def test_assignee_then_keyword_pr_starts_at_the_pr_opening():
    """Assigned 01-02; PR #7 says "Fixes #1" from its opening 01-03 10:00 (its cross-reference follows a
    second later, as recorded): start 01-03 10:00, exact, nobody's status change."""
    pr = _pr(7, _t(3, 10))
    timeline = [_assigned(_t(2)), _ev("CrossReferencedEvent", _t(3, 10, 1), 2, willCloseTarget=True, source=pr)]
    assert _start(_issue_at(timeline, [pr], assignees={"nodes": [{"login": "ada"}]})) == (
        (_t(3, 10), "assignee_pr", None), "in_progress")


def test_keyword_pr_then_assignee_starts_at_the_assignment():
    """PR #7 open from 01-02; ada assigned 01-04: both hold from 01-04."""
    pr = _pr(7, _t(2))
    assert _start(_issue_at([_assigned(_t(4))], [pr], assignees={"nodes": [{"login": "ada"}]})) == (
        (_t(4), "assignee_pr", None), "in_progress")


def test_a_pr_closed_unmerged_before_the_assignment_gives_no_start():
    """PR #7 open 01-02 to 01-03 (closed unmerged); assigned 01-04: never both at once."""
    pr = _pr(7, _t(2), state="CLOSED", closed=_t(3))
    assert _start(_issue_at([_assigned(_t(4))], [pr], assignees={"nodes": [{"login": "ada"}]})) == (None, "new")


def test_a_merged_pr_counts_for_its_open_interval_even_when_will_close_target_reads_false():
    """The recording shows willCloseTarget false on merged PR #3 that closed issue #1; the closing
    reference (includeClosedPrs) still links it from its opening 01-02. Assigned 01-03: start 01-03;
    merged and closed 01-05: finish."""
    pr = _pr(7, _t(2), state="MERGED", merged=_t(5))
    timeline = [_ev("CrossReferencedEvent", _t(2, 0, 1), 1, willCloseTarget=False, source=pr), _assigned(_t(3), n=2),
                _ev("ClosedEvent", _t(5), 3, stateReason="COMPLETED")]
    node = _issue_at(timeline, [pr], state="CLOSED", closedAt=_t(5), assignees={"nodes": [{"login": "ada"}]})
    assert _start(node) == ((_t(3), "assignee_pr", None), "done")


def test_a_mention_is_not_a_link():
    """PR #7 mentions the issue (willCloseTarget false, not a closing reference): no start."""
    pr = _pr(7, _t(2))
    timeline = [_assigned(_t(2)), _ev("CrossReferencedEvent", _t(3), 2, willCloseTarget=False, source=pr)]
    assert _start(_issue_at(timeline, [], assignees={"nodes": [{"login": "ada"}]})) == (None, "new")


@pytest.mark.parametrize("pr_is_source", [True, False])
def test_a_manual_link_holds_from_connected_and_started_stays_started(pr_is_source):
    """Assigned 01-02; PR #7 (open since 01-01) connected 01-03, disconnected 01-04: start 01-03, and
    still in progress after the link is gone. Either end of the events may name the PR."""
    pr, me = _pr(7, _t(1)), {"__typename": "Issue", "id": "I_1"}
    ends = {"source": pr, "subject": me} if pr_is_source else {"source": me, "subject": pr}
    timeline = [_assigned(_t(2)), _ev("ConnectedEvent", _t(3), 2, **ends), _ev("DisconnectedEvent", _t(4), 3, **ends)]
    assert _start(_issue_at(timeline, [], assignees={"nodes": [{"login": "ada"}]})) == (
        (_t(3), "assignee_pr", None), "in_progress")


def test_assigned_only_after_a_disconnect_gives_no_start():
    pr, me = _pr(7, _t(1)), {"__typename": "Issue", "id": "I_1"}
    timeline = [_ev("ConnectedEvent", _t(2), 1, source=pr, subject=me),
                _ev("DisconnectedEvent", _t(3), 2, source=pr, subject=me), _assigned(_t(4), n=3)]
    assert _start(_issue_at(timeline, [], assignees={"nodes": [{"login": "ada"}]})) == (None, "new")


def test_a_current_assignee_without_an_event_holds_from_creation_and_never_gives_feedback():
    """ada is assigned with no AssignedEvent (a transferred issue): assigned from creation 01-01, so
    PR #7 opened 01-03 starts it then; an assignee event at creation (field current, initial, no actor)."""
    pr = _pr(7, _t(3))
    node = _issue_at([], [pr], assignees={"nodes": [{"login": "ada"}]})
    assert _start(node) == ((_t(3), "assignee_pr", None), "in_progress")
    events = gh.normalize_items([node], REPO, "T", Config(), "x").events
    assert [(e["occurred_at"], e["to_value"], e["field"], e["initial"], e["actor"], e["actor_kind"]) for e in events
            if e["kind"] == "assignee"] == [(_t(1), "ada", "current", True, None, "unknown")]


def test_an_in_progress_label_starts_at_its_labeled_event_with_its_actor():
    """"In Progress" matches the configured "in progress" whatever its case: start 01-02 by lead."""
    timeline = [_ev("LabeledEvent", _t(2), 1, label={"name": "In Progress"})]
    assert _start(_issue_at(timeline)) == ((_t(2), "label", "lead"), "in_progress")


@pytest.mark.parametrize(("status", "expected"), [
    ("In Progress", ((_t(4), "project_status", None), "in_progress")),
    ("Todo", (None, "new")),
])
def test_a_projects_status_starts_at_the_value_updated_at_approximately(status, expected):
    """GitHub gives only the Status now and when the value last changed (01-04)."""
    value = {"__typename": "ProjectV2ItemFieldSingleSelectValue", "name": status, "optionId": "o1", "updatedAt": _t(4)}
    assert _start(_issue_at([], projectItems={"nodes": [{"status": value}]})) == expected


def test_closed_with_nothing_before_is_straight_to_done_and_a_missing_closed_event_is_dated_at_closed_at():
    closed = [_ev("ClosedEvent", _t(3), 1, stateReason="COMPLETED")]
    assert _start(_issue_at(closed, state="CLOSED", closedAt=_t(3))) == ((_t(3), "state", "lead"), "done")
    batch = gh.normalize_items([_issue_at([], state="CLOSED", closedAt=_t(3))], REPO, "T", Config(), "x")
    assert [(e["occurred_at"], e["to_category"], e["actor"]) for e in batch.events] == [(_t(3), "done", None)]
    assert [p["problem"] for p in batch.problems] == ["closed_without_event"]


def test_a_pull_request_starts_at_its_opening():
    pr = _issue([], __typename="PullRequest", merged=False, mergedAt=None, createdAt=_t(2))
    assert _start(pr) == ((_t(2), "opened", "valeriocos"), "in_progress")
