"""Fetching from GitHub's GraphQL API: issues and pull requests with their timelines, milestones,
and Projects v2 iterations. It yields raw dicts and never touches the warehouse.

It speaks plain httpx through ``cadence.sources.http.Http`` rather than githubkit: githubkit fails
to import beside hishel 2 (which this environment has), and ``Http`` already gives retries,
``Retry-After``, 5xx backoff and request counting.

Where it points: the GraphQL endpoint is ``{api_url}/graphql``, except that a GitHub Enterprise
Server REST root ``https://host/api/v3`` maps to ``https://host/api/graphql``, where GHES serves it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

from cadence.errors import SourceError
from cadence.sources import github_queries as q
from cadence.sources.http import Http, HttpError, RetryPolicy

log = logging.getLogger(__name__)

# Below this many points left, wait for the reset; below PACE_BELOW, spread what is left evenly.
RESERVE_POINTS = 50
PACE_BELOW = 500
_NESTED = ("timelineItems", "labels", "assignees")


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
            errors = [e if isinstance(e, dict) else {"message": str(e)} for e in self.http.redact(body.get("errors") or [])]
            # GraphQL answers an exhausted primary limit with 200 and an error of type RATE_LIMITED.
            if any(e.get("type") == "RATE_LIMITED" for e in errors):
                reset = response.headers.get("X-RateLimit-Reset", "")
                wait = max(1.0, int(reset) - self.clock()) if reset.isdigit() else 60.0
                self._sleep(wait, "GraphQL rate limit exhausted")
                continue
            if any(e.get("type") == "INSUFFICIENT_SCOPES" for e in errors):
                raise ScopeError(f"GitHub: {_messages(errors)}")
            data = body.get("data")
            if data is None:
                raise SourceError(f"GitHub GraphQL error: {_messages(errors)}")
            self._account(data.get("rateLimit"))
            return data, [_messages([e]) for e in errors]
        raise SourceError("GitHub GraphQL rate limit still exhausted after waiting for its reset")

    def _account(self, rate: dict[str, Any] | None) -> None:
        if not rate:
            return
        self.cost += int(rate.get("cost") or 0)
        self.remaining = remaining = int(rate.get("remaining") or 0)
        cost = max(1, int(rate.get("cost") or 1))
        until_reset = max(0.0, _epoch(rate.get("resetAt")) - self.clock()) if rate.get("resetAt") else 0.0
        if remaining < RESERVE_POINTS:
            self._sleep(until_reset + 1, f"{remaining} GraphQL points left")
        elif remaining < PACE_BELOW and until_reset:
            self._sleep(until_reset / (remaining / cost), f"{remaining} GraphQL points left, pacing")

    def _sleep(self, seconds: float, why: str) -> None:
        log.warning("github: %s; waiting %.0fs", why, seconds)
        with self.http.stats.lock:
            self.http.stats.waited_s += seconds
        self.policy.sleep(seconds)

    # -- follow-ups ----------------------------------------------------------------------
    def complete(self, nodes: list[dict[str, Any]], type_name: str) -> list[str]:
        """Follow every overflowing nested connection of ``nodes`` to its end, in place."""
        pending = [
            (node, name, node[name]["pageInfo"]["endCursor"])
            for node in nodes
            for name in _NESTED
            if (node.get(name) or {}).get("pageInfo", {}).get("hasNextPage")
        ]
        errors: list[str] = []
        while pending:
            batch, pending = pending[: q.FOLLOW_UPS_PER_QUERY], pending[q.FOLLOW_UPS_PER_QUERY :]
            variables: dict[str, Any] = {}
            for i, (node, _, cursor) in enumerate(batch):
                variables[f"id{i}"], variables[f"after{i}"] = node["id"], cursor
            data, errs = self.query(q.follow_up_query([(type_name, name) for _, name, _ in batch]), variables)
            errors += errs
            for i, (node, name, _) in enumerate(batch):
                more = (data.get(f"f{i}") or {}).get(name)
                if more is None:  # the node went away between the two requests
                    node[name]["pageInfo"]["hasNextPage"] = False
                    continue
                node[name]["nodes"].extend(more["nodes"])
                node[name]["pageInfo"] = more["pageInfo"]
                if more["pageInfo"]["hasNextPage"]:
                    pending.append((node, name, more["pageInfo"]["endCursor"]))
        return errors


def _messages(errors: list[dict[str, Any]]) -> str:
    text = "; ".join(str(e.get("message", e)) for e in errors) or "no details"
    return " ".join(text.split())[:300]


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _repository(data: dict[str, Any], errors: list[str], owner: str, name: str) -> dict[str, Any]:
    repo = data.get("repository")
    if repo is None:  # GitHub answers 200 with a NOT_FOUND error for an unknown or hidden repository
        raise SourceError(f"GitHub: {'; '.join(errors) or f'repository {owner}/{name} not found'}")
    return repo


def _items(
    gh: GitHub, documents: tuple[str, str], connection: str, type_name: str, variables: dict[str, Any],
    keep: Callable[[dict[str, Any]], bool],
) -> Iterator[Page]:
    """Pages of ``connection``; ``documents`` is the query with and without Projects fields."""
    after = None
    while True:
        try:
            document = documents[0] if gh.read_projects else documents[1]
            data, errors = gh.query(document, {**variables, "first": q.ITEM_PAGE, "after": after})
        except ScopeError as exc:
            if not gh.read_projects or "projectItems" not in str(exc):
                raise
            # A token without read:project still reads issues; only their Projects status is lost.
            log.warning("github: the token cannot read projects (read:project); Projects status is not read")
            gh.read_projects = False
            continue
        conn = _repository(data, errors, variables["owner"], variables["name"])[connection]
        nodes = [n for n in conn["nodes"] if n is not None]
        kept = [n for n in nodes if keep(n)]
        errors += gh.complete(kept, type_name)
        if not gh.read_projects:
            errors.append("the token lacks read:project, so Projects status was not read for these items")
        has_next = conn["pageInfo"]["hasNextPage"] and len(kept) == len(nodes)
        yield Page(kept, has_next, errors)
        if not has_next:
            return
        after = conn["pageInfo"]["endCursor"]


def issue_pages(gh: GitHub, owner: str, name: str, since: str | None) -> Iterator[Page]:
    """Issues updated at or after ``since`` (all when None), oldest update first."""
    variables = {"owner": owner, "name": name, "since": since}
    documents = (q.ISSUES_QUERY, q.ISSUES_QUERY_WITHOUT_PROJECTS)
    return _items(gh, documents, "issues", "Issue", variables, lambda n: True)


def pull_request_pages(gh: GitHub, owner: str, name: str, stop_before: str | None) -> Iterator[Page]:
    """Pull requests newest update first, stopping at the first updated before ``stop_before``.

    GitHub offers no ``since`` filter on pull requests, so ordering by update and stopping is
    the incremental read; ISO-8601 UTC strings from GitHub compare correctly as text.
    """
    keep = (lambda n: True) if stop_before is None else (lambda n: n["updatedAt"] >= stop_before)
    variables = {"owner": owner, "name": name}
    documents = (q.PULL_REQUESTS_QUERY, q.PULL_REQUESTS_QUERY_WITHOUT_PROJECTS)
    return _items(gh, documents, "pullRequests", "PullRequest", variables, keep)


def repository_milestones(gh: GitHub, owner: str, name: str) -> tuple[str, list[dict[str, Any]]]:
    """The repository's canonical ``owner/name`` (GitHub ignores case; keys must not) and all its milestones."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        data, errors = gh.query(q.MILESTONES_QUERY, {"owner": owner, "name": name, "after": after})
        repo = _repository(data, errors, owner, name)
        found += [m for m in repo["milestones"]["nodes"] if m is not None]
        if not repo["milestones"]["pageInfo"]["hasNextPage"]:
            return repo.get("nameWithOwner") or f"{owner}/{name}", found
        after = repo["milestones"]["pageInfo"]["endCursor"]


def project(gh: GitHub, owner: str, number: int) -> dict[str, Any]:
    """A Projects v2 project with its iteration and single-select fields."""
    data, errors = gh.query(q.PROJECT_QUERY, {"owner": owner, "number": number})
    found = (data.get("repositoryOwner") or {}).get("projectV2")
    if found is None:
        raise SourceError(f"GitHub: {'; '.join(errors) or f'project {owner}/{number} not found'}")
    return found


def project_item_pages(gh: GitHub, project_id: str, iteration_field: str, status_field: str) -> Iterator[Page]:
    """Every item of a project with its iteration and status values.

    Projects v2 items cannot be filtered by update time, so this always reads them all: the
    membership snapshot must be complete anyway. It costs one request per 100 items.
    """
    after = None
    while True:
        variables = {"id": project_id, "after": after, "iterationField": iteration_field, "statusField": status_field}
        data, errors = gh.query(q.PROJECT_ITEMS_QUERY, variables)
        conn = (data.get("node") or {}).get("items")
        if conn is None:
            raise SourceError(f"GitHub: {'; '.join(errors) or 'project items not readable'}")
        yield Page([n for n in conn["nodes"] if n is not None], conn["pageInfo"]["hasNextPage"], errors)
        if not conn["pageInfo"]["hasNextPage"]:
            return
        after = conn["pageInfo"]["endCursor"]
