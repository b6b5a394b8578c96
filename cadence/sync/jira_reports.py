"""Fetching and saving Jira's own Sprint Report for each closed sprint of the synced boards.

Choices where PRODUCT.md is silent:

- **Once per sprint.** A closed sprint's report is frozen at its close, so it is fetched once. Each
  board has a cursor (scope ``sprint_reports:board:<id>``): the completion time of the newest
  sprint whose report was fetched or refused. An incremental sync fetches the closed sprints that
  completed after it and whose report is not stored, oldest first, and saves each batch with its
  cursor, so a killed sync resumes where it stopped. ``--full`` fetches every closed sprint's report again.
- **The origin board.** A sprint's report is asked of its origin board (``rapidViewId``); sprints
  whose origin board is not among the synced ones are left out.
- **One probe per board.** The newest due sprint is fetched alone; the rest are fetched, in parallel
  (and saved oldest first, the probe last), unless the probe's refusal is the endpoint's (403,
  410, an HTML login page: see ``sources/jira_reports``). Such a board costs one request, and again
  only when another of its sprints closes (or with ``--full``). A 404 may be one sprint's (deleted,
  or moved to another board), so the board's other sprints are still asked for.
- **Never a failed sync.** A refusal, or a body that is no Sprint Report we know, is one
  data-quality note for the board (``sprint_report_unavailable``). A body we cannot parse is kept
  raw and not fetched again; its sprint shows ``jira_report = unavailable``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from cadence.normalize import jira as normalize
from cadence.normalize import jira_reports as parse
from cadence.records import Problem, Raw, SprintReport, SprintReportIssue, sprint_key
from cadence.sources.jira_reports import SprintReportAnswer, fetch_sprint_report
from cadence.warehouse.sprint_reports import save_sprint_reports, saved_reports
from cadence.warehouse.write import Cursor, load_cursor

if TYPE_CHECKING:
    from cadence.sync.jira import Run

log = logging.getLogger(__name__)

PROBLEM = "sprint_report_unavailable"
SAVE_EVERY = 50  # reports per transaction: a killed sync loses at most these


@dataclass
class _Parsed:
    replaced: list[str] = field(default_factory=list)
    reports: list[SprintReport] = field(default_factory=list)
    issues: list[SprintReportIssue] = field(default_factory=list)
    raw: list[Raw] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "sprint S: why", for the board's note


def cursor_scope(board: str) -> str:
    return f"sprint_reports:board:{board}"


def due_sprints(run: "Run", boards: Iterable[str], full: bool) -> dict[str, list[tuple[str, datetime | None]]]:
    """Board id -> its (sprint id, completed_at) whose report is due, oldest first."""
    con = run.connection()
    due: dict[str, list[tuple[str, datetime | None]]] = {}
    for board in (str(b) for b in boards):
        since = None if full else load_cursor(con, "jira", cursor_scope(board))
        rows = con.execute(
            "SELECT sprint_id, completed_at FROM sprints WHERE source = 'jira' AND state = 'closed' AND board_id = ? "
            "AND (?::TIMESTAMPTZ IS NULL OR completed_at IS NULL OR completed_at > ?::TIMESTAMPTZ) "
            "ORDER BY completed_at NULLS LAST, sprint_id", [board, since, since],
        ).fetchall()
        stored = set() if full else saved_reports(con, [sprint for sprint, _ in rows])
        if rows := [(sprint, done_at) for sprint, done_at in rows if sprint not in stored]:
            due[board] = rows
    return due


def sync_sprint_reports(run: "Run", site: normalize.Site, full: bool) -> int:
    """Fetch and save the due Sprint Reports of the site's boards; return how many were saved."""
    saved = 0
    for board, sprints in due_sprints(run, site.boards, full).items():
        saved += _sync_board(run, site, board, sprints)
    run.release()
    return saved


def _sync_board(run: "Run", site: normalize.Site, board: str, due: list[tuple[str, datetime | None]]) -> int:
    """Probe with the newest due sprint; if Jira answers, fetch the rest and save oldest first."""
    http = run.source.http
    probe = fetch_sprint_report(http, board, due[-1][0])
    if not probe.board_wide:
        answers = run.source.map(lambda sprint: fetch_sprint_report(http, board, sprint), [s for s, _ in due[:-1]])
    else:  # refused: the rest are not asked for, and count as tried
        answers = [SprintReportAnswer(board, sprint, problem=probe.problem) for sprint, _ in due[:-1]]
    answers.append(probe)
    failed, saved = [], 0
    for start in range(0, len(answers), SAVE_EVERY):
        parsed = _parse(answers[start:start + SAVE_EVERY], site, datetime.now(timezone.utc))
        failed += parsed.failed
        last = start + SAVE_EVERY >= len(answers)
        problems = [_note(board, failed, len(due), probe.board_wide)] if last and failed else []
        covered = [done_at for _, done_at in due[start:start + SAVE_EVERY] if done_at is not None]
        cursor = Cursor("jira", cursor_scope(board), max(covered).isoformat(), {"kind": "sprint_reports"}) if covered else None
        save_sprint_reports(run.connection(), parsed.replaced, parsed.reports, parsed.issues, parsed.raw, problems,
                            cursor)
        run.report.problems += len(problems)
        saved += len(parsed.reports)
    log.info("jira board %s: %d of %d due sprint reports saved%s", board, saved, len(due),
             f"; unavailable: {failed[-1]}" if failed else "")
    return saved


def _parse(answers: list[SprintReportAnswer], site: normalize.Site, now: datetime) -> _Parsed:
    out = _Parsed()
    for answer in answers:
        if answer.problem is not None:
            out.failed.append(f"sprint {answer.sprint_id}: {answer.problem}")
            continue
        out.replaced.append(sprint_key("jira", answer.sprint_id))
        out.raw.append(normalize.raw("sprint_report", answer.sprint_id, parse.scrub(answer.payload, site.people),
                                     now, site.people))
        try:
            report, issues = parse.sprint_report(answer.payload, answer.sprint_id, answer.board_id, now)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # UnknownShape, or worse
            out.failed.append(f"sprint {answer.sprint_id}: not a Sprint Report we know ({exc})")
            continue
        out.reports.append(report)
        out.issues += issues
    return out


def _note(board: str, failed: list[str], due: int, board_wide: bool) -> Problem:
    """One note for the board, however many of its sprints failed."""
    if board_wide:
        detail = (f"Jira's Sprint Report could not be read, so this board's {due} closed sprint(s) are not "
                  f"compared with it (asked again when a sprint closes, or with --full): {failed[-1]}")
    else:
        detail = (f"{len(failed)} of {due} closed sprints' reports could not be read and are not compared "
                  f"with Jira's Sprint Report; first: {failed[0]}")
    return normalize.problem("board", board, PROBLEM, " ".join(detail.split())[:300])
