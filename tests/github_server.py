"""A GitHub-like GraphQL server on 127.0.0.1 for tests and benchmarks.

It *executes* every query with graphql-core against GitHub's public schema
(../shared/fixtures/github/github-schema.graphql), with resolvers over an in-memory ``Dataset``, so a
query the real API would reject fails here too. It checks the bearer token (401 "Bad credentials"
otherwise), refuses queries over GitHub's documented limits (100 a page, 500,000 nodes), charges
each query GitHub's documented cost (connection requests / 100) in ``rateLimit``,
records every request, and can inject faults (a 403 secondary rate limit, a 502) or hold a request
so that a test can kill the client at a known point.

Use::

    with GitHubServer(dataset, token="t0k") as server:
        sync_github(db, ["acme/models"], [], server.url, ...)
        server.requests  # what was sent
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode, FragmentSpreadNode, GraphQLError, GraphQLSchema, InlineFragmentNode, OperationDefinitionNode,
    VariableNode, build_schema, execute_sync, get_named_type, parse, validate, validate_schema,
    value_from_ast_untyped,
)
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from github_data import Dataset, RepoData  # noqa: F401  (re-exported for callers)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "github" / "github-schema.graphql"
RESET_AT = "2030-01-01T00:00:00Z"


@lru_cache(maxsize=1)
def github_schema() -> GraphQLSchema:
    """GitHub's public schema, built once per process, with this module's resolvers attached.

    The published SDL defines two fields twice and lets implementations deprecate fields their
    interfaces do not; graphql-core rejects both by default. Those are the only problems accepted:
    anything else in the schema still fails here.
    """
    schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"), assume_valid_sdl=True)
    problems = [e.message for e in validate_schema(schema) if "must not be deprecated" not in e.message]
    if problems:
        raise AssertionError(f"unexpected schema problems: {problems[:3]}")
    schema._validation_errors = []  # graphql-core caches validation here; the known quirks are accepted
    _attach_resolvers(schema)
    return schema


# -- resolvers ---------------------------------------------------------------------------------
def connection(items: list[Any], first: int | None = None, after: str | None = None, **_: Any) -> dict[str, Any]:
    start = int(base64.b64decode(after).decode().split(":")[1]) + 1 if after else 0
    end = len(items) if first is None else min(len(items), start + first)
    chunk = items[start:end]
    return {
        "nodes": chunk,
        "edges": [{"node": n, "cursor": _cursor(start + i)} for i, n in enumerate(chunk)],
        "totalCount": len(items),
        "pageInfo": {"hasNextPage": end < len(items), "hasPreviousPage": start > 0,
                     "startCursor": _cursor(start) if chunk else None, "endCursor": _cursor(end - 1) if chunk else None},
    }


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def item_type(typename: str) -> str:
    """GraphQL type name -> timeline ``itemTypes`` enum value: AssignedEvent -> ASSIGNED_EVENT."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", typename).upper()


def _ordered(items: list[dict[str, Any]], order: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not order:
        return list(items)
    key = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt", "NUMBER": "number", "DUE_DATE": "dueOn"}[order["field"]]
    return sorted(items, key=lambda i: (i.get(key) is None, i.get(key) or ""), reverse=order.get("direction") == "DESC")


def _repository(_: Any, info: Any, owner: str, name: str, **__: Any) -> dict[str, Any]:
    # Like GitHub, names match whatever their case, and nameWithOwner gives the real one.
    found = [(full, repo) for full, repo in info.context.repos.items() if full.lower() == f"{owner}/{name}".lower()]
    if not found:
        raise GraphQLError(f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                           extensions={"type": "NOT_FOUND"})
    return {"__typename": "Repository", "nameWithOwner": found[0][0], "_data": found[0][1]}


def _issues(source: dict[str, Any], _: Any, filterBy: dict[str, Any] | None = None, orderBy: Any = None, **args: Any):
    issues = source["_data"].issues
    since = (filterBy or {}).get("since")
    if since:
        issues = [i for i in issues if i["updatedAt"] >= since]
    return connection(_ordered(issues, orderBy), **args)


def _pull_requests(source: dict[str, Any], _: Any, orderBy: Any = None, **args: Any):
    return connection(_ordered(source["_data"].pull_requests, orderBy), **args)


def _milestones(source: dict[str, Any], _: Any, orderBy: Any = None, **args: Any):
    return connection(_ordered(source["_data"].milestones, orderBy), **args)


def _timeline(source: dict[str, Any], _: Any, itemTypes: list[str] | None = None, **args: Any):
    items = [t for t in source["timeline"] if itemTypes is None or item_type(t["__typename"]) in itemTypes]
    return connection(items, **args)


def _closed_by(source: dict[str, Any], _: Any, includeClosedPrs: bool = False, userLinkedOnly: bool = False,
               orderByState: bool = False, **args: Any):
    # The schema: "List of open pull requests referenced from this issue"; `includeClosedPrs` adds the
    # closed and merged ones. The other two filters are not emulated, so they are refused, not guessed.
    if userLinkedOnly or orderByState:
        raise GraphQLError("userLinkedOnly and orderByState are not emulated by this test server")
    pulls = [p for p in source.get("closedBy") or [] if includeClosedPrs or p.get("state") == "OPEN"]
    return connection(pulls, **args)


def _list(key: str):
    return lambda source, _, **args: connection(source.get(key) or [], **args)


def _repository_owner(_: Any, info: Any, login: str):
    return {"__typename": "Organization", "login": login, "id": f"O_{login}"}


def _project_v2(source: dict[str, Any], info: Any, number: int):
    project = info.context.projects.get(f"{source['login']}/{number}")
    if project is None:
        raise GraphQLError(f"Could not resolve to a ProjectV2 with the number {number}.", extensions={"type": "NOT_FOUND"})
    return project


def _node(_: Any, info: Any, id: str):
    return info.context.index().get(id)


def _rate_limit(_: Any, info: Any, **__: Any):
    return info.context.rate


def _attach_resolvers(schema: GraphQLSchema) -> None:
    resolvers = {
        ("Query", "repository"): _repository,
        ("Query", "repositoryOwner"): _repository_owner,
        ("Query", "node"): _node,
        ("Query", "rateLimit"): _rate_limit,
        ("Repository", "issues"): _issues,
        ("Repository", "pullRequests"): _pull_requests,
        ("Repository", "milestones"): _milestones,
        ("Organization", "projectV2"): _project_v2,
        ("ProjectV2", "items"): _list("items"),
        ("ProjectV2", "fields"): _list("fields"),
        ("ProjectV2Item", "fieldValueByName"): lambda source, _, name: (source.get("values") or {}).get(name),
    }
    for kind in ("Issue", "PullRequest"):
        resolvers[(kind, "timelineItems")] = _timeline
        for name, key in (("labels", "labels"), ("assignees", "assignees"), ("projectItems", "projectItems")):
            resolvers[(kind, name)] = _list(key)
    resolvers[("Issue", "closedByPullRequestsReferences")] = _closed_by
    for (type_name, field_name), resolve in resolvers.items():
        schema.get_type(type_name).fields[field_name].resolve = resolve


# -- limits and cost ----------------------------------------------------------------------------
# GitHub's "Rate limits and node limits for the GraphQL API" (docs.github.com/graphql/overview/
# resource-limitations): every connection must have `first` or `last`, within 1-100; one query may
# ask for at most 500,000 nodes, counted as each connection's page size times the page sizes of the
# connections around it (its example: repositories(first: 50) { issues(first: 10) } is
# 50 + 50 x 10 = 550 nodes); and it costs the requests needed to fill every connection, assuming
# full pages (1 for a top-level connection, 50 for issues inside 50 repositories), / 100, rounded,
# at least 1.
NODE_LIMIT = 500_000
PAGE_LIMIT = 100


@dataclass
class Limits:
    cost: int
    nodes: int
    errors: list[dict[str, Any]]


def query_limits(document: Any, variables: dict[str, Any]) -> Limits:
    """GitHub's node count, cost and limit errors for a (valid) document."""
    schema = github_schema()
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    requests, nodes, errors = 0, 0, []

    def walk(selection_set: Any, parent: Any, parents: int) -> None:
        nonlocal requests, nodes
        for selection in selection_set.selections if selection_set else []:
            if isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                walk(fragment.selection_set, schema.get_type(fragment.type_condition.name.value), parents)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                walk(selection.selection_set, schema.get_type(condition.name.value) if condition else parent, parents)
            elif isinstance(selection, FieldNode) and selection.selection_set and not selection.name.value.startswith("__"):
                named = get_named_type(parent.fields[selection.name.value].type)
                if not named.name.endswith("Connection"):
                    walk(selection.selection_set, named, parents)
                    continue
                args = {a.name.value: a.value for a in selection.arguments or ()}
                bound = next((k for k in ("first", "last") if k in args), None)
                size, name = args.get(bound), selection.name.value
                if size is not None:
                    size = variables.get(size.name.value) if isinstance(size, VariableNode) else value_from_ast_untyped(size)
                if size is None:
                    errors.append({"type": "MISSING_PAGINATION_BOUNDARIES", "message":
                                   f"You must provide a `first` or `last` value to properly paginate the `{name}` connection."})
                    size = 0
                elif not 1 <= int(size) <= PAGE_LIMIT:
                    errors.append({"type": "EXCESSIVE_PAGINATION", "message":
                                   f"Requesting {size} records on the `{name}` connection exceeds the `{bound}` limit of "
                                   f"{PAGE_LIMIT} records."})
                requests += parents
                nodes += parents * int(size)
                walk(selection.selection_set, named, parents * int(size))

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, schema.query_type, 1)
    if nodes > NODE_LIMIT:
        errors.append({"type": "MAX_NODE_LIMIT_EXCEEDED", "message":
                       f"This query requests up to {nodes:,} possible nodes which exceeds the maximum limit of {NODE_LIMIT:,}."})
    return Limits(max(1, round(requests / 100)), nodes, errors)


def query_cost(document: Any, variables: dict[str, Any]) -> int:
    """GitHub's documented cost: requests needed for every connection, assuming full pages, / 100."""
    return query_limits(document, variables).cost


# -- the server ----------------------------------------------------------------------------------
@dataclass
class Fault:
    """An answer given instead of the real one, to the next request (of ``operation``, when given)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=lambda: {"message": "fault"})
    operation: str | None = None


class GitHubServer:
    """A threaded HTTP server answering ``POST /graphql`` (and ``/api/graphql``) from a Dataset."""

    def __init__(self, dataset: Dataset, token: str = "test-token", remaining: int = 5000,
                 read_project: bool = True) -> None:
        self.dataset, self.token, self.read_project = dataset, token, read_project
        self.dataset.rate = {"cost": 0, "remaining": remaining, "resetAt": RESET_AT, "limit": 5000, "used": 0,
                             "nodeCount": 0}
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.hold_at: int | None = None  # hold the n-th request (1-based) until `release` is set
        self.held, self.release = threading.Event(), threading.Event()
        self.cost_spent = 0
        self.largest_query = 0  # the most nodes one query asked for
        self._documents: dict[str, Any] = {}
        self._lock = threading.Lock()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on stderr
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "GitHubServer":
        github_schema()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()

    def operations(self) -> list[str]:
        return [r["operation"] for r in self.requests]

    @Request.application
    def _app(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        with self._lock:
            self.requests.append({
                "path": request.path, "query": body.get("query", ""), "variables": body.get("variables") or {},
                "operation": (re.search(r"query (\w+)", body.get("query", "")) or [None, None])[1],
                "headers": {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"},
            })
            number = len(self.requests)
            operation = self.requests[-1]["operation"]
            fault = next((f for f in self.faults if f.operation in (None, operation)), None)
            if fault is not None:
                self.faults.remove(fault)
        if self.hold_at == number:
            self.held.set()
            self.release.wait(30)
        if request.headers.get("Authorization", "").lower() != f"bearer {self.token}".lower():
            return _json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql"}, 401)
        if fault is not None:
            return _json(fault.body, fault.status, fault.headers)
        if request.path not in ("/graphql", "/api/graphql"):
            return _json({"message": "Not Found"}, 404)
        if not self.read_project and "projectItems" in body.get("query", ""):
            return _json({"errors": [{"type": "INSUFFICIENT_SCOPES", "locations": [{"line": 1, "column": 1}], "message": (
                "Your token has not been granted the required scopes to execute this query. The 'projectItems' "
                "field requires one of the following scopes: ['read:project'], but your token has only been "
                "granted the: ['repo'] scopes. Please modify your token's scopes at: https://github.com/settings/tokens.")}]})
        return _json(self._execute(body.get("query", ""), body.get("variables") or {}))

    def _execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        schema = github_schema()
        if query not in self._documents:
            document = parse(query)
            errors = validate(schema, document)
            self._documents[query] = (document, [{"message": e.message} for e in errors])
        document, errors = self._documents[query]
        if errors:
            return {"errors": errors}
        limits = query_limits(document, variables)
        if limits.errors:  # GitHub refuses the whole query, before running it, at no cost
            return {"errors": limits.errors}
        with self._lock:
            cost = limits.cost
            self.cost_spent += cost
            self.largest_query = max(self.largest_query, limits.nodes)
            rate = self.dataset.rate
            rate.update(cost=cost, remaining=max(0, rate["remaining"] - cost), used=rate["used"] + cost,
                        nodeCount=limits.nodes)
            result = execute_sync(schema, document, variable_values=variables, context_value=self.dataset)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [{**e.formatted, **({"type": e.extensions["type"]} if e.extensions and "type" in
                                                   e.extensions else {})} for e in result.errors]
        return answer


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
