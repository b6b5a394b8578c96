"""Feedback-loop latency: observed feedback, review feedback (check-ins) and the headline.

Decisions:

- **Observed feedback** is an event after the item's start and at or before ``as_of``: a comment
  or status change by a *human* (actor kind ``human``) who was not among the item's assignees at
  that moment, or a review by anyone who is not a bot. Assignees at a moment come from the
  assignee events (a person whose first event removes them was assigned before it); an item with
  no assignee events uses its current assignees.
- **Review feedback** is the first completion (at or before ``as_of``) of a sprint that held the
  item at its completion, after the item's start: the check-in.
- **Headline** is the earlier of the two. An item without feedback is censored at ``as_of``.
- An item belongs to the sprint holding it at its start (see ``membership.sprint_at``).
- ``feedback_events`` counts every observed feedback event, not just the first per item.
"""

from __future__ import annotations

import pandas as pd

from cadence.metrics.membership import membership, sprint_at, sprints_as_of
from cadence.metrics.sql import Context, hours
from cadence.metrics.timing import item_timing


def _assignee_changes(ctx: Context) -> str:
    return f"""
        SELECT source, key, to_value AS person, occurred_at, event_id, TRUE AS is_add
        FROM events WHERE kind = 'assignee' AND to_value IS NOT NULL AND occurred_at <= {ctx.as_of_sql}
        UNION ALL
        SELECT source, key, from_value, occurred_at, event_id, FALSE
        FROM events WHERE kind = 'assignee' AND from_value IS NOT NULL AND occurred_at <= {ctx.as_of_sql}
    """


def feedback_events(ctx: Context) -> str:
    """Every observed feedback event on a started item, with its team."""
    timing = ctx.ensure("timing", item_timing)
    assign = ctx.ensure("assign", _assignee_changes)
    return f"""
    WITH c AS (
        SELECT e.source, e.key, e.occurred_at, e.event_id, e.kind, e.actor, t.team, t.assignees
        FROM events e JOIN {timing} t USING (source, key)
        WHERE t.start IS NOT NULL AND e.occurred_at > t.start AND e.occurred_at <= {ctx.as_of_sql}
          AND ((e.kind IN ('comment', 'status') AND e.actor_kind = 'human' AND e.actor IS NOT NULL)
               OR (e.kind = 'review' AND e.actor_kind IS DISTINCT FROM 'bot'))
    ),
    firsts AS (
        SELECT source, key, person, arg_min(is_add, (occurred_at, event_id)) AS first_is_add
        FROM {assign} GROUP BY ALL
    ),
    has_events AS (SELECT DISTINCT source, key FROM {assign}),
    -- A hash join plus arg_max, not an ASOF join: few items have assignee events, and ASOF
    -- partitioned on three strings was the slowest step at 3M events.
    last_change AS (
        SELECT c.source, c.event_id, arg_max(a.is_add, (a.occurred_at, a.event_id)) AS is_add
        FROM c JOIN {assign} a ON c.source = a.source AND c.key = a.key AND c.actor = a.person
            AND a.occurred_at <= c.occurred_at
        GROUP BY c.source, c.event_id
    )
    SELECT c.source, c.key, c.team, c.occurred_at, c.event_id, c.kind
    FROM c
    LEFT JOIN last_change l ON l.source = c.source AND l.event_id = c.event_id
    LEFT JOIN firsts f ON f.source = c.source AND f.key = c.key AND f.person = c.actor
    LEFT JOIN has_events h ON h.source = c.source AND h.key = c.key
    WHERE c.kind = 'review' OR NOT CASE
        WHEN h.key IS NULL THEN coalesce(list_contains(c.assignees, c.actor), FALSE)
        ELSE coalesce(l.is_add, NOT f.first_is_add, FALSE) END
    """


def start_sprints(ctx: Context) -> str:
    """The sprint each started item started in (source, key, t, sprint_key)."""
    timing = ctx.ensure("timing", item_timing)
    return sprint_at(ctx, f"""
        SELECT row_number() OVER () AS rid, source, key, team, start AS t FROM {timing} WHERE start IS NOT NULL
    """)


def item_feedback(ctx: Context) -> str:
    timing = ctx.ensure("timing", item_timing)
    events = ctx.ensure("fb_events", feedback_events)
    mem = ctx.ensure("membership", membership)
    sp = ctx.ensure("sprints", sprints_as_of)
    start_sprint = ctx.ensure("start_sprint", start_sprints)
    a = ctx.as_of_sql
    return f"""
    WITH obs AS (
        SELECT source, key, min(occurred_at) AS observed_at, arg_min(kind, (occurred_at, event_id)) AS observed_kind
        FROM {events} GROUP BY ALL
    ),
    rev AS (
        SELECT m.source, m.key, min(m.completion) AS review_at
        FROM {mem} m JOIN {timing} t USING (source, key)
        WHERE m.state = 'closed' AND m.at_completion AND m.completion > t.start
        GROUP BY ALL
    ),
    base AS (
        SELECT t.source, t.team, t.key, t.summary, t.url, t.start, ss.sprint_key,
               o.observed_at, o.observed_kind, r.review_at,
               least(o.observed_at, r.review_at) AS feedback_at
        FROM {timing} t
        LEFT JOIN obs o USING (source, key)
        LEFT JOIN rev r USING (source, key)
        LEFT JOIN {start_sprint} ss USING (source, key)
        WHERE t.start IS NOT NULL
    )
    SELECT b.source, b.team, b.key, b.summary, b.url, b.start, b.sprint_key, sp.sprint_id, sp.cadence,
        b.observed_at, b.observed_kind,
        {hours(f'coalesce(b.observed_at, {a})', 'b.start')} AS observed_h, b.observed_at IS NOT NULL AS observed_event,
        b.review_at, {hours(f'coalesce(b.review_at, {a})', 'b.start')} AS review_h, b.review_at IS NOT NULL AS review_event,
        {hours(f'coalesce(b.feedback_at, {a})', 'b.start')} AS feedback_h, b.feedback_at IS NOT NULL AS feedback_event,
        CASE WHEN b.feedback_at IS NULL THEN NULL
             WHEN b.observed_at = b.feedback_at THEN b.observed_kind ELSE 'check-in' END AS feedback_kind
    FROM base b LEFT JOIN {sp} sp USING (sprint_key)
    """


def feedback(ctx: Context) -> pd.DataFrame:
    """``feedback`` frame: one row per started item (see docs/frames.md)."""
    table = ctx.ensure("feedback", item_feedback)
    return ctx.df(f"""
        SELECT source, team, key, summary, url, start, sprint_key, sprint_id, cadence,
               observed_at, observed_kind, observed_h, observed_event, review_at, review_h, review_event,
               feedback_h, feedback_event, feedback_kind
        FROM {table} ORDER BY source, key
    """)
