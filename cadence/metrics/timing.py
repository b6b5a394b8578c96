"""Item timing: status categories by id, start, finish, cycle time (``issues``).

Decisions, where PRODUCT.md leaves room:

- **Category of a status event**: ``config.statuses`` by status id, then by name (case-insensitive),
  then the ``statuses`` table by (source, id), then the event's own ``to_category``, then the
  ``statuses`` table by name. Ids come first so that a status renamed mid-history keeps its
  category. An event whose category stays unknown is ignored for timing.
- **Start** is the first entry into in progress or done; an item whose first such entry is done
  went straight to done and is flagged (``straight_to_done``). ``start_signal`` says what gave
  it: ``status`` (a Jira status change), ``created`` (the status the item was created with),
  GitHub's ``assignee_pr``, ``label``, ``opened`` and ``state`` (exact, from timeline events),
  ``project_status`` (approximate: GitHub keeps only the current Projects status and when it was
  set), or ``no_history`` (approximate: an item imported without status events).
- **Finish** is the last transition from a not-done category into done, when the item is still
  done at ``as_of``. Done -> Closed (done to done) is not a new finish; an item reopened and not
  done again is unfinished.
- **Items without status events** (imports without history) fall back to their current category:
  in progress (or done) from ``created``, done at ``resolved`` (else ``updated``, else ``created``).
  These synthetic transitions have no actor and never count as feedback.
- Only events at or before ``as_of`` count; items created after ``as_of`` do not exist yet.
"""

from __future__ import annotations

import pandas as pd

from cadence.metrics.sql import Context, hours, lit

CATEGORY_VALUES = "('new', 'in_progress', 'done')"


def _overrides(ctx: Context) -> str:
    rows = [f"({lit(k)}, {lit(k.lower())}, {lit(v)})" for k, v in ctx.config.statuses.items()]
    if not rows:
        return "SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS lname, NULL::VARCHAR AS category WHERE FALSE"
    return f"SELECT * FROM (VALUES {', '.join(rows)}) v(id, lname, category)"


def _mapped(alias: str, id_col: str, name_col: str, own_category: str) -> tuple[str, str]:
    """Joins and the category expression for status ``id_col``/``name_col`` of ``alias``."""
    joins = f"""
        LEFT JOIN ov ov_id_{alias} ON ov_id_{alias}.id = {alias}.{id_col}
        LEFT JOIN ov_names ov_nm_{alias} ON ov_nm_{alias}.lname = lower({alias}.{name_col})
        LEFT JOIN statuses st_{alias} ON st_{alias}.source = {alias}.source AND st_{alias}.status_id = {alias}.{id_col}
        LEFT JOIN status_names sn_{alias} ON sn_{alias}.source = {alias}.source AND sn_{alias}.lname = lower({alias}.{name_col})
    """
    expr = (
        f"coalesce(ov_id_{alias}.category, ov_nm_{alias}.category, st_{alias}.category, "
        f"{own_category}, sn_{alias}.category)"
    )
    return joins, expr


def item_ids(ctx: Context) -> str:
    """A small integer per item: joins on it are about twice as fast as on (source, key)."""
    return "SELECT source, key, row_number() OVER (ORDER BY source, key)::INTEGER AS iid FROM items"


# Changes in one second keep the vendor's order: creation values first, then by event id, shorter
# first, so Jira's "KEY:history:item" ids sort by history number (9 before 10) and not as text.
EVENT_ORDER = "occurred_at, initial DESC, length(event_id), event_id"


def status_events(ctx: Context) -> str:
    """Categorised status transitions, with synthetic ones for items that have no history."""
    a = ctx.as_of_sql
    ids = ctx.ensure("ids", item_ids)
    ev_joins, ev_cat = _mapped("e", "to_id", "to_value", "e.to_category")
    it_joins, it_cat = _mapped("i", "status_id", "status", "i.status_category")
    return f"""
    WITH ov AS ({_overrides(ctx)}),
    ov_names AS (SELECT lname, any_value(category) AS category FROM ov GROUP BY lname),
    status_names AS (
        SELECT source, lower(name) AS lname, any_value(category) AS category FROM statuses
        WHERE name IS NOT NULL AND category IS NOT NULL GROUP BY ALL
    ),
    real AS (
        SELECT e.source, e.key, e.occurred_at, e.event_id, e.actor, e.actor_kind, e.initial,
               {ev_cat} AS category, FALSE AS synthetic,
               CASE WHEN e.initial THEN 'created' ELSE coalesce(e.field, 'status') END AS signal
        FROM events e {ev_joins}
        WHERE e.kind = 'status' AND e.occurred_at <= {a}
    ),
    known AS (SELECT * FROM real WHERE category IN {CATEGORY_VALUES}),
    bare AS (
        SELECT i.source, i.key, i.created, coalesce(i.resolved, i.updated, i.created) AS done_at,
               {it_cat} AS category
        FROM items i {it_joins}
        WHERE i.created IS NOT NULL AND i.created <= {a}
          AND NOT EXISTS (SELECT 1 FROM known k WHERE k.source = i.source AND k.key = i.key)
    ),
    synthetic AS (
        SELECT source, key, created AS occurred_at, '0' AS event_id, NULL AS actor, NULL AS actor_kind,
               FALSE AS initial,
               CASE WHEN category IN ('in_progress', 'done') THEN 'in_progress' ELSE 'new' END AS category,
               TRUE AS synthetic, 'no_history' AS signal
        FROM bare
        UNION ALL
        SELECT source, key, greatest(done_at, created), '1', NULL, NULL, FALSE, 'done', TRUE, 'no_history'
        FROM bare WHERE category = 'done' AND greatest(done_at, created) <= {a}
    ),
    alle AS (SELECT * FROM known UNION ALL SELECT * FROM synthetic)
    -- One sort serves the order (seq), the category before (prev) and whether a later change in the
    -- same instant supersedes this one (next_at = occurred_at).
    SELECT alle.*, ids.iid, row_number() OVER w AS seq, lag(category) OVER w AS prev, lead(occurred_at) OVER w AS next_at
    FROM alle JOIN {ids} ids USING (source, key)
    WINDOW w AS (PARTITION BY ids.iid ORDER BY {EVENT_ORDER})
    """


def item_timing(ctx: Context) -> str:
    """One row per item that exists at ``as_of``: start, finish, category at ``as_of``."""
    status = ctx.ensure("status", status_events)
    ids = ctx.ensure("ids", item_ids)
    a = ctx.as_of_sql
    return f"""
    WITH agg AS (
        SELECT iid,
            min(occurred_at) FILTER (WHERE category = 'in_progress') AS first_ip,
            min(occurred_at) FILTER (WHERE category = 'done') AS first_done,
            max(occurred_at) FILTER (WHERE category = 'done' AND prev IS DISTINCT FROM 'done') AS done_entry,
            arg_max(category, seq) AS category,
            arg_min(signal, seq) FILTER (WHERE category IN ('in_progress', 'done')) AS start_signal
        FROM {status} GROUP BY iid
    )
    SELECT ids.iid, i.source, i.key, i.team, i.type, i.summary, i.url, i.created, i.resolution, i.labels,
           i.assignees, i.story_points, i.original_estimate_h, i.time_spent_h, i.due_date, i.description,
           least(g.first_ip, g.first_done) AS start,
           CASE WHEN g.category = 'done' THEN g.done_entry END AS finish,
           coalesce(g.first_done < g.first_ip OR (g.first_ip IS NULL AND g.first_done IS NOT NULL), FALSE)
               AS straight_to_done,
           coalesce(g.category, i.status_category) AS status_category, g.start_signal
    FROM items i JOIN {ids} ids USING (source, key) LEFT JOIN agg g USING (iid)
    WHERE i.created IS NULL OR i.created <= {a}
    """


def issues(ctx: Context) -> pd.DataFrame:
    """``issues`` frame: one row per item (see docs/frames.md)."""
    from cadence.metrics.membership import carry_counts

    timing = ctx.ensure("timing", item_timing)
    carry = ctx.ensure("carry", carry_counts)
    return ctx.df(f"""
        SELECT t.source, t.team, t.key, t.type, t.summary, t.url, t.created, t.start, t.finish,
               {hours('t.finish', 't.start')} AS cycle_time_h, t.status_category,
               CASE WHEN t.finish IS NOT NULL THEN t.resolution END AS resolution,
               coalesce(c.carry_count, 0)::BIGINT AS carry_count, t.straight_to_done, t.start_signal,
               t.labels, t.assignees, t.story_points
        FROM {timing} t LEFT JOIN {carry} c USING (source, key)
        ORDER BY t.source, t.key
    """)
