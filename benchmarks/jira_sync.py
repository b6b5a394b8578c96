"""Benchmark: sync 10,000 Jira issues of ~30 histories each from a local Jira-like server.

Prints HTTP requests per 1,000 issues, issues per second, and the requests of an incremental sync
after 1% of the issues changed. Run: ``python benchmarks/jira_sync.py [--issues N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cadence.config import Config  # noqa: E402
from cadence.sync.jira import sync_jira  # noqa: E402
from jira_payloads import synthetic, touch  # noqa: E402
from jira_server import FakeJira  # noqa: E402

ENV = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"}


def serve(args: argparse.Namespace, pipe: Connection) -> None:
    """The fake Jira in its own process, so it does not share the sync's interpreter lock."""
    data = synthetic(args.issues, histories=args.histories, long_share=args.long_share, seed=42)
    histories = sum(len(i["changelog"]["histories"]) for i in data.issues)
    with FakeJira(data) as jira:
        pipe.send((jira.url, histories))
        while (command := pipe.recv()) != "stop":
            if command == "kinds":
                pipe.send(Counter(kind_of(seen.path) for seen in jira.requests))
                continue
            changed = touch(data, command, datetime.now(timezone.utc))
            jira.changed()
            pipe.send((len(changed), len(jira.requests)))


def kind_of(path: str) -> str:
    """A request's part of the plan, by its path."""
    for part, kind in (("/search", "search"), ("/changelog/bulkfetch", "changelog bulkfetch"),
                       ("/comment", "comments"), ("/rest/api/2/issue/", "issue"), ("sprintreport", "sprint reports")):
        if part in path:
            return kind
    return "site set-up (fields, statuses, boards, sprints)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--histories", type=int, default=30)
    parser.add_argument("--long-share", type=float, default=0.02,
                        help="share of issues with 2-3x the histories, past Cloud's inline 40")
    args = parser.parse_args()
    ours, theirs = Pipe()
    server = Process(target=serve, args=(args, theirs), daemon=True)
    server.start()
    url, histories = ours.recv()
    print(f"site: {args.issues} issues, {histories} histories ({histories / args.issues:.1f} per issue)")
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        started, cpu = time.perf_counter(), time.process_time()
        full = sync_jira(db, url, ["BEN"], None, [], False, Config(), env=ENV)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        # CPU seconds of the syncing process (all its threads) say more than wall time on a shared machine.
        print(f"full sync: {full.items} items, {full.events} events in {elapsed:.1f}s "
              f"-> {full.items / elapsed:,.0f} issues/s (CPU {cpu:.1f}s -> {full.items / cpu:,.0f} issues per CPU-second; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"requests: {full.requests} -> {1000 * full.requests / full.items:.1f} per 1,000 issues")
        ours.send("kinds")
        kinds = ours.recv()
        issue_requests = kinds["search"] + kinds["changelog bulkfetch"] + kinds["comments"] + kinds["issue"]
        print(f"  of which issues ({', '.join(f'{k} {kinds[k]}' for k in ('search', 'changelog bulkfetch', 'comments', 'issue') if kinds[k])}): "
              f"{issue_requests} -> {1000 * issue_requests / full.items:.1f} per 1,000 issues")
        for kind in sorted(set(kinds) - {"search", "changelog bulkfetch", "comments", "issue"}):
            print(f"  {kind}: {kinds[kind]}")
        ours.send(0.01)
        changed, before = ours.recv()
        started = time.perf_counter()
        incremental = sync_jira(db, url, ["BEN"], None, [], False, Config(), env=ENV)
        print(f"incremental sync after {changed} issues (1%) changed: {incremental.requests} requests, "
              f"{incremental.items} items, {time.perf_counter() - started:.1f}s")
    ours.send("stop")
    server.join(10)


if __name__ == "__main__":
    main()
