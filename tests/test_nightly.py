"""``cadence nightly``: failed sources, overlapping runs, crashed runs, and never a broken report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

import cadence.report
from cadence.config import Config
from cadence.errors import CadenceError, SourceError
from cadence.importer import import_path
from cadence.nightly import run_lock, run_nightly
from cadence.sync.common import SyncReport

ROOT = Path(__file__).resolve().parents[1]
AS_OF = datetime(2026, 11, 26, tzinfo=timezone.utc)
SOURCES = (
    {"kind": "jira", "url": "http://127.0.0.1:9", "projects": ["ML"]},
    {"kind": "github", "repos": ["acme/models"]},
)


@pytest.fixture
def demo_db(tmp_path) -> Path:
    db = tmp_path / "cadence.duckdb"
    import_path(db, ROOT / "data" / "demo")
    return db


def jira_down_github_up(source, db_path, config, progress, env):
    """Stands in for the two syncs; the connectors' own tests run them against local servers."""
    if source["kind"] == "jira":
        raise SourceError("cannot reach http://127.0.0.1:9: connection refused")
    return SyncReport("github", items=12, events=80, requests=3)


def test_one_failed_source_does_not_stop_the_others_and_the_run_is_partial(demo_db, tmp_path):
    seen = []

    def sync(source, *args):
        seen.append(source["kind"])
        return jira_down_github_up(source, *args)

    out = tmp_path / "out"
    result = run_nightly(demo_db, out, Config(sources=SOURCES), as_of=AS_OF, sync=sync)
    assert seen == ["jira", "github"]
    assert result.status == "partial" and result.exit_code == 2
    assert [s.ok for s in result.sources] == [False, True]
    assert result.sources[0].error == "cannot reach http://127.0.0.1:9: connection refused"
    assert (out / "latest").is_symlink()
    assert (out / "latest" / "report" / "report.html").exists()
    runs = cadence.open(demo_db).runs()
    assert runs["status"].tolist() == ["partial"]
    details = json.loads(runs["details"].iloc[0])
    assert [s["ok"] for s in details["sources"]] == [False, True]
    assert details["sources"][1]["requests"] == 3
    html = (out / "latest" / "report" / "report.html").read_text()
    assert "connection refused" in html


def test_slides_are_made_only_for_teams_whose_sprint_closed_since_the_last_run(demo_db, tmp_path):
    out = tmp_path / "out"
    first = run_nightly(demo_db, out, Config(sources=SOURCES[1:]), as_of=AS_OF, sync=jira_down_github_up)
    assert first.status == "ok" and len(first.slides) == 4
    second = run_nightly(demo_db, out, Config(sources=SOURCES[1:]), as_of=AS_OF, sync=jira_down_github_up)
    assert second.slides == []
    folders = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert len(folders) == 3 and folders[-1] == "latest"
    assert os.readlink(out / "latest") == second.folder.name


def test_a_broken_report_never_replaces_the_last_good_one(demo_db, tmp_path, monkeypatch):
    out = tmp_path / "out"
    good = run_nightly(demo_db, out, Config(sources=SOURCES[1:]), as_of=AS_OF, sync=jira_down_github_up)
    before = (out / "latest" / "report" / "report.html").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cadence.report, "build_report", broken)
    with pytest.raises(CadenceError, match="the last good one is kept: disk full"):
        run_nightly(demo_db, out, Config(sources=SOURCES[1:]), as_of=AS_OF, sync=jira_down_github_up)
    assert os.readlink(out / "latest") == good.folder.name
    assert (out / "latest" / "report" / "report.html").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]
    assert cadence.open(demo_db).runs()["status"].tolist() == ["ok", "failed"]


def _hold_lock(db_path: Path) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        from pathlib import Path
        from cadence.nightly import run_lock
        with run_lock(Path({str(db_path)!r})):
            print("held", flush=True)
            import time; time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_overlapping_runs_are_refused_and_a_killed_run_leaves_no_stuck_lock(tmp_path):
    db = tmp_path / "cadence.duckdb"
    holder = _hold_lock(db)
    try:
        with pytest.raises(CadenceError, match=f"another nightly run \\(pid {holder.pid}\\) is still running"):
            with run_lock(db):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(db):
        assert Path(f"{db}.nightly.lock").read_text() == f"pid {os.getpid()}"


def test_the_nightly_command_end_to_end_against_a_local_jira(shared_fixtures, tmp_path):
    """A real sync of the recorded patternfly issues, a GitHub source that is down, the report, exit 2."""
    from jira_payloads import patternfly
    from jira_server import FakeJira

    token = "nightly-s3cret-token"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "CADENCE_"))}
    env.update(JIRA_EMAIL="me@example.com", JIRA_API_TOKEN=token, GITHUB_TOKEN="gh-" + token)
    with FakeJira(patternfly(shared_fixtures), token=token) as jira:
        (tmp_path / "cadence.toml").write_text(
            f'[[sources]]\nkind = "jira"\nurl = "{jira.url}"\nprojects = ["OSUX", "PTNFLY"]\n\n'
            '[[sources]]\nkind = "github"\nrepos = ["acme/models"]\napi_url = "http://127.0.0.1:9"\n'
        )
        result = subprocess.run(
            [sys.executable, "-m", "cadence", "nightly", "--config", "cadence.toml", "--db", "w.duckdb",
             "--out", "out", "--as-of", "2026-11-26T00:00:00"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        )
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cadence: partial: github acme/models failed:")
    assert "jira OSUX,PTNFLY:" in result.stdout and "items" in result.stdout
    wh = cadence.open(tmp_path / "w.duckdb")
    assert wh.query("SELECT count(*) AS n FROM items WHERE source = 'jira'")["n"].iloc[0] > 0
    html = (tmp_path / "out" / "latest" / "report" / "report.html").read_text()
    assert "github acme/models: FAILED" in html
    for path in [tmp_path / "w.duckdb", *(tmp_path / "out").rglob("*")]:
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    assert token not in result.stdout + result.stderr
