"""A Jira-like HTTP server on 127.0.0.1, for the Jira connector's tests and benchmark.

It answers like Jira Cloud (``deployment="Cloud"``: ``/search/jql`` with ``nextPageToken``, old
``/search`` is 410 Gone, ``/changelog/bulkfetch``) or Server/DC (``/search`` with ``startAt``).
Inline changelogs are truncated as Jira truncates them (40 most recent histories on Cloud, 100 on
Server) and inline comments to ``inline_comments``. It understands just enough JQL for the
connector: ``project = KEY``, ``project in (...)``, ``updated >= "yyyy-MM-dd HH:mm"`` (read in the
user's time zone, as Jira does) and ``ORDER BY updated ASC``. Every request is recorded.

What it refuses or caps, as the real servers do:

- Server/DC has no ``/rest/api/2/issue/{key}/changelog`` and no ``/rest/api/3/changelog/bulkfetch``:
  both answer 404 with Jersey's ``{"message": "null for uri: ...", "status-code": 404}``
  (atlassian-python-api#1396 against Server 9.12.7; jira-azuredevops-migrator#13). There
  ``GET /rest/api/2/issue/{key}?expand=changelog`` returns the whole changelog; on Cloud it
  returns the 100 newest histories (PRODUCT.md, "What the sources never say").
- A Cloud search page holds at most 50 issues with the changelog expanded, 100 without, and up to
  5,000 when only ``id``/``key`` are asked for (PRODUCT.md; Atlassian's OpenAPI spec for
  ``/rest/api/3/search/jql``: "API may return fewer items per page where a large number of fields
  ... are requested. The greatest number of items returned per page is achieved when requesting
  ``id`` or ``key`` only. It returns max 5000 issues."). Jira caps silently: the page is shorter.
- bulkfetch takes 1 to 1,000 issues and ``maxResults`` up to 10,000 (BulkChangelogRequestBean:
  ``issueIdsOrKeys`` maxItems 1000, ``maxResults`` maximum 10000); beyond that it answers 400.

It never imports cadence: the server must not share the code under test.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse
from zoneinfo import ZoneInfo

SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorized: bool
    headers: dict[str, str] = field(default_factory=dict)  # as sent, lower-case names, without Authorization


@dataclass
class JiraData:
    """What the fake site holds. ``issues`` are whole: every history and comment."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    boards: list[dict[str, Any]] = field(default_factory=list)
    sprints: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    configurations: dict[int, dict[str, Any]] = field(default_factory=dict)
    myself: dict[str, Any] = field(default_factory=lambda: {"accountId": "me", "timeZone": "UTC"})
    projects: set[str] = field(default_factory=set)
    # (board id, sprint id) -> the greenhopper Sprint Report body, or a (status, headers, body) answer
    sprint_reports: dict[tuple[int, int], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.projects |= {i["key"].split("-")[0] for i in self.issues}

    def issue(self, key: str) -> dict[str, Any] | None:
        return next((i for i in self.issues if i["key"] == key or str(i.get("id")) == key), None)


class FakeJira:
    """``with FakeJira(data) as jira: ... jira.url ...``; see the module docstring."""

    def __init__(self, data: JiraData, deployment: str = "Cloud", email: str = "me@example.com",
                 token: str = "s3cret-token", pat: str | None = None, inline_histories: int | None = None,
                 inline_comments: int = 50, server_info_status: int = 200, page_limit: int = 100) -> None:
        self.data = data
        self.deployment = deployment
        self.cloud = deployment == "Cloud"
        if pat:
            self.expected_auth = f"Bearer {pat}"
        else:
            self.expected_auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.inline_histories = inline_histories or (40 if self.cloud else 100)
        self.inline_comments = inline_comments
        self.server_info_status = server_info_status
        self.page_limit = page_limit
        self.requests: list[Seen] = []
        self.replay: dict[str, dict[int, Any]] = {}  # path -> startAt -> recorded payload
        self._faults: list[list[Any]] = []  # [path_part, status, headers, pass-first-n]
        self._holds: list[tuple[str, int, threading.Event]] = []
        self._lock = threading.Lock()
        self._order: list[dict[str, Any]] | None = None
        self._newest: dict[str, list[dict[str, Any]]] = {}  # key -> histories, newest first
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeJira":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for _, _, gate in self._holds:
            gate.set()
        self._server.shutdown()
        self._server.server_close()

    # -- test controls ------------------------------------------------------------------
    def fail(self, path_part: str, statuses: list[int], headers: dict[str, str] | None = None, after: int = 0) -> None:
        """Requests whose path contains ``path_part`` answer these statuses in turn, once ``after``
        such requests have been answered normally."""
        with self._lock:
            self._faults += [[path_part, s, headers or {}, after] for s in statuses]

    def hold(self, path_part: str, nth: int) -> threading.Event:
        """Block the ``nth`` (1-based) request matching ``path_part`` until the event is set."""
        gate = threading.Event()
        self._holds.append((path_part, nth, gate))
        return gate

    def changed(self) -> None:
        """Call after editing ``data.issues`` so searches see the new order."""
        self._order = None

    def seen(self, path_part: str, method: str | None = None) -> list[Seen]:
        return [r for r in self.requests if path_part in r.path and (method is None or r.method == method)]

    # -- answering ----------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict[str, str], body: Any, auth: str | None,
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        authorized = auth == self.expected_auth
        with self._lock:
            self.requests.append(Seen(method, path, query, body, authorized, headers or {}))
            fault = next((f for f in self._faults if f[0] in path), None)
            if fault and fault[3] > 0:
                for f in self._faults:
                    f[3] -= int(f[0] in path)
                fault = None
            elif fault:
                self._faults.remove(fault)
        for part, nth, gate in self._holds:
            if part in path and sum(1 for r in self.requests if part in r.path) == nth:
                gate.wait(120)
        if fault:
            return fault[1], fault[2], {"errorMessages": [f"injected {fault[1]}"], "errors": {}}
        if path.endswith("/serverInfo"):
            if self.server_info_status != 200:
                return self.server_info_status, {}, {"errorMessages": ["You do not have permission"]}
            return 200, {}, {"baseUrl": self.url, "deploymentType": self.deployment, "version": "1001.0.0"}
        if not authorized:
            return 401, {}, "Client must be authenticated to access this resource."
        return self.route(method, path, query, body)

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        start = int(query.get("startAt", 0))
        if path in self.replay:
            return (200, {}, self.replay[path][start]) if start in self.replay[path] else (404, {}, {})
        routes = [
            (r"/rest/api/2/myself", lambda m: self.data.myself),
            (r"/rest/api/2/field", lambda m: self.data.fields),
            (r"/rest/api/2/status", lambda m: self.data.statuses),
            (r"/rest/api/2/search/jql", lambda m: self.search_jql(query) if self.cloud else _missing()),
            (r"/rest/api/2/search", lambda m: self.search(query) if not self.cloud else _gone()),
            (r"/rest/api/3/changelog/bulkfetch",
             lambda m: self.bulkfetch(body) if self.cloud and method == "POST" else _no_resource(path)),
            (r"/rest/api/2/issue/([^/]+)/changelog",
             lambda m: self.issue_list(m[1], "histories", "values", query) if self.cloud else _no_resource(path)),
            (r"/rest/api/2/issue/([^/]+)", lambda m: self.get_issue(m[1], query)),
            (r"/rest/api/2/issue/([^/]+)/comment", lambda m: self.issue_list(m[1], "comments", "comments", query)),
            (r"/rest/agile/1.0/board", lambda m: self.board_list(query)),
            (r"/rest/agile/1.0/board/(\d+)", lambda m: self.board(int(m[1]))),
            (r"/rest/agile/1.0/board/(\d+)/configuration", lambda m: self.configuration(int(m[1]))),
            (r"/rest/agile/1.0/board/(\d+)/sprint", lambda m: self.board_sprints(int(m[1]), query)),
            (r"/rest/greenhopper/1.0/rapid/charts/sprintreport", lambda m: self.sprint_report(query)),
        ]
        for pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match:
                result = handler(match)
                return result if isinstance(result, tuple) else (200, {}, result)
        return _missing()

    # -- search ---------------------------------------------------------------------------
    def newest_first(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        histories = issue.get("changelog", {}).get("histories", [])
        cached = self._newest.get(issue["key"])
        if cached is None or len(cached) != len(histories):
            cached = sorted(histories, key=lambda h: parse_time(h["created"]), reverse=True)
            self._newest[issue["key"]] = cached
        return cached

    def ordered(self) -> list[dict[str, Any]]:
        if self._order is None:
            self._order = sorted(self.data.issues, key=lambda i: (parse_time(i["fields"]["updated"]), i["key"]))
        return self._order

    def matching(self, jql: str) -> list[dict[str, Any]] | tuple[int, dict[str, str], Any]:
        projects = re.findall(r'project\s*=\s*"?([A-Za-z0-9_]+)"?', jql)
        listed = re.search(r"project\s+in\s*\(([^)]*)\)", jql, re.I)
        if listed:
            projects += [p.strip(' "') for p in listed[1].split(",")]
        unknown = [p for p in projects if p not in self.data.projects]
        if unknown:
            return 400, {}, {"errorMessages": [f"The value '{unknown[0]}' does not exist for the field 'project'."], "errors": {}}
        issues = self.ordered()
        if projects:
            issues = [i for i in issues if i["key"].split("-")[0] in projects]
        since = re.search(r'updated\s*>=\s*"(\d{4}-\d\d-\d\d \d\d:\d\d)"', jql)
        if since:
            zone = ZoneInfo(self.data.myself.get("timeZone") or "UTC")
            floor = datetime.strptime(since[1], "%Y-%m-%d %H:%M").replace(tzinfo=zone)
            issues = [i for i in issues if parse_time(i["fields"]["updated"]) >= floor]
        return issues

    def search_jql(self, query: dict[str, str]) -> Any:
        found = self.matching(query.get("jql", ""))
        if isinstance(found, tuple):
            return found
        offset = int(query.get("nextPageToken", "0") or 0)
        size = min(int(query.get("maxResults", 50)), self.page_limit, cloud_search_cap(query))
        page = found[offset:offset + size]
        result: dict[str, Any] = {"issues": [self.shown(i, query) for i in page], "isLast": offset + size >= len(found)}
        if not result["isLast"]:
            result["nextPageToken"] = str(offset + size)
        return result

    def search(self, query: dict[str, str]) -> Any:
        found = self.matching(query.get("jql", ""))
        if isinstance(found, tuple):
            return found
        start = int(query.get("startAt", 0))
        size = min(int(query.get("maxResults", 50)), self.page_limit)
        return {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(found),
                "issues": [self.shown(i, query) for i in found[start:start + size]]}

    def shown(self, issue: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        """An issue as a search returns it: requested fields only, changelog and comments truncated."""
        wanted = [f for f in query.get("fields", "*all").split(",") if f]
        fields = dict(issue["fields"]) if "*all" in wanted else {k: v for k, v in issue["fields"].items() if k in wanted}
        # Only what was asked for: renderedFields, transitions and the like need their own expand.
        shown = {k: v for k, v in issue.items() if k in ("id", "key", "self", "expand")}
        shown["fields"] = fields
        if "comment" in fields:
            comments = issue["fields"]["comment"]["comments"]
            fields["comment"] = {"comments": comments[: self.inline_comments], "maxResults": self.inline_comments,
                                 "total": len(comments), "startAt": 0}
        if "changelog" in query.get("expand", ""):
            # Jira lists the inline changelog newest first and keeps only the most recent ones.
            histories = self.newest_first(issue)
            kept = histories[: self.inline_histories]
            shown["changelog"] = {"startAt": 0, "maxResults": len(kept), "total": len(histories), "histories": kept}
        return shown

    def get_issue(self, ref: str, query: dict[str, str]) -> Any:
        """GET issue: the fields asked for; with ``expand=changelog`` the whole changelog on Server,
        the 100 newest histories on Cloud."""
        issue = self.data.issue(ref)
        if issue is None:
            return 404, {}, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
        wanted = [f for f in query.get("fields", "*all").split(",") if f]
        fields = dict(issue["fields"]) if "*all" in wanted else {k: v for k, v in issue["fields"].items() if k in wanted}
        shown = {**{k: v for k, v in issue.items() if k in ("id", "key", "self")}, "fields": fields}
        if "changelog" in query.get("expand", ""):
            histories = self.newest_first(issue)
            kept = histories[:100] if self.cloud else histories
            shown["changelog"] = {"startAt": 0, "maxResults": len(kept), "total": len(histories), "histories": kept}
        return shown

    def bulkfetch(self, body: dict[str, Any]) -> Any:
        wanted = body.get("issueIdsOrKeys") or []
        if not wanted or len(wanted) > 1000:
            return 400, {}, {"errorMessages": ["issueIdsOrKeys must hold 1 to 1000 issues"]}
        if not 1 <= int(body.get("maxResults") or 1000) <= 10_000:
            return 400, {}, {"errorMessages": ["maxResults must be between 1 and 10000"]}
        offset = int(body.get("nextPageToken") or 0)
        size = int(body.get("maxResults") or 1000)
        flat = []
        # One index a request: a scan per wanted issue made a 1,000-issue request cost seconds.
        index = {ref: i for i in self.data.issues for ref in (i["key"], str(i.get("id")))}
        for ref in wanted:
            issue = index.get(str(ref))
            if issue:
                flat += [(str(issue["id"]), h) for h in issue.get("changelog", {}).get("histories", [])]
        logs = []
        for issue_id, group in itertools.groupby(flat[offset:offset + size], key=lambda pair: pair[0]):
            logs.append({"issueId": issue_id, "changeHistories": [h for _, h in group]})
        result: dict[str, Any] = {"issueChangeLogs": logs}
        if offset + size < len(flat):
            result["nextPageToken"] = str(offset + size)
        return result

    def issue_list(self, ref: str, inner: str, outer: str, query: dict[str, str]) -> Any:
        issue = self.data.issue(ref)
        if issue is None:
            return 404, {}, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
        entries = issue.get("changelog", {}).get("histories", []) if inner == "histories" else issue["fields"]["comment"]["comments"]
        start, size = int(query.get("startAt", 0)), min(int(query.get("maxResults", 50)), self.page_limit)
        page = {"startAt": start, "maxResults": size, "total": len(entries), outer: entries[start:start + size]}
        if inner == "histories":  # PageBeanChangelog has isLast; PageOfComments does not
            page["isLast"] = start + size >= len(entries)
        return page

    # -- agile ----------------------------------------------------------------------------
    def _page(self, values: list[Any], query: dict[str, str]) -> dict[str, Any]:
        start, size = int(query.get("startAt", 0)), min(int(query.get("maxResults", 50)), self.page_limit)
        return {"maxResults": size, "startAt": start, "total": len(values), "isLast": start + size >= len(values),
                "values": values[start:start + size]}

    def board_list(self, query: dict[str, str]) -> Any:
        project = query.get("projectKeyOrId")
        if project and project not in self.data.projects:
            return 400, {}, {"errorMessages": [f"No project could be found with key '{project}'."]}
        boards = [b for b in self.data.boards if not project or b.get("location", {}).get("projectKey") == project]
        return self._page(boards, query)

    def board(self, board_id: int) -> Any:
        board = next((b for b in self.data.boards if b["id"] == board_id), None)
        return board if board else (404, {}, {"errorMessages": [f"The board {board_id} does not exist."]})

    def configuration(self, board_id: int) -> Any:
        return self.data.configurations.get(board_id) or (404, {}, {"errorMessages": ["no configuration"]})

    def board_sprints(self, board_id: int, query: dict[str, str]) -> Any:
        states = query.get("state", "future,active,closed").split(",")
        sprints = [s for s in self.data.sprints.get(board_id, []) if s.get("state") in states]
        return self._page(sprints, query)

    def sprint_report(self, query: dict[str, str]) -> Any:
        """Jira's Sprint Report (undocumented; what the Sprint Report page calls): the body set in
        ``data.sprint_reports``. A sprint without one is unknown to this site: 404."""
        board, sprint = query.get("rapidViewId", ""), query.get("sprintId", "")
        if not (board.isdigit() and sprint.isdigit()):
            return 400, {}, {"errorMessages": ["rapidViewId and sprintId are required"]}
        found = self.data.sprint_reports.get((int(board), int(sprint)))
        if found is None:
            return 404, {}, {"errorMessages": [f"Could not find sprint with id {sprint}"]}
        return found


def cloud_search_cap(query: dict[str, str]) -> int:
    """Issues a Cloud search page holds at most (see the module docstring)."""
    fields = {f.strip() for f in query.get("fields", "").split(",") if f.strip()}
    if fields and fields <= {"id", "key"} and "changelog" not in query.get("expand", ""):
        return 5000
    return 50 if "changelog" in query.get("expand", "") else 100


def _missing() -> tuple[int, dict[str, str], Any]:
    return 404, {}, {"errorMessages": ["Not found"]}


def _no_resource(path: str) -> tuple[int, dict[str, str], Any]:
    # What Server/DC's REST layer (Jersey) answers for a resource it does not have.
    return 404, {}, {"message": f"null for uri: {path}", "status-code": 404}


def _gone() -> tuple[int, dict[str, str], Any]:
    # Cloud retired GET /rest/api/2/search: it answers 410 and points at /search/jql.
    return 410, {}, {"errorMessages": ["The requested API has been removed. Please migrate to /rest/api/3/search/jql."]}


def _handler(jira: FakeJira) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms ACK stalls

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            sent = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
            status, headers, payload = jira.answer(method, parsed.path, dict(parse_qsl(parsed.query)), body,
                                                   self.headers.get("Authorization"), sent)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            kind = headers.get("Content-Type") or ("text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
