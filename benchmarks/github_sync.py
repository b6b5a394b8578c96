"""Benchmark: HTTP requests (by kind), speed and GraphQL cost of a GitHub sync from the local GraphQL server.

By default it syncs the small organisation of tests/github_data.small_org (570 items in three
repositories and a Projects v2 board of 250 items), then syncs again after 1% of the items
changed. With ``--issues N`` it syncs one repository of N issues with ``--events`` timeline items
each instead. It prints requests per 1,000 items (the aim is 30 or fewer for the organisation),
each kind of request (the GraphQL operation name), items per second and the GraphQL cost as
GitHub's formula charges it. The server (tests/github_server.py) runs in its own process and
executes every query with graphql-core; its time is part of the wall clock, as a real server's would be.

    .venv/bin/python benchmarks/github_sync.py [--issues 5000] [--events 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from github_data import ORG_PROJECT, ORG_REPOS, Dataset, small_org, synthetic_repo, touch_org  # noqa: E402
from github_server import GitHubServer, github_schema  # noqa: E402

from cadence.config import Config  # noqa: E402
from cadence.sync.github import sync_github  # noqa: E402

TOKEN = "benchmark-token"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def serve(issues: int | None, events: int, pipe) -> None:
    """The server process: answer requests; on "count" send back what was asked since the last
    count (operations and cost), on "touch" change 1% of the organisation, on "stop" end."""
    github_schema()
    if issues is None:
        dataset = small_org(START)
    else:
        dataset = Dataset(repos={"acme/bench": synthetic_repo("acme/bench", issues, events)})
    with GitHubServer(dataset, token=TOKEN, remaining=1_000_000) as server:
        pipe.send(server.url)
        seen, cost = 0, 0
        while (command := pipe.recv()) != "stop":
            if command == "touch":
                pipe.send(touch_org(dataset, START + timedelta(days=60)))
                continue
            pipe.send((Counter(server.operations()[seen:]), server.cost_spent - cost))
            seen, cost = len(server.requests), server.cost_spent


def sync(url: str, db: Path, repos: list[str], projects: list[str], now: datetime):
    started, cpu = time.perf_counter(), time.process_time()
    report = sync_github(db, repos, projects, url, False, Config(), env={"GITHUB_TOKEN": TOKEN}, now=lambda: now)
    return report, time.perf_counter() - started, time.process_time() - cpu


def show(label: str, report, elapsed: float, cpu: float, kinds: Counter, cost: int, total_items: int) -> None:
    breakdown = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    print(f"{label}: items read: {report.items}, events: {report.events}, requests: {report.requests}")
    print(f"{label}: requests per 1,000 items: {report.requests / total_items * 1000:.1f} (aim <= 30)")
    print(f"{label}: requests by kind: {breakdown}")
    print(f"{label}: {elapsed:.1f} s wall, client CPU {cpu:.1f} s; GraphQL cost spent: {cost} points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=None, help="one repository of this many issues instead of the org")
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.issues, args.events, theirs), daemon=True)
    server.start()
    url = ours.recv()  # the schema is built and the data made before the clock starts
    org = args.issues is None
    repos, projects = (list(ORG_REPOS), [ORG_PROJECT]) if org else (["acme/bench"], [])
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        report, elapsed, cpu = sync(url, db, repos, projects, START + timedelta(days=59))
        ours.send("count")
        kinds, cost = ours.recv()
        total = report.items
        show("full", report, elapsed, cpu, kinds, cost, total)
        print(f"full: items/s: {report.items / elapsed:.0f} ({report.events / elapsed:.0f} events/s)")
        if org:
            ours.send("touch")
            changed = ours.recv()
            report, elapsed, cpu = sync(url, db, repos, projects, START + timedelta(days=61))
            ours.send("count")
            kinds, cost = ours.recv()
            print(f"incremental: {changed} of {total} items changed; per 1,000 items counts the whole org's {total}")
            show("incremental", report, elapsed, cpu, kinds, cost, total)
    ours.send("stop")
    server.join(10)


if __name__ == "__main__":
    main()
