"""Fetching from Jira Cloud, Server and Data Center. Fetch only: returns and yields raw dicts.

Built on httpx through ``cadence.sources.http.Http`` rather than the pycontribs ``jira`` package,
because the sync needs things that package does not give: ``/search/jql`` paging with
``nextPageToken`` (Cloud's old ``/search`` answers 410 Gone), ``POST /rest/api/3/changelog/bulkfetch``
for many issues per request, bounded parallel requests, and an exact count of requests sent.
A configured ``jira.JIRA`` client can still be handed in (``client=``): its session then carries
every request (see cadence/sources/session_transport.py).

Vendor behaviour this module relies on (PRODUCT.md, "What the sources never say"):

- Cloud truncates the changelog inline in a search to the 40 newest histories, Server to 100.
  When ``changelog.total`` exceeds what came back, the rest is fetched (``complete``): on Cloud
  with bulkfetch (up to 1,000 issues and 10,000 histories a request, BulkChangelogRequestBean in
  Atlassian's OpenAPI spec); on Server/DC, which has neither bulkfetch nor ``/issue/{key}/changelog``
  (both 404: atlassian-python-api#1396, jira-azuredevops-migrator#13), with
  ``GET /rest/api/2/issue/{key}?expand=changelog``, which there returns the whole changelog.
- A Cloud search page holds at most 50 issues when the changelog is expanded and 100 without it
  (the OpenAPI spec's ``maxResults``: "API may return fewer items per page where a large number of
  fields ... are requested"); the connector follows ``nextPageToken`` whatever came back.
- The Cloud plan, at its request floor: search pages of 100 issues without the changelog, and every
  changelog from bulkfetch, for as many issues a request as fill about 10,000 histories (the
  first page's changelogs tell how long the histories are). 30 histories an issue then cost
  10 search + ~3.3 bulkfetch requests per 1,000 issues, against 20 + ~1 with the changelog
  expanded inline. An issue bulkfetch says nothing of has no histories; one whose histories
  could not be read is marked ``CHANGELOG_UNKNOWN``.
- The inline ``comment`` field is paged the same way (``total`` vs ``comments``).
- ``/serverInfo`` may answer 403 (jira-agile-metrics #14/#16), so it is a hint, never required.
- A 200 may carry an error object (``errorMessages``); that is an error, not an empty answer.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Mapping
from urllib.parse import urlparse

from cadence.errors import SourceError
from cadence.records import CHANGELOG_UNKNOWN
from cadence.sources import paging
from cadence.sources.http import Http, HttpError, RetryPolicy, ShapeError, UnreadableBody, error_messages
from cadence.sources.paging import Notes, Pages
from cadence.text import SECRETS

log = SECRETS.guard(logging.getLogger(__name__))

CLOUD, SERVER = "cloud", "server"
CLOUD_SEARCH_PAGE = 100  # Cloud's cap per search page without the changelog (50 with it)
SERVER_SEARCH_PAGE = 100
PAGE = 100  # comments, sprints, boards
BULK_ISSUES = 1000  # BulkChangelogRequestBean.issueIdsOrKeys maxItems
BULK_HISTORIES = 10_000  # BulkChangelogRequestBean.maxResults maximum; Jira may send fewer and a nextPageToken
UNREADABLE = "_cadence_unreadable"  # marks the stand-in for an issue whose JSON cannot be read


def auth_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """``Http`` keyword arguments for the credentials in the environment.

    ``JIRA_EMAIL`` + ``JIRA_API_TOKEN`` (Cloud, basic auth) win over ``JIRA_PAT`` (Server/DC bearer).
    """
    email, token, pat = env.get("JIRA_EMAIL"), env.get("JIRA_API_TOKEN"), env.get("JIRA_PAT")
    if email and token:
        return {"auth": (email, token)}
    if pat:
        return {"headers": {"Authorization": f"Bearer {pat}"}}
    raise SourceError(
        "no Jira credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Server/Data Center)"
    )


def credential_names(env: Mapping[str, str]) -> str:
    return "JIRA_EMAIL and JIRA_API_TOKEN" if env.get("JIRA_EMAIL") and env.get("JIRA_API_TOKEN") else "JIRA_PAT"


def jira_object(data: Any, what: str, needs: str | None = None, kind: type = dict) -> Any:
    """``data`` when it has the shape ``what`` returns; a ``ShapeError`` naming what came instead."""
    if isinstance(data, dict) and data.get("errorMessages") and (needs is None or needs not in data):
        raise ShapeError(f"{what} answered 200 with an error: {error_messages(data)}", status=200, body=data)
    if not isinstance(data, kind) or (needs is not None and not isinstance(data.get(needs), list)):
        got = _shape(data) if not isinstance(data, kind) else f"an object without a {needs} list"
        raise ShapeError(f"{what} answered 200 with {got} where {_shape(kind())} belongs", status=200)
    return data


class JiraSource:
    """One Jira site. ``kind`` is ``cloud`` or ``server`` once ``detect()`` has run.

    ``notes`` collects what the site said that did not add up (cadence.sources.paging).
    """

    def __init__(self, url: str, env: Mapping[str, str], policy: RetryPolicy | None = None, workers: int = 4,
                 client: Any = None):
        self.url = url.rstrip("/")
        if client is not None:
            from cadence.sources.session_transport import SessionTransport, session_of

            session, server = session_of(client)
            self.http = Http(self.url, policy=policy, transport=SessionTransport(session, server))
        else:
            self.http = Http(self.url, policy=policy, max_connections=workers + 2, **auth_from_env(env))
        self.kind: str | None = None
        self.notes = Notes()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jira")

    def close(self, wait: bool = True) -> None:
        # Interrupted (Ctrl-C, SIGTERM): in-flight requests are abandoned, not waited for.
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        self.http.close()

    def __enter__(self) -> "JiraSource":
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        self.close(wait=kind is None or issubclass(kind, Exception))

    @property
    def requests(self) -> int:
        return self.http.stats.requests

    def _get(self, path: str, needs: str | None = None, kind: type = dict, **kwargs: Any) -> Any:
        return jira_object(self.http.get_json(path, **kwargs), f"GET {path}", needs, kind)

    # -- the site ---------------------------------------------------------------------------
    def detect(self) -> str:
        """Cloud or Server: ``serverInfo.deploymentType``, else the host name, else which search answers."""
        try:
            info = self.http.get_json("/rest/api/2/serverInfo")
            kind = str(info.get("deploymentType") or "").lower() if isinstance(info, dict) else ""
            if kind:
                self.kind = CLOUD if kind == "cloud" else SERVER
                return self.kind
        except UnreadableBody:
            pass
        except HttpError as exc:
            if exc.status is None or exc.status == 401:
                raise
            log.info("serverInfo answered %s; telling Cloud from Server another way", exc.status)
        host = urlparse(self.url).hostname or ""
        if host.endswith((".atlassian.net", ".jira.com")):
            self.kind = CLOUD
            return self.kind
        try:
            self.http.get_json("/rest/api/2/search/jql", params={"jql": "created IS NOT EMPTY", "maxResults": 1, "fields": "id"})
            self.kind = CLOUD
        except HttpError as exc:
            if exc.status not in (404, 405):
                raise
            self.kind = SERVER
        return self.kind

    def myself(self) -> dict[str, Any]:
        return self._get("/rest/api/2/myself")

    def fields(self) -> list[dict[str, Any]]:
        return self._get("/rest/api/2/field", kind=list)

    def statuses(self) -> list[dict[str, Any]]:
        return self._get("/rest/api/2/status", kind=list)

    # -- the Agile API ----------------------------------------------------------------------
    def _values(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every entry of an Agile-style list (``values``, ``startAt``, ``isLast``), as it came."""
        pages, start = Pages(self.notes, "listing", path), 0
        while True:
            data = self._get(path, "values", params={**(params or {}), "startAt": start, "maxResults": PAGE})
            values = data["values"]
            yield from values
            start += len(values)
            ids = [v.get("id") if isinstance(v, dict) else repr(v) for v in values]
            if not pages.page(ids, more=paging.offset_more(data, len(values), PAGE, start)):
                return paging.note_total(self.notes, "listing", path, data.get("total"), start)

    def boards(self, project: str) -> list[dict[str, Any]]:
        """The project's boards that have an id; any other entry is noted."""
        found = []
        for board in self._values("/rest/agile/1.0/board", {"projectKeyOrId": project}):
            if isinstance(board, dict) and board.get("id") is not None:
                found.append(board)
            else:
                self.notes.add("project", project, paging.MALFORMED, f"a board without an id: {str(board)[:100]}")
        return found

    def board(self, board_id: int | str) -> dict[str, Any]:
        return self._get(f"/rest/agile/1.0/board/{board_id}")

    def board_configuration(self, board_id: int | str) -> dict[str, Any]:
        return self._get(f"/rest/agile/1.0/board/{board_id}/configuration")

    def sprints(self, board_id: int | str) -> list[dict[str, Any]]:
        """All of a board's sprints, future, active and closed (a state changes with no issue updated)."""
        return list(self._values(f"/rest/agile/1.0/board/{board_id}/sprint", {"state": "future,active,closed"}))

    def map(self, fn: Any, args: list[Any]) -> list[Any]:
        """``fn`` over ``args`` with bounded parallelism, results in order."""
        return list(self._pool.map(fn, args))

    # -- issues ----------------------------------------------------------------------------
    def search(self, jql: str, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        """Pages of issues in the JQL's order; on Server/DC each with its inline, maybe truncated,
        changelog (Cloud's come from bulkfetch, ``whole_pages``).

        An issue whose JSON cannot be read comes as a stand-in with its id, key and the text
        that came (``UNREADABLE``): the page it was on is asked for again in halves until only it is left.
        """
        params = {"jql": jql, "fields": ",".join(fields)}
        if self.kind != CLOUD:
            params["expand"] = "changelog"
        pages = Pages(self.notes, "search", jql)
        cloud, start, token, seen = self.kind == CLOUD, 0, None, 0
        while True:
            data = self._page(params, token if cloud else start, CLOUD_SEARCH_PAGE if cloud else SERVER_SEARCH_PAGE)
            issues = data["issues"]
            seen += len(issues)
            if issues:
                yield issues
            if cloud:
                token, more = data.get("nextPageToken"), self._cloud_more(data, jql)
            else:
                start, more = seen, paging.offset_more(data, len(issues), SERVER_SEARCH_PAGE, seen)
            if not pages.page([_issue_id(i) for i in issues], token if cloud else None, more):
                return paging.note_total(self.notes, "search", jql, data.get("total"), seen)

    def _cloud_more(self, data: dict[str, Any], jql: str) -> bool:
        """``/search/jql`` pages by ``nextPageToken``; ``isLast`` wins when the two disagree."""
        token, last = data.get("nextPageToken"), data.get("isLast")
        if isinstance(last, bool) and last != (not token):
            self.notes.add("search", jql, paging.PAGING_DISAGREES, f"isLast was {last} with "
                           f"{'a' if token else 'no'} nextPageToken", stopped=not last)
        return bool(token) and last is not True

    def _page(self, params: dict[str, Any], at: Any, size: int) -> dict[str, Any]:
        """One search page of ``size`` issues from ``at`` (a token on Cloud, an offset on Server)."""
        cloud = self.kind == CLOUD
        path = "/rest/api/2/search/jql" if cloud else "/rest/api/2/search"
        place = ({"nextPageToken": at} if at else {}) if cloud else {"startAt": at}
        try:
            return self._get(path, "issues", params={**params, **place, "maxResults": size})
        except UnreadableBody as exc:
            if size > 1:
                return self._halves(params, at, size)
            # One issue nobody can read: ask again for its id and key only, to keep those and move on.
            data = self._get(path, "issues", params={**params, **place, "maxResults": 1, "fields": "id", "expand": ""})
            data["issues"] = [{"id": _issue_id(i), "key": (i or {}).get("key") if isinstance(i, dict) else None,
                               UNREADABLE: str(exc), "text": exc.text[:1_000_000]} for i in data["issues"][:1]]
            return data

    def _halves(self, params: dict[str, Any], at: Any, size: int) -> dict[str, Any]:
        first = self._page(params, at, size // 2)
        if self.kind == CLOUD:
            if not self._cloud_more(first, params["jql"]):
                return first
            second = self._page(params, first.get("nextPageToken"), size - size // 2)
        else:
            if len(first["issues"]) < size // 2:
                return first
            second = self._page(params, at + len(first["issues"]), size - size // 2)
        return {**second, "issues": first["issues"] + second["issues"]}

    def whole_pages(self, jql: str, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        """Search pages with every changelog history and comment filled in, in the JQL's order.

        On Cloud, pages are held back until their issues' histories fill about one bulkfetch
        request (``BULK_HISTORIES``, at most ``BULK_ISSUES`` issues); the first page goes out alone,
        and its changelogs tell how many issues that is.
        """
        if self.kind != CLOUD:
            for page in self.search(jql, fields):
                yield self.complete(page)
            return
        held: list[list[dict[str, Any]]] = []
        issues = histories = 0
        for page in self.search(jql, fields):
            held.append(page)
            waiting = sum(len(p) for p in held)
            if waiting >= self._group(issues, histories):
                histories += self._bulk_complete([issue for p in held for issue in p])
                issues += waiting
                yield from held
                held = []
        if held:
            self._bulk_complete([issue for p in held for issue in p])
            yield from held

    @staticmethod
    def _group(issues: int, histories: int) -> int:
        """Issues whose changelogs one bulkfetch request holds, judged from those fetched so far."""
        if not issues:
            return 1
        per_issue = max(histories / issues, 1.0)
        return max(1, min(BULK_ISSUES, int(0.9 * BULK_HISTORIES / per_issue)))

    def _bulk_complete(self, issues: list[dict[str, Any]]) -> int:
        """Cloud: every changelog from bulkfetch, then the comments; returns the histories fetched."""
        wanted = [_issue_id(i) for i in issues if isinstance(i, dict) and _issue_id(i) and UNREADABLE not in i]
        found, unknown = self.bulk_changelogs(wanted) if wanted else ({}, {})
        for issue in issues:
            issue_id = _issue_id(issue)
            if not isinstance(issue, dict) or not issue_id or UNREADABLE in issue:
                continue
            got = found.get(issue_id, [])
            issue["changelog"] = {"startAt": 0, "maxResults": len(got), "total": len(got), "histories": got}
            if issue_id in unknown:
                issue["changelog"][CHANGELOG_UNKNOWN] = unknown[issue_id]
        self._complete_comments(issues)
        return sum(len(v) for v in found.values())

    def complete(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Server/DC: the same issues, with every changelog history and every comment fetched.

        Truncated changelogs come whole from GET issue with the changelog expanded (in parallel);
        truncated comment lists likewise. An issue whose extra histories or comments cannot be read
        keeps what came inline, and is noted. (Cloud's changelogs come from ``_bulk_complete``.)
        """
        short_log = [i for i in issues if _short(_at(i, "changelog"), "histories") and _issue_id(i)]
        for issue, found in zip(short_log, self.map(self._readable(self.whole_changelog), short_log)):
            _replace(issue["changelog"], "histories", found)
        return self._complete_comments(issues)

    def _complete_comments(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        short_comments = [i for i in issues if _short(_at(_at(i, "fields"), "comment"), "comments") and _issue_id(i)]
        for issue, found in zip(short_comments, self.map(self._readable(self.comments), short_comments)):
            _replace(issue["fields"]["comment"], "comments", found)
        return issues

    def _readable(self, fetch: Any) -> Any:
        def fetch_or_note(issue: dict[str, Any]) -> list[dict[str, Any]]:
            try:
                return fetch(issue.get("key") or _issue_id(issue))
            except UnreadableBody as exc:
                self.notes.add("issue", issue.get("key") or _issue_id(issue), paging.UNREADABLE, str(exc))
                return []
        return fetch_or_note

    def bulk_changelogs(self, issue_ids: list[str]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
        """Complete changelogs of many issues, by issue id: ``POST /rest/api/3/changelog/bulkfetch``;
        and the issues whose changelog could not be read, with why.

        A body that cannot be read is asked for again for half the issues, down to one issue,
        which is then noted and returned among the unknown.
        """
        found: dict[str, list[dict[str, Any]]] = {}
        unknown: dict[str, str] = {}
        for start in range(0, len(issue_ids), BULK_ISSUES):
            group = issue_ids[start:start + BULK_ISSUES]
            try:
                for issue_id, histories in self._bulk(group).items():  # merged only once the group is whole
                    found.setdefault(issue_id, []).extend(histories)
            except UnreadableBody as exc:
                if len(group) == 1:
                    self.notes.add("issue", group[0], paging.UNREADABLE, str(exc))
                    unknown[group[0]] = str(exc)
                    continue
                for half in (group[: len(group) // 2], group[len(group) // 2:]):
                    more, lost = self.bulk_changelogs(half)
                    unknown.update(lost)
                    for issue_id, histories in more.items():
                        found.setdefault(issue_id, []).extend(histories)
        return found, unknown

    def _bulk(self, group: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        body: dict[str, Any] = {"issueIdsOrKeys": group, "maxResults": BULK_HISTORIES}
        pages = Pages(self.notes, "changelog", f"bulkfetch of {len(group)} issues from {group[0]}")
        while True:
            data = jira_object(self.http.post_json("/rest/api/3/changelog/bulkfetch", body),
                               "POST /rest/api/3/changelog/bulkfetch", "issueChangeLogs")
            ids = []
            for entry in data["issueChangeLogs"]:
                histories = _at(entry, "changeHistories")
                if isinstance(histories, list):
                    found.setdefault(str(entry.get("issueId")), []).extend(h for h in histories if isinstance(h, dict))
                    ids += [f"{entry.get('issueId')}:{_at(h, 'id')}" for h in histories]
            token = data.get("nextPageToken")
            if not pages.page(ids, token, more=bool(token)):
                return found
            body = {**body, "nextPageToken": token}

    def whole_changelog(self, key: str) -> list[dict[str, Any]]:
        """Every history of one issue: Server/DC's GET issue with the changelog expanded (no paging there)."""
        data = self._get(f"/rest/api/2/issue/{key}", params={"expand": "changelog", "fields": "updated"})
        histories = _at(_at(data, "changelog"), "histories")
        return [h for h in histories if isinstance(h, dict)] if isinstance(histories, list) else []

    def comments(self, key: str) -> list[dict[str, Any]]:
        """Every comment of one issue, oldest first (``PageOfComments``: ``startAt``, ``total``, no ``isLast``)."""
        path = f"/rest/api/2/issue/{key}/comment"
        found: list[dict[str, Any]] = []
        pages = Pages(self.notes, "comments", key)
        while True:
            data = self._get(path, "comments", params={"orderBy": "created", "startAt": len(found), "maxResults": PAGE})
            values = [c for c in data["comments"] if isinstance(c, dict)]
            found += values
            if not pages.page([c.get("id") for c in values], more=paging.offset_more(data, len(values), PAGE, len(found))):
                return found


def _shape(value: Any) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    for kind, word in ((bool, "true or false"), (dict, "an object"), (list, "a list"), (str, "a string")):
        if isinstance(value, kind):
            return word
    return "a number"


def _at(container: Any, key: str) -> Any:
    return container.get(key) if isinstance(container, dict) else None


def _issue_id(issue: Any) -> str | None:
    value = _at(issue, "id")
    return str(value) if value is not None else None


def _short(container: Any, key: str) -> bool:
    """True when a paged inline list (changelog, comments) holds fewer entries than its total."""
    if not isinstance(container, dict):
        return False
    entries = container.get(key)
    return (paging.count(container.get("total")) or 0) > (len(entries) if isinstance(entries, list) else 0)


def _replace(container: dict[str, Any], key: str, fetched: list[dict[str, Any]]) -> None:
    """Merge fetched entries with the inline ones by id, so the list is whole and has no repeats."""
    merged = {str(e.get("id")): e for e in fetched if isinstance(e, dict)}
    inline = container.get(key)
    for entry in inline if isinstance(inline, list) else []:
        merged.setdefault(str(_at(entry, "id")), entry)
    container[key] = list(merged.values())
    container["startAt"], container["maxResults"] = 0, len(merged)
