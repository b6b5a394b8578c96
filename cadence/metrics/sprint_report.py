"""The sprint report (``sprints`` and ``by_sprint``): counts, points, latency, timeboxes, learnings.

Decisions:

- Per-week rates (``learnings_per_week``, ``throughput_per_week``, ...) divide by the sprint's
  planned length in weeks (its actual length when it has no planned length).
- ``weeks_with_learning``: the sprint's span (start to completion) is cut into 7-day windows from
  its start; a closed sprint has round(span / 7) windows (at least 1), so a sprint closed a day
  late keeps its two weeks; an active one has the windows begun so far. The share of windows
  with at least one learning (a late learning falls in the last window).
- ``feedback_latency_median_h`` is the Kaplan-Meier median of the headline latency of the items
  that started in the sprint (NaN when fewer than half have had feedback).
- Future sprints have NaN counts; ``state`` and ``completed_at`` are as of ``as_of``.
"""

from __future__ import annotations

import pandas as pd

from cadence.metrics.feedback import feedback_events, item_feedback, start_sprints
from cadence.metrics.km import km_quantile_sql
from cadence.metrics.learnings import all_learnings
from cadence.metrics.membership import membership, points_events, sprints_as_of, team_windows
from cadence.metrics.reconcile import jira_report
from cadence.metrics.sql import Context, lit
from cadence.metrics.timebox import item_timeboxes
from cadence.metrics.timing import item_ids

PRODUCT_COLUMNS = [
    "team", "sprint_id", "sprint_name", "state", "start", "end", "completed_at", "length_days", "cadence_weeks",
    "committed", "added", "removed", "completed", "carried_over", "say_do", "feedback_latency_median_h",
    "timebox_overruns", "learnings", "learnings_per_week",
]
EXTRA_COLUMNS = [
    "weeks_with_learning", "committed_points", "added_points", "removed_points", "completed_points",
    "carried_over_points", "late_close_h", "feedback_observed_median_h", "feedback_review_median_h", "timeboxes",
    "overrun_rate", "throughput_per_week", "feedback_events", "feedback_events_per_week", "scope_added_per_week",
    "items_started", "cadence", "length_mismatch", "sprint_key", "source",
]
SPRINT_COLUMNS = [
    "sprint_key", "source", "team", "sprint_id", "sprint_name", "state", "goal", "planned_start", "planned_end",
    "actual_start", "completed_at", "start", "end", "completion", "length_days", "cadence_weeks", "cadence",
    "actual_length_days", "length_mismatch", "late_close_h",
]


def sprints(ctx: Context) -> pd.DataFrame:
    """``sprints`` frame: one row per sprint with its length, cadence and late close."""
    sp = ctx.ensure("sprints", sprints_as_of)
    cols = ", ".join(f'"{c}"' for c in SPRINT_COLUMNS if c != "completed_at")
    frame = ctx.df(f"""
        SELECT {cols}, CASE WHEN state = 'closed' THEN completion END AS completed_at FROM {sp}
        ORDER BY team, start, sprint_key
    """)
    frame["cadence_weeks"] = frame["cadence_weeks"].astype("Int64")
    return frame[SPRINT_COLUMNS]


def _counts(ctx: Context) -> str:
    mem = ctx.ensure("membership", membership)

    def pts(column: str, where: str) -> str:
        # An empty estimate counts as 0 where the team uses an estimate field (points_known).
        return f"sum(CASE WHEN points_known THEN coalesce({column}, 0) ELSE {column} END) FILTER (WHERE {where})"

    return f"""
        SELECT sprint_key,
            count(*) FILTER (WHERE committed) AS committed,
            count(*) FILTER (WHERE added) AS added,
            count(*) FILTER (WHERE removed) AS removed,
            count(*) FILTER (WHERE at_completion AND done_at_completion) AS completed,
            count(*) FILTER (WHERE at_completion AND NOT done_at_completion) AS carried_over,
            count(*) FILTER (WHERE committed AND at_completion AND done_at_completion) AS committed_done,
            {pts('points_at_start', 'committed')} AS committed_points,
            {pts('points_at_entry', 'added')} AS added_points,
            {pts('points_at_completion', 'removed')} AS removed_points,
            {pts('points_at_completion', 'at_completion AND done_at_completion')} AS completed_points,
            {pts('points_at_completion', 'at_completion AND NOT done_at_completion')} AS carried_over_points
        FROM {mem} GROUP BY sprint_key
    """


def _event_sprints(ctx: Context) -> str:
    """Feedback events counted in each sprint of the item's team whose window contains them.

    Unlike items and learnings, events are not matched to the sprint holding their item: a
    team's rate of feedback is what happened to its work during the sprint. Sprints are spread
    over the UTC days they cover so that millions of events meet them in a hash join on
    (team, day) instead of a sort.
    """
    events = ctx.ensure("fb_events", feedback_events)
    team_sprints = ctx.ensure("team_sprints", team_windows)
    return f"""
        WITH days AS (
            SELECT team, sprint_key, start, window_end,
                   unnest(generate_series(date_trunc('day', start AT TIME ZONE 'UTC'),
                                          window_end AT TIME ZONE 'UTC', INTERVAL 1 DAY)) AS day
            FROM {team_sprints}
        )
        SELECT d.sprint_key, count(*) AS feedback_events
        FROM {events} e JOIN days d
            ON d.team = e.team AND d.day = date_trunc('day', e.occurred_at AT TIME ZONE 'UTC')
            AND d.start <= e.occurred_at AND e.occurred_at < d.window_end
        GROUP BY d.sprint_key
    """


def _timebox_counts(ctx: Context) -> str:
    boxes = ctx.ensure("timebox", item_timeboxes)
    return f"""
        SELECT sprint_key, count(*) FILTER (WHERE known) AS timeboxes, count(*) FILTER (WHERE overrun) AS overruns
        FROM {boxes} WHERE sprint_key IS NOT NULL GROUP BY ALL
    """


def _learning_counts(ctx: Context) -> str:
    sp = ctx.ensure("sprints", sprints_as_of)
    learn = ctx.ensure("learn", all_learnings)
    return f"""
    WITH windows AS (
        SELECT sprint_key, start, greatest(1, CASE WHEN state = 'closed'
            THEN round((epoch(completion) - epoch(start)) / 604800.0)
            ELSE ceil((epoch(completion) - epoch(start)) / 604800.0) END) AS n_windows
        FROM {sp} WHERE completion IS NOT NULL
    )
    SELECT l.sprint_key, count(*) AS learnings,
           count(DISTINCT least(floor((epoch(l.occurred_at) - epoch(w.start)) / 604800.0), w.n_windows - 1))
               / any_value(w.n_windows) AS weeks_with_learning
    FROM {learn} l JOIN windows w USING (sprint_key) GROUP BY ALL
    """


def _started_counts(ctx: Context) -> str:
    started = ctx.ensure("start_sprint", start_sprints)
    return f"SELECT sprint_key, count(*) AS items_started FROM {started} WHERE sprint_key IS NOT NULL GROUP BY ALL"


LATENCY_MEDIANS = {"feedback_latency_median_h": ("feedback_h", "feedback_event"),
                   "feedback_observed_median_h": ("observed_h", "observed_event"),
                   "feedback_review_median_h": ("review_h", "review_event")}


def _latency_medians(ctx: Context) -> str:
    """Per sprint, the Kaplan-Meier median of each latency of the items that started in it (one pass:
    the three latencies are stacked, one Kaplan-Meier per sprint and latency)."""
    fb = ctx.ensure("feedback", item_feedback)
    stacked = " UNION ALL ".join(f"SELECT sprint_key, {lit(name)} AS measure, {dur} AS h, {ev} AS e FROM {fb}"
                                 for name, (dur, ev) in LATENCY_MEDIANS.items())
    columns = ", ".join(f"max(value) FILTER (WHERE measure = {lit(name)}) AS {name}" for name in LATENCY_MEDIANS)
    return (f"SELECT sprint_key, {columns} "
            f"FROM ({km_quantile_sql(f'({stacked})', ['sprint_key', 'measure'], 'h', 'e', 0.5)}) GROUP BY sprint_key")


def _per_sprint(ctx: Context) -> str:
    sp = ctx.ensure("sprints", sprints_as_of)
    c, tb, ln = (ctx.ensure(n, f) for n, f in (("counts", _counts), ("tb_counts", _timebox_counts),
                                               ("ln_counts", _learning_counts)))
    fe, st = ctx.ensure("fb_event_sprint", _event_sprints), ctx.ensure("st_counts", _started_counts)
    med = ctx.ensure("latency_medians", _latency_medians)
    ctx.ensure("points", points_events)  # builds _cad_points_before too
    before, ids = "_cad_points_before", ctx.ensure("ids", item_ids)
    n = lambda col: f"CASE WHEN sp.completion IS NOT NULL THEN coalesce({col}, 0) END"  # noqa: E731
    # A sum over no items is 0 where the sprint's team uses an estimate field.
    pts = lambda col: f"CASE WHEN sp.completion IS NOT NULL AND known.source IS NOT NULL THEN coalesce(c.{col}, 0) ELSE c.{col} END"  # noqa: E731
    return f"""
    SELECT sp.team, sp.sprint_id, sp.sprint_name, sp.state, sp.start, sp."end",
        CASE WHEN sp.state = 'closed' THEN sp.completion END AS completed_at, sp.length_days, sp.cadence_weeks,
        {n('c.committed')} AS committed, {n('c.added')} AS added, {n('c.removed')} AS removed,
        {n('c.completed')} AS completed, {n('c.carried_over')} AS carried_over,
        c.committed_done / nullif(c.committed, 0) AS say_do,
        {n('tb.overruns')} AS timebox_overruns, {n('ln.learnings')} AS learnings,
        {n('ln.learnings')} / sp.weeks AS learnings_per_week,
        {n('ln.weeks_with_learning')} AS weeks_with_learning,
        {pts('committed_points')} AS committed_points, {pts('added_points')} AS added_points,
        {pts('removed_points')} AS removed_points, {pts('completed_points')} AS completed_points,
        {pts('carried_over_points')} AS carried_over_points,
        sp.late_close_h, {n('tb.timeboxes')} AS timeboxes, tb.overruns / nullif(tb.timeboxes, 0) AS overrun_rate,
        {n('c.completed')} / sp.weeks AS throughput_per_week,
        {n('fe.feedback_events')} AS feedback_events, {n('fe.feedback_events')} / sp.weeks AS feedback_events_per_week,
        {n('c.added')} / sp.weeks AS scope_added_per_week, {n('st.items_started')} AS items_started,
        sp.cadence, sp.length_mismatch, sp.sprint_key, sp.source,
        {', '.join(f'med.{name}' for name in LATENCY_MEDIANS)}
    FROM {sp} sp
    LEFT JOIN {c} c USING (sprint_key) LEFT JOIN {tb} tb USING (sprint_key) LEFT JOIN {ln} ln USING (sprint_key)
    LEFT JOIN {fe} fe USING (sprint_key) LEFT JOIN {st} st USING (sprint_key) LEFT JOIN {med} med USING (sprint_key)
    LEFT JOIN (SELECT DISTINCT it.source, it.team FROM {before} b JOIN {ids} i USING (iid)
               JOIN items it USING (source, key) WHERE b.points_known)
        known ON known.source = sp.source AND known.team = sp.team
    ORDER BY sp.team, sp.start, sp.sprint_key
    """


def by_sprint(ctx: Context) -> pd.DataFrame:
    """The ``cadence metrics --by sprint`` table: PRODUCT.md's columns in order, then extras."""
    frame = ctx.df(_per_sprint(ctx))
    for column in LATENCY_MEDIANS:
        frame[column] = frame[column].astype(float)
    frame["cadence_weeks"] = frame["cadence_weeks"].astype("Int64")
    for column in ("committed", "added", "removed", "completed", "carried_over", "timebox_overruns", "learnings",
                   "timeboxes", "feedback_events", "items_started"):
        frame[column] = frame[column].astype("Int64")
    # against Jira's own Sprint Report; a string column even when no sprint has closed yet (map gives floats)
    frame["jira_report"] = frame["sprint_key"].map(jira_report(ctx)).astype("string")
    return frame[PRODUCT_COLUMNS + ["jira_report"] + EXTRA_COLUMNS]
