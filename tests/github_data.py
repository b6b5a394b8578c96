"""In-memory GitHub data for tests/github_server.py, shaped like GraphQL nodes.

Event shapes follow the real ones in ../shared/fixtures/github/timeline-items.elk.json (GraphQL
``timelineItems`` of valeriocos/test-issues-update) and PyGithub's recorded timelines: node ids,
``createdAt`` in UTC with a ``Z``, ``actor { login }``, ``label { name }``, ``stateReason``.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

_ids = itertools.count(1)


def node_id(kind: str) -> str:
    """A node id in GitHub's legacy format: base64 of "<len>:<Type><number>"."""
    raw = f"{kind}{next(_ids)}"
    return base64.b64encode(f"0{len(kind)}:{raw}".encode()).decode()


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RepoData:
    issues: list[dict[str, Any]] = field(default_factory=list)
    pull_requests: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Dataset:
    repos: dict[str, RepoData] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)  # "owner/number" -> ProjectV2
    rate: dict[str, Any] = field(default_factory=dict)

    def index(self) -> dict[str, Any]:
        """Every node reachable by ``node(id:)``."""
        found: dict[str, Any] = {}
        for repo in self.repos.values():
            for node in repo.issues + repo.pull_requests:
                found[node["id"]] = node
        for project in self.projects.values():
            found[project["id"]] = project
        return found


def actor(login: str | None, bot: bool = False) -> dict[str, Any] | None:
    if login is None:
        return None
    return {"__typename": "Bot" if bot else "User", "login": login}


def event(typename: str, at: datetime, by: str | None = "valeriocos", **fields: Any) -> dict[str, Any]:
    who = actor(by, bot=bool(by and by.endswith("[bot]")))
    key = "author" if typename in ("IssueComment", "PullRequestReview") else "actor"
    return {"__typename": typename, "id": node_id(typename), "createdAt": iso(at), key: who, **fields}


def assigned(at: datetime, login: str, by: str = "valeriocos") -> dict[str, Any]:
    return event("AssignedEvent", at, by, assignee={"__typename": "User", "login": login})


def unassigned(at: datetime, login: str, by: str = "valeriocos") -> dict[str, Any]:
    return event("UnassignedEvent", at, by, assignee={"__typename": "User", "login": login})


def labeled(at: datetime, name: str, by: str = "valeriocos", removed: bool = False) -> dict[str, Any]:
    return event("UnlabeledEvent" if removed else "LabeledEvent", at, by, label={"name": name})


def closed(at: datetime, reason: str | None = "COMPLETED", by: str = "valeriocos") -> dict[str, Any]:
    return event("ClosedEvent", at, by, stateReason=reason)


def reopened(at: datetime, by: str = "valeriocos") -> dict[str, Any]:
    return event("ReopenedEvent", at, by, stateReason="REOPENED")


def milestoned(at: datetime, title: str, by: str = "valeriocos", removed: bool = False) -> dict[str, Any]:
    return event("DemilestonedEvent" if removed else "MilestonedEvent", at, by, milestoneTitle=title)


def cross_referenced(at: datetime, source: dict[str, Any], will_close: bool, by: str = "valeriocos") -> dict[str, Any]:
    """``source`` (an issue or pull request node) mentioned the issue; shaped like the recorded
    CrossReferencedEvent of valeriocos/test-issues-update#1 (timeline-items.elk.json)."""
    return event("CrossReferencedEvent", at, by, source=source, willCloseTarget=will_close, isCrossRepository=False,
                 referencedAt=iso(at), url=f"{source['url']}#ref-{source['__typename'].lower()}",
                 resourcePath="/" + source["url"].split("/", 3)[-1])


def connected(at: datetime, source: dict[str, Any], subject: dict[str, Any], by: str = "valeriocos",
              removed: bool = False) -> dict[str, Any]:
    """A manual link (the Development sidebar) made or removed; the schema's fields, no recording."""
    return event("DisconnectedEvent" if removed else "ConnectedEvent", at, by, source=source, subject=subject,
                 isCrossRepository=False)


def comment(at: datetime, body: str, by: str | None = "zhquan") -> dict[str, Any]:
    return event("IssueComment", at, by, body=body)


def review(at: datetime, state: str = "APPROVED", body: str = "LGTM", by: str = "zhquan") -> dict[str, Any]:
    return {**event("PullRequestReview", at, by, body=body, state=state), "submittedAt": iso(at)}


def issue(repo: str, number: int, created: datetime, updated: datetime | None = None, *, title: str = "",
          body: str = "", state: str = "OPEN", state_reason: str | None = None, closed_at: datetime | None = None,
          author: str | None = "valeriocos", labels: tuple[str, ...] = (), assignees: tuple[str, ...] = (),
          milestone: dict[str, Any] | None = None, timeline: list[dict[str, Any]] | None = None,
          closed_by: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "__typename": "Issue", "id": node_id("Issue"), "number": number, "title": title or f"Issue {number}",
        "body": body, "url": f"https://github.com/{repo}/issues/{number}", "createdAt": iso(created),
        "updatedAt": iso(updated or created), "closedAt": iso(closed_at) if closed_at else None, "state": state,
        "stateReason": state_reason, "author": actor(author), "labels": [{"name": n} for n in labels],
        "assignees": [{"login": a} for a in assignees], "milestone": milestone, "timeline": timeline or [],
        "closedBy": closed_by or [], "projectItems": [], "repository": {"nameWithOwner": repo},
    }


def pull_request(repo: str, number: int, created: datetime, updated: datetime | None = None, *,
                 merged_at: datetime | None = None, state: str = "OPEN", **kwargs: Any) -> dict[str, Any]:
    node = issue(repo, number, created, updated, state=state, **kwargs)
    node.update(__typename="PullRequest", id=node_id("PullRequest"), url=f"https://github.com/{repo}/pull/{number}",
                merged=merged_at is not None, mergedAt=iso(merged_at) if merged_at else None, isDraft=False)
    del node["stateReason"], node["closedBy"]
    return node


def milestone(number: int, title: str, created: datetime, due: datetime | None, closed_at: datetime | None = None,
              repo: str = "acme/models") -> dict[str, Any]:
    return {"__typename": "Milestone", "id": node_id("Milestone"), "number": number, "title": title,
            "description": None, "state": "CLOSED" if closed_at else "OPEN", "dueOn": iso(due) if due else None,
            "createdAt": iso(created), "closedAt": iso(closed_at) if closed_at else None,
            "url": f"https://github.com/{repo}/milestone/{number}"}


def iteration(iteration_id: str, title: str, start: str, duration: int) -> dict[str, Any]:
    return {"id": iteration_id, "title": title, "titleHTML": title, "startDate": start, "duration": duration}


def project(owner: str, number: int, title: str, iterations: list[dict[str, Any]],
            completed: list[dict[str, Any]], field_name: str = "Sprint") -> dict[str, Any]:
    sprint_field = {"__typename": "ProjectV2IterationField", "id": node_id("ProjectV2IterationField"),
                    "name": field_name, "configuration": {"duration": 7, "startDay": 1, "iterations": iterations,
                                                          "completedIterations": completed}}
    status_field = {"__typename": "ProjectV2SingleSelectField", "id": node_id("ProjectV2SingleSelectField"),
                    "name": "Status", "options": [{"id": o, "name": o} for o in ("Todo", "In Progress", "Done")]}
    return {"__typename": "ProjectV2", "id": node_id("ProjectV2"), "number": number, "title": title, "closed": False,
            "url": f"https://github.com/orgs/{owner}/projects/{number}", "fields": [sprint_field, status_field],
            "items": [], "field_name": field_name}


def put_on_project(proj: dict[str, Any], content: dict[str, Any], iteration_value: dict[str, Any] | None,
                   status: str | None = None, when: datetime | None = None) -> dict[str, Any]:
    """Add ``content`` to ``proj`` (in ``iteration_value`` and ``status``, set at ``when``, by default
    the content's last update); returns the project item."""
    values: dict[str, Any] = {}
    if iteration_value is not None:
        values[proj["field_name"]] = _iteration_value(iteration_value)
    if status is not None:
        values["Status"] = _status_value(status, iso(when) if when else content["updatedAt"])
    item = {"__typename": "ProjectV2Item", "id": node_id("ProjectV2Item"), "isArchived": False,
            "updatedAt": content["updatedAt"], "content": content, "values": values,
            "project": {"number": proj["number"], "title": proj["title"]}}
    proj["items"].append(item)
    content["projectItems"].append(item)
    return item


def move(item: dict[str, Any], proj: dict[str, Any], iteration_value: dict[str, Any] | None) -> None:
    """Set a project item's iteration (None clears it), as a user does on the board."""
    item["values"].pop(proj["field_name"], None)
    if iteration_value is not None:
        item["values"][proj["field_name"]] = _iteration_value(iteration_value)


def _iteration_value(it: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "ProjectV2ItemFieldIterationValue", "iterationId": it["id"], "title": it["title"],
            "startDate": it["startDate"], "duration": it["duration"]}


def synthetic_repo(repo: str, issues: int, events_per_issue: int, start: datetime | None = None) -> RepoData:
    """``issues`` issues with about ``events_per_issue`` timeline items each, for pagination and benchmarks."""
    start = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
    data = RepoData()
    for number in range(1, issues + 1):
        created = start + timedelta(minutes=number)
        timeline = []
        for k in range(events_per_issue):
            at = created + timedelta(minutes=k + 1)
            kind = k % 5
            timeline.append(
                comment(at, f"Finding: step {k}") if kind == 0 else
                labeled(at, f"area-{k % 3}") if kind == 1 else
                assigned(at, f"dev{k % 4}") if kind == 2 else
                labeled(at, f"area-{k % 3}", removed=True) if kind == 3 else
                unassigned(at, f"dev{k % 4}")
            )
        updated = created + timedelta(minutes=events_per_issue + 1)
        data.issues.append(issue(repo, number, created, updated, timeline=timeline, labels=("bug",)))
    return data


def set_status(item: dict[str, Any], status: str, when: datetime) -> None:
    """Set a project item's Status, which moves its ``updatedAt`` (and the value's) as GitHub does."""
    item["values"]["Status"] = _status_value(status, iso(when))
    item["updatedAt"] = iso(when)


def _status_value(status: str, updated: str) -> dict[str, Any]:
    # The schema's ProjectV2ItemFieldSingleSelectValue: updatedAt is non-null, the time of the last change.
    return {"__typename": "ProjectV2ItemFieldSingleSelectValue", "id": node_id("ProjectV2ItemFieldSingleSelectValue"),
            "name": status, "optionId": status, "updatedAt": updated, "createdAt": updated}


# -- a small organisation, for request counts (tests/test_github_requests.py, benchmarks/github_sync.py) --
ORG_REPOS = {"acme/web": (300, 120), "acme/api": (100, 40), "acme/docs": (8, 2)}  # repo -> (issues, pull requests)
ORG_BUSY = {"acme/web": {10: 120, 20: 120, 150: 120, 250: 250}}  # issue number -> timeline items
ORG_PROJECT = "acme/1"
ORG_ON_PROJECT = {"acme/web": (150, 50), "acme/api": (50, 0)}  # the first issues and pull requests on the board


def small_org(start: datetime | None = None) -> Dataset:
    """570 items: three repositories (300 + 120, 100 + 40, 8 + 2 issues and pull requests, 6 timeline
    items each, except four busy issues of acme/web with 120 and 250), two milestones each, and one
    Projects v2 board of 250 items over six two-week iterations."""
    start = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
    dataset = Dataset()
    for r, (repo, (issues, pulls)) in enumerate(ORG_REPOS.items()):
        data = synthetic_repo(repo, issues, 6, start + timedelta(days=r))
        for number, events in ORG_BUSY.get(repo, {}).items():
            node = data.issues[number - 1]
            created = datetime.fromisoformat(node["createdAt"].replace("Z", "+00:00"))
            node["timeline"] = [comment(created + timedelta(seconds=k), f"note {k}") for k in range(events)]
        for k in range(pulls):
            opened = start + timedelta(days=r, hours=k)
            data.pull_requests.append(pull_request(repo, issues + k + 1, opened, opened + timedelta(hours=2),
                                                   timeline=[review(opened + timedelta(hours=1))]))
        data.milestones = [milestone(m, f"Sprint {m}", start, start + timedelta(days=14 * m), repo=repo) for m in (1, 2)]
        dataset.repos[repo] = data
    iterations = [iteration(f"it{k}", f"Iteration {k}", iso(start + timedelta(days=14 * k))[:10], 14) for k in range(6)]
    board = project("acme", 1, "Roadmap", iterations[4:], iterations[:4])
    for repo, (issues, pulls) in ORG_ON_PROJECT.items():
        data = dataset.repos[repo]
        for k, content in enumerate(data.issues[:issues] + data.pull_requests[:pulls]):
            put_on_project(board, content, iterations[k % 6], ("Todo", "In Progress", "Done")[k % 3])
    dataset.projects[ORG_PROJECT] = board
    return dataset


def touch_org(dataset: Dataset, when: datetime) -> int:
    """Comment on 1% of the organisation's items (6 of 570) at ``when``; returns how many."""
    data = dataset.repos
    touched = [data["acme/web"].issues[3], data["acme/web"].issues[200], data["acme/web"].issues[299],
               data["acme/web"].pull_requests[5], data["acme/api"].issues[7], data["acme/docs"].issues[0]]
    for node in touched:
        node["timeline"].append(comment(when, "Result: shipped"))
        node["updatedAt"] = iso(when)
    return len(touched)
