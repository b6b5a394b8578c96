"""Saving Jira's Sprint Reports: parsed rows, raw payloads and notes, in one transaction."""

from __future__ import annotations

from typing import Iterable

import duckdb

from cadence.records import Problem, Raw, SprintReport, SprintReportIssue
from cadence.warehouse.write import Cursor, save_cursor, upsert


def saved_reports(con: duckdb.DuckDBPyConnection, sprint_ids: Iterable[str]) -> set[str]:
    """Those of ``sprint_ids`` whose report was fetched before (parsed or not: the raw is kept)."""
    ids = list(sprint_ids)
    if not ids:
        return set()
    rows = con.execute(
        "SELECT entity_id FROM raw WHERE source = 'jira' AND entity = 'sprint_report' "
        "AND entity_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall()
    return {r[0] for r in rows}


def save_sprint_reports(
    con: duckdb.DuckDBPyConnection,
    replaced: list[str],
    reports: list[SprintReport],
    issues: list[SprintReportIssue],
    raw: list[Raw],
    problems: list[Problem],
    cursor: Cursor | None = None,
) -> None:
    """Replace the reports of the sprint keys in ``replaced`` (a refetched report may hold other
    issues, or no longer parse) and save the rest, with the cursor that covers them, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        if replaced:
            for table in ("sprint_report_issues", "sprint_reports"):
                con.execute(f"DELETE FROM {table} WHERE sprint_key IN (SELECT unnest(?::VARCHAR[]))", [replaced])
        upsert(con, "sprint_reports", reports)
        upsert(con, "sprint_report_issues", issues)
        upsert(con, "raw", raw)
        upsert(con, "data_quality", problems)
        if cursor is not None:
            save_cursor(con, cursor)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
