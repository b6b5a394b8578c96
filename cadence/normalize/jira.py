"""Jira payloads -> cadence records. Pure: no I/O, no clock (``fetched_at`` comes in).

An issue arrives *whole*: the source has already replaced the truncated inline changelog and
comment list with every page of them. Changelog items become events by field:

- ``status``: from/to status ids, so a renamed status still maps to its category;
- the Sprint field (found by schema type, see jira_fields): ``from``/``to`` hold comma-separated
  sprint ids; the set difference gives ``sprint_added`` / ``sprint_removed``. Jira keeps closed
  sprints in the field, so ``225`` -> ``225, 229`` adds 229 and removes nothing;
- ``assignee``, ``labels`` (space-separated lists, diffed), the story-point field and
  ``timeoriginalestimate`` (seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Mapping

from cadence.config import Config
from cadence.normalize.jira_fields import (
    Fields,
    People,
    category_of,
    jira_time,
    number,
    parse_sprint_field,
    sprint_ids,
    text_of,
)
from cadence.records import CHANGELOG_UNKNOWN, Batch, Event, Item, Problem, Raw, Sprint, Status, Team, sprint_key

SOURCE = "jira"


@dataclass(frozen=True)
class Site:
    """What normalising needs to know about one Jira site, gathered before issues are read."""

    base_url: str
    fields: Fields = field(default_factory=Fields)
    categories: Mapping[str, str] = field(default_factory=dict)  # status id -> category
    boards: Mapping[str, str] = field(default_factory=dict)  # board id -> board name
    project_boards: Mapping[str, str] = field(default_factory=dict)  # project key -> its only board id
    known_sprints: frozenset[str] = frozenset()  # sprint ids already saved from the Agile API
    config: Config = field(default_factory=Config)
    people: People = field(default_factory=People)

    def team_for_board(self, board_id: Any) -> str | None:
        name = self.boards.get(str(board_id)) if board_id is not None else None
        return self.config.team_for(f"jira:board:{board_id}", name) if name else None

    def team_for_project(self, project_key: str) -> str:
        """A project with exactly one board belongs to that board's team; otherwise to its own."""
        board_team = self.team_for_board(self.project_boards.get(project_key))
        return board_team or self.config.team_for(f"jira:project:{project_key}", project_key)


def raw(entity: str, entity_id: Any, payload: Any, fetched_at: datetime, people: People) -> Raw:
    return Raw(source=SOURCE, entity=entity, entity_id=str(entity_id), fetched_at=fetched_at,
               payload=people.scrub(payload))


def problem(entity: str, entity_id: Any, what: str, detail: str | None = None) -> Problem:
    return Problem(source=SOURCE, entity=entity, entity_id=str(entity_id), problem=what, detail=detail)


# -- site-level payloads ------------------------------------------------------------------

def statuses(payload: Iterable[Mapping[str, Any]], config: Config) -> list[Status]:
    """``/status`` -> Status rows; statusCategory new/indeterminate/done, cadence.toml overrides."""
    return [
        Status(source=SOURCE, status_id=str(s["id"]), name=s.get("name"),
               category=category_of(s, config.statuses))
        for s in payload if isinstance(s, Mapping) and s.get("id") is not None
    ]


def board_team(board: Mapping[str, Any], config: Config) -> Team:
    scope = f"jira:board:{board['id']}"
    return Team(team=config.team_for(scope, str(board.get("name") or scope)), source=SOURCE, scope=scope,
                synthetic=False)


def sprint(payload: Mapping[str, Any], site: Site, board_id: Any = None) -> Sprint:
    """An Agile API sprint (or one read from an issue's Sprint field) -> Sprint row.

    The origin board decides the team; a sprint seen only on another board keeps that board.
    """
    origin = payload.get("originBoardId") or payload.get("boardId") or board_id
    sprint_id = str(payload["id"])
    return Sprint(
        sprint_key=sprint_key(SOURCE, sprint_id),
        source=SOURCE,
        sprint_id=sprint_id,
        team=site.team_for_board(origin),
        name=payload.get("name"),
        state=(payload.get("state") or "").lower() or None,
        goal=payload.get("goal") or None,
        planned_start=jira_time(payload.get("startDate")),
        planned_end=jira_time(payload.get("endDate")),
        actual_start=jira_time(payload.get("activatedDate")),
        completed_at=jira_time(payload.get("completeDate")),
        board_id=str(origin) if origin is not None else None,
    )


# -- issues -------------------------------------------------------------------------------

# Every event carries every column, so a page's events form one regular table.
BLANK_EVENT: Event = Event(**{**dict.fromkeys(Event.__annotations__), "source": SOURCE,  # type: ignore[typeddict-item]
                               "initial": False})


def _event(base: Mapping[str, Any], **values: Any) -> Event:
    # dict(), not Event(): the same dict at runtime, and this is the hot path of a sync.
    return dict(base, **values)  # type: ignore[return-value]


def issue_team(issue: Mapping[str, Any], sprints: list[dict[str, Any]], site: Site) -> str:
    """The board of the issue's latest sprint, when that board is known; else its project's."""
    for entry in reversed(sprints):
        team = site.team_for_board(entry.get("boardId"))
        if team:
            return team
    project = (issue["fields"].get("project") or {}).get("key") or str(issue["key"]).split("-")[0]
    return site.team_for_project(project)


def item(issue: Mapping[str, Any], sprints: list[dict[str, Any]], site: Site) -> Item:
    f = issue["fields"]
    status = f.get("status") or {}
    status_id = str(status["id"]) if status.get("id") is not None else None
    category = site.categories.get(status_id) if status_id else None
    seconds = number(f.get("timeoriginalestimate"))
    spent = number(f.get("timespent"))
    return Item(
        source=SOURCE,
        key=str(issue["key"]),
        team=issue_team(issue, sprints, site),
        type=(f.get("issuetype") or {}).get("name"),
        summary=f.get("summary"),
        description=text_of(f.get("description")),
        url=f"{site.base_url.rstrip('/')}/browse/{issue['key']}",
        created=jira_time(f["created"]),
        updated=jira_time(f.get("updated")),
        resolved=jira_time(f.get("resolutiondate")),
        status=status.get("name"),
        status_id=status_id,
        status_category=category or category_of(status, site.config.statuses),
        resolution=(f.get("resolution") or {}).get("name"),
        labels=[str(label) for label in f.get("labels") or []],
        assignees=[p for p in [site.people.id_of(f.get("assignee"))] if p],
        original_estimate_h=seconds / 3600 if seconds is not None else None,
        time_spent_h=spent / 3600 if spent is not None else None,
        due_date=_due_date(f.get("duedate")),
        story_points=number(f.get(site.fields.story_points)) if site.fields.story_points else None,
    )


def _due_date(value: Any) -> str | None:
    """Jira's ``duedate`` (``2017-11-30``), checked: the warehouse stores it as a DATE."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a due date: {value!r}"[:80])
    return date.fromisoformat(value[:10]).isoformat()


def _is_field(change: Mapping[str, Any], field_id: str | None, name: str | None) -> bool:
    # Old Server changelogs carry no fieldId; there the discovered field's name is all we have.
    if not field_id:
        return False
    if change.get("fieldId"):
        return change["fieldId"] == field_id
    return name is not None and change.get("field") == name


# Per tracked field, its earliest changelog item so far, keyed by (history time, history id).
FirstChanges = dict[str, tuple[tuple[datetime, int], Mapping[str, Any]]]


def change_events(key: str, history: Mapping[str, Any], site: Site, first: FirstChanges | None = None) -> list[Event]:
    """The events in one changelog history.

    ``first``, when given, collects the earliest item of each tracked field across the histories
    (keyed by the history's time and id, since Cloud sends the newest first): one pass serves both
    the change events and the values set at creation.
    """
    author = history.get("author")
    when = _required_time(history["created"])
    base = _event(BLANK_EVENT, key=key, occurred_at=when, actor=site.people.id_of(author),
                  actor_kind=People.kind_of(author))
    hid = str(history.get("id") or "")
    order = (when, int(hid) if hid.isdigit() else 0)
    events: list[Event] = []
    for index, change in enumerate(history.get("items") or []):
        tracked = _tracked(change, site)
        if tracked is None:
            continue
        if first is not None:
            seen = first.get(tracked)
            if seen is None or order < seen[0]:  # strict: the first item of one history wins
                first[tracked] = (order, change)
        prefix = f"{key}:{history['id']}:{index}"
        if tracked == "status":
            events.append(_event(
                base, event_id=f"{prefix}:status", kind="status", field="status",
                from_id=change.get("from"), to_id=change.get("to"),
                from_value=change.get("fromString"), to_value=change.get("toString"),
                from_category=site.categories.get(str(change.get("from"))),
                to_category=site.categories.get(str(change.get("to"))),
            ))
        elif tracked == "sprint":
            before, after = sprint_ids(change.get("from")), sprint_ids(change.get("to"))
            events += [_event(base, event_id=f"{prefix}:sprint_added:{s}", kind="sprint_added", field="sprint",
                             to_id=sprint_key(SOURCE, s)) for s in sorted(after - before)]
            events += [_event(base, event_id=f"{prefix}:sprint_removed:{s}", kind="sprint_removed",
                             field="sprint", from_id=sprint_key(SOURCE, s)) for s in sorted(before - after)]
        elif tracked == "assignee":
            events.append(_event(
                base, event_id=f"{prefix}:assignee", kind="assignee", field="assignee",
                from_value=site.people.hide(change.get("from") or change.get("fromString")),
                to_value=site.people.hide(change.get("to") or change.get("toString")),
            ))
        elif tracked == "labels":
            before = set((change.get("fromString") or "").split())
            after = set((change.get("toString") or "").split())
            events += [_event(base, event_id=f"{prefix}:label_added:{x}", kind="label_added", field="labels",
                             to_value=x) for x in sorted(after - before)]
            events += [_event(base, event_id=f"{prefix}:label_removed:{x}", kind="label_removed",
                             field="labels", from_value=x) for x in sorted(before - after)]
        elif tracked == "story_points":
            events.append(_estimate(base, prefix, "story_points", change, 1.0))
        else:
            events.append(_estimate(base, prefix, "original_estimate_h", change, 1 / 3600))
    return events


def _estimate(base: Event, prefix: str, name: str, change: Mapping[str, Any], scale: float) -> Event:
    def value(raw_value: Any) -> str | None:
        parsed = number(raw_value)
        return None if parsed is None else repr(parsed * scale)

    return _event(base, event_id=f"{prefix}:estimate", kind="estimate", field=name,
                 from_value=value(change.get("fromString") if change.get("from") is None else change.get("from")),
                 to_value=value(change.get("toString") if change.get("to") is None else change.get("to")))


def _required_time(value: Any) -> datetime:
    """An event's time, which the warehouse cannot do without."""
    when = jira_time(value)
    if when is None:
        raise ValueError("a changelog history or comment without a time")
    return when


# -- values set at creation ---------------------------------------------------------------
#
# Jira's changelog records changes, never the values an issue was created with: an issue created
# from the board inside an active sprint has that sprint in its Sprint field from ``created`` and
# no changelog item says so. The value before a field's first change (that change's ``from``)
# held from ``created``; a field that never changed has held its current value since then.

def _tracked(change: Mapping[str, Any], site: Site) -> str | None:
    """Which tracked field a changelog item changes: status, sprint, assignee, labels, points, estimate."""
    fid = change.get("fieldId") or change.get("field")
    if fid in ("status", "assignee", "labels"):
        return str(fid)
    if _is_field(change, site.fields.sprint, site.fields.sprint_name):
        return "sprint"
    if _is_field(change, site.fields.story_points, site.fields.names.get(site.fields.story_points or "")):
        return "story_points"
    if fid == "timeoriginalestimate":
        return "original_estimate"
    return None


def _raw_value(change: Mapping[str, Any] | None, id_key: str, text_key: str) -> Any:
    return change.get(text_key) if change.get(id_key) is None else change.get(id_key)


def creation_events(payload: Mapping[str, Any], sprints: list[dict[str, Any]], site: Site,
                    first: Mapping[str, Mapping[str, Any]]) -> list[Event]:
    """Events at ``created`` for the values the issue was created with, marked ``initial``, no actor.

    ``first``: the earliest changelog item of each tracked field (``change_events`` collects them).
    Needs the whole changelog: ``page`` does not call it when the changelog is known to be short.
    """
    key, f = str(payload["key"]), payload["fields"]
    base = _event(BLANK_EVENT, key=key, occurred_at=_required_time(f["created"]), initial=True, actor_kind="unknown")
    events: list[Event] = []
    status = f.get("status") or {}
    status_id, status_name = (first["status"].get("from"), first["status"].get("fromString")) if "status" in first \
        else (status.get("id"), status.get("name"))
    if status_id is not None:
        events.append(_event(base, event_id=f"{key}:created:status", kind="status", field="status",
                             to_id=str(status_id), to_value=status_name,
                             to_category=site.categories.get(str(status_id))))
    if site.fields.sprint:
        ids = sprint_ids(first["sprint"].get("from")) if "sprint" in first else {str(s["id"]) for s in sprints}
        events += [_event(base, event_id=f"{key}:created:sprint:{s}", kind="sprint_added", field="sprint",
                          to_id=sprint_key(SOURCE, s)) for s in sorted(ids)]
    person = site.people.hide(_raw_value(first["assignee"], "from", "fromString")) if "assignee" in first \
        else site.people.id_of(f.get("assignee"))
    if person:
        events.append(_event(base, event_id=f"{key}:created:assignee", kind="assignee", field="assignee",
                             to_value=person))
    labels = (first["labels"].get("fromString") or "").split() if "labels" in first else list(f.get("labels") or [])
    events += [_event(base, event_id=f"{key}:created:label:{x}", kind="label_added", field="labels",
                      to_value=str(x)) for x in sorted(set(map(str, labels)))]
    for name, tracked, current, scale, always in (
        # Where the story-point field is known, an empty estimate at creation is a fact worth an
        # event: it tells the metrics that this team estimates, so empty counts as 0.
        ("story_points", "story_points", f.get(site.fields.story_points) if site.fields.story_points else None, 1.0,
         bool(site.fields.story_points)),
        ("original_estimate_h", "original_estimate", f.get("timeoriginalestimate"), 1 / 3600, False),
    ):
        # The value before the first change is that change's ``from``, even when it was empty.
        value = number(_raw_value(first[tracked], "from", "fromString")) if tracked in first else number(current)
        if always or tracked in first or value is not None:
            events.append(_event(base, event_id=f"{key}:created:{name}", kind="estimate", field=name,
                                 to_value=None if value is None else repr(value * scale)))
    return events


def comment_event(key: str, comment: Mapping[str, Any], site: Site) -> Event:
    author = comment.get("author")
    return _event(BLANK_EVENT, event_id=f"{key}:comment:{comment['id']}", key=key,
                  occurred_at=_required_time(comment["created"]), kind="comment", actor=site.people.id_of(author),
                  actor_kind=People.kind_of(author), text=text_of(comment.get("body")))


def issue(payload: Mapping[str, Any], site: Site, whole_changelog: bool = True) -> Batch:
    """One whole issue -> its item, events (with the values set at creation when the changelog is
    whole) and any sprints known only from its Sprint field.

    Raises KeyError/ValueError/TypeError when the payload is malformed; ``page`` catches those.
    """
    key = str(payload["key"])
    f = payload["fields"]
    sprint_value = f.get(site.fields.sprint) if site.fields.sprint else None
    sprints = parse_sprint_field(sprint_value)
    batch = Batch(items=[item(payload, sprints, site)])
    first: FirstChanges = {}
    changes: list[Event] = []
    for history in (payload.get("changelog") or {}).get("histories") or []:
        changes += change_events(key, history, site, first)
    if whole_changelog:
        batch.events += creation_events(payload, sprints, site, {name: change for name, (_, change) in first.items()})
    batch.events += changes
    for comment in (f.get("comment") or {}).get("comments") or []:
        batch.events.append(comment_event(key, comment, site))
    batch.sprints += [sprint(s, site) for s in sprints if s["id"] not in site.known_sprints]
    return batch


def changelog_gap(changelog: Any) -> str | None:
    """Why an issue's changelog is known to be incomplete, or None when it is whole."""
    if not isinstance(changelog, dict):
        return None
    if CHANGELOG_UNKNOWN in changelog:
        return f"its changelog could not be read ({changelog[CHANGELOG_UNKNOWN]})"[:200]
    histories = changelog.get("histories") or []
    if int(changelog.get("total") or 0) > len(histories):
        return f"{len(histories)} of {changelog['total']} histories"
    return None


def page(issues: Iterable[Mapping[str, Any]], site: Site, fetched_at: datetime) -> Batch:
    """A page of whole issues -> one Batch. A malformed issue keeps its raw payload, gets a
    data-quality row, and is skipped; the rest of the page goes on."""
    batch = Batch()
    for payload in issues:
        entity_id = (payload.get("key") or payload.get("id")) if isinstance(payload, Mapping) else None
        entity_id = entity_id or "?"
        batch.raw.append(raw("issue", entity_id, payload, fetched_at, site.people))
        try:
            gap = changelog_gap(payload.get("changelog") if isinstance(payload, dict) else None)
            if gap:
                # Without the first change of each field the values set at creation are unknown:
                # say so rather than guess (the issue then has no creation events).
                batch.problems.append(problem("issue", entity_id, "changelog_incomplete",
                                              f"{gap}; values set at creation unknown"))
            batch.extend(issue(payload, site, whole_changelog=not gap))
        except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            batch.problems.append(problem("issue", entity_id, "malformed_issue", f"{type(exc).__name__}: {exc}"[:300]))
    # An issue's sprint seen on several issues is one row.
    batch.sprints = list({s["sprint_key"]: s for s in batch.sprints}.values())
    return batch
