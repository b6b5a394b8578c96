"""A constructed Jira site whose boards serve Jira's Sprint Report, for the reconciliation tests.

The served reports follow the *real* recordings' shape (jamp's Jira Server responses in
../shared/fixtures/jira/greenhopper: the same top-level keys, sections, issue entry fields, the
``{"text": "null"}`` empty sum and the locale-formatted sprint dates); test_jira_reports.py checks
that against the recordings. They are built here from the test's own lists of keys per section,
never from cadence's parser. Like jira_server.py, this never imports cadence.

Board 7 ("Recon board", project REC) holds sprints 101 (agrees), 102 (differs, one issue per
cause), 103 (an issue created inside the sprint), 106 (active, closed later by a test) and 107
(future). Board 8 answers 404 for its sprint report, board 9 an HTML login page.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

from jira_server import SPRINT_SCHEMA, JiraData

FLOAT_SCHEMA = "com.atlassian.jira.plugin.system.customfieldtypes:float"
SPRINT_FIELD, POINTS_FIELD = "customfield_10020", "customfield_10016"
T0 = datetime(2024, 3, 4, tzinfo=timezone.utc)  # a Monday
CATEGORY = {"new": (2, "To Do"), "indeterminate": (4, "In Progress"), "done": (3, "Done")}
STATUSES = {  # id -> (name, category key)
    "1": ("To Do", "new"), "3": ("In Progress", "indeterminate"), "4": ("Awaiting deploy", "done"),
    "10": ("Done", "done"), "11": ("Ready to ship", "indeterminate"),
}
# Board columns (Agile API BoardConfigBean.columnConfig): "Awaiting deploy" is done but not in the
# rightmost column; "Ready to ship" is in the rightmost column but not done.
COLUMNS = [("To Do", ["1"]), ("In Progress", ["3", "4"]), ("Done", ["10", "11"])]


def at(day: float, hour: float = 0, minute: float = 0, second: float = 0) -> datetime:
    """Days from Monday 2024-03-04 00:00 UTC."""
    return T0 + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def jira_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def locale_time(t: datetime) -> str:
    """How the Sprint Report writes sprint dates: the user's locale, to the minute (``Jan/4/21 1:53 PM``)."""
    return t.strftime("%b/") + str(t.day) + t.strftime("/%y ") + str(int(t.strftime("%I"))) + t.strftime(":%M %p")


def status(status_id: str) -> dict[str, Any]:
    name, category = STATUSES[status_id]
    cat_id, cat_name = CATEGORY[category]
    return {"id": status_id, "name": name, "statusCategory": {"id": cat_id, "key": category, "name": cat_name}}


def sprint_change(when: datetime, before: str, after: str) -> tuple[datetime, dict[str, Any]]:
    """A Sprint changelog item: ``from``/``to`` hold comma-separated sprint ids."""
    return when, {"field": "Sprint", "fieldId": SPRINT_FIELD, "fieldtype": "custom",
                  "from": before, "fromString": before, "to": after, "toString": after}


def status_change(when: datetime, before: str, after: str) -> tuple[datetime, dict[str, Any]]:
    return when, {"field": "status", "fieldId": "status", "fieldtype": "jira", "from": before,
                  "fromString": STATUSES[before][0], "to": after, "toString": STATUSES[after][0]}


def label_change(when: datetime, n: int) -> tuple[datetime, dict[str, Any]]:
    return when, {"field": "labels", "fieldId": "labels", "fieldtype": "jira",
                  "fromString": f"l{n - 1}" if n else "", "toString": f"l{n}"}


class Site:
    """Builds the issues, sprints and Sprint Reports of the constructed site."""

    def __init__(self) -> None:
        self.issues: list[dict[str, Any]] = []
        self.sprints: dict[int, list[dict[str, Any]]] = {7: [], 8: [], 9: []}

    def sprint(self, board: int, sprint_id: int, start: datetime | None, end: datetime | None,
               completed: datetime | None = None, activated: datetime | None = None, state: str = "closed") -> None:
        row: dict[str, Any] = {"id": sprint_id, "self": f"https://jira.invalid/rest/agile/1.0/sprint/{sprint_id}",
                               "state": state, "name": f"Sprint {sprint_id}", "originBoardId": board, "goal": ""}
        for name, value in (("startDate", start), ("endDate", end), ("completeDate", completed),
                            ("activatedDate", activated or start)):
            if value is not None:
                row[name] = jira_time(value)
        self.sprints[board].append(row)

    def issue(self, key: str, created: datetime, now_status: str, changes: list[tuple[datetime, dict[str, Any]]],
              sprints: list[int] = (), points: float | None = None, subtask: bool = False) -> None:
        histories = [{"id": f"{key}-{n}", "author": {"accountId": "acct-1", "accountType": "atlassian"},
                      "created": jira_time(when), "items": [item]} for n, (when, item) in enumerate(sorted(
                          changes, key=lambda c: c[0]))]
        updated = max([created] + [when for when, _ in changes])
        done = [when for when, item in changes if item["field"] == "status" and STATUSES[item["to"]][1] == "done"]
        fields = {
            "summary": f"Issue {key}", "issuetype": {"name": "Sub-task" if subtask else "Story", "subtask": subtask},
            "project": {"key": key.split("-")[0]}, "status": status(now_status), "created": jira_time(created),
            "updated": jira_time(updated), "labels": [], "assignee": None, POINTS_FIELD: points,
            "resolutiondate": jira_time(done[-1]) if done and STATUSES[now_status][1] == "done" else None,
            SPRINT_FIELD: [{"id": s, "boardId": 7, "name": f"Sprint {s}"} for s in sprints] or None,
            "comment": {"comments": []},
        }
        self.issues.append({"id": str(20000 + len(self.issues)), "key": key, "fields": fields,
                            "changelog": {"histories": histories}})

    def data(self) -> JiraData:
        fields = [
            {"id": SPRINT_FIELD, "name": "Sprint", "custom": True,
             "schema": {"type": "array", "custom": SPRINT_SCHEMA}},
            {"id": POINTS_FIELD, "name": "Story Points", "custom": True,
             "schema": {"type": "number", "custom": FLOAT_SCHEMA}},
        ]
        boards = [{"id": b, "name": n, "type": "scrum", "location": {"projectKey": "REC"}}
                  for b, n in ((7, "Recon board"), (8, "Board without report"), (9, "Board behind SSO"))]
        config = {"columnConfig": {"columns": [{"name": n, "statuses": [{"id": i} for i in ids]} for n, ids in COLUMNS],
                                   "constraintType": "issueCount"},
                  "estimation": {"type": "field", "field": {"fieldId": POINTS_FIELD, "displayName": "Story Points"}}}
        return JiraData(issues=self.issues, fields=fields, statuses=[status(s) for s in STATUSES], boards=boards,
                        sprints=self.sprints, configurations={b["id"]: {"id": b["id"], "name": b["name"], **config}
                                                              for b in boards})


# -- the Sprint Report, in the recorded shape ---------------------------------------------

def _entry(issue: dict[str, Any] | None, key: str, done_flag: bool) -> dict[str, Any]:
    """One issue of a report section, with the fields an old Jira Server entry has (mock_av_sprint_*)."""
    fields = (issue or {}).get("fields") or {"summary": f"Issue {key}", "status": status("3"),
                                             "issuetype": {"name": "Story"}}
    points = fields.get(POINTS_FIELD)
    statistic = {"statFieldId": POINTS_FIELD, "statFieldValue": {"value": float(points)} if points is not None else {}}
    return {
        "id": int((issue or {}).get("id") or 99999), "key": key, "hidden": False,
        "typeName": fields["issuetype"]["name"], "typeId": "10001", "summary": fields["summary"],
        "typeUrl": "https://jira.invalid/secure/viewavatar?size=xsmall&avatarId=10315&avatarType=issuetype",
        "priorityUrl": "https://jira.invalid/images/icons/priorities/medium.svg", "priorityName": "Medium",
        "done": done_flag, "hasCustomUserAvatar": False,
        "columnStatistic": {"statFieldId": "issueCountExclSubs", "statFieldValue": {"value": 1.0, "text": "1.0"}},
        "currentEstimateStatistic": copy.deepcopy(statistic), "estimateStatisticRequired": False,
        "estimateStatistic": copy.deepcopy(statistic), "statusId": fields["status"]["id"],
        "statusName": fields["status"]["name"], "statusUrl": "https://jira.invalid/images/icons/statuses/generic.png",
        "status": fields["status"], "fixVersions": [], "projectId": 14200, "linkedPagesCount": 0,
    }


def _sum(entries: list[dict[str, Any]], statistic: str) -> dict[str, Any]:
    values = [e[statistic]["statFieldValue"]["value"] for e in entries if "value" in e[statistic]["statFieldValue"]]
    # A section with no estimate at all sums to {"text": "null"}, as the recordings show.
    return {"value": sum(values), "text": str(float(sum(values)))} if values else {"text": "null"}


def sprint_report(data: JiraData, board: int, sprint_id: int, completed: list[str] = (),
                  not_completed: list[str] = (), punted: list[str] = (), other_sprint: list[str] = (),
                  added: list[str] = ()) -> dict[str, Any]:
    """The body of ``GET /rest/greenhopper/1.0/rapid/charts/sprintreport`` for these lists of keys."""
    sprint = next(s for s in data.sprints[board] if s["id"] == sprint_id)
    sections = {name: [_entry(data.issue(k), k, name == "completedIssues") for k in keys] for name, keys in (
        ("completedIssues", completed), ("issuesNotCompletedInCurrentSprint", not_completed),
        ("puntedIssues", punted), ("issuesCompletedInAnotherSprint", other_sprint))}
    sums = {}
    for name, prefix in (("completedIssues", "completedIssues"),
                         ("issuesNotCompletedInCurrentSprint", "issuesNotCompleted"), ("puntedIssues", "puntedIssues"),
                         ("issuesCompletedInAnotherSprint", "issuesCompletedInAnotherSprint")):
        sums[f"{prefix}InitialEstimateSum"] = _sum(sections[name], "estimateStatistic")
        sums[f"{prefix}EstimateSum"] = _sum(sections[name], "currentEstimateStatistic")
    everything = [e for name in ("completedIssues", "issuesNotCompletedInCurrentSprint") for e in sections[name]]
    sums["allIssuesEstimateSum"] = _sum(everything, "currentEstimateStatistic")
    order = ["completedIssuesInitialEstimateSum", "completedIssuesEstimateSum", "issuesNotCompletedInitialEstimateSum",
             "issuesNotCompletedEstimateSum", "allIssuesEstimateSum", "puntedIssuesInitialEstimateSum",
             "puntedIssuesEstimateSum", "issuesCompletedInAnotherSprintInitialEstimateSum",
             "issuesCompletedInAnotherSprintEstimateSum"]
    contents = {**sections, **{name: sums[name] for name in order},
                "issueKeysAddedDuringSprint": {k: True for k in added}}
    when = {k: datetime.strptime(sprint[k], "%Y-%m-%dT%H:%M:%S.%f%z") for k in ("startDate", "endDate", "completeDate")}
    user = '<a class="user-hover" rel="lead" id="_lead" href="/secure/ViewProfile.jspa?name=lead">Team Lead </a>'
    return {
        "contents": contents,
        "sprint": {"id": sprint_id, "sequence": sprint_id + 1, "name": sprint["name"], "state": "CLOSED", "goal": "",
                   "linkedPagesCount": 0, **{k: locale_time(v) for k, v in when.items()},
                   "canUpdateSprint": False, "remoteLinks": [], "daysRemaining": 0},
        "lastUserToClose": user, "userWhoStarted": user, "supportsPages": True,
    }


# -- the scenario ---------------------------------------------------------------------------
# Sprint 102 starts as planned at 09:00 on day 14 but is activated at 09:30, and closes at 17:30 on day 25.
S102_START, S102_CLOSE = at(14, 9, 30), at(25, 17, 30)
ADDED_AT_START = at(14, 9, 30, 20)  # REC-14 joins 20 s after the activation


def recon_site() -> JiraData:
    """Board 7's history, issue by issue; the reports Jira would show for it are in ``serve_reports``."""
    s = Site()
    s.sprint(7, 101, at(0, 9), at(11, 17), completed=at(11, 17, 30))
    s.sprint(7, 102, at(14, 9), at(25, 17), completed=S102_CLOSE, activated=S102_START)
    s.sprint(7, 103, at(28, 9), at(39, 17), completed=at(39, 17, 30))
    s.sprint(7, 106, at(42, 9), at(53, 17), state="active")
    s.sprint(7, 107, None, None, state="future")
    s.sprint(8, 201, at(0, 9), at(11, 17), completed=at(11, 17, 30))
    s.sprint(9, 301, at(0, 9), at(11, 17), completed=at(11, 17, 30))
    before = at(-3)
    # Sprint 101: everything agrees.
    s.issue("REC-1", before, "10", [sprint_change(at(-3, 12), "", "101"), status_change(at(1), "1", "3"),
                                    status_change(at(3), "3", "10")], [101], points=3)
    s.issue("REC-2", before, "3", [sprint_change(at(-3, 12), "", "101"), status_change(at(2), "1", "3")], [101], 5)
    s.issue("REC-3", before, "10", [sprint_change(at(2, 10), "", "101"), status_change(at(2, 11), "1", "3"),
                                    status_change(at(4), "3", "10")], [101], 2)
    s.issue("REC-4", before, "1", [sprint_change(at(-3, 12), "", "101"), sprint_change(at(3, 10), "101", "")])
    s.issue("REC-5", before, "1", [sprint_change(at(2, 10), "", "101"), sprint_change(at(4, 10), "101", "")])
    # Sprint 102: one issue per cause of disagreement.
    joined = sprint_change(at(8, 10), "", "102")
    s.issue("REC-11", at(7), "4", [joined, status_change(at(15), "1", "3"), status_change(at(18), "3", "4")], [102])
    s.issue("REC-12", at(7), "11", [joined, status_change(at(15), "1", "3"), status_change(at(21), "3", "11")], [102])
    s.issue("REC-13", before, "10", [status_change(at(1), "1", "10"), joined], [102])
    s.issue("REC-14", at(7), "10", [sprint_change(ADDED_AT_START, "", "102"), status_change(at(15), "1", "3"),
                                    status_change(at(17), "3", "10")], [102])
    # REC-15 has 43 histories; in the tests its changelog cannot be read (test_reconcile_sync's
    # truncate_rec15), so the Sprint change into 102, its Done, and the clearing of the field are unknown.
    s.issue("REC-15", before, "10", [joined, status_change(at(16), "1", "10"), sprint_change(at(29), "102", ""),
                                     *[label_change(at(30, n), n) for n in range(39)],
                                     sprint_change(at(31), "", "107")], [107])
    s.issue("REC-18", at(7), "10", [joined, status_change(at(21), "1", "10")], [102], subtask=True)
    s.issue("REC-19", at(7), "10", [joined, status_change(at(15), "1", "3"),
                                    status_change(S102_CLOSE - timedelta(seconds=20), "3", "10")], [102])
    s.issue("REC-20", at(7), "3", [sprint_change(at(14, 9, 10), "", "102"), status_change(at(15), "1", "3")], [102])
    s.issue("REC-21", at(7), "1", [])
    s.issue("REC-22", at(7), "10", [joined, status_change(at(15), "1", "3"), status_change(at(22), "3", "10")], [102])
    # Sprint 103: REC-31 is created inside it, with the Sprint set at creation (no changelog item says so).
    s.issue("REC-31", at(30, 10), "10", [status_change(at(32), "1", "10")], [103])
    s.issue("REC-32", at(21), "10", [sprint_change(at(22), "", "103"), status_change(at(31), "1", "10")], [103])
    # Sprint 106, active until a test closes it.
    s.issue("REC-41", at(37), "10", [sprint_change(at(38), "", "106"), status_change(at(44), "1", "10")], [106])
    return s.data()


def serve_reports(data: JiraData) -> None:
    """The Sprint Reports Jira shows for board 7's closed sprints; board 8 has none (404), board 9 is
    behind an SSO page that answers 200 with HTML."""
    data.sprint_reports[(7, 101)] = sprint_report(data, 7, 101, completed=["REC-1", "REC-3"], not_completed=["REC-2"],
                                                  punted=["REC-4", "REC-5"], added=["REC-3", "REC-5"])
    data.sprint_reports[(7, 102)] = sprint_report(
        data, 7, 102, completed=["REC-12", "REC-14", "REC-15", "REC-22"],
        not_completed=["REC-11", "OPS-9", "REC-19", "REC-20", "REC-21"], other_sprint=["REC-13"], added=["REC-20"])
    data.sprint_reports[(7, 103)] = sprint_report(data, 7, 103, completed=["REC-31", "REC-32"], added=["REC-31"])
    data.sprint_reports[(9, 301)] = (200, {"Content-Type": "text/html;charset=UTF-8"},
                                     "<!DOCTYPE html><html><head><title>Log in</title></head><body>SSO</body></html>")


def close_sprint_106(data: JiraData) -> None:
    """Sprint 106 closes, and Jira's report for it appears."""
    sprint = next(s for s in data.sprints[7] if s["id"] == 106)
    sprint.update(state="closed", completeDate=jira_time(at(53, 17, 30)))
    data.sprint_reports[(7, 106)] = sprint_report(data, 7, 106, completed=["REC-41"])
