"""Fault injection against the GitHub-like GraphQL server: SIGKILLed syncs, dropped connections,
truncated JSON, 429/502/503 storms, a stalling server and a server whose clock is hours off.

Every test compares table digests (tests/faults.py) with a clean, uninterrupted sync of the same data.
"""

from __future__ import annotations

import copy
import os
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import github_data as d
from cadence.config import Config
from cadence.errors import SourceError
from cadence.sources.http import RetryPolicy
from cadence.sync.github import sync_github
from faults import Fault, FaultProxy, Phase, Zygote, copy_db, differences, digest, kill_and_rerun
from github_server import GitHubServer, github_schema

TOKEN = "ghp_faultTOKEN2718"
REPO = "acme/models"
KILLS = 20
NOW = datetime(2024, 3, 1, tzinfo=timezone.utc)
waits: list[float] = []
FAST = RetryPolicy(attempts=6, backoff_s=0.01, sleep=waits.append)


@pytest.fixture(scope="module", autouse=True)
def _schema():
    from conftest import SHARED_FIXTURES

    if not (SHARED_FIXTURES / "github" / "github-schema.graphql").exists():
        pytest.skip("GitHub schema not found under ../shared/fixtures")
    github_schema()


def _at(minutes: int) -> datetime:
    return datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=minutes)


def _dataset() -> d.Dataset:
    """210 issues (3 pages of 100) and 110 pull requests (2 pages), on two milestones: four requests,
    the first bringing the milestones and the first page of issues and of pull requests."""
    data = d.synthetic_repo(REPO, 210, 2, start=_at(0))
    data.milestones = [d.milestone(1, "Sprint 1", _at(0), _at(7 * 1440), closed_at=_at(7 * 1440)),
                       d.milestone(2, "Sprint 2", _at(1), _at(14 * 1440))]
    for issue in data.issues[::3]:
        issue["timeline"].append(d.milestoned(_at(issue["number"] + 3), "Sprint 1"))
        issue["milestone"] = {"number": 1, "title": "Sprint 1"}
    for n in range(300, 410):
        created = _at(n)
        data.pull_requests.append(d.pull_request(REPO, n, created, _at(n + 30), state="MERGED", merged_at=_at(n + 30),
                                                 closed_at=_at(n + 30), timeline=[d.review(_at(n + 10))]))
    return d.Dataset(repos={REPO: data})


BASE = _dataset()


def _changed() -> d.Dataset:
    """BASE after a day of work: 5 issues and 3 pull requests commented on."""
    data = copy.deepcopy(BASE)
    repo = data.repos[REPO]
    for k, node in enumerate(repo.issues[7::42] + repo.pull_requests[5::40]):
        when = _at(30 * 1440 + k)
        node["timeline"].append(d.comment(when, f"Finding: change {k}"))
        node["updatedAt"] = d.iso(when)
    return data


CHANGED = _changed()


def _server(data: d.Dataset) -> GitHubServer:
    return GitHubServer(copy.deepcopy(data), token=TOKEN)


def _sync(url: str, db: Path, policy: RetryPolicy = FAST, now: datetime = NOW):
    return sync_github(db, [REPO], [], url, False, Config(), env={"GITHUB_TOKEN": TOKEN}, policy=policy,
                       now=lambda: now)



@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    with _server(BASE) as server:
        _sync(server.url, folder / "clean.duckdb")
    return folder / "clean.duckdb", digest(folder / "clean.duckdb")


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote"))
    yield z
    z.close()


def test_sigkill_at_random_points_then_rerun_converges(zygote, tmp_path):
    """20 real processes running `cadence sync github` are SIGKILLed at a random moment or while a
    random request is in flight, in a first sync or an incremental one; every rerun of the same
    command gives exactly the tables of a clean sync."""
    env = {"GITHUB_TOKEN": TOKEN, "PATH": os.environ.get("PATH", "")}
    rng = random.Random(1126)
    with _server(BASE) as first, _server(CHANGED) as second, FaultProxy(first.url) as proxy:
        proxy._server.handle_error = lambda *a: None

        def argv(db: Path) -> list[str]:
            return ["sync", "github", "--repo", REPO, "--api-url", proxy.url, "--db", str(db)]

        base_db = tmp_path / "base.duckdb"
        started = time.monotonic()
        assert zygote.run(argv(base_db), env, tmp_path) == 0
        first_s, first_requests = time.monotonic() - started, len(proxy.seen)
        proxy.upstream, proxy.seen = second.url, []
        reference_db = tmp_path / "reference.duckdb"
        copy_db(base_db, reference_db)
        started = time.monotonic()
        assert zygote.run(argv(reference_db), env, tmp_path) == 0
        incremental_s, incremental_requests = time.monotonic() - started, len(proxy.seen)
        references = {"first": digest(base_db), "incremental": digest(reference_db)}
        fresh = tmp_path / "fresh.duckdb"
        assert zygote.run(argv(fresh), env, tmp_path) == 0
        assert differences(references["incremental"], digest(fresh)) == {}  # incremental == full

        phases = {
            "first": Phase(first.url, first_s, first_requests, None, references["first"]),
            "incremental": Phase(second.url, incremental_s, incremental_requests, base_db, references["incremental"]),
        }
        kills, attempts = kill_and_rerun(zygote, proxy, argv, env, tmp_path, phases, rng, KILLS)
    print(f"github kills={kills} attempts={attempts}")
    assert kills == KILLS


def test_dropped_connections_mid_response_are_retried(clean, tmp_path):
    _, want = clean
    with _server(BASE) as server, FaultProxy(server.url) as proxy:
        proxy._server.handle_error = lambda *a: None
        proxy.plan = {n: Fault("drop") for n in (1, 2, 4, 5, 7)}
        report = _sync(proxy.url, tmp_path / "w.duckdb")
    assert proxy.faults_injected == 5
    assert report.errors == []
    assert differences(digest(tmp_path / "w.duckdb"), want) == {}


def test_truncated_json_is_retried_like_a_dropped_connection(clean, tmp_path):
    _, want = clean
    with _server(BASE) as server, FaultProxy(server.url) as proxy:
        proxy.plan = {n: Fault("truncate") for n in (1, 3, 6)}
        report = _sync(proxy.url, tmp_path / "w.duckdb")
    assert proxy.faults_injected == 3
    assert report.errors == []
    assert differences(digest(tmp_path / "w.duckdb"), want) == {}


@pytest.mark.parametrize("status", [429, 502, 503])
def test_storms_of_transient_statuses_are_ridden_out(status, clean, tmp_path):
    _, want = clean
    waits.clear()
    with _server(BASE) as server, FaultProxy(server.url) as proxy:
        headers = {"Retry-After": "3"} if status == 429 else {}
        # Bursts of five (one short of the six attempts allowed) before the 1st, 3rd and 4th answers.
        proxy.plan = {n: Fault("status", status, headers=headers) for n in [*range(1, 6), *range(8, 13), *range(14, 19)]}
        report = _sync(proxy.url, tmp_path / "w.duckdb")
    assert proxy.faults_injected == 15
    assert report.errors == []
    assert differences(digest(tmp_path / "w.duckdb"), want) == {}
    assert len(waits) == 15
    assert all(w == 3.0 for w in waits) if status == 429 else all(w < 1 for w in waits)


def test_an_endless_storm_gives_up_with_one_clear_line_and_keeps_what_was_saved(tmp_path):
    with _server(BASE) as server, FaultProxy(server.url) as proxy:
        proxy.plan = {n: Fault("status", 502) for n in range(3, 100)}  # after the Repository and an Issues page
        report = _sync(proxy.url, tmp_path / "w.duckdb")
    assert len(report.errors) == 1 and "\n" not in report.errors[0]
    assert "failed after 6 attempts (HTTP 502)" in report.errors[0]
    saved = digest(tmp_path / "w.duckdb")
    assert len(saved["items"]) == 200  # the two pages of issues saved
    [(_, _, cursor)] = saved["sync_state"]
    assert cursor is None  # no sync of the repository has completed


def test_a_stalling_server_is_given_up_on_within_the_timeout(tmp_path):
    policy = RetryPolicy(attempts=2, backoff_s=0.01, timeout_s=0.3, sleep=lambda s: None)
    with _server(BASE) as server, FaultProxy(server.url) as proxy:
        proxy.every("/graphql", Fault("stall", seconds=30))
        started = time.monotonic()
        with pytest.raises(SourceError) as failed:
            _sync(proxy.url, tmp_path / "w.duckdb", policy=policy)
        elapsed = time.monotonic() - started
    message = str(failed.value)
    assert "\n" not in message and "failed after 2 attempts (ReadTimeout)" in message
    assert elapsed < 15  # the stall lasts 30 s: the sync did not wait for it
    assert len(proxy.seen) == 2


@pytest.mark.parametrize("skew_h", [-6, 9])
def test_server_clock_skew_misses_no_change(skew_h, tmp_path):
    """The server's clock is hours off ours. The cursor comes from the server's ``updatedAt``
    values, so a change the server stamps "before our now" is still read, and nothing more."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    server_now = now + timedelta(hours=skew_h)
    data = d.synthetic_repo(REPO, 8, 1, start=server_now - timedelta(hours=2))
    data.pull_requests = [d.pull_request(REPO, 50, server_now - timedelta(hours=1), server_now - timedelta(minutes=40))]
    db = tmp_path / "w.duckdb"
    with GitHubServer(d.Dataset(repos={REPO: data}), token=TOKEN) as server:
        _sync(server.url, db, now=now)
        newest_before = max(n["updatedAt"] for n in data.issues + data.pull_requests)
        later = server_now + timedelta(minutes=5)
        touched = [data.issues[2], data.issues[5], data.pull_requests[0]]
        for node in touched:
            node["timeline"].append(d.comment(later, "Result: found it"))
            node["updatedAt"] = d.iso(later)
        seen = len(server.requests)
        report = _sync(server.url, db, now=now + timedelta(minutes=6))
        sent = server.requests[seen:]
    since = next(r["variables"]["since"] for r in sent if r["operation"] == "Repository")
    assert since == d.iso(datetime.fromisoformat(newest_before.replace("Z", "+00:00")) - timedelta(minutes=2))
    assert report.items == 3  # the three changed; no older one lies within the 2-minute overlap
    saved = digest(db)
    commented = {e[2] for e in saved["events"] if e[4] == "comment" and e[14] == "Result: found it"}  # 14: text
    assert commented == {f"{REPO}#3", f"{REPO}#6", f"{REPO}#50"}
