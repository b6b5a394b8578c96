"""What if (another cadence): the team's own history re-timed onto another sprint grid.

Only what follows from the calendar is re-timed; everything people did keeps its real time.
Throughput, scope added and say/do depend on how people plan and are not modelled (every row
says so in ``not_modelled``). Decisions:

- **The grid.** Boundaries (a sprint's end and the next one's start) every k weeks, at the
  team's usual weekday and time of day: the commonest UTC weekday of its sprints' completions
  and the median time of day of the completions on that weekday (sprint starts when none closed).
  The grid is anchored at that weekday and time nearest to the start of the period's first sprint.
- **Phase.** On a fixed weekday a k-week grid has k phases: phase p puts a boundary p weeks after
  the anchor. By default the phase is drawn at random (uniformly) in every Monte Carlo sample,
  except on the cadence the team already runs (its commonest): there the default is the team's
  own phase (the one whose boundaries lie nearest its real completions, by median distance),
  because another phase would move the boundaries away from when the team plans and starts its
  work, which history cannot re-time. ``"random"`` draws it anyway, an int pins it, and a time
  pins a boundary at that instant (weekday and time of day from it).
- **The period.** ``what_if``: from the team's first sprint start to ``as_of``. The back-test:
  before = the run of sprints of the old cadence up to the switch, after = the run of the new one.
  Items belong to a period by their start; learnings by their time (on the grid) or by their
  sprint (on the real calendar).
- **Sprint life.** An item is in sprints from its first entry into a running sprint until it is
  done, unless it really left them unfinished (removed, or carried out of its last sprint and not
  re-added): then until it left. Items never in a sprint have no check-in and no carry.
- **Review feedback:** the check-in is the first grid boundary after the item's start (or its
  entry into a sprint, if later) while it is in sprints; one after ``as_of`` has not happened
  yet. The headline is the earlier of that and the observed feedback at its real time; items with
  neither are censored at ``as_of`` as today. Figures are Kaplan-Meier medians in hours.
- **Sprint-end timeboxes** (rule 4, for timeboxed kinds no earlier rule applies to): the end of
  the grid sprint in which the item started, judged by ``timebox._apply_rules`` exactly as the
  real ones; the item finishes when it did. Figures: the median timebox and the overrun rate.
- **Carry count:** the grid boundaries an item crosses unfinished after its start (or entry),
  while in sprints, up to ``as_of``; the actual is the real carries after the start. Carries of
  work not yet started are planning, which is not re-timed. Figures: the mean over the items
  that were in a sprint, and the share of them carried at least once.
- **Learnings** keep their real times. A grid sprint's weeks are the 7-day windows from its
  start; only sprints wholly inside the period count. Weeks with a learning and learnings per
  week are means over sprints, as in ``by_sprint``.
- **Actual** is the same figure from the team's real history over the same period: the
  ``feedback`` frame's check-ins and headline, the real rule-4 timeboxes, the real carries after
  the start (from the sprint membership), and the real sprints' weeks and learnings (as
  ``by_sprint`` counts them).
- **Uncertainty.** ``n_sim`` samples. Each resamples the period's items with replacement (a
  bootstrap; one resample serves the actual figure and every grid, so they are paired) and draws
  a phase. The learning figures, means over sprints, resample the calendar's sprints instead: an
  item resample leaves weeks empty that were not, which pulled the share of weeks with a learning
  below its own estimate. ``predicted`` is the mean over the phases of the figure on all items,
  ``actual`` the figure on all items; both intervals are the 2.5 and 97.5 percentiles of the
  samples. Random streams: ``numpy.random.default_rng([seed, k, crc32(team)])``, k = 0 for the
  item resample and the actual figures, the grid's weeks for its phase and sprint draws.
- **Back-test.** For each switch that ``compare.switches`` finds, the before period's items are
  re-timed onto a grid of the after cadence, on the before sprints' weekday and time with a
  random phase, as ``what_if`` would have done on the day of the switch. Beside it: the after
  period's actual figures, and ``overlap``, whether the two 95% intervals overlap.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Sequence

import numpy as np
import pandas as pd

from cadence.errors import CadenceError
from cadence.metrics import whatif_grid as g
from cadence.metrics.sql import Context
from cadence.metrics.whatif_retime import History, Period, actual, load, retimed, retimed_many, select

Phase = int | str | datetime | None
NOT_MODELLED = "throughput, scope added and say/do: they depend on how people plan, which history cannot tell"
_LATENCY = "people start, finish, comment and review when they did; sprint work stays in sprints"
_WORK = "the work takes as long as it did, whatever timebox the calendar gives it"
_CARRY = "items finish when they did and stay in sprints until then"
_LEARN = "learnings come when they did: the calendar alone does not make people learn"
METRICS = {  # name: (label, unit, better, mechanism, assumption)
    "review_latency_median_h": (
        "Wait for the check-in, median (h)", "hours", "lower",
        "check-in at the first grid boundary after the item's start", _LATENCY),
    "feedback_latency_median_h": (
        "First feedback, median (h)", "hours", "lower",
        "the earlier of observed feedback (real times) and the grid check-in", _LATENCY),
    "sprint_end_timebox_h": (
        "Sprint-end timebox, median (h)", "hours", "neutral",
        "timebox rule 4: timeboxed kinds get the end of the grid sprint they started in", _WORK),
    "sprint_end_overrun_rate": (
        "Sprint-end timeboxes overrun (share)", "share", "lower",
        "the same sprint-end timeboxes against each item's real finish", _WORK),
    "carry_count_mean": (
        "Carries per item after its start", "carries per item", "lower",
        "grid boundaries an item crosses unfinished after its start", _CARRY),
    "carried_share": (
        "Items carried at least once (share)", "share", "lower",
        "share of sprint items that cross at least one grid boundary unfinished", _CARRY),
    "weeks_with_learning": (
        "Weeks with a learning (share)", "share", "higher",
        "learnings at their real times, counted in the grid sprints' weeks", _LEARN),
    "learnings_per_week": (
        "Learnings per week", "per week", "higher",
        "learnings at their real times, per week of the grid sprints", _LEARN),
}
SMALL_ITEMS, SMALL_SPRINTS = 20, 6  # below these the interval is rough, and the row says so
WEEKS = (1, 2, 3)
COLUMNS = ["metric", "actual", "predicted", "ci_low", "ci_high", "mechanism", "assumption", "actual_ci_low",
           "actual_ci_high", "label", "unit", "better", "not_modelled", "warning", "team", "weeks", "grid",
           "boundary", "phase", "n_actual", "n_predicted"]


def grid_for(sprints: pd.DataFrame, low: int, weeks: int, phase: Phase = None) -> tuple[g.Grid, str, str]:
    """The k-week grid on the sprints' usual weekday and time, with its description and its phase's."""
    if weeks not in WEEKS:
        raise CadenceError(f"weeks must be 1, 2 or 3, not {weeks!r}")
    closed = sprints[sprints["state"] == "closed"]
    completions = closed["completion"].to_numpy()
    weekday, second = g.usual_boundary(completions, sprints["start"].to_numpy())
    grid = g.Grid(g.anchor_near(low, weekday, second), weeks, tuple(range(weeks)))
    if isinstance(phase, str) and phase.strip().isdigit():
        phase = int(phase)
    usual = closed["cadence_weeks"].dropna().mode()
    if phase is None and len(usual) and int(usual.min()) == weeks and weeks > 1:
        own = g.own_phase(completions, grid)
        return g.Grid(grid.anchor, weeks, (own,)), _described(grid), f"the team's own ({own})"
    if phase is None or (isinstance(phase, str) and phase.strip().lower() == "random"):
        return grid, _described(grid), f"random, over {weeks}" if weeks > 1 else "the only one"
    if isinstance(phase, (int, np.integer)):
        if not 0 <= phase < weeks:
            raise CadenceError(f"phase must be 0 to {weeks - 1} (weeks after the anchor), 'random' or a time; "
                               f"not {phase}")
        return g.Grid(grid.anchor, weeks, (int(phase),)), _described(grid), f"pinned: {phase}"
    try:
        instant = int(g.ns(pd.Series([pd.Timestamp(phase)]))[0])
    except (ValueError, TypeError):
        raise CadenceError(f"phase must be 'random', a number of weeks or a time, not {phase!r}") from None
    pinned = g.Grid(instant, weeks, (0,))
    return pinned, _described(pinned), f"pinned: a boundary at {_when(instant)}"


def _described(grid: g.Grid) -> str:
    return f"every {grid.weeks} week(s) on {boundary(grid.anchor)}, anchored {_when(grid.anchor)}"


def boundary(instant: int) -> str:
    """``"Mondays 07:50 UTC"``: the weekday and time of a grid's boundaries."""
    stamp = pd.Timestamp(instant, tz="UTC")
    return f"{stamp.day_name()}s {stamp.strftime('%H:%M')} UTC"


def _when(instant: int) -> str:
    return pd.Timestamp(instant, tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def _interval(samples: np.ndarray) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def resample(n: int, rng: np.random.Generator, n_sim: int) -> np.ndarray:
    """(n_sim, n) bootstrap multiplicities: how often each of n items is drawn in each sample."""
    sample = rng.integers(0, max(n, 1), size=(n_sim, n))
    return np.bincount((sample + n * np.arange(n_sim)[:, None]).ravel(), minlength=n_sim * n).reshape(n_sim, n)


def estimate(o: g.Outcomes, counts: np.ndarray, rng: np.random.Generator) -> dict[str, tuple[float, ...]]:
    """Per figure: the mean over phases on all items, the 95% interval over the samples (the item
    resample ``counts``, with a phase and the sprints drawn from ``rng``), and how many items (or
    sprints) it rests on."""
    n_sim, phases = counts.shape[0], o.review_h.shape[0]
    drawn = rng.integers(0, phases, size=n_sim)
    sampled = g.figures(o, drawn, counts, rng.random((n_sim, o.sprint_share.shape[1])))
    whole = g.figures(o, np.arange(phases), np.ones((phases, o.started.size), dtype=np.int64))
    sizes = o.sizes()
    return {m: (float(g.row_nanmean(whole[m][None, :])[0]), *_interval(sampled[m]), float(sizes[m]))
            for m in METRICS}


def _rng(seed: int, weeks: int, team: str) -> np.random.Generator:
    return np.random.default_rng([seed, weeks, zlib.crc32(team.encode())])


def team_period(h: History, team: str) -> Period:
    """The whole of a team's history: from its first sprint start to ``as_of``."""
    sprints = h.sprints[h.sprints["team"] == team]
    if sprints.empty:
        raise CadenceError(f"team {team!r} has no started sprint to take a calendar from")
    return Period(team, int(sprints["start"].min()), h.as_of + 1, sprints)


def _warning(metric: str, *sizes: float) -> str:
    small = SMALL_SPRINTS if metric in ("weeks_with_learning", "learnings_per_week") else SMALL_ITEMS
    n = min(sizes)
    unit = "sprints" if small == SMALL_SPRINTS else "items"
    return f"small sample ({n:.0f} {unit}): the interval is rough" if n < small else ""


def _rows(real: dict, guess: dict, **extra: object) -> pd.DataFrame:
    rows = []
    for metric, (label, unit, better, mechanism, assumption) in METRICS.items():
        a, p = real[metric], guess[metric]
        rows.append({"metric": metric, "actual": a[0], "actual_ci_low": a[1], "actual_ci_high": a[2],
                     "predicted": p[0], "ci_low": p[1], "ci_high": p[2], "n_actual": a[3], "n_predicted": p[3],
                     "label": label, "unit": unit, "better": better, "mechanism": mechanism,
                     "assumption": assumption, "not_modelled": NOT_MODELLED, "warning": _warning(metric, a[3], p[3]),
                     **extra})
    return pd.DataFrame(rows)


def _team(h: History, team: str, weeks: Sequence[int], seed: int, phase: Phase, n_sim: int) -> pd.DataFrame:
    """The team's rows for each grid in ``weeks``; its actual figures are estimated once."""
    period = team_period(h, team)
    chosen = select(h, period)
    rng = _rng(seed, 0, team)
    counts = resample(len(chosen.items), rng, n_sim)  # one item resample for every calendar: paired
    real = estimate(actual(chosen, period, h.as_of), counts, rng)
    grids = [grid_for(period.sprints, period.low, k, phase) for k in weeks]
    parts = []
    for k, (grid, described, phase_said), outcomes in zip(weeks, grids, retimed_many(
            chosen, period, [grid for grid, _, _ in grids], h)):
        guess = estimate(outcomes, counts, _rng(seed, k, team))
        parts.append(_rows(real, guess, team=team, weeks=k, grid=described, boundary=boundary(grid.anchor),
                           phase=phase_said))
    return pd.concat(parts, ignore_index=True)


def what_if(ctx: Context, team: str, weeks: int, seed: int = 0, phase: Phase = None,
            n_sim: int = 1000) -> pd.DataFrame:
    """``what_if`` frame: per calendar-driven metric, the team's actual figure and the figure on a
    ``weeks``-week grid, each with a 95% interval (columns in ``COLUMNS``)."""
    teams = sorted(ctx.df("SELECT DISTINCT team FROM sprints WHERE team IS NOT NULL")["team"])
    if team not in teams:
        raise CadenceError(f"no team {team!r} with sprints in the warehouse; teams: {', '.join(teams) or 'none'}")
    return _team(load(ctx, [team]), team, [weeks], seed, phase, n_sim)[COLUMNS]


def what_if_all(ctx: Context, weeks: Sequence[int] = WEEKS, seed: int = 0, n_sim: int = 1000) -> pd.DataFrame:
    """``what_if`` for every team with a started sprint and every grid in ``weeks``, stacked."""
    h = load(ctx, sorted(ctx.df("SELECT DISTINCT team FROM sprints WHERE team IS NOT NULL")["team"]))
    teams = sorted(h.sprints["team"].unique())
    parts = [_team(h, team, weeks, seed, None, n_sim) for team in teams]
    return pd.concat(parts, ignore_index=True)[COLUMNS] if parts else pd.DataFrame(columns=COLUMNS)


BACKTEST_COLUMNS = [
    "team", "switch_at", "before_cadence", "after_cadence", "metric", "before", "before_ci_low", "before_ci_high",
    "predicted", "ci_low", "ci_high", "actual", "actual_ci_low", "actual_ci_high", "overlap", "label", "unit",
    "better", "mechanism", "assumption", "not_modelled", "warning", "grid", "n_before", "n_actual", "n_predicted"]


def _runs_around(sprints: pd.DataFrame, switch_at: int, as_of: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The run of closed sprints before the switch, the run after it, and where the after period ends.

    Runs are as ``compare.switches`` cuts them: consecutive closed sprints of one 1/2/3-week cadence.
    """
    closed = sprints[(sprints["state"] == "closed") & sprints["cadence_weeks"].notna()]
    closed = closed.sort_values(["start", "sprint_key"])
    run = (closed["cadence"] != closed["cadence"].shift()).cumsum()
    here = run[closed["start"] == switch_at]
    if here.empty:
        raise CadenceError(f"no closed sprint of team {sprints['team'].iloc[0]!r} starts at the switch")
    number = here.iloc[0]
    later = closed.loc[run == number + 1, "start"]
    return closed[run == number - 1], closed[run == number], int(later.min()) if len(later) else as_of + 1


def backtest(ctx: Context, switches: pd.DataFrame | None = None, seed: int = 0, n_sim: int = 1000) -> pd.DataFrame:
    """Per switch and metric: the after period predicted from the before period, beside what happened."""
    if switches is None:
        from cadence.metrics import compare, sprint_report

        switches = compare.switches(sprint_report.by_sprint(ctx), seed=seed, n_boot=1)
    found = switches[["team", "switch_at", "before_cadence", "after_cadence"]].drop_duplicates()
    if found.empty:
        return pd.DataFrame(columns=BACKTEST_COLUMNS)
    h = load(ctx, sorted(found["team"].unique()))
    parts = [_backtest_one(h, row, seed, n_sim) for row in found.to_dict(orient="records")]  # one per switch
    return pd.concat(parts, ignore_index=True)[BACKTEST_COLUMNS]


def _backtest_one(h: History, switch: dict, seed: int, n_sim: int) -> pd.DataFrame:
    team, at = switch["team"], int(g.ns(pd.Series([switch["switch_at"]]))[0])
    before, after, high = _runs_around(h.sprints[h.sprints["team"] == team], at, h.as_of)
    weeks = int(after["cadence_weeks"].iloc[0])
    was, now = Period(team, int(before["start"].min()), at, before), Period(team, at, high, after)
    grid, described, _ = grid_for(before, was.low, weeks)
    chosen, then = select(h, was), select(h, now)
    rng, later = _rng(seed, 0, team), _rng(seed, 0, team + "/after")
    counts = resample(len(chosen.items), rng, n_sim)
    frame = _rows(estimate(actual(then, now, h.as_of), resample(len(then.items), later, n_sim), later),
                  estimate(retimed(chosen, was, grid, h), counts, _rng(seed, weeks, team)))
    base = estimate(actual(chosen, was, h.as_of), counts, rng)
    for i, column in enumerate(("before", "before_ci_low", "before_ci_high", "n_before")):
        frame[column] = frame["metric"].map(lambda m, i=i: base[m][i])
    frame["warning"] = [_warning(m, a, p, b) for m, a, p, b in
                        frame[["metric", "n_actual", "n_predicted", "n_before"]].itertuples(index=False)]
    frame["overlap"] = (np.maximum(frame["ci_low"], frame["actual_ci_low"])
                        <= np.minimum(frame["ci_high"], frame["actual_ci_high"]))
    return frame.assign(team=team, switch_at=switch["switch_at"], before_cadence=switch["before_cadence"],
                        after_cadence=switch["after_cadence"], grid=described)
