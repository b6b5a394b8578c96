"""Round trip: a true GitHub history -> GitHub's API -> cadence's normaliser, warehouse and metrics.

Hypothesis draws a small true history of a repository (tests/render_github.py: issues assigned and
unassigned, labelled, commented on, closed and reopened; pull requests that close an issue by
keyword, are connected and disconnected by hand or only mention it, merged or closed; a Projects
Status). ``render`` writes it as GitHub's API holds it, graphql-core answers the connector's own
query documents from that through GitHub's published schema, and the real normaliser, a real DuckDB
file and the real metrics rebuild each item's start, finish and first observed feedback.

The truth is worked out from the drawn history by ``Oracle``, written from PRODUCT.md's definitions
("Status categories and item timing", "Feedback-loop latency"), not from cadence. Where PRODUCT.md
leaves room it follows the choices the GitHub normaliser documents, stated here on their own terms:

- an open issue is in progress while it is assigned and a pull request linked to it is open, or while
  an in-progress label (``wip``, ``in progress``) is on, or from a Projects Status "In Progress";
- once in progress it stays in progress until it closes ("started stays started"); a reopened issue
  is new again unless a signal holds at that moment;
- a status change is *made by* whoever closed or reopened the issue or added the label that made it
  enter in progress; entering in progress because an assignment and a link came together, or
  because the project's workflow set its Status, is nobody's change.

Run as a script it prints how many drawn items are rebuilt exactly, per signal that truly gave the
start: ``.venv/bin/python tests/test_roundtrip_github.py [--examples 500]``; with
``PYTHONPATH=<another checkout>`` it measures that checkout's cadence (the "before" of a change).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from graphql import execute_sync, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import render_github as r  # noqa: E402
from cadence.metrics import timing  # noqa: E402
from cadence.metrics.sql import Context  # noqa: E402
from cadence.config import Config  # noqa: E402
from cadence.normalize import github as normalize  # noqa: E402
from cadence.sources import github_queries as q  # noqa: E402
from cadence.warehouse.connection import connect  # noqa: E402
from cadence.warehouse.write import save  # noqa: E402

feedback_metric = importlib.import_module("cadence.metrics.feedback")  # the package re-exports a function of that name

REPO = "acme/lab"
IN_PROGRESS_LABELS = {"wip", "in progress"}


# -- the oracle: PRODUCT.md's definitions over the true history -------------------------------------
@dataclass(frozen=True)
class Truth:
    start: datetime | None
    finish: datetime | None
    feedback: datetime | None
    signal: str | None  # what gave the start: assignee_pr, label, project_status, opened or state
    category: str       # new, in_progress or done at the end


def _human(login: str | None) -> bool:
    return login is not None and not login.endswith("[bot]")


class Oracle:
    """An issue's state at any instant, read straight from what happened (everything at or before t)."""

    def __init__(self, issue: r.Issue) -> None:
        self.issue = issue

    def assignees(self, t: datetime) -> set[str]:
        now = set(self.issue.silent)
        for a in self.issue.acts:
            if a.at <= t and a.kind == "assign":
                now.add(a.value)
            elif a.at <= t and a.kind == "unassign":
                now.discard(a.value)
        return now

    def is_open(self, t: datetime) -> bool:
        states = [a.kind for a in self.issue.acts if a.at <= t and a.kind in ("close", "reopen")]
        return not states or states[-1] == "reopen"

    def linked(self, pull: r.Pull, t: datetime) -> bool:
        if pull.link == "keyword":  # "Fixes #N" in the description from its opening
            return pull.opened <= t
        toggles = [on for at, on, _ in pull.connects if at <= t]
        return pull.link == "connect" and bool(toggles) and toggles[-1]

    def signal(self, t: datetime) -> bool:
        labels: set[str] = set()
        for a in self.issue.acts:
            if a.at <= t and a.kind in ("label", "unlabel"):
                (labels.add if a.kind == "label" else labels.discard)(a.value.lower())
        project = any(a.kind == "status" and a.at <= t and a.value == "In Progress" for a in self.issue.acts)
        pull = any(self.linked(p, t) and p.open_at(t) for p in self.issue.pulls)
        return bool(labels & IN_PROGRESS_LABELS) or project or (bool(self.assignees(t)) and pull)

    def transitions(self) -> list[tuple[datetime, str, str | None]]:
        """(instant, category entered, who made the change) for every change of category."""
        instants = {self.issue.created} | {a.at for a in self.issue.acts}
        for p in self.issue.pulls:
            instants |= {p.opened, *(c[0] for c in p.connects)} | ({p.ended} if p.ended else set())
        category, changes = None, []
        for t in sorted(instants):
            acts = [a for a in self.issue.acts if a.at == t]
            reopened = any(a.kind == "reopen" for a in acts)
            if not self.is_open(t):
                now = "done"
            elif category == "in_progress" and not reopened:
                now = "in_progress"
            else:
                now = "in_progress" if self.signal(t) else "new"
            if now != category:
                maker = next((a.actor for a in acts if a.kind in ("close", "reopen")), None)
                if maker is None and now == "in_progress":
                    maker = next((a.actor for a in acts if a.kind == "label" and a.value.lower() in IN_PROGRESS_LABELS), None)
                changes.append((t, now, maker))
                category = now
        return changes

    def why(self, t: datetime) -> str:
        """Which signal made the issue enter in progress at ``t`` (one thing happens at a time)."""
        if not self.is_open(t):
            return "state"  # closed with no start before: straight to done
        if any(a.kind == "label" and a.at == t for a in self.issue.acts):
            return "label"
        if any(a.kind == "status" and a.at == t for a in self.issue.acts):
            return "project_status"
        return "assignee_pr"  # an assignment, a pull request opened or connected

    def truth(self) -> Truth:
        changes = self.transitions()
        start = next((t for t, c, _ in changes if c in ("in_progress", "done")), None)
        finish = changes[-1][0] if changes[-1][1] == "done" else None
        if start is None:
            return Truth(None, None, None, None, "new")
        said = [(a.at, a.actor) for a in self.issue.acts if a.kind == "comment"]
        said += [(t, who) for t, _, who in changes[1:]]  # the first is the creation, nobody's change
        feedback = min((t for t, who in said if t > start and _human(who) and who not in self.assignees(t)),
                       default=None)
        return Truth(start, finish, feedback, self.why(start), changes[-1][1])


def pull_truth(pull: r.Pull) -> Truth:
    """A pull request is in progress from its opening until it is merged or closed. Nobody is assigned;
    its author does the work, so the author's own comments and close are no feedback. A review is
    feedback whoever submits it (PRODUCT.md: "a review")."""
    said = [(a.at, a.actor, a.kind) for a in pull.acts] + ([(pull.ended, pull.ender, "close")] if pull.ended else [])
    feedback = min((t for t, who, kind in said
                    if t > pull.opened and _human(who) and (who != pull.author or kind == "review")), default=None)
    return Truth(pull.opened, pull.ended, feedback, "opened", "done" if pull.ended else "in_progress")


def truths(history: r.History) -> dict[str, Truth]:
    found = {f"{history.repo}#{i.number}": Oracle(i).truth() for i in history.issues}
    found |= {f"{history.repo}#{p.number}": pull_truth(p) for i in history.issues for p in i.pulls}
    return found


# -- the round trip through cadence ------------------------------------------------------------------
_DOCUMENTS: dict[str, object] = {}


def fetched(dataset, document: str, connection: str) -> list[dict]:
    """What GitHub answers to the connector's own ``document``, executed against the real schema."""
    from github_server import github_schema

    if document not in _DOCUMENTS:
        _DOCUMENTS[document] = parse(document)
    parsed = _DOCUMENTS[document]
    variables = {"owner": REPO.split("/")[0], "name": REPO.split("/")[1], "first": q.ITEM_PAGE, "after": None}
    result = execute_sync(github_schema(), parsed, variable_values=variables, context_value=dataset)
    assert not result.errors, result.errors
    page = result.data["repository"][connection]
    assert not page["pageInfo"]["hasNextPage"]
    return page["nodes"]


def rebuilt(con, history: r.History, how: r.Rendering) -> dict[str, Truth]:
    """Start, finish and first observed feedback per item, as cadence rebuilds them."""
    dataset = r.render(history, how)
    batch = normalize.normalize_items(fetched(dataset, q.ISSUES_QUERY, "issues"), REPO, "Lab", Config(),
                                      "2024-06-01T00:00:00Z")
    batch.extend(normalize.normalize_items(fetched(dataset, q.PULL_REQUESTS_QUERY, "pullRequests"), REPO, "Lab",
                                           Config(), "2024-06-01T00:00:00Z"))
    for table in ("items", "events", "raw", "data_quality"):
        con.execute(f"DELETE FROM {table}")
    save(con, batch)
    as_of = history.last_time() + timedelta(days=1)
    # What metrics.issues and metrics.feedback run, in one evaluation context so that the item
    # timing both read is computed once (each public call builds its own).
    with Context(con, as_of, Config()) as ctx:
        items = timing.issues(ctx).set_index("key")
        feedback = feedback_metric.feedback(ctx).set_index("key")
    return {key: Truth(_time(row["start"]), _time(row["finish"]),
                       _time(feedback["observed_at"].get(key)) if key in feedback.index else None,
                       row["start_signal"] if _time(row["start"]) else None, row["status_category"])
            for key, row in items.iterrows()}


def _time(value) -> datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


# -- what is drawn -----------------------------------------------------------------------------------
people = st.sampled_from(r.HUMANS)
actors = st.sampled_from((*r.HUMANS, r.BOT))
pr_index = st.integers(0, 3)
_arguments = {
    "assign": st.tuples(people, actors),
    "unassign": st.tuples(people, actors),
    "label": st.tuples(st.sampled_from(["wip", "In Progress", "bug", "bug"]), actors),
    "unlabel": st.tuples(st.sampled_from(["wip", "In Progress", "bug"]), actors),
    "comment": st.tuples(actors),
    "close": st.tuples(people, st.sampled_from(["COMPLETED", "NOT_PLANNED"])),
    "reopen": st.tuples(people),
    "status": st.tuples(st.sampled_from(["In Progress", "Todo", "Todo"])),
    "pr": st.tuples(st.sampled_from(["keyword", "keyword", "connect", "connect", "mention"]), people),
    "connect": st.tuples(pr_index, people),
    "disconnect": st.tuples(pr_index, people),
    "end": st.tuples(pr_index, st.booleans(), people),
    "pr_comment": st.tuples(pr_index, actors),
    "review": st.tuples(pr_index, people),
}
# How often each kind of step is drawn: the assignee-plus-PR path is the common one on GitHub.
_weights = {"assign": 3, "pr": 3, "connect": 2, "end": 2, "comment": 2}
ops = st.sampled_from([kind for kind in _arguments for _ in range(_weights.get(kind, 1))]).flatmap(
    lambda kind: _arguments[kind].map(lambda args: (kind, *args)))
issue_specs = st.fixed_dictionaries({
    "offset": st.integers(0, 5 * 24 * 60),
    "author": people,
    "silent": st.sampled_from([(), (), (), ("ann",), ("bob", "cat")]),  # a transferred issue's assignees
    "steps": st.lists(st.tuples(st.integers(1, 3 * 24 * 60), ops), min_size=4, max_size=16),
})
histories = st.lists(issue_specs, min_size=1, max_size=3).map(lambda specs: r.build(specs, REPO))
renderings = st.builds(r.Rendering, st.booleans(), st.booleans())


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from conftest import SHARED_FIXTURES

    if not (SHARED_FIXTURES / "github" / "github-schema.graphql").exists():
        pytest.skip(f"GitHub schema not found under {SHARED_FIXTURES}")
    with connect(tmp_path_factory.mktemp("roundtrip") / "cadence.duckdb", read_only=False) as con:
        yield con


# At least 500 in CI; CADENCE_ROUNDTRIP_EXAMPLES raises it (or lowers it while working on this file).
EXAMPLES = int(os.environ.get("CADENCE_ROUNDTRIP_EXAMPLES", "500"))


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories, how=renderings)
def test_starts_finishes_and_first_feedback_survive_the_round_trip(warehouse, history, how):
    assert rebuilt(warehouse, history, how) == truths(history)


# -- before/after figures ------------------------------------------------------------------------------
MEASURES = ("start", "finish", "feedback", "signal", "category")


def exactness(examples: int) -> dict[tuple[str, str], list[int]]:
    """[exact, items] per (group, measure) over ``examples`` drawn histories (a fixed seed); the groups
    are ``all`` and the signal that truly gave each item's start (``never`` for items not started)."""
    from hypothesis import seed

    counts: dict[tuple[str, str], list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp, connect(Path(tmp) / "c.duckdb", read_only=False) as con:
        @seed(20240304)
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(history=histories, how=renderings)
        def count(history, how):
            got = rebuilt(con, history, how)
            for key, truth in truths(history).items():
                for group in ("all", truth.signal or "never"):
                    for measure in MEASURES:
                        tally = counts.setdefault((group, measure), [0, 0])
                        tally[0] += key in got and getattr(got[key], measure) == getattr(truth, measure)
                        tally[1] += 1

        count()
    return counts


if __name__ == "__main__":
    # Another checkout's cadence (main's, say) is measured with PYTHONPATH=/path/to/its/root.
    import argparse

    import cadence

    parser = argparse.ArgumentParser(description="How many drawn items cadence rebuilds exactly")
    parser.add_argument("--examples", type=int, default=500)
    found = exactness(parser.parse_args().examples)
    print(f"cadence from {Path(cadence.__file__).parent}")
    for group in sorted({g for g, _ in found}, key=lambda g: (g != "all", g)):
        print(f"{group:15}", "  ".join(f"{m} {found[(group, m)][0]}/{found[(group, m)][1]}" for m in MEASURES))
