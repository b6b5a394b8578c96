"""The total deadline of a request: every socket read and write waits no longer than what is left of it.

httpx's timeouts bound each read, so a server that sends one byte every few seconds never trips
them and can hold a request for as long as it likes. ``until(t)`` sets the deadline of the request
this thread is about to send; the transport's sockets (``deadline_transport``) then cap each read,
write and connect at the time left, and raise a read timeout once it is gone. Transports that do not
use httpcore's sockets (cadence.sources.session_transport) read ``time_left()`` themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import httpcore
import httpx

log = logging.getLogger(__name__)

_deadline = threading.local()


class DeadlinePassed(httpcore.ReadTimeout):
    """httpcore maps this to httpx.ReadTimeout, a transport error like any other timeout."""


def time_left() -> float | None:
    """Seconds left before the deadline of the request this thread is sending; None outside one."""
    end = getattr(_deadline, "until", None)
    return None if end is None else end - time.monotonic()


def _bounded(timeout: float | None) -> float | None:
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlinePassed("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every read and write waits no longer than what is left of the deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _bounded(timeout), local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(max_connections: int) -> httpx.HTTPTransport:
    """httpx's own transport, its sockets bounded by the deadline.

    httpx has no public hook for httpcore's network backend, so the pool's is wrapped in place;
    tests/test_http_hostile.py fails if a newer httpx moves it.
    """
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=max_connections))
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = _DeadlineBackend(pool._network_backend)
    else:  # pragma: no cover - a future httpx
        log.warning("httpx has changed: slow servers are bounded by the read timeout only")
    return transport


@contextmanager
def until(deadline: float) -> Iterator[None]:
    """Requests this thread sends inside the block must be done by ``deadline`` (``time.monotonic()``)."""
    _deadline.until = deadline
    try:
        yield
    finally:
        _deadline.until = None
