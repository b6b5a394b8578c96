"""Benchmark: the full sprint report and the cadence comparison on 100,000 items / 3,000,000 events.

    python benchmarks/metrics_scale.py [--items 100000] [--db PATH [--reuse]]

Generates a synthetic warehouse with SQL (40 teams on 1-, 2- and 3-week cadences, 8 of them
switching cadence half-way), then runs ``wh.metrics(by="sprint")``, ``wh.compare_cadences()``,
``wh.issues()`` and the sprint report with the comparison computed from it (as `cadence report` does),
each in a fresh process, and prints wall time, CPU time and peak resident memory
(``ru_maxrss``; tracemalloc cannot see DuckDB's allocations). The reference: jira-agile-metrics'
cycle-time calculation costs about 47 us per changelog item; ``wh.issues()`` is the like-for-like
figure, the full sprint report the demanding one. The machine's load average is printed too,
since wall time on a shared machine depends on it.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cadence.warehouse.connection import connect

EVENTS_PER_ITEM = 30
REFERENCE_US = 47.0
AS_OF = "2025-01-06 00:00:00+00"

TEAMS = """
    SELECT t AS n, 'T' || lpad(t::VARCHAR, 2, '0') AS team,
           CASE WHEN t < 20 THEN 14 WHEN t < 30 THEN 7 ELSE 21 END AS len_a,
           CASE WHEN t < 4 THEN 7 WHEN t < 8 THEN 21 WHEN t < 20 THEN 14 WHEN t < 30 THEN 7 ELSE 21 END AS len_b
    FROM range(40) r(t)
"""

GENERATE = f"""
CREATE TEMP TABLE bench_teams AS {TEAMS};
INSERT INTO teams SELECT team, 'bench', team, FALSE FROM bench_teams;
INSERT INTO statuses VALUES ('bench', '1', 'To Do', 'new'), ('bench', '3', 'In Progress', 'in_progress'),
    ('bench', '10', 'Done', 'done');
-- phase a: weeks 0-52 at len_a, phase b: weeks 52-104 at len_b
CREATE TEMP TABLE bench_sprints AS
SELECT t.team, p.phase, s.k,
       TIMESTAMPTZ '2023-01-02 00:00:00+00' + to_days(p.offset_days + s.k * p.len) AS start,
       TIMESTAMPTZ '2023-01-02 00:00:00+00' + to_days(p.offset_days + (s.k + 1) * p.len) AS "end"
FROM bench_teams t,
     LATERAL (SELECT 'a' AS phase, 0 AS offset_days, t.len_a AS len UNION ALL SELECT 'b', 364, t.len_b) p,
     LATERAL (SELECT unnest(range(364 // p.len)) AS k) s;
INSERT INTO sprints
SELECT 'bench:' || team || ':' || phase || k, 'bench', phase || k, team, 'Sprint ' || phase || k || ', ' || team,
       CASE WHEN "end" <= TIMESTAMPTZ '{AS_OF}' THEN 'closed' WHEN start <= TIMESTAMPTZ '{AS_OF}' THEN 'active'
            ELSE 'future' END,
       NULL, start, "end", start,
       CASE WHEN "end" <= TIMESTAMPTZ '{AS_OF}' THEN "end" + to_hours((hash(team, k, phase) % 30)::BIGINT) END, team
FROM bench_sprints;
CREATE TEMP TABLE bench_items AS
SELECT i, t.team, t.len_a, t.len_b,
       TIMESTAMPTZ '2023-01-02 00:00:00+00' + to_seconds((hash(i, 'c') % (720 * 86400))::BIGINT) AS created,
       (hash(i, 'd') % 100)::INTEGER AS roll, (hash(i, 'w') % 72)::INTEGER AS wait_h, (hash(i, 'u') % 400)::INTEGER AS work_h
FROM range(?) r(i) JOIN bench_teams t ON t.n = i % 40;
CREATE TEMP TABLE bench_items2 AS
SELECT *, CASE WHEN created < TIMESTAMPTZ '2024-01-01 00:00:00+00' THEN 'a' ELSE 'b' END AS phase,
       CASE WHEN created < TIMESTAMPTZ '2024-01-01 00:00:00+00'
            THEN floor((epoch(created) - epoch(TIMESTAMPTZ '2023-01-02 00:00:00+00')) / 86400 / len_a)
            ELSE floor((epoch(created) - epoch(TIMESTAMPTZ '2024-01-01 00:00:00+00')) / 86400 / len_b) END::INTEGER AS k
FROM bench_items;
INSERT INTO items
SELECT 'bench', 'B-' || i, team, CASE WHEN roll < 5 THEN 'Spike' ELSE 'Story' END, 'item ' || i,
       CASE WHEN roll % 50 = 7 THEN 'Context\nLearning: item ' || i || ' taught us something' END,
       'https://bench.test/B-' || i, created, created + to_hours(wait_h + work_h),
       CASE WHEN roll < 85 THEN created + to_hours(wait_h + work_h) END,
       CASE WHEN roll < 85 THEN 'Done' ELSE 'In Progress' END, CASE WHEN roll < 85 THEN '10' ELSE '3' END,
       CASE WHEN roll < 85 THEN 'done' ELSE 'in_progress' END,
       CASE WHEN roll < 85 THEN CASE WHEN roll = 3 THEN 'Won''t Do' ELSE 'Done' END END,
       CASE WHEN roll BETWEEN 10 AND 14 THEN ['timebox:3d'] WHEN roll = 20 THEN ['eda'] ELSE [] END,
       ['dev' || (i % 7)],
       CASE WHEN roll BETWEEN 30 AND 49 THEN 16.0 END, NULL,
       CASE WHEN roll BETWEEN 50 AND 59 THEN (created + INTERVAL 10 DAY)::DATE END,
       (roll % 5 + 1)::DOUBLE
FROM bench_items2;
INSERT INTO events (source, event_id, key, occurred_at, kind, actor, actor_kind, field, from_id, from_value,
                    to_id, to_value, from_category, to_category, text)
SELECT 'bench', 'B-' || i || '-' || j, 'B-' || i,
    CASE WHEN j = 0 THEN created + to_hours(wait_h)
         WHEN j = 1 THEN created + to_hours(wait_h + work_h)
         WHEN j IN (2, 4, 5) THEN created + to_minutes(j)
         WHEN j = 3 THEN created + to_hours(wait_h + work_h // 2)
         ELSE created + to_hours(wait_h + (hash(i, j) % (work_h + 100))::INTEGER) END,
    CASE WHEN j IN (0, 1) THEN 'status' WHEN j = 2 THEN 'sprint_added'
         WHEN j = 3 THEN CASE WHEN roll < 30 THEN 'sprint_added' ELSE 'label_added' END
         WHEN j = 4 THEN 'assignee' WHEN j = 5 THEN 'estimate' WHEN j IN (6, 7) THEN 'worklog'
         WHEN j = 8 THEN 'review' ELSE 'comment' END,
    CASE WHEN j = 1 OR j >= 9 THEN 'dev' || (hash(i, j, 'a') % 7) WHEN j = 8 THEN 'reviewer' ELSE 'dev' || (i % 7) END,
    CASE WHEN j >= 9 AND hash(i, j, 'b') % 10 = 0 THEN 'bot' ELSE 'human' END,
    CASE WHEN j = 5 THEN 'story_points' END,
    NULL, CASE WHEN j = 4 THEN NULL END,
    CASE WHEN j = 0 THEN '3' WHEN j = 1 THEN CASE WHEN roll < 85 THEN '10' ELSE '3' END
         WHEN j = 2 THEN 'bench:' || team || ':' || phase || k
         WHEN j = 3 THEN 'bench:' || team || ':' || phase || (k + 1) END,
    CASE WHEN j = 4 THEN 'dev' || (i % 7) WHEN j = 5 THEN (roll % 5 + 1)::VARCHAR
         WHEN j IN (6, 7) THEN '6' WHEN j = 3 THEN 'later' END,
    NULL, NULL,
    CASE WHEN j >= 9 THEN CASE WHEN hash(i, j, 'l') % 40 = 0 THEN 'Notes\nFinding: comment ' || j || ' of ' || i
                               ELSE 'Looks fine to me, see the notebook: cell ' || j END END
FROM bench_items2, range(30) r(j);
"""


def generate(path: Path, n_items: int) -> float:
    started = time.perf_counter()
    with connect(path, read_only=False) as con:
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                con.execute(statement, [n_items] if "range(?)" in statement else [])
        n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"generated {n_items:,} items and {n_events:,} events in {time.perf_counter() - started:.1f} s")
    return n_events


def measure(path: str, what: str) -> None:
    """Run one measurement (in its own process, so that peak memory is its own)."""
    import cadence
    from cadence.config import Config

    wh = cadence.open(path, config=Config())
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    from cadence.metrics import compare

    calls = {"sprint": lambda: wh.metrics(by="sprint", as_of=AS_OF), "cadence": lambda: wh.compare_cadences(as_of=AS_OF),
             "issues": lambda: wh.issues(as_of=AS_OF),
             # what `cadence report` does: the sprint report once, and the comparison from it (report/data.py)
             "both": lambda: compare.compare(wh.metrics(by="sprint", as_of=AS_OF))}
    frame = calls[what]()
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"{elapsed:.3f} {after.ru_maxrss / 1024:.0f} {len(frame)} {cpu:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="where to build the warehouse (default: a temporary file)")
    parser.add_argument("--reuse", action="store_true", help="measure an existing --db without generating")
    parser.add_argument("--measure", nargs=2, metavar=("DB", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.duckdb"
        if args.reuse and path.exists():
            with connect(path, read_only=True) as con:
                n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
        else:
            path.unlink(missing_ok=True)
            n_events = generate(path, args.items)
        seconds_of = {}
        for what, label in (("sprint", 'wh.metrics(by="sprint")'), ("cadence", "wh.compare_cadences()"),
                            ("issues", "wh.issues() (cycle time)"), ("both", "sprint report + comparison")):
            out = subprocess.run([sys.executable, __file__, "--measure", str(path), what],
                                 check=True, capture_output=True, text=True).stdout.split()
            seconds, peak_mb, rows, cpu = float(out[0]), out[1], out[2], float(out[3])
            seconds_of[what] = seconds
            print(f"{label:<26} {seconds:6.2f} s wall  {cpu:6.2f} s CPU  peak RSS {peak_mb:>5} MB  ({rows} rows)")
        print(f"(the last: the sprint report once and the comparison from it, as `cadence report` computes them; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"jira-agile-metrics' cycle time costs ~{REFERENCE_US:.0f} us per changelog item; per event, ours:")
        for what, label in (("issues", "cycle time (wh.issues)"), ("sprint", "full sprint report")):
            per_event_us = seconds_of[what] / n_events * 1e6
            print(f"  {label:<24} {per_event_us:6.2f} us  ({REFERENCE_US / per_event_us:.0f}x faster)")


if __name__ == "__main__":
    main()
