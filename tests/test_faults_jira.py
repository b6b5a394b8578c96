"""Fault injection against the Jira-like server: SIGKILLed syncs, dropped connections, truncated
JSON, 429/502/503 storms, a stalling server and a server whose clock is hours off.

Every test compares table digests (tests/faults.py) with a clean, uninterrupted sync of the same data.
"""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cadence.config import Config
from cadence.errors import SourceError
from cadence.sources.http import RetryPolicy
from cadence.sync.jira import sync_jira
from faults import Fault, FaultProxy, Phase, Zygote, copy_db, differences, digest, kill_and_rerun
from jira_payloads import _when, clone, synthetic, touch
from jira_server import FakeJira

ENV = {"JIRA_EMAIL": "fault@example.com", "JIRA_API_TOKEN": "fault-token-3141"}
KILLS = 20
waits: list[float] = []
FAST = RetryPolicy(attempts=6, backoff_s=0.01, sleep=waits.append)


def _data():
    # 10 issues on pages of 4; a fifth of them carry 40-60 histories, so Cloud's inline changelog is
    # truncated and bulkfetch runs too.
    return synthetic(10, histories=20, seed=7, long_share=0.2)


def _server(data) -> FakeJira:
    return FakeJira(data, email=ENV["JIRA_EMAIL"], token=ENV["JIRA_API_TOKEN"], page_limit=4)


def _sync(url: str, db: Path, policy: RetryPolicy = FAST, **kw):
    return sync_jira(db, url, ["BEN"], None, [], False, Config(), env=ENV, policy=policy, **kw)



@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote"))
    yield z
    z.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean sync of the base data, and its digest."""
    folder = tmp_path_factory.mktemp("clean")
    with _server(_data()) as jira:
        _sync(jira.url, folder / "clean.duckdb")
    return folder / "clean.duckdb", digest(folder / "clean.duckdb")


def test_sigkill_at_random_points_then_rerun_converges(zygote, clean, tmp_path):
    """20 real processes running `cadence sync jira` are SIGKILLed: half at a random moment, half
    while a randomly chosen request is in flight; half in a first sync, half in an incremental one.
    After every kill, a rerun of the same command gives exactly the tables of a clean sync."""
    base_db, base_digest = clean
    changed = clone(_data())
    touch(changed, 0.4, datetime(2025, 6, 1, 9, 30, tzinfo=timezone.utc), seed=5)
    env = {**ENV, "PATH": os.environ.get("PATH", "")}
    rng = random.Random(20261126)
    with _server(_data()) as first, _server(changed) as second, \
            FaultProxy(first.url) as proxy:
        proxy._server.handle_error = lambda *a: None  # the killed client's socket is gone; that is expected

        def argv(db: Path) -> list[str]:
            return ["sync", "jira", "--url", proxy.url, "--project", "BEN", "--db", str(db)]

        # References: a clean first sync, and a clean incremental one on top of the base file.
        proxy.upstream = second.url
        reference_db = tmp_path / "reference.duckdb"
        copy_db(base_db, reference_db)
        started = time.monotonic()
        assert zygote.run(argv(reference_db), env, tmp_path) == 0
        incremental_s, incremental_requests = time.monotonic() - started, len(proxy.seen)
        references = {"first": base_digest, "incremental": digest(reference_db)}
        fresh = tmp_path / "fresh.duckdb"
        _sync(second.url, fresh)
        assert differences(references["incremental"], digest(fresh)) == {}  # incremental == full
        proxy.upstream, proxy.seen = first.url, []
        started = time.monotonic()
        assert zygote.run(argv(tmp_path / "timing.duckdb"), env, tmp_path) == 0
        first_s, first_requests = time.monotonic() - started, len(proxy.seen)

        phases = {
            "first": Phase(first.url, first_s, first_requests, None, references["first"]),
            "incremental": Phase(second.url, incremental_s, incremental_requests, base_db, references["incremental"]),
        }
        kills, attempts = kill_and_rerun(zygote, proxy, argv, env, tmp_path, phases, rng, KILLS)
    print(f"jira kills={kills} attempts={attempts} first_s={first_s:.2f} incremental_s={incremental_s:.2f}")
    assert kills == KILLS


def test_dropped_connections_mid_response_are_retried(clean, tmp_path):
    _, want = clean
    with _server(_data()) as jira, FaultProxy(jira.url) as proxy:
        proxy._server.handle_error = lambda *a: None
        proxy.plan = {n: Fault("drop") for n in (1, 3, 6, 7, 10, 14)}
        report = _sync(proxy.url, tmp_path / "w.duckdb")
    assert proxy.faults_injected == 6
    assert report.errors == []
    assert differences(digest(tmp_path / "w.duckdb"), want) == {}


def test_truncated_json_is_retried_like_a_dropped_connection(clean, tmp_path):
    # A body cut short by a proxy or a reset is as transient as a dropped connection.
    _, want = clean
    with _server(_data()) as jira, FaultProxy(jira.url) as proxy:
        proxy.every("/search/jql", Fault("truncate"), times=2)
        proxy.every("/bulkfetch", Fault("truncate"), times=1)
        proxy.every("/board", Fault("truncate"), times=1)
        report = _sync(proxy.url, tmp_path / "w.duckdb")
    assert proxy.faults_injected == 4
    assert report.errors == []
    assert differences(digest(tmp_path / "w.duckdb"), want) == {}


@pytest.mark.parametrize("status", [429, 502, 503])
def test_storms_of_transient_statuses_are_ridden_out(status, clean, tmp_path):
    _, want = clean
    waits.clear()
    with _server(_data()) as jira, FaultProxy(jira.url) as proxy:
        headers = {"Retry-After": "2"} if status == 429 else {}
        # Five in a row on every kind of request: one short of the six attempts allowed.
        for part in ("/serverInfo", "/search/jql", "/bulkfetch", "/sprint"):
            proxy.every(part, Fault("status", status, headers=headers), times=5)
        report = _sync(proxy.url, tmp_path / "w.duckdb")
    assert proxy.faults_injected == 20
    assert report.errors == []
    assert differences(digest(tmp_path / "w.duckdb"), want) == {}
    if status == 429:
        assert waits.count(2.0) == 20  # Retry-After honoured, every time
    else:
        assert len(waits) == 20 and all(w < 1 for w in waits)  # backoff, not Retry-After


def test_an_endless_storm_gives_up_with_one_clear_line_and_keeps_what_was_saved(tmp_path):
    data = synthetic(15, histories=20, seed=7)  # no truncated changelogs: every page is saved at once
    with _server(data) as jira, FaultProxy(jira.url) as proxy:
        # The first search page gets through; every later search request answers 503.
        def storm_after_first_search(n: int) -> None:
            if sum("/search/jql" in s.path for s in proxy.seen) == 1 and not proxy.rules:
                proxy.every("/search/jql", Fault("status", 503))

        proxy.on_request = storm_after_first_search
        report = _sync(proxy.url, tmp_path / "w.duckdb")
        first_page = jira.ordered()[:4]
    assert proxy.faults_injected == 6
    assert len(report.errors) == 1 and "\n" not in report.errors[0]
    assert "failed after 6 attempts (HTTP 503)" in report.errors[0]
    saved = digest(tmp_path / "w.duckdb")
    assert sorted(i[1] for i in saved["items"]) == sorted(i["key"] for i in first_page)  # the first page...
    [(_, _, cursor)] = saved["sync_state"]
    newest = max(datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") for i in first_page)
    assert datetime.fromisoformat(cursor) == newest  # ...with the cursor that covers it


def test_a_stalling_server_is_given_up_on_within_the_timeout(tmp_path):
    policy = RetryPolicy(attempts=2, backoff_s=0.01, timeout_s=0.3, sleep=lambda s: None)
    with _server(_data()) as jira, FaultProxy(jira.url) as proxy:
        proxy.every("/search/jql", Fault("stall", seconds=30))
        started = time.monotonic()
        with pytest.raises(SourceError) as failed:
            _sync(proxy.url, tmp_path / "w.duckdb", policy=policy)
        elapsed = time.monotonic() - started
    message = str(failed.value)
    assert "\n" not in message and "failed after 2 attempts (ReadTimeout)" in message
    assert elapsed < 15  # the stall lasts 30 s: the sync did not wait for it
    assert len([s for s in proxy.seen if "/search/jql" in s.path]) == 2  # one try and one retry


@pytest.mark.parametrize("skew_h", [-5, 7])
def test_server_clock_skew_misses_no_change(skew_h, tmp_path):
    """The server's clock is hours off ours. The incremental cursor comes from the server's own
    ``updated`` values, so a change the server stamps "earlier than our now" is still found."""
    server_now = lambda: datetime.now(timezone.utc) + timedelta(hours=skew_h)  # noqa: E731
    data = synthetic(8, histories=6, seed=11)
    for n, issue in enumerate(data.issues):
        issue["fields"]["updated"] = _when(server_now() - timedelta(minutes=30 + n))
    db = tmp_path / "w.duckdb"
    with _server(data) as jira:
        _sync(jira.url, db)
        before = {i["key"]: datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") for i in data.issues}
        changed = touch(data, 0.4, server_now(), seed=3)
        jira.changed()
        report = _sync(jira.url, db)
        jql = jira.seen("/search/jql")[-1].query["jql"]
    floor = (max(before.values()) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    overlap = [k for k, u in before.items() if k not in changed and u >= floor]
    assert report.items == len(changed) + len(overlap)  # the changed ones, and the 2-minute overlap
    since = datetime.strptime(jql.split('updated >= "')[1][:16], "%Y-%m-%d %H:%M")
    # The date in the JQL is written in the user's zone (Europe/Berlin) from the server's stamps.
    newest = max(issue["fields"]["updated"] for issue in data.issues if issue["key"] not in changed)
    berlin = datetime.strptime(newest, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert since == (berlin - timedelta(minutes=2)).replace(tzinfo=None, second=0, microsecond=0)
    saved = digest(db)
    touched = {e[2] for e in saved["events"] if ":t1" in e[1]}  # the histories touch() added
    assert touched == set(changed)
