"""Every GraphQL document the connector can send is valid against GitHub's public schema."""

from __future__ import annotations

import itertools

import pytest
from graphql import parse, validate

from cadence.sources import github_queries as q
from cadence.sources.github import graphql_endpoint
from github_server import github_schema, query_cost


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


def test_bulk_queries_stay_within_gitHub_limits(schema):
    # GitHub allows at most 100 nodes per connection; the issues page costs
    # 1 (issues) + 50 x 5 nested connections = 251 requests -> 3 points by GitHub's formula.
    assert q.ITEM_PAGE <= 100 and q.TIMELINE_PAGE <= 100 and q.FOLLOW_UP_PAGE <= 100
    assert query_cost(parse(q.ISSUES_QUERY), {"first": 50}) == 3


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
