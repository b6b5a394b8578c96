"""Import 100,000 items and 3,000,000 events in the neutral format; print events/s and peak memory.

    python benchmarks/import_scale.py [--items N] [--events N [N ...]] [--keep DIR]

The input files are generated with DuckDB (COPY ... TO) so that generating them is not what is timed.
Each import runs in a fresh process, so its peak memory (the maximum resident set size, DuckDB's own
buffers included) is the import's alone and not the generator's. Give two sizes (``--events 1000000
3000000``) to see that memory stays flat as the input grows. CPU seconds are printed beside wall
seconds: on a shared machine the wall time also counts what other processes took.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


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
    con.close()


def measure(folder: Path) -> None:
    """Import ``folder`` into a new warehouse in it; print one JSON line of figures (the child process)."""
    sys.path.insert(0, str(ROOT))
    from cadence.importer import import_path

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    report = import_path(folder / "bench.duckdb", folder)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"summary": report.summary(), "elapsed": elapsed, "cpu": cpu,
                      "rows": sum(report.loaded.values()), "events": report.loaded["event"],
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before": rss_before}))


def run(folder: Path, items: int, events: int) -> None:
    start = time.perf_counter()
    generate(folder, items, events)
    size_mb = sum(p.stat().st_size for p in folder.glob("*.jsonl")) / 1e6
    print(f"generated {items:,} items and {events:,} events ({size_mb:.0f} MB JSONL) "
          f"in {time.perf_counter() - start:.1f}s")
    child = subprocess.run([sys.executable, __file__, "--measure", str(folder)], capture_output=True, text=True)
    if child.returncode:
        sys.exit(child.stderr)
    m = json.loads(child.stdout.splitlines()[-1])
    print(m["summary"])
    print(f"import: {m['elapsed']:.1f}s ({m['cpu']:.1f} CPU s), {m['rows'] / m['elapsed']:,.0f} rows/s, "
          f"{m['events'] / m['elapsed']:,.0f} events/s (events and items together)")
    print(f"peak RSS: {m['rss']:,.0f} MB (of which {m['rss_before']:,.0f} MB before the import: Python and imports)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, nargs="+", default=[3_000_000])
    parser.add_argument("--keep", type=Path, help="generate into this folder and leave it there")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    for events in args.events:
        if args.keep:
            folder = args.keep / f"{events}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "bench.duckdb").unlink(missing_ok=True)
            run(folder, args.items, events)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), args.items, events)


if __name__ == "__main__":
    main()
