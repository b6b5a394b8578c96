"""Kaplan-Meier estimates of feedback latency: a per-group quantile in SQL (``km_quantile_sql``, the
per-sprint medians, computed where the data is), the same in pandas (``km_quantile``, for frames
already in memory) and lifelines-based summaries with confidence intervals.

A quantile that the curve never reaches (too many items still waiting) is NaN, not infinity.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

KINDS = {"headline": ("feedback_h", "feedback_event"), "observed": ("observed_h", "observed_event"),
         "review": ("review_h", "review_event")}


# A survival within this of q (in log) counts as reached. "The first time the survival is q or below"
# then holds at an exact tie (4/8, or 3/4 * 2/3 = 1/2) whatever order an engine adds the logs in;
# lifelines, adding log(1 - d/n), lands a rounding error either side of q there.
LOG_TOLERANCE = 1e-9


def km_quantile(groups: pd.Series, durations: pd.Series, events: pd.Series, q: float = 0.5) -> pd.Series:
    """First time at which each group's Kaplan-Meier survival drops to ``q`` or below.

    Computed as lifelines does (the cumulative log), so it equals
    ``KaplanMeierFitter().fit(...).percentile(q)`` wherever that is finite, except at an exact tie
    (a survival of exactly q, such as 4/8), which counts as reached here and which lifelines decides
    by rounding (see ``LOG_TOLERANCE``).
    """
    frame = pd.DataFrame({"g": groups.to_numpy(), "t": durations.to_numpy(dtype=float),
                          "e": events.to_numpy(dtype=bool)}).dropna(subset=["g", "t"])
    if frame.empty:
        return pd.Series(dtype=float)
    agg = frame.groupby(["g", "t"], sort=True).agg(d=("e", "sum"), n=("e", "size")).reset_index()
    by_group = agg.groupby("g", sort=False)["n"]
    at_risk = by_group.transform("sum") - (by_group.cumsum() - agg["n"])
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.log((at_risk - agg["d"]).to_numpy(dtype=float)) - np.log(at_risk.to_numpy(dtype=float))
    agg["log_s"] = step
    reached = agg[agg.groupby("g", sort=False)["log_s"].cumsum() <= np.log(q) + LOG_TOLERANCE]
    result = reached.groupby("g")["t"].min()
    all_groups = pd.Index(frame["g"].unique())
    return result.reindex(all_groups)


def km_quantile_sql(relation: str, groups: list[str], duration: str, event: str, q: float = 0.5) -> str:
    """A SELECT of the ``groups`` columns and ``value``: the first time at which the group's
    Kaplan-Meier survival drops to ``q`` or below (NULL when it never does), as ``km_quantile``.

    Counts per (group, time) step; at risk at a step is every row at that time or later; the
    survival is exp of the running sum of ln((at risk - events) / at risk), and a step where every
    row at risk has its event drops it to 0. Only the per-step counts are ever sorted, never the rows.
    """
    g = ", ".join(groups)
    return f"""
    WITH steps AS (
        SELECT {g}, {duration} AS t, count(*) AS n, count(*) FILTER (WHERE {event}) AS d
        FROM {relation} WHERE {' AND '.join(f'{c} IS NOT NULL' for c in groups)} AND {duration} IS NOT NULL
        GROUP BY {g}, {duration}
    ),
    risk AS (
        SELECT {g}, t, d,
               sum(n) OVER (PARTITION BY {g} ORDER BY t DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS at_risk
        FROM steps
    ),
    survival AS (
        SELECT {g}, t,
               sum(CASE WHEN d > 0 AND d < at_risk THEN ln(at_risk - d) - ln(at_risk) ELSE 0 END) OVER w AS log_s,
               max(CASE WHEN d = at_risk THEN 1 ELSE 0 END) OVER w AS emptied
        FROM risk WINDOW w AS (PARTITION BY {g} ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
    SELECT {g}, min(t) FILTER (WHERE emptied = 1 OR log_s <= ln({float(q)!r}) + {LOG_TOLERANCE}) AS value
    FROM survival GROUP BY {g}
    """


def _finite(value: float) -> float:
    value = float(value)
    return value if np.isfinite(value) else float("nan")


def _fit(durations: pd.Series, events: pd.Series):
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter(alpha=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf.fit(durations.astype(float), event_observed=events.astype(bool))
    return kmf


def _quantile_ci(kmf, q: float) -> tuple[float, float]:
    from lifelines.utils import qth_survival_times

    bounds = qth_survival_times(q, kmf.confidence_interval_)
    row = bounds.iloc[0] if isinstance(bounds, pd.DataFrame) else bounds
    return _finite(row.iloc[0]), _finite(row.iloc[1])


def _groups(frame: pd.DataFrame, by: str) -> list[tuple[str, pd.DataFrame]]:
    column = {"cadence": "cadence", "team": "team", "sprint": "sprint_key"}[by]
    labels = frame[column].fillna("none").astype(str)
    return [("all", frame)] + [(str(k), g) for k, g in frame.groupby(labels, sort=True)]


def summary(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group (plus ``all``) and kind: n, n_events, median and p85 with 95% intervals."""
    rows = []
    for group, part in _groups(frame, by):
        for kind, (dur, ev) in KINDS.items():
            rows.append(_summary_row(group, kind, part, dur, ev))
    columns = ["group", "kind", "n", "n_events", "median_h", "median_ci_low", "median_ci_high",
               "p85_h", "p85_ci_low", "p85_ci_high"]
    return pd.DataFrame(rows).reindex(columns=columns)


def _summary_row(group: str, kind: str, part: pd.DataFrame, dur: str, ev: str) -> dict:
    row = {"group": group, "kind": kind, "n": len(part), "n_events": int(part[ev].sum())}
    if len(part):
        kmf = _fit(part[dur], part[ev])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines warns that it reads percentiles off the step curve
            row["median_h"] = _finite(kmf.percentile(0.5))
            row["median_ci_low"], row["median_ci_high"] = _quantile_ci(kmf, 0.5)
            row["p85_h"] = _finite(kmf.percentile(0.15))
            row["p85_ci_low"], row["p85_ci_high"] = _quantile_ci(kmf, 0.15)
    return row


def curves(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """The Kaplan-Meier step curves with 95% bands, per group (plus ``all``) and kind."""
    parts = []
    for group, part in _groups(frame, by):
        if part.empty:
            continue
        for kind, (dur, ev) in KINDS.items():
            kmf = _fit(part[dur], part[ev])
            curve = pd.DataFrame({
                "t_h": kmf.survival_function_.index.to_numpy(dtype=float),
                "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
                "ci_low": kmf.confidence_interval_.iloc[:, 0].to_numpy(),
                "ci_high": kmf.confidence_interval_.iloc[:, 1].to_numpy(),
            })
            curve.insert(0, "kind", kind)
            curve.insert(0, "group", group)
            parts.append(curve)
    if not parts:
        return pd.DataFrame(columns=["group", "kind", "t_h", "survival", "ci_low", "ci_high"])
    return pd.concat(parts, ignore_index=True)
