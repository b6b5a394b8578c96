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
