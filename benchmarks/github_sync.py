"""Benchmark: sync 5,000 GitHub issues with about 20 timeline items each from the local GraphQL server.

Prints HTTP requests per 1,000 items (the aim is 30 or fewer), items per second, and the GraphQL
cost spent as GitHub's formula charges it. The server (tests/github_server.py) runs in its own
process and executes every query with graphql-core; its time is part of the wall clock, as a real
server's would be.

    /work/venv/bin/python benchmarks/github_sync.py [--issues 5000] [--events 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from github_data import Dataset, synthetic_repo  # noqa: E402
from github_server import GitHubServer, github_schema  # noqa: E402

from cadence.config import Config  # noqa: E402
from cadence.sync.github import sync_github  # noqa: E402

TOKEN = "benchmark-token"


def serve(issues: int, events: int, pipe) -> None:
    """The server process: answer until told to stop, then send back the cost it charged."""
    github_schema()
    dataset = Dataset(repos={"acme/bench": synthetic_repo("acme/bench", issues, events)})
    with GitHubServer(dataset, token=TOKEN, remaining=1_000_000) as server:
        pipe.send(server.url)
        pipe.recv()
        pipe.send(server.cost_spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.issues, args.events, theirs), daemon=True)
    server.start()
    url = ours.recv()  # the schema is built and the data made before the clock starts
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu = time.perf_counter(), time.process_time()
        report = sync_github(Path(tmp) / "bench.duckdb", ["acme/bench"], [], url, False, Config(),
                             env={"GITHUB_TOKEN": TOKEN})
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ours.send("stop")
    cost = ours.recv()
    server.join(10)
    print(f"issues: {report.items}, events: {report.events}, requests: {report.requests}")
    print(f"requests per 1,000 items: {report.requests / report.items * 1000:.1f} (aim <= 30)")
    print(f"items/s: {report.items / elapsed:.0f} ({report.events / elapsed:.0f} events/s, {elapsed:.1f} s wall)")
    print(f"client CPU: {cpu:.1f} s ({report.items / cpu:.0f} items per CPU-second; the wall clock includes the server)")
    print(f"GraphQL cost spent: {cost} points ({cost / report.items * 1000:.0f} per 1,000 items)")


if __name__ == "__main__":
    main()
