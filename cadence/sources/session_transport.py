"""An httpx transport that sends through a ``requests.Session``: a configured ``jira.JIRA`` client's.

A notebook may already hold a ``jira.JIRA`` client set up the way its site needs (OAuth, Kerberos,
client certificates, a corporate CA bundle, proxies, cookies). Its ``_session`` is a
``requests.Session`` carrying all of that, so cadence's ``Http`` (retries, rate limits, deadlines,
request counts) sends every request through it instead of opening its own connections::

    client = jira.JIRA(server="https://jira.example.com", token_auth=pat, get_server_info=False)
    cadence.sync_jira(jira=client, project=["ML"])

- The session's own retry loop (``ResilientSession.request``) is bypassed: ``Http`` retries.
- Redirects are left to httpx, and the session's authentication is applied only to the client's
  own origin, as requests itself does, so credentials never follow a redirect to another host.
- Whatever ``Authorization`` header the session's auth produces is registered for redaction.
- The body is read in chunks against ``Http``'s deadline; requests cannot bound a server that
  drips its *headers*, so there the per-read timeout is the limit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
import urllib3

from cadence.sources.deadline import time_left
from cadence.text import SECRETS

_DROPPED_REQUEST = {"host", "content-length", "connection", "accept-encoding"}
# requests hands over the body decoded, so the length and encoding of the wire form no longer hold.
_DROPPED_RESPONSE = {"content-encoding", "content-length", "transfer-encoding", "connection"}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class SessionTransport(httpx.BaseTransport):
    """``httpx.Client(transport=SessionTransport(session, origin))``: see the module docstring."""

    def __init__(self, session: requests.Session, origin: str) -> None:
        self.session = session
        self.origin = _origin(origin)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        left = time_left()
        if left is not None and left <= 0:
            raise httpx.ReadTimeout("the request's deadline passed", request=request)
        bounds = [t for t in (timeouts.get("read"), left) if t is not None]
        read_timeout = min(bounds) if bounds else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED_REQUEST}
        same_origin = _origin(str(request.url)) == self.origin
        prepared = self.session.prepare_request(requests.Request(
            request.method, str(request.url), headers=headers, data=request.read() or None,
            auth=None if same_origin else _no_auth,
        ))
        sent = prepared.headers.get("Authorization")
        if sent:
            SECRETS.add(sent, sent.split(" ", 1)[-1])
        settings = self.session.merge_environment_settings(prepared.url, {}, True, None, None)
        try:
            response = self.session.send(prepared, allow_redirects=False, timeout=(timeouts.get("connect"), read_timeout),
                                         **settings)
            content = self._read(response, request)
        except requests.exceptions.ConnectTimeout as exc:
            raise httpx.ConnectTimeout(type(exc).__name__, request=request) from None
        except requests.exceptions.ReadTimeout as exc:
            raise httpx.ReadTimeout(type(exc).__name__, request=request) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise httpx.RemoteProtocolError(type(exc).__name__, request=request) from None
        except requests.exceptions.ConnectionError as exc:
            raise httpx.ConnectError(type(exc).__name__, request=request) from None
        except requests.exceptions.RequestException as exc:
            raise httpx.TransportError(type(exc).__name__, request=request) from None
        kept = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED_RESPONSE]
        return httpx.Response(response.status_code, headers=kept, content=content, request=request)

    @staticmethod
    def _read(response: requests.Response, request: httpx.Request) -> bytes:
        # read1 returns what one socket read brought, so a dripping server is checked after every read
        # (iter_content would wait for a whole chunk first).
        chunks: list[bytes] = []
        try:
            while chunk := response.raw.read1(65_536, decode_content=True):
                chunks.append(chunk)
                left = time_left()
                if left is not None and left <= 0:
                    raise httpx.ReadTimeout("the request's deadline passed", request=request)
        except urllib3.exceptions.ReadTimeoutError:
            raise httpx.ReadTimeout("ReadTimeout", request=request) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
            raise httpx.RemoteProtocolError(type(exc).__name__, request=request) from None
        finally:
            response.close()
        return b"".join(chunks)

    def close(self) -> None:
        """The session belongs to the caller's client: it stays open."""


def session_of(client: Any) -> tuple[requests.Session, str]:
    """The ``requests.Session`` and server URL of a ``jira.JIRA`` client, or a ``TypeError``."""
    session = getattr(client, "_session", None)
    server = getattr(client, "server_url", None) or (getattr(client, "_options", None) or {}).get("server")
    if not isinstance(session, requests.Session) or not server:
        raise TypeError("jira= takes a jira.JIRA client (pycontribs jira), whose _session is a requests.Session")
    return session, str(server)
