"""The fake Jira serves shapes Atlassian's own OpenAPI specs define (so the tests test real shapes)."""

from __future__ import annotations

import json

import httpx
import pytest

from jira_payloads import patternfly
from jira_server import FakeJira

AUTH = ("me@example.com", "s3cret-token")


@pytest.fixture
def specs(shared_fixtures):
    folder = shared_fixtures / "jira" / "openapi"
    return (json.loads((folder / "jira-platform.v3.json").read_text()),
            json.loads((folder / "jira-software.v3.json").read_text()))


def props(spec, name):
    return set(spec["components"]["schemas"][name]["properties"])


def response_schema(spec, path, method="get"):
    content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return content.get("schema"), json.loads(content["example"]) if "example" in content else None


@pytest.fixture
def served(shared_fixtures):
    with FakeJira(patternfly(shared_fixtures), inline_comments=1) as jira, \
            httpx.Client(base_url=jira.url, auth=AUTH) as client:
        yield client


def test_search_jql_page(specs, served):
    platform, _ = specs
    schema, _ = response_schema(platform, "/rest/api/3/search/jql")
    assert schema == {"$ref": "#/components/schemas/SearchAndReconcileResults"}
    page = served.get("/rest/api/2/search/jql", params={"jql": "project = OSUX", "maxResults": 2,
                                                         "expand": "changelog", "fields": "*all"}).json()
    assert set(page) <= props(platform, "SearchAndReconcileResults") and page["nextPageToken"]
    issue = page["issues"][0]
    assert set(issue) <= props(platform, "IssueBean")
    assert set(issue["changelog"]) <= props(platform, "PageOfChangelogs")
    assert set(issue["changelog"]["histories"][0]) <= props(platform, "Changelog")
    assert set(issue["changelog"]["histories"][0]["items"][0]) <= props(platform, "ChangeDetails")


def test_bulkfetch(specs, served):
    platform, _ = specs
    request_schema = platform["paths"]["/rest/api/3/changelog/bulkfetch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request_schema["$ref"].endswith("/BulkChangelogRequestBean")
    body = {"issueIdsOrKeys": ["31746"], "maxResults": 50}
    assert set(body) <= props(platform, "BulkChangelogRequestBean")
    page = served.post("/rest/api/3/changelog/bulkfetch", json=body).json()
    assert set(page) <= props(platform, "BulkChangelogResponseBean") and page["nextPageToken"]
    [log] = page["issueChangeLogs"]
    assert set(log) <= props(platform, "IssueChangeLog") and len(log["changeHistories"]) == 50


def test_paged_changelog_comments_and_site_lists(specs, served):
    platform, _ = specs
    changelog = served.get("/rest/api/2/issue/OSUX-34/changelog", params={"startAt": 0}).json()
    assert set(changelog) <= props(platform, "PageBeanChangelog")
    comments = served.get("/rest/api/2/issue/OSUX-161/comment").json()
    assert set(comments) <= props(platform, "PageOfComments")
    assert set(comments["comments"][0]) <= props(platform, "Comment")
    assert set(served.get("/rest/api/2/status").json()[0]) <= props(platform, "StatusDetails")
    assert set(served.get("/rest/api/2/serverInfo").json()) <= props(platform, "ServerInformation")
    for field in served.get("/rest/api/2/field").json():
        assert set(field) <= props(platform, "FieldDetails")
        assert set(field.get("schema", {})) <= props(platform, "JsonTypeBean")


def test_agile_boards_sprints_and_configuration(specs, served):
    _, software = specs
    _, example = response_schema(software, "/rest/agile/1.0/board/{boardId}/sprint")
    sprint_keys = set().union(*(set(s) for s in example["values"]))
    page = served.get("/rest/agile/1.0/board/24/sprint").json()
    assert set(page) <= set(example)
    for sprint in page["values"]:
        assert set(sprint) - {"self"} <= sprint_keys
    schema, _ = response_schema(software, "/rest/agile/1.0/board/{boardId}/configuration")
    assert set(served.get("/rest/agile/1.0/board/24/configuration").json()) <= set(schema["properties"])
    board_schema, _ = response_schema(software, "/rest/agile/1.0/board")
    board_page = served.get("/rest/agile/1.0/board", params={"projectKeyOrId": "OSUX"}).json()
    assert set(board_page) <= set(board_schema["properties"])
    item_props = set(board_schema["properties"]["values"]["items"]["properties"])
    assert set(board_page["values"][0]) <= item_props
