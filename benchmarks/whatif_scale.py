"""Benchmark: the what-if (another cadence) frames on metrics_scale.py's synthetic warehouse.

    python benchmarks/whatif_scale.py [--items 100000] [--db PATH [--reuse]] [--n-sim 1000]

The warehouse is the one ``metrics_scale.py`` generates (40 teams on 1-, 2- and 3-week cadences,
8 of them switching half-way, 30 events per item). Each of ``wh.what_if(team, weeks=1)``,
``wh.what_if_all()`` (every team on 1-, 2- and 3-week grids: what the report computes) and
``wh.what_if_backtest()`` runs in a fresh process; wall time, CPU time and peak resident memory are
printed with the machine's load average.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics_scale  # noqa: E402
from metrics_scale import AS_OF, generate  # noqa: E402

from cadence.warehouse.connection import connect  # noqa: E402

# metrics_scale.py inserts events without a column list, and ``events`` has since gained ``initial``
# (values set at creation): name the columns it fills, so that the rest take their defaults.
EVENT_COLUMNS = ("source, event_id, key, occurred_at, kind, actor, actor_kind, field, from_id, from_value, to_id, "
                 "to_value, from_category, to_category, text")
metrics_scale.GENERATE = metrics_scale.GENERATE.replace("INSERT INTO events\nSELECT",
                                                        f"INSERT INTO events ({EVENT_COLUMNS})\nSELECT")


def measure(path: str, what: str, n_sim: int) -> None:
    import cadence
    from cadence.config import Config

    wh = cadence.open(path, config=Config())
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    calls = {"one": lambda: wh.what_if(team="T00", weeks=1, as_of=AS_OF, n_sim=n_sim),
             "all": lambda: wh.what_if_all(as_of=AS_OF, n_sim=n_sim),
             "backtest": lambda: wh.what_if_backtest(as_of=AS_OF, n_sim=n_sim)}
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
    parser.add_argument("--n-sim", type=int, default=1000, help="Monte Carlo samples per figure")
    parser.add_argument("--measure", nargs=3, metavar=("DB", "WHAT", "N_SIM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], args.measure[1], int(args.measure[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.duckdb"
        if not (args.reuse and path.exists()):
            path.unlink(missing_ok=True)
            generate(path, args.items)
        with connect(path, read_only=True) as con:
            items, teams = con.execute("SELECT count(*), count(DISTINCT team) FROM items").fetchone()
        print(f"{items:,} items in {teams} teams; {args.n_sim} Monte Carlo samples per figure")
        for what, label in (("one", "wh.what_if(team, weeks=1)"), ("all", "wh.what_if_all() (x3 grids)"),
                            ("backtest", "wh.what_if_backtest()")):
            out = subprocess.run([sys.executable, __file__, "--measure", str(path), what, str(args.n_sim)],
                                 check=True, capture_output=True, text=True).stdout.split()
            print(f"{label:<30} {float(out[0]):6.2f} s wall  {float(out[3]):6.2f} s CPU  peak RSS {out[1]:>5} MB  "
                  f"({out[2]} rows)")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
