"""Comparing cadences: estimates, cluster bootstrap, warnings, switches."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence import metrics
from cadence.metrics.compare import ONE_TEAM, compare, switches
from histories import History, at, run


def per_sprint(rows: list[tuple[str, str, float, float]], metric: str = "say_do") -> pd.DataFrame:
    """rows: (team, cadence, start day, value) of closed sprints."""
    frame = pd.DataFrame(rows, columns=["team", "cadence", "start", metric])
    frame["state"] = "closed"
    frame["sprint_key"] = [f"s{i}" for i in range(len(frame))]
    frame["cadence_weeks"] = frame["cadence"].map({"1w": 1, "2w": 2, "3w": 3}).astype("Int64")
    for other in metrics.compare.METRICS:
        if other not in frame:
            frame[other] = np.nan
    return frame


def test_estimate_is_the_mean_and_teams_are_resampled_whole():
    frame = per_sprint([("A", "2w", 0, 1.0), ("A", "2w", 14, 3.0), ("B", "2w", 0, 5.0),
                        ("C", "1w", 0, 2.0), ("C", "1w", 7, 4.0), ("C", "1w", 14, 6.0)])
    out = compare(frame, seed=1, n_boot=2000).set_index(["metric", "cadence"])
    two = out.loc[("say_do", "2w")]
    # Resampling teams {A, B}: pooled means are 2 (AA), 3 (AB) or 5 (BB), with AA and BB a quarter each.
    assert (two["estimate"], two["ci_low"], two["ci_high"]) == (3.0, 2.0, 5.0)
    assert (two["n_sprints"], two["n_teams"], bool(two["small_sample"]), two["warning"]) == (
        3, 2, True, "only 2 teams: the interval is rough")
    one = out.loc[("say_do", "1w")]
    assert one["estimate"] == 4.0 and one["warning"] == ONE_TEAM and 2.0 <= one["ci_low"] < one["ci_high"] <= 6.0
    assert out.loc[("throughput_per_week", "1w"), "n_sprints"] == 0  # no values: counted as 0, never hidden


def test_bootstrap_is_reproducible_with_a_seed():
    rows = [(t, "2w", d, v) for t, d, v in [("A", 0, 0.2), ("A", 14, 0.9), ("B", 0, 0.5), ("B", 14, 0.4),
                                            ("C", 0, 0.7), ("C", 14, 0.1), ("C", 28, 0.3)]]
    a = compare(per_sprint(rows), seed=7, n_boot=500)
    b = compare(per_sprint(rows), seed=7, n_boot=500)
    pd.testing.assert_frame_equal(a, b)
    row = a.set_index(["metric", "cadence"]).loc[("say_do", "2w")]
    assert not row["small_sample"] and row["n_sprints"] == 7 and row["n_teams"] == 3


def test_open_sprints_are_left_out():
    frame = per_sprint([("A", "2w", 0, 1.0), ("B", "2w", 0, 3.0), ("B", "2w", 14, 100.0)])
    frame.loc[2, "state"] = "active"
    row = compare(frame, n_boot=100).set_index(["metric", "cadence"]).loc[("say_do", "2w")]
    assert row["estimate"] == 2.0 and row["n_sprints"] == 2


def test_switch_before_and_after():
    frame = per_sprint([("A", "2w", 0, 1.0), ("A", "2w", 14, 2.0), ("A", "2w", 28, 3.0),
                        ("A", "other", 42, 50.0), ("A", "1w", 60, 4.0), ("A", "1w", 67, 6.0),
                        ("B", "2w", 0, 1.0), ("B", "2w", 14, 1.0)])
    out = switches(frame, seed=0, n_boot=1000)
    row = out[out["metric"] == "say_do"].iloc[0]
    assert len(out[out["metric"] == "say_do"]) == 1 and row["team"] == "A" and row["switch_at"] == 60
    assert (row["before_cadence"], row["after_cadence"], row["n_before"], row["n_after"]) == ("2w", "1w", 3, 2)
    assert (row["before_estimate"], row["after_estimate"], row["diff"]) == (2.0, 5.0, 3.0)
    assert 1.0 <= row["diff_ci_low"] <= row["diff_ci_high"] <= 5.0 and row["warning"].startswith("small sample")


def test_compare_cadences_through_the_warehouse(db_path):
    h = History()
    for team, length in (("A", 7), ("B", 14)):
        s = h.sprint(f"{team}1", 0, length, length, team=team)
        for n in range(2):
            key = f"{team}-{n}"
            h.item(key, team=team).add(key, s, -1).status(key, 1, "in_progress").status(key, 3, "done")
    out = run(h.save(db_path), metrics.compare_cadences, at(20), seed=0, n_boot=200).set_index(["metric", "cadence"])
    assert out.loc[("throughput_per_week", "1w"), "estimate"] == 2.0
    assert out.loc[("throughput_per_week", "2w"), "estimate"] == 1.0
    assert out.loc[("say_do", "2w"), "estimate"] == 1.0 and out.loc[("say_do", "2w"), "warning"] == ONE_TEAM
    assert list(out.reset_index().columns) == ["metric", "cadence", "cadence_weeks", "estimate", "ci_low", "ci_high",
                                               "n_sprints", "n_teams", "small_sample", "warning"]
    assert run(db_path, metrics.switches, at(20)).empty
