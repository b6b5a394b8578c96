#!/usr/bin/env python3
"""Generate cadence's SYNTHETIC demo data in the neutral import format (docs/neutral-format.md).

Every record is invented: four fictional teams, fake first names, made-up work. The generator uses
``random.Random(SEED)`` only and never reads the clock, so every run writes byte-identical files::

    python data/generate_demo.py             # rewrites data/demo/*.jsonl
    python data/generate_demo.py --out DIR   # writes the same files into DIR

What the data holds, and why, is in data/README.md. Nothing happens after ``HORIZON``: the sprint
running then is active, the one after it (for two teams) is future, and all earlier ones are closed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

SEED = 20261120
SOURCE = "demo"
UTC = timezone.utc
HORIZON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
RENAMED_AT = datetime(2026, 7, 1, tzinfo=UTC)  # "In Review" was renamed "Code Review" (same id)
OUT_DIR = Path(__file__).resolve().parent / "demo"
URL = "https://tracker.demo.invalid/browse/"
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# key -> (status_id, current name, category)
STATUSES = {
    "todo": ("10000", "To Do", "new"),
    "doing": ("10001", "In Progress", "in_progress"),
    "review": ("10002", "Code Review", "in_progress"),
    "blocked": ("10003", "Blocked", "in_progress"),
    "done": ("10004", "Done", "done"),
}
EVENT_COLUMNS = ("actor", "actor_kind", "field", "from_id", "from_value", "to_id", "to_value",
                 "from_category", "to_category", "text")


@dataclass(frozen=True)
class Phase:
    start: date  # the Monday the phase's first sprint starts
    length_days: int
    feedback_h: float  # median hours from starting an item to a teammate's first comment
    learning_p: float  # chance that a week brings a marker comment ("Learning:", "Outcome:", ...)


@dataclass(frozen=True)
class TeamPlan:
    name: str
    prefix: str
    people: tuple[str, ...]  # the first is the lead, who plans and closes sprints
    phases: tuple[Phase, ...]
    items_per_week: float
    spike_share: float
    story_days: float  # median calendar days from start to done of a story
    spike_overrun: float  # median actual / timebox of a spike
    late_close_p: float
    logs_work: bool
    future_sprint: bool
    topics: tuple[str, ...]


TEAMS = (
    TeamPlan("Vision (synthetic)", "VIS", ("alice", "bob", "carol", "dmitri", "erin"),
             phases=(Phase(date(2026, 3, 23), 7, feedback_h=9.0, learning_p=0.8),),
             items_per_week=9.0, spike_share=0.12, story_days=1.5, spike_overrun=0.9, late_close_p=0.06,
             logs_work=False, future_sprint=True,
             topics=("augmentation pipeline", "detector head", "labelling tool", "eval harness", "image cache")),
    TeamPlan("Ranking (synthetic)", "RNK", ("frank", "grace", "heidi", "ivan", "judy", "karl"),
             phases=(Phase(date(2026, 3, 2), 14, feedback_h=22.0, learning_p=0.5),),
             items_per_week=9.0, spike_share=0.08, story_days=2.8, spike_overrun=1.15, late_close_p=0.12,
             logs_work=True, future_sprint=False,
             topics=("feature store", "candidate generator", "click model", "A/B dashboard", "reranker")),
    TeamPlan("Forecast (synthetic)", "FCT", ("liam", "mona", "nadia", "oscar", "peggy"),
             phases=(Phase(date(2026, 2, 23), 21, feedback_h=38.0, learning_p=0.35),),
             items_per_week=8.0, spike_share=0.07, story_days=4.0, spike_overrun=1.4, late_close_p=0.25,
             logs_work=False, future_sprint=True,
             topics=("demand model", "backfill job", "holiday features", "quantile loss", "forecast API")),
    TeamPlan("Speech (synthetic)", "SPH", ("quinn", "rosa", "sam", "tariq", "uma", "victor"),
             phases=(Phase(date(2026, 2, 23), 14, feedback_h=26.0, learning_p=0.5),
                     Phase(date(2026, 7, 13), 7, feedback_h=12.0, learning_p=0.8)),
             items_per_week=9.0, spike_share=0.1, story_days=2.5, spike_overrun=1.1, late_close_p=0.1,
             logs_work=False, future_sprint=False,
             topics=("ASR decoder", "diarisation", "audio loader", "WER report", "wake-word model")),
)

STORY = ("Add {t} metrics to the nightly run", "Refactor the {t} config", "Support batch mode in the {t}",
         "Document the {t} interface", "Speed up the {t}", "Add tests for the {t}", "Expose {t} results to the UI")
BUG = ("{t} crashes on empty input", "Wrong units in the {t} output", "{t} leaks memory on long runs",
       "Flaky test in the {t}", "{t} ignores the retry setting", "Off-by-one in the {t} window")
SPIKE = ("Spike: can a smaller model replace the {t}?", "Spike: profile the {t}",
         "Spike: evaluate a new library for the {t}", "Spike: is the {t} worth caching?")
PROGRESS = ("Pushed a first draft.", "Halfway there, the tests need more fixtures.", "Rebased on main.",
            "Split this into two commits for the review.", "Waiting on the data snapshot, picking it up tomorrow.")
FEEDBACK = ("Looks good so far. Did you check the edge case with no rows?", "Can we keep the old flag for a release?",
            "I tried it on my branch: works, but it is slower on the 10k set.", "Nice. Please add a note to the changelog.",
            "Could you share the numbers before we merge?", "This overlaps with what I did last sprint, happy to pair.")
MARKERS = (("Learning", 0.55), ("Outcome", 0.3), ("Decision", 0.15))
FINDINGS = ("mixed precision halves the step time with no loss in recall", "the {t} is I/O bound, not CPU bound",
            "caching the {t} saves about 20 minutes per run", "the baseline beats the new {t} on small data",
            "label noise explains most of the gap on the hard slice", "we keep the {t} as it is: the new one is not better",
            "retries hide the real failure in the {t}; log the first error", "two-stage training is not worth its cost here")


@dataclass
class Sprint:
    sprint_id: str
    number: int
    phase: Phase
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None = None
    completed_at: datetime | None = None
    state: str = "closed"


@dataclass
class Item:
    team: TeamPlan
    type: str
    summary: str
    created: datetime
    labels: list[str] = field(default_factory=list)  # at creation; later changes are events
    story_points: float | None = None  # at creation
    due_date: date | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    status: str = "todo"
    key: str = ""
    entry: tuple[int, datetime] | None = None  # (sprint index, when added) of the first sprint
    removal: tuple[datetime, bool] | None = None  # (when, moved to the next sprint) if taken out mid-sprint
    dropped: bool = False  # closed as "Won't Do"

    def event(self, t: datetime, kind: str, actor: str | None, **columns: Any) -> None:
        kind_of_actor = "bot" if actor and actor.endswith("-bot") else "human" if actor else "unknown"
        self.events.append({"_t": t, "kind": kind, "actor": actor, "actor_kind": kind_of_actor, **columns})

    def move(self, t: datetime, to: str, actor: str) -> None:
        """A status change, named as the status was called at that time."""
        (from_id, _, from_cat), (to_id, _, to_cat) = STATUSES[self.status], STATUSES[to]
        self.event(t, "status", actor, from_id=from_id, from_value=status_name(self.status, t), from_category=from_cat,
                   to_id=to_id, to_value=status_name(to, t), to_category=to_cat)
        self.status = to

    def category_at(self, t: datetime) -> str:
        changes = [e for e in self.events if e["kind"] == "status" and e["_t"] <= t]
        return max(changes, key=lambda e: e["_t"])["to_category"] if changes else "new"


def status_name(key: str, t: datetime) -> str:
    return "In Review" if key == "review" and t < RENAMED_AT else STATUSES[key][1]


def working(t: datetime) -> datetime:
    """Move a human action outside office hours (Mon-Fri 08-19 UTC) to the next morning."""
    if t.weekday() < 5 and 8 <= t.hour < 19:
        return t
    day = t.date() + timedelta(days=1 if t.hour >= 19 or t.weekday() >= 5 else 0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(8), UTC) + MIN * (t.minute + 60 * (t.hour % 3))


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    return a + (b - a) * rng.random() if b > a else a


def build_sprints(plan: TeamPlan, rng: random.Random, first_id: int) -> list[Sprint]:
    """Back-to-back sprints from each phase's start; the one running at HORIZON is active."""
    sprints: list[Sprint] = []
    for i, phase in enumerate(plan.phases):
        last = i + 1 == len(plan.phases)
        until = HORIZON.date() + timedelta(days=phase.length_days) if last else plan.phases[i + 1].start
        start = datetime.combine(phase.start, time(9), UTC)
        while start.date() < until:
            end = start + DAY * phase.length_days
            sprints.append(Sprint(str(first_id + len(sprints)), len(sprints) + 1, phase, start, end))
            start = end
    previous_close = None
    for sprint in sprints:
        sprint.actual_start = sprint.planned_start + MIN * rng.randint(0, 90)
        if previous_close and sprint.actual_start <= previous_close:
            sprint.actual_start = previous_close + MIN * rng.randint(10, 60)
        if sprint.planned_end > HORIZON:
            sprint.state = "active"
            break
        if rng.random() < plan.late_close_p:
            close = working(sprint.planned_end + DAY * rng.uniform(1, 3))
        else:
            close = sprint.planned_end + MIN * rng.randint(-180, 60)
        sprint.completed_at = previous_close = min(close, HORIZON - HOUR)
    cut = next(i for i, s in enumerate(sprints) if s.state == "active")
    future = sprints[cut + 1: cut + 2] if plan.future_sprint else []
    for sprint in future:
        sprint.state, sprint.actual_start = "future", None
    return sprints[: cut + 1] + future


def new_item(plan: TeamPlan, rng: random.Random, created: datetime, kind: str | None = None) -> Item:
    kind = kind or rng.choices(("Story", "Bug", "Spike"), (0.66 - plan.spike_share / 2, 0.34 - plan.spike_share / 2,
                                                             plan.spike_share))[0]
    template = rng.choice({"Story": STORY, "Bug": BUG, "Spike": SPIKE}[kind])
    item = Item(plan, kind, template.format(t=rng.choice(plan.topics)), created)
    if kind == "Bug":
        item.labels.append("needs-triage")
        if rng.random() < 0.25:
            item.due_date = (created + DAY * rng.randint(3, 20)).date()
    elif kind == "Story":
        if rng.random() < 0.35:
            item.story_points = rng.choice((1, 2, 3, 3, 5, 5, 8))
        if rng.random() < 0.06:
            item.due_date = (created + DAY * rng.randint(10, 40)).date()
    if rng.random() < 0.2:
        item.labels.append(rng.choice(("data", "infra", "customer", "tech-debt")))
    return item


def refine(item: Item, rng: random.Random, t_add: datetime) -> None:
    """Estimates and labels given before the item enters a sprint."""
    lead = item.team.people[0]
    when = between(rng, item.created, t_add - 2 * MIN)
    if item.type == "Story" and item.story_points is None:
        points = rng.choice((1, 2, 3, 3, 5, 5, 8, 13))
        item.event(when, "estimate", lead, field="story_points", from_value=None, to_value=points)
    if item.type != "Spike" and rng.random() < 0.3:
        hours = rng.choice((4, 8, 8, 12, 16, 24, 40))
        item.event(when + MIN, "estimate", lead, field="original_estimate_h", from_value=None, to_value=hours)
    if "needs-triage" in item.labels:
        item.event(t_add - MIN, "label_removed", lead, from_value="needs-triage")
    if item.type == "Spike" and rng.random() < 0.85:
        label = rng.choice(("timebox:3d", "timebox:16h", "timebox:2d", "timebox:1w", "timebox:24h"))
        if rng.random() < 0.5:
            item.labels.append(label)
        else:
            item.event(when, "label_added", lead, to_value=label)


def timebox_days(item: Item) -> float | None:
    labels = item.labels + [e["to_value"] for e in item.events if e["kind"] == "label_added"]
    for label in labels:
        if label.startswith("timebox:"):
            number, unit = float(label[8:-1]), label[-1]
            return number * {"h": 1 / 24, "d": 1, "w": 7}[unit]
    return None


def work(item: Item, rng: random.Random, phase: Phase, begin: datetime) -> None:
    """Assign, start, review and finish an item from ``begin``; may reopen it."""
    plan, people = item.team, item.team.people
    owner = rng.choice(people[1:] if rng.random() < 0.85 else people)
    peers = [p for p in people if p != owner]
    start = working(begin)
    item.event(max(item.created + MIN, min(working(start - HOUR * rng.uniform(0, 20)), start)), "assignee",
               rng.choice((owner, people[0])), from_value=None, to_value=owner)
    if item.type == "Bug" and rng.random() < 0.04:  # fixed on the spot: straight to done, flagged by metrics
        item.move(start, "done", owner)
        return
    item.move(start, "doing", owner)
    if item.type == "Spike":
        box = timebox_days(item) or 2.0
        span = box * lognormal(rng, plan.spike_overrun, 0.45)
    else:
        span = lognormal(rng, plan.story_days * (0.6 if item.type == "Bug" else 1.0), 0.7)
    first_feedback = HOUR * lognormal(rng, phase.feedback_h, 0.9)
    if rng.random() < 0.88:
        item.event(working(start + first_feedback), "comment", rng.choice(peers), text=rng.choice(FEEDBACK))
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        item.event(working(between(rng, start, start + DAY * span)), "comment", owner, text=rng.choice(PROGRESS))
    for _ in range(rng.choice((0, 1, 1, 2, 2))):
        later = start + first_feedback + DAY * span * rng.random()
        item.event(working(later), "comment", rng.choice(peers), text=rng.choice(FEEDBACK))
    if rng.random() < 0.15:  # discussed before anyone started: not feedback on the work
        item.event(between(rng, item.created, start - MIN), "comment", rng.choice(peers), text="Is this still needed?")
    if rng.random() < 0.04:
        owner = reassign(item, rng, start + DAY * span * 0.3, owner)
        peers = [p for p in people if p != owner]
    end = finish(item, rng, phase, owner, peers, start, span)
    if item.type != "Spike" and rng.random() < 0.05:
        reopen(item, rng, phase, owner, peers, end)


def reassign(item: Item, rng: random.Random, t: datetime, owner: str) -> str:
    other = rng.choice([p for p in item.team.people if p != owner])
    item.event(working(t), "assignee", item.team.people[0], from_value=owner, to_value=other)
    return other


def finish(item: Item, rng: random.Random, phase: Phase, owner: str, peers: list[str],
           start: datetime, span: float) -> datetime:
    """Review (when the work goes through one) and done; returns the done time."""
    t = working(start + DAY * span * rng.uniform(0.55, 0.8))
    if rng.random() < 0.08:
        item.move(t, "blocked", owner)
        t = working(t + DAY * rng.uniform(0.5, 3))
        item.move(t, "doing", owner)
        t = working(t + HOUR * rng.uniform(1, 8))
    reviewed = item.type != "Spike" or rng.random() < 0.3
    closer = owner
    if reviewed:
        item.move(t, "review", owner)
        for build in range(rng.choice((0, 1, 1, 2, 3))):
            ok = rng.random() < 0.85
            item.event(t + MIN * rng.randint(4, 40) + build * HOUR, "comment", "ci-bot",
                       text=f"CI build #{rng.randint(1000, 9999)} {'passed' if ok else 'failed'}: "
                            f"{rng.randint(80, 400)} tests, coverage {rng.randint(62, 91)}%.")
        if rng.random() < 0.7:
            closer = rng.choice(peers)
            for state in ("CHANGES_REQUESTED", "APPROVED") if rng.random() < 0.3 else ("APPROVED",):
                t = working(t + HOUR * lognormal(rng, phase.feedback_h * 0.6, 0.8))
                body = "Please split the migration out." if state != "APPROVED" else "LGTM."
                item.event(t, "review", closer, text=body, to_value=state)
    t = working(max(t + 10 * MIN, start + DAY * span))
    if item.type == "Spike" and rng.random() < 0.55:
        item.event(t - 5 * MIN, "comment", owner, text=marker_text(rng, item, "Outcome"))
    item.move(t, "done", closer)
    if rng.random() < 0.1:
        item.event(t + HOUR * rng.uniform(1, 30), "comment", "release-bot", text="Released in the nightly build.")
    return t


def reopen(item: Item, rng: random.Random, phase: Phase, owner: str, peers: list[str], done: datetime) -> None:
    t = working(done + HOUR * rng.uniform(2, 60))
    reporter = rng.choice(peers)
    item.event(t, "comment", reporter, text="Reopening: the fix does not cover the streaming path.")
    item.move(t + MIN, "doing", reporter)
    finish(item, rng, phase, owner, peers, t + 2 * MIN, lognormal(rng, 1.0, 0.6))


def marker_text(rng: random.Random, item: Item, marker: str | None = None) -> str:
    if marker is None:
        marker = rng.choices([m for m, _ in MARKERS], [w for _, w in MARKERS])[0]
    finding = rng.choice(FINDINGS).format(t=rng.choice(item.team.topics))
    return f"{rng.choice(PROGRESS)}\n{marker}: {finding}."


def started_at(item: Item) -> datetime | None:
    return next((e["_t"] for e in item.events if e["kind"] == "status" and e["from_category"] == "new"), None)


def done_at(item: Item) -> datetime:
    """The last entry into done, or the end of time for unfinished work."""
    last = max((e for e in item.events if e["kind"] == "status"), key=lambda e: e["_t"], default=None)
    return last["_t"] if last and last["to_category"] == "done" else datetime.max.replace(tzinfo=UTC)


def owner_at(item: Item, t: datetime) -> str | None:
    changes = [e for e in item.events if e["kind"] == "assignee" and e["_t"] <= t]
    return max(changes, key=lambda e: e["_t"])["to_value"] if changes else None


def after_work(item: Item, rng: random.Random) -> None:
    """Worklogs (teams that log time) and story points raised once the work shows its size."""
    start, end = started_at(item), done_at(item)
    if start is None:
        return
    owner = owner_at(item, start) or item.team.people[0]
    estimate = next((e["to_value"] for e in item.events if e.get("field") == "original_estimate_h"), None)
    if item.team.logs_work and estimate:
        stop = min(end, start + 30 * DAY)
        for _ in range(rng.randint(1, 4)):
            hours = round(estimate * lognormal(rng, 0.45, 0.5), 1)
            item.event(working(between(rng, start, stop)), "worklog", owner, to_value=hours)
    points = next((e["to_value"] for e in item.events if e.get("field") == "story_points"), item.story_points)
    if points and rng.random() < 0.08:
        bigger = {1: 2, 2: 3, 3: 5, 5: 8, 8: 13, 13: 21}[points]
        item.event(working(start + HOUR * rng.uniform(2, 30)), "estimate", owner, field="story_points",
                   from_value=points, to_value=bigger)


def sprint_items(plan: TeamPlan, rng: random.Random, sprints: list[Sprint], i: int) -> list[Item]:
    """Items committed at the start of sprint ``i`` and items added to it mid-sprint."""
    sprint = sprints[i]
    length = DAY * sprint.phase.length_days
    close = sprint.completed_at or HORIZON
    items = []
    for _ in range(round(plan.items_per_week * length / (7 * DAY) * rng.uniform(0.75, 1.1))):
        if rng.random() < 0.7:  # at the planning meeting, just before the sprint is started
            t_add = sprint.actual_start - MIN * rng.randint(15, 100)
        else:  # during refinement in the days before
            t_add = min(working(sprint.actual_start - DAY * rng.uniform(1, 6)), sprint.actual_start - 10 * MIN)
        item = new_item(plan, rng, t_add - HOUR * (1 + lognormal(rng, 100, 1.3)))
        refine(item, rng, t_add)
        item.entry = (i, t_add)
        if rng.random() < 0.06:
            remove(item, rng, sprints, i)
        else:
            work(item, rng, sprint.phase, sprint.actual_start + length * rng.uniform(0, 0.5))
        items.append(item)
    for _ in range(round(len(items) * rng.uniform(0.05, 0.25))):
        window = between(rng, sprint.actual_start, sprint.actual_start + (close - sprint.actual_start) * 0.8)
        created = min(working(window), close - HOUR)
        item = new_item(plan, rng, created, "Bug" if rng.random() < 0.6 else None)
        t_add = min(created + MIN * rng.randint(5, 240), close - 10 * MIN)
        refine(item, rng, t_add)
        item.entry = (i, t_add)
        work(item, rng, sprint.phase, t_add + HOUR * rng.uniform(0, 24))
        items.append(item)
    for item in items:
        after_work(item, rng)
    return items


def remove(item: Item, rng: random.Random, sprints: list[Sprint], i: int) -> None:
    """Take an unstarted item out mid-sprint: into the next sprint, or back to the backlog."""
    sprint = sprints[i]
    close = sprint.completed_at or HORIZON
    t = working(between(rng, sprint.actual_start + HOUR, sprint.actual_start + (close - sprint.actual_start) * 0.6))
    following = sprints[i + 1] if i + 1 < len(sprints) else None
    moved = following is not None and rng.random() < 0.5
    item.removal = (t, moved)
    if moved and following.state != "future":
        start = following.actual_start + DAY * following.phase.length_days * rng.uniform(0, 0.5)
        work(item, rng, following.phase, start)
    elif not moved and rng.random() < 0.4:
        item.dropped = True
        item.move(working(t + DAY * rng.uniform(2, 40)), "done", item.team.people[0])


def membership(item: Item, sprints: list[Sprint]) -> None:
    """Sprint events. Like Jira, an item not done at a sprint's completion stays in that sprint and
    is added to the next one at that moment; work reopened later joins the sprint running then."""
    if item.entry is None:
        return
    lead = item.team.people[0]

    def add(j: int, t: datetime) -> None:
        item.event(t, "sprint_added", lead, to_id=sprints[j].sprint_id, to_value=sprint_name(item.team, sprints[j]))

    i, t = item.entry
    add(i, t)
    if item.removal:
        t, moved = item.removal
        item.event(t, "sprint_removed", lead, from_id=sprints[i].sprint_id,
                   from_value=sprint_name(item.team, sprints[i]))
        if not moved:
            return
        i += 1
        add(i, t)
    while (close := sprints[i].completed_at) is not None:
        if item.category_at(close) != "done":
            if i + 1 == len(sprints):
                return
            i += 1
            add(i, close + 30 * timedelta(seconds=1))
            continue
        reopened = [e["_t"] for e in item.events if e["kind"] == "status" and e["_t"] > close
                    and e["from_category"] == "done" and e["to_category"] != "done"]
        if not reopened:
            return
        # the sprint running at the reopening, or the one about to start
        i = next(j for j in range(i + 1, len(sprints))
                 if sprints[j].completed_at is None or sprints[j].completed_at > reopened[0])
        add(i, reopened[0] + 2 * MIN)


def sprint_name(plan: TeamPlan, sprint: Sprint) -> str:
    return f"{plan.prefix} Sprint {sprint.number}"


def side_items(plan: TeamPlan, rng: random.Random, sprints: list[Sprint]) -> list[Item]:
    """Items planned into the future sprint, and items that never enter a sprint."""
    items = []
    for i, sprint in enumerate(sprints):
        if sprint.state == "future":
            for _ in range(rng.randint(3, 6)):
                t_add = working(HORIZON - HOUR * rng.uniform(6, 80))
                item = new_item(plan, rng, t_add - HOUR * (1 + lognormal(rng, 100, 1.3)))
                refine(item, rng, t_add)
                item.entry = (i, t_add)
                items.append(item)
    first = sprints[0].planned_start
    weeks = (HORIZON - first) / (7 * DAY)
    for _ in range(round(plan.items_per_week * weeks * 0.06)):
        item = new_item(plan, rng, working(between(rng, first - 14 * DAY, HORIZON - DAY)))
        fate = rng.random()
        if fate < 0.35:  # a quick fix done outside any sprint
            work(item, rng, sprints[0].phase, item.created + HOUR * rng.uniform(1, 72))
        elif fate < 0.6:
            item.dropped = True
            item.move(working(item.created + DAY * rng.uniform(1, 60)), "done", plan.people[0])
        items.append(item)
    return items


def weekly_learnings(plan: TeamPlan, rng: random.Random, sprints: list[Sprint], items: list[Item]) -> None:
    """Marker comments on work in progress: most weeks have one, not all."""
    monday = sprints[0].planned_start.date()
    while monday < HORIZON.date():
        running = [s for s in sprints if s.planned_start.date() <= monday]
        if running and rng.random() < running[-1].phase.learning_p:
            for _ in range(1 if rng.random() < 0.7 else 2):
                t = datetime.combine(monday + DAY * rng.randint(0, 4), time(9), UTC) + MIN * rng.randint(0, 540)
                active = [it for it in items if (s := started_at(it)) and s < t < done_at(it) and t <= HORIZON]
                if active:
                    item = rng.choice(active)
                    author = owner_at(item, t) if rng.random() < 0.8 else rng.choice(plan.people)
                    item.event(t, "comment", author, text=marker_text(rng, item))
        monday += 7 * DAY


def simulate(plan: TeamPlan, rng: random.Random, first_id: int) -> tuple[list[Sprint], list[Item]]:
    sprints = build_sprints(plan, rng, first_id)
    items: list[Item] = []
    for i, sprint in enumerate(sprints):
        if sprint.state != "future":
            items += sprint_items(plan, rng, sprints, i)
    items += side_items(plan, rng, sprints)
    weekly_learnings(plan, rng, sprints, items)
    for item in items:
        membership(item, sprints)
        item.events = sorted((e for e in item.events if e["_t"] <= HORIZON), key=lambda e: e["_t"])
    items = [item for item in items if item.created <= HORIZON]
    items.sort(key=lambda it: it.created)
    for n, item in enumerate(items, start=1):
        item.key = f"{plan.prefix}-{n}"
    return sprints, items


def stamp(t: datetime | None) -> str | None:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def sprint_record(plan: TeamPlan, sprint: Sprint, board: str) -> dict[str, Any]:
    return {"record": "sprint", "source": SOURCE, "sprint_id": sprint.sprint_id, "team": plan.name,
            "name": sprint_name(plan, sprint), "state": sprint.state,
            "goal": f"Make progress on the {plan.topics[sprint.number % len(plan.topics)]}",
            "planned_start": stamp(sprint.planned_start), "planned_end": stamp(sprint.planned_end),
            "actual_start": stamp(sprint.actual_start), "completed_at": stamp(sprint.completed_at),
            "board_id": board}


def item_record(item: Item) -> dict[str, Any]:
    """The item as it stands at HORIZON, derived from its (already cut) events."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for e in item.events:
        by_kind.setdefault(e["kind"], []).append(e)
    status = by_kind["status"][-1] if "status" in by_kind else None
    key = next(k for k, v in STATUSES.items() if v[0] == status["to_id"]) if status else "todo"
    status_id, name, category = STATUSES[key]
    labels = list(item.labels)
    for e in by_kind.get("label_added", []) + by_kind.get("label_removed", []):
        labels = labels + [e["to_value"]] if e["kind"] == "label_added" else [x for x in labels if x != e["from_value"]]
    estimates = {e["field"]: e["to_value"] for e in by_kind.get("estimate", [])}
    owner = by_kind["assignee"][-1]["to_value"] if "assignee" in by_kind else None
    worklogs = [e["to_value"] for e in by_kind.get("worklog", [])]
    done = category == "done"
    return {"record": "item", "source": SOURCE, "key": item.key, "team": item.team.name, "type": item.type,
            "summary": item.summary, "description": f"{item.summary}. Synthetic demo item.",
            "url": URL + item.key, "created": stamp(item.created),
            "updated": stamp(item.events[-1]["_t"] if item.events else item.created),
            "resolved": stamp(status["_t"]) if done else None, "status": name, "status_id": status_id,
            "status_category": category, "resolution": ("Won't Do" if item.dropped else "Done") if done else None,
            "labels": labels, "assignees": [owner] if owner else [],
            "original_estimate_h": estimates.get("original_estimate_h"),
            "time_spent_h": round(sum(worklogs), 1) if worklogs else None,
            "due_date": item.due_date.isoformat() if item.due_date else None,
            "story_points": estimates.get("story_points", item.story_points)}


def event_records(items: list[Item]) -> list[dict[str, Any]]:
    """Every event in time order, numbered in that order."""
    tagged = [(e["_t"], n, j, item.key, e) for n, item in enumerate(items) for j, e in enumerate(item.events)]
    tagged.sort(key=lambda row: row[:3])
    rows = []
    for number, (t, _, _, key, e) in enumerate(tagged, start=100001):
        row = {"record": "event", "source": SOURCE, "event_id": str(number), "key": key,
               "occurred_at": stamp(t), "kind": e["kind"]}
        # Columns a kind does not use are left out (docs/neutral-format.md: optional), which
        # keeps the committed file small.
        rows.append(row | {c: e[c] for c in EVENT_COLUMNS if e.get(c) is not None})
    return rows


def generate() -> dict[str, list[dict[str, Any]]]:
    """All demo records, per file name."""
    rng = random.Random(SEED)
    files: dict[str, list[dict[str, Any]]] = {"teams": [], "sprints": [], "statuses": [], "items": [], "events": []}
    files["statuses"] = [{"record": "status", "source": SOURCE, "status_id": sid, "name": name, "category": cat}
                         for sid, name, cat in STATUSES.values()]
    everything: list[Item] = []
    for n, plan in enumerate(TEAMS, start=1):
        board = f"board-{n}"
        sprints, items = simulate(plan, rng, first_id=100 * n + 1)
        files["teams"].append({"record": "team", "team": plan.name, "source": SOURCE,
                               "scope": f"{SOURCE}:{board}", "synthetic": True})
        files["sprints"] += [sprint_record(plan, s, board) for s in sprints]
        files["items"] += [item_record(item) for item in items]
        everything += items
    files["events"] = event_records(everything)
    return files


def main(out_dir: Path | str = OUT_DIR) -> dict[str, int]:
    """Write data/demo/*.jsonl (or into ``out_dir``); returns the row count of each file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, rows in generate().items():
        with (out / f"{name}.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[name] = len(rows)
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write the synthetic cadence demo data.")
    parser.add_argument("--out", default=str(OUT_DIR), help="folder to write the .jsonl files into")
    args = parser.parse_args()
    print(", ".join(f"{n} {name}" for name, n in main(args.out).items()), "->", args.out)
