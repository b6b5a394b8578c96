"""Hypothesis fuzzing of the Jira and GitHub normalisers, starting from the real recordings.

Each example takes a recorded payload (patternfly, finos and perceval Jira issues; GitHub issues
and timelines from grimoirelab-elk and PyGithub), then deletes, nulls, retypes or oversizes a few
fields anywhere in it, or plants hostile strings. The normaliser must never raise, and every record
it rejects must come back as a data-quality problem that the warehouse saves. Saving the batch is
part of the property: a value the normaliser lets through must not break the transaction either.
"""

from __future__ import annotations

import copy
import os
import json
from datetime import datetime, timezone
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.config import Config
from cadence.normalize import github as gh
from cadence.normalize import jira as nj
from cadence.normalize.jira_fields import discover_fields
from cadence.warehouse.connection import migrate
from cadence.warehouse.write import save
from conftest import SHARED_FIXTURES
from hostile_answers import slots as json_slots
from jira_payloads import patternfly, unwrap

FETCHED = datetime(2024, 6, 1, tzinfo=timezone.utc)
EXAMPLES = int(os.environ.get("CADENCE_FUZZ_EXAMPLES", "150"))
# The recordings come through the shared_fixtures fixture (a skip with its reason without ../shared);
# it only says where they are, so one value serves every example.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

HOSTILE = [
    "'); DROP TABLE items; --", '" OR 1=1 --', "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "{{7*7}}", "${jndi:ldap://x}", "\x00", "\u202e\u2066evil", "😀" * 50, "\\", "%s%n%x", "../../../etc/passwd",
    "2024-02-30T25:61:00.000+0000", "9999-12-31T23:59:59.999+9999", "0001-01-01T00:00:00.000+0000",
    "0001-01-01T00:00:00Z", "0000-00-00", "NaN", "-Infinity", "1e309",
    "Sprint@1[id=,rapidViewId=,state=,name=]", "com.atlassian.greenhopper.service.sprint.Sprint@x[id=abc]",
    " ,, , ", "225, ,abc, 229", "",
]
HUGE = ["x" * 200_000, 10**40, -(10**40), 1e308, float("inf"), float("nan"), [[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]],
        list(range(5000)), {"k": {"k": {"k": {"k": None}}}}]


# -- mutations ---------------------------------------------------------------------------------
retyped = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
    st.text(max_size=30), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(HOSTILE),
)


@st.composite
def mutated(draw: Any, seeds: list[Any]) -> Any:
    payload = copy.deepcopy(draw(st.sampled_from(seeds)))
    if draw(st.integers(0, 40)) == 0:  # now and then the whole record is not even an object
        return draw(retyped)
    for _ in range(draw(st.integers(1, 5))):
        slots = json_slots(payload)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["delete", "null", "retype", "oversize", "hostile"]))
        if action == "delete":
            del container[key]
        elif action == "null":
            container[key] = None
        elif action == "retype":
            container[key] = draw(retyped)
        elif action == "oversize":
            container[key] = copy.deepcopy(draw(st.sampled_from(HUGE)))
        else:
            container[key] = draw(st.sampled_from(HOSTILE))
    return payload


# -- a warehouse to save into ------------------------------------------------------------------
@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    migrate(connection)
    yield connection
    connection.close()


def _saved(con: duckdb.DuckDBPyConnection, batch: Any) -> dict[str, int]:
    for table in ("items", "events", "sprints", "raw", "data_quality"):
        con.execute(f"DELETE FROM {table}")
    try:
        save(con, batch)
    except Exception:
        # Leave the connection usable for the next example; the failure itself is the finding.
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("items", "raw", "data_quality")}


# -- Jira --------------------------------------------------------------------------------------
def _jira_seeds() -> tuple[list[dict[str, Any]], nj.Site]:
    data = patternfly(SHARED_FIXTURES)
    # One of the five finos records came without "fields" at all: it stays a seed as it is.
    finos = [unwrap(r["data"]) if "fields" in r["data"] else r["data"]
             for r in json.loads((SHARED_FIXTURES / "jira" / "finos-issues.elk.json").read_text())]
    perceval = []
    for page in ("jira_issues_page_1.json", "jira_issues_page_2.json"):
        perceval += json.loads((SHARED_FIXTURES / "jira" / "perceval" / page).read_text())["issues"]
    site = nj.Site(base_url="https://jira.example.com", fields=discover_fields(data.fields, "customfield_10005"),
                   categories={s["id"]: {"new": "new", "indeterminate": "in_progress", "done": "done"}[
                       s["statusCategory"]["key"]] for s in data.statuses},
                   boards={"24": "OSUX Board", "4": "PatternFly Board"}, config=Config())
    return data.issues + finos + perceval, site


JIRA_SEEDS, JIRA_SITE = _jira_seeds() if SHARED_FIXTURES.is_dir() else ([{}], nj.Site(base_url="x"))
jira_counter = {"cases": 0, "rejected": 0}


def test_the_recorded_jira_issues_normalise_cleanly(shared_fixtures):
    batch = nj.page(JIRA_SEEDS, JIRA_SITE, FETCHED)
    assert len(JIRA_SEEDS) == 10 + 5 + 3 and len(batch.items) == 17
    assert [(p["entity_id"], p["problem"]) for p in batch.problems] == [("CONTRIB-4", "malformed_issue")]


@FUZZ
@given(issues=st.lists(mutated(JIRA_SEEDS), min_size=1, max_size=3))
def test_fuzzed_jira_issues_never_crash_and_every_rejection_is_saved(shared_fixtures, con, issues):
    batch = nj.page(issues, JIRA_SITE, FETCHED)
    rejected = [p for p in batch.problems if p["entity"] == "issue" and p["problem"] == "malformed_issue"]
    assert len(batch.raw) == len(issues)  # every record is kept raw, good or bad
    assert len(batch.items) + len(rejected) == len(issues)  # and is either an item or a counted rejection
    saved = _saved(con, batch)
    keys = {str(r["entity_id"]) for r in batch.raw}
    assert saved["raw"] == len(keys)
    assert saved["data_quality"] == len({(p["entity"], p["entity_id"], p["problem"]) for p in batch.problems})
    jira_counter["cases"] += 1
    jira_counter["rejected"] += len(rejected)


# -- GitHub ------------------------------------------------------------------------------------
def _rest_user(user: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if not user else {"__typename": "Bot" if user.get("type") == "Bot" else "User", "login": user["login"]}


_REST_EVENTS = {"assigned": "AssignedEvent", "unassigned": "UnassignedEvent", "closed": "ClosedEvent",
                "reopened": "ReopenedEvent", "labeled": "LabeledEvent", "unlabeled": "UnlabeledEvent",
                "commented": "IssueComment", "milestoned": "MilestonedEvent", "demilestoned": "DemilestonedEvent"}


def _pygithub(name: str) -> list[Any]:
    """Response bodies of a PyGithub recording (10 lines per exchange, then a blank line)."""
    lines = (SHARED_FIXTURES / "github" / "pygithub" / name).read_text().split("\n")
    return [json.loads(lines[i + 9]) for i in range(0, len(lines) - 9, 11) if lines[i + 9].strip()]


def _graphql_event(rest: dict[str, Any]) -> dict[str, Any] | None:
    """A REST timeline event as the GraphQL timeline node it corresponds to."""
    kind = _REST_EVENTS.get(rest.get("event"))
    if kind is None:
        return None
    node = {"__typename": kind, "id": rest.get("node_id") or str(rest.get("id")), "createdAt": rest.get("created_at"),
            "actor": _rest_user(rest.get("actor"))}
    if kind == "IssueComment":
        node.update(author=_rest_user(rest.get("user") or rest.get("actor")), body=rest.get("body"))
    if "assignee" in rest:
        node["assignee"] = _rest_user(rest["assignee"])
    if "label" in rest:
        node["label"] = {"name": rest["label"]["name"]}
    if "milestone" in rest:
        node["milestoneTitle"] = rest["milestone"]["title"]
    if kind in ("ClosedEvent", "ReopenedEvent"):
        node["stateReason"] = (rest.get("state_reason") or "").upper() or None
    return node


def _graphql_issue(rest: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """A REST issue (PyGithub's recording) in the shape of the connector's GraphQL issue node."""
    return {
        "__typename": "Issue", "id": rest["node_id"], "number": rest["number"], "title": rest["title"],
        "body": rest.get("body"), "url": rest["html_url"], "createdAt": rest["created_at"], "updatedAt": rest["updated_at"],
        "closedAt": rest.get("closed_at"), "state": rest["state"].upper(), "stateReason": (rest.get("state_reason") or "").upper() or None,
        "author": _rest_user(rest.get("user")), "assignees": {"nodes": [_rest_user(a) for a in rest.get("assignees") or []]},
        "labels": {"nodes": [{"name": label["name"]} for label in rest.get("labels") or []]},
        "milestone": {"number": rest["milestone"]["number"], "title": rest["milestone"]["title"]} if rest.get("milestone") else None,
        "projectItems": {"nodes": []}, "closedByPullRequestsReferences": {"nodes": []},
        "timelineItems": {"pageInfo": {"hasNextPage": False}, "nodes": timeline},
    }


def _github_seeds() -> list[dict[str, Any]]:
    if not SHARED_FIXTURES.is_dir():
        return [{}]
    issue = next(b for b in _pygithub("Issue.setUp.txt") if isinstance(b, dict) and "number" in b)
    timeline = [e for e in (_graphql_event(r) for r in _pygithub("Issue.testGetTimeline.txt")[0]) if e]
    records = json.loads((SHARED_FIXTURES / "github" / "timeline-items.elk.json").read_text())
    elk = [{"__typename": r["data"]["eventType"], **{k: v for k, v in r["data"].items()
                                                     if k not in ("issue", "pull_request", "eventType")}} for r in records]
    pull = _graphql_issue(issue, [e for e in elk if e["__typename"] in ("PullRequestReview", "ClosedEvent")])
    pull.update(__typename="PullRequest", number=3, merged=True, mergedAt=pull["closedAt"], isDraft=False, state="MERGED")
    return [_graphql_issue(issue, timeline), {**_graphql_issue(issue, elk), "number": 1}, pull]


GITHUB_SEEDS = _github_seeds()
MILESTONES = {"Sprint 1": 1, "v1.0": 2}
github_counter = {"cases": 0, "rejected": 0}


def test_the_recorded_github_nodes_normalise_cleanly(shared_fixtures):
    batch = gh.normalize_items(GITHUB_SEEDS, "PyGithub/PyGithub", "T", Config(), FETCHED.isoformat(), MILESTONES)
    assert len(batch.items) == 3 and not [p for p in batch.problems if p["problem"] == "malformed"]
    assert {e["kind"] for e in batch.events} >= {"assignee", "comment", "label_added", "status", "review"}


@FUZZ
@given(nodes=st.lists(mutated(GITHUB_SEEDS), min_size=1, max_size=3))
def test_fuzzed_github_nodes_never_crash_and_every_rejection_is_saved(shared_fixtures, con, nodes):
    batch = gh.normalize_items(nodes, "PyGithub/PyGithub", "T", Config(), FETCHED.isoformat(), MILESTONES)
    rejected = [p for p in batch.problems if p["problem"] == "malformed"]
    assert len(batch.raw) == len(nodes)
    assert len(batch.items) + len(rejected) == len(nodes)
    saved = _saved(con, batch)
    assert saved["raw"] == len({(r["entity"], r["entity_id"]) for r in batch.raw})
    assert saved["data_quality"] == len({(p["entity"], p["entity_id"], p["problem"]) for p in batch.problems})
    github_counter["cases"] += 1
    github_counter["rejected"] += len(rejected)


def test_zz_fuzz_counts(shared_fixtures):
    """Runs last in this file: how many fuzz cases ran and how many records were rejected (reported)."""
    print(f"fuzz cases: jira {jira_counter}, github {github_counter}")
    assert jira_counter["cases"] >= EXAMPLES and github_counter["cases"] >= EXAMPLES
