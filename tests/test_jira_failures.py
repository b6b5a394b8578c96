"""Jira sync failures: rate-limit storms, partial failures, kills, bad credentials, secrets."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from cadence.config import Config
from cadence.errors import SourceError
from cadence.sources.http import RetryPolicy
from cadence.sync.jira import sync_jira
from jira_payloads import patternfly, synthetic
from jira_server import FakeJira

TOKEN = "s3cret-token"
ENV = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": TOKEN}
BASIC = "bWVAZXhhbXBsZS5jb206czNjcmV0LXRva2Vu"  # base64 of me@example.com:s3cret-token


def sync(jira, db, projects=("BEN",), env=ENV, policy=None, **kw):
    return sync_jira(db, jira.url, list(projects), kw.pop("jql", None), [], kw.pop("full", False),
                     kw.pop("config", Config()), env=env, policy=policy or RetryPolicy(sleep=lambda s: None))


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_429_and_503_storms_are_waited_out(db_path):
    waits: list[float] = []
    data = synthetic(150, histories=3, seed=4)
    with FakeJira(data) as jira:
        jira.fail("/search/jql", [429, 429, 503, 503], headers={"Retry-After": "7"})
        jira.fail("/rest/api/2/status", [503, 502])
        report = sync(jira, db_path, policy=RetryPolicy(sleep=waits.append, backoff_s=0.01))
    assert report.errors == [] and report.items == 150
    assert waits.count(7.0) == 4  # Retry-After honoured on each 429 and 503 that sent it
    # 2 pages of 100 (Cloud's cap without the changelog) after 4 refusals
    assert len(jira.seen("/search/jql")) == 4 + 2 and len(jira.seen("/rest/api/2/status")) == 3
    assert report.requests == len(jira.requests)


def test_a_failure_after_saved_pages_is_partial_and_resumes(db_path):
    data = synthetic(250, histories=3, seed=5)
    with FakeJira(data) as jira:
        jira.fail("/search/jql", [500] * 6, after=1)  # page 2 fails for good
        first = sync(jira, db_path)
        assert first.items == 100 and len(first.errors) == 1 and first.partial  # Cloud: 100 issues a page
        assert "BEN" in first.errors[0] and TOKEN not in first.errors[0]
        [(cursor,)] = rows(db_path, "SELECT cursor FROM sync_state WHERE scope = 'BEN'")
        first_searches = len(jira.seen("/search/jql"))
        second = sync(jira, db_path)
    assert second.errors == []
    assert rows(db_path, "SELECT count(*) FROM items") == [(250,)]
    resumed = jira.seen("/search/jql")[first_searches].query["jql"]
    assert "updated >=" in resumed and second.items < 250  # resumed from the cursor, not from the start
    newest_first_page = max(i["fields"]["updated"] for i in sorted(
        data.issues, key=lambda i: i["fields"]["updated"])[:100])
    assert cursor[:19] == newest_first_page[:19]  # the cursor is the last saved page's newest update


def test_killed_sync_resumes_without_loss_or_duplicates(tmp_path):
    data = synthetic(500, histories=4, seed=6)
    killed_db, clean_db = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from cadence.config import Config
        from cadence.sync.jira import sync_jira
        sync_jira(Path(sys.argv[1]), sys.argv[2], ["BEN"], None, [], False, Config())
    """)
    with FakeJira(data) as jira:
        gate = jira.hold("/search/jql", 5)
        child = subprocess.Popen([sys.executable, "-c", script, str(killed_db), jira.url], env={**os.environ, **ENV})
        deadline = time.monotonic() + 60
        while len(jira.seen("/search/jql")) < 5 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert len(jira.seen("/search/jql")) == 5, "the sync never reached its fifth page"
        time.sleep(1.0)  # let it save what it fetched (pages 1-4; one page is fetched ahead)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        gate.set()
        [(saved,)] = rows(killed_db, "SELECT count(*) FROM items")
        assert saved in (100, 150, 200)  # whole pages of 50 only, and at least the pages before the prefetched one
        sync(jira, killed_db)
        resumed = jira.seen("/search/jql")[5].query["jql"]
        sync(jira, clean_db)
    assert "updated >=" in resumed
    query = "SELECT event_id, kind, occurred_at, to_id FROM events ORDER BY event_id"
    assert rows(killed_db, query) == rows(clean_db, query)
    assert rows(killed_db, "SELECT count(*), count(DISTINCT key) FROM items") == [(500, 500)]


def test_bad_token_is_exit_1_with_a_clear_message(db_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeJira(synthetic(5, 2)) as jira:
        with pytest.raises(SourceError) as failure:
            sync(jira, db_path, env={"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "wrong-" + TOKEN})
    message = str(failure.value)
    assert failure.value.exit_code == 1
    assert "rejected the credentials (HTTP 401)" in message and "JIRA_API_TOKEN" in message
    assert "\n" not in message and TOKEN not in message and TOKEN not in caplog.text


def test_missing_credentials_say_which_variables(db_path):
    with pytest.raises(SourceError, match="set JIRA_EMAIL and JIRA_API_TOKEN .* or JIRA_PAT"):
        sync_jira(db_path, "https://x.atlassian.net", ["ML"], None, [], False, Config(), env={})


def test_unknown_project_passes_on_jiras_message(db_path):
    with FakeJira(synthetic(5, 2)) as jira:
        with pytest.raises(SourceError) as failure:
            sync(jira, db_path, projects=["NOPE"])
    assert failure.value.exit_code == 1
    assert "The value 'NOPE' does not exist for the field 'project'." in str(failure.value)


def test_unreachable_host_is_exit_1(db_path):
    with pytest.raises(SourceError, match="cannot reach Jira at http://127.0.0.1:9"):
        sync_jira(db_path, "http://127.0.0.1:9", ["ML"], None, [], False, Config(), env=ENV,
                  policy=RetryPolicy(attempts=2, sleep=lambda s: None, timeout_s=2))


def everything_stored(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(str(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)


def test_the_token_reaches_no_row_file_log_or_message(shared_fixtures, db_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeJira(patternfly(shared_fixtures)) as jira:
        jira.fail("/search/jql", [500] * 6, after=1)
        report = sync(jira, db_path, projects=["OSUX", "PTNFLY"])
    assert report.partial  # a failure message was produced, too
    printed = caplog.text + report.summary() + "\n".join(report.errors)
    stored = everything_stored(db_path)
    for secret in (TOKEN, BASIC):
        assert secret not in printed and secret not in stored
        assert secret.encode() not in db_path.read_bytes()


def test_pseudonymized_sync_stores_no_person(shared_fixtures, db_path):
    with FakeJira(patternfly(shared_fixtures)) as jira:
        sync(jira, db_path, projects=["OSUX"], config=Config(pseudonymize=True))
    stored = everything_stored(db_path)
    assert rows(db_path, "SELECT count(*) FROM events WHERE actor LIKE 'p:%'")[0][0] > 0
    # Structured person fields are hashed; free text (descriptions with [~mentions]) is kept as written.
    for person in ("557058:148c9022-d812-4471-af0e-2e8521ac998a", "Colleen Hart", "Serena Doyle"):
        assert person not in stored
    people = rows(db_path, "SELECT DISTINCT actor FROM events WHERE actor IS NOT NULL "
                           "UNION SELECT DISTINCT unnest(assignees) FROM items")
    assert people and all(p.startswith("p:") and len(p) == 14 for (p,) in people)


def test_the_command_line_exit_codes(tmp_path):
    def run(jira, token, *extra):
        env = {**os.environ, "JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": token}
        return subprocess.run([sys.executable, "-m", "cadence", "sync", "jira", "--url", jira.url, "--project", "BEN",
                               "--db", str(tmp_path / "c.duckdb"), *extra], env=env, capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)

    with FakeJira(synthetic(150, histories=2, seed=8)) as jira:
        bad = run(jira, "wrong")
        jira.fail("/search/jql", [400], after=1)  # not retried, so the test needs no backoff
        partial = run(jira, TOKEN)
        good = run(jira, TOKEN)
    assert bad.returncode == 1 and "rejected the credentials (HTTP 401)" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert partial.returncode == 2 and "re-run to resume" in partial.stderr
    assert good.returncode == 0
    for result in (bad, partial, good):
        assert TOKEN not in result.stdout + result.stderr and BASIC not in result.stdout + result.stderr


def test_readers_get_in_while_the_sync_waits_for_a_slow_page(db_path):
    import threading

    with FakeJira(synthetic(250, histories=2, seed=9)) as jira:
        gate = jira.hold("/search/jql", 2)
        worker = threading.Thread(target=sync, args=(jira, db_path))
        worker.start()
        deadline = time.monotonic() + 30
        while len(jira.seen("/search/jql")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)  # the sync lets go of the file once the next page is a second late
        try:
            seen = rows(db_path, "SELECT count(*) FROM items")  # raises if the sync still held the file
        finally:
            gate.set()
            worker.join(60)
    assert seen == [(100,)]  # the first page of 100 (Cloud's cap without the changelog)
    assert rows(db_path, "SELECT count(*) FROM items") == [(250,)]
