"""Pure: when an open GitHub issue showed a signal of work, as spans of time rebuilt from its timeline.

PRODUCT.md's signals of work, and where their history comes from:

- ``assignee_pr`` (exact): an assignee plus a linked open pull request, from the first instant
  both hold.

  - Assignees come from AssignedEvent/UnassignedEvent. A person whose first event unassigns them,
    and a current assignee that no event explains, held the issue from its creation (the values an
    issue was created with, as for Jira).
  - A pull request is linked from a CrossReferencedEvent that will close the issue
    (``willCloseTarget``); between a ConnectedEvent and its DisconnectedEvent (a DisconnectedEvent
    with no ConnectedEvent before it: from the pull request's creation); and from its creation when
    it is among the issue's closing references (``closedByPullRequestsReferences``) and no current
    manual link explains that (the closing keyword was in its description).
  - A pull request is open from its ``createdAt`` to its merge or close. GitHub gives only the last
    close, so one closed and reopened counts as open in between. A draft counts as open.
- ``label`` (exact): an in-progress label from ``[github] in_progress_labels``, from its LabeledEvent
  to its UnlabeledEvent. A current label that no event explains holds from creation.
- ``project_status`` (approximate): GitHub keeps only the current Projects v2 Status. One that reads
  as work (in progress, or done on a card of an open issue) holds from the value's ``updatedAt``,
  which is the change itself only if nothing changed the value since.

A GitHub time is an instant to the second; spans are half-open, [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from cadence.normalize.github_sprints import parse_time, project_status_category

END = datetime.max.replace(tzinfo=timezone.utc)
# Exact signals first: at the same instant, the start is credited to the one that is not approximate.
FIELDS = ("assignee_pr", "label", "project_status")


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    actor: dict[str, Any] | None = None  # whose action opened the span, when it was one action
    status: tuple[str, str] | None = None  # (name, option id) of a Projects Status span


@dataclass(frozen=True)
class Entry:
    """The first instant in a window at which a signal holds."""

    at: datetime
    field: str
    span: Span


def _login(value: Any) -> str | None:
    return value.get("login") if isinstance(value, dict) else None


def _when(value: Any) -> datetime | None:
    """A GitHub time, or None for anything unreadable (a bad linked record loses only its own link)."""
    try:
        return parse_time(value)
    except (TypeError, ValueError, AttributeError):
        return None


def _toggled(changes: Iterable[tuple[datetime, bool, dict[str, Any] | None]], created: datetime,
             held_now: bool) -> list[Span]:
    """Spans of one on/off fact (a person assigned, a label on) from its (time, on, actor) changes.

    A first change that turns it off means it held from ``created``; with no change at all it
    holds from ``created`` when it holds now.
    """
    spans: list[Span] = []
    since: tuple[datetime, dict[str, Any] | None] | None = None
    seen = False
    for at, on, actor in sorted(changes, key=lambda c: c[0]):
        if on and since is None:
            since = (at, actor)
        elif not on and since is not None:
            spans.append(Span(since[0], at, since[1]))
            since = None
        elif not on and not seen:
            spans.append(Span(created, at))
        seen = True
    if since is not None:
        spans.append(Span(since[0], END, since[1]))
    elif not seen and held_now:
        spans.append(Span(created, END))
    return spans


def _facts(entries: list[dict[str, Any]], on_type: str, off_type: str, name_of) -> dict[str, list]:
    changes: dict[str, list] = {}
    for e in entries:
        if e["__typename"] in (on_type, off_type):
            name = name_of(e)
            if name:
                changes.setdefault(name, []).append((parse_time(e["createdAt"]), e["__typename"] == on_type, e.get("actor")))
    return changes


def assignee_spans(entries: list[dict[str, Any]], created: datetime, current: Iterable[str]) -> list[Span]:
    """When someone was assigned, per person (the spans of different people may overlap)."""
    changes = _facts(entries, "AssignedEvent", "UnassignedEvent", lambda e: _login(e.get("assignee")))
    now = set(current)
    return [s for person in set(changes) | now for s in _toggled(changes.get(person, []), created, person in now)]


def label_spans(entries: list[dict[str, Any]], created: datetime, current: Iterable[str],
                names: set[str]) -> list[Span]:
    """When an in-progress label (one of ``names``, lower case) was on the issue."""
    def progress_label(e: dict[str, Any]) -> str | None:
        label = e.get("label")
        name = label.get("name") if isinstance(label, dict) else None
        return name.lower() if isinstance(name, str) and name.lower() in names else None

    changes = _facts(entries, "LabeledEvent", "UnlabeledEvent", progress_label)
    now = {n.lower() for n in current if n.lower() in names}
    return [s for label in set(changes) | now for s in _toggled(changes.get(label, []), created, label in now)]


def _pull_request(entry: dict[str, Any], own_id: str) -> dict[str, Any] | None:
    for side in ("source", "subject"):
        other = entry.get(side)
        if isinstance(other, dict) and other.get("__typename") == "PullRequest" and isinstance(other.get("id"), str) \
                and other["id"] != own_id and _when(other.get("createdAt")):
            return other
    return None


def open_span(pr: Mapping[str, Any]) -> Span | None:
    """[createdAt, merge or close) of a pull request; None when its times cannot be read."""
    opened = _when(pr.get("createdAt"))
    if opened is None:
        return None
    if pr.get("state") == "OPEN":
        return Span(opened, END)
    ended = _when(pr.get("mergedAt") or pr.get("closedAt"))
    return Span(opened, ended) if ended is not None and ended > opened else None


def linked_open_pr_spans(entries: list[dict[str, Any]], closed_by: Iterable[dict[str, Any]], own_id: str) -> list[Span]:
    """When some pull request was both linked to the issue and open."""
    prs: dict[str, dict[str, Any]] = {}
    links: dict[str, list[Span]] = {}
    manual: dict[str, list] = {}
    for e in entries:
        pr = _pull_request(e, own_id) if e["__typename"] in ("CrossReferencedEvent", "ConnectedEvent", "DisconnectedEvent") else None
        if pr is None:
            continue
        prs.setdefault(pr["id"], pr)
        at = parse_time(e["createdAt"])
        if e["__typename"] == "CrossReferencedEvent":
            if e.get("willCloseTarget"):
                links.setdefault(pr["id"], []).append(Span(at, END, e.get("actor")))
        else:
            manual.setdefault(pr["id"], []).append((at, e["__typename"] == "ConnectedEvent", e.get("actor")))
    for pr_id, changes in manual.items():
        links.setdefault(pr_id, []).extend(_toggled(changes, _when(prs[pr_id]["createdAt"]), False))
    for pr in closed_by:
        if not isinstance(pr, dict) or not isinstance(pr.get("id"), str) or not _when(pr.get("createdAt")):
            continue
        prs.setdefault(pr["id"], pr)
        changes = sorted(manual.get(pr["id"], []), key=lambda c: c[0])
        if not (changes and changes[-1][1]):  # not explained by a manual link that still holds
            links.setdefault(pr["id"], []).append(Span(_when(pr["createdAt"]), END))
    spans: list[Span] = []
    for pr_id, linked in links.items():
        opened = open_span(prs[pr_id])
        if opened is not None:
            spans += intersect(linked, [opened])
    return spans


def project_spans(node: dict[str, Any], statuses: Mapping[str, str]) -> list[Span]:
    """From the ``updatedAt`` of a current Projects Status that reads as work."""
    spans = []
    for project_item in (node.get("projectItems") or {}).get("nodes") or []:
        value = project_item.get("status") if isinstance(project_item, dict) else None
        if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not _when(value.get("updatedAt")):
            continue
        option = value.get("optionId") if isinstance(value.get("optionId"), str) else None
        if project_status_category(value["name"], option, statuses) in ("in_progress", "done"):
            spans.append(Span(_when(value["updatedAt"]), END, status=(value["name"], option or value["name"])))
    return spans


def intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """Where a span of ``a`` and one of ``b`` overlap; no actor (two facts came together)."""
    return [Span(max(x.start, y.start), min(x.end, y.end)) for x in a for y in b if max(x.start, y.start) < min(x.end, y.end)]


def first_entry(signals: Mapping[str, list[Span]], start: datetime, end: datetime) -> Entry | None:
    """The first instant in [start, end) at which any signal holds, and which signal it was."""
    best: Entry | None = None
    for field in FIELDS:
        for span in signals.get(field, []):
            at = max(span.start, start)
            if at < min(span.end, end) and (best is None or at < best.at):
                best = Entry(at, field, span)
    return best


def work_signals(node: dict[str, Any], entries: list[dict[str, Any]], in_progress_labels: set[str],
                 statuses: Mapping[str, str]) -> dict[str, list[Span]]:
    """Every signal of work of issue ``node`` as spans, by the ``field`` its status event carries."""
    created = parse_time(node["createdAt"])
    current = [n["login"] for n in (node.get("assignees") or {}).get("nodes") or [] if n and n.get("login")]
    labels = [n["name"] for n in (node.get("labels") or {}).get("nodes") or [] if n and n.get("name")]
    closed_by = (node.get("closedByPullRequestsReferences") or {}).get("nodes") or []
    return {
        "assignee_pr": intersect(assignee_spans(entries, created, current),
                                 linked_open_pr_spans(entries, closed_by, node["id"])),
        "label": label_spans(entries, created, labels, in_progress_labels),
        "project_status": project_spans(node, statuses),
    }
