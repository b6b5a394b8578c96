"""Time ``build_report`` and ``build_slides`` on the demo data and on 50 teams x 40 sprints (2,000 sprints).

    /work/venv/bin/python benchmarks/report_scale.py [--teams 50] [--sprints 40] [--keep DIR]

The large warehouse is generated with set-based SQL in DuckDB (no Python loop over rows): every
sprint holds 10 items, each with membership, start, a comment, and (mostly) a finish; some carry
a timebox label, some are spikes, some comments hold a "Learning:" line. One team in five switches
from 2-week to 1-week sprints halfway. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import cadence
from cadence.importer import import_path
from cadence.report import build_report, build_slides
from cadence.report import data as report_data
from cadence.warehouse.connection import connect

ROOT = Path(__file__).resolve().parents[1]
ITEMS_PER_SPRINT = 10

_GENERATE = """
INSERT INTO teams SELECT 'team-' || t, 'bench', 'board-' || t, TRUE FROM range({teams}) r(t);
INSERT INTO statuses VALUES ('bench', '1', 'To Do', 'new'), ('bench', '2', 'In Progress', 'in_progress'),
                            ('bench', '3', 'Done', 'done');
CREATE TEMP TABLE plan AS
SELECT t, s,
       CASE WHEN t % 5 = 0 THEN (CASE WHEN s < {sprints} / 2 THEN 14 ELSE 7 END) ELSE 7 * (1 + t % 3) END AS days
FROM range({teams}) a(t), range({sprints}) b(s);
CREATE TEMP TABLE sp AS
SELECT t, s, days,
       TIMESTAMPTZ '2023-01-02 09:00:00+00' + to_days(CAST(coalesce(sum(days) OVER (PARTITION BY t ORDER BY s
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS INTEGER)) AS st
FROM plan;
INSERT INTO sprints
SELECT 'bench:' || (t * 1000 + s), 'bench', CAST(t * 1000 + s AS VARCHAR), 'team-' || t, 'T' || t || ' Sprint ' || s,
       'closed', NULL, st, st + to_days(days), st, st + to_days(days) + INTERVAL 2 HOUR, 'board-' || t
FROM sp;
CREATE TEMP TABLE it AS
SELECT sp.*, i, 'T' || t || '-' || (s * {per} + i) AS key,
       st + to_hours(CAST(2 + (i * 7 + s) % 30 AS INTEGER)) AS started,
       st + to_hours(CAST(20 + ((i * 37 + s * 11 + t) % (days * 24 - 10)) AS INTEGER)) AS finished,
       (i + s + t) % 6 <> 0 AS done
FROM sp, range({per}) c(i);
INSERT INTO items (source, key, team, type, summary, url, created, updated, resolved, status, status_id,
                   status_category, resolution, labels, assignees, original_estimate_h)
SELECT 'bench', key, 'team-' || t, CASE WHEN i = 0 THEN 'Spike' ELSE 'Story' END, 'Item ' || key,
       'https://tracker.bench.invalid/browse/' || key, st - INTERVAL 1 DAY, finished,
       CASE WHEN done THEN finished END, CASE WHEN done THEN 'Done' ELSE 'In Progress' END,
       CASE WHEN done THEN '3' ELSE '2' END, CASE WHEN done THEN 'done' ELSE 'in_progress' END,
       CASE WHEN done THEN 'Done' END, CASE WHEN i = 1 THEN ['timebox:1d'] ELSE [] END,
       ['person-' || (t * 7 + i % 5)], CASE WHEN i = 2 THEN 8.0 END
FROM it;
INSERT INTO events (source, event_id, key, occurred_at, kind, actor, actor_kind, from_id, to_id, from_value,
                    to_value, from_category, to_category, text)
SELECT 'bench', key || '-m', key, st - INTERVAL 1 HOUR, 'sprint_added', 'person-' || t, 'human', NULL,
       'bench:' || (t * 1000 + s), NULL, NULL, NULL, NULL, NULL FROM it
UNION ALL
SELECT 'bench', key || '-s', key, started, 'status', 'person-' || (t * 7 + i % 5), 'human', '1', '2', 'To Do',
       'In Progress', 'new', 'in_progress', NULL FROM it
UNION ALL
SELECT 'bench', key || '-c', key, started + to_hours(CAST(1 + (i * 13 + s) % 40 AS INTEGER)), 'comment',
       'person-' || (t * 7 + (i + 1) % 5), 'human', NULL, NULL, NULL, NULL, NULL, NULL,
       CASE WHEN i = 3 THEN 'Looked into it.' || chr(10) || 'Learning: batch size matters for ' || key
            ELSE 'Looks good' END FROM it
UNION ALL
SELECT 'bench', key || '-d', key, finished, 'status', 'person-' || (t * 7 + i % 5), 'human', '2', '3',
       'In Progress', 'Done', 'in_progress', 'done', NULL FROM it WHERE done;
"""


def generate(db: Path, teams: int, sprints: int) -> None:
    with connect(db, read_only=False) as con:
        con.execute(_GENERATE.format(teams=teams, sprints=sprints, per=ITEMS_PER_SPRINT))
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("teams", "sprints", "items", "events")
        }
    print(f"generated {counts}")


def timed(label: str, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"{label}: {time.perf_counter() - start:.1f} s")
    return result


def run(label: str, db: Path, out: Path, as_of: datetime, team: str) -> None:
    wh = cadence.open(db)
    report_data._last.clear()
    report = timed(f"{label} build_report", build_report, wh, out, as_of=as_of)
    print(f"{label} report size: {report.stat().st_size / 1e6:.1f} MB")
    timed(f"{label} build_slides (metrics reused from the report)", build_slides, wh, out, team=team, as_of=as_of)
    report_data._last.clear()
    timed(f"{label} build_slides (cold)", build_slides, wh, out, team=team, as_of=as_of)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--sprints", type=int, default=40, help="sprints per team")
    parser.add_argument("--keep", type=Path, help="write warehouses and outputs here instead of a temp dir")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cadence-bench-"))
    folder.mkdir(parents=True, exist_ok=True)

    demo_db = folder / "demo.duckdb"
    timed("demo import", import_path, demo_db, ROOT / "data" / "demo")
    run("demo", demo_db, folder / "demo_out", datetime(2026, 11, 21, tzinfo=timezone.utc), "Speech (synthetic)")

    big_db = folder / "scale.duckdb"
    timed(f"scale generate ({args.teams} teams x {args.sprints} sprints)", generate, big_db, args.teams, args.sprints)
    run("scale", big_db, folder / "scale_out", datetime(2026, 1, 1, tzinfo=timezone.utc), "team-0")


if __name__ == "__main__":
    main()
