"""Hostile answers (issue 16) for tests/faults.py's proxy, as ``rewrite`` faults.

Each factory returns a ``Fault`` that edits what a request sends or what the server answers:
paging that never ends, answers of the wrong shape, values no parser takes, control codes, and a
server that echoes the credentials it was sent. Like faults.py, it never imports cadence.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode, urlparse

from faults import Exchange, Fault


def slots(value: Any, found: list[tuple[Any, Any]] | None = None) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON value: the places a mutation can hit."""
    found = [] if found is None else found
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((value, key))
            slots(inner, found)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((value, index))
            slots(inner, found)
    return found


def _edit_json(exchange: Exchange, edit: Callable[[Any], Any]) -> None:
    try:
        body = json.loads(exchange.body)
    except ValueError:
        return
    exchange.body = json.dumps(edit(body)).encode()


def _connections(body: Any) -> list[dict[str, Any]]:
    """The top-level connections of a GitHub GraphQL answer (repository.issues and the like)."""
    data = body.get("data") if isinstance(body, dict) else None
    found = []
    for parent in (data or {}).values():
        if isinstance(parent, dict):
            found += [c for c in parent.values() if isinstance(c, dict) and isinstance(c.get("pageInfo"), dict)]
    return found


def repeated_cursor() -> Fault:
    """Every page hands on the first page's cursor again: Jira's ``nextPageToken``, GitHub's ``endCursor``."""
    first: dict[str, Any] = {}

    def after(exchange: Exchange) -> None:
        def edit(body: Any) -> Any:
            if isinstance(body, dict) and body.get("nextPageToken"):
                body["nextPageToken"] = first.setdefault("token", body["nextPageToken"])
                body["isLast"] = False
            for conn in _connections(body):
                if conn["pageInfo"].get("endCursor"):
                    conn["pageInfo"]["endCursor"] = first.setdefault("cursor", conn["pageInfo"]["endCursor"])
                    conn["pageInfo"]["hasNextPage"] = True
            return body
        _edit_json(exchange, edit)

    return Fault("rewrite", after=after)


def same_page() -> Fault:
    """The server ignores where the client asked to start (``startAt``, ``after``) and says there is more."""
    def before(exchange: Exchange) -> bool:
        url = urlparse(exchange.path)
        query = [(k, v) for k, v in parse_qsl(url.query) if k not in ("startAt", "nextPageToken")]
        exchange.path = url.path + ("?" + urlencode(query) if query else "")
        if exchange.request_body:
            request = json.loads(exchange.request_body)
            if isinstance(request.get("variables"), dict):
                request["variables"]["after"] = None
            exchange.request_body = json.dumps(request).encode()
        return False

    def after(exchange: Exchange) -> None:
        def edit(body: Any) -> Any:
            if isinstance(body, dict) and "isLast" in body:
                body["isLast"] = False
            for conn in _connections(body):
                conn["pageInfo"]["hasNextPage"] = True
            return body
        _edit_json(exchange, edit)

    return Fault("rewrite", before=before, after=after)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Fault:
    """Answer this instead, without asking the server (a 200 error object, a list, ...)."""
    def before(exchange: Exchange) -> bool:
        exchange.status, exchange.headers = status, dict(headers or {})
        exchange.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        return True

    return Fault("rewrite", before=before)


def error_object() -> Fault:
    """A 200 whose body is a Jira error object (what a proxy or a plugin in front of Jira may send)."""
    return answer(200, {"errorMessages": ["The value 'BEN' does not exist for the field 'project'."], "errors": {}})


def wrapped_in_list() -> Fault:
    """The real answer, inside a top-level list where an object belongs."""
    return Fault("rewrite", after=lambda exchange: _edit_json(exchange, lambda body: [body]))


def lower_total(total: int) -> Fault:
    """``total`` lower than the truth (Jira's total is an estimate)."""
    def edit(body: Any) -> Any:
        if isinstance(body, dict) and "total" in body:
            body["total"] = total
        return body

    return Fault("rewrite", after=lambda exchange: _edit_json(exchange, edit))


def splice(marker: str, text: str | Callable[[Exchange], str]) -> Fault:
    """Insert raw JSON ``text`` after the first ``marker`` of the answer (so it can be anything, even
    nesting no JSON library would write)."""
    def after(exchange: Exchange) -> None:
        value = text(exchange) if callable(text) else text
        exchange.body = exchange.body.replace(marker.encode(), marker.encode() + value.encode(), 1)

    return Fault("rewrite", after=after)


JIRA_ISSUE, GITHUB_NODE = '"fields": {', '"nodes": [{'


def deep_description(marker: str = JIRA_ISSUE, levels: int = 490) -> Fault:
    """A description in Atlassian Document Format nested ``levels`` deep, after ``marker`` (an issue's fields)."""
    deep = '{"type": "doc", "content": [' * levels + ']}' * levels
    return splice(marker, f'"description": {deep}, ')


def deep_value(marker: str, levels: int = 5000) -> Fault:
    """A value nested deeper than Python's JSON reader follows (it raises RecursionError)."""
    return splice(marker, f'"deep": {"[" * levels}{"]" * levels}, ')


def huge_number(marker: str, digits: int = 5000) -> Fault:
    """A number of ``digits`` digits, more than Python turns into an int (4,300)."""
    return splice(marker, f'"huge": {"9" * digits}, ')


CONTROL_TEXT = "\x1b]0;pwned\x07\x1b[2K\rcadence: sync ok \u202eecilA"


def control_codes(status: int = 400) -> Fault:
    """An error whose text would retitle the terminal, erase the line and print "sync ok" over it."""
    return answer(status, {"errorMessages": [CONTROL_TEXT], "message": CONTROL_TEXT, "errors": {}})


def token_in_field(marker: str, field_name: str) -> Fault:
    """The credential the request carried, echoed into the record after ``marker`` (as ``field_name``,
    which must not be a key the record has later: JSON keeps the last of two) in four encodings:
    plain, percent-encoded, base64 and JSON-escaped (``\\/``)."""

    def text(exchange: Exchange) -> str:
        sent = exchange.request_headers.get("Authorization", "")
        scheme, _, value = sent.partition(" ")
        token = base64.b64decode(value).decode().split(":", 1)[-1] if scheme.lower() == "basic" else value
        forms = [token, quote(token, safe=""), base64.b64encode(token.encode()).decode(), token.replace("/", "\\/")]
        return f'"{field_name}": {json.dumps(" | ".join(forms))}, '

    return splice(marker, text)
