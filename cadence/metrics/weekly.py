"""``by_week``: per team and ISO week (Monday 00:00 UTC), from the team's first to last active week.

``completed``/``started`` count item finishes and starts, ``added`` counts items added to a sprint
after its start, ``learnings`` and ``feedback_events`` as in the sprint report; weeks without
activity between the first and last appear with zeros.
"""

from __future__ import annotations

import pandas as pd

from cadence.metrics.feedback import feedback_events
from cadence.metrics.learnings import all_learnings
from cadence.metrics.membership import membership_flags, sprints_as_of
from cadence.metrics.sql import Context
from cadence.metrics.timing import item_timing

MEASURES = ("completed", "started", "added", "learnings", "feedback_events")


def by_week(ctx: Context) -> pd.DataFrame:
    timing = ctx.ensure("timing", item_timing)
    mem = ctx.ensure("member_flags", membership_flags)
    sp = ctx.ensure("sprints", sprints_as_of)
    learn = ctx.ensure("learn", all_learnings)
    events = ctx.ensure("fb_events", feedback_events)
    counts = ", ".join(f"count(e.what) FILTER (WHERE e.what = '{m}') AS {m}" for m in MEASURES)
    frame = ctx.df(f"""
    WITH ev AS (
        SELECT team, finish AS t, 'completed' AS what FROM {timing} WHERE finish IS NOT NULL
        UNION ALL SELECT team, start, 'started' FROM {timing} WHERE start IS NOT NULL
        UNION ALL SELECT sp.team, m.entered_at, 'added' FROM {mem} m JOIN {sp} sp USING (sprint_key) WHERE m.added
        UNION ALL SELECT team, occurred_at, 'learnings' FROM {learn}
        UNION ALL SELECT team, occurred_at, 'feedback_events' FROM {events}
    ),
    wk AS (SELECT team, date_trunc('week', t AT TIME ZONE 'UTC') AS week_start, what FROM ev),
    span AS (SELECT team, min(week_start) AS lo, max(week_start) AS hi FROM wk GROUP BY team),
    weeks AS (SELECT team, unnest(generate_series(lo, hi, INTERVAL 7 DAY)) AS week_start FROM span)
    SELECT w.team, w.week_start AT TIME ZONE 'UTC' AS week_start,
           strftime(w.week_start, '%G-W%V') AS iso_week, {counts}
    FROM weeks w LEFT JOIN wk e ON e.team IS NOT DISTINCT FROM w.team AND e.week_start = w.week_start
    GROUP BY w.team, w.week_start ORDER BY w.team, w.week_start
    """)
    frame["has_learning"] = frame["learnings"] > 0
    return frame
