"""Sites for the fake Jira server: built from the real recordings, or generated for the benchmark.

Like jira_server.py it never imports cadence, so the fixtures do not share the code under test.
"""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jira_server import SPRINT_SCHEMA, JiraData

FLOAT_SCHEMA = "com.atlassian.jira.plugin.system.customfieldtypes:float"
CATEGORY = {"new": (2, "To Do"), "indeterminate": (4, "In Progress"), "done": (3, "Done")}


def unwrap(issue: dict[str, Any]) -> dict[str, Any]:
    """The ELK recorder wrapped custom fields as ``{id, name, value}``; Jira sends just the value."""
    fields = {}
    for key, value in issue["fields"].items():
        wrapped = isinstance(value, dict) and set(value) == {"id", "name", "value"}
        fields[key] = value["value"] if wrapped else value
    return {**issue, "fields": fields}


def _status(status_id: str, name: str, category: str) -> dict[str, Any]:
    cat_id, cat_name = CATEGORY[category]
    return {"id": status_id, "name": name, "statusCategory": {"id": cat_id, "key": category, "name": cat_name}}


def _sprints_in(text: str) -> dict[str, str]:
    body = re.search(r"\[(.*)\]$", text)[1]
    return dict(re.findall(r"(\w+)=(.*?)(?=,\w+=|$)", body))


def patternfly(fixtures: Path) -> JiraData:
    """The 10 real patternfly.atlassian.net issues, with a /field, /status and boards built from them.

    The field list keeps the recorded ids and names; the Sprint field gets its real schema type.
    The 2 distinct real comments recorded by perceval, plus a bot's and a deleted user's, are
    attached to OSUX-161.
    """
    lines = (fixtures / "jira" / "patternfly-issues.elk.jsonl").read_text().splitlines()
    wrapped = [json.loads(line)["_source"]["data"] for line in lines if line.strip()]
    fields: dict[str, dict[str, Any]] = {}
    for issue in wrapped:
        for key, value in issue["fields"].items():
            if isinstance(value, dict) and set(value) == {"id", "name", "value"}:
                custom = {"Sprint": SPRINT_SCHEMA, "Story Points": FLOAT_SCHEMA}.get(value["name"], "textfield")
                fields[key] = {"id": key, "name": value["name"], "custom": True,
                               "schema": {"type": "any", "custom": custom, "customId": int(key.split("_")[1])}}
    system = ["summary", "status", "assignee", "labels", "created", "updated", "issuetype", "project"]
    field_list = [{"id": s, "name": s.title(), "custom": False, "schema": {"type": "any", "system": s}} for s in system]
    issues = [unwrap(i) for i in wrapped]
    recorded: dict[str, Any] = {}
    for page in ("jira_comments_issue_page_1.json", "jira_comments_issue_page_2.json"):
        recorded.update({c["id"]: c for c in json.loads((fixtures / "jira" / "perceval" / page).read_text())["comments"]})
    # Constructed: an app (bot) comment and one whose author was deleted (Jira then omits "author").
    comments = list(recorded.values()) + [
        {"id": "20001", "author": {"accountId": "app-1", "accountType": "app", "displayName": "Automation"},
         "created": "2017-11-01T10:00:00.000-0400", "body": "Result: build green"},
        {"id": "20002", "created": "2017-11-02T10:00:00.000-0400", "body": "from a deleted user"},
    ]
    for issue in issues:
        issue["fields"]["comment"] = {"comments": comments if issue["key"] == "OSUX-161" else [], "total": 0}
    statuses = [_status("10000", "To Do", "new"), _status("10100", "Next Up", "new"),
                _status("3", "In Progress", "indeterminate"), _status("10001", "Done", "done")]
    sprints: dict[int, list[dict[str, Any]]] = {}
    for issue in issues:
        for text in issue["fields"].get("customfield_10007") or []:
            values = _sprints_in(text)
            board = int(values["rapidViewId"])
            sprint = {"id": int(values["id"]), "state": values["state"].lower(), "name": values["name"],
                      "startDate": values["startDate"], "endDate": values["endDate"], "originBoardId": board,
                      "goal": values.get("goal") or ""}
            if values.get("completeDate") not in (None, "<null>"):
                sprint["completeDate"] = values["completeDate"]
            if all(s["id"] != sprint["id"] for s in sprints.get(board, [])):
                sprints.setdefault(board, []).append(sprint)
    boards = [{"id": 24, "name": "OSUX Board", "type": "scrum", "location": {"projectKey": "OSUX"}},
              {"id": 4, "name": "PatternFly Board", "type": "scrum", "location": {"projectKey": "PTNFLY"}}]
    configurations = {b["id"]: {"id": b["id"], "name": b["name"], "estimation": {
        "type": "field", "field": {"fieldId": "customfield_10005", "displayName": "Story Points"}}} for b in boards}
    return JiraData(issues=issues, fields=field_list + list(fields.values()), statuses=statuses, boards=boards,
                    sprints=sprints, configurations=configurations,
                    myself={"accountId": "me", "timeZone": "America/New_York"})


def perceval_pages(fixtures: Path) -> dict[str, Any]:
    """The real /rest/api/2/search pages (startAt 0 and 2 of 3) and /comment pages from jira.fiware.org."""
    folder = fixtures / "jira" / "perceval"
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in (
        "jira_issues_page_1", "jira_issues_page_2", "jira_fields",
        "jira_comments_issue_page_1", "jira_comments_issue_page_2")}


# -- generated sites ------------------------------------------------------------------------

def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def synthetic(n_issues: int, histories: int = 30, seed: int = 0, project: str = "BEN",
              long_share: float = 0.0, comments: int = 1) -> JiraData:
    """``n_issues`` issues with about ``histories`` changelog histories each (status, sprint,
    assignee, story points and label changes), on one scrum board with 2-week sprints.
    ``long_share`` of the issues get 2-3x as many histories (past Cloud's inline 40)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    sprints = [{"id": 100 + n, "name": f"{project} Sprint {n}, part {n % 3}", "state": "closed",
                "startDate": _when(start + timedelta(days=14 * n)), "endDate": _when(start + timedelta(days=14 * n + 14)),
                "completeDate": _when(start + timedelta(days=14 * n + 14, hours=2)), "originBoardId": 1, "goal": ""}
               for n in range(26)]
    statuses = [_status("1", "To Do", "new"), _status("3", "In Progress", "indeterminate"), _status("5", "Done", "done")]
    issues = []
    for n in range(n_issues):
        count = histories * rng.choice((2, 3)) if rng.random() < long_share else rng.randint(histories - 5, histories + 5)
        created = start + timedelta(minutes=rng.randint(0, 60 * 24 * 300))
        issues.append(_issue(project, n, created, count, comments, rng))
    field_list = [{"id": "customfield_10020", "name": "Sprint", "custom": True, "schema": {"type": "array", "custom": SPRINT_SCHEMA}},
                  {"id": "customfield_10016", "name": "Story point estimate", "custom": True,
                   "schema": {"type": "number", "custom": FLOAT_SCHEMA}}]
    board = {"id": 1, "name": f"{project} board", "type": "scrum", "location": {"projectKey": project}}
    config = {"id": 1, "estimation": {"type": "field", "field": {"fieldId": "customfield_10016"}}}
    return JiraData(issues=issues, fields=field_list, statuses=statuses, boards=[board], sprints={1: sprints},
                    configurations={1: config}, myself={"accountId": "me", "timeZone": "Europe/Berlin"})


def _issue(project: str, n: int, created: datetime, count: int, comments: int, rng: random.Random) -> dict[str, Any]:
    people = [{"accountId": f"acct-{p}", "displayName": f"Person {p}", "accountType": "atlassian"} for p in range(5)]
    histories, when, status, sprint = [], created, "1", None
    for h in range(count):
        when += timedelta(minutes=rng.randint(1, 600))
        kind = h % 5
        if kind == 0:
            new = {"1": "3", "3": "5", "5": "3"}[status]
            item = {"field": "status", "fieldId": "status", "fieldtype": "jira", "from": status, "to": new}
            status = new
        elif kind == 1:
            new = str(100 + rng.randint(0, 25))
            item = {"field": "Sprint", "fieldId": "customfield_10020", "fieldtype": "custom",
                    "from": sprint, "to": f"{sprint}, {new}" if sprint else new}
            sprint = new
        elif kind == 2:
            item = {"field": "assignee", "fieldId": "assignee", "fieldtype": "jira", "from": None,
                    "to": f"acct-{rng.randint(0, 4)}"}
        elif kind == 3:
            item = {"field": "Story point estimate", "fieldId": "customfield_10016", "fieldtype": "custom",
                    "fromString": None, "toString": str(rng.choice((1, 2, 3, 5, 8)))}
        else:
            item = {"field": "labels", "fieldId": "labels", "fieldtype": "jira", "fromString": "", "toString": "eda"}
        histories.append({"id": str(n * 1000 + h), "author": rng.choice(people), "created": _when(when), "items": [item]})
    key = f"{project}-{n + 1}"
    fields = {
        "summary": f"Issue {n}", "issuetype": {"name": "Story"}, "project": {"key": project},
        "status": next(s for s in [_status("1", "To Do", "new"), _status("3", "In Progress", "indeterminate"),
                                   _status("5", "Done", "done")] if s["id"] == status),
        "created": _when(created), "updated": _when(when), "labels": ["eda"], "assignee": rng.choice(people),
        "customfield_10016": 3.0, "customfield_10020": [{"id": int(sprint), "boardId": 1}] if sprint else None,
        "comment": {"comments": [{"id": f"{n}-{c}", "author": rng.choice(people), "created": _when(when),
                                  "body": "Learning: bigger batches help"} for c in range(comments)]},
    }
    return {"id": str(10000 + n), "key": key, "fields": fields, "changelog": {"histories": histories}}


def touch(data: JiraData, share: float, when: datetime, seed: int = 1) -> list[str]:
    """Change ``share`` of the issues at ``when`` (a new status history); return their keys."""
    rng = random.Random(seed)
    chosen = rng.sample(data.issues, max(1, int(len(data.issues) * share)))
    for issue in chosen:
        issue["fields"]["updated"] = _when(when)
        issue["changelog"]["histories"].append({
            "id": f"t{issue['id']}-{when.timestamp():.0f}", "author": {"accountId": "acct-0"}, "created": _when(when),
            "items": [{"field": "status", "fieldId": "status", "from": issue["fields"]["status"]["id"], "to": "5"}]})
    return [i["key"] for i in chosen]


def clone(data: JiraData) -> JiraData:
    return copy.deepcopy(data)
