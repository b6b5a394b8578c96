"""Every GraphQL document the connector can send is valid against GitHub's public schema."""

from __future__ import annotations

import itertools

import pytest
from graphql import parse, validate

from cadence.sources import github_queries as q
from cadence.sources.github import graphql_endpoint
from github_server import github_schema, query_limits


@pytest.fixture(scope="module")
def schema(shared_fixtures_module):
    return github_schema()


@pytest.fixture(scope="module")
def shared_fixtures_module():
    from conftest import SHARED_FIXTURES

    if not (SHARED_FIXTURES / "github" / "github-schema.graphql").exists():
        pytest.skip(f"GitHub schema not found under {SHARED_FIXTURES}")
    return SHARED_FIXTURES


def _follow_up_documents() -> list[str]:
    kinds = list(q.FOLLOW_UP_SELECTIONS)
    documents = [q.follow_up_query([kind]) for kind in kinds]  # each kind alone
    documents.append(q.follow_up_query((kinds * q.FOLLOW_UPS_PER_QUERY)[: q.FOLLOW_UPS_PER_QUERY]))  # a full mix
    documents += [q.follow_up_query([a, b]) for a, b in itertools.permutations(kinds, 2)]
    return documents


@pytest.mark.parametrize("name", sorted(q.ALL_QUERIES))
def test_each_query_is_valid(schema, name):
    assert validate(schema, parse(q.ALL_QUERIES[name])) == []


def test_every_follow_up_query_is_valid(schema):
    for document in _follow_up_documents():
        assert validate(schema, parse(document)) == [], document


def test_validation_catches_a_misspelled_field(schema):
    """The check above can fail: a wrong field name is reported."""
    wrong = q.ISSUES_QUERY.replace("stateReason", "stateReasn", 1)
    messages = [e.message for e in validate(schema, parse(wrong))]
    assert len(messages) == 1 and messages[0].startswith("Cannot query field 'stateReasn' on type 'Issue'.")


def _every_document() -> list[tuple[str, dict]]:
    """Every document with the variables that make it largest (full pages)."""
    return [(doc, {"first": q.ITEM_PAGE}) for doc in q.ALL_QUERIES.values()] + [(doc, {}) for doc in _follow_up_documents()]


def test_every_document_stays_within_github_limits(schema):
    """First/last within 1-100 on every connection and at most 500,000 nodes, counted as GitHub does
    (tests/github_server.query_limits)."""
    for document, variables in _every_document():
        limits = query_limits(parse(document), variables)
        assert limits.errors == [] and limits.nodes <= q.NODE_LIMIT, document


def test_page_sizes_worked_out_by_hand(schema):
    # Worked out by hand from GitHub's documented caps: an issues page is 100 issues + 100 x (10
    # assignees + 20 labels + 5 project items + 100 timeline items + 10 closing pull requests) =
    # 14,600 nodes, and costs 1 + 100 x 5 nested connections = 501 requests -> 5 points. The first
    # request of a repository adds 100 milestones and a page of pull requests (100 + 100 x 135):
    # 28,300 nodes; 1 + 501 + 1 + 401 = 904 requests -> 9 points.
    issues = query_limits(parse(q.ISSUES_QUERY), {"first": q.ITEM_PAGE})
    assert (issues.nodes, issues.cost) == (14_600, 5)
    first = query_limits(parse(q.REPOSITORY_QUERY), {"first": q.ITEM_PAGE})
    assert (first.nodes, first.cost) == (28_300, 9)


# The two examples of GitHub's "Rate limits and node limits for the GraphQL API" page, with its totals.
DOCS_SIMPLE = """query { viewer { repositories(first: 50) { edges { repository: node { name
  issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } }"""
DOCS_COMPLEX = """query { viewer { repositories(first: 50) { edges { repository: node { name
  pullRequests(first: 20) { edges { pullRequest: node { title comments(first: 10) { edges { comment: node { bodyHTML } } } } } }
  issues(first: 20) { totalCount edges { issue: node { title bodyHTML comments(first: 10) { edges { comment: node { bodyHTML } } } } } } } } }
  followers(first: 10) { edges { follower: node { login } } } } }"""
# The cost example of the same page: 1 + 100 + 5,000 = 5,101 requests -> 51 points.
DOCS_COST = """query { viewer { login repositories(first: 100) { edges { node { id
  issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }"""


def test_the_fake_counts_nodes_and_cost_as_github_documents(schema):
    assert query_limits(parse(DOCS_SIMPLE), {}).nodes == 550
    assert query_limits(parse(DOCS_COMPLEX), {}).nodes == 22_060
    assert query_limits(parse(DOCS_COST), {}).cost == 51


def test_the_fake_refuses_what_github_refuses(schema):
    too_wide = query_limits(parse(DOCS_SIMPLE.replace("first: 10", "first: 101")), {}).errors
    assert [e["type"] for e in too_wide] == ["EXCESSIVE_PAGINATION"]
    unbounded = query_limits(parse(DOCS_SIMPLE.replace("(first: 10)", "")), {}).errors
    assert [e["type"] for e in unbounded] == ["MISSING_PAGINATION_BOUNDARIES"]
    # 100 repositories x 100 issues x 100 comments: 100 + 10,000 + 1,000,000 nodes.
    deep = DOCS_SIMPLE.replace("first: 50", "first: 100").replace("first: 10)", "first: 100)").replace(
        "title bodyHTML", "title comments(first: 100) { nodes { body } }")
    over = query_limits(parse(deep), {})
    assert over.nodes == 1_010_100 and [e["type"] for e in over.errors] == ["MAX_NODE_LIMIT_EXCEEDED"]


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("https://api.github.com", ("https://api.github.com", "/graphql")),
        ("https://api.github.com/", ("https://api.github.com", "/graphql")),
        ("https://ghe.example.com/api/v3", ("https://ghe.example.com/api", "/graphql")),
        ("http://127.0.0.1:8080", ("http://127.0.0.1:8080", "/graphql")),
    ],
)
def test_graphql_endpoint(api_url, expected):
    assert graphql_endpoint(api_url) == expected
