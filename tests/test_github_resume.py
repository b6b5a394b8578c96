"""A GitHub sync killed with SIGKILL (a real subprocess) resumes after its last saved page."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

import duckdb
import pytest

import github_data as d
from cadence.config import Config
from cadence.sources.http import RetryPolicy
from cadence.sync.github import sync_github
from github_server import GitHubServer, github_schema

TOKEN = "ghp_resumeTOKEN42"
REPO = "acme/models"
CHILD = """
import sys
from pathlib import Path
from cadence.config import Config
from cadence.sync.github import sync_github
sync_github(Path(sys.argv[1]), ["acme/models"], [], sys.argv[2], False, Config())
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_sync_resumes_without_duplicates(db_path, shared_fixtures):
    github_schema()
    # 160 issues, 3 timeline items each: issue n is updated at 00:00 + (n + 4) minutes, pages of 100.
    dataset = d.Dataset(repos={REPO: d.synthetic_repo(REPO, 160, 3, datetime(2024, 1, 1, tzinfo=timezone.utc))})
    with GitHubServer(dataset, token=TOKEN) as server:
        server.hold_at = 2  # Repository (milestones, issues 1-100), then Issues page 2 is held: page 1 is saved
        env = {**os.environ, "GITHUB_TOKEN": TOKEN}
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path), server.url], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert server.held.wait(60), child.stderr.read() if child.poll() is not None else "child never got there"
            child.send_signal(signal.SIGKILL)
            assert child.wait(30) == -signal.SIGKILL
        finally:
            server.hold_at = None
            server.release.set()
            if child.poll() is None:
                child.kill()
        with duckdb.connect(str(db_path), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM items").fetchone() == (100,)
            cursor, details = con.execute("SELECT cursor, details::VARCHAR FROM sync_state WHERE scope = ?", [REPO]).fetchone()
        assert cursor is None  # no sync has completed yet
        assert '"issues_since": "2024-01-01T01:44:00Z"' in details  # issue #100, the last one saved

        seen = len(server.requests)
        report = sync_github(db_path, [REPO], [], server.url, False, Config(), env={"GITHUB_TOKEN": TOKEN},
                             policy=RetryPolicy(sleep=lambda s: None))
        resumed = server.requests[seen:]
    first_issues = next(r for r in resumed if r["operation"] == "Repository")
    assert first_issues["variables"]["since"] == "2024-01-01T01:42:00Z"  # last saved page, minus the 2-minute overlap
    assert report.items == 63  # #98..#160: the overlap re-reads #98-#100, nothing earlier
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT key) FROM items").fetchone() == (160, 160)
        assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() == (480, 480)
        assert con.execute("SELECT cursor FROM sync_state WHERE scope = ?", [REPO]).fetchone() == ("2024-01-01T02:44:00Z",)
