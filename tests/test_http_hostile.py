"""The shared HTTP client against a hostile server: Retry-After nobody can read, a server that
drips one byte at a time, a malformed or credential-bearing URL.

Oracles: RFC 9110 section 10.2.3 (Retry-After is an HTTP-date or a number of seconds, nothing
else), and timings worked out by hand from the policy each test sets.
"""

from __future__ import annotations

import time

import httpx
import pytest

from cadence.errors import CadenceError
from cadence.sources.http import Http, HttpError, RetryPolicy, check_url, retry_after_s
from faults import Fault, FaultProxy
from jira_payloads import synthetic
from jira_server import FakeJira


def _answer(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers)


@pytest.mark.parametrize("value", ["soon", "", "-", "nan", "Wed, 99 Foo 2020 25:61:00 GMT", "1 hour", "0x10"])
def test_a_retry_after_nobody_can_read_falls_back_to_backoff(value):
    assert retry_after_s(_answer({"Retry-After": value})) is None


def test_a_readable_retry_after_is_honoured():
    now = 1_700_000_000.0
    assert retry_after_s(_answer({"Retry-After": "7"})) == 7.0
    assert retry_after_s(_answer({"Retry-After": "-3"})) == 0.0
    # An IMF-fixdate 90 s after `now` (2023-11-14 22:13:20 UTC).
    assert retry_after_s(_answer({"Retry-After": "Tue, 14 Nov 2023 22:14:50 GMT"}), now=now) == pytest.approx(90)
    assert retry_after_s(_answer({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(now) + 30)}), now=now) == 30
    assert retry_after_s(_answer({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9" * 40})) is None


def test_garbage_retry_after_is_waited_out_with_backoff_and_the_request_succeeds():
    waits: list[float] = []
    with FakeJira(synthetic(2, 2)) as jira, FaultProxy(jira.url) as proxy:
        proxy.every("/serverInfo", Fault("status", 429, headers={"Retry-After": "soon"}), times=2)
        with Http(proxy.url, policy=RetryPolicy(backoff_s=0.01, sleep=waits.append)) as http:
            assert http.get_json("/rest/api/2/serverInfo")["deploymentType"] == "Cloud"
    assert len(waits) == 2 and all(w < 0.1 for w in waits)  # its own backoff (0.01 s x 2^n x 0.5-1.5)


@pytest.mark.parametrize("kind", ["drip", "drip_body"])
def test_a_server_that_drips_one_byte_at_a_time_meets_the_deadline(kind):
    """One byte every 0.2 s never trips the 1 s read timeout; without a deadline the ~1 kB answer
    would take over 3 minutes. With a 2 s deadline for two attempts, the request fails in about 2 s."""
    with FakeJira(synthetic(2, 2)) as jira, FaultProxy(jira.url) as proxy:
        proxy._server.handle_error = lambda *a: None
        proxy.every("/field", Fault(kind, seconds=0.2))
        policy = RetryPolicy(attempts=2, backoff_s=0.0, timeout_s=1.0, deadline_s=2.0, sleep=lambda s: None)
        started = time.monotonic()
        with Http(proxy.url, policy=policy) as http, pytest.raises(HttpError) as failed:
            http.get_json("/rest/api/2/field")
        elapsed = time.monotonic() - started
    assert "deadline passed" in str(failed.value) and failed.value.status is None
    assert 1.5 < elapsed < 5


@pytest.mark.parametrize("url, says", [
    ("not-a-url", "is not an http(s) URL"),
    ("jira.example.com", "is not an http(s) URL"),
    ("ftp://jira.example.com", "is not an http(s) URL"),
    ("http://a:b@[::1", "does not parse"),
    ("https://host:99999", "does not parse"),
    ("https://me:tok-SECRET@jira.example.com", "must not hold credentials"),
    ("https://tok-SECRET@jira.example.com", "must not hold credentials"),
])
def test_malformed_or_credential_urls_are_refused_before_any_request(url, says):
    with pytest.raises(CadenceError) as refused:
        check_url(url, "--url", "JIRA_PAT")
    assert says in str(refused.value) and "tok-SECRET" not in str(refused.value)


def test_good_urls_pass_unchanged():
    assert check_url("https://example.atlassian.net/", "--url", "x") == "https://example.atlassian.net"
    assert check_url("http://[::1]:8080/jira", "--url", "x") == "http://[::1]:8080/jira"


def test_endless_redirects_are_one_error_not_a_loop():
    with FakeJira(synthetic(2, 2)) as jira, FaultProxy(jira.url) as proxy:
        proxy.every("/field", Fault("redirect"))
        with Http(proxy.url, policy=RetryPolicy(sleep=lambda s: None)) as http, pytest.raises(HttpError) as failed:
            http.get_json("/rest/api/2/field")
    assert "was redirected more than 20 times" in str(failed.value)
    assert len(proxy.seen) == 21  # the request and httpx's 20 redirects, never retried
