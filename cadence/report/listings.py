"""Report sections that list things: overrunning items, learnings, and the data-quality record."""

from __future__ import annotations

import json
from typing import Any, Callable

import pandas as pd

from cadence import charts
from cadence.report import jira_check
from cadence.report.data import ReportData
from cadence.report.html import Column, esc, fmt_date, fmt_number, fmt_percent, fmt_time, raw_block, table
from cadence.report.sections import Section, charts_markup

# Listings show the newest rows first and stop here; the full lists are in the CSV files beside the report.
MAX_ROWS = 500

RULES = {
    "label": "timebox label",
    "estimate_worklog": "estimate vs time logged",
    "estimate_working_time": "estimate vs working time",
    "due_date": "due date",
    "sprint_end": "end of its sprint",
}


def _capped(frame: pd.DataFrame, order: str, what: str, csv_name: str) -> tuple[pd.DataFrame, str]:
    frame = frame.sort_values(order, ascending=False, na_position="last")
    if len(frame) <= MAX_ROWS:
        return frame, ""
    note = (
        f'<p class="meta">Showing the newest {MAX_ROWS} of {len(frame):,} {what}; '
        f"all are in <code>{esc(csv_name)}</code>.</p>"
    )
    return frame.head(MAX_ROWS), note


def _people(frame: pd.DataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    names = issues[["source", "key", "assignees"]].assign(
        people=lambda f: f["assignees"].map(lambda a: ", ".join(a) if a is not None and len(a) else "")
    )
    return frame.merge(names[["source", "key", "people"]], on=["source", "key"], how="left")


def timeboxes(data: ReportData, scrub: Callable[[Any], str], show_people: bool) -> Section:
    """The overrun rate per sprint, carry counts, and every item whose timebox ran over."""
    items = data.overruns
    if show_people and not items.empty:
        items = _people(items, data.issues)
    items, note = _capped(items, "timebox_end", "overrunning items", "report_assets/overruns.csv")
    columns = [
        Column("team", "Team"),
        Column("sprint_name", "Sprint"),
        Column("key", "Item", link="url"),
        Column("summary", "Title"),
        Column("rule", "Timebox from", lambda v: RULES.get(v, "" if v is None else str(v))),
        Column("timebox_h", "Timebox (h)", fmt_number(1)),
        Column("actual_h", "Actual (h)", fmt_number(1)),
        Column("overrun_size", "Overrun", fmt_percent),
        Column("finished", "Finished", lambda v: "yes" if v is True else "not yet"),
        Column("carry_count", "Carried over"),
    ]
    if show_people:
        columns.append(Column("people", "Assignees"))
    intro = (
        '<p class="meta">An item overruns when it finishes after its timebox expired, or is unfinished past it; '
        "it counts in the sprint "
        "in which the timebox expired. Overrun = (actual − timebox) / timebox.</p>"
    )
    named = {"overrun_rate": charts.overrun_rate(data.by_sprint), "carry_counts": charts.carry_counts(data.issues)}
    listing = f"<h3>Overrunning items ({len(data.overruns):,})</h3>" + note + table(items, columns, scrub)
    return raw_block(intro) + charts_markup(named, {}) + raw_block(listing), named


def learnings(data: ReportData, scrub: Callable[[Any], str]) -> Section:
    """Learnings per week, weeks with a learning, and each learning with its text and link."""
    rows, note = _capped(data.learnings, "occurred_at", "learnings", "report_assets/learnings.csv")
    if not rows.empty:  # "Learning", "Decision"... for marker lines; "item" for a finished spike or experiment
        rows = rows.assign(
            kind=rows["marker"].where(rows["marker"].notna(), rows["kind"]) if "marker" in rows else rows["kind"]
        )
    columns = [
        Column("team", "Team"),
        Column("sprint_name", "Sprint"),
        Column("iso_week", "Week"),
        Column("occurred_at", "When", fmt_date),
        Column("key", "Item", link="url"),
        Column("kind", "Kind"),
        Column("text", "Learning"),
    ]
    intro = (
        '<p class="meta">A learning is a finished spike, experiment or research item (not dropped), '
        "or a description or comment line starting with a marker such as <code>Learning:</code> or "
        "<code>Decision:</code>. The target is at least one every week.</p>"
    )
    named = {
        "learnings_per_week": charts.learnings_per_week(data.by_sprint),
        "weeks_with_learning": charts.weeks_with_learning(data.by_sprint),
    }
    listing = f"<h3>Every learning ({len(data.learnings):,})</h3>" + note + table(rows, columns, scrub)
    return raw_block(intro) + charts_markup(named, {}) + raw_block(listing), named


def _problem_summary(problems: pd.DataFrame) -> pd.DataFrame:
    if problems.empty:
        return problems
    grouped = problems.groupby(["source", "entity", "problem"], dropna=False)
    return (
        grouped.agg(
            count=("entity_id", "size"),
            examples=("entity_id", lambda ids: ", ".join(map(str, list(ids)[:3]))),
            detail=("detail", "first"),
            last_seen=("last_seen", "max"),
        )
        .reset_index()
        .sort_values("count", ascending=False)
    )


def _warnings(data: ReportData) -> pd.DataFrame:
    cmp = data.compare
    rows = []
    if not cmp.empty:
        flagged = cmp.loc[cmp["small_sample"].fillna(False).astype(bool) | (cmp["warning"].fillna("") != "")]
        rows.append(
            flagged.assign(where="cadence " + flagged["cadence"].astype(str), what=flagged["metric"])[
                ["where", "what", "warning", "n_sprints", "n_teams"]
            ]
        )
    if not data.switches.empty:
        sw = data.switches.loc[data.switches["warning"].fillna("") != ""]
        rows.append(
            sw.assign(
                where="team " + sw["team"].astype(str),
                what=sw["metric"],
                n_sprints=sw["n_before"] + sw["n_after"],
                n_teams=1,
            )[["where", "what", "warning", "n_sprints", "n_teams"]]
        )
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["where", "what", "warning", "n_sprints", "n_teams"])
    )


SYNC_COLUMNS = [
    Column("source", "Source"),
    Column("scope", "Scope"),
    Column("last_success_at", "Last successful sync", fmt_time),
]
def _run_sources(details: Any) -> str:
    """One phrase per source of a nightly run: what it fetched, or why it failed."""
    try:
        sources = json.loads(details or "{}").get("sources", [])
    except (TypeError, ValueError):
        return ""
    phrases = []
    for s in sources:
        outcome = (f"{s.get('items', 0)} items, {s.get('requests', 0)} requests" if s.get("ok")
                   else f"FAILED: {s.get('error')}")
        phrases.append(f"{s.get('kind')} {s.get('scope')}: {outcome}")
    return "; ".join(phrases)


RUN_COLUMNS = [
    Column("command", "Command"),
    Column("started_at", "Started", fmt_time),
    Column("ended_at", "Ended", fmt_time),
    Column("status", "Status"),
    Column("details", "Sources", _run_sources),
]
PROBLEM_COLUMNS = [
    Column("source", "Source"),
    Column("entity", "Entity"),
    Column("problem", "Problem"),
    Column("count", "Records"),
    Column("examples", "Examples"),
    Column("detail", "Detail (first)"),
    Column("last_seen", "Last seen", fmt_time),
]
GAP_COLUMNS = [
    Column("team", "Team"),
    Column("sprint_name", "Sprint"),
    Column("sprint_id", "Id"),
    Column("state", "State"),
    Column("source", "Source"),
]
WARNING_COLUMNS = [
    Column("where", "Where"),
    Column("what", "Metric"),
    Column("warning", "Warning"),
    Column("n_sprints", "Sprints"),
    Column("n_teams", "Teams"),
]
RECENT_RUNS = 20


def data_quality(data: ReportData, scrub: Callable[[Any], str]) -> Section:
    """What was synced and when, the runs, problems found in the input, gaps, and small-sample warnings."""
    runs = data.runs.sort_values("started_at", ascending=False).head(RECENT_RUNS) if not data.runs.empty else data.runs
    warnings = _warnings(data)
    parts = [
        ("Syncs", "", data.sync_status, SYNC_COLUMNS),
        (f"Recent runs ({len(data.runs):,} in all)", "", runs, RUN_COLUMNS),
        (
            f"Problems in the input ({len(data.problems):,} records)",
            "Each problem record was kept and counted; the rest of the sync went on.",
            _problem_summary(data.problems),
            PROBLEM_COLUMNS,
        ),
        (
            f"Sprints without membership history ({len(data.without_history):,})",
            "No sprint events and no snapshots: their sprint-report counts are unknown, not zero. "
            "Snapshot history builds up with each nightly sync.",
            data.without_history,
            GAP_COLUMNS,
        ),
        (f"Small samples and other warnings ({len(warnings):,})", "", warnings, WARNING_COLUMNS),
    ]
    markup = [jira_check.report_markup(data.by_sprint, data.reconciliation, scrub)] + [
        f"<h3>{esc(heading)}</h3>" + (f'<p class="meta">{esc(note)}</p>' if note else "") + table(frame, cols, scrub)
        for heading, note, frame, cols in parts
    ]
    return raw_block("\n".join(markup)), {}
