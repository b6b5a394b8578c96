"""The command line as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"

SPRINT_COLUMNS = (
    "team, sprint_id, sprint_name, state, start, end, completed_at, length_days, cadence_weeks, committed, "
    "added, removed, completed, carried_over, say_do, feedback_latency_median_h, timebox_overruns, learnings, "
    "learnings_per_week"
).split(", ")


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "CADENCE_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cadence", *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "cadence.duckdb"
    result = run("import", str(DEMO), "--db", str(db))
    assert result.returncode == 0, result.stderr
    return db


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "sync", "import", "metrics", "report", "slides"):
        assert command in result.stdout
    for sub in (["sync", "jira", "--help"], ["sync", "github", "--help"], ["metrics", "--help"]):
        assert run(*sub).returncode == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["metrics", "--by", "month"], "--by must be sprint, week or cadence, not 'month'"),
        (["metrics", "--db", "/nonexistent/x.duckdb"], "no warehouse at /nonexistent/x.duckdb"),
        (["import", "/nonexistent/file.jsonl"], "/nonexistent/file.jsonl: no such file or folder"),
        (["sync", "jira", "--url", "http://127.0.0.1:9"], "give either --project (one or more) or --jql"),
        (["sync", "github"], "give at least one --repo OWNER/NAME or --project OWNER/NUMBER"),
        (["--no-such-flag"], "No such option: --no-such-flag"),
    ],
)
def test_failures_exit_1_with_one_line_on_stderr(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cadence: ") and message in lines[0]
    assert "Traceback" not in result.stderr


def test_import_reports_rejected_lines_and_loads_the_rest(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text('{"source": "t", "key": "A-1"}\n{"source": "t"}\n')
    result = run("import", str(path), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 0
    assert "rejected items.jsonl:2: key: missing" in result.stderr
    assert "loaded 1 items from 1 file(s); 1 row(s) rejected" in result.stdout


def test_metrics_csv_has_the_documented_columns_in_order(demo_db):
    result = run("metrics", "--db", str(demo_db), "--by", "sprint", "--format", "csv", "--as-of", "2026-11-26T00:00:00")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][: len(SPRINT_COLUMNS)] == SPRINT_COLUMNS
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert len(body) > 40
    assert {r["cadence_weeks"] for r in body} >= {"1", "2", "3"}
    closed = [r for r in body if r["state"] == "closed"]
    assert all(r["completed_at"].endswith("Z") and "T" in r["completed_at"] for r in closed)


def test_metrics_json_and_table_formats(demo_db):
    as_json = run("metrics", "--db", str(demo_db), "--by", "cadence", "--format", "json", "--as-of", "2026-11-26")
    assert as_json.returncode == 0, as_json.stderr
    records = json.loads(as_json.stdout)
    assert {"metric", "cadence", "estimate", "ci_low", "ci_high", "n_sprints", "n_teams", "warning"} <= set(records[0])
    table = run("metrics", "--db", str(demo_db), "--by", "week", "--as-of", "2026-11-26")
    assert table.returncode == 0 and "iso_week" in table.stdout.splitlines()[0]


def test_the_database_defaults_to_cadence_db_from_the_environment(demo_db, tmp_path):
    result = run("metrics", "--format", "csv", cwd=tmp_path, env={"CADENCE_DB": str(demo_db)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("team,sprint_id")
