"""Fetching from GitHub's GraphQL API: issues and pull requests with their timelines, milestones,
and Projects v2 iterations. It yields raw dicts and never touches the warehouse.

It speaks plain httpx through ``cadence.sources.http.Http`` rather than githubkit: githubkit fails
to import beside hishel 2 (which this environment has), and ``Http`` already gives retries,
``Retry-After``, 5xx backoff and request counting.

Where it points: the GraphQL endpoint is ``{api_url}/graphql``, except that a GitHub Enterprise
Server REST root ``https://host/api/v3`` maps to ``https://host/api/graphql``, where GHES serves it.

What it does not take on trust: every connection's shape is checked (a wrong one is a one-line
``SourceError``), an ``endCursor`` that repeats or a page with nothing new stops the listing
(cadence.sources.paging; noted in ``GitHub.notes``), a rate-limit reset is waited for at most an
hour, and a page that cannot be read is asked for in halves down to the one node that breaks it,
which comes back as a stand-in (``UNREADABLE``) with its id, number and update time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

from cadence.errors import SourceError
from cadence.sources import github_queries as q
from cadence.sources import paging
from cadence.sources.http import Http, HttpError, RetryPolicy, UnreadableBody
from cadence.sources.paging import Notes, Pages
from cadence.text import SECRETS

log = SECRETS.guard(logging.getLogger(__name__))

# Below this many points left, wait for the reset; below PACE_BELOW, spread what is left evenly.
RESERVE_POINTS = 50
PACE_BELOW = 500
LONGEST_RESET_S = 3600.0  # GitHub's primary limit resets hourly; a later reset is not believed
_NESTED = ("timelineItems", "labels", "assignees")
UNREADABLE = "_cadence_unreadable"


class AuthError(SourceError):
    """GitHub rejected the token: no later request can succeed, so the sync stops (exit 1)."""


class ScopeError(SourceError):
    """The token lacks a scope that a query needs (GitHub's INSUFFICIENT_SCOPES)."""


def graphql_endpoint(api_url: str) -> tuple[str, str]:
    """(base URL, path) of the GraphQL endpoint for a REST ``api_url``."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):  # GHES serves REST at /api/v3 and GraphQL at /api/graphql
        return base[: -len("/v3")], "/graphql"
    return base, "/graphql"


@dataclass
class Page:
    """One page of complete nodes (their overflowing nested connections followed up)."""

    nodes: list[dict[str, Any]]
    has_next: bool
    errors: list[str] = field(default_factory=list)


class GitHub:
    """A GraphQL client that accounts the rate-limit cost and slows down before it runs out."""

    def __init__(
        self,
        api_url: str,
        token: str,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        base, self.path = graphql_endpoint(api_url)
        self.api_url = api_url
        self.http = Http(
            base,
            headers={"Authorization": f"bearer {token}", "User-Agent": "cadence", "Accept": "application/json"},
            policy=policy,
        )
        self.policy = self.http.policy
        self.clock = clock
        self.cost = 0
        self.remaining: int | None = None
        self.read_projects = True  # cleared when the token turns out to lack read:project
        self.notes = Notes()

    def close(self) -> None:
        self.http.close()

    def query(self, document: str, variables: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Run ``document``; return its data and the messages of any non-fatal errors."""
        for _ in range(self.policy.attempts):
            try:
                response, body = self.http.request_json("POST", self.path, json={"query": document, "variables": variables})
            except HttpError as exc:
                if exc.status == 401:
                    raise AuthError(
                        f"GitHub at {self.api_url} rejected the token in GITHUB_TOKEN (401 Bad credentials); "
                        "check that it is valid and has not expired"
                    ) from None
                raise
            if not isinstance(body, dict):
                raise SourceError(f"GitHub at {self.api_url} answered with JSON that is not a GraphQL response")
            # A hostile or broken server may quote our Authorization header in its messages.
            listed = body.get("errors") or []
            errors = [e if isinstance(e, dict) else {"message": str(e)}
                      for e in self.http.redact(listed if isinstance(listed, list) else [listed])]
            # GraphQL answers an exhausted primary limit with 200 and an error of type RATE_LIMITED.
            if any(e.get("type") == "RATE_LIMITED" for e in errors):
                reset = paging.count(response.headers.get("X-RateLimit-Reset", ""))
                wait = max(1.0, reset - self.clock()) if reset is not None else 60.0
                self._sleep(min(wait, LONGEST_RESET_S), "GraphQL rate limit exhausted")
                continue
            if any(e.get("type") == "INSUFFICIENT_SCOPES" for e in errors):
                raise ScopeError(f"GitHub: {_messages(errors)}")
            data = body.get("data")
            if data is None:
                raise SourceError(f"GitHub GraphQL error: {_messages(errors)}")
            if not isinstance(data, dict):
                raise SourceError(f"GitHub at {self.api_url} answered with a GraphQL data of the wrong shape")
            self._account(data.get("rateLimit"))
            return data, [_messages([e]) for e in errors]
        raise SourceError("GitHub GraphQL rate limit still exhausted after waiting for its reset")

    def _account(self, rate: Any) -> None:
        if not isinstance(rate, dict) or paging.count(rate.get("remaining")) is None:
            return
        cost = paging.count(rate.get("cost")) or 0
        self.cost += cost
        self.remaining = remaining = paging.count(rate.get("remaining")) or 0
        until_reset = min(LONGEST_RESET_S, max(0.0, _epoch(rate.get("resetAt")) - self.clock()))
        if remaining < RESERVE_POINTS:
            self._sleep(until_reset + 1, f"{remaining} GraphQL points left")
        elif remaining < PACE_BELOW and until_reset:
            self._sleep(until_reset / (remaining / max(1, cost)), f"{remaining} GraphQL points left, pacing")

    def _sleep(self, seconds: float, why: str) -> None:
        log.warning("github: %s; waiting %.0fs", why, seconds)
        with self.http.stats.lock:
            self.http.stats.waited_s += seconds
        self.policy.sleep(seconds)

    # -- follow-ups ----------------------------------------------------------------------
    def complete(self, nodes: list[dict[str, Any]], type_name: str) -> list[str]:
        """Follow every overflowing nested connection of ``nodes`` to its end, in place."""
        pending = [(node, name, cursor) for node in nodes for name in _NESTED
                   if isinstance(node, dict) and node.get("id") and (cursor := _overflowing(node, name))]
        seen = {(node["id"], name, cursor) for node, name, cursor in pending}
        errors: list[str] = []
        while pending:
            batch, pending = pending[: q.FOLLOW_UPS_PER_QUERY], pending[q.FOLLOW_UPS_PER_QUERY :]
            variables: dict[str, Any] = {}
            for i, (node, _, cursor) in enumerate(batch):
                variables[f"id{i}"], variables[f"after{i}"] = node["id"], cursor
            data, errs = self.query(q.follow_up_query([(type_name, name) for _, name, _ in batch]), variables)
            errors += errs
            for i, (node, name, _) in enumerate(batch):
                follow = data.get(f"f{i}")
                more = follow.get(name) if isinstance(follow, dict) else None
                mine = node[name]
                if more is None:  # the node went away between the two requests
                    mine["pageInfo"] = {**(mine.get("pageInfo") or {}), "hasNextPage": False}
                    continue
                found, has_next, cursor = connection(more, name)
                mine["nodes"] = [*(mine.get("nodes") or []), *found]
                mine["pageInfo"] = {"hasNextPage": has_next, "endCursor": cursor}
                if has_next and (node["id"], name, cursor) in seen:
                    self.notes.add("item", node["id"], paging.REPEATED_CURSOR, f"its {name} handed the cursor "
                                   f"{str(cursor)[:60]!r} again; stopped there", stopped=True)
                elif has_next:
                    seen.add((node["id"], name, cursor))
                    pending.append((node, name, cursor))
        return errors


def _messages(errors: list[dict[str, Any]]) -> str:
    text = "; ".join(str(e.get("message", e)) for e in errors) or "no details"
    return " ".join(text.split())[:300]


def _epoch(iso: Any) -> float:
    """An ISO-8601 time as epoch seconds; 0 (already past) when it is not one."""
    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError, OverflowError):
        return 0.0


def connection(value: Any, name: str) -> tuple[list[dict[str, Any]], bool, str | None]:
    """(nodes, hasNextPage, endCursor) of a GraphQL connection; a ``SourceError`` if it is not one."""
    page_info = value.get("pageInfo") if isinstance(value, dict) else None
    nodes = value.get("nodes") if isinstance(value, dict) else None
    if not isinstance(nodes, list) or (page_info is not None and not isinstance(page_info, dict)):
        raise SourceError(f"GitHub answered a {name} connection of the wrong shape")
    page_info = page_info or {}
    cursor = page_info.get("endCursor")
    return ([n for n in nodes if isinstance(n, dict)], page_info.get("hasNextPage") is True,
            cursor if isinstance(cursor, str) else None)


def _overflowing(node: dict[str, Any], name: str) -> str | None:
    """The cursor to follow ``node``'s nested connection from, when it has more than came."""
    try:
        _, more, cursor = connection(node.get(name), name)
    except SourceError:  # a malformed nested connection: the normaliser keeps and counts the node
        return None
    return cursor if more else None


def _repository(data: dict[str, Any], errors: list[str], owner: str, name: str) -> dict[str, Any]:
    repo = data.get("repository")
    if repo is None:  # GitHub answers 200 with a NOT_FOUND error for an unknown or hidden repository
        raise SourceError(f"GitHub: {'; '.join(errors) or f'repository {owner}/{name} not found'}")
    if not isinstance(repo, dict):
        raise SourceError(f"GitHub answered repository {owner}/{name} in the wrong shape")
    return repo


# (nodes, hasNextPage, endCursor, errors) of one page of a connection
Chunk = tuple[list[dict[str, Any]], bool, "str | None", list[str]]


@dataclass
class RepositoryStart:
    """What the first request of a repository brings: its canonical name, its first page of
    milestones, issues and pull requests, each with where to go on from."""

    name: str
    milestones: Chunk
    issues: Chunk
    pull_requests: Chunk


def _without_projects(gh: GitHub, exc: ScopeError) -> None:
    """A token without read:project still reads issues; only their Projects status is lost."""
    if not gh.read_projects or "projectItems" not in str(exc):
        raise exc
    log.warning("github: the token cannot read projects (read:project); Projects status is not read")
    gh.read_projects = False


def repository_start(gh: GitHub, owner: str, name: str, since: str | None) -> RepositoryStart | None:
    """Milestones, issues updated at or after ``since`` and pull requests newest first, a page of
    each in one request; None when that page cannot be read (the caller then reads each on its own,
    where an unreadable page is halved down to the node that breaks it)."""
    while True:
        document = q.REPOSITORY_QUERY if gh.read_projects else q.REPOSITORY_QUERY_WITHOUT_PROJECTS
        try:
            data, errors = gh.query(document, {"owner": owner, "name": name, "first": q.ITEM_PAGE, "since": since})
        except ScopeError as exc:
            _without_projects(gh, exc)
            continue
        except UnreadableBody:
            return None
        repo = _repository(data, errors, owner, name)
        canonical = repo.get("nameWithOwner")
        return RepositoryStart(
            canonical if isinstance(canonical, str) and canonical.count("/") == 1 else f"{owner}/{name}",
            (*connection(repo.get("milestones"), "milestones"), []),
            (*connection(repo.get("issues"), "issues"), errors),
            (*connection(repo.get("pullRequests"), "pullRequests"), []),
        )


def _items(
    gh: GitHub, documents: tuple[str, str, str], name: str, type_name: str, variables: dict[str, Any],
    keep: Callable[[dict[str, Any]], bool], first: Chunk | None = None,
) -> Iterator[Page]:
    """Pages of connection ``name``, from ``first`` (its first page, already read) when given;
    ``documents``: the query with and without Projects fields, and its keys-only form."""
    pages = Pages(gh.notes, "repository", f"{variables['owner']}/{variables['name']} {name}")
    after = None
    while True:
        try:
            nodes, has_next, after, errors = first or _page(gh, documents, name, variables, after, q.ITEM_PAGE)
            first = None
        except ScopeError as exc:
            _without_projects(gh, exc)
            continue
        kept = [n for n in nodes if keep(n)]
        errors += gh.complete([n for n in kept if UNREADABLE not in n], type_name)
        if not gh.read_projects:
            errors.append("the token lacks read:project, so Projects status was not read for these items")
        has_next = has_next and len(kept) == len(nodes)
        yield Page(kept, has_next, errors)
        if not pages.page([n.get("id") for n in nodes], after, more=has_next):
            return


def _page(gh: GitHub, documents: tuple[str, str, str], name: str, variables: dict[str, Any], after: str | None,
          size: int) -> tuple[list[dict[str, Any]], bool, str | None, list[str]]:
    """(nodes, hasNextPage, endCursor, errors) of ``size`` nodes after ``after``. A page that cannot be
    read is asked for in halves; the one node that breaks it is asked for by its keys alone."""
    document = documents[0] if gh.read_projects else documents[1]
    try:
        data, errors = gh.query(document, {**variables, "first": size, "after": after})
        return (*connection(_repository(data, errors, variables["owner"], variables["name"]).get(name), name), errors)
    except UnreadableBody as exc:
        if size == 1:
            data, errors = gh.query(documents[2], {**variables, "first": 1, "after": after})
            nodes, more, cursor = connection(_repository(data, errors, variables["owner"], variables["name"]).get(name), name)
            return [{**n, UNREADABLE: str(exc), "text": exc.text[:1_000_000]} for n in nodes[:1]], more, cursor, errors
    first = _page(gh, documents, name, variables, after, size // 2)
    if not first[1]:
        return first
    second = _page(gh, documents, name, variables, first[2], size - size // 2)
    return first[0] + second[0], second[1], second[2], first[3] + second[3]


def issue_pages(gh: GitHub, owner: str, name: str, since: str | None, first: Chunk | None = None) -> Iterator[Page]:
    """Issues updated at or after ``since`` (all when None), oldest update first, from ``first`` when given."""
    variables = {"owner": owner, "name": name, "since": since}
    documents = (q.ISSUES_QUERY, q.ISSUES_QUERY_WITHOUT_PROJECTS, q.ISSUE_KEYS_QUERY)
    return _items(gh, documents, "issues", "Issue", variables, lambda n: True, first)


def pull_request_pages(gh: GitHub, owner: str, name: str, stop_before: str | None,
                       first: Chunk | None = None) -> Iterator[Page]:
    """Pull requests newest update first, stopping at the first updated before ``stop_before``.

    GitHub offers no ``since`` filter on pull requests, so ordering by update and stopping is
    the incremental read; ISO-8601 UTC strings from GitHub compare correctly as text.
    """
    keep = (lambda n: True) if stop_before is None else (lambda n: str(n.get("updatedAt")) >= stop_before)
    variables = {"owner": owner, "name": name}
    documents = (q.PULL_REQUESTS_QUERY, q.PULL_REQUESTS_QUERY_WITHOUT_PROJECTS, q.PULL_REQUEST_KEYS_QUERY)
    return _items(gh, documents, "pullRequests", "PullRequest", variables, keep, first)


def repository_milestones(gh: GitHub, owner: str, name: str,
                          first: Chunk | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The repository's canonical ``owner/name`` (GitHub ignores case; keys must not) and all its
    milestones; with ``first`` (the first page, from ``repository_start``) only the rest are asked for."""
    found: list[dict[str, Any]] = []
    pages = Pages(gh.notes, "repository", f"{owner}/{name} milestones")
    after = None
    if first is not None:
        found, more, after = list(first[0]), first[1], first[2]
        if not pages.page([m.get("id") for m in found], after, more=more):
            return f"{owner}/{name}", found
    while True:
        data, errors = gh.query(q.MILESTONES_QUERY, {"owner": owner, "name": name, "after": after})
        repo = _repository(data, errors, owner, name)
        nodes, has_next, after = connection(repo.get("milestones"), "milestones")
        found += nodes
        if not pages.page([m.get("id") for m in nodes], after, more=has_next):
            canonical = repo.get("nameWithOwner")
            return canonical if isinstance(canonical, str) and canonical.count("/") == 1 else f"{owner}/{name}", found


def project(gh: GitHub, owner: str, number: int) -> dict[str, Any]:
    """A Projects v2 project with its iteration and single-select fields."""
    data, errors = gh.query(q.PROJECT_QUERY, {"owner": owner, "number": number})
    owner_node = data.get("repositoryOwner")
    found = owner_node.get("projectV2") if isinstance(owner_node, dict) else None
    if not isinstance(found, dict) or not found.get("id"):
        raise SourceError(f"GitHub: {'; '.join(errors) or f'project {owner}/{number} not found'}")
    return found


def project_item_pages(gh: GitHub, project_id: str, iteration_field: str, status_field: str) -> Iterator[Page]:
    """Every item of a project with its iteration and status values.

    Projects v2 items cannot be filtered by update time, so this always reads them all: the
    membership snapshot must be complete anyway. It costs one request per 100 items.
    """
    pages = Pages(gh.notes, "project", project_id)
    after = None
    while True:
        variables = {"id": project_id, "after": after, "iterationField": iteration_field, "statusField": status_field}
        data, errors = gh.query(q.PROJECT_ITEMS_QUERY, variables)
        node = data.get("node")
        if not isinstance(node, dict) or node.get("items") is None:
            raise SourceError(f"GitHub: {'; '.join(errors) or 'project items not readable'}")
        nodes, has_next, after = connection(node["items"], "items")
        yield Page(nodes, has_next, errors)
        if not pages.page([n.get("id") for n in nodes], after, more=has_next):
            return
