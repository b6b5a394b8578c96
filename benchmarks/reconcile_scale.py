"""Benchmark: our sprint report against Jira's own, on metrics_scale's warehouse made a Jira one.

    python benchmarks/reconcile_scale.py [--items 100000] [--db PATH [--reuse]]

Builds metrics_scale.py's synthetic warehouse (40 teams, ~3,000 sprints, 30 events per item),
relabels it as Jira, and gives every closed sprint a Sprint Report made from our own membership
with 2% of the keys moved between sections or dropped, plus one unknown key per sprint, so that
most sprints differ and every difference needs a cause. Then it times, each in a fresh process,
``wh.metrics(by="sprint")`` (which now carries ``jira_report``), ``wh.reconciliation()`` and
``wh.reconciliation_keys()``, and prints wall time, CPU time, peak RSS and the load average.
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

sys.path.insert(0, str(Path(__file__).parent))
from metrics_scale import AS_OF, generate  # noqa: E402

from cadence.warehouse.connection import connect  # noqa: E402

AS_JIRA = """
UPDATE sprints SET source = 'jira', sprint_key = 'jira:' || sprint_id || ':' || team, board_id = team;
UPDATE sprints SET sprint_id = sprint_id || ':' || team;
UPDATE events SET source = 'jira', to_id = 'jira:' || split_part(to_id, ':', 3) || ':' || split_part(to_id, ':', 2)
    WHERE kind = 'sprint_added';
UPDATE events SET source = 'jira' WHERE kind <> 'sprint_added';
UPDATE items SET source = 'jira';
UPDATE statuses SET source = 'jira';
INSERT INTO raw SELECT 'jira', 'board_configuration', team, now(),
    '{"columnConfig": {"columns": [{"name": "To Do", "statuses": [{"id": "1"}]},
      {"name": "Doing", "statuses": [{"id": "3"}]}, {"name": "Done", "statuses": [{"id": "10"}]}]}}'::JSON
    FROM teams;
"""


def jira_reports(path: Path) -> int:
    """Every closed sprint gets a report built from our membership, 2% of keys perturbed."""
    from cadence.config import Config
    from cadence.metrics.membership import membership_flags
    from cadence.metrics.sql import Context
    from cadence.warehouse.api import _utc

    with connect(path, read_only=False) as con:
        for statement in AS_JIRA.split(";\n"):
            if statement.strip():
                con.execute(statement)
        with Context(con, _utc(AS_OF), Config()) as ctx:
            flags = ctx.ensure("member_flags", membership_flags)
            con.execute(f"""
                CREATE TEMP TABLE bench_report AS
                SELECT sprint_key, key, added,
                    CASE WHEN hash(key, sprint_key) % 50 = 0 THEN 'not_completed'
                         WHEN removed THEN 'punted' WHEN done_at_completion THEN 'completed' ELSE 'not_completed' END
                        AS section
                FROM {flags} f JOIN sprints s USING (sprint_key) WHERE s.state = 'closed'
                    AND hash(key, sprint_key, 'drop') % 50 <> 0
            """)
        con.execute("""
            INSERT INTO sprint_report_issues (sprint_key, section, key, added_during_sprint)
            SELECT sprint_key, section, key, added FROM bench_report
            UNION ALL SELECT sprint_key, 'not_completed', 'GONE-' || sprint_key, FALSE FROM sprints
            WHERE state = 'closed'
        """)
        con.execute("""
            INSERT INTO sprint_reports (sprint_key, source, sprint_id, board_id, fetched_at, status)
            SELECT sprint_key, 'jira', sprint_id, board_id, now(), 'parsed' FROM sprints WHERE state = 'closed'
        """)
        return con.execute("SELECT count(*) FROM sprint_report_issues").fetchone()[0]


def measure(path: str, what: str) -> None:
    import cadence
    from cadence.config import Config

    wh = cadence.open(path, config=Config())
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    calls = {"sprint": lambda: wh.metrics(by="sprint", as_of=AS_OF),
             "reconciliation": lambda: wh.reconciliation(as_of=AS_OF),
             "keys": lambda: wh.reconciliation_keys(as_of=AS_OF)}
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
        if not (args.reuse and path.exists()):
            path.unlink(missing_ok=True)
            generate(path, args.items)
            started = time.perf_counter()
            n = jira_reports(path)
            print(f"made {n:,} Sprint Report rows in {time.perf_counter() - started:.1f} s")
        for what, label in (("sprint", 'wh.metrics(by="sprint")'), ("reconciliation", "wh.reconciliation()"),
                            ("keys", "wh.reconciliation_keys()")):
            out = subprocess.run([sys.executable, __file__, "--measure", str(path), what],
                                 check=True, capture_output=True, text=True).stdout.split()
            print(f"{label:<26} {float(out[0]):6.2f} s wall  {float(out[3]):6.2f} s CPU  peak RSS {out[1]:>5} MB  "
                  f"({out[2]} rows)")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
