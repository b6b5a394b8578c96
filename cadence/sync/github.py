"""``cadence sync github``: fetch over GraphQL, normalise, and save page by page with the cursor.

Choices where PRODUCT.md is silent:

- Projects (``--project OWNER/NUMBER``) are synced first and always in full: Projects v2 items
  cannot be filtered by update time, and the membership snapshot must be complete. Their
  iterations are the sprints. Of several iteration fields, the first is used.
- Each project sync stores a membership snapshot and writes synthetic membership and Projects
  status events for what changed since the previous complete project sync (see
  cadence/normalize/github_sprints.py). ``items.status`` is the Projects status as of the issue's
  own last update (moving a card does not update the issue); the status events carry later moves.
- Milestones are the sprints of a repository unless a project synced in the same run holds its
  items; then the project's iterations are its sprints and milestone events are not membership.
  Project items from repositories not given with ``--repo`` are reported (``repository_not_synced``).
- The request plan: a project costs one request for its fields and one per 100 items. A repository
  costs one request for its milestones and the first 100 issues and 100 pull requests together,
  then one per further 100 of each, plus follow-ups (20 connections a request) only for the items
  whose timeline, labels or assignees overflowed their page. A small organisation needs about 25
  requests per 1,000 items (benchmarks/github_sync.py).
- Each repository is one scope. Its cursor ``value`` is the newest ``updatedAt`` of a *completed*
  sync. Issues are read with ``filterBy: {since: cursor - 2 min}`` oldest first, and every page is
  saved with ``details.issues_since`` so a killed sync resumes after the last saved page. Pull
  requests are read newest first until one is older than ``cursor - 2 min``; a sync killed among
  them reads them again from the newest (upserts make that harmless). The cursor moves only when
  both are done. The overlap re-reads a few items; that is the price of not trusting clocks.
- A failure before anything was saved raises ``SourceError`` (exit 1); so does a rejected token at
  any time. A failure after pages were saved is reported in ``SyncReport.errors`` (exit 2)
  (cadence/sync/common.py says how each kind of failure settles).
- A listing that the server made endless (a repeated ``endCursor``, a page of nothing new) stops
  with a data-quality row, and the scope's cursor does not move: the next run reads it again.
  A project whose items stopped early writes no removals, since its snapshot is incomplete.
- A node that cannot be read or normalised is kept raw and counted; its page goes on.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from cadence import warehouse
from cadence.config import Config
from cadence.errors import CadenceError, Interrupted, SourceError
from cadence.normalize import github as normalize
from cadence.normalize import github_sprints as sprints
from cadence.progress import Progress, silent
from cadence.records import Batch, Problem, Team, sprint_key
from cadence.sources import github as source
from cadence.sources.http import RetryPolicy, check_url
from cadence.sync.common import SyncReport, isolated, note_anomalies, settle, unreadable
from cadence.text import SECRETS
from cadence.warehouse.connection import failures_named

log = SECRETS.guard(logging.getLogger(__name__))

SOURCE = "github"
OVERLAP = timedelta(minutes=2)
STATUS_FIELD = "Status"  # the built-in single-select field every Projects v2 project has


@dataclass
class Run:
    """The state of one sync: where it writes, what it has saved."""

    db_path: Path
    gh: source.GitHub
    config: Config
    report: SyncReport
    progress: Progress
    now: datetime
    pages_saved: int = 0
    stopped: bool = False  # a listing of the current scope ended early (cadence.sources.paging)

    @property
    def stamp(self) -> str:
        return self.now.isoformat()

    def save(self, batch: Batch, cursor: warehouse.Cursor | None = None) -> None:
        notes = self.gh.notes.take()
        self.stopped |= any(n.stopped for n in notes)
        batch.problems += note_anomalies(SOURCE, notes, self.report, cursor.scope if cursor else "github")
        # A connection per page keeps write transactions short, so readers are not locked out.
        with warehouse.connect(self.db_path, read_only=False) as con, failures_named(self.db_path):
            warehouse.save(con, batch, cursor)
        self.pages_saved += 1
        self.report.add(batch)

    def query(self, sql: str, params: list[Any]) -> list[tuple]:
        with warehouse.connect(self.db_path, read_only=False) as con, failures_named(self.db_path):
            return con.execute(sql, params).fetchall()


def sync_github(
    db_path: Path,
    repos: list[str],
    projects: list[str],
    api_url: str,
    full: bool,
    config: Config,
    progress: Progress = silent,
    env: Mapping[str, str] = os.environ,
    policy: RetryPolicy | None = None,
    now: Callable[[], datetime] | None = None,
) -> SyncReport:
    """Sync issues, pull requests, timelines, milestones and Projects v2 iterations into ``db_path``."""
    token = (env.get("GITHUB_TOKEN") or "").strip()
    if not token:
        raise SourceError("GITHUB_TOKEN is not set: export a GitHub token that can read the repositories and projects")
    api_url = check_url(api_url, "--api-url", "GITHUB_TOKEN")
    repo_names = [_split(r, "--repo", "OWNER/NAME") for r in repos]
    project_ids = [_split(p, "--project", "OWNER/NUMBER") for p in projects]
    if any(not number.isdigit() for _, number in project_ids):
        raise CadenceError(f"--project should be OWNER/NUMBER with a numeric project number, got {projects}")
    sync_time = (now or (lambda: datetime.now(timezone.utc)))().astimezone(timezone.utc).replace(microsecond=0)
    gh = source.GitHub(api_url, token, policy)
    run = Run(Path(db_path), gh, config, SyncReport(SOURCE), progress, sync_time)
    try:
        _sync_all(run, project_ids, repo_names, full)
    except (Interrupted, KeyboardInterrupt) as exc:
        exc.saved = run.report.saved()  # type: ignore[union-attr]
        raise
    finally:
        gh.close()
        run.report.requests = gh.http.stats.requests
        log.info("github: %d requests, GraphQL cost %d", gh.http.stats.requests, gh.cost)
    return run.report


def _sync_all(run: Run, project_ids: list[tuple[str, str]], repo_names: list[tuple[str, str]], full: bool) -> None:
    """Projects first (their iterations decide whether milestones are sprints), then repositories."""
    project_repos: set[str] = set()
    for owner, number in project_ids:
        scope = f"project:{owner}/{number}"
        _guarded(run, scope, lambda: project_repos.update(sync_project(run, owner, int(number))))
    # GitHub names are case-insensitive: "Acme/Models" is acme/models.
    on_projects = {r.lower() for r in project_repos}
    _report_unsynced(run, {r for r in project_repos if r.lower() not in {f"{o}/{n}".lower() for o, n in repo_names}})
    for owner, name in repo_names:
        repo = f"{owner}/{name}"
        _guarded(run, repo, lambda: sync_repo(run, owner, name, full, repo.lower() not in on_projects))


def _split(value: str, option: str, form: str) -> tuple[str, str]:
    parts = value.strip().strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise CadenceError(f"{option} should be {form}, got {value!r}")
    return parts[0], parts[1]


def _report_unsynced(run: Run, repos: set[str]) -> None:
    """Project items from repositories not given with --repo have membership but no item rows."""
    if repos:
        log.warning("github: projects hold items of repositories not synced: %s", ", ".join(sorted(repos)))
        run.save(Batch(problems=[Problem(source=SOURCE, entity="repository", entity_id=r, problem="repository_not_synced",
                                         detail="its items are on a synced project; add it with --repo") for r in repos]))


def _guarded(run: Run, scope: str, work: Callable[[], Any]) -> None:
    run.stopped = False
    try:
        work()
    except Exception as exc:
        settle(exc, run.report, scope, run.pages_saved > 0, lambda e: e)
        return
    run.report.scopes.append(scope)


def _problems(scope: str, errors: list[str]) -> list[Problem]:
    return [Problem(source=SOURCE, entity="query", entity_id=scope, problem="graphql_error", detail=e) for e in errors]


def read_cursor(run: Run, scope: str, any_case: bool = False) -> tuple[str | None, dict[str, Any]]:
    """The scope's cursor and details; with ``any_case``, of the scope whatever its case (GitHub's
    names ignore case), the exact name first."""
    match = "lower(scope) = lower(?)" if any_case else "scope = ?"
    rows = run.query(f"SELECT cursor, details FROM sync_state WHERE source = ? AND {match} "
                     "ORDER BY scope = ? DESC LIMIT 1", [SOURCE, scope, scope])
    if not rows:
        return None, {}
    return rows[0][0], json.loads(rows[0][1]) if rows[0][1] else {}


def _minus_overlap(stamp: str | None) -> str | None:
    if not stamp:
        return None
    moved = sprints.parse_time(stamp) - OVERLAP
    return moved.strftime("%Y-%m-%dT%H:%M:%SZ")


def _newest(current: str | None, nodes: list[dict[str, Any]]) -> str | None:
    stamps = [n["updatedAt"] for n in nodes if n.get("updatedAt")] + ([current] if current else [])
    return max(stamps, key=lambda s: sprints.parse_time(s)) if stamps else None


def sync_repo(run: Run, owner: str, name: str, full: bool, milestones_are_sprints: bool) -> None:
    """Milestones, then issues oldest update first, then pull requests newest first.

    The first request brings a page of all three (``source.repository_start``). It needs the
    cursor before GitHub has told the repository's real name, so the cursor is looked up whatever
    the case of the name given; should the real name hold another cursor (a renamed repository),
    that page of issues and pull requests is dropped and read again from the right cursor.
    """
    typed = f"{owner}/{name}"
    cursor, details = (None, {}) if full else read_cursor(run, typed, any_case=True)
    start = source.repository_start(run.gh, owner, name, _minus_overlap(details.get("issues_since") or cursor))
    if start is None:  # its page cannot be read: each connection on its own
        repo, found = source.repository_milestones(run.gh, owner, name)
    else:
        repo, found = source.repository_milestones(run.gh, *start.name.split("/"), start.milestones)
    owner, name = repo.split("/")
    if not full and (cursor, details) != (known := read_cursor(run, repo)):
        cursor, details, start = *known, None
    team = run.config.teams.get(f"github:{typed}") or run.config.team_for(f"github:{repo}", repo)
    batch = Batch(teams=[Team(team=team, source=SOURCE, scope=repo, synthetic=False)])
    titles: dict[str, int] | None = None
    if milestones_are_sprints:
        titles = {m["title"]: m["number"] for m in found}
        batch.sprints = sprints.milestone_sprints(found, repo, team, run.now)
        batch.raw = [{"source": SOURCE, "entity": "milestone", "entity_id": f"{repo}#{m['number']}",
                      "fetched_at": run.stamp, "payload": m} for m in found]
    run.save(batch, warehouse.Cursor(SOURCE, repo, cursor, details))
    state = {"issues_since": details.get("issues_since") or cursor, "watermark": details.get("watermark") or cursor}
    done = 0
    since = _minus_overlap(state["issues_since"])
    for page in source.issue_pages(run.gh, owner, name, since, start.issues if start else None):
        state["issues_since"] = _newest(state["issues_since"], page.nodes)
        done += _save_items(run, repo, team, titles, page, cursor, state)
        run.progress(f"{repo} issues", done)
    done = 0
    first_pulls = start.pull_requests if start else None
    for page in source.pull_request_pages(run.gh, owner, name, _minus_overlap(cursor), first_pulls):
        done += _save_items(run, repo, team, titles, page, cursor, state)
        run.progress(f"{repo} pull requests", done)
    run.save(Batch(), warehouse.Cursor(SOURCE, repo, cursor, dict(state)))  # saves what was noted last
    if not run.stopped:  # a listing that stopped early leaves the cursor where it was
        run.save(Batch(), warehouse.Cursor(SOURCE, repo, state["watermark"], {}))


def _save_items(run: Run, repo: str, team: str, titles: dict[str, int] | None, page: source.Page,
                cursor: str | None, state: dict[str, Any]) -> int:
    def bad(node: Any, exc: BaseException) -> Batch:
        return unreadable(SOURCE, "item", _item_key(repo, node), node, f"cannot be normalised: {type(exc).__name__}",
                          run.stamp)

    batch = Batch()
    for node in page.nodes:
        if source.UNREADABLE in node:
            batch.extend(unreadable(SOURCE, "item", _item_key(repo, node),
                                    {k: v for k, v in node.items() if k != source.UNREADABLE}, node[source.UNREADABLE],
                                    run.stamp))
    readable = [n for n in page.nodes if source.UNREADABLE not in n]
    batch.extend(isolated(lambda part: normalize.normalize_items(part, repo, team, run.config, run.stamp, titles),
                          readable, bad))
    batch.problems += _problems(repo, page.errors)
    state["watermark"] = _newest(state["watermark"], page.nodes)
    run.save(batch, warehouse.Cursor(SOURCE, repo, cursor, dict(state)))
    return len(page.nodes)


def _item_key(repo: str, node: Any) -> str:
    number = node.get("number") if isinstance(node, dict) else None
    return f"{repo}#{number}" if number is not None else str(node.get("id") if isinstance(node, dict) else "?")


def sync_project(run: Run, owner: str, number: int) -> set[str]:
    """Iterations as sprints, and a membership snapshot of every item; returns the items' repositories."""
    scope = f"project:{owner}/{number}"
    project = source.project(run.gh, owner, number)
    batch, field_name = project_sprints(run, project, scope)
    starts = {s["sprint_key"]: sprints.parse_time(str(s["planned_start"])) for s in batch.sprints}
    baseline_text, _ = read_cursor(run, scope)
    baseline = sprints.parse_time(baseline_text) if baseline_text else None
    previous = _snapshot(run, baseline, list(starts)) if baseline else None
    statuses = _last_project_statuses(run)
    batch.problems += sprints.no_snapshot_history(batch.sprints, _first_snapshot(run, list(starts)) or run.now)
    # Until the last page is saved, the cursor keeps the previous complete sync: the baseline.
    running = warehouse.Cursor(SOURCE, scope, baseline_text, {"running_since": run.stamp})
    run.save(batch, running)
    seen: set[str] = set()
    for page in source.project_item_pages(run.gh, project["id"], field_name, STATUS_FIELD):
        observed, keys, problems = _observe(page.nodes, starts, scope)
        seen |= keys
        subset = None if previous is None else {k: v for k, v in previous.items() if k in keys}
        page_batch = sprints.iteration_membership(observed, subset, baseline, starts, run.now)
        page_batch.events += sprints.project_status_events(page.nodes, statuses, run.config.statuses, run.now)
        page_batch.problems += problems + _problems(scope, page.errors)
        page_batch.raw = [{"source": SOURCE, "entity": "project_item", "entity_id": n["id"], "fetched_at": run.stamp,
                           "payload": n} for n in page.nodes]
        run.save(page_batch, running)
        run.progress(f"{scope} items", len(seen))
    run.save(Batch(), running)  # saves what was noted last
    if run.stopped:  # an incomplete snapshot says nothing about items that left the project
        return {key.split("#")[0] for key in seen}
    gone = {k: v for k, v in (previous or {}).items() if k not in seen}  # items no longer on the project
    run.save(sprints.iteration_membership({}, gone, baseline, starts, run.now), warehouse.Cursor(SOURCE, scope, run.stamp, {}))
    return {key.split("#")[0] for key in seen}


def project_sprints(run: Run, project: dict[str, Any], scope: str) -> tuple[Batch, str]:
    """The project's team, raw payload and iteration sprints; and the name of its iteration field."""
    team = run.config.team_for(f"github:{scope}", project.get("title") or scope)
    batch = Batch(teams=[Team(team=team, source=SOURCE, scope=scope, synthetic=False)])
    batch.raw = [{"source": SOURCE, "entity": "project", "entity_id": scope, "fetched_at": run.stamp, "payload": project}]
    fields = sprints.iteration_fields(project)
    if not fields:
        batch.problems.append(Problem(source=SOURCE, entity="project", entity_id=scope, problem="no_iteration_field",
                                      detail="the project has no iteration field, so it gives no sprints"))
        return batch, "Iteration"
    if len(fields) > 1:
        log.warning("github %s: %d iteration fields; using %r", scope, len(fields), fields[0]["name"])
    batch.sprints = sprints.iteration_sprints(project, fields[0], scope, team, run.now)
    return batch, fields[0]["name"]


def _observe(items: list[dict[str, Any]], starts: Mapping[str, datetime], scope: str) -> tuple[dict[str, str], set[str], list[Problem]]:
    observed: dict[str, str] = {}
    keys: set[str] = set()
    problems: list[Problem] = []
    for item in items:
        key = sprints.project_item_key(item)
        if key is None:  # a draft issue: no issue or pull request to attach it to
            continue
        keys.add(key)
        iteration_id = (item.get("iteration") or {}).get("iterationId")
        if not iteration_id:
            continue
        sprint = sprint_key(SOURCE, iteration_id)
        if sprint in starts:
            observed[key] = sprint
        else:
            problems.append(Problem(source=SOURCE, entity="item", entity_id=key, problem="unknown_iteration",
                                    detail=f"iteration {iteration_id} is not among {scope}'s iterations"))
    return observed, keys, problems


def _snapshot(run: Run, at: datetime, sprint_keys: list[str]) -> dict[str, str]:
    rows = run.query("SELECT key, sprint_key FROM snapshots WHERE seen_at = ? AND list_contains(?, sprint_key)",
                     [at, sprint_keys])
    return dict(rows)


def _last_project_statuses(run: Run) -> dict[str, tuple[str, str]]:
    rows = run.query("SELECT key, arg_max(to_value, occurred_at), arg_max(event_id, occurred_at) FROM events "
                     "WHERE source = ? AND field = 'project_status' GROUP BY key", [SOURCE])
    return {key: (value, event_id) for key, value, event_id in rows}


def _first_snapshot(run: Run, sprint_keys: list[str]) -> datetime | None:
    rows = run.query("SELECT min(seen_at) FROM snapshots WHERE list_contains(?, sprint_key)", [sprint_keys])
    first = rows[0][0] if rows else None
    return first.astimezone(timezone.utc) if first is not None else None
