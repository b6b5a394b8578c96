"""Pure: GitHub GraphQL issue and pull-request nodes -> items, events, raw rows and problems.

Status on GitHub is open or closed, plus what hints at work. The choices made here:

- closed is ``done``; its resolution is ``completed``, ``not_planned`` or ``duplicate`` from the
  issue's ``stateReason``, ``merged`` for a merged pull request, and ``not_planned`` for a pull
  request closed without merging (abandoned work, which metrics treat as dropped);
- open is ``new`` unless it shows a signal of work, then ``in_progress``: a Projects status that
  maps to in progress, an assignee plus a linked open pull request, a label from
  ``[github] in_progress_labels``, or being a pull request (an open pull request is work underway);
- ``[statuses]`` in the configuration overrides any of this by status name or id (the Projects
  status name, or ``open``/``closed``);
- a Projects status with no configured mapping counts as in progress unless its name reads like a
  backlog column (Todo, Backlog, New, Triage, Ready);
- with ``pseudonymize = true`` every login (actors, assignees, users in raw payloads) is stored hashed.

**Status events and where each start comes from.** Each status event's ``field`` names what gave it,
and the start of an item (its first entry into in progress or done) is read from that event, so
``issues()`` can tell exact starts from approximate ones:

============== ===========================================================================
field          the status event marks
============== ===========================================================================
assignee_pr    exact: the first instant an assignee and a linked open pull request both held
label          exact: an in-progress label was on (its LabeledEvent)
project_status approximate: the current Projects Status, dated at the value's ``updatedAt``
opened         a pull request's opening (a pull request is in progress while open)
state          a close or a reopen (a close with no start before it: straight to done)
============== ===========================================================================

How the history of each signal is rebuilt is in cadence/normalize/github_signals.py. The rules:

- each stretch between opening (or reopening) and closing is ``new`` until the first instant a
  signal holds in it, then ``in_progress`` until it closes. **Started stays started**: when the
  signal stops holding while the issue is open (its pull request closed unmerged or disconnected,
  its assignee or label removed), the issue stays in progress. A reopened issue is ``new`` again
  unless a signal holds at that instant; its start stays the first one (PRODUCT.md "Start");
- the derived ``assignee_pr`` and ``project_status`` events have no actor (nobody made that status
  change: two facts came together, or GitHub does not say who moved the card), so they never count
  as feedback; a ``label`` start carries whoever added the label;
- a current assignee that no Assigned/UnassignedEvent explains gets an assignee event at creation
  (field ``current``, ``initial``, no actor): the assignee the issue was created with, so their
  comments are not feedback;
- a pull request's (human) author gets an assignee event at its creation (field ``author``,
  ``initial``): the author does a pull request's work, so their own comments and close are no
  feedback;
- a closed issue whose timeline has no ClosedEvent is closed at its ``closedAt``
  (problem ``closed_without_event``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from cadence.config import Config
from cadence.normalize.github_items import instant, item_key, item_row, names, status_of  # noqa: F401 (status_of: API)
from cadence.normalize.github_signals import END, Span, first_entry, work_signals
from cadence.normalize.github_sprints import parse_time
from cadence.normalize.jira_fields import People
from cadence.records import Batch, Event, Problem, sprint_key

SOURCE = "github"


def actor_of(actor: dict[str, Any] | None) -> tuple[str | None, str]:
    """(login, kind): a Bot or a ``[bot]`` login is a bot; a deleted user (``ghost`` or null) unknown."""
    if not actor or not actor.get("login") or actor["login"] == "ghost":
        return None, "unknown"
    login = actor["login"]
    if actor.get("__typename") == "Bot" or login.endswith("[bot]"):
        return login, "bot"
    return login, "human"


def _event(node: dict[str, Any], key: str, kind: str, actor: dict[str, Any] | None, **columns: Any) -> Event:
    login, actor_kind = actor_of(actor)
    return Event(source=SOURCE, event_id=node["id"], key=key, occurred_at=node["createdAt"], kind=kind,
                 actor=login, actor_kind=actor_kind, **columns)


def _login(assignee: dict[str, Any] | None) -> str | None:
    return (assignee or {}).get("login")


class _Timeline:
    """Turns one item's timeline into events, tracking its status category as it goes."""

    def __init__(self, node: dict[str, Any], key: str, repo: str, milestones: dict[str, int] | None,
                 config: Config) -> None:
        self.node, self.key, self.repo, self.milestones, self.config = node, key, repo, milestones, config
        self.is_pr = "merged" in node
        self.category = "new"
        self.events: list[Event] = []
        self.problems: list[Problem] = []
        self.sprints: set[str] = set()

    def run(self) -> None:
        entries = self.entries()
        for entry in entries:
            handler = getattr(self, "on_" + entry.get("__typename", ""), None)
            if handler is not None:
                handler(entry)
        self.current_assignees(entries)
        self.current_milestone()
        if self.is_pr:
            self.pull_request_status(entries)
        else:
            self.issue_status(entries)

    def entries(self) -> list[dict[str, Any]]:
        """The readable timeline entries, oldest first (GitHub's order is kept for equal times)."""
        kept = []
        for entry in (t for t in (self.node.get("timelineItems") or {}).get("nodes") or [] if t):
            if not isinstance(entry.get("id"), str) or not entry.get("id") or not entry.get("createdAt"):
                self.problem("malformed_event", f"{entry.get('__typename')} without id or createdAt")
                continue
            try:
                instant(entry["createdAt"], required=True)
                instant(entry.get("submittedAt"))
            except ValueError as exc:
                self.problem("malformed_event", f"{entry.get('__typename')}: {exc}"[:300])
                continue
            kept.append(entry)
        return sorted(kept, key=lambda t: parse_time(t["createdAt"]))

    def problem(self, problem: str, detail: str) -> None:
        self.problems.append(Problem(source=SOURCE, entity="item", entity_id=self.key, problem=problem, detail=detail))

    def status(self, entry: dict[str, Any], to: str, category: str, field: str) -> None:
        """A status event from ``entry`` (a timeline item, or one made up with an id, time and actor)."""
        self.events.append(_event(entry, self.key, "status", entry.get("actor"), field=field,
                                  from_id="closed" if self.category == "done" else "open",
                                  from_value="closed" if self.category == "done" else "open",
                                  to_id=to, to_value=to, from_category=self.category, to_category=category))
        self.category = category

    # -- status ------------------------------------------------------------------------------
    def pull_request_status(self, entries: list[dict[str, Any]]) -> None:
        """A pull request is work in progress from its opening (field ``opened``) until it closes."""
        login, kind = actor_of(self.node.get("author"))
        self.events.append(Event(
            source=SOURCE, event_id=f"{self.node['id']}:opened", key=self.key, occurred_at=self.node["createdAt"],
            kind="status", field="opened", actor=login, actor_kind=kind, from_id=None, to_id="open",
            to_value="open", from_category=None, to_category="in_progress"))
        self.category = "in_progress"
        if login and kind == "human":
            # The author does the work of a pull request, as an assignee does for an issue: their own
            # comments and their closing it are no feedback (PRODUCT.md, "Observed feedback").
            self.events.append(Event(
                source=SOURCE, event_id=f"{self.node['id']}:author", key=self.key, occurred_at=self.node["createdAt"],
                kind="assignee", field="author", actor=None, actor_kind="unknown", to_value=login, initial=True))
        for e in entries:
            if e["__typename"] == "ClosedEvent":
                self.status(e, "closed", "done", "state")
            elif e["__typename"] == "ReopenedEvent":
                self.status(e, "open", "in_progress", "state")

    def issue_status(self, entries: list[dict[str, Any]]) -> None:
        """Status events of an issue: each stretch between opening (or reopening) and closing is new
        until its first signal of work, then in progress until it closes (see the module docstring)."""
        signals = work_signals(self.node, entries, {label.lower() for label in self.config.in_progress_labels},
                               self.config.statuses)
        stretch, since, is_open = 0, parse_time(self.node["createdAt"]), True
        for e in entries:
            at = parse_time(e["createdAt"])
            if e["__typename"] == "ClosedEvent":
                if is_open:
                    self.enter(signals, stretch, since, at)
                self.status(e, "closed", "done", "state")
                is_open = False
            elif e["__typename"] == "ReopenedEvent" and not is_open:
                stretch, since, is_open = stretch + 1, at, True
                entry = first_entry(signals, at, END)
                self.status(e, "open", "in_progress" if entry and entry.at == at else "new", "state")
        if is_open and self.node.get("state") == "CLOSED" and self.node.get("closedAt"):
            # The issue is closed, yet no ClosedEvent says when (a timeline cut short): close it at closedAt.
            self.enter(signals, stretch, since, parse_time(self.node["closedAt"]))
            self.status({"id": f"{self.node['id']}:closed", "createdAt": self.node["closedAt"], "actor": None},
                        "closed", "done", "state")
            self.problem("closed_without_event", f"closed at {self.node['closedAt']} with no ClosedEvent; dated at closedAt")
        elif is_open:
            self.enter(signals, stretch, since, END)

    def enter(self, signals: dict[str, list[Span]], stretch: int, since: datetime, until: datetime) -> None:
        """The new -> in progress event of one open stretch [since, until), at its first signal of work."""
        entry = first_entry(signals, since, until) if self.category == "new" else None
        if entry is None:
            return
        at = entry.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        actor = entry.span.actor if entry.at == entry.span.start else None  # a label added at that instant
        self.status({"id": f"{self.node['id']}:start:{stretch}", "createdAt": at, "actor": actor},
                    "open", "in_progress", entry.field)
        if entry.span.status:  # the Projects Status it entered, as the project sync names it
            self.events[-1]["to_value"], self.events[-1]["to_id"] = entry.span.status

    def current_assignees(self, entries: list[dict[str, Any]]) -> None:
        """A current assignee no event explains (a transferred issue) was assigned at creation: a
        creation value, with no actor, so it never counts as feedback."""
        explained = {_login(e.get("assignee")) for e in entries if e["__typename"] in ("AssignedEvent", "UnassignedEvent")}
        for login in names(self.node.get("assignees"), "login"):
            if login not in explained:
                self.events.append(Event(
                    source=SOURCE, event_id=f"{self.node['id']}:assignee:{login}", key=self.key,
                    occurred_at=self.node["createdAt"], kind="assignee", field="current", actor=None,
                    actor_kind="unknown", to_value=login, initial=True))

    # -- one handler per timeline type (status events are made in a pass of their own) ---------------
    def on_AssignedEvent(self, e: dict[str, Any]) -> None:
        self.events.append(_event(e, self.key, "assignee", e.get("actor"), to_value=_login(e.get("assignee"))))

    def on_UnassignedEvent(self, e: dict[str, Any]) -> None:
        self.events.append(_event(e, self.key, "assignee", e.get("actor"), from_value=_login(e.get("assignee"))))

    def on_LabeledEvent(self, e: dict[str, Any]) -> None:
        label = (e.get("label") or {}).get("name")
        self.events.append(_event(e, self.key, "label_added", e.get("actor"), to_value=label))

    def on_UnlabeledEvent(self, e: dict[str, Any]) -> None:
        label = (e.get("label") or {}).get("name")
        self.events.append(_event(e, self.key, "label_removed", e.get("actor"), from_value=label))

    def on_IssueComment(self, e: dict[str, Any]) -> None:
        self.events.append(_event(e, self.key, "comment", e.get("author"), text=e.get("body")))

    def on_PullRequestReview(self, e: dict[str, Any]) -> None:
        if e.get("state") == "PENDING":  # not submitted: nobody else has seen it
            return
        event = _event(e, self.key, "review", e.get("author"), to_value=e.get("state"), text=e.get("body"))
        event["occurred_at"] = e.get("submittedAt") or e["createdAt"]
        self.events.append(event)

    def _milestone_key(self, e: dict[str, Any]) -> str | None:
        if self.milestones is None:  # milestones are not this repository's sprints
            return None
        number = self.milestones.get(e.get("milestoneTitle") or "")
        if number is None:
            # Events carry the milestone's title at the time; a renamed or deleted one is not found.
            self.problem("unknown_milestone", f"milestone {e.get('milestoneTitle')!r} not found in {self.repo}")
            return None
        return sprint_key(SOURCE, number, scope=self.repo)

    def on_MilestonedEvent(self, e: dict[str, Any]) -> None:
        key = self._milestone_key(e)
        if key:
            self.sprints.add(key)
            self.events.append(_event(e, self.key, "sprint_added", e.get("actor"), field="milestone",
                                      to_id=key, to_value=e.get("milestoneTitle")))

    def on_DemilestonedEvent(self, e: dict[str, Any]) -> None:
        key = self._milestone_key(e)
        if key:
            self.sprints.discard(key)
            self.events.append(_event(e, self.key, "sprint_removed", e.get("actor"), field="milestone",
                                      from_id=key, from_value=e.get("milestoneTitle")))

    def current_milestone(self) -> None:
        """An item whose current milestone no event explains (a transferred issue) joins it at creation."""
        milestone = self.node.get("milestone")
        if self.milestones is None or not milestone:
            return
        key = sprint_key(SOURCE, milestone["number"], scope=self.repo)
        if key not in self.sprints:
            self.events.append(Event(
                source=SOURCE, event_id=f"{self.node['id']}:milestone:{milestone['number']}", key=self.key,
                occurred_at=self.node["createdAt"], kind="sprint_added", field="current", actor=None,
                actor_kind="unknown", to_id=key, to_value=milestone.get("title"), initial=True))
            self.problem("milestone_without_event", f"in {key} with no milestoned event; dated at creation")


def normalize_items(
    nodes: Iterable[dict[str, Any]],
    repo: str,
    team: str,
    config: Config,
    fetched_at: str,
    milestones: dict[str, int] | None = None,
) -> Batch:
    """Items, events, raw payloads and problems from issue or pull-request nodes of ``repo``.

    ``milestones`` maps milestone titles to numbers when milestones are this repository's sprints,
    and is None when they are not (a Projects v2 project supplies its sprints).
    A node that cannot be read is kept raw and reported as a problem; the rest go on.
    """
    batch = Batch()
    for node in nodes:
        if not isinstance(node, dict):
            batch.raw.append({"source": SOURCE, "entity": "issue", "entity_id": item_key(repo, "?"),
                              "fetched_at": fetched_at, "payload": node})
            batch.problems.append(Problem(source=SOURCE, entity="issue", entity_id=item_key(repo, "?"),
                                          problem="malformed", detail=f"not an object: {type(node).__name__}"))
            continue
        key = item_key(repo, node.get("number", node.get("id", "?")))
        entity = "pull_request" if "merged" in node else "issue"
        batch.raw.append({"source": SOURCE, "entity": entity, "entity_id": key, "fetched_at": fetched_at,
                          "payload": node})
        try:
            item = item_row(node, repo, team, config)
            timeline = _Timeline(node, key, repo, milestones, config)
            timeline.run()
            if item["status_category"] == "new" and timeline.category == "in_progress":
                item["status_category"] = "in_progress"  # started stays started while open
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            batch.problems.append(Problem(source=SOURCE, entity=entity, entity_id=key, problem="malformed",
                                          detail=f"{type(exc).__name__}: {exc}"[:300]))
            continue
        batch.items.append(item)
        batch.events += timeline.events
        batch.problems += timeline.problems
    return pseudonymized(batch, People(True)) if config.pseudonymize else batch


def pseudonymized(batch: Batch, people: People) -> Batch:
    """The batch with every login hashed: actors, assignees, and the users in raw payloads.

    Bot and ghost detection ran on the real login before this. Free text (comments) is kept.
    """
    for item in batch.items:
        item["assignees"] = [people.hide(a) for a in item.get("assignees") or []]
    for event in batch.events:
        event["actor"] = people.hide(event.get("actor"))
        if event["kind"] == "assignee":
            event["from_value"], event["to_value"] = people.hide(event.get("from_value")), people.hide(event.get("to_value"))
    for raw in batch.raw:
        raw["payload"] = _scrub(raw["payload"], people)
    return batch


def _scrub(payload: Any, people: People) -> Any:
    if isinstance(payload, list):
        return [_scrub(v, people) for v in payload]
    if not isinstance(payload, dict):
        return payload
    return {k: people.hide(v) if k == "login" else _scrub(v, people) for k, v in payload.items()}
