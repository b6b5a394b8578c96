"""How our sprint report compares with Jira's own: the report's data-quality opening and the deck's line.

The numbers come from ``by_sprint.jira_report`` (agrees | differs | unavailable per closed Jira
sprint) and ``reconciliation_keys`` (each key one side only counts, its likely cause and link).
"N of M" counts the closed sprints that have a Jira report to compare; those without one are said
apart, with where to look (the board's data-quality note).
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from cadence.report import pptx_parts as pp
from cadence.report.html import Column, esc, table

MAX_KEYS = 500  # rows of the differences table; the rest are in wh.reconciliation_keys()
SIDES = {"ours": "only cadence", "jira": "only Jira"}
KEY_COLUMNS = [
    Column("sprint", "Sprint"),
    Column("count", "Count"),
    Column("numbers", "cadence / Jira"),
    Column("key", "Issue", link="url"),
    Column("counted_by", "Counted by"),
    Column("cause", "Likely cause"),
]


def _verdicts(by_sprint: pd.DataFrame) -> pd.Series:
    if "jira_report" not in by_sprint:
        return pd.Series(dtype="string")
    closed = by_sprint.loc[by_sprint["state"] == "closed"]
    return closed["jira_report"].dropna()


def summary_line(by_sprint: pd.DataFrame) -> str:
    """``N of M closed sprints agree with Jira's Sprint Report.``, plus what could not be compared."""
    verdicts = _verdicts(by_sprint)
    compared = verdicts.isin(["agrees", "differs"])
    if verdicts.empty:
        return "No closed Jira sprint, so nothing is compared with Jira's Sprint Report."
    agreeing, compared_n = int((verdicts == "agrees").sum()), int(compared.sum())
    line = f"{agreeing} of {compared_n} closed sprints agree with Jira's Sprint Report."
    missing = int((verdicts == "unavailable").sum())
    if missing:
        line += (f" {missing} more closed Jira sprint{'s have' if missing > 1 else ' has'} no Sprint Report from Jira "
                 "to compare (see the board's note under Problems in the input).")
    return line


def _keys(keys: pd.DataFrame, scrub: Callable[[Any], str]) -> pd.DataFrame:
    return keys.assign(
        sprint=[f"{scrub(t)}: {scrub(n) or i} ({i})"
                for t, n, i in zip(keys["team"], keys["sprint_name"], keys["sprint_id"])],
        numbers=keys["ours"].astype(str) + " / " + keys["jira"].astype(str),
        counted_by=keys["side"].map(SIDES),
    )


def report_markup(by_sprint: pd.DataFrame, keys: pd.DataFrame, scrub: Callable[[Any], str]) -> str:
    """The opening of the data-quality section: the summary line, then every difference with its issues."""
    parts = [f'<h3>Jira\'s own Sprint Report</h3><p id="jira-report-summary"><b>{esc(summary_line(by_sprint))}</b></p>']
    if not keys.empty:
        shown = _keys(keys.head(MAX_KEYS), scrub)
        more = (f'<p class="meta">Showing the first {MAX_KEYS} of {len(keys):,} issues; '
                "all are in <code>wh.reconciliation_keys()</code>.</p>") if len(keys) > MAX_KEYS else ""
        parts.append(
            '<p class="meta">Each issue that only one side counts, with the likely cause worked out from its '
            "history. Jira's completed is the board's rightmost column at the close; ours is the status "
            "category done.</p>" + more + table(shown, KEY_COLUMNS, scrub)
        )
    return "\n".join(parts)


def scorecard_line(sprint: pd.Series, keys: pd.DataFrame) -> str | None:
    """One line for the retro scorecard; None for a sprint that has no Jira report to expect."""
    verdict = sprint.get("jira_report")
    if verdict is None or pd.isna(verdict):
        return None
    if verdict == "agrees":
        return "Matches Jira's Sprint Report on every count."
    if verdict == "unavailable":
        return "Jira's Sprint Report for this sprint could not be fetched, so it is not compared."
    mine = keys.loc[keys["sprint_key"] == sprint.get("sprint_key")]
    counts = mine.drop_duplicates("count")
    differences = ", ".join(f"{c.replace('_', ' ')} {o} (Jira {j})" for c, o, j in
                            zip(counts["count"], counts["ours"], counts["jira"]))
    return f"Differs from Jira's Sprint Report: {differences or 'see the report'}. Causes are in the report."


def add_to_scorecard(slide: Any, sprint: pd.Series, keys: pd.DataFrame) -> list[str]:
    """Put the scorecard line under the scorecard table; return it for the notes (empty when none)."""
    line = scorecard_line(sprint, keys)
    if line:
        pp.bullets(slide, [line], pp.Box(8.3, 5.0, 4.6, 1.6), size=12)
    return [line] if line else []
