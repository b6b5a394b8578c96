"""Render a true issue history as Jira's REST API would serve it, and work out its truth.

Written from Atlassian's documentation and the recordings in ../shared/fixtures (patternfly,
jira-to-analytics), never from cadence's normaliser; like jira_server.py it never imports cadence.
What the renderer honours:

- The changelog records *changes* only: the values an issue was created with (status, sprints,
  assignee, story points, labels) appear in no history. Each item carries ``from``/``fromString``
  (the value before) and ``to``/``toString``, as the recordings show: status ids with names, the
  Sprint field as comma-separated ids (``"225"`` -> ``"225, 229"``) with names, the assignee as an
  account id (Cloud) or user name (Server) with a display name, story points only in
  ``fromString``/``toString``, labels as space-separated strings (``""`` for none).
- History times carry the author's own UTC offset (``2015-11-26T06:36:10.994-0500``).
- The issue's fields hold the current values: the Sprint field as objects on Cloud and as the old
  ``...Sprint@hash[id=..,rapidViewId=..,...]`` strings on Server (both in the recordings).
- Jira keeps a closed sprint in the Sprint field, so a carried-over issue's set grows.

The truth (``Truth``) follows PRODUCT.md's definitions literally, with plain Python loops, so that
the test's expected values do not come from the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

STATUSES = {  # id -> (name, statusCategory key)
    "10000": ("To Do", "new"), "3": ("In Progress", "indeterminate"), "10100": ("In Review", "indeterminate"),
    "10001": ("Done", "done"),
}
CATEGORY = {"new": "new", "indeterminate": "in_progress", "done": "done"}
SPRINT_FIELD, POINTS_FIELD = "customfield_10020", "customfield_10016"
PEOPLE = {"ann": "Ann Lee", "bo": "Bo Chen", "cy": "Cy Diaz"}
TRACKED = ("status", "sprints", "assignee", "points", "labels")


@dataclass
class TrueSprint:
    id: int
    start: datetime
    end: datetime
    complete: datetime | None  # None: still active (or future when start is in the future)
    name: str = ""

    @property
    def state(self) -> str:
        return "closed" if self.complete else "active"


@dataclass
class Change:
    at: datetime
    field: str  # one of TRACKED, or "filler" (an untracked field, to make long changelogs)
    value: Any
    author: str = "ann"
    offset_h: int = 0  # the author's UTC offset, in whole hours


@dataclass
class TrueIssue:
    key: str
    created: datetime
    initial: dict[str, Any]  # status id, sprints (frozenset of ids), assignee, points, labels (frozenset)
    changes: list[Change] = field(default_factory=list)

    def value_at(self, name: str, t: datetime) -> Any:
        """The field's value at ``t``: the last change at or before ``t``, else the initial value."""
        value = self.initial[name]
        for change in sorted(self.changes, key=lambda c: c.at):
            if change.field == name and change.at <= t:
                value = change.value
        return value

    def current(self, name: str) -> Any:
        return self.value_at(name, datetime.max.replace(tzinfo=timezone.utc))


# -- rendering ---------------------------------------------------------------------------------

def jira_time(t: datetime, offset_h: int = 0) -> str:
    local = t.astimezone(timezone(timedelta(hours=offset_h)))
    sign = "+" if offset_h >= 0 else "-"
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}{sign}{abs(offset_h):02d}00"


def _sprint_text(ids: frozenset[int], sprints: dict[int, TrueSprint]) -> tuple[str | None, str | None]:
    if not ids:
        return None, None
    ordered = sorted(ids)
    return ", ".join(map(str, ordered)), ", ".join(sprints[i].name for i in ordered)


def _item(name: str, before: Any, after: Any, sprints: dict[int, TrueSprint], cloud: bool) -> dict[str, Any]:
    if name == "status":
        return {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": before,
                "fromString": STATUSES[before][0], "to": after, "toString": STATUSES[after][0]}
    if name == "sprints":
        (f, fs), (t, ts) = _sprint_text(before, sprints), _sprint_text(after, sprints)
        return {"field": "Sprint", "fieldtype": "custom", "fieldId": SPRINT_FIELD, "from": f, "fromString": fs,
                "to": t, "toString": ts}
    if name == "assignee":
        ref = (lambda p: p and (f"acc-{p}" if cloud else p))
        return {"field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": ref(before),
                "fromString": PEOPLE.get(before), "to": ref(after), "toString": PEOPLE.get(after)}
    if name == "points":
        text = (lambda v: None if v is None else f"{v:g}")
        return {"field": "Story Points", "fieldtype": "custom", "fieldId": POINTS_FIELD, "from": None,
                "fromString": text(before), "to": None, "toString": text(after)}
    if name == "labels":
        return {"field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None,
                "fromString": " ".join(sorted(before)), "to": None, "toString": " ".join(sorted(after))}
    return {"field": "Rank", "fieldtype": "custom", "fieldId": "customfield_10019", "from": "", "fromString": "",
            "to": "", "toString": "Ranked higher"}


def _user(person: str, cloud: bool) -> dict[str, Any]:
    if cloud:
        return {"accountId": f"acc-{person}", "displayName": PEOPLE[person], "accountType": "atlassian", "active": True}
    return {"name": person, "key": person, "displayName": PEOPLE[person], "active": True}


def _sprint_value(s: TrueSprint, board: int, cloud: bool) -> Any:
    values = {"id": s.id, "name": s.name, "state": s.state, "boardId": board, "startDate": jira_time(s.start),
              "endDate": jira_time(s.end)}
    if s.complete:
        values["completeDate"] = jira_time(s.complete)
    if cloud:
        return values
    body = ",".join(f"{k}={v}" for k, v in (
        ("id", s.id), ("rapidViewId", board), ("state", s.state.upper()), ("name", s.name), ("goal", ""),
        ("startDate", values["startDate"]), ("endDate", values["endDate"]),
        ("completeDate", values.get("completeDate", "<null>")), ("sequence", s.id)))
    return f"com.atlassian.greenhopper.service.sprint.Sprint@{s.id:x}[{body}]"


def render_issue(issue: TrueIssue, number: int, sprints: dict[int, TrueSprint], board: int, cloud: bool) -> dict[str, Any]:
    """The whole issue as Jira stores it: current fields and every history, oldest first."""
    state = dict(issue.initial)
    histories = []
    for n, change in enumerate(sorted(issue.changes, key=lambda c: c.at)):
        before = state.get(change.field)
        state[change.field] = change.value
        histories.append({"id": str(100000 + number * 1000 + n), "author": _user(change.author, cloud),
                          "created": jira_time(change.at, change.offset_h),
                          "items": [_item(change.field, before, change.value, sprints, cloud)]})
    status = state["status"]
    name, category = STATUSES[status]
    fields = {
        "summary": f"issue {issue.key}", "issuetype": {"id": "10001", "name": "Story"},
        "project": {"key": issue.key.split("-")[0]}, "created": jira_time(issue.created, -5),
        "updated": jira_time(max([issue.created] + [c.at for c in issue.changes])),
        "status": {"id": status, "name": name, "statusCategory": {"key": category}},
        "resolution": {"name": "Done"} if category == "done" else None,
        "resolutiondate": None, "labels": sorted(state["labels"]),
        "assignee": _user(state["assignee"], cloud) if state["assignee"] else None,
        SPRINT_FIELD: [_sprint_value(sprints[i], board, cloud) for i in sorted(state["sprints"])] or None,
        POINTS_FIELD: state["points"], "comment": {"comments": [], "total": 0, "maxResults": 0, "startAt": 0},
    }
    return {"id": str(20000 + number), "key": issue.key, "fields": fields,
            "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}}


def statuses() -> list[dict[str, Any]]:
    return [{"id": i, "name": n, "statusCategory": {"key": c}} for i, (n, c) in STATUSES.items()]


def fields() -> list[dict[str, Any]]:
    return [
        {"id": "status", "name": "Status", "custom": False, "schema": {"type": "status", "system": "status"}},
        {"id": SPRINT_FIELD, "name": "Sprint", "custom": True,
         "schema": {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10020}},
        {"id": POINTS_FIELD, "name": "Story Points", "custom": True,
         "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10016}},
    ]


def agile_sprint(s: TrueSprint, board: int) -> dict[str, Any]:
    """A sprint as ``/rest/agile/1.0/board/{id}/sprint`` lists it (jira-software.v3.json)."""
    out = {"id": s.id, "name": s.name, "state": s.state, "originBoardId": board, "startDate": jira_time(s.start),
           "endDate": jira_time(s.end), "activatedDate": jira_time(s.start), "goal": ""}
    if s.complete:
        out["completeDate"] = jira_time(s.complete)
    return out


# -- the truth, from PRODUCT.md's definitions ---------------------------------------------------

def _category(status: str) -> str:
    return CATEGORY[STATUSES[status][1]]


def change_times(issue: TrueIssue, name: str) -> list[datetime]:
    return sorted({issue.created} | {c.at for c in issue.changes if c.field == name})


def in_sprint(issue: TrueIssue, sprint_id: int, t: datetime) -> bool:
    return issue.created <= t and sprint_id in issue.value_at("sprints", t)


def sprint_report(issues: list[TrueIssue], s: TrueSprint, as_of: datetime) -> dict[str, float]:
    """committed, added, removed, completed, carried_over and their points, for one started sprint."""
    start, completion = s.start, s.complete or as_of
    out = dict.fromkeys(("committed", "added", "removed", "completed", "carried_over"), 0)
    out.update(dict.fromkeys(("committed_points", "added_points", "removed_points", "completed_points",
                              "carried_over_points"), 0.0))
    points = (lambda i, t: i.value_at("points", t) or 0.0)  # an empty estimate counts as 0
    for issue in issues:
        committed = in_sprint(issue, s.id, start)
        entries = [t for t in change_times(issue, "sprints") if start < t <= completion
                   and in_sprint(issue, s.id, t) and not in_sprint(issue, s.id, t - timedelta(microseconds=1))]
        at_completion = in_sprint(issue, s.id, completion)
        added = not committed and bool(entries)
        if committed:
            out["committed"] += 1
            out["committed_points"] += points(issue, start)
        if added:
            out["added"] += 1
            out["added_points"] += points(issue, entries[0])
        if (committed or entries) and not at_completion:
            out["removed"] += 1
            out["removed_points"] += points(issue, completion)
        if at_completion:
            done = _category(issue.value_at("status", completion)) == "done"
            name = "completed" if done else "carried_over"
            out[name] += 1
            out[f"{name}_points"] += points(issue, completion)
    return out


def start_and_finish(issue: TrueIssue, as_of: datetime) -> tuple[datetime | None, datetime | None]:
    """Start: first entry into in progress or done. Finish: the last entry into done, if still done."""
    moments = [(issue.created, issue.initial["status"])] + sorted(
        (c.at, c.value) for c in issue.changes if c.field == "status" and c.at <= as_of)
    start = next((t for t, s in moments if _category(s) != "new"), None)
    finish, previous = None, None
    for t, s in moments:
        if _category(s) == "done" and previous != "done":
            finish = t
        previous = _category(s)
    return start, finish if previous == "done" else None
