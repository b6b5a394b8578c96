"""Pure: GitHub milestones and Projects v2 iterations -> sprints, snapshots and membership events.

**Milestones.** A milestone's planned end is its due date; its start is the due date of the
milestone due before it, or, for the first one (and any without a due date), its own creation time.
Its completion is when it was closed. State: closed when closed, future when it starts after now,
active otherwise.

**Iterations.** An iteration starts at 00:00 UTC of its start date (GitHub stores a date with no
time zone) and lasts its duration in days. A completed iteration completes at its planned end.

**Membership from snapshots.** GitHub keeps no history of which iteration an item was in. Every
sync stores what it sees (a snapshot at the sync's time) and emits synthetic membership events
(field ``snapshot``, actor unknown) where an item's iteration differs from the previous complete
sync's snapshot (the *baseline*). Without a baseline, an item seen in an iteration that already
started is dated at the iteration's start: the sprint is then rebuilt "from current values", and
the data-quality table says so (problem ``no_snapshot_history``). Event ids are derived from the
item, the sprint and the baseline, so a sync killed and run again writes the same events.

**Projects status.** Changes of an item's ``Status`` field are seen the same way, between syncs,
and become status events (field ``project_status``); see ``project_status_events``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from cadence.records import Batch, Event, Problem, Snapshot, Sprint, sprint_key

SOURCE = "github"
NEW_LIKE = {"todo", "to do", "backlog", "new", "triage", "ready", "icebox", "no status"}
DONE_LIKE = {"done", "closed", "complete", "completed", "shipped", "released"}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _state(start: datetime | None, end: datetime | None, now: datetime, closed: bool) -> str:
    if closed or (end is not None and end <= now):
        return "closed"
    return "future" if start is not None and start > now else "active"


def milestone_sprints(milestones: Iterable[dict[str, Any]], repo: str, team: str, now: datetime) -> list[Sprint]:
    """One sprint per milestone of ``repo``."""
    ordered = sorted(milestones, key=lambda m: (m.get("dueOn") is None, m.get("dueOn") or "", m["number"]))
    sprints: list[Sprint] = []
    previous_due: str | None = None
    for milestone in ordered:
        due = milestone.get("dueOn")
        start = previous_due if due and previous_due and previous_due < due else milestone["createdAt"]
        closed = milestone.get("state") == "CLOSED"
        sprints.append(Sprint(
            sprint_key=sprint_key(SOURCE, milestone["number"], scope=repo),
            source=SOURCE,
            sprint_id=str(milestone["number"]),
            team=team,
            name=milestone.get("title"),
            state="closed" if closed else ("future" if parse_time(start) > now else "active"),
            goal=milestone.get("description"),
            planned_start=start,
            planned_end=due,
            actual_start=None,
            completed_at=milestone.get("closedAt") if closed else None,
            board_id=repo,
        ))
        if due:
            previous_due = due
    return sprints


def iteration_fields(project: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in (project.get("fields") or {}).get("nodes") or [] if f and f.get("__typename") == "ProjectV2IterationField"]


def iteration_sprints(project: dict[str, Any], field: dict[str, Any], scope: str, team: str, now: datetime) -> list[Sprint]:
    """One sprint per iteration (current, future and completed) of ``field``."""
    configuration = field.get("configuration") or {}
    sprints: list[Sprint] = []
    for completed, iterations in ((False, configuration.get("iterations")), (True, configuration.get("completedIterations"))):
        for iteration in iterations or []:
            start = datetime.fromisoformat(iteration["startDate"][:10]).replace(tzinfo=timezone.utc)
            end = start + timedelta(days=int(iteration["duration"]))
            state = _state(start, end, now, completed)
            sprints.append(Sprint(
                sprint_key=sprint_key(SOURCE, iteration["id"]),
                source=SOURCE,
                sprint_id=iteration["id"],
                team=team,
                name=iteration.get("title"),
                state=state,
                goal=None,
                planned_start=start.isoformat(),
                planned_end=end.isoformat(),
                actual_start=None,
                completed_at=end.isoformat() if state == "closed" else None,
                board_id=scope,
            ))
    return sprints


def project_item_key(item: dict[str, Any]) -> str | None:
    """``owner/repo#N`` of a project item's issue or pull request; None for a draft issue."""
    content = item.get("content") or {}
    repo = (content.get("repository") or {}).get("nameWithOwner")
    return f"{repo}#{content['number']}" if repo and content.get("number") is not None else None


def _event_id(key: str, kind: str, sprint: str, baseline: datetime | None) -> str:
    basis = f"{key}|{kind}|{sprint}|{baseline.isoformat() if baseline else 'none'}"
    return "snapshot:" + hashlib.sha1(basis.encode()).hexdigest()[:24]


def _membership_event(key: str, kind: str, sprint: str, at: datetime, baseline: datetime | None) -> Event:
    column = {"to_id": sprint} if kind == "sprint_added" else {"from_id": sprint}
    return Event(source=SOURCE, event_id=_event_id(key, kind, sprint, baseline), key=key, occurred_at=at.isoformat(),
                 kind=kind, actor=None, actor_kind="unknown", field="snapshot", **column)


def iteration_membership(
    observed: Mapping[str, str],
    previous: Mapping[str, str] | None,
    baseline: datetime | None,
    sprint_starts: Mapping[str, datetime],
    now: datetime,
) -> Batch:
    """Snapshots of ``observed`` (item key -> sprint key) and events for what changed since ``previous``.

    ``previous`` is the membership at the ``baseline`` sync, or None when there was none.
    """
    batch = Batch()
    batch.snapshots = [Snapshot(sprint_key=s, source=SOURCE, key=k, seen_at=now.isoformat()) for k, s in observed.items()]
    before = previous or {}
    for key, sprint in observed.items():
        if before.get(key) == sprint:
            continue
        start = sprint_starts.get(sprint)
        at = now
        if previous is None and start is not None and start < now:
            at = start  # first observation: from current values, dated at the iteration's start
        batch.events.append(_membership_event(key, "sprint_added", sprint, at, baseline))
    for key, sprint in before.items():
        if observed.get(key) != sprint:
            batch.events.append(_membership_event(key, "sprint_removed", sprint, now, baseline))
    return batch


def no_snapshot_history(sprints: Iterable[Sprint], first_snapshot: datetime) -> list[Problem]:
    """The iterations that started before any snapshot was taken: their membership is from current values."""
    return [
        Problem(source=SOURCE, entity="sprint", entity_id=s["sprint_key"], problem="no_snapshot_history",
                detail=f"started before the first snapshot ({first_snapshot.isoformat()}); membership from current values")
        for s in sprints
        if s.get("planned_start") and parse_time(str(s["planned_start"])) < first_snapshot
    ]


def project_status_category(name: str, option_id: str | None, statuses: Mapping[str, str]) -> str:
    """The category of a Projects status: configuration by option id or name, else by its name."""
    configured = statuses.get(option_id or "") or statuses.get(name)
    if configured:
        return configured
    lowered = name.lower()
    if lowered in NEW_LIKE:
        return "new"
    return "done" if lowered in DONE_LIKE else "in_progress"


def project_status_events(
    items: Iterable[dict[str, Any]],
    previous: Mapping[str, tuple[str, str]],
    statuses: Mapping[str, str],
    now: datetime,
) -> list[Event]:
    """Synthetic status events (field ``project_status``) where an item's Projects status changed.

    GitHub keeps no history of custom fields, so a change is seen between two syncs. It is dated at
    the Status value's ``updatedAt`` (else the project item's, which any field change moves): the
    change itself when the Status did not change again since, and never later than now. ``previous`` maps item key -> (status name, event id) of
    the last status event written; the id chains into the new one, so a rerun writes the same rows.
    """
    events: list[Event] = []
    for item in items:
        key = project_item_key(item)
        value = item.get("status") or {}
        name = value.get("name")
        if key is None or not name or (key in previous and previous[key][0] == name):
            continue
        before, before_id = previous.get(key, (None, "none"))
        stamp = value.get("updatedAt") or item.get("updatedAt")
        updated = parse_time(stamp) if stamp else now
        basis = f"{key}|project_status|{name}|{before_id}"
        events.append(Event(
            source=SOURCE, event_id="snapshot:" + hashlib.sha1(basis.encode()).hexdigest()[:24], key=key,
            occurred_at=min(updated, now).isoformat(), kind="status", field="project_status", actor=None,
            actor_kind="unknown", from_value=before, to_value=name, to_id=value.get("optionId") or name,
            from_category=project_status_category(before, None, statuses) if before else None,
            to_category=project_status_category(name, value.get("optionId"), statuses)))
    return events
