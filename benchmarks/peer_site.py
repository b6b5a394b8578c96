"""The benchmark's Jira Cloud site, as both cadence and jira-agile-metrics 0.24 can read it.

``tests/jira_payloads.synthetic()`` makes just what cadence's sync reads. jira-agile-metrics
(through the ``jira`` library) reads more, all of which a real Jira Cloud site always sends:

- ``/serverInfo`` with ``versionNumbers``: ``jira.JIRA()`` reads it on connecting and raises
  ``KeyError`` without it. The fake in tests/ sends ``version`` only, so ``CloudSite`` adds it.
- status changes with ``fromString``/``toString`` (the status names): jira-agile-metrics maps
  ``toString`` onto its workflow; the synthetic histories carry the status ids only.
- ``fields.resolution`` on every issue (``None`` until done): its cycle-time calculator reads
  ``issue.fields.resolution`` and the ``jira`` library raises AttributeError for an absent field.
- the current status is where the last status change went (``touch()`` adds a change to Done and
  leaves ``fields.status`` as it was; Jira moves both).
- the system fields in ``/rest/api/2/field`` (synthetic() lists the custom ones only) and a field
  named ``Flagged``: it looks up ``Status`` and ``Flagged`` there by name, following both on every
  issue, and stops with "JIRA field with name `Flagged` does not exist" when the site has none.

Both tools read this same site. Everything else is ``FakeJira`` in Cloud mode, unchanged: the
50-issue search pages with ``expand=changelog`` (100 without), the 40 newest histories inline,
``/search/jql`` with ``nextPageToken``, and the old ``/rest/api/2/search`` answering 410 Gone
unless ``legacy_search`` serves it with the same caps (see ``CloudSite``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from jira_payloads import synthetic, touch  # noqa: E402
from jira_server import FakeJira, JiraData, cloud_search_cap  # noqa: E402

DONE = {"id": "10000", "name": "Done"}
SYSTEM_FIELDS = {"summary": "Summary", "status": "Status", "resolution": "Resolution",
                 "resolutiondate": "Resolved", "issuetype": "Issue Type", "project": "Project",
                 "created": "Created", "updated": "Updated", "assignee": "Assignee", "labels": "Labels",
                 "comment": "Comment"}  # Jira Cloud's names of its system fields
FLAGGED = {"id": "customfield_10021", "name": "Flagged", "custom": True,
           "schema": {"type": "array", "items": "option",
                      "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes"}}


class CloudSite(FakeJira):
    """``FakeJira`` in Cloud mode whose ``/serverInfo`` also has ``versionNumbers``, as Cloud's has.

    ``legacy_search``: also answer the retired ``GET /rest/api/2/search`` (``startAt`` paging, as
    Cloud did until 2025) with the fake's Server-style search handler, capped as Cloud caps
    ``/search/jql`` (``cloud_search_cap``: 50 issues a page with ``expand=changelog``, 100
    without). For ``jira`` libraries before 3.10, which know no other search."""

    def __init__(self, data: JiraData, legacy_search: bool = False) -> None:
        super().__init__(data)
        self.legacy_search = legacy_search

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        if self.legacy_search and path == "/rest/api/2/search":
            # search() reads maxResults and answers with the size it used, so the client pages on
            wanted = min(int(query.get("maxResults", 50)), cloud_search_cap(query))
            found = self.search({**query, "maxResults": str(wanted)})
            return found if isinstance(found, tuple) else (200, {}, found)
        return super().route(method, path, query, body)

    def answer(self, method: str, path: str, query: dict[str, str], body: Any, auth: str | None,
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        status, sent, payload = super().answer(method, path, query, body, auth, headers)
        if path.endswith("/serverInfo") and status == 200:
            payload = {**payload, "versionNumbers": [int(n) for n in payload["version"].split(".")]}
        return status, sent, payload


def site(n_issues: int, histories: int, long_share: float, seed: int = 42) -> JiraData:
    """``synthetic()`` with what a real Cloud site sends besides (see the module docstring)."""
    data = synthetic(n_issues, histories=histories, long_share=long_share, seed=seed)
    data.fields = [{"id": f, "name": name, "custom": False, "clauseNames": [f], "schema": {"system": f}}
                   for f, name in SYSTEM_FIELDS.items()] + data.fields + [FLAGGED]
    complete(data.issues, data.statuses)
    return data


def change(data: JiraData, share: float, when: datetime) -> list[str]:
    """``touch()`` ``share`` of the issues (a new status history each), completed like the rest."""
    keys = set(touch(data, share, when))
    complete([i for i in data.issues if i["key"] in keys], data.statuses)
    return sorted(keys)


def complete(issues: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> None:
    """Status names on status changes, the current status the one the last change went to (``touch``
    leaves it as it was), and the resolution."""
    by_id = {s["id"]: s for s in statuses}
    for issue in issues:
        fields = issue["fields"]
        for history in issue["changelog"]["histories"]:
            for item in history["items"]:
                if item["field"] == "status":
                    item["fromString"] = by_id[item["from"]]["name"]
                    item["toString"] = by_id[item["to"]]["name"]
        last = next((item["to"] for h in reversed(issue["changelog"]["histories"]) for item in h["items"]
                     if item["field"] == "status"), fields["status"]["id"])
        fields["status"] = by_id[last]
        done = by_id[last]["statusCategory"]["key"] == "done"
        fields["resolution"] = DONE if done else None
        fields["resolutiondate"] = fields["updated"] if done else None
        fields.setdefault(FLAGGED["id"], None)
