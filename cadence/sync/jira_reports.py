"""Fetching and saving Jira's own Sprint Report for each closed sprint of the synced boards.

Choices where PRODUCT.md is silent:

- **Once per sprint.** A closed sprint's report is frozen at its close, so it is fetched once. Every
  try leaves a ``sprint_reports`` row (``status``: parsed, unparsed or refused), so an incremental
  sync asks only for closed sprints without one: in steady state, the sprints closed since the
  last sync. Reports are fetched and saved in batches, so a killed sync resumes where it stopped. ``--full`` asks
  for every closed sprint's report again and replaces what was stored.
- **The origin board.** A sprint's report is asked of its origin board (``rapidViewId``); sprints
  whose origin board is not among the synced ones are left out.
- **One probe per board.** The newest due sprint is fetched alone; the rest are fetched, in parallel
  (and saved oldest first, the probe last), unless the probe's refusal is the endpoint's (403,
  410, an HTML login page: see ``sources/jira_reports``). Such a board costs one request, and again
  only when another of its sprints closes (or with ``--full``). A 404 may be one sprint's (deleted,
  or moved to another board), so the board's other sprints are still asked for.
- **Never a failed sync.** A refusal, or a body that is no Sprint Report we know, is one
  data-quality note for the board (``sprint_report_unavailable``); a body we cannot parse is kept
  raw. Either way the sprint shows ``jira_report = unavailable`` and is not asked for again
  until ``--full``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from cadence.normalize import jira as normalize
from cadence.normalize import jira_reports as parse
from cadence.records import Problem, Raw, SprintReport, SprintReportIssue
from cadence.sources.jira_reports import SprintReportAnswer, fetch_sprint_report
from cadence.warehouse.sprint_reports import save_sprint_reports

if TYPE_CHECKING:
    from cadence.sync.jira import Run

log = logging.getLogger(__name__)

PROBLEM = "sprint_report_unavailable"
SAVE_EVERY = 50  # reports fetched, then saved in one transaction: a killed sync loses at most these


@dataclass
class _Parsed:
    reports: list[SprintReport] = field(default_factory=list)  # one per answer: parsed, unparsed or refused
    issues: list[SprintReportIssue] = field(default_factory=list)
    raw: list[Raw] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "sprint S: why", for the board's note


def due_sprints(run: "Run", boards: Iterable[str], full: bool) -> dict[str, list[str]]:
    """Board id -> its closed sprints whose report is due (not tried yet, or all with ``full``), oldest first."""
    wanted = [str(b) for b in boards]
    if not wanted:
        return {}
    rows = run.connection().execute(
        "SELECT s.board_id, s.sprint_id FROM sprints s WHERE s.source = 'jira' AND s.state = 'closed' "
        "AND s.board_id IN (SELECT unnest(?::VARCHAR[])) "
        "AND (? OR NOT EXISTS (SELECT 1 FROM sprint_reports r WHERE r.sprint_key = s.sprint_key)) "
        "ORDER BY s.completed_at NULLS FIRST, s.sprint_id", [wanted, full],
    ).fetchall()
    due: dict[str, list[str]] = {}
    for board, sprint in rows:
        due.setdefault(board, []).append(sprint)
    return due


def sync_sprint_reports(run: "Run", site: normalize.Site, full: bool) -> int:
    """Fetch and save the due Sprint Reports of the site's boards; return how many were read."""
    saved = 0
    for board, sprints in due_sprints(run, site.boards, full).items():
        saved += _sync_board(run, site, board, sprints)
    run.release()
    return saved


def _sync_board(run: "Run", site: normalize.Site, board: str, due: list[str]) -> int:
    """Probe with the newest due sprint; unless the endpoint refused, fetch the rest a batch at a time,
    oldest first, saving each batch before the next is fetched (the probe goes with the last)."""
    http = run.source.http
    probe, rest = fetch_sprint_report(http, board, due[-1]), due[:-1]
    failed, read = [], 0
    starts = list(range(0, len(rest), SAVE_EVERY)) or [0]
    for start in starts:
        batch = rest[start:start + SAVE_EVERY]
        if probe.board_wide:  # refused: the rest are not asked for, and count as tried
            answers = [SprintReportAnswer(board, sprint, problem=probe.problem, board_wide=True) for sprint in batch]
        else:
            answers = run.source.map(lambda sprint: fetch_sprint_report(http, board, sprint), batch)
        last = start == starts[-1]
        parsed = _parse(answers + ([probe] if last else []), site, datetime.now(timezone.utc))
        failed += parsed.failed
        problems = [_note(board, failed, len(due), probe.board_wide)] if last and failed else []
        save_sprint_reports(run.connection(), parsed.reports, parsed.issues, parsed.raw, problems)
        run.report.problems += len(problems)
        read += sum(r["status"] == "parsed" for r in parsed.reports)
    log.info("jira board %s: %d of %d due sprint reports read%s", board, read, len(due),
             f"; unavailable: {failed[-1]}" if failed else "")
    return read


def _parse(answers: list[SprintReportAnswer], site: normalize.Site, now: datetime) -> _Parsed:
    out = _Parsed()
    for answer in answers:
        if answer.problem is not None:
            out.failed.append(f"sprint {answer.sprint_id}: {answer.problem}")
            out.reports.append(parse.unread(answer.sprint_id, answer.board_id, now, "refused", answer.problem))
            continue
        out.raw.append(normalize.raw("sprint_report", answer.sprint_id, parse.scrub(answer.payload, site.people),
                                     now, site.people))
        try:
            report, issues = parse.sprint_report(answer.payload, answer.sprint_id, answer.board_id, now)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # UnknownShape, or worse
            why = f"not a Sprint Report we know ({exc})"
            out.failed.append(f"sprint {answer.sprint_id}: {why}")
            out.reports.append(parse.unread(answer.sprint_id, answer.board_id, now, "unparsed", why))
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
