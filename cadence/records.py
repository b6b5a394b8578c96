"""The domain records that normalisers produce and the warehouse stores.

Times are timezone-aware ``datetime`` objects (or ISO-8601 strings with an offset), always
instants: nothing is cut to a date except ``due_date``.

Event kinds and what their columns hold:

============== ====================================================================
kind           columns
============== ====================================================================
status         from_id/to_id: status ids; from_value/to_value: names;
               from_category/to_category: new | in_progress | done when the source says;
               field: on GitHub, what gave the change (cadence/normalize/github.py):
               assignee_pr (exact: an assignee plus a linked open pull request),
               label (exact: an in-progress label), project_status (approximate: the
               current Projects Status at its updatedAt), opened (a pull request's
               opening), state (a close or reopen)
sprint_added   to_id: the sprint_key the item entered
sprint_removed from_id: the sprint_key the item left
assignee       from_value: person removed (or NULL); to_value: person added (or NULL)
estimate       field: story_points | original_estimate_h; from_value/to_value: numbers
comment        text: the comment body
review         text: the review body; to_value: the review state
label_added    to_value: the label
label_removed  from_value: the label
worklog        to_value: hours logged
============== ====================================================================

``initial`` marks the values an item was created with (status, sprint membership, assignee,
labels, estimates), dated at ``created`` with no actor. Jira's changelog never records them
(PRODUCT.md, "What the sources never say"); they are rebuilt from the ``from`` of each field's
first change, or from the current value of a field that never changed. They are never feedback.
On GitHub (field ``current``): a current assignee, or milestone, that no timeline event explains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypedDict

Category = Literal["new", "in_progress", "done"]
ActorKind = Literal["human", "bot", "unknown"]

EVENT_KINDS = (
    "status",
    "sprint_added",
    "sprint_removed",
    "assignee",
    "estimate",
    "comment",
    "review",
    "label_added",
    "label_removed",
    "worklog",
)
CATEGORIES = ("new", "in_progress", "done")
# Put in a fetched Jira changelog whose histories could not be read: the values set at creation
# are then unknown, and the normaliser says so instead of guessing.
CHANGELOG_UNKNOWN = "_cadence_changelog_unknown"
ACTOR_KINDS = ("human", "bot", "unknown")
SPRINT_STATES = ("future", "active", "closed")

Time = datetime | str | None


class Team(TypedDict, total=False):
    team: str
    source: str
    scope: str | None
    synthetic: bool


class Sprint(TypedDict, total=False):
    sprint_key: str
    source: str
    sprint_id: str
    team: str | None
    name: str | None
    state: str | None
    goal: str | None
    planned_start: Time
    planned_end: Time
    actual_start: Time
    completed_at: Time
    board_id: str | None


class Item(TypedDict, total=False):
    source: str
    key: str
    team: str | None
    type: str | None
    summary: str | None
    description: str | None
    url: str | None
    created: Time
    updated: Time
    resolved: Time
    status: str | None
    status_id: str | None
    status_category: str | None
    resolution: str | None
    labels: list[str]
    assignees: list[str]
    original_estimate_h: float | None
    time_spent_h: float | None
    due_date: date | str | None
    story_points: float | None


class Event(TypedDict, total=False):
    source: str
    event_id: str
    key: str
    occurred_at: Time
    kind: str
    actor: str | None
    actor_kind: str | None
    field: str | None
    from_id: str | None
    from_value: str | None
    to_id: str | None
    to_value: str | None
    from_category: str | None
    to_category: str | None
    text: str | None
    initial: bool | None


class Status(TypedDict):
    source: str
    status_id: str
    name: str | None
    category: str | None


class Snapshot(TypedDict):
    sprint_key: str
    source: str
    key: str
    seen_at: Time


class Raw(TypedDict):
    source: str
    entity: str
    entity_id: str
    fetched_at: Time
    payload: Any  # any JSON-serialisable value; stored as JSON


class Problem(TypedDict, total=False):
    source: str
    entity: str
    entity_id: str
    problem: str
    detail: str | None


class SprintReport(TypedDict, total=False):
    """Jira's own Sprint Report of one closed sprint, as fetched (greenhopper ``sprintreport``)."""

    sprint_key: str
    source: str
    sprint_id: str
    board_id: str
    fetched_at: Time
    status: str  # parsed | unparsed (the body is no report we know; kept raw) | refused
    problem: str | None
    report_state: str | None  # the report's own sprint.state, e.g. CLOSED
    estimate_field: str | None  # statFieldId of the estimates: a story-point field or timeoriginalestimate
    completed_initial_sum: float | None
    completed_sum: float | None
    not_completed_initial_sum: float | None
    not_completed_sum: float | None
    punted_initial_sum: float | None
    punted_sum: float | None
    other_sprint_initial_sum: float | None
    other_sprint_sum: float | None
    all_issues_sum: float | None
    added_keys: list[str]  # issueKeysAddedDuringSprint, as Jira gave it


class SprintReportIssue(TypedDict, total=False):
    """One issue in a Sprint Report section: completed | not_completed | punted | completed_in_another_sprint."""

    sprint_key: str
    section: str
    key: str
    issue_id: str | None
    added_during_sprint: bool
    type_name: str | None
    status_id: str | None
    status_name: str | None
    done: bool | None
    hidden: bool | None
    estimate_initial: float | None  # estimateStatistic: at the sprint's start, or when added
    estimate_current: float | None  # currentEstimateStatistic: the estimate as the report gives it now


@dataclass
class Batch:
    """Rows that are saved together, in one transaction, with the sync cursor that covers them."""

    teams: list[Team] = field(default_factory=list)
    sprints: list[Sprint] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    raw: list[Raw] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def extend(self, other: "Batch") -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))

    def __len__(self) -> int:
        return sum(len(getattr(self, name)) for name in self.__dataclass_fields__)


def sprint_key(source: str, sprint_id: str | int, scope: str | None = None) -> str:
    """The warehouse-wide key of a sprint: ``source:sprint_id``, or ``source:scope:sprint_id``
    where the source's ids are only unique within a scope (GitHub milestone numbers)."""
    return f"{source}:{scope}:{sprint_id}" if scope else f"{source}:{sprint_id}"
