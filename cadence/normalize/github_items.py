"""Pure: an issue's or pull request's row from its current values (see cadence/normalize/github.py)."""

from __future__ import annotations

from typing import Any

from cadence.config import Config
from cadence.normalize.github_sprints import NEW_LIKE, parse_time
from cadence.records import Item

SOURCE = "github"


def item_key(repo: str, number: int | str) -> str:
    return f"{repo}#{number}"


def names(connection: dict[str, Any] | None, field: str) -> list[str]:
    return [n[field] for n in (connection or {}).get("nodes") or [] if n and n.get(field)]


def project_status(node: dict[str, Any]) -> tuple[str | None, str | None]:
    """(name, option id) of the item's first Projects v2 ``Status`` value."""
    for project_item in (node.get("projectItems") or {}).get("nodes") or []:
        value = (project_item or {}).get("status") or {}
        if value.get("name"):
            return value["name"], value.get("optionId")
    return None, None


def _configured(config: Config, *names: str | None) -> str | None:
    for name in names:
        if name is not None and name in config.statuses:
            return config.statuses[name]
    return None


def resolution_of(node: dict[str, Any]) -> str | None:
    if node["state"] == "OPEN":
        return None
    if node.get("__typename") == "PullRequest" or "merged" in node:
        return "merged" if node.get("merged") else "not_planned"
    return {"NOT_PLANNED": "not_planned", "DUPLICATE": "duplicate"}.get(node.get("stateReason") or "", "completed")


def status_of(node: dict[str, Any], config: Config) -> tuple[str, str, str]:
    """(status name, status id, category) of an issue or pull request now."""
    if node["state"] != "OPEN":
        return "closed", "closed", _configured(config, "closed") or "done"
    name, option = project_status(node)
    status, status_id = (name, option or name) if name else ("open", "open")
    configured = _configured(config, status_id, status)
    if configured:
        return status, status_id, configured
    labels = {label.lower() for label in names(node.get("labels"), "name")}
    linked_open_pr = any(pr.get("state") == "OPEN" for pr in _names_nodes(node.get("closedByPullRequestsReferences")))
    signals = (
        (name is not None and name.lower() not in NEW_LIKE),
        bool(names(node.get("assignees"), "login")) and linked_open_pr,
        bool(labels & {label.lower() for label in config.in_progress_labels}),
        "merged" in node,  # an open pull request
    )
    return status, status_id, "in_progress" if any(signals) else "new"


def _names_nodes(connection: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [n for n in (connection or {}).get("nodes") or [] if n]


def item_row(node: dict[str, Any], repo: str, team: str, config: Config) -> Item:
    status, status_id, category = status_of(node, config)
    is_pr = "merged" in node
    return Item(
        source=SOURCE,
        key=item_key(repo, node["number"]),
        team=team,
        type="pull_request" if is_pr else "issue",
        summary=node.get("title"),
        description=node.get("body"),
        url=node.get("url"),
        created=instant(node["createdAt"], required=True),
        updated=instant(node.get("updatedAt")),
        resolved=instant(node.get("closedAt")) if node["state"] != "OPEN" else None,
        status=status,
        status_id=status_id,
        status_category=category,
        resolution=resolution_of(node),
        labels=names(node.get("labels"), "name"),
        assignees=names(node.get("assignees"), "login"),
    )


def instant(value: Any, required: bool = False) -> str | None:
    """``value`` when it is an ISO-8601 time the warehouse can store; ValueError otherwise.

    The text is passed on as GitHub wrote it (``2020-04-07T10:35:56Z``); only its validity is checked.
    """
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}"[:80])
    year = parse_time(value).year  # raises ValueError for anything fromisoformat cannot read
    if not 1678 <= year <= 2261:  # pandas/DuckDB nanosecond instants
        raise ValueError(f"time out of range: {value!r}"[:80])
    return value
