"""The pure Jira normaliser, fed with real recorded payloads and constructed ones."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from cadence.config import Config
from cadence.normalize import jira as normalize
from cadence.normalize.jira_fields import (
    SPRINT_SCHEMA,
    People,
    discover_fields,
    jira_time,
    parse_sprint_field,
    sprint_ids,
)

REAL_SPRINT = (
    "com.atlassian.greenhopper.service.sprint.Sprint@21d00be2[id=225,rapidViewId=24,state=CLOSED,"
    "name=OSUX Sprint 5,goal=,startDate=2017-09-19T16:07:27.697Z,endDate=2017-10-10T16:07:00.000Z,"
    "completeDate=2017-10-10T19:03:30.753Z,sequence=225]"
)
FIELDS = [
    {"id": "customfield_10007", "name": "Sprint", "schema": {"custom": SPRINT_SCHEMA}},
    {"id": "customfield_10099", "name": "Sprint", "schema": {"custom": "textfield"}},  # a name clash
    {"id": "customfield_10005", "name": "Story Points",
     "schema": {"custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}},
]
SITE = normalize.Site(
    base_url="https://x.atlassian.net",
    fields=discover_fields(FIELDS),
    categories={"10000": "new", "3": "in_progress", "10001": "done"},
    boards={"24": "OSUX Board"},
)


def history(items, author=None, hid="1", created="2017-10-10T15:03:30.928-0400"):
    return {"id": hid, "created": created, "items": items, **({"author": author} if author else {})}


def test_sprint_field_is_found_by_schema_not_by_name():
    assert SITE.fields.sprint == "customfield_10007"
    assert SITE.fields.story_points == "customfield_10005"
    assert discover_fields([{"id": "summary", "name": "Summary"}]).sprint is None


def test_board_configuration_field_overrides_the_guess():
    assert discover_fields(FIELDS, "customfield_20000").story_points == "customfield_20000"


def test_old_server_sprint_string_from_the_recording():
    [sprint] = parse_sprint_field([REAL_SPRINT])
    assert sprint["id"] == "225" and sprint["name"] == "OSUX Sprint 5" and sprint["boardId"] == "24"
    assert sprint["state"] == "closed" and sprint["goal"] is None
    assert sprint["completeDate"] == "2017-10-10T19:03:30.753Z"


def test_sprint_string_whose_name_and_goal_hold_commas():
    text = ("com.atlassian.greenhopper.service.sprint.Sprint@5de0588[id=230,rapidViewId=4,state=ACTIVE,"
            "name=Sprint 49, the big one,goal=ship A, B and C,startDate=2017-10-24T18:25:41.062Z,"
            "endDate=2017-11-07T02:14:00.000Z,completeDate=<null>,activatedDate=2017-10-24T18:30:00.000Z,sequence=230]")
    [sprint] = parse_sprint_field([text])
    assert sprint["name"] == "Sprint 49, the big one"
    assert sprint["goal"] == "ship A, B and C"
    assert sprint["completeDate"] is None
    assert sprint["activatedDate"] == "2017-10-24T18:30:00.000Z"


def test_cloud_sprint_objects():
    value = [{"id": 37, "name": "sprint 1", "state": "closed", "boardId": 5, "startDate": "2015-04-11T15:22:00.000+10:00"}]
    [sprint] = parse_sprint_field(value)
    assert sprint["id"] == "37" and sprint["boardId"] == 5
    row = normalize.sprint(sprint, SITE)
    assert row["sprint_key"] == "jira:37" and row["planned_start"] == datetime(2015, 4, 11, 5, 22, tzinfo=timezone.utc)


@given(st.text(alphabet="abcXYZ 0123456789,-_.", min_size=1, max_size=30).filter(lambda s: s.strip() == s and s))
def test_any_name_with_commas_survives_the_old_string(name):
    text = f"com.atlassian.greenhopper.service.sprint.Sprint@1f[id=7,rapidViewId=2,state=FUTURE,name={name},goal=,sequence=7]"
    assert parse_sprint_field([text])[0]["name"] == name


def test_changelog_sprint_values_are_id_sets():
    assert sprint_ids("225, 229") == {"225", "229"}
    assert sprint_ids("") == set() and sprint_ids(None) == set()


def sprint_change(before, after):
    return {"fieldtype": "custom", "field": "Sprint", "fieldId": "customfield_10007", "from": before, "to": after}


def test_carried_over_keeps_the_closed_sprint():
    # The real OSUX-161 change: "225" -> "225, 229" when sprint 225 closed.
    events = normalize.change_events("OSUX-161", history([sprint_change("225", "225, 229")]), SITE)
    assert [(e["kind"], e["to_id"], e["from_id"]) for e in events] == [("sprint_added", "jira:229", None)]
    assert events[0]["occurred_at"] == datetime(2017, 10, 10, 19, 3, 30, 928000, tzinfo=timezone.utc)


def test_moved_to_another_sprint_removes_the_first():
    events = normalize.change_events("K-1", history([sprint_change("225", "229")]), SITE)
    assert sorted((e["kind"], e["to_id"] or e["from_id"]) for e in events) == [
        ("sprint_added", "jira:229"), ("sprint_removed", "jira:225")]


def test_old_changelog_without_field_id_matches_the_discovered_name():
    item = {"fieldtype": "custom", "field": "Sprint", "from": None, "to": "231"}
    assert [e["to_id"] for e in normalize.change_events("K-1", history([item]), SITE)] == ["jira:231"]


def test_status_events_carry_ids_so_a_renamed_status_maps():
    item = {"field": "status", "fieldId": "status", "from": "10000", "fromString": "Backlog (old name)",
            "to": "3", "toString": "Doing (renamed)"}
    [event] = normalize.change_events("K-1", history([item], {"accountId": "a1", "accountType": "atlassian"}), SITE)
    assert (event["from_id"], event["to_id"]) == ("10000", "3")
    assert (event["from_category"], event["to_category"]) == ("new", "in_progress")
    assert (event["actor"], event["actor_kind"]) == ("a1", "human")


def test_assignee_labels_and_estimates():
    items = [
        {"field": "assignee", "fieldId": "assignee", "from": None, "to": "557058:abc"},
        {"field": "labels", "fieldId": "labels", "fromString": "eda spike", "toString": "eda learning"},
        {"field": "Story Points", "fieldId": "customfield_10005", "from": None, "fromString": "3", "to": None, "toString": "5"},
        {"field": "timeoriginalestimate", "fieldId": "timeoriginalestimate", "from": "7200", "to": "14400"},
    ]
    events = normalize.change_events("K-1", history(items), SITE)
    got = {(e["kind"], e["field"], e["from_value"], e["to_value"]) for e in events}
    assert got == {
        ("assignee", "assignee", None, "557058:abc"),
        ("label_added", "labels", None, "learning"),
        ("label_removed", "labels", "spike", None),
        ("estimate", "story_points", "3.0", "5.0"),
        ("estimate", "original_estimate_h", "2.0", "4.0"),
    }
    assert len({e["event_id"] for e in events}) == 5


def test_comment_author_kinds():
    bot = normalize.comment_event("K-1", {"id": "1", "created": "2018-05-24T23:35:30.742+0200",
                                          "author": {"accountId": "app", "accountType": "app"}, "body": "hi"}, SITE)
    gone = normalize.comment_event("K-1", {"id": "2", "created": "2018-05-24T23:35:30.742+0200", "body": "x"}, SITE)
    assert (bot["actor_kind"], gone["actor_kind"], gone["actor"]) == ("bot", "unknown", None)
    assert bot["occurred_at"] == datetime(2018, 5, 24, 21, 35, 30, 742000, tzinfo=timezone.utc)


def test_times_in_every_form_jira_writes():
    expected = datetime(2017, 10, 16, 14, 4, 13, 458000, tzinfo=timezone.utc)
    assert jira_time("2017-10-16T10:04:13.458-0400") == expected
    assert jira_time("2017-10-16T14:04:13.458Z") == expected
    assert jira_time(1508162653.458).replace(microsecond=0) == expected.replace(microsecond=0)
    assert jira_time(None) is None


def test_a_malformed_issue_is_kept_raw_and_reported_and_the_page_goes_on():
    good = {"key": "K-1", "fields": {"created": "2017-10-16T10:04:13.458-0400", "status": {"id": "3"}}}
    bad = {"key": "K-2", "fields": {"created": "the day before yesterday"}}
    batch = normalize.page([bad, good, {"nonsense": True}], SITE, datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert [i["key"] for i in batch.items] == ["K-1"]
    assert batch.items[0]["status_category"] == "in_progress"
    assert sorted(r["entity_id"] for r in batch.raw) == ["?", "K-1", "K-2"]
    assert sorted((p["entity_id"], p["problem"]) for p in batch.problems) == [("?", "malformed_issue"), ("K-2", "malformed_issue")]


def test_pseudonymized_people_never_appear():
    site = normalize.Site(base_url="https://x", fields=SITE.fields, people=People(pseudonymize=True))
    user = {"accountId": "557058:148c9022", "displayName": "Colleen Hart", "emailAddress": "c@example.com",
            "self": "https://x/rest/api/2/user?accountId=557058:148c9022"}
    issue = {"key": "K-1", "fields": {"created": "2017-10-16T10:04:13.458-0400", "assignee": user, "creator": user},
             "changelog": {"histories": [history([{"field": "assignee", "fieldId": "assignee", "to": "557058:148c9022",
                                                    "toString": "Colleen Hart"}], author=user)]}}
    batch = normalize.page([issue], site, datetime(2024, 1, 1, tzinfo=timezone.utc))
    stored = json.dumps([batch.items, batch.events, batch.raw], default=str)
    for secret in ("557058:148c9022", "Colleen Hart", "c@example.com"):
        assert secret not in stored
    changed = [e for e in batch.events if not e["initial"]]
    assert batch.items[0]["assignees"] == [changed[0]["actor"]] == [changed[0]["to_value"]]
    assert changed[0]["actor"].startswith("p:")


def test_status_categories_from_status_list_and_config_override():
    payload = [{"id": "1", "name": "Open", "statusCategory": {"key": "new"}},
               {"id": "2", "name": "In Review", "statusCategory": {"key": "indeterminate"}},
               {"id": "3", "name": "Closed", "statusCategory": {"key": "done"}}]
    rows = normalize.statuses(payload, Config(statuses={"In Review": "done"}))
    assert [(r["status_id"], r["category"]) for r in rows] == [("1", "new"), ("2", "done"), ("3", "done")]


def test_a_changelog_still_short_after_fetching_is_reported():
    issue = {"key": "K-9", "fields": {"created": "2017-10-16T10:04:13.458-0400"},
             "changelog": {"total": 71, "histories": [history([], hid=str(n)) for n in range(40)]}}
    batch = normalize.page([issue], SITE, datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert [(p["problem"], p["detail"]) for p in batch.problems] == [
        ("changelog_incomplete", "40 of 71 histories; values set at creation unknown")]
    assert [i["key"] for i in batch.items] == ["K-9"]
    # Without the first change of each field the creation values are unknown: none is guessed.
    assert not [e for e in batch.events if e["initial"]]


# -- values set at creation (PRODUCT.md, "What the sources never say") -----------------------
# Expected values here are worked out by hand from Jira's documented changelog semantics: a
# changelog item's from/fromString is the value before the change, and no item records creation.

CREATED = "2017-10-02T09:00:00.000-0400"


def _issue(changes, **fields):
    base = {"created": CREATED, "status": {"id": "10000", "name": "To Do"}, "labels": [],
            "customfield_10007": None, "customfield_10005": None, "assignee": None}
    return {"key": "K-1", "id": "1", "fields": {**base, **fields},
            "changelog": {"total": len(changes), "histories": changes}}


def _initial(batch):
    return {(e["kind"], e.get("field"), e.get("to_id"), e.get("to_value")) for e in batch.events if e["initial"]}


def test_an_issue_created_in_a_sprint_that_never_changed_is_in_it_from_creation():
    # The Sprint field says 225 and no changelog item mentions it: it was set at creation.
    batch = normalize.issue(_issue([], customfield_10007=[REAL_SPRINT]), SITE)
    initial = [e for e in batch.events if e["initial"]]
    assert {(e["kind"], e["to_id"]) for e in initial} >= {("sprint_added", "jira:225")}
    for e in initial:
        assert e["actor"] is None and e["occurred_at"] == jira_time(CREATED)


def test_the_value_before_the_first_change_holds_from_creation():
    changes = [  # newest first, as Cloud lists them inline
        history([{"field": "Sprint", "fieldId": "customfield_10007", "from": "225", "to": "225, 229"}], hid="12",
                created="2017-10-11T09:00:00.000-0400"),
        history([{"field": "status", "fieldId": "status", "from": "3", "fromString": "In Progress",
                  "to": "10001", "toString": "Done"},
                 {"field": "assignee", "fieldId": "assignee", "from": "acc-2", "to": None}], hid="11",
                created="2017-10-05T09:00:00.000-0400"),
        history([{"field": "labels", "fieldId": "labels", "fromString": "eda ml", "toString": "ml"}], hid="10",
                created="2017-10-04T09:00:00.000-0400"),
    ]
    batch = normalize.issue(_issue(changes, status={"id": "10001", "name": "Done"}, labels=["ml"],
                                   customfield_10007=[REAL_SPRINT]), SITE)
    assert _initial(batch) == {
        ("status", "status", "3", "In Progress"),       # the first status change's from
        ("sprint_added", "sprint", "jira:225", None),   # the first Sprint change's from, not the field now
        ("assignee", "assignee", None, "acc-2"),        # the first assignee change's from
        ("label_added", "labels", None, "eda"),
        ("label_added", "labels", None, "ml"),
        ("estimate", "story_points", None, None),      # the field is known and was never set
    }


def test_a_first_estimate_change_from_empty_keeps_the_empty_value():
    changes = [history([{"field": "Story Points", "fieldId": "customfield_10005", "from": None, "fromString": None,
                         "to": None, "toString": "5"}], hid="3")]
    batch = normalize.issue(_issue(changes, customfield_10005=5.0), SITE)
    estimates = [e for e in batch.events if e["initial"] and e["kind"] == "estimate"]
    assert [(e["field"], e["to_value"]) for e in estimates] == [("story_points", None)]


def test_an_estimate_that_never_changed_holds_its_current_value():
    batch = normalize.issue(_issue([], customfield_10005=3.0, timeoriginalestimate=7200), SITE)
    estimates = {e["field"]: e["to_value"] for e in batch.events if e["initial"] and e["kind"] == "estimate"}
    assert estimates == {"story_points": "3.0", "original_estimate_h": "2.0"}
