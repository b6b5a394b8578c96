"""Saving Jira's Sprint Reports: parsed rows, raw payloads and notes, in one transaction."""

from __future__ import annotations

import duckdb

from cadence.records import Problem, Raw, SprintReport, SprintReportIssue
from cadence.warehouse.write import rollback, upsert


def save_sprint_reports(
    con: duckdb.DuckDBPyConnection,
    reports: list[SprintReport],
    issues: list[SprintReportIssue],
    raw: list[Raw],
    problems: list[Problem],
) -> None:
    """Save the reports (each replacing its sprint's earlier one and all of its issues: a refetched
    report may list other issues, or no longer parse), their raw payloads and notes, in one transaction."""
    replaced = [r["sprint_key"] for r in reports]
    con.execute("BEGIN TRANSACTION")
    try:
        if replaced:
            con.execute("DELETE FROM sprint_report_issues WHERE sprint_key IN (SELECT unnest(?::VARCHAR[]))",
                        [replaced])
        upsert(con, "sprint_reports", reports)
        upsert(con, "sprint_report_issues", issues)
        upsert(con, "raw", raw)
        upsert(con, "data_quality", problems)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
