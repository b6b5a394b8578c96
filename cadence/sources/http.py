"""One HTTP client for every source: retries, rate limits, deadlines, and secrets kept out of errors.

Sources build on ``Http``. It honours ``Retry-After`` and rate-limit reset headers on 429 and
403-rate-limit answers (a value it cannot read falls back to its own backoff), retries transient
5xx, dropped connections and bodies cut short with exponential backoff, and counts requests.

Every request has a total deadline (``RetryPolicy.deadline_s``, its retries and backoff included,
the waits a server asks for not): a server that sends one byte every few seconds never trips a
per-read timeout, so each socket read is also bounded by what is left of the deadline.

A body that parses nowhere (a number of 5,000 digits, nesting deeper than Python follows, text in
the middle of the JSON) is not retried: ``UnreadableBody`` says so at once, so that a pager can
narrow down to the one record that cannot be read. A 200 whose JSON has the wrong shape is a
``ShapeError``. No message raised here holds a credential in any encoding (``cadence.text.SECRETS``).
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

from cadence.errors import CadenceError, SourceError
from cadence.sources.deadline import deadline_transport, until
from cadence.text import SECRETS, one_line

log = SECRETS.guard(logging.getLogger(__name__))

RETRY_STATUSES = {429, 500, 502, 503, 504}


class HttpError(SourceError):
    """A request failed for good. ``status`` is the HTTP status, or None for a network failure."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(one_line(SECRETS.redact(message)))
        self.status = status
        self.body = body


class ShapeError(HttpError):
    """A 200 answer whose JSON is not what the endpoint returns (an error object, a list for an object)."""


class UnreadableBody(HttpError):
    """A complete answer that does not parse as JSON; ``text`` is what came, for keeping raw."""

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message, status=200)
        self.text = SECRETS.redact(text)


def check_url(url: str, option: str, secrets_hint: str) -> str:
    """``url`` without a trailing slash, or a ``CadenceError`` (exit 1) before any request is sent.

    Refused: no scheme or host, a scheme other than http(s), a URL that does not parse
    (``http://a:b@[::1``), and credentials in the URL, which would reach every stored item URL,
    the report and the logs; the message says where secrets go instead and never repeats them.
    """
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port  # .port raises on a bad port, .hostname on a bad [v6]
    except ValueError:
        raise CadenceError(f"{option} is not a valid URL (it does not parse); give one like https://host") from None
    shown = f"{parts.scheme}://{host or '?'}" if parts.scheme else one_line(text, 60)
    if parts.username is not None or parts.password is not None:
        SECRETS.add(parts.password, parts.username)
        raise CadenceError(f"{option} must not hold credentials (user:password@ in {shown}); "
                           f"secrets come only from the environment: {secrets_hint}")
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise CadenceError(f"{option} {SECRETS.redact(one_line(text, 80))!r} is not an http(s) URL with a host; "
                           "give one like https://host")
    del port
    return text.rstrip("/")


@dataclass
class RetryPolicy:
    attempts: int = 6
    backoff_s: float = 0.5
    max_wait_s: float = 60.0
    timeout_s: float = 30.0  # connect, and each read or write
    deadline_s: float = 120.0  # one request, from the first byte sent to the last received, retries included
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    waited_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, retry: bool = False) -> None:
        with self.lock:
            self.requests += 1
            self.retries += int(retry)


def retry_after_s(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from Retry-After or a rate-limit reset header.

    None when it asked nothing we can read (``Retry-After: soon``): the caller backs off on its own.
    """
    value = (response.headers.get("Retry-After") or "").strip()
    seconds: float | None = None
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - (now or time.time())
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = None
    # GitHub and Jira both send an epoch-seconds reset when the quota is exhausted.
    if seconds is None and response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset", "")
        if reset.isdigit() and len(reset) < 16:
            seconds = int(reset) - (now or time.time())
    if seconds is None or math.isnan(seconds):
        return None
    return max(0.0, seconds)


# GitHub may send a secondary rate limit as a bare 403 with only a message; its docs say wait a minute.
SECONDARY_LIMIT_WAIT_S = 60.0


def _secondary_limit(response: httpx.Response) -> bool:
    body = _json_or_none(response)
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    return response.status_code == 403 and "secondary rate limit" in message.lower()


def _is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    # GitHub answers secondary rate limits with 403 and Retry-After or an exhausted quota.
    return response.status_code == 403 and (
        "Retry-After" in response.headers
        or response.headers.get("X-RateLimit-Remaining") == "0"
        or _secondary_limit(response)
    )


# -- the client ---------------------------------------------------------------------------------
class Http:
    """A thread-safe client bound to one base URL, with retries, a deadline and request counting.

    ``transport`` replaces httpx's own (cadence.sources.session_transport sends through a
    ``requests.Session``, such as a ``jira.JIRA`` client's).
    """

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        policy: RetryPolicy | None = None,
        max_connections: int = 8,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.stats = Stats()
        self.base_url = base_url.rstrip("/")
        SECRETS.add(*_secrets(headers or {}, auth))
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers or {},
            auth=auth,
            timeout=httpx.Timeout(self.policy.timeout_s),
            transport=transport or deadline_transport(max_connections),
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Http":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def redact(value: Any) -> Any:
        """``value`` (text, or JSON-like data) with every credential in use replaced, in every encoding.

        A broken or hostile server may echo the Authorization header back in an error body.
        """
        return SECRETS.redact(value) if isinstance(value, str) else SECRETS.redact_value(value)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying what is transient; return the final successful response.

        Raises ``HttpError`` for a 4xx (other than rate limits), or when retries or the deadline run out.
        """
        return self.request_json(method, path, expect_json=False, **kwargs)[0]

    def request_json(self, method: str, path: str, expect_json: bool = True, **kwargs: Any) -> tuple[httpx.Response, Any]:
        """Like ``request``, and the parsed JSON body. A body cut short (by a proxy or a reset
        connection) is retried like a dropped connection; one that is whole and still does not
        parse raises ``UnreadableBody`` at once."""
        policy = self.policy
        started, asked_to_wait = time.monotonic(), 0.0
        problem, response = "no attempt", None
        for attempt in range(policy.attempts):
            left = policy.deadline_s - (time.monotonic() - started - asked_to_wait)
            if left <= 0:
                problem = f"{problem}; its {policy.deadline_s:.0f} s deadline passed"
                break
            self.stats.count(retry=attempt > 0)
            try:
                with until(time.monotonic() + left):
                    response = self._client.request(method, path, **kwargs)
            except httpx.TooManyRedirects:
                raise HttpError(f"{method} {path} was redirected more than {self._client.max_redirects} times") from None
            except (httpx.TransportError, httpx.DecodingError) as exc:
                problem, response = type(exc).__name__, None
            if response is not None:
                if response.status_code < 400:
                    if not expect_json:
                        return response, None
                    parsed = _parse(response, f"{method} {path}")
                    if parsed is not _CUT_SHORT:
                        return response, parsed
                    problem = "a body cut short"
                elif response.status_code not in RETRY_STATUSES and not _is_rate_limited(response):
                    raise HttpError(
                        f"{method} {path} answered {response.status_code}: {_error_text(response)}",
                        status=response.status_code,
                        body=self.redact(_json_or_none(response)),
                    )
                else:
                    problem = f"HTTP {response.status_code}"
            if attempt == policy.attempts - 1:
                break
            wait, asked = self._wait(response, attempt)
            asked_to_wait += wait if asked else 0.0
            log.info("%s %s: %s, retrying in %.1fs", method, path, problem, wait)
            with self.stats.lock:
                self.stats.waited_s += wait
            policy.sleep(wait)
        raise HttpError(
            f"{method} {self.base_url}{path} failed after {attempt + 1} attempts ({problem})",
            status=response.status_code if response is not None else None,
        )

    def _wait(self, response: httpx.Response | None, attempt: int) -> tuple[float, bool]:
        """(seconds to wait, whether the server asked for them) before the next attempt."""
        wait = retry_after_s(response) if response is not None else None
        if wait is None and response is not None and _secondary_limit(response):
            wait = SECONDARY_LIMIT_WAIT_S
        asked = wait is not None
        if wait is None:
            wait = self.policy.backoff_s * (2**attempt) * (0.5 + random.random())
        return min(wait, self.policy.max_wait_s), asked

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("GET", path, **kwargs)[1]

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request_json("POST", path, json=body, **kwargs)[1]


# httpx and httpcore log raw headers and URLs (a redirect's Location among them) at INFO and DEBUG;
# a server that echoes our token would put it in a user's log. Their loggers redact every form.
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    SECRETS.guard(logging.getLogger(_name))


_CUT_SHORT = object()


def _parse(response: httpx.Response, what: str) -> Any:
    """The JSON body; ``_CUT_SHORT`` when it ends early (worth retrying); ``UnreadableBody`` when it never will parse."""
    content = response.content
    try:
        try:
            return json.loads(content)
        except UnicodeDecodeError:  # bytes that are not UTF-8: keep the rest, with U+FFFD in their place
            return json.loads(content.decode("utf-8", "replace"))
    except json.JSONDecodeError as exc:
        # Cut short: the error is at the very end, or a string runs to the end (Python reports
        # an unterminated string where it starts).
        if exc.pos >= len(exc.doc.rstrip()) - 1 or exc.msg.startswith("Unterminated string"):
            return _CUT_SHORT
        reason = f"not JSON at character {exc.pos:,} of {len(exc.doc):,} ({exc.msg})"
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number; nesting deeper than Python follows
        reason = f"not readable as JSON ({one_line(str(exc), 120)})"
    raise UnreadableBody(f"{what} answered 200 with a body {reason}", content.decode("utf-8", "replace"))


def _secrets(headers: dict[str, str], auth: Any) -> list[str]:
    """Every form in which this client's credentials travel: header values, their tokens, basic auth."""
    found = []
    for name, value in headers.items():
        if name.lower() in ("authorization", "proxy-authorization", "private-token", "x-api-key") and value:
            found += [value, value.split(" ", 1)[-1]]
    if isinstance(auth, tuple) and len(auth) == 2:
        user, password = (str(part) for part in auth)
        found += [password, base64.b64encode(f"{user}:{password}".encode()).decode()]
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


def _error_text(response: httpx.Response) -> str:
    """The server's own error message, short and on one line (Jira's errorMessages, GitHub's message)."""
    return error_messages(_json_or_none(response)) or response.reason_phrase or "no details"


def error_messages(body: Any) -> str:
    """Jira's ``errorMessages`` and ``errors``, or GitHub's ``message``, on one line, redacted; "" when none."""
    parts: list[str] = []
    if isinstance(body, dict):
        messages = body.get("errorMessages")
        parts += [str(m) for m in messages] if isinstance(messages, list) else []
        errors = body.get("errors")
        parts += [f"{k}: {v}" for k, v in errors.items()] if isinstance(errors, dict) else []
        if body.get("message"):
            parts.append(str(body["message"]))
    return one_line(SECRETS.redact("; ".join(parts)), 300)
