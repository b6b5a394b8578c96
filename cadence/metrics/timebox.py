"""Timebox overruns: which rule gave each started item its timebox, and whether it ran over.

Rules, first that applies (PRODUCT.md order):

1. ``label``: a label matching ``config.timebox_label_pattern`` (case-insensitive), calendar time
   from the start; several such labels -> the shortest.
2. ``estimate_worklog``: an original estimate and logged time (worklog events, else the item's
   ``time_spent_h``). It overruns when more was logged than estimated; the timebox expired when the
   running total of worklogs passed the estimate (without worklog events: interpolated linearly
   between start and finish/as_of).
   ``estimate_working_time``: an original estimate and no logged time. The estimate is working
   time (``hours_per_day`` per working day, ``days_per_week`` working days from Monday); a working
   day counts its whole 24 hours at that rate and other days count nothing.
3. ``due_date``: the end (24:00 UTC) of the due date.
4. ``sprint_end``: for timeboxed kinds (type or label in ``timebox_types``/``timebox_labels``,
   case-insensitive), the planned end of the sprint in which the item started.

A rule applies only when it gives a timebox that ends after the start: a label of 0 h, a sprint
that had ended before the item started, or a **due date at or before the start** gives none, and
the next rule is tried. A due date before the start is a data problem (PRODUCT.md): it is listed
by ``timebox_problems`` as "due before start", with the rule used instead.

An item overruns when its actual time exceeds its timebox by more than the tolerance,
max(``[timebox] tolerance`` x timebox, ``min_tolerance_h``) (default 10% and 1 hour): it finished
that late, or is still unfinished that far past it at ``as_of``. Actual and timebox are in the
rule's own units (logged hours, working hours or calendar hours). size = (actual - timebox) /
timebox. A timebox is counted in the sprint whose window contains its expiry (for a worklog
timebox that did not overrun: its finish), and only once its outcome is known (it overran, or
the item finished); ``overrun_rate`` = overruns / such timeboxes. Labels are the item's current
labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.metrics.feedback import start_sprints
from cadence.metrics.membership import carry_counts, sprint_at, sprints_as_of
from cadence.metrics.sql import Context, lit, lower_list
from cadence.metrics.timing import item_timing

DAY_NS = 86_400 * 10**9


def _weekmask(days_per_week: int) -> str:
    days = max(1, min(7, int(days_per_week)))
    return "1" * days + "0" * (7 - days)


def _day_and_fraction(stamps: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    days = values.astype("datetime64[D]")
    fraction = (values - days.astype("datetime64[ns]")).astype(np.int64) / DAY_NS
    return days, fraction


def working_hours_between(start: pd.Series, end: pd.Series, hours_per_day: float, days_per_week: int) -> np.ndarray:
    """Working hours from ``start`` to ``end`` (vectorised; NaN where either is missing)."""
    mask = _weekmask(days_per_week)
    ok = (start.notna() & end.notna()).to_numpy()
    out = np.full(len(start), np.nan)
    if ok.any():
        d0, f0 = _day_and_fraction(start[ok])
        d1, f1 = _day_and_fraction(end[ok])
        days = (np.busday_count(d0, d1, weekmask=mask) + f1 * np.is_busday(d1, weekmask=mask)
                - f0 * np.is_busday(d0, weekmask=mask))
        out[ok] = days * hours_per_day
    return out


def add_working_hours(start: pd.Series, work_h: pd.Series, hours_per_day: float, days_per_week: int) -> pd.Series:
    """``start`` plus ``work_h`` working hours, skipping non-working days (vectorised)."""
    mask = _weekmask(days_per_week)
    ok = (start.notna() & work_h.notna()).to_numpy()
    out = pd.Series(pd.NaT, index=start.index, dtype="datetime64[ns, UTC]")
    if ok.any():
        d0, f0 = _day_and_fraction(start[ok])
        f0 = np.where(np.is_busday(d0, weekmask=mask), f0, 0.0)  # a weekend start waits for Monday
        d0 = np.busday_offset(d0, 0, roll="forward", weekmask=mask)
        total = f0 + work_h[ok].to_numpy(dtype=float) / hours_per_day
        whole = np.floor(total)
        day = np.busday_offset(d0, whole.astype(np.int64), roll="forward", weekmask=mask)
        stamps = day.astype("datetime64[ns]") + ((total - whole) * DAY_NS).astype("timedelta64[ns]")
        out[ok] = pd.to_datetime(stamps).tz_localize("UTC")
    return out


def _rule_inputs(ctx: Context) -> str:
    timing = ctx.ensure("timing", item_timing)
    start_sprint = ctx.ensure("start_sprint", start_sprints)
    sp = ctx.ensure("sprints", sprints_as_of)
    cfg, a = ctx.config, ctx.as_of_sql
    pattern = lit("(?i)" + cfg.timebox_label_pattern)
    return f"""
    WITH t AS (SELECT * FROM {timing} WHERE start IS NOT NULL),
    lab AS (
        SELECT source, key, min(TRY_CAST(regexp_extract(l, {pattern}, 1) AS DOUBLE)
            * CASE lower(regexp_extract(l, {pattern}, 2)) WHEN 'h' THEN 1 WHEN 'd' THEN 24 WHEN 'w' THEN 168 END)
            AS label_h
        FROM (SELECT source, key, unnest(labels) AS l FROM t) WHERE regexp_matches(l, {pattern}) GROUP BY ALL
    ),
    wl AS (
        SELECT source, key, occurred_at, sum(TRY_CAST(to_value AS DOUBLE)) OVER (
            PARTITION BY source, key ORDER BY occurred_at, event_id) AS logged
        FROM events WHERE kind = 'worklog' AND occurred_at <= {a}
    ),
    wl_item AS (
        SELECT wl.source, wl.key, max(wl.logged) AS logged_h,
               min(wl.occurred_at) FILTER (WHERE wl.logged > t.original_estimate_h) AS crossed_at
        FROM wl JOIN t USING (source, key) GROUP BY ALL
    )
    SELECT * FROM (
    SELECT t.source, t.key, t.team, t.start, t.finish,
           lab.label_h, t.original_estimate_h AS estimate_h,
           coalesce(wl_item.logged_h, CASE WHEN t.time_spent_h > 0 THEN t.time_spent_h END) AS logged_h,
           wl_item.crossed_at,
           CAST(t.due_date AS TIMESTAMP) AT TIME ZONE 'UTC' + INTERVAL 1 DAY AS due_end,
           CASE WHEN list_contains({lower_list(cfg.timebox_types)}, lower(t.type))
                  OR list_has_any({lower_list(cfg.timebox_labels)}, list_transform(t.labels, lambda x: lower(x)))
                THEN sp.planned_end END AS kind_end
    FROM t LEFT JOIN lab USING (source, key) LEFT JOIN wl_item USING (source, key)
    LEFT JOIN {start_sprint} ss USING (source, key) LEFT JOIN {sp} sp ON sp.sprint_key = ss.sprint_key
    ) WHERE label_h IS NOT NULL OR estimate_h > 0 OR due_end IS NOT NULL OR kind_end IS NOT NULL
    """


def _with_rule(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the first rule that gives each item a timebox ending after its start ("" if none)."""
    has_est = frame["estimate_h"] > 0
    start = frame["start"]
    rules = [
        ("label", frame["label_h"] > 0),
        ("estimate_worklog", has_est & frame["logged_h"].notna()),
        ("estimate_working_time", has_est & frame["logged_h"].isna()),
        ("due_date", frame["due_end"] > start),  # NaT compares False
        ("sprint_end", frame["kind_end"] > start),
    ]
    conditions = [c.fillna(False).to_numpy(dtype=bool) for _, c in rules]
    return frame.assign(rule=np.select(conditions, [r for r, _ in rules], default=""))


def _pick_rule(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the items some rule applies to, with the first such rule in ``rule``."""
    frame = _with_rule(frame)
    return frame[frame["rule"] != ""].copy()


def _timebox_end(frame: pd.DataFrame, end: pd.Series, ctx: Context) -> pd.Series:
    rule, start = frame["rule"], frame["start"]
    label_end = start + pd.to_timedelta(frame["label_h"], unit="h")
    # Without worklog events only the total is known: assume it was logged evenly.
    spread = start + (end - start) * (frame["estimate_h"] / frame["logged_h"]).clip(upper=1)
    worklog_end = frame["crossed_at"].where(
        frame["crossed_at"].notna(), spread.where(frame["logged_h"] > frame["estimate_h"]))
    work_end = add_working_hours(start, frame["estimate_h"].where(rule == "estimate_working_time"),
                                 ctx.config.hours_per_day, ctx.config.days_per_week)
    ends = np.select(
        [rule == "label", rule == "estimate_worklog", rule == "estimate_working_time", rule == "due_date"],
        [label_end, worklog_end, work_end, frame["due_end"]], default=frame["kind_end"])
    return pd.to_datetime(ends, utc=True)


def _apply_rules(frame: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Pick each item's rule and compute timebox_end, timebox_h, actual_h, overrun (vectorised)."""
    frame = _pick_rule(frame)
    rule, start = frame["rule"], frame["start"]
    end = frame["finish"].fillna(pd.Timestamp(ctx.as_of))
    frame["timebox_end"] = _timebox_end(frame, end, ctx)
    calendar_h = (end - start).dt.total_seconds() / 3600
    worked_h = working_hours_between(start, end, ctx.config.hours_per_day, ctx.config.days_per_week)
    span_h = (frame["timebox_end"] - start).dt.total_seconds() / 3600
    frame["timebox_h"] = np.select(
        [rule == "label", rule.str.startswith("estimate")], [frame["label_h"], frame["estimate_h"]], default=span_h)
    frame["actual_h"] = np.select(
        [rule == "estimate_worklog", rule == "estimate_working_time"], [frame["logged_h"], worked_h], default=calendar_h)
    cfg = ctx.config
    frame["tolerance_h"] = np.maximum(cfg.timebox_tolerance * frame["timebox_h"], cfg.timebox_min_tolerance_h)
    # Over by more than the tolerance, in the rule's own units (a calendar, working or logged hour).
    frame["overrun"] = ((frame["actual_h"] - frame["timebox_h"]) > frame["tolerance_h"]).fillna(False)
    frame["overrun_size"] = np.where(frame["timebox_h"] > 0,
                                     (frame["actual_h"] - frame["timebox_h"]) / frame["timebox_h"], np.nan)
    frame["finished"] = frame["finish"].notna()
    frame["counted_at"] = frame["timebox_end"].fillna(frame["finish"])
    frame["known"] = frame["overrun"] | frame["finished"]
    return frame


def item_timeboxes(ctx: Context) -> str:
    inputs = ctx.df(_rule_inputs(ctx))
    for column in ("start", "finish", "crossed_at", "due_end", "kind_end"):
        inputs[column] = pd.to_datetime(inputs[column], utc=True)
    boxes = _apply_rules(inputs, ctx).reset_index(drop=True)
    boxes["rid"] = np.arange(len(boxes))
    # An expiry exactly at a boundary (a sprint's end, a due date's 24:00) belongs to the sprint
    # that ends there, not to the one that starts there.
    boxes["t"] = boxes["counted_at"] - pd.Timedelta(microseconds=1)
    keep = ["rid", "source", "key", "team", "rule", "start", "timebox_end", "finish",
            "finished", "timebox_h", "actual_h", "tolerance_h", "overrun", "overrun_size", "known", "t"]
    ctx.register("_cad_timebox_frame", boxes[keep])
    return sprint_at(ctx, "SELECT * FROM _cad_timebox_frame")


def overruns(ctx: Context) -> pd.DataFrame:
    """``overruns`` frame: every item whose timebox ran over (see docs/frames.md)."""
    boxes = ctx.ensure("timebox", item_timeboxes)
    sp = ctx.ensure("sprints", sprints_as_of)
    carry = ctx.ensure("carry", carry_counts)
    timing = ctx.ensure("timing", item_timing)
    return ctx.df(f"""
        SELECT b.source, b.team, b.key, t.summary, t.url, t.type, b.rule, b.start, b.timebox_end, b.finish,
               b.finished, b.timebox_h, b.actual_h, b.overrun_size, b.sprint_key, sp.sprint_id, sp.sprint_name,
               coalesce(c.carry_count, 0)::BIGINT AS carry_count, b.tolerance_h
        FROM {boxes} b LEFT JOIN {sp} sp ON sp.sprint_key = b.sprint_key
        LEFT JOIN {carry} c ON c.source = b.source AND c.key = b.key
        JOIN {timing} t ON t.source = b.source AND t.key = b.key
        WHERE b.overrun ORDER BY b.overrun_size DESC NULLS LAST, b.source, b.key
    """)


DUE_BEFORE_START = "due before start"


def timebox_problems(ctx: Context) -> pd.DataFrame:
    """``timebox_problems`` frame: items whose due date ends at or before their start (no timebox)."""
    inputs = ctx.df(_rule_inputs(ctx))
    for column in ("start", "due_end"):
        inputs[column] = pd.to_datetime(inputs[column], utc=True)
    bad = _with_rule(inputs.loc[inputs["due_end"].notna() & (inputs["due_end"] <= inputs["start"])])
    timing = ctx.ensure("timing", item_timing)
    ctx.register("_cad_due_problems", bad[["source", "key", "start", "due_end", "rule"]])
    frame = ctx.df(f"""
        SELECT p.source, t.team, p.key, t.summary, t.url, t.type, {lit(DUE_BEFORE_START)} AS problem, p.start,
               t.due_date, (epoch(p.start) - epoch(p.due_end)) / 3600.0 AS before_start_h,
               nullif(p.rule, '') AS rule_used
        FROM _cad_due_problems p JOIN {timing} t USING (source, key)
        ORDER BY before_start_h DESC, p.source, p.key
    """)
    return frame
