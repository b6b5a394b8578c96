"""Import 100,000 items and 3,000,000 events in the neutral format; print rows/s and peak memory.

    python benchmarks/import_scale.py [--items N] [--events N] [--keep DIR]

The input files are generated with DuckDB (COPY ... TO) so that generating them is not what is timed.
Peak memory is the process's maximum resident set size, which includes DuckDB's own buffers.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cadence.importer import import_path  # noqa: E402


def generate(folder: Path, items: int, events: int) -> None:
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 'item' AS record, 'bench' AS source, 'B-' || i AS key, 'T' || (i % 50) AS team,
                     'Story' AS type, 'Item ' || i AS summary,
                     TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes(i) AS created,
                     ['label' || (i % 7)] AS labels, 'done' AS status_category
              FROM range({items}) t(i))
        TO '{folder}/items.jsonl' (FORMAT json)
    """)
    con.execute(f"""
        COPY (SELECT 'event' AS record, 'bench' AS source, 'e' || i AS event_id, 'B-' || (i % {items}) AS key,
                     TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes(i) AS occurred_at,
                     CASE i % 3 WHEN 0 THEN 'status' WHEN 1 THEN 'comment' ELSE 'assignee' END AS kind,
                     'user' || (i % 40) AS actor, 'human' AS actor_kind,
                     CASE WHEN i % 3 = 0 THEN '3' END AS to_id,
                     CASE WHEN i % 3 = 0 THEN 'in_progress' END AS to_category,
                     CASE WHEN i % 3 = 1 THEN 'Looks good. Learning: the cache helps' END AS text
              FROM range({events}) t(i))
        TO '{folder}/events.jsonl' (FORMAT json)
    """)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        generate(folder, args.items, args.events)
        size_mb = sum(p.stat().st_size for p in folder.glob("*.jsonl")) / 1e6
        print(f"generated {args.items:,} items and {args.events:,} events ({size_mb:.0f} MB JSONL) "
              f"in {time.perf_counter() - start:.1f}s")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        report = import_path(folder / "bench.duckdb", folder)
        elapsed = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows = sum(report.loaded.values())
        print(report.summary())
        print(f"import: {elapsed:.1f}s, {rows / elapsed:,.0f} rows/s, "
              f"{report.loaded['event'] / elapsed:,.0f} events/s (events and items together)")
        print(f"peak RSS: {rss_after:,.0f} MB (before the import: {rss_before:,.0f} MB)")


if __name__ == "__main__":
    main()
