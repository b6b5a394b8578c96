"""Hostile input: SQL-injection-shaped project keys, repository names and JQL, hostile payloads
from a server, and hostile text that must stay text in the report and the slides."""

from __future__ import annotations

import html
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

import github_data as d
from cadence.config import Config
from cadence.errors import CadenceError
from cadence.sources.http import RetryPolicy
from cadence.sync.github import sync_github
from cadence.sync.jira import sync_jira
from faults import digest
from github_server import GitHubServer
from jira_payloads import synthetic
from jira_server import FakeJira

ENV = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"}
FAST = RetryPolicy(attempts=2, backoff_s=0.0, sleep=lambda s: None)
TOKEN = "ghp_hostileTOKEN"
TABLES = ["teams", "sprints", "items", "events", "statuses", "snapshots", "raw", "sync_state", "data_quality", "runs",
          "sprint_reports", "sprint_report_issues"]

HOSTILE_KEYS = [
    'BEN" OR project = "BEN',
    "BEN'); DROP TABLE items; --",
    'BEN\\" OR 1=1 --',
    "'; DELETE FROM sync_state; --",
    "BEN OR updated > -1000d",
]


def _tables(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())


def _jql_literal(value: str) -> str:
    """How a JQL string literal holds ``value``: in double quotes, with backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def synced(tmp_path):
    """A warehouse holding a clean sync of project BEN, and the Jira-like server it came from."""
    data = synthetic(6, histories=5, seed=1)
    db = tmp_path / "w.duckdb"
    with FakeJira(data) as jira:
        sync_jira(db, jira.url, ["BEN"], None, [], False, Config(), env=ENV, policy=FAST)
        yield db, jira


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_injection_shaped_project_keys_are_refused_or_reach_jira_intact(synced, key):
    db, jira = synced
    before, tables, seen = digest(db), _tables(db), len(jira.requests)
    try:
        sync_jira(db, jira.url, [key], None, [], False, Config(), env=ENV, policy=FAST)
    except CadenceError as exc:
        assert "\n" not in str(exc) and key in str(exc)  # one line, naming what it refused
    searches = [r.query["jql"] for r in jira.requests[seen:] if "/search" in r.path]
    # Whatever was sent says "this one project", the key a string literal the query cannot escape from.
    assert all(jql == f"project = {_jql_literal(key)} ORDER BY updated ASC" for jql in searches), searches
    assert _tables(db) == tables
    after = digest(db)
    assert {t: after[t] for t in ("items", "events", "sprints")} == {t: before[t] for t in ("items", "events", "sprints")}


def test_user_jql_with_injection_text_reaches_jira_intact_and_is_stored_as_data(synced):
    db, jira = synced
    jql = "project = BEN AND summary !~ \"'); DROP TABLE items; --\" ORDER BY key"
    seen = len(jira.requests)
    report = sync_jira(db, jira.url, [], jql, [], False, Config(), env=ENV, policy=FAST)
    searches = [r.query["jql"] for r in jira.requests[seen:] if "/search" in r.path]
    assert searches == ["(project = BEN AND summary !~ \"'); DROP TABLE items; --\") ORDER BY updated ASC"]
    assert report.items == 6 and _tables(db) == sorted(TABLES + ["schema_migrations"])
    with duckdb.connect(str(db), read_only=True) as con:
        scopes = [r[0] for r in con.execute("SELECT scope FROM sync_state ORDER BY scope").fetchall()]
        assert scopes == sorted(["BEN", jql])  # the JQL is a value, stored as it was given


@pytest.mark.parametrize("repo", [
    "acme/models'); DROP TABLE items; --",
    'acme/x" } } query { viewer { login',
    "acme/$(rm -rf ~)",
])
def test_injection_shaped_repository_names_reach_github_as_variables_and_are_refused(shared_fixtures, tmp_path, repo):
    # The fake GitHub executes queries against GitHub's published schema, under ../shared.
    dataset = d.Dataset(repos={"acme/models": d.synthetic_repo("acme/models", 3, 1)})
    db = tmp_path / "w.duckdb"
    with GitHubServer(dataset, token=TOKEN) as server:
        sync_github(db, ["acme/models"], [], server.url, False, Config(), env={"GITHUB_TOKEN": TOKEN}, policy=FAST)
        before, seen = digest(db), len(server.requests)
        with pytest.raises(CadenceError) as refused:
            sync_github(db, [repo], [], server.url, False, Config(), env={"GITHUB_TOKEN": TOKEN}, policy=FAST)
        sent = server.requests[seen:]
    assert "\n" not in str(refused.value) and repo in str(refused.value)
    owner, name = repo.split("/", 1)
    assert sent and all(r["variables"].get("name") == name and r["variables"].get("owner") == owner for r in sent)
    assert all(name not in r["query"] for r in sent)  # never spliced into the query text
    assert digest(db) == before


@pytest.mark.parametrize("project", ["acme/1 OR 1=1", "acme/1; DROP TABLE items", "acme/../1"])
def test_injection_shaped_github_projects_are_refused_with_a_clear_message(tmp_path, project):
    with pytest.raises(CadenceError) as refused:
        sync_github(tmp_path / "w.duckdb", [], [project], "http://127.0.0.1:9", False, Config(),
                    env={"GITHUB_TOKEN": TOKEN}, policy=FAST)
    assert "\n" not in str(refused.value) and "OWNER/NUMBER" in str(refused.value)
    assert not (tmp_path / "w.duckdb").exists()  # refused before anything was written


def test_a_hostile_sprint_from_the_agile_api_is_counted_and_the_sync_goes_on(tmp_path):
    data = synthetic(4, histories=3, seed=2)
    data.sprints[1] += [{"id": 999, "state": "closed", "name": "<b>bad</b>", "startDate": "yesterday-ish",
                         "endDate": 10**40, "originBoardId": 1},
                        {"state": "active", "name": "no id at all"}]
    with FakeJira(data) as jira:
        report = sync_jira(tmp_path / "w.duckdb", jira.url, ["BEN"], None, [], False, Config(), env=ENV, policy=FAST)
    assert report.items == 4 and report.errors == []
    saved = digest(tmp_path / "w.duckdb")
    assert len(saved["sprints"]) == 26  # the 26 good ones
    problems = [row for row in saved["data_quality"] if row[1] == "sprint"]
    assert len(problems) == 2


# -- report and slides -------------------------------------------------------------------------
SCRIPT = "<script>alert(1)</script>"
DROP = "'); DROP TABLE items; --"
IMG = '<img src=x onerror="alert(2)">'


def _hostile_history(folder: Path) -> Path:
    """A small neutral-format history whose texts are hostile: summaries, a sprint name, a learning."""
    def t(day: int, hour: int = 9) -> str:
        return datetime(2024, 3, day, hour, tzinfo=timezone.utc).isoformat()

    rows = [
        {"record": "team", "team": "Research"},
        {"record": "status", "source": "x", "status_id": "todo", "name": "To Do", "category": "new"},
        {"record": "status", "source": "x", "status_id": "doing", "name": "Doing", "category": "in_progress"},
        {"record": "status", "source": "x", "status_id": "done", "name": "Done", "category": "done"},
    ]
    for n, (start, end) in enumerate([(4, 11), (11, 18), (18, 25)]):
        rows.append({"record": "sprint", "source": "x", "sprint_id": str(n + 1), "team": "Research", "state": "closed",
                     "name": f"Sprint {n + 1} {IMG}", "planned_start": t(start), "planned_end": t(end),
                     "completed_at": t(end, 10)})
    texts = [SCRIPT, DROP, IMG, "Spike: " + SCRIPT]
    for n, text in enumerate(texts):
        key = f"H-{n}"
        sprint = str(n % 3 + 1)
        start = 4 + 7 * (n % 3)
        rows.append({"record": "item", "source": "x", "key": key, "team": "Research", "type": "Spike" if n == 3 else "Story",
                     "summary": text, "url": f"https://example.com/{key}", "created": t(start - 1),
                     "status": "Done", "status_id": "done", "status_category": "done", "resolution": "Done",
                     "labels": ["timebox:1h"]})
        rows += [
            {"record": "event", "source": "x", "event_id": f"{key}:s", "key": key, "occurred_at": t(start, 8),
             "kind": "sprint_added", "to_id": sprint},
            {"record": "event", "source": "x", "event_id": f"{key}:p", "key": key, "occurred_at": t(start, 10),
             "kind": "status", "from_id": "todo", "to_id": "doing", "from_category": "new", "to_category": "in_progress",
             "actor": "ada", "actor_kind": "human"},
            {"record": "event", "source": "x", "event_id": f"{key}:c", "key": key, "occurred_at": t(start + 1),
             "kind": "comment", "actor": "bob", "actor_kind": "human", "text": f"Learning: {text}"},
            {"record": "event", "source": "x", "event_id": f"{key}:d", "key": key, "occurred_at": t(start + 3),
             "kind": "status", "from_id": "doing", "to_id": "done", "from_category": "in_progress", "to_category": "done",
             "actor": "ada", "actor_kind": "human"},
        ]
    path = folder / "hostile.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def hostile_outputs(tmp_path_factory):
    import cadence
    from cadence.importer import import_path
    from cadence.report import build_report, build_slides

    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "h.duckdb"
    import_path(db, _hostile_history(folder))
    wh = cadence.open(db)
    as_of = datetime(2024, 4, 1, tzinfo=timezone.utc)
    report = build_report(wh, folder / "report", as_of=as_of)
    slides = build_slides(wh, folder / "slides", team="Research", as_of=as_of)
    return db, report, slides


def test_hostile_text_is_imported_as_data(hostile_outputs):
    db, _, _ = hostile_outputs
    with duckdb.connect(str(db), read_only=True) as con:
        summaries = {r[0] for r in con.execute("SELECT summary FROM items").fetchall()}
        assert {SCRIPT, DROP, IMG} <= summaries
        assert con.execute("SELECT count(*) FROM items").fetchone() == (4,)


def test_report_shows_hostile_text_as_text(hostile_outputs):
    _, report, _ = hostile_outputs
    page = Path(report).read_text(encoding="utf-8")
    for text in (SCRIPT, IMG):
        assert text not in page  # never live markup...
    assert "alert(1)" in page and html.escape(SCRIPT, quote=False) in page  # ...but shown, escaped
    assert "DROP TABLE items" in page


def test_slides_hold_hostile_text_as_text(hostile_outputs):
    _, _, slides = hostile_outputs
    with zipfile.ZipFile(slides) as deck:
        xml = "".join(deck.read(n).decode("utf-8", "replace") for n in deck.namelist() if n.endswith(".xml"))
    # The deck is about sprint 3, whose item, timebox overrun and learning carry IMG.
    assert SCRIPT not in xml and "<img src=x" not in xml  # never markup in the slide XML...
    texts = re.findall(r"<a:t>([^<]*)</a:t>", xml)
    assert "H-2: Learning: " + html.escape(IMG, quote=False) in texts  # ...but text runs, escaped once
    assert "Retro: Research: Sprint 3 " + html.escape(IMG, quote=False) in texts
