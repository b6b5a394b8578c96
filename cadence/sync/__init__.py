"""Syncs: fetch from a source, normalise, and save page by page with the cursor.

``cadence.sync_jira(...)`` and ``cadence.sync_github(...)`` are the same code the CLI runs
(``cadence sync jira`` / ``cadence sync github`` call them), for a notebook::

    import cadence, jira
    cadence.sync_jira("https://example.atlassian.net", projects=["ML"], db="cadence.duckdb")
    # or through a configured client, whose session's auth (OAuth, Kerberos, certificates, a CA) is used:
    client = jira.JIRA(server="https://jira.example.com", token_auth=pat, get_server_info=False)
    cadence.sync_jira(jira=client, projects=["ML"])
    cadence.sync_github(["acme/models"], projects=["acme/3"])

Each returns a ``SyncReport``; ``report.partial`` is what makes the CLI exit 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from cadence.config import Config, load_config
from cadence.errors import CadenceError
from cadence.progress import Progress, silent
from cadence.sources.http import RetryPolicy
from cadence.sync.common import SyncReport

__all__ = ["SyncReport", "sync_jira", "sync_github"]


def _listed(value: str | int | Iterable[Any] | None) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, (str, int)) else list(value)


def _db(db: str | os.PathLike | None) -> Path:
    from cadence.warehouse import default_db_path

    return Path(db) if db is not None else default_db_path()


def sync_jira(
    url: str | None = None,
    *,
    projects: str | Iterable[str] = (),
    jql: str | None = None,
    boards: int | Iterable[int] = (),
    db: str | os.PathLike | None = None,
    full: bool = False,
    config: Config | None = None,
    jira: Any = None,
    env: Mapping[str, str] | None = None,
    progress: Progress = silent,
    policy: RetryPolicy | None = None,
) -> SyncReport:
    """Sync a Jira site into the warehouse ``db`` (default ``$CADENCE_DB``, else ./cadence.duckdb).

    Give ``projects`` (keys) or ``jql``. Credentials come from ``env`` (default ``os.environ``:
    JIRA_EMAIL and JIRA_API_TOKEN, or JIRA_PAT), or from ``jira``, a configured ``jira.JIRA``
    client whose session then carries every request; ``url`` defaults to the client's server.
    """
    from cadence.sync.jira import sync_jira as run

    project_list = [str(p) for p in _listed(projects)]
    if bool(project_list) == bool(jql):
        raise CadenceError("give either --project (one or more) or --jql, not both or neither")
    if url is None and jira is not None:
        url = str(getattr(jira, "server_url", "") or "")
    if not url:
        raise CadenceError("give the Jira site's URL (--url), or a jira.JIRA client")
    return run(_db(db), url, project_list, jql, [int(b) for b in _listed(boards)], full,
               config if config is not None else load_config(), progress=progress,
               env=os.environ if env is None else env, policy=policy, client=jira)


def sync_github(
    repos: str | Iterable[str] = (),
    *,
    projects: str | Iterable[str] = (),
    api_url: str = "https://api.github.com",
    db: str | os.PathLike | None = None,
    full: bool = False,
    config: Config | None = None,
    env: Mapping[str, str] | None = None,
    progress: Progress = silent,
    policy: RetryPolicy | None = None,
) -> SyncReport:
    """Sync GitHub repositories (``OWNER/NAME``) and Projects v2 (``OWNER/NUMBER``) into ``db``.

    The token is GITHUB_TOKEN in ``env`` (default ``os.environ``); ``api_url`` is the REST root
    (GitHub Enterprise: https://HOST/api/v3).
    """
    from cadence.sync.github import sync_github as run

    repo_list, project_list = [str(r) for r in _listed(repos)], [str(p) for p in _listed(projects)]
    if not repo_list and not project_list:
        raise CadenceError("give at least one --repo OWNER/NAME or --project OWNER/NUMBER")
    return run(_db(db), repo_list, project_list, api_url, full, config if config is not None else load_config(),
               progress=progress, env=os.environ if env is None else env, policy=policy)
