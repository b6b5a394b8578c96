"""Sprints as of a time, and sprint membership rebuilt from the membership events.

Decisions:

- A sprint's **state** is evaluated as of ``as_of``: closed once its completion time has passed
  (``completed_at``, or its planned end when the source says closed without a date), active once
  started (and not stored as future), else future. Future sprints have no counts (NaN).
- **Membership** of (item, sprint) at t is the last ``sprint_added``/``sprint_removed`` event at or
  before t (ties broken by event id). Where a source keeps no history, the first snapshot that saw
  the item in the sprint counts as its entry.
- ``committed`` = in at start; ``added`` = entered in (start, completion] and not committed;
  ``removed`` = committed or added and not in at completion; ``completed``/``carried_over`` split
  those in at completion by status category at completion. So
  committed + added - removed = completed + carried_over always holds.
- **Points** are the last ``story_points`` estimate at or before the moment (an estimate cleared
  by then is empty; with no estimate event yet, the value before the first change, else the
  item's current points): at start for committed, at entry for added, at completion for removed,
  completed and carried over. Where the team uses an estimate field, an empty estimate counts
  as 0 and a sum over no items is 0.
- **Carry count**: closed sprints whose completion found the item in the sprint and not done.
- **Sprint at a time** (for an item's start, a learning, a timebox expiry): the sprint holding the
  item at that time whose window contains it, else the item's team's sprint whose window
  [start, completion) contains it (the active sprint's window runs to its planned end or as_of).
"""

from __future__ import annotations

from cadence.metrics.sql import Context, hours
from cadence.metrics.timing import EVENT_ORDER, item_ids, status_events


def sprints_as_of(ctx: Context) -> str:
    a = ctx.as_of_sql
    return f"""
    WITH s AS (
        SELECT *, coalesce(actual_start, planned_start) AS start,
               coalesce(completed_at, CASE WHEN state = 'closed' THEN planned_end END) AS completion_time,
               (epoch(planned_end) - epoch(planned_start)) / 86400.0 AS length_days
        FROM sprints
    ),
    f AS (
        SELECT *, completion_time IS NOT NULL AND completion_time <= {a} AND start IS NOT NULL AS closed,
               start IS NOT NULL AND start <= {a} AND state IS DISTINCT FROM 'future' AS started
        FROM s
    ),
    g AS (
        SELECT *,
            CASE WHEN closed THEN 'closed' WHEN started THEN 'active' ELSE 'future' END AS state_as_of,
            CASE WHEN closed THEN completion_time WHEN started THEN {a} END AS completion,
            CASE WHEN closed THEN (epoch(completion_time) - epoch(start)) / 86400.0 END AS actual_length_days,
            CASE WHEN round(length_days / 7) IN (1, 2, 3) THEN round(length_days / 7)::INTEGER END
                AS cadence_weeks
        FROM f
    )
    SELECT sprint_key, source, team, sprint_id, name AS sprint_name, state_as_of AS state, goal,
           planned_start, planned_end, actual_start, completed_at, start, planned_end AS "end",
           completion, length_days, cadence_weeks,
           CASE WHEN cadence_weeks IS NULL THEN 'other' ELSE cadence_weeks || 'w' END AS cadence,
           actual_length_days,
           coalesce(closed AND actual_length_days IS NOT NULL AND length_days IS NOT NULL AND (
               round(actual_length_days / 7) <> round(length_days / 7)
               OR abs(actual_length_days - length_days) > 1), FALSE) AS length_mismatch,
           CASE WHEN closed THEN {hours('completed_at', 'planned_end')} END AS late_close_h,
           coalesce(CASE WHEN length_days > 0 THEN length_days END, actual_length_days) / 7.0 AS weeks,
           CASE WHEN closed THEN completion
                WHEN started THEN greatest(coalesce(planned_end, {a}), {a}) END AS window_end
    FROM g
    """


def member_events(ctx: Context) -> str:
    a = ctx.as_of_sql
    ids = ctx.ensure("ids", item_ids)
    return f"""
    WITH ev AS (
        SELECT source, key, CASE kind WHEN 'sprint_added' THEN to_id ELSE from_id END AS sprint_key,
               occurred_at, event_id, initial, kind = 'sprint_added' AS is_in
        FROM events WHERE kind IN ('sprint_added', 'sprint_removed') AND occurred_at <= {a}
    ),
    snap AS (
        SELECT sn.source, sn.key, sn.sprint_key, min(sn.seen_at) AS occurred_at, 'snapshot' AS event_id,
               FALSE AS initial, TRUE AS is_in
        FROM snapshots sn
        WHERE sn.seen_at <= {a} AND NOT EXISTS (
            SELECT 1 FROM ev WHERE ev.source = sn.source AND ev.key = sn.key AND ev.sprint_key = sn.sprint_key)
        GROUP BY ALL
    ),
    alle AS (SELECT * FROM ev WHERE sprint_key IS NOT NULL UNION ALL SELECT * FROM snap),
    o AS (
        SELECT *, row_number() OVER w AS seq, lag(is_in) OVER w AS prev_in, lead(occurred_at) OVER w AS next_at
        FROM alle WINDOW w AS (PARTITION BY source, key, sprint_key ORDER BY {EVENT_ORDER})
    )
    SELECT o.*, ids.iid FROM o JOIN {ids} ids USING (source, key)
    """


def membership_flags(ctx: Context) -> str:
    """One row per (item, started sprint) the item was ever in, with its report flags."""
    ev = ctx.ensure("member_ev", member_events)
    sp = ctx.ensure("sprints", sprints_as_of)
    status = ctx.ensure("status", status_events)
    return f"""
    WITH m AS (
        SELECT e.iid, e.source, e.key, e.sprint_key, sp.start, sp.completion, sp.state,
            coalesce(arg_max(e.is_in, e.seq) FILTER (WHERE e.occurred_at <= sp.start), FALSE) AS committed,
            coalesce(arg_max(e.is_in, e.seq) FILTER (WHERE e.occurred_at <= sp.completion), FALSE) AS at_completion,
            min(e.occurred_at) FILTER (WHERE e.is_in AND e.prev_in IS NOT TRUE
                AND e.occurred_at > sp.start AND e.occurred_at <= sp.completion) AS entered_at
        FROM {ev} e JOIN {sp} sp USING (sprint_key)
        WHERE sp.completion IS NOT NULL
        GROUP BY ALL
    ),
    f AS (
        SELECT *, NOT committed AND entered_at IS NOT NULL AS added,
               (committed OR entered_at IS NOT NULL) AND NOT at_completion AS removed
        FROM m WHERE committed OR entered_at IS NOT NULL OR at_completion
    ),
    -- The status at an instant is the last of the changes made in it (a drag from In Progress to Done
    -- in one second is done), so ties on time are settled by the status order before the ASOF join.
    last AS (SELECT iid, occurred_at, category FROM {status} WHERE next_at IS DISTINCT FROM occurred_at)
    SELECT f.*, coalesce(s.category = 'done', FALSE) AS done_at_completion
    FROM f ASOF LEFT JOIN last s ON f.iid = s.iid AND f.completion >= s.occurred_at
    """


def membership(ctx: Context) -> str:
    """The membership flags with story points at start, at entry and at completion.

    A point lookup finds the last estimate at or before the moment; an estimate cleared before
    then is empty (it does not fall back). With no estimate event yet, the item's points before
    its first change apply (``points_before``).
    """
    d = ctx.ensure("member_flags", membership_flags)
    est = ctx.ensure("points", points_events)
    lookups = {"points_at_start": "start", "points_at_completion": "completion", "points_at_entry": "entered_at"}
    ctes = ",\n".join(
        f"""{name} AS (SELECT d.iid, d.sprint_key, p.points AS {name}, TRUE AS {name}_found
            FROM {d} d ASOF JOIN {est} p ON d.iid = p.iid AND d.{moment} >= p.occurred_at)"""
        for name, moment in lookups.items())
    picks = ", ".join(
        f"CASE WHEN {name}.{name}_found THEN {name}.{name} ELSE b.points_before END AS {name}" for name in lookups)
    return f"""
    WITH {ctes}
    SELECT d.*, {picks}, b.points_known
    FROM {d} d {" ".join(f"LEFT JOIN {name} USING (iid, sprint_key)" for name in lookups)}
    LEFT JOIN _cad_points_before b USING (iid)
    """


def points_events(ctx: Context) -> str:
    """Story-point changes, and (as a side table) each item's points before its first change.

    ``points_known``: the item's team uses an estimate field (some item of the team has points or
    an estimate event), so an empty estimate counts as 0 and a sum over no items is 0, not NULL.
    """
    a = ctx.as_of_sql
    ids = ctx.ensure("ids", item_ids)
    ctx.ensure("points_before", lambda c: f"""
        -- arg_min skips NULLs: the value goes in a struct, so that a first change from "unset"
        -- keeps its empty value. The order is the vendor's (EVENT_ORDER).
        WITH firsts AS (
            SELECT source, key,
                   arg_min({{'v': TRY_CAST(from_value AS DOUBLE)}},
                           (occurred_at, NOT coalesce(initial, FALSE), length(event_id), event_id)).v AS before
            FROM events WHERE kind = 'estimate' AND field = 'story_points' GROUP BY ALL
        ),
        known AS (
            SELECT DISTINCT i.source, i.team FROM items i LEFT JOIN firsts f USING (source, key)
            WHERE i.story_points IS NOT NULL OR f.key IS NOT NULL
        )
        SELECT ids.iid, CASE WHEN f.key IS NOT NULL THEN f.before ELSE i.story_points END AS points_before,
               k.source IS NOT NULL AS points_known
        FROM items i JOIN {ids} ids USING (source, key) LEFT JOIN firsts f USING (source, key)
        LEFT JOIN known k ON k.source = i.source AND k.team IS NOT DISTINCT FROM i.team
    """)
    return f"""
        SELECT ids.iid, e.occurred_at, TRY_CAST(e.to_value AS DOUBLE) AS points
        FROM events e JOIN {ids} ids USING (source, key)
        WHERE e.kind = 'estimate' AND e.field = 'story_points' AND e.occurred_at <= {a}
    """


def carry_counts(ctx: Context) -> str:
    mem = ctx.ensure("member_flags", membership_flags)
    return f"""
        SELECT source, key, count(*) AS carry_count FROM {mem}
        WHERE state = 'closed' AND at_completion AND NOT done_at_completion GROUP BY ALL
    """


def team_windows(ctx: Context) -> str:
    """Started sprints with a team: team, sprint_key, start, window_end."""
    sp = ctx.ensure("sprints", sprints_as_of)
    return f"""
        SELECT team, sprint_key, start, window_end FROM {sp}
        WHERE team IS NOT NULL AND start IS NOT NULL AND window_end IS NOT NULL
    """


def sprint_at(ctx: Context, rows: str) -> str:
    """SQL adding ``sprint_key`` to ``rows`` (which need unique rid, and source, key, team, t)."""
    ev = ctx.ensure("member_ev", member_events)
    sp = ctx.ensure("sprints", sprints_as_of)
    team_sp = ctx.ensure("team_sprints", team_windows)
    return f"""
    WITH r AS MATERIALIZED ({rows}),
    held AS MATERIALIZED (
        SELECT r.rid, arg_max(sp.sprint_key, sp.start) AS sprint_key FROM r
        JOIN {ev} iv ON iv.source = r.source AND iv.key = r.key AND iv.is_in
            AND iv.occurred_at <= r.t AND (iv.next_at IS NULL OR r.t < iv.next_at)
        JOIN {sp} sp ON sp.sprint_key = iv.sprint_key AND sp.start <= r.t AND r.t < sp.window_end
        GROUP BY r.rid
    ),
    by_team AS (
        SELECT rest.rid, ts.sprint_key FROM (SELECT * FROM r ANTI JOIN held USING (rid)) rest
        ASOF JOIN {team_sp} ts ON rest.team = ts.team AND rest.t >= ts.start
        WHERE rest.t < ts.window_end
    ),
    found AS (SELECT * FROM held UNION ALL SELECT * FROM by_team)
    SELECT r.*, found.sprint_key FROM r LEFT JOIN found USING (rid)
    """
