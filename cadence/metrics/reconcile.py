"""Our sprint report against Jira's own (``reconciliation``, ``reconciliation_keys``, ``jira_report``).

How Jira's Sprint Report maps onto our counts (see docs/jira-sprint-report.md):

============== ================================================ ===========================================
count          Jira's report                                    ours (``membership_flags``)
============== ================================================ ===========================================
committed      every listed issue not in issueKeysAddedDuring-   in the sprint at its start
               Sprint, in any section (punted ones too)
added          the issues in issueKeysAddedDuringSprint          entered after the start, not committed
removed        puntedIssues                                      in it during the sprint, not at completion
completed      completedIssues (board's rightmost column)        in it at completion, status category done
carried_over   issuesNotCompletedInCurrentSprint                 in it at completion, not done
============== ================================================ ===========================================

``issuesCompletedInAnotherSprint`` counts in committed or added only: Jira sets those issues apart,
while we count them completed when they are done and in the sprint at its completion.

Decisions:

- Agreement is on **keys**, not numbers: a count agrees when both sides name the same issues.
- Only sprints closed as of ``as_of`` with a parsed report are compared. ``jira_report`` is
  ``agrees`` or ``differs`` for those, ``unavailable`` for other closed Jira sprints, and missing
  for sprints that are not closed or not from Jira.
- The board's last column is the rightmost column of its configuration *now* (the last one that
  has statuses); Jira used the columns as they were at the close.
- Each key on one side only gets the first cause that fits, in the order of ``CAUSES``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.metrics.membership import membership_flags, sprints_as_of
from cadence.metrics.sql import Context, lit
from cadence.metrics.timing import item_ids, status_events

COUNTS = ("committed", "added", "removed", "completed", "carried_over")
NEAR_S = 60  # "the same minute": Jira shows and edits sprint times to the minute

# Both sides hold the key at the close and only split it between completed and carried over.
AT_CLOSE = "f.count IN ('completed', 'carried_over') AND f.ours_at_close AND f.jira_at_close"
# (name, SQL condition over the facts f, message). The first that holds is the key's cause.
CAUSES = [
    ("unknown_issue", "NOT f.known",
     "unknown issue: not in the warehouse (outside the synced projects, moved or deleted)"),
    ("changelog_incomplete", "f.changelog_incomplete",
     "changelog incomplete: Jira sent fewer histories than the issue has (see data quality)"),
    ("subtask", "f.side = 'ours' AND f.subtask",
     "a sub-task: Jira's Sprint Report lists parent issues only"),
    ("completed_before_start", "f.count = 'completed' AND f.side = 'ours' AND f.other_sprint AND f.done_at_start",
     "completed before the sprint started (Jira lists it apart, as completed outside this sprint)"),
    ("completed_outside", "f.count = 'completed' AND f.side = 'ours' AND f.other_sprint",
     "completed outside this sprint (Jira lists it apart)"),
    ("done_not_last_column", f"{AT_CLOSE} AND f.ours_done AND f.last_column IS NOT NULL AND NOT f.in_last_column",
     "done in a status that is not the board's last column ({status})"),
    ("last_column_not_done", f"{AT_CLOSE} AND NOT f.ours_done AND f.in_last_column",
     "in the board's last column, in a status whose category is not done ({status})"),
    ("start_minute", f"f.count IN ('committed', 'added') AND f.start_gap_s < {NEAR_S}",
     "added at the start minute: its Sprint change is within a minute of the sprint's start"),
    ("before_activation", "f.count IN ('committed', 'added') AND f.between_starts",
     "added between the sprint's planned start and the moment it was started"),
    ("created_inside", "f.created_inside AND NOT f.has_sprint_events",
     "created inside the sprint: no changelog entry records the Sprint it was created with"),
    ("close_minute", f"f.close_gap_s < {NEAR_S}",
     "changed at the close minute: a status or Sprint change within a minute of the close"),
    ("no_sprint_history", "NOT f.has_sprint_events",
     "no Sprint change in its history for this sprint: when, or whether, it joined is not recorded"),
]
UNEXPLAINED = "unexplained"


def reported_sprints(ctx: Context) -> str:
    """Sprints closed as of ``as_of`` that have a parsed Jira report, with their report's board."""
    sp = ctx.ensure("sprints", sprints_as_of)
    return f"""
        SELECT sp.sprint_key, sp.team, sp.sprint_id, sp.sprint_name, sp.start, sp.planned_start, sp.actual_start,
               sp.completion, r.board_id
        FROM {sp} sp JOIN sprint_reports r USING (sprint_key)
        WHERE sp.state = 'closed' AND sp.source = 'jira' AND r.status = 'parsed'
    """


def _jira_keys(ctx: Context) -> str:
    rep = ctx.ensure("recon_sprints", reported_sprints)
    return f"""
        WITH r AS (SELECT i.* FROM sprint_report_issues i SEMI JOIN {rep} USING (sprint_key))
        SELECT DISTINCT sprint_key, 'committed' AS count, key FROM r WHERE NOT added_during_sprint
        UNION SELECT sprint_key, 'added', key FROM r WHERE added_during_sprint
        UNION SELECT sprint_key, 'removed', key FROM r WHERE section = 'punted'
        UNION SELECT sprint_key, 'completed', key FROM r WHERE section = 'completed'
        UNION SELECT sprint_key, 'carried_over', key FROM r WHERE section = 'not_completed'
    """


def _our_keys(ctx: Context) -> str:
    rep = ctx.ensure("recon_sprints", reported_sprints)
    mem = ctx.ensure("member_flags", membership_flags)
    return f"""
        WITH m AS (SELECT f.* FROM {mem} f SEMI JOIN {rep} USING (sprint_key) WHERE f.source = 'jira')
        SELECT sprint_key, 'committed' AS count, key FROM m WHERE committed
        UNION ALL SELECT sprint_key, 'added', key FROM m WHERE added
        UNION ALL SELECT sprint_key, 'removed', key FROM m WHERE removed
        UNION ALL SELECT sprint_key, 'completed', key FROM m WHERE at_completion AND done_at_completion
        UNION ALL SELECT sprint_key, 'carried_over', key FROM m WHERE at_completion AND NOT done_at_completion
    """


def compared(ctx: Context) -> str:
    """One row per (reported sprint, count, key) either side counts: ``ours``, ``jira`` (booleans)."""
    ours, jira = ctx.ensure("recon_ours", _our_keys), ctx.ensure("recon_jira", _jira_keys)
    return f"""
        SELECT coalesce(o.sprint_key, j.sprint_key) AS sprint_key, coalesce(o.count, j.count) AS count,
               coalesce(o.key, j.key) AS key, o.key IS NOT NULL AS ours, j.key IS NOT NULL AS jira
        FROM {ours} o FULL OUTER JOIN {jira} j ON o.sprint_key = j.sprint_key AND o.count = j.count AND o.key = j.key
    """


def verdicts(ctx: Context) -> str:
    """``sprint_key, jira_report``: agrees | differs | unavailable (closed Jira sprints only)."""
    sp = ctx.ensure("sprints", sprints_as_of)
    rep = ctx.ensure("recon_sprints", reported_sprints)
    pairs = ctx.ensure("recon_pairs", compared)
    return f"""
        WITH differs AS (SELECT sprint_key, bool_or(ours <> jira) AS differs FROM {pairs} GROUP BY ALL)
        SELECT sp.sprint_key,
            CASE WHEN rep.sprint_key IS NULL THEN 'unavailable'
                 WHEN coalesce(d.differs, FALSE) THEN 'differs' ELSE 'agrees' END AS jira_report
        FROM {sp} sp LEFT JOIN {rep} rep USING (sprint_key) LEFT JOIN differs d USING (sprint_key)
        WHERE sp.state = 'closed' AND sp.source = 'jira'
    """


def jira_report(ctx: Context) -> pd.Series:
    """sprint_key -> agrees | differs | unavailable, for the closed Jira sprints."""
    frame = ctx.df(f"SELECT * FROM {ctx.ensure('recon_verdicts', verdicts)}")
    return frame.set_index("sprint_key")["jira_report"].astype("string")


def _last_columns(ctx: Context) -> str:
    """Board id -> the status ids of its rightmost column that has any (board configuration)."""
    columns = "STRUCT(name VARCHAR, statuses STRUCT(id VARCHAR)[])[]"
    return f"""
        SELECT entity_id AS board_id, list_transform(list_filter(
                   TRY_CAST(payload->'$.columnConfig.columns' AS {columns}), lambda c: len(c.statuses) > 0
               )[-1].statuses, lambda s: s.id) AS last_column
        FROM raw WHERE source = 'jira' AND entity = 'board_configuration'
    """


def _differing(ctx: Context) -> str:
    """The (sprint, count, key) that one side only counts, with the sprint's times and board."""
    rep = ctx.ensure("recon_sprints", reported_sprints)
    pairs = ctx.ensure("recon_pairs", compared)
    return f"""
        SELECT p.sprint_key, p.count, p.key, CASE WHEN p.ours THEN 'ours' ELSE 'jira' END AS side,
               r.start, r.planned_start, r.actual_start, r.completion, r.board_id
        FROM {pairs} p JOIN {rep} r USING (sprint_key) WHERE p.ours <> p.jira
    """


def _history(ctx: Context) -> str:
    """Per differing (sprint, key): the item, its Sprint and status changes near the start and close."""
    diff = ctx.ensure("recon_diff", _differing)
    status = ctx.ensure("status", status_events)
    ids = ctx.ensure("ids", item_ids)
    return f"""
    WITH dk AS (SELECT DISTINCT sprint_key, key, start, planned_start, actual_start, completion FROM {diff}),
    item AS (SELECT i.key, i.created, i.status_id, ids.iid FROM items i JOIN {ids} ids USING (source, key)
             WHERE i.source = 'jira' AND i.key IN (SELECT key FROM dk)),
    -- Sprint changes the changelog records: not the values rebuilt at creation (``initial``).
    mev AS (SELECT dk.sprint_key, dk.key, min(abs(epoch(e.occurred_at) - epoch(dk.start))) AS start_gap_s,
                   min(abs(epoch(e.occurred_at) - epoch(dk.completion))) AS member_close_gap_s,
                   bool_or(e.occurred_at > least(dk.planned_start, dk.actual_start)
                           AND e.occurred_at <= greatest(dk.planned_start, dk.actual_start)) AS between_starts
            FROM dk JOIN events e ON e.source = 'jira' AND e.key = dk.key
                AND e.kind IN ('sprint_added', 'sprint_removed')
                AND dk.sprint_key = CASE e.kind WHEN 'sprint_added' THEN e.to_id ELSE e.from_id END
                AND NOT coalesce(e.initial, FALSE) AND e.occurred_at <= {ctx.as_of_sql}
            GROUP BY ALL),
    -- The status at the close: the last change before it, else the value before the first change
    -- (Jira never records creation values), else the current one.
    sev AS (SELECT dk.sprint_key, dk.key, min(abs(epoch(e.occurred_at) - epoch(dk.completion))) AS status_close_gap_s,
                   arg_max(e.to_id, (e.occurred_at, e.event_id)) FILTER (WHERE e.occurred_at <= dk.completion)
                       AS last_to,
                   arg_min(e.from_id, (e.occurred_at, e.event_id)) AS first_from
            FROM dk JOIN events e ON e.source = 'jira' AND e.key = dk.key AND e.kind = 'status' GROUP BY ALL),
    at_start AS (SELECT dk.sprint_key, dk.key, s.category = 'done' AS done_at_start
                 FROM dk JOIN item USING (key) ASOF JOIN {status} s ON s.iid = item.iid AND dk.start >= s.occurred_at)
    SELECT dk.sprint_key, dk.key, item.key IS NOT NULL AS known,
           coalesce(item.created > dk.start AND item.created <= dk.completion, FALSE) AS created_inside,
           coalesce(at_start.done_at_start, FALSE) AS done_at_start,
           coalesce(sev.last_to, sev.first_from, item.status_id) AS status_id_at_close,
           coalesce(mev.start_gap_s, 1e18) AS start_gap_s, coalesce(mev.between_starts, FALSE) AS between_starts,
           mev.key IS NOT NULL AS has_sprint_events,
           coalesce(least(mev.member_close_gap_s, sev.status_close_gap_s), 1e18) AS close_gap_s
    FROM dk LEFT JOIN item USING (key) LEFT JOIN mev USING (sprint_key, key) LEFT JOIN sev USING (sprint_key, key)
    LEFT JOIN at_start USING (sprint_key, key)
    """


def _facts(ctx: Context) -> str:
    """What the history, the report and the board say about each key counted on one side only."""
    diff = ctx.ensure("recon_diff", _differing)
    hist = ctx.ensure("recon_history", _history)
    mem = ctx.ensure("member_flags", membership_flags)
    cols = ctx.ensure("recon_columns", _last_columns)
    return f"""
    WITH flags AS (SELECT sprint_key, key, at_completion, done_at_completion FROM {mem} WHERE source = 'jira'),
    listed AS (SELECT sprint_key, key, bool_or(section IN ('completed', 'not_completed')) AS jira_at_close,
                      bool_or(section = 'completed_in_another_sprint') AS other_sprint
               FROM sprint_report_issues i SEMI JOIN {diff} d USING (sprint_key, key) GROUP BY ALL),
    subtask AS (SELECT entity_id AS key, TRY_CAST(payload->>'$.fields.issuetype.subtask' AS BOOLEAN) AS subtask
                FROM raw WHERE source = 'jira' AND entity = 'issue' AND entity_id IN (SELECT key FROM {diff})),
    incomplete AS (SELECT DISTINCT entity_id AS key FROM data_quality
                   WHERE source = 'jira' AND entity = 'issue' AND problem = 'changelog_incomplete')
    SELECT d.*, h.* EXCLUDE (sprint_key, key), incomplete.key IS NOT NULL AS changelog_incomplete,
           coalesce(subtask.subtask, FALSE) AS subtask, coalesce(listed.other_sprint, FALSE) AS other_sprint,
           coalesce(listed.jira_at_close, FALSE) AS jira_at_close,
           coalesce(flags.done_at_completion, FALSE) AS ours_done,
           coalesce(flags.at_completion, FALSE) AS ours_at_close,
           coalesce(st.name, h.status_id_at_close) AS status_at_close, c.last_column,
           coalesce(list_contains(c.last_column, h.status_id_at_close), FALSE) AS in_last_column
    FROM {diff} d JOIN {hist} h USING (sprint_key, key)
    LEFT JOIN incomplete USING (key) LEFT JOIN subtask USING (key) LEFT JOIN listed USING (sprint_key, key)
    LEFT JOIN flags USING (sprint_key, key) LEFT JOIN {cols} c USING (board_id)
    LEFT JOIN statuses st ON st.source = 'jira' AND st.status_id = h.status_id_at_close
    """


def _cause_sql() -> str:
    """The CASE that names each key's cause; ``{status}`` in a message is the status at the close."""
    def text(message: str) -> str:
        head, placeholder, tail = message.partition("{status}")
        if not placeholder:
            return lit(message)
        return f"{lit(head)} || coalesce(f.status_at_close, 'unknown') || {lit(tail)}"

    whens = " ".join(f"WHEN {cond} THEN {text(message)}" for _, cond, message in CAUSES)
    return f"CASE {whens} ELSE {lit(UNEXPLAINED)} END"


def _totals(ctx: Context) -> str:
    """One row per reported sprint and count: ours, jira."""
    rep = ctx.ensure("recon_sprints", reported_sprints)
    pairs = ctx.ensure("recon_pairs", compared)
    counts = ", ".join(f"('{c}', {n})" for n, c in enumerate(COUNTS))
    return f"""
        SELECT r.team, r.sprint_key, r.sprint_id, r.sprint_name, r.board_id, r.start, c.count, c.n AS count_order,
               count(p.key) FILTER (WHERE p.ours) AS ours, count(p.key) FILTER (WHERE p.jira) AS jira
        FROM {rep} r CROSS JOIN (VALUES {counts}) c(count, n)
        LEFT JOIN {pairs} p ON p.sprint_key = r.sprint_key AND p.count = c.count
        GROUP BY ALL
    """


def reconciliation_keys(ctx: Context) -> pd.DataFrame:
    """One row per key that one side counts and the other does not, with its likely cause and link."""
    facts = ctx.ensure("recon_facts", _facts)
    totals = ctx.ensure("recon_totals", _totals)
    return ctx.df(f"""
        WITH base AS (SELECT regexp_replace(any_value(url), '/browse/[^/]*$', '') AS base FROM items
                      WHERE source = 'jira' AND url LIKE '%/browse/%')
        SELECT t.team, t.sprint_key, t.sprint_id, t.sprint_name, t.board_id, f.count, t.ours, t.jira, f.key, f.side,
               {_cause_sql()} AS cause, coalesce(i.url, base.base || '/browse/' || f.key) AS url
        FROM {facts} f JOIN {totals} t USING (sprint_key, count)
        LEFT JOIN items i ON i.source = 'jira' AND i.key = f.key CROSS JOIN base
        ORDER BY t.team, t.start, t.sprint_key, t.count_order, f.side DESC, f.key
    """)


def reconciliation(ctx: Context) -> pd.DataFrame:
    """One row per reported sprint and count: ours, jira, agrees, the keys on one side only, their causes."""
    facts = ctx.ensure("recon_facts", _facts)
    totals = ctx.ensure("recon_totals", _totals)
    frame = ctx.df(f"""
        WITH k AS (SELECT f.sprint_key, f.count, f.key, f.side, {_cause_sql()} AS cause FROM {facts} f),
        agg AS (
            SELECT sprint_key, count, list(key ORDER BY key) FILTER (WHERE side = 'ours') AS only_ours,
                   list(key ORDER BY key) FILTER (WHERE side = 'jira') AS only_jira,
                   map(list(key ORDER BY key), list(cause ORDER BY key)) AS causes
            FROM k GROUP BY ALL
        )
        SELECT t.team, t.sprint_key, t.sprint_id, t.sprint_name, t.board_id, t.count, t.ours, t.jira,
               agg.sprint_key IS NULL AS agrees, agg.only_ours, agg.only_jira, agg.causes
        FROM {totals} t LEFT JOIN agg USING (sprint_key, count)
        ORDER BY t.team, t.start, t.sprint_key, t.count_order
    """)
    for column in ("only_ours", "only_jira"):
        frame[column] = [list(v) if isinstance(v, (list, np.ndarray)) else [] for v in frame[column]]
    frame["causes"] = [v if isinstance(v, dict) else {} for v in frame["causes"]]
    frame["ours"], frame["jira"] = frame["ours"].astype("Int64"), frame["jira"].astype("Int64")
    return frame
