"""Jira's Sprint Report (``/rest/greenhopper/1.0/rapid/charts/sprintreport``) -> records. Pure.

The endpoint is undocumented; what is read here is what real responses hold (the Jira Server
recordings of jamp's tests, 2021, and a Jira 8 sample project):

- ``contents`` has four sections of issues: ``completedIssues``, ``issuesNotCompletedInCurrentSprint``,
  ``puntedIssues`` (removed during the sprint) and ``issuesCompletedInAnotherSprint``. Older sites
  may leave out the last one; it is then empty.
- ``issueKeysAddedDuringSprint`` is a dict ``{"KEY": true}``: the issues added after the start.
- Each issue has ``estimateStatistic`` (the estimate at the start, or when it was added) and
  ``currentEstimateStatistic``, both ``{"statFieldId": ..., "statFieldValue": {"value": 8.0}}``. An
  issue without an estimate has ``"statFieldValue": {}``; a punted one may have no
  ``estimateStatistic`` at all.
- The sums are ``{"value": 39.0, "text": "39.0"}``, and ``{"text": "null"}`` when nothing in the
  section has an estimate.
- Old Server inlines ``statusName`` and ``typeName`` in each issue; Jira 8 sends only ``statusId`` and
  ``typeId`` and puts the names in ``contents.entityData``.
- The issue's ``done`` flag is not the section: recorded completed issues in status Accepted carry
  both ``true`` and ``false``. It is kept, never used.
- ``sprint.startDate`` and friends are in the *user's* locale (``Jan/4/21 1:53 PM``, ``17/Feb/21 9:08 AM``);
  they are not parsed. The sprint's times come from the Agile API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from cadence.normalize.jira_fields import People, number
from cadence.records import SprintReport, SprintReportIssue, sprint_key

SOURCE = "jira"

SECTIONS = {
    "completedIssues": "completed",
    "issuesNotCompletedInCurrentSprint": "not_completed",
    "puntedIssues": "punted",
    "issuesCompletedInAnotherSprint": "completed_in_another_sprint",
}
REQUIRED_SECTIONS = ("completedIssues", "issuesNotCompletedInCurrentSprint", "puntedIssues")
SUMS = {
    "completedIssuesInitialEstimateSum": "completed_initial_sum",
    "completedIssuesEstimateSum": "completed_sum",
    "issuesNotCompletedInitialEstimateSum": "not_completed_initial_sum",
    "issuesNotCompletedEstimateSum": "not_completed_sum",
    "puntedIssuesInitialEstimateSum": "punted_initial_sum",
    "puntedIssuesEstimateSum": "punted_sum",
    "issuesCompletedInAnotherSprintInitialEstimateSum": "other_sprint_initial_sum",
    "issuesCompletedInAnotherSprintEstimateSum": "other_sprint_sum",
    "allIssuesEstimateSum": "all_issues_sum",
}
# Free-text people fields of a report: kept as Jira sent them unless pseudonymising.
PEOPLE_KEYS = ("assignee", "assigneeName", "avatarUrl", "lastUserToClose", "userWhoStarted")


class UnknownShape(ValueError):
    """A response that is not a Sprint Report in any shape we know."""


def estimate(statistic: Any) -> float | None:
    """``{"statFieldId": ..., "statFieldValue": {"value": 8.0}}`` -> 8.0; None when there is none."""
    if not isinstance(statistic, Mapping):
        return None
    value = statistic.get("statFieldValue")
    return number(value.get("value")) if isinstance(value, Mapping) else None


def estimate_sum(total: Any) -> float | None:
    """A section sum: ``{"value": 39.0, "text": "39.0"}`` -> 39.0, ``{"text": "null"}`` -> None."""
    if not isinstance(total, Mapping):
        return None
    return number(total.get("value"))


def added_keys(value: Any) -> list[str]:
    """``issueKeysAddedDuringSprint``: a dict of key -> true (a list is accepted too)."""
    if isinstance(value, Mapping):
        return sorted(str(k) for k, marked in value.items() if marked)
    if isinstance(value, list):
        return sorted(str(k) for k in value if isinstance(k, (str, int)))
    if value is None:
        return []
    raise UnknownShape(f"issueKeysAddedDuringSprint is a {type(value).__name__}")


def _name(entry: Mapping[str, Any], entities: Mapping[str, Any], kind: str, id_key: str, name_key: str) -> str | None:
    if entry.get(name_key):
        return str(entry[name_key])
    if kind == "statuses" and isinstance(entry.get("status"), Mapping) and entry["status"].get("name"):
        return str(entry["status"]["name"])
    table = entities.get(kind)
    known = table.get(str(entry.get(id_key))) if isinstance(table, Mapping) else None
    return str(known[name_key]) if isinstance(known, Mapping) and known.get(name_key) else None


def _issue(entry: Any, section: str, key_of_sprint: str, added: set[str],
           entities: Mapping[str, Any]) -> SprintReportIssue:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str) or not entry["key"]:
        raise UnknownShape(f"an entry of {section} without a key")
    status = entry.get("status") if isinstance(entry.get("status"), Mapping) else {}
    status_id = entry.get("statusId") or status.get("id")
    return SprintReportIssue(
        sprint_key=key_of_sprint,
        section=section,
        key=entry["key"],
        issue_id=str(entry["id"]) if entry.get("id") is not None else None,
        added_during_sprint=entry["key"] in added,
        type_name=_name(entry, entities, "types", "typeId", "typeName"),
        status_id=str(status_id) if status_id is not None else None,
        status_name=_name(entry, entities, "statuses", "statusId", "statusName"),
        done=entry["done"] if isinstance(entry.get("done"), bool) else None,
        hidden=entry["hidden"] if isinstance(entry.get("hidden"), bool) else None,
        estimate_initial=estimate(entry.get("estimateStatistic")),
        estimate_current=estimate(entry.get("currentEstimateStatistic")),
    )


def _estimate_field(contents: Mapping[str, Any]) -> str | None:
    for name in SECTIONS:
        for entry in contents.get(name) or []:
            for stat in ("estimateStatistic", "currentEstimateStatistic"):
                found = entry.get(stat) if isinstance(entry, Mapping) else None
                field = found.get("statFieldId") if isinstance(found, Mapping) else None
                if field:
                    return str(field)
    return None


def sprint_report(payload: Any, sprint_id: str | int, board_id: str | int,
                  fetched_at: datetime) -> tuple[SprintReport, list[SprintReportIssue]]:
    """One Sprint Report -> its row and one row per issue and section. Raises ``UnknownShape``."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("contents"), Mapping):
        raise UnknownShape("no 'contents' object")
    contents = payload["contents"]
    missing = [name for name in REQUIRED_SECTIONS if not isinstance(contents.get(name), list)]
    if missing or not isinstance(contents.get("issuesCompletedInAnotherSprint", []), list):
        raise UnknownShape(f"no list {', '.join(missing) or 'issuesCompletedInAnotherSprint'}")
    sprint = payload.get("sprint") if isinstance(payload.get("sprint"), Mapping) else {}
    if sprint.get("id") is not None and str(sprint["id"]) != str(sprint_id):
        raise UnknownShape(f"the report is for sprint {sprint['id']}, not {sprint_id}")
    key = sprint_key(SOURCE, str(sprint_id))
    added = added_keys(contents.get("issueKeysAddedDuringSprint"))
    entities = contents.get("entityData") if isinstance(contents.get("entityData"), Mapping) else {}
    issues = [
        _issue(entry, section, key, set(added), entities)
        for name, section in SECTIONS.items()
        for entry in contents.get(name) or []
    ]
    report = SprintReport(
        sprint_key=key, source=SOURCE, sprint_id=str(sprint_id), board_id=str(board_id), fetched_at=fetched_at,
        status="parsed", problem=None, report_state=str(sprint["state"]) if sprint.get("state") else None,
        estimate_field=_estimate_field(contents), added_keys=added,
        **{column: estimate_sum(contents.get(name)) for name, column in SUMS.items()},  # type: ignore[typeddict-item]
    )
    # One row per (section, key): a key Jira lists twice in a section is one issue.
    unique = {(i["section"], i["key"]): i for i in issues}
    return report, list(unique.values())


def unread(sprint_id: str | int, board_id: str | int, fetched_at: datetime, status: str, why: str) -> SprintReport:
    """The row of a report that was refused or could not be parsed: the sprint counts as tried."""
    return SprintReport(sprint_key=sprint_key(SOURCE, str(sprint_id)), source=SOURCE, sprint_id=str(sprint_id),
                        board_id=str(board_id), fetched_at=fetched_at, status=status, problem=why[:300],
                        added_keys=[])


def scrub(payload: Any, people: People) -> Any:
    """The raw report with its people fields hashed (or dropped) when pseudonymising."""
    if not people.pseudonymize:
        return payload
    if isinstance(payload, list):
        return [scrub(v, people) for v in payload]
    if not isinstance(payload, Mapping):
        return payload
    kept = {}
    for k, v in payload.items():
        if k == "assignee" and isinstance(v, str):
            kept[k] = people.hide(v)
        elif k not in PEOPLE_KEYS:
            kept[k] = scrub(v, people)
    return people.scrub(kept)
