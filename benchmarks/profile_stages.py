"""Profile: where a metric call spends its time, stage by stage (each ``_cad_*`` table) and in pandas.

    python benchmarks/profile_stages.py DB [--what sprint|cadence|issues] [--top 15]

DB is a warehouse, e.g. one kept by ``benchmarks/metrics_scale.py --db PATH``. Each stage's time is its
own CREATE (the stages it reads were built before it), so the times add up to the SQL part of the call;
the rest is pandas and Python on the frames that come back. Peak resident memory is printed too.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import defaultdict

import cadence
from cadence.config import Config
from cadence.metrics import sql

AS_OF = "2025-01-06 00:00:00+00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--what", default="sprint", choices=["sprint", "cadence", "issues"])
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    spent: dict[str, float] = defaultdict(float)
    building: list[str] = []
    ensure, df = sql.Context.ensure, sql.Context.df

    def timed_ensure(self, name, build):
        if name in self._built:
            return ensure(self, name, build)
        building.append(name)
        started = time.perf_counter()
        try:
            return ensure(self, name, build)
        finally:
            elapsed = time.perf_counter() - started
            building.pop()
            spent[name] += elapsed
            if building:  # the stage it was built for does not count this time again
                spent[building[-1]] -= elapsed

    def timed_df(self, select):
        started = time.perf_counter()
        try:
            return df(self, select)
        finally:
            elapsed = time.perf_counter() - started
            spent["(SELECTs into pandas)"] += elapsed
            if building:  # a stage that reads a frame into pandas (the timebox maths) does not count it twice
                spent[building[-1]] -= elapsed

    sql.Context.ensure, sql.Context.df = timed_ensure, timed_df
    wh = cadence.open(args.db, config=Config())
    call = {"sprint": lambda: wh.metrics(by="sprint", as_of=AS_OF),
            "cadence": lambda: wh.compare_cadences(as_of=AS_OF), "issues": lambda: wh.issues(as_of=AS_OF)}
    started = time.perf_counter()
    call[args.what]()
    total = time.perf_counter() - started
    in_sql = sum(spent.values())
    print(f"{args.what}: {total:.2f} s wall, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {name:<28} {seconds:6.2f} s  {seconds / total:5.1%}")
    print(f"  {'(pandas and Python)':<28} {total - in_sql:6.2f} s  {(total - in_sql) / total:5.1%}")


if __name__ == "__main__":
    main()
