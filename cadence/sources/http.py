"""One HTTP client for every source: retries, rate limits, and secrets kept out of errors.

Sources build on ``Http``: it honours ``Retry-After`` and rate-limit reset headers on 429 and
403-rate-limit answers, retries transient 5xx and dropped connections with exponential backoff,
bounds every request with a timeout, and counts requests so that syncs can report them.
No message it raises contains a header value, so a token cannot leak through it.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from cadence.errors import SourceError

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class HttpError(SourceError):
    """A request failed for good. ``status`` is the HTTP status, or None for a network failure."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(" ".join(message.split()))
        self.status = status
        self.body = body


@dataclass
class RetryPolicy:
    attempts: int = 6
    backoff_s: float = 0.5
    max_wait_s: float = 60.0
    timeout_s: float = 30.0
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
    """Seconds the server asked us to wait, from Retry-After or a rate-limit reset header."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (now or time.time()))
    # GitHub and Jira both send an epoch-seconds reset when the quota is exhausted.
    if response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset")
        if reset and reset.isdigit():
            return max(0.0, int(reset) - (now or time.time()))
    return None


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


class Http:
    """A thread-safe client bound to one base URL, with retries and request counting."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        policy: RetryPolicy | None = None,
        max_connections: int = 8,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.stats = Stats()
        self.base_url = base_url.rstrip("/")
        self._secrets = _secrets(headers or {}, auth)
        _LOG_SECRETS.update(self._secrets)
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers or {},
            auth=auth,
            timeout=httpx.Timeout(self.policy.timeout_s),
            limits=httpx.Limits(max_connections=max_connections),
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Http":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, value: Any) -> Any:
        """``value`` (text, or JSON-like data) with every credential this client sends replaced.

        A broken or hostile server may echo the Authorization header back in an error body.
        """
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, "[redacted]")
            return value
        if isinstance(value, dict):
            return {self.redact(k): self.redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        return value

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying what is transient; return the final successful response.

        Raises ``HttpError`` for a 4xx (other than rate limits), or when retries run out.
        """
        return self.request_json(method, path, expect_json=False, **kwargs)[0]

    def request_json(self, method: str, path: str, expect_json: bool = True, **kwargs: Any) -> tuple[httpx.Response, Any]:
        """Like ``request``, and the parsed JSON body. A body that does not parse (cut short by a
        proxy or a reset connection) is retried like a dropped connection."""
        policy = self.policy
        for attempt in range(policy.attempts):
            self.stats.count(retry=attempt > 0)
            try:
                response = self._client.request(method, path, **kwargs)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                problem, response = f"{type(exc).__name__}", None
            else:
                if response.status_code < 400:
                    if not expect_json:
                        return response, None
                    try:
                        return response, response.json()
                    except ValueError:
                        problem = "a body that is not JSON"
                elif response.status_code not in RETRY_STATUSES and not _is_rate_limited(response):
                    raise HttpError(
                        f"{method} {path} answered {response.status_code}: {_error_text(response, self.redact)}",
                        status=response.status_code,
                        body=self.redact(_json_or_none(response)),
                    )
                else:
                    problem = f"HTTP {response.status_code}"
            if attempt == policy.attempts - 1:
                break
            wait = retry_after_s(response) if response is not None else None
            if wait is None and response is not None and _secondary_limit(response):
                wait = SECONDARY_LIMIT_WAIT_S
            if wait is None:
                wait = policy.backoff_s * (2**attempt) * (0.5 + random.random())
            wait = min(wait, policy.max_wait_s)
            log.info("%s %s: %s, retrying in %.1fs", method, path, problem, wait)
            with self.stats.lock:
                self.stats.waited_s += wait
            policy.sleep(wait)
        raise HttpError(
            f"{method} {self.base_url}{path} failed after {policy.attempts} attempts ({problem})",
            status=response.status_code if response is not None else None,
        )

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("GET", path, **kwargs)[1]

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request_json("POST", path, json=body, **kwargs)[1]


# httpx and httpcore log raw headers at DEBUG; a server that echoes our token in a response header
# would put it in a user's debug log. Their loggers redact every credential a client was given.
_LOG_SECRETS: set[str] = set()


class _RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _LOG_SECRETS:
            message = record.getMessage()
            for secret in sorted(_LOG_SECRETS, key=len, reverse=True):
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, ()
        return True


for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    logging.getLogger(_name).addFilter(_RedactSecrets())


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
    except ValueError:
        return None


def _error_text(response: httpx.Response, redact: Callable[[Any], Any] = lambda text: text) -> str:
    """The server's own error message, short and on one line (Jira's errorMessages, GitHub's message)."""
    body = _json_or_none(response)
    parts: list[str] = []
    if isinstance(body, dict):
        parts += [str(m) for m in body.get("errorMessages") or []]
        parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()] if isinstance(body.get("errors"), dict) else []
        if body.get("message"):
            parts.append(str(body["message"]))
    text = redact("; ".join(parts) or response.reason_phrase or "no details")
    return " ".join(text.split())[:300]
