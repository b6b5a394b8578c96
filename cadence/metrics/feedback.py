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

from cadence.metrics.membership import membership_flags, sprint_at, sprints_as_of
from cadence.metrics.sql import Context, hours
from cadence.metrics.timing import item_timing


def assignment_intervals(ctx: Context) -> str:
    """When each person was an assignee of each item: [since, until), from the assignee events.

    A person whose first event removes them was assigned before it; an item with no assignee
    events has its current assignees for all time.
    """
    timing = ctx.ensure("timing", item_timing)
    a = ctx.as_of_sql
    return f"""
    WITH changes AS (
        SELECT source, key, to_value AS person, occurred_at, event_id, TRUE AS is_add
        FROM events WHERE kind = 'assignee' AND to_value IS NOT NULL AND occurred_at <= {a}
        UNION ALL
        SELECT source, key, from_value, occurred_at, event_id, FALSE
        FROM events WHERE kind = 'assignee' AND from_value IS NOT NULL AND occurred_at <= {a}
    ),
    ordered AS (
        SELECT *, lead(occurred_at) OVER w AS next_at, row_number() OVER w AS n
        FROM changes WINDOW w AS (PARTITION BY source, key, person ORDER BY occurred_at, event_id)
    )
    SELECT source, key, person, occurred_at AS since, coalesce(next_at, 'infinity'::TIMESTAMPTZ) AS until
    FROM ordered WHERE is_add
    UNION ALL
    SELECT source, key, person, '-infinity'::TIMESTAMPTZ, occurred_at FROM ordered WHERE n = 1 AND NOT is_add
    UNION ALL
    SELECT source, key, unnest(assignees), '-infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ
    FROM {timing} t WHERE NOT EXISTS (SELECT 1 FROM changes c WHERE c.source = t.source AND c.key = t.key)
    """


def feedback_events(ctx: Context) -> str:
    """Every observed feedback event on a started item: iid, team, occurred_at, kind."""
    timing = ctx.ensure("timing", item_timing)
    assigned = ctx.ensure("assigned", assignment_intervals)
    return f"""
    WITH c AS (
        SELECT t.iid, e.source, e.key, e.occurred_at, e.kind, e.actor, t.team
        FROM events e JOIN {timing} t USING (source, key)
        WHERE t.start IS NOT NULL AND e.occurred_at > t.start AND e.occurred_at <= {ctx.as_of_sql}
          AND ((e.kind IN ('comment', 'status') AND e.actor_kind = 'human' AND e.actor IS NOT NULL)
               OR (e.kind = 'review' AND e.actor_kind IS DISTINCT FROM 'bot'))
    )
    -- One anti join: a person's assignment intervals never overlap, and reviews always count.
    SELECT c.iid, c.team, c.occurred_at, c.kind
    FROM c ANTI JOIN {assigned} a
        ON c.kind <> 'review' AND a.source = c.source AND a.key = c.key AND a.person = c.actor
        AND a.since <= c.occurred_at AND c.occurred_at < a.until
    """


def start_sprints(ctx: Context) -> str:
    """The sprint each started item started in (source, key, t, sprint_key)."""
    timing = ctx.ensure("timing", item_timing)
    return sprint_at(ctx, f"""
        SELECT row_number() OVER (ORDER BY iid) AS rid, source, key, team, start AS t FROM {timing} WHERE start IS NOT NULL
    """)


def item_feedback(ctx: Context) -> str:
    """Per started item: first observed feedback, first check-in, the headline, its start sprint."""
    timing = ctx.ensure("timing", item_timing)
    events = ctx.ensure("fb_events", feedback_events)
    mem = ctx.ensure("member_flags", membership_flags)
    sp = ctx.ensure("sprints", sprints_as_of)
    start_sprint = ctx.ensure("start_sprint", start_sprints)
    a = ctx.as_of_sql
    return f"""
    WITH obs AS (
        -- ties at the same instant go to the kind first in the alphabet, so the answer is stable
        SELECT iid, min(occurred_at) AS observed_at, arg_min(kind, (occurred_at, kind)) AS observed_kind
        FROM {events} GROUP BY iid
    ),
    rev AS (
        SELECT m.iid, min(m.completion) AS review_at
        FROM {mem} m JOIN {timing} t USING (iid)
        WHERE m.state = 'closed' AND m.at_completion AND m.completion > t.start
        GROUP BY m.iid
    ),
    base AS (
        SELECT t.source, t.team, t.key, t.summary, t.url, t.start, ss.sprint_key,
               o.observed_at, o.observed_kind, r.review_at,
               least(o.observed_at, r.review_at) AS feedback_at
        FROM {timing} t
        LEFT JOIN obs o USING (iid)
        LEFT JOIN rev r USING (iid)
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
