"""``sync_jira`` against a Jira-like server on 127.0.0.1 replaying the real recordings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb
import pytest

from cadence.config import Config
from cadence.sources.http import RetryPolicy
from cadence.sources.jira import JiraSource
from cadence.sync.jira import sync_jira
from jira_payloads import patternfly, perceval_pages, synthetic, touch
from jira_server import FakeJira, JiraData

CLOUD_ENV = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"}
PAT_ENV = {"JIRA_PAT": "pat-t0ken"}
FAST = RetryPolicy(sleep=lambda s: None)
PROJECTS = ["OSUX", "PTNFLY", "E2E", "UXVDN"]


def sync(jira, db, projects=PROJECTS, env=CLOUD_ENV, **kw):
    args = dict(jql=None, boards=[], full=False, config=Config(), env=env, policy=FAST)
    args.update(kw)
    return sync_jira(db, jira.url, projects, args.pop("jql"), args.pop("boards"), args.pop("full"), **args)


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def pf(shared_fixtures):
    return patternfly(shared_fixtures)


def test_cloud_sync_of_the_recorded_issues(pf, db_path):
    with FakeJira(pf, inline_comments=1) as jira:
        report = sync(jira, db_path)
    assert (report.items, report.errors) == (10, [])
    assert report.requests == len(jira.requests)
    sent = [(r.method, r.path) for r in jira.requests]
    assert sent[:4] == [("GET", "/rest/api/2/serverInfo"), ("GET", "/rest/api/2/myself"),
                        ("GET", "/rest/api/2/field"), ("GET", "/rest/api/2/status")]
    searches = jira.seen("/search/jql")
    assert [s.query["jql"] for s in searches] == [f'project = "{p}" ORDER BY updated ASC' for p in PROJECTS]
    assert {"customfield_10007", "customfield_10005", "comment"} <= set(searches[0].query["fields"].split(","))
    # Cloud's plan at its floor (issue 12): search pages of 100 without the changelog (Cloud caps a
    # page at 50 with it, 100 without: PRODUCT.md and the OpenAPI spec), every changelog from bulkfetch.
    assert all("changelog" not in s.query.get("expand", "") and s.query["maxResults"] == "100" for s in searches)
    asked = sorted(i for b in jira.seen("/changelog/bulkfetch", "POST") for i in b.body["issueIdsOrKeys"])
    assert asked == sorted(str(i["id"]) for i in pf.issues)
    assert not [r for r in jira.requests if r.path == "/rest/api/2/search"]  # never Cloud's retired /search


def test_long_changelog_whole_from_bulkfetch(pf, db_path):
    # OSUX-34 (id 31746) has 71 histories in the recording; Cloud would send only the 40 newest inline.
    with FakeJira(pf) as jira:
        sync(jira, db_path)
    bulk = jira.seen("/changelog/bulkfetch", "POST")
    assert any("31746" in b.body["issueIdsOrKeys"] for b in bulk)
    [(payload,)] = rows(db_path, "SELECT payload FROM raw WHERE entity = 'issue' AND entity_id = 'OSUX-34'")
    histories = json.loads(payload)["changelog"]["histories"]
    assert len(histories) == 71 and len({h["id"] for h in histories}) == 71
    assert {h["id"] for h in histories} == {h["id"] for h in pf.issue("OSUX-34")["changelog"]["histories"]}


def test_the_oldest_transitions_survive_truncation(db_path):
    # Constructed: 3 issues of 60-90 histories; history 0 of each (the oldest) is a status change,
    # which Cloud's 40-newest inline changelog leaves out.
    data = synthetic(3, histories=30, long_share=1.0, seed=2)
    with FakeJira(data) as jira:
        sync(jira, db_path, projects=["BEN"])
    [bulk] = jira.seen("bulkfetch")
    assert sorted(bulk.body["issueIdsOrKeys"]) == ["10000", "10001", "10002"]
    oldest = rows(db_path, "SELECT event_id FROM events WHERE kind = 'status' ORDER BY event_id")
    assert {"BEN-1:0:0:status", "BEN-2:1000:0:status", "BEN-3:2000:0:status"} <= {e for (e,) in oldest}
    stored = rows(db_path, "SELECT entity_id, json_array_length(payload->'$.changelog.histories') FROM raw "
                           "WHERE entity = 'issue' ORDER BY entity_id")
    assert stored == [(i["key"], len(i["changelog"]["histories"])) for i in data.issues]


def test_sprint_membership_from_the_recorded_changelog(pf, db_path):
    with FakeJira(pf) as jira:
        sync(jira, db_path)
    got = rows(db_path, "SELECT key, kind, coalesce(to_id, from_id), occurred_at FROM events "
                        "WHERE kind LIKE 'sprint%' AND key IN ('OSUX-161', 'E2E-422') ORDER BY key, occurred_at")
    utc = timezone.utc
    assert got == [
        ("E2E-422", "sprint_added", "jira:227", datetime(2017, 10, 4, 17, 28, 24, 116000, tzinfo=utc)),
        ("E2E-422", "sprint_removed", "jira:227", datetime(2017, 10, 4, 17, 28, 37, 286000, tzinfo=utc)),
        ("OSUX-161", "sprint_added", "jira:225", datetime(2017, 10, 10, 17, 43, 30, 867000, tzinfo=utc)),
        ("OSUX-161", "sprint_added", "jira:229", datetime(2017, 10, 10, 19, 3, 30, 928000, tzinfo=utc)),
    ]
    sprints = rows(db_path, "SELECT sprint_id, team, state, completed_at, board_id FROM sprints ORDER BY sprint_id")
    assert sprints == [
        ("225", "OSUX Board", "closed", datetime(2017, 10, 10, 19, 3, 30, 753000, tzinfo=utc), "24"),
        ("229", "OSUX Board", "closed", datetime(2017, 10, 31, 23, 36, 25, 634000, tzinfo=utc), "24"),
        ("230", "PatternFly Board", "active", None, "4"),
        ("231", "OSUX Board", "active", None, "24"),
    ]
    assert [r.query["state"] for r in jira.seen("/sprint") if r.path.endswith("/sprint")] == ["future,active,closed"] * 2


def test_items_statuses_and_story_points(pf, db_path):
    with FakeJira(pf) as jira:
        sync(jira, db_path)
    items = dict((k, rest) for k, *rest in rows(
        db_path, "SELECT key, team, status, status_category, story_points, url FROM items"))
    assert items["PTNFLY-2600"] == ["PatternFly Board", "To Do", "new", 8.0, f"{jira.url}/browse/PTNFLY-2600"]
    assert items["OSUX-161"][:3] == ["OSUX Board", "Done", "done"]
    assert items["UXVDN-38"][0] == "UXVDN"  # a project without a board is its own team
    assert rows(db_path, "SELECT status_id, category FROM statuses ORDER BY status_id") == [
        ("10000", "new"), ("10001", "done"), ("10100", "new"), ("3", "in_progress")]
    estimates = rows(db_path, "SELECT key, from_value, to_value FROM events WHERE kind = 'estimate' ORDER BY key, occurred_at")
    assert ("PTNFLY-2600", None, "8.0") in estimates


def test_all_comment_pages_with_author_kinds(pf, db_path):
    with FakeJira(pf, inline_comments=1) as jira:
        sync(jira, db_path)
    assert [r.query["startAt"] for r in jira.seen("/issue/OSUX-161/comment")] == ["0"]
    got = rows(db_path, "SELECT event_id, actor_kind FROM events WHERE kind = 'comment' ORDER BY event_id")
    assert got == [("OSUX-161:comment:10022", "human"), ("OSUX-161:comment:10024", "human"),
                   ("OSUX-161:comment:20001", "bot"), ("OSUX-161:comment:20002", "unknown")]


def test_server_reads_whole_changelogs_per_issue_with_a_bearer_token(pf, db_path):
    with FakeJira(pf, deployment="Server", pat="pat-t0ken", inline_histories=20, page_limit=30) as jira:
        report = sync(jira, db_path, env=PAT_ENV)
    assert report.errors == [] and report.items == 10
    assert all(r.authorized for r in jira.requests if r.path != "/rest/api/2/serverInfo")
    assert not jira.seen("/search/jql") and not jira.seen("bulkfetch")
    # Server has no /issue/{key}/changelog (404: atlassian-python-api#1396); GET issue gives the whole changelog.
    assert not jira.seen("/changelog")
    [whole] = jira.seen("/rest/api/2/issue/OSUX-34")
    assert whole.query["expand"] == "changelog"
    [(payload,)] = rows(db_path, "SELECT payload FROM raw WHERE entity_id = 'OSUX-34'")
    assert len(json.loads(payload)["changelog"]["histories"]) == 71


def test_recorded_server_search_pages_and_a_site_without_sprints(shared_fixtures, db_path):
    pages = perceval_pages(shared_fixtures)
    data = JiraData(fields=pages["jira_fields"], projects={"HELP"})
    with FakeJira(data, deployment="Server", pat="pat-t0ken") as jira:
        jira.replay["/rest/api/2/search"] = {0: pages["jira_issues_page_1"], 2: pages["jira_issues_page_2"]}
        report = sync(jira, db_path, projects=["HELP"], env=PAT_ENV)
    assert [r.query["startAt"] for r in jira.seen("/rest/api/2/search")] == ["0", "2"]
    assert sorted(k for (k,) in rows(db_path, "SELECT key FROM items")) == ["HELP-6041", "HELP-6042", "HELP-6043"]
    assert report.items == 3
    assert ("site", "no_sprint_field") in rows(db_path, "SELECT entity, problem FROM data_quality")
    assert rows(db_path, "SELECT cursor FROM sync_state WHERE scope = 'HELP'") == [("2016-03-03T14:32:47+00:00",)]


def test_recorded_comment_pages_are_followed(shared_fixtures):
    pages = perceval_pages(shared_fixtures)
    with FakeJira(JiraData(), deployment="Server", pat="pat-t0ken") as jira:
        path = "/rest/api/2/issue/CONTRIB-11/comment"
        jira.replay[path] = {0: pages["jira_comments_issue_page_1"], 2: pages["jira_comments_issue_page_2"]}
        with JiraSource(jira.url, PAT_ENV, FAST) as source:
            comments = source.comments("CONTRIB-11")
    # The server capped pages at 2 of 3; the client asked from where it had got to.
    assert [r.query["startAt"] for r in jira.seen(path)] == ["0", "2"]
    assert len(comments) == 4


def test_incremental_sync_fetches_only_what_changed(db_path):
    data = synthetic(250, histories=10, seed=3)
    with FakeJira(data) as jira:
        sync(jira, db_path, projects=["BEN"])
        assert len(jira.seen("/search/jql")) == 3  # 250 issues, 100 a page (Cloud's cap without the changelog)
        newest, last_key = max((datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z"), i["key"])
                               for i in data.issues)
        changed = touch(data, 0.02, datetime(2025, 6, 1, 12, 0, 30, tzinfo=timezone.utc))
        jira.changed()
        before = len(jira.requests)
        report = sync(jira, db_path, projects=["BEN"])
    # The 5 changed issues, and the previous newest one again: it sits inside the 2-minute overlap.
    assert len(changed) == 5 and report.items == 6 and last_key not in changed
    last = jira.seen("/search/jql")[-1].query["jql"]
    since = newest.astimezone(timezone.utc)
    assert last.startswith('project = "BEN" AND updated >= "') and last.endswith('" ORDER BY updated ASC')
    # The cursor (newest update) minus two minutes, in the user's zone (Europe/Berlin), to the minute.
    assert f'"{(since - timedelta(minutes=2)).astimezone(ZoneInfo("Europe/Berlin")):%Y-%m-%d %H:%M}"' in last
    # serverInfo, myself, field, status, boards, config, sprints, 1 search, 1 bulkfetch of the 6 changelogs
    assert len(jira.requests) - before == 9
    done = rows(db_path, "SELECT count(*) FROM events WHERE kind = 'status' AND event_id LIKE '%:t%'")[0][0]
    assert done == 5
    assert rows(db_path, "SELECT cursor FROM sync_state WHERE scope = 'BEN'") == [("2025-06-01T12:00:30+00:00",)]


def test_incremental_jql_uses_the_users_time_zone(db_path):
    data = synthetic(3, histories=2, seed=1)
    for issue in data.issues:
        issue["fields"]["updated"] = "2024-06-01T12:00:30.000+0000"
    with FakeJira(data) as jira:
        sync(jira, db_path, projects=["BEN"])
        sync(jira, db_path, projects=["BEN"])
        sync(jira, db_path, projects=["BEN"], full=True)
    # 12:00:30 UTC is 14:00:30 in Berlin (summer time); minus the 2-minute overlap, cut to the minute.
    assert [s.query["jql"] for s in jira.seen("/search/jql")] == [
        'project = "BEN" ORDER BY updated ASC',
        'project = "BEN" AND updated >= "2024-06-01 13:58" ORDER BY updated ASC',
        'project = "BEN" ORDER BY updated ASC',
    ]


def test_user_jql_is_one_scope_and_keeps_its_own_filter(pf, db_path):
    with FakeJira(pf) as jira:
        report = sync(jira, db_path, projects=[], jql="project = OSUX ORDER BY created DESC", boards=[24])
    assert jira.seen("/search/jql")[0].query["jql"] == "(project = OSUX) ORDER BY updated ASC"
    assert report.items == 4 and report.scopes == ["project = OSUX ORDER BY created DESC"]
    assert jira.seen("/rest/agile/1.0/board/24")[0].path == "/rest/agile/1.0/board/24"
    assert not jira.seen("/rest/agile/1.0/board", "GET")[0].query.get("projectKeyOrId")


def test_a_malformed_issue_is_reported_and_the_sync_goes_on(pf, db_path):
    broken = next(i for i in pf.issues if i["key"] == "UXVDN-38")
    broken["fields"]["created"] = "yesterday-ish"
    with FakeJira(pf) as jira:
        report = sync(jira, db_path)
    assert report.items == 9 and report.problems >= 1 and not report.errors
    assert ("issue", "UXVDN-38", "malformed_issue") in rows(db_path, "SELECT entity, entity_id, problem FROM data_quality")
    assert rows(db_path, "SELECT count(*) FROM raw WHERE entity = 'issue' AND entity_id = 'UXVDN-38'") == [(1,)]


def test_server_info_forbidden_falls_back_to_the_search_that_answers(pf, db_path):
    with FakeJira(pf, server_info_status=403) as jira:
        report = sync(jira, db_path, projects=["OSUX"])
    assert report.items == 4
    probe = jira.seen("/search/jql")[0]
    assert probe.query["maxResults"] == "1"  # the probe, then the real search
    assert len(jira.seen("/search/jql")) == 2


def test_server_info_forbidden_on_a_server_falls_back_to_the_old_search(pf, db_path):
    with FakeJira(pf, deployment="Server", pat="pat-t0ken", server_info_status=403) as jira:
        report = sync(jira, db_path, projects=["OSUX"], env=PAT_ENV)
    assert report.items == 4
    assert [r.path for r in jira.seen("/search")] == ["/rest/api/2/search/jql", "/rest/api/2/search"]


def test_configuration_maps_boards_to_teams_and_overrides_the_estimate_field(pf, db_path):
    config = Config(teams={"jira:board:24": "Vision"}, estimate_field="customfield_10006")
    with FakeJira(pf) as jira:
        sync(jira, db_path, projects=["OSUX", "PTNFLY"], config=config)
    assert rows(db_path, "SELECT DISTINCT team FROM items WHERE key LIKE 'OSUX-%'") == [("Vision",)]
    assert rows(db_path, "SELECT team FROM sprints WHERE sprint_id = '225'") == [("Vision",)]
    # Business Value (customfield_10006) is empty on every recorded issue, and its changes are the
    # only estimate events now: the board's Story Points field is overridden.
    assert rows(db_path, "SELECT count(*) FROM items WHERE story_points IS NOT NULL") == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM events WHERE field = 'story_points' AND NOT initial") == [(0,)]
    # Each issue's (empty) value at creation of the overriding field is recorded, and nothing else.
    assert rows(db_path, "SELECT count(*), count(to_value) FROM events WHERE field = 'story_points' AND initial") == [
        (8, 0)]
    assert "customfield_10006" in jira.seen("/search/jql")[0].query["fields"].split(",")


def test_a_later_run_without_boards_keeps_the_sprints_a_board_gave(pf, db_path):
    query = "SELECT sprint_key, team, name, goal, planned_start, planned_end, board_id FROM sprints ORDER BY ALL"
    with FakeJira(pf) as jira:
        sync(jira, db_path, projects=["OSUX"], boards=[24])
        from_board = rows(db_path, query)
        sync(jira, db_path, projects=[], jql="project = OSUX", full=True)
    assert from_board and all(r[1] and r[4] for r in from_board)  # the board gave team and dates
    after = {r[0]: r for r in rows(db_path, query)}
    assert [after[r[0]] for r in from_board] == from_board


def test_cloud_request_plan_at_its_floor(db_path):
    """Issue 12: the Cloud plan's request count, full and incremental.

    Expected values come from Atlassian's documented caps, not from the connector: a search page
    holds at most 100 issues without the changelog, and bulkfetch at most 10,000 histories a
    request (BulkChangelogRequestBean). So 1,000 issues cost ceil(1,000 / 100) = 10 search pages,
    and their H histories at least ceil(H / 10,000) bulkfetch requests; the connector may spend
    one more, for the first page it sends alone to learn how long the histories are.
    """
    data = synthetic(1000, histories=30, long_share=0.02, seed=12)
    histories = sum(len(i["changelog"]["histories"]) for i in data.issues)
    with FakeJira(data) as jira:
        sync(jira, db_path, projects=["BEN"])
        searches, bulk = len(jira.seen("/search/jql")), len(jira.seen("/changelog/bulkfetch"))
        assert searches == 10
        assert -(-histories // 10_000) <= bulk <= -(-histories // 10_000) + 1
        assert not jira.seen("/rest/api/2/issue/")  # no issue fetched on its own
        touch(data, 0.01, datetime(2025, 6, 1, 12, 0, 30, tzinfo=timezone.utc))
        jira.changed()
        before_search, before_bulk = searches, bulk
        sync(jira, db_path, projects=["BEN"])
        # the 10 changed issues (and the overlap's one): one search page, one bulkfetch
        assert len(jira.seen("/search/jql")) - before_search == 1
        assert len(jira.seen("/changelog/bulkfetch")) - before_bulk == 1
    assert rows(db_path, "SELECT count(*) FROM items") == [(1000,)]
    assert rows(db_path, "SELECT count(*) FROM data_quality WHERE problem = 'changelog_incomplete'") == [(0,)]
