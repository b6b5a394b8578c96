"""Fetching from Jira Cloud, Server and Data Center. Fetch only: returns and yields raw dicts.

Built on httpx through ``cadence.sources.http.Http`` rather than the pycontribs ``jira`` package,
because the sync needs things that package does not give: ``/search/jql`` paging with
``nextPageToken`` (Cloud's old ``/search`` answers 410 Gone), ``POST /rest/api/3/changelog/bulkfetch``
for many issues per request, bounded parallel requests, and an exact count of requests sent.

Vendor behaviour this module relies on:

- The changelog inline in a search is truncated: Cloud keeps the 40 most recent histories, Server
  100. When ``changelog.total`` exceeds what came back we fetch the rest (``complete``): with
  bulkfetch on Cloud, with the paged ``/issue/{key}/changelog`` elsewhere.
- The inline ``comment`` field is paged the same way (``total`` vs ``comments``).
- ``/serverInfo`` may answer 403 (jira-agile-metrics #14/#16), so it is a hint, never required.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Mapping
from urllib.parse import urlparse

from cadence.errors import SourceError
from cadence.sources.http import Http, HttpError, RetryPolicy

log = logging.getLogger(__name__)

CLOUD, SERVER = "cloud", "server"
SEARCH_PAGE = 100  # what Jira allows per search page with a changelog expanded
PAGE = 100  # comments, changelog pages, sprints, boards
BULK_ISSUES = 1000  # BulkChangelogRequestBean.issueIdsOrKeys maxItems
BULK_HISTORIES = 10_000  # BulkChangelogRequestBean.maxResults maximum; Jira may send fewer and a nextPageToken


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


class JiraSource:
    """One Jira site. ``kind`` is ``cloud`` or ``server`` once ``detect()`` has run."""

    def __init__(self, url: str, env: Mapping[str, str], policy: RetryPolicy | None = None, workers: int = 4):
        self.url = url.rstrip("/")
        self.http = Http(self.url, policy=policy, max_connections=workers + 2, **auth_from_env(env))
        self.kind: str | None = None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jira")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.http.close()

    def __enter__(self) -> "JiraSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def requests(self) -> int:
        return self.http.stats.requests

    # -- the site ---------------------------------------------------------------------------
    def detect(self) -> str:
        """Cloud or Server: ``serverInfo.deploymentType``, else the host name, else which search answers."""
        try:
            info = self.http.get_json("/rest/api/2/serverInfo")
            kind = str(info.get("deploymentType") or "").lower() if isinstance(info, dict) else ""
            if kind:
                self.kind = CLOUD if kind == "cloud" else SERVER
                return self.kind
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
        return self.http.get_json("/rest/api/2/myself")

    def fields(self) -> list[dict[str, Any]]:
        return self.http.get_json("/rest/api/2/field")

    def statuses(self) -> list[dict[str, Any]]:
        return self.http.get_json("/rest/api/2/status")

    # -- the Agile API ----------------------------------------------------------------------
    def _values(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every entry of an Agile-style list (``values``, ``startAt``, ``isLast``)."""
        start = 0
        while True:
            data = self.http.get_json(path, params={**(params or {}), "startAt": start, "maxResults": PAGE})
            values = data.get("values") or []
            yield from values
            start += len(values)
            if data.get("isLast", True) or not values or (data.get("total") is not None and start >= data["total"]):
                return

    def boards(self, project: str) -> list[dict[str, Any]]:
        return list(self._values("/rest/agile/1.0/board", {"projectKeyOrId": project}))

    def board(self, board_id: int | str) -> dict[str, Any]:
        return self.http.get_json(f"/rest/agile/1.0/board/{board_id}")

    def board_configuration(self, board_id: int | str) -> dict[str, Any]:
        return self.http.get_json(f"/rest/agile/1.0/board/{board_id}/configuration")

    def sprints(self, board_id: int | str) -> list[dict[str, Any]]:
        """All of a board's sprints, future, active and closed (a state changes with no issue updated)."""
        return list(self._values(f"/rest/agile/1.0/board/{board_id}/sprint", {"state": "future,active,closed"}))

    def map(self, fn: Any, args: list[Any]) -> list[Any]:
        """``fn`` over ``args`` with bounded parallelism, results in order."""
        return list(self._pool.map(fn, args))

    # -- issues ----------------------------------------------------------------------------
    def search(self, jql: str, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        """Pages of issues (each with its inline, maybe truncated, changelog), in the JQL's order."""
        params = {"jql": jql, "fields": ",".join(fields), "expand": "changelog", "maxResults": SEARCH_PAGE}
        if self.kind == CLOUD:
            yield from self._search_cloud(params)
        else:
            yield from self._search_server(params)

    def _search_cloud(self, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        token = None
        while True:
            page = {**params, **({"nextPageToken": token} if token else {})}
            data = self.http.get_json("/rest/api/2/search/jql", params=page)
            issues = data.get("issues") or []
            if issues:
                yield issues
            token = data.get("nextPageToken")
            if data.get("isLast", not token) or not token or not issues:
                return

    def _search_server(self, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        start = 0
        while True:
            data = self.http.get_json("/rest/api/2/search", params={**params, "startAt": start})
            issues = data.get("issues") or []
            if issues:
                yield issues
            start += len(issues)
            if not issues or start >= int(data.get("total") or 0):
                return

    def whole_pages(self, jql: str, fields: list[str], group_pages: int = 10) -> Iterator[list[dict[str, Any]]]:
        """Search pages with every changelog history and comment filled in, in the JQL's order.

        On Cloud, pages with truncated changelogs are held back (up to ``group_pages`` pages) so one
        bulkfetch serves several pages: a 30-history average then costs ~1 extra request per 1,000
        issues instead of one per page. A page with nothing truncated goes out at once.
        """
        held: list[list[dict[str, Any]]] = []
        short = 0
        for page in self.search(jql, fields):
            page_short = sum(1 for i in page if _short(i.get("changelog"), "histories"))
            if self.kind != CLOUD or (not held and not page_short):
                yield self.complete(page)
                continue
            held.append(page)
            short += page_short
            if len(held) >= group_pages or short >= BULK_ISSUES // 2:
                yield from self._release(held)
                held, short = [], 0
        yield from self._release(held)

    def _release(self, held: list[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        if held:
            self.complete([issue for page in held for issue in page])
        yield from held

    def complete(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The same issues, with every changelog history and every comment fetched.

        Truncated changelogs come whole from bulkfetch (Cloud, many issues per request) or the
        paged per-issue endpoint (Server/DC, in parallel); truncated comment lists likewise.
        """
        short_log = [i for i in issues if _short(i.get("changelog"), "histories")]
        if short_log and self.kind == CLOUD:
            histories = self.bulk_changelogs([str(i["id"]) for i in short_log])
            for issue in short_log:
                _replace(issue["changelog"], "histories", histories.get(str(issue["id"]), []))
        elif short_log:
            for issue, found in zip(short_log, self.map(self.changelog, [i["key"] for i in short_log])):
                _replace(issue["changelog"], "histories", found)
        short_comments = [i for i in issues if _short((i.get("fields") or {}).get("comment"), "comments")]
        for issue, found in zip(short_comments, self.map(self.comments, [i["key"] for i in short_comments])):
            _replace(issue["fields"]["comment"], "comments", found)
        return issues

    def bulk_changelogs(self, issue_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Complete changelogs of many issues, by issue id: ``POST /rest/api/3/changelog/bulkfetch``."""
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(issue_ids), BULK_ISSUES):
            body: dict[str, Any] = {"issueIdsOrKeys": issue_ids[start:start + BULK_ISSUES], "maxResults": BULK_HISTORIES}
            while True:
                data = self.http.post_json("/rest/api/3/changelog/bulkfetch", body)
                for log_entry in data.get("issueChangeLogs") or []:
                    found.setdefault(str(log_entry.get("issueId")), []).extend(log_entry.get("changeHistories") or [])
                if not data.get("nextPageToken"):
                    break
                body = {**body, "nextPageToken": data["nextPageToken"]}
        return found

    def changelog(self, key: str) -> list[dict[str, Any]]:
        """Every history of one issue, from the paged ``/issue/{key}/changelog``."""
        return self._offset_pages(f"/rest/api/2/issue/{key}/changelog", "values")

    def comments(self, key: str) -> list[dict[str, Any]]:
        """Every comment of one issue, oldest first."""
        return self._offset_pages(f"/rest/api/2/issue/{key}/comment", "comments", {"orderBy": "created"})

    def _offset_pages(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            data = self.http.get_json(path, params={**(params or {}), "startAt": len(found), "maxResults": PAGE})
            values = data.get(key) or []
            found += values
            if not values or data.get("isLast") or len(found) >= int(data.get("total") or 0):
                return found


def _short(container: Any, key: str) -> bool:
    """True when a paged inline list (changelog, comments) holds fewer entries than its total."""
    if not isinstance(container, dict):
        return False
    return int(container.get("total") or 0) > len(container.get(key) or [])


def _replace(container: dict[str, Any], key: str, fetched: list[dict[str, Any]]) -> None:
    """Merge fetched entries with the inline ones by id, so the list is whole and has no repeats."""
    merged = {str(e.get("id")): e for e in fetched}
    for entry in container.get(key) or []:
        merged.setdefault(str(entry.get("id")), entry)
    container[key] = list(merged.values())
    container["startAt"], container["maxResults"] = 0, len(merged)
