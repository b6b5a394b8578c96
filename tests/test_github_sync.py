"""``sync_github`` against a GitHub-like GraphQL server on 127.0.0.1 (tests/github_server.py)."""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

import github_data as d
from cadence import metrics
from cadence.config import Config
from cadence.errors import SourceError
from cadence.sources.github import GitHub
from cadence.sources.http import RetryPolicy
from cadence.sync.github import sync_github
from github_server import Fault, GitHubServer, github_schema

UTC = timezone.utc
TOKEN = "ghp_SECRETtoken0123456789abcdefXYZ"
REPO = "acme/models"


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _schema():
    from conftest import SHARED_FIXTURES

    if not (SHARED_FIXTURES / "github" / "github-schema.graphql").exists():
        pytest.skip("GitHub schema not found under ../shared/fixtures")
    github_schema()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps) -> RetryPolicy:
    return RetryPolicy(attempts=4, backoff_s=0.01, sleep=sleeps.append)


def repo_dataset() -> d.Dataset:
    """Two milestones (a 1-week and a 2-week one), an issue, a busy issue that overflows, a merged PR."""
    data = d.RepoData()
    data.milestones = [
        d.milestone(1, "Sprint 1", at(1, 9), at(8, 9), closed_at=at(8, 12)),
        d.milestone(2, "Sprint 2", at(1, 9, 5), at(22, 9)),
    ]
    data.issues.append(d.issue(REPO, 1, at(2), at(5, 1), state="CLOSED", state_reason="COMPLETED", closed_at=at(5),
                               assignees=("ada",), milestone={"number": 1, "title": "Sprint 1"}, timeline=[
        d.milestoned(at(2, 10), "Sprint 1"), d.assigned(at(2, 11), "ada"), d.labeled(at(3), "wip"),
        d.comment(at(4), "Learning: smaller batches", by="renovate[bot]"), d.closed(at(5))]))
    busy = [d.comment(at(3) + timedelta(minutes=k), f"note {k}", by="bob") for k in range(130)]
    data.issues.append(d.issue(REPO, 2, at(3), at(6), labels=tuple(f"l{k}" for k in range(25)), timeline=busy))
    data.pull_requests.append(d.pull_request(REPO, 3, at(4), at(7), state="MERGED", merged_at=at(7),
                                             closed_at=at(7), timeline=[d.review(at(6), "APPROVED"), d.closed(at(7))]))
    return d.Dataset(repos={REPO: data})


def rows(db, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def run(db, server, policy, repos=(REPO,), projects=(), full=False, now=at(15), config=Config(), token=TOKEN):
    return sync_github(db, list(repos), list(projects), server.url, full, config, env={"GITHUB_TOKEN": token},
                       policy=policy, now=lambda: now)


def test_full_sync_follows_overflowing_connections_and_builds_milestone_sprints(db_path, policy):
    config = Config(teams={f"github:{REPO}": "Vision"})
    with GitHubServer(repo_dataset(), token=TOKEN) as server:
        report = run(db_path, server, policy, config=config)
    # One request brings the milestones, the issues and the pull request; issue #2 overflowed both its
    # timeline (100 of 130) and its labels (20 of 25): one more request continues both.
    assert server.operations() == ["Repository", "FollowUp"]
    follow_up = server.requests[1]["variables"]
    assert (follow_up["after0"], follow_up["after1"]) == (base64.b64encode(b"cursor:99").decode(),
                                                          base64.b64encode(b"cursor:19").decode())
    assert report.items == 3 and report.errors == [] and report.requests == 2
    assert rows(db_path, "SELECT count(*) FROM events WHERE key = 'acme/models#2' AND kind = 'comment'") == [(130,)]
    assert rows(db_path, "SELECT len(labels), team FROM items WHERE key = 'acme/models#2'") == [(25, "Vision")]
    assert rows(db_path, "SELECT key, status_category, resolution FROM items ORDER BY key") == [
        ("acme/models#1", "done", "completed"), ("acme/models#2", "new", None), ("acme/models#3", "done", "merged")]
    sprints = rows(db_path, "SELECT sprint_id, state, date_diff('day', planned_start, planned_end), team "
                            "FROM sprints ORDER BY sprint_id")
    assert sprints == [("1", "closed", 7, "Vision"), ("2", "active", 14, "Vision")]  # 1-week, then 2-week cadence
    assert rows(db_path, "SELECT kind, to_id, actor_kind FROM events WHERE key = 'acme/models#1' ORDER BY occurred_at") == [
        ("sprint_added", "github:acme/models:1", "human"), ("assignee", None, "human"),
        ("label_added", None, "human"), ("status", "open", "human"),  # wip label: the start of work
        ("comment", None, "bot"), ("status", "closed", "human")]
    assert rows(db_path, "SELECT kind, to_value FROM events WHERE key = 'acme/models#3' AND kind = 'review'") == [
        ("review", "APPROVED")]


def test_incremental_sync_reads_only_what_changed(db_path, policy):
    dataset = repo_dataset()
    old_busy_pr = d.pull_request(REPO, 5, at(2), at(3), timeline=[d.comment(at(2, 1), "x") for _ in range(130)])
    dataset.repos[REPO].pull_requests.append(old_busy_pr)
    with GitHubServer(dataset, token=TOKEN) as server:
        run(db_path, server, policy)
        first = len(server.requests)
        assert server.operations() == ["Repository", "FollowUp", "FollowUp"]  # issue #2, then PR #5 overflowed
        assert "... on PullRequest" in server.requests[2]["query"]
        issue1 = dataset.repos[REPO].issues[0]
        issue1["timeline"].append(d.comment(at(9), "one more"))
        issue1["updatedAt"] = d.iso(at(9))
        dataset.repos[REPO].issues.append(d.issue(REPO, 4, at(9, 1), at(9, 2)))
        report = run(db_path, server, policy)
        second = server.requests[first:]
        again = run(db_path, server, policy, full=True)
    first_page = next(r for r in second if r["operation"] == "Repository")
    assert first_page["variables"]["since"] == "2024-01-06T23:58:00Z"  # newest updatedAt (PR #3, 01-07) minus 2 minutes
    # No follow-up: #2 did not change, and PR #5 is older than the cursor, so it is dropped before
    # its timeline is followed up.
    assert [r["operation"] for r in second] == ["Repository"]
    assert report.items == 3  # #1, #4, and PR #3, whose update is the cursor itself (inside the overlap)
    assert rows(db_path, "SELECT count(*), count(DISTINCT key) FROM items") == [(5, 5)]
    assert rows(db_path, "SELECT count(*) FROM events WHERE key = 'acme/models#1' AND kind = 'comment'") == [(2,)]
    assert again.items == 5  # --full reads everything again
    assert rows(db_path, "SELECT cursor FROM sync_state WHERE scope = 'acme/models'") == [("2024-01-09T02:00:00Z",)]


def test_secondary_rate_limit_and_bad_gateway_are_waited_out(db_path, policy, sleeps):
    with GitHubServer(repo_dataset(), token=TOKEN) as server:
        server.faults = [
            Fault(403, {"Retry-After": "7"}, {"message": "You have exceeded a secondary rate limit."}),
            Fault(502),
            Fault(403, {}, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}),
        ]
        report = run(db_path, server, policy)
    assert report.errors == [] and report.items == 3
    assert sleeps[0] == 7  # Retry-After honoured
    assert 0 < sleeps[1] < 1  # 502: backoff
    assert sleeps[2] == 60  # a secondary limit without Retry-After: GitHub's docs say wait a minute
    assert len(server.requests) == 2 + 3


def test_low_remaining_points_slow_the_client_down(policy, sleeps):
    reset = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    with GitHubServer(d.Dataset(repos={REPO: d.RepoData()}), token=TOKEN, remaining=40) as server:
        gh = GitHub(server.url, TOKEN, policy, clock=lambda: reset - 100)
        gh.query("query Q { rateLimit { cost remaining resetAt } }", {})
    assert (gh.remaining, gh.cost) == (39, 1)
    assert sleeps == [101]  # below the reserve: wait for the reset (100 s) and a second more


def test_bad_token_exits_1_with_a_clear_message_and_no_secret(db_path, policy):
    with GitHubServer(repo_dataset(), token=TOKEN) as server:
        with pytest.raises(SourceError) as wrong:
            run(db_path, server, policy, token="ghp_wrongTOKENvalue987")
    assert wrong.value.exit_code == 1
    assert "rejected the token in GITHUB_TOKEN (401 Bad credentials)" in str(wrong.value)
    assert "ghp_wrongTOKENvalue987" not in str(wrong.value) and "\n" not in str(wrong.value)
    with pytest.raises(SourceError, match="GITHUB_TOKEN is not set"):
        sync_github(db_path, [REPO], [], "http://127.0.0.1:9", False, Config(), env={}, policy=policy)


def test_unknown_repository(db_path, policy):
    with GitHubServer(repo_dataset(), token=TOKEN) as server:
        with pytest.raises(SourceError, match="Could not resolve to a Repository with the name 'acme/nope'"):
            run(db_path, server, policy, repos=["acme/nope"])
        report = run(db_path, server, policy, repos=[REPO, "acme/nope"])
    assert report.partial and report.scopes == [REPO]
    assert report.errors == ["acme/nope: GitHub: Could not resolve to a Repository with the name 'acme/nope'."]


def test_token_never_reaches_the_database_logs_or_messages(db_path, policy, caplog):
    caplog.set_level(logging.DEBUG)
    with GitHubServer(repo_dataset(), token=TOKEN) as server:
        report = run(db_path, server, policy, repos=[REPO, "acme/nope"])
    assert report.items == 3
    stored = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name))
    assert b"acme/models#2" in stored  # the check below looks at the real bytes
    assert TOKEN.encode() not in stored
    assert TOKEN not in caplog.text and TOKEN not in report.summary() and TOKEN not in " ".join(report.errors)
    assert "POST" in caplog.text  # requests were logged, without their headers


def test_enterprise_api_url_maps_to_its_graphql_path(db_path, policy):
    with GitHubServer(repo_dataset(), token=TOKEN) as server:
        sync_github(db_path, [REPO], [], server.url + "/api/v3", False, Config(), env={"GITHUB_TOKEN": TOKEN},
                    policy=policy, now=lambda: at(15))
    assert {r["path"] for r in server.requests} == {"/api/graphql"}


def project_dataset():
    dataset = repo_dataset()
    it1 = d.iteration("it1", "Iteration 1", "2024-01-01", 7)
    it2 = d.iteration("it2", "Iteration 2", "2024-01-08", 14)
    it3 = d.iteration("it3", "Iteration 3", "2024-01-22", 7)
    board = d.project("acme", 7, "Vision board", [it2, it3], [it1])
    issues = dataset.repos[REPO].issues
    dataset.repos[REPO].issues.append(d.issue(REPO, 4, at(2), at(2)))
    items = [d.put_on_project(board, issues[0], it1, "Done"), d.put_on_project(board, issues[1], it2, "In Progress"),
             d.put_on_project(board, dataset.repos[REPO].pull_requests[0], it3), d.put_on_project(board, issues[2], None)]
    dataset.projects["acme/7"] = board
    return dataset, board, items, (it1, it2, it3)


def test_iterations_are_sprints_with_snapshots_that_build_history(db_path, policy):
    dataset, board, items, (it1, it2, it3) = project_dataset()
    with GitHubServer(dataset, token=TOKEN) as server:
        first = run(db_path, server, policy, projects=["acme/7"], now=at(10))
        assert server.operations()[:2] == ["Project", "ProjectItems"]
        assert rows(db_path, "SELECT count(*) FROM sprints WHERE sprint_key LIKE 'github:acme/models:%'") == [(0,)]
        d.move(items[1], board, it3)
        d.move(items[3], board, it2)
        d.set_status(items[1], "Done", at(10, 12))
        run(db_path, server, policy, projects=["acme/7"], now=at(11))
        run(db_path, server, policy, projects=["acme/7"], now=at(12))  # nothing changed
    assert first.sprints == 3 and first.errors == []
    assert rows(db_path, "SELECT sprint_id, state, date_diff('day', planned_start, planned_end), team FROM sprints "
                         "ORDER BY sprint_id") == [("it1", "closed", 7, "Vision board"), ("it2", "active", 14, "Vision board"),
                                                   ("it3", "future", 7, "Vision board")]
    membership = rows(db_path, "SELECT key, kind, coalesce(to_id, from_id), occurred_at FROM events "
                               "WHERE field = 'snapshot' ORDER BY occurred_at, key, kind")
    assert membership == [
        ("acme/models#1", "sprint_added", "github:it1", at(1)),   # first sight, started: dated at its start
        ("acme/models#2", "sprint_added", "github:it2", at(8)),
        ("acme/models#3", "sprint_added", "github:it3", at(10)),  # future iteration: dated when seen
        ("acme/models#2", "sprint_added", "github:it3", at(11)),
        ("acme/models#2", "sprint_removed", "github:it2", at(11)),
        ("acme/models#4", "sprint_added", "github:it2", at(11)),
    ]
    assert rows(db_path, "SELECT seen_at, count(*) FROM snapshots GROUP BY 1 ORDER BY 1") == [
        (at(10), 3), (at(11), 4), (at(12), 4)]
    assert rows(db_path, "SELECT entity_id FROM data_quality WHERE problem = 'no_snapshot_history' ORDER BY 1") == [
        ("github:it1",), ("github:it2",)]
    # Taken from the issue's own projectItems when the issue was read (project edits do not touch the issue).
    assert rows(db_path, "SELECT status, status_category FROM items WHERE key = 'acme/models#2'") == [
        ("In Progress", "in_progress")]
    # Status changes seen between syncs, dated at the Status value's last update; and the start the
    # issue's own read gives #2 from the same value (open -> In Progress, at its updatedAt).
    assert rows(db_path, "SELECT key, occurred_at, from_value, to_value, from_category, to_category FROM events "
                         "WHERE field = 'project_status' ORDER BY occurred_at, from_value NULLS FIRST") == [
        ("acme/models#1", at(5, 1), None, "Done", None, "done"),
        ("acme/models#2", at(6), None, "In Progress", None, "in_progress"),
        ("acme/models#2", at(6), "open", "In Progress", "new", "in_progress"),
        ("acme/models#2", at(10, 12), "In Progress", "Done", "in_progress", "done"),
    ]


def test_project_items_from_repositories_not_synced_are_reported(db_path, policy):
    dataset, *_ = project_dataset()
    with GitHubServer(dataset, token=TOKEN) as server:
        report = run(db_path, server, policy, repos=[], projects=["acme/7"], now=at(10))
    assert report.scopes == ["project:acme/7"] and report.items == 0
    assert rows(db_path, "SELECT entity_id, problem FROM data_quality WHERE entity = 'repository'") == [
        ("acme/models", "repository_not_synced")]


def test_repository_names_are_matched_whatever_their_case(db_path, policy):
    dataset, *_ = project_dataset()
    with GitHubServer(dataset, token=TOKEN) as server:
        report = run(db_path, server, policy, repos=["ACME/Models"], projects=["acme/7"], now=at(10))
    assert report.scopes == ["project:acme/7", "ACME/Models"]
    assert rows(db_path, "SELECT DISTINCT split_part(key, '#', 1) FROM items") == [("acme/models",)]
    assert rows(db_path, "SELECT scope FROM sync_state ORDER BY scope") == [("acme/models",), ("project:acme/7",)]
    assert rows(db_path, "SELECT count(*) FROM data_quality WHERE problem = 'repository_not_synced'") == [(0,)]


def test_graphql_rate_limited_answer_waits_for_the_reset(policy, sleeps):
    reset = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
    with GitHubServer(d.Dataset(repos={REPO: d.RepoData()}), token=TOKEN) as server:
        # GitHub answers an exhausted GraphQL quota with 200 and an error of type RATE_LIMITED.
        server.faults = [Fault(200, {"X-RateLimit-Reset": str(reset), "X-RateLimit-Remaining": "0"},
                               {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]})]
        gh = GitHub(server.url, TOKEN, policy, clock=lambda: reset - 30)
        data, errors = gh.query("query Q { rateLimit { cost remaining resetAt } }", {})
    assert sleeps == [30] and errors == [] and data["rateLimit"]["remaining"] == 4999
    assert len(server.requests) == 2


def test_a_token_without_read_project_still_syncs_issues(db_path, policy):
    with GitHubServer(repo_dataset(), token=TOKEN, read_project=False) as server:
        report = run(db_path, server, policy)
    assert server.operations() == ["Repository", "Repository", "FollowUp"]
    assert "projectItems" in server.requests[0]["query"] and "projectItems" not in server.requests[1]["query"]
    assert report.items == 3 and report.errors == []
    assert rows(db_path, "SELECT count(*) FROM data_quality WHERE problem = 'graphql_error' AND detail LIKE '%read:project%'") == [(1,)]


def test_a_node_github_fails_to_resolve_is_reported_and_the_sync_goes_on(db_path, policy):
    # GitHub's answer when one node of a page fails: the node is null and an error names its path.
    broken_page = {
        "data": {"repository": {"pullRequests": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [None]}},
                 "rateLimit": {"cost": 1, "remaining": 4990, "resetAt": "2030-01-01T00:00:00Z"}},
        "errors": [{"message": "Something went wrong while executing your query.", "path": ["repository", "pullRequests", "nodes", 0]}],
    }
    dataset = repo_dataset()  # 100 newer pull requests fill the first page; PR #3 is on the second, which breaks
    dataset.repos[REPO].pull_requests += [d.pull_request(REPO, 100 + k, at(8), at(8, 1, k % 60)) for k in range(100)]
    with GitHubServer(dataset, token=TOKEN) as server:
        server.faults = [Fault(200, {}, broken_page, operation="PullRequests")]
        report = run(db_path, server, policy)
    assert report.items == 2 + 100 and report.errors == [] and report.scopes == [REPO]
    assert rows(db_path, "SELECT entity_id, problem, detail FROM data_quality") == [
        (REPO, "graphql_error", "Something went wrong while executing your query.")]


def test_an_assignee_plus_a_linked_open_pr_starts_work_end_to_end(db_path, policy):
    """Through the HTTP server, which executes the connector's queries against GitHub's schema.

    Hand-worked: #10 is assigned to ada on 01-02 09:00. PR #11, opened 01-03 10:00, says "Fixes #10"
    (a CrossReferencedEvent a second later, as in the recording); it is merged 01-05 12:00, which closes
    #10 in the same second. So #10 starts 01-03 10:00 (assignee_pr) and finishes 01-05 12:00.
    #12 is assigned 01-02; PR #13 is opened 01-02 11:00 without a keyword, connected by hand 01-04 08:00
    and closed unmerged 01-06: #12 starts 01-04 08:00 and stays started while open.
    """
    data = d.RepoData()
    fixes = d.pull_request(REPO, 11, at(3, 10), at(5, 12), state="MERGED", merged_at=at(5, 12), closed_at=at(5, 12),
                           body="Fixes #10", timeline=[d.closed(at(5, 12), None)])
    issue10 = d.issue(REPO, 10, at(1), at(5, 12), state="CLOSED", state_reason="COMPLETED", closed_at=at(5, 12),
                      assignees=("ada",), closed_by=[fixes], timeline=[
        d.assigned(at(2, 9), "ada"), d.cross_referenced(at(3, 10) + timedelta(seconds=1), fixes, will_close=False),
        d.closed(at(5, 12))])
    manual = d.pull_request(REPO, 13, at(2, 11), at(6), state="CLOSED", closed_at=at(6), timeline=[d.closed(at(6), None)])
    issue12 = d.issue(REPO, 12, at(1), at(4, 8), assignees=("ada",), timeline=[d.assigned(at(2), "ada")])
    issue12["timeline"].append(d.connected(at(4, 8), manual, issue12))
    data.issues, data.pull_requests = [issue10, issue12], [fixes, manual]
    with GitHubServer(d.Dataset(repos={REPO: data}), token=TOKEN) as server:
        report = run(db_path, server, policy)
    assert report.errors == [] and report.items == 4
    issues_query = next(r["query"] for r in server.requests if r["operation"] == "Repository")
    assert "includeClosedPrs: true" in issues_query and "CONNECTED_EVENT" in issues_query
    with duckdb.connect(str(db_path), read_only=True) as con:
        frame = metrics.issues(con, as_of=at(20), config=Config()).set_index("key")
    got = {key: (row["start"].to_pydatetime(), row["finish"], row["status_category"], row["start_signal"])
           for key, row in frame.loc[[f"{REPO}#10", f"{REPO}#12"]].iterrows()}
    assert got[f"{REPO}#10"][:2] == (at(3, 10), at(5, 12)) and got[f"{REPO}#10"][2:] == ("done", "assignee_pr")
    assert got[f"{REPO}#12"][0] == at(4, 8) and pd.isna(got[f"{REPO}#12"][1])
    assert got[f"{REPO}#12"][2:] == ("in_progress", "assignee_pr")
    assert rows(db_path, "SELECT key, field, actor FROM events WHERE kind = 'status' AND to_category = 'in_progress' "
                         "AND key IN ('acme/models#10', 'acme/models#12') ORDER BY key") == [
        ("acme/models#10", "assignee_pr", None), ("acme/models#12", "assignee_pr", None)]
