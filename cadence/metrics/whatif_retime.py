"""Re-timing a period's items onto a grid: the per-item facts, and what they become (see whatif.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from cadence.metrics import whatif_grid as g
from cadence.metrics.feedback import item_feedback
from cadence.metrics.learnings import all_learnings
from cadence.metrics.membership import member_events, membership_flags, sprints_as_of
from cadence.metrics.sql import Context, lit, lower_list
from cadence.metrics.timebox import _apply_rules, item_timeboxes
from cadence.metrics.timing import item_timing

_TIMES = ("start", "finish", "observed_at", "review_at", "first_in", "last_in")


@dataclass
class History:
    """The per-item facts the re-timing needs, for the teams asked about (times as int64 ns)."""

    items: pd.DataFrame
    learnings: pd.DataFrame
    sprints: pd.DataFrame
    as_of: int
    ctx: Context


@dataclass
class Period:
    team: str
    low: int  # ns, inclusive
    high: int  # ns, exclusive
    sprints: pd.DataFrame  # the real sprints of the period


def _items_sql(ctx: Context, teams: str) -> str:
    timing, fb = ctx.ensure("timing", item_timing), ctx.ensure("feedback", item_feedback)
    flags, ev = ctx.ensure("member_flags", membership_flags), ctx.ensure("member_ev", member_events)
    boxes, cfg = ctx.ensure("timebox", item_timeboxes), ctx.config
    kind = (f"(list_contains({lower_list(cfg.timebox_types)}, lower(t.type)) OR list_has_any("
            f"{lower_list(cfg.timebox_labels)}, list_transform(t.labels, lambda x: lower(x))))")
    return f"""
    WITH first_in AS (
        SELECT iid, min(CASE WHEN committed THEN start ELSE entered_at END) AS first_in FROM {flags} GROUP BY iid
    ),
    -- when the item was last in a running sprint: at a completion that held it, or just before it was
    -- removed (a removal at a completion's instant already leaves it out of that completion)
    left_at AS (
        SELECT f.iid, CASE WHEN f.at_completion THEN f.completion
                           ELSE max(e.occurred_at) - INTERVAL 1 MICROSECOND END AS left_at
        FROM {flags} f LEFT JOIN {ev} e
            ON e.iid = f.iid AND e.sprint_key = f.sprint_key AND NOT e.is_in AND e.occurred_at <= f.completion
        GROUP BY f.iid, f.sprint_key, f.at_completion, f.completion
    ),
    last_in AS (SELECT iid, max(left_at) AS last_in FROM left_at GROUP BY iid),
    -- carried over after the item's start; carries before it are planning, which is not re-timed
    carried AS (
        SELECT f.iid, count(*) AS carried FROM {flags} f JOIN {timing} t USING (iid)
        WHERE f.state = 'closed' AND f.at_completion AND NOT f.done_at_completion AND f.completion > t.start
        GROUP BY f.iid
    )
    SELECT t.iid, t.team, t.start, t.finish, f.observed_at, f.review_at, fi.first_in, li.last_in,
           coalesce(c.carried, 0) AS carry_count, b.rule AS timebox_rule, b.timebox_h,
           coalesce(b.overrun, FALSE) AS overrun, coalesce(b.known, FALSE) AS known,
           {kind} AND (b.rule IS NULL OR b.rule = 'sprint_end') AS sprint_end_kind
    FROM {timing} t
    LEFT JOIN {fb} f USING (source, key) LEFT JOIN first_in fi USING (iid) LEFT JOIN last_in li USING (iid)
    LEFT JOIN carried c USING (iid) LEFT JOIN {boxes} b USING (source, key)
    WHERE t.team IN ({teams})
    """


def load(ctx: Context, teams: Sequence[str]) -> History:
    """The items, learnings and sprints of ``teams``, from the shared metric stages."""
    names = ", ".join(lit(t) for t in teams) or "NULL"
    items = ctx.df(_items_sql(ctx, names))
    timing, learn = ctx.ensure("timing", item_timing), ctx.ensure("learn", all_learnings)
    learnings = ctx.df(f"""
        SELECT t.iid, t.team, l.occurred_at, l.sprint_key FROM {learn} l JOIN {timing} t USING (source, key)
        WHERE t.team IN ({names})""")
    sprints = ctx.df(f"""
        SELECT team, sprint_key, start, completion, state, weeks, cadence, cadence_weeks
        FROM {ctx.ensure('sprints', sprints_as_of)}
        WHERE team IN ({names}) AND start IS NOT NULL AND state <> 'future' ORDER BY team, start, sprint_key""")
    for column in _TIMES:
        items[column] = g.ns(items[column])
    learnings["occurred_at"] = g.ns(learnings["occurred_at"])
    for column in ("start", "completion"):
        sprints[column] = g.ns(sprints[column])
    return History(items, learnings, sprints, int(g.ns(pd.Series([ctx.as_of]))[0]), ctx)


@dataclass
class Selection:
    """A period's items (those started in it) and its learnings."""

    items: pd.DataFrame
    started: np.ndarray
    in_sprints: np.ndarray
    learn_time: np.ndarray
    learn_sprint: np.ndarray


def select(h: History, p: Period) -> Selection:
    items, learn = h.items[h.items["team"] == p.team], h.learnings[h.learnings["team"] == p.team]
    closed = p.sprints.loc[p.sprints["state"] == "closed", "sprint_key"]
    inside = lambda t: (t != g.NAT) & (t >= p.low) & (t < p.high)  # noqa: E731
    learn = learn[inside(learn["occurred_at"]) | learn["sprint_key"].isin(closed)]
    items = items[inside(items["start"])].reset_index(drop=True)
    return Selection(
        items, np.ones(len(items), dtype=bool), (items["first_in"] != g.NAT).to_numpy(),
        learn["occurred_at"].to_numpy(),
        learn["sprint_key"].to_numpy(dtype=object))


def _earliest(a: np.ndarray, b: np.ndarray, as_of: int) -> tuple[np.ndarray, np.ndarray]:
    """The earlier of two optional times (NAT: none) and whether there was one; else ``as_of``."""
    a_ok, b_ok = a != g.NAT, b != g.NAT
    both = np.minimum(np.where(a_ok, a, b), np.where(b_ok, b, a))
    return np.where(a_ok | b_ok, both, as_of), a_ok | b_ok


def _hours(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return (later - earlier) / g.HOUR_NS


def _per_sprint(sprint: np.ndarray, week: np.ndarray, n: int, windows: np.ndarray,
                weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sprint: the share of its ``windows`` weeks with a learning, and its learnings per week."""
    cells = np.unique(sprint * (int(windows.max(initial=1)) + 1) + week)
    hits = np.bincount(cells // (int(windows.max(initial=1)) + 1), minlength=n)
    counts = np.bincount(sprint, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return hits / windows, np.where(weeks > 0, counts / weeks, np.nan)


def _real_weeks(s: Selection, p: Period) -> dict[str, np.ndarray]:
    """The learning figures of the real closed sprints, as ``by_sprint`` counts them."""
    closed = p.sprints[p.sprints["state"] == "closed"]
    n = len(closed)
    start = closed["start"].to_numpy()
    windows = np.maximum(1, np.floor((closed["completion"].to_numpy() - start) / g.WEEK_NS + 0.5)).astype(np.int64)
    at = pd.Index(closed["sprint_key"]).get_indexer(s.learn_sprint)
    ok = at >= 0
    week = np.clip((s.learn_time[ok] - start[at[ok]]) // g.WEEK_NS, 0, windows[at[ok]] - 1)
    share, rate = _per_sprint(at[ok], week, n, windows, closed["weeks"].to_numpy(dtype=float))
    return {"sprint_share": share[None, :], "sprint_rate": rate[None, :], "n_sprints": np.array([n])}


def actual(s: Selection, p: Period, as_of: int) -> g.Outcomes:
    """The period's figures as they really were."""
    it = s.items
    start = np.where(s.started, it["start"], as_of)
    review = it["review_at"].to_numpy()
    headline, headline_event = _earliest(it["observed_at"].to_numpy(), review, as_of)
    row = lambda column: it[column].to_numpy()[None, :]  # noqa: E731
    return g.Outcomes(
        started=s.started, review_h=_hours(np.where(review != g.NAT, review, as_of), start)[None, :],
        review_event=(review != g.NAT)[None, :], headline_h=_hours(headline, start)[None, :],
        headline_event=headline_event[None, :],
        timeboxed=(s.started & (it["timebox_rule"] == "sprint_end").to_numpy())[None, :],
        timebox_h=row("timebox_h").astype(float), overrun=row("overrun").astype(bool), known=row("known").astype(bool),
        in_sprints=s.in_sprints, carry=row("carry_count").astype(float), **_real_weeks(s, p))


def _grid_weeks(s: Selection, p: Period, grid: g.Grid, as_of: int) -> dict[str, np.ndarray]:
    """The learning figures of the grid sprints wholly inside the period, per phase."""
    first, weeks = g.grid_weeks(p.low, min(p.high, as_of), grid)
    n, k = weeks // grid.weeks, grid.weeks
    width, phases = int(n.max(initial=0)), first.size
    share, rate = np.full((phases, width), np.nan), np.full((phases, width), np.nan)
    t = s.learn_time[None, :]
    inside = (t >= first[:, None]) & (t < first[:, None] + weeks[:, None] * g.WEEK_NS)
    cell = (t - first[:, None]) // g.WEEK_NS
    row = np.broadcast_to(np.arange(phases)[:, None], cell.shape)
    # all phases at once: sprint j of phase p is sprint p * width + j
    flat = (row * width + cell // k)[inside]
    hit, count = _per_sprint(flat, (cell % k)[inside], phases * width, np.full(phases * width, k),
                             np.full(phases * width, float(k)))
    valid = np.arange(width)[None, :] < n[:, None]
    share[valid], rate[valid] = hit.reshape(phases, width)[valid], count.reshape(phases, width)[valid]
    return {"sprint_share": share, "sprint_rate": rate, "n_sprints": n}


def _stamps(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(values.view("datetime64[ns]"), utc=True))


def _grid_timeboxes(start: np.ndarray, finish: np.ndarray, ends: np.ndarray, boxed: np.ndarray,
                    ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule-4 timeboxes ending at ``ends`` (P, N), judged by the timebox module's own rules."""
    hours, over, known = np.full(ends.shape, np.nan), np.zeros(ends.shape, bool), np.zeros(ends.shape, bool)
    cols = np.flatnonzero(boxed)
    if cols.size:
        phases = ends.shape[0]
        missing = np.full(cols.size * phases, np.nan)
        frame = pd.DataFrame({
            "start": _stamps(np.tile(start[cols], phases)), "finish": _stamps(np.tile(finish[cols], phases)),
            "kind_end": _stamps(ends[:, cols].ravel()), "label_h": missing, "estimate_h": missing,
            "logged_h": missing, "crossed_at": _stamps(np.full(missing.size, g.NAT)),
            "due_end": _stamps(np.full(missing.size, g.NAT))})
        judged = _apply_rules(frame, ctx).reindex(frame.index)
        shape = (phases, cols.size)
        hours[:, cols] = judged["timebox_h"].to_numpy(dtype=float).reshape(shape)
        over[:, cols] = judged["overrun"].to_numpy(dtype=bool).reshape(shape)
        known[:, cols] = judged["known"].to_numpy(dtype=bool).reshape(shape)
    return hours, over, known


def retimed(s: Selection, p: Period, grid: g.Grid, h: History) -> g.Outcomes:
    """The period's figures had its items lived on ``grid`` (one row per phase)."""
    return retimed_many(s, p, [grid], h)[0]


def retimed_many(s: Selection, p: Period, grids: Sequence[g.Grid], h: History) -> list[g.Outcomes]:
    """``retimed`` for several grids, judging all their sprint-end timeboxes in one call."""
    start = np.where(s.started, s.items["start"], h.as_of)
    boxed = s.started & s.items["sprint_end_kind"].fillna(False).to_numpy(dtype=bool)
    ends = [g.next_boundary(start, grid) for grid in grids]  # the end of the grid sprint it started in
    judged = _grid_timeboxes(start, s.items["finish"].to_numpy(), np.vstack(ends), boxed, h.ctx)
    cut = np.cumsum([e.shape[0] for e in ends])[:-1]
    per_grid = zip(*(np.split(part, cut) for part in judged))
    return [_on_grid(s, p, grid, h, boxed, boxes) for grid, boxes in zip(grids, per_grid)]


def _on_grid(s: Selection, p: Period, grid: g.Grid, h: History, boxed: np.ndarray,
             boxes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> g.Outcomes:
    it, as_of = s.items, h.as_of
    start, finish = np.where(s.started, it["start"], as_of), it["finish"].to_numpy()
    # An item is in sprints from its first entry into a running one until it is done, unless it
    # really left them unfinished (removed, or carried out of its last sprint and not re-added).
    first_in, last_in = it["first_in"].to_numpy(), it["last_in"].to_numpy()
    done_by = np.where(finish != g.NAT, finish, as_of)
    left = (last_in != g.NAT) & (last_in < done_by)
    life_end = np.where(left, last_in, as_of)
    after = np.maximum(start, np.where(s.in_sprints, first_in, start))
    checkin = g.next_boundary(after, grid)
    review_event = s.in_sprints[None, :] & (checkin <= life_end[None, :])
    headline, headline_event = _earliest(it["observed_at"].to_numpy()[None, :],
                                         np.where(review_event, checkin, g.NAT), as_of)
    until = np.minimum(np.where(finish != g.NAT, finish, as_of + 1) - 1, life_end)
    carry = g.boundaries_between(after, until, grid)
    timebox_h, overrun, known = boxes
    return g.Outcomes(
        started=s.started, review_h=_hours(np.where(review_event, checkin, as_of), start),
        review_event=review_event, headline_h=_hours(headline, start), headline_event=headline_event,
        timeboxed=np.ones((carry.shape[0], 1), dtype=bool) & boxed, timebox_h=timebox_h, overrun=overrun,
        known=known, in_sprints=s.in_sprints, carry=carry.astype(float), **_grid_weeks(s, p, grid, as_of))
