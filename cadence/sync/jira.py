"""``cadence sync jira``: fetch from Jira, normalise, and save page by page with the cursor.

Choices where PRODUCT.md is silent:

- Each project (or the JQL) is one scope with its own cursor, the largest ``updated`` saved so far.
- The incremental query is ``<scope> AND updated >= "<cursor - 2 min>" ORDER BY updated ASC``, with
  the date written in the *user's* time zone from ``/myself`` (JQL reads dates in it) and cut to the
  minute, JQL's resolution. The overlap re-reads a few issues; upserts make that harmless.
- Boards, their configuration and all their sprints are fetched on every sync, because a sprint's
  state changes without any issue being updated. Without ``--board`` the boards of each project
  are discovered; a site without the Agile API still syncs issues.
- Each page is saved in its own transaction with its cursor. The file is held open across pages
  for at most about a second, and let go whenever the next page is late, so readers get in.
- A failure before any issue page was saved raises ``SourceError`` (exit 1). A failure after pages
  were saved is reported in ``SyncReport.errors`` (exit 2); the cursor stays at the last saved page
  (cadence/sync/common.py says how each kind of failure settles).
- What the site said that did not add up (a repeated page token, a ``total`` that disagrees, an
  issue whose JSON cannot be read) is saved as data-quality rows with the page it concerns.
- An issue that cannot be normalised (nesting deeper than Python follows) is kept raw and counted;
  the rest of its page is saved.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cadence import warehouse
from cadence.config import Config
from cadence.errors import CadenceError, Interrupted, SourceError, WarehouseDamaged
from cadence.normalize import jira as normalize
from cadence.normalize.jira_fields import People, discover_fields, jira_time
from cadence.progress import Progress, silent
from cadence.records import Batch, Team
from cadence.sources.http import HttpError, RetryPolicy, check_url, error_messages
from cadence.sources.jira import UNREADABLE, JiraSource, credential_names
from cadence.sync.common import SyncReport, isolated, note_anomalies, prefetched, settle, unreadable
from cadence.sync.jira_reports import sync_sprint_reports
from cadence.text import SECRETS
from cadence.warehouse.connection import abandon, failures_named
from cadence.warehouse.write import load_cursor

log = SECRETS.guard(logging.getLogger(__name__))
SECRETS_HINT = "JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Server/Data Center)"

OVERLAP = timedelta(minutes=2)
# Issues per saved transaction at least: pages Jira sends shorter than asked for are saved together.
SAVE_AT_LEAST = 100
PROJECT_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*|\d+")


@dataclass
class Run:
    """The state of one sync: where it writes, what it has saved.

    Every page is its own transaction, saved with its cursor. The file is opened for at most
    ``HOLD_S`` seconds at a time and then closed, so a notebook or report waiting to read gets in
    between pages; opening and closing DuckDB for each page instead would cost ~0.2 s a page
    (a checkpoint on every close), more than fetching and normalising the page.
    """

    db_path: Path
    source: JiraSource
    report: SyncReport
    progress: Progress
    pages_saved: int = 0
    _open: ExitStack | None = None
    _con: Any = None
    _opened_at: float = 0.0

    HOLD_S = 1.0

    def connection(self) -> Any:
        if self._open is None:
            self._open = ExitStack()
            self._con = self._open.enter_context(warehouse.connect(self.db_path, read_only=False))
            self._opened_at = time.monotonic()
        return self._con

    def release(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open, self._con = None, None

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        with self.writing():
            return self.connection().execute(sql, params or []).fetchall()

    def saved_board_sprints(self) -> set[str]:
        """Ids of sprints already saved whole from a board (the Agile API), in an earlier run or this one."""
        rows = self.query("SELECT sprint_id FROM sprints WHERE source = 'jira' AND board_id IS NOT NULL")
        return {r[0] for r in rows}

    def save(self, batch: Batch, cursor: warehouse.Cursor | None = None) -> None:
        batch.problems += note_anomalies("jira", self.source.notes.take(), self.report, cursor.scope if cursor else "site")
        with self.writing():
            warehouse.save(self.connection(), batch, cursor)
        if time.monotonic() - self._opened_at > self.HOLD_S:
            self.release()
        self.report.add(batch)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """DuckDB failures as one-line errors; a damaged file is let go of without a checkpoint."""
        try:
            with failures_named(self.db_path):
                yield
        except WarehouseDamaged:
            if self._con is not None:
                abandon(self._con)
            raise


def sync_jira(
    db_path: Path,
    url: str,
    projects: list[str],
    jql: str | None,
    boards: list[int],
    full: bool,
    config: Config,
    progress: Progress = silent,
    env: Mapping[str, str] = os.environ,
    policy: RetryPolicy | None = None,
    client: Any = None,
) -> SyncReport:
    """Sync issues, changelogs, comments, boards and sprints from one Jira site into ``db_path``.

    ``client``: a configured ``jira.JIRA`` whose session carries the requests (then ``env`` holds no
    credentials). Interrupted (Ctrl-C, SIGTERM), the exception carries ``saved``: what is in the warehouse.
    """
    if not projects and not jql:
        raise SourceError("say what to sync from Jira: --project KEY (one or more) or --jql QUERY")
    url = check_url(url, "--url", SECRETS_HINT)
    for key in projects:
        # The key goes into JQL; refusing what no Jira key looks like keeps it from changing the query.
        if not PROJECT_KEY.fullmatch(key):
            raise CadenceError(f"--project {' '.join(key.split())} is not a Jira project key "
                               "(a letter, then letters, digits or _) or a numeric project id")
    report = SyncReport(source="jira")
    try:
        with JiraSource(url, env, policy, client=client) as source, ExitStack() as cleanup:
            run = Run(Path(db_path), source, report, progress)
            cleanup.callback(run.release)
            try:
                site, zone = prepare(run, projects, boards, config)
            except Exception as exc:
                settle(exc, report, "setup", False, lambda e: user_error(e, url, env, "setup"))
            for scope, base in scopes(projects, jql):
                try:
                    sync_scope(run, site, zone, scope, base, full)
                except Exception as exc:
                    settle(exc, report, scope, run.pages_saved > 0, lambda e: user_error(e, url, env, scope))
                if source.notes.found:  # noted after the last page was saved (the pager runs a page ahead)
                    run.save(Batch())
            try:  # Jira's own Sprint Report per newly closed sprint; its refusals are data-quality notes
                with run.writing():
                    sync_sprint_reports(run, site, full)
            except Exception as exc:
                settle(exc, report, "sprint reports", run.pages_saved > 0,
                       lambda e: user_error(e, url, env, "sprint reports"))
            report.scopes = [scope for scope, _ in scopes(projects, jql)]
            report.requests = source.requests
    except (Interrupted, KeyboardInterrupt) as exc:
        exc.saved = report.saved()  # type: ignore[union-attr]
        raise
    return report


def scopes(projects: list[str], jql: str | None) -> list[tuple[str, str]]:
    """(scope, JQL without ordering) per project, or the one user JQL."""
    if jql:
        return [(jql, f"({strip_order(jql)})")]
    return [(key, f'project = "{key}"') for key in projects]


def strip_order(jql: str) -> str:
    return re.split(r"\border\s+by\b", jql, maxsplit=1, flags=re.I)[0].strip()


def incremental_jql(base: str, cursor: str | None, zone: tzinfo, overlap: timedelta = OVERLAP) -> str:
    """The search for one scope: everything, or what changed since ``cursor`` (minus the overlap)."""
    if cursor:
        since = (jira_time(cursor) - overlap).astimezone(zone)
        base = f'{base} AND updated >= "{since:%Y-%m-%d %H:%M}"'
    return f"{base} ORDER BY updated ASC"


def user_zone(myself: Mapping[str, Any]) -> tzinfo:
    """The time zone Jira reads JQL dates in for this user; UTC when it says none we know."""
    try:
        return ZoneInfo(str(myself.get("timeZone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown Jira user time zone %r; writing JQL dates in UTC", myself.get("timeZone"))
        return timezone.utc


def user_error(exc: HttpError, url: str, env: Mapping[str, str], scope: str) -> SourceError:
    """A one-line message the user can act on; Jira's own errorMessages are passed on."""
    messages = error_messages(exc.body) if exc.status != 200 else ""
    if exc.status == 401:
        return SourceError(f"Jira at {url} rejected the credentials (HTTP 401): check {credential_names(env)}")
    if exc.status == 403:
        return SourceError(f"Jira at {url} refused access (HTTP 403){': ' + messages if messages else ''}; "
                           f"check that {credential_names(env)} belong to an account that may browse it")
    if exc.status is None:
        return SourceError(f"cannot reach Jira at {url}: {exc}")
    return SourceError(f"Jira refused {scope}: {messages or exc}")


def prepare(run: Run, projects: list[str], board_ids: list[int], config: Config) -> tuple[normalize.Site, tzinfo]:
    """Read the site (kind, user, fields, statuses, boards, sprints) and save what it gives."""
    source, now = run.source, datetime.now(timezone.utc)
    kind = source.detect()
    zone = user_zone(source.myself())
    field_list, status_list = source.fields(), source.statuses()
    people = People(config.pseudonymize)
    batch = Batch(statuses=normalize.statuses(status_list, config))
    batch.raw += [normalize.raw("fields", "all", field_list, now, people),
                  normalize.raw("statuses", "all", status_list, now, people)]
    boards = find_boards(run, projects, board_ids, batch)
    details = source.map(lambda b: board_details(source, b), boards)
    estimate = config.estimate_field or most_common([d["estimate"] for d in details])
    fields = discover_fields(field_list, estimate)
    if not fields.sprint:
        batch.problems.append(normalize.problem("site", source.url, "no_sprint_field",
                                                "no field has schema type com.pyxis.greenhopper.jira:gh-sprint"))
    site = normalize.Site(
        base_url=source.url, fields=fields, categories={s["status_id"]: s["category"] for s in batch.statuses},
        boards={str(b["id"]): str(b.get("name") or b["id"]) for b in boards}, config=config, people=people,
        project_boards=only_boards(boards),
    )
    for board, detail in zip(boards, details):
        batch.teams.append(normalize.board_team(board, config))
        batch.raw += [normalize.raw("board", board["id"], board, now, people),
                      normalize.raw("board_configuration", board["id"], detail["configuration"], now, people)]
        board_sprints(batch, detail["sprints"], site, board["id"], now)
        batch.problems += detail["problems"]
    batch.teams += [Team(team=site.team_for_project(p), source="jira", scope=f"jira:project:{p}", synthetic=False)
                    for p in projects if not any(_board_project(b) == p for b in boards)]
    batch.sprints = list({s["sprint_key"]: s for s in batch.sprints}.values())
    run.save(batch)
    # A sprint seen only in an issue's Sprint field must not overwrite the whole row a board gave,
    # even one saved by an earlier run (a --jql run may fetch no boards).
    site = replace(site, known_sprints=frozenset(run.saved_board_sprints() | {s["sprint_id"] for s in batch.sprints}))
    log.info("jira %s (%s): %d boards, %d sprints, sprint field %s, story points %s",
             source.url, kind, len(boards), len(batch.sprints), fields.sprint, fields.story_points)
    return site, zone


def board_sprints(batch: Batch, payloads: list[Any], site: normalize.Site, board_id: Any, now: datetime) -> None:
    """Add a board's sprints to ``batch``; a malformed one is kept raw and counted, and the rest go on."""
    for payload in payloads:
        sprint_id = payload.get("id", "?") if isinstance(payload, Mapping) else "?"
        batch.raw.append(normalize.raw("sprint", sprint_id, payload, now, site.people))
        try:
            batch.sprints.append(normalize.sprint(payload, site, board_id))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            batch.problems.append(normalize.problem("sprint", sprint_id, "malformed_sprint",
                                                    f"{type(exc).__name__}: {exc}"[:300]))


def find_boards(run: Run, projects: list[str], board_ids: list[int], batch: Batch) -> list[dict[str, Any]]:
    """The boards asked for, or else every board of the projects. A site without the Agile API
    (or a project without boards) degrades to project teams, recorded as a data-quality note."""
    if board_ids:
        return run.source.map(run.source.board, list(board_ids))
    found: dict[str, dict[str, Any]] = {}
    for project in projects:
        try:
            for board in run.source.boards(project):
                found.setdefault(str(board["id"]), board)
        except HttpError as exc:
            if exc.status is None or exc.status == 401:
                raise
            batch.problems.append(normalize.problem("project", project, "no_boards", str(exc)[:300]))
    return list(found.values())


def board_details(source: JiraSource, board: Mapping[str, Any]) -> dict[str, Any]:
    """A board's configuration (for the story-point field) and all its sprints; kanban boards have none."""
    detail: dict[str, Any] = {"configuration": None, "estimate": None, "sprints": [], "problems": []}
    try:
        detail["configuration"] = source.board_configuration(board["id"])
        estimation = (detail["configuration"] or {}).get("estimation") or {}
        detail["estimate"] = (estimation.get("field") or {}).get("fieldId")
    except HttpError as exc:
        detail["problems"].append(normalize.problem("board", board["id"], "no_configuration", str(exc)[:300]))
    if str(board.get("type", "scrum")).lower() != "kanban":
        try:
            detail["sprints"] = source.sprints(board["id"])
        except HttpError as exc:
            if exc.status is None:
                raise
            detail["problems"].append(normalize.problem("board", board["id"], "no_sprints", str(exc)[:300]))
    return detail


def _board_project(board: Mapping[str, Any]) -> str | None:
    location = board.get("location") or {}
    return location.get("projectKey") or location.get("key")


def only_boards(boards: list[dict[str, Any]]) -> dict[str, str]:
    """Project key -> board id, for projects that have exactly one board."""
    per_project = Counter(_board_project(b) for b in boards)
    return {_board_project(b): str(b["id"]) for b in boards if _board_project(b) and per_project[_board_project(b)] == 1}


def most_common(values: list[str | None]) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def sync_scope(run: Run, site: normalize.Site, zone: tzinfo, scope: str, base: str, full: bool) -> None:
    """Fetch one scope's changed issues and save each page with the cursor that covers it."""
    cursor = None if full else load_cursor(run.connection(), "jira", scope)
    jql = incremental_jql(base, cursor, zone)
    log.info("jira %s: %s", scope, jql)
    newest = jira_time(cursor) if cursor else None
    done = 0
    pages = run.source.whole_pages(jql, site.fields.request_list())
    for issues in prefetched(pages, run.release, run.HOLD_S, at_least=SAVE_AT_LEAST):
        batch = normalized(issues, site, datetime.now(timezone.utc))
        newest = max([t for t in [newest, *(_updated(i) for i in issues)] if t is not None], default=None)
        value = newest.isoformat() if newest else None
        run.save(batch, warehouse.Cursor("jira", scope, value, {"jql": jql, "kind": run.source.kind}))
        run.pages_saved += 1
        done += len(issues)
        run.progress(f"jira {scope}", done)


def normalized(issues: list[Any], site: normalize.Site, now: datetime) -> Batch:
    """One page as a batch. An issue that could not be read, or cannot be normalised, is kept raw
    (as far as it goes) and counted as ``unreadable_record``; the rest of the page goes on."""
    readable = [i for i in issues if not (isinstance(i, dict) and UNREADABLE in i)]
    batch = Batch()
    for issue in issues:
        if isinstance(issue, dict) and UNREADABLE in issue:
            batch.extend(unreadable("jira", "issue", str(issue.get("key") or issue.get("id") or "?"),
                                    {k: v for k, v in issue.items() if k != UNREADABLE}, issue[UNREADABLE], now))

    def bad(issue: Any, exc: BaseException) -> Batch:
        key = (issue.get("key") or issue.get("id")) if isinstance(issue, dict) else None
        return unreadable("jira", "issue", str(key or "?"), issue, f"cannot be normalised: {type(exc).__name__}", now)

    batch.extend(isolated(lambda part: normalize.page(part, site, now), readable, bad))
    return batch


def _updated(issue: Mapping[str, Any]) -> datetime | None:
    try:
        return jira_time((issue.get("fields") or {}).get("updated"))
    except (ValueError, TypeError):
        return None
