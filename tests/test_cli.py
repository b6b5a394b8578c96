"""The command line as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from histories import History

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
        (["metrics", "--by", "month"], "Invalid value for '--by'"),
        (["slides", "--format", "keynote"], "Invalid value for '--format'"),
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


def test_a_bad_memory_limit_is_one_line(demo_db):
    result = run("metrics", "--db", str(demo_db), env={"CADENCE_MEMORY_LIMIT": "plenty"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "cadence: CADENCE_MEMORY_LIMIT='plenty' is not a memory size (for example 2GB or 500MB)"


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


def test_help_shows_flags_as_flags_lists_choices_and_keeps_its_text():
    """Rich's help printed "--full <bool>", "-v <bool>" and swallowed "[[sources]]" as markup."""
    top, jira, metrics, nightly, slides = (run(*a, "--help").stdout for a in (
        [], ["sync", "jira"], ["metrics"], ["nightly"], ["slides"]))
    assert "<bool>" not in top + jira + metrics + nightly + slides
    assert "-v, --verbose  " in top and "--full  " in jira and "--all-columns  " in metrics
    assert "--by <sprint|week|cadence>" in metrics and "--format <table|csv|json>" in metrics
    assert "--format <pptx|revealjs>" in slides
    assert "Configuration listing [[sources]]" in nightly


def test_metrics_table_shows_the_documented_columns_rounded(demo_db):
    table = run("metrics", "--db", str(demo_db), "--as-of", "2026-11-26", env={"COLUMNS": "1000"})
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0].split()
    assert header == SPRINT_COLUMNS
    numbers = [w for line in table.stdout.splitlines()[1:] for w in line.split() if re.fullmatch(r"-?[\d,]+\.\d+", w)]
    assert numbers and all(len(w.split(".")[1]) == 2 for w in numbers)  # 0.67, never 0.6673841869543226
    every = run("metrics", "--db", str(demo_db), "--as-of", "2026-11-26", "--all-columns", env={"COLUMNS": "1000"})
    assert every.stdout.splitlines()[0].split()[: len(SPRINT_COLUMNS) + 1] == [*SPRINT_COLUMNS, "jira_report"]
    cadence = run("metrics", "--db", str(demo_db), "--by", "cadence", "--as-of", "2026-11-26", env={"COLUMNS": "1000"})
    assert cadence.stdout.splitlines()[0].split() == ["metric", "cadence", "estimate", "ci_low", "ci_high",
                                                      "n_sprints", "n_teams", "warning"]


def test_an_empty_result_says_why(demo_db):
    """Before the first sprint there is nothing to show: one line on stderr says why; json stays valid."""
    table = run("metrics", "--db", str(demo_db), "--as-of", "2020-01-01")
    assert table.returncode == 0 and table.stdout == ""
    assert table.stderr.strip().splitlines() == [
        "cadence: no sprint had started as of 2020-01-01 00:00 UTC; the warehouse's 98 sprints start from "
        "2026-02-23 (try a later --as-of)"]
    as_json = run("metrics", "--db", str(demo_db), "--by", "cadence", "--format", "json", "--as-of", "2020-01-01")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
    assert "no closed sprint as of 2020-01-01 00:00 UTC" in as_json.stderr


def test_an_empty_warehouse_says_so(tmp_path):
    from cadence.warehouse.connection import connect

    with connect(tmp_path / "empty.duckdb", read_only=False):
        pass
    result = run("metrics", "--db", str(tmp_path / "empty.duckdb"))
    assert result.returncode == 0 and "no sprints in " in result.stderr and "sync or import first" in result.stderr


def test_tracker_text_reaches_the_terminal_without_escapes_or_bidi(tmp_path):
    # A sprint named by a hostile tracker user: a terminal title escape, a bell, a right-to-left override
    # and a newline. Neither the table nor the CSV may carry them to the terminal; JSON escapes them.
    h = History()
    h.sprint("1", 0, 14, 14, name="S1 \x1b]0;pwned\x07\u202eevil\nnext")
    db = h.save(tmp_path / "c.duckdb")
    for fmt in ("table", "csv", "json"):
        out = run("metrics", "--db", str(db), "--as-of", "2024-02-01", "--format", fmt, env={"COLUMNS": "1000"})
        assert out.returncode == 0, out.stderr
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", out.stdout), (fmt, out.stdout)
        assert "S1" in out.stdout and "evil" in out.stdout
    table = run("metrics", "--db", str(db), "--as-of", "2024-02-01", env={"COLUMNS": "1000"}).stdout
    assert len(table.splitlines()) == 2  # the header and one line for the one sprint
