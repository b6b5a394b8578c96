"""The fake Jira refuses and caps what the real one does (tests/jira_server.py), so connector tests
cannot pass against behaviour Jira does not have.

Oracles: Atlassian's OpenAPI spec for Jira Cloud (../shared/fixtures/jira/openapi/jira-platform.v3.json);
PRODUCT.md, "What the sources never say"; atlassian-python-api#1396 and jira-azuredevops-migrator#13
(Server 9.12 answers 404 ``{"message": "null for uri: ...", "status-code": 404}`` for
``/rest/api/2/issue/{key}/changelog``).
"""

from __future__ import annotations

import json

import httpx
import pytest

from jira_payloads import synthetic
from jira_server import FakeJira

EMAIL, TOKEN, PAT = "me@example.com", "s3cret-token", "pat-t0ken"


@pytest.fixture
def platform(shared_fixtures):
    return json.loads((shared_fixtures / "jira" / "openapi" / "jira-platform.v3.json").read_text())


def test_the_spec_says_what_the_fake_enforces(platform):
    search = next(p for p in platform["paths"]["/rest/api/3/search/jql"]["get"]["parameters"] if p["name"] == "maxResults")
    assert "max 5000 issues" in search["description"] and "requesting `id` or `key` only" in search["description"]
    bulk = platform["components"]["schemas"]["BulkChangelogRequestBean"]["properties"]
    assert bulk["issueIdsOrKeys"]["maxItems"] == 1000 and bulk["maxResults"]["maximum"] == 10000


def test_cloud_search_pages_are_capped():
    with FakeJira(synthetic(120, histories=2), page_limit=10_000) as jira, \
            httpx.Client(base_url=jira.url, auth=(EMAIL, TOKEN)) as client:
        def page(**params):
            return client.get("/rest/api/2/search/jql", params={"jql": "project = BEN", "maxResults": 1000, **params}).json()

        assert len(page(expand="changelog", fields="summary")["issues"]) == 50
        assert len(page(fields="summary")["issues"]) == 100
        assert len(page(fields="id")["issues"]) == 120  # up to 5,000 with only ids
        bulk = client.post("/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ["10000"], "maxResults": 10_001})
        assert bulk.status_code == 400


def test_server_has_no_paged_changelog_nor_bulkfetch_and_get_issue_gives_the_whole_changelog():
    data = synthetic(2, histories=150)
    with FakeJira(data, deployment="Server", pat=PAT) as jira, \
            httpx.Client(base_url=jira.url, headers={"Authorization": f"Bearer {PAT}"}) as client:
        missing = client.get("/rest/api/2/issue/BEN-1/changelog", params={"startAt": 0, "maxResults": 100})
        assert missing.status_code == 404
        assert missing.json() == {"message": "null for uri: /rest/api/2/issue/BEN-1/changelog", "status-code": 404}
        assert client.post("/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ["BEN-1"]}).status_code == 404
        whole = client.get("/rest/api/2/issue/BEN-1", params={"expand": "changelog", "fields": "updated"}).json()
        assert len(whole["changelog"]["histories"]) == len(data.issues[0]["changelog"]["histories"]) > 100
        searched = client.get("/rest/api/2/search", params={"jql": "project = BEN", "expand": "changelog"}).json()
        assert len(searched["issues"][0]["changelog"]["histories"]) == 100  # Server's inline changelog: 100


def test_cloud_get_issue_keeps_the_100_newest_histories():
    with FakeJira(synthetic(1, histories=150)) as jira, httpx.Client(base_url=jira.url, auth=(EMAIL, TOKEN)) as client:
        issue = client.get("/rest/api/2/issue/BEN-1", params={"expand": "changelog"}).json()
    assert len(issue["changelog"]["histories"]) == 100 and issue["changelog"]["total"] > 100
