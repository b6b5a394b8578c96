"""A true GitHub history, and how GitHub's GraphQL API shows it. Never imports cadence.

``History`` is what really happened in one repository: issues created, assigned and unassigned,
labelled, commented on, closed and reopened; pull requests opened that close an issue by a keyword
in their description, are linked to it by hand (connected and disconnected) or only mention it,
then merged or closed; a Projects Status set by the project's built-in workflow. ``render`` writes
it as the API holds it, as a tests/github_data.Dataset that tests/github_server.py (or graphql-core
directly) serves through the real schema. It was written from GitHub's schema
(../shared/fixtures/github/github-schema.graphql), its documentation and the recordings in
../shared/fixtures/github, not from cadence/normalize:

- timeline items carry the schema's type names and fields, in time order, as ``timelineItems``
  gives them (oldest first; the PyGithub recording ``Issue.testGetTimeline.txt`` is in that order);
- a pull request whose description says "Fixes #N" makes a CrossReferencedEvent on issue N a
  second after it opens (the recorded one in timeline-items.elk.json follows PR #3 by 1 s), and is
  among issue N's ``closedByPullRequestsReferences``, as is a pull request linked by hand, until it
  is disconnected. The connection lists open pull requests unless ``includeClosedPrs`` (the schema);
- merging such a pull request closes the issue at the merge, by whoever merged it ("Linking a pull
  request to an issue": a linked issue closes when its pull request merges into the default branch);
  the recorded merge (PR #3) closes issue #1 in the same second;
- an assignment made when the issue was created has no AssignedEvent when the issue came in by a
  transfer: such an assignee is only among the current ``assignees``;
- a Projects v2 Status has no history: only its current value and the value's ``updatedAt``.

Two things the documentation does not settle are drawn, so both readings are tested (``Rendering``):
which end of a ConnectedEvent/DisconnectedEvent is ``source`` and which ``subject`` on an issue's
timeline; and whether ``willCloseTarget`` still reads true once the pull request is closed or
merged (the recording shows ``false`` for merged PR #3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import github_data as d

UTC = timezone.utc
BASE = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
HUMANS = ("ann", "bob", "cat")
BOT = "github-actions[bot]"


@dataclass
class Act:
    at: datetime
    kind: str                # assign unassign label unlabel comment close reopen status review
    actor: str | None
    value: str | None = None  # the person, label, close reason, Status name or review state


@dataclass
class Pull:
    number: int
    author: str
    opened: datetime
    link: str                 # keyword | connect | mention
    ended: datetime | None = None
    merged: bool = False
    ender: str | None = None
    connects: list[tuple[datetime, bool, str]] = field(default_factory=list)  # (at, connected, by)
    acts: list[Act] = field(default_factory=list)                              # comments and reviews

    def open_at(self, t: datetime) -> bool:
        return self.opened <= t and (self.ended is None or t < self.ended)

    def connected(self) -> bool:
        return bool(self.connects) and self.connects[-1][1]

    def closes_issue(self) -> bool:
        return self.link == "keyword" or (self.link == "connect" and self.connected())


@dataclass
class Issue:
    number: int
    author: str
    created: datetime
    silent: tuple[str, ...] = ()  # assigned at creation, with no AssignedEvent (a transferred issue)
    acts: list[Act] = field(default_factory=list)
    pulls: list[Pull] = field(default_factory=list)

    def _held(self, on: str, off: str, start: tuple[str, ...] = ()) -> list[str]:
        now = list(start)
        for a in self.acts:
            if a.kind in (on, off):
                (now.append if a.kind == on else now.remove)(a.value)
        return now

    def assignees(self) -> list[str]:
        return self._held("assign", "unassign", self.silent)

    def labels(self) -> list[str]:
        return self._held("label", "unlabel")

    def is_open(self) -> bool:
        states = [a.kind for a in self.acts if a.kind in ("close", "reopen")]
        return not states or states[-1] == "reopen"


@dataclass
class History:
    repo: str
    issues: list[Issue] = field(default_factory=list)

    def last_time(self) -> datetime:
        times = [i.created for i in self.issues]
        for i in self.issues:
            times += [a.at for a in i.acts]
            for p in i.pulls:
                times += [p.opened, p.ended or p.opened] + [c[0] for c in p.connects] + [a.at for a in p.acts]
        return max(times)


# -- drawing a history from steps ------------------------------------------------------------------
def build(specs: list[dict], repo: str = "acme/lab") -> History:
    """A history from drawn specs: per issue an offset, an author, silent assignees and (gap, op)
    steps. A step that cannot happen (unassigning someone not assigned) is skipped."""
    history = History(repo)
    numbers = iter(range(100, 1000))
    for n, spec in enumerate(specs, start=1):
        issue = Issue(n, spec["author"], BASE + timedelta(minutes=spec["offset"]), tuple(spec["silent"]))
        at = issue.created
        for gap, op in spec["steps"]:
            at += timedelta(minutes=gap)
            _step(issue, at, op, numbers)
        history.issues.append(issue)
    return history


def _step(issue: Issue, at: datetime, op: tuple, numbers) -> None:
    kind, *args = op
    pulls = issue.pulls
    if kind == "assign" and args[0] not in issue.assignees():
        issue.acts.append(Act(at, "assign", args[1], args[0]))
    elif kind == "unassign" and args[0] in issue.assignees():
        issue.acts.append(Act(at, "unassign", args[1], args[0]))
    elif kind == "label" and args[0] not in issue.labels():
        issue.acts.append(Act(at, "label", args[1], args[0]))
    elif kind == "unlabel" and args[0] in issue.labels():
        issue.acts.append(Act(at, "unlabel", args[1], args[0]))
    elif kind == "comment":
        issue.acts.append(Act(at, "comment", args[0]))
    elif kind == "close" and issue.is_open():
        issue.acts.append(Act(at, "close", args[0], args[1]))
    elif kind == "reopen" and not issue.is_open():
        issue.acts.append(Act(at, "reopen", args[0]))
    elif kind == "status" and not any(a.kind == "status" for a in issue.acts):
        # Set once by the project's workflow (no person): its updatedAt is then the change itself.
        issue.acts.append(Act(at, "status", None, args[0]))
    elif kind == "pr":
        pulls.append(Pull(next(numbers), args[1], at, args[0]))
    elif kind in ("connect", "disconnect") and pulls:
        pull = pulls[args[0] % len(pulls)]
        wanted = kind == "connect"
        if pull.link == "connect" and pull.connected() != wanted and (pull.ended is None or not wanted):
            pull.connects.append((at, wanted, args[1]))
    elif kind == "end" and pulls and pulls[args[0] % len(pulls)].ended is None:
        pull = pulls[args[0] % len(pulls)]
        pull.ended, pull.merged, pull.ender = at, args[1], args[2]
        if pull.merged and pull.closes_issue() and issue.is_open():
            issue.acts.append(Act(at, "close", args[2], "COMPLETED"))
    elif kind == "pr_comment" and pulls:
        pulls[args[0] % len(pulls)].acts.append(Act(at, "comment", args[1]))
    elif kind == "review" and pulls and pulls[args[0] % len(pulls)].ended is None:
        pulls[args[0] % len(pulls)].acts.append(Act(at, "review", args[1], "COMMENTED"))


# -- rendering ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendering:
    pr_is_source: bool = True        # on an issue's Connected/DisconnectedEvent: the PR is `source`, else `subject`
    stale_will_close: bool = False   # willCloseTarget of a closed or merged closing PR


def render(history: History, how: Rendering = Rendering()) -> d.Dataset:
    """The history as GitHub's API holds it now."""
    data = d.RepoData()
    board = d.project(history.repo.split("/")[0], 1, "Board", [], [])
    for issue in history.issues:
        pulls = {p.number: _pull_node(history.repo, p, issue.number) for p in issue.pulls}
        node = _issue_node(history.repo, issue, pulls, how)
        status = next((a for a in issue.acts if a.kind == "status"), None)
        if status is not None:
            d.put_on_project(board, node, None, status.value, when=status.at)
        for pull in issue.pulls:
            pulls[pull.number]["timeline"] += _link_events(pull, node, pulls[pull.number], how)
            pulls[pull.number]["timeline"].sort(key=lambda e: e["createdAt"])
        data.issues.append(node)
        data.pull_requests += pulls.values()
    dataset = d.Dataset(repos={history.repo: data}, projects={f"{history.repo.split('/')[0]}/1": board})
    dataset.rate = {"cost": 0, "remaining": 5000, "resetAt": "2030-01-01T00:00:00Z", "limit": 5000, "used": 0,
                    "nodeCount": 0}
    return dataset


def _second(t: datetime) -> datetime:
    return t + timedelta(seconds=1)


def _issue_node(repo: str, issue: Issue, pulls: dict[int, dict], how: Rendering) -> dict:
    timeline = []
    for a in issue.acts:
        if a.kind in ("assign", "unassign"):
            timeline.append((d.assigned if a.kind == "assign" else d.unassigned)(a.at, a.value, by=a.actor))
        elif a.kind in ("label", "unlabel"):
            timeline.append(d.labeled(a.at, a.value, by=a.actor, removed=a.kind == "unlabel"))
        elif a.kind == "comment":
            timeline.append(d.comment(a.at, f"note at {a.at:%H:%M}", by=a.actor))
        elif a.kind == "close":
            timeline.append(d.closed(a.at, a.value, by=a.actor))
        elif a.kind == "reopen":
            timeline.append(d.reopened(a.at, by=a.actor))
    for pull in issue.pulls:
        node = pulls[pull.number]
        if pull.link in ("keyword", "mention"):
            will_close = pull.link == "keyword" and (pull.ended is None or how.stale_will_close)
            timeline.append(d.cross_referenced(_second(pull.opened), node, will_close, by=pull.author))
    closes = [a for a in issue.acts if a.kind in ("close", "reopen")]
    is_open = issue.is_open()
    closed_by = [pulls[p.number] for p in issue.pulls if p.closes_issue()]
    node = d.issue(repo, issue.number, issue.created, issue.created, author=issue.author,
                   state="OPEN" if is_open else "CLOSED",
                   state_reason=(closes[-1].value if not is_open else ("REOPENED" if closes else None)),
                   closed_at=None if is_open else closes[-1].at, labels=tuple(issue.labels()),
                   assignees=tuple(issue.assignees()), closed_by=closed_by, timeline=timeline)
    for pull in issue.pulls:
        node["timeline"] += _link_events(pull, pulls[pull.number], node, how)
    node["timeline"].sort(key=lambda e: e["createdAt"])  # stable: GitHub's order within a second is kept
    times = [issue.created] + [a.at for a in issue.acts] + [_second(p.opened) for p in issue.pulls]
    times += [c[0] for p in issue.pulls for c in p.connects]
    node["updatedAt"] = d.iso(max(times))
    return node


def _link_events(pull: Pull, other: dict, this: dict, how: Rendering) -> list[dict]:
    """Connected/DisconnectedEvents of ``pull`` on the timeline of ``this`` (the issue or the PR)."""
    pr, issue = (other, this) if this["__typename"] == "Issue" else (this, other)
    source, subject = (pr, issue) if how.pr_is_source else (issue, pr)
    return [d.connected(at, source, subject, by=by, removed=not on) for at, on, by in pull.connects]


def _pull_node(repo: str, pull: Pull, issue_number: int) -> dict:
    timeline = []
    for a in pull.acts:
        timeline.append(d.comment(a.at, "looks fine", by=a.actor) if a.kind == "comment"
                        else d.review(a.at, a.value, "", by=a.actor))
    if pull.ended is not None:
        if pull.merged:
            timeline.append(d.event("MergedEvent", pull.ended, pull.ender))
        timeline.append(d.closed(pull.ended, None, by=pull.ender))
    times = [pull.opened, pull.ended or pull.opened] + [a.at for a in pull.acts] + [c[0] for c in pull.connects]
    node = d.pull_request(repo, pull.number, pull.opened, max(times), author=pull.author,
                          state="OPEN" if pull.ended is None else ("MERGED" if pull.merged else "CLOSED"),
                          merged_at=pull.ended if pull.merged else None, closed_at=pull.ended,
                          body=f"Fixes #{issue_number}" if pull.link == "keyword" else f"See #{issue_number}", timeline=timeline)
    return node
