"""Hypothesis mutates the answers of the fake servers at the HTTP layer, and the sync must hold up.

The Jira answers are the fake Jira serving the real patternfly.atlassian.net recordings (../shared);
the GitHub answers are the fake GitHub executing queries against GitHub's published schema. For each
example hypothesis picks one to three requests of a sync and what to do to their answers, through
tests/faults.py's proxy:

- wrong shapes: a random JSON value replaced (null, a number, a string, a list, an object), a key
  deleted, the whole body turned into a list, a string, a number or a Jira error object;
- paging: ``nextPageToken``/``endCursor`` repeated, emptied or retyped, ``isLast``/``hasNextPage``
  flipped, ``total``/``startAt`` made up;
- odd headers: 429/503/403 with a ``Retry-After`` or rate-limit reset no one can read, HTML for JSON;
- huge values: 5,000-digit numbers, nesting 490 and 5,000 deep, a 2 MB string;
- broken bytes: a body cut at a random point, invalid UTF-8, an empty body;
- the request's credentials echoed into a random string, plain, percent-encoded, base64 or JSON-escaped.

Whatever comes, the sync either returns a report or raises cadence's one-line ``CadenceError``
(never another exception), ends within 30 s, writes no secret to the warehouse, the log or its
messages, and never keeps an item without its raw payload. ``CADENCE_MUTATION_EXAMPLES`` (default
300: 200 Jira, 100 GitHub) sets how many examples run.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.config import Config
from cadence.errors import CadenceError
from cadence.sources.http import RetryPolicy
from faults import Exchange, Fault, FaultProxy
from hostile_answers import slots as json_slots

EXAMPLES = int(os.environ.get("CADENCE_MUTATION_EXAMPLES", "300"))
EMAIL, TOKEN, GH_TOKEN = "mut@example.com", "mut/SECRET+7e1c=9", "ghp_mutSECRET0b4d21"
FAST = RetryPolicy(attempts=2, backoff_s=0.0, timeout_s=2.0, deadline_s=5.0, sleep=lambda s: None)
KINDS = ["shape", "delete", "wrap", "paging", "headers", "huge", "bytes", "echo"]
REPLACEMENTS: list[Any] = [None, 0, -1, 10**30, 1.5e308, "", "x", "2024-02-30T25:61:00.000+0000", [], [None], {}, {"a": 1},
                           True, "\u202eecilA\x1b[2K\r", [[[[[[[[[[0]]]]]]]]]]]


def forms(secret: str) -> list[str]:
    """A secret's encodings, written out here (not by the code under test)."""
    return [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(), secret.replace("/", "\\/")]


SECRET_FORMS = sorted(set(forms(TOKEN) + forms(GH_TOKEN) + forms(base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode())))


def _paging(body: Any, rng: random.Random) -> Any:
    for container, key in json_slots(body):
        if key in ("nextPageToken", "endCursor", "isLast", "hasNextPage", "total", "startAt", "maxResults"):
            container[key] = rng.choice([None, "", "0", "4", 0, -3, 10**9, True, False, "no",
                                         container[key], container[key]])
    if isinstance(body, dict) and rng.random() < 0.5:
        body["isLast"] = rng.choice([False, True, None])
    return body


def mutate(kind: str, seed: int, exchange: Exchange) -> None:
    """Apply mutation ``kind`` to one answer, its choices drawn from ``seed``."""
    rng = random.Random(seed)
    if kind == "headers":
        exchange.status = rng.choice([429, 503, 403, 200])
        exchange.headers = {"Retry-After": rng.choice(["soon", "-1", "1e309", "nan", "Wed, 99 Foo 2020", "9" * 40, ""]),
                            "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": rng.choice(["never", "9" * 30, "-5"])}
        if exchange.status == 200:
            exchange.headers["Content-Type"] = "text/html"
            exchange.body = b"<html><body>Please log in</body></html>"
        return
    if kind == "bytes":
        choice = rng.randrange(3)
        exchange.body = (exchange.body[: rng.randrange(max(1, len(exchange.body)))] if choice == 0 else
                         exchange.body.replace(b'"', b'"\xff\xfe', 1) if choice == 1 else b"")
        return
    if kind == "huge":
        value = rng.choice(["9" * 5000, "[" * 5000 + "]" * 5000, json.dumps("y" * 2_000_000),
                            '{"type": "doc", "content": [' * 490 + "]}" * 490])
        head, brace, rest = exchange.body.partition(b"{")
        if brace:
            exchange.body = head + b'{"huge": ' + value.encode() + b", " + rest
        return
    try:
        body = json.loads(exchange.body)
    except ValueError:
        return
    slots = json_slots(body)
    if kind == "wrap" or not slots:
        body = rng.choice([[body], "text", 42, None, {"errorMessages": ["Field 'x' does not exist"], "errors": {}}, {}])
    elif kind == "shape":
        container, key = rng.choice(slots)
        container[key] = rng.choice(REPLACEMENTS)
    elif kind == "delete":
        dicts = [(c, k) for c, k in slots if isinstance(c, dict)]
        if dicts:
            container, key = rng.choice(dicts)
            del container[key]
    elif kind == "paging":
        body = _paging(body, rng)
    elif kind == "echo":
        strings = [(c, k) for c, k in slots if isinstance(c[k], str)]
        sent = exchange.request_headers.get("Authorization", "")
        if strings and sent:
            container, key = rng.choice(strings)
            container[key] = f"{container[key]} {rng.choice(forms(sent) + forms(sent.split(' ', 1)[-1]))}"
    exchange.body = json.dumps(body).encode()


mutations = st.lists(st.tuples(st.integers(0, 25), st.sampled_from(KINDS), st.integers(0, 2**32)), min_size=1, max_size=3)


def _rules(proxy: FaultProxy, plan: list[tuple[int, str, int]]) -> None:
    proxy.clear()
    for nth, kind, seed in plan:
        proxy.every("", Fault("rewrite", after=lambda ex, kind=kind, seed=seed: mutate(kind, seed, ex)), times=1, skip=nth)


def _check(db: Path, outcome: Any, caplog: pytest.LogCaptureFixture, elapsed: float, source: str) -> None:
    assert elapsed < 30, f"{elapsed:.1f} s"
    texts = [caplog.text]
    if isinstance(outcome, CadenceError):
        message = str(outcome)
        assert "\n" not in message and "\r" not in message and "\x1b" not in message, repr(message)
        texts.append(message)
    else:
        texts.append(outcome.summary() + " ".join(outcome.errors))
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
            texts += [repr(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables]
            items = con.execute("SELECT count(*) FROM items WHERE source = ?", [source]).fetchone()[0]
            raws = con.execute("SELECT count(DISTINCT entity_id) FROM raw WHERE entity IN ('issue', 'item') "
                               "AND source = ?", [source]).fetchone()[0]
        assert items <= raws  # no item without its raw payload
    leaked = [form[:8] for form in SECRET_FORMS if any(form in text for text in texts)]
    assert not leaked, leaked


def _run(sync: Any) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        outcome = sync()
    except CadenceError as exc:
        outcome = exc
    return outcome, time.monotonic() - started


SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
counts = {"jira": 0, "github": 0, "ok": 0, "partial": 0, "failed": 0}


@pytest.fixture(scope="module")
def jira_proxy(shared_fixtures_module):
    from jira_payloads import patternfly
    from jira_server import FakeJira

    with FakeJira(patternfly(shared_fixtures_module), email=EMAIL, token=TOKEN, page_limit=4) as jira, \
            FaultProxy(jira.url) as proxy:
        proxy._server.handle_error = lambda *a: None
        yield proxy


@pytest.fixture(scope="module")
def shared_fixtures_module():
    from conftest import SHARED_FIXTURES

    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"third-party recordings not found at {SHARED_FIXTURES}")
    return SHARED_FIXTURES


@settings(max_examples=EXAMPLES * 2 // 3, **SETTINGS)
@given(plan=mutations)
def test_mutated_jira_answers(jira_proxy, tmp_path_factory, caplog, plan):
    from cadence.sync.jira import sync_jira

    caplog.clear()
    caplog.set_level(logging.INFO)
    db = tmp_path_factory.mktemp("mut-jira") / "w.duckdb"
    _rules(jira_proxy, plan)
    outcome, elapsed = _run(lambda: sync_jira(db, jira_proxy.url, ["OSUX", "PTNFLY"], None, [], False, Config(),
                                              env={"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}, policy=FAST))
    _check(db, outcome, caplog, elapsed, "jira")
    counts["jira"] += 1
    counts["failed" if isinstance(outcome, CadenceError) else "partial" if outcome.partial else "ok"] += 1


@pytest.fixture(scope="module")
def github_proxy(shared_fixtures_module):
    import github_data as d
    from github_server import GitHubServer

    dataset = d.Dataset(repos={"acme/models": d.synthetic_repo("acme/models", 120, 3)})
    with GitHubServer(dataset, token=GH_TOKEN) as server, FaultProxy(server.url) as proxy:
        proxy._server.handle_error = lambda *a: None
        yield proxy


@settings(max_examples=EXAMPLES // 3, **SETTINGS)
@given(plan=mutations)
def test_mutated_github_answers(github_proxy, tmp_path_factory, caplog, plan):
    from cadence.sync.github import sync_github

    caplog.clear()
    caplog.set_level(logging.INFO)
    db = tmp_path_factory.mktemp("mut-gh") / "w.duckdb"
    _rules(github_proxy, [(nth % 6, kind, seed) for nth, kind, seed in plan])  # a clean sync makes 6 requests
    outcome, elapsed = _run(lambda: sync_github(db, ["acme/models"], [], github_proxy.url, False, Config(),
                                                env={"GITHUB_TOKEN": GH_TOKEN}, policy=FAST))
    _check(db, outcome, caplog, elapsed, "github")
    counts["github"] += 1
    counts["failed" if isinstance(outcome, CadenceError) else "partial" if outcome.partial else "ok"] += 1


def test_zz_mutation_counts(shared_fixtures_module):
    """Runs last in this file: how many examples ran (reported in the issue's note)."""
    print(f"mutation examples: {counts}")
    assert counts["jira"] >= EXAMPLES * 2 // 3 and counts["github"] >= EXAMPLES // 3
