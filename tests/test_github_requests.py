"""How many requests a GitHub sync of a small organisation makes (issue #12: at most 30 per 1,000 items).

The organisation is tests/github_data.small_org: 570 items in three repositories and a Projects v2
board of 250 items. The counts assert requests, never time.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx
import pytest

import github_data as d
from cadence.config import Config
from cadence.sources.http import RetryPolicy
from cadence.sync.github import sync_github
from github_server import GitHubServer, github_schema

TOKEN = "ghp_requestsTOKEN31"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module", autouse=True)
def _schema():
    from conftest import SHARED_FIXTURES

    if not (SHARED_FIXTURES / "github" / "github-schema.graphql").exists():
        pytest.skip("GitHub schema not found under ../shared/fixtures")
    github_schema()


def _sync(server: GitHubServer, db, now: datetime):
    return sync_github(db, list(d.ORG_REPOS), [d.ORG_PROJECT], server.url, False, Config(),
                       env={"GITHUB_TOKEN": TOKEN}, policy=RetryPolicy(sleep=lambda s: None), now=lambda: now)


def test_a_small_organisation_costs_at_most_30_requests_per_1000_items(db_path):
    # Expected counts, worked out by hand from GitHub's documented caps (100 nodes a connection,
    # 500,000 a query) and the page sizes in cadence/sources/github_queries.py:
    # Full sync.
    # - project acme/1, 250 items: 1 Project + ceil(250 / 100) = 3 ProjectItems = 4 (it is always read whole);
    # - acme/web, 300 issues and 120 pull requests: 1 Repository (its milestones, issues 1-100 and pull
    #   requests 1-100) + 2 Issues (101-200, 201-300) + 1 PullRequests (101-120) = 4; and 4 FollowUp:
    #   one for #10 and #20 together (120 timeline items, 100 came), one for #150 (120), two for #250
    #   (250 = 100 + 100 + 50); issues come oldest update first, which here is by number;
    # - acme/api, 100 issues and 40 pull requests: 1 Repository (100 issues fill one page exactly);
    # - acme/docs, 8 issues and 2 pull requests: 1 Repository.
    # 4 + 4 + 4 + 1 + 1 = 14 requests for 570 items: 24.6 per 1,000.
    # Incremental, after 6 items (1%) got a comment: the project again (4), and one Repository per
    # repository (3), whose page holds every change: 7 requests, 12.3 per 1,000 of the organisation.
    dataset = d.small_org(START)
    with GitHubServer(dataset, token=TOKEN) as server:
        full = _sync(server, db_path, START + timedelta(days=59))
        full_kinds = Counter(server.operations())
        seen = len(server.requests)
        changed = d.touch_org(dataset, START + timedelta(days=60))
        incremental = _sync(server, db_path, START + timedelta(days=61))
        incremental_kinds = Counter(server.operations()[seen:])
    assert full.errors == [] and full.items == 570
    assert full_kinds == {"Project": 1, "ProjectItems": 3, "Repository": 3, "Issues": 2, "PullRequests": 1, "FollowUp": 4}
    assert full.requests == 14 and full.requests / full.items * 1000 <= 30
    assert incremental.errors == [] and changed <= incremental.items < 20
    assert incremental_kinds == {"Project": 1, "ProjectItems": 3, "Repository": 3}
    assert incremental.requests == 7
    assert 0 < server.largest_query <= 500_000  # the fake refuses more, as GitHub does


def test_the_server_refuses_a_query_over_the_node_limit():
    # 100 repositories x 100 issues x 100 comments: 1,010,100 nodes, as GitHub's resource-limitations page counts.
    query = ("query { viewer { repositories(first: 100) { nodes { issues(first: 100) { nodes { "
             "comments(first: 100) { nodes { body } } } } } } } }")
    with GitHubServer(d.Dataset(), token=TOKEN) as server:
        answer = httpx.post(f"{server.url}/graphql", json={"query": query},
                            headers={"Authorization": f"bearer {TOKEN}"}).json()
    assert "data" not in answer
    assert answer["errors"] == [{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": (
        "This query requests up to 1,010,100 possible nodes which exceeds the maximum limit of 500,000.")}]
    assert server.cost_spent == 0
