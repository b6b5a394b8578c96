"""The arithmetic of a sprint grid, vectorised with numpy (the decisions are in ``whatif.py``).

Times are int64 nanoseconds since the epoch (UTC); ``NAT`` marks a missing time. A grid is the
set of instants ``offset + period * j`` for every integer j, one offset per phase, so every
function takes ``offsets`` of shape (P, 1) and item times of shape (N,) and returns (P, N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.metrics.km import LOG_TOLERANCE

NAT = np.iinfo(np.int64).min
DAY_NS = 86_400 * 10**9
WEEK_NS = 7 * DAY_NS
HOUR_NS = 3_600 * 10**9


def ns(values: pd.Series) -> np.ndarray:
    """Timestamps (aware or naive UTC) as int64 nanoseconds, NAT where missing."""
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64).copy()


def usual_boundary(completions: np.ndarray, starts: np.ndarray) -> tuple[int, int]:
    """(weekday, second of the day), UTC, on which a team's sprints usually end.

    The weekday is the commonest among the completions (the earliest weekday on a tie), the time
    the median time of day of the completions on that weekday; starts stand in when no sprint closed.
    """
    times = completions[completions != NAT]
    if times.size == 0:
        times = starts[starts != NAT]
    if times.size == 0:
        raise ValueError("no sprint start or completion to take a weekday from")
    days = np.floor_divide(times, DAY_NS)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    usual = int(np.argmax(np.bincount(weekday, minlength=7)))
    seconds = (times - days * DAY_NS)[weekday == usual] // 10**9
    return usual, int(round(float(np.median(seconds))))


def anchor_near(instant: int, weekday: int, second: int) -> int:
    """The instant on ``weekday`` at ``second`` of the day that is nearest to ``instant`` (ties: earlier)."""
    day = instant // DAY_NS
    monday = day - (day + 3) % 7
    candidates = (monday + weekday + np.array([-7, 0, 7])) * DAY_NS + second * 10**9
    return int(candidates[np.argmin(np.abs(candidates - instant))])


@dataclass(frozen=True)
class Grid:
    """Boundaries every ``weeks`` weeks at ``anchor + WEEK * (phase + weeks * j)``, one row per phase."""

    anchor: int
    weeks: int
    phases: tuple[int, ...]

    @property
    def period(self) -> int:
        return self.weeks * WEEK_NS

    @property
    def offsets(self) -> np.ndarray:
        return (self.anchor + WEEK_NS * np.asarray(self.phases, dtype=np.int64))[:, None]


def own_phase(completions: np.ndarray, grid: Grid) -> int:
    """The phase whose boundaries lie nearest the completions (median distance; the first on a tie)."""
    times = completions[completions != NAT]
    if times.size == 0:
        return grid.phases[0]
    away = np.mod(times[None, :] - grid.offsets, grid.period)
    return grid.phases[int(np.argmin(np.median(np.minimum(away, grid.period - away), axis=1)))]


def _count_upto(times: np.ndarray, offsets: np.ndarray, period: int) -> np.ndarray:
    """An index F such that F(x) - F(y) is the number of boundaries in (y, x]."""
    return np.floor_divide(times[None, :] - offsets, period)


def next_boundary(times: np.ndarray, grid: Grid) -> np.ndarray:
    """The first boundary strictly after each time: the end of the grid sprint holding it."""
    return grid.offsets + grid.period * (_count_upto(times, grid.offsets, grid.period) + 1)


def boundaries_between(low: np.ndarray, high: np.ndarray, grid: Grid) -> np.ndarray:
    """The number of boundaries b with low < b <= high (0 where high <= low)."""
    upper = _count_upto(high, grid.offsets, grid.period)
    lower = _count_upto(low, grid.offsets, grid.period)
    return np.maximum(upper - lower, 0)


def grid_weeks(low: int, high: int, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Per phase: the first boundary at or after ``low`` and the number of weeks of the grid
    sprints that lie wholly inside [low, high]."""
    offsets, period = grid.offsets[:, 0], grid.period
    first = offsets + period * -np.floor_divide(offsets - low, period)  # ceil
    last = offsets + period * np.floor_divide(high - offsets, period)
    return first, np.maximum(last - first, 0) // WEEK_NS


def km_median(hours: np.ndarray, events: np.ndarray, counts: np.ndarray, q: float = 0.5) -> np.ndarray:
    """Per sample, the first time at which the Kaplan-Meier survival drops to ``q`` or below.

    ``hours`` and ``events`` are M items; ``counts`` (S, M, int32, C order) how often each item is
    in each of S samples (a bootstrap resample is a set of multiplicities), so the items are sorted
    once, not per sample. Computed per tie group as ``km.km_quantile`` does: the cumulative sum of
    log((at risk - events) / at risk) against log(q), an exact tie with ``q`` reached. The curve drops
    only at groups with an event, and on a tie events sort first, so one cumulative sum of the counts
    gives both.
    NaN where the curve never reaches ``q``.
    """
    if not events.any():
        return np.full(counts.shape[0], np.nan)
    order = np.lexsort((~events, hours))
    d, e = hours[order], events[order]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
    with_events = np.add.reduceat(e.astype(np.int64), starts)
    first = starts[with_events > 0]
    last = first + with_events[with_events > 0]
    # np.take keeps C order (fancy indexing on axis 1 does not, and cumsum is then 6x slower);
    # int32 sums stay exact (a sample has fewer than 2**31 items) and are 5x faster than int64.
    # A leading zero column makes cum[:, j] the count of the first j sorted items.
    cum = np.zeros((counts.shape[0], counts.shape[1] + 1), dtype=np.int32)
    np.cumsum(np.take(counts, order, axis=1), axis=1, dtype=np.int32, out=cum[:, 1:])
    before = np.take(cum, first, axis=1)
    at_risk = cum[:, -1:] - before
    left = at_risk - (np.take(cum, last, axis=1) - before)
    # A group without deaths steps by x - x = 0 exactly; NaN once nobody is at risk (no more drops).
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.log(left, dtype=float) - np.log(at_risk, dtype=float)
        reached = np.cumsum(step, axis=1) <= np.log(q) + LOG_TOLERANCE  # an exact tie is reached
    return np.where(reached.any(axis=1), d[first][np.argmax(reached, axis=1)], np.nan)


def weighted_median(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per sample, the median of ``values`` each taken ``counts`` (S, M) times, as ``numpy.median``
    (the mean of the two middle values of an even count); NaN for an empty sample."""
    if values.size == 0:
        return np.full(counts.shape[0], np.nan)
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(np.take(counts, order, axis=1), axis=1, dtype=np.int32)
    m = cum[:, -1]
    low = np.argmax(cum > ((m - 1) // 2)[:, None], axis=1)
    high = np.argmax(cum > (m // 2)[:, None], axis=1)
    return np.where(m > 0, (v[low] + v[high]) / 2, np.nan)


def row_nanmean(values: np.ndarray) -> np.ndarray:
    """Mean per row, ignoring NaN; NaN for a row with no values (no warning)."""
    known = ~np.isnan(values)
    return ratio(np.where(known, values, 0.0).sum(axis=1), known.sum(axis=1))


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


@dataclass
class Outcomes:
    """What happens to a period's N items on P calendars (one per phase; the real one is P = 1).

    Per-item arrays are (P, N); populations are (N,) masks. The learning figures are per sprint
    of each calendar, (P, S) padded with NaN beyond ``n_sprints`` (P,).
    """

    started: np.ndarray
    review_h: np.ndarray
    review_event: np.ndarray
    headline_h: np.ndarray
    headline_event: np.ndarray
    timeboxed: np.ndarray
    timebox_h: np.ndarray
    overrun: np.ndarray
    known: np.ndarray
    in_sprints: np.ndarray
    carry: np.ndarray
    sprint_share: np.ndarray  # share of the sprint's weeks with a learning
    sprint_rate: np.ndarray  # learnings per week of the sprint
    n_sprints: np.ndarray

    def sizes(self) -> dict[str, float]:
        """How many items (or sprints) each figure rests on, averaged over the phases."""
        items = {"review_latency_median_h": self.started.sum(), "feedback_latency_median_h": self.started.sum(),
                 "sprint_end_timebox_h": self.timeboxed.sum(axis=1).mean(),
                 "sprint_end_overrun_rate": (self.known & self.timeboxed).sum(axis=1).mean(),
                 "carry_count_mean": self.in_sprints.sum(), "carried_share": self.in_sprints.sum()}
        return {**items, "weeks_with_learning": self.n_sprints.mean(), "learnings_per_week": self.n_sprints.mean()}


ITEM_FIGURES = ("review_latency_median_h", "feedback_latency_median_h", "sprint_end_timebox_h",
                "sprint_end_overrun_rate", "carry_count_mean", "carried_share")


def _sprint_mean(values: np.ndarray, n_sprints: np.ndarray, phase: np.ndarray, draws: np.ndarray | None) -> np.ndarray:
    """Mean over each sample's sprints: all of them (``draws`` None) or as many drawn with replacement."""
    samples, width = phase.size, values.shape[1]
    if width == 0:
        return np.full(samples, np.nan)
    count = n_sprints[phase][:, None]
    slots = np.arange(width)[None, :]
    if draws is None:
        picked = np.broadcast_to(slots, (samples, width))
    else:
        picked = np.minimum(np.floor(draws[:, :width] * count), width - 1).astype(np.int64)
    return row_nanmean(np.where(slots < count, values[phase[:, None], picked], np.nan))


def figures(o: Outcomes, phase: np.ndarray, counts: np.ndarray,
            draws: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every figure for each of S samples: ``phase`` (S,) picks a calendar, ``counts`` (S, N) how
    often each item is in the sample, ``draws`` (S, >= sprints) uniform numbers that resample the
    sprints (None: all of them). Samples are handled a phase at a time (P <= 3)."""
    out = {name: np.full(phase.size, np.nan) for name in ITEM_FIGURES}
    started = o.started
    for p in np.unique(phase):
        rows = phase == p
        every = np.ascontiguousarray(counts if rows.all() else counts[rows], dtype=np.int32)
        # float32 sums of whole counts are exact below 2**24, and matrix products need floats
        weight = every.astype(np.float32)
        sampled = every if started.all() else np.compress(started, every, axis=1)
        out["review_latency_median_h"][rows] = km_median(o.review_h[p][started], o.review_event[p][started], sampled)
        out["feedback_latency_median_h"][rows] = km_median(o.headline_h[p][started], o.headline_event[p][started],
                                                           sampled)
        boxed = o.timeboxed[p]
        out["sprint_end_timebox_h"][rows] = weighted_median(
            o.timebox_h[p][boxed], np.compress(boxed, every, axis=1))
        carry = np.where(o.in_sprints, o.carry[p], 0.0)
        columns = np.stack([o.overrun[p] & boxed, o.known[p] & boxed, carry, carry > 0, o.in_sprints], axis=1)
        over, known, carried, crossed, in_sprints = (weight @ columns.astype(np.float32)).astype(float).T  # one pass
        out["sprint_end_overrun_rate"][rows] = ratio(over, known)
        out["carry_count_mean"][rows] = ratio(carried, in_sprints)
        out["carried_share"][rows] = ratio(crossed, in_sprints)
    out["weeks_with_learning"] = _sprint_mean(o.sprint_share, o.n_sprints, phase, draws)
    out["learnings_per_week"] = _sprint_mean(o.sprint_rate, o.n_sprints, phase, draws)
    return out
