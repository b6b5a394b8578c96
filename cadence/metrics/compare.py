"""Comparing cadences: per-sprint values, cluster bootstrap intervals, and teams that switched.

Decisions:

- Only closed sprints count. Rates are per week (throughput, learnings, feedback events, scope
  added); say/do and overrun rate are per sprint; the latency median is never divided.
- The estimate is the mean over sprints. Its 95% interval is a percentile bootstrap
  (``numpy.random.Generator(seed)``) that resamples whole teams (pooling their sprints) when the
  cadence has at least 2 teams, else sprints, with a warning. ``small_sample`` when fewer than 6
  sprints or 3 teams carry a value (two teams resample into only three compositions).
- A **switch** is a change of cadence between consecutive closed sprints of one team, ignoring
  sprints of no 1/2/3-week cadence. Before = the run of sprints of the old cadence just before it,
  after = the run of the new one; each side and the difference (after - before) are bootstrapped
  over sprints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = (
    "throughput_per_week", "learnings_per_week", "feedback_events_per_week", "scope_added_per_week",
    "say_do", "overrun_rate", "feedback_latency_median_h",
)
ONE_TEAM = "one team: cadence and team cannot be told apart"
# Resampling two teams gives only three distinct compositions, so the interval is coarse.
FEW_TEAMS = "only 2 teams: the interval is rough"
SMALL = "small sample"


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


def boot_cluster_mean(values: np.ndarray, clusters: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Bootstrap pooled means, resampling whole clusters (teams) with replacement."""
    labels, codes = np.unique(clusters, return_inverse=True)
    sums = np.bincount(codes, weights=values, minlength=labels.size)
    counts = np.bincount(codes, minlength=labels.size).astype(float)
    idx = rng.integers(0, labels.size, size=(n_boot, labels.size))
    return sums[idx].sum(axis=1) / counts[idx].sum(axis=1)


def closed_sprints(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["state"] == "closed"].sort_values(["team", "start", "sprint_key"])


def compare(per_sprint: pd.DataFrame, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Per metric and cadence: estimate, ci_low, ci_high, n_sprints, n_teams, small_sample, warning."""
    rng = np.random.default_rng(seed)
    closed = closed_sprints(per_sprint)
    rows = []
    for metric in METRICS:
        for cadence, part in closed.groupby("cadence", sort=True):
            part = part[part[metric].notna()]
            values = part[metric].to_numpy(dtype=float)
            teams = part["team"].fillna("").to_numpy()
            n_teams = len(set(teams))
            if n_teams >= 2:
                samples = boot_cluster_mean(values, teams, rng, n_boot)
                warning = FEW_TEAMS if n_teams == 2 else ""
            else:
                samples, warning = boot_mean(values, rng, n_boot), ONE_TEAM if len(values) else ""
            low, high = _interval(samples)
            weeks = part["cadence_weeks"].dropna()
            rows.append({
                "metric": metric, "cadence": cadence,
                "cadence_weeks": weeks.iloc[0] if len(weeks) else pd.NA,
                "estimate": float(values.mean()) if len(values) else float("nan"),
                "ci_low": low, "ci_high": high, "n_sprints": len(values), "n_teams": n_teams,
                "small_sample": len(values) < 6 or n_teams < 3, "warning": warning,
            })
    columns = ["metric", "cadence", "cadence_weeks", "estimate", "ci_low", "ci_high", "n_sprints", "n_teams",
               "small_sample", "warning"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["cadence_weeks"] = frame["cadence_weeks"].astype("Int64")
    return frame


def _runs(team_sprints: pd.DataFrame) -> list[pd.DataFrame]:
    """Consecutive runs of one cadence (sprints of no bucket are skipped)."""
    bucketed = team_sprints[team_sprints["cadence_weeks"].notna()]
    run_id = (bucketed["cadence"] != bucketed["cadence"].shift()).cumsum()
    return [run for _, run in bucketed.groupby(run_id, sort=True)]


def _side(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> tuple[float, np.ndarray]:
    return (float(values.mean()) if values.size else float("nan")), boot_mean(values, rng, n_boot)


def switches(per_sprint: pd.DataFrame, seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Before/after per metric for each cadence switch within a team."""
    rng = np.random.default_rng(seed)
    rows = []
    for team, sprints in closed_sprints(per_sprint).groupby("team", sort=True):
        runs = _runs(sprints)
        for before, after in zip(runs, runs[1:]):
            for metric in METRICS:
                b = before[metric].dropna().to_numpy(dtype=float)
                a = after[metric].dropna().to_numpy(dtype=float)
                b_est, b_boot = _side(b, rng, n_boot)
                a_est, a_boot = _side(a, rng, n_boot)
                diff = a_boot - b_boot if b.size and a.size else np.array([])
                small = b.size < 3 or a.size < 3
                rows.append({
                    "team": team, "metric": metric, "switch_at": after["start"].iloc[0],
                    "before_cadence": before["cadence"].iloc[0], "after_cadence": after["cadence"].iloc[0],
                    "before_estimate": b_est, **dict(zip(("before_ci_low", "before_ci_high"), _interval(b_boot))),
                    "after_estimate": a_est, **dict(zip(("after_ci_low", "after_ci_high"), _interval(a_boot))),
                    "diff": a_est - b_est, **dict(zip(("diff_ci_low", "diff_ci_high"), _interval(diff))),
                    "n_before": int(b.size), "n_after": int(a.size),
                    "warning": f"{SMALL}: fewer than 3 sprints on a side" if small else "",
                })
    columns = ["team", "metric", "switch_at", "before_cadence", "after_cadence", "before_estimate",
               "before_ci_low", "before_ci_high", "after_estimate", "after_ci_low", "after_ci_high", "diff",
               "diff_ci_low", "diff_ci_high", "n_before", "n_after", "warning"]
    return pd.DataFrame(rows, columns=columns)
