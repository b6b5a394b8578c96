"""Comparing cadences: per-sprint values, two-stage bootstrap intervals, and teams that switched.

Decisions:

- Only closed sprints count. Rates are per week (throughput, learnings, feedback events, scope
  added); say/do, overrun rate and weeks with a learning are per sprint; the latency median is
  never divided.
- The estimate is the mean over sprints. Its 95% interval is a percentile bootstrap
  (``numpy.random.Generator(seed)``). With at least 2 teams it is **two-stage**: resample whole
  teams with replacement, then sprints within each drawn team (Davison & Hinkley 1997, §3.8). It
  keeps both sources of variation: resampling teams alone gives two teams only three possible
  compositions, and resampling sprints alone pretends that sprints of one team are independent
  (``tests/test_metrics_compare.py`` measures both against the two-stage one). With one team the
  bootstrap resamples its sprints and the row warns that cadence and team cannot be told apart.
- ``sample`` says how far the interval can be trusted:
  ``"can't tell"`` under 3 teams or 6 sprints (PRODUCT.md: no tight-looking bar there);
  ``"rough"`` under 5 teams or 12 sprints (in our simulation the two-stage interval covers the
  truth about 88-91% of the time with 3-4 teams); ``"enough data"`` otherwise.
- ``differences`` bootstraps each cadence on its own, as above, and reports the difference of
  every pair of cadences with its interval and a standardised effect size (the difference over
  the pooled standard deviation of the sprint values, Cohen's d). ``cadence.metrics.verdict``
  turns these into words.
- A **switch** is a change of cadence between consecutive closed sprints of one team, ignoring
  sprints of no 1/2/3-week cadence. Before = the run of sprints of the old cadence just before it,
  after = the run of the new one; each side and the difference (after - before) are bootstrapped
  over sprints. One team, so no team variation: the sides are marked by sprints alone
  (``"can't tell"`` under 3 a side, ``"rough"`` under 6).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

METRICS = (
    "throughput_per_week", "learnings_per_week", "feedback_events_per_week", "scope_added_per_week",
    "say_do", "overrun_rate", "weeks_with_learning", "feedback_latency_median_h",
)
ONE_TEAM = "one team: cadence and team cannot be told apart"
FEW_TEAMS = "only 2 teams: too few to tell cadence from team"
FEW_SPRINTS = "fewer than 6 sprints: can't tell"
ROUGH_INTERVAL = "under 5 teams or 12 sprints: the interval is rough"
SMALL = "small sample"
CANT_TELL, ROUGH, ENOUGH = "can't tell", "rough", "enough data"
MIN_TEAMS, MIN_SPRINTS = 3, 6  # below either: "can't tell"
GOOD_TEAMS, GOOD_SPRINTS = 5, 12  # below either: "rough"
_CHUNK = 4_000_000  # array elements per bootstrap chunk, so memory stays bounded for large warehouses


def _interval(samples: np.ndarray) -> tuple[float, float]:
    if samples.size == 0 or np.all(np.isnan(samples)):
        return float("nan"), float("nan")
    low, high = np.nanpercentile(samples, [2.5, 97.5])
    return float(low), float(high)


def boot_mean(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Bootstrap means of ``values`` resampled with replacement (vectorised)."""
    if values.size == 0:
        return np.array([])
    idx = rng.integers(0, values.size, size=(n_boot, values.size))
    return values[idx].mean(axis=1)


def boot_two_stage_mean(values: np.ndarray, clusters: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Bootstrap pooled means: draw teams with replacement, then each drawn team's sprints with replacement."""
    if values.size == 0:
        return np.array([])
    labels, codes = np.unique(clusters, return_inverse=True)
    k = labels.size
    order = np.argsort(codes, kind="stable")
    by_team = values[order]
    counts = np.bincount(codes, minlength=k)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    widest = int(counts.max())
    out = np.empty(n_boot)
    step = max(1, _CHUNK // (k * widest))
    for first in range(0, n_boot, step):
        rows = min(step, n_boot - first)
        teams = rng.integers(0, k, size=(rows, k))  # stage 1: teams
        n = counts[teams]
        # stage 2: n sprints of each drawn team; slots past a team's size are masked out
        pos = offsets[teams][..., None] + (rng.random((rows, k, widest)) * n[..., None]).astype(np.int64)
        used = np.arange(widest) < n[..., None]
        out[first : first + rows] = np.where(used, by_team[pos], 0.0).sum(axis=(1, 2)) / n.sum(axis=1)
    return out


def cadence_samples(values: np.ndarray, teams: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """The bootstrap distribution of one cadence's mean: two-stage with 2+ teams, else over sprints."""
    if len(set(teams.tolist())) >= 2:
        return boot_two_stage_mean(values, teams, rng, n_boot)
    return boot_mean(values, rng, n_boot)


def sample_mark(n_sprints: int, n_teams: int) -> str:
    """``"can't tell"``, ``"rough"`` or ``"enough data"`` for a cadence of this many sprints and teams."""
    if n_sprints < MIN_SPRINTS or n_teams < MIN_TEAMS:
        return CANT_TELL
    return ROUGH if n_sprints < GOOD_SPRINTS or n_teams < GOOD_TEAMS else ENOUGH


def side_mark(n_sprints: int) -> str:
    """The mark of one side of a within-team switch (one team: sprints alone decide)."""
    return CANT_TELL if n_sprints < 3 else ROUGH if n_sprints < MIN_SPRINTS else ENOUGH


def closed_sprints(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["state"] == "closed"].sort_values(["team", "start", "sprint_key"])


def _warning(n_values: int, n_teams: int) -> str:
    """Why a cadence's interval is not to be trusted, in words ("" when it has enough data)."""
    if not n_values:
        return ""
    if n_teams <= 2:
        return ONE_TEAM if n_teams == 1 else FEW_TEAMS
    mark = sample_mark(n_values, n_teams)
    return FEW_SPRINTS if mark == CANT_TELL else ROUGH_INTERVAL if mark == ROUGH else ""


def _groups(per_sprint: pd.DataFrame, metric: str):
    """(cadence, values, teams, cadence_weeks) per cadence, for the sprints with a value of ``metric``."""
    closed = closed_sprints(per_sprint)
    for cadence, part in closed.groupby("cadence", sort=True):
        if metric in part:
            part = part[part[metric].notna()]
        else:
            part = part.iloc[0:0]
        weeks = part["cadence_weeks"].dropna() if "cadence_weeks" in part else pd.Series(dtype="Int64")
        yield (cadence, part[metric].to_numpy(dtype=float) if len(part) else np.array([]),
               part["team"].fillna("").to_numpy(), weeks.iloc[0] if len(weeks) else pd.NA)


COMPARE_COLUMNS = ["metric", "cadence", "cadence_weeks", "estimate", "ci_low", "ci_high", "n_sprints", "n_teams",
                   "small_sample", "warning", "sample"]


def compare(per_sprint: pd.DataFrame, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Per metric and cadence: estimate, ci_low, ci_high, n_sprints, n_teams, small_sample, warning, sample."""
    rng = np.random.default_rng(seed)
    rows = []
    for metric in METRICS:
        for cadence, values, teams, weeks in _groups(per_sprint, metric):
            n_teams = len(set(teams.tolist()))
            low, high = _interval(cadence_samples(values, teams, rng, n_boot))
            mark = sample_mark(len(values), n_teams)
            rows.append({
                "metric": metric, "cadence": cadence, "cadence_weeks": weeks,
                "estimate": float(values.mean()) if len(values) else float("nan"),
                "ci_low": low, "ci_high": high, "n_sprints": len(values), "n_teams": n_teams,
                "small_sample": mark != ENOUGH, "warning": _warning(len(values), n_teams), "sample": mark,
            })
    frame = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    frame["cadence_weeks"] = frame["cadence_weeks"].astype("Int64")
    return frame


def effect_size(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's d of ``a`` against ``b``: the difference of means over the pooled standard deviation."""
    if a.size < 2 or b.size < 2:
        return float("nan")
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    diff = a.mean() - b.mean()
    if pooled == 0:
        return 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    return float(diff / pooled)


DIFF_COLUMNS = ["metric", "cadence_a", "cadence_b", "estimate_a", "estimate_b", "ci_low_a", "ci_high_a",
                "ci_low_b", "ci_high_b", "diff", "diff_ci_low", "diff_ci_high", "effect_size", "n_sprints_a",
                "n_sprints_b", "n_teams_a", "n_teams_b"]


def differences(per_sprint: pd.DataFrame, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Per metric and pair of cadences (a shorter than b): a - b with its 95% two-stage bootstrap interval."""
    rng = np.random.default_rng(seed)
    rows = []
    for metric in METRICS:
        groups = [g for g in _groups(per_sprint, metric) if len(g[1])]
        boots = {g[0]: cadence_samples(g[1], g[2], rng, n_boot) for g in groups}
        for (ca, va, ta, _), (cb, vb, tb, _) in combinations(groups, 2):
            diff = boots[ca] - boots[cb]
            rows.append({
                "metric": metric, "cadence_a": ca, "cadence_b": cb,
                "estimate_a": float(va.mean()), "estimate_b": float(vb.mean()),
                **dict(zip(("ci_low_a", "ci_high_a"), _interval(boots[ca]))),
                **dict(zip(("ci_low_b", "ci_high_b"), _interval(boots[cb]))),
                "diff": float(va.mean() - vb.mean()), **dict(zip(("diff_ci_low", "diff_ci_high"), _interval(diff))),
                "effect_size": effect_size(va, vb), "n_sprints_a": int(va.size), "n_sprints_b": int(vb.size),
                "n_teams_a": len(set(ta.tolist())), "n_teams_b": len(set(tb.tolist())),
            })
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def _runs(team_sprints: pd.DataFrame) -> list[pd.DataFrame]:
    """Consecutive runs of one cadence (sprints of no bucket are skipped)."""
    bucketed = team_sprints[team_sprints["cadence_weeks"].notna()]
    run_id = (bucketed["cadence"] != bucketed["cadence"].shift()).cumsum()
    return [run for _, run in bucketed.groupby(run_id, sort=True)]


def _side(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> tuple[float, np.ndarray]:
    return (float(values.mean()) if values.size else float("nan")), boot_mean(values, rng, n_boot)


SWITCH_COLUMNS = ["team", "metric", "switch_at", "before_cadence", "after_cadence", "before_estimate",
                  "before_ci_low", "before_ci_high", "after_estimate", "after_ci_low", "after_ci_high", "diff",
                  "diff_ci_low", "diff_ci_high", "n_before", "n_after", "warning", "effect_size", "sample"]


def _switch_row(team: str, metric: str, before: pd.DataFrame, after: pd.DataFrame,
                rng: np.random.Generator, n_boot: int) -> dict:
    b = before[metric].dropna().to_numpy(dtype=float) if metric in before else np.array([])
    a = after[metric].dropna().to_numpy(dtype=float) if metric in after else np.array([])
    b_est, b_boot = _side(b, rng, n_boot)
    a_est, a_boot = _side(a, rng, n_boot)
    diff = a_boot - b_boot if b.size and a.size else np.array([])
    marks = (side_mark(b.size), side_mark(a.size))
    mark = CANT_TELL if CANT_TELL in marks else ROUGH if ROUGH in marks else ENOUGH
    return {
        "team": team, "metric": metric, "switch_at": after["start"].iloc[0],
        "before_cadence": before["cadence"].iloc[0], "after_cadence": after["cadence"].iloc[0],
        "before_estimate": b_est, **dict(zip(("before_ci_low", "before_ci_high"), _interval(b_boot))),
        "after_estimate": a_est, **dict(zip(("after_ci_low", "after_ci_high"), _interval(a_boot))),
        "diff": a_est - b_est, **dict(zip(("diff_ci_low", "diff_ci_high"), _interval(diff))),
        "n_before": int(b.size), "n_after": int(a.size),
        "warning": f"{SMALL}: fewer than 3 sprints on a side" if b.size < 3 or a.size < 3 else "",
        "effect_size": effect_size(a, b), "sample": mark,
    }


def switches(per_sprint: pd.DataFrame, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Before/after per metric for each cadence switch within a team."""
    rng = np.random.default_rng(seed)
    rows = []
    for team, sprints in closed_sprints(per_sprint).groupby("team", sort=True):
        runs = _runs(sprints)
        for before, after in zip(runs, runs[1:]):
            rows.extend(_switch_row(team, metric, before, after, rng, n_boot) for metric in METRICS)
    return pd.DataFrame(rows, columns=SWITCH_COLUMNS)
